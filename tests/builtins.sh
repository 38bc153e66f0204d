#!/bin/sh
# builtins.sh: mode=builtins as a stand-in for libnssckbi.so.
# 1. test-builtins: every object Debian's libnssckbi.so serves (built from
#    NSS 3.87.1's certdata.txt) is served by nssguard in mode=builtins from
#    that same file, with the same attribute values, and nothing more; and an
#    overlay entry for a root replaces its trust object.
# 2. NSS itself: a database with libnssckbi.so and one with nssguard in
#    mode=builtins verify the same built-in roots as SSL CAs alike.
# 3. The trustOrder consequence of the root-list object.
# 4. Mozilla's way of distrusting (DigiNotar, MCSHOLDING...) in a
#    certdata.txt served by mode=builtins, and the MITM operator's
#    re-encoded sub-CA (issue 11).
. "$top_srcdir/tests/lib.sh"
require_tool certutil modutil
require_shared
certdata=$NSSGUARD_SHARED/mozilla/certdata-nss-3.87.1.txt
ckbi=""
for f in /usr/lib/x86_64-linux-gnu/nss/libnssckbi.so /usr/lib/x86_64-linux-gnu/libnssckbi.so \
    /usr/lib64/libnssckbi.so; do
    [ -f "$f" ] && ckbi=$f && break
done
[ -n "$ckbi" ] || skip_all "libnssckbi.so not found (Debian: libnss3)"
out=$(test_outdir builtins)

# 1. the differential test prints its own TAP lines; renumber them into ours
"$top_builddir/tests/test-builtins" "$ckbi" "$certdata" >"$out/differential.tap" 2>&1
sed -n 's/^ok [0-9]* - \(.*\)/\1/p' "$out/differential.tap" | while IFS= read -r line; do
    echo "ok - $line"
done >"$out/ok.txt"
grep '^#' "$out/differential.tap"
while IFS= read -r line; do ok 0 "${line#ok - }"; done <"$out/ok.txt"
if grep -q '^not ok' "$out/differential.tap"; then
    grep -A3 '^not ok' "$out/differential.tap" | sed 's/^/# /'
    ok 1 "the differential test against libnssckbi.so passes"
fi
[ "$(grep -c '^ok' "$out/differential.tap")" -ge 12 ]
ok $? "all 12 differential checks ran"

# 2. NSS verifies built-in roots alike through either module
for which in ckbi nssguard; do
    mkdir -p "$out/$which"
    certutil -N -d "sql:$out/$which" --empty-password
    if [ $which = ckbi ]; then
        modutil -dbdir "sql:$out/$which" -force -add roots -libfile "$ckbi" >/dev/null
    else
        modutil -dbdir "sql:$out/$which" -force -add roots -libfile "$NSSGUARD_MODULE" \
            -string "mode=builtins roots=$certdata overlay=/nonexistent log=none" >/dev/null
    fi
    certutil -L -d "sql:$out/$which" -h all 2>/dev/null | sed -n 's/^\(Builtin Object Token\|nssguard distrust overlay\):\(.*[^ ]\) *[A-Za-z,]*$/\2/p' |
        sed 's/ *$//' | head -400 >"$out/$which.names"
done
n_ckbi=$(wc -l <"$out/ckbi.names")
n_guard=$(wc -l <"$out/nssguard.names")
diag "certutil -L lists $n_ckbi roots through libnssckbi.so, $n_guard through nssguard"
[ "$n_ckbi" -gt 100 ] && [ "$n_ckbi" = "$n_guard" ]
ok $? "certutil lists as many built-in roots through either module"
same=0 checked=0
for name in "ISRG Root X1" "DigiCert Global Root G2" "GlobalSign Root CA" "Amazon Root CA 1" \
    "Certum Trusted Network CA"; do
    a=$(certutil -V -u L -d "sql:$out/ckbi" -n "Builtin Object Token:$name" 2>&1 | tail -1)
    b=$(certutil -V -u L -d "sql:$out/nssguard" -n "nssguard distrust overlay:$name" 2>&1 | tail -1)
    checked=$((checked + 1))
    [ "$a" = "$b" ] && [ -n "$a" ] && same=$((same + 1))
    diag "$name: libnssckbi.so '$a', nssguard '$b'"
done
is "$same" "$checked" "certutil -V -u L gives the same verdict for 5 built-in roots through either module"
# 3. The trustOrder consequence: in builtins mode (root-list object, order
#    100) a user trust record for the MITM sub-CA (",,", order 75) beats the
#    overlay; the same module in its default mode (order 50) is not beaten.
pki=$out/pki
if sh "$top_srcdir/tests/pki.sh" "$pki" >"$out/pki.log" 2>&1; then
    for mode in builtins nss; do
        db=$out/order-$mode
        mkdir -p "$db"
        certutil -N -d "sql:$db" --empty-password
        certutil -A -d "sql:$db" -n root -t "C,," -i "$pki/root.der"
        extra=""
        [ $mode = builtins ] && extra="mode=builtins roots=$certdata"
        add_module "$db" "$pki/overlay.txt" "$out/order-$mode.log" "$extra"
        vfychain -d "sql:$db" -u 1 "$pki/mitm-leaf.der" "$pki/mitm-ca.der" >/dev/null 2>&1
        is "$?" 1 "$mode mode: the MITM chain is rejected"
        certutil -A -d "sql:$db" -n mitm-ca -t ",," -i "$pki/mitm-ca.der"
        vfychain -d "sql:$db" -u 1 "$pki/mitm-leaf.der" "$pki/mitm-ca.der" >"$out/order-$mode.out" 2>&1
        rc=$?
        if [ $mode = builtins ]; then
            is "$rc" 0 "builtins mode: a user ',,' record for the MITM sub-CA beats the overlay (order 100 > 75)"
        else
            is "$rc" 1 "default mode: the same user record does not (order 50 < 75)"
        fi
    done
else
    ok 1 "tests/pki.sh made the test PKI"
fi

# 4. A certdata.txt written here the way Mozilla writes one: the root-list
#    object, the test roots as builtins (certificate, and trust
#    CKT_NSS_TRUSTED_DELEGATOR) and an explicit distrust of the MITM
#    sub-CAs as Mozilla shipped DigiNotar's: the certificate, and a trust
#    object with its SHA-1 and MD5 whose purposes are CKT_NSS_NOT_TRUSTED.
#    Served by nssguard in mode=builtins with an empty overlay, in a
#    database that trusts nothing itself (the builtins are the anchors).
#    The MITM operator re-encodes the sub-CA it holds without any key
#    (tests/nssguard-reencode: ECDSA (r,s) as (r,n-s); the RSA signature's
#    outer signatureAlgorithm without its NULL parameters); the copy has
#    another SHA-1 and the same issuer and serial. In that file NSS refuses
#    the copy outright: the token holds a certificate with its issuer and
#    serial and other bytes (SEC_ERROR_REUSED_ISSUER_AND_SERIAL, -8054). In
#    the same file without the distrusted certificates (trust objects with
#    their hashes only) NSS takes the copy, and only a record served
#    without its hash (module/builtins.c) still distrusts it.

# octal FIELD FILE: MULTILINE_OCTAL lines and END for a DER certificate's
# FIELD (value: all of it, serial, issuer, subject); `octal hex HEX` for a
# digest.
octal()
{
    if [ "$1" = hex ]; then
        printf '%s\n' "$2" | awk '{
            for (i = 1; i < length($0); i += 2) {
                hi = index("0123456789abcdef", substr($0, i, 1)) - 1
                print hi * 16 + index("0123456789abcdef", substr($0, i + 1, 1)) - 1
            }
        }'
    else
        od -An -v -tu1 "$2" | tr -s ' ' '\n' | sed '/^$/d'
    fi | awk -v field="$1" '
        { b[n++] = $1 + 0 }
        function tlv(p) { # sets hl (header length) and cl (contents length)
            if (b[p + 1] < 128) {
                hl = 2
                cl = b[p + 1]
                return
            }
            k = b[p + 1] - 128
            hl = 2 + k
            cl = 0
            for (j = 0; j < k; j++)
                cl = cl * 256 + b[p + 2 + j]
        }
        function skip(p) { tlv(p); return p + hl + cl }
        END {
            from = 0
            to = n
            if (field == "serial" || field == "issuer" || field == "subject") {
                tlv(0)
                p = hl # tbsCertificate
                tlv(p)
                p += hl
                if (b[p] == 160)
                    p = skip(p) # [0] version
                if (field == "serial") { from = p; to = skip(p) }
                p = skip(skip(p)) # serial, signature
                if (field == "issuer") { from = p; to = skip(p) }
                p = skip(skip(p)) # issuer, validity
                if (field == "subject") { from = p; to = skip(p) }
            }
            line = ""
            for (i = from; i < to; i++) {
                line = line sprintf("\\%03o", b[i])
                if ((i - from) % 16 == 15) {
                    print line
                    line = ""
                }
            }
            if (line != "")
                print line
            print "END"
        }'
}

# moz_cert LABEL FILE, moz_trust LABEL FILE TRUST: Mozilla's two objects.
moz_cert()
{
    printf '\n# Certificate "%s"\n' "$1"
    printf '%s\n' "CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE" "CKA_TOKEN CK_BBOOL CK_TRUE" \
        "CKA_PRIVATE CK_BBOOL CK_FALSE" "CKA_MODIFIABLE CK_BBOOL CK_FALSE" \
        "CKA_LABEL UTF8 \"$1\"" "CKA_CERTIFICATE_TYPE CK_CERTIFICATE_TYPE CKC_X_509" \
        "CKA_SUBJECT MULTILINE_OCTAL"
    octal subject "$2"
    echo 'CKA_ID UTF8 "0"'
    echo "CKA_ISSUER MULTILINE_OCTAL"
    octal issuer "$2"
    echo "CKA_SERIAL_NUMBER MULTILINE_OCTAL"
    octal serial "$2"
    echo "CKA_VALUE MULTILINE_OCTAL"
    octal value "$2"
}
moz_trust()
{
    printf '\n# Trust for "%s"\n' "$1"
    printf '%s\n' "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST" "CKA_TOKEN CK_BBOOL CK_TRUE" \
        "CKA_PRIVATE CK_BBOOL CK_FALSE" "CKA_MODIFIABLE CK_BBOOL CK_FALSE" \
        "CKA_LABEL UTF8 \"$1\"" "CKA_CERT_SHA1_HASH MULTILINE_OCTAL"
    octal hex "$(sha1sum <"$2" | cut -c1-40)"
    echo "CKA_CERT_MD5_HASH MULTILINE_OCTAL"
    octal hex "$(md5sum <"$2" | cut -c1-32)"
    echo "CKA_ISSUER MULTILINE_OCTAL"
    octal issuer "$2"
    echo "CKA_SERIAL_NUMBER MULTILINE_OCTAL"
    octal serial "$2"
    printf '%s\n' "CKA_TRUST_SERVER_AUTH CK_TRUST $3" "CKA_TRUST_EMAIL_PROTECTION CK_TRUST $3" \
        "CKA_TRUST_CODE_SIGNING CK_TRUST $3" "CKA_TRUST_STEP_UP_APPROVED CK_BBOOL CK_FALSE"
}

# vfy DB FLAG LEAF CA: "RC WHAT", WHAT the first error vfychain reports
# (-N), "good", or "import -N" when it refused a certificate file.
vfy()
{
    vfychain -d "sql:$1" ${2:+"$2"} -u 1 "$3" "$4" >"$out/vfy.out" 2>&1
    echo "$? $(sed -n 's/^couldn.t import .*, \(-[0-9]*\) = .*/import \1/p
        s/^ *ERROR \(-[0-9]*\):.*/\1/p; s/^Chain is good!$/good/p' "$out/vfy.out" | head -1)"
}

reencode=$top_builddir/tests/nssguard-reencode
rsa=$pki/rsa
if [ -x "$reencode" ] && [ -f "$rsa/rsamitm-ca.der" ]; then
    "$reencode" ecdsa-s "$pki/mitm-ca.der" "$out/mitm-ca.reencoded.der" &&
        "$reencode" rsa-params "$rsa/rsamitm-ca.der" "$out/rsamitm-ca.reencoded.der"
    ok $? "nssguard-reencode made the re-encoded sub-CAs"
    mitm_label="Explicitly Distrust nssguard MITM sub-CA"
    rsa_label="Explicitly Distrust nssguard RSA MITM sub-CA"
    {
        echo "BEGINDATA"
        printf '%s\n' "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_BUILTIN_ROOT_LIST" \
            "CKA_TOKEN CK_BBOOL CK_TRUE" "CKA_PRIVATE CK_BBOOL CK_FALSE" \
            "CKA_MODIFIABLE CK_BBOOL CK_FALSE" 'CKA_LABEL UTF8 "Mozilla Builtin Roots"'
        moz_cert "nssguard Test Root" "$pki/root.der"
        moz_trust "nssguard Test Root" "$pki/root.der" CKT_NSS_TRUSTED_DELEGATOR
        moz_cert "nssguard RSA Test Root" "$rsa/rsa-root.der"
        moz_trust "nssguard RSA Test Root" "$rsa/rsa-root.der" CKT_NSS_TRUSTED_DELEGATOR
        moz_cert "$mitm_label" "$pki/mitm-ca.der"
        moz_trust "$mitm_label" "$pki/mitm-ca.der" CKT_NSS_NOT_TRUSTED
        moz_cert "$rsa_label" "$rsa/rsamitm-ca.der"
        moz_trust "$rsa_label" "$rsa/rsamitm-ca.der" CKT_NSS_NOT_TRUSTED
    } >"$out/mozilla-style.txt"
    # The same without the distrusted certificates: blank-line separated
    # objects, dropping the two CKO_CERTIFICATE ones.
    awk -v a="$mitm_label" -v b="$rsa_label" 'BEGIN { RS = ""; ORS = "\n\n" }
        !(/CKO_CERTIFICATE/ && (index($0, "\"" a "\"") || index($0, "\"" b "\"")))' \
        "$out/mozilla-style.txt" >"$out/trust-only.txt"
    : >"$out/empty-overlay.txt"
    n=$(grep -c '^CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE$' "$out/trust-only.txt")
    is "$n" 2 "trust-only.txt: the roots' certificates only"

    db=$out/no-anchor
    mkdir -p "$db"
    certutil -N -d "sql:$db" --empty-password
    is "$(vfy "$db" "" "$pki/good-leaf.der" "$pki/good-ca.der")" "1 -8179" \
        "control: without the module the database trusts no root (good chain: unknown issuer)"
    for file in mozilla-style trust-only; do
        db=$out/moz-$file
        mkdir -p "$db"
        certutil -N -d "sql:$db" --empty-password
        modutil -dbdir "sql:$db" -force -add nssguard-roots -libfile "$NSSGUARD_MODULE" \
            -string "mode=builtins roots=$out/$file.txt overlay=$out/empty-overlay.txt log=file:$out/moz-$file.log" >/dev/null
        copy="1 -8172"
        copy_pp="1 -8171"
        if [ $file = mozilla-style ]; then
            copy="1 import -8054"
            copy_pp=$copy
        fi
        for flag in "" -pp; do
            v=classic
            [ -n "$flag" ] && v=$flag
            is "$(vfy "$db" "$flag" "$pki/good-leaf.der" "$pki/good-ca.der")" "0 good" \
                "$file.txt, vfychain $v: the good chain is valid (the builtin root is the anchor)"
            want="1 -8172"
            [ -n "$flag" ] && want="1 -8171"
            is "$(vfy "$db" "$flag" "$pki/mitm-leaf.der" "$pki/mitm-ca.der")" "$want" \
                "$file.txt, vfychain $v: the MITM chain is distrusted"
            is "$(vfy "$db" "$flag" "$rsa/rsamitm-leaf.der" "$rsa/rsamitm-ca.der")" "$want" \
                "$file.txt, vfychain $v: the RSA MITM chain is distrusted"
            [ -n "$flag" ] && copy=$copy_pp
            is "$(vfy "$db" "$flag" "$pki/mitm-leaf.der" "$out/mitm-ca.reencoded.der")" "$copy" \
                "$file.txt, vfychain $v: the MITM chain with the re-encoded (ecdsa-s) sub-CA is rejected"
            is "$(vfy "$db" "$flag" "$rsa/rsamitm-leaf.der" "$out/rsamitm-ca.reencoded.der")" "$copy" \
                "$file.txt, vfychain $v: the RSA MITM chain with the re-encoded (rsa-params) sub-CA is rejected"
        done
    done
else
    ok 1 "tests/nssguard-reencode and the RSA test PKI exist"
fi
done_testing

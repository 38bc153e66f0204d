#!/bin/sh
# e2e-reencode.sh: a MITM operator re-encodes the distrusted sub-CA it
# sends, without any key, and NSS still rejects the chain.
#
# The copy keeps issuer and serial (so the module still answers NSS's trust
# query) but has a new SHA-1. A trust record that carries the SHA-1 of the
# original no longer matches the bytes NSS got: NSS drops the whole record
# and accepts the chain. The module must serve distrust without the hash.
#
#   ecdsa-s     mitm-ca's ECDSA signature (r, s) as (r, n - s): still valid
#   rsa-params  rsamitm-ca (tests/pki.sh's rsa/) without the NULL parameters
#               of its outer signatureAlgorithm: libpkix accepts it, the
#               classic verifier refuses it with SEC_ERROR_ALGORITHM_MISMATCH
#
# For each way an entry is written: (a) `nssguard add`, (b) a Mozilla-style
# certdata.txt record (certificate + trust with SHA-1 and MD5) through
# `nssguard import-mozilla`, (c) `nssguard add --subject-key` expanded over
# the certificates. vfychain (classic and libpkix) and a TLS handshake
# (selfserv sending the copy, tstclnt). Then the other encodings
# tests/nssguard-reencode makes, which NSS 3.87 refuses to decode, and the
# modes that serve the certificate itself (builtins, chromium), where NSS
# refuses the copy because a token holds another certificate with the same
# issuer and serial.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

require_tool selfserv tstclnt timeout
reencode=$top_builddir/tests/nssguard-reencode
[ -x "$reencode" ] || skip_all "$reencode not built (make check builds it)"
e2e_setup e2e-reencode
rsa=$pki/rsa
t=$NSSGUARD_TOOL

trap kill_servers EXIT
trap 'exit 1' INT TERM

E2E_ALG_MISMATCH="ERROR -8010: The signature algorithm in the signature field of the certificate does not match the algorithm in its signatureAlgorithm field."
TLS_FAILED="tstclnt: authentication of server cert failed:"
TLS_UNTRUSTED_ISSUER="$TLS_FAILED SEC_ERROR_UNTRUSTED_ISSUER: Peer's certificate issuer has been marked as not trusted by the user."
TLS_UNTRUSTED_CERT="$TLS_FAILED SEC_ERROR_UNTRUSTED_CERT: Peer's certificate has been marked as not trusted by the user."
TLS_ALG_MISMATCH="$TLS_FAILED SEC_ERROR_ALGORITHM_MISMATCH: The signature algorithm in the signature field of the certificate does not match the algorithm in its signatureAlgorithm field."

# chain_of CHAIN: sets cdir (its files), cn (sub-CA's common name), serial
# (as the module logs it) and attack (the re-encoding that applies).
chain_of()
{
    case $1 in
    mitm) cdir=$pki cn="nssguard MITM sub-CA" serial=0b attack=ecdsa-s ;;
    rsamitm) cdir=$rsa cn="nssguard RSA MITM sub-CA" serial=15 attack=rsa-params ;;
    good) cdir=$pki cn="nssguard Good sub-CA" serial=0c attack= ;;
    esac
}

# sha1_fp FILE: the SHA-1 as NSS prints it (AA:BB:...).
sha1_fp()
{
    sha1sum <"$1" | cut -c1-40 | tr a-f A-F | sed 's/../&:/g; s/:$//'
}

# vfy_ca DB classic|pkix LEAF CA: vfychain, SSL server usage; sets vfy_rc, vfy_out.
vfy_ca()
{
    case $2 in
    classic) vfy_out=$(vfychain -d "sql:$1" -u 1 "$3" "$4" 2>&1) ;;
    pkix) vfy_out=$(vfychain -d "sql:$1" -pp -u 1 "$3" "$4" 2>&1) ;;
    esac
    vfy_rc=$?
}

# expect_vfy DB classic|pkix CHAIN CA WANT DESC: one test. WANT is "good"
# (Chain is good!) or the exact ERROR lines vfychain prints for CERT 1, one
# a line, in order, and no other ERROR line.
expect_vfy()
{
    chain_of "$3"
    vfy_ca "$1" "$2" "$cdir/$3-leaf.der" "$4"
    if [ "$5" = good ]; then
        [ "$vfy_rc" -eq 0 ] && printf '%s\n' "$vfy_out" | grep -qx 'Chain is good!'
    else
        [ "$vfy_rc" -eq 1 ] &&
            printf '%s\n' "$vfy_out" | grep -qx 'Chain is bad!' &&
            printf '%s\n' "$vfy_out" | grep -q '^CERT 1\. ' &&
            ! printf '%s\n' "$vfy_out" | grep -q '^CERT [02-9]' &&
            [ "$(printf '%s\n' "$vfy_out" | sed -n 's/^  \(ERROR .*\)/\1/p')" = "$5" ]
    fi
    if [ $? -eq 0 ]; then
        ok 0 "$6 ($2)"
    else
        ok 1 "$6 ($2)"
        printf '%s\n' "want: $5" "exit $vfy_rc" "$vfy_out" | sed 's/^/#   /'
    fi
}

# expect_undecodable DB CHAIN CA WANT DESC: one test, both verifiers:
# vfychain cannot make a certificate of CA (CERT_NewTempCertificate fails)
# and prints exactly "couldn't import CA, WANT".
expect_undecodable()
{
    chain_of "$2"
    bad=
    for how in classic pkix; do
        vfy_ca "$1" $how "$cdir/$2-leaf.der" "$3"
        if [ "$vfy_rc" -ne 1 ] || [ "$vfy_out" != "couldn't import $3, $4" ]; then
            bad="$bad $how"
            printf '%s\n' "$how: exit $vfy_rc" "$vfy_out" | sed 's/^/#   /'
        fi
    done
    [ -z "$bad" ]
    ok $? "$5"
}

# ---- the copies ----
client_db "$out/none" >/dev/null &&
    certutil -A -d "sql:$out/none" -n rsa-root -t "C,," -i "$rsa/rsa-root.der"
ok $? "client database trusts both test roots, no module"

diag "the re-encoded copies (tests/nssguard-reencode)"
for c in mitm rsamitm; do
    chain_of $c
    "$reencode" $attack "$cdir/$c-ca.der" "$out/$c-$attack.der"
    ok $? "$c-ca: $attack copy written"
    ! cmp -s "$cdir/$c-ca.der" "$out/$c-$attack.der" &&
        [ "$(sha1_fp "$cdir/$c-ca.der")" != "$(sha1_fp "$out/$c-$attack.der")" ]
    ok $? "$c-ca: the $attack copy differs from the original and has another SHA-1"
done
"$reencode" rsa-params "$pki/mitm-ca.der" "$out/no.der" 2>/dev/null
is "$?" 1 "rsa-params does not apply to the ECDSA-signed mitm-ca"
"$reencode" ecdsa-s "$rsa/rsamitm-ca.der" "$out/no.der" 2>/dev/null
is "$?" 1 "ecdsa-s does not apply to the RSA-signed rsamitm-ca"

diag "controls: without the module NSS takes the copies"
expect_vfy "$out/none" classic mitm "$out/mitm-ecdsa-s.der" good "mitm, ecdsa-s copy: chain is good without the module"
expect_vfy "$out/none" pkix mitm "$out/mitm-ecdsa-s.der" good "mitm, ecdsa-s copy: chain is good without the module"
expect_vfy "$out/none" pkix rsamitm "$out/rsamitm-rsa-params.der" good \
    "rsamitm, rsa-params copy: chain is good without the module"
expect_vfy "$out/none" classic rsamitm "$out/rsamitm-rsa-params.der" "$E2E_ALG_MISMATCH" \
    "rsamitm, rsa-params copy: the classic verifier refuses it (-8010) without the module"
expect_vfy "$out/none" classic rsamitm "$rsa/rsamitm-ca.der" good "rsamitm original: chain is good without the module"

# ---- the three ways an entry is written ----
ref=https://example.test/reencode
for c in mitm rsamitm; do
    chain_of $c
    "$t" add --reason mitm --ref $ref/add --label "$cn" "$cdir/$c-ca.der" || exit 1
done >"$out/overlay-add.txt"

# (b) certdata.txt as Mozilla writes it: comment header, BEGINDATA, a
# CKO_CERTIFICATE and a CKO_NSS_TRUST object (CKA_CERT_SHA1_HASH and
# CKA_CERT_MD5_HASH) per certificate; `add` makes the octal, its own
# attributes and comments are dropped.
{
    printf '%s\n' "# certdata.txt-style records for e2e-reencode.sh" "" "BEGINDATA"
    for c in mitm rsamitm; do
        chain_of $c
        printf '\n#\n# Certificate "%s (Mozilla-style)"\n#\n' "$cn"
        "$t" add --reason mitm --ref $ref --label "$cn (Mozilla-style)" "$cdir/$c-ca.der" |
            grep -v '^#\|^CKA_NSSGUARD_\|^$' |
            awk -v cn="$cn" '/^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST$/ {
                    print ""; print "# Trust for \"" cn " (Mozilla-style)\""
                    print "# Distrust: MITM (test record)" }
                { print }'
    done
} >"$out/certdata.txt"
"$t" import-mozilla --source $ref/certdata.txt -o "$out/overlay-moz.txt" "$out/certdata.txt" 2>"$out/moz.err"
is "$?:$(cat "$out/moz.err")" \
    "0:nssguard: import-mozilla: 2 entries (2 with the certificate, 0 issuer+serial only), 0 records skipped, 0 set by facts" \
    "(b) import-mozilla: the two Mozilla-style records"

# (c) subject+key: the DER subject (6th field of tbsCertificate) and the
# SHA-256 of the SubjectPublicKeyInfo, base64, as OneCRL gives them.
subject_key()
{
    set -- "$1" $(openssl asn1parse -inform der -in "$1" |
        sed -n 's/^ *\([0-9]*\):d=2 *hl= *\([0-9]*\) *l= *\([0-9]*\) .*/\1 \2 \3/p' | sed -n 6p)
    [ $# -eq 4 ] || return 1
    s=$(dd if="$1" bs=1 skip="$2" count=$(($3 + $4)) 2>/dev/null | base64 -w0)
    k=$(openssl x509 -inform der -in "$1" -noout -pubkey | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64 -w0)
    echo "$s:$k"
}
kinds="add moz"
if command -v openssl >/dev/null 2>&1; then
    sk_mitm=$(subject_key "$pki/mitm-ca.der") && sk_rsa=$(subject_key "$rsa/rsamitm-ca.der") &&
        "$t" add --subject-key "$sk_mitm" --subject-key "$sk_rsa" --reason mitm --ref $ref/subject-key \
            "$pki/mitm-ca.der" "$rsa/rsamitm-ca.der" "$pki/good-ca.der" "$rsa/rsa-root.der" \
            >"$out/overlay-sk.txt"
    ok $? "(c) add --subject-key over four certificates"
    is "$(grep -c '^CKA_LABEL UTF8 "nssguard \(RSA \)\{0,1\}MITM sub-CA"' "$out/overlay-sk.txt")" 4 \
        "(c) it selects the two MITM sub-CAs (certificate and trust object each)"
    kinds="$kinds sk"
else
    diag "openssl is not installed: no subject+key entries (c)"
fi
for k in $kinds; do
    is "$(grep -c '^CKA_CERT_SHA1_HASH MULTILINE_OCTAL$' "$out/overlay-$k.txt"):$(grep -c '^CKA_CERT_MD5_HASH MULTILINE_OCTAL$' "$out/overlay-$k.txt")" \
        2:2 "($k) both entries carry the original's SHA-1 and MD5"
done

# label_of KIND CHAIN, ref_of KIND: what the module logs for that entry.
label_of()
{
    chain_of $2
    case $1 in
    moz) echo "$cn (Mozilla-style)" ;;
    *) echo "$cn" ;;
    esac
}
ref_of()
{
    case $1 in
    add) echo $ref/add ;;
    moz) echo $ref/certdata.txt ;;
    sk) echo $ref/subject-key ;;
    esac
}

# ---- vfychain with the module ----
for k in $kinds; do
    db=$out/$k
    client_db "$db" >/dev/null &&
        certutil -A -d "sql:$db" -n rsa-root -t "C,," -i "$rsa/rsa-root.der" &&
        add_module "$db" "$out/overlay-$k.txt" "$out/$k.log"
    ok $? "($k) client database with the module"
    diag "($k) the re-encoded copies are distrusted"
    expect_vfy "$db" classic mitm "$out/mitm-ecdsa-s.der" "$E2E_UNTRUSTED_ISSUER" \
        "($k) mitm, ecdsa-s copy: distrusted at the sub-CA"
    expect_vfy "$db" pkix mitm "$out/mitm-ecdsa-s.der" "$E2E_UNTRUSTED_CERT" \
        "($k) mitm, ecdsa-s copy: distrusted at the sub-CA"
    expect_vfy "$db" pkix rsamitm "$out/rsamitm-rsa-params.der" "$E2E_UNTRUSTED_CERT" \
        "($k) rsamitm, rsa-params copy: distrusted at the sub-CA"
    expect_vfy "$db" classic rsamitm "$out/rsamitm-rsa-params.der" "$E2E_UNTRUSTED_ISSUER
$E2E_ALG_MISMATCH" "($k) rsamitm, rsa-params copy: distrusted (-8172) as well as refused (-8010)"
    for c in mitm rsamitm; do
        log_has "$out/$k.log" '"event":"distrust"' '"process":"vfychain"' \
            "\"label\":\"$(label_of $k $c)\"" '"reason":"mitm"' "\"reference\":\"$(ref_of $k)\"" \
            "\"serial\":\"$(chain_of $c && echo $serial)\""
        ok $? "($k) distrust event names the $c-ca entry (label, serial)"
    done
    diag "($k) the originals and the good chain"
    for c in mitm rsamitm; do
        chain_of $c
        expect_vfy "$db" classic $c "$cdir/$c-ca.der" "$E2E_UNTRUSTED_ISSUER" "($k) $c original: distrusted"
        expect_vfy "$db" pkix $c "$cdir/$c-ca.der" "$E2E_UNTRUSTED_CERT" "($k) $c original: distrusted"
    done
    expect_vfy "$db" classic good "$pki/good-ca.der" good "($k) the good chain still verifies"
    expect_vfy "$db" pkix good "$pki/good-ca.der" good "($k) the good chain still verifies"
done

# ---- TLS: selfserv sends the copy ----
# connect DB PORT [NSS_ENABLE_PKIX_VERIFY=1]: one handshake, SNI localhost;
# -C prints the certificates the server sent. Sets tls_rc, tls_out.
connect()
{
    tls_out=$(printf '' | env ${3:-} timeout 20 tstclnt -h 127.0.0.1 -p "$2" -d "sql:$1" \
        -V tls1.2: -a localhost -Q -C 2>&1)
    tls_rc=$?
}

# expect_tls DB PORT ENV WANT DESC: WANT "ok" (the handshake succeeds) or
# the exact tstclnt error line.
expect_tls()
{
    connect "$1" "$2" "$3"
    if [ "$4" = ok ]; then
        [ "$tls_rc" -eq 0 ] && printf '%s\n' "$tls_out" | grep -q '^issuer  DN: CN=nssguard .*MITM sub-CA,'
    else
        [ "$tls_rc" -ne 0 ] && [ "$tls_rc" -ne 124 ] && printf '%s\n' "$tls_out" | grep -qxF "$4"
    fi
    if [ $? -eq 0 ]; then
        ok 0 "$5"
    else
        ok 1 "$5"
        printf '%s\n' "want: $4" "exit $tls_rc" "$tls_out" | sed 's/^/#   /'
    fi
}

diag "TLS: selfserv sends the leaf and the re-encoded sub-CA"
for c in mitm rsamitm; do
    chain_of $c
    srv=$out/$c-$attack-server
    swap_ca "$cdir/$c-server" "$srv" $c-ca "$out/$c-$attack.der" >>"$out/certutil.log" 2>&1 &&
        certutil -L -d "sql:$srv" -n $c-ca -r | cmp -s - "$out/$c-$attack.der"
    ok $? "$c: server database holds the $attack copy instead of the original"
    start_server $c "$srv"
    ok $? "$c: selfserv listening"
    eval "port_$c=\$port"
done

for c in mitm rsamitm; do
    chain_of $c
    eval "p=\$port_$c"
    connect "$out/none" "$p" NSS_ENABLE_PKIX_VERIFY=1
    sent=$(printf '%s\n' "$tls_out" | sed '/^==== locally found/q' | sed -n 's/^ *Fingerprint (SHA1): //p')
    is "$(printf '%s\n' "$sent" | sed -n 2p)" "$(sha1_fp "$out/$c-$attack.der")" \
        "$c: the sub-CA on the wire is the $attack copy (its SHA-1)"
done
expect_tls "$out/none" "$port_mitm" "" ok "mitm, ecdsa-s: handshake succeeds without the module"
expect_tls "$out/none" "$port_rsamitm" NSS_ENABLE_PKIX_VERIFY=1 ok \
    "rsamitm, rsa-params: handshake succeeds without the module (libpkix)"
expect_tls "$out/none" "$port_rsamitm" "" "$TLS_ALG_MISMATCH" \
    "rsamitm, rsa-params: the classic verifier refuses it without the module (algorithm mismatch)"
for k in $kinds; do
    expect_tls "$out/$k" "$port_mitm" "" "$TLS_UNTRUSTED_ISSUER" \
        "($k) mitm, ecdsa-s: handshake refused with SEC_ERROR_UNTRUSTED_ISSUER"
    expect_tls "$out/$k" "$port_rsamitm" NSS_ENABLE_PKIX_VERIFY=1 "$TLS_UNTRUSTED_CERT" \
        "($k) rsamitm, rsa-params: handshake refused with SEC_ERROR_UNTRUSTED_CERT (libpkix)"
    expect_tls "$out/$k" "$port_rsamitm" "" "$TLS_UNTRUSTED_ISSUER" \
        "($k) rsamitm, rsa-params: handshake refused with SEC_ERROR_UNTRUSTED_ISSUER (classic)"
done
log_has "$out/add.log" '"event":"distrust"' '"process":"tstclnt"' '"label":"nssguard MITM sub-CA"' '"serial":"0b"' &&
    log_has "$out/add.log" '"event":"distrust"' '"process":"tstclnt"' '"label":"nssguard RSA MITM sub-CA"' '"serial":"15"'
ok $? "(add) tstclnt logged the distrust events for both sub-CAs"

# ---- the other re-encodings: NSS 3.87 cannot decode them ----
# CERT_NewTempCertificate fails with SEC_ERROR_INVALID_ARGS (-8187), with or
# without the module; a server sending one breaks its own handshake.
diag "other encodings outside tbsCertificate: NSS refuses to decode them"
undecodable="-8187 = security library: invalid arguments."
for mode in long-length long-length-sigalg long-length-sig indefinite trailing; do
    for c in mitm rsamitm; do
        chain_of $c
        "$reencode" $mode "$cdir/$c-ca.der" "$out/$c-$mode.der" &&
            ! cmp -s "$cdir/$c-ca.der" "$out/$c-$mode.der"
        ok $? "$c-ca: $mode copy written, differs from the original"
        expect_undecodable "$out/none" $c "$out/$c-$mode.der" "$undecodable" \
            "$c, $mode: not decoded (-8187) without the module"
        expect_undecodable "$out/add" $c "$out/$c-$mode.der" "$undecodable" \
            "$c, $mode: not decoded (-8187) with the module"
    done
done

# ---- modes that serve the certificate: NSS refuses a copy outright ----
# A token holding the distrusted certificate (builtins mode: certdata.txt's
# CKO_CERTIFICATE; chromium mode: the overlay's) makes CERT_NewTempCertificate
# refuse any other DER with that issuer and serial.
diag "modes that serve the certificate: the copy is refused (-8054)"
reused="-8054 = You are attempting to import a cert with the same issuer/serial as an existing cert, but that is not the same cert."
for m in builtins chromium; do
    db=$out/mode-$m
    if [ $m = builtins ]; then
        extra="mode=builtins roots=$out/certdata.txt" ov=/nonexistent
    else
        extra="mode=chromium" ov=$out/overlay-add.txt
    fi
    client_db "$db" >/dev/null &&
        certutil -A -d "sql:$db" -n rsa-root -t "C,," -i "$rsa/rsa-root.der" &&
        add_module "$db" "$ov" "$out/mode-$m.log" "$extra"
    ok $? "mode=$m: client database with the module"
    for c in mitm rsamitm; do
        chain_of $c
        expect_undecodable "$db" $c "$out/$c-$attack.der" "$reused" \
            "mode=$m: $c, $attack copy refused (same issuer and serial, other DER)"
        expect_vfy "$db" classic $c "$cdir/$c-ca.der" "$E2E_UNTRUSTED_ISSUER" "mode=$m: $c original: distrusted"
    done
done

done_testing

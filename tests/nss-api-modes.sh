#!/bin/sh
# nss-api-modes.sh: why NSS mode serves no certificates. Runs
# tests/test-nss-api with the module in Chromium mode and in p11-kit mode
# (both serve the distrusted certificate) and checks the README's claims:
# NSS's verifiers still reject the MITM chain (test-nss-api's tests 13-21
# pass), but after PK11_FindCertFromDERCertItem on the module's slot the
# distrust is lost (its tests 22-25 fail). If NSS ever stops losing it,
# this test fails and the README's advice should be revisited.
#
# Then the MITM operator's re-encoded copies of the distrusted sub-CAs
# (test-nss-api's part f alone, NSSGUARD_TEST_ONLY=reencoded) in the other
# modes NSS reads: builtins (a roots file with only the root-list object)
# must reject them and report them distrusted, as NSS mode does; in
# Chromium and p11-kit mode the module's slot holds the original with the
# same issuer and serial, NSS refuses a temporary certificate of the copy
# (SEC_ERROR_REUSED_ISSUER_AND_SERIAL) and the chain, built with the
# original, is rejected all the same.
. "$top_srcdir/tests/lib.sh"

require_tool certutil
[ -f "$NSSGUARD_MODULE" ] || skip_all "the module is not built: $NSSGUARD_MODULE"
[ -x "$NSSGUARD_TOOL" ] || skip_all "the tool is not built: $NSSGUARD_TOOL"
prog="$top_builddir/tests/test-nss-api"
[ -x "$prog" ] || skip_all "tests/test-nss-api is not built"
reencode="$top_builddir/tests/nssguard-reencode"
[ -x "$reencode" ] || skip_all "tests/nssguard-reencode is not built"

OUT=$(test_outdir nss-api-modes)
if ! sh "$top_srcdir/tests/pki.sh" "$OUT/pki" >"$OUT/pki.log" 2>&1; then
    ok 1 "tests/pki.sh made the test PKI"
    sed 's/^/# /' "$OUT/pki.log"
    done_testing
fi
mkdir -p "$OUT/pki/reencoded"
if ! "$reencode" ecdsa-s "$OUT/pki/mitm-ca.der" "$OUT/pki/reencoded/mitm-ca.der" ||
    ! "$reencode" rsa-params "$OUT/pki/rsa/rsamitm-ca.der" "$OUT/pki/reencoded/rsamitm-ca.der"; then
    ok 1 "tests/nssguard-reencode made the re-encoded sub-CAs"
    done_testing
fi
for mode in chromium p11-kit; do
    mkdir -p "$OUT/$mode"
    NSSGUARD_TEST_PARAMS="mode=$mode" "$prog" "$OUT/pki" "$OUT/$mode" >"$OUT/$mode/tap.txt" 2>&1
    for n in 13 14 15 16 17; do
        grep -q "^ok $n - with module:" "$OUT/$mode/tap.txt"
        ok $? "mode=$mode: test-nss-api $n passes: $(sed -n "s/^ok $n - //p" "$OUT/$mode/tap.txt")"
    done
    grep -q "^not ok 22 - PK11_FindCertFromDERCertItem(nssguard slot, MITM sub-CA) is NULL" \
        "$OUT/$mode/tap.txt"
    ok $? "mode=$mode: PK11_FindCertFromDERCertItem on the module's slot finds the certificate"
    grep -q "^not ok 25 - after PK11_FindCertFromDERCertItem(nssguard slot): MITM sub-CA still distrusted" \
        "$OUT/$mode/tap.txt"
    ok $? "mode=$mode: ... and afterwards the MITM sub-CA is no longer distrusted (the hazard)"
done
[ "$tap_failed" -eq 0 ] || sed 's/^/# /' "$OUT/chromium/tap.txt"

# passes TAP TEXT: TAP has "ok N - TEXT".
passes()
{
    grep -q "^ok [0-9]* - $2\$" "$1"
}

cat >"$OUT/rootlist.txt" <<'EOF'
BEGINDATA
CKA_CLASS CK_OBJECT_CLASS CKO_NSS_BUILTIN_ROOT_LIST
CKA_TOKEN CK_BBOOL CK_TRUE
CKA_PRIVATE CK_BBOOL CK_FALSE
CKA_MODIFIABLE CK_BBOOL CK_FALSE
CKA_LABEL UTF8 "Mozilla Builtin Roots"
EOF
failed_before=$tap_failed
for mode in builtins chromium p11-kit; do
    params="mode=$mode"
    [ $mode = builtins ] && params="$params roots=$OUT/rootlist.txt"
    tap=$OUT/reencoded-$mode/tap.txt
    mkdir -p "$OUT/reencoded-$mode"
    NSSGUARD_TEST_ONLY=reencoded NSSGUARD_TEST_PARAMS="$params" "$prog" "$OUT/pki" \
        "$OUT/reencoded-$mode" >"$tap" 2>&1
    when="re-encoded, with module"
    for c in "re-encoded (ecdsa-s) mitm" "re-encoded (rsa-params) rsamitm"; do
        passes "$tap" "$when: $c chain, CERT_VerifyCertificate: SEC_ERROR_UNTRUSTED_ISSUER (want SEC_ERROR_UNTRUSTED_ISSUER)"
        ok $? "mode=$mode: $c chain, CERT_VerifyCertificate: SEC_ERROR_UNTRUSTED_ISSUER"
        passes "$tap" "$when: $c chain, CERT_PKIXVerifyCert: SEC_ERROR_UNTRUSTED_CERT (want SEC_ERROR_UNTRUSTED_CERT)"
        ok $? "mode=$mode: $c chain, CERT_PKIXVerifyCert: SEC_ERROR_UNTRUSTED_CERT"
    done
    passes "$tap" "original, with module: rsamitm chain, CERT_PKIXVerifyCert: SEC_ERROR_UNTRUSTED_CERT (want SEC_ERROR_UNTRUSTED_CERT)"
    ok $? "mode=$mode: the original RSA chain, CERT_PKIXVerifyCert: SEC_ERROR_UNTRUSTED_CERT"
    if [ $mode = builtins ]; then
        ! grep -q '^not ok' "$tap" && grep -q '^1\.\.28$' "$tap"
        ok $? "mode=builtins: all 28 tests of test-nss-api's part f pass (copies held and distrusted)"
    else
        n=$(grep -c '^# CERT_NewTempCertificate: SEC_ERROR_REUSED_ISSUER_AND_SERIAL$' "$tap")
        is "$n" 6 "mode=$mode: NSS refuses the 6 temporary copies (SEC_ERROR_REUSED_ISSUER_AND_SERIAL)"
    fi
done
[ "$tap_failed" -eq "$failed_before" ] || sed 's/^/# /' "$OUT/reencoded-builtins/tap.txt"
done_testing

#!/bin/sh
# nss-api.sh: makes a fresh test PKI with tests/pki.sh, the MITM operator's
# re-encoded copies of its distrusted sub-CAs with tests/nssguard-reencode
# (PKI/reencoded/), and runs tests/test-nss-api on it; the C program prints
# the TAP.
. "$top_srcdir/tests/lib.sh"

require_tool certutil
[ -f "$NSSGUARD_MODULE" ] || skip_all "the module is not built: $NSSGUARD_MODULE"
[ -x "$NSSGUARD_TOOL" ] || skip_all "the tool is not built: $NSSGUARD_TOOL"
prog="$top_builddir/tests/test-nss-api"
[ -x "$prog" ] || skip_all "tests/test-nss-api is not built"
reencode="$top_builddir/tests/nssguard-reencode"
[ -x "$reencode" ] || skip_all "tests/nssguard-reencode is not built"

OUT=$(test_outdir nss-api)
if ! sh "$top_srcdir/tests/pki.sh" "$OUT/pki" >"$OUT/pki.log" 2>&1; then
    ok 1 "tests/pki.sh made the test PKI"
    sed 's/^/# /' "$OUT/pki.log"
    done_testing
fi
# The copies: ECDSA (r,s) as (r,n-s); the RSA signature's outer
# signatureAlgorithm without its NULL parameters.
mkdir -p "$OUT/pki/reencoded"
if ! "$reencode" ecdsa-s "$OUT/pki/mitm-ca.der" "$OUT/pki/reencoded/mitm-ca.der" ||
    ! "$reencode" rsa-params "$OUT/pki/rsa/rsamitm-ca.der" "$OUT/pki/reencoded/rsamitm-ca.der"; then
    ok 1 "tests/nssguard-reencode made the re-encoded sub-CAs"
    done_testing
fi
exec "$prog" "$OUT/pki" "$OUT"

#!/bin/sh
# nss-api-modes.sh: why NSS mode serves no certificates. Runs
# tests/test-nss-api with the module in Chromium mode and in p11-kit mode
# (both serve the distrusted certificate) and checks the README's claims:
# NSS's verifiers still reject the MITM chain (test-nss-api's tests 13-21
# pass), but after PK11_FindCertFromDERCertItem on the module's slot the
# distrust is lost (its tests 22-25 fail). If NSS ever stops losing it,
# this test fails and the README's advice should be revisited.
. "$top_srcdir/tests/lib.sh"

require_tool certutil
[ -f "$NSSGUARD_MODULE" ] || skip_all "the module is not built: $NSSGUARD_MODULE"
[ -x "$NSSGUARD_TOOL" ] || skip_all "the tool is not built: $NSSGUARD_TOOL"
prog="$top_builddir/tests/test-nss-api"
[ -x "$prog" ] || skip_all "tests/test-nss-api is not built"

OUT=$(test_outdir nss-api-modes)
if ! sh "$top_srcdir/tests/pki.sh" "$OUT/pki" >"$OUT/pki.log" 2>&1; then
    ok 1 "tests/pki.sh made the test PKI"
    sed 's/^/# /' "$OUT/pki.log"
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
done_testing

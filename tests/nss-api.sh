#!/bin/sh
# nss-api.sh: makes a fresh test PKI with tests/pki.sh and runs
# tests/test-nss-api on it; the C program prints the TAP.
. "$top_srcdir/tests/lib.sh"

require_tool certutil
[ -f "$NSSGUARD_MODULE" ] || skip_all "the module is not built: $NSSGUARD_MODULE"
[ -x "$NSSGUARD_TOOL" ] || skip_all "the tool is not built: $NSSGUARD_TOOL"
prog="$top_builddir/tests/test-nss-api"
[ -x "$prog" ] || skip_all "tests/test-nss-api is not built"

OUT=$(test_outdir nss-api)
if ! sh "$top_srcdir/tests/pki.sh" "$OUT/pki" >"$OUT/pki.log" 2>&1; then
    ok 1 "tests/pki.sh made the test PKI"
    sed 's/^/# /' "$OUT/pki.log"
    done_testing
fi
exec "$prog" "$OUT/pki" "$OUT"

#!/bin/sh
# valgrind-vfychain.sh: `make check-valgrind` runs this. vfychain verifies
# the MITM chain (rejected) and the good chain (accepted) with
# libnssguard.so loaded, under $VALGRIND (memcheck with its flags, set by
# tests/hardening.mk). Fails on any memcheck error or on a leak that
# tests/valgrind.supp does not excuse (NSS's own, each entry explained).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup valgrind-vfychain
db=$out/client
client_db "$db" >/dev/null
ok $? "client database trusts the test root"
add_module "$db" "$pki/overlay.txt" "$out/nssguard.log"
ok $? "modutil adds libnssguard.so"

for chain in mitm good; do
    $VALGRIND --log-file="$out/$chain.vg" \
        vfychain -d "sql:$db" -u 1 "$pki/$chain-leaf.der" "$pki/$chain-ca.der" >"$out/$chain.out" 2>&1
    rc=$?
    case $chain in
    mitm) want=1 ;;
    good) want=0 ;;
    esac
    is "$rc" "$want" "$chain chain under memcheck: vfychain exits $want (97 = memcheck error)"
    grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|suppressed:' \
        "$out/$chain.vg" | sed 's/^==[0-9]*== */#   /'
    grep -q 'ERROR SUMMARY: 0 errors' "$out/$chain.vg"
    ok $? "$chain: memcheck: 0 errors (leaks count as errors; NSS's own are suppressed)"
done
done_testing

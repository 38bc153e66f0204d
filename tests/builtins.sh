#!/bin/sh
# builtins.sh: mode=builtins as a stand-in for libnssckbi.so.
# 1. test-builtins: every object Debian's libnssckbi.so serves (built from
#    NSS 3.87.1's certdata.txt) is served by nssguard in mode=builtins from
#    that same file, with the same attribute values, and nothing more; and an
#    overlay entry for a root replaces its trust object.
# 2. NSS itself: a database with libnssckbi.so and one with nssguard in
#    mode=builtins verify the same built-in roots as SSL CAs alike.
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
[ "$(grep -c '^ok' "$out/differential.tap")" -ge 10 ]
ok $? "all 10 differential checks ran"

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
done_testing

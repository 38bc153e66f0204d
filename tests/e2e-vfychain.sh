#!/bin/sh
# e2e-vfychain.sh: NSS's verifiers reject a chain through a distrusted
# sub-CA once libnssguard.so is loaded, and only then.
#
# The client database trusts the test root alone; the sub-CAs are handed to
# vfychain as untrusted intermediates, as a TLS server would send them.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup e2e-vfychain
db=$out/client
log=$out/nssguard.log
client_db "$db" >/dev/null
ok $? "client database trusts the test root"

diag "without the module every chain verifies"
for chain in mitm good isonly; do
    expect_good "$db" classic $chain
    expect_good "$db" pkix $chain
done

add_module "$db" "$pki/overlay.txt" "$log"
ok $? "modutil adds libnssguard.so"
modutil -dbdir "sql:$db" -list 2>&1 | grep -q '^ *[0-9]*\. nssguard$'
ok $? "modutil -list shows the nssguard module"

diag "with the module"
expect_distrust "$db" classic mitm
expect_distrust "$db" pkix mitm
expect_distrust "$db" classic isonly "(issuer+serial record)"
expect_distrust "$db" pkix isonly "(issuer+serial record)"
expect_good "$db" classic good
expect_good "$db" pkix good

# certutil -V on the leaf itself, each chain in its own database (the two
# leaves share a subject, which certutil's nicknames cannot tell apart).
for chain in mitm good; do
    vdb=$out/verify-$chain
    client_db "$vdb" >/dev/null &&
        certutil -A -d "sql:$vdb" -n $chain-ca -t ",," -i "$pki/$chain-ca.der" &&
        certutil -A -d "sql:$vdb" -n $chain-leaf -t ",," -i "$pki/$chain-leaf.der" &&
        add_module "$vdb" "$pki/overlay.txt" "$log"
    ok $? "$chain: database with leaf and sub-CA, module added"
done
got=$(certutil -V -d "sql:$out/verify-mitm" -u V -n mitm-leaf 2>&1)
is "$?:$got" \
    "255:certutil: certificate is invalid: Peer's certificate issuer has been marked as not trusted by the user." \
    "certutil -V rejects the MITM leaf"
got=$(certutil -V -d "sql:$out/verify-good" -u V -n good-leaf 2>&1)
is "$?:$got" "0:certutil: certificate is valid" "certutil -V accepts the good leaf"

diag "the event log"
[ -f "$log" ]
ok $? "log file written"
log_has "$log" '"event":"distrust"' '"label":"nssguard MITM sub-CA"' '"reason":"mitm"' \
    '"reference":"https://example.test/mitm"' '"serial":"0b"' \
    '"issuer":"CN=nssguard Test Root,O=nssguard tests"'
ok $? "distrust event for the MITM sub-CA"
log_has "$log" '"event":"distrust"' '"label":"nssguard Issuer-Serial sub-CA"' '"reason":"revoked"'
ok $? "distrust event for the issuer+serial sub-CA"
log_has "$log" '"event":"load"' '"entries":2' '"files":1'
ok $? "load event: 2 entries from 1 file"
! grep -q 'Good sub-CA' "$log"
ok $? "nothing logged about the good sub-CA"
grep -v '^{.*}$' "$log" | grep -q .
ok $((!$?)) "every log line is one JSON object"
[ "$tap_failed" -eq 0 ] || sed 's/^/# log: /' "$log"

done_testing

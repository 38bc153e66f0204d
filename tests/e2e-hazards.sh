#!/bin/sh
# e2e-hazards.sh: the known ways a distrust record is silently lost, each
# checked against the real module:
#  (a) a user trust record for the distrusted sub-CA in the NSS database;
#  (b) an overlay directory that also holds Mozilla's certdata.txt, with its
#      CKO_NSS_BUILTIN_ROOT_LIST object (it would raise the module's
#      trustOrder to 100, below the user database);
#  (c) a wrong CKA_CERT_SHA1_HASH in an overlay file. The module serves no
#      hash to NSS at all (NSS drops a record whose hash is not that of the
#      bytes it received, and a re-encoded copy has other bytes:
#      e2e-reencode.sh), but a file whose hash and certificate disagree is
#      damaged or edited by hand, and is refused loudly.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup e2e-hazards

# ---- (a) user trust records ----
diag "(a) user trust records for the MITM sub-CA"
db=$out/user
log=$out/user.log
client_db "$db" >/dev/null && add_module "$db" "$pki/overlay.txt" "$log"
ok $? "client database with the module"
certutil -A -d "sql:$db" -n mitm-ca -t ",," -i "$pki/mitm-ca.der"
ok $? "user imports the MITM sub-CA with trust ',,'"
expect_distrust "$db" classic mitm "(user record ',,')"
expect_distrust "$db" pkix mitm "(user record ',,')"
# Measured with NSS 3.87: the module's NOT_TRUSTED (trustOrder 50) wins over
# explicit user trust in the softoken (75), whatever the flags.
for t in "C,," "CT,C,C" "P,,"; do
    certutil -M -d "sql:$db" -n mitm-ca -t "$t"
    ok $? "user sets trust '$t' on the MITM sub-CA"
    expect_distrust "$db" classic mitm "(user trust '$t')"
    expect_distrust "$db" pkix mitm "(user trust '$t')"
done
diag "NSS 3.87: explicit user trust (certutil -M -t 'C,,') does NOT override the module"
got=$(certutil -L -d "sql:$db" | awk '$1 == "mitm-ca" { print $2 }')
is "$got" "p,p,p" "certutil -L shows the merged trust of the MITM sub-CA as p,p,p"
expect_good "$db" classic good

# ---- (b) Mozilla's certdata.txt in the overlay directory ----
diag "(b) overlay directory holding Mozilla's certdata.txt (NSS 3.28)"
moz=$NSSGUARD_SHARED/mozilla/certdata-nss-3.28.txt
if [ -f "$moz" ]; then
    odir=$out/overlay.d
    mkdir -p "$odir"
    cp "$pki/overlay.txt" "$odir/overlay.txt"
    cp "$moz" "$odir/certdata-nss-3.28.txt"
    grep -q '^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_BUILTIN_ROOT_LIST' "$odir/certdata-nss-3.28.txt"
    ok $? "certdata-nss-3.28.txt holds a CKO_NSS_BUILTIN_ROOT_LIST object"
    db=$out/rootlist
    log=$out/rootlist.log
    client_db "$db" >/dev/null && add_module "$db" "$odir" "$log" &&
        certutil -A -d "sql:$db" -n mitm-ca -t ",," -i "$pki/mitm-ca.der"
    ok $? "client database with the module and a user ',,' record for the MITM sub-CA"
    expect_distrust "$db" classic mitm "(root list in overlay, user record)"
    expect_distrust "$db" pkix mitm "(root list in overlay, user record)"
    expect_distrust "$db" classic isonly "(root list in overlay)"
    expect_good "$db" classic good
    expect_good "$db" pkix good
    log_has "$log" '"event":"load"' '"files":2' '"refused":0'
    ok $? "both files loaded, none refused"
    # The module serves no certificates and no root list: certutil sees
    # only the softoken's certificates.
    got=$(certutil -L -d "sql:$db" -h all | awk 'NR > 4 && NF { print $1 }' | sort | tr '\n' ' ')
    is "$got" "mitm-ca root " "certutil -L -h all lists no certificate from the module"
else
    diag "SKIP (b): $moz is missing"
fi

# ---- (c) wrong hashes ----
diag "(c) a wrong CKA_CERT_SHA1_HASH"
# flip: change the first octal byte after CKA_CERT_SHA1_HASH.
flip_sha1()
{
    awk 'flip { b = substr($0, 2, 3); $0 = (b == "000" ? "\\001" : "\\000") substr($0, 5); flip = 0 }
         /^CKA_CERT_SHA1_HASH MULTILINE_OCTAL$/ { flip = 1; line = NR + 1 }
         { print }
         END { print line > "/dev/stderr" }'
}
cdir=$out/wronghash.d
mkdir -p "$cdir"
"$NSSGUARD_TOOL" add --reason mitm --ref https://example.test/mitm \
    --label "nssguard MITM sub-CA" "$pki/mitm-ca.der" >"$out/mitm.txt"
flip_sha1 <"$out/mitm.txt" >"$cdir/bad.txt" 2>"$out/badline"
badline=$(cat "$out/badline")
cmp -s "$out/mitm.txt" "$cdir/bad.txt"
ok $((!$?)) "bad.txt differs from the tool's output in one hash byte (line $badline)"
"$NSSGUARD_TOOL" add --issuer-serial --reason revoked --ref https://example.test/isonly \
    --label "nssguard Issuer-Serial sub-CA" "$pki/isonly-ca.der" >"$cdir/isonly.txt"
db=$out/wronghash
log=$out/wronghash.log
client_db "$db" >/dev/null && add_module "$db" "$cdir" "$log"
ok $? "client database with the module, overlay: bad.txt and isonly.txt"
log_has "$log" '"event":"load_error"' "\"file\":\"$cdir/bad.txt\"" "\"error\":\"$cdir/bad.txt:"
ok $? "load_error event names bad.txt"
grep -q "\"event\":\"load_error\".*\"error\":\"$cdir/bad.txt:[0-9][0-9]*: " "$log"
ok $? "its error reads FILE:LINE: reason"
log_has "$log" '"event":"load"' '"files":1' '"refused":1'
ok $? "load event: one file loaded, one refused"
expect_distrust "$db" classic isonly "(the other file still loads)"
# bad.txt is refused whole: the MITM chain is not distrusted by it.
expect_good "$db" classic mitm
diag "a refused file distrusts nothing; the load_error event is the alarm"

diag "(c) a wrong hash on an issuer+serial record without its certificate"
ddir=$out/unverified.d
mkdir -p "$ddir"
"$NSSGUARD_TOOL" add --issuer-serial --reason mitm --ref https://example.test/mitm \
    --label "nssguard MITM sub-CA" "$pki/mitm-ca.der" |
    awk '{ print }
         /^CKA_LABEL / { print "CKA_CERT_SHA1_HASH MULTILINE_OCTAL"
                         print "\\001\\002\\003\\004\\005\\006\\007\\010\\011\\012\\013\\014\\015\\016\\017\\020"
                         print "\\021\\022\\023\\024"
                         print "END" }' >"$ddir/unverified.txt"
grep -q '^CKA_CERT_SHA1_HASH' "$ddir/unverified.txt" && ! grep -q CKO_CERTIFICATE "$ddir/unverified.txt"
ok $? "unverified.txt: trust object with a wrong hash, no certificate"
db=$out/unverified
log=$out/unverified.log
client_db "$db" >/dev/null && add_module "$db" "$ddir" "$log"
ok $? "client database with the module, overlay: unverified.txt"
expect_distrust "$db" classic mitm "(hash not served)"
expect_distrust "$db" pkix mitm "(hash not served)"
expect_good "$db" classic good

done_testing

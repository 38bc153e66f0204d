#!/bin/sh
# tool-constraints.sh: overlay entries NSS cannot enforce, enforced by
# `nssguard verify`: a constraint entry written by `add --name-constraints`
# (a leaf inside and outside the permitted names) and a distrust-after date
# written by `add --distrust-after` (a leaf issued before and after it).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup tool-constraints
t=$NSSGUARD_TOOL
db=$out/client
client_db "$db" >/dev/null
ok $? "client database trusts the test root"

# The good chain's leaf is CN=localhost with SAN dns:localhost, ip:127.0.0.1.
add_nc()
{
    "$t" add --reason misissued --ref https://example.test/nc --name-constraints "$1" \
        "$pki/good-ca.pem" >"$out/$2.txt"
}
add_nc permit:dns:localhost,permit:ip:127.0.0.0/8 inside
ok $? "add --name-constraints: permit:dns:localhost,permit:ip:127.0.0.0/8"
add_nc permit:dns:example.com,permit:ip:192.0.2.0/24,exclude:dns:.gov outside
ok $? "add --name-constraints: permit:dns:example.com,permit:ip:192.0.2.0/24,exclude:dns:.gov"
add_nc permit:dns:localhost,exclude:ip:127.0.0.1 ipout
"$t" add --reason misissued --ref https://example.test/da --distrust-after 2000-01-01 \
    "$pki/good-ca.pem" >"$out/after-2000.txt"
"$t" add --reason misissued --ref https://example.test/da --distrust-after 2049-12-31 \
    "$pki/good-ca.pem" >"$out/after-2049.txt"

got=$(sed -n '/^CKA_NSSGUARD_NAME_CONSTRAINTS/,/^END/p' "$out/outside.txt")
is "$got" 'CKA_NSSGUARD_NAME_CONSTRAINTS MULTILINE_OCTAL
\060\047\240\033\060\015\202\013\145\170\141\155\160\154\145\056
\143\157\155\060\012\207\010\300\000\002\000\377\377\377\000\241
\010\060\006\202\004\056\147\157\166
END' "add --name-constraints: the DER NameConstraints, permitted [0] then excluded [1]"
got=$(grep -c 'CKT_NSS_NOT_TRUSTED' "$out/outside.txt")
is "$got" 0 "add --name-constraints: a constraint entry distrusts no purpose"
got=$(sed -n '/^CKA_NSS_SERVER_DISTRUST_AFTER/,/^END/p' "$out/after-2000.txt")
is "$got" 'CKA_NSS_SERVER_DISTRUST_AFTER MULTILINE_OCTAL
\060\060\060\061\060\061\060\060\060\060\060\060\132
END' "add --distrust-after: UTCTime text 000101000000Z"

"$t" add --reason mitm --ref x --name-constraints permit:dns:bad_name "$pki/good-ca.pem" \
    >/dev/null 2>"$out/bad.err"
is "$?:$(cat "$out/bad.err")" "2:nssguard: --name-constraints: 'bad_name': not a DNS name" \
    "add --name-constraints: a bad name is an error"
"$t" add --reason mitm --ref x --distrust-after 2020-13-01 "$pki/good-ca.pem" >/dev/null 2>&1
is "$?" 2 "add --distrust-after: a bad date is an error"

vfy_tool()
{
    "$t" verify --db "sql:$db" --overlay "$out/$1.txt" --log "file:$out/verify.log" \
        --host localhost "$pki/good-chain.pem"
}
trust_line()
{
    grep -n '^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST' "$out/$1.txt" | cut -d: -f1
}
sha1=$(sed -n 's/^# SHA-1: //p' "$out/inside.txt")

got=$(vfy_tool inside)
is "$?:$got" "0:verdict: VALID (server)
chain:
  0 CN=localhost,O=nssguard tests
  1 CN=nssguard Good sub-CA,O=nssguard tests  [constrained: nssguard Good sub-CA]
  2 CN=nssguard Test Root,O=nssguard tests" \
    "verify: a leaf inside the permitted names is valid (the module is told constraints=ignore)"

got=$(vfy_tool outside)
is "$?:$got" "1:verdict: REJECTED SEC_ERROR_CERT_NOT_IN_NAME_SPACE (dns:localhost is outside the name constraints an overlay entry sets on CERT 1)
nss:     VALID (NSS accepted the chain: it cannot apply an overlay's name constraints)
at:      CERT 1
chain:
  0 CN=localhost,O=nssguard tests
  1 CN=nssguard Good sub-CA,O=nssguard tests  [constrained: nssguard Good sub-CA]
  2 CN=nssguard Test Root,O=nssguard tests
decided by: nssguard verify (NSS cannot apply an overlay's name constraints)
  nssguard Good sub-CA
    reason:    misissued
    reference: https://example.test/nc
    issuer:    CN=nssguard Test Root,O=nssguard tests
    serial:    0c
    sha1:      $sha1
    source:    $out/outside.txt:$(trust_line outside)" \
    "verify: a leaf outside the permitted names is rejected by nssguard, with the entry"

got=$(vfy_tool ipout | sed -n 1p)
is "$got" "verdict: REJECTED SEC_ERROR_CERT_NOT_IN_NAME_SPACE (ip:127.0.0.1 is outside the name constraints an overlay entry sets on CERT 1)" \
    "verify: an excluded iPAddress in the SAN is rejected"

got=$("$t" verify --json --db "sql:$db" --overlay "$out/outside.txt" --log none \
    "$pki/good-chain.pem" | grep -o '"verdict":"[a-z]*","error":"[A-Z_]*","enforced_by":"[a-z ]*","nss_verdict":"[a-z]*","nss_error":[a-z]*')
is "$got" '"verdict":"rejected","error":"SEC_ERROR_CERT_NOT_IN_NAME_SPACE","enforced_by":"nssguard verify","nss_verdict":"valid","nss_error":null' \
    "verify --json: the constraint verdict is nssguard's own, NSS's is valid"

da_line=$(grep -n '^CKA_NSS_SERVER_DISTRUST_AFTER' "$out/after-2000.txt" | cut -d: -f1)
got=$(vfy_tool after-2000)
is "$?:$got" "1:verdict: REJECTED MOZILLA_PKIX_ERROR_ISSUER_NO_LONGER_TRUSTED (the certificate was issued after the server distrust-after date of CERT 1)
nss:     VALID (NSS accepted the chain: it does not apply distrust-after dates)
at:      CERT 1
chain:
  0 CN=localhost,O=nssguard tests
  1 CN=nssguard Good sub-CA,O=nssguard tests
  2 CN=nssguard Test Root,O=nssguard tests
decided by: nssguard verify (NSS does not apply distrust-after dates)
  nssguard Good sub-CA
    distrust-after: 2000-01-01 00:00:00 UTC (000101000000Z)
    source:         $out/after-2000.txt:$da_line" \
    "verify: a leaf issued after the distrust-after date is rejected"

got=$(vfy_tool after-2049 | sed -n 1p)
is "$?:$got" "0:verdict: VALID (server)" "verify: a leaf issued before the distrust-after date is valid"
vfy_tool after-2049 >/dev/null
is "$?" 0 "verify: exit 0 before the date"

got=$("$t" verify --db "sql:$db" --overlay "$out/after-2000.txt" --log none --usage client \
    "$pki/good-chain.pem" | sed -n 1p)
is "$got" "verdict: REJECTED SEC_ERROR_INADEQUATE_CERT_TYPE (Certificate type not approved for application.)" \
    "verify --usage client: no distrust-after date applies (NSS's own verdict)"

log_has "$out/verify.log" '"event":"verify"' '"verdict":"rejected"' \
    '"error":"SEC_ERROR_CERT_NOT_IN_NAME_SPACE"' '"label":"nssguard Good sub-CA"'
ok $? "verify event for the constraint verdict"

# The module alone (vfychain), default constraints=distrust: the constraint
# entry distrusts the whole CA; the distrust-after record is not served.
add_module "$db" "$out/inside.txt" "$out/module.log"
expect_distrust "$db" classic good "(constraint entry served as distrust)"
modutil -dbdir "sql:$db" -force -delete nssguard >/dev/null
add_module "$db" "$out/after-2000.txt" "$out/module.log"
expect_good "$db" classic good

done_testing

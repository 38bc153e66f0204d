#!/bin/sh
# tool-crl.sh: `nssguard import-crl` turns the test root's CRL (made by
# `openssl ca` with the root's key, exported by pk12util) into issuer+serial
# entries that make NSS reject the revoked MITM sub-CA, and refuses, with
# nothing written, a tampered CRL (bad signature), an expired or not yet
# valid one (unless --force, which says so) and one of another issuer.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

require_tool openssl pk12util
e2e_setup tool-crl
t=$NSSGUARD_TOOL
root="CN=nssguard Test Root,O=nssguard tests"

# key NICK: NICK's private key from the test database, as PEM for openssl.
key()
{
    pk12util -o "$out/$1.p12" -n "$1" -d "sql:$pki/db" -W crl-test >/dev/null 2>&1 &&
        openssl pkcs12 -in "$out/$1.p12" -nocerts -nodes -passin pass:crl-test 2>/dev/null |
        openssl pkey -out "$out/$1.key" 2>/dev/null
}
key root && key good-ca
ok $? "pk12util and openssl export the keys of root and good-ca"

# crl NAME SIGNER THISUPDATE NEXTUPDATE INDEX-LINES [CERT [EXTENSIONS]]:
# $out/NAME.pem, a CRL signed by SIGNER's key (a nickname of tests/pki.sh)
# revoking what the openssl ca database lines say, CRL number 42, its issuer
# Name taken from CERT (default SIGNER's certificate), with the openssl
# config lines EXTENSIONS as more CRL extensions.
crl()
{
    ca=$out/ca-$1
    rm -rf "$ca"
    mkdir -p "$ca"
    printf '%b' "$5" >"$ca/index.txt"
    echo 2A >"$ca/crlnumber"
    printf '[ca]\ndefault_ca = c\n[c]\ndatabase = %s\ncrlnumber = %s\ndefault_md = sha256\ncrl_extensions = e\n[e]\n%b' \
        "$ca/index.txt" "$ca/crlnumber" "${7:-}" >"$ca/ca.cnf"
    openssl ca -config "$ca/ca.cnf" -gencrl -keyfile "$out/$2.key" -cert "${6:-$pki/$2.pem}" \
        -crl_lastupdate "$3" -crl_nextupdate "$4" -out "$out/$1.pem" >"$ca/log" 2>&1
}
# mitm-ca is serial 11 (0x0b), revoked for keyCompromise; 0x4d has no reason.
revoked='R\t491231000000Z\t260101000000Z,keyCompromise\t0B\tunknown\t/CN=mitm\nR\t491231000000Z\t260102000000Z\t4D\tunknown\t/CN=other\n'
crl arl root 20260101000000Z 20491231000000Z "$revoked" &&
    crl expired root 20200101000000Z 20200201000000Z "$revoked" &&
    crl future root 20480101000000Z 20491231000000Z "$revoked" &&
    crl other good-ca 20260101000000Z 20491231000000Z "$revoked" &&
    openssl crl -in "$out/arl.pem" -outform DER -out "$out/arl.der"
ok $? "openssl ca signs the CRLs (current, expired, not yet valid, of good-ca)"

diag "a verified CRL"
vfy_db=$out/client
client_db "$vfy_db" >/dev/null
expect_good "$vfy_db" classic mitm "(before the import, without the module)"

"$t" import-crl --issuer "$pki/root.pem" -o "$out/arl.txt" "$out/arl.pem" 2>"$out/arl.err"
is "$?:$(cat "$out/arl.err")" \
    "0:nssguard: import-crl: 2 entries from CRL #42 of $root, thisUpdate 2026-01-01T00:00:00Z, signature verified" \
    "import-crl: 2 entries, signature verified"
is "$(grep '^CKA_NSSGUARD_REASON' "$out/arl.txt" | tr '\n' '|')" \
    'CKA_NSSGUARD_REASON UTF8 "compromised"|CKA_NSSGUARD_REASON UTF8 "revoked"|' \
    "keyCompromise gives compromised, no reasonCode gives revoked"
is "$(grep -c "^CKA_NSSGUARD_REFERENCE UTF8 \"CRL #42 of $root, thisUpdate 2026-01-01T00:00:00Z\"$" "$out/arl.txt")" 2 \
    "the reference names the CRL number, the issuer and thisUpdate"
is "$(grep '^CKA_LABEL' "$out/arl.txt" | sort -u | tr '\n' '|')" \
    'CKA_LABEL UTF8 "serial 0b revoked by nssguard Test Root"|CKA_LABEL UTF8 "serial 4d revoked by nssguard Test Root"|' \
    "labels name the serial and the issuer"
grep -q '^# signature verified with NSS' "$out/arl.txt"
ok $? "the output says the signature was verified"
is "$(grep -c '^CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE$' "$out/arl.txt"):$(grep -c 'HASH' "$out/arl.txt")" \
    "0:0" "issuer+serial entries: no certificate, no hash"
got=$("$t" check "$out/arl.txt")
is "$?:$got" "0:1 file, 2 entries, 0 findings, 0 unreadable" "the import passes check"

# The same entries as `add --issuer-serial` writes for mitm-ca, but for the
# comment, label, reason and reference.
"$t" add --issuer-serial --reason compromised --ref x --label x "$pki/mitm-ca.der" |
    grep -v '^#' | grep -v -e '^CKA_LABEL' -e '^CKA_NSSGUARD_REFERENCE' >"$out/add.txt"
sed -n '/Serial Number: 0b/,/^$/p' "$out/arl.txt" |
    grep -v '^#' | grep -v -e '^CKA_LABEL' -e '^CKA_NSSGUARD_REFERENCE' >"$out/arl-0b.txt"
cmp -s "$out/add.txt" "$out/arl-0b.txt"
ok $? "the mitm-ca entry is the record add --issuer-serial writes"

"$t" import-crl --issuer "$pki/root.der" "$out/arl.der" >"$out/arl-der.txt" 2>/dev/null
is "$?" 0 "a DER CRL and a DER issuer certificate"
grep -v '^# CRL: ' "$out/arl.txt" >"$out/a" && grep -v '^# CRL: ' "$out/arl-der.txt" >"$out/b" &&
    cmp -s "$out/a" "$out/b"
ok $? "DER and PEM give the same entries"

add_module "$vfy_db" "$out/arl.txt" "$out/module.log"
expect_distrust "$vfy_db" classic mitm "(revoked by the root's CRL)"
expect_distrust "$vfy_db" pkix mitm "(revoked by the root's CRL)"
expect_good "$vfy_db" classic good
expect_good "$vfy_db" pkix good
expect_good "$vfy_db" classic isonly "(not in this CRL)"
log_has "$out/module.log" '"event":"distrust"' '"label":"serial 0b revoked by nssguard Test Root"' \
    '"reason":"compromised"'
ok $? "the module's distrust event names the CRL entry"

diag "the issuer Name in other bytes"
# The root's key and Name, the Name as UTF8String (certutil wrote
# PrintableString): equal under RFC 5280, other bytes. NSS matches bytes,
# so each serial gets an entry for both spellings.
openssl req -new -x509 -key "$out/root.key" -subj "/O=nssguard tests/CN=nssguard Test Root" \
    -utf8 -days 30 -out "$out/root-utf8.pem" 2>/dev/null &&
    crl utf8 root 20260101000000Z 20491231000000Z "$revoked" "$out/root-utf8.pem" &&
    ! cmp -s "$pki/root.der" "$out/root-utf8.pem"
ok $? "a CRL signed by the root's key, its issuer Name as UTF8String"
"$t" import-crl --issuer "$pki/root.pem" -o "$out/utf8.txt" "$out/utf8.pem" 2>"$out/utf8.err"
is "$?:$(cat "$out/utf8.err")" \
    "0:nssguard: import-crl: the CRL spells $root in other bytes than the certificate's subject (equal under RFC 5280): an entry for each spelling of each of 2 serials
nssguard: import-crl: 4 entries from CRL #42 of $root, thisUpdate 2026-01-01T00:00:00Z, signature verified" \
    "accepted: the Names are equal under RFC 5280; 2 serials, 2 spellings"
is "$(grep -c '^# the same serial, the issuer Name in the CRL' "$out/utf8.txt")" 2 \
    "the second spelling's entries say why they are there"
got=$("$t" check "$out/utf8.txt")
is "$?:$got" "0:1 file, 4 entries, 0 findings, 0 unreadable" "... and pass check"
utf8_db=$out/client-utf8
client_db "$utf8_db" >/dev/null && add_module "$utf8_db" "$out/utf8.txt" "$out/module-utf8.log"
expect_distrust "$utf8_db" classic mitm "(CRL naming the issuer in other bytes)"
expect_good "$utf8_db" classic good

diag "refused, nothing written"
# refused NAME ARGS...: exit 2, nothing at $out/NAME.txt; stderr in $out/NAME.err
refused()
{
    n=$1
    shift
    rm -f "$out/$n.txt"
    "$t" import-crl "$@" -o "$out/$n.txt" 2>"$out/$n.err"
    rc=$?
    [ ! -e "$out/$n.txt" ] && echo "$rc" || echo "$rc (and wrote $out/$n.txt)"
}

# One byte of a revoked serial changed: 0x0b becomes 0x0c, the signature fails.
cp "$out/arl.der" "$out/tampered.der"
at=$(openssl asn1parse -inform DER -in "$out/arl.der" |
    awk -F: '/INTEGER *:0B$/ { split($1, a, " "); sub(/.*hl=/, "", $2); split($2, h, " "); print a[1] + h[1] }')
printf '\014' | dd of="$out/tampered.der" bs=1 seek="$at" conv=notrunc 2>/dev/null
cmp -s "$out/arl.der" "$out/tampered.der"
is "$?:$(cmp -l "$out/arl.der" "$out/tampered.der" | wc -l | tr -d ' ')" "1:1" \
    "tampered CRL: one byte changed (offset $at)"
is "$(refused tampered --issuer "$pki/root.pem" "$out/tampered.der"):$(cat "$out/tampered.err")" \
    "2:nssguard: import-crl: $out/tampered.der: the signature does not verify with the public key of $pki/root.pem (SEC_ERROR_BAD_SIGNATURE)
nssguard: import-crl: $out/tampered.der: refused, nothing written (--force imports it anyway)" \
    "tampered CRL: bad signature, refused, nothing written"

is "$(refused expired --issuer "$pki/root.pem" "$out/expired.pem"):$(cat "$out/expired.err")" \
    "2:nssguard: import-crl: $out/expired.pem: expired: nextUpdate 2020-02-01T00:00:00Z is in the past
nssguard: import-crl: $out/expired.pem: refused, nothing written (--force imports it anyway)" \
    "expired CRL refused, nothing written"
is "$(refused future --issuer "$pki/root.pem" "$out/future.pem"):$(cat "$out/future.err")" \
    "2:nssguard: import-crl: $out/future.pem: not yet valid: thisUpdate 2048-01-01T00:00:00Z is in the future
nssguard: import-crl: $out/future.pem: refused, nothing written (--force imports it anyway)" \
    "not yet valid CRL refused, nothing written"
is "$(refused other --issuer "$pki/root.pem" "$out/other.pem"):$(cat "$out/other.err")" \
    "2:nssguard: import-crl: $out/other.pem: issued by CN=nssguard Good sub-CA,O=nssguard tests, not by $root (the subject of $pki/root.pem): refused, nothing written" \
    "a CRL of another issuer refused"
is "$(refused other-force --force --issuer "$pki/root.pem" "$out/other.pem")" 2 \
    "... even with --force"
is "$(refused wrong-issuer --issuer "$pki/good-ca.pem" "$out/arl.pem")" 2 \
    "the root's CRL with good-ca as --issuer refused"

diag "what the CRL lists: a delta CRL, an indirect CRL"
# deltaCRLIndicator (2.5.29.27), base CRL number 1; issuingDistributionPoint
# (2.5.29.28) with indirectCRL [4] TRUE. RFC 5280 makes both critical, and
# NSS then refuses to decode the CRL at all; not critical, NSS reads it and
# the tool must see what it is.
crl delta root 20260101000000Z 20491231000000Z "$revoked" "$pki/root.pem" \
    '2.5.29.27 = DER:02:01:01\n' &&
    crl indirect root 20260101000000Z 20491231000000Z "$revoked" "$pki/root.pem" \
        '2.5.29.28 = DER:30:03:84:01:FF\n' &&
    crl direct-idp root 20260101000000Z 20491231000000Z "$revoked" "$pki/root.pem" \
        '2.5.29.28 = DER:30:03:81:01:FF\n' &&
    crl delta-critical root 20260101000000Z 20491231000000Z "$revoked" "$pki/root.pem" \
        '2.5.29.27 = critical,DER:02:01:01\n'
ok $? "openssl ca signs delta, indirect and direct-IDP CRLs, and a delta CRL as RFC 5280 writes it"
is "$(refused delta-critical --issuer "$pki/root.pem" "$out/delta-critical.pem"):$(cat "$out/delta-critical.err")" \
    "2:nssguard: import-crl: $out/delta-critical.pem: NSS cannot decode the CRL (SEC_ERROR_CRL_UNKNOWN_CRITICAL_EXTENSION)" \
    "a critical deltaCRLIndicator: NSS refuses the CRL, nothing written"
is "$(refused delta --issuer "$pki/root.pem" "$out/delta.pem"):$(cat "$out/delta.err")" \
    "2:nssguard: import-crl: $out/delta.pem: a delta CRL (deltaCRLIndicator): it lists only what changed since its base CRL; import the base CRL (with --force, these serials alone)
nssguard: import-crl: $out/delta.pem: refused, nothing written (--force imports it anyway)" \
    "a delta CRL: refused, nothing written, saying to import its base CRL"
"$t" import-crl --force --issuer "$pki/root.pem" -o "$out/delta-forced.txt" "$out/delta.pem" \
    2>/dev/null
is "$?:$(grep -c '^CKA_SERIAL_NUMBER' "$out/delta-forced.txt")" "0:2" \
    "... with --force: its serials alone"
is "$(refused indirect --issuer "$pki/root.pem" "$out/indirect.pem"):$(cat "$out/indirect.err")" \
    "2:nssguard: import-crl: $out/indirect.pem: an indirect CRL (issuingDistributionPoint, indirectCRL): its entries may be other issuers' serials, which would be written under this one: refused, nothing written" \
    "an indirect CRL: refused (its serials may belong to other issuers)"
is "$(refused indirect-force --force --issuer "$pki/root.pem" "$out/indirect.pem")" 2 \
    "... even with --force"
is "$(refused direct-idp --issuer "$pki/root.pem" "$out/direct-idp.pem")" \
    "0 (and wrote $out/direct-idp.txt)" \
    "an issuingDistributionPoint without indirectCRL (onlyContainsUserCerts): imported"

diag "--force"
"$t" import-crl --force --issuer "$pki/root.pem" -o "$out/forced.txt" "$out/expired.pem" \
    2>"$out/forced.err"
is "$?:$(cat "$out/forced.err")" \
    "0:nssguard: import-crl: warning: --force overrides: $out/expired.pem: expired: nextUpdate 2020-02-01T00:00:00Z is in the past
nssguard: import-crl: 2 entries from CRL #42 of $root, thisUpdate 2020-01-01T00:00:00Z (FORCED)" \
    "expired CRL with --force: imported, the override said on stderr"
is "$(grep '^# WARNING' -A1 "$out/forced.txt")" \
    "# WARNING: --force imported this CRL although:
# expired: nextUpdate 2020-02-01T00:00:00Z is in the past" \
    "... and in the output's comment"
"$t" import-crl --force --issuer "$pki/root.pem" "$out/tampered.der" >"$out/forced-sig.txt" \
    2>/dev/null
is "$?:$(grep -c 'signature does not verify' "$out/forced-sig.txt")" "0:1" \
    "tampered CRL with --force: imported, the comment says the signature failed"

diag "usage"
"$t" import-crl "$out/arl.pem" >/dev/null 2>"$out/noissuer.err"
is "$?:$(head -1 "$out/noissuer.err")" "2:nssguard: import-crl: --issuer CERT is required (the CA that signed the CRL)" \
    "--issuer is required"
"$t" import-crl --issuer "$pki/root.pem" >/dev/null 2>&1
is "$?" 2 "no CRL: exit 2"
is "$(refused garbage --issuer "$pki/root.pem" "$pki/overlay.txt"):$(cat "$out/garbage.err")" \
    "2:nssguard: import-crl: $pki/overlay.txt: not a DER or PEM CRL (want one -----BEGIN X509 CRL----- block)" \
    "not a CRL: exit 2"
is "$(refused cert-as-crl --issuer "$pki/root.pem" "$pki/root.der"):$(cat "$out/cert-as-crl.err")" \
    "2:nssguard: import-crl: $pki/root.der: NSS cannot decode the CRL (SEC_ERROR_BAD_DER)" \
    "a certificate given as the CRL: exit 2"
"$t" import-crl --issuer "$pki/mitm-chain.pem" "$out/arl.pem" >/dev/null 2>"$out/two.err"
is "$?:$(cat "$out/two.err")" \
    "2:nssguard: import-crl: $pki/mitm-chain.pem: holds more than one certificate (want the CRL's issuer alone)" \
    "--issuer with two certificates: exit 2"

done_testing

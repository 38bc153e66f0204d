#!/bin/sh
# tool-verify.sh: add -> module -> NSS round trip through `nssguard verify`,
# and `list` / `explain` on the same overlay, with exact output.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup tool-verify
t=$NSSGUARD_TOOL
ov=$pki/overlay.txt
db=$out/client
log=$out/verify.log
client_db "$db" >/dev/null
ok $? "client database trusts the test root"

trust1=$(grep -n '^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST' "$ov" | sed -n 1p | cut -d: -f1)
trust2=$(grep -n '^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST' "$ov" | sed -n 2p | cut -d: -f1)
mitm_sha1=$(sed -n 's/^# SHA-1: //p' "$ov" | sed -n 1p)
mitm_entry="  nssguard MITM sub-CA
    reason:    mitm
    reference: https://example.test/mitm
    issuer:    CN=nssguard Test Root,O=nssguard tests
    serial:    0b
    sha1:      $mitm_sha1
    source:    $ov:$trust1"

got=$("$t" list --overlay "$ov")
is "$?:$got" "0:nssguard MITM sub-CA
  reason:    mitm
  reference: https://example.test/mitm
  issuer:    CN=nssguard Test Root,O=nssguard tests
  serial:    0b
  sha1:      $mitm_sha1
  source:    $ov:$trust1
nssguard Issuer-Serial sub-CA
  reason:    revoked
  reference: https://example.test/isonly
  issuer:    CN=nssguard Test Root,O=nssguard tests
  serial:    0d
  sha1:      none (issuer+serial record)
  source:    $ov:$trust2
2 entries from 1 file, 0 refused" "list: both entries, exact"

got=$("$t" list --json --overlay "$ov" | grep -o '"label":"[^"]*"' | tr '\n' ' ')
is "$got" '"label":"nssguard MITM sub-CA" "label":"nssguard Issuer-Serial sub-CA" ' "list --json"

got=$("$t" explain --overlay "$ov" "$pki/mitm-ca.pem")
is "$?:$got" "1:CERT 0: CN=nssguard MITM sub-CA,O=nssguard tests
  issuer: CN=nssguard Test Root,O=nssguard tests
  serial: 0b
  sha1:   $mitm_sha1
  DISTRUSTED by issuer+serial: NSS gets NOT_TRUSTED for every purpose
  the entry's SHA-1 is this certificate's
  entry:
$(printf '%s\n' "$mitm_entry" | sed 's/^/  /')" "explain: the MITM sub-CA matches by issuer+serial and hash"

got=$("$t" explain --overlay "$ov" "$pki/good-chain.pem" | grep -c 'no overlay entry matches')
is "$got" 2 "explain: nothing matches the good chain"
"$t" explain --overlay "$ov" "$pki/good-chain.pem" >/dev/null
is "$?" 0 "explain: exit 0 when nothing matches"
got=$("$t" explain --json --overlay "$ov" "$pki/isonly-chain.pem" | grep -o '"by":"[^"]*","enforced":[a-z]*,"hash":"[a-z]*"')
is "$got" '"by":"issuer+serial","enforced":true,"hash":"none"' "explain --json: issuer+serial record without hash"

vfy_tool()
{
    "$t" verify --db "sql:$db" --overlay "$ov" --log "file:$log" --host localhost "$pki/$1-chain.pem"
}
got=$(vfy_tool mitm)
is "$?:$got" "1:verdict: REJECTED SEC_ERROR_UNTRUSTED_ISSUER (Peer's certificate issuer has been marked as not trusted by the user.)
at:      CERT 1
chain:
  0 CN=localhost,O=nssguard tests
  1 CN=nssguard MITM sub-CA,O=nssguard tests  [distrusted: nssguard MITM sub-CA]
  2 CN=nssguard Test Root,O=nssguard tests
decided by:
$mitm_entry" "verify: the MITM chain is rejected, decided by the add'ed entry"

got=$(vfy_tool isonly | sed -n 1,2p)
is "$?:$got" "0:verdict: REJECTED SEC_ERROR_UNTRUSTED_ISSUER (Peer's certificate issuer has been marked as not trusted by the user.)
at:      CERT 1" "verify: the issuer+serial chain is rejected"
vfy_tool isonly >/dev/null
is "$?" 1 "verify: exit 1 for a rejected chain"

got=$(vfy_tool good)
is "$?:$got" "0:verdict: VALID (server)
chain:
  0 CN=localhost,O=nssguard tests
  1 CN=nssguard Good sub-CA,O=nssguard tests
  2 CN=nssguard Test Root,O=nssguard tests" "verify: the good chain is valid"

got=$("$t" verify --db "sql:$db" --overlay "$ov" --log none --host www.example.com \
    "$pki/good-chain.pem" | sed -n 1p)
is "$got" "verdict: REJECTED SSL_ERROR_BAD_CERT_DOMAIN (the certificate is not valid for this name)" \
    "verify --host: a name the certificate does not cover"

log_has "$log" '"event":"verify"' '"host":"localhost"' '"verdict":"rejected"' \
    '"error":"SEC_ERROR_UNTRUSTED_ISSUER"' '"label":"nssguard MITM sub-CA"' '"reason":"mitm"'
ok $? "verify event with the host name and the deciding entry"
log_has "$log" '"event":"distrust"' '"label":"nssguard MITM sub-CA"'
ok $? "the module's own distrust event is in the same log"
log_has "$log" '"event":"verify"' '"verdict":"valid"' '"host":"localhost"'
ok $? "verify event for the good chain"

# A compiled overlay lists the same entries as its text (ng_image_open).
"$t" compile -o "$out/overlay.ngo" "$ov" >/dev/null
got=$("$t" list "$out/overlay.ngo")
is "$?:$got" "0:$("$t" list --overlay "$ov")" "list FILE.ngo: the compiled entries, as the text lists them"
mkdir -p "$out/ovdir"
cp "$ov" "$out/ovdir/a.txt"
"$t" compile "$out/ovdir/a.txt" >/dev/null
got=$("$t" list "$out/ovdir" | tail -n 1)
is "$got" "2 entries from 1 file, 0 refused" "list DIR: a.ngo beside a.txt is not read twice"

"$t" verify --module /nonexistent.so --db "sql:$db" "$pki/good-chain.pem" 2>/dev/null
is "$?" 2 "verify: a missing module is an error (exit 2)"

# A MITM operator's copy of the distrusted sub-CA: the root's ECDSA signature
# (r,s) rewritten as (r,n-s), no key needed (tests/nssguard-reencode). Same
# tbsCertificate, same issuer and serial, another SHA-1.
reenc=$top_builddir/tests/nssguard-reencode
pem()
{
    echo "-----BEGIN CERTIFICATE-----"
    base64 <"$1"
    echo "-----END CERTIFICATE-----"
}
colon_sha1()
{
    sha1sum <"$1" | cut -c1-40 | sed 's/../&:/g; s/:$//'
}
if [ -x "$reenc" ] && "$reenc" ecdsa-s "$pki/mitm-ca.der" "$out/mitm-ca-re.der"; then
    { pem "$pki/mitm-leaf.der" && pem "$out/mitm-ca-re.der"; } >"$out/mitmre-chain.pem"
    re_sha1=$(colon_sha1 "$out/mitm-ca-re.der")

    got=$("$t" verify --db "sql:$db" --overlay "$ov" --log none "$out/mitmre-chain.pem")
    is "$?:$got" "1:verdict: REJECTED SEC_ERROR_UNTRUSTED_ISSUER (Peer's certificate issuer has been marked as not trusted by the user.)
at:      CERT 1
chain:
  0 CN=localhost,O=nssguard tests
  1 CN=nssguard MITM sub-CA,O=nssguard tests  [distrusted: nssguard MITM sub-CA] (re-encoded copy)
  2 CN=nssguard Test Root,O=nssguard tests
decided by:
$mitm_entry" "verify: a re-encoded copy of the MITM sub-CA is rejected as distrusted, and marked"
    got=$("$t" verify --json --db "sql:$db" --overlay "$ov" --log none "$out/mitmre-chain.pem" |
        grep -o '"nss_verdict":"[a-z]*","nss_error":"[A-Z_]*"\|"enforced":[a-z]*,"copy":"[a-z-]*"' |
        tr '\n' ' ')
    is "$got" '"nss_verdict":"rejected","nss_error":"SEC_ERROR_UNTRUSTED_ISSUER" "enforced":true,"copy":"re-encoded" ' \
        "verify --json: NSS's verdict, the entry enforced, the copy re-encoded"

    got=$("$t" explain --overlay "$ov" "$out/mitm-ca-re.der")
    is "$?:$got" "1:CERT 0: CN=nssguard MITM sub-CA,O=nssguard tests
  issuer: CN=nssguard Test Root,O=nssguard tests
  serial: 0b
  sha1:   $re_sha1
  DISTRUSTED by issuer+serial: NSS gets NOT_TRUSTED for every purpose
  RE-ENCODED COPY of the recorded certificate: the tbsCertificate (the signed
  part) is byte for byte the recorded one's; only bytes outside it differ, so
  the SHA-1 is not the entry's. NSS still refuses it: nssguard serves the
  distrust by issuer and serial, with no hash
  entry:
$(printf '%s\n' "$mitm_entry" | sed 's/^/  /')" "explain: the re-encoded copy, exit 1"
    got=$("$t" explain --json --overlay "$ov" "$out/mitm-ca-re.der" | grep -o '"hash":"[a-z-]*"')
    is "$got" '"hash":"re-encoded"' "explain --json: hash re-encoded"

    # Another tbsCertificate with the same issuer and serial (one digit of
    # its notBefore changed): a different certificate, not a copy.
    LC_ALL=C sed 's/\([0-9]\{11\}\)0Z/\11Z/;t;s/\([0-9]\{11\}\)[1-9]Z/\10Z/' \
        "$pki/mitm-ca.der" >"$out/mitm-ca-other.der"
    got=$("$t" explain --overlay "$ov" "$out/mitm-ca-other.der" | sed -n 6,9p)
    is "$got" "  ANOTHER CERTIFICATE with the recorded one's issuer and serial: its
  tbsCertificate (the signed part) differs, so it is a different certificate,
  not a copy of it. NSS refuses it too: nssguard serves the distrust by issuer
  and serial, with no hash" "explain: same issuer and serial, another tbsCertificate"
    got=$("$t" explain --json --overlay "$ov" "$out/mitm-ca-other.der" | grep -o '"hash":"[a-z-]*"')
    is "$got" '"hash":"other-certificate"' "explain --json: hash other-certificate"

    # A module that does not serve the overlay (Debian's libnssckbi.so, p11-kit's
    # trust module): NSS accepts the chain, and verify must say so, never
    # "[distrusted".
    ckbi=
    for m in /usr/lib/x86_64-linux-gnu/libnssckbi.so /usr/lib/*/libnssckbi.so \
        /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so; do
        [ -f "$m" ] && ckbi=$m && break
    done
    if [ -n "$ckbi" ]; then
        got=$("$t" verify --module "$ckbi" --db "sql:$db" --overlay "$ov" --log none \
            "$out/mitmre-chain.pem")
        is "$?:$got" "0:verdict: VALID (server)
chain:
  0 CN=localhost,O=nssguard tests
  1 CN=nssguard MITM sub-CA,O=nssguard tests  [overlay entry NOT enforced by NSS here: nssguard MITM sub-CA] (re-encoded copy)
  2 CN=nssguard Test Root,O=nssguard tests
warning: overlay entry \"nssguard MITM sub-CA\" NOT enforced by NSS on CERT 1
  NSS ACCEPTED the chain although this entry matches CERT 1 by issuer and
  serial. Possible causes: the module NSS loaded does not serve this entry
  (another module, version or configuration); another token's trust for this
  certificate won; or the module serves a certificate hash that these bytes do
  not match, and NSS dropped the record (this certificate is a re-encoded copy
  of the recorded one)
$mitm_entry" "verify, module not effective: NSS's VALID, the entry shown as NOT enforced"
        got=$("$t" verify --module "$ckbi" --db "sql:$db" --overlay "$ov" --log none \
            "$pki/mitm-chain.pem" | grep -c '\[distrusted')
        is "$got" 0 "verify, module not effective: no CA called distrusted in a chain NSS accepted"
        got=$("$t" verify --json --module "$ckbi" --db "sql:$db" --overlay "$ov" --log none \
            "$pki/mitm-chain.pem" |
            grep -o '"verdict":"[a-z]*"\|"nss_verdict":"[a-z]*"\|"distrusted_by":null\|"enforced":false,"copy":"[a-z-]*"\|"nss":"[a-z]*"' |
            tr '\n' ' ')
        is "$got" '"verdict":"valid" "nss_verdict":"valid" "distrusted_by":null "distrusted_by":null "enforced":false,"copy":"same" "distrusted_by":null "nss":"accepted" ' \
            "verify --json, module not effective: valid, enforced false, one warning"
    else
        ok 0 "# SKIP no libnssckbi.so or p11-kit-trust.so to stand for a module that serves nothing"
        ok 0 "# SKIP no libnssckbi.so or p11-kit-trust.so"
        ok 0 "# SKIP no libnssckbi.so or p11-kit-trust.so"
    fi
else
    diag "no $reenc (make check builds it): re-encoding tests skipped"
fi

done_testing

#!/bin/sh
# tool-audit.sh: `nssguard audit` classifies the sub-CAs of tests/pki.sh as
# Mozilla's Root Store Policy 5.3.1 does (technically constrained or not,
# or not for TLS) and says which ones the overlay covers; exact output and
# exit statuses.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup tool-audit
[ -f "$pki/no-audit-cas" ] && skip_all "$(cat "$pki/no-audit-cas")"
t=$NSSGUARD_TOOL
ov=$pki/overlay.txt
mitm_line=$(grep -n '^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST' "$ov" | sed -n 1p | cut -d: -f1)
isonly_line=$(grep -n '^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST' "$ov" | sed -n 2p | cut -d: -f1)

got=$("$t" audit --overlay "$ov" "sql:$pki/db")
is "$?:$got" "1:CLASS          ROLE    OVERLAY      SUBJECT
not-for-TLS    sub-CA  -            CN=nssguard Code Signing sub-CA,O=nssguard tests
    EKU codeSigning: neither serverAuth nor emailProtection
    serial 10, from sql:$pki/db codesign-ca
constrained    sub-CA  -            CN=nssguard Constrained sub-CA,O=nssguard tests
    EKU serverAuth, names constrained: dNSName, iPAddress, directoryName
    serial 0e, from sql:$pki/db tc-ca
unconstrained  sub-CA  -            CN=nssguard DNS-only sub-CA,O=nssguard tests
    EKU serverAuth, name constraints leave out: iPAddress, directoryName
    serial 0f, from sql:$pki/db ncdns-ca
unconstrained  sub-CA  -            CN=nssguard Good sub-CA,O=nssguard tests
    no EKU extension: it may issue for any purpose
    serial 0c, from sql:$pki/db good-ca
unconstrained  sub-CA  distrusted   CN=nssguard Issuer-Serial sub-CA,O=nssguard tests
    no EKU extension: it may issue for any purpose
    serial 0d, from sql:$pki/db isonly-ca
    overlay entry: nssguard Issuer-Serial sub-CA ($ov:$isonly_line)
unconstrained  sub-CA  distrusted   CN=nssguard MITM sub-CA,O=nssguard tests
    no EKU extension: it may issue for any purpose
    serial 0b, from sql:$pki/db mitm-ca
    overlay entry: nssguard MITM sub-CA ($ov:$mitm_line)
unconstrained  root    -            CN=nssguard Test Root,O=nssguard tests
    no EKU extension: it may issue for any purpose
    serial 01, from sql:$pki/db root
7 CA certificates (1 root) among 10: 1 constrained, 5 unconstrained, 1 not for TLS; 2 unconstrained sub-CAs not covered by the overlay" \
    "audit sql:DB: every CA classified, leaves left out, exit 1 for the uncovered sub-CAs"

got=$("$t" audit --overlay "$ov" "$pki/tc-ca.pem")
is "$?:$got" "0:CLASS          ROLE    OVERLAY      SUBJECT
constrained    sub-CA  -            CN=nssguard Constrained sub-CA,O=nssguard tests
    EKU serverAuth, names constrained: dNSName, iPAddress, directoryName
    serial 0e, from $pki/tc-ca.pem
1 CA certificate (0 roots) among 1: 1 constrained, 0 unconstrained, 0 not for TLS; 0 unconstrained sub-CAs not covered by the overlay" \
    "audit: the technically constrained sub-CA alone, exit 0"

got=$("$t" audit --overlay "$ov" "$pki/good-chain.pem" | sed -n 2p)
is "$?:$got" "0:unconstrained  sub-CA  -            CN=nssguard Good sub-CA,O=nssguard tests" \
    "audit BUNDLE: the leaf is not a CA, the good sub-CA is unconstrained"
"$t" audit --overlay "$ov" "$pki/good-chain.pem" >/dev/null
is "$?" 1 "audit: exit 1 for an unconstrained sub-CA no entry covers"
"$t" audit --overlay "$ov" "$pki/mitm-chain.pem" >/dev/null
is "$?" 0 "audit: exit 0 when the overlay distrusts the unconstrained sub-CA"

got=$("$t" audit --overlay "$ov" "$pki/ncdns-ca.der" "$pki/codesign-ca.pem" | sed -n '2p;5p')
is "$got" "not-for-TLS    sub-CA  -            CN=nssguard Code Signing sub-CA,O=nssguard tests
unconstrained  sub-CA  -            CN=nssguard DNS-only sub-CA,O=nssguard tests" \
    "audit: code signing only is not for TLS; dNSName constraints alone are not enough"

got=$("$t" audit --overlay "$ov" "$pki" 2>"$out/dir.err" | tail -n 1)
# Directories are read recursively (tools/corpus.c): rsa/ adds the RSA root
# and its MITM sub-CA.
is "$?:$got" "0:9 CA certificates (2 roots) among 34: 1 constrained, 7 unconstrained, 1 not for TLS; 3 unconstrained sub-CAs not covered by the overlay" \
    "audit CERT-DIR: every certificate file once, duplicates dropped, subdirectories read"
is "$(cat "$out/dir.err")" "nssguard: $pki/ncdns-nc.der: not a certificate, skipped
nssguard: $pki/tc-nc.der: not a certificate, skipped" "audit CERT-DIR: other DER is skipped with a warning"

# Covering the two uncovered sub-CAs makes the audit clean.
"$t" add --reason mitm --ref https://example.test/audit "$pki/good-ca.pem" "$pki/ncdns-ca.pem" \
    >"$out/more.txt"
got=$("$t" audit --overlay "$ov" --overlay "$out/more.txt" "sql:$pki/db" | tail -n 1)
is "$?:$got" "0:7 CA certificates (1 root) among 10: 1 constrained, 5 unconstrained, 1 not for TLS; 0 unconstrained sub-CAs not covered by the overlay" \
    "audit: exit 0 once the overlay covers every unconstrained sub-CA"

got=$("$t" audit --json --overlay "$ov" "$pki/tc-ca.pem" "$pki/mitm-ca.der" |
    grep -o '"serial":"0[be]","origin":"[^"]*","role":"[^"]*","class":"[^"]*","eku":[^,]*\|"covered":"[a-z]*"\|"uncovered":[0-9]*' |
    sed "s|$pki/||" | tr '\n' ' ')
is "$got" '"serial":"0e","origin":"tc-ca.pem","role":"sub-CA","class":"constrained","eku":"serverAuth" "serial":"0b","origin":"mitm-ca.der","role":"sub-CA","class":"unconstrained","eku":null "covered":"distrusted" "uncovered":0 ' \
    "audit --json: class, EKU and the covering entry"

"$t" audit --overlay "$ov" "$out/nonexistent.pem" 2>/dev/null
is "$?" 2 "audit: a missing file is an error (exit 2)"
"$t" audit --overlay "$ov" "$pki/overlay.txt" 2>/dev/null
is "$?" 2 "audit: a file without certificates is an error (exit 2)"
"$t" audit --overlay "$ov" "sql:$out/nodb" 2>/dev/null
is "$?" 2 "audit: a missing NSS database is an error (exit 2)"

done_testing

#!/bin/sh
# tool-keys.sh: distrust by key (issue 13). The attack: a MITM sub-CA
# re-issued with its own key under a new serial, or cross-signed by another
# root, walks past an entry that names one certificate. A key entry (subject
# + SPKI SHA-256) names the key; the module loads it and serves nothing for
# it (NSS asks by issuer and serial), `check --certs` names the copies no
# entry covers, and `nssguard expand` turns the key entry into issuer+serial
# entries that NSS then enforces.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup tool-keys
tool=$NSSGUARD_TOOL
org="O=nssguard tests"
cd "$out" || exit 1

diag "the copies: same key as mitm-ca, a new serial / another issuer"
head -c 2048 /dev/urandom >noise
certutil -R -d "sql:$pki/db" -k mitm-ca -s "CN=nssguard MITM sub-CA,$org" -o req.der \
    >keys-certutil.log 2>&1 &&
    printf 'y\n\ny\n' | certutil -S -d "sql:$pki/db" -n xroot -s "CN=nssguard Other Root,$org" \
        -x -t ",," -m 77 -k ec -q secp256r1 -z noise -v 120 \
        -2 --keyUsage certSigning,crlSigning >>keys-certutil.log 2>&1 &&
    printf 'y\n\ny\n' | certutil -C -d "sql:$pki/db" -c root -i req.der \
        -o "$pki/reissued-ca.der" -m 1011 -v 120 \
        -2 --keyUsage certSigning,crlSigning >>keys-certutil.log 2>&1 &&
    printf 'y\n\ny\n' | certutil -C -d "sql:$pki/db" -c xroot -i req.der \
        -o "$pki/cross-ca.der" -m 11 -v 120 \
        -2 --keyUsage certSigning,crlSigning >>keys-certutil.log 2>&1 &&
    certutil -L -d "sql:$pki/db" -n xroot -r >"$pki/xroot.der"
ok $? "certutil re-issues mitm-ca's key (serial 1011) and cross-signs it (Other Root)"
cp "$pki/mitm-leaf.der" "$pki/reissued-leaf.der"
cp "$pki/mitm-leaf.der" "$pki/cross-leaf.der"

# db DIR OVERLAY: a client trusting both roots, the module on OVERLAY.
db()
{
    client_db "$1" >/dev/null &&
        certutil -A -d "sql:$1" -n xroot -t "C,," -i "$pki/xroot.der" &&
        add_module "$1" "$2" "$1.log"
}

"$tool" add --by-key --reason mitm --ref https://example.test/mitm-key \
    --label "nssguard MITM sub-CA key" "$pki/mitm-ca.der" >keys.txt
ok $? "add --by-key writes a key entry"
grep -q '^CKA_SUBJECT MULTILINE_OCTAL' keys.txt && ! grep -q '^CKA_ISSUER' keys.txt &&
    grep -q '^CKA_NSSGUARD_SPKI_SHA256' keys.txt
ok $? "the key entry: CKA_SUBJECT and CKA_NSSGUARD_SPKI_SHA256, no issuer or serial"
got=$("$tool" add --by-key --reason revoked --ref x "$pki/mitm-ca.der" 2>&1)
is "$?:$got" "2:nssguard: $pki/mitm-ca.der: --by-key takes reason mitm or compromised: a revoked or mis-issued certificate's key is shared by legitimate re-issues" \
    "add --by-key refuses reason revoked"

mkdir -p before after
cp "$pki/overlay.txt" keys.txt before/

diag "before expansion: the copies verify (the attack)"
db "$out/c-before" "$out/before"
ok $? "client database, module on overlay.txt + keys.txt"
expect_good "$out/c-before" classic reissued
expect_good "$out/c-before" pkix reissued
expect_good "$out/c-before" classic cross
expect_good "$out/c-before" pkix cross
expect_distrust "$out/c-before" classic mitm "(the certificate the entry names)"
log_has "$out/c-before.log" '"event":"load"' '"entries":2,' '"keys":1,'
ok $? "load event: 2 entries, 1 key entry (not served)"

diag "check --certs names the copies no entry covers"
got=$("$tool" check --certs "$pki/reissued-ca.der" --certs "$pki/cross-ca.der" \
    --certs "$pki/mitm-ca.der" before/overlay.txt before/keys.txt)
rc=$?
is "$rc" 1 "check --certs exits 1"
is "$(printf '%s\n' "$got" | grep -c 'key-uncovered')" 2 "two key-uncovered findings"
printf '%s\n' "$got" | grep -q "^before/keys.txt:5: key-uncovered: $pki/cross-ca.der (issuer CN=nssguard Other Root,O=nssguard tests) has the subject and key"
ok $? "the cross-signed copy is named, with its issuer"
printf '%s\n' "$got" | grep -q "key-uncovered: $pki/reissued-ca.der (issuer CN=nssguard Test Root"
ok $? "the re-issued copy is named"
printf '%s\n' "$got" | grep -q "key-uncovered: $pki/mitm-ca.der"
is "$?" 1 "the certificate overlay.txt names is not"

diag "expand"
"$tool" expand --certs "$pki/reissued-ca.der" --certs "$pki/cross-ca.der" \
    --certs "$pki/mitm-ca.der" --covered before/overlay.txt -o expanded.txt before/keys.txt \
    2>expand.err
ok $? "expand exits 0"
grep -qx '#   became 2 entries below; 3 certificates of this key found, 1 named already' \
    expanded.txt
ok $? "the summary says what the key entry became"
grep -qx "# found in: $pki/cross-ca.der" expanded.txt &&
    grep -qx "# found in: $pki/reissued-ca.der" expanded.txt
ok $? "each entry says where its certificate was found"
is "$(grep -c '^CKO_NSS_TRUST\|^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST' expanded.txt)" 2 \
    "two trust records (the covered certificate is not written again)"
"$tool" check expanded.txt >/dev/null
ok $? "check: the expansion is clean"
got=$("$tool" check --certs "$pki/reissued-ca.der" --certs "$pki/cross-ca.der" \
    before/overlay.txt before/keys.txt expanded.txt)
is "$?" 0 "check --certs with the expansion: nothing uncovered"

diag "a cross-signing CA that writes the subject in other bytes (upper case)"
certutil -R -d "sql:$pki/db" -k mitm-ca -s "CN=NSSGUARD MITM SUB-CA,O=NSSGUARD TESTS" \
    -o recased-req.der >>keys-certutil.log 2>&1 &&
    printf 'y\n\ny\n' | certutil -C -d "sql:$pki/db" -c xroot -i recased-req.der \
        -o "$pki/recased-ca.der" -m 12 -v 120 \
        -2 --keyUsage certSigning,crlSigning >>keys-certutil.log 2>&1
ok $? "certutil: mitm-ca's key under its subject in upper case, cross-signed (serial 12)"
got=$("$tool" check --certs "$pki/recased-ca.der" before/overlay.txt before/keys.txt)
is "$?:$(printf '%s\n' "$got" | grep -c "key-uncovered: $pki/recased-ca.der")" 1:1 \
    "check --certs names it: the subject is the key entry's under RFC 5280"
"$tool" expand --certs "$pki/recased-ca.der" --covered before/overlay.txt \
    -o recased.txt before/keys.txt 2>/dev/null &&
    grep -qx "# found in: $pki/recased-ca.der" recased.txt
ok $? "expand writes an entry for it"

diag "after expansion: NSS rejects the copies"
cp before/overlay.txt before/keys.txt expanded.txt after/
db "$out/c-after" "$out/after"
ok $? "client database, module on overlay.txt + keys.txt + expanded.txt"
expect_distrust "$out/c-after" classic reissued "(re-issued, new serial)"
expect_distrust "$out/c-after" pkix reissued "(re-issued, new serial)"
expect_distrust "$out/c-after" classic cross "(cross-signed by another root)"
expect_distrust "$out/c-after" pkix cross "(cross-signed by another root)"
expect_good "$out/c-after" classic good
log_has "$out/c-after.log" '"event":"load"' '"entries":4,' '"keys":1,'
ok $? "load event: 4 entries, 1 key entry"

diag "a compiled file keeps its key entries' count"
mkdir -p compiled && cp before/overlay.txt compiled/ &&
    "$tool" compile -o compiled/keys.ngo before/keys.txt >compile.out 2>compile.err
ok $? "compile keys.txt (no keys.txt beside keys.ngo: the module maps the image)"
grep -q "compiled/keys.ngo: 1 key entry carried as a count only: .*nssguard expand" compile.err
ok $? "compile says on stderr it carried 1 key entry as a count, to be expanded"
db "$out/c-compiled" "$out/compiled"
ok $? "client database, module on overlay.txt + keys.ngo"
expect_distrust "$out/c-compiled" classic mitm "(compiled: the certificate entry still served)"
log_has "$out/c-compiled.log" '"event":"load"' '"entries":2,' '"keys":1,'
ok $? "load event of a compiled file: 2 entries, 1 key entry"

diag "malformed key entries are refused whole"
sed 's/"mitm"/"revoked"/' before/keys.txt >revoked-key.txt
got=$("$tool" check revoked-key.txt)
printf '%s\n' "$got" | grep -q "refused: a key entry's reason is mitm or compromised, not 'revoked'"
ok $? "a key entry with reason revoked: refused"
awk '/^CKA_NSSGUARD_SPKI_SHA256/ { skip = 1; next } skip && /^END/ { skip = 0; next } !skip' \
    before/keys.txt >nokey.txt
got=$("$tool" check nokey.txt)
printf '%s\n' "$got" | grep -q "refused: key entry without CKA_NSSGUARD_SPKI_SHA256"
ok $? "CKA_SUBJECT without the key hash: refused"
mkdir -p bad && cp revoked-key.txt bad/
db "$out/c-bad" "$out/bad"
vfy "$out/c-bad" classic good
log_has "$out/c-bad.log" '"event":"load_error"' "a key entry's reason is mitm or compromised"
ok $? "the module refuses it with a load_error"

diag "the shipped key entries (certdata/): DigiNotar's cross-certificates"
cd "$top_srcdir" || exit 1
got=$("$tool" check --certs certdata/chromium-blocklist.pem certdata/nssguard-default.txt \
    certdata/nssguard-keys.txt)
is "$?" 1 "check --certs Chromium's blocklist certificates: findings without the expansion"
is "$(printf '%s\n' "$got" | grep -c 'key-uncovered')" 10 \
    "10 certificates of distrusted keys that nssguard-default.txt does not name"
printf '%s\n' "$got" | grep -q "key-uncovered: certdata/chromium-blocklist.pem#6 (issuer CN=Entrust.net Secure Server Certification Authority"
ok $? "among them DigiNotar Root CA cross-certified by Entrust"
"$tool" check --certs certdata/chromium-blocklist.pem certdata/nssguard-default.txt \
    certdata/nssguard-keys.txt certdata/nssguard-keys-expanded.txt >/dev/null
ok $? "with nssguard-keys-expanded.txt: every one is named"
if [ -f "$NSSGUARD_SHARED/ccadb/ccadb-certificates-2026-08.csv.xz" ]; then
    rm -rf "$out/regen" && mkdir -p "$out/regen/certdata" &&
        cp certdata/nssguard-default.txt certdata/nssguard-keys.txt \
            certdata/chromium-blocklist.pem "$out/regen/certdata/" &&
        ln -s "$NSSGUARD_SHARED/ccadb/ccadb-certificates-2026-08.csv.xz" "$out/regen/" &&
        (cd "$out/regen" && "$tool" expand --certs ccadb-certificates-2026-08.csv.xz \
            --certs ./certdata/chromium-blocklist.pem \
            --covered ./certdata/nssguard-default.txt \
            -o expanded.txt ./certdata/nssguard-keys.txt 2>/dev/null)
    ok $? "expand against the CCADB snapshot"
    cmp -s "$out/regen/expanded.txt" certdata/nssguard-keys-expanded.txt
    ok $? "the same bytes as certdata/nssguard-keys-expanded.txt (make regen-certdata-keys)"
    rm -f "$out/regen/ccadb-certificates-2026-08.csv.xz"
else
    diag "no ../shared/data/ccadb: the regeneration is not compared"
fi

done_testing

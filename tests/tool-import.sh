#!/bin/sh
# tool-import.sh: import-mozilla on NSS 3.28's certdata.txt yields every
# explicit-distrust record and nothing else, and reproduces the shipped
# overlay; import-onecrl converts a OneCRL export and reports what it cannot.
. "$top_srcdir/tests/lib.sh"

require_shared
[ -x "$NSSGUARD_TOOL" ] || skip_all "$NSSGUARD_TOOL not built"
t=$NSSGUARD_TOOL
out=$(test_outdir tool-import)
moz=$NSSGUARD_SHARED/mozilla/certdata-nss-3.28.txt
onecrl=$NSSGUARD_SHARED/onecrl/onecrl-2026-10.json

"$t" import-mozilla -o "$out/moz.txt" "$moz" 2>"$out/moz.err"
is "$?:$(cat "$out/moz.err")" "0:nssguard: import-mozilla: 28 entries (19 with the certificate, 9 issuer+serial only), 167 records skipped, 0 set by facts" \
    "import-mozilla 3.28: 28 entries"

# Independently of the tool: the labels of the trust records that carry
# CKT_NSS_NOT_TRUSTED, in file order.
awk '/^CKA_CLASS / { trust = ($3 == "CKO_NSS_TRUST"); label = ""; hit = 0 }
     trust && /^CKA_LABEL / { label = $0 }
     trust && /CKT_NSS_NOT_TRUSTED/ && !hit { hit = 1; print label }' "$moz" >"$out/want-labels"
awk '/^CKA_CLASS / { trust = ($3 == "CKO_NSS_TRUST") } trust && /^CKA_LABEL / { print }' \
    "$out/moz.txt" >"$out/got-labels"
is "$(wc -l <"$out/want-labels")" 28 "the input has 28 explicit-distrust records"
cmp -s "$out/want-labels" "$out/got-labels"
ok $? "import-mozilla yields exactly those records, in order"

got=$("$t" check "$out/moz.txt")
is "$?:$got" "0:1 file, 28 entries, 0 findings, 0 unreadable" "the import passes check"

grep -q 'Trustwave' "$out/moz.txt" &&
    grep -A60 'MITM subCA 1 issued by Trustwave' "$out/moz.txt" | grep -q '"mitm"'
ok $? "Trustwave MITM subCA 1: reason mitm from the record's own words"

"$t" import-mozilla --facts "$top_srcdir/certdata/mozilla-facts.conf" \
    --header "$top_srcdir/certdata/nssguard-default.head" \
    --source https://hg.mozilla.org/projects/nss/file/NSS_3_28_RTM/lib/ckfw/builtins/certdata.txt \
    -o "$out/default.txt" "$moz" 2>/dev/null
cmp -s "$out/default.txt" "$top_srcdir/certdata/nssguard-default.txt"
ok $? "the shipped certdata/nssguard-default.txt is what make regen-certdata writes"
for r in mitm:4 misissued:5 compromised:16 distrusted:3; do
    n=$(grep -c "^CKA_NSSGUARD_REASON UTF8 \"${r%:*}\"" "$top_srcdir/certdata/nssguard-default.txt")
    is "$n" "${r#*:}" "default overlay: ${r#*:} entries with reason ${r%:*}"
done

"$t" import-onecrl -o "$out/onecrl.txt" "$onecrl" 2>"$out/onecrl.err"
is "$?" 1 "import-onecrl 2026-10: exit 1 (records it could not convert)"
is "$(tail -1 "$out/onecrl.err")" \
    "nssguard: import-onecrl: 1895 records: 1243 imported, 0 expanded from subject+pubKeyHash, 645 disabled, 4 duplicates, 3 not converted" \
    "import-onecrl 2026-10: the counts"
is "$(grep -c 'subject+pubKeyHash (.*) matches none' "$out/onecrl.err")" 3 \
    "the three subject+pubKeyHash records are reported, not dropped"
got=$("$t" check "$out/onecrl.txt")
is "$?:$got" "0:1 file, 1243 entries, 0 findings, 0 unreadable" "the OneCRL overlay passes check"

# subject+pubKeyHash expanded against a certificate the test makes (openssl
# makes it, python3 takes the subject and key out of the DER)
if command -v openssl >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out/k.pem" \
        -subj "/CN=nssguard OneCRL key test" -days 30 -out "$out/sk.pem" 2>/dev/null
    openssl x509 -in "$out/sk.pem" -outform DER -out "$out/sk.der"
    python3 - "$out/sk.der" >"$out/sk.json" <<'PY'
import base64, hashlib, sys
d = open(sys.argv[1], "rb").read()
def tlv(b, i):
    n = b[i + 1]; h = 2
    if n & 0x80:
        k = n & 0x7f; n = int.from_bytes(b[i + 2:i + 2 + k], "big"); h = 2 + k
    return i + h, i + h + n
s, e = tlv(d, 0); s, e = tlv(d, s)      # Certificate, TBSCertificate
i, fields = s, []
while i < e:
    cs, ce = tlv(d, i); fields.append(d[i:ce]); i = ce
if fields[0][0] == 0xa0: fields = fields[1:]
subject, spki = fields[4], fields[5]
print('{"data":[{"id":"sk1","enabled":true,"details":{"bug":"123"},"subject":"%s","pubKeyHash":"%s"}]}'
      % (base64.b64encode(subject).decode(), base64.b64encode(hashlib.sha256(spki).digest()).decode()))
PY
    "$t" import-onecrl --certs "$out/sk.pem" -o "$out/sk.txt" "$out/sk.json" 2>"$out/sk.err"
    is "$?:$(cat "$out/sk.err")" "0:nssguard: import-onecrl: 1 records: 0 imported, 1 expanded from subject+pubKeyHash, 0 disabled, 0 duplicates, 0 not converted" \
        "subject+pubKeyHash expanded against the certificate given"
    got=$("$t" explain --overlay "$out/sk.txt" "$out/sk.pem" | grep -c DISTRUSTED)
    is "$got" 1 "the expanded entry matches the certificate"
    "$t" import-onecrl -o "$out/sk2.txt" "$out/sk.json" 2>/dev/null
    is "$?" 1 "without the certificate the record is reported and the exit status is 1"
fi

done_testing

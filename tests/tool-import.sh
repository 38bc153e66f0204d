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

# Mozilla's purposes as Mozilla wrote them: 3.28's records mark server, e-mail
# and code signing CKT_NSS_NOT_TRUSTED and carry no CKA_TRUST_CLIENT_AUTH.
for p in SERVER_AUTH:28 CLIENT_AUTH:0 EMAIL_PROTECTION:28 CODE_SIGNING:28; do
    is "$(grep -c "^CKA_TRUST_${p%:*} CK_TRUST CKT_NSS_NOT_TRUSTED$" "$moz"):$(grep -c "^CKA_TRUST_${p%:*} " "$out/moz.txt")" \
        "${p#*:}:${p#*:}" \
        "import-mozilla writes CKA_TRUST_${p%:*} as the input has it (${p#*:} records)"
done
# A purpose neither distrust nor positive is left out and said, never written;
# a CKA_TRUST_CLIENT_AUTH the input has is kept.
sed -e 's/^CKA_TRUST_EMAIL_PROTECTION CK_TRUST CKT_NSS_NOT_TRUSTED$/CKA_TRUST_EMAIL_PROTECTION CK_TRUST CKT_NSS_MUST_VERIFY_TRUST/' \
    -e 's/^CKA_TRUST_CODE_SIGNING CK_TRUST CKT_NSS_NOT_TRUSTED$/CKA_TRUST_CLIENT_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED/' \
    "$top_srcdir/certdata/mozilla-removed.certdata" >"$out/mixed.txt"
"$t" import-mozilla -o "$out/mixed-out.txt" "$out/mixed.txt" 2>"$out/mixed.err"
is "$?:$(cat "$out/mixed.err")" "0:nssguard: import-mozilla: 1 entries (1 with the certificate, 0 issuer+serial only), 0 records skipped, 0 set by facts, 1 purposes neither distrust nor positive left out" \
    "import-mozilla: a MUST_VERIFY_TRUST purpose is counted, not copied"
is "$(grep '^CKA_TRUST_' "$out/mixed-out.txt" | tr '\n' ' ')" \
    "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED CKA_TRUST_CLIENT_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED CKA_TRUST_STEP_UP_APPROVED CK_BBOOL CK_FALSE " \
    "... the record's NOT_TRUSTED purposes are written, client auth included, e-mail not"

grep -q 'Trustwave' "$out/moz.txt" &&
    grep -A60 'MITM subCA 1 issued by Trustwave' "$out/moz.txt" | grep -q '"mitm"'
ok $? "Trustwave MITM subCA 1: reason mitm from the record's own words"

"$t" import-mozilla --facts "$top_srcdir/certdata/mozilla-facts.conf" \
    --header "$top_srcdir/certdata/nssguard-default.head" \
    --source https://hg.mozilla.org/projects/nss/file/NSS_3_28_RTM/lib/ckfw/builtins/certdata.txt \
    -o "$out/default.txt" "$moz" "$top_srcdir/certdata/mozilla-removed.certdata" 2>"$out/default.err"
cmp -s "$out/default.txt" "$top_srcdir/certdata/nssguard-default.txt"
ok $? "the shipped certdata/nssguard-default.txt is what make regen-certdata writes"
is "$(cat "$out/default.err")" "nssguard: import-mozilla: 29 entries (20 with the certificate, 9 issuer+serial only), 167 records skipped, 25 set by facts" \
    "regen: 29 entries, 25 of them referenced by mozilla-facts.conf, every fact used"
d=$top_srcdir/certdata/nssguard-default.txt
is "$(grep -c '^CKA_TRUST_CLIENT_AUTH' "$d")" 0 "the shipped overlay adds no CKA_TRUST_CLIENT_AUTH"
# Each trust record's label and reference: the bug whose NSS commit added it.
awk '/^CKA_CLASS / { trust = ($3 == "CKO_NSS_TRUST") }
     trust && /^CKA_LABEL / { sub(/^CKA_LABEL UTF8 /, ""); label = $0 }
     trust && /^CKA_NSSGUARD_REFERENCE / { sub(/.*id=/, ""); sub(/"$/, ""); print label " " $0 }' \
    "$d" >"$out/refs"
b=https://bugzilla.mozilla.org/show_bug.cgi?id=
is "$(grep -c "^CKA_NSSGUARD_REFERENCE UTF8 \"$b[0-9]*\"$" "$d")" 29 "every shipped entry's reference is a Mozilla bug"
for f in '"Bogus |642815|10' '"Explicitly Distrust.* DigiNotar |683261|6' '"Explicitly Distrusted Malaysian Digicert |698753|2' \
    '"Distrust: O=Egypt Trust|966060|3' '"Distrust a pb.com |966350|1' '"MD5 Collisions Forged Rogue CA 25c3" |471715|1' \
    '"Explicitly Distrusted MCSHOLDING CA" |1146026|1' '"Bogus kuix.de" |642815|1'; do
    pat=${f%%|*}; rest=${f#*|}; bug=${rest%%|*}; n=${rest#*|}
    is "$(grep "^$pat" "$out/refs" | grep -c " $bug\$"):$(grep -c "^$pat" "$out/refs")" "$n:$n" \
        "reference of $pat...: bug $bug ($n entries)"
done
# Bogus kuix.de (2011-2014): UTN-USERFirst-Hardware's subject as in 3.28's root
# record, serial 72:03:21:05:c5:0c:08:57:3d:8e:a5:30:4e:fe:e8:b0.
octal_after() { # FILE LABEL ATTR: the attribute's octal lines in LABEL's first record with it
    awk -v l="CKA_LABEL UTF8 \"$2\"" -v a="$3 MULTILINE_OCTAL" '
        $0 == l { in_rec = 1 } in_rec && $0 == a { on = 1; next }
        on && $0 == "END" { exit } on { printf "%s", $0 }' "$1"
}
kuix_trust=$(awk '/^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST/ { p = 1 } p' "$d" >"$out/trusts"; echo "$out/trusts")
is "$(octal_after "$kuix_trust" "Bogus kuix.de" CKA_ISSUER)" \
    "$(octal_after "$moz" "UTN USERFirst Hardware Root CA" CKA_SUBJECT)" \
    "Bogus kuix.de: issuer is UTN-USERFirst-Hardware's subject (NSS 3.28's root record)"
is "$(octal_after "$kuix_trust" "Bogus kuix.de" CKA_SERIAL_NUMBER)" \
    '\002\020\162\003\041\005\305\014\010\127\075\216\245\060\116\376\350\260' \
    "Bogus kuix.de: serial 72:03:21:05:c5:0c:08:57:3d:8e:a5:30:4e:fe:e8:b0"
grep -q '^# nssguard: Mozilla removed this record on 2014-04-01 (bug 895375' "$d"
ok $? "Bogus kuix.de: the comment says when and why Mozilla removed it"
for r in mitm:4 misissued:5 compromised:17 distrusted:3; do
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

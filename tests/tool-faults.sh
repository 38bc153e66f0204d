#!/bin/sh
# tool-faults.sh: issue 12's CLI rows, as a hostile or careless user meets
# them: endless or huge input (bounded reads), impossible dates, JSON that
# would make an invalid label, and an entry that names a certificate's issuer
# in other bytes (equal under RFC 5280, never matched by NSS).
. "$top_srcdir/tests/lib.sh"

[ -x "$NSSGUARD_TOOL" ] || skip_all "$NSSGUARD_TOOL not built"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
t=$NSSGUARD_TOOL
out=$(test_outdir tool-faults)
export NSSGUARD_CONFIG=/nonexistent/nssguard.conf

# A certificate for the commands that want one.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out/self.key" \
    -subj "/CN=nssguard fault test" -days 30 -out "$out/self.pem" 2>/dev/null

# ---- bounded reads: every command that reads a file or stdin ----
# The address space is capped so that a tool reading without bound fails in
# seconds ("out of memory") instead of taking the machine with it.
limit="The tool stops at 64 MiB"
bounded()
{
    name=$1
    shift
    got=$(ulimit -v 2000000; "$@" 2>&1 >/dev/null)
    rc=$?
    case $got in
    *"larger than the 64 MiB the tool reads from one input"*) ok_msg=yes ;;
    *) ok_msg=no ;;
    esac
    is "$rc:$ok_msg" "2:yes" "$name: exit 2, the 64 MiB input limit named ($limit)"
    [ "$ok_msg" = yes ] || diag "got: $got"
}
bounded "import-onecrl /dev/zero" "$t" import-onecrl /dev/zero
bounded "import-onecrl - < /dev/zero" sh -c "\"$t\" import-onecrl - </dev/zero"
bounded "import-mozilla /dev/zero" "$t" import-mozilla /dev/zero
bounded "import-mozilla --header /dev/zero" "$t" import-mozilla --header /dev/zero "$out/self.pem"
bounded "add /dev/zero" "$t" add --reason mitm --ref x /dev/zero
bounded "explain /dev/zero" "$t" explain --overlay "$top_srcdir/certdata/nssguard-default.txt" /dev/zero
bounded "audit /dev/zero" "$t" audit --overlay "$top_srcdir/certdata/nssguard-default.txt" /dev/zero
got=$("$t" import-onecrl /dev/zero 2>&1)
case $got in
*"/dev/zero: larger than"*) r=0 ;;
*) r=1 ;;
esac
ok $r "the error names the file"

# ---- dates ----
for d in 2049-02-30 2023-02-29 2023-04-31 2024-13-01 2024-1-01 2024-01-01x; do
    got=$("$t" add --reason mitm --ref x --distrust-after "$d" "$out/self.pem" 2>&1 >/dev/null)
    is "$?:$got" "2:nssguard: --distrust-after '$d': not a date YYYY-MM-DD of the calendar (1950 to 2049)" \
        "--distrust-after $d is refused, the value named"
done
"$t" add --reason mitm --ref x --distrust-after 2024-02-29 "$out/self.pem" >"$out/leap.txt" 2>&1
is "$?:$(grep -c 'CKA_NSS_SERVER_DISTRUST_AFTER' "$out/leap.txt")" "0:1" \
    "--distrust-after 2024-02-29 (a leap day) is accepted"

# ---- JSON: lone surrogates, and the hostile shapes ----
rec='"id":"r1","enabled":true,"issuerName":"MBAxDjAMBgNVBAMMBXRlc3Qx","serialNumber":"AQ=="'
onecrl()
{
    printf '%s' "$2" >"$out/$1.json"
    "$t" import-onecrl -o "$out/$1.txt" "$out/$1.json" 2>&1
}
got=$(onecrl lone '{"data":[{'"$rec"',"details":{"name":"a\ud800b"}}]}')
is "$?:$got" "2:nssguard: $out/lone.json: line 1, column 118: a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair): not a character" \
    'a lone \ud800 is refused with the file and position'
got=$(onecrl lowalone '{"data":[{'"$rec"',
"details":{"name":"\udc00"}}]}')
is "$?:${got%%: a lone*}" "2:nssguard: $out/lowalone.json: line 2, column 20" \
    'a lone \udc00 on line 2 is refused, line and column'
got=$(onecrl pair '{"data":[{'"$rec"',"details":{"name":"pair \ud83d\ude00"}}]}')
is "$?" 0 'a surrogate pair is a character: accepted'
grep -q 'CKA_LABEL UTF8 "pair \\xf0\\x9f\\x98\\x80"' "$out/pair.txt"
ok $? '... written as the UTF-8 of U+1F600'
got=$(onecrl deep "$(printf '%0500d' 0 | tr 0 '[')")
case $got in *"nested too deeply"*) r=0 ;; *) r=1 ;; esac
ok $r "500 nested arrays: refused (nested too deeply)"
is "$("$t" import-onecrl "$out/deep.json" >/dev/null 2>&1; echo $?)" 2 "... exit 2"
got=$(onecrl huge '{"data":[{'"$rec"',"n":1e999999999,"m":123456789012345678901234567890123}]}')
is "$?" 0 "huge numbers are read, not trusted (nothing uses them)"
got=$(onecrl badesc '{"data":[{'"$rec"',"details":{"name":"\q"}}]}')
case $got in *"$out/badesc.json: line 1, column "*) r=0 ;; *) r=1 ;; esac
is "$r:$("$t" import-onecrl "$out/badesc.json" >/dev/null 2>&1; echo $?)" "0:2" \
    'a bad escape (\q): refused, file and position'
got=$(onecrl trunc '{"data":[{'"$rec"',"details":{"name":"abc')
is "$?:${got#*json: }" "2:line 1, column 120: truncated: the input ends inside a value" \
    "truncated input: refused"
got=$(onecrl trailing '{"data":[]} x')
is "$?:${got#*json: line 1, column 13: }" "2:unexpected character" \
    "text after the value: refused at its position"
printf '{"data":[{%s,"details":{"name":"\377"}}]}' "$rec" >"$out/badutf8.json"
"$t" import-onecrl "$out/badutf8.json" >/dev/null 2>&1
is "$?" 2 "invalid UTF-8 in a string: refused"

# ---- an issuer in other bytes (RFC 5280 equal, NSS never matches) ----
# The real CA writes its subject as UTF8String (openssl's default); a CA of
# the same name in PrintableString and upper case issues a certificate with
# the same serial, and `add` records that one: the entry's issuer bytes are
# not those the real leaf carries.
printf '[req]\ndistinguished_name = dn\nstring_mask = default\nprompt = no\n[dn]\nCN = x\n' \
    >"$out/printable.cnf"
mkca()
{
    # mkca NAME SUBJECT [CONFIG]
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out/$1.key" \
        ${3:+-config "$3"} -subj "$2" -days 30 -out "$out/$1.pem" 2>/dev/null
}
mkleaf()
{
    # mkleaf NAME CA SERIAL
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out/$1.key" \
        -subj "/CN=$1" -out "$out/$1.csr" 2>/dev/null &&
        openssl x509 -req -in "$out/$1.csr" -CA "$out/$2.pem" -CAkey "$out/$2.key" \
            -set_serial "$3" -days 30 -out "$out/$1.pem" 2>/dev/null
}
mkca ca-utf8 "/O=nssguard tests/CN=Name Bytes  CA"
mkca ca-printable "/O=NSSGUARD TESTS/CN=name bytes CA" "$out/printable.cnf"
mkca ca-other "/O=nssguard tests/CN=Another CA"
mkleaf leaf ca-utf8 4660
mkleaf twin ca-printable 4660
mkleaf stranger ca-other 4660
openssl asn1parse -in "$out/leaf.pem" | grep -q 'UTF8STRING .*:Name Bytes  CA' &&
    openssl asn1parse -in "$out/twin.pem" | grep -q 'PRINTABLESTRING .*:name bytes CA'
ok $? "the pair: the leaf's issuer in UTF8String, the twin's in PrintableString"
"$t" add --issuer-serial --reason mitm --ref https://example.org/bug/1 --label "twin entry" \
    -o "$out/twin.txt" "$out/twin.pem" 2>/dev/null
line=$(grep -n '^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST' "$out/twin.txt" | cut -d: -f1)

got=$("$t" explain --overlay "$out/twin.txt" "$out/leaf.pem" 2>"$out/explain.err")
rc=$?
case $got in *"NEVER MATCHES"*"twin entry"*"source:    $out/twin.txt:$line"*) r=0 ;; *) r=1 ;; esac
is "$rc:$r" "0:0" "explain: NEVER MATCHES, the entry named (file:line), no match (exit 0)"
is "$(cat "$out/explain.err")" \
    "nssguard: warning: $out/twin.txt:$line: entry 'twin entry' names the issuer of $out/leaf.pem (CN=Name Bytes  CA,O=nssguard tests) in other bytes (CN=name bytes CA,O=NSSGUARD TESTS): equal under RFC 5280 name comparison, but NSS compares the bytes, so this entry will never match that certificate" \
    "explain: the warning on stderr names the entry file:line and the certificate"
got=$("$t" explain --json --overlay "$out/twin.txt" "$out/leaf.pem" 2>/dev/null)
case $got in *'"matches":[],"warnings":[{"kind":"name-bytes","enforced":false,"entry":{"label":"twin entry"'*) r=0 ;; *) r=1 ;; esac
ok $r "explain --json: a name-bytes warning, not a match"

got=$("$t" check --certs "$out/leaf.pem" "$out/twin.txt" 2>&1)
is "$?:$(echo "$got" | head -1)" \
    "1:$out/twin.txt:$line: name-bytes: the entry's issuer (CN=name bytes CA,O=NSSGUARD TESTS) equals the issuer of $out/leaf.pem (CN=Name Bytes  CA,O=nssguard tests) only under RFC 5280 comparison: NSS compares the bytes, so this entry will never match that certificate; write the issuer as the certificate carries it" \
    "check --certs FILE: a name-bytes finding at the entry's file:line, exit 1"
if command -v certutil >/dev/null 2>&1; then
    mkdir -p "$out/db"
    certutil -N -d "sql:$out/db" --empty-password &&
        certutil -A -d "sql:$out/db" -n leaf -t ,, -a -i "$out/leaf.pem"
    got=$("$t" check --certs "sql:$out/db" "$out/twin.txt" 2>&1)
    case $got in *"$out/twin.txt:$line: name-bytes: "*"issuer of sql:$out/db leaf "*) r=0 ;; *) r=1 ;; esac
    is "$?:$r" "0:0" "check --certs sql:DB: the same finding, the certificate by nickname"
fi

# No false alarm: the byte-identical entry, and an unrelated issuer.
"$t" add --issuer-serial --reason mitm --ref x -o "$out/leaf.txt" "$out/leaf.pem" 2>/dev/null
got=$("$t" check --certs "$out/leaf.pem" --certs "$out/stranger.pem" "$out/leaf.txt")
is "$?:$got" "0:1 file, 1 entry, 0 findings, 0 unreadable" \
    "check --certs: the entry NSS does match, and another issuer's same serial: no finding"
got=$("$t" explain --overlay "$out/leaf.txt" "$out/leaf.pem" "$out/stranger.pem" 2>&1 | grep -c "NEVER MATCHES\|warning")
is "$got" 0 "explain: no warning when the bytes match or the names differ"

done_testing

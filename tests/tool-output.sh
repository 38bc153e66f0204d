#!/bin/sh
# tool-output.sh: what `-o FILE` does to a file a module may be serving.
#
# An administrator distrusts one sub-CA, then another, into the same file
# (README: nssguard add ... -o /etc/nssguard/overlay.d/local.txt): the second
# `add` must not drop the first one's distrust (up to d7b5772 `-o` truncated
# the file and wrote the new records alone). A FILE the module would refuse is
# not added to; a certificate FILE has already is not added twice. Every
# command's -o replaces the file whole (a new inode, the mode kept), never in
# place: a module reading it meanwhile sees the old text or the new. A command
# that makes FILE anew does not replace it with less than half of what it held
# unless told to (--shrink).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup tool-output
t=$NSSGUARD_TOOL
db=$out/client
log=$out/nssguard.log
d=$out/overlay.d
local=$d/local.txt
mkdir -p "$d"
client_db "$db" >/dev/null

"$t" add --reason mitm --ref https://example.test/1 -o "$local" "$pki/mitm-ca.pem"
is "$?" 0 "add -o FILE: FILE made"
is "$(stat -c %a "$local")" 644 "... readable by every user's browser (0644)"
ino=$(stat -c %i "$local")
chmod 0640 "$local"
"$t" add --issuer-serial --reason mitm --ref https://example.test/2 -o "$local" \
    "$pki/isonly-ca.pem" 2>"$out/mode.err"
is "$?" 0 "add -o FILE again, another sub-CA"

add_module "$db" "$d" "$log"
ok $? "modutil adds the module with the folder"
expect_distrust "$db" classic mitm "(the first add, after the second)"
expect_distrust "$db" pkix mitm "(the first add, after the second)"
expect_distrust "$db" classic isonly "(the second add)"
expect_distrust "$db" pkix isonly "(the second add)"
expect_good "$db" classic good

[ "$(stat -c %i "$local")" != "$ino" ]
ok $? "FILE was replaced (a new inode), not rewritten in place"
is "$(stat -c %a "$local")" 640 "... keeping the mode it had"
is "$(cat "$out/mode.err")" \
    "nssguard: warning: $local is mode 0640, kept: a process of a user who cannot read it (a browser) loads nothing from it" \
    "... and saying that other users' browsers cannot read it"
is "$(ls -A "$d" | grep -v '^\.nssguard\.lock$')" local.txt \
    "... and no temporary file is left beside it"

cp "$local" "$out/before.txt"
"$t" add --reason mitm --ref https://example.test/3 -o "$local" "$pki/mitm-ca.pem" \
    2>"$out/again.err"
is "$?" 0 "add of a certificate FILE has an entry for: exit 0"
cmp -s "$local" "$out/before.txt"
ok $? "... FILE unchanged"
grep -q "^nssguard add: $pki/mitm-ca.pem: already in $local:[0-9]*" "$out/again.err"
ok $? "... said on stderr, naming FILE:LINE"
"$t" check "$local" >"$out/check.out" 2>&1
is "$?:$(tail -1 "$out/check.out")" "0:1 file, 2 entries, 0 findings, 0 unreadable" \
    "check: two entries, no duplicate"

# Several adds to one file at once (a script with xargs -P): each reads FILE
# and renames its own version over it; without a lock the later renames
# dropped the others' entries (10 at once kept 2 to 5). add locks the folder
# while it reads and writes FILE.
par=$out/parallel.d
mkdir -p "$par"
n=0
for c in "$pki"/*.pem; do
    case $c in *-chain.pem) continue ;; esac
    "$t" add --issuer-serial --reason mitm --ref https://example.test/p -o "$par/local.txt" "$c" \
        2>/dev/null &
    n=$((n + 1))
done
wait
is "$(grep -c '^CKA_SERIAL_NUMBER' "$par/local.txt")" "$n" \
    "$n adds to one FILE at once: every entry is there"
is "$(ls -A "$par" | grep -v '^\.nssguard\.lock$')" local.txt \
    "... and nothing else is left in the folder (but add's 0600 lock file)"
is "$(stat -c %a "$par/.nssguard.lock")" 600 "... which only its owner can open, and so lock"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 && command -v flock >/dev/null 2>&1; then
    # Any user who can read a folder can flock the folder itself: add once
    # waited on that lock for as long as they held it.
    chmod a+rx "$par"
    setpriv --reuid=65534 --regid=65534 --clear-groups flock -s "$par" sleep 60 &
    holder=$!
    sleep 1
    timeout 30 "$t" add --issuer-serial --reason mitm --ref https://example.test/q \
        -o "$par/other.txt" "$pki/mitm-ca.pem" 2>/dev/null
    is "$?" 0 "another user holding a lock on the folder does not hold add up"
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
else
    skip "not root, or no setpriv/flock: another user's lock on the folder is not tried"
fi
"$t" add --replace --issuer-serial --reason mitm --ref https://example.test/r \
    -o "$par/local.txt" "$pki/good-ca.pem" 2>"$out/replace.err"
is "$?:$(grep -c '^CKA_SERIAL_NUMBER' "$par/local.txt")" "2:$n" \
    "add --replace of a $n-entry FILE with one entry: refused, the shrink guard (--shrink to insist)"
"$t" add --replace --shrink --issuer-serial --reason mitm --ref https://example.test/r \
    -o "$par/local.txt" "$pki/good-ca.pem" 2>/dev/null
is "$?:$(grep -c '^CKA_SERIAL_NUMBER' "$par/local.txt")" "0:1" "... with --shrink: written"

# A constraint entry is not distrust: adding distrust beside it would leave
# the module answering with the constraint (it answers from the first entry
# of an issuer and serial). Up to this review add said "already in" and wrote
# nothing, exit 0.
nc=$out/nc.txt
"$t" add --reason mitm --ref https://example.test/nc --name-constraints permit:dns:example.com \
    -o "$nc" "$pki/mitm-ca.pem"
cp "$nc" "$out/nc-before.txt"
"$t" add --reason mitm --ref https://example.test/nc -o "$nc" "$pki/mitm-ca.pem" 2>"$out/nc.err"
is "$?" 2 "add of distrust where FILE has a constraint entry for the certificate: exit 2"
cmp -s "$nc" "$out/nc-before.txt"
ok $? "... FILE unchanged"
grep -q "is a constraint entry for it, which the module would answer with first" "$out/nc.err"
ok $? "... saying why"
"$t" add --by-key --reason mitm --ref https://example.test/nck -o "$out/nc-key.txt" \
    "$pki/mitm-ca.pem"
"$t" expand --covered "$nc" --certs "$pki/mitm-ca.pem" -o "$out/nc-expanded.txt" \
    "$out/nc-key.txt" 2>/dev/null
is "$?:$(grep -c '^CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED' "$out/nc-expanded.txt")" \
    "0:1" "expand --covered: a constraint entry does not count as covering the key's certificate"

# Overlay text under a compiled overlay's name: the module would refuse it.
"$t" compile -o "$out/img.ngo" "$local" 2>/dev/null
cp "$out/img.ngo" "$out/img-before.ngo"
"$t" add --reason mitm --ref https://example.test/ngo -o "$out/img.ngo" "$pki/good-ca.pem" \
    2>"$out/ngo.err"
is "$?" 2 "add -o X.ngo: exit 2"
"$t" import-onecrl -o "$out/img.ngo" "$out/empty.json" 2>/dev/null
is "$?" 2 "import-onecrl -o X.ngo: exit 2"
cmp -s "$out/img.ngo" "$out/img-before.ngo"
ok $? "... the compiled overlay unchanged"

# Output the module would refuse whole (a --header that is not comments).
printf 'not a comment\n' >"$out/bad-header"
"$t" import-mozilla -o "$out/moz.txt" "$pki/overlay.txt" 2>/dev/null
cp "$out/moz.txt" "$out/moz-before.txt"
"$t" import-mozilla --shrink --header "$out/bad-header" -o "$out/moz.txt" "$pki/overlay.txt" \
    2>"$out/moz.err"
is "$?" 2 "import-mozilla --header with a line that is not a comment: exit 2, even with --shrink"
cmp -s "$out/moz.txt" "$out/moz-before.txt"
ok $? "... FILE unchanged"
grep -q "the new output is not an overlay the module loads ($out/moz.txt:1: " "$out/moz.err"
ok $? "... naming the line"

broken=$out/broken.txt
cp "$local" "$broken"
echo 'CKA_LABEL is not how a line reads' >>"$broken"
cp "$broken" "$out/broken-before.txt"
"$t" add --reason mitm --ref https://example.test/4 -o "$broken" "$pki/good-ca.pem" \
    2>"$out/broken.err"
is "$?" 2 "add -o a FILE the module refuses: exit 2"
cmp -s "$broken" "$out/broken-before.txt"
ok $? "... FILE unchanged"
grep -q "^nssguard: $broken:[0-9]*: .*(file refused)" "$out/broken.err" &&
    grep -q "^nssguard: $broken: not an overlay the module loads" "$out/broken.err"
ok $? "... naming FILE:LINE and why nothing was added"
"$t" add --replace --reason mitm --ref https://example.test/4 -o "$broken" "$pki/good-ca.pem"
is "$?" 0 "add --replace -o FILE: exit 0"
is "$("$t" list --overlay "$broken" | grep -c '^  serial:')" 1 "... FILE holds the new entry alone"

# A command that makes its output anew (expand, import-onecrl, import-mozilla,
# import-crl) over a served overlay, from an input that lacks what it held: a
# corpus without the sub-CA, an empty or cut export. Up to d7b5772 the file was
# written with nothing in it and NSS accepted the MITM chain again.
"$t" add --by-key --reason mitm --ref https://example.test/6 -o "$out/key.txt" "$pki/mitm-ca.pem"
xd=$out/expanded.d
xdb=$out/client-expanded
mkdir -p "$xd"
client_db "$xdb" >/dev/null
"$t" expand --certs "$pki/mitm-ca.pem" -o "$xd/expanded.txt" "$out/key.txt" 2>/dev/null
is "$?" 0 "expand -o FILE: the key entry made an issuer+serial entry"
add_module "$xdb" "$xd" "$out/expanded.log"
expect_distrust "$xdb" classic mitm "(served from expand's output)"
cp "$xd/expanded.txt" "$out/expanded-before.txt"
ino=$(stat -c %i "$xd/expanded.txt")
"$t" expand --certs "$pki/good-ca.pem" -o "$xd/expanded.txt" "$out/key.txt" 2>"$out/shrink.err"
is "$?" 2 "expand -o FILE from a corpus that lacks the sub-CA: exit 2"
cmp -s "$xd/expanded.txt" "$out/expanded-before.txt"
ok $? "... FILE unchanged"
is "$(grep '^nssguard: ' "$out/shrink.err")" \
    "nssguard: $xd/expanded.txt holds 1 entry and the new output has 0: not written (an empty or cut input would withdraw that distrust); --shrink writes it" \
    "... saying why, and how to write it anyway"
expect_distrust "$xdb" classic mitm "(still, after the refused expand)"
expect_distrust "$xdb" pkix mitm "(still, after the refused expand)"
echo '{"data":[]}' >"$out/empty.json"
"$t" import-onecrl -o "$xd/expanded.txt" "$out/empty.json" 2>/dev/null
is "$?" 2 "import-onecrl -o FILE from an empty export: exit 2, the same guard"
"$t" expand --shrink --certs "$pki/good-ca.pem" -o "$xd/expanded.txt" "$out/key.txt" 2>/dev/null
is "$?:$(grep -c CKO_NSS_TRUST "$xd/expanded.txt")" "0:0" "expand --shrink: written, empty"
[ "$(stat -c %i "$xd/expanded.txt")" != "$ino" ]
ok $? "... FILE replaced whole (a new inode), as every command's -o"

got=$("$t" add --reason mitm --ref https://example.test/5 -o /dev/stdout "$pki/good-ca.pem" |
    grep -c 'CKO_NSS_TRUST')
is "$got" 1 "-o /dev/stdout: written as it is (not a file to replace)"

done_testing

#!/bin/sh
# operate-attacks.sh: enable and status on files a local user controls
# (issue 12: fail closed or loudly, never hang). A --nssdb or profiles.ini
# path with shell quoting in it is a path, never a command; a policies.json
# Firefox would refuse (text after the value, a lone surrogate) is left
# alone by enable and reported NOT enforcing by status, where json-c alone
# read the first value, so that enable rewrote the admin's file and status
# called a module Firefox never loads "enforcing"; a FIFO planted as
# pkcs11.txt fails instead of hanging enable and status; watch --native
# survives a frame length of 4 GB.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

require_tool timeout cksum
e2e_setup operate-attacks
t=$NSSGUARD_TOOL
operate_home
printf 'overlay = %s\n' "$pki/overlay.txt" >"$NSSGUARD_CONFIG"

# ---- a path is a path: no shell between enable and mkdir
rm -f "$out/pwned"
db="$out/a';touch $out/pwned;'b"
timeout 120 "$t" enable --nssdb "sql:$db" >"$out/quote.out" 2>&1
is "$?" 0 "enable --nssdb: a new database at a path with a quote in it: exit 0"
[ ! -e "$out/pwned" ]
ok $? "enable --nssdb: the path's quote and ';' ran nothing (no shell)"
grep -qxF "library=$NSSGUARD_MODULE" "$db/pkcs11.txt"
ok $? "enable --nssdb: the module is listed in the database at that very path"

# ---- a policies.json Firefox refuses: left alone, and NOT enforcing
policy_case()
{
    printf '%s' "$1" >"$NSSGUARD_FIREFOX_POLICY"
    before=$(cksum <"$NSSGUARD_FIREFOX_POLICY")
    timeout 120 "$t" enable --firefox-policy >"$out/policy.out" 2>"$out/policy.err"
    is "$?" 2 "enable --firefox-policy, $2: exit 2"
    is "$(cksum <"$NSSGUARD_FIREFOX_POLICY")" "$before" "enable --firefox-policy, $2: the file left as it is"
    grep -q "left as it is" "$out/policy.err"
    ok $? "enable --firefox-policy, $2: says so on stderr"
}
policy_case '{"policies": {"DisableAppUpdate": true}} {"x": 1}' "text after the JSON value"
policy_case '{"policies": {"DisableAppUpdate": true}} /* c */' "a comment after the value"
policy_case '{"policies": {"Label": "\ud800"}}' "a lone surrogate escape"

printf '{"policies": {"SecurityDevices": {"Add": {"nssguard": "%s"}}}}\n{}\n' "$NSSGUARD_MODULE" \
    >"$NSSGUARD_FIREFOX_POLICY"
timeout 120 "$t" status --firefox-policy >"$out/status-policy.out" 2>&1
is "$?" 1 "status: a policies.json with text after the value: exit 1"
grep -q "NOT enforcing: Firefox refuses this policies.json: line 2, column 1: " \
    "$out/status-policy.out"
ok $? "status: a policies.json Firefox refuses is NOT enforcing, and why"

# ---- a FIFO planted as pkcs11.txt: loud, no hang
mkdir -p "$out/fifo-db"
certutil -N -d "sql:$out/fifo-db" --empty-password
rm -f "$out/fifo-db/pkcs11.txt"
mkfifo "$out/fifo-db/pkcs11.txt"
timeout 120 "$t" status --nssdb "sql:$out/fifo-db" >"$out/fifo-status.out" 2>&1
is "$?" 1 "status: pkcs11.txt is a FIFO: returns, exit 1 (not 124, a hang)"
grep -q "NOT enforcing: the module is not listed" "$out/fifo-status.out"
ok $? "status: pkcs11.txt is a FIFO: NOT enforcing"
timeout 120 "$t" enable --nssdb "sql:$out/fifo-db" >"$out/fifo-enable.out" 2>&1
is "$?" 2 "enable: pkcs11.txt is a FIFO: returns, exit 2 (not 124, a hang)"
grep -q "cannot read pkcs11.txt" "$out/fifo-enable.out"
ok $? "enable: pkcs11.txt is a FIFO: says it cannot read it"

# ---- watch --native: a 4 GB frame length from Firefox, then EOF
printf '\377\377\377\377junk' | timeout 60 "$t" watch --native --interval 50 \
    --config "$NSSGUARD_CONFIG" >"$out/watch.out" 2>"$out/watch.err"
is "$?" 0 "watch --native: a 4 GB frame length is dropped; exits 0 when Firefox closes stdin"
grep -q '"generation"' "$out/watch.out"
ok $? "watch --native: the first generation was sent"

done_testing

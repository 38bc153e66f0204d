#!/bin/sh
# log-sinks.sh: the event log fails closed or loudly (issue 12), through
# NSS's own tools and the real module.
#
#   log=file: a FIFO            C_Initialize used to hang: refused, config_error
#   log=file: a (dangling) link followed: refused (O_NOFOLLOW), config_error
#   log=file:/missing-dir/x     events lost silently: a fallback sink, "lost"
#   log=syslog, no /dev/log     the same
#   a log path over 1023 bytes  truncated: refused
#   invalid UTF-8 in a label    raw in the JSON line: escaped, strict JSON
#   each event's syslog priority, read from a /dev/log socket the test binds
#
# Every NSS tool runs under `timeout`: a hang fails its test, never the suite.
# The /dev/log cases run in a private mount namespace (unshare -m) whose /dev
# is a tmpfs with null, zero, random and urandom: no /dev/log, or the test's.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup log-sinks
t=30 # seconds: far above a vfychain run (~0.2 s)

# run_vfy DB CHAIN: vfychain -pp under timeout; sets rc, out (stdout+stderr).
run_vfy()
{
    out_text=$(timeout $t vfychain -d "sql:$1" -pp -u 1 "$pki/$2-leaf.der" "$pki/$2-ca.der" 2>&1)
    rc=$?
}

# module_db NAME PARAMS: a client database with the module added with PARAMS;
# modutil's own exit status and output in add_rc, add_out.
module_db()
{
    db=$out/$1
    client_db "$db" >/dev/null || return 1
    add_out=$(timeout $t modutil -dbdir "sql:$db" -force -add nssguard \
        -libfile "$NSSGUARD_MODULE" -string "$2" 2>&1)
    add_rc=$?
}

# rejected: the last run_vfy refused the MITM chain as distrusted.
rejected()
{
    [ "$rc" -eq 1 ] && printf '%s\n' "$out_text" | grep -qxF "  $E2E_UNTRUSTED_CERT"
}

has()
{
    printf '%s\n' "$out_text" | grep -qF -- "$1"
}

diag "log=file: a FIFO"
mkfifo "$out/events.fifo"
module_db fifo "overlay=$pki/overlay.txt log=file:$out/events.fifo"
[ "$add_rc" -eq 0 ]
ok $? "modutil adds the module without hanging (exit $add_rc)"
run_vfy "$out/fifo" mitm
[ "$rc" -ne 124 ]
ok $? "vfychain does not hang on a FIFO log (exit $rc)"
rejected
ok $? "the MITM chain is still rejected"
has "event=config_error" && has "events.fifo refused: not a regular file"
ok $? "a config_error names the FIFO"

diag "log=file: a symbolic link, a dangling one"
: >"$out/target.log"
ln -s "$out/target.log" "$out/link.log"
ln -s "$out/created-by-link.log" "$out/dangling.log"
for link in link dangling; do
    module_db $link "overlay=$pki/overlay.txt log=file:$out/$link.log"
    run_vfy "$out/$link" mitm
    rejected
    ok $? "$link: the MITM chain is rejected"
    has "event=config_error" && has "$link.log refused: a symbolic link"
    ok $? "$link: a config_error says the log file is a symbolic link"
    has "event=distrust" && has "lost="
    ok $? "$link: the distrust event reaches stderr, with a lost count"
done
[ ! -s "$out/target.log" ]
ok $? "nothing written through the link to its target"
[ ! -e "$out/created-by-link.log" ] && [ ! -L "$out/created-by-link.log" ]
ok $? "the dangling link's target is not created"

diag "log=file: in a missing folder"
module_db missing "overlay=$pki/overlay.txt log=file:$out/nodir/events.log"
run_vfy "$out/missing" mitm
rejected
ok $? "the MITM chain is rejected"
has "event=load " && has "log=none fallback=stderr"
ok $? "the load event names the fallback sink"
has "event=distrust" && has 'label="nssguard MITM sub-CA"' && has "lost=2"
ok $? "the distrust event falls back to stderr, counting the 2 events before it"

diag "a log path over 1023 bytes"
# prefix/trunc.log is exactly 1023 bytes: the old module wrote there
prefix=$out
while [ $((${#prefix} + 10)) -lt 1023 ]; do prefix=$prefix/.; done
prefix=$(printf '%s' "$prefix" | cut -c1-1013)
long=$prefix/trunc.log.long
is "$(printf '%s' "$prefix/trunc.log" | wc -c)" 1023 "the truncated form is 1023 bytes"
module_db long "overlay=$pki/overlay.txt log=file:$long"
[ "$add_rc" -ne 0 ] && printf '%s\n' "$add_out" | grep -qF "longer than 1023 bytes"
ok $? "modutil refuses the parameter string, saying why"
run_vfy "$out/long" mitm
[ ! -e "$out/trunc.log" ]
ok $? "no event written to the truncated path"

diag "invalid UTF-8 in labels and reasons"
sed -e 's/^CKA_LABEL UTF8 "nssguard MITM sub-CA"/CKA_LABEL UTF8 "nssguard \xff\xfe MITM \xc3 sub-CA \xed\xa0\x80 é"/' \
    "$pki/overlay.txt" >"$out/utf8.txt"
# a reason that is not one of the five: its load_error quotes the bytes
sed -e 's/^CKA_NSSGUARD_REASON UTF8 "mitm"/CKA_NSSGUARD_REASON UTF8 "mitm \xc0\xaf \xf4\x90\x80\x80"/' \
    "$pki/overlay.txt" >"$out/utf8-reason.txt"
grep -q "$(printf '\377')" "$out/utf8.txt"
ok $? "the overlay holds invalid UTF-8"
rm -f "$out/utf8.log"
module_db utf8 "overlay=$out/utf8.txt:$out/utf8-reason.txt log=file:$out/utf8.log"
run_vfy "$out/utf8" mitm
rejected
ok $? "the MITM chain is rejected"
log_has "$out/utf8.log" '"event":"distrust"'
ok $? "a distrust event is written"
if command -v python3 >/dev/null 2>&1; then
    python3 - "$out/utf8.log" <<'EOF'
import json, sys
n = 0
with open(sys.argv[1], encoding="utf-8", errors="strict") as f:
    for line in f:
        ev = json.loads(line)
        if ev["event"] == "distrust":
            assert ev["label"] == "nssguard \ufffd\ufffd MITM \ufffd sub-CA \ufffd\ufffd\ufffd \u00e9", ev["label"]
            n += 1
        if ev["event"] == "load_error":
            assert "'mitm \ufffd\ufffd \ufffd\ufffd\ufffd\ufffd'" in ev["error"], ev["error"]
            n += 1
assert n >= 2, n
EOF
    ok $? "every line is strict UTF-8 JSON; bad bytes are U+FFFD, good ones kept"
else
    ok 0 "# SKIP python3 not installed"
fi

# ---- /dev/log: none, or the test's socket, in a private mount namespace ----
if ! command -v unshare >/dev/null 2>&1 || ! unshare -m true 2>/dev/null ||
    ! command -v python3 >/dev/null 2>&1; then
    diag "no unshare -m or python3: the /dev/log cases are skipped"
    done_testing
fi

# private_dev [SOCKET-OUT] -- CMD...: runs CMD with a /dev of its own; with
# SOCKET-OUT, a receiver bound to /dev/log appends each packet as a line.
cat >"$out/private-dev.sh" <<'EOF'
set -e
real=$(mktemp -d)
mount --make-rprivate /
mount --bind /dev "$real"
mount -t tmpfs -o mode=755 none /dev
for n in null zero random urandom; do
    touch /dev/$n
    mount --bind "$real/$n" /dev/$n
done
if [ "$1" != -- ]; then
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
print("ready", flush=True)
with open(sys.argv[1], "a") as f:
    while True:
        f.write(s.recv(65536).decode("utf-8", "replace") + "\n")
        f.flush()
' "$1" >"$1.ready" &
    receiver=$!
    while ! grep -q ready "$1.ready" 2>/dev/null; do sleep 0.05; done
    shift
fi
shift
set +e
"$@"
rc=$?
[ -n "${receiver:-}" ] && sleep 0.2 && kill "$receiver"
exit $rc
EOF

diag "log=syslog where there is no /dev/log"
module_db nosyslog "overlay=$pki/overlay.txt log=syslog"
out_text=$(timeout $t unshare -m sh "$out/private-dev.sh" -- \
    vfychain -d "sql:$out/nosyslog" -pp -u 1 "$pki/mitm-leaf.der" "$pki/mitm-ca.der" 2>&1)
rc=$?
rejected
ok $? "the MITM chain is rejected"
has "event=load " && has "log=none fallback=stderr"
ok $? "the load event says syslog does not work and names the fallback"
has "event=distrust" && has "lost=1"
ok $? "the distrust event falls back to stderr, counting the load event lost"

diag "each event's syslog priority (facility authpriv = 80)"
cp "$pki/overlay.txt" "$out/prio.txt"
printf 'CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nbroken\n' >"$out/prio-bad.txt"
module_db prio "overlay=$out/prio.txt:$out/prio-bad.txt log=file:$out/link.log,syslog"
rm -f "$out/syslog.txt"
out_text=$(timeout $t unshare -m sh "$out/private-dev.sh" "$out/syslog.txt" -- \
    vfychain -d "sql:$out/prio" -pp -u 1 "$pki/mitm-leaf.der" "$pki/mitm-ca.der" 2>&1)
rc=$?
rejected
ok $? "the MITM chain is rejected"
# priority = 80 + severity: err 3, warning 4, info 6
for want in "<83>:event=config_error" "<86>:event=load " "<83>:event=load_error" \
    "<84>:event=distrust"; do
    pri=${want%%:*}
    grep -F "$pri" "$out/syslog.txt" | grep -qF "${want#*:}"
    ok $? "${want#*:} at syslog priority $pri"
done
grep -F "event=load " "$out/syslog.txt" | grep -F "log=syslog" | grep -vqF "fallback="
ok $? "the load event: syslog works, the file does not, no fallback needed"

diag "stale_compiled and load_failed"
"$NSSGUARD_TOOL" compile "$out/prio.txt" -o "$out/stale.ngo" >/dev/null 2>&1 ||
    "$NSSGUARD_TOOL" compile -o "$out/stale.ngo" "$out/prio.txt" >/dev/null 2>&1
mkdir -p "$out/stale-overlay"
cp "$out/prio.txt" "$out/stale-overlay/x.txt"
cp "$out/stale.ngo" "$out/stale-overlay/x.ngo"
echo "# changed" >>"$out/stale-overlay/x.txt"
module_db stale "overlay=$out/stale-overlay log=syslog"
module_db failed "overlay=$out/prio-bad.txt log=syslog"
rm -f "$out/syslog2.txt"
timeout $t unshare -m sh "$out/private-dev.sh" "$out/syslog2.txt" -- sh -c "
    vfychain -d sql:$out/stale -pp -u 1 $pki/mitm-leaf.der $pki/mitm-ca.der
    vfychain -d sql:$out/failed -pp -u 1 $pki/mitm-leaf.der $pki/mitm-ca.der" >/dev/null 2>&1
grep -F "<84>" "$out/syslog2.txt" | grep -qF "event=stale_compiled"
ok $? "event=stale_compiled at syslog priority <84>"
grep -F "<83>" "$out/syslog2.txt" | grep -qF "event=load_failed"
ok $? "event=load_failed at syslog priority <83>"
[ "$tap_failed" -eq 0 ] || sed 's/^/# syslog: /' "$out/syslog.txt" "$out/syslog2.txt"

done_testing

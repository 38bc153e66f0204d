#!/bin/sh
# faults-config.sh (issue 12): the module is loaded WITHOUT parameters, as
# Firefox's SecurityDevices policy and GnuTLS load it, and reads
# $NSSGUARD_CONFIG. A bad line there must not switch the distrust off: on
# a8981c9 C_Initialize failed, NSS dropped the module and the MITM chain
# was accepted. Now every good line is taken, the chain is rejected, and
# each bad line is a config_error event (err) in the configured log file,
# also named in the load event. A bad PARAMETER string still fails at once.
#
# Also: an overlay path that yields nothing (an empty folder, a folder of
# other names, overlay='', overlay=':') is an overlay_empty event naming
# the path, and a start that serves nothing is load_failed (err), not an
# info-level load with entries 0.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup faults-config
db=$out/client
log=$out/nssguard.log
conf=$out/nssguard.conf
NSSGUARD_CONFIG=$conf
export NSSGUARD_CONFIG
client_db "$db" >/dev/null
ok $? "client database trusts the test root"
modutil -dbdir "sql:$db" -force -add nssguard -libfile "$NSSGUARD_MODULE" >"$out/modutil.out" 2>&1
ok $? "modutil adds libnssguard.so without a parameter string"

# bad_line N LINE REASON [NAME]: the config file with LINE (line 4) among
# good ones; NAME stands for LINE in the test names.
bad_line()
{
    what=${4:-$2}
    printf '# issue 12\noverlay = %s\nlog = file:%s\n%s\nconstraints = distrust\n' \
        "$pki/overlay.txt" "$log" "$2" >"$conf"
    rm -f "$log"
    failed_before=$tap_failed
    expect_distrust "$db" classic mitm "with '$what' in the config file"
    expect_distrust "$db" pkix mitm "with '$what' in the config file"
    expect_good "$db" classic good
    log_has "$log" '"event":"config_error"' "\"error\":\"$conf:4: $3"
    ok $? "'$what': a config_error event names file, line and reason"
    log_has "$log" '"event":"load"' '"entries":2' "\"config_error\":\"$conf:4: $3"
    ok $? "'$what': the load event names it too, and counts the overlay's 2 entries"
    [ "$tap_failed" -eq "$failed_before" ] || sed 's/^/# log: /' "$log"
}

bad_line 1 'reload = 1s' "reload: '1s' is not 0..86400 seconds"
bad_line 2 'ratelimit = 90000' "ratelimit: '90000' is not 0..86400 seconds"
bad_line 3 'logs=' "unknown key 'logs'"
bad_line 4 'mode = nss # note' \
    "mode: 'nss # note' is not nss, p11-kit, chromium or builtins ('#' starts a comment only"
# on f73817a a line too long cost the file every line: the defaults served
# (not the configured overlay) and the event said "out of memory"
bad_line 5 "# $(printf '%05000d' 0)" "line longer than 4095 bytes" '# 0...0 (5002 bytes)'

diag "a bad line before log= still reaches the log file"
printf 'overlay = %s\nfrobnicate = yes\nlog = file:%s\n' "$pki/overlay.txt" "$log" >"$conf"
rm -f "$log"
expect_distrust "$db" classic mitm "(bad line before log=)"
log_has "$log" '"event":"config_error"' "$conf:2: unknown key 'frobnicate'"
ok $? "the config_error is in the log file named after it"

diag "an unreadable config file: the defaults serve, loudly"
mkdir -p "$out/conf-dir"
NSSGUARD_CONFIG=$out/conf-dir vfychain -d "sql:$db" -u 1 "$pki/good-leaf.der" "$pki/good-ca.der" \
    >"$out/unreadable.out" 2>&1
is "$?" 0 "a folder as config file: C_Initialize succeeds, NSS keeps the module"
NSSGUARD_CONFIG=$out/conf-dir modutil -dbdir "sql:$db" -list >"$out/unreadable-list.out" 2>&1
grep -q 'token: nssguard distrust overlay' "$out/unreadable-list.out"
ok $? "... modutil -list shows the module loaded, its token there"

diag "a bad parameter string still fails C_Initialize, where modutil shows it"
pdb=$out/params
client_db "$pdb" >/dev/null
modutil -dbdir "sql:$pdb" -force -add nssguard -libfile "$NSSGUARD_MODULE" \
    -string "overlay=$pki/overlay.txt reload=1s" >"$out/modutil-params.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q 'Failed to add' "$out/modutil-params.out"
ok $? "modutil -add with 'reload=1s' in the parameter string fails at once (exit $rc)"
[ "$tap_failed" -eq 0 ] || sed 's/^/# modutil: /' "$out/modutil-params.out"

diag "overlay paths that yield nothing"
mkdir -p "$out/empty" "$out/names"
: >"$out/names/a.certdata"
cp "$pki/overlay.txt" "$out/names/b.TXT"
cp "$pki/overlay.txt" "$out/names/c.txt.disabled"
# empty_path VALUE PATH: overlay = VALUE gives an overlay_empty naming PATH.
empty_path()
{
    printf 'overlay = %s\nlog = file:%s\n' "$1" "$log" >"$conf"
    rm -f "$log"
    failed_before=$tap_failed
    vfy "$db" classic good
    log_has "$log" '"event":"overlay_empty"' "\"path\":\"$2\""
    ok $? "overlay = $1: an overlay_empty event names '$2'"
    log_has "$log" '"event":"load_failed"' '"entries":0'
    ok $? "overlay = $1: the load event is load_failed (err): nothing is served"
    [ "$tap_failed" -eq "$failed_before" ] || sed 's/^/# log: /' "$log"
}
empty_path "$out/empty" "$out/empty"
empty_path "$out/names" "$out/names"
empty_path "''" ""
empty_path ":" ""

diag "one empty path among good ones: served, and the empty one named"
printf 'overlay = %s:%s\nlog = file:%s\n' "$out/empty" "$pki/overlay.txt" "$log" >"$conf"
rm -f "$log"
expect_distrust "$db" classic mitm "(an empty folder beside the overlay)"
log_has "$log" '"event":"overlay_empty"' "\"path\":\"$out/empty\""
ok $? "the empty folder is named in an overlay_empty event"
log_has "$log" '"event":"load"' '"entries":2'
ok $? "the load event counts the 2 entries served"

diag "a setuid process ignores \$NSSGUARD_CONFIG (secure_getenv)"
# As root only: a copy of pkcs11-tool, setuid root, run as nobody with
# NSSGUARD_CONFIG naming a config whose log file would show it was read.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
    p11tool=$(command -v pkcs11-tool 2>/dev/null) && [ -z "${NSSGUARD_SANITIZER:-}" ]; then
    sdir=$out/setuid
    mkdir -p "$sdir" && chmod 777 "$sdir"
    cp "$p11tool" "$sdir/p11tool" && chmod 755 "$sdir/p11tool"
    printf 'overlay = %s\nlog = file:%s/read.log\n' "$pki/overlay.txt" "$sdir" >"$sdir/user.conf"
    chmod 644 "$sdir/user.conf"
    as_nobody()
    {
        NSSGUARD_CONFIG=$sdir/user.conf setpriv --reuid=65534 --regid=65534 --clear-groups \
            "$sdir/p11tool" --module "$NSSGUARD_MODULE" -I >"$sdir/run.out" 2>&1
    }
    as_nobody
    [ -f "$sdir/read.log" ]
    ok $? "control: a plain process (as nobody) reads \$NSSGUARD_CONFIG"
    rm -f "$sdir/read.log"
    chmod 4755 "$sdir/p11tool"
    as_nobody
    [ ! -f "$sdir/read.log" ]
    ok $? "the same program setuid root ignores it"
else
    ok 0 "# SKIP not root, or no setpriv or pkcs11-tool (or a sanitizer build)"
fi

done_testing

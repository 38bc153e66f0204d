#!/bin/sh
# e2e-chromium-nssdb.sh: which NSS database Debian's Chromium reads, and the
# module added there with modutil (issue 16). Chromium 156 knows two
# locations for the user's database: the old ~/.pki/nssdb and the XDG one,
# $XDG_DATA_HOME/pki/nssdb (~/.local/share/pki/nssdb). Each case is a fresh
# HOME; a database "trusts" when it holds the test root as a trusted CA, so
# the good site loads only when Chromium reads that database:
#   neither exists: Chromium creates one (which is asserted);
#   only the old one, only the new one: it reads that one;
#   both: it reads the one asserted below (the other is ignored).
# Then the module in mode=chromium, added by modutil to each location alone,
# makes Chromium refuse the MITM site ("Distrusted by trust store").
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

require_tool selfserv tstclnt timeout
command -v chromium >/dev/null 2>&1 || skip_all "chromium not installed (Debian: chromium)"
e2e_setup e2e-chromium-nssdb

trap kill_servers EXIT
trap 'exit 1' INT TERM

old=.pki/nssdb
new=.local/share/pki/nssdb

# chrome W CHAIN [XDG]: Chromium, headless, HOME=$out/W/home (XDG_DATA_HOME
# unset, or $out/W/home/XDG), loads the CHAIN site.
# Sets loaded (1 when the page came) and distrusted (1 when the NetLog says
# the trust store distrusted a certificate).
chrome()
{
    w=$out/$1
    mkdir -p "$w/profile-$2"
    eval "p=\$port_$2"
    if [ -n "${3:-}" ]; then
        set -- "$1" "$2" "XDG_DATA_HOME=$w/home/$3" "HOME=$w/home"
    else
        set -- "$1" "$2" -u XDG_DATA_HOME
    fi
    env "$3" "$4" HOME="$w/home" timeout 60 chromium --headless --no-sandbox \
        --disable-gpu --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --user-data-dir="$w/profile-$2" \
        --log-net-log="$w/netlog-$2.json" --net-log-capture-mode=Everything \
        --dump-dom "https://localhost:$p/" >"$w/dom-$2.html" 2>"$w/chromium-$2.log"
    loaded=0
    grep -q '<pre' "$w/dom-$2.html" && loaded=1
    distrusted=0
    grep -q 'Distrusted by trust store' "$w/netlog-$2.json" 2>/dev/null && distrusted=1
}

# home W DB...: a fresh HOME for case W; each DB (a path under HOME,
# suffixed :root when it trusts the test root) is made.
home()
{
    rm -rf "$out/$1"
    mkdir -p "$out/$1/home"
    w=$1
    shift
    for d in "$@"; do
        dir=$out/$w/home/${d%:root}
        mkdir -p "$dir"
        if [ "${d%:root}" != "$d" ]; then
            client_db "$dir" >/dev/null
        else
            certutil -N -d "sql:$dir" --empty-password
        fi
    done
}

for chain in good mitm; do
    start_server $chain || {
        echo "Bail out! selfserv did not start for $chain"
        exit 1
    }
    eval "port_$chain=\$port"
done

# Neither exists.
home neither
chrome neither good
is "$loaded" 0 "no database: the good site does not load (no database trusts the root)"
[ -f "$out/neither/home/$new/cert9.db" ]
ok $? "... and Chromium created the XDG database ~/$new"
[ -e "$out/neither/home/$old" ]
ok $((!$?)) "... and not ~/$old"

home oldonly "$old:root"
chrome oldonly good
is "$loaded" 1 "only ~/$old exists (trusting the root): Chromium reads it, the good site loads"
[ -e "$out/oldonly/home/$new" ]
ok $((!$?)) "... and creates no ~/$new beside it"

home newonly "$new:root"
chrome newonly good
is "$loaded" 1 "only ~/$new exists (trusting the root): Chromium reads it, the good site loads"

home bothold "$old:root" "$new"
chrome bothold good
bothold=$loaded
home bothnew "$old" "$new:root"
chrome bothnew good
bothnew=$loaded
is "$bothold:$bothnew" 1:0 \
    "both exist: Chromium reads ~/$old (root trusted there: loads) and ignores ~/$new"

# XDG_DATA_HOME moves the new location: $XDG_DATA_HOME/pki/nssdb.
home xdg "xdg/pki/nssdb:root" "$new"
chrome xdg good xdg
is "$loaded" 1 "XDG_DATA_HOME=~/xdg, only ~/xdg/pki/nssdb trusts the root: Chromium reads it"

# The module, added by modutil, in each location alone.
for loc in old new; do
    eval "db=\$$loc"
    home "mod$loc" "$db:root"
    add_module "$out/mod$loc/home/$db" "$pki/overlay.txt" "$out/mod$loc/nssguard.log" \
        mode=chromium
    ok $? "modutil adds the module to ~/$db"
    chrome "mod$loc" good
    is "$loaded" 1 "module in ~/$db (mode=chromium): the good site loads"
    chrome "mod$loc" mitm
    is "$loaded:$distrusted" 0:1 \
        "module in ~/$db (mode=chromium): the MITM site is refused, distrusted by the trust store"
    log_has "$out/mod$loc/nssguard.log" '"event":"distrust"' '"process":"chromium"'
    ok $? "... with a distrust event from Chromium's process"
done

# Both exist, the module only in the XDG one: Chromium never loads it.
home modboth "$old:root" "$new:root"
add_module "$out/modboth/home/$new" "$pki/overlay.txt" "$out/modboth/nssguard.log" \
    mode=chromium
ok $? "modutil adds the module to ~/$new"
chrome modboth mitm
is "$loaded" 1 "both exist, module only in ~/$new: the MITM site LOADS (that database is not read)"
grep -q '"process":"chromium"' "$out/modboth/nssguard.log" 2>/dev/null
ok $((!$?)) "... and the module was never loaded in Chromium's process"

done_testing

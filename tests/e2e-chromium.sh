#!/bin/sh
# e2e-chromium.sh: Debian's Chromium, headless, against selfserv serving the
# test PKI's chains, with libnssguard.so in the user's NSS database
# ($HOME/.pki/nssdb, which trusts the test root). Chromium's TrustStoreNSS
# honours trust only for a certificate some token holds, so:
#   no module, or the module in NSS mode: the MITM site loads;
#   mode=chromium (the module also serves the certificates): it is refused,
#   the NetLog says "Distrusted by trust store", and the good site loads.
# Chromium's NetLog tells a refusal apart from an unknown root.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

require_tool selfserv tstclnt timeout
command -v chromium >/dev/null 2>&1 || skip_all "chromium not installed (Debian: chromium)"
e2e_setup e2e-chromium

trap kill_servers EXIT
trap 'exit 1' INT TERM

# browse SETUP CHAIN: a fresh HOME whose NSS database trusts the root, with
# the module added with parameters SETUP (none: not added); Chromium loads
# https://localhost:PORT/. Sets loaded (1 when the page came) and distrusted
# (1 when the NetLog says the trust store distrusted a certificate).
browse()
{
    w=$out/$1-$2
    rm -rf "$w"
    mkdir -p "$w/home/.pki/nssdb" "$w/profile"
    client_db "$w/home/.pki/nssdb" >/dev/null
    if [ "$1" != none ]; then
        add_module "$w/home/.pki/nssdb" "$pki/overlay.txt" "$w/nssguard.log" "$1" ||
            echo "# modutil failed"
    fi
    eval "p=\$port_$2"
    HOME=$w/home timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$w/profile" --log-net-log="$w/netlog.json" \
        --net-log-capture-mode=Everything --dump-dom "https://localhost:$p/" \
        >"$w/dom.html" 2>"$w/chromium.log"
    loaded=0
    grep -q '<pre' "$w/dom.html" && loaded=1
    distrusted=0
    grep -q 'Distrusted by trust store' "$w/netlog.json" 2>/dev/null && distrusted=1
}

for chain in good mitm; do
    start_server $chain || {
        echo "Bail out! selfserv did not start for $chain"
        exit 1
    }
    eval "port_$chain=\$port"
done

browse none good
is "$loaded" 1 "no module: the good site loads (the test root is trusted)"
browse none mitm
is "$loaded" 1 "no module: the MITM site loads"

browse mode=nss mitm
is "$loaded:$distrusted" 1:0 "NSS mode: Chromium ignores trust-only records, the MITM site loads"
log_has "$w/nssguard.log" '"event":"load"' '"process":"chromium"'
ok $? "... though the module was loaded in Chromium's process"

browse mode=chromium mitm
is "$loaded:$distrusted" 0:1 "mode=chromium: the MITM site is refused, distrusted by the trust store"
log_has "$w/nssguard.log" '"event":"distrust"' '"label":"nssguard MITM sub-CA"'
ok $? "... with a distrust event"
browse mode=chromium good
is "$loaded" 1 "mode=chromium: the good site loads"

done_testing

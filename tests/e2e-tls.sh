#!/bin/sh
# e2e-tls.sh: a TLS client (tstclnt) refuses a server whose chain runs
# through a distrusted sub-CA once libnssguard.so is loaded, and only then.
#
# selfserv serves each leaf from its own database (pki.sh's NAME-server/),
# so it sends the leaf and the sub-CA; the client trusts only the root.
# Note: selfserv cannot bind one address; it listens on every interface
# for the few seconds the test runs. The client connects to 127.0.0.1.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

require_tool selfserv tstclnt timeout
e2e_setup e2e-tls
db=$out/client
log=$out/nssguard.log

trap kill_servers EXIT
trap 'exit 1' INT TERM

# connect CHAIN: one TLS handshake to CHAIN's server, SNI and name localhost.
# stdin must be a pipe: with </dev/null tstclnt -Q waits forever.
connect()
{
    eval "p=\$port_$1"
    tls_out=$(printf '' | timeout 20 tstclnt -h 127.0.0.1 -p "$p" -d "sql:$db" \
        -V tls1.2: -a localhost -Q 2>&1)
    tls_rc=$?
}

expect_connect()
{
    connect "$1"
    if [ "$tls_rc" -eq 0 ] &&
        printf '%s\n' "$tls_out" | grep -qx "issuer  DN: CN=nssguard $2 sub-CA,O=nssguard tests"; then
        ok 0 "$1: handshake succeeds ($3)"
    else
        ok 1 "$1: handshake succeeds ($3)"
        printf '%s\n' "exit $tls_rc" "$tls_out" | sed 's/^/#   /'
    fi
}

expect_refused()
{
    want="tstclnt: authentication of server cert failed: SEC_ERROR_UNTRUSTED_ISSUER: Peer's certificate issuer has been marked as not trusted by the user."
    connect "$1"
    if [ "$tls_rc" -ne 0 ] && [ "$tls_rc" -ne 124 ] &&
        printf '%s\n' "$tls_out" | grep -qxF "$want"; then
        ok 0 "$1: handshake refused with SEC_ERROR_UNTRUSTED_ISSUER ($2)"
    else
        ok 1 "$1: handshake refused with SEC_ERROR_UNTRUSTED_ISSUER ($2)"
        echo "#   want: $want"
        printf '%s\n' "exit $tls_rc" "$tls_out" | sed 's/^/#   /'
    fi
}

client_db "$db" >/dev/null
ok $? "client database trusts the test root"
for chain in mitm good; do
    start_server $chain
    ok $? "selfserv for $chain-leaf listening"
    eval "port_$chain=\$port"
done

expect_connect mitm MITM "no module"
expect_connect good Good "no module"

add_module "$db" "$pki/overlay.txt" "$log"
ok $? "modutil adds libnssguard.so"
expect_refused mitm "module loaded"
expect_connect good Good "module loaded"
log_has "$log" '"event":"distrust"' '"process":"tstclnt"' '"label":"nssguard MITM sub-CA"'
ok $? "tstclnt logged the distrust event"

done_testing

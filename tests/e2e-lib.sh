# Helpers for the end-to-end tests (tests/e2e-*.sh), sourced after lib.sh.
# They drive NSS's own tools against the PKI that tests/pki.sh makes.

# vfychain's words for a chain through a distrusted sub-CA (NSS 3.87):
# the classic verifier says SEC_ERROR_UNTRUSTED_ISSUER, libpkix (-pp)
# SEC_ERROR_UNTRUSTED_CERT. vfychain prints the number and text, not the name.
E2E_UNTRUSTED_ISSUER="ERROR -8172: Peer's certificate issuer has been marked as not trusted by the user."
E2E_UNTRUSTED_CERT="ERROR -8171: Peer's certificate has been marked as not trusted by the user."

# e2e_setup NAME: checks the tools and files, makes $out and the PKI in $pki.
e2e_setup()
{
    require_tool certutil modutil vfychain
    [ -f "$NSSGUARD_MODULE" ] || skip_all "$NSSGUARD_MODULE not built"
    [ -x "$NSSGUARD_TOOL" ] || skip_all "$NSSGUARD_TOOL not built"
    out=$(test_outdir "$1")
    pki=$out/pki
    if ! sh "$top_srcdir/tests/pki.sh" "$pki" >"$out/pki.log" 2>&1; then
        sed 's/^/# /' "$out/pki.log"
        echo "Bail out! tests/pki.sh failed"
        exit 1
    fi
}

# operate_home: a private HOME, XDG_CONFIG_HOME, Firefox policy file,
# nssguard.conf and TMPDIR under $out, exported, for the tests of enable,
# status, disable and watch (they write where a user's and a system's files
# would be).
operate_home()
{
    HOME=$out/home
    XDG_CONFIG_HOME=$HOME/.config
    NSSGUARD_FIREFOX_POLICY=$out/policies/policies.json
    NSSGUARD_CONFIG=$out/nssguard.conf
    TMPDIR=$out
    export HOME XDG_CONFIG_HOME NSSGUARD_FIREFOX_POLICY NSSGUARD_CONFIG TMPDIR
    mkdir -p "$HOME" "$out/policies"
}

# Servers the test started (start_server), killed by kill_servers: a test
# that starts any sets `trap kill_servers EXIT` and `trap 'exit 1' INT TERM`.
pids=
kill_servers()
{
    for p in $pids; do
        kill "$p" 2>/dev/null
    done
    return 0
}

# start_server CHAIN [DBDIR]: runs selfserv for CHAIN-leaf on a free port,
# sets port. DBDIR is the server database (default $pki/CHAIN-server).
start_server()
{
    srvdb=${2:-$pki/$1-server}
    port=
    tries=0
    while [ $tries -lt 20 ]; do
        tries=$((tries + 1))
        p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
        selfserv -b -p $p >/dev/null 2>&1 || continue
        rm -f "$out/$1.pid"
        timeout 120 selfserv -D -p $p -d "sql:$srvdb" -n "$1-leaf" -V tls1.2: \
            -i "$out/$1.pid" >"$out/selfserv-$1.log" 2>&1 &
        pids="$pids $!"
        # ready when it answers a TCP ping (tstclnt -q makes no handshake)
        n=0
        while [ $n -lt 50 ]; do
            if timeout 5 tstclnt -h 127.0.0.1 -p $p -q </dev/null >/dev/null 2>&1; then
                port=$p
                [ -s "$out/$1.pid" ] && pids="$pids $(cat "$out/$1.pid")"
                return 0
            fi
            sleep 0.1
            n=$((n + 1))
        done
        return 1
    done
    return 1
}

# client_db DIR: a new NSS database that trusts only the test root.
client_db()
{
    rm -rf "$1"
    mkdir -p "$1"
    certutil -N -d "sql:$1" --empty-password &&
        certutil -A -d "sql:$1" -n root -t "C,," -i "$pki/root.der"
}

# vfy DB classic|pkix CHAIN: vfychain on CHAIN-leaf with CHAIN-ca as the
# untrusted intermediate, SSL server usage. Sets vfy_rc and vfy_out.
vfy()
{
    case $2 in
    classic) set -- "$1" "" "$3" ;;
    pkix) set -- "$1" "-pp" "$3" ;;
    esac
    vfy_out=$(vfychain -d "sql:$1" $2 -u 1 "$pki/$3-leaf.der" "$pki/$3-ca.der" 2>&1)
    vfy_rc=$?
}

# expect_good DB classic|pkix CHAIN: one test, the chain verifies.
expect_good()
{
    vfy "$1" "$2" "$3"
    if [ "$vfy_rc" -eq 0 ] && printf '%s\n' "$vfy_out" | grep -qx 'Chain is good!'; then
        ok 0 "$3 chain is good ($2)"
    else
        ok 1 "$3 chain is good ($2)"
        printf '%s\n' "exit $vfy_rc" "$vfy_out" | sed 's/^/#   /'
    fi
}

# expect_distrust DB classic|pkix CHAIN [WHY]: one test, the chain is
# rejected at the sub-CA (CERT 1) with the distrust error of that verifier.
expect_distrust()
{
    if [ "$2" = classic ]; then
        want=$E2E_UNTRUSTED_ISSUER
    else
        want=$E2E_UNTRUSTED_CERT
    fi
    vfy "$1" "$2" "$3"
    if [ "$vfy_rc" -eq 1 ] &&
        printf '%s\n' "$vfy_out" | grep -qx 'Chain is bad!' &&
        printf '%s\n' "$vfy_out" | grep -q '^CERT 1\. ' &&
        printf '%s\n' "$vfy_out" | grep -qxF "  $want"; then
        ok 0 "$3 chain rejected as distrusted ($2)${4:+ $4}"
    else
        ok 1 "$3 chain rejected as distrusted ($2)${4:+ $4}"
        echo "#   want exit 1 and: $want"
        printf '%s\n' "exit $vfy_rc" "$vfy_out" | sed 's/^/#   /'
    fi
}

# log_has LOG PATTERN...: true when one line of LOG holds every fixed string.
log_has()
{
    f=$1
    shift
    awk -v n=$# 'BEGIN { for (i = 1; i <= n; i++) want[i] = ARGV[i + 1]; ARGC = 2 }
        { hit = 1; for (i = 1; i <= n; i++) if (index($0, want[i]) == 0) hit = 0
          if (hit) found = 1 }
        END { exit !found }' "$f" "$@"
}

# swap_ca SRCDB DSTDB NICK COPY.der: DSTDB is a copy of the server database
# SRCDB whose certificate NICK is COPY.der instead (selfserv and pk12util
# send the sub-CA they find in the database).
swap_ca()
{
    rm -rf "$2" &&
        cp -R "$1" "$2" &&
        certutil -D -d "sql:$2" -n "$3" &&
        certutil -A -d "sql:$2" -n "$3" -t ",," -i "$4"
}

# reencoded_server MODE DIR CHAIN: the MITM operator's server database
# $pki/CHAINre-server/: DIR/CHAIN-server/ with the copy of DIR/CHAIN-ca.der
# that `$reenc MODE` makes ($pki/CHAINre-ca.der) in place of the original,
# its leaf renamed CHAINre-leaf (for start_server, or pk12util).
reencoded_server()
{
    {
        "$reenc" "$1" "$2/$3-ca.der" "$pki/$3re-ca.der" &&
            swap_ca "$2/$3-server" "$pki/$3re-server" "$3-ca" "$pki/$3re-ca.der" &&
            certutil --rename -d "sql:$pki/$3re-server" -n "$3-leaf" --new-n "$3re-leaf"
    } >"$out/$3re.log" 2>&1 || {
        sed 's/^/# /' "$out/$3re.log"
        echo "Bail out! could not make $3re-server/"
        exit 1
    }
}

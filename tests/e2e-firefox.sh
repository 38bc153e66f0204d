#!/bin/sh
# e2e-firefox.sh: headless Firefox ESR refuses a site whose chain runs
# through a distrusted sub-CA once libnssguard.so is loaded, and only then.
#
# Firefox ESR bundles its own NSS (3.125 in ESR 153), which asks for the
# PKCS#11 3.2 class CKO_TRUST before CKO_NSS_TRUST: only this test drives
# the module through that path. Four fresh profiles, each trusting the
# test root in its NSS database:
#   1. no module: both sites load, and so does "mitmre": the MITM site whose
#      server sends a re-encoded copy of the MITM sub-CA (the issuer's ECDSA
#      signature (r, s) as (r, n - s), what a MITM operator can do without
#      any key, made by tests/nssguard-reencode): Firefox takes the copy;
#      and "rsamitmre": pki.sh's RSA-signed MITM sub-CA (rsa/) sent without
#      the NULL parameters of its outer signatureAlgorithm;
#   2. nssguard added with modutil, with parameters (overlay=, log=): mitm,
#      mitmre and rsamitmre are refused (a copy has the same issuer and
#      serial, but another SHA-1: a distrust record carrying the hash would
#      not match);
#   3. live: nssguard (modutil, reload=0) on an empty overlay directory; the
#      MITM site loads; the overlay file is installed into the directory
#      while the same Firefox runs. Then a site under another distrusted
#      sub-CA (isonly), which this Firefox never saw, is refused; but the
#      MITM site on another port (a new connection, no TLS session to
#      resume) still loads: NSS read the MITM sub-CA's trust when it first
#      met the certificate and keeps it while Firefox holds the certificate
#      (asserted as the hazard it is, so that a change shows);
#   4. nssguard added by an enterprise policy (policies.json SecurityDevices,
#      written by `nssguard enable --firefox-policy`) with NO parameters: the
#      module reads $NSSGUARD_CONFIG;
#   5. refresh: a distrust added while Firefox runs reaches a CA it already
#      met within seconds (the extension in extension/, see case 5).
# Firefox reads policies.json from distribution/ beside its binary (after
# /etc/firefox/policies/policies.json). So as not to touch system folders,
# case 4 runs Firefox from a private copy of its install folder: the small
# launcher binary copied, everything else symlinked, and our own
# distribution/policies.json.
#
# tests/firefox/drive.mjs talks WebDriver BiDi to Firefox's remote agent
# (--remote-debugging-port) with the npm package ws; tests/firefox/serve.mjs
# serves the mitm and good leaves on 127.0.0.1. Firefox runs with
# MOZ_DISABLE_NONLOCAL_CONNECTIONS=1, HOME in the output folder and the
# prefs of tests/firefox/user.js (no updates, telemetry, OCSP, ...).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

ffdir=${NSSGUARD_FIREFOX_DIR:-/usr/lib/firefox-esr}
ffbin=$ffdir/firefox-esr
drv=$top_srcdir/tests/firefox
[ -x "$ffbin" ] || skip_all "$ffbin not installed (Debian: firefox-esr)"
command -v node >/dev/null 2>&1 || skip_all "node not installed"
[ -f "$drv/node_modules/ws/package.json" ] ||
    skip_all "node modules missing: npm ci --prefix tests/firefox"
require_tool pk12util timeout base64
reenc=$top_builddir/tests/nssguard-reencode
[ -x "$reenc" ] || skip_all "tests/nssguard-reencode is not built (make check builds it)"
e2e_setup e2e-firefox
diag "$("$ffbin" --version 2>/dev/null)"

# The shell cleans up the server, the driver Firefox; and the shell kills
# Firefox's process group too in case the driver itself was killed.
cleanup()
{
    kill_servers
    for f in "$out"/*/firefox.pid; do
        [ -s "$f" ] && kill -KILL -- "-$(cat "$f")" 2>/dev/null
    done
    return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Firefox's environment, for every case.
mkdir -p "$out/home"
HOME=$out/home
XDG_CONFIG_HOME=$out/home/.config
XDG_CACHE_HOME=$out/home/.cache
MOZ_DISABLE_NONLOCAL_CONNECTIONS=1
MOZ_CRASHREPORTER_DISABLE=1
MOZ_HEADLESS_WIDTH=1100
MOZ_HEADLESS_HEIGHT=800
export HOME XDG_CONFIG_HOME XDG_CACHE_HOME MOZ_DISABLE_NONLOCAL_CONNECTIONS \
    MOZ_CRASHREPORTER_DISABLE MOZ_HEADLESS_WIDTH MOZ_HEADLESS_HEIGHT

reencoded_server ecdsa-s "$pki" mitm
reencoded_server rsa-params "$pki/rsa" rsamitm

# The sites, from the server databases that pki.sh made.
for c in mitm good isonly mitmre rsamitmre; do
    pk12util -o "$out/$c.p12" -n "$c-leaf" -d "sql:$pki/$c-server" -W nssguard -K "" \
        >>"$out/pk12util.log" 2>&1
done
timeout 400 node "$drv/serve.mjs" "$out/ports" mitm="$out/mitm.p12" good="$out/good.p12" \
    mitm2="$out/mitm.p12" isonly="$out/isonly.p12" mitmre="$out/mitmre.p12" \
    rsamitmre="$out/rsamitmre.p12" \
    >"$out/serve.log" 2>&1 &
pids="$pids $!"
n=0
while [ ! -s "$out/ports" ] && [ $n -lt 100 ]; do
    sleep 0.1
    n=$((n + 1))
done
port_mitm=$(awk '$1 == "mitm" { print $2 }' "$out/ports" 2>/dev/null)
port_good=$(awk '$1 == "good" { print $2 }' "$out/ports" 2>/dev/null)
port_mitm2=$(awk '$1 == "mitm2" { print $2 }' "$out/ports" 2>/dev/null)
port_isonly=$(awk '$1 == "isonly" { print $2 }' "$out/ports" 2>/dev/null)
port_mitmre=$(awk '$1 == "mitmre" { print $2 }' "$out/ports" 2>/dev/null)
port_rsamitmre=$(awk '$1 == "rsamitmre" { print $2 }' "$out/ports" 2>/dev/null)
[ -n "$port_mitm" ] && [ -n "$port_good" ] && [ -n "$port_mitm2" ] && [ -n "$port_isonly" ] &&
    [ -n "$port_mitmre" ] && [ -n "$port_rsamitmre" ]
ok $? "HTTPS servers for mitm-leaf and good-leaf listening on 127.0.0.1"
url_mitm=https://127.0.0.1:$port_mitm/
url_good=https://127.0.0.1:$port_good/
url_mitm2=https://127.0.0.1:$port_mitm2/
url_isonly=https://127.0.0.1:$port_isonly/
url_mitmre=https://127.0.0.1:$port_mitmre/
url_rsamitmre=https://127.0.0.1:$port_rsamitmre/
# What the re-encoding servers send as the sub-CA, as node's TLS client got it.
for c in mitmre rsamitmre; do
    eval "p=\$port_$c"
    sent=$(node -e 'const s = require("tls").connect({ host: "127.0.0.1", port: +process.argv[1],
            rejectUnauthorized: false }, () => {
            console.log(s.getPeerCertificate(true).issuerCertificate.raw.toString("base64"));
            s.destroy(); });
        s.on("error", () => process.exit(1));' "$p" 2>/dev/null)
    is "$sent" "$(base64 -w0 "$pki/$c-ca.der")" "$c: the server sends the re-encoded copy of its sub-CA"
done

# profile DIR: a new Firefox profile whose NSS database trusts the root
# and pki.sh's RSA root.
profile()
{
    mkdir -p "$1" &&
        cp "$drv/user.js" "$1/user.js" &&
        client_db "$1" &&
        certutil -A -d "sql:$1" -n rsa-root -t "C,," -i "$pki/rsa/rsa-root.der"
}

# browse CASE PROFILE BINARY [DRIVER-OPTION...]: runs the driver on both
# sites (or on $pages: NAME=URL words); its JSON lines go to
# $out/CASE/pages.jsonl. $ffenv: NAME=VALUE words added to the environment
# of the driver and Firefox.
ffenv=
pages=
browse()
{
    c=$1 prof=$2 bin=$3
    shift 3
    # shellcheck disable=SC2086 # $pages: words on purpose
    env $ffenv timeout "${fftimeout:-100}" node "$drv/drive.mjs" --firefox "$bin" --profile "$prof" \
        --log "$out/$c/firefox.log" --pidfile "$out/$c/firefox.pid" \
        --screenshot-prefix "$out/$c/" "$@" \
        ${pages:-mitm=$url_mitm good=$url_good} >"$out/$c/pages.jsonl" 2>"$out/$c/drive.log"
    rc=$?
    ok $rc "$c: Firefox driven over WebDriver BiDi"
    [ $rc -eq 0 ] || sed 's/^/#   /' "$out/$c/drive.log"
}

# field CASE NAME KEY: one value from the driver's line for page NAME.
field()
{
    node -e 'const [file, name, key] = process.argv.slice(1);
        for (const l of require("fs").readFileSync(file, "utf8").split("\n")) {
            if (!l) continue;
            const r = JSON.parse(l);
            if (r.name === name) { console.log(String(r[key])); process.exit(0); }
        }
        console.log("(no page)");' "$out/$1/pages.jsonl" "$2" "$3" 2>/dev/null
}

show_page()
{
    grep "\"name\":\"$2\"" "$out/$1/pages.jsonl" | sed 's/^/#   /'
}

expect_loads()
{
    if [ "$(field "$1" "$2" loaded)" = true ] && [ "$(field "$1" "$2" status)" = 200 ] &&
        [ "$(field "$1" "$2" title)" = "nssguard test site: $2" ]; then
        ok 0 "$1: $2 site loads"
    else
        ok 1 "$1: $2 site loads"
        show_page "$1" "$2"
    fi
}

# expect_blocked CASE NAME: the load failed in the network layer with
# SEC_ERROR_UNTRUSTED_ISSUER, Firefox shows its certificate error page with
# that code and offers no "Accept the risk and continue".
expect_blocked()
{
    want=SEC_ERROR_UNTRUSTED_ISSUER
    fe=$(field "$1" "$2" fetchError)
    case $fe in
    *"NS_ERROR_MODULE_SECURITY, $want)"*) ok 0 "$1: $2 site refused, network error $want" ;;
    *)
        ok 1 "$1: $2 site refused, network error $want"
        show_page "$1" "$2"
        ;;
    esac
    uri=$(field "$1" "$2" documentURI)
    if [ "$(field "$1" "$2" loaded)" = false ] && [ "$(field "$1" "$2" errorCode)" = $want ] &&
        [ "${uri#about:certerror?}" != "$uri" ]; then
        ok 0 "$1: $2 shows the certificate error page with $want"
    else
        ok 1 "$1: $2 shows the certificate error page with $want"
        show_page "$1" "$2"
    fi
    is "$(field "$1" "$2" exceptionButton)" false "$1: $2 error page offers no exception button"
}

# is_png FILE: a PNG of a real page, not an empty capture.
is_png()
{
    [ "$(od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' ')" = 89504e470d0a1a0a ] &&
        [ "$(wc -c <"$1")" -gt 10000 ]
}

# ---- 1. no module: both sites load
mkdir -p "$out/none"
profile "$out/none/profile" >/dev/null
ok $? "none: profile trusts the test root"
pages="mitmre=$url_mitmre rsamitmre=$url_rsamitmre mitm=$url_mitm good=$url_good"
browse none "$out/none/profile" "$ffbin"
pages=
expect_loads none mitmre
expect_loads none rsamitmre
expect_loads none mitm
expect_loads none good

# ---- 2. modutil, with parameters
mkdir -p "$out/modutil"
log2=$out/modutil/nssguard.log
profile "$out/modutil/profile" >/dev/null &&
    add_module "$out/modutil/profile" "$pki/rsa/overlay.txt" "$log2"
ok $? "modutil: profile trusts the root, modutil adds libnssguard.so with parameters"
: >"$log2"
ffenv="NSS_DEBUG_PKCS11_MODULE=nssguard NSPR_LOG_MODULES=nss_mod_log:4"
ffenv="$ffenv NSPR_LOG_FILE=$out/modutil/pkcs11-calls.log"
# mitmre first, so that this Firefox has not met the original mitm-ca.
pages="mitmre=$url_mitmre rsamitmre=$url_rsamitmre mitm=$url_mitm good=$url_good"
browse modutil "$out/modutil/profile" "$ffbin"
pages=
expect_blocked modutil mitmre
expect_blocked modutil rsamitmre
expect_blocked modutil mitm
expect_loads modutil good
is_png "$out/modutil/mitm.png"
ok $? "modutil: screenshot of the error page in $out/modutil/mitm.png"
log_has "$log2" '"event":"load"' '"process":"firefox-esr"' '"config":"module parameters"'
ok $? "modutil: Firefox loaded the module with its parameters"
log_has "$log2" '"event":"distrust"' '"process":"firefox-esr"' '"label":"nssguard MITM sub-CA"' \
    '"class":"CKO_TRUST"'
ok $? "modutil: the JSON log records the distrust, served as CKO_TRUST, for firefox-esr"
# Firefox's NSS searches the PKCS#11 3.2 class first (nss_mod_log's trace).
first=$(grep -o 'CKA_CLASS = CKO[A-Z_]*TRUST\b' "$out/modutil/pkcs11-calls.log" 2>/dev/null | head -n 1)
is "$first" "CKA_CLASS = CKO_TRUST" "modutil: Firefox's NSS asks for CKO_TRUST before CKO_NSS_TRUST"

# ---- 3. live: an overlay file installed while Firefox runs
mkdir -p "$out/live/overlay.d"
rm -f "$out/live/overlay.d/overlay.txt"
log4=$out/live/nssguard.log
profile "$out/live/profile" >/dev/null &&
    add_module "$out/live/profile" "$out/live/overlay.d" "$log4" "reload=0"
ok $? "live: profile trusts the root, modutil adds libnssguard.so on an empty overlay directory"
: >"$log4"
pages="mitm=$url_mitm isonly=$url_isonly mitm2=$url_mitm2"
browse live "$out/live/profile" "$ffbin" \
    --install-after mitm --install "$pki/overlay.txt" --into "$out/live/overlay.d/overlay.txt"
pages=
expect_loads live mitm
log_has "$log4" '"event":"reload"' '"process":"firefox-esr"' '"files":1'
ok $? "live: the running Firefox's module reloaded the new file"
expect_blocked live isonly
# The hazard: no trust query reaches the module for a certificate NSS holds.
expect_loads live mitm2
log_has "$log4" '"event":"distrust"' '"label":"nssguard MITM sub-CA"'
is $? 1 "live: ... and the module was never asked about the MITM sub-CA again"

# ---- 4. policies.json SecurityDevices, no parameters
mkdir -p "$out/policy/app/distribution"
log3=$out/policy/nssguard.log
conf=$out/policy/nssguard.conf
if [ -e /etc/firefox/policies/policies.json ]; then
    # Firefox reads that file instead of the one beside its binary.
    for t in "policy: Firefox driven" "policy: mitm refused" "policy: good loads" \
        "policy: log records the distrust"; do
        tap_n=$((tap_n + 1))
        echo "ok $tap_n - $t # SKIP /etc/firefox/policies/policies.json exists and wins"
    done
    done_testing
fi
for f in "$ffdir"/*; do
    case ${f##*/} in
    firefox-esr | firefox-bin | distribution) ;;
    *) ln -s "$f" "$out/policy/app/${f##*/}" ;;
    esac
done
# copied, not linked: Firefox finds its folder from its binary's real path
cp "$ffbin" "$out/policy/app/firefox-esr"
# An administrator's policies.json with other policies in it: `nssguard
# enable --firefox-policy` merges SecurityDevices into it (issue 15).
pol=$out/policy/app/distribution/policies.json
printf '{"policies": {"DisableAppUpdate": true, "DisableTelemetry": true}}\n' >"$pol"
NSSGUARD_FIREFOX_POLICY=$pol "$NSSGUARD_TOOL" enable --firefox-policy >"$out/policy/enable.out" 2>&1
ok $? "policy: nssguard enable --firefox-policy"
python3 -m json.tool "$pol" >/dev/null 2>&1 && grep -q '"DisableAppUpdate": true' "$pol" &&
    grep -q "\"nssguard\": \"$NSSGUARD_MODULE\"" "$pol"
ok $? "policy: policies.json merged, valid, the other policies kept"
printf '# written by tests/e2e-firefox.sh\noverlay = %s\nlog = file:%s\n' \
    "$pki/overlay.txt" "$log3" >"$conf"
profile "$out/policy/profile" >/dev/null
ok $? "policy: profile trusts the test root, no module in it"
: >"$log3"
ffenv="NSSGUARD_CONFIG=$conf"
browse policy "$out/policy/profile" "$out/policy/app/firefox-esr" \
    --wait-file "$out/policy/profile/pkcs11.txt" --wait-text "library=$NSSGUARD_MODULE"
grep -qxF "library=$NSSGUARD_MODULE" "$out/policy/profile/pkcs11.txt" &&
    ! grep -q 'overlay=' "$out/policy/profile/pkcs11.txt"
ok $? "policy: the policy added the module to pkcs11.txt, without parameters"
expect_blocked policy mitm
expect_loads policy good
log_has "$log3" '"event":"load"' '"process":"firefox-esr"' "\"config\":\"$conf\""
ok $? "policy: Firefox's module read its configuration from \$NSSGUARD_CONFIG"
log_has "$log3" '"event":"distrust"' '"process":"firefox-esr"' '"label":"nssguard MITM sub-CA"' \
    '"class":"CKO_TRUST"'
ok $? "policy: the JSON log records the distrust for firefox-esr"

# ---- 5. refresh: a running Firefox learns a new distrust (issue 15)
# The operator's deployment: the module and the extension (extension/, an
# unsigned XPI, which ESR installs with xpinstall.signatures.required=false)
# by enterprise policy, and the two native manifests in ~/.mozilla: the
# PKCS#11 one naming the module, the native-messaging one naming the host
# (`nssguard watch --native`). Firefox meets the MITM sub-CA through the
# mitm site; then `nssguard add` writes its distrust into the overlay
# directory; `nssguard watch` sees the change and tells the extension,
# which removes and re-adds the module (browser.pkcs11): Firefox drops the
# trust it cached and a NEW connection to the mitm2 site (same sub-CA,
# another port, no TLS session to resume) is refused, with no restart.
rdir=$out/refresh
mkdir -p "$rdir/app/distribution" "$rdir/overlay.d"
log5=$rdir/nssguard.log
conf5=$rdir/nssguard.conf
for f in "$ffdir"/*; do
    case ${f##*/} in
    firefox-esr | firefox-bin | distribution) ;;
    *) ln -s "$f" "$rdir/app/${f##*/}" ;;
    esac
done
cp "$ffbin" "$rdir/app/firefox-esr"
(cd "$top_srcdir/extension" && zip -q -X -r "$rdir/nssguard.xpi" manifest.json background.js)
ok $? "refresh: the extension packed as an XPI"
printf '#!/bin/sh\nexec "%s" watch --native "$@" 2>>"%s"\n' \
    "$NSSGUARD_TOOL" "$rdir/host.log" >"$rdir/nssguard-host"
chmod +x "$rdir/nssguard-host"
NSSGUARD_FIREFOX_POLICY=$rdir/app/distribution/policies.json \
    "$NSSGUARD_TOOL" enable --firefox-policy --firefox-extension "$rdir/nssguard.xpi" \
    --native-host "$rdir/nssguard-host" >"$rdir/enable.out" 2>&1
ok $? "refresh: nssguard enable --firefox-policy --firefox-extension"
sed 's/^/#   /' "$rdir/enable.out"
python3 -m json.tool "$rdir/app/distribution/policies.json" >/dev/null
ok $? "refresh: policies.json is valid JSON"
[ -s "$HOME/.mozilla/native-messaging-hosts/nssguard.json" ] &&
    [ -s "$HOME/.mozilla/pkcs11-modules/nssguard_refresh.json" ]
ok $? "refresh: the native manifests of the host and the refresh module are in ~/.mozilla"
printf '# written by tests/e2e-firefox.sh\noverlay = %s\nlog = file:%s\n' \
    "$rdir/overlay.d" "$log5" >"$conf5"
profile "$rdir/profile" >/dev/null &&
    printf 'user_pref("xpinstall.signatures.required", false);\n' >>"$rdir/profile/user.js"
ok $? "refresh: profile trusts the test root, no module in it"
: >"$log5"
: >"$rdir/host.log"
ffenv="NSSGUARD_CONFIG=$conf5"
pages="mitm=$url_mitm mitm2=$url_mitm2 mitmagain=$url_mitm"
fftimeout=160
browse refresh "$rdir/profile" "$rdir/app/firefox-esr" \
    --wait-file "$rdir/host.log" --wait-text '"ready"' \
    --run-after mitm \
    --run "'$NSSGUARD_TOOL' add --reason mitm --ref https://example.invalid/nssguard-test \
        -o '$rdir/overlay.d/.mitm.tmp' '$pki/mitm-ca.der' &&
        mv '$rdir/overlay.d/.mitm.tmp' '$rdir/overlay.d/mitm.txt'" \
    --then-wait-file "$rdir/host.log" --then-wait-text '"refreshed"'
fftimeout=
pages=
ffenv=
grep -q '"ready"' "$rdir/host.log"
ok $? "refresh: the extension talks to nssguard watch"
sed 's/^/#   host: /' "$rdir/host.log"
expect_loads refresh mitm
is "$(field refresh _run rc)" 0 "refresh: nssguard add wrote the distrust while Firefox ran"
is "$(field refresh _wait found)" true "refresh: the extension re-added the module"
expect_blocked refresh mitm2
t_add=$(field refresh _run at)
t_refused=$(field refresh mitm2 at)
ms=$((t_refused - t_add))
diag "refresh: nssguard add to a refused new connection: $ms ms"
[ "$ms" -gt 0 ] && [ "$ms" -lt 60000 ]
ok $? "refresh: refused within 60 s of nssguard add, no restart ($ms ms)"
diag "refresh: the mitm site on its first port afterwards: loaded=$(field refresh mitmagain loaded)" \
    "errorCode=$(field refresh mitmagain errorCode)"
log_has "$log5" '"event":"distrust"' '"process":"firefox-esr"' '"label":"nssguard MITM sub-CA"'
ok $? "refresh: the module was asked about the MITM sub-CA again and served its distrust"

done_testing

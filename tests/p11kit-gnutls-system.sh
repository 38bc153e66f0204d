#!/bin/sh
# p11kit-gnutls-system.sh: GnuTLS's "system trust" on Debian 12 with
# libnssguard.so configured for p11-kit as the README says (issue 16): a
# module file in p11-kit's configuration (here a test user configuration)
# and `mode = p11-kit` in nssguard.conf (here the file NSSGUARD_CONFIG names:
# GnuTLS drops the module file's x-init-reserved). Debian builds GnuTLS with
# a file as its default trust store (/etc/ssl/certs/ca-certificates.crt), so
# the system trust never asks the module: asserted, so that a change shows.
# A "pkcs11:" trust list (the system trust of GnuTLS built with
# --with-default-trust-store-pkcs11="pkcs11:", e.g. Fedora) does ask it.
#   tests/test-gnutls-system: the C API (gnutls_certificate_set_x509_system_trust);
#   gnutls-cli against selfserv serving the MITM chain: with --x509cafile
#   root.pem the handshake completes, without --x509cafile (the system
#   trust) it fails as "issuer is unknown" and never loads the module, with
#   --x509cafile pkcs11: it fails as "revoked", with a distrust event.
# The test root cannot be added to the system trust (the test changes
# nothing on the machine): see tests/test-gnutls-system.c.
# p11-kit never reads a user configuration as root, so as root the GnuTLS
# processes run as nobody (setpriv).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

prog="$top_builddir/tests/test-gnutls-system"
[ -x "$prog" ] || skip_all "tests/test-gnutls-system is not built (Debian: libgnutls28-dev)"
cafile=/etc/ssl/certs/ca-certificates.crt
[ -f "$cafile" ] || skip_all "no $cafile (Debian: ca-certificates)"
[ -f /usr/share/p11-kit/modules/p11-kit-trust.module ] ||
    skip_all "p11-kit's trust module is not configured (Debian: p11-kit-modules)"
require_tool gnutls-cli selfserv tstclnt timeout
[ -f "$top_builddir/etc/nssguard.module" ] || skip_all "etc/nssguard.module not built"
e2e_setup p11kit-gnutls-system

trap kill_servers EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" -eq 0 ]; then
    command -v setpriv >/dev/null 2>&1 || skip_all "running as root without setpriv"
    as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
else
    as_user() { "$@"; }
fi
home=$out/home
log=$out/events/nssguard.log
mkdir -p "$home/.config/pkcs11/modules" "$out/events"
chmod 1777 "$out/events"
# The installed module file, pointing at the built module; p11-kit's
# system modules (its trust module) stay configured beside it.
sed -e "s|^module: .*|module: $NSSGUARD_MODULE|" "$top_builddir/etc/nssguard.module" \
    >"$home/.config/pkcs11/modules/nssguard.module"
printf 'overlay = %s\nlog = file:%s\nmode = p11-kit\n' "$pki/overlay.txt" "$log" \
    >"$out/nssguard.conf"
chmod -R a+rX "$out"
gt() {
    as_user env HOME="$home" XDG_CONFIG_HOME="$home/.config" NSSGUARD_CONFIG="$out/nssguard.conf" \
        "$@"
}

ncerts=$(grep -c 'BEGIN CERTIFICATE' "$cafile")
gt "$prog" "$pki" "$log" "$ncerts" >"$out/test-gnutls-system.tap" 2>&1
# Its results, renumbered into this test's.
while IFS= read -r line; do
    case $line in
    "ok "*) ok 0 "${line#* - }" ;;
    "not ok "*) ok 1 "${line#* - }" ;;
    "#"*) echo "$line" ;;
    esac
done <"$out/test-gnutls-system.tap"
[ "$tap_n" -eq 10 ] || ok 1 "test-gnutls-system ran its 10 tests (ran $tap_n)"

# gnutls-cli against the MITM server.
start_server mitm || {
    echo "Bail out! selfserv did not start"
    exit 1
}
# cli NAME ARGS...: gnutls-cli ARGS -p PORT localhost; sets cli_rc, cli_out.
cli()
{
    name=$1
    shift
    rm -f "$log"
    gt timeout 30 gnutls-cli "$@" -p "$port" localhost </dev/null >"$out/cli-$name.log" 2>&1
    cli_rc=$?
    cli_out=$(grep -- '- Status:' "$out/cli-$name.log")
}
cli file --x509cafile="$pki/root.pem"
is "$cli_rc" 0 "gnutls-cli --x509cafile root.pem: the handshake with the MITM server completes"
grep -q 'Handshake was completed' "$out/cli-file.log"
ok $? "... (Handshake was completed)"
cli system
is "$cli_rc:$cli_out" "1:- Status: The certificate is NOT trusted. The certificate issuer is unknown. " \
    "gnutls-cli, system trust (no --x509cafile): fails as issuer unknown, not revoked"
grep -q '"process":"gnutls-cli"' "$log"
ok $((!$?)) "... and gnutls-cli never loaded the module"
cli pkcs11 --x509cafile=pkcs11:
is "$cli_rc:$cli_out" "1:- Status: The certificate is NOT trusted. The certificate chain is revoked. " \
    "gnutls-cli --x509cafile pkcs11: fails as revoked"
log_has "$log" '"event":"distrust"' '"process":"gnutls-cli"'
ok $? "... with a distrust event from gnutls-cli"
[ "$tap_failed" -eq 0 ] || sed 's/^/# log: /' "$log"

done_testing

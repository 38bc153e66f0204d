#!/bin/sh
# p11kit-tools.sh: p11-kit's own tools load libnssguard.so from a module file
# (as the installed nssguard.module does) and see its distrust in p11-kit
# mode: `p11-kit list-modules` lists it, `trust list --filter=blocklist`
# shows the MITM sub-CA. In NSS mode they see no certificates.
#
# The module file lives in a test user configuration ($HOME/.config/pkcs11/,
# `user-config: only`). p11-kit never reads a user configuration as root, so
# as root the tools run as nobody (setpriv).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

require_tool p11-kit trust
e2e_setup p11kit-tools
if [ "$(id -u)" -eq 0 ]; then
    command -v setpriv >/dev/null 2>&1 || skip_all "running as root without setpriv"
    as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    chmod -R a+rX "$out"
else
    as_user() { "$@"; }
fi
home=$out/home
conf=$home/.config/pkcs11
log=$out/events/nssguard.log
mkdir -p "$conf/modules" "$out/events"
chmod 1777 "$out/events"
echo "user-config: only" >"$conf/pkcs11.conf"

# module_file MODE-PARAMETERS: writes the test module file. It reads the
# shipped nssguard.conf first (config=), as the installed file does, so a
# broken shipped configuration fails here.
module_file()
{
    sed -e "s|^module: .*|module: $NSSGUARD_MODULE|" \
        -e "s|^x-init-reserved: .*|x-init-reserved: config=$top_srcdir/etc/nssguard.conf overlay=$pki/overlay.txt log=file:$log $1|" \
        "$top_builddir/etc/nssguard.module" >"$conf/modules/nssguard.module"
    chmod -R a+rX "$home"
}

p11() { as_user env HOME="$home" XDG_CONFIG_HOME="$home/.config" "$@" 2>&1; }

[ -f "$top_builddir/etc/nssguard.module" ] || skip_all "etc/nssguard.module not built"
module_file "mode=p11-kit"
got=$(p11 p11-kit list-modules)
printf '%s\n' "$got" | grep -qx "nssguard: $NSSGUARD_MODULE"
ok $? "p11-kit list-modules shows nssguard"
printf '%s\n' "$got" | grep -q "library-manufacturer: PKCS#11 Kit (nssguard)"
ok $? "... as a \"PKCS#11 Kit\" library (GnuTLS believes distrust only from those)"
[ $? -eq 0 ] || printf '%s\n' "$got" | sed 's/^/#   /'

got=$(p11 trust list --filter=blocklist)
printf '%s\n' "$got" | grep -q "label: nssguard MITM sub-CA"
ok $? "trust list --filter=blocklist shows the MITM sub-CA"
printf '%s\n' "$got" | grep -A1 "label: nssguard MITM sub-CA" | grep -q "trust: distrusted"
ok $? "... as distrusted"
printf '%s\n' "$got" | grep -q "Good sub-CA"
ok $((!$?)) "... and not the good sub-CA"
[ "$tap_failed" -eq 0 ] || printf '%s\n' "$got" | sed 's/^/#   /'
log_has "$log" '"event":"load"' '"process":"trust"' '"entries":2'
ok $? "the module loaded the overlay in trust's process (x-init-reserved reached it)"

module_file ""
got=$(p11 trust list --filter=blocklist)
printf '%s\n' "$got" | grep -q "nssguard"
ok $((!$?)) "NSS mode (no mode=p11-kit): no certificate reaches p11-kit"

done_testing

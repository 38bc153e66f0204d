#!/bin/sh
# demo.sh: nssguard in one minute. Makes a throwaway PKI with a "MITM"
# sub-CA, a client NSS database that trusts its root, loads libnssguard.so
# with the shipped overlay (certdata/) plus a record for the MITM sub-CA,
# and shows NSS rejecting the MITM chain and accepting the good one.
#
# Run from the build folder (or `make demo`). Environment:
#   top_srcdir       source folder (default: the folder above this script)
#   NSSGUARD_MODULE  default ./.libs/libnssguard.so
#   NSSGUARD_TOOL    default ./nssguard
#   KEEP=1           keep the throwaway folder
# Exit status 0 only when the MITM chain was rejected and the good one accepted.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$here")}
module=${NSSGUARD_MODULE:-./.libs/libnssguard.so}
tool=${NSSGUARD_TOOL:-./nssguard}
case $module in /*) ;; *) module=$(pwd)/$module ;; esac
case $tool in /*) ;; *) tool=$(pwd)/$tool ;; esac

heading()
{
    echo
    echo "== $* =="
}

die()
{
    echo "demo: $*" >&2
    exit 1
}

for t in certutil modutil vfychain; do
    command -v $t >/dev/null 2>&1 || die "$t not found (Debian: apt install libnss3-tools)"
done
[ -f "$module" ] || die "$module not found (build first, or set NSSGUARD_MODULE)"
[ -x "$tool" ] || die "$tool not found (build first, or set NSSGUARD_TOOL)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/nssguard-demo.XXXXXX") || die "mktemp failed"
if [ "${KEEP:-0}" = 1 ]; then
    echo "demo folder: $dir (kept)"
else
    trap 'rm -rf "$dir"' EXIT
fi
trap 'exit 1' INT TERM

heading "1. A test PKI: root -> MITM sub-CA -> localhost, root -> good sub-CA -> localhost"
NSSGUARD_TOOL=$tool sh "$top_srcdir/tests/pki.sh" "$dir/pki" >"$dir/pki.log" 2>&1 ||
    { cat "$dir/pki.log"; die "tests/pki.sh failed"; }
echo "made in $dir/pki"

heading "2. The distrust record for the MITM sub-CA (nssguard add)"
echo "\$ nssguard add --reason mitm --ref https://example.test/mitm --label \"nssguard MITM sub-CA\" mitm-ca.der"
sed -n '1,4p' "$dir/pki/overlay.txt"
echo "... (CKO_CERTIFICATE and CKO_NSS_TRUST objects, every purpose CKT_NSS_NOT_TRUSTED)"

heading "3. A client NSS database that trusts the test root"
db=$dir/client
mkdir -p "$db"
certutil -N -d "sql:$db" --empty-password &&
    certutil -A -d "sql:$db" -n root -t "C,," -i "$dir/pki/root.der" || die "certutil failed"
certutil -L -d "sql:$db"

heading "4. Load libnssguard.so into it"
log=$dir/nssguard.log
params="overlay=$top_srcdir/certdata:$dir/pki/overlay.txt log=file:$log"
echo "\$ modutil -dbdir sql:$db -add nssguard -libfile $module -string \"$params\""
modutil -dbdir "sql:$db" -force -add nssguard -libfile "$module" -string "$params" >/dev/null ||
    die "modutil -add failed"
modutil -dbdir "sql:$db" -list | sed -n '/nssguard/,/^$/p'

status=0

heading "5. The MITM chain (leaf + MITM sub-CA), as a TLS server would send it"
echo "\$ vfychain -d sql:client -u 1 mitm-leaf.der mitm-ca.der"
vfychain -d "sql:$db" -u 1 "$dir/pki/mitm-leaf.der" "$dir/pki/mitm-ca.der" >"$dir/mitm.out" 2>&1
rc=$?
cat "$dir/mitm.out"
if [ $rc -ne 0 ] && grep -q 'ERROR -8172: ' "$dir/mitm.out"; then
    echo "=> REJECTED (exit $rc): -8172 is SEC_ERROR_UNTRUSTED_ISSUER"
else
    echo "=> NOT rejected as distrusted (exit $rc): the distrust did not work"
    status=1
fi

heading "6. The good chain (leaf + good sub-CA)"
echo "\$ vfychain -d sql:client -u 1 good-leaf.der good-ca.der"
vfychain -d "sql:$db" -u 1 "$dir/pki/good-leaf.der" "$dir/pki/good-ca.der" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
    echo "=> ACCEPTED"
else
    echo "=> REJECTED (exit $rc): the good chain should pass"
    status=1
fi

heading "7. What nssguard logged ($log)"
if [ -f "$log" ]; then
    grep '"event":"\(distrust\|load_error\)"' "$log"
    grep '"event":"load"' "$log" | tail -n 1
else
    echo "(no log file)"
    status=1
fi

heading "Result"
if [ $status -eq 0 ]; then
    echo "OK: the MITM chain was rejected and the good chain accepted."
else
    echo "FAILED: see above."
fi
exit $status

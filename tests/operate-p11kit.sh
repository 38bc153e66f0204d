#!/bin/sh
# operate-p11kit.sh: the p11-kit part of `nssguard status` (issue 15) on a
# HOME confined to the output folder: a user module file
# (~/.config/pkcs11/modules/nssguard.module) that p11-kit itself loads
# (`p11-kit list-modules`, as the same user) is found by status, with its
# x-init-reserved parameters, and self-tested: enforcing, or NOT enforcing
# when its overlay serves nothing. A module file for another library is not
# ours. $XDG_CONFIG_HOME moves the folder for p11-kit and status alike.
#
# p11-kit never reads a user configuration as root: as root the user runs as
# nobody (setpriv), and status run by root itself must say that p11-kit
# ignores the file rather than call it enforcing.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

require_tool p11-kit python3
e2e_setup operate-p11kit
root=false
if [ "$(id -u)" -eq 0 ]; then
    command -v setpriv >/dev/null 2>&1 || skip_all "running as root without setpriv"
    as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    root=true
else
    as_user() { "$@"; }
fi
home=$out/home
mods=$home/.config/pkcs11/modules
mkdir -p "$mods" "$out/tmp"
chmod 1777 "$out/tmp"
policy=$out/no-policies.json

# module_file FILE PARAMETERS: a module file for libnssguard.so
module_file()
{
    printf 'module: %s\ntrust-policy: yes\nx-init-reserved: %s\n' "$NSSGUARD_MODULE" "$2" >"$1"
    chmod -R a+rX "$out"
}

# user CMD...: CMD as the test user, HOME confined (no Firefox policy)
user()
{
    as_user env HOME="$home" XDG_CONFIG_HOME="${xdg:-$home/.config}" TMPDIR="$out/tmp" \
        NSSGUARD_FIREFOX_POLICY="$policy" "$@"
}

# place_of JSON: kind, where, listed, enforcing, mode, entries, parameters, why
place_of()
{
    python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))
print(s["enforcing"], len(s["places"]))
for p in s["places"]:
    print(p["kind"], p["where"], p["listed"], p["enforcing"], p.get("mode"), p.get("entries"),
          p.get("parameters"), p.get("why"), sep="|")' "$1"
}

params="overlay=$pki/overlay.txt log=none mode=p11-kit"
module_file "$mods/nssguard.module" "$params"
# a module file for another library: not ours
printf 'module: p11-kit-trust.so\n' >"$mods/other.module"
chmod a+r "$mods/other.module"

# ---- p11-kit itself loads the user's module file
user p11-kit list-modules >"$out/list.txt" 2>&1
grep -qx "nssguard: $NSSGUARD_MODULE" "$out/list.txt"
ok $? "p11-kit list-modules (as a user) loads ~/.config/pkcs11/modules/nssguard.module"

# ---- status finds it and self-tests it
user "$NSSGUARD_TOOL" status --json >"$out/status1.json" 2>"$out/status1.err"
is "$?" 0 "status: exit 0 (the p11-kit module file enforces)"
is "$(place_of "$out/status1.json")" "True 1
p11-kit|$mods/nssguard.module|True|True|p11-kit|2|$params|None" \
    "status --json: one p11-kit place (other.module is not ours): listed, enforcing, mode p11-kit, 2 entries, its x-init-reserved"
user "$NSSGUARD_TOOL" status >"$out/status1.txt" 2>&1
head -n 1 "$out/status1.txt" | grep -qxF "$mods/nssguard.module (p11-kit): enforcing"
ok $? "status: '... (p11-kit): enforcing'"

# ---- a module file whose overlay serves nothing does not enforce
module_file "$mods/nssguard.module" "overlay=$out/none.txt log=none mode=p11-kit"
user "$NSSGUARD_TOOL" status >"$out/status2.txt" 2>&1
is "$?" 1 "status: exit 1 when the p11-kit module file serves nothing"
head -n 1 "$out/status2.txt" | grep -qxF "$mods/nssguard.module (p11-kit): NOT enforcing: the configured overlays serve no entry (missing, empty or refused)"
ok $? "status: ... NOT enforcing, and why"

# ---- $XDG_CONFIG_HOME moves the folder, for p11-kit and for status
rm -f "$mods/nssguard.module"
xdg=$out/xdg
mkdir -p "$xdg/pkcs11/modules"
module_file "$xdg/pkcs11/modules/nssguard.module" "$params"
user p11-kit list-modules 2>&1 | grep -qx "nssguard: $NSSGUARD_MODULE"
ok $? "p11-kit list-modules reads \$XDG_CONFIG_HOME/pkcs11/modules"
user "$NSSGUARD_TOOL" status >"$out/status3.txt" 2>&1
is "$?:$(head -n 1 "$out/status3.txt")" "0:$xdg/pkcs11/modules/nssguard.module (p11-kit): enforcing" \
    "status: reads \$XDG_CONFIG_HOME/pkcs11/modules too"
xdg=

# ---- root: p11-kit ignores the user's module files, and status says so
module_file "$mods/nssguard.module" "$params"
if $root; then
    env HOME="$home" XDG_CONFIG_HOME="$home/.config" p11-kit list-modules 2>&1 | grep -q "^nssguard:"
    ok $((!$?)) "p11-kit list-modules as root does not load the user's module file"
    env HOME="$home" XDG_CONFIG_HOME="$home/.config" TMPDIR="$out/tmp" \
        NSSGUARD_FIREFOX_POLICY="$policy" "$NSSGUARD_TOOL" status >"$out/status4.txt" 2>&1
    is "$?:$(head -n 1 "$out/status4.txt")" \
        "1:$mods/nssguard.module (p11-kit): NOT enforcing: p11-kit ignores a user's module files for root" \
        "status as root: the user's module file is NOT enforcing: p11-kit ignores it"
else
    for _ in 1 2; do
        tap_n=$((tap_n + 1))
        echo "ok $tap_n # SKIP not root: the root case of p11-kit's user configuration"
    done
fi

done_testing

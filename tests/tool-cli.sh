#!/bin/sh
# tool-cli.sh: the tool as a whole: --version, and the commands that read the
# configured overlays run before `make install` (issue 16): no overlay is
# said on stderr and the command does its job with none.
. "$top_srcdir/tests/lib.sh"

[ -x "$NSSGUARD_TOOL" ] || skip_all "$NSSGUARD_TOOL not built"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
t=$NSSGUARD_TOOL
out=$(test_outdir tool-cli)

version=$(sed -n 's/^AC_INIT(\[nssguard\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
got=$("$t" --version 2>&1)
is "$?:$got" "0:nssguard $version" "--version: nssguard and configure.ac's version, exit 0"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out/ca.key" \
    -subj "/CN=nssguard cli test CA" -days 30 -out "$out/ca.pem" 2>/dev/null

# A configuration that names an overlay that is not there: what the build
# tree sees of the default $(datadir)/nssguard before `make install`.
printf 'overlay = %s/not-installed\n' "$out" >"$out/nssguard.conf"
export NSSGUARD_CONFIG="$out/nssguard.conf"
said="nssguard: no overlay at $out/not-installed (nssguard is not installed, or runs from its build tree): going on without it; name overlays with --overlay"

got=$("$t" list 2>"$out/list.err")
is "$?:$got" "0:0 entries from 0 files, 0 refused" "list, no overlay installed: exit 0, no entry"
is "$(cat "$out/list.err")" "$said" "... said on stderr, with the path"
got=$("$t" explain "$out/ca.pem" 2>"$out/explain.err" | tail -1)
is "$?:$got" "0:  no overlay entry matches" "explain, no overlay installed: does its job"
is "$(cat "$out/explain.err")" "$said" "... said on stderr"
"$t" audit "$out/ca.pem" >"$out/audit.out" 2>"$out/audit.err"
is "$?:$(tail -1 "$out/audit.out")" \
    "0:1 CA certificate (1 root) among 1: 0 constrained, 1 unconstrained, 0 not for TLS; 0 unconstrained sub-CAs not covered by the overlay" \
    "audit, no overlay installed: does its job"
is "$(cat "$out/audit.err")" "$said" "... said on stderr"

# An overlay named on the command line that is missing is still an error.
"$t" list --overlay "$out/not-installed" >/dev/null 2>&1
is "$?" 2 "list --overlay MISSING: still exit 2 (only the configured overlays are optional)"

# The default itself ($(datadir)/nssguard), when nothing is installed there.
export NSSGUARD_CONFIG=/nonexistent/nssguard.conf
got=$("$t" list 2>&1)
rc=$?
default=$(echo "$got" | sed -n 's/^nssguard: no overlay at \(.*\) (nssguard is not installed.*/\1/p')
if [ -n "$default" ]; then
    [ ! -e "$default" ] && [ "${default%/share/nssguard}" != "$default" ]
    ok $? "list with the default configuration: the missing overlay is \$(datadir)/nssguard ($default)"
    is "$rc:$(echo "$got" | tail -1)" "0:0 entries from 0 files, 0 refused" "... exit 0, no entry"
else
    diag "an overlay is installed at the default path: the uninstalled case is not tried"
fi

done_testing

# Shared helpers for nssguard's shell tests: TAP output, skips, NSS databases.
# Sourced by every tests/*.sh; the harness sets top_srcdir, top_builddir,
# NSSGUARD_MODULE, NSSGUARD_TOOL and NSSGUARD_SHARED (see tests/local.mk).
set -u

tap_n=0
tap_failed=0

# ok COND-EXIT-STATUS DESCRIPTION: use as `cmd; ok $? "what"`.
ok()
{
    tap_n=$((tap_n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $tap_n - $2"
    else
        echo "not ok $tap_n - $2"
        tap_failed=$((tap_failed + 1))
    fi
}

# is GOT WANT DESCRIPTION: exact comparison, prints both on failure.
is()
{
    if [ "$1" = "$2" ]; then
        ok 0 "$3"
    else
        ok 1 "$3"
        echo "#   got:  '$1'"
        echo "#   want: '$2'"
    fi
}

diag()
{
    echo "# $*"
}

done_testing()
{
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
    exit $?
}

# skip_all REASON: the whole test is skipped. The "1..0 # SKIP" plan is
# what automake's TAP driver counts as a skip; it reports any other exit
# status than 0 as an ERROR, so a skip exits 0 (77 is the skip code of the
# non-TAP harness only).
skip_all()
{
    echo "1..0 # SKIP $*"
    exit 0
}

require_tool()
{
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed (Debian: libnss3-tools)"
    done
}

require_shared()
{
    [ -d "$NSSGUARD_SHARED/mozilla" ] ||
        skip_all "no ../shared/data beside the checkout: Mozilla and OneCRL data are not in this repo"
}

# test_outdir NAME: a fresh folder for this test's files, kept after the run.
test_outdir()
{
    d="$top_builddir/tests/out/$1"
    rm -rf "$d"
    mkdir -p "$d"
    echo "$d"
}

# module_params OVERLAY LOGFILE [EXTRA]: the parameter string the tests pass.
module_params()
{
    echo "overlay=$1 log=file:$2 ${3:-}"
}

# add_module DBDIR OVERLAY LOGFILE [EXTRA]: register libnssguard.so in an NSS db.
add_module()
{
    modutil -dbdir "sql:$1" -force -add nssguard -libfile "$NSSGUARD_MODULE" \
        -string "$(module_params "$2" "$3" "${4:-}")" >/dev/null
}

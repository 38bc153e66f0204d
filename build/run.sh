#!/bin/sh
# build/run.sh: the README's two commands on a fresh Debian 12 machine.
#
#   sh build/run.sh demo    install dependencies, build, run the demo
#   sh build/run.sh check   install dependencies, build with warnings as
#                           errors, run the test suite, check the style, make
#                           distcheck, then run the module's tests again under
#                           ASan+UBSan
#
# Dependencies come from Debian's packages (apt-get, as root or via sudo);
# a machine that already has them is left alone.
set -eu

job=${1:-check}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

packages="build-essential autoconf automake libtool pkg-config
          libnss3-dev libnspr4-dev libnss3-tools libjson-c-dev zip"
# The test suite also drives the module through these clients; a test whose
# client is missing skips (a TAP "1..0 # SKIP" plan).
if [ "$job" = check ]; then
    packages="$packages firefox-esr chromium opensc gnutls-bin libgnutls28-dev p11-kit
              p11-kit-modules valgrind openssl clang-format"
fi

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "run.sh: installing:$missing"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

jobs=$(nproc 2>/dev/null || echo 2)
[ -x configure ] || autoreconf -fi
# Firefox's end-to-end test drives the browser with the npm package ws
# (tests/firefox/package-lock.json); it never downloads a browser.
if [ "$job" = check ] && command -v npm >/dev/null 2>&1 && [ ! -d tests/firefox/node_modules ]; then
    npm ci --prefix tests/firefox --no-audit --no-fund --loglevel=error || echo "run.sh: npm ci failed: the Firefox test will skip"
fi

# The plain build. `check` ends with the tree configured for the sanitizers,
# whose module NSS's tools cannot load ("ASan runtime does not come first"):
# such a tree is configured again, so that the two jobs run in any order.
plain()
{
    if [ -f Makefile ] && ./config.status --config | grep -q -e '--enable-sanitizers'; then
        make distclean >/dev/null
    fi
    [ -f Makefile ] || ./configure --enable-werror
    make -j"$jobs"
}

case $job in
demo)
    plain
    make demo
    ;;
check)
    plain
    make -j"$jobs" check || { cat tests/*.log tests/firefox/*.log 2>/dev/null | tail -200; exit 1; }
    make check-style
    make -j"$jobs" distcheck
    # Issue 6: the module again under ASan+UBSan (gcc's), through its
    # in-process tests, the fuzz corpora and NSS's own tools.
    asan_tests="tests/test-parser tests/test-module tests/test-reload tests/test-stress
        tests/test-conformance tests/test-bad-overlays tests/test-fifo-overlay
        tests/test-handle-any-session tests/test-blob-terminator tests/nss-api.sh
        tests/e2e-vfychain.sh tests/tool-check.sh tests/tool-verify.sh
        fuzz/run-overlay fuzz/run-pkcs11 fuzz/run-compiled"
    make distclean >/dev/null
    ./configure --enable-sanitizers --enable-werror >/dev/null
    make -j"$jobs"
    make -j"$jobs" check TESTS="$(echo $asan_tests)" ||
        { cat tests/*.log fuzz/*.log 2>/dev/null | grep -v '^ok' | tail -200; exit 1; }
    ;;
*)
    echo "usage: sh build/run.sh demo|check" >&2
    exit 2
    ;;
esac

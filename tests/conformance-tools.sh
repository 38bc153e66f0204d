#!/bin/sh
# conformance-tools.sh: third-party PKCS#11 clients against libnssguard.so.
#   pkcs11-tool (OpenSC): -I -L -T -O, and --test-fork
#   p11tool (GnuTLS):     --list-all, --list-tokens
# Each tool that is missing is skipped (Debian: opensc, gnutls-bin). The
# module reads $NSSGUARD_CONFIG, as it does when a client passes no
# parameters (neither tool can pass any).
. "$top_srcdir/tests/lib.sh"

have_p11=0; have_gnutls=0
command -v pkcs11-tool >/dev/null 2>&1 && have_p11=1
command -v p11tool >/dev/null 2>&1 && have_gnutls=1
[ $have_p11 = 1 ] || [ $have_gnutls = 1 ] ||
    skip_all "neither pkcs11-tool (opensc) nor p11tool (gnutls-bin) installed"
[ -f "$NSSGUARD_MODULE" ] || skip_all "$NSSGUARD_MODULE not built"

out=$(test_outdir conformance-tools)
cat >"$out/overlay.txt" <<'OVERLAY'
CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST
CKA_TOKEN CK_BBOOL CK_TRUE
CKA_LABEL UTF8 "conformance MITM CA"
CKA_ISSUER MULTILINE_OCTAL
\060\014\061\012\060\010\006\003\125\004\003\023\001\101
END
CKA_SERIAL_NUMBER MULTILINE_OCTAL
\002\001\007
END
CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED
OVERLAY
printf 'overlay = %s\nlog = file:%s\n' "$out/overlay.txt" "$out/events.json" >"$out/nssguard.conf"
NSSGUARD_CONFIG=$out/nssguard.conf
export NSSGUARD_CONFIG
# p11-kit (behind p11tool) must not load the system's modules too.
P11_KIT_NO_USER_CONFIG=1
export P11_KIT_NO_USER_CONFIG

# run NAME CMD...: runs CMD, keeps its output in $out/NAME.out, sets rc.
run()
{
    name=$1
    shift
    "$@" >"$out/$name.out" 2>&1
    rc=$?
}

if [ $have_p11 = 1 ]; then
    m=$NSSGUARD_MODULE
    run info pkcs11-tool --module "$m" -I
    is "$rc" 0 "pkcs11-tool -I (library info)"
    grep -q 'Manufacturer *nssguard' "$out/info.out"
    ok $? "... names the manufacturer"
    run slots pkcs11-tool --module "$m" -L
    is "$rc" 0 "pkcs11-tool -L (slots)"
    grep -q 'token label *: nssguard distrust overlay' "$out/slots.out"
    ok $? "... one slot with the token"
    run mechs pkcs11-tool --module "$m" -M
    is "$rc" 0 "pkcs11-tool -M (no mechanisms)"
    run tokens pkcs11-tool --module "$m" -T
    is "$rc" 0 "pkcs11-tool -T (tokens)"
    grep -q 'token flags *:.*readonly' "$out/tokens.out"
    ok $? "... the token is read-only (CKF_WRITE_PROTECTED)"
    run objects pkcs11-tool --module "$m" -O
    is "$rc" 0 "pkcs11-tool -O (objects)"
    n=$(grep -c '^Object\|^Data object\|^Profile object\|^[A-Za-z ]*[Oo]bject' "$out/objects.out")
    diag "pkcs11-tool -O listed: $(tr '\n' '|' <"$out/objects.out" | cut -c1-300)"
    [ "$n" -ge 1 ]
    ok $? "... lists the trust objects"
    run fork pkcs11-tool --module "$m" --test-fork
    is "$rc" 0 "pkcs11-tool --test-fork (C_Initialize in the child)"
    if [ "$rc" -ne 0 ]; then sed 's/^/#   /' "$out/fork.out"; fi
    ! grep -qi 'error\|fail' "$out/info.out" "$out/slots.out" "$out/tokens.out" "$out/objects.out"
    ok $? "no error in pkcs11-tool's output"
else
    ok 0 "# SKIP pkcs11-tool not installed (Debian: opensc)"
fi

if [ $have_gnutls = 1 ]; then
    run p11all p11tool --provider "$NSSGUARD_MODULE" --list-all
    is "$rc" 0 "p11tool --list-all"
    if [ "$rc" -ne 0 ]; then sed 's/^/#   /' "$out/p11all.out"; fi
    run p11tokens p11tool --provider "$NSSGUARD_MODULE" --list-tokens
    is "$rc" 0 "p11tool --list-tokens"
    grep -q 'Label: nssguard distrust overlay' "$out/p11tokens.out"
    ok $? "... shows the token"
    ! grep -qi 'error' "$out/p11all.out" "$out/p11tokens.out"
    ok $? "no error in p11tool's output"
else
    ok 0 "# SKIP p11tool not installed (Debian: gnutls-bin)"
fi

[ -f "$out/events.json" ] && grep -q '"event":"load"' "$out/events.json"
ok $? "the module loaded its overlay from \$NSSGUARD_CONFIG"
! grep -q '"event":"load_error"' "$out/events.json" 2>/dev/null
ok $? "... without a load_error"
done_testing

#!/bin/sh
# e2e-trace.sh: NSSGUARD_DEBUG=area[,area][:FILE] traces what NSS asks the
# module and what it answers, through a real vfychain run; nothing without
# the variable; nothing in a process that secure_getenv treats as setuid.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup e2e-trace
db=$out/client
client_db "$db" >/dev/null && add_module "$db" "$pki/overlay.txt" "$out/events.log"
ok $? "client database with the module"

trace=$out/lookup.trace
vfy_out=$(NSSGUARD_DEBUG=lookup:$trace timeout 60 vfychain -d "sql:$db" -pp -u 1 \
    "$pki/mitm-leaf.der" "$pki/mitm-ca.der" 2>&1)
is "$?" 1 "vfychain rejects the MITM chain with lookup tracing on"
[ -s "$trace" ]
ok $? "the trace file is written"
# the MITM sub-CA's serial is 0b (NSS 3.87 asks for trust with the bare value)
grep -F "C_FindObjectsInit(" "$trace" | grep -F "CKA_CLASS=CKO_NSS_TRUST" |
    grep -F 'CKA_ISSUER="CN=nssguard Test Root,O=nssguard tests"' |
    grep -qE "CKA_SERIAL_NUMBER=(02:01:)?0b}"
ok $? "the trace shows NSS's trust query for the MITM sub-CA (class, issuer, serial)"
grep -F "C_FindObjects(" "$trace" | grep -qE "found 1: 0x[0-9a-f]+ = CKR_OK"
ok $? "... the handle answered"
grep -F "C_GetAttributeValue(" "$trace" | grep -qF "CKA_TRUST_SERVER_AUTH=CKT_NSS_NOT_TRUSTED"
ok $? "... and CKA_TRUST_SERVER_AUTH=CKT_NSS_NOT_TRUSTED read from it"
! grep -qF "C_GetSlotList(" "$trace"
ok $? "lookup alone does not trace the other calls"
printf '%s\n' "$vfy_out" | grep -q "nssguard-trace"
ok $((!$?)) "nothing traced to stderr when a file is given"

all=$out/all.trace
NSSGUARD_DEBUG=pkcs11,load:$all timeout 60 vfychain -d "sql:$db" -pp -u 1 \
    "$pki/good-leaf.der" "$pki/good-ca.der" >/dev/null 2>&1
grep -qF "C_Initialize(parameters=\"overlay=$pki/overlay.txt" "$all" &&
    grep -qF "C_GetSlotList(" "$all" && grep -qF "C_OpenSession(" "$all"
ok $? "pkcs11: every call, C_Initialize with its parameters"
grep -qF "event load: event=load" "$all"
ok $? "load: the load event"
grep -F "C_FindObjects(" "$all" | grep -q "found 0: = CKR_OK"
ok $? "the good sub-CA's query: no handle answered"

out_text=$(NSSGUARD_DEBUG=all timeout 60 vfychain -d "sql:$db" -pp -u 1 \
    "$pki/mitm-leaf.der" "$pki/mitm-ca.der" 2>&1)
printf '%s\n' "$out_text" | grep -qF "CKA_TRUST_SERVER_AUTH=CKT_NSS_NOT_TRUSTED"
ok $? "without a file the trace goes to stderr"

rm -f "$out"/*.trace "$out"/trace-*
out_text=$(timeout 60 vfychain -d "sql:$db" -pp -u 1 "$pki/mitm-leaf.der" "$pki/mitm-ca.der" 2>&1)
is "$?" 1 "without NSSGUARD_DEBUG the chain is rejected"
printf '%s\n' "$out_text" | grep -q "nssguard-trace"
ok $((!$?)) "... and nothing is traced"
is "$(ls "$out" | grep -c '\.trace$')" 0 "... and no trace file made"

# A process that gains a capability from its file runs with AT_SECURE, as a
# setuid one does: secure_getenv returns NULL there. Run as nobody (the gain
# needs an unprivileged caller), first a plain copy of vfychain (it traces:
# nobody can write the trace), then one with a file capability.
sec=$out/secure
mkdir -p "$sec" && cp -r "$db" "$sec/db" && cp "$pki"/mitm-*.der "$sec/" &&
    chmod -R a+rwX "$sec" && cp "$(command -v vfychain)" "$sec/vfychain-plain" &&
    cp "$(command -v vfychain)" "$sec/vfychain-secure"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 && command -v setcap >/dev/null 2>&1 &&
    setcap cap_net_bind_service+ep "$sec/vfychain-secure" 2>/dev/null; then
    for v in plain secure; do
        NSSGUARD_DEBUG=all:$sec/$v.trace timeout 60 setpriv --reuid=65534 --regid=65534 \
            --clear-groups "$sec/vfychain-$v" -d "sql:$sec/db" -pp -u 1 "$sec/mitm-leaf.der" \
            "$sec/mitm-ca.der" >"$sec/$v.out" 2>&1
        is "$?" 1 "$v vfychain as nobody rejects the MITM chain"
    done
    [ -s "$sec/plain.trace" ]
    ok $? "the plain one traces"
    [ ! -e "$sec/secure.trace" ] && ! grep -q "nssguard-trace" "$sec/secure.out"
    ok $? "the secure-execution one ignores NSSGUARD_DEBUG: no trace file, no trace output"
else
    diag "not root, or no setpriv/setcap: the secure-execution case is not run"
fi

NSSGUARD_DEBUG=lookup:$out/trace-link timeout 60 vfychain -d "sql:$db" -pp -u 1 \
    "$pki/good-leaf.der" "$pki/good-ca.der" >/dev/null 2>&1
ln -s "$out/trace-target" "$out/trace-link2"
out_text=$(NSSGUARD_DEBUG=lookup:$out/trace-link2 timeout 60 vfychain -d "sql:$db" -pp -u 1 \
    "$pki/good-leaf.der" "$pki/good-ca.der" 2>&1)
[ ! -e "$out/trace-target" ] && printf '%s\n' "$out_text" | grep -qF "trace-link2 refused"
ok $? "a trace file that is a symbolic link is refused, and said so"

done_testing

#!/bin/sh
# image-faults.sh: a compiled overlay changed under a running NSS process
# (issue 12). tests/nssguard-image-hold keeps one process with the module
# loaded and verifies the mitm and good chains after each change:
#  (a) the .ngo truncated in place (`truncate -s 0`): the process lives on
#      and keeps rejecting the MITM chain from the last good version;
#  (b) the .ngo rewritten in place (`cp` over it) with a wrong file and with
#      the first half of an image (a copy caught midway): the same;
#  (c) X.txt replaced by another text of the same size and mtime beside
#      the X.ngo compiled from the old one: the text wins, with a
#      stale_compiled event, in a new process and in a running one;
#  (d) an entry carrying its key's hash (CKA_NSSGUARD_SPKI_SHA256, schema.h):
#      listed from text and compiled image, served as before.
# With the image mapped from the file (a8981c9), (a) and (b) kill the
# process with SIGBUS and (c) serves the stale image: the MITM is accepted.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

hold=$top_builddir/tests/nssguard-image-hold
[ -x "$hold" ] || skip_all "tests/nssguard-image-hold is not built"
e2e_setup image-faults
t=$NSSGUARD_TOOL
db=$out/db
client_db "$db" >/dev/null
ok $? "client database that trusts the test root"

want_rejected="mitm=-8172 good=0" # SEC_ERROR_UNTRUSTED_ISSUER

# steps LOG STEP... : runs the holder with the module on $odir, one step a
# command; sets hold_rc and hold_out.
steps()
{
    h_log=$1
    shift
    hold_out=$("$hold" "$db" "$pki" "overlay=$odir log=file:$h_log reload=0" "$@" 2>"$out/hold.err")
    hold_rc=$?
    echo "$hold_out" | sed 's/^/# /'
}

step()
{
    echo "$hold_out" | sed -n "s/^step $1: //p"
}

# ---- (a) truncated in place ----
odir=$out/a.d
mkdir -p "$odir"
"$t" compile -o "$odir/overlay.ngo" "$pki/overlay.txt" >/dev/null
cp "$odir/overlay.ngo" "$out/good.ngo"
steps "$out/a.log" "truncate -s 0 '$odir/overlay.ngo'" "true" \
    "cp '$out/good.ngo' '$odir/overlay.ngo'"
is "$hold_rc" 0 "(a) the process survives the compiled overlay truncated under it"
is "$(step 0)" "$want_rejected" "(a) before: the compiled overlay rejects the MITM chain"
is "$(step 1)" "$want_rejected" "(a) truncated in place: still rejected (last good version)"
is "$(step 2)" "$want_rejected" "(a) and on the next query too"
is "$(step 3)" "$want_rejected" "(a) the image copied back in place: served again"
n=$(grep -c '"event":"load_error".*truncated or extended\|"event":"load_error".*too small' "$out/a.log")
is "$n" 1 "(a) one load_error for the truncated file"
log_has "$out/a.log" '"serving":"previous version"'
ok $? "(a) load_error: serving the previous version"

# ---- (b) rewritten in place ----
odir=$out/b.d
mkdir -p "$odir"
cp "$out/good.ngo" "$odir/overlay.ngo"
size=$(wc -c <"$out/good.ngo")
head -c $((size / 2)) "$out/good.ngo" >"$out/half.ngo"
steps "$out/b.log" "cp '$pki/overlay.txt' '$odir/overlay.ngo'" "cp '$out/half.ngo' '$odir/overlay.ngo'" \
    "cp '$out/good.ngo' '$odir/overlay.ngo'"
is "$hold_rc" 0 "(b) the process survives the compiled overlay rewritten in place"
is "$(step 0)" "$want_rejected" "(b) before: rejected"
is "$(step 1)" "$want_rejected" "(b) a text file copied over the image: still rejected"
is "$(step 2)" "$want_rejected" "(b) half an image copied over it: still rejected"
is "$(step 3)" "$want_rejected" "(b) the whole image copied back: rejected"
n=$(grep -c '"event":"load_error"' "$out/b.log")
is "$n" 2 "(b) a load_error for each broken rewrite"

# ---- (c) a stale image behind the same size and mtime ----
# old.txt distrusts only the isonly sub-CA, padded with a comment to the
# size of overlay.txt (which distrusts the MITM sub-CA too).
"$t" add --issuer-serial --reason revoked --ref https://example.test/isonly --label "nssguard Issuer-Serial sub-CA" \
    "$pki/isonly-ca.der" >"$out/old.txt"
pad=$(($(wc -c <"$pki/overlay.txt") - $(wc -c <"$out/old.txt") - 2))
{
    printf '#'
    head -c "$pad" /dev/zero | tr '\0' x
    echo
} >>"$out/old.txt"
is "$(wc -c <"$out/old.txt")" "$(wc -c <"$pki/overlay.txt")" "(c) the two texts have one size"
odir=$out/c.d
mkdir -p "$odir"
cp "$out/old.txt" "$odir/overlay.txt"
touch -d '2026-01-02 03:04:05' "$odir/overlay.txt"
"$t" compile "$odir/overlay.txt" >/dev/null
ok $? "(c) overlay.ngo compiled from the old text"
cat "$pki/overlay.txt" >"$odir/overlay.txt"
touch -d '2026-01-02 03:04:05' "$odir/overlay.txt"
steps "$out/c.log"
is "$(step 0)" "$want_rejected" "(c) new process: the new text wins over the stale image of the same size and mtime"
log_has "$out/c.log" '"event":"stale_compiled"'
ok $? "(c) new process: a stale_compiled event"

# the same under a running process: old text first, swapped while it runs
cp "$out/old.txt" "$odir/overlay.txt"
touch -d '2026-01-02 03:04:05' "$odir/overlay.txt"
"$t" compile "$odir/overlay.txt" >/dev/null
steps "$out/c2.log" "cat '$pki/overlay.txt' >'$odir/overlay.txt' && touch -d '2026-01-02 03:04:05' '$odir/overlay.txt'"
is "$(step 0)" "mitm=0 good=0" "(c) running: the image of the old text serves (MITM not distrusted by it)"
is "$(step 1)" "$want_rejected" "(c) running: the text swapped in place, same size and mtime: rejected"
log_has "$out/c2.log" '"event":"stale_compiled"'
ok $? "(c) running: a stale_compiled event"

# ---- (d) the key hash of schema.h, through compile and NSS ----
if command -v openssl >/dev/null 2>&1; then
    key=$(openssl x509 -inform DER -in "$pki/mitm-ca.der" -noout -pubkey |
        openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
    octal=$(echo "$key" | sed 's/\(..\)/\1 /g' | { read -r bytes; for b in $bytes; do printf '\\%03o' "0x$b"; done; })
    odir=$out/d.d
    mkdir -p "$odir"
    o=$octal awk '{ print } /^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST/ && !done {
        print "CKA_NSSGUARD_SPKI_SHA256 MULTILINE_OCTAL"; print ENVIRON["o"]; print "END"; done = 1 }' \
        "$pki/overlay.txt" >"$odir/overlay.txt"
    want=$(echo "$key" | sed 's/\(..\)/\1:/g; s/:$//')
    got=$("$t" list "$odir/overlay.txt" | sed -n 's/^  spki_sha256: *//p')
    is "$got" "$want" "(d) nssguard list shows the entry's key hash (text)"
    "$t" compile "$odir/overlay.txt" >/dev/null && mv "$odir/overlay.txt" "$odir/overlay.txt.orig"
    got=$("$t" list "$odir/overlay.ngo" | sed -n 's/^  spki_sha256: *//p')
    is "$got" "$want" "(d) ... and from the compiled image"
    steps "$out/d.log"
    is "$(step 0)" "$want_rejected" "(d) the module serves the entry as before: MITM rejected"
    # a hash that is not the certificate's key: the file is refused
    sed '/^CKA_NSSGUARD_SPKI_SHA256/{n;s/^\\[0-7][0-7][0-7]/\\000/;}' "$odir/overlay.txt.orig" \
        >"$out/badkey.txt"
    "$t" list "$out/badkey.txt" >"$out/badkey.out" 2>&1
    grep -q "CKA_NSSGUARD_SPKI_SHA256 does not match the certificate's SubjectPublicKeyInfo" \
        "$out/badkey.out"
    ok $? "(d) a key hash that is not the certificate's: refused, with the reason"
else
    diag "openssl not installed: no key hash test"
fi

done_testing

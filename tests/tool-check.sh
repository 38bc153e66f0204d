#!/bin/sh
# tool-check.sh: `nssguard check` on a clean overlay and on files broken in
# one way each: exact findings, exit status 0 / 1 / 2.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

e2e_setup tool-check
t=$NSSGUARD_TOOL
ov=$pki/overlay.txt

got=$("$t" check "$ov")
is "$?:$got" "0:1 file, 2 entries, 0 findings, 0 unreadable" "clean overlay: exit 0"

got=$("$t" check --json "$ov")
is "$?:$got" '0:{"files":1,"entries":2,"errors":[],"findings":[]}' "clean overlay: --json"

# The shipped default overlay: 29 entries (NSS 3.28's 28 and Bogus kuix.de),
# 20 of them with their certificate.
# check asks the module's own object layer (ng_objects_find) what it would
# serve NSS for each entry in every mode: a certificate hash on a trust object
# (CKA_CERT_SHA1_HASH, CKA_HASH_OF_CERTIFICATE) would be a hash-served finding,
# since NSS drops a record whose hash a re-encoded copy does not match.
got=$("$t" check "$top_srcdir/certdata/nssguard-default.txt")
is "$?:$got" "0:1 file, 29 entries, 0 findings, 0 unreadable" \
    "the shipped default overlay: 29 entries, no finding (no hash served)"

# Line numbers of the records in the overlay `add` wrote.
trust1=$(grep -n '^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST' "$ov" | sed -n 1p | cut -d: -f1)
trust2=$(grep -n '^CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST' "$ov" | sed -n 2p | cut -d: -f1)

# positive trust on the issuer+serial record
sed "$trust2,\$ s/^CKA_TRUST_SERVER_AUTH .*/CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_TRUSTED_DELEGATOR/" \
    "$ov" >"$out/positive.txt"
line=$(grep -n TRUSTED_DELEGATOR "$out/positive.txt" | cut -d: -f1)
got=$("$t" check "$out/positive.txt")
is "$?:$got" "1:$out/positive.txt:$line: positive-trust: CKA_TRUST_SERVER_AUTH is CKT_NSS_TRUSTED_DELEGATOR: an overlay must never grant trust (the module skips this record)
1 file, 1 entry, 1 finding, 0 unreadable" "positive trust is flagged"

sed "$trust2,\$ s/^CKA_TRUST_CLIENT_AUTH .*/CKA_TRUST_CLIENT_AUTH CK_TRUST CKT_NSS_TRUST_UNKNOWN/" \
    "$ov" >"$out/unknown.txt"
line=$(grep -n TRUST_UNKNOWN "$out/unknown.txt" | cut -d: -f1)
got=$("$t" check "$out/unknown.txt")
is "$?:$got" "1:$out/unknown.txt:$line: unknown-trust: CKA_TRUST_CLIENT_AUTH is CKT_NSS_TRUST_UNKNOWN: not neutral in NSS, it can overwrite a user's trust; write CKT_NSS_NOT_TRUSTED or leave the purpose out
1 file, 2 entries, 1 finding, 0 unreadable" "UNKNOWN trust is flagged"

grep -v '^CKA_NSSGUARD_REASON\|^CKA_NSSGUARD_REFERENCE' "$ov" >"$out/noreason.txt"
got=$("$t" check "$out/noreason.txt")
is "$?:$got" "1:$out/noreason.txt:$trust1: no-reason: distrust record without CKA_NSSGUARD_REASON
$out/noreason.txt:$trust1: no-reference: distrust record without CKA_NSSGUARD_REFERENCE (or a \"Bug N\" comment)
$out/noreason.txt:$((trust2 - 2)): no-reason: distrust record without CKA_NSSGUARD_REASON
$out/noreason.txt:$((trust2 - 2)): no-reference: distrust record without CKA_NSSGUARD_REFERENCE (or a \"Bug N\" comment)
1 file, 2 entries, 4 findings, 0 unreadable" "missing reason and reference are flagged"

# the first octal line of the MITM record's SHA-1 changed
hashline=$(grep -n '^CKA_CERT_SHA1_HASH' "$ov" | cut -d: -f1)
sed "$((hashline + 1))s/^\\\\[0-7]*/\\\\000/" "$ov" >"$out/hash.txt"
certline=$(grep -n '^CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE' "$ov" | cut -d: -f1)
got=$("$t" check "$out/hash.txt")
is "$?:$got" "1:$out/hash.txt:$hashline: hash-mismatch: CKA_CERT_SHA1_HASH is not the SHA-1 of the certificate at line $certline: the module refuses this file (nothing in it is served)
1 file, 0 entries, 1 finding, 0 unreadable" "a wrong hash is flagged (and the module refuses the file)"

# the same records twice: duplicates; with another reason: a conflict
cp "$ov" "$out/again.txt"
sed 's/^CKA_NSSGUARD_REASON UTF8 "revoked"/CKA_NSSGUARD_REASON UTF8 "compromised"/' "$ov" >"$out/conflict.txt"
got=$("$t" check "$ov" "$out/again.txt" "$out/conflict.txt")
is "$?:$got" "1:$out/again.txt:$trust1: duplicate: same issuer and serial as $ov:$trust1
$out/again.txt:$trust2: duplicate: same issuer and serial as $ov:$trust2
$out/conflict.txt:$trust1: duplicate: same issuer and serial as $ov:$trust1
$out/conflict.txt:$trust2: conflict: reason 'compromised' but $ov:$trust2 gives 'revoked' for the same issuer and serial
3 files, 6 entries, 4 findings, 0 unreadable" "duplicates and conflicts across files"

printf 'CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nCKA_BOGUS UTF8 "x"\n' >"$out/garbage.txt"
got=$("$t" check "$ov" "$out/garbage.txt")
is "$?:$got" "2:$out/garbage.txt:2: error: unknown attribute 'CKA_BOGUS'
2 files, 2 entries, 0 findings, 1 unreadable" "an unparsable file: exit 2, file:line"

"$t" check "$out/missing.txt" >/dev/null 2>&1
is "$?" 2 "a missing file: exit 2"

mkdir -p "$out/dir"
cp "$ov" "$out/dir/a.txt"
cp "$out/positive.txt" "$out/dir/b.txt"
cp "$out/garbage.txt" "$out/dir/.hidden.txt"
cp "$out/garbage.txt" "$out/dir/c.conf"
got=$("$t" check "$out/dir" | tail -1)
is "$got" "2 files, 3 entries, 3 findings, 0 unreadable" "a directory: its *.txt files, as the module reads it"

done_testing

#!/bin/sh
# p11kit-gnutls.sh: GnuTLS, with a "pkcs11:" trust list made of p11-kit's
# trust module (the test root as anchor) and libnssguard.so in p11-kit mode,
# accepts the good chain and rejects the MITM chain, and also the MITM
# chains whose sub-CA is a re-encoded copy (tests/nssguard-reencode: ECDSA
# (r, s) -> (r, n - s), and the RSA sub-CA of pki.sh's rsa/ without the NULL
# parameters of its outer signatureAlgorithm), which GnuTLS takes without
# the module. tests/test-gnutls prints the TAP.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

prog="$top_builddir/tests/test-gnutls"
[ -x "$prog" ] || skip_all "tests/test-gnutls is not built (Debian: libgnutls28-dev)"
trust_so=${P11_KIT_MODULE_PATH:-/nonexistent}/p11-kit-trust.so
[ -f "$trust_so" ] || skip_all "no $trust_so (Debian: p11-kit-modules)"
require_tool openssl
reenc=$top_builddir/tests/nssguard-reencode
[ -x "$reenc" ] || skip_all "tests/nssguard-reencode is not built (make check builds it)"
e2e_setup p11kit-gnutls

# p11-kit's trust module reads anchors with their trust from OpenSSL's
# "TRUSTED CERTIFICATE" form.
mkdir -p "$out/anchors"
for r in root rsa/rsa-root; do
    if ! openssl x509 -in "$pki/$r.pem" -addtrust serverAuth -trustout \
        -out "$out/anchors/${r#rsa/}.pem" 2>>"$out/openssl.log"; then
        echo "Bail out! openssl could not write the anchor $r"
        exit 1
    fi
done
# The chains with the re-encoded copies, beside pki.sh's chains.
{
    "$reenc" ecdsa-s "$pki/mitm-ca.der" "$pki/mitmre-ca.der" &&
        "$reenc" rsa-params "$pki/rsa/rsamitm-ca.der" "$pki/rsamitmre-ca.der" &&
        openssl x509 -inform der -in "$pki/mitmre-ca.der" -out "$pki/mitmre-ca.pem" &&
        openssl x509 -inform der -in "$pki/rsamitmre-ca.der" -out "$pki/rsamitmre-ca.pem" &&
        cat "$pki/mitm-leaf.pem" "$pki/mitmre-ca.pem" >"$pki/mitmre-chain.pem" &&
        cp "$pki/rsa/rsamitm-chain.pem" "$pki/rsa/rsa-root.pem" "$pki/" &&
        cat "$pki/rsa/rsamitm-leaf.pem" "$pki/rsamitmre-ca.pem" >"$pki/rsamitmre-chain.pem"
} >"$out/reencode.log" 2>&1 || {
    sed 's/^/# /' "$out/reencode.log"
    echo "Bail out! could not make the re-encoded chains"
    exit 1
}
# openssl must not have normalised the copies back to the original bytes.
for c in mitmre rsamitmre; do
    if ! openssl x509 -in "$pki/$c-ca.pem" -outform der | cmp -s - "$pki/$c-ca.der"; then
        echo "Bail out! $c-ca.pem does not hold the bytes of $c-ca.der"
        exit 1
    fi
done
log=$out/nssguard.log
# rsa/overlay.txt: overlay.txt and an entry for rsamitm-ca.
"$prog" "$trust_so" "$NSSGUARD_MODULE" "$out/anchors" "$pki/rsa/overlay.txt" "$log" "$pki"
rc=$?
if [ "$rc" -ne 0 ] && [ -f "$log" ]; then
    sed 's/^/# log: /' "$log"
fi
exit $rc

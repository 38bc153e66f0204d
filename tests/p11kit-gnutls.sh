#!/bin/sh
# p11kit-gnutls.sh: GnuTLS, with a "pkcs11:" trust list made of p11-kit's
# trust module (the test root as anchor) and libnssguard.so in p11-kit mode,
# rejects the MITM chain and accepts the good one. tests/test-gnutls prints
# the TAP.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"

prog="$top_builddir/tests/test-gnutls"
[ -x "$prog" ] || skip_all "tests/test-gnutls is not built (Debian: libgnutls28-dev)"
trust_so=${P11_KIT_MODULE_PATH:-/nonexistent}/p11-kit-trust.so
[ -f "$trust_so" ] || skip_all "no $trust_so (Debian: p11-kit-modules)"
require_tool openssl
e2e_setup p11kit-gnutls

# p11-kit's trust module reads anchors with their trust from OpenSSL's
# "TRUSTED CERTIFICATE" form.
mkdir -p "$out/anchors"
if ! openssl x509 -in "$pki/root.pem" -addtrust serverAuth -trustout \
    -out "$out/anchors/root.pem" 2>"$out/openssl.log"; then
    echo "Bail out! openssl could not write the anchor"
    exit 1
fi
log=$out/nssguard.log
"$prog" "$trust_so" "$NSSGUARD_MODULE" "$out/anchors" "$pki/overlay.txt" "$log" "$pki"
rc=$?
if [ "$rc" -ne 0 ] && [ -f "$log" ]; then
    sed 's/^/# log: /' "$log"
fi
exit $rc

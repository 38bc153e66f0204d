/*
 * test-gnutls: GnuTLS verifies the test PKI's chains against a "pkcs11:"
 * trust list, as GnuTLS applications that use the system trust do, with
 * two trust-policy modules: p11-kit's trust module holding the test root as
 * an anchor, and libnssguard.so in p11-kit mode. GnuTLS looks for
 * {CKO_CERTIFICATE, CKA_X_DISTRUSTED, issuer, serial} in every trusted
 * module whose library manufacturer is "PKCS#11 Kit" (lib/pkcs11.c,
 * find_cert_cb) and rejects a chain with a hit as REVOKED.
 *
 * The modules are added by hand (GNUTLS_PKCS11_FLAG_MANUAL) with their
 * parameters after "p11-kit:": Debian 12's GnuTLS initialises the modules
 * of p11-kit's configuration with arguments of its own, which drops their
 * x-init-reserved, and p11-kit's trust module would then read the system
 * store instead of the test root.
 *
 * A MITM operator can send a re-encoded copy of the distrusted sub-CA
 * (tests/nssguard-reencode: the ECDSA signature (r, s) as (r, n - s), or an
 * RSA signature's outer algorithm without its NULL parameters): the same
 * issuer and serial, other DER. The chains "mitmre" and "rsamitmre" carry
 * such copies; GnuTLS with the test root from a file (no module) accepts
 * them, which shows that it takes the copy. GnuTLS 3.7.9's distrust query
 * is {CKA_CLASS, CKA_X_DISTRUSTED, CKA_SERIAL_NUMBER, CKA_ISSUER} (then
 * {CKA_CLASS, CKA_X_DISTRUSTED, CKA_SUBJECT}) and it reads no attribute of
 * the object it finds (seen with a breakpoint on the module's calls): the
 * DER is never compared, so the copies are rejected like the original.
 *
 * usage: test-gnutls P11_KIT_TRUST_SO NSSGUARD_SO ANCHORS_DIR OVERLAY LOG PKIDIR
 *
 * PKIDIR holds CHAIN-chain.pem (leaf, then sub-CA) for the chains good,
 * mitm, isonly, mitmre, rsamitm and rsamitmre, and root.pem and
 * rsa-root.pem, the roots as plain PEM files.
 */
#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>

#include "gnutls-verify.h"
#include "tap.h"

/* Verifies PKIDIR/CHAIN-chain.pem against the trust list CAS: "pkcs11:" or
 * a PEM file of trusted roots. Returns GnuTLS's status bits. */
static unsigned
verify_with(const char *cas, const char *pkidir, const char *chain, int *rv)
{
    gnutls_x509_trust_list_t tl = NULL;
    unsigned status = (unsigned)-1;

    *rv = gnutls_x509_trust_list_init(&tl, 0);
    if (*rv >= 0)
        *rv = gnutls_x509_trust_list_add_trust_file(tl, cas, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
    if (*rv >= 0)
        status = verify_chain(tl, pkidir, chain, rv);
    if (tl)
        gnutls_x509_trust_list_deinit(tl, 1);
    return status;
}

static unsigned
verify(const char *pkidir, const char *chain, int *rv)
{
    return verify_with("pkcs11:", pkidir, chain, rv);
}

/* One test: CHAIN verifies with the root in PKIDIR/ROOT.pem, no module. */
static void
accepted_without_module(const char *pkidir, const char *root, const char *chain, const char *what)
{
    char cas[1024];
    int rv;
    unsigned status;

    snprintf(cas, sizeof(cas), "%s/%s.pem", pkidir, root);
    status = verify_with(cas, pkidir, chain, &rv);
    if (!tap_ok(rv == 0 && status == 0, what))
        printf("#   rv %d, status 0x%x\n", rv, status);
}

/* One test: CHAIN is rejected through the pkcs11: trust list as REVOKED. */
static void
rejected_as_revoked(const char *pkidir, const char *chain, const char *what)
{
    int rv;
    unsigned status = verify(pkidir, chain, &rv);

    tap_ok(rv == 0 && (status & GNUTLS_CERT_INVALID) && (status & GNUTLS_CERT_REVOKED), what);
    printf("#   rv %d, status 0x%x\n", rv, status);
}

int
main(int argc, char **argv)
{
    char params[4096];
    int rv;
    unsigned status;

    if (argc != 7) {
        fprintf(stderr, "usage: %s P11_KIT_TRUST_SO NSSGUARD_SO ANCHORS OVERLAY LOG PKIDIR\n",
                argv[0]);
        return 99;
    }
    gnutls_global_init();
    tap_is_ulong((unsigned long)gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL), 0,
                 "gnutls_pkcs11_init, manual");
    snprintf(params, sizeof(params), "trusted p11-kit:paths=%s", argv[3]);
    tap_is_ulong((unsigned long)gnutls_pkcs11_add_provider(argv[1], params), 0,
                 "p11-kit's trust module with the test root as anchor");
    snprintf(params, sizeof(params), "trusted p11-kit:overlay=%s log=file:%s mode=p11-kit", argv[4],
             argv[5]);
    tap_is_ulong((unsigned long)gnutls_pkcs11_add_provider(argv[2], params), 0,
                 "libnssguard.so in p11-kit mode, as a trust-policy module");

    status = verify(argv[6], "good", &rv);
    tap_ok(rv == 0 && status == 0, "GnuTLS accepts the good chain");
    if (status)
        printf("#   rv %d, status 0x%x\n", rv, status);
    status = verify(argv[6], "mitm", &rv);
    tap_ok(rv == 0 && (status & GNUTLS_CERT_INVALID) && (status & GNUTLS_CERT_REVOKED),
           "GnuTLS rejects the MITM chain: the sub-CA is distrusted (REVOKED)");
    printf("#   rv %d, status 0x%x\n", rv, status);
    /* GnuTLS's query is by issuer and serial: a certificate object without
     * CKA_VALUE carries an issuer+serial-only entry to it. */
    status = verify(argv[6], "isonly", &rv);
    tap_ok(rv == 0 && (status & GNUTLS_CERT_REVOKED),
           "GnuTLS rejects the chain of the issuer+serial-only entry too");

    /* The re-encoded copies, first with the root from a file, no module. */
    accepted_without_module(argv[6], "root", "mitmre",
                            "without the module, GnuTLS accepts the MITM chain whose sub-CA's "
                            "ECDSA signature is re-encoded");
    accepted_without_module(argv[6], "rsa-root", "rsamitmre",
                            "without the module, GnuTLS accepts the RSA MITM chain whose sub-CA "
                            "lost the NULL parameters of its outer signatureAlgorithm");
    rejected_as_revoked(argv[6], "rsamitm", "GnuTLS rejects the RSA MITM chain (REVOKED)");
    rejected_as_revoked(argv[6], "mitmre",
                        "GnuTLS rejects the MITM chain with the re-encoded sub-CA (REVOKED)");
    rejected_as_revoked(argv[6], "rsamitmre",
                        "GnuTLS rejects the RSA MITM chain with the re-encoded sub-CA (REVOKED)");
    gnutls_global_deinit();
    return tap_done();
}

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
 * usage: test-gnutls P11_KIT_TRUST_SO NSSGUARD_SO ANCHORS_DIR OVERLAY LOG PKIDIR
 */
#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>

#include "tap.h"

static unsigned
verify(const char *pkidir, const char *chain, int *rv)
{
    gnutls_x509_trust_list_t tl = NULL;
    gnutls_x509_crt_t *crts = NULL;
    gnutls_datum_t pem = {NULL, 0};
    unsigned n = 0, status = (unsigned)-1;
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s-chain.pem", pkidir, chain);
    *rv = gnutls_x509_trust_list_init(&tl, 0);
    if (*rv >= 0)
        *rv = gnutls_x509_trust_list_add_trust_file(tl, "pkcs11:", NULL, GNUTLS_X509_FMT_PEM, 0, 0);
    if (*rv >= 0)
        *rv = gnutls_load_file(path, &pem);
    if (*rv >= 0)
        *rv = gnutls_x509_crt_list_import2(&crts, &n, &pem, GNUTLS_X509_FMT_PEM, 0);
    if (*rv >= 0)
        *rv = gnutls_x509_trust_list_verify_crt(tl, crts, n, 0, &status, NULL);
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    gnutls_free(pem.data);
    if (tl)
        gnutls_x509_trust_list_deinit(tl, 1);
    return status;
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
    gnutls_global_deinit();
    return tap_done();
}

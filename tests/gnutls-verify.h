/*
 * gnutls-verify.h: the GnuTLS tests' one verification, the test PKI's chain
 * PKIDIR/CHAIN-chain.pem against a trust list, as a GnuTLS application
 * does (gnutls_x509_trust_list_verify_crt). Header only, like tap.h.
 */
#ifndef NSSGUARD_TESTS_GNUTLS_VERIFY_H
#define NSSGUARD_TESTS_GNUTLS_VERIFY_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>

/* Verifies PKIDIR/CHAIN-chain.pem against TL. Returns GnuTLS's status bits
 * ((unsigned)-1 when it could not verify) and sets *rv. */
static inline unsigned
verify_chain(gnutls_x509_trust_list_t tl, const char *pkidir, const char *chain, int *rv)
{
    gnutls_x509_crt_t *crts = NULL;
    gnutls_datum_t pem = {NULL, 0};
    unsigned n = 0, status = (unsigned)-1;
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s-chain.pem", pkidir, chain);
    *rv = gnutls_load_file(path, &pem);
    if (*rv >= 0)
        *rv = gnutls_x509_crt_list_import2(&crts, &n, &pem, GNUTLS_X509_FMT_PEM, 0);
    if (*rv >= 0)
        *rv = gnutls_x509_trust_list_verify_crt(tl, crts, n, 0, &status, NULL);
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    gnutls_free(pem.data);
    return status;
}

#endif

/*
 * test-gnutls-system: what "the system trust" means to Debian 12's GnuTLS
 * when libnssguard.so is configured for p11-kit as an administrator would
 * configure it: a module file in p11-kit's configuration (the test's user
 * configuration) and `mode = p11-kit` in the nssguard.conf that
 * NSSGUARD_CONFIG names (GnuTLS drops x-init-reserved, see test-gnutls.c).
 * GnuTLS's PKCS#11 subsystem is initialised as applications get it, from
 * p11-kit's configuration (no GNUTLS_PKCS11_FLAG_MANUAL).
 *
 * gnutls_certificate_set_x509_system_trust adds GnuTLS's compiled-in
 * default trust store. Debian builds GnuTLS with
 * --with-default-trust-store-file=/etc/ssl/certs/ca-certificates.crt: the
 * system trust is that file, no "pkcs11:" URL is in the trust list, and
 * GnuTLS never asks a PKCS#11 module whether a certificate is distrusted.
 * Distributions that build with --with-default-trust-store-pkcs11="pkcs11:"
 * (Fedora, RHEL) get a "pkcs11:" trust list instead, which the second half
 * stands in for.
 *
 * The test root cannot be put into the system store (the test changes
 * nothing on the machine). So: (1) the system trust plus the test root
 * from a file, where the MITM chain has an anchor and only the module's
 * distrust could refuse it, and the module is never even loaded; (2) a
 * "pkcs11:" list alone, where the MITM chain is REVOKED (distrust is
 * checked though the chain has no anchor) and the good chain only
 * unknown; (3) that list plus the test root from a file, where GnuTLS
 * finds the anchor in the file and asks no module (accepted).
 *
 * usage: test-gnutls-system PKIDIR LOG NCERTS
 *
 * PKIDIR holds root.pem and CHAIN-chain.pem for good and mitm; LOG is the
 * module's event file (from nssguard.conf); NCERTS the number of
 * certificates in /etc/ssl/certs/ca-certificates.crt.
 */
#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnutls-verify.h"
#include "tap.h"

/* Whether the file LOG holds a line with both NEEDLE1 and NEEDLE2. */
static int
log_has(const char *log, const char *needle1, const char *needle2)
{
    char line[4096];
    FILE *f = fopen(log, "r");
    int found = 0;

    if (!f)
        return 0;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle1) && strstr(line, needle2);
    fclose(f);
    return found;
}

int
main(int argc, char **argv)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_x509_trust_list_t tl = NULL, p11 = NULL;
    char root[1024];
    unsigned status;
    int rv, n;

    if (argc != 4) {
        fprintf(stderr, "usage: %s PKIDIR LOG NCERTS\n", argv[0]);
        return 99;
    }
    snprintf(root, sizeof(root), "%s/root.pem", argv[1]);
    gnutls_global_init();

    /* 1. The system trust, as an application sets it. */
    gnutls_certificate_allocate_credentials(&cred);
    n = gnutls_certificate_set_x509_system_trust(cred);
    if (!tap_ok(n == atoi(argv[3]),
                "gnutls_certificate_set_x509_system_trust reads the CA file: as many "
                "certificates as /etc/ssl/certs/ca-certificates.crt holds"))
        printf("#   got %d, the file holds %s\n", n, argv[3]);
    gnutls_certificate_get_trust_list(cred, &tl);
    rv = gnutls_x509_trust_list_add_trust_file(tl, root, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
    tap_ok(rv == 1, "the test root added beside the system trust, from a file");
    status = verify_chain(tl, argv[1], "good", &rv);
    if (!tap_ok(rv == 0 && status == 0, "system trust: GnuTLS accepts the good chain"))
        printf("#   rv %d, status 0x%x\n", rv, status);
    status = verify_chain(tl, argv[1], "mitm", &rv);
    if (!tap_ok(rv == 0 && status == 0,
                "system trust (Debian's: a file): GnuTLS ACCEPTS the MITM chain, the "
                "module's distrust is not consulted"))
        printf("#   rv %d, status 0x%x\n", rv, status);
    tap_ok(!log_has(argv[2], "\"event\":\"load\"", ""),
           "... and GnuTLS never loaded the module (no load event)");
    gnutls_certificate_free_credentials(cred);

    /* 2. A "pkcs11:" trust list: the system trust where GnuTLS is built
     * with --with-default-trust-store-pkcs11="pkcs11:". Its anchors are
     * p11-kit's trust module's, which reads the same system store here. */
    gnutls_x509_trust_list_init(&p11, 0);
    rv = gnutls_x509_trust_list_add_trust_file(p11, "pkcs11:", NULL, GNUTLS_X509_FMT_PEM, 0, 0);
    tap_ok(rv > 0, "a \"pkcs11:\" trust list from p11-kit's configuration: p11-kit's trust "
                   "module serves the system anchors");
    printf("#   %d anchors (the CA file holds %s)\n", rv, argv[3]);
    status = verify_chain(p11, argv[1], "mitm", &rv);
    tap_ok(rv == 0 && (status & GNUTLS_CERT_INVALID) && (status & GNUTLS_CERT_REVOKED),
           "pkcs11: trust list: GnuTLS rejects the MITM chain as REVOKED (the module's "
           "distrust, through p11-kit's configuration and nssguard.conf)");
    printf("#   rv %d, status 0x%x\n", rv, status);
    tap_ok(log_has(argv[2], "\"event\":\"distrust\"", "nssguard MITM sub-CA"),
           "... with a distrust event");
    status = verify_chain(p11, argv[1], "good", &rv);
    tap_ok(rv == 0 && (status & GNUTLS_CERT_SIGNER_NOT_FOUND) && !(status & GNUTLS_CERT_REVOKED),
           "pkcs11: trust list: the good chain is not revoked, only unknown (the test root is "
           "not a system anchor)");
    printf("#   rv %d, status 0x%x\n", rv, status);

    /* 3. The same list with the test root added from a file: the chain
     * ends at an anchor from the file, and GnuTLS 3.7.9 then asks no
     * module about the chain (a hazard, asserted so that a change shows). */
    gnutls_x509_trust_list_add_trust_file(p11, root, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
    status = verify_chain(p11, argv[1], "mitm", &rv);
    if (!tap_ok(rv == 0 && status == 0,
                "pkcs11: trust list plus the test root from a file: GnuTLS ACCEPTS the MITM "
                "chain (an anchor from a file skips the PKCS#11 distrust check)"))
        printf("#   rv %d, status 0x%x\n", rv, status);
    gnutls_x509_trust_list_deinit(p11, 1);
    gnutls_global_deinit();
    return tap_done();
}

/*
 * image-hold: one long-lived NSS process that holds the module (and so its
 * overlay) while a shell command changes the overlay's files under it.
 *
 *   nssguard-image-hold DBDIR PKIDIR PARAMS [COMMAND...]
 *
 * DBDIR is an NSS database that trusts the test root (tests/e2e-lib.sh's
 * client_db); PKIDIR is what tests/pki.sh made; PARAMS the module's
 * parameter string. The module comes from $NSSGUARD_MODULE. The program
 * verifies the mitm and good chains with CERT_VerifyCertificate once, then
 * once after each COMMAND (run with system(3)), and prints one line each:
 *
 *   step N: mitm=CODE good=CODE
 *
 * CODE is 0 when the chain verifies, else NSS's error (-8172 is
 * SEC_ERROR_UNTRUSTED_ISSUER). A module that dies on a changed file kills
 * this process (SIGBUS): the lines stop and the exit status says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cert.h>
#include <certdb.h>
#include <nss.h>
#include <prerror.h>
#include <secmod.h>

#include "der-file.h"

static SECItem
read_file(const char *dir, const char *name)
{
    der_file f;

    if (!der_file_read(&f, dir, name)) {
        fprintf(stderr, "cannot read %s\n", f.path);
        exit(2);
    }
    return f.item;
}

/* 0 when the chain's leaf verifies for a TLS server, else NSS's error. */
static int
verify(SECItem *ca_der, SECItem *leaf_der)
{
    CERTCertDBHandle *db = CERT_GetDefaultCertDB();
    CERTCertificate *ca = CERT_NewTempCertificate(db, ca_der, NULL, PR_FALSE, PR_TRUE);
    CERTCertificate *leaf = CERT_NewTempCertificate(db, leaf_der, NULL, PR_FALSE, PR_TRUE);
    SECCertificateUsage usages = 0;
    int rv = -1;

    PORT_SetError(0);
    if (ca && leaf)
        rv = CERT_VerifyCertificate(db, leaf, PR_TRUE, certificateUsageSSLServer, PR_Now(), NULL,
                                    NULL, &usages) == SECSuccess
                 ? 0
                 : PORT_GetError();
    if (leaf)
        CERT_DestroyCertificate(leaf);
    if (ca)
        CERT_DestroyCertificate(ca);
    return rv;
}

int
main(int argc, char **argv)
{
    const char *module = getenv("NSSGUARD_MODULE");
    char spec[8192], db[4096];
    SECItem mitm_ca, mitm_leaf, good_ca, good_leaf;
    SECMODModule *mod;

    if (argc < 4 || !module) {
        fprintf(stderr, "usage: NSSGUARD_MODULE=SO %s DBDIR PKIDIR PARAMS [COMMAND...]\n", argv[0]);
        return 2;
    }
    mitm_ca = read_file(argv[2], "mitm-ca.der");
    mitm_leaf = read_file(argv[2], "mitm-leaf.der");
    good_ca = read_file(argv[2], "good-ca.der");
    good_leaf = read_file(argv[2], "good-leaf.der");
    snprintf(db, sizeof(db), "sql:%s", argv[1]);
    if (NSS_Initialize(db, "", "", "", NSS_INIT_NOROOTINIT | NSS_INIT_READONLY) != SECSuccess) {
        fprintf(stderr, "NSS_Initialize: %s\n", PR_ErrorToName(PORT_GetError()));
        return 2;
    }
    snprintf(spec, sizeof(spec), "library=\"%s\" name=\"nssguard\" parameters=\"%s\"", module,
             argv[3]);
    mod = SECMOD_LoadUserModule(spec, NULL, PR_FALSE);
    if (!mod || !mod->loaded) {
        fprintf(stderr, "SECMOD_LoadUserModule: %s\n", PR_ErrorToName(PORT_GetError()));
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (i > 3 && system(argv[i]) != 0)
            printf("step %d: command failed: %s\n", i - 3, argv[i]);
        printf("step %d: mitm=%d good=%d\n", i - 3, verify(&mitm_ca, &mitm_leaf),
               verify(&good_ca, &good_leaf));
        fflush(stdout);
    }
    SECMOD_UnloadUserModule(mod);
    SECMOD_DestroyModule(mod);
    NSS_Shutdown();
    return 0;
}

/*
 * nssguard-bench-verify: the end-to-end cost of a trust module in NSS.
 *
 *   nssguard-bench-verify -d DBDIR -k PKIDIR [-m MODULE.so -P PARAMS] [-i ITERATIONS]
 *
 * PKIDIR is what tests/pki.sh made. DBDIR is emptied and becomes an NSS
 * database (NSS_INIT_NOROOTINIT: no builtins) that trusts the test root
 * ("C,,"). With -m the module is loaded (SECMOD_LoadUserModule, parameters
 * PARAMS). Then, ITERATIONS times, as a TLS client does for each handshake:
 * the good chain's leaf and sub-CA become temporary certificates,
 * CERT_VerifyCertificate checks the leaf for TLS server use, and the
 * certificates are released. Each iteration is timed on its own.
 *
 * Sanity checks, which end the run with status 1 when they fail: the good
 * chain verifies every time; with the module loaded the MITM chain is
 * rejected with SEC_ERROR_UNTRUSTED_ISSUER (so PARAMS should include the
 * PKI's overlay.txt), without it the MITM chain verifies.
 *
 * Output: one line "verify_med_ns=... verify_mean_ns=... iterations=..."
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nss.h>
#include <cert.h>
#include <certdb.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secerr.h>
#include <secitem.h>
#include <secmod.h>

#include "../tests/der-file.h"
#include "clock.h"

static void die(const char *what, const char *detail) __attribute__((noreturn));

static void
die(const char *what, const char *detail)
{
    fprintf(stderr, "nssguard-bench-verify: FAILED: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    exit(1);
}

static const char *
nss_error(void)
{
    const char *name = PR_ErrorToName(PORT_GetError());

    return name ? name : "unknown NSS error";
}

static SECItem
read_der(const char *dir, const char *name)
{
    der_file f;

    if (!der_file_read(&f, dir, name))
        die(f.path, f.why);
    return f.item;
}

static void
open_db(const char *dbdir)
{
    static const char *const files[] = {"cert9.db", "key4.db", "pkcs11.txt"};
    char spec[4096];
    PK11SlotInfo *slot;
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(spec, sizeof(spec), "%s/%s", dbdir, files[i]);
        unlink(spec);
    }
    snprintf(spec, sizeof(spec), "sql:%s", dbdir);
    if (NSS_Initialize(spec, "", "", "", NSS_INIT_NOROOTINIT) != SECSuccess)
        die("NSS_Initialize", nss_error());
    slot = PK11_GetInternalKeySlot();
    if (slot && PK11_NeedUserInit(slot) && PK11_InitPin(slot, NULL, "") != SECSuccess)
        die("PK11_InitPin", nss_error());
    if (slot)
        PK11_FreeSlot(slot);
}

static void
trust_root(SECItem *der)
{
    CERTCertDBHandle *handle = CERT_GetDefaultCertDB();
    SECItem *ders[1] = {der};
    CERTCertificate **certs = NULL;
    CERTCertTrust trust;

    if (CERT_ImportCerts(handle, certUsageSSLCA, 1, ders, &certs, PR_TRUE, PR_FALSE,
                         "nssguard bench root") != SECSuccess ||
        !certs || !certs[0])
        die("CERT_ImportCerts", nss_error());
    CERT_DecodeTrustString(&trust, "C,,");
    if (CERT_ChangeCertTrust(handle, certs[0], &trust) != SECSuccess)
        die("CERT_ChangeCertTrust", nss_error());
    CERT_DestroyCertArray(certs, 1);
}

static SECMODModule *
load_module(const char *library, const char *params)
{
    char spec[8192];
    SECMODModule *mod;

    if (strchr(library, '"') || strchr(params, '"') || strchr(library, '\\') ||
        strchr(params, '\\'))
        die("quotes or backslashes in the module path or parameters", NULL);
    snprintf(spec, sizeof(spec), "library=\"%s\" name=\"bench-module\" parameters=\"%s\"", library,
             params);
    mod = SECMOD_LoadUserModule(spec, NULL, PR_FALSE);
    if (!mod || !mod->loaded)
        die("SECMOD_LoadUserModule", nss_error());
    return mod;
}

/* 0 when the chain (leaf, sub-CA) verifies for TLS server use, else the error. */
static int
verify_chain(SECItem *leaf_der, SECItem *ca_der)
{
    CERTCertDBHandle *handle = CERT_GetDefaultCertDB();
    CERTCertificate *ca, *leaf;
    SECCertificateUsage usages = 0;
    int err = 0;

    ca = CERT_NewTempCertificate(handle, ca_der, NULL, PR_FALSE, PR_TRUE);
    leaf = CERT_NewTempCertificate(handle, leaf_der, NULL, PR_FALSE, PR_TRUE);
    if (!ca || !leaf)
        die("CERT_NewTempCertificate", nss_error());
    PORT_SetError(0);
    if (CERT_VerifyCertificate(handle, leaf, PR_TRUE, certificateUsageSSLServer, PR_Now(), NULL,
                               NULL, &usages) != SECSuccess)
        err = PORT_GetError() ? PORT_GetError() : -1;
    CERT_DestroyCertificate(leaf);
    CERT_DestroyCertificate(ca);
    return err;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    const char *dbdir = NULL, *pkidir = NULL, *module = NULL, *params = "";
    unsigned long iterations = 2000, i;
    SECItem root, good_leaf, good_ca, mitm_leaf, mitm_ca;
    SECMODModule *mod = NULL;
    uint64_t *t, total = 0;
    int opt, err;

    while ((opt = getopt(argc, argv, "d:k:m:P:i:")) != -1) {
        switch (opt) {
        case 'd':
            dbdir = optarg;
            break;
        case 'k':
            pkidir = optarg;
            break;
        case 'm':
            module = optarg;
            break;
        case 'P':
            params = optarg;
            break;
        case 'i':
            iterations = strtoul(optarg, NULL, 0);
            break;
        default:
            dbdir = NULL;
            optind = argc + 1;
            break;
        }
    }
    if (!dbdir || !pkidir || optind != argc || iterations == 0) {
        fputs("usage: nssguard-bench-verify -d DBDIR -k PKIDIR [-m MODULE.so -P PARAMS]"
              " [-i ITERATIONS]\n",
              stderr);
        return 2;
    }
    root = read_der(pkidir, "root.der");
    good_leaf = read_der(pkidir, "good-leaf.der");
    good_ca = read_der(pkidir, "good-ca.der");
    mitm_leaf = read_der(pkidir, "mitm-leaf.der");
    mitm_ca = read_der(pkidir, "mitm-ca.der");
    t = calloc(iterations, sizeof(*t));
    if (!t)
        die("out of memory", NULL);

    open_db(dbdir);
    trust_root(&root);
    if (module)
        mod = load_module(module, params);

    err = verify_chain(&mitm_leaf, &mitm_ca);
    if (module && err != SEC_ERROR_UNTRUSTED_ISSUER)
        die("the MITM chain is not rejected with the module loaded",
            err ? PR_ErrorToName(err) : "it verified");
    if (!module && err != 0)
        die("the MITM chain does not verify without a module", PR_ErrorToName(err));
    /* One untimed round warms NSS's caches as a long-running client has them. */
    if ((err = verify_chain(&good_leaf, &good_ca)) != 0)
        die("the good chain does not verify", PR_ErrorToName(err));

    for (i = 0; i < iterations; i++) {
        uint64_t t0 = now_ns();

        err = verify_chain(&good_leaf, &good_ca);
        t[i] = now_ns() - t0;
        if (err != 0)
            die("the good chain does not verify", PR_ErrorToName(err));
        total += t[i];
    }
    qsort(t, iterations, sizeof(*t), cmp_u64);
    printf("verify_med_ns=%llu verify_mean_ns=%llu iterations=%lu\n",
           (unsigned long long)t[iterations / 2], (unsigned long long)(total / iterations),
           iterations);

    if (mod) {
        SECMOD_UnloadUserModule(mod);
        SECMOD_DestroyModule(mod);
    }
    if (NSS_Shutdown() != SECSuccess)
        fprintf(stderr, "nssguard-bench-verify: NSS_Shutdown: %s\n", nss_error());
    free(t);
    return 0;
}

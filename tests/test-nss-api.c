/*
 * test-nss-api: drives libnssguard.so through NSS's own API, prints TAP.
 *
 *   test-nss-api PKIDIR OUTDIR
 *
 * PKIDIR is what tests/pki.sh made (root.der, {mitm,good,isonly}-{ca,leaf}.der,
 * overlay.txt, rsa/) plus reencoded/{mitm,rsamitm}-ca.der, the copies that
 * tests/nss-api.sh makes with tests/nssguard-reencode; OUTDIR receives this
 * test's NSS databases and module log.
 * The environment gives NSSGUARD_MODULE (the module) and NSSGUARD_SHARED
 * (../shared/data, optional: the Mozilla part is skipped without it).
 *
 * Every database is opened with NSS_INIT_NOROOTINIT, so that no distrust can
 * come from the system's libnssckbi.so: only nssguard can reject a chain here.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* realpath */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <nss.h>
#include <cert.h>
#include <certdb.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secasn1.h>
#include <secerr.h>
#include <secitem.h>
#include <secmod.h>

#define MODULE_NAME "nssguard"
#define MOZ_MODULE_NAME "nssguard-mozilla"
#define MOZ_CERTDATA "mozilla/certdata-nss-3.28.txt"
#define MOZ_DISTRUSTED 28

static int tap_n;
static int tap_failed;

static void ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
ok(int cond, const char *fmt, ...)
{
    va_list ap;

    tap_n++;
    if (!cond)
        tap_failed++;
    printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void
skip(const char *reason, const char *what)
{
    tap_n++;
    printf("ok %d - %s # SKIP %s\n", tap_n, what, reason);
    fflush(stdout);
}

static void
diag(const char *fmt, ...)
{
    va_list ap;

    fputs("# ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static int
done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

static void
skip_all(const char *reason)
{
    printf("1..0 # SKIP %s\n", reason);
    exit(77);
}

static const char *
err_name(int err)
{
    const char *name;

    if (err == 0)
        return "success";
    name = PR_ErrorToName(err);
    return name ? name : "unknown error";
}

/* ---- files ---- */

static char *
path_join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);

    if (!p) {
        perror("malloc");
        exit(99);
    }
    snprintf(p, len, "%s/%s", dir, name);
    return p;
}

static int
file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Reads a whole file into item (malloc'd data); 0 on success. */
static int
read_whole(const char *path, SECItem *item)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t len = 0, cap = 0, n;

    item->type = siBuffer;
    item->data = NULL;
    item->len = 0;
    if (!fp)
        return -1;
    for (;;) {
        if (cap - len < 4096) {
            unsigned char *bigger;

            cap = cap ? cap * 2 : 8192;
            bigger = realloc(data, cap);
            if (!bigger) {
                free(data);
                fclose(fp);
                return -1;
            }
            data = bigger;
        }
        n = fread(data + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    fclose(fp);
    item->data = data;
    item->len = (unsigned int)len;
    return 0;
}

static SECItem
read_pki(const char *pkidir, const char *name)
{
    char *path = path_join(pkidir, name);
    SECItem item;

    if (read_whole(path, &item) != 0) {
        printf("Bail out! cannot read %s: %s\n", path, strerror(errno));
        exit(99);
    }
    free(path);
    return item;
}

/* A fresh, empty folder for an NSS database. */
static char *
fresh_db(const char *outdir, const char *name)
{
    static const char *const files[] = {"cert9.db", "key4.db", "pkcs11.txt"};
    char *dir = path_join(outdir, name);
    size_t i;

    mkdir(dir, 0700);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *f = path_join(dir, files[i]);

        unlink(f);
        free(f);
    }
    return dir;
}

/* ---- NSS setup ---- */

static int
init_nss(const char *dbdir)
{
    size_t len = strlen(dbdir) + 5;
    char *spec = malloc(len);
    PK11SlotInfo *slot;
    SECStatus rv;

    snprintf(spec, len, "sql:%s", dbdir);
    rv = NSS_Initialize(spec, "", "", "", NSS_INIT_NOROOTINIT);
    free(spec);
    if (rv != SECSuccess) {
        diag("NSS_Initialize(%s): %s", dbdir, err_name(PORT_GetError()));
        return -1;
    }
    slot = PK11_GetInternalKeySlot();
    if (slot && PK11_NeedUserInit(slot))
        PK11_InitPin(slot, NULL, "");
    if (slot)
        PK11_FreeSlot(slot);
    return 0;
}

static void
start_nss(const char *dbdir)
{
    if (init_nss(dbdir) != 0) {
        printf("Bail out! NSS_Initialize(%s) failed\n", dbdir);
        exit(99);
    }
}

/* NSS_Shutdown fails (SEC_ERROR_BUSY) while a certificate or slot leaks. */
static void
shutdown_nss(const char *when)
{
    SECStatus rv = NSS_Shutdown();

    ok(rv == SECSuccess, "NSS_Shutdown %s: %s", when,
       rv == SECSuccess ? "success" : err_name(PORT_GetError()));
}

/* Copies s, putting a backslash before every '"' and '\\' (utilpars.c's
 * escape character), for a double-quoted value in a module spec. */
static void
append_escaped(char *out, const char *s)
{
    out += strlen(out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            *out++ = '\\';
        *out++ = *s;
    }
    *out = '\0';
}

/* `more`: parameters of this test's own, or NULL. */
static SECMODModule *
load_module(const char *name, const char *library, const char *overlay, const char *logfile,
            const char *more)
{
    const char *extra = getenv("NSSGUARD_TEST_PARAMS"); /* e.g. mode=p11-kit */
    size_t plen = strlen(overlay) + strlen(logfile) + (extra ? strlen(extra) : 0) +
                  (more ? strlen(more) : 0) + 32;
    char *params = malloc(plen);
    size_t slen = 2 * (strlen(library) + strlen(name) + plen) + 64;
    char *spec = malloc(slen);
    SECMODModule *mod;

    snprintf(params, plen, "overlay=%s log=file:%s %s %s", overlay, logfile, extra ? extra : "",
             more ? more : "");
    strcpy(spec, "library=\"");
    append_escaped(spec, library);
    strcat(spec, "\" name=\"");
    append_escaped(spec, name);
    strcat(spec, "\" parameters=\"");
    append_escaped(spec, params);
    strcat(spec, "\"");
    diag("module spec: %s", spec);
    mod = SECMOD_LoadUserModule(spec, NULL, PR_FALSE);
    free(params);
    free(spec);
    if (mod && !mod->loaded) {
        diag("SECMOD_LoadUserModule: not loaded: %s", err_name(PORT_GetError()));
        SECMOD_DestroyModule(mod);
        mod = NULL;
    } else if (!mod) {
        diag("SECMOD_LoadUserModule: %s", err_name(PORT_GetError()));
    }
    return mod;
}

static void
unload_module(SECMODModule *mod)
{
    if (!mod)
        return;
    if (SECMOD_UnloadUserModule(mod) != SECSuccess)
        diag("SECMOD_UnloadUserModule: %s", err_name(PORT_GetError()));
    SECMOD_DestroyModule(mod);
}

static int
import_root_as(const SECItem *der, const char *nickname)
{
    CERTCertDBHandle *handle = CERT_GetDefaultCertDB();
    SECItem copy = *der;
    SECItem *ders[1] = {&copy};
    CERTCertificate **certs = NULL;
    CERTCertTrust trust;
    SECStatus rv;

    rv = CERT_ImportCerts(handle, certUsageSSLCA, 1, ders, &certs, PR_TRUE, PR_FALSE,
                          (char *)nickname);
    if (rv != SECSuccess || !certs || !certs[0]) {
        diag("CERT_ImportCerts: %s", err_name(PORT_GetError()));
        return -1;
    }
    CERT_DecodeTrustString(&trust, "C,,");
    rv = CERT_ChangeCertTrust(handle, certs[0], &trust);
    if (rv != SECSuccess)
        diag("CERT_ChangeCertTrust: %s", err_name(PORT_GetError()));
    CERT_DestroyCertArray(certs, 1);
    return rv == SECSuccess ? 0 : -1;
}

static CERTCertificate *
temp_cert(const SECItem *der)
{
    SECItem copy = *der;
    CERTCertificate *cert;

    cert = CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &copy, NULL, PR_FALSE, PR_TRUE);
    if (!cert)
        diag("CERT_NewTempCertificate: %s", err_name(PORT_GetError()));
    return cert;
}

static int
import_root(const SECItem *der)
{
    return import_root_as(der, "nssguard test root");
}

/* ---- verification ---- */

/* 0 when the classic verifier accepts the leaf for TLS server use, else the
 * NSS error code. */
static int
verify_classic(CERTCertificate *leaf)
{
    SECCertificateUsage usages = 0;
    SECStatus rv;

    PORT_SetError(0);
    rv = CERT_VerifyCertificate(CERT_GetDefaultCertDB(), leaf, PR_TRUE, certificateUsageSSLServer,
                                PR_Now(), NULL, NULL, &usages);
    if (rv == SECSuccess)
        return 0;
    return PORT_GetError() ? PORT_GetError() : -1;
}

static int
verify_pkix(CERTCertificate *leaf)
{
    CERTValInParam in[2];
    CERTValOutParam out[1];
    SECStatus rv;

    /* Revocation as Firefox once had it without OCSP: nothing to fetch. */
    in[0].type = cert_pi_revocationFlags;
    in[0].value.pointer.revocation = CERT_GetClassicOCSPDisabledPolicy();
    in[1].type = cert_pi_end;
    out[0].type = cert_po_end;
    PORT_SetError(0);
    rv = CERT_PKIXVerifyCert(leaf, certificateUsageSSLServer, in, out, NULL);
    if (rv == SECSuccess)
        return 0;
    return PORT_GetError() ? PORT_GetError() : -1;
}

/* Sub-CA and leaf of one chain, held as temporary certificates. */
typedef struct {
    const char *name;
    SECItem ca_der;
    SECItem leaf_der;
    CERTCertificate *ca;
    CERTCertificate *leaf;
} chain;

static void
chain_read(chain *c, const char *pkidir, const char *name)
{
    char file[64];

    c->name = name;
    snprintf(file, sizeof(file), "%s-ca.der", name);
    c->ca_der = read_pki(pkidir, file);
    snprintf(file, sizeof(file), "%s-leaf.der", name);
    c->leaf_der = read_pki(pkidir, file);
    c->ca = NULL;
    c->leaf = NULL;
}

static int
chain_open(chain *c)
{
    c->ca = temp_cert(&c->ca_der);
    c->leaf = temp_cert(&c->leaf_der);
    return c->ca && c->leaf ? 0 : -1;
}

static void
chain_close(chain *c)
{
    if (c->leaf)
        CERT_DestroyCertificate(c->leaf);
    if (c->ca)
        CERT_DestroyCertificate(c->ca);
    c->leaf = NULL;
    c->ca = NULL;
}

static void
chain_free(chain *c)
{
    chain_close(c);
    free(c->ca_der.data);
    free(c->leaf_der.data);
}

static void
expect_verify(chain *c, int want_classic, int want_pkix, const char *when)
{
    int got;

    if (!c->leaf) {
        ok(0, "%s: %s chain: temporary certificates created", when, c->name);
        ok(0, "%s: %s chain: (libpkix not run)", when, c->name);
        return;
    }
    got = verify_classic(c->leaf);
    ok(got == want_classic, "%s: %s chain, CERT_VerifyCertificate: %s (want %s)", when, c->name,
       err_name(got), err_name(want_classic));
    got = verify_pkix(c->leaf);
    ok(got == want_pkix, "%s: %s chain, CERT_PKIXVerifyCert: %s (want %s)", when, c->name,
       err_name(got), err_name(want_pkix));
}

/* Opens the chain as temporary certificates, verifies it both ways, closes. */
static void
check_chain(chain *c, int want_classic, int want_pkix, const char *when)
{
    chain_open(c);
    expect_verify(c, want_classic, want_pkix, when);
    chain_close(c);
}

/* Distrusted for TLS: a terminal record with no trusted flag. */
static int
ssl_distrusted(const CERTCertificate *cert, unsigned int *flags)
{
    CERTCertTrust trust;
    const unsigned int trusted = CERTDB_TRUSTED | CERTDB_TRUSTED_CA | CERTDB_VALID_CA;

    *flags = 0;
    if (!cert || CERT_GetCertTrust(cert, &trust) != SECSuccess)
        return 0;
    *flags = trust.sslFlags;
    return (trust.sslFlags & CERTDB_TERMINAL_RECORD) && !(trust.sslFlags & trusted);
}

static void
expect_trust(chain *c, int want_distrusted, const char *when)
{
    unsigned int flags;
    int got;

    chain_open(c);
    got = ssl_distrusted(c->ca, &flags);
    ok(got == want_distrusted, "%s: CERT_GetCertTrust on the %s sub-CA: %s (sslFlags 0x%x)", when,
       c->name, got ? "distrusted" : "not distrusted", flags);
    chain_close(c);
}

/* Counts the lines of the module's log holding every one of the needles. */
static int
log_count(const char *logfile, const char *needle1, const char *needle2)
{
    FILE *fp = fopen(logfile, "r");
    char line[4096];
    int n = 0;

    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp)) {
        if (strstr(line, needle1) && strstr(line, needle2)) {
            if (n == 0)
                diag("log: %s", strtok(line, "\n"));
            n++;
        }
    }
    fclose(fp);
    return n;
}

/* ---- the test PKI through the module ---- */

static void
test_pki(const char *module, const char *pkidir, const char *outdir)
{
    char *dbdir = fresh_db(outdir, "api-db");
    char *overlay = path_join(pkidir, "overlay.txt");
    char *logfile = path_join(outdir, "api.log");
    const char *when;
    SECItem root;
    chain mitm, good, isonly;
    SECMODModule *mod;
    PK11SlotInfo *slot = NULL, *internal;
    CERTCertificate *found;
    unsigned int flags;
    int n;

    root = read_pki(pkidir, "root.der");
    chain_read(&mitm, pkidir, "mitm");
    chain_read(&good, pkidir, "good");
    chain_read(&isonly, pkidir, "isonly");
    unlink(logfile);

    /* a. Without the module every chain is good: else the test proves
     * nothing. This runs in an NSS cycle of its own because libpkix caches
     * every chain it validated for an hour, and a cache hit re-checks the
     * anchor's trust but not the intermediates' (see the diag below). */
    start_nss(dbdir);
    ok(import_root(&root) == 0, "test root imported with trust C,,");
    when = "without module";
    check_chain(&mitm, 0, 0, when);
    check_chain(&isonly, 0, 0, when);
    expect_trust(&mitm, 0, when);
    mod = load_module(MODULE_NAME, module, overlay, logfile, NULL);
    if (mod) {
        chain_open(&mitm);
        n = mitm.leaf ? verify_pkix(mitm.leaf) : -1;
        /* Not a test: NSS 3.87 answers success here (pkix_Build_CheckInCache). */
        diag("module loaded after libpkix accepted the MITM chain: CERT_PKIXVerifyCert: %s"
             " (libpkix's chain cache)",
             err_name(n));
        n = mitm.leaf ? verify_classic(mitm.leaf) : -1;
        ok(n == SEC_ERROR_UNTRUSTED_ISSUER,
           "module loaded after the MITM chain was accepted: CERT_VerifyCertificate: %s",
           err_name(n));
        chain_close(&mitm);
        unload_module(mod);
    }
    shutdown_nss("without module");
    unlink(logfile);

    /* The same database (the root is in it), a fresh process state. */
    start_nss(dbdir);
    mod = load_module(MODULE_NAME, module, overlay, logfile, NULL);
    ok(mod != NULL, "SECMOD_LoadUserModule loaded %s", module);
    if (mod && mod->slotCount > 0)
        slot = PK11_ReferenceSlot(mod->slots[0]);
    ok(slot != NULL, "the module has a slot (%s)", slot ? PK11_GetTokenName(slot) : "none");

    /* b. MITM chains are rejected by both verifiers; the good one passes. */
    when = "with module";
    check_chain(&good, 0, 0, when);
    check_chain(&mitm, SEC_ERROR_UNTRUSTED_ISSUER, SEC_ERROR_UNTRUSTED_CERT, when);
    check_chain(&isonly, SEC_ERROR_UNTRUSTED_ISSUER, SEC_ERROR_UNTRUSTED_CERT, when);

    /* c. The trust NSS reports for the sub-CAs. */
    expect_trust(&mitm, 1, when);
    expect_trust(&isonly, 1, when);
    expect_trust(&good, 0, when);

    n = log_count(logfile, "\"event\":\"distrust\"", "\"label\":\"nssguard MITM sub-CA\"");
    ok(n > 0, "log %s has a distrust event for \"nssguard MITM sub-CA\" (%d lines)", logfile, n);
    n = log_count(logfile, "\"event\":\"distrust\"", "\"label\":\"nssguard Good sub-CA\"");
    ok(n == 0, "log has no distrust event for the good sub-CA (%d lines)", n);

    /* d. PK11_FindCertFromDERCertItem on the module's slot while the MITM
     * chain is in memory: no certificate object, so nothing found, and the
     * distrust must survive it. */
    when = "after PK11_FindCertFromDERCertItem(nssguard slot)";
    chain_open(&mitm);
    if (slot) {
        found = PK11_FindCertFromDERCertItem(slot, &mitm.ca_der, NULL);
        ok(found == NULL, "PK11_FindCertFromDERCertItem(nssguard slot, MITM sub-CA) is NULL");
        if (found)
            CERT_DestroyCertificate(found);
    } else {
        ok(0, "PK11_FindCertFromDERCertItem(nssguard slot, MITM sub-CA): no slot");
    }
    expect_verify(&mitm, SEC_ERROR_UNTRUSTED_ISSUER, SEC_ERROR_UNTRUSTED_CERT, when);
    n = ssl_distrusted(mitm.ca, &flags);
    ok(n, "%s: MITM sub-CA still distrusted (sslFlags 0x%x)", when, flags);

    when = "after PK11_FindCertFromDERCertItem(internal slot)";
    internal = PK11_GetInternalKeySlot();
    found = PK11_FindCertFromDERCertItem(internal, &mitm.ca_der, NULL);
    diag("PK11_FindCertFromDERCertItem(internal slot, MITM sub-CA): %s", found ? "found" : "NULL");
    if (found)
        CERT_DestroyCertificate(found);
    PK11_FreeSlot(internal);
    expect_verify(&mitm, SEC_ERROR_UNTRUSTED_ISSUER, SEC_ERROR_UNTRUSTED_CERT, when);
    n = ssl_distrusted(mitm.ca, &flags);
    ok(n, "%s: MITM sub-CA still distrusted (sslFlags 0x%x)", when, flags);
    chain_close(&mitm);
    /* And once more with fresh temporary certificates. */
    check_chain(&mitm, SEC_ERROR_UNTRUSTED_ISSUER, SEC_ERROR_UNTRUSTED_CERT,
                "after both lookups, fresh certificates");
    check_chain(&good, 0, 0, "after both lookups, fresh certificates");

    if (slot)
        PK11_FreeSlot(slot);
    unload_module(mod);
    shutdown_nss("with module");

    free(root.data);
    chain_free(&mitm);
    chain_free(&good);
    chain_free(&isonly);
    free(dbdir);
    free(overlay);
    free(logfile);
}

/* ---- an overlay file added while NSS runs ---- */

/* Installs src as dst the way deployment tools do: a temporary file, then
 * rename. */
static int
install_file(const char *src, const char *dst)
{
    size_t n = strlen(dst) + 8;
    char *tmp = malloc(n);
    SECItem text;
    FILE *fp;
    int rv = -1;

    snprintf(tmp, n, "%s.tmp", dst);
    if (read_whole(src, &text) == 0 && (fp = fopen(tmp, "wb"))) {
        if (fwrite(text.data, 1, text.len, fp) == text.len && fclose(fp) == 0)
            rv = rename(tmp, dst);
        else
            fclose(fp);
    }
    free(text.data);
    free(tmp);
    return rv;
}

static void
expect_classic(chain *c, int want, const char *when)
{
    int n;

    chain_open(c);
    n = c->leaf ? verify_classic(c->leaf) : -1;
    ok(n == want, "live: %s: %s chain, CERT_VerifyCertificate: %s (want %s)", when, c->name,
       err_name(n), err_name(want));
    chain_close(c);
}

static void
expect_pkix(chain *c, int want, const char *when, const char *why)
{
    int n;

    chain_open(c);
    n = c->leaf ? verify_pkix(c->leaf) : -1;
    ok(n == want, "live: %s: %s chain, CERT_PKIXVerifyCert: %s (want %s%s)", when, c->name,
       err_name(n), err_name(want), why);
    chain_close(c);
}

/* e. An administrator drops a distrust file into the overlay directory of
 * a process that is running and has already accepted the MITM chain. The
 * module notices on its next query (reload=0 here) and NSS's classic
 * verifier asks it again for every new verification: the same process now
 * rejects the chain, and libpkix rejects a chain it had not seen. But
 * libpkix answers a chain it accepted before from its chain cache (up to an
 * hour): asserted, so that a change in NSS shows. */
static void
test_live_reload(const char *module, const char *pkidir, const char *outdir)
{
    char *dbdir = fresh_db(outdir, "live-db");
    char *livedir = path_join(outdir, "live.d");
    char *logfile = path_join(outdir, "live.log");
    char *src = path_join(pkidir, "overlay.txt");
    char *dst = path_join(livedir, "overlay.txt");
    SECItem root = read_pki(pkidir, "root.der");
    chain mitm, isonly;
    SECMODModule *mod;
    int n;

    mkdir(livedir, 0700);
    unlink(dst);
    unlink(logfile);
    chain_read(&mitm, pkidir, "mitm");
    chain_read(&isonly, pkidir, "isonly");
    start_nss(dbdir);
    ok(import_root(&root) == 0, "live: test root imported with trust C,,");
    mod = load_module(MODULE_NAME, module, livedir, logfile, "reload=0");
    ok(mod != NULL, "live: module loaded on an empty overlay directory");
    expect_classic(&mitm, 0, "before the drop-in");
    expect_pkix(&mitm, 0, "before the drop-in", "");

    ok(install_file(src, dst) == 0, "live: overlay.txt dropped into %s", livedir);
    expect_classic(&mitm, SEC_ERROR_UNTRUSTED_ISSUER, "after it, same process");
    expect_pkix(&isonly, SEC_ERROR_UNTRUSTED_CERT, "after it, same process",
                ": a chain libpkix never saw");
    expect_pkix(&mitm, 0, "after it, same process",
                ": HAZARD, libpkix's chain cache keeps the chain it accepted");
    n = log_count(logfile, "\"event\":\"reload\"", "\"files\":1");
    ok(n == 1, "live: one reload event for the new file (%d)", n);

    /* Not a test: taking the file away again is not seen at once, in
     * either verifier, once libpkix holds the certificates (NSS 3.87: both
     * still reject; without the libpkix calls above the classic verifier
     * accepts again). Distrust errs on the safe side here. */
    unlink(dst);
    chain_open(&mitm);
    n = mitm.leaf ? verify_classic(mitm.leaf) : -1;
    diag("live: after removing it: mitm chain, CERT_VerifyCertificate: %s", err_name(n));
    chain_close(&mitm);
    chain_open(&isonly);
    n = isonly.leaf ? verify_pkix(isonly.leaf) : -1;
    diag("live: after removing it: isonly chain, CERT_PKIXVerifyCert: %s", err_name(n));
    chain_close(&isonly);

    unload_module(mod);
    shutdown_nss("after the live reload test");
    free(root.data);
    chain_free(&mitm);
    chain_free(&isonly);
    free(dbdir);
    free(livedir);
    free(logfile);
    free(src);
    free(dst);
}

/* ---- re-encoded copies of distrusted sub-CAs (issue 11) ---- */

/* A chain whose sub-CA and leaf are the given files under pkidir. */
static void
chain_read_files(chain *c, const char *name, const char *pkidir, const char *ca, const char *leaf)
{
    c->name = name;
    c->ca_der = read_pki(pkidir, ca);
    c->leaf_der = read_pki(pkidir, leaf);
    c->ca = NULL;
    c->leaf = NULL;
}

/* Decodes the issuer and serial of a DER certificate into arena; 0 on
 * success. */
static int
issuer_serial(PLArenaPool *arena, const SECItem *der, CERTCertificate *out)
{
    memset(out, 0, sizeof(*out));
    return SEC_ASN1DecodeItem(arena, out, SEC_SignedCertificateTemplate, der) == SECSuccess ? 0
                                                                                            : -1;
}

/* The copy is another encoding of the original: other bytes, the same
 * issuer and serial. */
static void
expect_other_encoding(chain *copy, const SECItem *original, const char *file)
{
    PLArenaPool *arena = PORT_NewArena(4096);
    CERTCertificate a, b;
    int same_id = arena && issuer_serial(arena, original, &a) == 0 &&
                  issuer_serial(arena, &copy->ca_der, &b) == 0 &&
                  SECITEM_ItemsAreEqual(&a.derIssuer, &b.derIssuer) &&
                  SECITEM_ItemsAreEqual(&a.serialNumber, &b.serialNumber);

    ok(same_id && !SECITEM_ItemsAreEqual(original, &copy->ca_der),
       "%s: other DER than %s (%u vs %u bytes), same issuer and serial", copy->name, file,
       copy->ca_der.len, original->len);
    if (arena)
        PORT_FreeArena(arena, PR_FALSE);
}

/* NSS verifies the bytes it was given: the temporary sub-CA holds the
 * file's DER, not another certificate with its issuer and serial. */
static void
expect_der_held(chain *c, const char *when)
{
    chain_open(c);
    ok(c->ca && SECITEM_ItemsAreEqual(&c->ca->derCert, &c->ca_der),
       "%s: the temporary %s sub-CA holds its file's DER", when, c->name);
    chain_close(c);
}

/* f. The MITM operator's re-encoding (issue 11): whoever holds a distrusted
 * sub-CA can change its bytes without any key (tests/nssguard-reencode),
 * keeping issuer and serial. A trust record with the original's SHA-1 no
 * longer applies to the copy and NSS drops it: the chain passes. The copies
 * are PKIDIR/reencoded/mitm-ca.der (ECDSA (r,s) as (r,n-s), mode ecdsa-s)
 * and PKIDIR/reencoded/rsamitm-ca.der (the outer signatureAlgorithm without
 * its NULL parameters, mode rsa-params); the overlay is rsa/overlay.txt,
 * written by `nssguard add` with the certificate. */
static void
test_reencoded(const char *module, const char *pkidir, const char *outdir)
{
    char *dbdir = fresh_db(outdir, "reencode-db");
    char *overlay = path_join(pkidir, "rsa/overlay.txt");
    char *logfile = path_join(outdir, "reencode.log");
    SECItem root = read_pki(pkidir, "root.der");
    SECItem rsaroot = read_pki(pkidir, "rsa/rsa-root.der");
    SECItem mitm_orig = read_pki(pkidir, "mitm-ca.der");
    SECItem rsa_orig = read_pki(pkidir, "rsa/rsamitm-ca.der");
    chain ecdsa, rsa, rsamitm;
    SECMODModule *mod;
    const char *when, *what;
    int n;

    chain_read_files(&ecdsa, "re-encoded (ecdsa-s) mitm", pkidir, "reencoded/mitm-ca.der",
                     "mitm-leaf.der");
    chain_read_files(&rsa, "re-encoded (rsa-params) rsamitm", pkidir, "reencoded/rsamitm-ca.der",
                     "rsa/rsamitm-leaf.der");
    chain_read_files(&rsamitm, "rsamitm", pkidir, "rsa/rsamitm-ca.der", "rsa/rsamitm-leaf.der");
    unlink(logfile);
    expect_other_encoding(&ecdsa, &mitm_orig, "mitm-ca.der");
    expect_other_encoding(&rsa, &rsa_orig, "rsa/rsamitm-ca.der");

    /* Without the module the copies pass (libpkix) and are not distrusted:
     * else the test proves nothing. An NSS cycle of its own, as in a.
     * The classic verifier refuses the RSA copy whatever its trust: the
     * outer signatureAlgorithm no longer equals the signed one. */
    start_nss(dbdir);
    ok(import_root(&root) == 0 && import_root_as(&rsaroot, "nssguard RSA test root") == 0,
       "re-encoded: both test roots imported with trust C,,");
    when = "re-encoded, without module";
    expect_der_held(&ecdsa, when);
    expect_der_held(&rsa, when);
    check_chain(&ecdsa, 0, 0, when);
    check_chain(&rsa, SEC_ERROR_ALGORITHM_MISMATCH, 0, when);
    expect_trust(&ecdsa, 0, when);
    expect_trust(&rsa, 0, when);
    shutdown_nss("re-encoded, without module");

    /* The RSA entry rejects the original RSA chain: a cycle of its own,
     * since NSS keeps the first certificate it met for an issuer and serial
     * while libpkix holds it, and refuses the other encoding then
     * (SEC_ERROR_REUSED_ISSUER_AND_SERIAL, see the diag below). */
    start_nss(dbdir);
    mod = load_module(MODULE_NAME, module, overlay, logfile, NULL);
    ok(mod != NULL, "re-encoded: module loaded with rsa/overlay.txt (entries with certificate)");
    when = "original, with module";
    expect_der_held(&rsamitm, when);
    check_chain(&rsamitm, SEC_ERROR_UNTRUSTED_ISSUER, SEC_ERROR_UNTRUSTED_CERT, when);
    n = log_count(logfile, "\"event\":\"distrust\"", "\"label\":\"nssguard RSA MITM sub-CA\"");
    ok(n > 0, "re-encoded: log has a distrust event for \"nssguard RSA MITM sub-CA\" (%d lines)",
       n);
    unload_module(mod);
    shutdown_nss("original, with module");

    start_nss(dbdir);
    mod = load_module(MODULE_NAME, module, overlay, logfile, NULL);
    ok(mod != NULL, "re-encoded: module loaded again");
    when = "re-encoded, with module";
    expect_der_held(&ecdsa, when);
    expect_der_held(&rsa, when);
    check_chain(&ecdsa, SEC_ERROR_UNTRUSTED_ISSUER, SEC_ERROR_UNTRUSTED_CERT, when);
    check_chain(&rsa, SEC_ERROR_UNTRUSTED_ISSUER, SEC_ERROR_UNTRUSTED_CERT, when);
    expect_trust(&ecdsa, 1, when);
    expect_trust(&rsa, 1, when);
    /* Not a test: what NSS 3.87 does with the original's DER now that it
     * holds the copy (it refuses it). */
    chain_open(&rsamitm);
    if (!rsamitm.ca)
        what = "NSS refuses it";
    else if (SECITEM_ItemsAreEqual(&rsamitm.ca->derCert, &rsa.ca_der))
        what = "NSS answers the copy";
    else if (SECITEM_ItemsAreEqual(&rsamitm.ca->derCert, &rsamitm.ca_der))
        what = "it holds its own DER";
    else
        what = "it holds other DER";
    diag("after the copies: a temporary certificate of rsa/rsamitm-ca.der: %s", what);
    chain_close(&rsamitm);
    unload_module(mod);
    shutdown_nss("re-encoded, with module");

    free(root.data);
    free(rsaroot.data);
    free(mitm_orig.data);
    free(rsa_orig.data);
    chain_free(&ecdsa);
    chain_free(&rsa);
    chain_free(&rsamitm);
    free(dbdir);
    free(overlay);
    free(logfile);
}

/* ---- certdata.txt, just enough of it ---- */

typedef struct {
    int is_trust; /* CKO_NSS_TRUST, else CKO_CERTIFICATE */
    int server_not_trusted;
    char label[160];
    SECItem issuer;
    SECItem serial;
    SECItem value;
} cd_object;

typedef struct {
    cd_object *obj;
    size_t n, cap;
} cd_list;

static void
item_append(SECItem *item, unsigned char byte)
{
    unsigned char *bigger = realloc(item->data, item->len + 1);

    if (!bigger) {
        perror("realloc");
        exit(99);
    }
    item->data = bigger;
    item->data[item->len++] = byte;
}

static int
cd_read(const char *path, cd_list *list)
{
    FILE *fp = fopen(path, "r");
    char line[1024];
    cd_object *cur = NULL;
    SECItem *octal = NULL;
    int begun = 0;

    list->obj = NULL;
    list->n = list->cap = 0;
    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!begun) {
            begun = strcmp(line, "BEGINDATA") == 0;
            continue;
        }
        if (octal) {
            const char *p = line;

            if (strcmp(line, "END") == 0) {
                octal = NULL;
                continue;
            }
            while (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' &&
                   p[3] >= '0' && p[3] <= '7') {
                item_append(octal, (unsigned char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) |
                                                   (p[3] - '0')));
                p += 4;
            }
            continue;
        }
        if (strncmp(line, "CKA_CLASS ", 10) == 0) {
            if (strstr(line, "CKO_NSS_TRUST") || strstr(line, "CKO_CERTIFICATE")) {
                if (list->n == list->cap) {
                    size_t cap = list->cap ? list->cap * 2 : 64;
                    cd_object *bigger = realloc(list->obj, cap * sizeof(*bigger));

                    if (!bigger) {
                        perror("realloc");
                        exit(99);
                    }
                    list->obj = bigger;
                    list->cap = cap;
                }
                cur = &list->obj[list->n++];
                memset(cur, 0, sizeof(*cur));
                cur->is_trust = strstr(line, "CKO_NSS_TRUST") != NULL;
            } else {
                cur = NULL;
            }
            continue;
        }
        if (!cur)
            continue;
        if (strncmp(line, "CKA_LABEL UTF8 \"", 16) == 0) {
            size_t len = strcspn(line + 16, "\"");

            if (len >= sizeof(cur->label))
                len = sizeof(cur->label) - 1;
            memcpy(cur->label, line + 16, len);
            cur->label[len] = '\0';
        } else if (strcmp(line, "CKA_ISSUER MULTILINE_OCTAL") == 0) {
            octal = &cur->issuer;
        } else if (strcmp(line, "CKA_SERIAL_NUMBER MULTILINE_OCTAL") == 0) {
            octal = &cur->serial;
        } else if (strcmp(line, "CKA_VALUE MULTILINE_OCTAL") == 0) {
            octal = &cur->value;
        } else if (strcmp(line, "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED") == 0) {
            cur->server_not_trusted = 1;
        }
    }
    fclose(fp);
    return 0;
}

static void
cd_free(cd_list *list)
{
    size_t i;

    for (i = 0; i < list->n; i++) {
        free(list->obj[i].issuer.data);
        free(list->obj[i].serial.data);
        free(list->obj[i].value.data);
    }
    free(list->obj);
}

/* The CKO_CERTIFICATE object with the trust record's issuer and serial. */
static const cd_object *
cd_find_cert(const cd_list *list, const cd_object *trust)
{
    size_t i;

    for (i = 0; i < list->n; i++) {
        const cd_object *o = &list->obj[i];

        if (!o->is_trust && o->value.len > 0 && SECITEM_ItemsAreEqual(&o->issuer, &trust->issuer) &&
            SECITEM_ItemsAreEqual(&o->serial, &trust->serial))
            return o;
    }
    return NULL;
}

/* ---- a forged certificate with a given issuer and serial ---- */

typedef struct {
    unsigned char *data;
    size_t len;
} buf;

static void
buf_put(buf *b, const void *data, size_t len)
{
    unsigned char *bigger = realloc(b->data, b->len + len + 1);

    if (!bigger) {
        perror("realloc");
        exit(99);
    }
    b->data = bigger;
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void
der_tlv(buf *b, unsigned char tag, const void *content, size_t len)
{
    unsigned char hdr[6];
    size_t n = 0;

    hdr[n++] = tag;
    if (len < 0x80) {
        hdr[n++] = (unsigned char)len;
    } else if (len < 0x100) {
        hdr[n++] = 0x81;
        hdr[n++] = (unsigned char)len;
    } else {
        hdr[n++] = 0x82;
        hdr[n++] = (unsigned char)(len >> 8);
        hdr[n++] = (unsigned char)len;
    }
    buf_put(b, hdr, n);
    buf_put(b, content, len);
}

/*
 * A certificate that no CA signed: version 3, the given serial (a DER
 * INTEGER) and issuer (a DER Name), a throwaway subject, the P-256 base point
 * as its key and a dummy ECDSA signature. NSS needs no valid signature to
 * create a temporary certificate and look up its trust.
 */
static SECItem
forge_cert(const SECItem *issuer, const SECItem *serial, int index)
{
    static const unsigned char version[] = {0xa0, 0x03, 0x02, 0x01, 0x02};
    static const unsigned char sigalg[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                           0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
    static const unsigned char validity[] = {
        0x30, 0x1e, 0x17, 0x0d, '2', '0', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0',
        'Z',  0x17, 0x0d, '4',  '0', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0', 'Z'};
    static const unsigned char spki[] = {
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
        0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4,
        0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a,
        0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33,
        0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};
    static const unsigned char signature[] = {0x03, 0x09, 0x00, 0x30, 0x06, 0x02,
                                              0x01, 0x01, 0x02, 0x01, 0x01};
    static const unsigned char cn_oid[] = {0x06, 0x03, 0x55, 0x04, 0x03};
    char cn[64];
    buf atv = {NULL, 0}, tmp = {NULL, 0}, subject = {NULL, 0};
    buf tbs = {NULL, 0}, body = {NULL, 0}, cert = {NULL, 0};
    SECItem item;

    snprintf(cn, sizeof(cn), "nssguard forged test certificate %d", index);
    buf_put(&atv, cn_oid, sizeof(cn_oid));
    der_tlv(&atv, 0x0c, cn, strlen(cn));
    der_tlv(&tmp, 0x30, atv.data, atv.len);
    free(atv.data);
    atv.data = NULL;
    atv.len = 0;
    der_tlv(&atv, 0x31, tmp.data, tmp.len);
    der_tlv(&subject, 0x30, atv.data, atv.len);

    buf_put(&body, version, sizeof(version));
    buf_put(&body, serial->data, serial->len);
    buf_put(&body, sigalg, sizeof(sigalg));
    buf_put(&body, issuer->data, issuer->len);
    buf_put(&body, validity, sizeof(validity));
    buf_put(&body, subject.data, subject.len);
    buf_put(&body, spki, sizeof(spki));
    der_tlv(&tbs, 0x30, body.data, body.len);
    free(body.data);
    body.data = NULL;
    body.len = 0;

    buf_put(&body, tbs.data, tbs.len);
    buf_put(&body, sigalg, sizeof(sigalg));
    buf_put(&body, signature, sizeof(signature));
    der_tlv(&cert, 0x30, body.data, body.len);

    free(atv.data);
    free(tmp.data);
    free(subject.data);
    free(tbs.data);
    free(body.data);
    item.type = siBuffer;
    item.data = cert.data;
    item.len = (unsigned int)cert.len;
    return item;
}

/* The certificate to present for a distrust record: Mozilla's own when the
 * file has it (the module then serves its SHA-1, which must match), else a
 * forged one with the record's issuer and serial. data is malloc'd. */
static SECItem
cert_for_record(const cd_list *list, const cd_object *trust, int index, int *real)
{
    const cd_object *c = cd_find_cert(list, trust);
    SECItem item;

    *real = c != NULL;
    if (!c)
        return forge_cert(&trust->issuer, &trust->serial, index);
    item.type = siBuffer;
    item.len = c->value.len;
    item.data = malloc(item.len);
    if (!item.data) {
        perror("malloc");
        exit(99);
    }
    memcpy(item.data, c->value.data, item.len);
    return item;
}

/* How many of the file's server-distrust records NSS reports as distrusted. */
static int
count_distrusted(const cd_list *list, int *total, int verbose)
{
    size_t i;
    int n = 0, index = 0;

    for (i = 0; i < list->n; i++) {
        const cd_object *o = &list->obj[i];
        CERTCertificate *cert;
        SECItem der;
        unsigned int flags;
        int real, bad;

        if (!o->is_trust || !o->server_not_trusted)
            continue;
        der = cert_for_record(list, o, index++, &real);
        cert = temp_cert(&der);
        bad = ssl_distrusted(cert, &flags);
        n += bad;
        if (verbose && !bad)
            diag("not distrusted: \"%s\" (%s certificate, sslFlags 0x%x)", o->label,
                 real ? "Mozilla's" : "forged", flags);
        if (cert)
            CERT_DestroyCertificate(cert);
        free(der.data);
    }
    *total = index;
    return n;
}

/* e. Mozilla's distrust records of NSS 3.28 served by the module. */
static void
test_mozilla(const char *module, const char *shared, const char *outdir)
{
    char *certdata = shared ? path_join(shared, MOZ_CERTDATA) : NULL;
    char *dbdir, *logfile;
    cd_list list;
    SECMODModule *mod;
    const cd_object *first = NULL;
    size_t i;
    int total, n, forged = 0, real;

    if (!certdata || !file_exists(certdata)) {
        skip("no ../shared/data/" MOZ_CERTDATA " (not in this repository)",
             "Mozilla's 28 historical distrust records");
        free(certdata);
        return;
    }
    if (cd_read(certdata, &list) != 0) {
        ok(0, "read %s: %s", certdata, strerror(errno));
        free(certdata);
        return;
    }
    for (i = 0; i < list.n; i++) {
        if (list.obj[i].is_trust && list.obj[i].server_not_trusted) {
            if (!first)
                first = &list.obj[i];
            if (!cd_find_cert(&list, &list.obj[i]))
                forged++;
        }
    }
    dbdir = fresh_db(outdir, "api-mozilla-db");
    logfile = path_join(outdir, "api-mozilla.log");
    unlink(logfile);
    if (init_nss(dbdir) != 0) {
        ok(0, "NSS_Initialize for the Mozilla records");
        goto out;
    }

    n = count_distrusted(&list, &total, 0);
    ok(total == MOZ_DISTRUSTED,
       "%s has %d server-distrust records (want %d, %d without certificate)", MOZ_CERTDATA, total,
       MOZ_DISTRUSTED, forged);
    ok(n == 0, "without module: %d of them distrusted (want 0)", n);

    mod = load_module(MOZ_MODULE_NAME, module, certdata, logfile, NULL);
    ok(mod != NULL, "second module instance \"%s\" loaded with %s as overlay", MOZ_MODULE_NAME,
       MOZ_CERTDATA);
    n = count_distrusted(&list, &total, 1);
    ok(n == MOZ_DISTRUSTED && total == MOZ_DISTRUSTED,
       "with module: CERT_GetCertTrust reports %d of %d distrusted (want %d)", n, total,
       MOZ_DISTRUSTED);

    if (first) {
        /* Control: the first record's issuer with a serial the file lacks. */
        static unsigned char odd_serial[] = {0x02, 0x08, 0x6e, 0x73, 0x73,
                                             0x67, 0x75, 0x61, 0x72, 0x64};
        SECItem serial = {siBuffer, odd_serial, sizeof(odd_serial)};
        SECItem der = forge_cert(&first->issuer, &serial, 999);
        CERTCertificate *cert = temp_cert(&der);
        unsigned int flags = 0;

        n = cert && ssl_distrusted(cert, &flags);
        ok(cert && !n,
           "control: \"%s\"'s issuer with another serial is not distrusted (sslFlags 0x%x)",
           first->label, flags);
        if (cert)
            CERT_DestroyCertificate(cert);
        free(der.data);

        /* And Mozilla's record itself through the same forging path. */
        der = cert_for_record(&list, first, 1000, &real);
        cert = temp_cert(&der);
        n = cert && ssl_distrusted(cert, &flags);
        ok(n, "control: \"%s\" (%s) is distrusted (sslFlags 0x%x)", first->label,
           real ? "Mozilla's certificate" : "forged", flags);
        if (cert)
            CERT_DestroyCertificate(cert);
        free(der.data);
    }

    unload_module(mod);
    shutdown_nss("after the Mozilla records");
out:
    cd_free(&list);
    free(dbdir);
    free(logfile);
    free(certdata);
}

int
main(int argc, char **argv)
{
    const char *module = getenv("NSSGUARD_MODULE");
    const char *shared = getenv("NSSGUARD_SHARED");
    const char *only = getenv("NSSGUARD_TEST_ONLY");
    char *overlay, *pkidir, *outdir;

    if (argc != 3) {
        fprintf(stderr, "usage: %s PKIDIR OUTDIR\n", argv[0]);
        return 2;
    }
    if (!module || !*module || !file_exists(module))
        skip_all("the module is not built (NSSGUARD_MODULE)");
    overlay = path_join(argv[1], "overlay.txt");
    if (!file_exists(overlay))
        skip_all("no test PKI (run tests/pki.sh PKIDIR first)");
    free(overlay);
    /* The module takes absolute paths only. */
    pkidir = realpath(argv[1], NULL);
    outdir = realpath(argv[2], NULL);
    if (!pkidir || !outdir) {
        printf("Bail out! %s: %s\n", pkidir ? argv[2] : argv[1], strerror(errno));
        return 99;
    }

    /* NSSGUARD_TEST_ONLY=reencoded: part f alone (tests/nss-api-modes.sh,
     * for a mode in which an earlier part leaves NSS unable to shut down). */
    if (only && strcmp(only, "reencoded") == 0) {
        test_reencoded(module, pkidir, outdir);
    } else {
        test_pki(module, pkidir, outdir);
        test_live_reload(module, pkidir, outdir);
        test_reencoded(module, pkidir, outdir);
        test_mozilla(module, shared, outdir);
    }
    free(pkidir);
    free(outdir);
    return done_testing();
}

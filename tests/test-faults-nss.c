/*
 * test-faults-nss: issue 12's faults inside one NSS process, with the real
 * module loaded through SECMOD_LoadUserModule. Prints key=value lines;
 * tests/faults-nss.sh turns them into TAP.
 *
 *   test-faults-nss fork DBDIR MODULE PARAMS PKIDIR
 *       Verifies the MITM chain (PKIDIR/mitm-{leaf,ca}.der), forks, and in
 *       the child verifies again: without re-initialising (a pre-forking
 *       server), after SECMOD_RestartModules(PR_FALSE) and after
 *       SECMOD_RestartModules(PR_TRUE) (NSS's C_Finalize + C_Initialize).
 *       Prints NAME_classic=ERR NAME_pkix=ERR (0: accepted).
 *
 *   test-faults-nss redeploy DBDIR MODULE PARAMS PKIDIR DIR STYLE...
 *       Verifies in a loop, with new temporary certificates each time (so
 *       that NSS asks the module each time), while a thread redeploys the
 *       overlay folder DIR in each STYLE in turn: CERT_VerifyCertificate
 *       the mitm chain throughout, CERT_PKIXVerifyCert the isonly chain
 *       from the first redeployment on (libpkix keeps a chain it verified
 *       in its cache, with the trust it had: one it first sees in a window
 *       where the module serves nothing stays accepted). The styles:
 *         mv     mv DIR away, mkdir DIR, copy the files back 2 s later
 *         rmcp   rm -rf DIR; cp -r of a copy
 *         big    DIR/overlay.txt replaced (rename) by a version over the
 *                module's text cap, then put back
 *       Prints verifies=N accepted_classic=N accepted_pkix=N and the final
 *       final_classic=ERR final_pkix=ERR.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cert.h>
#include <certdb.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secerr.h>
#include <secmod.h>

#include "der-file.h"

static CERTCertificate *leaf, *ca;

static void
die(const char *what)
{
    printf("error=%s:%d\n", what, PORT_GetError());
    exit(99);
}

static SECItem
read_der(const char *dir, const char *name)
{
    der_file f;

    if (!der_file_read(&f, dir, name))
        die(f.path);
    return f.item;
}

static CERTCertificate *
temp_cert(const char *dir, const char *name)
{
    SECItem der = read_der(dir, name);
    CERTCertificate *c =
        CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &der, NULL, PR_FALSE, PR_TRUE);

    free(der.data);
    if (!c)
        die(name);
    return c;
}

static int
verify_classic(void)
{
    SECCertificateUsage usages = 0;

    PORT_SetError(0);
    if (CERT_VerifyCertificate(CERT_GetDefaultCertDB(), leaf, PR_TRUE, certificateUsageSSLServer,
                               PR_Now(), NULL, NULL, &usages) == SECSuccess)
        return 0;
    return PORT_GetError() ? PORT_GetError() : -1;
}

static int
verify_pkix(void)
{
    CERTValInParam in[2];
    CERTValOutParam out[1];

    in[0].type = cert_pi_revocationFlags;
    in[0].value.pointer.revocation = CERT_GetClassicOCSPDisabledPolicy();
    in[1].type = cert_pi_end;
    out[0].type = cert_po_end;
    PORT_SetError(0);
    if (CERT_PKIXVerifyCert(leaf, certificateUsageSSLServer, in, out, NULL) == SECSuccess)
        return 0;
    return PORT_GetError() ? PORT_GetError() : -1;
}

static const char *pki_dir;

/* The chain as a TLS client gets it: new temporary certificates each time.
 * NSS asks the module for their trust when it makes them; it finds its own
 * copy instead while one is still held, as libpkix's cache holds the
 * certificates it verified (with the trust they had then). */
static void
chain_open_named(const char *name)
{
    char file[64];

    snprintf(file, sizeof(file), "%s-ca.der", name);
    ca = temp_cert(pki_dir, file);
    snprintf(file, sizeof(file), "%s-leaf.der", name);
    leaf = temp_cert(pki_dir, file);
}

static void
chain_open(void)
{
    chain_open_named("mitm");
}

static void
chain_close(void)
{
    CERT_DestroyCertificate(leaf);
    CERT_DestroyCertificate(ca);
    leaf = ca = NULL;
}

static void
start(const char *db, const char *module, const char *params, const char *pki)
{
    char spec[8192];
    SECMODModule *mod;

    snprintf(spec, sizeof(spec), "sql:%s", db);
    if (NSS_Initialize(spec, "", "", "", NSS_INIT_NOROOTINIT) != SECSuccess)
        die("NSS_Initialize");
    snprintf(spec, sizeof(spec), "library=\"%s\" name=\"nssguard\" parameters=\"%s\"", module,
             params);
    mod = SECMOD_LoadUserModule(spec, NULL, PR_FALSE);
    if (!mod || !mod->loaded)
        die("SECMOD_LoadUserModule");
    pki_dir = pki;
}

/* ---- fork ---- */

/* In a child: verifies after `restart` (0 none, 1 RestartModules(FALSE),
 * 2 RestartModules(TRUE)) and prints the outcome; the parent waits. */
static void
child_verifies(const char *name, int restart)
{
    pid_t pid;
    int status;

    fflush(stdout);
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int rc = 0;
        if (restart && SECMOD_RestartModules(restart == 2) != SECSuccess)
            rc = 1;
        chain_open();
        printf("%s_restart=%s\n", name, rc ? "failed" : "ok");
        printf("%s_classic=%d\n", name, verify_classic());
        printf("%s_pkix=%d\n", name, verify_pkix());
        fflush(stdout);
        _exit(0);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        printf("%s_child=crashed\n", name);
}

static int
test_fork(char **argv)
{
    /* a pre-forking server: NSS and the module initialised, nothing
     * verified yet (so nothing cached); each child gets its chain */
    start(argv[2], argv[3], argv[4], argv[5]);
    child_verifies("child", 0);
    child_verifies("restart", 1);
    child_verifies("forced", 2);
    chain_open();
    printf("parent_classic=%d\nparent_pkix=%d\n", verify_classic(), verify_pkix());
    chain_close();
    return 0;
}

/* ---- redeploy ---- */

static const char *dir;
static char **styles;
static int n_styles;
static int ops_done; /* __atomic */
static int window;   /* __atomic: the first redeployment has begun */

static void
sh(const char *cmd)
{
    if (system(cmd) != 0)
        printf("error=command failed: %s\n", cmd);
}

static void *
redeploy(void *arg)
{
    char pristine[4096], away[4096], cmd[16384];

    (void)arg;
    snprintf(pristine, sizeof(pristine), "%s.pristine", dir);
    snprintf(away, sizeof(away), "%s.away", dir);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -r '%s' '%s'", pristine, dir, pristine);
    sh(cmd);
    sleep(1);
    for (int i = 0; i < n_styles; i++) {
        if (strcmp(styles[i], "mv") == 0) {
            if (rename(dir, away) != 0 || mkdir(dir, 0755) != 0)
                printf("error=mv: %s\n", strerror(errno));
            __atomic_store_n(&window, 1, __ATOMIC_RELEASE);
            sleep(2);
            snprintf(cmd, sizeof(cmd), "cp '%s'/* '%s'/ && rm -rf '%s'", away, dir, away);
            sh(cmd);
        } else if (strcmp(styles[i], "rmcp") == 0) {
            snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -r '%s' '%s'", dir, pristine, dir);
            __atomic_store_n(&window, 1, __ATOMIC_RELEASE);
            sh(cmd);
        } else if (strcmp(styles[i], "big") == 0) {
            /* over the cap: the same entries, then 17 MiB of comments */
            snprintf(cmd, sizeof(cmd),
                     "{ cat '%s/overlay.txt'; head -c 17825792 /dev/zero | tr '\\0' '#' | "
                     "fold -w 80; echo; } >'%s/big.tmp' && mv '%s/big.tmp' '%s/overlay.txt'",
                     pristine, dir, dir, dir);
            sh(cmd);
            sleep(2);
            snprintf(cmd, sizeof(cmd),
                     "cp '%s/overlay.txt' '%s/new.tmp' && mv '%s/new.tmp' '%s/overlay.txt'",
                     pristine, dir, dir, dir);
            sh(cmd);
        }
        sleep(1);
    }
    __atomic_store_n(&ops_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int
test_redeploy(int argc, char **argv)
{
    pthread_t ops;
    long verifies = 0, pkix_verifies = 0, accepted_classic = 0, accepted_pkix = 0;

    start(argv[2], argv[3], argv[4], argv[5]);
    dir = argv[6];
    styles = argv + 7;
    n_styles = argc - 7;
    if (pthread_create(&ops, NULL, redeploy, NULL) != 0)
        die("pthread_create");
    while (!__atomic_load_n(&ops_done, __ATOMIC_ACQUIRE)) {
        verifies++;
        chain_open();
        accepted_classic += verify_classic() == 0;
        chain_close();
        if (__atomic_load_n(&window, __ATOMIC_ACQUIRE)) {
            pkix_verifies++;
            chain_open_named("isonly");
            accepted_pkix += verify_pkix() == 0;
            chain_close();
        }
    }
    pthread_join(ops, NULL);
    printf("verifies=%ld\npkix_verifies=%ld\naccepted_classic=%ld\naccepted_pkix=%ld\n", verifies,
           pkix_verifies, accepted_classic, accepted_pkix);
    chain_open();
    printf("final_classic=%d\n", verify_classic());
    chain_close();
    chain_open_named("isonly");
    printf("final_pkix=%d\n", verify_pkix());
    chain_close();
    return 0;
}

int
main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && strcmp(argv[1], "fork") == 0)
        return test_fork(argv);
    if (argc >= 8 && strcmp(argv[1], "redeploy") == 0)
        return test_redeploy(argc, argv);
    fprintf(stderr, "usage: see the top of tests/test-faults-nss.c\n");
    return 2;
}

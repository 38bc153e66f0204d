/*
 * cmd-verify.c: nssguard verify [--db sql:DIR] [--module PATH] [--overlay PATH]...
 *                               [--log DEST] [--host NAME] [--usage server|client|email]
 *                               [--json] CHAIN.pem
 *
 * Loads the real libnssguard.so into NSS (SECMOD_LoadUserModule), verifies the
 * chain's first certificate with NSS's classic verifier (CERT_VerifyCertificate)
 * with the other certificates as untrusted intermediates, and prints the
 * verdict with NSS's error name, the chain NSS built and the overlay entry that
 * decided it. The verdict is NSS's: a CA is called distrusted only where NSS
 * reported it so (SEC_ERROR_UNTRUSTED_ISSUER / _CERT in its verify log); an
 * entry that matches a CA NSS let through is shown as NOT enforced, with a
 * warning. Where verify applies a rule NSS cannot (name constraints,
 * distrust-after dates) its own verdict comes with NSS's on an "nss:" line.
 * The event is logged with the host name, which the module alone cannot
 * know. The classic verifier runs first and alone: libpkix caches results
 * per process.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cert.h>
#include <certdb.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secerr.h>
#include <secmod.h>
#include <sslerr.h>

#include "tool.h"

/* Firefox's name (mozilla::pkix) for a chain refused by a distrust-after
 * date; NSS has none, since it never applies these dates. */
#define DISTRUST_AFTER_ERROR "MOZILLA_PKIX_ERROR_ISSUER_NO_LONGER_TRUSTED"

#ifndef NSSGUARD_PKCS11DIR
#define NSSGUARD_PKCS11DIR "/usr/lib/pkcs11"
#endif

static void
usage(FILE *fp)
{
    fputs("usage: nssguard verify [--db sql:DIR] [--module PATH] [--overlay FILE|DIR]...\n"
          "                       [--log DEST] [--host NAME] [--usage server|client|email]\n"
          "                       [--json] CHAIN.pem\n"
          "\n"
          "Verifies the first certificate of CHAIN (the others are untrusted\n"
          "intermediates) with NSS and libnssguard.so loaded, and says which overlay\n"
          "entry decided. Exit status 0 valid, 1 rejected, 2 error.\n"
          "\n"
          "  --db sql:DIR     NSS database with the trust anchors\n"
          "                   (default: sql:$HOME/.pki/nssdb when it exists)\n"
          "  --module PATH    the module (default: $NSSGUARD_MODULE, else\n"
          "                   " NSSGUARD_PKCS11DIR "/libnssguard.so)\n"
          "  --overlay PATH   overlay for the module (default: its configuration)\n"
          "  --log DEST       where events go: syslog, stderr, file:PATH, none\n"
          "                   (default: the module's configuration)\n"
          "  --host NAME      check the name too, and log it with the event\n"
          "  --usage USAGE    server (default), client or email\n",
          fp);
}

static char *
join_overlays(char **overlays, size_t n)
{
    size_t len = 1;
    char *s;

    for (size_t i = 0; i < n; i++)
        len += strlen(overlays[i]) + 1;
    s = calloc(1, len);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, ":");
        strcat(s, overlays[i]);
    }
    return s;
}

/* What the module gets: the configuration the tool resolved (parameters,
 * else $NSSGUARD_CONFIG or the system file, else the defaults), with
 * constraints=ignore: the tool applies constraint entries itself, to the
 * leaf's names, where the module could only distrust the whole CA. */
static char *
module_params(const ng_config *cfg)
{
    char *overlay = join_overlays(cfg->overlays, cfg->n_overlays), *log = NULL, *s = NULL;

    if (!overlay)
        return NULL;
    if (asprintf(&log, "%s%s%s%s%s", cfg->log_sinks & NG_LOG_SYSLOG ? "syslog," : "",
                 cfg->log_sinks & NG_LOG_STDERR ? "stderr," : "",
                 cfg->log_sinks & NG_LOG_FILE ? "file:" : "",
                 cfg->log_sinks & NG_LOG_FILE ? cfg->log_file : "",
                 cfg->log_sinks & NG_LOG_FILE ? "," : "") < 0) {
        free(overlay);
        return NULL;
    }
    if (*log)
        log[strlen(log) - 1] = '\0';
    if (asprintf(&s, "overlay=%s log=%s ratelimit=%u reload=%u constraints=ignore", overlay,
                 *log ? log : "none", cfg->ratelimit, cfg->reload_ms / 1000) < 0)
        s = NULL;
    free(overlay);
    free(log);
    return s;
}

/* What nssguard verify enforces that NSS cannot: a constraint entry on a CA
 * of the chain that the leaf's names break, or a distrust-after date on one
 * that the leaf's notBefore passes. Sets *code, *depth and what decided. */
static void
apply_overlay_rules(const tool_overlay *ov, CERTCertList *chain, SECCertUsage usage,
                    PRErrorCode *code, long *depth, const ng_entry **decided,
                    tool_distrust_after *after, bool *by_after, char *detail, size_t size)
{
    CERTCertListNode *leaf = CERT_LIST_HEAD(chain), *n;
    bool server = usage == certUsageSSLServer;
    PRTime not_before, not_after;
    long d = 1;

    if (CERT_LIST_END(leaf, chain))
        return;
    for (n = CERT_LIST_NEXT(leaf); !CERT_LIST_END(n, chain); n = CERT_LIST_NEXT(n), d++) {
        const ng_entry *e = tool_overlay_find(ov, n->cert);
        char name[512];
        if (e && e->name_constraints.len) {
            int ok = tool_check_name_constraints(leaf->cert, e->name_constraints, server, name,
                                                 sizeof(name));
            if (ok != 1) {
                *code = SEC_ERROR_CERT_NOT_IN_NAME_SPACE;
                *depth = d;
                *decided = e;
                if (ok == 0)
                    snprintf(detail, size,
                             "%s is outside the name constraints an overlay entry sets on CERT %ld",
                             name, d);
                else
                    snprintf(detail, size,
                             "the name constraints of the overlay entry on CERT %ld "
                             "do not decode",
                             d);
                return;
            }
        }
        if ((server || usage == certUsageEmailRecipient || usage == certUsageEmailSigner) &&
            tool_overlay_distrust_after(ov, n->cert, !server, after) &&
            CERT_GetCertTimes(leaf->cert, &not_before, &not_after) == SECSuccess &&
            not_before > after->when) {
            *code = SEC_ERROR_UNTRUSTED_ISSUER;
            *depth = d;
            *by_after = true;
            snprintf(detail, size,
                     "the certificate was issued after the %s distrust-after date of CERT %ld",
                     server ? "server" : "email", d);
            return;
        }
    }
}

static const char *
error_name(PRErrorCode code)
{
    const char *name =
        code == SSL_ERROR_BAD_CERT_DOMAIN ? "SSL_ERROR_BAD_CERT_DOMAIN" : PR_ErrorToName(code);

    return name ? name : "UNKNOWN_ERROR";
}

/* NSS's errors for a distrusted certificate: the classic verifier's and
 * libpkix's. */
static bool
is_distrust_error(PRErrorCode code)
{
    return code == SEC_ERROR_UNTRUSTED_ISSUER || code == SEC_ERROR_UNTRUSTED_CERT;
}

/* Did NSS reject the chain (chain_code) and report cert as distrusted? */
static bool
nss_distrusted(const CERTVerifyLog *vlog, PRErrorCode chain_code, CERTCertificate *cert)
{
    if (!chain_code)
        return false;
    for (const CERTVerifyLogNode *n = vlog->head; n; n = n->next) {
        if (is_distrust_error(n->error) && n->cert &&
            SECITEM_ItemsAreEqual(&n->cert->derCert, &cert->derCert))
            return true;
    }
    return false;
}

static const char *
copy_name(tool_recorded copy)
{
    switch (copy) {
    case TOOL_RECORDED_SAME:
        return "same";
    case TOOL_RECORDED_REENCODED:
        return "re-encoded";
    case TOOL_RECORDED_OTHER:
        return "other-certificate";
    default:
        return "none";
    }
}

/* A distrust entry that matches a CA of the chain where NSS reported no
 * distrust. */
typedef struct {
    const ng_entry *entry;
    long depth;
    tool_recorded copy;
} unenforced_ca;

static void
print_unenforced(const unenforced_ca *u, PRErrorCode chain_code, bool json)
{
    char why[1024];

    if (chain_code)
        snprintf(why, sizeof(why),
                 "NSS rejected the chain with %s, not with this entry's distrust of CERT %ld",
                 error_name(chain_code), u->depth);
    else
        snprintf(why, sizeof(why),
                 "NSS ACCEPTED the chain although this entry matches CERT %ld by issuer and "
                 "serial. Possible causes: the module NSS loaded does not serve this entry "
                 "(another module, version or configuration); another token's trust for this "
                 "certificate won; or the module serves a certificate hash that these bytes "
                 "do not match, and NSS dropped the record%s",
                 u->depth,
                 u->copy == TOOL_RECORDED_REENCODED
                     ? " (this certificate is a re-encoded copy of the recorded one)"
                 : u->copy == TOOL_RECORDED_OTHER
                     ? " (this certificate's bytes are not the recorded one's)"
                     : "");
    if (json) {
        printf("{\"depth\":%ld,\"nss\":\"%s\",\"copy\":\"%s\",\"message\":", u->depth,
               chain_code ? "rejected" : "accepted", copy_name(u->copy));
        tool_json_string(stdout, why);
        printf(",\"entry\":");
        tool_json_entry(stdout, u->entry);
        putchar('}');
        return;
    }
    printf("%s: overlay entry \"%s\" NOT enforced by NSS on CERT %ld\n",
           chain_code ? "note" : "warning", u->entry->label[0] ? u->entry->label : "(no label)",
           u->depth);
    /* the reason, folded at 76 columns */
    for (const char *p = why; *p;) {
        size_t n = strlen(p), cut = n;
        if (n > 76) {
            cut = 76;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = 76;
        }
        printf("  %.*s\n", (int)cut, p);
        p += cut;
        while (*p == ' ')
            p++;
    }
    tool_print_entry(stdout, u->entry, "  ");
}

int
tool_cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"module", required_argument, NULL, 'm'},
        {"overlay", required_argument, NULL, 'O'},
        {"log", required_argument, NULL, 'L'},
        {"host", required_argument, NULL, 'H'},
        {"usage", required_argument, NULL, 'u'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *module = NULL, *log_dest = NULL, *host = NULL, *why;
    const char *usage_name = "server";
    char **overlays = NULL, *overlay_param = NULL, *params = NULL, *spec = NULL;
    char home_db[4096];
    size_t n_overlays = 0;
    SECCertificateUsage cert_usage = certificateUsageSSLServer;
    SECCertUsage chain_usage = certUsageSSLServer;
    bool json = false, loaded = false, nss_up = false;
    tool_overlay ov;
    tool_certs certs = {0};
    ng_config cfg;
    ng_error err;
    SECMODModule *mod = NULL;
    CERTCertificate **temps = NULL;
    CERTVerifyLog vlog;
    CERTCertList *chain = NULL;
    const ng_entry *decided = NULL;
    tool_distrust_after after;
    bool by_after = false;
    char own[768] = "";         /* what nssguard itself enforced, when it decided */
    PRErrorCode code = 0;       /* the verdict */
    PRErrorCode chain_code = 0; /* NSS's verdict on the chain */
    PRErrorCode nss_code = 0;   /* NSS's, with its name check (--host) */
    unenforced_ca unenforced[8];
    size_t n_unenforced = 0;
    long err_depth = -1;
    char subject[1024];
    int c, rc = TOOL_EXIT_ERROR;

    memset(&vlog, 0, sizeof(vlog));
    memset(&cfg, 0, sizeof(cfg)); /* ng_config_load fills it below */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'm':
            module = optarg;
            break;
        case 'O':
            if (!tool_strv_push(&overlays, &n_overlays, optarg))
                goto out;
            break;
        case 'L':
            log_dest = optarg;
            break;
        case 'H':
            host = optarg;
            break;
        case 'u':
            usage_name = optarg;
            if (strcmp(optarg, "server") == 0) {
                cert_usage = certificateUsageSSLServer;
                chain_usage = certUsageSSLServer;
            } else if (strcmp(optarg, "client") == 0) {
                cert_usage = certificateUsageSSLClient;
                chain_usage = certUsageSSLClient;
            } else if (strcmp(optarg, "email") == 0) {
                cert_usage = certificateUsageEmailRecipient;
                chain_usage = certUsageEmailRecipient;
            } else {
                tool_error("--usage is server, client or email");
                goto out;
            }
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            rc = TOOL_EXIT_OK;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (optind + 1 != argc) {
        tool_error("verify wants one CHAIN file");
        usage(stderr);
        goto out;
    }
    if (!module)
        module = getenv("NSSGUARD_MODULE");
    if (!module || !*module)
        module = NSSGUARD_PKCS11DIR "/libnssguard.so";
    if (access(module, R_OK) != 0) {
        tool_error("%s: cannot read the module (--module or NSSGUARD_MODULE)", module);
        goto out;
    }
    if (!db && getenv("HOME")) {
        snprintf(home_db, sizeof(home_db), "%s/.pki/nssdb", getenv("HOME"));
        if (access(home_db, R_OK) == 0) {
            snprintf(home_db, sizeof(home_db), "sql:%s/.pki/nssdb", getenv("HOME"));
            db = home_db;
        }
    }

    /* The module's parameters, and the same log destination for our event. */
    overlay_param = join_overlays(overlays, n_overlays);
    if (!overlay_param ||
        asprintf(&params, "%s%s%s%s", n_overlays ? "overlay=" : "", overlay_param,
                 log_dest ? (n_overlays ? " log=" : "log=") : "", log_dest ? log_dest : "") < 0) {
        params = NULL;
        goto out;
    }
    /* What the module does with these parameters, the tool does for its event. */
    if (!ng_config_load(&cfg, *params ? params : NULL, &err)) {
        tool_error("%s", err.msg);
        goto out;
    }
    ng_log_configure(&cfg);

    if (!tool_nss_init(db))
        goto out;
    nss_up = true;
    free(params);
    params = module_params(&cfg);
    if (!params)
        goto out;
    if (asprintf(&spec, "library=\"%s\" name=\"nssguard\" parameters=\"%s\"", module, params) < 0) {
        spec = NULL;
        goto out;
    }
    mod = SECMOD_LoadUserModule(spec, NULL, PR_FALSE);
    if (!mod || !mod->loaded) {
        tool_error("%s: NSS cannot load the module: %s", module, error_name(PR_GetError()));
        goto out;
    }
    loaded = tool_overlay_load(&ov, overlays, n_overlays);
    if (!loaded)
        goto out;

    if (!tool_certs_read_file(&certs, argv[optind], &why)) {
        tool_error("%s: %s", argv[optind], why);
        goto out;
    }
    temps = calloc(certs.n, sizeof(*temps));
    if (!temps)
        goto out;
    /* Intermediates first, the leaf last (the order a TLS stack sees them in
     * makes no difference to NSS, but this is the order the tests prove). */
    for (size_t i = certs.n; i-- > 0;) {
        temps[i] = CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &certs.items[i], NULL, PR_FALSE,
                                           PR_TRUE);
        if (!temps[i]) {
            tool_error("%s: certificate %zu: %s", argv[optind], i + 1, error_name(PR_GetError()));
            goto out;
        }
    }

    vlog.arena = PORT_NewArena(2048);
    if (!vlog.arena)
        goto out;
    /* The verdict comes from a call without a CERTVerifyLog: with one, NSS 3.87
     * returns SECSuccess for a chain through a distrusted sub-CA and only logs
     * SEC_ERROR_UNTRUSTED_ISSUER. The second call, with the log, says where. */
    if (CERT_VerifyCertificate(CERT_GetDefaultCertDB(), temps[0], PR_TRUE, cert_usage, PR_Now(),
                               NULL, NULL, NULL) != SECSuccess) {
        code = nss_code = chain_code = PR_GetError();
        (void)CERT_VerifyCertificate(CERT_GetDefaultCertDB(), temps[0], PR_TRUE, cert_usage,
                                     PR_Now(), NULL, &vlog, NULL);
        for (CERTVerifyLogNode *n = vlog.head; n; n = n->next) {
            if (n->error == code) {
                err_depth = (long)n->depth;
                if (is_distrust_error(code))
                    decided = tool_overlay_find(&ov, n->cert);
                break;
            }
        }
    }
    chain = CERT_GetCertChainFromCert(temps[0], PR_Now(), chain_usage);
    if (!nss_code && host && CERT_VerifyCertName(temps[0], host) != SECSuccess)
        nss_code = SSL_ERROR_BAD_CERT_DOMAIN;
    if (!code && chain)
        apply_overlay_rules(&ov, chain, chain_usage, &code, &err_depth, &decided, &after, &by_after,
                            own, sizeof(own));
    if (!code && nss_code == SSL_ERROR_BAD_CERT_DOMAIN) {
        code = nss_code;
        err_depth = 0;
    }
    /* An entry decides for NSS only where NSS reported its distrust: the
     * chain listing never calls a CA distrusted that NSS let through. */
    if (code && !own[0] && !by_after && !decided && chain) {
        for (CERTCertListNode *n = CERT_LIST_HEAD(chain); !CERT_LIST_END(n, chain) && !decided;
             n = CERT_LIST_NEXT(n)) {
            const ng_entry *e = tool_overlay_find(&ov, n->cert);
            if (e && nss_distrusted(&vlog, chain_code, n->cert))
                decided = e;
        }
    }

    tool_name_text((ng_bytes){temps[0]->derSubject.data, temps[0]->derSubject.len}, subject,
                   sizeof(subject));
    if (json) {
        printf("{\"verdict\":\"%s\",\"error\":", code ? "rejected" : "valid");
        if (code)
            tool_json_string(stdout, by_after ? DISTRUST_AFTER_ERROR : error_name(code));
        else
            fputs("null", stdout);
        printf(",\"enforced_by\":\"%s\"", !code                ? ""
                                          : own[0] || by_after ? "nssguard verify"
                                                               : "NSS");
        printf(",\"nss_verdict\":\"%s\",\"nss_error\":", nss_code ? "rejected" : "valid");
        if (nss_code)
            tool_json_string(stdout, error_name(nss_code));
        else
            fputs("null", stdout);
        printf(",\"depth\":%ld,\"usage\":", err_depth);
        tool_json_string(stdout, usage_name);
        printf(",\"host\":");
        if (host)
            tool_json_string(stdout, host);
        else
            fputs("null", stdout);
        printf(",\"chain\":[");
    } else if (code) {
        printf("verdict: REJECTED %s (%s)\n", by_after ? DISTRUST_AFTER_ERROR : error_name(code),
               own[0]                              ? own
               : code == SSL_ERROR_BAD_CERT_DOMAIN ? "the certificate is not valid for this name"
                                                   : PR_ErrorToString(code, PR_LANGUAGE_I_DEFAULT));
        if (own[0] || by_after) /* nssguard's own rule: NSS's verdict was another */
            printf("nss:     %s%s (%s)\n", nss_code ? "REJECTED " : "VALID",
                   nss_code ? error_name(nss_code) : "",
                   nss_code   ? "the certificate is not valid for this name"
                   : by_after ? "NSS accepted the chain: it does not apply distrust-after dates"
                              : "NSS accepted the chain: it cannot apply an overlay's name "
                                "constraints");
        if (err_depth >= 0)
            printf("at:      CERT %ld\n", err_depth);
    } else {
        printf("verdict: VALID (%s)\n", usage_name);
    }
    if (!json)
        printf("chain:\n");
    if (chain) {
        size_t depth = 0;
        for (CERTCertListNode *n = CERT_LIST_HEAD(chain); !CERT_LIST_END(n, chain);
             n = CERT_LIST_NEXT(n), depth++) {
            const ng_entry *e = tool_overlay_find(&ov, n->cert);
            bool enforced = e && e->distrusted && nss_distrusted(&vlog, chain_code, n->cert);
            tool_recorded copy = e ? tool_compare_recorded(
                                         e, (ng_bytes){n->cert->derCert.data, n->cert->derCert.len})
                                   : TOOL_RECORDED_NONE;
            char name[1024];
            tool_name_text((ng_bytes){n->cert->derSubject.data, n->cert->derSubject.len}, name,
                           sizeof(name));
            if (e && e->distrusted && !enforced && n_unenforced < NG_N_ELEMENTS(unenforced))
                unenforced[n_unenforced++] = (unenforced_ca){e, (long)depth, copy};
            if (json) {
                printf("%s{\"depth\":%zu,\"subject\":", depth ? "," : "", depth);
                tool_json_string(stdout, name);
                printf(",\"%s\":", e && !e->distrusted ? "constrained_by" : "distrusted_by");
                if (e && (!e->distrusted || enforced))
                    tool_json_entry(stdout, e);
                else
                    fputs("null", stdout);
                printf(",\"overlay_entry\":");
                if (e)
                    tool_json_entry(stdout, e);
                else
                    fputs("null", stdout);
                printf(",\"enforced\":%s,\"copy\":", !e ? "null" : enforced ? "true" : "false");
                if (copy == TOOL_RECORDED_NONE)
                    fputs("null", stdout);
                else
                    printf("\"%s\"", copy_name(copy));
                putchar('}');
            } else {
                printf("  %zu %s%s%s%s%s\n", depth, name,
                       !e               ? ""
                       : !e->distrusted ? "  [constrained: "
                       : enforced       ? "  [distrusted: "
                                        : "  [overlay entry NOT enforced by NSS here: ",
                       e ? e->label : "", e ? "]" : "",
                       copy == TOOL_RECORDED_REENCODED ? " (re-encoded copy)"
                       : copy == TOOL_RECORDED_OTHER   ? " (other bytes, same issuer and serial)"
                                                       : "");
            }
        }
    }
    if (json) {
        printf("],\"decided_by\":");
        if (by_after) {
            printf("{\"distrust_after\":");
            tool_json_string(stdout, after.date);
            printf(",\"label\":");
            tool_json_string(stdout, after.label);
            printf(",\"file\":");
            tool_json_string(stdout, after.file);
            printf(",\"line\":%u}", after.line);
        } else if (decided)
            tool_json_entry(stdout, decided);
        else
            fputs("null", stdout);
        printf(",\"warnings\":[");
        for (size_t i = 0; i < n_unenforced; i++) {
            if (i)
                putchar(',');
            print_unenforced(&unenforced[i], chain_code, true);
        }
        printf("]}\n");
    } else {
        if (by_after) {
            printf("decided by: nssguard verify (NSS does not apply distrust-after dates)\n");
            printf("  %s\n", after.label[0] ? after.label : "(no label)");
            printf("    distrust-after: %s%.2s-%.2s-%.2s %.2s:%.2s:%.2s UTC (%s)\n",
                   after.date[0] >= '5' ? "19" : "20", after.date, after.date + 2, after.date + 4,
                   after.date + 6, after.date + 8, after.date + 10, after.date);
            printf("    source:         %s:%u\n", after.file, after.line);
        } else if (decided) {
            printf("decided by:%s\n",
                   own[0] ? " nssguard verify (NSS cannot apply an overlay's name constraints)"
                          : "");
            tool_print_entry(stdout, decided, "  ");
        } else if (code) {
            printf("decided by: NSS (%s)\n",
                   n_unenforced ? "not by an overlay entry" : "no overlay entry on this chain");
        }
        for (size_t i = 0; i < n_unenforced; i++)
            print_unenforced(&unenforced[i], chain_code, false);
    }

    ng_log_event(NG_EV_VERIFY, "host", host ? host : "", "usage", usage_name, "verdict",
                 code ? "rejected" : "valid", "error", code ? error_name(code) : "", "subject",
                 subject, "label", decided ? decided->label : "", "reason",
                 decided ? decided->reason : "", "reference", decided ? decided->reference : "",
                 NULL);
    rc = code ? TOOL_EXIT_FOUND : TOOL_EXIT_OK;
out:
    if (chain)
        CERT_DestroyCertList(chain);
    if (vlog.arena) {
        for (CERTVerifyLogNode *n = vlog.head; n; n = n->next)
            CERT_DestroyCertificate(n->cert);
        PORT_FreeArena(vlog.arena, PR_FALSE);
    }
    for (size_t i = 0; temps && i < certs.n; i++) {
        if (temps[i])
            CERT_DestroyCertificate(temps[i]);
    }
    free(temps);
    tool_certs_clear(&certs);
    if (loaded)
        tool_overlay_clear(&ov);
    if (mod) {
        if (mod->loaded)
            SECMOD_UnloadUserModule(mod);
        SECMOD_DestroyModule(mod);
    }
    if (nss_up)
        tool_nss_shutdown();
    ng_log_close();
    ng_config_clear(&cfg);
    free(spec);
    free(params);
    free(overlay_param);
    free(overlays);
    return rc;
}

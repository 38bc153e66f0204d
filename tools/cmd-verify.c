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

/* One verification: the options, what was loaded, and the verdict. */
typedef struct {
    const char *db, *module, *log_dest, *host, *chain_file;
    const char *usage_name;
    SECCertificateUsage cert_usage;
    SECCertUsage chain_usage;
    char home_db[4096];
    char *overlay_param, *params, *spec;
    ng_config cfg;
    SECMODModule *mod;
    bool nss_up, loaded;
    tool_overlay ov;
    tool_certs certs;
    CERTCertificate **temps;
    CERTVerifyLog vlog;
    CERTCertList *chain;
    const ng_entry *decided;
    tool_distrust_after after;
    bool by_after;
    char own[768];          /* what nssguard itself enforced, when it decided */
    PRErrorCode code;       /* the verdict */
    PRErrorCode chain_code; /* NSS's verdict on the chain */
    PRErrorCode nss_code;   /* NSS's, with its name check (--host) */
    unenforced_ca unenforced[8];
    size_t n_unenforced;
    long err_depth;
    bool json;
} verify_ctx;

static int
verify_option(void *ctx, int opt, char *arg)
{
    verify_ctx *v = ctx;

    switch (opt) {
    case 'd':
        v->db = arg;
        return -1;
    case 'm':
        v->module = arg;
        return -1;
    case 'L':
        v->log_dest = arg;
        return -1;
    case 'H':
        v->host = arg;
        return -1;
    case 'u':
        v->usage_name = arg;
        if (strcmp(arg, "server") == 0) {
            v->cert_usage = certificateUsageSSLServer;
            v->chain_usage = certUsageSSLServer;
        } else if (strcmp(arg, "client") == 0) {
            v->cert_usage = certificateUsageSSLClient;
            v->chain_usage = certUsageSSLClient;
        } else if (strcmp(arg, "email") == 0) {
            v->cert_usage = certificateUsageEmailRecipient;
            v->chain_usage = certUsageEmailRecipient;
        } else {
            tool_error("--usage is server, client or email");
            return TOOL_EXIT_ERROR;
        }
        return -1;
    default:
        return TOOL_EXIT_ERROR;
    }
}

/* The module file and the database, from the options or their defaults. */
static bool
find_module_and_db(verify_ctx *v)
{
    const char *home = getenv("HOME");

    if (!v->module)
        v->module = getenv("NSSGUARD_MODULE");
    if (!v->module || !*v->module)
        v->module = NSSGUARD_PKCS11DIR "/libnssguard.so";
    if (access(v->module, R_OK) != 0) {
        tool_error("%s: cannot read the module (--module or NSSGUARD_MODULE)", v->module);
        return false;
    }
    if (!v->db && home) {
        snprintf(v->home_db, sizeof(v->home_db), "%s/.pki/nssdb", home);
        if (access(v->home_db, R_OK) == 0) {
            snprintf(v->home_db, sizeof(v->home_db), "sql:%s/.pki/nssdb", home);
            v->db = v->home_db;
        }
    }
    return true;
}

/* The module's configuration (the tool logs its own event the same way),
 * NSS, the module loaded into it, and the overlays for the report. */
static bool
load_module(verify_ctx *v, tool_common *common)
{
    ng_error err;
    size_t n = common->n_overlays;

    v->overlay_param = join_overlays(common->overlays, n);
    if (!v->overlay_param ||
        asprintf(&v->params, "%s%s%s%s", n ? "overlay=" : "", v->overlay_param,
                 v->log_dest ? (n ? " log=" : "log=") : "", v->log_dest ? v->log_dest : "") < 0) {
        v->params = NULL;
        return false;
    }
    if (!ng_config_load(&v->cfg, *v->params ? v->params : NULL, &err)) {
        tool_error("%s", err.msg);
        return false;
    }
    ng_log_configure(&v->cfg);
    if (!tool_nss_init(v->db))
        return false;
    v->nss_up = true;
    free(v->params);
    v->params = module_params(&v->cfg);
    if (!v->params || asprintf(&v->spec, "library=\"%s\" name=\"nssguard\" parameters=\"%s\"",
                               v->module, v->params) < 0) {
        v->spec = NULL;
        return false;
    }
    v->mod = SECMOD_LoadUserModule(v->spec, NULL, PR_FALSE);
    if (!v->mod || !v->mod->loaded) {
        tool_error("%s: NSS cannot load the module: %s", v->module, error_name(PR_GetError()));
        return false;
    }
    v->loaded = tool_common_load(common, &v->ov);
    return v->loaded;
}

static bool
read_chain(verify_ctx *v)
{
    const char *why;

    if (!tool_certs_read_file(&v->certs, v->chain_file, &why)) {
        tool_error("%s: %s", v->chain_file, why);
        return false;
    }
    v->temps = calloc(v->certs.n, sizeof(*v->temps));
    if (!v->temps)
        return false;
    /* Intermediates first, the leaf last (the order a TLS stack sees them in
     * makes no difference to NSS, but this is the order the tests prove). */
    for (size_t i = v->certs.n; i-- > 0;) {
        v->temps[i] = CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &v->certs.items[i], NULL,
                                              PR_FALSE, PR_TRUE);
        if (!v->temps[i]) {
            tool_error("%s: certificate %zu: %s", v->chain_file, i + 1, error_name(PR_GetError()));
            return false;
        }
    }
    v->vlog.arena = PORT_NewArena(2048);
    return v->vlog.arena != NULL;
}

/* NSS's verdict, where it stopped, and the entry that decided. */
static void
nss_verdict(verify_ctx *v)
{
    CERTCertDBHandle *db = CERT_GetDefaultCertDB();

    /* The verdict comes from a call without a CERTVerifyLog: with one, NSS 3.87
     * returns SECSuccess for a chain through a distrusted sub-CA and only logs
     * SEC_ERROR_UNTRUSTED_ISSUER. The second call, with the log, says where. */
    if (CERT_VerifyCertificate(db, v->temps[0], PR_TRUE, v->cert_usage, PR_Now(), NULL, NULL,
                               NULL) == SECSuccess)
        return;
    v->code = v->nss_code = v->chain_code = PR_GetError();
    (void)CERT_VerifyCertificate(db, v->temps[0], PR_TRUE, v->cert_usage, PR_Now(), NULL, &v->vlog,
                                 NULL);
    for (CERTVerifyLogNode *n = v->vlog.head; n; n = n->next) {
        if (n->error == v->code) {
            v->err_depth = (long)n->depth;
            if (is_distrust_error(v->code))
                v->decided = tool_overlay_find(&v->ov, n->cert);
            break;
        }
    }
}

static void
decide(verify_ctx *v)
{
    nss_verdict(v);
    v->chain = CERT_GetCertChainFromCert(v->temps[0], PR_Now(), v->chain_usage);
    if (!v->nss_code && v->host && CERT_VerifyCertName(v->temps[0], v->host) != SECSuccess)
        v->nss_code = SSL_ERROR_BAD_CERT_DOMAIN;
    if (!v->code && v->chain)
        apply_overlay_rules(&v->ov, v->chain, v->chain_usage, &v->code, &v->err_depth, &v->decided,
                            &v->after, &v->by_after, v->own, sizeof(v->own));
    if (!v->code && v->nss_code == SSL_ERROR_BAD_CERT_DOMAIN) {
        v->code = v->nss_code;
        v->err_depth = 0;
    }
    /* An entry decides for NSS only where NSS reported its distrust: the
     * chain listing never calls a CA distrusted that NSS let through. */
    if (!v->code || v->own[0] || v->by_after || v->decided || !v->chain)
        return;
    for (CERTCertListNode *n = CERT_LIST_HEAD(v->chain); !CERT_LIST_END(n, v->chain) && !v->decided;
         n = CERT_LIST_NEXT(n)) {
        const ng_entry *e = tool_overlay_find(&v->ov, n->cert);
        if (e && nss_distrusted(&v->vlog, v->chain_code, n->cert))
            v->decided = e;
    }
}

static void
json_string_or_null(const char *s)
{
    if (s)
        tool_json_string(stdout, s);
    else
        fputs("null", stdout);
}

static void
print_verdict_json(const verify_ctx *v)
{
    printf("{\"verdict\":\"%s\",\"error\":", v->code ? "rejected" : "valid");
    json_string_or_null(!v->code ? NULL : v->by_after ? DISTRUST_AFTER_ERROR : error_name(v->code));
    printf(",\"enforced_by\":\"%s\"", !v->code                   ? ""
                                      : v->own[0] || v->by_after ? "nssguard verify"
                                                                 : "NSS");
    printf(",\"nss_verdict\":\"%s\",\"nss_error\":", v->nss_code ? "rejected" : "valid");
    json_string_or_null(v->nss_code ? error_name(v->nss_code) : NULL);
    printf(",\"depth\":%ld,\"usage\":", v->err_depth);
    tool_json_string(stdout, v->usage_name);
    printf(",\"host\":");
    json_string_or_null(v->host);
    printf(",\"chain\":[");
}

static void
print_verdict_text(const verify_ctx *v)
{
    if (!v->code) {
        printf("verdict: VALID (%s)\n", v->usage_name);
        printf("chain:\n");
        return;
    }
    printf("verdict: REJECTED %s (%s)\n", v->by_after ? DISTRUST_AFTER_ERROR : error_name(v->code),
           v->own[0] ? v->own
           : v->code == SSL_ERROR_BAD_CERT_DOMAIN
               ? "the certificate is not valid for this name"
               : PR_ErrorToString(v->code, PR_LANGUAGE_I_DEFAULT));
    if (v->own[0] || v->by_after) /* nssguard's own rule: NSS's verdict was another */
        printf("nss:     %s%s (%s)\n", v->nss_code ? "REJECTED " : "VALID",
               v->nss_code ? error_name(v->nss_code) : "",
               v->nss_code   ? "the certificate is not valid for this name"
               : v->by_after ? "NSS accepted the chain: it does not apply distrust-after dates"
                             : "NSS accepted the chain: it cannot apply an overlay's name "
                               "constraints");
    if (v->err_depth >= 0)
        printf("at:      CERT %ld\n", v->err_depth);
    printf("chain:\n");
}

static void
print_chain_cert(const verify_ctx *v, size_t depth, const char *name, const ng_entry *e,
                 bool enforced, tool_recorded copy)
{
    if (!v->json) {
        printf("  %zu %s%s%s%s%s\n", depth, name,
               !e               ? ""
               : !e->distrusted ? "  [constrained: "
               : enforced       ? "  [distrusted: "
                                : "  [overlay entry NOT enforced by NSS here: ",
               e ? e->label : "", e ? "]" : "",
               copy == TOOL_RECORDED_REENCODED ? " (re-encoded copy)"
               : copy == TOOL_RECORDED_OTHER   ? " (other bytes, same issuer and serial)"
                                               : "");
        return;
    }
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
}

/* The chain NSS built, each CA with its entry; collects the entries NSS
 * did not enforce. */
static void
print_chain(verify_ctx *v)
{
    size_t depth = 0;

    if (!v->chain)
        return;
    for (CERTCertListNode *n = CERT_LIST_HEAD(v->chain); !CERT_LIST_END(n, v->chain);
         n = CERT_LIST_NEXT(n), depth++) {
        const ng_entry *e = tool_overlay_find(&v->ov, n->cert);
        bool enforced = e && e->distrusted && nss_distrusted(&v->vlog, v->chain_code, n->cert);
        tool_recorded copy =
            e ? tool_compare_recorded(e, (ng_bytes){n->cert->derCert.data, n->cert->derCert.len})
              : TOOL_RECORDED_NONE;
        char name[1024];
        tool_name_text((ng_bytes){n->cert->derSubject.data, n->cert->derSubject.len}, name,
                       sizeof(name));
        if (e && e->distrusted && !enforced && v->n_unenforced < NG_N_ELEMENTS(v->unenforced))
            v->unenforced[v->n_unenforced++] = (unenforced_ca){e, (long)depth, copy};
        print_chain_cert(v, depth, name, e, enforced, copy);
    }
}

static void
print_decision_json(const verify_ctx *v)
{
    printf("],\"decided_by\":");
    if (v->by_after) {
        printf("{\"distrust_after\":");
        tool_json_string(stdout, v->after.date);
        printf(",\"label\":");
        tool_json_string(stdout, v->after.label);
        printf(",\"file\":");
        tool_json_string(stdout, v->after.file);
        printf(",\"line\":%u}", v->after.line);
    } else if (v->decided) {
        tool_json_entry(stdout, v->decided);
    } else {
        fputs("null", stdout);
    }
    printf(",\"warnings\":[");
    for (size_t i = 0; i < v->n_unenforced; i++) {
        if (i)
            putchar(',');
        print_unenforced(&v->unenforced[i], v->chain_code, true);
    }
    printf("]}\n");
}

static void
print_decision_text(const verify_ctx *v)
{
    const tool_distrust_after *a = &v->after;

    if (v->by_after) {
        printf("decided by: nssguard verify (NSS does not apply distrust-after dates)\n");
        printf("  %s\n", a->label[0] ? a->label : "(no label)");
        printf("    distrust-after: %s%.2s-%.2s-%.2s %.2s:%.2s:%.2s UTC (%s)\n",
               a->date[0] >= '5' ? "19" : "20", a->date, a->date + 2, a->date + 4, a->date + 6,
               a->date + 8, a->date + 10, a->date);
        printf("    source:         %s:%u\n", a->file, a->line);
    } else if (v->decided) {
        printf("decided by:%s\n",
               v->own[0] ? " nssguard verify (NSS cannot apply an overlay's name constraints)"
                         : "");
        tool_print_entry(stdout, v->decided, "  ");
    } else if (v->code) {
        printf("decided by: NSS (%s)\n",
               v->n_unenforced ? "not by an overlay entry" : "no overlay entry on this chain");
    }
    for (size_t i = 0; i < v->n_unenforced; i++)
        print_unenforced(&v->unenforced[i], v->chain_code, false);
}

static void
report(verify_ctx *v)
{
    char subject[1024];
    const ng_entry *d = v->decided;

    if (v->json)
        print_verdict_json(v);
    else
        print_verdict_text(v);
    print_chain(v);
    if (v->json)
        print_decision_json(v);
    else
        print_decision_text(v);
    tool_name_text((ng_bytes){v->temps[0]->derSubject.data, v->temps[0]->derSubject.len}, subject,
                   sizeof(subject));
    ng_log_event(NG_EV_VERIFY, "host", v->host ? v->host : "", "usage", v->usage_name, "verdict",
                 v->code ? "rejected" : "valid", "error", v->code ? error_name(v->code) : "",
                 "subject", subject, "label", d ? d->label : "", "reason", d ? d->reason : "",
                 "reference", d ? d->reference : "", NULL);
}

static void
verify_clear(verify_ctx *v)
{
    if (v->chain)
        CERT_DestroyCertList(v->chain);
    if (v->vlog.arena) {
        for (CERTVerifyLogNode *n = v->vlog.head; n; n = n->next)
            CERT_DestroyCertificate(n->cert);
        PORT_FreeArena(v->vlog.arena, PR_FALSE);
    }
    for (size_t i = 0; v->temps && i < v->certs.n; i++) {
        if (v->temps[i])
            CERT_DestroyCertificate(v->temps[i]);
    }
    free(v->temps);
    tool_certs_clear(&v->certs);
    if (v->loaded)
        tool_overlay_clear(&v->ov);
    if (v->mod) {
        if (v->mod->loaded)
            SECMOD_UnloadUserModule(v->mod);
        SECMOD_DestroyModule(v->mod);
    }
    if (v->nss_up)
        tool_nss_shutdown();
    ng_log_close();
    ng_config_clear(&v->cfg);
    free(v->spec);
    free(v->params);
    free(v->overlay_param);
}

int
tool_cmd_verify(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},    {"module", required_argument, NULL, 'm'},
        {"log", required_argument, NULL, 'L'},   {"host", required_argument, NULL, 'H'},
        {"usage", required_argument, NULL, 'u'}, {NULL, 0, NULL, 0},
    };
    verify_ctx *v = calloc(1, sizeof(*v));
    tool_common common = {.name = "verify",
                          .usage = usage,
                          .flags = TOOL_OPT_JSON | TOOL_OPT_OVERLAY | TOOL_OPT_ONE_OPERAND,
                          .operand_error = "verify wants one CHAIN file",
                          .options = options,
                          .option = verify_option,
                          .ctx = v};
    int rc = TOOL_EXIT_ERROR;

    if (!v)
        return rc;
    v->usage_name = "server";
    v->cert_usage = certificateUsageSSLServer;
    v->chain_usage = certUsageSSLServer;
    v->err_depth = -1;
    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    v->json = common.json;
    v->chain_file = argv[optind];
    if (!find_module_and_db(v) || !load_module(v, &common) || !read_chain(v))
        goto out;
    decide(v);
    report(v);
    rc = v->code ? TOOL_EXIT_FOUND : TOOL_EXIT_OK;
out:
    verify_clear(v);
    tool_common_clear(&common);
    free(v);
    return rc;
}

/*
 * cmd-audit.c: nssguard audit [--overlay PATH]... [--json] CERT-DIR|BUNDLE|sql:DB...
 *
 * For every CA certificate (basicConstraints cA=TRUE) among those given,
 * whether it is technically constrained in the sense of Mozilla's Root Store
 * Policy, section 5.3.1:
 *
 *   - an EKU extension is present and does not hold anyExtendedKeyUsage;
 *   - with id-kp-serverAuth: name constraints as in section 7.1.5 of the
 *     Baseline Requirements: dNSName (a permitted name, or the empty name
 *     excluded), iPAddress (a permitted range, or both 0.0.0.0/0 and ::/0
 *     excluded) and directoryName (a permitted name);
 *   - with id-kp-emailProtection: at least one permitted rfc822Name.
 *
 * Classes: constrained; unconstrained (it can issue working server or email
 * certificates for names its holder does not own: a MITM CA if misused);
 * not-for-TLS (its EKU holds neither serverAuth, emailProtection nor anyEKU).
 * Each CA is looked up in the overlay by issuer and serial with the module's
 * index (ng_index_find): covered when an entry distrusts or constrains it.
 *
 * Exit status: 1 when an unconstrained sub-CA is not covered by the overlay
 * (roots, self-issued, are listed but do not count: the policy is about
 * intermediates), 0 otherwise, 2 on unreadable input.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cert.h>
#include <certdb.h>
#include <prprf.h>
#include <secoid.h>

#include "tool.h"

typedef enum {
    CLASS_CONSTRAINED,
    CLASS_UNCONSTRAINED,
    CLASS_NOT_FOR_TLS,
} audit_class;

static const char *const class_names[] = {"constrained", "unconstrained", "not-for-TLS"};

typedef struct {
    const SECItem *der;
    const char *origin;
    char subject[1024];
    char serial[256];
    bool root;
    audit_class cls;
    char eku[256]; /* "serverAuth,clientAuth", "" when no extension */
    bool has_eku;
    char why[512];
    const ng_entry *entry; /* the overlay entry covering it, or NULL */
} audit_row;

/* ---- reading the input ---- */

static bool
cert_file_name(const char *name)
{
    static const char *const exts[] = {".pem", ".crt", ".cer", ".der"};
    size_t n = strlen(name);

    if (name[0] == '.')
        return false;
    for (size_t i = 0; i < NG_N_ELEMENTS(exts); i++) {
        if (n > 4 && strcmp(name + n - 4, exts[i]) == 0)
            return true;
    }
    return false;
}

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory: its *.pem, *.crt, *.cer and *.der files in name order. */
static bool
read_dir(tool_certs *certs, const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char **names = NULL, **nn;
    tool_certs one = {0};
    size_t n = 0;
    bool ok = false;
    const char *why;

    if (!d) {
        tool_error("%s: %s", path, strerror(errno));
        return false;
    }
    while ((de = readdir(d)) != NULL) {
        if (!cert_file_name(de->d_name))
            continue;
        nn = realloc(names, (n + 1) * sizeof(*nn));
        if (!nn)
            goto out;
        names = nn;
        if (asprintf(&names[n], "%s/%s", path, de->d_name) < 0)
            goto out;
        n++;
    }
    qsort(names, n, sizeof(*names), compare_strings);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && !S_ISREG(st.st_mode))
            continue;
        if (!tool_certs_read_file(&one, names[i], &why)) {
            tool_error("%s: %s", names[i], why);
            goto out;
        }
        /* Keys, requests and other DER in the directory are not input. */
        for (size_t j = 0; j < one.n; j++) {
            CERTCertificate *cert =
                CERT_DecodeCertFromPackage((char *)one.items[j].data, (int)one.items[j].len);
            if (!cert) {
                tool_error("%s: not a certificate, skipped", one.origins[j]);
                continue;
            }
            CERT_DestroyCertificate(cert);
            if (!tool_certs_push(certs, one.items[j].data, one.items[j].len, one.origins[j]))
                goto out;
        }
        tool_certs_clear(&one);
    }
    ok = true;
out:
    tool_certs_clear(&one);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return ok;
}

/* ---- the policy ---- */

static const struct {
    SECOidTag tag;
    const char *name;
} eku_names[] = {
    {SEC_OID_EXT_KEY_USAGE_SERVER_AUTH, "serverAuth"},
    {SEC_OID_EXT_KEY_USAGE_CLIENT_AUTH, "clientAuth"},
    {SEC_OID_EXT_KEY_USAGE_CODE_SIGN, "codeSigning"},
    {SEC_OID_EXT_KEY_USAGE_EMAIL_PROTECT, "emailProtection"},
    {SEC_OID_EXT_KEY_USAGE_TIME_STAMP, "timeStamping"},
    {SEC_OID_OCSP_RESPONDER, "OCSPSigning"},
    {SEC_OID_X509_ANY_EXT_KEY_USAGE, "anyExtendedKeyUsage"},
};

static void
append(char *buf, size_t size, const char *sep, const char *text)
{
    size_t used = strlen(buf);

    if (used && used < size)
        used += (size_t)snprintf(buf + used, size - used, "%s", sep);
    if (used < size)
        snprintf(buf + used, size - used, "%s", text);
}

typedef struct {
    bool server, email, any;
} eku_flags;

/* The EKU extension: false when the certificate has none. */
static bool
read_eku(CERTCertificate *cert, eku_flags *fl, char *text, size_t size)
{
    SECItem ext = {siBuffer, NULL, 0};
    CERTOidSequence *seq;

    memset(fl, 0, sizeof(*fl));
    text[0] = '\0';
    if (CERT_FindCertExtension(cert, SEC_OID_X509_EXT_KEY_USAGE, &ext) != SECSuccess)
        return false;
    seq = CERT_DecodeOidSequence(&ext);
    SECITEM_FreeItem(&ext, PR_FALSE);
    if (!seq) {
        append(text, size, ",", "(undecodable)");
        fl->any = true; /* what cannot be read constrains nothing */
        return true;
    }
    for (SECItem **oid = seq->oids; oid && *oid; oid++) {
        SECOidTag tag = SECOID_FindOIDTag(*oid);
        const char *name = NULL;
        for (size_t i = 0; i < NG_N_ELEMENTS(eku_names) && !name; i++) {
            if (eku_names[i].tag == tag)
                name = eku_names[i].name;
        }
        fl->server |= tag == SEC_OID_EXT_KEY_USAGE_SERVER_AUTH;
        fl->email |= tag == SEC_OID_EXT_KEY_USAGE_EMAIL_PROTECT;
        fl->any |= tag == SEC_OID_X509_ANY_EXT_KEY_USAGE;
        if (name) {
            append(text, size, ",", name);
        } else {
            char *dotted = CERT_GetOidString(*oid);
            append(text, size, ",", dotted ? dotted : "?");
            if (dotted)
                PR_smprintf_free(dotted);
        }
    }
    CERT_DestroyOidSequence(seq);
    return true;
}

typedef struct {
    bool present;
    bool dns, ip, dir, email; /* the name form is constrained as the policy wants */
} nc_cover;

static bool
all_zero(const SECItem *it)
{
    for (unsigned i = 0; i < it->len; i++) {
        if (it->data[i])
            return false;
    }
    return true;
}

static void
read_name_constraints(CERTCertificate *cert, nc_cover *cov)
{
    SECItem ext = {siBuffer, NULL, 0};
    PLArenaPool *arena;
    CERTNameConstraints *nc;
    CERTNameConstraint *first, *c;
    bool ip4_all = false, ip6_all = false;

    memset(cov, 0, sizeof(*cov));
    if (CERT_FindCertExtension(cert, SEC_OID_X509_NAME_CONSTRAINTS, &ext) != SECSuccess)
        return;
    cov->present = true;
    arena = PORT_NewArena(2048);
    nc = arena ? CERT_DecodeNameConstraintsExtension(arena, &ext) : NULL;
    SECITEM_FreeItem(&ext, PR_FALSE);
    if (!nc)
        goto out; /* undecodable: covers nothing */
    if ((first = nc->permited) != NULL) {
        c = first;
        do {
            switch (c->name.type) {
            case certDNSName:
                cov->dns = true;
                break;
            case certIPAddress:
                cov->ip = true;
                break;
            case certDirectoryName:
                cov->dir = true;
                break;
            case certRFC822Name:
                cov->email = true;
                break;
            default:
                break;
            }
            c = CERT_GetNextNameConstraint(c);
        } while (c && c != first);
    }
    if ((first = nc->excluded) != NULL) {
        c = first;
        do {
            const SECItem *v = &c->name.name.other;
            if (c->name.type == certDNSName && v->len == 0)
                cov->dns = true; /* the empty name: every DNS name excluded */
            if (c->name.type == certIPAddress && v->len == 8 && all_zero(v))
                ip4_all = true;
            if (c->name.type == certIPAddress && v->len == 32 && all_zero(v))
                ip6_all = true;
            c = CERT_GetNextNameConstraint(c);
        } while (c && c != first);
    }
    if (ip4_all && ip6_all)
        cov->ip = true;
out:
    if (arena)
        PORT_FreeArena(arena, PR_FALSE);
}

static void
classify(CERTCertificate *cert, audit_row *row)
{
    eku_flags fl;
    nc_cover cov;
    char missing[128] = "";

    row->has_eku = read_eku(cert, &fl, row->eku, sizeof(row->eku));
    read_name_constraints(cert, &cov);
    if (!row->has_eku) {
        row->cls = CLASS_UNCONSTRAINED;
        snprintf(row->why, sizeof(row->why), "no EKU extension: it may issue for any purpose");
        return;
    }
    if (fl.any) {
        row->cls = CLASS_UNCONSTRAINED;
        snprintf(row->why, sizeof(row->why), "EKU %s holds anyExtendedKeyUsage", row->eku);
        return;
    }
    if (!fl.server && !fl.email) {
        row->cls = CLASS_NOT_FOR_TLS;
        snprintf(row->why, sizeof(row->why), "EKU %s: neither serverAuth nor emailProtection",
                 row->eku);
        return;
    }
    if (fl.server) {
        if (!cov.dns)
            append(missing, sizeof(missing), ", ", "dNSName");
        if (!cov.ip)
            append(missing, sizeof(missing), ", ", "iPAddress");
        if (!cov.dir)
            append(missing, sizeof(missing), ", ", "directoryName");
    }
    if (fl.email && !cov.email)
        append(missing, sizeof(missing), ", ", "rfc822Name");
    if (missing[0]) {
        row->cls = CLASS_UNCONSTRAINED;
        snprintf(row->why, sizeof(row->why), "EKU %s, %s: %s", row->eku,
                 cov.present ? "name constraints leave out" : "no name constraints for", missing);
        return;
    }
    row->cls = CLASS_CONSTRAINED;
    snprintf(row->why, sizeof(row->why), "EKU %s, names constrained: %s%s", row->eku,
             fl.server ? "dNSName, iPAddress, directoryName" : "",
             fl.email ? (fl.server ? ", rfc822Name" : "rfc822Name") : "");
}

/* basicConstraints cA=TRUE (the policy's "capable of issuing"). */
static bool
basic_ca(CERTCertificate *cert, CERTBasicConstraints *bc)
{
    SECItem ext = {siBuffer, NULL, 0};
    SECStatus rv;

    if (CERT_FindCertExtension(cert, SEC_OID_X509_BASIC_CONSTRAINTS, &ext) != SECSuccess)
        return false;
    rv = CERT_DecodeBasicConstraintValue(bc, &ext);
    SECITEM_FreeItem(&ext, PR_FALSE);
    return rv == SECSuccess && bc->isCA;
}

/* ---- output ---- */

static const char *
cover_word(const ng_entry *e)
{
    if (!e)
        return "-";
    return e->distrusted ? "distrusted" : "constrained";
}

static void
print_row(const audit_row *r)
{
    printf("%-13s  %-6s  %-11s  %s\n", class_names[r->cls], r->root ? "root" : "sub-CA",
           cover_word(r->entry), r->subject);
    printf("    %s\n", r->why);
    printf("    serial %s, from %s\n", r->serial, r->origin);
    if (r->entry)
        printf("    overlay entry: %s (%s:%u)\n",
               r->entry->label[0] ? r->entry->label : "(no label)", r->entry->file, r->entry->line);
}

static void
json_row(const audit_row *r)
{
    printf("{\"subject\":");
    tool_json_string(stdout, r->subject);
    printf(",\"serial\":");
    tool_json_string(stdout, r->serial);
    printf(",\"origin\":");
    tool_json_string(stdout, r->origin);
    printf(",\"role\":\"%s\",\"class\":\"%s\",\"eku\":", r->root ? "root" : "sub-CA",
           class_names[r->cls]);
    if (r->has_eku)
        tool_json_string(stdout, r->eku);
    else
        fputs("null", stdout);
    printf(",\"why\":");
    tool_json_string(stdout, r->why);
    printf(",\"overlay\":");
    if (r->entry) {
        printf("{\"covered\":\"%s\",\"entry\":", cover_word(r->entry));
        tool_json_entry(stdout, r->entry);
        putchar('}');
    } else {
        fputs("null", stdout);
    }
    putchar('}');
}

static int
compare_rows(const void *a, const void *b)
{
    const audit_row *x = a, *y = b;
    int c = strcmp(x->subject, y->subject);

    return c ? c : strcmp(x->serial, y->serial);
}

static void
usage(FILE *fp)
{
    fputs("usage: nssguard audit [--overlay FILE|DIR]... [--json] CERT-DIR|BUNDLE|sql:DB...\n"
          "\n"
          "For every CA certificate, whether it is technically constrained as Mozilla's\n"
          "Root Store Policy (5.3.1) defines it, and whether an overlay entry covers it.\n"
          "A directory means its *.pem, *.crt, *.cer and *.der files (other DER\n"
          "in them is skipped with a warning).\n"
          "Exit status 0 none to act on, 1 an unconstrained sub-CA that no overlay\n"
          "entry covers, 2 unreadable input.\n"
          "\n"
          "  --overlay PATH   overlay files or directories (default: the module's\n"
          "                   configuration)\n"
          "  --json           one JSON object instead of the table\n"
          "  -h, --help       show this help\n",
          fp);
}

/* What audit found. */
typedef struct {
    audit_row *rows;
    size_t n_rows, counts[3], n_roots, n_open;
} audit_result;

/* Every certificate of the arguments: CERT-DIRs, BUNDLEs, one sql:DB. */
static bool
read_inputs(tool_certs *certs, int argc, char **argv, bool *nss_up)
{
    const char *db = NULL, *why;
    struct stat st;

    for (int i = optind; i < argc; i++) {
        if (strncmp(argv[i], "sql:", 4) == 0 || strncmp(argv[i], "dbm:", 4) == 0) {
            if (db) {
                tool_error("audit reads one NSS database at a time");
                return false;
            }
            db = argv[i];
        }
    }
    if (!tool_nss_init(db))
        return false;
    *nss_up = true;
    for (int i = optind; i < argc; i++) {
        if (argv[i] == db) {
            if (!tool_certs_read_nssdb(certs, db)) {
                tool_error("%s: out of memory", db);
                return false;
            }
        } else if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            if (!read_dir(certs, argv[i]))
                return false;
        } else if (!tool_certs_read_file(certs, argv[i], &why)) {
            tool_error("%s: %s", argv[i], why);
            return false;
        }
    }
    return true;
}

/* One row per distinct CA certificate, classified, with its entry. */
static bool
audit_certs(audit_result *res, const tool_certs *certs, const tool_overlay *ov)
{
    res->rows = calloc(certs->n ? certs->n : 1, sizeof(*res->rows));
    if (!res->rows)
        return false;
    for (size_t i = 0; i < certs->n; i++) {
        CERTCertificate *cert;
        CERTBasicConstraints bc;
        bool dup = false;
        audit_row *r = &res->rows[res->n_rows];

        for (size_t j = 0; j < i && !dup; j++)
            dup = SECITEM_ItemsAreEqual(&certs->items[i], &certs->items[j]);
        if (dup)
            continue;
        cert = CERT_DecodeCertFromPackage((char *)certs->items[i].data, (int)certs->items[i].len);
        if (!cert) {
            tool_error("%s: cannot decode the certificate", certs->origins[i]);
            return false;
        }
        if (!basic_ca(cert, &bc)) {
            CERT_DestroyCertificate(cert);
            continue;
        }
        r->der = &certs->items[i];
        r->origin = certs->origins[i];
        tool_name_text((ng_bytes){cert->derSubject.data, cert->derSubject.len}, r->subject,
                       sizeof(r->subject));
        tool_hex(cert->serialNumber.data, cert->serialNumber.len, r->serial, sizeof(r->serial));
        r->root = SECITEM_ItemsAreEqual(&cert->derSubject, &cert->derIssuer);
        classify(cert, r);
        r->entry = tool_overlay_find(ov, cert);
        CERT_DestroyCertificate(cert);
        res->counts[r->cls]++;
        res->n_roots += r->root;
        res->n_open += !r->root && r->cls == CLASS_UNCONSTRAINED && !r->entry;
        res->n_rows++;
    }
    qsort(res->rows, res->n_rows, sizeof(*res->rows), compare_rows);
    return true;
}

static void
print_audit(const audit_result *res, size_t n_certs, bool json)
{
    const size_t *counts = res->counts;

    if (json) {
        printf("{\"certificates\":%zu,\"cas\":[", n_certs);
        for (size_t i = 0; i < res->n_rows; i++) {
            if (i)
                putchar(',');
            json_row(&res->rows[i]);
        }
        printf("],\"constrained\":%zu,\"unconstrained\":%zu,\"not_for_tls\":%zu,\"roots\":%zu,"
               "\"uncovered\":%zu}\n",
               counts[CLASS_CONSTRAINED], counts[CLASS_UNCONSTRAINED], counts[CLASS_NOT_FOR_TLS],
               res->n_roots, res->n_open);
        return;
    }
    if (res->n_rows)
        printf("%-13s  %-6s  %-11s  %s\n", "CLASS", "ROLE", "OVERLAY", "SUBJECT");
    for (size_t i = 0; i < res->n_rows; i++)
        print_row(&res->rows[i]);
    printf("%zu CA certificate%s (%zu root%s) among %zu: %zu constrained, %zu unconstrained, "
           "%zu not for TLS; %zu unconstrained sub-CA%s not covered by the overlay\n",
           res->n_rows, res->n_rows == 1 ? "" : "s", res->n_roots, res->n_roots == 1 ? "" : "s",
           n_certs, counts[CLASS_CONSTRAINED], counts[CLASS_UNCONSTRAINED],
           counts[CLASS_NOT_FOR_TLS], res->n_open, res->n_open == 1 ? "" : "s");
}

int
tool_cmd_audit(int argc, char **argv)
{
    tool_common common = {.name = "audit",
                          .usage = usage,
                          .flags = TOOL_OPT_JSON | TOOL_OPT_OVERLAY | TOOL_OPT_SOME_OPERANDS,
                          .operand_error = "audit wants a CERT-DIR, a BUNDLE or an sql:DB"};
    tool_certs certs = {0};
    tool_overlay ov;
    audit_result res;
    bool loaded = false, nss_up = false;
    int rc;

    memset(&res, 0, sizeof(res));
    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    if (!read_inputs(&certs, argc, argv, &nss_up))
        goto out;
    loaded = tool_common_load(&common, &ov);
    if (!loaded || !audit_certs(&res, &certs, &ov))
        goto out;
    print_audit(&res, certs.n, common.json);
    rc = res.n_open ? TOOL_EXIT_FOUND : TOOL_EXIT_OK;
out:
    free(res.rows);
    if (loaded)
        tool_overlay_clear(&ov);
    tool_certs_clear(&certs);
    if (nss_up)
        tool_nss_shutdown();
    tool_common_clear(&common);
    return rc;
}

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

#include <base64.h>
#include <cert.h>
#include <certdb.h>
#include <prprf.h>
#include <secoid.h>

#include "corpus.h"

typedef enum {
    CLASS_CONSTRAINED,
    CLASS_UNCONSTRAINED,
    CLASS_NOT_FOR_TLS,
} audit_class;

static const char *const class_names[] = {"constrained", "unconstrained", "not-for-TLS"};

typedef struct {
    const char *origin;
    char subject[1024];
    char serial[256];
    bool root;
    audit_class cls;
    char eku[256]; /* "serverAuth,clientAuth", "" when no extension */
    bool has_eku;
    char why[512];
    const ng_entry *entry; /* the overlay entry covering it, or NULL */
    bool onecrl;           /* an enabled OneCRL record (--onecrl) lists it */
} audit_row;

/* ---- OneCRL (--onecrl FILE): its enabled records ---- */

typedef struct {
    tool_hmap map;               /* ng_entry_hash(issuer, serial DER) -> i */
    ng_bytes *issuers, *serials; /* malloc'd, parallel */
    tool_subject_key *sks;       /* subject+pubKeyHash records */
    size_t n_sks, n_records;
} onecrl_set;

static void
onecrl_clear(onecrl_set *o)
{
    for (size_t i = 0; i < o->map.n; i++) {
        free((unsigned char *)o->issuers[i].data);
        free((unsigned char *)o->serials[i].data);
    }
    for (size_t i = 0; i < o->n_sks; i++)
        tool_subject_key_clear(&o->sks[i]);
    free(o->issuers);
    free(o->serials);
    free(o->sks);
    tool_hmap_clear(&o->map);
    memset(o, 0, sizeof(*o));
}

static bool
onecrl_add_is(onecrl_set *o, const char *issuer_b64, const char *serial_b64)
{
    unsigned ilen = 0, slen = 0;
    unsigned char *issuer = ATOB_AsciiToData(issuer_b64, &ilen);
    unsigned char *serial = ATOB_AsciiToData(serial_b64, &slen);
    unsigned char *icopy = issuer ? malloc(ilen ? ilen : 1) : NULL, *sder = NULL;
    size_t sder_len = 0, n = o->map.n;
    ng_bytes *ni = NULL, *ns = NULL;
    bool ok = true;

    if (issuer && serial && slen && icopy &&
        (sder = tool_der_integer(serial, slen, &sder_len)) != NULL) {
        memcpy(icopy, issuer, ilen);
        ok = (ni = realloc(o->issuers, (n + 1) * sizeof(*ni))) != NULL && (o->issuers = ni) &&
             (ns = realloc(o->serials, (n + 1) * sizeof(*ns))) != NULL && (o->serials = ns);
        if (ok) {
            ni[n] = (ng_bytes){icopy, ilen};
            ns[n] = (ng_bytes){sder, sder_len};
            ok = tool_hmap_add(&o->map, ng_entry_hash(ni[n], ns[n]));
            icopy = sder = NULL;
        }
    }
    free(icopy);
    free(sder);
    if (issuer)
        PORT_Free(issuer);
    if (serial)
        PORT_Free(serial);
    return ok;
}

static bool
onecrl_add_sk(onecrl_set *o, const char *subject_b64, const char *hash_b64)
{
    tool_subject_key *n = realloc(o->sks, (o->n_sks + 1) * sizeof(*n));

    if (!n)
        return false;
    o->sks = n;
    if (tool_subject_key_decode(&n[o->n_sks], subject_b64, hash_b64))
        o->n_sks++;
    return true;
}

/* A Remote Settings export ({"data": [...]} or [...]): its enabled records. */
static bool
onecrl_load(onecrl_set *o, const char *path)
{
    unsigned char *text = NULL;
    size_t len = 0;
    const char *why;
    char err[256];
    tool_json *root = NULL;
    const tool_json *data;
    bool ok = false;

    if (!tool_read_file(path, &text, &len, &why)) {
        tool_error("%s: %s", path, why);
        return false;
    }
    if (!tool_json_parse((const char *)text, len, &root, err, sizeof(err))) {
        tool_error("%s: %s", path, err);
        goto out;
    }
    data = tool_json_type_of(root) == TOOL_JSON_ARRAY ? root : tool_json_get(root, "data");
    if (!data || tool_json_type_of(data) != TOOL_JSON_ARRAY) {
        tool_error("%s: want a Remote Settings export: {\"data\": [records]} or [records]", path);
        goto out;
    }
    ok = true;
    for (size_t i = 0; ok && i < tool_json_length(data); i++) {
        const tool_json *rec = tool_json_at(data, i), *en = tool_json_get(rec, "enabled");
        const char *is = tool_json_get_string(rec, "issuerName");
        const char *sn = tool_json_get_string(rec, "serialNumber");
        const char *sub = tool_json_get_string(rec, "subject");
        const char *pkh = tool_json_get_string(rec, "pubKeyHash");
        if (en && tool_json_type_of(en) == TOOL_JSON_FALSE)
            continue;
        o->n_records++;
        if (is && sn)
            ok = onecrl_add_is(o, is, sn);
        else if (sub && pkh)
            ok = onecrl_add_sk(o, sub, pkh);
    }
out:
    tool_json_free(root);
    free(text);
    return ok;
}

static bool
onecrl_lists(const onecrl_set *o, const tool_corpus_cert *cc, CERTCertificate *cert)
{
    size_t cursor = SIZE_MAX, v;

    while ((v = tool_hmap_next(&o->map, ng_entry_hash(cc->issuer, cc->serial_der), &cursor)) !=
           SIZE_MAX) {
        if (o->issuers[v].len == cc->issuer.len && o->serials[v].len == cc->serial_der.len &&
            memcmp(o->issuers[v].data, cc->issuer.data, cc->issuer.len) == 0 &&
            memcmp(o->serials[v].data, cc->serial_der.data, cc->serial_der.len) == 0)
            return true;
    }
    for (size_t i = 0; i < o->n_sks; i++) {
        if (tool_subject_key_matches(&o->sks[i], cert))
            return true;
    }
    return false;
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
print_row(const audit_row *r, bool onecrl)
{
    printf("%-13s  %-6s  %-11s  %s\n", class_names[r->cls], r->root ? "root" : "sub-CA",
           cover_word(r->entry), r->subject);
    printf("    %s\n", r->why);
    printf("    serial %s, from %s\n", r->serial, r->origin);
    if (r->entry)
        printf("    overlay entry: %s (%s:%u)\n",
               r->entry->label[0] ? r->entry->label : "(no label)", r->entry->file, r->entry->line);
    if (onecrl && r->onecrl)
        printf("    listed by OneCRL\n");
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
    printf(",\"onecrl\":%s}", r->onecrl ? "true" : "false");
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
    fputs("usage: nssguard audit [--overlay FILE|DIR]... [--onecrl FILE] [--summary] [--json]\n"
          "                      CORPUS...\n"
          "\n"
          "For every CA certificate, whether it is technically constrained as Mozilla's\n"
          "Root Store Policy (5.3.1) defines it, and whether an overlay entry covers it.\n"
          "A CORPUS is a PEM bundle, a DER file, a directory (recursively: its *.pem,\n"
          "*.crt, *.cer, *.der, *.csv and *.csv.xz files; other DER is skipped with a\n"
          "warning), an NSS database (sql:DIR) or CCADB's CSV (.csv, .csv.xz).\n"
          "Exit status 0 none to act on, 1 an unconstrained sub-CA that no overlay\n"
          "entry covers, 2 unreadable input.\n"
          "\n"
          "  --overlay PATH   overlay files or directories (default: the module's\n"
          "                   configuration)\n"
          "  --onecrl FILE    also say which CAs an enabled OneCRL record lists\n"
          "  --summary        the counts only, with the sub-CAs' own counts\n"
          "  --json           one JSON object instead of the table\n"
          "  -h, --help       show this help\n",
          fp);
}

/* What audit found. */
typedef struct {
    audit_row *rows;
    size_t n_rows, counts[3], n_roots, n_open;
    size_t sub_counts[3];  /* the same for sub-CAs (not self-issued) */
    size_t n_open_onecrl;  /* unconstrained sub-CAs OneCRL lists, no overlay entry */
    size_t n_open_covered; /* ... that an overlay entry covers */
    size_t n_open_both;    /* ... that both cover */
} audit_result;

typedef struct {
    const char *onecrl;
    bool summary;
} audit_opts;

static int
audit_option(void *ctx, int opt, char *arg)
{
    audit_opts *o = ctx;

    if (opt == 'O') {
        o->onecrl = arg;
        return -1;
    }
    if (opt == 'S') {
        o->summary = true;
        return -1;
    }
    return TOOL_EXIT_ERROR;
}

static void
count_row(audit_result *res, const audit_row *r)
{
    bool open = !r->root && r->cls == CLASS_UNCONSTRAINED;

    res->counts[r->cls]++;
    res->n_roots += r->root;
    if (!r->root)
        res->sub_counts[r->cls]++;
    res->n_open += open && !r->entry;
    res->n_open_covered += open && r->entry;
    res->n_open_onecrl += open && r->onecrl && !r->entry;
    res->n_open_both += open && r->onecrl && r->entry;
    res->n_rows++;
}

/* One row per distinct CA certificate, classified, with its entry. */
static bool
audit_certs(audit_result *res, const tool_corpus *corpus, const tool_overlay *ov,
            const onecrl_set *onecrl)
{
    res->rows = calloc(corpus->n ? corpus->n : 1, sizeof(*res->rows));
    if (!res->rows)
        return false;
    for (size_t i = 0; i < corpus->n; i++) {
        const tool_corpus_cert *cc = &corpus->certs[i];
        CERTCertificate *cert;
        CERTBasicConstraints bc;
        audit_row *r = &res->rows[res->n_rows];

        cert = CERT_DecodeCertFromPackage((char *)cc->der.data, (int)cc->der.len);
        if (!cert) {
            tool_error("%s: cannot decode the certificate", cc->origin);
            return false;
        }
        if (!basic_ca(cert, &bc)) {
            CERT_DestroyCertificate(cert);
            continue;
        }
        r->origin = cc->origin;
        tool_name_text(cc->subject, r->subject, sizeof(r->subject));
        tool_hex(cert->serialNumber.data, cert->serialNumber.len, r->serial, sizeof(r->serial));
        r->root = SECITEM_ItemsAreEqual(&cert->derSubject, &cert->derIssuer);
        classify(cert, r);
        r->entry = tool_overlay_find(ov, cert);
        r->onecrl = onecrl && onecrl_lists(onecrl, cc, cert);
        CERT_DestroyCertificate(cert);
        count_row(res, r);
    }
    qsort(res->rows, res->n_rows, sizeof(*res->rows), compare_rows);
    return true;
}

static void
print_json(const audit_result *res, size_t n_certs, bool onecrl)
{
    const size_t *counts = res->counts, *sub = res->sub_counts;

    printf("{\"certificates\":%zu,\"cas\":[", n_certs);
    for (size_t i = 0; i < res->n_rows; i++) {
        if (i)
            putchar(',');
        json_row(&res->rows[i]);
    }
    printf("],\"constrained\":%zu,\"unconstrained\":%zu,\"not_for_tls\":%zu,\"roots\":%zu,"
           "\"uncovered\":%zu,\"sub_cas\":{\"constrained\":%zu,\"unconstrained\":%zu,"
           "\"not_for_tls\":%zu,\"unconstrained_covered\":%zu",
           counts[CLASS_CONSTRAINED], counts[CLASS_UNCONSTRAINED], counts[CLASS_NOT_FOR_TLS],
           res->n_roots, res->n_open, sub[CLASS_CONSTRAINED], sub[CLASS_UNCONSTRAINED],
           sub[CLASS_NOT_FOR_TLS], res->n_open_covered);
    if (onecrl)
        printf(",\"unconstrained_onecrl_only\":%zu,\"unconstrained_onecrl_and_overlay\":%zu",
               res->n_open_onecrl, res->n_open_both);
    printf("}}\n");
}

static void
print_audit(const audit_result *res, size_t n_certs, const audit_opts *o)
{
    const size_t *counts = res->counts, *sub = res->sub_counts;

    if (res->n_rows && !o->summary)
        printf("%-13s  %-6s  %-11s  %s\n", "CLASS", "ROLE", "OVERLAY", "SUBJECT");
    for (size_t i = 0; i < res->n_rows && !o->summary; i++)
        print_row(&res->rows[i], o->onecrl != NULL);
    printf("%zu CA certificate%s (%zu root%s) among %zu: %zu constrained, %zu unconstrained, "
           "%zu not for TLS; %zu unconstrained sub-CA%s not covered by the overlay\n",
           res->n_rows, res->n_rows == 1 ? "" : "s", res->n_roots, res->n_roots == 1 ? "" : "s",
           n_certs, counts[CLASS_CONSTRAINED], counts[CLASS_UNCONSTRAINED],
           counts[CLASS_NOT_FOR_TLS], res->n_open, res->n_open == 1 ? "" : "s");
    if (!o->summary && !o->onecrl)
        return;
    printf("sub-CAs: %zu constrained, %zu unconstrained, %zu not for TLS; of the unconstrained, "
           "%zu covered by the overlay",
           sub[CLASS_CONSTRAINED], sub[CLASS_UNCONSTRAINED], sub[CLASS_NOT_FOR_TLS],
           res->n_open_covered);
    if (o->onecrl)
        printf(", %zu listed by OneCRL and no overlay entry, %zu by both", res->n_open_onecrl,
               res->n_open_both);
    putchar('\n');
}

int
tool_cmd_audit(int argc, char **argv)
{
    static const struct option options[] = {
        {"onecrl", required_argument, NULL, 'O'},
        {"summary", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    audit_opts o = {NULL, false};
    tool_common common = {.name = "audit",
                          .usage = usage,
                          .flags = TOOL_OPT_JSON | TOOL_OPT_OVERLAY | TOOL_OPT_SOME_OPERANDS,
                          .options = options,
                          .option = audit_option,
                          .ctx = &o,
                          .operand_error = "audit wants a CORPUS: a CERT-DIR, a BUNDLE, an sql:DB "
                                           "or a CCADB CSV"};
    tool_corpus corpus;
    onecrl_set onecrl;
    tool_overlay ov;
    audit_result res;
    bool loaded = false, nss_up = false;
    int rc;

    memset(&res, 0, sizeof(res));
    memset(&corpus, 0, sizeof(corpus));
    memset(&onecrl, 0, sizeof(onecrl));
    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    if (!(nss_up = tool_nss_init(NULL)) ||
        !tool_corpus_load_all(&corpus, argv + optind, (size_t)(argc - optind)) ||
        (o.onecrl && !onecrl_load(&onecrl, o.onecrl)))
        goto out;
    loaded = tool_common_load(&common, &ov);
    if (!loaded || !audit_certs(&res, &corpus, &ov, o.onecrl ? &onecrl : NULL))
        goto out;
    if (common.json)
        print_json(&res, corpus.n + corpus.n_duplicates, o.onecrl != NULL);
    else
        print_audit(&res, corpus.n + corpus.n_duplicates, &o);
    rc = res.n_open ? TOOL_EXIT_FOUND : TOOL_EXIT_OK;
out:
    free(res.rows);
    if (loaded)
        tool_overlay_clear(&ov);
    onecrl_clear(&onecrl);
    tool_corpus_clear(&corpus);
    if (nss_up)
        tool_nss_shutdown();
    tool_common_clear(&common);
    return rc;
}

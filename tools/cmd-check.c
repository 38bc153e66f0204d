/*
 * cmd-check.c: nssguard check [--json] FILE|DIR...
 *
 * Parses each file with the module's parser, runs the module's builder on it
 * (a file the builder refuses is refused whole by the module), and adds lint
 * on top by walking the records:
 *
 *   duplicate      two distrust records for one issuer+serial
 *   conflict       the same issuer+serial with another reason, or with trust
 *   hash-mismatch  CKA_CERT_SHA1_HASH differs from the certificate's SHA-1
 *   positive-trust a purpose trusted (or step-up approved): never in an overlay
 *   unknown-trust  CKT_NSS_TRUST_UNKNOWN / MUST_VERIFY: not neutral in NSS
 *   no-distrust    a trust record that distrusts nothing (the module skips it)
 *   no-reason      a distrust record without CKA_NSSGUARD_REASON
 *   no-reference   ... without CKA_NSSGUARD_REFERENCE
 *   root-list      a CKO_NSS_BUILTIN_ROOT_LIST object (trustOrder 100)
 *   ca-policy      CKA_NSS_MOZILLA_CA_POLICY true (Chromium skips the entry)
 *   refused        the builder's error: the module would load nothing from the file
 *
 * Output: "file:line: kind: message" lines and a summary; exit 0 clean,
 * 1 findings, 2 a file could not be read or parsed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const struct {
    CK_ATTRIBUTE_TYPE type;
    const char *name;
} purposes[] = {
    {CKA_TRUST_SERVER_AUTH, "CKA_TRUST_SERVER_AUTH"},
    {CKA_TRUST_CLIENT_AUTH, "CKA_TRUST_CLIENT_AUTH"},
    {CKA_TRUST_EMAIL_PROTECTION, "CKA_TRUST_EMAIL_PROTECTION"},
    {CKA_TRUST_CODE_SIGNING, "CKA_TRUST_CODE_SIGNING"},
    {CKA_TRUST_IPSEC_END_SYSTEM, "CKA_TRUST_IPSEC_END_SYSTEM"},
    {CKA_TRUST_IPSEC_TUNNEL, "CKA_TRUST_IPSEC_TUNNEL"},
    {CKA_TRUST_IPSEC_USER, "CKA_TRUST_IPSEC_USER"},
    {CKA_TRUST_TIME_STAMPING, "CKA_TRUST_TIME_STAMPING"},
};

static const char *
trust_name(CK_ULONG t)
{
    switch (t) {
    case CKT_NSS_TRUSTED:
        return "CKT_NSS_TRUSTED";
    case CKT_NSS_TRUSTED_DELEGATOR:
        return "CKT_NSS_TRUSTED_DELEGATOR";
    case CKT_NSS_VALID_DELEGATOR:
        return "CKT_NSS_VALID_DELEGATOR";
    case CKT_NSS_MUST_VERIFY_TRUST:
        return "CKT_NSS_MUST_VERIFY_TRUST";
    case CKT_NSS_NOT_TRUSTED:
        return "CKT_NSS_NOT_TRUSTED";
    case CKT_NSS_TRUST_UNKNOWN:
        return "CKT_NSS_TRUST_UNKNOWN";
    default:
        return "an unknown trust value";
    }
}

typedef struct {
    char *file;
    unsigned line;
    const char *kind;
    char *message;
} finding;

/* A trust record seen so far, for duplicates and conflicts across files. */
typedef struct {
    ng_bytes issuer;
    ng_bytes serial;
    uint64_t hash;
    const char *file;
    unsigned line;
    bool distrust;
    const char *reason;
} seen_record;

typedef struct {
    bool json;
    finding *findings;
    size_t n_findings;
    finding *errors; /* files the parser could not read */
    size_t n_errors;
    seen_record *seen;
    size_t n_seen;
    size_t n_files;
    size_t n_entries;
} checker;

static void add_finding(checker *ck, const char *file, unsigned line, const char *kind,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
add_finding(checker *ck, const char *file, unsigned line, const char *kind, const char *fmt, ...)
{
    finding *nf = realloc(ck->findings, (ck->n_findings + 1) * sizeof(*nf));
    va_list ap;
    char *msg = NULL;

    if (!nf)
        return;
    ck->findings = nf;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    nf[ck->n_findings].file = strdup(file);
    nf[ck->n_findings].line = line;
    nf[ck->n_findings].kind = kind;
    nf[ck->n_findings].message = msg;
    ck->n_findings++;
}

static bool
reported(const checker *ck, const char *file, unsigned line)
{
    for (size_t i = 0; i < ck->n_findings; i++) {
        if (ck->findings[i].line == line && strcmp(ck->findings[i].file, file) == 0)
            return true;
    }
    return false;
}

static void
add_error(checker *ck, const char *file, unsigned line, const char *why)
{
    finding *ne = realloc(ck->errors, (ck->n_errors + 1) * sizeof(*ne));

    if (!ne)
        return;
    ck->errors = ne;
    ne[ck->n_errors++] = (finding){strdup(file), line, "error", strdup(why)};
}

static ng_bytes
attr_bytes(const ng_attr *a)
{
    return a ? (ng_bytes){a->value, a->len} : (ng_bytes){NULL, 0};
}

static bool
same(ng_bytes a, ng_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static const char *
utf8_value(const ng_record *rec, CK_ATTRIBUTE_TYPE type)
{
    const ng_attr *a = ng_record_get(rec, type);

    return a ? (const char *)a->value : NULL;
}

static void
check_duplicates(checker *ck, const ng_records *recs, const ng_record *rec, bool distrust)
{
    ng_bytes issuer = attr_bytes(ng_record_get(rec, CKA_ISSUER));
    ng_bytes serial;
    const char *reason = utf8_value(rec, CKA_NSSGUARD_REASON);
    seen_record *ns, me;

    if (!issuer.len ||
        !ng_der_integer_value(attr_bytes(ng_record_get(rec, CKA_SERIAL_NUMBER)), &serial))
        return; /* the builder reports it */
    me = (seen_record){issuer,    serial,   ng_entry_hash(issuer, serial), recs->file,
                       rec->line, distrust, reason ? reason : "distrusted"};
    for (size_t i = 0; i < ck->n_seen; i++) {
        const seen_record *s = &ck->seen[i];
        if (s->hash != me.hash || !same(s->issuer, issuer) || !same(s->serial, serial))
            continue;
        if (s->distrust != distrust)
            add_finding(ck, recs->file, rec->line, "conflict",
                        "%s record for the issuer and serial that %s:%u %s",
                        distrust ? "distrust" : "trust", s->file, s->line,
                        s->distrust ? "distrusts" : "trusts");
        else if (distrust && strcmp(s->reason, me.reason) != 0)
            add_finding(ck, recs->file, rec->line, "conflict",
                        "reason '%s' but %s:%u gives '%s' for the same issuer and serial",
                        me.reason, s->file, s->line, s->reason);
        else
            add_finding(ck, recs->file, rec->line, "duplicate", "same issuer and serial as %s:%u",
                        s->file, s->line);
        break;
    }
    ns = realloc(ck->seen, (ck->n_seen + 1) * sizeof(*ns));
    if (!ns)
        return;
    ck->seen = ns;
    ns[ck->n_seen++] = me;
}

static void
check_trust_record(checker *ck, const ng_records *recs, const ng_record *rec)
{
    bool distrust = false, positive = false;
    const ng_attr *a, *hash;
    CK_ULONG t;

    for (size_t i = 0; i < NG_N_ELEMENTS(purposes); i++) {
        if (!ng_record_ulong(rec, purposes[i].type, &t))
            continue;
        a = ng_record_get(rec, purposes[i].type);
        if (t == CKT_NSS_NOT_TRUSTED) {
            distrust = true;
        } else if (t == CKT_NSS_TRUSTED || t == CKT_NSS_TRUSTED_DELEGATOR ||
                   t == CKT_NSS_VALID_DELEGATOR) {
            positive = true;
            add_finding(ck, recs->file, a->line, "positive-trust",
                        "%s is %s: an overlay must never grant trust (the module skips "
                        "this record)",
                        purposes[i].name, trust_name(t));
        } else {
            add_finding(ck, recs->file, a->line, "unknown-trust",
                        "%s is %s: not neutral in NSS, it can overwrite a user's trust; "
                        "write CKT_NSS_NOT_TRUSTED or leave the purpose out",
                        purposes[i].name, trust_name(t));
        }
    }
    a = ng_record_get(rec, CKA_TRUST_STEP_UP_APPROVED);
    if (a && a->len == 1 && a->value[0]) {
        positive = true;
        add_finding(ck, recs->file, a->line, "positive-trust",
                    "CKA_TRUST_STEP_UP_APPROVED is CK_TRUE: positive trust (the module skips "
                    "this record)");
    }
    if (!distrust) {
        const ng_attr *after = ng_record_get(rec, CKA_NSS_SERVER_DISTRUST_AFTER);
        const ng_attr *email_after = ng_record_get(rec, CKA_NSS_EMAIL_DISTRUST_AFTER);
        /* A constraint entry, or a distrust-after record: verify applies them. */
        bool rule = ng_record_get(rec, CKA_NSSGUARD_NAME_CONSTRAINTS) ||
                    (after && after->len > 1) || (email_after && email_after->len > 1);
        if (!positive && !rule)
            add_finding(ck, recs->file, rec->line, "no-distrust",
                        "trust record without any CKT_NSS_NOT_TRUSTED purpose: the module "
                        "skips it");
        check_duplicates(ck, recs, rec, false);
        return;
    }
    if (positive) {
        check_duplicates(ck, recs, rec, false);
        return;
    }
    if (!ng_record_get(rec, CKA_NSSGUARD_REASON))
        add_finding(ck, recs->file, rec->line, "no-reason",
                    "distrust record without CKA_NSSGUARD_REASON");
    if (!ng_record_get(rec, CKA_NSSGUARD_REFERENCE) &&
        !(rec->comment && strstr(rec->comment, "Bug ")))
        add_finding(ck, recs->file, rec->line, "no-reference",
                    "distrust record without CKA_NSSGUARD_REFERENCE (or a \"Bug N\" comment)");
    hash = ng_record_get(rec, CKA_CERT_SHA1_HASH);
    if (hash) {
        const ng_record *cert =
            tool_records_find_cert(recs, attr_bytes(ng_record_get(rec, CKA_ISSUER)),
                                   attr_bytes(ng_record_get(rec, CKA_SERIAL_NUMBER)));
        const ng_attr *value = cert ? ng_record_get(cert, CKA_VALUE) : NULL;
        unsigned char sha1[NG_SHA1_LEN];
        if (value) {
            ng_sha1(value->value, value->len, sha1);
            if (hash->len != NG_SHA1_LEN || memcmp(hash->value, sha1, NG_SHA1_LEN) != 0)
                add_finding(ck, recs->file, hash->line, "hash-mismatch",
                            "CKA_CERT_SHA1_HASH is not the SHA-1 of the certificate at line "
                            "%u: NSS would drop this record and the chain would pass",
                            cert->line);
        }
    }
    check_duplicates(ck, recs, rec, true);
}

/* The reason part of a module error (after "file:line: "). */
static const char *
error_reason(const ng_error *err)
{
    return err->reason_off < sizeof(err->msg) ? err->msg + err->reason_off : err->msg;
}

static void
check_file(checker *ck, const char *path, ng_records *recs)
{
    ng_entries ents;
    ng_error err;
    CK_ULONG cls;

    for (size_t i = 0; i < recs->n_records; i++) {
        const ng_record *rec = &recs->records[i];
        const ng_attr *policy = ng_record_get(rec, CKA_NSS_MOZILLA_CA_POLICY);
        if (policy && policy->len == 1 && policy->value[0])
            add_finding(ck, recs->file, policy->line, "ca-policy",
                        "CKA_NSS_MOZILLA_CA_POLICY is CK_TRUE: Chromium skips such entries");
        if (!ng_record_ulong(rec, CKA_CLASS, &cls))
            continue;
        if (cls == CKO_NSS_BUILTIN_ROOT_LIST)
            add_finding(ck, recs->file, rec->line, "root-list",
                        "CKO_NSS_BUILTIN_ROOT_LIST object: a token holding one gets "
                        "trustOrder 100 and its distrust loses to every database");
        else if (cls == CKO_NSS_TRUST)
            check_trust_record(ck, recs, rec);
    }
    memset(&ents, 0, sizeof(ents));
    if (!ng_build_entries(recs, &ents, &err)) {
        if (!err.line || !reported(ck, path, err.line))
            add_finding(ck, path, err.line, "refused",
                        "%s (the module loads nothing from this file)", error_reason(&err));
    }
    ck->n_entries += ents.n_entries;
    ng_entries_clear(&ents);
}

static void
usage(FILE *fp)
{
    fputs("usage: nssguard check [--json] FILE|DIR...\n"
          "\n"
          "Parses overlay files as the module does and reports defects as\n"
          "file:line: kind: message. Exit status 0 clean, 1 findings, 2 unreadable.\n"
          "A directory means its *.txt and *.ngo files, as the module reads it (an\n"
          "X.ngo beside its X.txt is left out: the text is checked).\n"
          "\n"
          "  --json       one JSON object instead of text\n"
          "  -h, --help   show this help\n",
          fp);
}

static void
print_finding(const finding *f)
{
    if (f->line)
        printf("%s:%u: %s: %s\n", f->file, f->line, f->kind, f->message);
    else
        printf("%s: %s: %s\n", f->file, f->kind, f->message);
}

static void
json_finding(const finding *f)
{
    printf("{\"file\":");
    tool_json_string(stdout, f->file);
    printf(",\"line\":%u,\"kind\":", f->line);
    tool_json_string(stdout, f->kind);
    printf(",\"message\":");
    tool_json_string(stdout, f->message);
    putchar('}');
}

static void
print_text(const checker *ck)
{
    for (size_t i = 0; i < ck->n_errors; i++)
        print_finding(&ck->errors[i]);
    for (size_t i = 0; i < ck->n_findings; i++)
        print_finding(&ck->findings[i]);
    printf("%zu file%s, %zu entr%s, %zu finding%s, %zu unreadable\n", ck->n_files,
           ck->n_files == 1 ? "" : "s", ck->n_entries, ck->n_entries == 1 ? "y" : "ies",
           ck->n_findings, ck->n_findings == 1 ? "" : "s", ck->n_errors);
}

static void
print_json(const checker *ck)
{
    printf("{\"files\":%zu,\"entries\":%zu,\"errors\":[", ck->n_files, ck->n_entries);
    for (size_t i = 0; i < ck->n_errors; i++) {
        if (i)
            putchar(',');
        json_finding(&ck->errors[i]);
    }
    printf("],\"findings\":[");
    for (size_t i = 0; i < ck->n_findings; i++) {
        if (i)
            putchar(',');
        json_finding(&ck->findings[i]);
    }
    printf("]}\n");
}

int
tool_cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    checker ck;
    ng_records *files = NULL;
    size_t n_files = 0;
    char **paths = NULL;
    int c, rc = TOOL_EXIT_ERROR;

    memset(&ck, 0, sizeof(ck));
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            ck.json = true;
            break;
        case 'h':
            usage(stdout);
            return TOOL_EXIT_OK;
        default:
            usage(stderr);
            return TOOL_EXIT_ERROR;
        }
    }
    if (optind >= argc) {
        tool_error("no overlay file given");
        usage(stderr);
        return TOOL_EXIT_ERROR;
    }
    paths = tool_overlay_paths(argv + optind, (size_t)(argc - optind));
    if (!paths)
        goto out;
    for (size_t i = 0; paths[i]; i++)
        n_files++;
    files = calloc(n_files ? n_files : 1, sizeof(*files));
    if (!files)
        goto out;
    for (size_t i = 0; i < n_files; i++) {
        ng_error err;
        ck.n_files++;
        size_t len = strlen(paths[i]);
        if (len > 4 && strcmp(paths[i] + len - 4, ".ngo") == 0) {
            /* A compiled overlay: the module's own checks (checksum, version,
             * size); there are no records to lint. */
            ng_image *img = ng_image_open(paths[i], &err);
            if (!img) {
                add_error(&ck, paths[i], err.line, error_reason(&err));
                continue;
            }
            ck.n_entries += ng_image_count(img);
            ng_image_free(img);
            continue;
        }
        if (!ng_parse_file(paths[i], &files[i], &err)) {
            add_error(&ck, paths[i], err.line, error_reason(&err));
            continue;
        }
        check_file(&ck, paths[i], &files[i]);
    }
    if (ck.json)
        print_json(&ck);
    else
        print_text(&ck);
    rc = ck.n_errors ? TOOL_EXIT_ERROR : ck.n_findings ? TOOL_EXIT_FOUND : TOOL_EXIT_OK;
out:
    for (size_t i = 0; files && i < n_files; i++)
        ng_records_clear(&files[i]);
    free(files);
    tool_overlay_paths_free(paths);
    for (size_t i = 0; i < ck.n_findings; i++) {
        free(ck.findings[i].file);
        free(ck.findings[i].message);
    }
    free(ck.findings);
    for (size_t i = 0; i < ck.n_errors; i++) {
        free(ck.errors[i].file);
        free(ck.errors[i].message);
    }
    free(ck.errors);
    free(ck.seen);
    return rc;
}

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
 *   hash-served    a trust object the module would serve (any mode) carries
 *                  CKA_CERT_SHA1_HASH, CKA_HASH_OF_CERTIFICATE or
 *                  CKA_NAME_HASH_ALGORITHM: asked of the module's own object
 *                  layer, so a regression in objects.c shows on every
 *                  overlay that holds a certificate
 *   positive-trust a purpose trusted (or step-up approved): never in an overlay
 *   unknown-trust  CKT_NSS_TRUST_UNKNOWN / MUST_VERIFY: not neutral in NSS
 *   no-distrust    a trust record that distrusts nothing (the module skips it)
 *   no-reason      a distrust record without CKA_NSSGUARD_REASON
 *   no-reference   ... without CKA_NSSGUARD_REFERENCE
 *   root-list      a CKO_NSS_BUILTIN_ROOT_LIST object (trustOrder 100)
 *   ca-policy      CKA_NSS_MOZILLA_CA_POLICY true (Chromium skips the entry)
 *   refused        the builder's error: the module would load nothing from the file
 *   key-uncovered  (--certs) a certificate with the subject and key a key entry
 *                  distrusts that no entry names by issuer+serial: NSS trusts it
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

#include "corpus.h"
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
    tool_hmap seen_map;                /* seen by hash: linear in the records, not quadratic */
    const tool_cert_index *certs_here; /* the current file's certificate records */
    size_t n_files;
    size_t n_entries;
    /* --certs: certificates whose issuer an entry may name in other bytes */
    tool_corpus certs;
    bool nss_up;
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
    size_t cursor = SIZE_MAX, i;
    while ((i = tool_hmap_next(&ck->seen_map, me.hash, &cursor)) != SIZE_MAX) {
        const seen_record *s = &ck->seen[i];
        if (!same(s->issuer, issuer) || !same(s->serial, serial))
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
    if (!tool_hmap_add(&ck->seen_map, me.hash))
        return;
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
            tool_cert_index_find(ck->certs_here, attr_bytes(ng_record_get(rec, CKA_ISSUER)),
                                 attr_bytes(ng_record_get(rec, CKA_SERIAL_NUMBER)));
        const ng_attr *value = cert ? ng_record_get(cert, CKA_VALUE) : NULL;
        unsigned char sha1[NG_SHA1_LEN];
        if (value) {
            ng_sha1(value->value, value->len, sha1);
            if (hash->len != NG_SHA1_LEN || memcmp(hash->value, sha1, NG_SHA1_LEN) != 0)
                add_finding(ck, recs->file, hash->line, "hash-mismatch",
                            "CKA_CERT_SHA1_HASH is not the SHA-1 of the certificate at line "
                            "%u: the module refuses this file (nothing in it is served)",
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

/* --certs: entries naming a certificate's issuer in other bytes than the
 * certificate does (equal under RFC 5280 comparison): NSS never matches them. */
static void
check_name_bytes(checker *ck, const ng_entries *ents)
{
    tool_serial_index si;
    const ng_entry *miss[16];
    char want[512], have[512];

    if (!ck->certs.n || !tool_serial_index_build(&si, ents->entries, ents->n_entries))
        return;
    for (size_t c = 0; c < ck->certs.n; c++) {
        const tool_corpus_cert *cc = &ck->certs.certs[c];
        ng_bytes serial;
        size_t n;
        if (!ng_der_integer_value(cc->serial_der, &serial))
            continue;
        n = tool_name_misses(&si, cc->issuer, serial, miss, NG_N_ELEMENTS(miss));
        for (size_t i = 0; i < n && i < NG_N_ELEMENTS(miss); i++) {
            ng_der_name_text(cc->issuer, want, sizeof(want));
            ng_der_name_text(miss[i]->issuer, have, sizeof(have));
            add_finding(ck, miss[i]->file, miss[i]->line, "name-bytes",
                        "the entry's issuer (%s) equals the issuer of %s (%s) only under RFC "
                        "5280 comparison: NSS compares the bytes, so this entry will never "
                        "match that certificate; write the issuer as the certificate carries it",
                        have, cc->origin, want);
        }
    }
    tool_serial_index_clear(&si);
}

static void
check_file(checker *ck, const char *path, ng_records *recs)
{
    ng_entries ents;
    ng_error err;
    CK_ULONG cls;
    tool_cert_index ix;

    if (!tool_cert_index_build(&ix, recs)) {
        add_error(ck, path, 0, "out of memory");
        tool_cert_index_clear(&ix);
        return;
    }
    ck->certs_here = &ix;
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
    ck->certs_here = NULL;
    tool_cert_index_clear(&ix);
    memset(&ents, 0, sizeof(ents));
    if (!ng_build_entries(recs, &ents, &err)) {
        if (!err.line || !reported(ck, path, err.line))
            add_finding(ck, path, err.line, "refused",
                        "%s (the module loads nothing from this file)", error_reason(&err));
    } else {
        check_name_bytes(ck, &ents);
    }
    ck->n_entries += ents.n_entries;
    ng_entries_clear(&ents);
}

/* ---- hash-served: what the module's object layer would hand NSS ---- */

static const struct {
    ng_mode mode;
    const char *name;
} served_modes[] = {
    {NG_MODE_NSS, "nss"},
    {NG_MODE_BUILTINS, "builtins"},
    {NG_MODE_P11KIT, "p11-kit"},
    {NG_MODE_CHROMIUM, "chromium"},
};

static const struct {
    CK_ATTRIBUTE_TYPE type;
    const char *name;
} hash_attrs[] = {
    {CKA_CERT_SHA1_HASH, "CKA_CERT_SHA1_HASH"},
    {CKA_HASH_OF_CERTIFICATE, "CKA_HASH_OF_CERTIFICATE"},
    {CKA_NAME_HASH_ALGORITHM, "CKA_NAME_HASH_ALGORITHM"},
};

static const struct {
    CK_OBJECT_CLASS cls;
    const char *name;
} trust_classes[] = {
    {CKO_NSS_TRUST, "CKO_NSS_TRUST"},
    {CKO_TRUST, "CKO_TRUST"},
};

/* What one entry's trust objects carried, over every mode. */
typedef struct {
    char *file;
    unsigned line;
    unsigned attrs[NG_N_ELEMENTS(trust_classes)]; /* bits of hash_attrs */
    unsigned modes;                               /* bits of served_modes */
} served_hash;

/* Asks generation ov for the trust objects NSS would find for entry e (its
 * query: token, class, issuer, serial) and which hash attributes they carry. */
static void
hash_attributes_served(ng_overlay *ov, const ng_entry *e, unsigned attrs[])
{
    static const CK_BBOOL yes = CK_TRUE;

    for (size_t c = 0; c < NG_N_ELEMENTS(trust_classes); c++) {
        CK_OBJECT_CLASS cls = trust_classes[c].cls;
        CK_ATTRIBUTE query[] = {
            {CKA_TOKEN, (void *)&yes, sizeof(yes)},
            {CKA_CLASS, &cls, sizeof(cls)},
            {CKA_ISSUER, (void *)e->issuer.data, e->issuer.len},
            {CKA_SERIAL_NUMBER, (void *)e->serial_der.data, e->serial_der.len},
        };
        ng_find find;
        if (ng_objects_find(ov, query, NG_N_ELEMENTS(query), &find) != CKR_OK)
            continue;
        for (size_t h = 0; h < find.n; h++) {
            for (size_t a = 0; a < NG_N_ELEMENTS(hash_attrs); a++) {
                CK_ATTRIBUTE t = {hash_attrs[a].type, NULL, 0};
                (void)ng_objects_get_attributes(ov, find.handles[h], &t, 1);
                if (t.ulValueLen != CK_UNAVAILABLE_INFORMATION)
                    attrs[c] |= 1u << a;
            }
        }
        ng_find_clear(&find);
    }
}

/* A hash-served finding for one entry: which hash attributes, on which
 * trust classes, in which modes. */
static void
report_hash_served(checker *ck, const served_hash *sh)
{
    char what[512] = "", modes[128] = "";
    const char *sep;
    size_t w = 0, n = 0;

    if (!sh->modes || !sh->file)
        return;
    for (size_t c = 0; c < NG_N_ELEMENTS(trust_classes); c++) {
        if (!sh->attrs[c])
            continue;
        sep = w ? "; " : "";
        for (size_t a = 0; a < NG_N_ELEMENTS(hash_attrs); a++) {
            if (!(sh->attrs[c] & (1u << a)))
                continue;
            w += (size_t)snprintf(what + w, w < sizeof(what) ? sizeof(what) - w : 0, "%s%s", sep,
                                  hash_attrs[a].name);
            sep = ", ";
        }
        if (w < sizeof(what))
            w += (size_t)snprintf(what + w, sizeof(what) - w, " on %s", trust_classes[c].name);
    }
    for (size_t m = 0; m < NG_N_ELEMENTS(served_modes); m++) {
        if (sh->modes & (1u << m))
            n += (size_t)snprintf(modes + n, n < sizeof(modes) ? sizeof(modes) - n : 0, "%s%s",
                                  n ? ", " : "", served_modes[m].name);
    }
    add_finding(ck, sh->file, sh->line, "hash-served",
                "the module would serve %s for this entry (mode%s %s): NSS drops a distrust "
                "record whose hash is not that of the certificate bytes it received, and "
                "a re-encoded copy of the certificate (no key needed) passes",
                what, strchr(modes, ',') ? "s" : "", modes);
}

/* Loads the files as the module does (ng_overlays_start) once per mode and
 * reports every entry whose trust objects would carry a certificate hash:
 * NSS drops a record whose hash is not that of the bytes it received, and
 * a re-encoded copy of the certificate (no key needed) has other bytes. */
static void
check_hash_served(checker *ck, char **paths, size_t n_paths)
{
    served_hash *seen = NULL;
    size_t n_seen = 0;
    char source[] = "nssguard check";

    if (!n_paths)
        return;
    for (size_t m = 0; m < NG_N_ELEMENTS(served_modes); m++) {
        ng_config cfg;
        ng_overlay *ov;
        memset(&cfg, 0, sizeof(cfg));
        cfg.overlays = paths;
        cfg.n_overlays = n_paths;
        cfg.log_sinks = 0; /* the module's events are not the tool's output */
        cfg.ratelimit = 60;
        cfg.reload_ms = 3600000;
        cfg.serve_constraints = true; /* the module's default, constraints=distrust */
        cfg.mode = served_modes[m].mode;
        cfg.source = source;
        ng_log_configure(&cfg);
        if (!ng_overlays_start(&cfg))
            continue;
        ov = ng_overlays_current();
        if (ov && !seen) {
            n_seen = ov->n_entries;
            seen = calloc(n_seen ? n_seen : 1, sizeof(*seen));
            if (!seen)
                n_seen = 0;
        }
        for (size_t i = 0; ov && i < ov->n_entries && i < n_seen; i++) {
            ng_entry e;
            unsigned attrs[NG_N_ELEMENTS(trust_classes)] = {0};
            if (!ng_overlay_entry(ov, i, &e))
                continue;
            hash_attributes_served(ov, &e, attrs);
            if (!seen[i].file) {
                seen[i].file = strdup(e.file);
                seen[i].line = e.line;
            }
            for (size_t c = 0; c < NG_N_ELEMENTS(trust_classes); c++) {
                seen[i].attrs[c] |= attrs[c];
                if (attrs[c])
                    seen[i].modes |= 1u << m;
            }
        }
        ng_overlays_stop();
        ng_log_close();
    }
    for (size_t i = 0; i < n_seen; i++)
        report_hash_served(ck, &seen[i]);
    for (size_t i = 0; i < n_seen; i++)
        free(seen[i].file);
    free(seen);
}

/* --certs and key entries (issue 13): each certificate of a distrusted
 * subject and key that no entry of the files names by issuer and serial. */
static void
check_one_key(checker *ck, const ng_records *recs, const ng_key_entry *k, const ng_entries *ents,
              const ng_index *idx)
{
    const tool_corpus_cert *cc;
    size_t cursor = SIZE_MAX;
    char issuer[512];
    ng_bytes serial;

    while ((cc = tool_corpus_next_subject_key(&ck->certs, k->subject, k->spki_sha256.data,
                                              &cursor)) != NULL) {
        if (!ng_der_integer_value(cc->serial_der, &serial) ||
            ng_index_find(idx, ents->entries, cc->issuer, serial) >= 0)
            continue;
        ng_der_name_text(cc->issuer, issuer, sizeof(issuer));
        add_finding(ck, recs->file, k->line, "key-uncovered",
                    "%s (issuer %s) has the subject and key this entry distrusts, and no entry "
                    "names its issuer and serial: NSS trusts it (nssguard expand --certs writes "
                    "the entry)",
                    cc->origin, issuer);
    }
}

static void
check_keys(checker *ck, const ng_records *files, size_t n_files)
{
    ng_entries ents;
    ng_index idx;
    ng_error err;
    ng_key_entry k;

    if (!ck->certs.n)
        return;
    memset(&ents, 0, sizeof(ents));
    memset(&idx, 0, sizeof(idx));
    for (size_t i = 0; i < n_files; i++) /* a refused file names nothing */
        if (files[i].file)
            (void)ng_build_entries(&files[i], &ents, &err);
    if (ng_index_build(&idx, ents.entries, ents.n_entries)) {
        for (size_t i = 0; i < n_files; i++)
            for (size_t r = 0; files[i].file && r < files[i].n_records; r++)
                if (ng_key_entry_read(&files[i], &files[i].records[r], &k, &err) == 1)
                    check_one_key(ck, &files[i], &k, &ents, &idx);
    }
    ng_index_clear(&idx);
    ng_entries_clear(&ents);
}

static void
usage(FILE *fp)
{
    fputs("usage: nssguard check [--json] [--certs CORPUS]... FILE|DIR...\n"
          "\n"
          "Parses overlay files as the module does and reports defects as\n"
          "file:line: kind: message. Exit status 0 clean, 1 findings, 2 unreadable.\n"
          "A directory means its *.txt and *.ngo files, as the module reads it (an\n"
          "X.ngo beside its X.txt is left out: the text is checked).\n"
          "\n"
          "  --json       one JSON object instead of text\n"
          "  --certs CORPUS\n"
          "               certificates: a DER or PEM file, CCADB's CSV (.csv, .csv.xz),\n"
          "               a directory of them (recursively) or sql:DIR; repeatable.\n"
          "               Also report entries that name the issuer of one of these\n"
          "               certificates in other bytes (name-bytes): NSS never matches them,\n"
          "               and each certificate of a key entry's subject and key that no\n"
          "               entry names by issuer and serial (key-uncovered)\n"
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

static int
check_option(void *ctx, int opt, char *arg)
{
    checker *ck = ctx;
    const char *why;

    if (opt != 'c')
        return TOOL_EXIT_ERROR;
    if (!ck->nss_up) {
        if (!tool_nss_init(NULL))
            return TOOL_EXIT_ERROR;
        ck->nss_up = true;
    }
    if (!tool_corpus_load(&ck->certs, arg, &why)) {
        tool_error("%s: %s", arg, why);
        return TOOL_EXIT_ERROR;
    }
    return -1;
}

/* One path: a compiled image (the module's own checks: checksum, version,
 * size; no records to lint) or a text file, parsed then linted. */
static void
check_path(checker *ck, const char *path, ng_records *recs)
{
    ng_error err;
    size_t len = strlen(path);

    ck->n_files++;
    if (len > 4 && strcmp(path + len - 4, ".ngo") == 0) {
        ng_image *img = ng_image_open(path, &err);
        if (!img) {
            add_error(ck, path, err.line, error_reason(&err));
            return;
        }
        ck->n_entries += ng_image_count(img);
        ng_image_free(img);
        return;
    }
    if (!ng_parse_file(path, recs, &err)) {
        add_error(ck, path, err.line, error_reason(&err));
        return;
    }
    check_file(ck, path, recs);
}

static void
checker_clear(checker *ck)
{
    for (size_t i = 0; i < ck->n_findings; i++) {
        free(ck->findings[i].file);
        free(ck->findings[i].message);
    }
    free(ck->findings);
    for (size_t i = 0; i < ck->n_errors; i++) {
        free(ck->errors[i].file);
        free(ck->errors[i].message);
    }
    free(ck->errors);
    free(ck->seen);
    tool_hmap_clear(&ck->seen_map);
    tool_corpus_clear(&ck->certs);
    if (ck->nss_up)
        tool_nss_shutdown();
}

int
tool_cmd_check(int argc, char **argv)
{
    static const struct option options[] = {
        {"certs", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    checker ck;
    tool_common common = {.name = "check",
                          .usage = usage,
                          .flags = TOOL_OPT_JSON | TOOL_OPT_SOME_OPERANDS,
                          .operand_error = "no overlay file given",
                          .options = options,
                          .option = check_option,
                          .ctx = &ck};
    ng_records *files = NULL;
    size_t n_files = 0;
    char **paths = NULL;
    int rc;

    memset(&ck, 0, sizeof(ck));
    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    ck.json = common.json;
    paths = tool_overlay_paths(argv + optind, (size_t)(argc - optind));
    if (!paths)
        goto out;
    for (size_t i = 0; paths[i]; i++)
        n_files++;
    files = calloc(n_files ? n_files : 1, sizeof(*files));
    if (!files)
        goto out;
    for (size_t i = 0; i < n_files; i++)
        check_path(&ck, paths[i], &files[i]);
    check_hash_served(&ck, paths, n_files);
    check_keys(&ck, files, n_files);
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
    tool_common_clear(&common);
    checker_clear(&ck);
    return rc;
}

/*
 * cmd-import.c: overlay entries from Mozilla's own distrust data.
 *
 *   nssguard import-mozilla [--facts FILE] [--source URL] [--header FILE] [-o FILE] CERTDATA...
 *   nssguard import-onecrl [--include-disabled] [--certs FILE]... [--db sql:DIR]
 *                          [-o FILE] ONECRL.json
 *
 * import-mozilla reads certdata.txt with the module's parser and builder: the
 * entries are exactly the records the module would serve as distrust from
 * that file (a CKO_NSS_TRUST record with a CKT_NSS_NOT_TRUSTED purpose and
 * no positive trust), each written with the purposes Mozilla marked
 * CKT_NSS_NOT_TRUSTED (no others) and its certificate when Mozilla had it,
 * the verified SHA-1, a reason and a reference. The reason comes from the
 * facts file (REASON REFERENCE LABEL lines) or else from the record's own
 * words (MITM -> mitm; mis-issued, not complying -> misissued; bogus,
 * forged, compromise -> compromised; else "distrusted"); the reference from
 * the facts file, else a "Bug N" comment, else --source.
 *
 * import-onecrl turns Remote Settings records into issuer+serial entries.
 * subject+pubKeyHash records are expanded against the certificates given
 * (--certs, --db); those that match none, disabled records (unless asked)
 * and unknown forms are reported on stderr, never dropped silently.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <base64.h>
#include <pk11pub.h>

#include "corpus.h"

/* ---- facts: REASON REFERENCE LABEL ---- */

typedef struct {
    char *reason;
    char *reference; /* NULL for "-" */
    char *label;
} fact;

typedef struct {
    fact *facts;
    size_t n;
} facts;

static void
facts_clear(facts *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->facts[i].reason);
        free(fs->facts[i].reference);
        free(fs->facts[i].label);
    }
    free(fs->facts);
    memset(fs, 0, sizeof(*fs));
}

static bool
facts_read(facts *fs, const char *path)
{
    unsigned char *data = NULL;
    size_t len;
    const char *why;
    char *line, *save = NULL;
    unsigned lineno = 0;
    bool ok = false;

    if (!tool_read_file(path, &data, &len, &why)) {
        tool_error("%s: %s", path, why);
        return false;
    }
    for (line = strtok_r((char *)data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char reason[32], ref[1024];
        int used = 0;
        fact *nf;
        lineno++;
        while (isspace((unsigned char)*line))
            line++;
        if (*line == '#' || *line == '\0')
            continue;
        if (sscanf(line, "%31s %1023s %n", reason, ref, &used) != 2 || !line[used]) {
            tool_error("%s:%u: want REASON REFERENCE LABEL", path, lineno);
            goto out;
        }
        if (!tool_valid_reason(reason) && strcmp(reason, "distrusted") != 0) {
            tool_error("%s:%u: unknown reason '%s'", path, lineno, reason);
            goto out;
        }
        nf = realloc(fs->facts, (fs->n + 1) * sizeof(*nf));
        if (!nf)
            goto out;
        fs->facts = nf;
        nf[fs->n].reason = strdup(reason);
        nf[fs->n].reference = strcmp(ref, "-") == 0 ? NULL : strdup(ref);
        nf[fs->n].label = strdup(line + used);
        fs->n++;
    }
    ok = true;
out:
    free(data);
    return ok;
}

static const fact *
facts_find(const facts *fs, const char *label)
{
    for (size_t i = 0; i < fs->n; i++) {
        if (strcmp(fs->facts[i].label, label) == 0)
            return &fs->facts[i];
    }
    return NULL;
}

/* The reason a Mozilla record's own words give. */
static const char *
reason_from_words(const char *label, const char *comment)
{
    static const struct {
        const char *word;
        const char *reason;
    } words[] = {
        {"MITM", "mitm"},
        {"mis-issued", "misissued"},
        {"misissued", "misissued"},
        {"does not comply", "misissued"},
        {"bogus", "compromised"},
        {"forged", "compromised"},
        {"compromise", "compromised"},
    };

    for (size_t i = 0; i < NG_N_ELEMENTS(words); i++) {
        if (strcasestr(label, words[i].word) || (comment && strcasestr(comment, words[i].word)))
            return words[i].reason;
    }
    return "distrusted";
}

static const ng_record *
record_at(const ng_records *recs, unsigned line)
{
    for (size_t i = 0; i < recs->n_records; i++) {
        if (recs->records[i].line == line)
            return &recs->records[i];
    }
    return NULL;
}

/* Mozilla's comment lines without their '#', then where the record was. */
static char *
import_comment(const ng_record *rec, const char *source_name)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    const char *p;

    if (!mem)
        return NULL;
    for (p = rec->comment; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *s = p;
        if (n && *s == '#') {
            s++;
            n--;
            if (n && *s == ' ') {
                s++;
                n--;
            }
        }
        if (n) /* Mozilla's blank "#" lines carry nothing */
            fprintf(mem, "%.*s\n", (int)n, s);
        p = nl ? nl + 1 : p + strlen(p);
    }
    fprintf(mem, "nssguard import-mozilla: %s:%u", source_name, rec->line);
    if (fclose(mem) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

static void
usage_mozilla(FILE *fp)
{
    fputs("usage: nssguard import-mozilla [--facts FILE] [--source URL] [--header FILE]\n"
          "                               [-o FILE] CERTDATA.txt...\n"
          "\n"
          "Writes Mozilla's explicit-distrust records (trust objects with a\n"
          "CKT_NSS_NOT_TRUSTED purpose and no positive trust) as overlay entries,\n"
          "each purpose as the record gives it. With several files, a record whose\n"
          "issuer+serial an earlier file already gave is skipped.\n"
          "\n"
          "  --facts FILE    REASON REFERENCE LABEL lines that set the reason and\n"
          "                  reference of the records with that label (- keeps it)\n"
          "  --source URL    reference for records without one (default: the file name)\n"
          "  --header FILE   copy this file's text first (a provenance comment)\n"
          "  -o FILE         write to FILE instead of standard output\n"
          "  --shrink        with -o: write FILE even with fewer than half the entries\n"
          "                  it has (else refused: an empty or cut input)\n",
          fp);
}

/* One certdata.txt: parsed and built as the module does, its certificates,
 * its SHA-256. */
typedef struct {
    const char *path;
    ng_records recs;
    ng_entries ents;
    tool_cert_index cert_ix;
    unsigned char *input;
    size_t input_len;
    char hex[200];
} moz_input;

/* One import-mozilla run: options, inputs, and what was written. */
typedef struct {
    const char *facts_path, *source, *header, *output;
    bool shrink; /* --shrink */
    facts fs;
    moz_input *in;
    size_t n_in;
    unsigned char *header_text;
    size_t header_len, n_entries, n_records, n_skipped, n_with_cert, n_facts_used;
    size_t n_duplicates, n_left_out; /* records seen before; purposes not NOT_TRUSTED */
} moz_ctx;

static int
moz_option(void *ctx, int opt, char *arg)
{
    moz_ctx *m = ctx;

    switch (opt) {
    case 'f':
        m->facts_path = arg;
        return -1;
    case 's':
        m->source = arg;
        return -1;
    case 'H':
        m->header = arg;
        return -1;
    case 'o':
        m->output = arg;
        return -1;
    default:
        return TOOL_EXIT_ERROR;
    }
}

/* One input parsed and built as the module does, and its SHA-256 (NSS is up). */
static bool
moz_read_input(moz_input *in)
{
    const char *why;
    ng_error err;
    unsigned char sha256[32];

    if (!tool_read_file(in->path, &in->input, &in->input_len, &why)) {
        tool_error("%s: %s", in->path, why);
        return false;
    }
    if (!ng_parse_buffer(in->path, (const char *)in->input, in->input_len, &in->recs, &err) ||
        !ng_build_entries(&in->recs, &in->ents, &err)) {
        tool_error("%s", err.msg);
        return false;
    }
    if (PK11_HashBuf(SEC_OID_SHA256, sha256, in->input, (PRInt32)in->input_len) != SECSuccess) {
        tool_error("cannot hash %s", in->path);
        return false;
    }
    tool_hex(sha256, sizeof(sha256), in->hex, sizeof(in->hex));
    return tool_cert_index_build(&in->cert_ix, &in->recs);
}

/* The facts, the header, then every input. */
static bool
moz_read(moz_ctx *m, bool *nss_up)
{
    const char *why;

    if (m->facts_path && !facts_read(&m->fs, m->facts_path))
        return false;
    if (m->header && !tool_read_file(m->header, &m->header_text, &m->header_len, &why)) {
        tool_error("%s: %s", m->header, why);
        return false;
    }
    if (!tool_nss_init(NULL))
        return false;
    *nss_up = true;
    for (size_t i = 0; i < m->n_in; i++) {
        if (!moz_read_input(&m->in[i]))
            return false;
        m->n_records += m->in[i].recs.n_records;
        m->n_skipped += m->in[i].ents.skipped;
    }
    return true;
}

/* The purposes the record marks CKT_NSS_NOT_TRUSTED, as TOOL_PURPOSE_* bits.
 * The builder made an entry only of a record without positive trust; a
 * purpose with another value (MUST_VERIFY_TRUST, TRUST_UNKNOWN: not neutral
 * in NSS) is left out and counted, never written. */
static unsigned
moz_not_trusted(moz_ctx *m, const ng_record *rec)
{
    static const CK_ATTRIBUTE_TYPE purposes[] = {CKA_TRUST_SERVER_AUTH, CKA_TRUST_CLIENT_AUTH,
                                                 CKA_TRUST_EMAIL_PROTECTION,
                                                 CKA_TRUST_CODE_SIGNING};
    unsigned bits = 0;
    CK_ULONG t;

    for (unsigned i = 0; rec && i < NG_N_ELEMENTS(purposes); i++) {
        if (!ng_record_ulong(rec, purposes[i], &t))
            continue;
        if (t == CKT_NSS_NOT_TRUSTED)
            bits |= 1u << i;
        else
            m->n_left_out++;
    }
    return bits;
}

/* One entry as an overlay entry: the certificate when the input has it, the
 * record's purposes, the reason and reference from the facts, the record's
 * words or the source. */
static bool
moz_write_entry(moz_ctx *m, const moz_input *in, FILE *mem, const ng_entry *e)
{
    const ng_record *rec = record_at(&in->recs, e->line);
    const ng_record *cert_rec = tool_cert_index_find(&in->cert_ix, e->issuer, e->serial_der);
    const ng_attr *md5 = rec ? ng_record_get(rec, CKA_CERT_MD5_HASH) : NULL;
    const fact *f = facts_find(&m->fs, e->label);
    tool_entry out;
    ng_cert_parts parts;

    memset(&out, 0, sizeof(out));
    out.label = e->label;
    out.issuer = e->issuer;
    out.serial_der = e->serial_der;
    if (cert_rec) {
        const ng_attr *value = ng_record_get(cert_rec, CKA_VALUE);
        out.cert = (ng_bytes){value->value, value->len};
        if (!ng_der_cert_parts(out.cert, &parts)) {
            tool_error("%s:%u: cannot find the subject", in->path, cert_rec->line);
            return false;
        }
        out.subject = parts.subject;
        m->n_with_cert++;
    }
    out.has_sha1 = e->has_sha1;
    memcpy(out.sha1, e->sha1, sizeof(out.sha1));
    if (cert_rec && md5 && md5->len == sizeof(out.md5)) {
        out.has_md5 = true;
        memcpy(out.md5, md5->value, sizeof(out.md5));
    }
    out.trust_as_given = true;
    out.not_trusted = moz_not_trusted(m, rec);
    out.reason = f ? f->reason : reason_from_words(e->label, rec ? rec->comment : NULL);
    out.reference = f && f->reference ? f->reference
                    : e->reference[0] ? e->reference
                    : m->source       ? m->source
                                      : base_name(in->path);
    m->n_facts_used += f != NULL;
    out.comment = import_comment(rec, base_name(in->path));
    tool_write_entry(mem, &out);
    free((char *)out.comment);
    return true;
}

static bool
same_bytes(ng_bytes a, ng_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* Whether an earlier input, or this one before index j, gave the entry. */
static bool
moz_seen(const moz_ctx *m, size_t k, size_t j)
{
    const ng_entry *e = &m->in[k].ents.entries[j];

    for (size_t i = 0; i <= k; i++) {
        size_t end = i == k ? j : m->in[i].ents.n_entries;
        for (size_t x = 0; x < end; x++) {
            const ng_entry *o = &m->in[i].ents.entries[x];
            if (same_bytes(o->issuer, e->issuer) && same_bytes(o->serial, e->serial))
                return true;
        }
    }
    return false;
}

/* The provenance lines: the command, each input's SHA-256, the count. */
static void
moz_write_provenance(moz_ctx *m, FILE *mem)
{
    fprintf(mem, "# Generated by: nssguard import-mozilla%s%s", m->facts_path ? " --facts " : "",
            m->facts_path ? base_name(m->facts_path) : "");
    for (size_t i = 0; i < m->n_in; i++)
        fprintf(mem, " %s", base_name(m->in[i].path));
    fputc('\n', mem);
    for (size_t i = 0; i < m->n_in; i++) {
        fprintf(mem, "# Input SHA-256: %s", m->in[i].hex);
        if (m->n_in > 1)
            fprintf(mem, " (%s)", base_name(m->in[i].path));
        fputc('\n', mem);
    }
    fprintf(mem, "# Entries: %zu (%zu records in the input%s)\n\nBEGINDATA\n\n", m->n_entries,
            m->n_records, m->n_in > 1 ? "s" : "");
}

/* Facts that named no record are said, not ignored. */
static void
moz_unused_facts(const moz_ctx *m)
{
    for (size_t i = 0; i < m->fs.n; i++) {
        bool used = false;
        for (size_t k = 0; k < m->n_in && !used; k++) {
            for (size_t j = 0; j < m->in[k].ents.n_entries && !used; j++)
                used = strcmp(m->in[k].ents.entries[j].label, m->fs.facts[i].label) == 0;
        }
        if (!used)
            tool_error("%s: no distrust record is labelled \"%s\"", m->facts_path,
                       m->fs.facts[i].label);
    }
}

static bool
moz_write(moz_ctx *m)
{
    char *buf = NULL;
    size_t buf_len = 0;
    FILE *mem = open_memstream(&buf, &buf_len);
    bool ok = false;

    if (!mem)
        return false;
    if (m->header_text)
        fwrite(m->header_text, 1, m->header_len, mem);
    for (size_t k = 0; k < m->n_in; k++) {
        for (size_t j = 0; j < m->in[k].ents.n_entries; j++)
            m->n_entries += !moz_seen(m, k, j);
    }
    m->n_duplicates = 0;
    moz_write_provenance(m, mem);
    for (size_t k = 0; k < m->n_in; k++) {
        for (size_t j = 0; j < m->in[k].ents.n_entries; j++) {
            if (moz_seen(m, k, j)) {
                m->n_duplicates++;
                continue;
            }
            if (!moz_write_entry(m, &m->in[k], mem, &m->in[k].ents.entries[j])) {
                fclose(mem);
                goto out;
            }
        }
    }
    if (fclose(mem) != 0)
        goto out;
    moz_unused_facts(m);
    ok = tool_write_remade(m->output, buf, buf_len, m->shrink);
out:
    free(buf);
    return ok;
}

static void
moz_summary(const moz_ctx *m)
{
    fprintf(stderr,
            "nssguard: import-mozilla: %zu entries (%zu with the certificate, %zu "
            "issuer+serial only), %zu records skipped, %zu set by facts",
            m->n_entries, m->n_with_cert, m->n_entries - m->n_with_cert, m->n_skipped,
            m->n_facts_used);
    if (m->n_duplicates)
        fprintf(stderr, ", %zu given by an earlier file", m->n_duplicates);
    if (m->n_left_out)
        fprintf(stderr, ", %zu purposes neither distrust nor positive left out", m->n_left_out);
    fputc('\n', stderr);
}

int
tool_cmd_import_mozilla(int argc, char **argv)
{
    static const struct option options[] = {
        {"facts", required_argument, NULL, 'f'},
        {"source", required_argument, NULL, 's'},
        {"header", required_argument, NULL, 'H'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    moz_ctx m;
    tool_common common = {.name = "import-mozilla",
                          .usage = usage_mozilla,
                          .flags = TOOL_OPT_SOME_OPERANDS | TOOL_OPT_REMADE,
                          .operand_error = "import-mozilla wants a certdata.txt",
                          .options = options,
                          .shortopts = "o:",
                          .option = moz_option,
                          .ctx = &m};
    bool nss_up = false;
    int rc;

    memset(&m, 0, sizeof(m));
    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    m.shrink = common.shrink;
    m.n_in = (size_t)(argc - optind);
    m.in = calloc(m.n_in, sizeof(*m.in));
    rc = TOOL_EXIT_ERROR;
    if (!m.in)
        goto out;
    for (size_t i = 0; i < m.n_in; i++)
        m.in[i].path = argv[optind + (int)i];
    if (!moz_read(&m, &nss_up) || !moz_write(&m))
        goto out;
    moz_summary(&m);
    rc = TOOL_EXIT_OK;
out:
    for (size_t i = 0; m.in && i < m.n_in; i++) {
        ng_entries_clear(&m.in[i].ents);
        tool_cert_index_clear(&m.in[i].cert_ix);
        ng_records_clear(&m.in[i].recs);
        free(m.in[i].input);
    }
    free(m.in);
    free(m.header_text);
    facts_clear(&m.fs);
    if (nss_up)
        tool_nss_shutdown();
    tool_common_clear(&common);
    return rc;
}

/* ---- import-onecrl ---- */

typedef struct {
    size_t records, imported, expanded, disabled, duplicates, unconverted;
    size_t with_cert; /* imported issuer+serial entries written with their certificate */
} onecrl_stats;

/* The issuer+serial pairs written so far: a duplicate record is counted,
 * not written twice. Found through a hash map (OneCRL has ~1,900 records). */
typedef struct {
    unsigned char *issuer;
    size_t issuer_len;
    unsigned char *serial;
    size_t serial_len;
} seen_key;

typedef struct {
    seen_key *v;
    size_t n;
    tool_hmap map; /* ng_entry_hash(issuer, serial) -> index in v */
} seen_set;

/* 1: seen before; 0: new, now noted; -1: out of memory. */
static int
seen_before(seen_set *s, const unsigned char *issuer, size_t issuer_len,
            const unsigned char *serial, size_t serial_len)
{
    uint64_t h = ng_entry_hash((ng_bytes){issuer, issuer_len}, (ng_bytes){serial, serial_len});
    size_t cursor = SIZE_MAX, i;
    seen_key *nv, k;

    while ((i = tool_hmap_next(&s->map, h, &cursor)) != SIZE_MAX) {
        const seen_key *o = &s->v[i];
        if (o->issuer_len == issuer_len && o->serial_len == serial_len &&
            memcmp(o->issuer, issuer, issuer_len) == 0 &&
            memcmp(o->serial, serial, serial_len) == 0)
            return 1;
    }
    k = (seen_key){malloc(issuer_len), issuer_len, malloc(serial_len), serial_len};
    nv = k.issuer && k.serial ? realloc(s->v, (s->n + 1) * sizeof(*nv)) : NULL;
    if (!nv || !tool_hmap_add(&s->map, h)) {
        if (nv)
            s->v = nv;
        free(k.issuer);
        free(k.serial);
        return -1;
    }
    memcpy(k.issuer, issuer, issuer_len);
    memcpy(k.serial, serial, serial_len);
    s->v = nv;
    s->v[s->n++] = k;
    return 0;
}

static void
seen_clear(seen_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].issuer);
        free(s->v[i].serial);
    }
    free(s->v);
    tool_hmap_clear(&s->map);
    memset(s, 0, sizeof(*s));
}

/* details.bug: a number, a URL or nothing. */
static char *
onecrl_reference(const tool_json *rec)
{
    const tool_json *details = tool_json_get(rec, "details");
    const char *bug = tool_json_get_string(details, "bug");
    const char *id = tool_json_get_string(rec, "id");
    char *ref = NULL;

    if (bug && *bug && strspn(bug, "0123456789") == strlen(bug)) {
        if (asprintf(&ref, "https://bugzilla.mozilla.org/show_bug.cgi?id=%s", bug) < 0)
            ref = NULL;
    } else if (bug && strncmp(bug, "http", 4) == 0) {
        ref = strdup(bug);
    } else if (asprintf(&ref, "OneCRL record %s", id ? id : "(no id)") < 0) {
        ref = NULL;
    }
    return ref;
}

static const char *
onecrl_reason(const tool_json *rec)
{
    const char *why = tool_json_get_string(tool_json_get(rec, "details"), "why");

    return why && strcasestr(why, "compromise") ? "compromised" : "revoked";
}

static char *
onecrl_label(const tool_json *rec)
{
    const char *name = tool_json_get_string(tool_json_get(rec, "details"), "name");
    const char *id = tool_json_get_string(rec, "id");
    char *label;

    if (name && *name)
        return strdup(name);
    if (asprintf(&label, "OneCRL %s", id ? id : "(no id)") < 0)
        return NULL;
    return label;
}

static bool
import_issuer_serial(FILE *out, const tool_json *rec, const char *issuer_b64,
                     const char *serial_b64, seen_set *seen, onecrl_stats *st,
                     const char *why_prefix, const tool_corpus *corpus)
{
    const tool_corpus_cert *cc;
    unsigned char *issuer = NULL, *serial = NULL, *serial_der = NULL;
    unsigned issuer_len = 0, serial_len = 0;
    size_t serial_der_len = 0;
    char name[512], hex[256], *comment = NULL, *label = NULL, *ref = NULL;
    const char *why = tool_json_get_string(tool_json_get(rec, "details"), "why");
    const char *id = tool_json_get_string(rec, "id");
    tool_entry e;
    bool ok = false;

    issuer = ATOB_AsciiToData(issuer_b64, &issuer_len);
    serial = ATOB_AsciiToData(serial_b64, &serial_len);
    if (!issuer || !serial || !serial_len || !ng_der_is_sequence((ng_bytes){issuer, issuer_len}) ||
        !(serial_der = tool_der_integer(serial, serial_len, &serial_der_len))) {
        tool_error("%srecord %s: issuerName or serialNumber is not base64 of a DER Name and "
                   "serial bytes; not imported",
                   why_prefix, id ? id : "(no id)");
        st->unconverted++;
        ok = true;
        goto out;
    }
    switch (seen_before(seen, issuer, issuer_len, serial, serial_len)) {
    case 1:
        st->duplicates++;
        ok = true;
        goto out;
    case -1:
        tool_error("out of memory");
        goto out;
    }
    tool_name_text((ng_bytes){issuer, issuer_len}, name, sizeof(name));
    tool_hex(serial, serial_len, hex, sizeof(hex));
    label = onecrl_label(rec);
    ref = onecrl_reference(rec);
    if (asprintf(&comment, "OneCRL %s%s\nIssuer: %s\nSerial Number: %s%s%s", id ? id : "",
                 tool_json_get(rec, "enabled") &&
                         tool_json_type_of(tool_json_get(rec, "enabled")) == TOOL_JSON_FALSE
                     ? " (disabled in OneCRL)"
                     : "",
                 name, hex, why && *why && strcmp(why, ".") ? "\nWhy: " : "",
                 why && *why && strcmp(why, ".") ? why : "") < 0)
        comment = NULL;
    if (!label || !ref || !comment)
        goto out;
    memset(&e, 0, sizeof(e));
    e.label = label;
    e.comment = comment;
    e.issuer = (ng_bytes){issuer, issuer_len};
    e.serial_der = (ng_bytes){serial_der, serial_der_len};
    e.reason = onecrl_reason(rec);
    e.reference = ref;
    /* The certificate, when a corpus given holds it: Chromium mode and
     * p11-kit's trust list then see it (NSS mode serves no hash anyway). */
    cc = tool_corpus_find_issuer_serial(corpus, e.issuer, e.serial_der);
    if (cc) {
        e.cert = cc->der;
        e.subject = cc->subject;
        st->with_cert++;
    }
    tool_write_entry(out, &e);
    st->imported++;
    ok = true;
out:
    if (issuer)
        PORT_Free(issuer);
    if (serial)
        PORT_Free(serial);
    free(serial_der);
    free(comment);
    free(label);
    free(ref);
    return ok;
}

static bool
import_subject_key(FILE *out, const tool_json *rec, const tool_corpus *corpus, onecrl_stats *st,
                   const char *source)
{
    const tool_corpus_cert *cc;
    size_t cursor = SIZE_MAX;
    const char *subject_b64 = tool_json_get_string(rec, "subject");
    const char *hash_b64 = tool_json_get_string(rec, "pubKeyHash");
    const char *id = tool_json_get_string(rec, "id");
    tool_subject_key sk;
    tool_add_options opt;
    char name[512], *label = NULL, *ref = NULL;
    size_t matched = 0;
    const char *why;
    bool ok = false;

    if (!tool_subject_key_decode(&sk, subject_b64, hash_b64)) {
        tool_error("%s: record %s: subject or pubKeyHash is not base64 of a DER Name and a "
                   "SHA-256; not imported",
                   source, id ? id : "(no id)");
        st->unconverted++;
        return true;
    }
    label = onecrl_label(rec);
    ref = onecrl_reference(rec);
    if (!label || !ref)
        goto out;
    opt = (tool_add_options){onecrl_reason(rec), ref, label, false, {NULL, 0}, NULL, false};
    while ((cc = tool_corpus_next_subject_key(corpus, (ng_bytes){sk.subject, sk.subject_len},
                                              sk.key_hash, &cursor)) != NULL) {
        SECItem der = {siBuffer, (unsigned char *)cc->der.data, (unsigned)cc->der.len};
        if (!tool_add_cert(out, &der, &opt, &why)) {
            tool_error("%s: %s", cc->origin, why);
            goto out;
        }
        matched++;
    }
    if (matched) {
        st->expanded += matched;
    } else {
        tool_name_text((ng_bytes){sk.subject, sk.subject_len}, name, sizeof(name));
        tool_error("%s: record %s: subject+pubKeyHash (%s) matches none of the certificates "
                   "given; not imported (NSS looks trust up by issuer and serial: give the "
                   "certificates with --certs or --db)",
                   source, id ? id : "(no id)", name);
        st->unconverted++;
    }
    ok = true;
out:
    free(label);
    free(ref);
    tool_subject_key_clear(&sk);
    return ok;
}

static void
usage_onecrl(FILE *fp)
{
    fputs("usage: nssguard import-onecrl [--include-disabled] [--certs CORPUS]... [--db sql:DIR]\n"
          "                              [-o FILE] ONECRL.json\n"
          "\n"
          "Writes OneCRL records (a Remote Settings export) as overlay entries:\n"
          "issuerName+serialNumber records as issuer+serial entries (with the\n"
          "certificate when a corpus given holds it), subject+pubKeyHash records as\n"
          "full entries for each certificate given that has that subject and key.\n"
          "Records that cannot be converted are listed on stderr and make the exit\n"
          "status 1. A CORPUS is a PEM bundle, a DER file, a directory, an sql:DIR\n"
          "or CCADB's CSV (.csv, .csv.xz).\n"
          "\n"
          "  --include-disabled  also import records with \"enabled\": false\n"
          "  --certs CORPUS      certificates to attach to issuer+serial entries and to\n"
          "                      expand subject+pubKeyHash records against\n"
          "  --db sql:DIR        ... and the certificates of this NSS database\n"
          "  -o FILE             write to FILE instead of standard output\n"
          "  --shrink            with -o: write FILE even with fewer than half the\n"
          "                      entries it has (else refused: an empty or cut export)\n",
          fp);
}

/* One import-onecrl run. */
typedef struct {
    bool include_disabled;
    char **cert_files;
    size_t n_cert_files;
    const char *db, *output, *source;
    bool shrink;       /* --shrink */
    char prefix[1100]; /* "SOURCE: " */
    unsigned char *input;
    size_t input_len;
    tool_json *root;
    const tool_json *data; /* the array of records */
    tool_corpus corpus;
    onecrl_stats st;
    seen_set seen;
} onecrl_ctx;

static int
onecrl_option(void *ctx, int opt, char *arg)
{
    onecrl_ctx *o = ctx;

    switch (opt) {
    case 'D':
        o->include_disabled = true;
        return -1;
    case 'c':
        return tool_strv_push(&o->cert_files, &o->n_cert_files, arg) ? -1 : TOOL_EXIT_ERROR;
    case 'd':
        o->db = arg;
        return -1;
    case 'o':
        o->output = arg;
        return -1;
    default:
        return TOOL_EXIT_ERROR;
    }
}

/* The export, parsed, its records found; NSS and the certificates given. */
static bool
onecrl_read(onecrl_ctx *o, bool *nss_up)
{
    const char *why;
    char err[256];

    if (!tool_read_file(o->source, &o->input, &o->input_len, &why)) {
        tool_error("%s: %s", o->source, why);
        return false;
    }
    if (!tool_json_parse((const char *)o->input, o->input_len, &o->root, err, sizeof(err))) {
        tool_error("%s: %s", o->source, err);
        return false;
    }
    o->data =
        tool_json_type_of(o->root) == TOOL_JSON_ARRAY ? o->root : tool_json_get(o->root, "data");
    if (!o->data || tool_json_type_of(o->data) != TOOL_JSON_ARRAY) {
        tool_error("%s: want a Remote Settings export: {\"data\": [records]} or [records]",
                   o->source);
        return false;
    }
    if (!tool_nss_init(NULL))
        return false;
    *nss_up = true;
    if (!tool_corpus_load_all(&o->corpus, o->cert_files, o->n_cert_files))
        return false;
    if (o->db) {
        char spec[4100];
        bool prefixed = strncmp(o->db, "sql:", 4) == 0 || strncmp(o->db, "dbm:", 4) == 0;
        snprintf(spec, sizeof(spec), "%s%s", prefixed ? "" : "sql:", o->db);
        if (!tool_corpus_load(&o->corpus, spec, &why)) {
            tool_error("%s: %s", o->db, why);
            return false;
        }
    }
    return true;
}

static bool
onecrl_record(onecrl_ctx *o, FILE *mem, size_t i)
{
    const tool_json *rec = tool_json_at(o->data, i);
    const tool_json *enabled = tool_json_get(rec, "enabled");
    const char *issuer = tool_json_get_string(rec, "issuerName");
    const char *serial = tool_json_get_string(rec, "serialNumber");
    const char *id = tool_json_get_string(rec, "id");

    o->st.records++;
    if (enabled && tool_json_type_of(enabled) == TOOL_JSON_FALSE && !o->include_disabled) {
        o->st.disabled++;
        return true;
    }
    if (issuer && serial)
        return import_issuer_serial(mem, rec, issuer, serial, &o->seen, &o->st, o->prefix,
                                    &o->corpus);
    if (tool_json_get_string(rec, "subject") && tool_json_get_string(rec, "pubKeyHash"))
        return import_subject_key(mem, rec, &o->corpus, &o->st, o->source);
    tool_error("%s: record %zu (%s): neither issuerName+serialNumber nor "
               "subject+pubKeyHash; not imported",
               o->source, i + 1, id ? id : "no id");
    o->st.unconverted++;
    return true;
}

static bool
onecrl_write(onecrl_ctx *o)
{
    char *buf = NULL;
    size_t buf_len = 0;
    FILE *mem = open_memstream(&buf, &buf_len);
    bool ok = false;

    if (!mem)
        return false;
    fprintf(mem,
            "# Generated by: nssguard import-onecrl%s %s\n"
            "# OneCRL records are revocations Firefox applies; as an overlay they make\n"
            "# NSS reject these certificates for every application.\n\nBEGINDATA\n\n",
            o->include_disabled ? " --include-disabled" : "",
            strrchr(o->source, '/') ? strrchr(o->source, '/') + 1 : o->source);
    for (size_t i = 0; i < tool_json_length(o->data); i++) {
        if (!onecrl_record(o, mem, i)) {
            fclose(mem);
            goto out;
        }
    }
    if (fclose(mem) == 0)
        ok = tool_write_remade(o->output, buf, buf_len, o->shrink);
out:
    free(buf);
    return ok;
}

int
tool_cmd_import_onecrl(int argc, char **argv)
{
    static const struct option options[] = {
        {"include-disabled", no_argument, NULL, 'D'},
        {"certs", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    onecrl_ctx o;
    tool_common common = {.name = "import-onecrl",
                          .usage = usage_onecrl,
                          .flags = TOOL_OPT_ONE_OPERAND | TOOL_OPT_REMADE,
                          .operand_error = "import-onecrl wants one JSON file",
                          .options = options,
                          .shortopts = "o:",
                          .option = onecrl_option,
                          .ctx = &o};
    bool nss_up = false;
    int rc;

    memset(&o, 0, sizeof(o));
    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    o.shrink = common.shrink;
    o.source = argv[optind];
    snprintf(o.prefix, sizeof(o.prefix), "%s: ", o.source);
    if (!onecrl_read(&o, &nss_up) || !onecrl_write(&o))
        goto out;
    fprintf(stderr,
            "nssguard: import-onecrl: %zu records: %zu imported, %zu expanded from "
            "subject+pubKeyHash, %zu disabled, %zu duplicates, %zu not converted\n",
            o.st.records, o.st.imported, o.st.expanded, o.st.disabled, o.st.duplicates,
            o.st.unconverted);
    if ((o.n_cert_files || o.db) && o.st.imported)
        fprintf(stderr,
                "nssguard: import-onecrl: %zu of the %zu issuer+serial entries written with "
                "their certificate (%zu certificates given)\n",
                o.st.with_cert, o.st.imported, o.corpus.n);
    rc = o.st.unconverted ? TOOL_EXIT_FOUND : TOOL_EXIT_OK;
out:
    seen_clear(&o.seen);
    tool_json_free(o.root);
    free(o.input);
    free(o.cert_files);
    tool_corpus_clear(&o.corpus);
    if (nss_up)
        tool_nss_shutdown();
    tool_common_clear(&common);
    return rc;
}

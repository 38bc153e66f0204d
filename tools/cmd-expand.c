/*
 * cmd-expand.c: nssguard expand --certs CORPUS... [--covered OVERLAY]...
 *               -o OUT KEYFILE...
 *
 * Distrust by key (issue 13). A key entry (CKA_SUBJECT +
 * CKA_NSSGUARD_SPKI_SHA256, no issuer or serial; reason mitm or compromised)
 * distrusts every certificate of that subject and key, but NSS asks a module
 * for trust by issuer and serial only: the module serves nothing for it. This
 * command turns each key entry into one issuer+serial entry (with the
 * certificate) per certificate of that subject and key found in the corpora,
 * and says in comments which certificates it found, where, and what each key
 * entry became. Certificates an entry of a --covered overlay already names
 * (issuer and serial) are counted, not written again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "tool.h"

typedef struct {
    tool_corpus corpus;
    bool *written; /* parallel to corpus.certs: an entry for the first certificate
                      of its issuer+serial is in the output already */
    char **corpora;
    size_t n_corpora;
    char **covered;
    size_t n_covered;
    ng_records *cov_recs;
    ng_entries cov;
    ng_index cov_index;
    const char *out_path;
    bool shrink; /* --shrink */
    bool nss_up;
} expander;

static void
hex(char *buf, size_t size, const unsigned char *data, size_t len, const char *sep)
{
    size_t w = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < len && w + 4 < size; i++)
        w += (size_t)snprintf(buf + w, size - w, "%s%02x", i ? sep : "", data[i]);
}

/* The INTEGER value of a corpus certificate's serial (the corpus decoded it). */
static ng_bytes
serial_value(const tool_corpus_cert *c)
{
    ng_bytes v = {NULL, 0};

    (void)ng_der_integer_value(c->serial_der, &v);
    return v;
}

static int
expand_option(void *ctx, int opt, char *arg)
{
    expander *x = ctx;

    switch (opt) {
    case 'c':
        return tool_strv_push(&x->corpora, &x->n_corpora, arg) ? -1 : TOOL_EXIT_ERROR;
    case 'v':
        return tool_strv_push(&x->covered, &x->n_covered, arg) ? -1 : TOOL_EXIT_ERROR;
    case 'o':
        x->out_path = arg;
        return -1;
    default:
        return TOOL_EXIT_ERROR;
    }
}

/* NSS (the corpus reader hashes with it, and opens sql: databases beside
 * it), then every corpus through the one reader (the certificates the
 * --covered overlays hold come first). */
static bool
load_corpora(expander *x)
{
    if (!tool_nss_init(NULL))
        return false;
    x->nss_up = true;
    for (size_t i = 0; i < x->cov.n_entries; i++) {
        const ng_entry *e = &x->cov.entries[i];
        char origin[4096];
        snprintf(origin, sizeof(origin), "%s:%u", e->file, e->line);
        if (e->cert.len && !tool_corpus_add(&x->corpus, e->cert.data, e->cert.len, origin))
            return false;
    }
    if (!tool_corpus_load_all(&x->corpus, x->corpora, x->n_corpora))
        return false;
    x->written = calloc(x->corpus.n + 1, sizeof(*x->written));
    return x->written != NULL;
}

/* The --covered overlays' entries, indexed by issuer+serial. */
static bool
load_covered(expander *x)
{
    ng_error err;

    x->cov_recs = calloc(x->n_covered + 1, sizeof(*x->cov_recs));
    if (!x->cov_recs)
        return false;
    for (size_t i = 0; i < x->n_covered; i++) {
        if (!ng_parse_file(x->covered[i], &x->cov_recs[i], &err) ||
            !ng_build_entries(&x->cov_recs[i], &x->cov, &err)) {
            tool_error("%s", err.msg);
            return false;
        }
    }
    return ng_index_build(&x->cov_index, x->cov.entries, x->cov.n_entries);
}

static bool
same_bytes(ng_bytes a, ng_bytes b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

static bool
same_issuer_serial(const tool_corpus_cert *a, const tool_corpus_cert *b)
{
    return same_bytes(a->issuer, b->issuer) && same_bytes(a->serial_der, b->serial_der);
}

/* The next certificate of key entry k's subject and key (in the order read). */
static const tool_corpus_cert *
next_of_key(const expander *x, const ng_key_entry *k, size_t *cursor)
{
    return tool_corpus_next_subject_key(&x->corpus, k->subject, k->spki_sha256.data, cursor);
}

/* Counts of what one key entry became. */
typedef struct {
    size_t found;   /* distinct issuer+serial in the corpora */
    size_t written; /* new entries */
    size_t covered; /* named by a --covered overlay already */
} key_result;

/* The comment above one expanded entry: the key entry, the certificate, and
 * every place the corpora hold it (the same issuer and serial). */
static void
write_found(FILE *out, const expander *x, const char *file, const ng_key_entry *k,
            const tool_corpus_cert *c)
{
    const tool_corpus_cert *o;
    ng_bytes serial = serial_value(c);
    unsigned char digest[NG_SHA256_LEN];
    char name[512], hserial[200], sha[80];
    size_t cursor = SIZE_MAX;

    ng_der_name_text(c->issuer, name, sizeof(name));
    hex(hserial, sizeof(hserial), serial.data, serial.len, ":");
    ng_sha256(c->der.data, c->der.len, digest);
    hex(sha, sizeof(sha), digest, NG_SHA256_LEN, "");
    fprintf(out, "\n# nssguard expand: from the key entry %s:%u \"%s\"\n", file, k->line, k->label);
    fprintf(out, "# Issuer: %s\n# Serial Number: %s\n# SHA-256: %s\n", name, hserial, sha);
    while ((o = next_of_key(x, k, &cursor)) != NULL) {
        size_t copy = 0;
        const char *where;
        if (o < c || !same_issuer_serial(c, o))
            continue;
        fprintf(out, "# found in: %s\n", o->origin);
        while ((where = tool_corpus_next_copy(&x->corpus, o, &copy)) != NULL)
            fprintf(out, "# found in: %s\n", where);
    }
}

/* One certificate of the key: an issuer+serial entry with the certificate. */
static void
write_cert_entry(FILE *out, const ng_key_entry *k, const tool_corpus_cert *c)
{
    tool_entry e;

    memset(&e, 0, sizeof(e));
    e.label = k->label;
    e.cert = c->der;
    e.subject = c->subject;
    e.issuer = c->issuer;
    e.serial_der = c->serial_der;
    ng_sha1(c->der.data, c->der.len, e.sha1);
    e.has_sha1 = true;
    e.reason = k->reason;
    e.reference = k->reference;
    e.spki_sha256 = k->spki_sha256;
    tool_write_entry(out, &e);
}

/* An earlier certificate of key entry k with c's issuer and serial. */
static bool
seen_before(const expander *x, const ng_key_entry *k, const tool_corpus_cert *c)
{
    const tool_corpus_cert *o;
    size_t cursor = SIZE_MAX;

    while ((o = next_of_key(x, k, &cursor)) != NULL && o < c) {
        if (same_issuer_serial(c, o))
            return true;
    }
    return false;
}

static void
note_covered(char **notes, ng_bytes serial, const char *file, unsigned line)
{
    char *note = NULL, hserial[200];

    hex(hserial, sizeof(hserial), serial.data, serial.len, ":");
    if (asprintf(&note, "%s  serial %s: already %s:%u\n", *notes ? *notes : "", hserial, file,
                 line) >= 0) {
        free(*notes);
        *notes = note;
    }
}

/* Every certificate of key entry k: written once per issuer+serial, unless a
 * --covered overlay (or an earlier key entry) names it already. */
static key_result
expand_key(FILE *out, expander *x, const char *file, const ng_key_entry *k, char **notes)
{
    key_result r = {0, 0, 0};
    const tool_corpus_cert *c;
    size_t cursor = SIZE_MAX;

    while ((c = next_of_key(x, k, &cursor)) != NULL) {
        if (seen_before(x, k, c))
            continue;
        r.found++;
        ng_bytes serial = serial_value(c);
        size_t first =
            (size_t)(tool_corpus_find_issuer_serial(&x->corpus, c->issuer, c->serial_der) -
                     x->corpus.certs);
        long hit = ng_index_find(&x->cov_index, x->cov.entries, c->issuer, serial);
        /* covered by distrust only: a constraint entry is not distrust
         * (constraints=ignore, nssguard verify) */
        bool by_cov = hit >= 0 && x->cov.entries[hit].distrusted;
        if (by_cov || x->written[first]) {
            note_covered(notes, serial, by_cov ? x->cov.entries[hit].file : "above",
                         by_cov ? x->cov.entries[hit].line : 0);
            r.covered++;
            continue;
        }
        write_found(out, x, file, k, c);
        write_cert_entry(out, k, c);
        x->written[first] = true;
        r.written++;
    }
    return r;
}

/* One line of the summary at the top of the output, per key entry. */
static void
summarize(FILE *sum, const char *file, const ng_key_entry *k, key_result r, const char *notes)
{
    char subject[512], key[80];

    ng_der_name_text(k->subject, subject, sizeof(subject));
    hex(key, sizeof(key), k->spki_sha256.data, NG_SHA256_LEN, "");
    fprintf(sum,
            "#\n# %s:%u \"%s\" (%s)\n#   subject %s\n#   SPKI SHA-256 %s\n"
            "#   became %zu entr%s below; %zu certificate%s of this key found, %zu named "
            "already\n",
            file, k->line, k->label, k->reason, subject, key, r.written,
            r.written == 1 ? "y" : "ies", r.found, r.found == 1 ? "" : "s", r.covered);
    if (notes)
        for (const char *p = notes; *p;) {
            const char *nl = strchr(p, '\n');
            fprintf(sum, "#  %.*s\n", (int)(nl ? nl - p : (long)strlen(p)), p);
            p = nl ? nl + 1 : p + strlen(p);
        }
    fprintf(stderr, "%s:%u \"%s\": %zu certificate%s, %zu new entr%s, %zu named already\n", file,
            k->line, k->label, r.found, r.found == 1 ? "" : "s", r.written,
            r.written == 1 ? "y" : "ies", r.covered);
}

/* Every key entry of one file. Returns false when the module would refuse
 * the file. */
static bool
expand_file(expander *x, const char *path, FILE *sum, FILE *body, size_t *n_keys)
{
    ng_records recs;
    ng_entries ents;
    ng_error err;
    bool ok = false;

    memset(&ents, 0, sizeof(ents));
    if (!ng_parse_file(path, &recs, &err))
        goto out_err;
    if (!ng_build_entries(&recs, &ents, &err)) {
        ng_records_clear(&recs);
        goto out_err;
    }
    for (size_t i = 0; i < recs.n_records; i++) {
        ng_key_entry k;
        char *notes = NULL;
        if (ng_key_entry_read(&recs, &recs.records[i], &k, &err) != 1)
            continue;
        key_result r = expand_key(body, x, path, &k, &notes);
        summarize(sum, path, &k, r, notes);
        free(notes);
        (*n_keys)++;
    }
    ok = true;
    ng_entries_clear(&ents);
    ng_records_clear(&recs);
    return ok;
out_err:
    tool_error("%s", err.msg);
    return false;
}

static void
usage(FILE *fp)
{
    fputs("usage: nssguard expand --certs CORPUS [--certs CORPUS]... [--covered OVERLAY]...\n"
          "                       [-o OUT] KEYFILE...\n"
          "\n"
          "Turns each key entry of the KEYFILEs (CKA_SUBJECT + CKA_NSSGUARD_SPKI_SHA256,\n"
          "reason mitm or compromised) into issuer+serial entries, one per certificate\n"
          "of that subject and key in the corpora: NSS asks by issuer and serial only.\n"
          "Comments say what each key entry became and where each certificate was found.\n"
          "\n"
          "  --certs CORPUS    a DER or PEM file (one or a bundle), CCADB's CSV (.csv or\n"
          "                    .csv.xz), a directory of them (recursively), or sql:DIR\n"
          "                    (an NSS database); repeatable\n"
          "  --covered OVERLAY certificates an entry of OVERLAY names already are not\n"
          "                    written again (counted in the summary), and the\n"
          "                    certificates OVERLAY holds join the corpus; repeatable\n"
          "  -o, --output OUT  write to OUT (only when complete; default stdout)\n"
          "  --shrink          with -o: write OUT even with fewer than half the entries\n"
          "                    it has (else refused: a corpus that lacks them?)\n"
          "  -h, --help        show this help\n",
          fp);
}

static void
expander_clear(expander *x)
{
    for (size_t i = 0; x->cov_recs && i < x->n_covered; i++)
        ng_records_clear(&x->cov_recs[i]);
    free(x->cov_recs);
    ng_index_clear(&x->cov_index);
    ng_entries_clear(&x->cov);
    tool_corpus_clear(&x->corpus);
    free(x->written);
    free(x->corpora);
    free(x->covered);
    if (x->nss_up)
        tool_nss_shutdown();
}

/* The output: a header with the summary, then the entries. */
static bool
expand_all(expander *x, char **files, size_t n_files)
{
    char *sum_buf = NULL, *body_buf = NULL, *all = NULL;
    size_t sum_len = 0, body_len = 0, n_keys = 0;
    FILE *sum = open_memstream(&sum_buf, &sum_len), *body = open_memstream(&body_buf, &body_len);
    bool ok = sum && body;

    for (size_t i = 0; ok && i < n_files; i++)
        ok = expand_file(x, files[i], sum, body, &n_keys);
    if (sum)
        fclose(sum);
    if (body)
        fclose(body);
    if (ok && asprintf(&all,
                       "# Written by nssguard expand: issuer+serial entries for the certificates\n"
                       "# of %zu key entr%s found in %zu certificates of the corpora. What each\n"
                       "# key entry became:\n%s#\n%s",
                       n_keys, n_keys == 1 ? "y" : "ies", x->corpus.n + x->corpus.n_duplicates,
                       sum_buf ? sum_buf : "", body_buf ? body_buf : "") < 0)
        all = NULL;
    ok = ok && all && tool_write_remade(x->out_path, all, strlen(all), x->shrink);
    free(all);
    free(sum_buf);
    free(body_buf);
    return ok;
}

int
tool_cmd_expand(int argc, char **argv)
{
    static const struct option options[] = {
        {"certs", required_argument, NULL, 'c'},
        {"covered", required_argument, NULL, 'v'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    expander x;
    tool_common common = {.name = "expand",
                          .usage = usage,
                          .flags = TOOL_OPT_SOME_OPERANDS | TOOL_OPT_REMADE,
                          .operand_error = "no key file given",
                          .options = options,
                          .shortopts = "o:",
                          .option = expand_option,
                          .ctx = &x};
    int rc;

    memset(&x, 0, sizeof(x));
    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    x.shrink = common.shrink;
    if (!x.n_corpora) {
        tool_error("expand: no --certs corpus given");
        goto out;
    }
    if (load_covered(&x) && load_corpora(&x) &&
        expand_all(&x, argv + optind, (size_t)(argc - optind)))
        rc = TOOL_EXIT_OK;
out:
    tool_common_clear(&common);
    expander_clear(&x);
    return rc;
}

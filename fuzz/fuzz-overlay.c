/*
 * fuzz-overlay: the overlay text reader, the entry builder and the image
 * that text overlays are built into.
 *
 * Input: the bytes of one overlay file (certdata.txt syntax), never
 * NUL-terminated, so any read past the end is caught by ASan. It goes
 * through the same stages as overlay.c: ng_parse_buffer, ng_build_entries,
 * ng_index_build, ng_image_build; then every entry is looked up by issuer +
 * serial value (must hit itself or the first entry with the same key), by
 * its DER serial (the second form NSS sends), in the index and in the
 * image, and printed as the event log prints it. The file's name ("fx.txt",
 * "fxx.txt", ...) takes one of 16 lengths, chosen by the input's size: the
 * name is stored in the image too.
 *
 * Invariants checked (abort() on violation, so libFuzzer keeps the input):
 *   - an error message starts with the file's name and is NUL-terminated;
 *   - entries the builder accepted always make an image (nothing but
 *     memory may fail there), holding the same entries;
 *   - a refused parse or build leaves nothing behind (all or nothing);
 *   - every entry has a DER Name issuer and a DER INTEGER serial whose value
 *     lies inside it, a non-NULL label/reason/reference and a known reason.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void
check(int cond)
{
    if (!cond)
        abort();
}

static char file_name[32];

static void
check_error(const ng_error *err)
{
    size_t n = strlen(file_name);

    check(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
    check(strncmp(err->msg, file_name, n) == 0 && err->msg[n] == ':');
}

static bool
same(ng_bytes a, ng_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* The image holds the same entries, in order, and finds each key. */
static void
check_image(const ng_entries *ents)
{
    ng_error err;
    ng_image *img = ng_image_build(ents, 1234, 5678, &err);

    if (!img) {
        /* Only memory may fail here: say what else did, then stop. */
        fprintf(stderr, "ng_image_build refused accepted entries: %s\n", err.msg);
        abort();
    }
    check(ng_image_count(img) == ents->n_entries);
    for (size_t i = 0; i < ents->n_entries; i++) {
        const ng_entry *e = &ents->entries[i];
        ng_entry v;
        long hit;
        ng_image_entry(img, i, &v);
        check(same(v.issuer, e->issuer) && same(v.serial_der, e->serial_der) &&
              same(v.serial, e->serial));
        check(strcmp(v.label, e->label) == 0 && strcmp(v.reason, e->reason) == 0 &&
              strcmp(v.reference, e->reference) == 0 && strcmp(v.file, e->file) == 0);
        check(v.line == e->line && v.has_sha1 == e->has_sha1);
        hit = ng_image_find(img, e->issuer, e->serial);
        check(hit >= 0 && (size_t)hit <= i);
        (void)ng_image_find(img, e->issuer, e->serial_der);
        /* an entry whose serial value is itself DER is listed apart, and
         * only such an entry */
        ng_bytes inner;
        long listed = ng_image_find_der_like(img, e->hash, e->issuer, e->serial);
        if (ng_der_integer_value(e->serial, &inner))
            check(listed >= 0 && (size_t)listed <= i);
        else
            check(listed < 0);
    }
    ng_image_free(img);
}

static void
check_entry(const ng_entries *ents, const ng_index *idx, size_t i)
{
    static const char *const reasons[] = {NSSGUARD_REASONS};
    const ng_entry *e = &ents->entries[i];
    ng_bytes inner;
    char name[512], hex[256];
    long hit;
    bool known = false;

    check(ng_der_is_sequence(e->issuer));
    check(ng_der_integer_value(e->serial_der, &inner));
    check(inner.data == e->serial.data && inner.len == e->serial.len);
    check(e->label && e->reason && e->reference && e->file);
    for (size_t r = 0; r < NG_N_ELEMENTS(reasons); r++)
        known = known || strcmp(e->reason, reasons[r]) == 0;
    check(known);
    check(e->hash == ng_entry_hash(e->issuer, e->serial));

    hit = ng_index_find(idx, ents->entries, e->issuer, e->serial);
    check(hit >= 0 && (size_t)hit <= i);
    check(ents->entries[hit].issuer.len == e->issuer.len &&
          memcmp(ents->entries[hit].issuer.data, e->issuer.data, e->issuer.len) == 0);
    /* The DER form is looked up too (objects.c tries both); it may hit
     * another entry whose bare serial equals these bytes, never crash. */
    (void)ng_index_find(idx, ents->entries, e->issuer, e->serial_der);

    ng_der_name_text(e->issuer, name, sizeof(name));
    check(memchr(name, '\0', sizeof(name)) != NULL);
    ng_hex_text(e->serial, hex, sizeof(hex));
    check(memchr(hex, '\0', sizeof(hex)) != NULL);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ng_records recs;
    ng_entries ents;
    ng_index idx;
    ng_error err;

    memset(&ents, 0, sizeof(ents));
    memset(&err, 0, sizeof(err));
    snprintf(file_name, sizeof(file_name), "f%.*s.txt", (int)(1 + size % 16), "xxxxxxxxxxxxxxxx");
    if (!ng_parse_buffer(file_name, (const char *)data, size, &recs, &err)) {
        check_error(&err);
        check(recs.n_records == 0 && recs.records == NULL && recs.file == NULL);
        return 0;
    }
    if (!ng_build_entries(&recs, &ents, &err)) {
        check_error(&err);
        check(ents.n_entries == 0 && ents.n_strings == 0);
        ng_entries_clear(&ents);
        ng_records_clear(&recs);
        return 0;
    }
    check(ents.n_entries + ents.skipped <= recs.n_records);
    if (ng_index_build(&idx, ents.entries, ents.n_entries)) {
        for (size_t i = 0; i < ents.n_entries; i++)
            check_entry(&ents, &idx, i);
        /* A miss: an issuer no entry has (the empty one). */
        check(ng_index_find(&idx, ents.entries, (ng_bytes){(const unsigned char *)"", 0},
                            (ng_bytes){(const unsigned char *)"", 0}) == -1);
        ng_index_clear(&idx);
    }
    check_image(&ents);
    /* Certificates' Names are printed for events as well: walk each
     * record's octal values as a Name, whatever they hold. */
    for (size_t r = 0; r < recs.n_records; r++) {
        for (size_t a = 0; a < recs.records[r].n_attrs; a++) {
            const ng_attr *at = &recs.records[r].attrs[a];
            char name[128];
            ng_bytes issuer, serial;
            ng_der_name_text((ng_bytes){at->value, at->len}, name, sizeof(name));
            (void)ng_der_cert_issuer_serial((ng_bytes){at->value, at->len}, &issuer, &serial);
        }
    }
    ng_entries_clear(&ents);
    ng_records_clear(&recs);
    return 0;
}

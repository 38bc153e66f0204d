/*
 * image.c: the compiled overlay. One flat, position-independent image that
 * the module uses without parsing: a header, fixed-size entry records, an
 * open-addressing table over issuer+serial, and a blob of bytes and
 * NUL-terminated strings. Text overlays are built into the same image in
 * memory, so every lookup goes through one piece of code whatever the
 * source; `nssguard compile` writes the image to a file that the module
 * reads into memory of its own.
 *
 * An image file is refused whole (never half-used) unless its magic,
 * version, byte order, size, checksum and every offset in it check out.
 * The module never maps the file itself: a file mapping faults (SIGBUS,
 * the host dies) on the first read after the file is truncated or
 * rewritten in place (`truncate`, `cp` over it), and the last good version
 * must keep serving then. The file is read into anonymous pages a slice at
 * a time while it is checked (ng_image_check), so a reload still never
 * holds a query for long; reading costs no more than faulting a mapping in
 * (bench/load.sh measures both) but the pages are the process's own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAGIC "NSSGUARD"
#define INLINE_SERIAL 24
/* 2: word-wise hash; 3: certificate DER; 4: tagged slots, inline serial;
 * 5: eight-lane checksum; 6: the text's SHA-1 in the stamp, records in
 * hash order under a directory (index.c) instead of a table of slots */
#define IMAGE_VERSION 6
#define BYTE_ORDER_MARK 0x01020304U

static const char *const reasons[] = {NSSGUARD_REASONS};

typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t byte_order;
    uint64_t file_size;
    uint64_t checksum; /* over the whole file with this field zero */
    uint64_t n_entries;
    uint64_t n_buckets; /* of the directory: 2^bits, ng_index_bits(n_entries) */
    uint64_t entries_off;
    uint64_t dir_off; /* n_buckets + 1 uint32_t, then frags_of() */
    uint64_t blob_off;
    uint64_t blob_size;
    uint64_t source_size; /* the text file it was compiled from, or 0 */
    int64_t source_mtime_ns;
    /* its SHA-1: size and mtime alone let a text swapped for another of one
     * size and mtime (cp -p, touch -r, a tar) hide behind a stale image */
    uint8_t source_sha1[NG_SHA1_LEN];
    uint8_t has_source_sha1;
    uint8_t pad[3];
    uint32_t schema; /* schema_id(): the entry attributes it was compiled with */
    /* key entries of its source (issue 13): not served, counted so the load
     * event shows them; was reserved and zero, so an older image reads 0 */
    uint32_t n_keys;
} header;

/* An entry. Records lie in hash order (equal hashes in file order), so the
 * probe lands on the record itself; what a probe compares comes first. */
typedef struct {
    uint64_t hash;
    uint32_t issuer_off, issuer_len;
    /* the serial's DER again, when it fits: a lookup then reads no blob
     * but the issuer, which entries share */
    uint8_t serial_inline[INLINE_SERIAL];
    uint32_t serial_off; /* DER INTEGER; its value starts serial_hdr bytes in */
    uint16_t serial_len;
    uint8_t serial_hdr;
    uint8_t flags; /* FLAG_* */
    uint32_t seq;  /* its place among the entries as compiled (file order) */
    uint32_t label_off, reference_off;
    uint32_t file_off, line;
    uint8_t sha1[NG_SHA1_LEN];
    uint8_t reason;
    uint8_t pad[3];
    uint32_t cert_off, cert_len; /* the certificate's DER, cert_len 0 when none */
    uint32_t reserved;
    /* schema.h's attributes in the blob: offset and length (0 when none) */
    uint32_t attrs[NG_N_ENTRY_ATTRS][2];
} record;

#define FLAG_SHA1 0x01
#define FLAG_DISTRUSTED 0x02

_Static_assert(sizeof(header) == 128, "header layout");
_Static_assert(offsetof(header, checksum) < 64 && offsetof(header, checksum) % 8 == 0,
               "the checksum field sits in the first 64-byte block");
_Static_assert(sizeof(record) == 104 + 8 * NG_N_ENTRY_ATTRS, "record layout");
_Static_assert(offsetof(record, hash) == 0, "the probe reads a record's hash first");

/* An entry whose serial value is itself a complete DER INTEGER (value
 * bytes 02 01 07, say): a caller's DER serial can match it as given.
 * Such entries are few (about one random 16-byte serial in 65,000), so
 * they are listed apart, sorted by hash, and the usual query probes the
 * table once instead of twice. Found while an image is checked or built. */
typedef struct {
    uint64_t hash;
    uint64_t entry;
} der_like;

/* Where checking an image has got to: a reload checks a file a slice at a
 * time, between queries, so that no query waits for all of it. */
enum check_stage { CHECK_HEADER, CHECK_SUM, CHECK_DIR, CHECK_ENTRIES, CHECK_DONE, CHECK_FAILED };

struct ng_image {
    const unsigned char *base;
    size_t size;
    const header *hdr;
    const record *records;
    const uint32_t *dir, *frag;
    ng_probe probe;
    unsigned char *seen; /* while checking: a bit per seq number */
    const unsigned char *blob;
    void *mapping;        /* anonymous pages a file is read into */
    size_t map_size;      /* their size (whole pages) */
    size_t unmapped;      /* bytes of the mapping already given back */
    int fd;               /* the file, while reading (`reading`) */
    bool reading;         /* fd is open and the file not all read */
    size_t loaded;        /* bytes read so far (all of them when built) */
    unsigned char *owned; /* when built in memory */
    char *name;           /* for error messages, while checking */
    der_like *der_like;   /* sorted by hash */
    size_t n_der_like, der_like_cap;
    enum check_stage stage;
    uint64_t pos, used, lane[8];
};

/* ---- entries whose serial value looks like DER ---- */

static ng_bytes
serial_value_of(const ng_image *img, const record *r)
{
    const unsigned char *der =
        r->serial_len <= INLINE_SERIAL ? r->serial_inline : img->blob + r->serial_off;

    return (ng_bytes){der + r->serial_hdr, (size_t)(r->serial_len - r->serial_hdr)};
}

/* Lists entry i if its serial value is a DER INTEGER; false when out of memory. */
static bool
note_der_like(ng_image *img, uint64_t i)
{
    const record *r = &img->records[i];
    ng_bytes value = serial_value_of(img, r), inner;

    /* the tag first: this runs for every entry of a 1M-entry image */
    if (value.len < 3 || value.data[0] != 0x02 || !ng_der_integer_value(value, &inner))
        return true;
    if (img->n_der_like == img->der_like_cap) {
        size_t cap = img->der_like_cap ? 2 * img->der_like_cap : 4;
        der_like *nd = realloc(img->der_like, cap * sizeof(*nd));
        if (!nd)
            return false;
        img->der_like = nd;
        img->der_like_cap = cap;
    }
    img->der_like[img->n_der_like++] = (der_like){r->hash, i};
    return true;
}

/* By hash, then entry: of equal entries the first is found, as in the table. */
static int
compare_der_like(const void *a, const void *b)
{
    const der_like *x = a, *y = b;

    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static void
sort_der_like(ng_image *img)
{
    if (img->n_der_like > 1)
        qsort(img->der_like, img->n_der_like, sizeof(*img->der_like), compare_der_like);
}

/* ---- checksum: eight independent 64-bit lanes over the file's words ----
 * Each word goes through (lane ^ word) * odd constant, a bijection, so any
 * single changed word changes the sum; eight lanes keep the multiplier
 * busy, so a 700 MB image is checked at memory speed. */

static uint64_t
finish(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 29);
}

static void
sum_start(uint64_t lane[8])
{
    for (int j = 0; j < 8; j++)
        lane[j] = (uint64_t)j + 1;
}

/* The 64-byte blocks in [from, to); both multiples of 64. */
static void
sum_blocks(uint64_t lane[8], const unsigned char *p, size_t from, size_t to)
{
    const uint64_t k = 0x9e3779b97f4a7c15ULL;
    uint64_t w[8];

    for (size_t i = from; i < to; i += 64) {
        memcpy(w, p + i, 64);
        if (i == 0) /* the checksum field itself counts as zero */
            w[offsetof(header, checksum) / 8] = 0;
        for (int j = 0; j < 8; j++)
            lane[j] = (lane[j] ^ w[j]) * k;
    }
}

/* The words after the last whole block, then the sum. */
static uint64_t
sum_finish(uint64_t lane[8], const unsigned char *p, size_t size)
{
    const uint64_t k = 0x9e3779b97f4a7c15ULL;
    uint64_t w, sum = size;

    for (size_t i = size & ~(size_t)63; i + 8 <= size; i += 8) {
        memcpy(&w, p + i, 8);
        lane[0] = (lane[0] ^ w) * k;
    }
    for (int j = 0; j < 8; j++)
        sum = finish(sum ^ lane[j]);
    return sum;
}

static uint64_t
checksum(const unsigned char *p, size_t size)
{
    uint64_t lane[8];

    sum_start(lane);
    sum_blocks(lane, p, 0, size & ~(size_t)63);
    return sum_finish(lane, p, size);
}

void
ng_image_seal(unsigned char *data, size_t len)
{
    if (len >= sizeof(header))
        ((header *)data)->checksum = checksum(data, len);
}

/* ---- building an image from entries ---- */

typedef struct {
    unsigned char *data;
    size_t used, cap;
    /* interning: identical byte strings (issuers, labels, references, file
     * names) are stored once */
    uint64_t *keys;
    uint32_t *offs;
    size_t mask;
    size_t n_keys;
} blob_builder;

static bool
blob_reserve(blob_builder *b, size_t n)
{
    if (b->used + n <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->used + n)
        cap *= 2;
    if (cap > UINT32_MAX)
        return false;
    unsigned char *nd = realloc(b->data, cap);
    if (!nd)
        return false;
    b->data = nd;
    b->cap = cap;
    return true;
}

static bool
intern_grow(blob_builder *b)
{
    size_t size = b->mask ? (b->mask + 1) * 2 : 1024;
    uint64_t *keys = calloc(size, sizeof(*keys));
    uint32_t *offs = calloc(size, sizeof(*offs));

    if (!keys || !offs) {
        free(keys);
        free(offs);
        return false;
    }
    for (size_t i = 0; b->mask && i <= b->mask; i++) {
        if (!b->offs[i])
            continue;
        size_t s = b->keys[i] & (size - 1);
        while (offs[s])
            s = (s + 1) & (size - 1);
        keys[s] = b->keys[i];
        offs[s] = b->offs[i];
    }
    free(b->keys);
    free(b->offs);
    b->keys = keys;
    b->offs = offs;
    b->mask = size - 1;
    return true;
}

/* Stores bytes (plus a NUL when `string`) once; returns the offset or 0 on
 * failure (offset 0 is the blob's leading NUL, never a real value). */
/* Appends bytes that are never shared (a certificate's DER): no interning. */
static uint32_t
blob_append(blob_builder *b, const void *data, size_t len)
{
    uint32_t off = (uint32_t)b->used;

    if (!blob_reserve(b, len))
        return 0;
    memcpy(b->data + b->used, data, len);
    b->used += len;
    return off;
}

static uint32_t
blob_add(blob_builder *b, const void *data, size_t len, bool string)
{
    uint64_t h = ng_entry_hash((ng_bytes){data, len}, (ng_bytes){NULL, 0}) ^ string;
    size_t stored = len + (string ? 1 : 0);

    if ((b->n_keys + 1) * 2 > b->mask + 1 && !intern_grow(b))
        return 0;
    size_t s = h & b->mask;
    for (; b->offs[s]; s = (s + 1) & b->mask) {
        if (b->keys[s] == h && b->offs[s] + stored <= b->used &&
            memcmp(b->data + b->offs[s], data, len) == 0 &&
            (!string || b->data[b->offs[s] + len] == 0))
            return b->offs[s];
    }
    if (!blob_reserve(b, stored))
        return 0;
    uint32_t off = (uint32_t)b->used;
    if (len)
        memcpy(b->data + b->used, data, len);
    if (string)
        b->data[b->used + len] = 0;
    b->used += stored;
    b->keys[s] = h;
    b->offs[s] = off;
    b->n_keys++;
    return off;
}

/* ---- schema.h's attributes: the k-th row is attrs[k] ---- */

static bool
put_attrs(blob_builder *b, const ng_entry *e, record *r)
{
    size_t k = 0;

#define SCHEMA_PUT(field, cka, name, check, listed)                                                \
    if (e->field.len) {                                                                            \
        r->attrs[k][0] = blob_add(b, e->field.data, e->field.len, false);                          \
        r->attrs[k][1] = (uint32_t)e->field.len;                                                   \
        if (!r->attrs[k][0] || e->field.len > UINT32_MAX)                                          \
            return false;                                                                          \
    }                                                                                              \
    k++;
    NG_ENTRY_ATTRS(SCHEMA_PUT)
#undef SCHEMA_PUT
    return true;
}

static bool
in_blob(const header *h, uint64_t off, uint64_t len)
{
    return off < h->blob_size && len <= h->blob_size - off;
}

static bool
attrs_in_blob(const header *h, const record *r)
{
    for (size_t k = 0; k < NG_N_ENTRY_ATTRS; k++) {
        if (r->attrs[k][1] && !in_blob(h, r->attrs[k][0], r->attrs[k][1]))
            return false;
    }
    return true;
}

static void
get_attrs(const ng_image *img, const record *r, ng_entry *e)
{
    size_t k = 0;

#define SCHEMA_GET(field, cka, name, check, listed)                                                \
    e->field = (ng_bytes){img->blob + r->attrs[k][0], r->attrs[k][1]};                             \
    k++;
    NG_ENTRY_ATTRS(SCHEMA_GET)
#undef SCHEMA_GET
}

/* The list of schema.h's names an image was compiled with, hashed. */
static uint32_t
schema_id(void)
{
    static const char names[] = NG_ENTRY_ATTR_NAMES;

    return (uint32_t)ng_entry_hash((ng_bytes){(const unsigned char *)names, sizeof(names) - 1},
                                   (ng_bytes){NULL, 0});
}

static uint8_t
reason_index(const char *reason)
{
    for (size_t i = 0; i < NG_N_ELEMENTS(reasons); i++) {
        if (strcmp(reason, reasons[i]) == 0)
            return (uint8_t)i;
    }
    return (uint8_t)(NG_N_ELEMENTS(reasons) - 1); /* "distrusted" */
}

static size_t
align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* The fingerprints (a uint32_t an entry) follow the directory. */
static uint64_t
frags_of(uint64_t dir_off, uint64_t n_buckets)
{
    return align8(dir_off + (n_buckets + 1) * sizeof(uint32_t));
}

static void point_into(ng_image *img, const unsigned char *base, size_t size);

ng_image *
ng_image_build(const ng_entries *ents, uint64_t source_size, int64_t source_mtime_ns, ng_error *err)
{
    blob_builder b;
    ng_index idx;
    ng_probe probe;
    record *recs = NULL;
    ng_image *img = NULL;
    unsigned char *file = NULL;
    size_t n = ents->n_entries;

    memset(&b, 0, sizeof(b));
    memset(&idx, 0, sizeof(idx));
    if (n > UINT32_MAX - 1 || !blob_reserve(&b, 1))
        goto oom;
    b.data[b.used++] = 0; /* offset 0: the empty string */
    recs = calloc(n ? n : 1, sizeof(*recs));
    if (!recs || !ng_index_build(&idx, ents->entries, n))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const ng_entry *e = &ents->entries[i];
        record *r = &recs[i];
        r->hash = e->hash;
        r->seq = (uint32_t)i;
        r->issuer_off = blob_add(&b, e->issuer.data, e->issuer.len, false);
        r->issuer_len = (uint32_t)e->issuer.len;
        r->serial_off = blob_add(&b, e->serial_der.data, e->serial_der.len, false);
        r->serial_len = (uint16_t)e->serial_der.len;
        r->serial_hdr = (uint8_t)(e->serial.data - e->serial_der.data);
        if (e->serial_der.len <= INLINE_SERIAL)
            memcpy(r->serial_inline, e->serial_der.data, e->serial_der.len);
        r->flags = (e->has_sha1 ? FLAG_SHA1 : 0) | (e->distrusted ? FLAG_DISTRUSTED : 0);
        if (!put_attrs(&b, e, r))
            goto oom;
        if (e->cert.len) {
            r->cert_off = blob_append(&b, e->cert.data, e->cert.len);
            r->cert_len = (uint32_t)e->cert.len;
            if (!r->cert_off)
                goto oom;
        }
        memcpy(r->sha1, e->sha1, NG_SHA1_LEN);
        r->label_off = blob_add(&b, e->label, strlen(e->label), true);
        r->reference_off = blob_add(&b, e->reference, strlen(e->reference), true);
        r->file_off = blob_add(&b, e->file, strlen(e->file), true);
        r->line = e->line;
        r->reason = reason_index(e->reason);
        if (!r->issuer_off || !r->serial_off || !r->label_off || !r->reference_off ||
            !r->file_off || e->serial_der.len > UINT16_MAX || e->issuer.len > UINT32_MAX)
            goto oom;
    }
    /* The file: header | records in hash order | directory | blob, each
     * 8-aligned. */
    unsigned bits = idx.probe.bits;
    size_t entries_off = sizeof(header);
    size_t dir_off = align8(entries_off + n * sizeof(record));
    size_t frag_off = frags_of(dir_off, (size_t)1 << bits);
    size_t blob_off = align8(frag_off + n * sizeof(uint32_t));
    size_t size = align8(blob_off + b.used + 1); /* at least one NUL ends the blob */
    file = calloc(1, size);
    if (!file)
        goto oom;
    header *h = (header *)file;
    memcpy(h->magic, MAGIC, 8);
    h->version = IMAGE_VERSION;
    h->byte_order = BYTE_ORDER_MARK;
    h->file_size = size;
    h->n_entries = n;
    h->n_buckets = (uint64_t)1 << bits;
    h->entries_off = entries_off;
    h->dir_off = dir_off;
    h->blob_off = blob_off;
    h->blob_size = size - blob_off; /* padding NULs belong to the blob */
    h->source_size = source_size;
    h->source_mtime_ns = source_mtime_ns;
    h->schema = schema_id();
    h->n_keys = ents->keys > UINT32_MAX ? UINT32_MAX : (uint32_t)ents->keys;
    const ng_index_key *keys = idx.keys;
    for (size_t k = 0; k < n; k++)
        memcpy(file + entries_off + k * sizeof(record), &recs[keys[k].entry], sizeof(record));
    uint32_t *frag = (uint32_t *)(file + frag_off);
    for (size_t k = 0; k < n; k++)
        frag[k] = NG_FRAG(keys[k].hash);
    probe = (ng_probe){NULL, bits, frag};
    if (!ng_index_directory(&probe, (uint32_t *)(file + dir_off), n))
        goto oom; /* cannot be: the index sorted them */
    memcpy(file + blob_off, b.data, b.used);
    /* sealed (checksummed) when written to a file: nobody checks it in memory */

    img = calloc(1, sizeof(*img));
    if (!img)
        goto oom;
    /* built from checked entries just now: no need to check it again
     * (fuzz/fuzz-overlay.c compares every built image with its entries) */
    point_into(img, file, size);
    img->stage = CHECK_DONE;
    img->owned = file;
    file = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!note_der_like(img, i))
            goto oom;
    }
    sort_der_like(img);
    goto out;
oom:
    ng_error_set(err, "(in memory)", 0, "out of memory building the overlay image");
    ng_image_free(img);
    img = NULL;
out:
    free(file);
    free(recs);
    free(b.data);
    free(b.keys);
    free(b.offs);
    ng_index_clear(&idx);
    return img;
}

/* ---- checking and using an image ---- */

/* The certificate (already known to lie in the blob) parses, and carries
 * the entry's own issuer and serial: p11-kit mode serves it. */
static bool
cert_matches(const unsigned char *blob, const record *r)
{
    ng_bytes cert = {blob + r->cert_off, r->cert_len};
    ng_cert_parts parts;

    return ng_der_cert_parts(cert, &parts) && parts.issuer.len == r->issuer_len &&
           memcmp(parts.issuer.data, blob + r->issuer_off, r->issuer_len) == 0 &&
           parts.serial.len == r->serial_len &&
           memcmp(parts.serial.data, blob + r->serial_off, r->serial_len) == 0;
}

/* Points the image's views into its bytes (checked, or built here). */
static void
point_into(ng_image *img, const unsigned char *base, size_t size)
{
    const header *h = (const header *)base;

    img->base = base;
    img->size = size;
    img->hdr = h;
    img->records = (const record *)(base + h->entries_off);
    img->dir = (const uint32_t *)(base + h->dir_off);
    img->blob = base + h->blob_off;
    img->frag = (const uint32_t *)(base + frags_of(h->dir_off, h->n_buckets));
    img->probe = (ng_probe){img->dir, 0, img->frag};
    while (img->probe.bits < 32 && ((uint64_t)1 << img->probe.bits) < h->n_buckets)
        img->probe.bits++;
}

static const char *
header_problem(const header *h, size_t size)
{
    if (size < sizeof(header) || memcmp(h->magic, MAGIC, 8) != 0)
        return "not an nssguard compiled overlay";
    if (h->byte_order != BYTE_ORDER_MARK)
        return "compiled for another byte order";
    if (h->version != IMAGE_VERSION || h->schema != schema_id())
        return "compiled overlay of another version (recompile it with this nssguard)";
    if (h->file_size != size || size % 8)
        return "truncated or extended (size differs from its header)";
    return NULL;
}

/* Entries, directory and blob follow each other inside the file. Offsets
 * are subtracted, never added: a huge offset must not wrap around
 * (fuzz-compiled found slots_off = 2^64 - 40 passing the sum test). */
static bool
layout_ok(const header *h, size_t size)
{
    return h->n_entries < UINT32_MAX && h->n_buckets >= 16 && h->n_buckets <= UINT32_MAX &&
           !(h->n_buckets & (h->n_buckets - 1)) && h->entries_off == sizeof(header) &&
           h->dir_off % 8 == 0 && h->blob_off % 8 == 0 && h->blob_off < size &&
           h->entries_off <= h->dir_off && h->dir_off <= h->blob_off &&
           (h->dir_off - h->entries_off) / sizeof(record) >= h->n_entries &&
           (h->blob_off - h->dir_off) / sizeof(uint32_t) > h->n_buckets &&
           (h->blob_off - frags_of(h->dir_off, h->n_buckets)) / sizeof(uint32_t) >= h->n_entries &&
           h->blob_size == size - h->blob_off;
}

static const char *
entry_problem(const ng_image *img, const record *r)
{
    const header *h = img->hdr;
    ng_bytes der = {img->blob + r->serial_off, r->serial_len}, value;

    if (!in_blob(h, r->issuer_off, r->issuer_len) || !in_blob(h, r->serial_off, r->serial_len) ||
        r->label_off >= h->blob_size || r->reference_off >= h->blob_size ||
        r->file_off >= h->blob_size || !attrs_in_blob(h, r) ||
        (r->cert_len && !in_blob(h, r->cert_off, r->cert_len)) ||
        r->reason >= NG_N_ELEMENTS(reasons) || !ng_der_integer_value(der, &value) ||
        value.data - der.data != r->serial_hdr ||
        (r->serial_len <= INLINE_SERIAL && memcmp(r->serial_inline, der.data, r->serial_len) != 0))
        return "an entry points outside the file";
    if (r->cert_len && !cert_matches(img->blob, r))
        return "an entry's certificate does not match its issuer and serial";
    return NULL;
}

/* The work done between two looks at the clock: tens of microseconds. */
#define SUM_SLICE (256 * 1024)
#define ENTRY_SLICE 256
#define DIR_SLICE 32768

static uint64_t
slice_end(uint64_t pos, uint64_t step, uint64_t end)
{
    return end - pos > step ? pos + step : end;
}

/* The file is read up to `end` (the image's own bytes need no reading).
 * Short reads mean the file shrank under us: refused, the previous version
 * serves. Once all is read the file is closed and the pages made read-only. */
static const char *
load_upto(ng_image *img, size_t end)
{
    while (img->reading && img->loaded < end) {
        ssize_t n = pread(img->fd, (unsigned char *)img->mapping + img->loaded, end - img->loaded,
                          (off_t)img->loaded);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? "read failed" : "truncated while being read";
        img->loaded += (size_t)n;
    }
    if (img->reading && img->loaded == img->size) {
        close(img->fd);
        img->reading = false;
        mprotect(img->mapping, img->map_size, PROT_READ);
    }
    return NULL;
}

/* Checks the header; then sums, then checks the layout. The problem found
 * or NULL; *full when a whole slice was done and more of the stage is left.
 * Only full slices let the clock stop the check: a small image is checked
 * in one call whatever the deadline. */
static const char *
check_bytes(ng_image *img, bool *full)
{
    const header *h = (const header *)img->base;
    uint64_t whole = img->size & ~(size_t)63, end;
    const char *why;

    if (img->stage == CHECK_HEADER) {
        if ((why = load_upto(img, sizeof(header))) || (why = header_problem(h, img->size)))
            return why;
        sum_start(img->lane);
        img->pos = 0;
        img->stage = CHECK_SUM;
        return NULL;
    }
    end = slice_end(img->pos, SUM_SLICE, whole);
    if ((why = load_upto(img, end == whole ? img->size : end)))
        return why;
    sum_blocks(img->lane, img->base, img->pos, end);
    img->pos = end;
    if ((*full = end < whole))
        return NULL;
    if (sum_finish(img->lane, img->base, img->size) != h->checksum)
        return "checksum mismatch (corrupted)";
    if (!layout_ok(h, img->size))
        return "inconsistent layout";
    point_into(img, img->base, img->size);
    if (img->blob[h->blob_size - 1] != 0)
        return "string area not terminated";
    img->pos = 0;
    img->stage = CHECK_DIR;
    return NULL;
}

/* Checks the directory: rising from 0 to n_entries, so that a probe stays
 * among the records; then every entry: in hash order, in the bucket the
 * directory gives its hash, seq numbers each used once (as check_bytes). */
static const char *
check_index(ng_image *img, bool *full)
{
    const header *h = img->hdr;
    const record *r;
    uint64_t end;

    if (img->stage == CHECK_DIR) {
        if (img->pos == 0 && img->dir[0] != 0)
            return "index does not start at the first entry";
        for (end = slice_end(img->pos, DIR_SLICE, h->n_buckets); img->pos < end; img->pos++) {
            if (img->dir[img->pos] > img->dir[img->pos + 1])
                return "index out of order";
        }
        if ((*full = img->pos < h->n_buckets))
            return NULL;
        if (img->dir[h->n_buckets] != h->n_entries)
            return "index does not end at the last entry";
        if (!(img->seen = calloc(h->n_entries / 8 + 1, 1)))
            return "out of memory";
        img->pos = 0;
        img->stage = CHECK_ENTRIES;
        return NULL;
    }
    for (end = slice_end(img->pos, ENTRY_SLICE, h->n_entries); img->pos < end; img->pos++) {
        const char *why = entry_problem(img, r = &img->records[img->pos]);
        size_t b = (size_t)(r->hash >> (64 - img->probe.bits));
        if (img->frag[img->pos] != NG_FRAG(r->hash))
            return "fingerprint differs from its entry";
        if (why)
            return why;
        if ((img->pos && r[-1].hash > r->hash) || img->pos < img->dir[b] ||
            img->pos >= img->dir[b + 1])
            return "entries out of hash order";
        if (r->seq >= h->n_entries || (img->seen[r->seq / 8] & (1u << (r->seq % 8))))
            return "entries numbered twice";
        img->seen[r->seq / 8] |= (unsigned char)(1u << (r->seq % 8));
        if (!note_der_like(img, img->pos))
            return "out of memory";
    }
    if ((*full = img->pos < h->n_entries))
        return NULL;
    sort_der_like(img);
    free(img->seen);
    img->seen = NULL;
    img->stage = CHECK_DONE;
    return NULL;
}

int
ng_image_check(ng_image *img, uint64_t deadline_ns, ng_error *err)
{
    while (img->stage < CHECK_DONE) {
        bool full = false;
        const char *why =
            img->stage <= CHECK_SUM ? check_bytes(img, &full) : check_index(img, &full);
        if (why) {
            img->stage = CHECK_FAILED;
            ng_error_set(err, img->name, 0, "%s", why);
            return -1;
        }
        if (full && deadline_ns != UINT64_MAX && ng_clock_ns() >= deadline_ns)
            return 0;
    }
    return img->stage == CHECK_DONE ? 1 : -1;
}

/* Opens the file and sets anonymous pages aside for it: ng_image_check
 * reads it into them as it checks. */
ng_image *
ng_image_map(const char *path, ng_error *err)
{
    ng_image *img = calloc(1, sizeof(*img));
    struct stat st;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *map = MAP_FAILED;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* never block on a FIFO */

    if (fd < 0)
        ng_error_set(err, path, 0, "cannot open: %s", strerror(errno));
    else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(header) ||
             (uint64_t)st.st_size > SIZE_MAX - page)
        ng_error_set(err, path, 0, "not a compiled overlay (too small or not a file)");
    else if (!img || !(img->name = strdup(path)))
        ng_error_set(err, path, 0, "out of memory");
    else if ((map = mmap(NULL, ((size_t)st.st_size + page - 1) & ~(page - 1),
                         PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
        ng_error_set(err, path, 0, "out of memory (%zu bytes)", (size_t)st.st_size);
    if (map == MAP_FAILED) {
        if (fd >= 0)
            close(fd);
        ng_image_free(img);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    /* a large image in 2 MB pages: at 1M entries a lookup's record is
     * otherwise a TLB miss (bench: hit median -20% at 1M) */
    if ((size_t)st.st_size >= ((size_t)4 << 20))
        madvise(map, ((size_t)st.st_size + page - 1) & ~(page - 1), MADV_HUGEPAGE);
#endif
    img->fd = fd;
    img->reading = true;
    img->mapping = map;
    img->map_size = ((size_t)st.st_size + page - 1) & ~(page - 1);
    img->base = map;
    img->size = (size_t)st.st_size;
    return img;
}

ng_image *
ng_image_open(const char *path, ng_error *err)
{
    ng_image *img = ng_image_map(path, err);

    if (img && ng_image_check(img, UINT64_MAX, err) != 1) {
        ng_image_free(img);
        return NULL;
    }
    return img;
}

ng_image *
ng_image_from_bytes(const unsigned char *data, size_t len, ng_error *err)
{
    ng_image *img = calloc(1, sizeof(*img));
    unsigned char *copy = malloc(len ? len : 1);

    if (!img || !copy) { /* the name may stay NULL: messages then say "(null)" */
        free(img);
        free(copy);
        ng_error_set(err, "(in memory)", 0, "out of memory");
        return NULL;
    }
    memcpy(copy, data, len);
    img->owned = copy;
    img->base = copy;
    img->size = len;
    img->name = strdup("(in memory)");
    if (ng_image_check(img, UINT64_MAX, err) != 1) {
        ng_image_free(img);
        return NULL;
    }
    return img;
}

/* Keeps the image about to be replaced linked as PATH.old, until the next
 * write removes it. Freeing a large file is the kernel's work, done on the
 * thread that lets go of it last: without this, that is a query thread of
 * some process that mapped it (milliseconds for a 17 MB file); with it,
 * running processes let go of a file that still has a name, and this
 * tool deletes the one before. Best effort: without hard links, nothing.
 * (The module now reads images instead of mapping them, and closes the
 * file once read: this matters for processes that mapped it, and costs a
 * link.) */
static void
keep_previous(const char *path)
{
    char *old = NULL;

    if (asprintf(&old, "%s.old", path) < 0)
        return;
    if (unlink(old) == 0 || errno == ENOENT)
        (void)link(path, old);
    free(old);
}

bool
ng_image_write(const ng_image *img, const char *path, ng_error *err)
{
    if (img->owned) /* built here: seal it now (a mapped image already is) */
        ng_image_seal(img->owned, img->size);
    char *tmp = NULL;
    int fd = -1;
    bool ok = false;

    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        ng_error_set(err, path, 0, "out of memory");
        return false;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ng_error_set(err, tmp, 0, "cannot create: %s", strerror(errno));
        goto out;
    }
    if (!ng_write_all(fd, (const char *)img->base, img->size)) {
        ng_error_set(err, tmp, 0, "write failed: %s", strerror(errno));
        goto out;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        ng_error_set(err, tmp, 0, "write failed: %s", strerror(errno));
        goto out;
    }
    fd = -1;
    keep_previous(path);
    /* rename: processes that map the old file keep it intact */
    if (rename(tmp, path) < 0) {
        ng_error_set(err, path, 0, "cannot replace: %s", strerror(errno));
        goto out;
    }
    ok = true;
out:
    if (fd >= 0)
        close(fd);
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok;
}

/* The pages are given back a slice at a time: one munmap of a large image
 * holds the process's memory map for milliseconds. */
#define RELEASE_SLICE ((size_t)1 << 20)

bool
ng_image_release(ng_image *img, uint64_t deadline_ns)
{
    if (!img)
        return true;
    if (img->reading) {
        close(img->fd);
        img->reading = false;
    }
    while (img->mapping && img->unmapped < img->map_size) {
        size_t n = slice_end(img->unmapped, RELEASE_SLICE, img->map_size) - img->unmapped;
        munmap((unsigned char *)img->mapping + img->unmapped, n);
        img->unmapped += n;
        if (img->unmapped < img->map_size && deadline_ns != UINT64_MAX &&
            ng_clock_ns() >= deadline_ns)
            return false;
    }
    free(img->owned);
    free(img->name);
    free(img->der_like);
    free(img->seen);
    free(img);
    return true;
}

void
ng_image_free(ng_image *img)
{
    ng_image_release(img, UINT64_MAX);
}

const unsigned char *
ng_image_source_sha1(const ng_image *img)
{
    return img->hdr->has_source_sha1 ? img->hdr->source_sha1 : NULL;
}

bool
ng_image_stamp_source(ng_image *img, const char *path, ng_error *err)
{
    header *h = (header *)img->owned;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    bool ok = false;

    if (!h)
        ng_error_set(err, path, 0, "only an image built here can be stamped");
    else if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        ng_error_set(err, path, 0, "cannot read: %s", fd < 0 ? strerror(errno) : "not a file");
    else if (!(ok = ng_sha1_fd(fd, h->source_sha1)))
        ng_error_set(err, path, 0, "read failed: %s", strerror(errno));
    if (ok) {
        h->source_size = (uint64_t)st.st_size;
        h->source_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        h->has_source_sha1 = 1;
    }
    if (fd >= 0)
        close(fd);
    return ok;
}

size_t
ng_image_count(const ng_image *img)
{
    return (size_t)img->hdr->n_entries;
}

size_t
ng_image_keys(const ng_image *img)
{
    return (size_t)img->hdr->n_keys;
}

void
ng_image_source(const ng_image *img, uint64_t *size, int64_t *mtime_ns)
{
    *size = img->hdr->source_size;
    *mtime_ns = img->hdr->source_mtime_ns;
}

void
ng_image_entry(const ng_image *img, size_t i, ng_entry *e)
{
    const record *r = &img->records[i];

    e->issuer = (ng_bytes){img->blob + r->issuer_off, r->issuer_len};
    e->serial_der =
        (ng_bytes){r->serial_len <= INLINE_SERIAL ? r->serial_inline : img->blob + r->serial_off,
                   r->serial_len};
    e->serial = (ng_bytes){e->serial_der.data + r->serial_hdr, r->serial_len - r->serial_hdr};
    e->hash = r->hash;
    e->has_sha1 = (r->flags & FLAG_SHA1) != 0;
    e->distrusted = (r->flags & FLAG_DISTRUSTED) != 0;
    get_attrs(img, r, e);
    e->cert = (ng_bytes){img->blob + r->cert_off, r->cert_len};
    memcpy(e->sha1, r->sha1, NG_SHA1_LEN);
    e->label = (const char *)img->blob + r->label_off;
    e->reason = reasons[r->reason];
    e->reference = (const char *)img->blob + r->reference_off;
    e->file = (const char *)img->blob + r->file_off;
    e->line = r->line;
}

void
ng_image_entries(const ng_image *img, ng_entry *out)
{
    for (size_t i = 0; i < img->hdr->n_entries; i++)
        ng_image_entry(img, i, &out[img->records[i].seq]);
}

/* The record at pos (its fingerprint equal) is issuer + serial_value. */
static bool
record_matches(const ng_image *img, size_t pos, uint64_t h, ng_bytes issuer, ng_bytes serial_value)
{
    const record *r = &img->records[pos];
    ng_bytes v;

    if (r->hash != h || r->issuer_len != issuer.len)
        return false;
    v = serial_value_of(img, r);
    return v.len == serial_value.len && memcmp(v.data, serial_value.data, v.len) == 0 &&
           memcmp(img->blob + r->issuer_off, issuer.data, issuer.len) == 0;
}

/* The probe (index.c) gives the records whose fingerprint is h's; each is
 * matched here, where the record layout is known. */
long
ng_image_find_hashed(const ng_image *img, uint64_t h, ng_bytes issuer, ng_bytes serial_value)
{
    size_t pos, end;

    for (end = ng_index_probe(&img->probe, h, &pos); pos < end; pos++) {
        if (record_matches(img, pos, h, issuer, serial_value))
            return (long)pos;
    }
    return -1;
}

long
ng_image_find(const ng_image *img, ng_bytes issuer, ng_bytes serial_value)
{
    return ng_image_find_hashed(img, ng_entry_hash(issuer, serial_value), issuer, serial_value);
}

long
ng_image_find_der_like(const ng_image *img, uint64_t h, ng_bytes issuer, ng_bytes serial_value)
{
    size_t lo = 0, hi = img->n_der_like;

    while (lo < hi) { /* the first listed entry with this hash */
        size_t mid = lo + (hi - lo) / 2;
        if (img->der_like[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < img->n_der_like && img->der_like[lo].hash == h; lo++) {
        uint64_t i = img->der_like[lo].entry;
        if (record_matches(img, (size_t)i, h, issuer, serial_value))
            return (long)i;
    }
    return -1;
}

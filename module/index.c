/*
 * index.c: the issuer+serial hash and the one probe that finds an entry by
 * it. NSS sends this query for every certificate it meets.
 *
 * The layout is the same wherever an index is kept: keys sorted by hash
 * (in an image the entry records themselves are in that order), and a
 * directory of 2^bits + 1 positions, dir[b] the first key whose hash's top
 * bits are b or more. A probe reads dir[b] and dir[b + 1] (one small array,
 * about four bytes an entry at most, that stays in the cache) and the
 * fingerprints of bucket b, and returns the positions whose fingerprint is
 * equal; the caller compares the keys there, which lie side by side: in an
 * image that is the hit's own record, so a hit costs one memory read where
 * a table of slots pointing at records cost two (issue 14: 520 ns against
 * 170 ns at 1k).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the hash ---- */

/* A 64-bit hash, eight bytes at a time: NSS asks for every certificate it
 * meets, and issuers are some hundred bytes long. The top bits choose the
 * bucket: the last multiply mixes them best. */
static uint64_t
hash_bytes(uint64_t h, ng_bytes b)
{
    size_t i = 0;
    uint64_t w;

    for (; i + 8 <= b.len; i += 8) {
        memcpy(&w, b.data + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 32;
    }
    w = b.len;
    for (; i < b.len; i++)
        w = (w << 8) | b.data[i];
    h = (h ^ w) * 0xc2b2ae3d27d4eb4fULL;
    return h ^ (h >> 29);
}

uint64_t
ng_issuer_hash(ng_bytes issuer)
{
    return hash_bytes(0xcbf29ce484222325ULL, issuer);
}

uint64_t
ng_serial_hash(uint64_t issuer_hash, ng_bytes serial_value)
{
    return hash_bytes(issuer_hash, serial_value);
}

uint64_t
ng_entry_hash(ng_bytes issuer, ng_bytes serial_value)
{
    return ng_serial_hash(ng_issuer_hash(issuer), serial_value);
}

/* ---- the directory and the probe ---- */

unsigned
ng_index_bits(size_t n)
{
    unsigned bits = 4;

    /* about 16 keys a bucket: the directory (a quarter of a byte an
     * entry) and the fingerprints (four bytes) stay in the cache; a probe
     * finds its key inside the bucket by interpolation */
    while (bits < 32 && ((size_t)1 << bits) < n / 16)
        bits++;
    return bits;
}

static size_t
bucket(uint32_t frag, unsigned bits)
{
    return (size_t)(frag >> (32 - bits));
}

bool
ng_index_directory(const ng_probe *p, uint32_t *dir, size_t n)
{
    size_t b = 0, n_buckets = (size_t)1 << p->bits;

    if (n > UINT32_MAX || p->bits < 1 || p->bits > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t bi = bucket(p->frag[i], p->bits);
        if (i && p->frag[i - 1] > p->frag[i])
            return false; /* not sorted */
        while (b <= bi)
            dir[b++] = (uint32_t)i;
    }
    while (b <= n_buckets)
        dir[b++] = (uint32_t)n;
    return true;
}

/* Fingerprints are uniform: inside its bucket, a key lies about where the
 * rest of its fingerprint says (a few keys off), so the probe starts there
 * and steps to the first fingerprint not below the one sought. It reads only
 * the directory and the fingerprints, small arrays that stay cached, and
 * hands back the run of equal fingerprints: the caller reads the keys there
 * (in an image, the hit's record: one memory read more). */
size_t
ng_index_probe(const ng_probe *p, uint64_t h, size_t *first)
{
    uint32_t f = NG_FRAG(h);
    size_t b = bucket(f, p->bits), lo = p->dir[b], hi = p->dir[b + 1], pos, end;

    *first = lo;
    if (lo >= hi)
        return lo;
    pos = lo + (size_t)((((uint64_t)f << p->bits & 0xffffffffu) * (hi - lo)) >> 32);
    if (p->frag[pos] < f) {
        while (++pos < hi && p->frag[pos] < f)
            ;
    } else {
        while (pos > lo && p->frag[pos - 1] >= f)
            pos--;
    }
    for (end = pos; end < hi && p->frag[end] == f; end++)
        ;
    *first = pos;
    return end;
}

/* ---- an index over an array of entries ---- */

typedef ng_index_key key;

static int
compare_keys(const void *a, const void *b)
{
    const key *x = a, *y = b;

    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry; /* the first entry first */
}

bool
ng_index_build(ng_index *idx, const ng_entry *entries, size_t n)
{
    key *keys;

    memset(idx, 0, sizeof(*idx));
    if (n > UINT32_MAX - 1)
        return false;
    idx->probe.bits = ng_index_bits(n);
    keys = calloc(n ? n : 1, sizeof(*keys));
    idx->dir = calloc(((size_t)1 << idx->probe.bits) + 1, sizeof(*idx->dir));
    idx->frag = calloc(n ? n : 1, sizeof(*idx->frag));
    idx->keys = keys;
    if (!keys || !idx->dir || !idx->frag) {
        ng_index_clear(idx);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = (key){entries[i].hash, i};
    qsort(keys, n, sizeof(*keys), compare_keys);
    for (size_t i = 0; i < n; i++)
        idx->frag[i] = NG_FRAG(keys[i].hash);
    idx->probe.dir = idx->dir;
    idx->probe.frag = idx->frag;
    return ng_index_directory(&idx->probe, idx->dir, n);
}

void
ng_index_clear(ng_index *idx)
{
    free(idx->keys);
    free(idx->dir);
    free(idx->frag);
    memset(idx, 0, sizeof(*idx));
}

/* The key at pos (its fingerprint equal) is issuer + serial_value. */
static bool
entry_matches(const ng_index *idx, const ng_entry *entries, size_t pos, uint64_t hash,
              ng_bytes issuer, ng_bytes serial_value)
{
    const ng_entry *e = &entries[idx->keys[pos].entry];

    return idx->keys[pos].hash == hash && e->serial.len == serial_value.len &&
           e->issuer.len == issuer.len &&
           memcmp(e->serial.data, serial_value.data, serial_value.len) == 0 &&
           memcmp(e->issuer.data, issuer.data, issuer.len) == 0;
}

long
ng_index_find(const ng_index *idx, const ng_entry *entries, ng_bytes issuer, ng_bytes serial_value)
{
    uint64_t h = ng_entry_hash(issuer, serial_value);
    size_t pos, end;

    if (!idx->dir)
        return -1;
    for (end = ng_index_probe(&idx->probe, h, &pos); pos < end; pos++) {
        if (entry_matches(idx, entries, pos, h, issuer, serial_value))
            return (long)idx->keys[pos].entry;
    }
    return -1;
}

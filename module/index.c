/*
 * index.c: an open-addressing hash table from issuer+serial to an entry.
 * Sized to at most half full, so a lookup touches one or two slots and
 * never scans the entries. NSS sends this query for every certificate.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool
ng_index_build(ng_index *idx, const ng_entry *entries, size_t n)
{
    size_t size = 16;

    memset(idx, 0, sizeof(*idx));
    if (n > UINT32_MAX - 1)
        return false;
    while (size < 2 * n)
        size *= 2;
    idx->slots = calloc(size, sizeof(*idx->slots));
    if (!idx->slots)
        return false;
    idx->mask = size - 1;
    for (size_t i = 0; i < n; i++) {
        /* The first of several entries for one certificate wins. */
        if (ng_index_find(idx, entries, entries[i].issuer, entries[i].serial) >= 0)
            continue;
        size_t s = entries[i].hash & idx->mask;
        while (idx->slots[s])
            s = (s + 1) & idx->mask;
        idx->slots[s] = (uint32_t)i + 1;
    }
    return true;
}

void
ng_index_clear(ng_index *idx)
{
    free(idx->slots);
    memset(idx, 0, sizeof(*idx));
}

long
ng_index_find(const ng_index *idx, const ng_entry *entries, ng_bytes issuer, ng_bytes serial_value)
{
    uint64_t h;
    size_t s;

    if (!idx->slots)
        return -1;
    h = ng_entry_hash(issuer, serial_value);
    for (s = h & idx->mask; idx->slots[s]; s = (s + 1) & idx->mask) {
        const ng_entry *e = &entries[idx->slots[s] - 1];
        if (e->hash == h && e->serial.len == serial_value.len && e->issuer.len == issuer.len &&
            memcmp(e->serial.data, serial_value.data, serial_value.len) == 0 &&
            memcmp(e->issuer.data, issuer.data, issuer.len) == 0)
            return (long)(idx->slots[s] - 1);
    }
    return -1;
}

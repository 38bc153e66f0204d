/*
 * fuzz-compiled: the compiled-overlay loader (module/image.c) on hostile
 * bytes. The input is sealed with a correct checksum first, so mutations
 * reach the layout and offset checks behind it instead of stopping at the
 * checksum. When an image is accepted, every entry is read (all its
 * strings and byte ranges touched) and looked up again by issuer+serial,
 * which must find an entry with that same issuer and serial.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok)
{
    if (!ok)
        abort();
}

static size_t
touch(ng_bytes b)
{
    size_t sum = 0;

    for (size_t i = 0; i < b.len; i++)
        sum += b.data[i];
    return sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy = malloc(size ? size : 1);
    volatile size_t sink = 0;
    ng_image *img;
    ng_error err;

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    ng_image_seal(copy, size);
    img = ng_image_from_bytes(copy, size, &err);
    free(copy);
    if (!img)
        return 0;
    for (size_t i = 0; i < ng_image_count(img) && i < 4096; i++) {
        ng_entry e, f;
        ng_image_entry(img, i, &e);
        sink += touch(e.issuer) + touch(e.serial_der) + touch(e.name_constraints) + touch(e.cert) +
                strlen(e.label) + strlen(e.reference) + strlen(e.file) + strlen(e.reason);
        long j = ng_image_find(img, e.issuer, e.serial);
        if (j >= 0) {
            ng_image_entry(img, (size_t)j, &f);
            check(f.issuer.len == e.issuer.len &&
                  memcmp(f.issuer.data, e.issuer.data, e.issuer.len) == 0 &&
                  f.serial.len == e.serial.len &&
                  memcmp(f.serial.data, e.serial.data, e.serial.len) == 0);
        }
    }
    (void)sink;
    ng_image_free(img);
    return 0;
}

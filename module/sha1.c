/*
 * sha1.c: SHA-1 (FIPS 180-4), only to compute CKA_CERT_SHA1_HASH from a
 * certificate in an overlay file. NSS compares that hash with the
 * certificate it verifies; it is an identifier here, not a security
 * boundary, and the module never links NSS to compute it.
 */
#include "config.h"

#include <string.h>

#include "internal.h"

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void
block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80], a, b, c, d, e, t;

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    /* four rounds of twenty, each with its own function: no branch inside */
#define ROUND(f, k)                                                                                \
    t = ROL(a, 5) + (f) + e + (k) + w[i];                                                          \
    e = d, d = c, c = ROL(b, 30), b = a, a = t
    int i = 0;
    for (; i < 20; i++) {
        ROUND((b & c) | (~b & d), 0x5a827999);
    }
    for (; i < 40; i++) {
        ROUND(b ^ c ^ d, 0x6ed9eba1);
    }
    for (; i < 60; i++) {
        ROUND((b & c) | (b & d) | (c & d), 0x8f1bbcdc);
    }
    for (; i < 80; i++) {
        ROUND(b ^ c ^ d, 0xca62c1d6);
    }
#undef ROUND
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

void
ng_sha1(const unsigned char *data, size_t len, unsigned char out[NG_SHA1_LEN])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    unsigned char tail[128];
    size_t full = len & ~(size_t)63, rest = len - full, tail_len;
    uint64_t bits = (uint64_t)len * 8;

    for (size_t off = 0; off < full; off += 64)
        block(h, data + off);
    memset(tail, 0, sizeof(tail));
    if (rest)
        memcpy(tail, data + full, rest);
    tail[rest] = 0x80;
    tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
    block(h, tail);
    if (tail_len == 128)
        block(h, tail + 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

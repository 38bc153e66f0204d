/*
 * sha1.c: SHA-1 (FIPS 180-4), only to compute CKA_CERT_SHA1_HASH from a
 * certificate in an overlay file. NSS compares that hash with the
 * certificate it verifies; it is an identifier here, not a security
 * boundary, and the module never links NSS to compute it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* The CPU's SHA extensions: twenty groups of four rounds, the message
 * schedule W[g+4] = msg2(msg1(W[g], W[g+1]) ^ W[g+2], W[g+3]) kept in four
 * registers. Loading a text overlay hashes every certificate in it. */
__attribute__((target("sha,sse4.1"))) static void
blocks_sha_ni(uint32_t h[5], const unsigned char *p, size_t n)
{
    const __m128i swap = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0x1b);
    __m128i e0 = _mm_set_epi32((int)h[4], 0, 0, 0);

    for (; n > 0; n--, p += 64) {
        __m128i abcd_save = abcd, e_save = e0, w[4], e, prev = abcd;
        for (int i = 0; i < 4; i++)
            w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
        for (int g = 0; g < 20; g++) {
            e = g == 0 ? _mm_add_epi32(e0, w[0]) : _mm_sha1nexte_epu32(prev, w[g % 4]);
            prev = abcd;
            switch (g / 5) { /* the round function is an immediate */
            case 0:
                abcd = _mm_sha1rnds4_epu32(abcd, e, 0);
                break;
            case 1:
                abcd = _mm_sha1rnds4_epu32(abcd, e, 1);
                break;
            case 2:
                abcd = _mm_sha1rnds4_epu32(abcd, e, 2);
                break;
            default:
                abcd = _mm_sha1rnds4_epu32(abcd, e, 3);
                break;
            }
            if (g < 16)
                w[g % 4] = _mm_sha1msg2_epu32(
                    _mm_xor_si128(_mm_sha1msg1_epu32(w[g % 4], w[(g + 1) % 4]), w[(g + 2) % 4]),
                    w[(g + 3) % 4]);
        }
        e0 = _mm_sha1nexte_epu32(prev, e_save);
        abcd = _mm_add_epi32(abcd, abcd_save);
    }
    _mm_storeu_si128((__m128i *)h, _mm_shuffle_epi32(abcd, 0x1b));
    h[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}

static bool
have_sha_ni(void)
{
    unsigned a, b, c, d;

    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)) &&
           __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_1) && (c & bit_SSSE3);
}
#endif

/* The full blocks of data, with the CPU's SHA instructions when it has them. */
static void
blocks(uint32_t h[5], const unsigned char *p, size_t n, bool portable)
{
#if defined(__x86_64__)
    static int sha_ni = -1; /* __atomic: -1 until the CPU was asked */
    int have = __atomic_load_n(&sha_ni, __ATOMIC_RELAXED);

    if (have < 0) {
        have = have_sha_ni();
        __atomic_store_n(&sha_ni, have, __ATOMIC_RELAXED);
    }
    if (have && !portable) {
        blocks_sha_ni(h, p, n);
        return;
    }
#endif
    for (; n > 0; n--, p += 64)
        block(h, p);
}

/* The last (partial) block, the padding and the length; then the digest. */
static void
sha1_finish(uint32_t h[5], const unsigned char *rest_data, size_t rest, uint64_t len,
            unsigned char out[NG_SHA1_LEN], bool portable)
{
    unsigned char tail[128];
    size_t tail_len;
    uint64_t bits = len * 8;

    memset(tail, 0, sizeof(tail));
    if (rest)
        memcpy(tail, rest_data, rest);
    tail[rest] = 0x80;
    tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
    blocks(h, tail, tail_len / 64, portable);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

#define SHA1_INIT                                                                                  \
    {                                                                                              \
        0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0                                 \
    }

static void
sha1(const unsigned char *data, size_t len, unsigned char out[NG_SHA1_LEN], bool portable)
{
    uint32_t h[5] = SHA1_INIT;
    size_t full = len & ~(size_t)63;

    blocks(h, data, full / 64, portable);
    sha1_finish(h, data + full, len - full, len, out, portable);
}

bool
ng_sha1_fd(int fd, unsigned char out[NG_SHA1_LEN])
{
    enum { CHUNK = 1 << 16 };
    uint32_t h[5] = SHA1_INIT;
    unsigned char *buf = malloc(CHUNK);
    size_t have = 0;
    uint64_t len = 0;
    bool ok = buf != NULL;

    while (ok) {
        ssize_t n = read(fd, buf + have, CHUNK - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        have += (size_t)n;
        len += (uint64_t)n;
        if (have == CHUNK) { /* CHUNK is a multiple of 64 */
            blocks(h, buf, CHUNK / 64, false);
            have = 0;
        }
    }
    if (ok) {
        size_t full = have & ~(size_t)63;
        blocks(h, buf, full / 64, false);
        sha1_finish(h, buf + full, have - full, len, out, false);
    }
    free(buf);
    return ok;
}

void
ng_sha1(const unsigned char *data, size_t len, unsigned char out[NG_SHA1_LEN])
{
    sha1(data, len, out, false);
}

void
ng_sha1_portable(const unsigned char *data, size_t len, unsigned char out[NG_SHA1_LEN])
{
    sha1(data, len, out, true);
}

/* ---- SHA-256 (FIPS 180-4): a certificate's key hash, as OneCRL and
 * Chrome name a distrusted key (issue 13). Portable: it runs once per
 * entry that carries a key hash, at load. ---- */

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static const uint32_t k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void
block256(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], s[8];

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(s, h, sizeof(s));
    for (int i = 0; i < 64; i++) {
        uint32_t e = s[4], a = s[0];
        uint32_t t1 = s[7] + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & s[5]) ^ (~e & s[6])) +
                      k256[i] + w[i];
        uint32_t t2 =
            (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & s[1]) ^ (a & s[2]) ^ (s[1] & s[2]));
        memmove(s + 1, s, 7 * sizeof(s[0]));
        s[4] += t1;
        s[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        h[i] += s[i];
}

void
ng_sha256(const unsigned char *data, size_t len, unsigned char out[NG_SHA256_LEN])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    unsigned char tail[128];
    size_t full = len & ~(size_t)63, rest = len - full, tail_len;
    uint64_t bits = (uint64_t)len * 8;

    for (size_t i = 0; i < full; i += 64)
        block256(h, data + i);
    memset(tail, 0, sizeof(tail));
    if (rest)
        memcpy(tail, data + full, rest);
    tail[rest] = 0x80;
    tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t i = 0; i < tail_len; i += 64)
        block256(h, tail + i);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

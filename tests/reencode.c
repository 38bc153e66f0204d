/*
 * reencode.c: nssguard-reencode MODE IN.der OUT.der
 *
 * What a MITM operator can do to the distrusted sub-CA certificate it sends
 * in every handshake, without any key: change the bytes that lie OUTSIDE the
 * signed tbsCertificate, or re-write the signature into another valid form.
 * Issuer and serial stay the same; the SHA-1 of the DER changes.
 *
 *   ecdsa-s             the issuer's ECDSA signature (r, s) as (r, n - s),
 *                       n the order of P-256, P-384 or P-521 (chosen by the
 *                       signature's size); still a valid signature
 *   rsa-params          the outer signatureAlgorithm without its NULL
 *                       parameters (RSA PKCS#1 v1.5 signatures)
 *   long-length         the outer Certificate SEQUENCE's length in a
 *                       non-minimal long form (one more length octet)
 *   long-length-sigalg  the same for the outer signatureAlgorithm
 *   long-length-sig     the same for the signature BIT STRING
 *   indefinite          the outer SEQUENCE with an indefinite length (BER)
 *   trailing            two zero octets after the certificate
 *
 * Exit status 0 when OUT was written, 1 when the mode does not apply to the
 * certificate (the reason on stderr), 2 on a usage or I/O error. A test
 * helper: it parses only the certificate's outer structure.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *p; /* the whole TLV */
    size_t hdr;             /* tag + length octets */
    size_t len;             /* contents */
} tlv;

/* A growing output buffer. */
typedef struct {
    unsigned char *p;
    size_t n, cap;
} buf;

/* Prints "nssguard-reencode: WHAT ARG" and exits with code. */
static void die(int code, const char *what, const char *arg) __attribute__((noreturn));

static void
die(int code, const char *what, const char *arg)
{
    fprintf(stderr, "nssguard-reencode: %s%s\n", what, arg);
    exit(code);
}

static void
put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            die(2, "out of memory", "");
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void
put_byte(buf *b, unsigned char c)
{
    put(b, &c, 1);
}

/* Reads one DER TLV (definite length) at p; false when it does not fit. */
static bool
read_tlv(const unsigned char *p, size_t avail, tlv *t)
{
    size_t len = 0, n = 0;

    if (avail < 2)
        return false;
    if (p[1] < 0x80) {
        len = p[1];
    } else {
        n = p[1] & 0x7f;
        if (n == 0 || n > 4 || avail < 2 + n)
            return false;
        for (size_t i = 0; i < n; i++)
            len = len << 8 | p[2 + i];
    }
    if (avail - 2 - n < len)
        return false;
    *t = (tlv){p, 2 + n, len};
    return true;
}

/* The minimal (DER) length octets of len; `extra` more octets, leading zeros. */
static void
put_length(buf *b, size_t len, size_t extra)
{
    unsigned char tmp[8];
    size_t n = 0;

    if (len < 0x80 && !extra) {
        put_byte(b, (unsigned char)len);
        return;
    }
    for (size_t v = len; v; v >>= 8)
        tmp[n++] = (unsigned char)(v & 0xff);
    put_byte(b, (unsigned char)(0x80 | (n + extra)));
    for (size_t i = 0; i < extra; i++)
        put_byte(b, 0);
    while (n)
        put_byte(b, tmp[--n]);
}

static void
put_tlv(buf *b, unsigned char tag, const unsigned char *contents, size_t len, size_t extra)
{
    put_byte(b, tag);
    put_length(b, len, extra);
    put(b, contents, len);
}

/* The group orders, big-endian (SEC 2). */
static const unsigned char order_p256[] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
static const unsigned char order_p384[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73};
static const unsigned char order_p521[] = {
    0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f, 0x96, 0x6b,
    0x7f, 0xcc, 0x01, 0x48, 0xf7, 0x09, 0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c,
    0x47, 0xae, 0xbb, 0x6f, 0xb7, 0x1e, 0x91, 0x38, 0x64, 0x09};

/* The ECDSA signature's s (INTEGER contents) re-written as n - s, as a DER
 * INTEGER's contents in out. */
static void
negate_s(const unsigned char *s, size_t slen, buf *out)
{
    const unsigned char *n;
    size_t nlen;
    unsigned char v[80], r[80];
    int borrow = 0;
    size_t start = 0;

    while (slen > 1 && s[0] == 0) { /* the sign octet */
        s++;
        slen--;
    }
    if (slen <= sizeof(order_p256)) {
        n = order_p256;
        nlen = sizeof(order_p256);
    } else if (slen <= sizeof(order_p384)) {
        n = order_p384;
        nlen = sizeof(order_p384);
    } else if (slen <= sizeof(order_p521)) {
        n = order_p521;
        nlen = sizeof(order_p521);
    } else {
        die(1, "the signature's s is longer than P-521's order", "");
    }
    memset(v, 0, nlen);
    memcpy(v + nlen - slen, s, slen);
    for (size_t i = nlen; i-- > 0;) {
        int d = (int)n[i] - (int)v[i] - borrow;
        borrow = d < 0;
        r[i] = (unsigned char)(d + (borrow ? 256 : 0));
    }
    if (borrow)
        die(1, "s is not below the group order", "");
    while (start + 1 < nlen && r[start] == 0)
        start++;
    if (r[start] & 0x80)
        put_byte(out, 0);
    put(out, r + start, nlen - start);
}

static unsigned char *
read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *data = NULL;
    long size;

    if (!fp)
        die(2, "cannot open ", path);
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0 ||
        !(data = malloc((size_t)size + 1)) || fread(data, 1, (size_t)size, fp) != (size_t)size)
        die(2, "cannot read ", path);
    fclose(fp);
    *len = (size_t)size;
    return data;
}

int
main(int argc, char **argv)
{
    static const unsigned char null_params[] = {0x05, 0x00};
    const char *mode;
    unsigned char *der;
    size_t der_len;
    tlv cert, tbs, alg, sig, oid;
    buf inner = {0}, out = {0};
    FILE *fp;

    if (argc != 4) {
        fprintf(stderr, "usage: nssguard-reencode ecdsa-s|rsa-params|long-length|"
                        "long-length-sigalg|long-length-sig|indefinite|trailing IN.der OUT.der\n");
        return 2;
    }
    mode = argv[1];
    if (strcmp(mode, "ecdsa-s") && strcmp(mode, "rsa-params") && strcmp(mode, "long-length") &&
        strcmp(mode, "long-length-sigalg") && strcmp(mode, "long-length-sig") &&
        strcmp(mode, "indefinite") && strcmp(mode, "trailing"))
        die(2, "unknown mode ", mode);
    der = read_file(argv[2], &der_len);
    if (!read_tlv(der, der_len, &cert) || der[0] != 0x30 || cert.hdr + cert.len != der_len)
        die(1, "not one DER SEQUENCE: ", argv[2]);
    {
        const unsigned char *p = cert.p + cert.hdr;
        size_t left = cert.len;
        if (!read_tlv(p, left, &tbs) ||
            !read_tlv(p + tbs.hdr + tbs.len, left - tbs.hdr - tbs.len, &alg))
            die(1, "not a certificate: ", argv[2]);
        p += tbs.hdr + tbs.len + alg.hdr + alg.len;
        left -= tbs.hdr + tbs.len + alg.hdr + alg.len;
        if (!read_tlv(p, left, &sig) || sig.p[0] != 0x03 || sig.hdr + sig.len != left ||
            sig.len < 1 || sig.p[sig.hdr] != 0)
            die(1, "no signature BIT STRING: ", argv[2]);
    }
    if (!read_tlv(alg.p + alg.hdr, alg.len, &oid) || oid.p[0] != 0x06)
        die(1, "no signatureAlgorithm OID: ", argv[2]);

    /* tbsCertificate: always copied as it is (it is signed) */
    put(&inner, tbs.p, tbs.hdr + tbs.len);
    if (strcmp(mode, "rsa-params") == 0) {
        size_t rest = alg.len - oid.hdr - oid.len;
        if (rest != sizeof(null_params) ||
            memcmp(oid.p + oid.hdr + oid.len, null_params, sizeof(null_params)) != 0)
            die(1, "the signatureAlgorithm has no NULL parameters (not RSA PKCS#1 v1.5?)", "");
        put_tlv(&inner, 0x30, oid.p, oid.hdr + oid.len, 0);
    } else {
        put_byte(&inner, alg.p[0]);
        put_length(&inner, alg.len, strcmp(mode, "long-length-sigalg") == 0);
        put(&inner, alg.p + alg.hdr, alg.len);
    }
    if (strcmp(mode, "ecdsa-s") == 0) {
        tlv seq, r, s;
        buf ns = {0}, pair = {0}, bits = {0};
        const unsigned char *q = sig.p + sig.hdr + 1;
        if (!read_tlv(q, sig.len - 1, &seq) || q[0] != 0x30 ||
            !read_tlv(q + seq.hdr, seq.len, &r) || r.p[0] != 0x02 ||
            !read_tlv(q + seq.hdr + r.hdr + r.len, seq.len - r.hdr - r.len, &s) || s.p[0] != 0x02)
            die(1, "the signature is not an ECDSA (r, s) SEQUENCE", "");
        negate_s(s.p + s.hdr, s.len, &ns);
        put(&pair, r.p, r.hdr + r.len);
        put_tlv(&pair, 0x02, ns.p, ns.n, 0);
        put_byte(&bits, 0); /* no unused bits */
        put_tlv(&bits, 0x30, pair.p, pair.n, 0);
        put_tlv(&inner, 0x03, bits.p, bits.n, 0);
        free(ns.p);
        free(pair.p);
        free(bits.p);
    } else {
        put_byte(&inner, 0x03);
        put_length(&inner, sig.len, strcmp(mode, "long-length-sig") == 0);
        put(&inner, sig.p + sig.hdr, sig.len);
    }

    if (strcmp(mode, "indefinite") == 0) {
        put_byte(&out, 0x30);
        put_byte(&out, 0x80);
        put(&out, inner.p, inner.n);
        put_byte(&out, 0);
        put_byte(&out, 0);
    } else {
        put_tlv(&out, 0x30, inner.p, inner.n, strcmp(mode, "long-length") == 0);
        if (strcmp(mode, "trailing") == 0) {
            put_byte(&out, 0);
            put_byte(&out, 0);
        }
    }
    if (out.n == der_len && memcmp(out.p, der, der_len) == 0)
        die(1, "the copy came out the same as the original", "");
    fp = fopen(argv[3], "wb");
    if (!fp || fwrite(out.p, 1, out.n, fp) != out.n || fclose(fp) != 0)
        die(2, "cannot write ", argv[3]);
    free(inner.p);
    free(out.p);
    free(der);
    return 0;
}

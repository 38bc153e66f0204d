/*
 * der.c: the few DER structures the module reads: TLVs, INTEGER, Name,
 * and a certificate's issuer and serial. Every read is bounds-checked;
 * the input is hostile. The TLV reader and the INTEGER (ng_der_read,
 * ng_der_integer_value) are inline in internal.h: the trust query reads
 * its serial with them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "internal.h"

bool
ng_der_is_sequence(ng_bytes der)
{
    unsigned tag;
    size_t total;
    ng_bytes c;

    return ng_der_read(der.data, der.len, &tag, &c, &total) && tag == 0x30 && total == der.len;
}

bool
ng_der_cert_parts(ng_bytes cert, ng_cert_parts *parts)
{
    unsigned tag;
    size_t total;
    ng_bytes c, tbs, field;
    const unsigned char *p;
    size_t left;
    ng_bytes *next[] = {&parts->issuer, NULL /* validity */, &parts->subject, &parts->spki};

    /* Certificate ::= SEQUENCE { tbsCertificate, ... } */
    if (!ng_der_read(cert.data, cert.len, &tag, &c, &total) || tag != 0x30 || total != cert.len)
        return false;
    if (!ng_der_read(c.data, c.len, &tag, &tbs, &total) || tag != 0x30)
        return false;
    p = tbs.data;
    left = tbs.len;
    /* [0] EXPLICIT version, optional */
    if (!ng_der_read(p, left, &tag, &field, &total))
        return false;
    if (tag == 0xa0) {
        p += total;
        left -= total;
        if (!ng_der_read(p, left, &tag, &field, &total))
            return false;
    }
    if (tag != 0x02)
        return false;
    parts->serial = (ng_bytes){p, total};
    p += total;
    left -= total;
    /* signature AlgorithmIdentifier */
    if (!ng_der_read(p, left, &tag, &field, &total) || tag != 0x30)
        return false;
    p += total;
    left -= total;
    /* issuer Name, validity, subject Name, subjectPublicKeyInfo: SEQUENCEs */
    for (size_t i = 0; i < NG_N_ELEMENTS(next); i++) {
        if (!ng_der_read(p, left, &tag, &field, &total) || tag != 0x30)
            return false;
        if (next[i])
            *next[i] = (ng_bytes){p, total};
        p += total;
        left -= total;
    }
    return true;
}

bool
ng_der_cert_tbs(ng_bytes cert, ng_bytes *tbs)
{
    unsigned tag;
    size_t total;
    ng_bytes c, v;

    if (!ng_der_read(cert.data, cert.len, &tag, &c, &total) || tag != 0x30)
        return false;
    if (!ng_der_read(c.data, c.len, &tag, &v, &total) || tag != 0x30)
        return false;
    *tbs = (ng_bytes){c.data, total};
    return true;
}

bool
ng_der_cert_issuer_serial(ng_bytes cert, ng_bytes *issuer, ng_bytes *serial)
{
    ng_cert_parts parts;

    if (!ng_der_cert_parts(cert, &parts))
        return false;
    *issuer = parts.issuer;
    *serial = parts.serial;
    return true;
}

/* Short names for the attribute types people read in a Name. */
static const struct {
    const char *oid; /* DER contents of the OBJECT IDENTIFIER */
    size_t len;
    const char *name;
} known_types[] = {
    {"\x55\x04\x03", 3, "CN"},
    {"\x55\x04\x0a", 3, "O"},
    {"\x55\x04\x0b", 3, "OU"},
    {"\x55\x04\x06", 3, "C"},
    {"\x55\x04\x07", 3, "L"},
    {"\x55\x04\x08", 3, "ST"},
    {"\x55\x04\x05", 3, "serialNumber"},
    {"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", 9, "E"},
    {"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", 10, "DC"},
};

typedef struct {
    char *buf;
    size_t size;
    size_t used;
    bool truncated;
} text_out;

static void
put(text_out *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (out->used + 4 >= out->size) { /* keep room for "..." and NUL */
            out->truncated = true;
            return;
        }
        out->buf[out->used++] = s[i];
    }
}

static void
put_value(text_out *out, ng_bytes v, unsigned tag)
{
    char esc[8];

    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = v.data[i];
        if (tag == 0x1e) { /* BMPString: UCS-2, show ASCII and escape the rest */
            if (i + 1 >= v.len)
                break;
            unsigned code = (unsigned)v.data[i] << 8 | v.data[i + 1];
            i++;
            if (code >= 0x20 && code < 0x7f && code != '\\' && code != '"') {
                char c = (char)code;
                put(out, &c, 1);
            } else {
                snprintf(esc, sizeof(esc), "\\u%04x", code);
                put(out, esc, strlen(esc));
            }
            continue;
        }
        if (ch == ',' || ch == '"' || ch == '\\' || ch == '+' || ch == '=') {
            put(out, "\\", 1);
            put(out, (const char *)&ch, 1);
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof(esc), "\\%02x", ch);
            put(out, esc, strlen(esc));
        } else {
            put(out, (const char *)&ch, 1); /* UTF-8 passes through */
        }
    }
}

/* Writes one AttributeTypeAndValue. */
static bool
put_atv(text_out *out, ng_bytes atv)
{
    unsigned tag;
    size_t total;
    ng_bytes oid, value;

    if (!ng_der_read(atv.data, atv.len, &tag, &oid, &total) || tag != 0x06)
        return false;
    if (!ng_der_read(atv.data + total, atv.len - total, &tag, &value, &total))
        return false;
    const char *name = NULL;
    for (size_t i = 0; i < NG_N_ELEMENTS(known_types); i++) {
        if (known_types[i].len == oid.len && memcmp(known_types[i].oid, oid.data, oid.len) == 0)
            name = known_types[i].name;
    }
    if (name) {
        put(out, name, strlen(name));
    } else {
        char hex[8];
        put(out, "OID.", 4);
        for (size_t i = 0; i < oid.len; i++) {
            snprintf(hex, sizeof(hex), "%02x", oid.data[i]);
            put(out, hex, 2);
        }
    }
    put(out, "=", 1);
    put_value(out, value, tag);
    return true;
}

void
ng_der_name_text(ng_bytes name, char *buf, size_t size)
{
    text_out out = {buf, size, 0, false};
    unsigned tag;
    size_t total;
    ng_bytes rdns, rdn, atv;
    const unsigned char *starts[64];
    size_t lens[64], n = 0;

    if (size == 0)
        return;
    buf[0] = '\0';
    if (!ng_der_read(name.data, name.len, &tag, &rdns, &total) || tag != 0x30)
        goto bad;
    /* Collect the RDNs, then print them last first, as NSS does. */
    for (size_t off = 0; off < rdns.len; off += total) {
        if (!ng_der_read(rdns.data + off, rdns.len - off, &tag, &rdn, &total) || tag != 0x31)
            goto bad;
        if (n == NG_N_ELEMENTS(starts))
            break;
        starts[n] = rdn.data;
        lens[n++] = rdn.len;
    }
    for (size_t i = n; i-- > 0;) {
        size_t inner;
        for (size_t off = 0; off < lens[i]; off += inner) {
            if (!ng_der_read(starts[i] + off, lens[i] - off, &tag, &atv, &inner) || tag != 0x30)
                goto bad;
            if (out.used > 0)
                put(&out, off == 0 ? "," : "+", 1);
            if (!put_atv(&out, atv))
                goto bad;
        }
    }
    if (out.truncated)
        memcpy(buf + out.used, "...", 3), out.used += 3;
    buf[out.used] = '\0';
    return;
bad:
    snprintf(buf, size, "(malformed name)");
}

void
ng_hex_text(ng_bytes bytes, char *buf, size_t size)
{
    size_t used = 0;

    if (size == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < bytes.len; i++) {
        if (used + 4 > size)
            break;
        used += (size_t)snprintf(buf + used, size - used, i ? ":%02x" : "%02x", bytes.data[i]);
    }
}

/* ---- RFC 5280 name comparison (for the tool's warnings) ---- */

#define NAME_VALUE_MAX 1024

/* Appends code point u as UTF-8. */
static bool
put_utf8(unsigned char *out, size_t *n, unsigned long u)
{
    unsigned char b[4];
    size_t k;

    if (u < 0x80) {
        b[0] = (unsigned char)u, k = 1;
    } else if (u < 0x800) {
        b[0] = (unsigned char)(0xc0 | u >> 6), b[1] = (unsigned char)(0x80 | (u & 0x3f)), k = 2;
    } else if (u < 0x10000) {
        b[0] = (unsigned char)(0xe0 | u >> 12);
        b[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (u & 0x3f)), k = 3;
    } else if (u < 0x110000) {
        b[0] = (unsigned char)(0xf0 | u >> 18);
        b[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (u & 0x3f)), k = 4;
    } else {
        return false;
    }
    if (*n + k > NAME_VALUE_MAX)
        return false;
    memcpy(out + *n, b, k);
    *n += k;
    return true;
}

/* A directory string as RFC 5280 7.1 compares it (simplified to ASCII case
 * folding): UTF-8 whatever the string type, spaces trimmed at both ends and
 * runs of spaces inside collapsed to one, A-Z folded to a-z. False for a
 * type that is not a string, or a malformed or over-long value. */
static bool
name_value_fold(unsigned tag, ng_bytes v, unsigned char *out, size_t *n)
{
    size_t width = tag == 0x1e ? 2 : tag == 0x1c ? 4 : 1;
    unsigned long u;
    bool space = true; /* drops leading spaces */

    if (tag != 0x0c && tag != 0x13 && tag != 0x16 && tag != 0x14 && tag != 0x1e && tag != 0x1c)
        return false;
    if (v.len % width)
        return false;
    *n = 0;
    for (size_t i = 0; i < v.len; i += width) {
        u = 0;
        for (size_t k = 0; k < width; k++)
            u = u << 8 | v.data[i + k];
        if (u == ' ' || u == '\t' || u == '\n' || u == '\r') {
            if (space)
                continue;
            space = true;
            u = ' ';
        } else {
            space = false;
            if (u >= 'A' && u <= 'Z')
                u += 'a' - 'A';
        }
        if (width == 1) { /* UTF-8 (or ASCII) bytes as they are */
            if (*n >= NAME_VALUE_MAX)
                return false;
            out[(*n)++] = (unsigned char)u;
        } else if (!put_utf8(out, n, u)) {
            return false;
        }
    }
    if (*n > 0 && out[*n - 1] == ' ')
        (*n)--;
    return true;
}

static bool
atv_equal_rfc5280(ng_bytes a, ng_bytes b)
{
    unsigned ta, tb, va_tag, vb_tag;
    size_t totala, totalb;
    ng_bytes oida, oidb, va, vb;
    unsigned char fa[NAME_VALUE_MAX], fb[NAME_VALUE_MAX];
    size_t na, nb;

    if (!ng_der_read(a.data, a.len, &ta, &oida, &totala) || ta != 0x06 ||
        !ng_der_read(b.data, b.len, &tb, &oidb, &totalb) || tb != 0x06 || oida.len != oidb.len ||
        memcmp(oida.data, oidb.data, oida.len) != 0)
        return false;
    if (!ng_der_read(a.data + totala, a.len - totala, &va_tag, &va, &totala) ||
        !ng_der_read(b.data + totalb, b.len - totalb, &vb_tag, &vb, &totalb))
        return false;
    if (va_tag == vb_tag && va.len == vb.len && memcmp(va.data, vb.data, va.len) == 0)
        return true;
    return name_value_fold(va_tag, va, fa, &na) && name_value_fold(vb_tag, vb, fb, &nb) &&
           na == nb && memcmp(fa, fb, na) == 0;
}

/* The contents of the SEQUENCE/SET that starts at p, its tag checked. */
static bool
next_tlv(ng_bytes *rest, unsigned want, ng_bytes *contents)
{
    unsigned tag;
    size_t total;

    if (!ng_der_read(rest->data, rest->len, &tag, contents, &total) || tag != want)
        return false;
    rest->data += total;
    rest->len -= total;
    return true;
}

bool
ng_der_name_equal_rfc5280(ng_bytes a, ng_bytes b)
{
    ng_bytes ra, rb, rdn_a, rdn_b, atv_a, atv_b;

    if (!next_tlv(&a, 0x30, &ra) || !next_tlv(&b, 0x30, &rb))
        return false;
    while (ra.len && rb.len) {
        if (!next_tlv(&ra, 0x31, &rdn_a) || !next_tlv(&rb, 0x31, &rdn_b))
            return false;
        /* the attributes of one RDN in the order written (DER sorts them) */
        while (rdn_a.len && rdn_b.len) {
            if (!next_tlv(&rdn_a, 0x30, &atv_a) || !next_tlv(&rdn_b, 0x30, &atv_b) ||
                !atv_equal_rfc5280(atv_a, atv_b))
                return false;
        }
        if (rdn_a.len || rdn_b.len)
            return false;
    }
    return !ra.len && !rb.len;
}

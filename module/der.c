/*
 * der.c: the few DER structures the module reads: TLVs, INTEGER, Name,
 * and a certificate's issuer and serial. Every read is bounds-checked;
 * the input is hostile.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "internal.h"

bool
ng_der_read(const unsigned char *p, size_t len, unsigned *tag, ng_bytes *contents, size_t *total)
{
    size_t hdr = 2, clen;

    if (len < 2 || (p[0] & 0x1f) == 0x1f) /* no multi-byte tags */
        return false;
    *tag = p[0];
    if (p[1] < 0x80) {
        clen = p[1];
    } else {
        size_t n = p[1] & 0x7f;
        if (n == 0 || n > 4 || len < 2 + n)
            return false; /* indefinite or absurd */
        clen = 0;
        for (size_t i = 0; i < n; i++)
            clen = (clen << 8) | p[2 + i];
        if (clen < 0x80 || (n > 1 && p[2] == 0))
            return false; /* not minimal: not DER */
        hdr += n;
    }
    if (clen > len - hdr)
        return false;
    contents->data = p + hdr;
    contents->len = clen;
    *total = hdr + clen;
    return true;
}

bool
ng_der_integer_value(ng_bytes der, ng_bytes *value)
{
    unsigned tag;
    size_t total;

    if (!ng_der_read(der.data, der.len, &tag, value, &total))
        return false;
    return tag == 0x02 && total == der.len && value->len > 0;
}

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

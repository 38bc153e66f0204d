/*
 * names.c: name constraints for overlay entries (CKA_NSSGUARD_NAME_CONSTRAINTS)
 * and distrust-after dates (CKA_NSS_SERVER/EMAIL_DISTRUST_AFTER): writing
 * them (`add`) and applying them to a chain (`verify`), which NSS cannot do
 * for a PKCS#11 module's entries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <cert.h>
#include <secder.h>
#include <secerr.h>

#include "tool.h"

/* ---- encoding: SPEC -> DER NameConstraints ---- */

typedef struct {
    unsigned char *data;
    size_t len, cap;
} buf;

static bool
put(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        unsigned char *nd;
        while (cap < b->len + n)
            cap *= 2;
        nd = realloc(b->data, cap);
        if (!nd)
            return false;
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

/* Appends tag, DER length and contents. */
static bool
put_tlv(buf *b, unsigned char tag, const void *p, size_t n)
{
    unsigned char hdr[4] = {tag};
    size_t h = 2;

    if (n > 0xffff)
        return false;
    if (n < 0x80) {
        hdr[1] = (unsigned char)n;
    } else if (n < 0x100) {
        hdr[1] = 0x81;
        hdr[2] = (unsigned char)n;
        h = 3;
    } else {
        hdr[1] = 0x82;
        hdr[2] = (unsigned char)(n >> 8);
        hdr[3] = (unsigned char)n;
        h = 4;
    }
    return put(b, hdr, h) && put(b, p, n);
}

static bool
dns_name_ok(const char *s)
{
    if (!*s)
        return true; /* the empty name: every DNS name (for exclude) */
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return false;
    }
    return strstr(s, "..") == NULL;
}

/* "192.0.2.0/24", "2001:db8::/32" or a single address -> address + mask. */
static bool
ip_range(const char *text, unsigned char out[32], size_t *len)
{
    char addr[64];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    unsigned long prefix;
    char *end;
    size_t bytes;

    if (n >= sizeof(addr))
        return false;
    memcpy(addr, text, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET, addr, out) == 1)
        bytes = 4;
    else if (inet_pton(AF_INET6, addr, out) == 1)
        bytes = 16;
    else
        return false;
    prefix = bytes * 8;
    if (slash) {
        prefix = strtoul(slash + 1, &end, 10);
        if (end == slash + 1 || *end || prefix > bytes * 8)
            return false;
    }
    for (size_t i = 0; i < bytes; i++) {
        size_t bits = prefix > i * 8 ? prefix - i * 8 : 0;
        unsigned char m = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
        out[bytes + i] = m;
        out[i] &= m;
    }
    *len = bytes * 2;
    return true;
}

bool
tool_name_constraints_encode(const char *spec, unsigned char **der, size_t *der_len, char *why,
                             size_t why_size)
{
    buf permit = {0}, exclude = {0}, inner = {0}, outer = {0};
    char *copy = strdup(spec), *save = NULL, *item;
    bool ok = false;

    if (!copy)
        goto out;
    for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *kind = strchr(item, ':'), *value;
        buf subtree = {0}, *list;
        unsigned char ip[32];
        size_t ip_len;
        bool good;
        if (!kind || !(value = strchr(kind + 1, ':'))) {
            snprintf(why, why_size, "'%s': want permit|exclude:dns|ip|email:VALUE", item);
            goto out;
        }
        *kind++ = '\0';
        *value++ = '\0';
        if (strcmp(item, "permit") == 0) {
            list = &permit;
        } else if (strcmp(item, "exclude") == 0) {
            list = &exclude;
        } else {
            snprintf(why, why_size, "'%s': not permit or exclude", item);
            goto out;
        }
        if (strcmp(kind, "dns") == 0) {
            if (!dns_name_ok(value) || (!*value && list == &permit)) {
                snprintf(why, why_size, "'%s': not a DNS name", value);
                goto out;
            }
            good = put_tlv(&subtree, 0x82, value, strlen(value));
        } else if (strcmp(kind, "ip") == 0) {
            if (!ip_range(value, ip, &ip_len)) {
                snprintf(why, why_size, "'%s': not an address or ADDRESS/PREFIX", value);
                goto out;
            }
            good = put_tlv(&subtree, 0x87, ip, ip_len);
        } else if (strcmp(kind, "email") == 0) {
            if (!*value || strchr(value, ' ')) {
                snprintf(why, why_size, "'%s': not a mail address or domain", value);
                goto out;
            }
            good = put_tlv(&subtree, 0x81, value, strlen(value));
        } else {
            snprintf(why, why_size, "'%s': the name forms are dns, ip and email", kind);
            goto out;
        }
        good = good && put_tlv(list, 0x30, subtree.data, subtree.len);
        free(subtree.data);
        if (!good) {
            snprintf(why, why_size, "out of memory");
            goto out;
        }
    }
    if (!permit.len && !exclude.len) {
        snprintf(why, why_size, "no name given");
        goto out;
    }
    if ((permit.len && !put_tlv(&inner, 0xa0, permit.data, permit.len)) ||
        (exclude.len && !put_tlv(&inner, 0xa1, exclude.data, exclude.len)) ||
        !put_tlv(&outer, 0x30, inner.data, inner.len)) {
        snprintf(why, why_size, "too long");
        goto out;
    }
    *der = outer.data;
    *der_len = outer.len;
    outer.data = NULL;
    ok = true;
out:
    free(copy);
    free(permit.data);
    free(exclude.data);
    free(inner.data);
    free(outer.data);
    return ok;
}

/* "YYYY-MM-DD" -> UTCTime text "YYMMDD000000Z" (years 1950..2049). */
bool
tool_distrust_after_text(const char *date, char out[14])
{
    unsigned y, m, d;
    char tail;

    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap;

    if (strlen(date) != 10 || date[4] != '-' || date[7] != '-')
        return false;
    for (size_t i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (date[i] < '0' || date[i] > '9'))
            return false;
    }
    if (sscanf(date, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || y < 1950 || y > 2049 || m < 1 ||
        m > 12 || d < 1)
        return false;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return false; /* 2049-02-30, 2023-04-31, 2023-02-29 */
    snprintf(out, 14, "%02u%02u%02u000000Z", y % 100, m % 100, d % 100);
    return true;
}

/* ---- applying them (verify) ---- */

static void
general_name_text(const CERTGeneralName *n, char *out, size_t size)
{
    const SECItem *v = &n->name.other;
    char *dn;

    switch (n->type) {
    case certDNSName:
    case certRFC822Name:
        snprintf(out, size, "%s:%.*s", n->type == certDNSName ? "dns" : "email", (int)v->len,
                 (const char *)v->data);
        break;
    case certIPAddress:
        if ((v->len == 4 && inet_ntop(AF_INET, v->data, out + 3, (socklen_t)(size - 3))) ||
            (v->len == 16 && inet_ntop(AF_INET6, v->data, out + 3, (socklen_t)(size - 3))))
            memcpy(out, "ip:", 3);
        else
            snprintf(out, size, "ip:(%u bytes)", v->len);
        break;
    case certDirectoryName:
        dn = CERT_NameToAscii((CERTName *)&n->name.directoryName);
        snprintf(out, size, "dn:%s", dn ? dn : "?");
        if (dn)
            PORT_Free(dn);
        break;
    default:
        snprintf(out, size, "name of type %d", (int)n->type);
        break;
    }
}

int
tool_check_name_constraints(CERTCertificate *leaf, ng_bytes nc_der, bool server, char *name,
                            size_t size)
{
    PLArenaPool *arena = PORT_NewArena(4096);
    SECItem item = {siBuffer, (unsigned char *)nc_der.data, (unsigned)nc_der.len};
    CERTNameConstraints *nc;
    CERTGeneralName *names, *n;
    int rc = -1;

    name[0] = '\0';
    if (!arena)
        return -1;
    nc = CERT_DecodeNameConstraintsExtension(arena, &item);
    if (!nc) {
        snprintf(name, size, "(the entry's name constraints do not decode)");
        goto out;
    }
    names = CERT_GetConstrainedCertificateNames(leaf, arena, server ? PR_TRUE : PR_FALSE);
    rc = 1;
    if (!names)
        goto out;
    n = names;
    do {
        if (CERT_CheckNameSpace(arena, nc, n) != SECSuccess) {
            general_name_text(n, name, size);
            rc = 0;
            goto out;
        }
        n = CERT_GetNextGeneralName(n);
    } while (n && n != names);
out:
    PORT_FreeArena(arena, PR_FALSE);
    return rc;
}

static bool
attr_is(const ng_attr *a, ng_bytes b)
{
    return a && a->len == b.len && memcmp(a->value, b.data, b.len) == 0;
}

bool
tool_overlay_distrust_after(const tool_overlay *ov, const CERTCertificate *cert, bool email,
                            tool_distrust_after *out)
{
    ng_bytes issuer, serial_der;
    CK_ATTRIBUTE_TYPE type = email ? CKA_NSS_EMAIL_DISTRUST_AFTER : CKA_NSS_SERVER_DISTRUST_AFTER;

    if (!ng_der_cert_issuer_serial((ng_bytes){cert->derCert.data, cert->derCert.len}, &issuer,
                                   &serial_der))
        return false;
    for (size_t f = 0; f < ov->n_files; f++) {
        const ng_records *recs = &ov->files[f];
        for (size_t r = 0; r < recs->n_records; r++) {
            const ng_record *rec = &recs->records[r];
            const ng_attr *a = ng_record_get(rec, type), *label;
            char text[14];
            CK_ULONG cls;
            /* CK_BBOOL CK_FALSE (one byte) says there is none. */
            if (!a || a->len != 13 || !ng_record_ulong(rec, CKA_CLASS, &cls) ||
                (cls != CKO_NSS_TRUST && cls != CKO_CERTIFICATE) ||
                !attr_is(ng_record_get(rec, CKA_ISSUER), issuer) ||
                !attr_is(ng_record_get(rec, CKA_SERIAL_NUMBER), serial_der))
                continue;
            memcpy(text, a->value, 13);
            text[13] = '\0';
            if (DER_AsciiToTime(&out->when, text) != SECSuccess)
                continue;
            label = ng_record_get(rec, CKA_LABEL);
            snprintf(out->label, sizeof(out->label), "%s", label ? (const char *)label->value : "");
            snprintf(out->date, sizeof(out->date), "%s", text);
            out->file = recs->file;
            out->line = a->line;
            return true;
        }
    }
    return false;
}

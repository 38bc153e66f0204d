/*
 * objects.c: distrust entries as PKCS#11 objects, and the find.
 *
 * Entry i of a generation is served as read-only token objects, handle
 * 7i+1+kind with the generation's id in the handle's high bits:
 *   CKO_NSS_TRUST  (what every NSS asks for)
 *   CKO_TRUST      (PKCS#11 3.2; NSS >= 3.114 asks for it first)
 * and in p11-kit mode (mode=p11-kit) also, for p11-kit's trust tools and
 * GnuTLS:
 *   CKO_CERTIFICATE with CKA_X_DISTRUSTED (its CKA_VALUE, CKA_SUBJECT...
 *                   when the overlay had the certificate)
 *   CKO_X_TRUST_ASSERTION, CKT_X_DISTRUSTED_CERTIFICATE, one per purpose;
 * and in Chromium mode (mode=chromium) the CKO_CERTIFICATE of each entry whose
 * overlay held the certificate: Chromium's TrustStoreNSS honours trust only
 * for a certificate some token holds. Both modes reopen NSS's
 * PK11_FindCertFromDERCertItem hazard (README).
 * Every purpose is NOT_TRUSTED (a constraint entry too: NSS cannot apply
 * name constraints from a module, so constraints=distrust serves it as
 * distrust and constraints=ignore not at all). Positive trust and
 * CKT_NSS_TRUST_UNKNOWN are never served, and neither is a certificate hash
 * on a trust object (CKA_CERT_SHA1_HASH, CKA_HASH_OF_CERTIFICATE): NSS
 * drops a record whose hash is not that of the bytes it received, and
 * whoever holds a certificate can re-encode it without any key (an ECDSA
 * signature (r,s) as (r,n-s), an RSA signatureAlgorithm without its NULL
 * parameters). A hashless record whose purposes are all NOT_TRUSTED is
 * matched by issuer and serial alone, whatever the encoding. The SHA-1 the
 * overlay holds is served only as p11-kit mode's CKA_ID.
 *
 * In NSS mode no certificate objects are served: NSS's
 * PK11_FindCertFromDERCertItem on this slot would otherwise rebuild the
 * certificate's trust from this token alone and lose the distrust (see
 * README, "How distrust can be lost"); the p11-kit module file keeps p11-kit
 * mode out of NSS (disable-in: p11-kit-proxy).
 *
 * NSS's trust query {TOKEN, CLASS, ISSUER, SERIAL_NUMBER} goes through the
 * issuer+serial index; the serial may come as a DER INTEGER or as its bare
 * value bytes, and both are tried. Other templates (listing tools) scan.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* The objects of one entry. The trust objects are what NSS reads; the rest
 * are served in p11-kit mode only (see served()). */
enum {
    KIND_NSS_TRUST = 0,
    KIND_PKCS_TRUST,
    KIND_CERTIFICATE, /* p11-kit: the certificate, CKA_X_DISTRUSTED */
    KIND_ASSERTION,   /* p11-kit: one CKT_X_DISTRUSTED_CERTIFICATE per purpose */
    KIND_LAST = KIND_ASSERTION + 3,
};
_Static_assert(KIND_LAST + 1 == NG_KINDS_PER_ENTRY, "handle space");

/* The purposes NSS's trust objects distrust, as p11-kit names them. */
static const char *const assertion_purpose[] = {
    "1.3.6.1.5.5.7.3.1", /* serverAuth */
    "1.3.6.1.5.5.7.3.2", /* clientAuth */
    "1.3.6.1.5.5.7.3.3", /* codeSigning */
    "1.3.6.1.5.5.7.3.4", /* emailProtection */
};
_Static_assert(NG_N_ELEMENTS(assertion_purpose) == KIND_LAST - KIND_ASSERTION + 1, "purposes");

static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static const CK_TRUST nss_not_trusted = CKT_NSS_NOT_TRUSTED;
static const CK_ULONG pkcs_not_trusted = CKT_NOT_TRUSTED;
static const CK_CERTIFICATE_TYPE x509 = CKC_X_509;
static const CK_ULONG distrusted_assertion = CKT_X_DISTRUSTED_CERTIFICATE;
static const CK_OBJECT_CLASS nss_trust_class = CKO_NSS_TRUST, pkcs_trust_class = CKO_TRUST,
                             certificate_class = CKO_CERTIFICATE,
                             assertion_class = CKO_X_TRUST_ASSERTION;

static const CK_OBJECT_CLASS *
class_of_kind(int kind)
{
    switch (kind) {
    case KIND_NSS_TRUST:
        return &nss_trust_class;
    case KIND_PKCS_TRUST:
        return &pkcs_trust_class;
    case KIND_CERTIFICATE:
        return &certificate_class;
    }
    return &assertion_class;
}

static const char *
class_name(int kind)
{
    static const char *const names[] = {"CKO_NSS_TRUST", "CKO_TRUST", "CKO_CERTIFICATE"};
    return kind < KIND_ASSERTION ? names[kind] : "CKO_X_TRUST_ASSERTION";
}

/* Does generation ov serve this object of entry e? */
static bool
served(const ng_overlay *ov, const ng_entry *e, int kind)
{
    if (!e->distrusted && !ov->serve_constraints) /* constraints=ignore */
        return false;
    if (kind <= KIND_PKCS_TRUST)
        return true;
    if (ov->mode == NG_MODE_NSS || ov->mode == NG_MODE_BUILTINS)
        return false;
    if (ov->mode == NG_MODE_CHROMIUM) /* Chromium finds certificates by their DER */
        return kind == KIND_CERTIFICATE && e->cert.len > 0;
    return ov->mode == NG_MODE_P11KIT;
}

typedef struct {
    const void *data;
    CK_ULONG len;
} value;

#define VALUE_OF(x) ((value){&(x), sizeof(x)})

static value
text(const char *s)
{
    return (value){s, (CK_ULONG)strlen(s)};
}

/* The p11-kit certificate object: what `trust list` and GnuTLS read. An
 * issuer+serial-only entry has one too, without the certificate's own
 * attributes: GnuTLS's distrust query asks for issuer and serial alone. */
static bool
certificate_attribute(const ng_entry *e, CK_ATTRIBUTE_TYPE type, value *v)
{
    ng_cert_parts parts;

    switch (type) {
    case CKA_TRUSTED:
        *v = VALUE_OF(no);
        return true;
    case CKA_X_DISTRUSTED:
        *v = VALUE_OF(yes);
        return true;
    }
    if (!e->cert.len)
        return false;
    switch (type) {
    case CKA_CERTIFICATE_TYPE:
        *v = VALUE_OF(x509);
        return true;
    case CKA_VALUE:
        *v = (value){e->cert.data, e->cert.len};
        return true;
    case CKA_ID: /* its SHA-1: the image holds it, verified */
        *v = (value){e->sha1, NG_SHA1_LEN};
        return true;
    case CKA_SUBJECT:
    case CKA_PUBLIC_KEY_INFO:
        if (!ng_der_cert_parts(e->cert, &parts)) /* checked when the image was made */
            return false;
        *v = type == CKA_SUBJECT ? (value){parts.subject.data, parts.subject.len}
                                 : (value){parts.spki.data, parts.spki.len};
        return true;
    }
    return false;
}

/* The object's value for `type`; false when the object has no such attribute. */
static bool
attribute(const ng_entry *e, int kind, CK_ATTRIBUTE_TYPE type, value *v)
{
    switch (type) {
    case CKA_CLASS:
        *v = (value){class_of_kind(kind), sizeof(CK_OBJECT_CLASS)};
        return true;
    case CKA_TOKEN:
        *v = VALUE_OF(yes);
        return true;
    case CKA_PRIVATE:
    case CKA_MODIFIABLE:
        *v = VALUE_OF(no);
        return true;
    case CKA_LABEL:
        *v = text(e->label);
        return true;
    case CKA_ISSUER:
        *v = (value){e->issuer.data, e->issuer.len};
        return true;
    case CKA_SERIAL_NUMBER:
        *v = (value){e->serial_der.data, e->serial_der.len};
        return true;
    case CKA_NSSGUARD_REASON:
        *v = text(e->reason);
        return true;
    case CKA_NSSGUARD_REFERENCE:
        *v = text(e->reference);
        return true;
    case CKA_NSSGUARD_NAME_CONSTRAINTS:
        *v = (value){e->name_constraints.data, e->name_constraints.len};
        return e->name_constraints.len > 0;
    }
    if (kind == KIND_CERTIFICATE)
        return certificate_attribute(e, type, v);
    if (kind >= KIND_ASSERTION) {
        switch (type) {
        case CKA_X_ASSERTION_TYPE:
            *v = VALUE_OF(distrusted_assertion);
            return true;
        case CKA_X_PURPOSE:
            *v = text(assertion_purpose[kind - KIND_ASSERTION]);
            return true;
        case CKA_X_CERTIFICATE_VALUE:
            *v = (value){e->cert.data, e->cert.len};
            return e->cert.len > 0;
        }
        return false;
    }
    if (kind == KIND_NSS_TRUST) {
        switch (type) {
        case CKA_TRUST_SERVER_AUTH:
        case CKA_TRUST_CLIENT_AUTH:
        case CKA_TRUST_EMAIL_PROTECTION:
        case CKA_TRUST_CODE_SIGNING:
            *v = VALUE_OF(nss_not_trusted);
            return true;
        case CKA_TRUST_STEP_UP_APPROVED:
            *v = VALUE_OF(no);
            return true;
        }
        return false; /* never CKA_CERT_SHA1_HASH: see the top of this file */
    }
    switch (type) {
    case CKA_PKCS_TRUST_SERVER_AUTH:
    case CKA_PKCS_TRUST_CLIENT_AUTH:
    case CKA_PKCS_TRUST_EMAIL_PROTECTION:
    case CKA_PKCS_TRUST_CODE_SIGNING:
        *v = VALUE_OF(pkcs_not_trusted);
        return true;
    }
    return false; /* never CKA_HASH_OF_CERTIFICATE nor its CKA_NAME_HASH_ALGORITHM */
}

uint64_t
ng_objects_handle_id(CK_OBJECT_HANDLE handle)
{
    return (uint64_t)handle >> NG_HANDLE_ID_SHIFT;
}

/* The entry and kind of a handle of generation ov. */
static bool
decode_handle(const ng_overlay *ov, CK_OBJECT_HANDLE handle, size_t *global, ng_entry *e, int *kind)
{
    uint64_t local = (uint64_t)handle & (((uint64_t)1 << NG_HANDLE_ID_SHIFT) - 1);

    if (ng_objects_handle_id(handle) != ov->id || local == 0)
        return false;
    *global = (size_t)((local - 1) / NG_KINDS_PER_ENTRY);
    *kind = (int)((local - 1) % NG_KINDS_PER_ENTRY);
    return ng_overlay_entry(ov, *global, e) && served(ov, e, *kind);
}

static CK_OBJECT_HANDLE
encode_handle(const ng_overlay *ov, size_t global, int kind)
{
    return (CK_OBJECT_HANDLE)((ov->id << NG_HANDLE_ID_SHIFT) |
                              (global * NG_KINDS_PER_ENTRY + (size_t)kind + 1));
}

bool
ng_objects_valid(const ng_overlay *ov, CK_OBJECT_HANDLE handle)
{
    ng_entry e;
    size_t global;
    int kind;

    return decode_handle(ov, handle, &global, &e, &kind);
}

static bool
same(const void *a, CK_ULONG alen, const void *b, CK_ULONG blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool
matches(const ng_entry *e, int kind, const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
    value v;

    for (CK_ULONG i = 0; i < count; i++) {
        const CK_ATTRIBUTE *t = &tmpl[i];
        if (t->type == CKA_SERIAL_NUMBER) { /* DER INTEGER or bare value */
            if (!same(t->pValue, t->ulValueLen, e->serial_der.data, e->serial_der.len) &&
                !same(t->pValue, t->ulValueLen, e->serial.data, e->serial.len))
                return false;
            continue;
        }
        if (!attribute(e, kind, t->type, &v) || !same(t->pValue, t->ulValueLen, v.data, v.len))
            return false;
    }
    return true;
}

static bool
push(ng_find *find, CK_OBJECT_HANDLE h)
{
    if (find->n == find->cap) {
        size_t ncap = find->cap * 2;
        CK_OBJECT_HANDLE *nh = malloc(ncap * sizeof(*nh));
        if (!nh)
            return false;
        memcpy(nh, find->handles, find->n * sizeof(*nh));
        if (find->handles != find->inline_handles)
            free(find->handles);
        find->handles = nh;
        find->cap = ncap;
    }
    find->handles[find->n++] = h;
    return true;
}

static bool
push_handle(void *find, CK_OBJECT_HANDLE h)
{
    return push(find, h);
}

static bool
push_matches(ng_find *find, const ng_overlay *ov, size_t global, const CK_ATTRIBUTE *tmpl,
             CK_ULONG count)
{
    ng_entry e;

    if (!ng_overlay_entry(ov, global, &e))
        return true;
    for (int kind = 0; kind < NG_KINDS_PER_ENTRY; kind++) {
        if (served(ov, &e, kind) && matches(&e, kind, tmpl, count) &&
            !push(find, encode_handle(ov, global, kind)))
            return false;
    }
    return true;
}

CK_RV
ng_objects_find(ng_overlay *ov, const CK_ATTRIBUTE *tmpl, CK_ULONG count, ng_find *find)
{
    const CK_ATTRIBUTE *issuer = NULL, *serial = NULL;
    bool served_class = true, reported = false;

    memset(find, 0, sizeof(*find));
    find->overlay = ov;
    find->handles = find->inline_handles;
    find->cap = NG_N_ELEMENTS(find->inline_handles);
    for (CK_ULONG i = 0; i < count; i++) {
        if (!tmpl[i].pValue && tmpl[i].ulValueLen)
            return CKR_ARGUMENTS_BAD;
        if (tmpl[i].type == CKA_ISSUER)
            issuer = &tmpl[i];
        else if (tmpl[i].type == CKA_SERIAL_NUMBER)
            serial = &tmpl[i];
        else if (tmpl[i].type == CKA_CLASS) {
            CK_OBJECT_CLASS cls;
            if (tmpl[i].ulValueLen != sizeof(cls)) {
                served_class = false;
                continue;
            }
            memcpy(&cls, tmpl[i].pValue, sizeof(cls));
            reported = cls == CKO_NSS_TRUST || cls == CKO_TRUST;
            served_class = reported ||
                           (ov && (ov->mode == NG_MODE_P11KIT || ov->mode == NG_MODE_CHROMIUM) &&
                            cls == CKO_CERTIFICATE) ||
                           (ov && ov->mode == NG_MODE_P11KIT && cls == CKO_X_TRUST_ASSERTION);
            /* GnuTLS's blocklist check: {CKO_CERTIFICATE, CKA_X_DISTRUSTED, issuer, serial} */
            reported = reported || cls == CKO_CERTIFICATE;
        }
    }
    if (!ng_builtins_find(ov, tmpl, count, push_handle, find)) /* mode=builtins: the roots */
        goto oom;
    if (!served_class || !ov) /* certificates, root list, CRLs...: none here */
        return CKR_OK;

    if (issuer && serial && serial->ulValueLen > 0) {
        ng_bytes iss = {issuer->pValue, issuer->ulValueLen};
        ng_bytes raw = {serial->pValue, serial->ulValueLen};
        long a, b;
        ng_overlay_find_serial(ov, iss, raw, &a, &b);
        find->trust_query = reported;
        if (a >= 0 && !push_matches(find, ov, (size_t)a, tmpl, count))
            goto oom;
        if (b >= 0 && b != a && !push_matches(find, ov, (size_t)b, tmpl, count))
            goto oom;
        return CKR_OK;
    }
    for (size_t i = 0; i < ov->n_entries; i++) {
        if (!push_matches(find, ov, i, tmpl, count))
            goto oom;
    }
    return CKR_OK;
oom:
    ng_find_clear(find);
    return CKR_HOST_MEMORY;
}

void
ng_find_clear(ng_find *find)
{
    if (find->handles != find->inline_handles)
        free(find->handles);
    memset(find, 0, sizeof(*find));
}

CK_RV
ng_objects_get_attributes(const ng_overlay *ov, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE *tmpl,
                          CK_ULONG count)
{
    ng_entry e;
    size_t global;
    int kind;
    CK_RV rv = CKR_OK;
    value v;

    if (ng_objects_handle_id(handle) == 0) /* mode=builtins: a root record */
        return ng_builtins_get_attributes(handle, tmpl, count);
    if (!ov || !decode_handle(ov, handle, &global, &e, &kind))
        return CKR_OBJECT_HANDLE_INVALID;
    for (CK_ULONG i = 0; i < count; i++) {
        bool present = attribute(&e, kind, tmpl[i].type, &v);
        rv = ng_fill_attribute(&tmpl[i], v.data, v.len, present, rv);
    }
    return rv;
}

CK_RV
ng_fill_attribute(CK_ATTRIBUTE *t, const void *data, CK_ULONG len, bool present, CK_RV rv)
{
    if (!present) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (!t->pValue) {
        t->ulValueLen = len;
    } else if (t->ulValueLen < len) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        if (rv == CKR_OK)
            rv = CKR_BUFFER_TOO_SMALL;
    } else {
        if (len)
            memcpy(t->pValue, data, len);
        t->ulValueLen = len;
    }
    return rv;
}

void
ng_objects_report(ng_overlay *ov, CK_OBJECT_HANDLE handle)
{
    ng_entry e;
    size_t global;
    int kind;
    uint32_t held;
    char issuer[512], serial[256], sha1[64], source[600], suppressed[16];

    if (!ng_log_enabled() || !decode_handle(ov, handle, &global, &e, &kind))
        return; /* log=none: no event to build, no rate to count */
    if (!ng_log_admit(&ov->rates[global], ov->ratelimit, &held))
        return;
    snprintf(suppressed, sizeof(suppressed), "%u", held);
    ng_der_name_text(e.issuer, issuer, sizeof(issuer));
    ng_hex_text(e.serial, serial, sizeof(serial));
    ng_hex_text((ng_bytes){e.sha1, e.has_sha1 ? NG_SHA1_LEN : 0}, sha1, sizeof(sha1));
    snprintf(source, sizeof(source), "%s:%u", e.file, e.line);
    ng_log_event(NG_EV_DISTRUST, "label", e.label, "reason", e.reason, "reference", e.reference,
                 "issuer", issuer, "serial", serial, "sha1", sha1, "class", class_name(kind),
                 "source", source, "suppressed", suppressed, NULL);
}

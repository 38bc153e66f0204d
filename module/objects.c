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
 * The lookup (ng_objects_find) is all here: a template is read once; an
 * issuer+serial query is hashed once and probed in every source's image
 * (mode=builtins' roots, then the overlay's files, image.c), and the hits
 * are matched against the table below. Other templates (listing tools)
 * scan. What each mode serves and what each object holds is one table
 * (kinds[] x attrs[]), used both to serve and to filter by class. The
 * serial rule (a serial given as a DER INTEGER or as its bare value bytes)
 * is one section, "the serial rule", used by every source.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* ---- the table: the objects each mode serves, and what they hold ---- */

/* The objects of one entry: handle 7i+1+kind. */
enum {
    KIND_NSS_TRUST = 0,
    KIND_PKCS_TRUST,
    KIND_CERTIFICATE, /* p11-kit and Chromium: the certificate */
    KIND_ASSERTION,   /* p11-kit: one CKT_X_DISTRUSTED_CERTIFICATE per purpose */
    KIND_LAST = KIND_ASSERTION + 3,
};
_Static_assert(KIND_LAST + 1 == NG_KINDS_PER_ENTRY, "handle space");

#define MODE(m) (1u << (m))
#define ALL_MODES                                                                                  \
    (MODE(NG_MODE_NSS) | MODE(NG_MODE_P11KIT) | MODE(NG_MODE_CHROMIUM) | MODE(NG_MODE_BUILTINS))

typedef struct {
    CK_OBJECT_CLASS cls;
    const char *name;
    unsigned modes;      /* the modes that serve it */
    unsigned cert_modes; /* those that serve it only when the overlay had the certificate */
    bool event; /* asked for by issuer+serial, it answers a trust query: a distrust event */
} kind_row;

static const kind_row kinds[NG_KINDS_PER_ENTRY] = {
    [KIND_NSS_TRUST] = {CKO_NSS_TRUST, "CKO_NSS_TRUST", ALL_MODES, 0, true},
    [KIND_PKCS_TRUST] = {CKO_TRUST, "CKO_TRUST", ALL_MODES, 0, true},
    /* Chromium finds certificates by their DER; GnuTLS's blocklist check asks
     * {CKO_CERTIFICATE, CKA_X_DISTRUSTED, issuer, serial} */
    [KIND_CERTIFICATE] = {CKO_CERTIFICATE, "CKO_CERTIFICATE",
                          MODE(NG_MODE_P11KIT) | MODE(NG_MODE_CHROMIUM), MODE(NG_MODE_CHROMIUM),
                          true},
#define ASSERTION                                                                                  \
    {                                                                                              \
        CKO_X_TRUST_ASSERTION, "CKO_X_TRUST_ASSERTION", MODE(NG_MODE_P11KIT), 0, false             \
    }
    [KIND_ASSERTION] = ASSERTION,
    [KIND_ASSERTION + 1] = ASSERTION,
    [KIND_ASSERTION + 2] = ASSERTION,
    [KIND_LAST] = ASSERTION,
#undef ASSERTION
};

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

#define K(kind) (1u << (kind))
#define K_ASSERTION (((1u << (KIND_LAST + 1)) - 1) & ~((1u << KIND_ASSERTION) - 1))
#define K_ALL ((1u << NG_KINDS_PER_ENTRY) - 1)

/* Where an attribute's value comes from. */
typedef enum {
    FROM_ROW,   /* the row's constant */
    FROM_CLASS, /* kinds[kind].cls */
    FROM_LABEL,
    FROM_ISSUER,
    FROM_SERIAL, /* the DER INTEGER */
    FROM_REASON,
    FROM_REFERENCE,
    FROM_NAME_CONSTRAINTS, /* absent when the entry has none */
    FROM_CERT,             /* the certificate's DER */
    FROM_CERT_SHA1,        /* its SHA-1: the image holds it, verified */
    FROM_SUBJECT,          /* fields of the certificate */
    FROM_SPKI,
    FROM_PURPOSE, /* the assertion's purpose */
} value_from;

typedef struct {
    CK_ATTRIBUTE_TYPE type;
    unsigned kinds; /* the objects (K()) that have it */
    value_from from;
    bool needs_cert; /* absent when the overlay did not have the certificate */
    const void *data;
    CK_ULONG len;
} attr_row;

static const char none; /* the constant of a row that has none */

/* Every attribute every object has: X(type, objects, from, needs_cert,
 * constant). A type is listed once (a second would be a duplicate case
 * below). Never a certificate hash on a trust object (CKA_CERT_SHA1_HASH,
 * CKA_HASH_OF_CERTIFICATE, nor its CKA_NAME_HASH_ALGORITHM): see the top of
 * this file. The certificate object is what `trust list` and GnuTLS read; an
 * issuer+serial-only entry has one too (p11-kit mode), without the
 * certificate's own attributes: GnuTLS's distrust query asks for issuer and
 * serial alone. */
#define ATTRIBUTES(X)                                                                              \
    X(CKA_CLASS, K_ALL, FROM_CLASS, false, none)                                                   \
    X(CKA_TOKEN, K_ALL, FROM_ROW, false, yes)                                                      \
    X(CKA_PRIVATE, K_ALL, FROM_ROW, false, no)                                                     \
    X(CKA_MODIFIABLE, K_ALL, FROM_ROW, false, no)                                                  \
    X(CKA_LABEL, K_ALL, FROM_LABEL, false, none)                                                   \
    X(CKA_ISSUER, K_ALL, FROM_ISSUER, false, none)                                                 \
    X(CKA_SERIAL_NUMBER, K_ALL, FROM_SERIAL, false, none)                                          \
    X(CKA_NSSGUARD_REASON, K_ALL, FROM_REASON, false, none)                                        \
    X(CKA_NSSGUARD_REFERENCE, K_ALL, FROM_REFERENCE, false, none)                                  \
    X(CKA_NSSGUARD_NAME_CONSTRAINTS, K_ALL, FROM_NAME_CONSTRAINTS, false, none)                    \
    /* CKO_NSS_TRUST: every purpose NOT_TRUSTED */                                                 \
    X(CKA_TRUST_SERVER_AUTH, K(KIND_NSS_TRUST), FROM_ROW, false, nss_not_trusted)                  \
    X(CKA_TRUST_CLIENT_AUTH, K(KIND_NSS_TRUST), FROM_ROW, false, nss_not_trusted)                  \
    X(CKA_TRUST_EMAIL_PROTECTION, K(KIND_NSS_TRUST), FROM_ROW, false, nss_not_trusted)             \
    X(CKA_TRUST_CODE_SIGNING, K(KIND_NSS_TRUST), FROM_ROW, false, nss_not_trusted)                 \
    X(CKA_TRUST_STEP_UP_APPROVED, K(KIND_NSS_TRUST), FROM_ROW, false, no)                          \
    /* CKO_TRUST (PKCS#11 3.2) */                                                                  \
    X(CKA_PKCS_TRUST_SERVER_AUTH, K(KIND_PKCS_TRUST), FROM_ROW, false, pkcs_not_trusted)           \
    X(CKA_PKCS_TRUST_CLIENT_AUTH, K(KIND_PKCS_TRUST), FROM_ROW, false, pkcs_not_trusted)           \
    X(CKA_PKCS_TRUST_EMAIL_PROTECTION, K(KIND_PKCS_TRUST), FROM_ROW, false, pkcs_not_trusted)      \
    X(CKA_PKCS_TRUST_CODE_SIGNING, K(KIND_PKCS_TRUST), FROM_ROW, false, pkcs_not_trusted)          \
    /* p11-kit's and Chromium's certificate object (see above) */                                  \
    X(CKA_TRUSTED, K(KIND_CERTIFICATE), FROM_ROW, false, no)                                       \
    X(CKA_X_DISTRUSTED, K(KIND_CERTIFICATE), FROM_ROW, false, yes)                                 \
    X(CKA_CERTIFICATE_TYPE, K(KIND_CERTIFICATE), FROM_ROW, true, x509)                             \
    X(CKA_VALUE, K(KIND_CERTIFICATE), FROM_CERT, true, none)                                       \
    X(CKA_ID, K(KIND_CERTIFICATE), FROM_CERT_SHA1, true, none)                                     \
    X(CKA_SUBJECT, K(KIND_CERTIFICATE), FROM_SUBJECT, true, none)                                  \
    X(CKA_PUBLIC_KEY_INFO, K(KIND_CERTIFICATE), FROM_SPKI, true, none)                             \
    /* p11-kit's trust assertions */                                                               \
    X(CKA_X_ASSERTION_TYPE, K_ASSERTION, FROM_ROW, false, distrusted_assertion)                    \
    X(CKA_X_PURPOSE, K_ASSERTION, FROM_PURPOSE, false, none)                                       \
    X(CKA_X_CERTIFICATE_VALUE, K_ASSERTION, FROM_CERT, true, none)

#define AS_ROW(type, objects, from, needs_cert, constant)                                          \
    {type, objects, from, needs_cert, &(constant), sizeof(constant)},
#define AS_INDEX(type, objects, from, needs_cert, constant) ROW_##type,
#define AS_CASE(type, objects, from, needs_cert, constant)                                         \
    case type:                                                                                     \
        return &attrs[ROW_##type];

static const attr_row attrs[] = {ATTRIBUTES(AS_ROW)};
enum { ATTRIBUTES(AS_INDEX) };

/* The row of an attribute type (a switch: the compiler's search, not a scan
 * of the rows), NULL when no object has it. */
static const attr_row *
row_of(CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
        ATTRIBUTES(AS_CASE)
    }
    return NULL;
}

/* Does generation ov serve this object of entry e? */
static bool
served(const ng_overlay *ov, const ng_entry *e, int kind)
{
    unsigned mode = MODE(ov->mode);

    if (!e->distrusted && !ov->serve_constraints) /* constraints=ignore */
        return false;
    return (kinds[kind].modes & mode) && (!(kinds[kind].cert_modes & mode) || e->cert.len > 0);
}

/* The objects (K()) of this class that a mode could serve, 0 when none;
 * `event`: a query for them by issuer+serial is a trust query. The same
 * rows as served(). */
static unsigned
class_kinds(ng_mode mode, CK_OBJECT_CLASS cls, bool *event)
{
    unsigned k = 0;

    for (int kind = 0; kind < NG_KINDS_PER_ENTRY; kind++) {
        if (kinds[kind].cls == cls && (kinds[kind].modes & MODE(mode))) {
            k |= K(kind);
            *event = kinds[kind].event;
        }
    }
    return k;
}

typedef struct {
    const void *data;
    CK_ULONG len;
} value;

static value
bytes(ng_bytes b)
{
    return (value){b.data, (CK_ULONG)b.len};
}

static value
text(const char *s)
{
    return (value){s, (CK_ULONG)strlen(s)};
}

static bool
row_value(const attr_row *row, const ng_entry *e, int kind, value *v)
{
    ng_cert_parts parts;

    if (row->needs_cert && !e->cert.len)
        return false;
    switch (row->from) {
    case FROM_ROW:
        *v = (value){row->data, row->len};
        return true;
    case FROM_CLASS:
        *v = (value){&kinds[kind].cls, sizeof(CK_OBJECT_CLASS)};
        return true;
    case FROM_LABEL:
        *v = text(e->label);
        return true;
    case FROM_ISSUER:
        *v = bytes(e->issuer);
        return true;
    case FROM_SERIAL:
        *v = bytes(e->serial_der);
        return true;
    case FROM_REASON:
        *v = text(e->reason);
        return true;
    case FROM_REFERENCE:
        *v = text(e->reference);
        return true;
    case FROM_NAME_CONSTRAINTS:
        *v = bytes(e->name_constraints);
        return e->name_constraints.len > 0;
    case FROM_CERT:
        *v = bytes(e->cert);
        return true;
    case FROM_CERT_SHA1:
        *v = (value){e->sha1, NG_SHA1_LEN};
        return true;
    case FROM_SUBJECT:
    case FROM_SPKI:
        if (!ng_der_cert_parts(e->cert, &parts)) /* checked when the image was made */
            return false;
        *v = bytes(row->from == FROM_SUBJECT ? parts.subject : parts.spki);
        return true;
    case FROM_PURPOSE:
        *v = text(assertion_purpose[kind - KIND_ASSERTION]);
        return true;
    }
    return false;
}

/* The object's value for `type`; false when the object has no such attribute. */
static bool
attribute(const ng_entry *e, int kind, CK_ATTRIBUTE_TYPE type, value *v)
{
    const attr_row *row = row_of(type);

    return row && (row->kinds & K(kind)) && row_value(row, e, kind, v);
}

/* ---- the serial rule ----
 * A caller gives a serial as its DER INTEGER or (NSS, for a temporary
 * certificate) as its bare value bytes. An object whose serial is the DER
 * INTEGER `der` with value `inner` matches bytes equal to either; a lookup
 * by issuer+serial probes for both. probe_of, serial_matches and
 * probe_images are the only place that knows it: every source (the roots,
 * the overlay's files) and every match go through them. */

/* A query's issuer and serial, hashed once for every source. */
typedef struct {
    ng_bytes issuer;
    ng_bytes given; /* the serial as given */
    ng_bytes value; /* the value it encodes, when it is a DER INTEGER */
    bool der;       /* it is one */
    uint64_t h_given, h_value;
} probe;

static void
probe_of(ng_bytes issuer, ng_bytes serial, probe *p)
{
    uint64_t hi = ng_issuer_hash(issuer);

    p->issuer = issuer;
    p->given = serial;
    p->der = ng_der_integer_value(serial, &p->value);
    p->h_given = ng_serial_hash(hi, serial);
    p->h_value = p->der ? ng_serial_hash(hi, p->value) : 0;
}

static bool
same(const void *a, CK_ULONG alen, const void *b, CK_ULONG blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Does an object with this serial (a DER INTEGER and its value) match the
 * bytes a template gives? `inner` is {NULL, 0} when `der` is no DER INTEGER. */
static bool
serial_matches(const CK_ATTRIBUTE *t, ng_bytes der, ng_bytes inner)
{
    return same(t->pValue, t->ulValueLen, der.data, der.len) ||
           (inner.data && same(t->pValue, t->ulValueLen, inner.data, inner.len));
}

typedef long (*image_finder)(const ng_image *, uint64_t, ng_bytes, ng_bytes);

/* The number (first[i] + its number in image i) of the first image's entry
 * for issuer and serial value (hash: ng_entry_hash of them), or -1. */
static long
first_hit(ng_image *const *images, const size_t *first, size_t n, image_finder find, uint64_t hash,
          ng_bytes issuer, ng_bytes serial_value)
{
    for (size_t i = 0; i < n; i++) {
        long j = find(images[i], hash, issuer, serial_value);
        if (j >= 0)
            return (long)first[i] + j;
    }
    return -1;
}

/* hit[0]: the entry whose serial value is the bytes as given; hit[1]: the
 * one whose value they encode as a DER INTEGER (-1 when none, or when they
 * are not one). Bytes that are a DER INTEGER match as given only an entry
 * whose value is one too: image.c lists those apart, so one table probe. */
static void
probe_images(ng_image *const *images, const size_t *first, size_t n, const probe *p, long hit[2])
{
    hit[0] = first_hit(images, first, n, p->der ? ng_image_find_der_like : ng_image_find_hashed,
                       p->h_given, p->issuer, p->given);
    hit[1] =
        p->der ? first_hit(images, first, n, ng_image_find_hashed, p->h_value, p->issuer, p->value)
               : -1;
}

/* ---- handles and entries of a generation ---- */

uint64_t
ng_objects_handle_id(CK_OBJECT_HANDLE handle)
{
    return (uint64_t)handle >> NG_HANDLE_ID_SHIFT;
}

bool
ng_overlay_entry(const ng_overlay *ov, size_t global, ng_entry *e)
{
    size_t lo = 0, hi = ov->n_sources;

    if (global >= ov->n_entries)
        return false;
    while (hi - lo > 1) { /* the last file whose first entry is <= global */
        size_t mid = (lo + hi) / 2;
        if (ov->first[mid] <= global)
            lo = mid;
        else
            hi = mid;
    }
    ng_image_entry(ov->images[lo], global - ov->first[lo], e);
    return true;
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

static const ng_roots *roots_served(void);

bool
ng_objects_valid(const ng_overlay *ov, CK_OBJECT_HANDLE handle)
{
    const ng_roots *roots = roots_served();
    ng_entry e;
    size_t global;
    int kind;

    if (ng_objects_handle_id(handle) == 0) /* mode=builtins: a root record */
        return roots && handle != CK_INVALID_HANDLE && handle <= roots->parsed.n_records;
    return ov && decode_handle(ov, handle, &global, &e, &kind);
}

/* ---- the roots (mode=builtins): served as their certdata.txt wrote them ---- */

/* The roots are ng.roots, loaded by builtins.c at C_Initialize before any
 * query; served once they are `served`. */
static const ng_roots *
roots_served(void)
{
    return ng.roots.served ? &ng.roots : NULL;
}

/* libnssckbi.so serves UTF8 values with their terminating NUL: so do we. */
static size_t
served_len(const ng_attr *a)
{
    return a->len + (a->text ? 1 : 0);
}

/* A trust record that only distrusts: every purpose it has is NOT_TRUSTED. */
static bool
only_distrust(const ng_record *rec)
{
    static const CK_ATTRIBUTE_TYPE purposes[] = {CKA_TRUST_SERVER_AUTH, CKA_TRUST_CLIENT_AUTH,
                                                 CKA_TRUST_EMAIL_PROTECTION,
                                                 CKA_TRUST_CODE_SIGNING};
    CK_ULONG cls, trust;
    size_t n = 0;

    if (!ng_record_ulong(rec, CKA_CLASS, &cls) || cls != CKO_NSS_TRUST)
        return false;
    for (size_t i = 0; i < NG_N_ELEMENTS(purposes); i++) {
        if (!ng_record_get(rec, purposes[i]))
            continue;
        if (!ng_record_ulong(rec, purposes[i], &trust) || trust != CKT_NSS_NOT_TRUSTED)
            return false;
        n++;
    }
    return n > 0;
}

/* The record's attribute as served: a distrust record has no hash (issue
 * 11: a re-encoded copy of the certificate must still match it). */
static const ng_attr *
root_attr(const ng_record *rec, CK_ATTRIBUTE_TYPE type)
{
    if ((type == CKA_CERT_SHA1_HASH || type == CKA_CERT_MD5_HASH) && only_distrust(rec))
        return NULL;
    return ng_record_get(rec, type);
}

static bool
root_matches(const ng_record *rec, const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
    for (CK_ULONG i = 0; i < count; i++) {
        const ng_attr *a = root_attr(rec, tmpl[i].type);
        ng_bytes der, inner;
        if (!a)
            return false;
        der = (ng_bytes){a->value, served_len(a)};
        if (tmpl[i].type == CKA_SERIAL_NUMBER) {
            if (!ng_der_integer_value((ng_bytes){a->value, a->len}, &inner))
                inner = (ng_bytes){NULL, 0};
            if (!serial_matches(&tmpl[i], der, inner))
                return false;
        } else if (!same(tmpl[i].pValue, tmpl[i].ulValueLen, der.data, der.len)) {
            return false;
        }
    }
    return true;
}

/* A root trust record whose certificate the overlay distrusts: not served,
 * so that the only trust object NSS finds for it is the overlay's. An
 * overlay entry this generation does not serve (a constraint entry with
 * constraints=ignore) hides nothing: a root record Mozilla itself distrusts
 * would otherwise vanish with no overlay object in its place. `ov_hit` is
 * the overlay's entry for the record's issuer and serial value when the
 * caller probed for it already (an issuer+serial query: the record was found
 * by the same issuer and value), else NULL. */
static bool
overridden(const ng_overlay *ov, const ng_record *rec, const long *ov_hit)
{
    const ng_attr *issuer = ng_record_get(rec, CKA_ISSUER);
    const ng_attr *serial = ng_record_get(rec, CKA_SERIAL_NUMBER);
    CK_ULONG cls;
    ng_bytes iss, inner;
    ng_entry e;
    long hit;

    if (!ov || !issuer || !serial || !ng_record_ulong(rec, CKA_CLASS, &cls) ||
        cls != CKO_NSS_TRUST ||
        !ng_der_integer_value((ng_bytes){serial->value, serial->len}, &inner))
        return false;
    iss = (ng_bytes){issuer->value, issuer->len};
    hit = ov_hit ? *ov_hit
                 : first_hit(ov->images, ov->first, ov->n_sources, ng_image_find_hashed,
                             ng_entry_hash(iss, inner), iss, inner);
    return hit >= 0 && ng_overlay_entry(ov, (size_t)hit, &e) && served(ov, &e, KIND_NSS_TRUST);
}

static CK_RV
roots_get_attributes(const ng_roots *roots, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE *tmpl,
                     CK_ULONG count)
{
    const ng_record *rec;
    CK_RV rv = CKR_OK;

    if (!roots || handle == CK_INVALID_HANDLE || handle > roots->parsed.n_records)
        return CKR_OBJECT_HANDLE_INVALID;
    rec = &roots->parsed.records[handle - 1];
    for (CK_ULONG i = 0; i < count; i++) {
        const ng_attr *a = root_attr(rec, tmpl[i].type);
        rv = ng_fill_attribute(&tmpl[i], a ? a->value : NULL, a ? served_len(a) : 0, a != NULL, rv);
    }
    return rv;
}

/* ---- the find ---- */

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

/* Pushes root record `number` (handle number+1, generation id 0) if it
 * matches (ov_hit: as overridden's). */
static bool
push_root(ng_find *find, const ng_roots *roots, size_t number, const ng_overlay *ov,
          const long *ov_hit, const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
    const ng_record *rec = &roots->parsed.records[number];

    if (!root_matches(rec, tmpl, count) || overridden(ov, rec, ov_hit))
        return true;
    return push(find, (CK_OBJECT_HANDLE)number + 1);
}

/* ov_hit: the overlay's probe for the same query (probe_images), whose
 * hit[f] is for the same issuer and serial value as the roots' hit[f];
 * NULL when the overlay was not probed. */
static bool
find_roots(ng_find *find, const ng_roots *roots, const probe *p, const ng_overlay *ov,
           const long ov_hit[2], const CK_ATTRIBUTE *tmpl, CK_ULONG count, const CK_ULONG *cls)
{
    static const size_t first = 0;
    /* keyed[k]'s class: a query for one class probes that image alone */
    static const CK_OBJECT_CLASS keyed_class[] = {CKO_CERTIFICATE, CKO_NSS_TRUST};
    _Static_assert(NG_N_ELEMENTS(keyed_class) == NG_N_ELEMENTS(roots->keyed), "keyed images");

    if (!p) {
        for (size_t i = 0; i < roots->parsed.n_records; i++) {
            if (!push_root(find, roots, i, ov, NULL, tmpl, count))
                return false;
        }
        return true;
    }
    for (size_t k = 0; k < NG_N_ELEMENTS(roots->keyed); k++) { /* certificates, then trust */
        long hit[2];
        if (cls && *cls != keyed_class[k])
            continue;
        probe_images(&roots->keyed[k], &first, 1, p, hit);
        for (int f = 0; f < 2; f++) {
            ng_entry e;
            if (hit[f] < 0 || (f == 1 && hit[1] == hit[0]))
                continue;
            ng_image_entry(roots->keyed[k], (size_t)hit[f], &e); /* its line: the record */
            if (!push_root(find, roots, e.line, ov, ov_hit ? &ov_hit[f] : NULL, tmpl, count))
                return false;
        }
    }
    return true;
}

/* Does object `kind` of entry e match the template? `known` is an
 * attribute the caller has compared already (the issuer a probe matched
 * byte for byte), or NULL. */
static bool
matches(const ng_entry *e, int kind, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
        const CK_ATTRIBUTE *known)
{
    value v;

    for (CK_ULONG i = 0; i < count; i++) {
        const CK_ATTRIBUTE *t = &tmpl[i];
        if (t == known)
            continue;
        if (t->type == CKA_SERIAL_NUMBER) {
            if (!serial_matches(t, e->serial_der, e->serial))
                return false;
            continue;
        }
        if (!attribute(e, kind, t->type, &v) || !same(t->pValue, t->ulValueLen, v.data, v.len))
            return false;
    }
    return true;
}

/* What a template asks: its issuer and serial, and whether its class is one
 * the generation serves (then `event`: a trust query). */
typedef struct {
    const CK_ATTRIBUTE *issuer, *serial;
    CK_ULONG cls; /* the class asked for (the last one given), when has_cls */
    bool has_cls, event;
    unsigned kinds; /* the objects (K()) of the class asked for: all when none is */
} query;

/* Pushes the objects of entry `global` that match (q->kinds first: a trust
 * query's class rules out all but one object an entry without a look at
 * the rest of the template). `known`: as matches(). */
static bool
push_matches(ng_find *find, const ng_overlay *ov, size_t global, const query *q,
             const CK_ATTRIBUTE *tmpl, CK_ULONG count, const CK_ATTRIBUTE *known)
{
    ng_entry e;

    if (!ng_overlay_entry(ov, global, &e))
        return true;
    for (int kind = 0; kind < NG_KINDS_PER_ENTRY; kind++) {
        if ((q->kinds & K(kind)) && served(ov, &e, kind) && matches(&e, kind, tmpl, count, known) &&
            !push(find, encode_handle(ov, global, kind)))
            return false;
    }
    return true;
}

static CK_RV
read_template(const ng_overlay *ov, const CK_ATTRIBUTE *tmpl, CK_ULONG count, query *q)
{
    memset(q, 0, sizeof(*q));
    q->kinds = K_ALL;
    for (CK_ULONG i = 0; i < count; i++) {
        if (!tmpl[i].pValue && tmpl[i].ulValueLen)
            return CKR_ARGUMENTS_BAD;
        if (tmpl[i].type == CKA_ISSUER) {
            q->issuer = &tmpl[i];
        } else if (tmpl[i].type == CKA_SERIAL_NUMBER) {
            q->serial = &tmpl[i];
        } else if (tmpl[i].type == CKA_CLASS) {
            CK_OBJECT_CLASS cls;
            q->event = false;
            q->kinds = 0;
            if (tmpl[i].ulValueLen == sizeof(cls)) {
                memcpy(&cls, tmpl[i].pValue, sizeof(cls));
                q->kinds = class_kinds(ov ? ov->mode : NG_MODE_NSS, cls, &q->event);
                q->cls = cls;
                q->has_cls = true;
            }
        }
    }
    return CKR_OK;
}

CK_RV
ng_objects_find(ng_overlay *ov, const CK_ATTRIBUTE *tmpl, CK_ULONG count, ng_find *find)
{
    const ng_roots *roots = roots_served();
    query q;
    probe p;
    long hit[2] = {-1, -1};
    bool keyed, probed = false;
    CK_RV rv;

    memset(find, 0, sizeof(*find));
    find->overlay = ov;
    find->handles = find->inline_handles;
    find->cap = NG_N_ELEMENTS(find->inline_handles);
    rv = read_template(ov, tmpl, count, &q);
    if (rv != CKR_OK)
        return rv;
    keyed = q.issuer && q.serial && q.serial->ulValueLen > 0;
    if (keyed) {
        probe_of((ng_bytes){q.issuer->pValue, q.issuer->ulValueLen},
                 (ng_bytes){q.serial->pValue, q.serial->ulValueLen}, &p);
        /* once: the roots' override check reads it too (a root trust
         * record matches only a class the overlay serves) */
        if ((probed = ov && q.kinds))
            probe_images(ov->images, ov->first, ov->n_sources, &p, hit);
    }
    /* the sources in order: the roots (mode=builtins; every class they
     * hold), then the overlay's files */
    if (roots && !find_roots(find, roots, keyed ? &p : NULL, ov, probed ? hit : NULL, tmpl, count,
                             q.has_cls ? &q.cls : NULL))
        goto oom;
    if (!q.kinds || !ov) /* certificates, root list, CRLs...: none here */
        return CKR_OK;
    if (keyed) {
        find->trust_query = q.event;
        /* the issuer: compared byte for byte by the probe */
        if (hit[0] >= 0 && !push_matches(find, ov, (size_t)hit[0], &q, tmpl, count, q.issuer))
            goto oom;
        if (hit[1] >= 0 && hit[1] != hit[0] &&
            !push_matches(find, ov, (size_t)hit[1], &q, tmpl, count, q.issuer))
            goto oom;
        return CKR_OK;
    }
    for (size_t i = 0; i < ov->n_entries; i++) {
        if (!push_matches(find, ov, i, &q, tmpl, count, NULL))
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
        return roots_get_attributes(roots_served(), handle, tmpl, count);
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
                 "issuer", issuer, "serial", serial, "sha1", sha1, "class", kinds[kind].name,
                 "source", source, "suppressed", suppressed, NULL);
}

/*
 * builtins.c: mode=builtins, a stand-in for NSS's libnssckbi.so. Mozilla's
 * roots are read from a certdata.txt (roots=PATH) and every record of it is
 * served as written: the certificates, their trust objects, the
 * CKO_NSS_BUILTIN_ROOT_LIST object, CKA_NSS_MOZILLA_CA_POLICY and the
 * distrust-after dates. The overlay is served beside them as in the other
 * modes, and a root trust record whose certificate the overlay distrusts is
 * not served at all, so the only trust object NSS finds for it is the
 * overlay's NOT_TRUSTED one.
 *
 * One departure from "as written": a distrust record (a trust object whose
 * purposes are all CKT_NSS_NOT_TRUSTED) is served without its
 * CKA_CERT_SHA1_HASH and CKA_CERT_MD5_HASH. NSS drops a trust record whose
 * hash is not that of the bytes it received, and a re-encoded copy of the
 * distrusted certificate (no key needed) has other bytes; without a hash NSS
 * matches the record by issuer and serial alone (objects.c says the same of
 * the overlay's own objects).
 *
 * The roots are read once, at C_Initialize; the overlay still reloads. Their
 * objects' handles carry generation id 0.
 *
 * With the root-list object NSS ranks this token at trustOrder 100, below
 * the user's database: a user trust record beats the overlay in this mode
 * (README, "Replacing libnssckbi.so").
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static ng_records roots;
static bool loaded;
/* issuer+serial indexes over the certificate and the trust records; an
 * entry's `line` is the record's number */
static ng_entries keyed[2];
static ng_index index_of[2];

enum { KEY_CERTIFICATE, KEY_TRUST };

static bool
key_record(const ng_record *rec, size_t number)
{
    const ng_attr *issuer = ng_record_get(rec, CKA_ISSUER);
    const ng_attr *serial = ng_record_get(rec, CKA_SERIAL_NUMBER);
    CK_ULONG cls;
    ng_entry e;

    if (!issuer || !serial || !ng_record_ulong(rec, CKA_CLASS, &cls) ||
        (cls != CKO_CERTIFICATE && cls != CKO_NSS_TRUST))
        return true;
    memset(&e, 0, sizeof(e));
    e.issuer = (ng_bytes){issuer->value, issuer->len};
    e.serial_der = (ng_bytes){serial->value, serial->len};
    if (!ng_der_integer_value(e.serial_der, &e.serial))
        e.serial = e.serial_der;
    e.hash = ng_entry_hash(e.issuer, e.serial);
    e.line = (unsigned)number;
    return ng_entries_push(&keyed[cls == CKO_CERTIFICATE ? KEY_CERTIFICATE : KEY_TRUST], &e);
}

bool
ng_builtins_load(const char *path, ng_error *err)
{
    ng_builtins_free();
    if (!ng_parse_file(path, &roots, err))
        return false;
    for (size_t i = 0; i < roots.n_records; i++) {
        if (!key_record(&roots.records[i], i))
            goto oom;
    }
    for (int k = 0; k < 2; k++) {
        if (!ng_index_build(&index_of[k], keyed[k].entries, keyed[k].n_entries))
            goto oom;
    }
    loaded = true;
    return true;
oom:
    ng_builtins_free();
    ng_error_set(err, path, 0, "out of memory");
    return false;
}

void
ng_builtins_free(void)
{
    ng_records_clear(&roots);
    for (int k = 0; k < 2; k++) {
        ng_index_clear(&index_of[k]);
        free(keyed[k].entries);
        memset(&keyed[k], 0, sizeof(keyed[k]));
    }
    loaded = false;
}

bool
ng_builtins_loaded(void)
{
    return loaded;
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

/* The record's attribute as served: a distrust record has no hash. */
static const ng_attr *
served_attr(const ng_record *rec, CK_ATTRIBUTE_TYPE type)
{
    if ((type == CKA_CERT_SHA1_HASH || type == CKA_CERT_MD5_HASH) && only_distrust(rec))
        return NULL;
    return ng_record_get(rec, type);
}

static bool
attr_matches(const ng_record *rec, const CK_ATTRIBUTE *t)
{
    const ng_attr *a = served_attr(rec, t->type);
    ng_bytes value;

    if (!a)
        return false;
    if (t->ulValueLen == served_len(a) && memcmp(t->pValue, a->value, served_len(a)) == 0)
        return true;
    /* NSS sends a temporary certificate's serial as its bare value bytes */
    return t->type == CKA_SERIAL_NUMBER &&
           ng_der_integer_value((ng_bytes){a->value, a->len}, &value) &&
           value.len == t->ulValueLen && memcmp(value.data, t->pValue, value.len) == 0;
}

/* A trust record whose certificate the overlay distrusts: not served. */
static bool
overridden(const ng_overlay *ov, const ng_record *rec)
{
    const ng_attr *issuer = ng_record_get(rec, CKA_ISSUER);
    const ng_attr *serial = ng_record_get(rec, CKA_SERIAL_NUMBER);
    CK_ULONG cls;
    ng_bytes value;

    if (!ov || !issuer || !serial || !ng_record_ulong(rec, CKA_CLASS, &cls) ||
        cls != CKO_NSS_TRUST ||
        !ng_der_integer_value((ng_bytes){serial->value, serial->len}, &value))
        return false;
    return ng_overlay_find(ov, (ng_bytes){issuer->value, issuer->len}, value) >= 0;
}

static bool
consider(size_t number, const ng_overlay *ov, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
         bool (*push)(void *, CK_OBJECT_HANDLE), void *ctx)
{
    const ng_record *rec = &roots.records[number];

    for (CK_ULONG i = 0; i < count; i++) {
        if (!attr_matches(rec, &tmpl[i]))
            return true;
    }
    if (overridden(ov, rec))
        return true;
    return push(ctx, (CK_OBJECT_HANDLE)number + 1); /* generation id 0 */
}

bool
ng_builtins_find(const ng_overlay *ov, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
                 bool (*push)(void *, CK_OBJECT_HANDLE), void *ctx)
{
    const CK_ATTRIBUTE *issuer = NULL, *serial = NULL;

    if (!loaded)
        return true;
    for (CK_ULONG i = 0; i < count; i++) {
        if (tmpl[i].type == CKA_ISSUER)
            issuer = &tmpl[i];
        else if (tmpl[i].type == CKA_SERIAL_NUMBER)
            serial = &tmpl[i];
    }
    if (issuer && serial && serial->ulValueLen > 0) { /* the index, both serial forms */
        ng_bytes iss = {issuer->pValue, issuer->ulValueLen};
        ng_bytes forms[2] = {{serial->pValue, serial->ulValueLen}, {NULL, 0}};
        if (!ng_der_integer_value(forms[0], &forms[1]))
            forms[1].len = 0;
        for (int k = 0; k < 2; k++) {
            long last = -1;
            for (int f = 0; f < 2; f++) {
                long j = forms[f].len ? ng_index_find(&index_of[k], keyed[k].entries, iss, forms[f])
                                      : -1;
                if (j >= 0 && j != last &&
                    !consider(keyed[k].entries[j].line, ov, tmpl, count, push, ctx))
                    return false;
                last = j;
            }
        }
        return true;
    }
    for (size_t i = 0; i < roots.n_records; i++) {
        if (!consider(i, ov, tmpl, count, push, ctx))
            return false;
    }
    return true;
}

CK_RV
ng_builtins_get_attributes(CK_OBJECT_HANDLE handle, CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
    const ng_record *rec;
    CK_RV rv = CKR_OK;

    if (!loaded || handle == CK_INVALID_HANDLE || handle > roots.n_records)
        return CKR_OBJECT_HANDLE_INVALID;
    rec = &roots.records[handle - 1];
    for (CK_ULONG i = 0; i < count; i++) {
        const ng_attr *a = served_attr(rec, tmpl[i].type);
        rv = ng_fill_attribute(&tmpl[i], a ? a->value : NULL, a ? served_len(a) : 0, a != NULL, rv);
    }
    return rv;
}

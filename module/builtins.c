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
 * This file only loads them: the roots are read once, at C_Initialize (the
 * overlay still reloads), and their certificate and trust records keyed by
 * issuer+serial into two images (image.c), the same probe as an overlay
 * file's. Serving them is the lookup's (objects.c): they are one more
 * source behind it, their handles carrying generation id 0.
 *
 * With the root-list object NSS ranks this token at trustOrder 100, below
 * the user's database: a user trust record beats the overlay in this mode
 * (README, "Replacing libnssckbi.so").
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The roots are ng.roots (internal.h): objects.c serves them once `served`. */

/* Adds a certificate or trust record to its image's entries: the entry's
 * `line` is the record's number. */
static bool
key_record(ng_entries keyed[2], const ng_record *rec, size_t number)
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
    e.label = e.reason = e.reference = e.file = "";
    e.line = (unsigned)number;
    return ng_entries_push(&keyed[cls == CKO_CERTIFICATE ? 0 : 1], &e);
}

bool
ng_builtins_load(const char *path, ng_error *err)
{
    ng_entries keyed[2];
    ng_error ignored;
    bool ok = true;

    ng_builtins_free();
    if (!ng_parse_file(path, &ng.roots.parsed, err))
        return false;
    memset(keyed, 0, sizeof(keyed));
    for (size_t i = 0; ok && i < ng.roots.parsed.n_records; i++)
        ok = key_record(keyed, &ng.roots.parsed.records[i], i);
    for (size_t k = 0; ok && k < 2; k++)
        ok = (ng.roots.keyed[k] = ng_image_build(&keyed[k], 0, 0, &ignored)) != NULL;
    for (size_t k = 0; k < 2; k++)
        free(keyed[k].entries);
    if (!ok) {
        ng_builtins_free();
        ng_error_set(err, path, 0, "out of memory");
        return false;
    }
    ng.roots.served = true;
    return true;
}

void
ng_builtins_free(void)
{
    ng.roots.served = false;
    for (size_t k = 0; k < 2; k++)
        ng_image_free(ng.roots.keyed[k]);
    ng_records_clear(&ng.roots.parsed);
    memset(&ng.roots, 0, sizeof(ng.roots));
}

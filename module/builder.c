/*
 * builder.c: one file's records -> distrust entries.
 *
 * A distrust entry comes from a CKO_NSS_TRUST record that marks at least one
 * purpose CKT_NSS_NOT_TRUSTED and none with positive trust; a constraint
 * entry from one with CKA_NSSGUARD_NAME_CONSTRAINTS and no trust either way.
 * Everything else (Mozilla's roots, the root-list object, neutral records) is
 * counted as skipped: overlay mode serves distrust only.
 *
 * A key entry (issue 13) is a distrust record with CKA_SUBJECT and
 * CKA_NSSGUARD_SPKI_SHA256 and neither CKA_ISSUER nor CKA_SERIAL_NUMBER: it
 * distrusts every certificate of that subject and key. NSS asks by issuer and
 * serial only, so the module serves nothing for it and counts it (`keys` in
 * the load event); `nssguard expand` turns it into issuer+serial entries. Its
 * reason must be mitm or compromised: a revoked or mis-issued certificate's
 * key is shared by legitimate re-issues (291 in the CCADB share subject and
 * key with a OneCRL certificate).
 *
 * A certificate object with the same issuer and serial supplies the SHA-1
 * that is served and the DER that p11-kit mode serves as a certificate; a CKA_CERT_SHA1_HASH that
 * does not match it refuses the file (NSS drops a trust record whose hash does not match, which
 * would silently lose the distrust). A hash without a certificate cannot be checked and is not
 * served: without a hash NSS applies an all-distrust record to the issuer+serial, which is what the
 * entry asks for.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const reasons[] = {NSSGUARD_REASONS};

static const CK_ATTRIBUTE_TYPE purposes[] = {
    CKA_TRUST_SERVER_AUTH,
    CKA_TRUST_CLIENT_AUTH,
    CKA_TRUST_EMAIL_PROTECTION,
    CKA_TRUST_CODE_SIGNING,
};

bool
ng_entries_push(ng_entries *ents, const ng_entry *e)
{
    if (ents->n_entries == ents->cap) {
        size_t cap = ents->cap ? ents->cap * 2 : 64;
        ng_entry *ne = realloc(ents->entries, cap * sizeof(*ne));
        if (!ne)
            return false;
        ents->entries = ne;
        ents->cap = cap;
    }
    ents->entries[ents->n_entries++] = *e;
    return true;
}

static const char *
keep_string(ng_entries *ents, char *s)
{
    char **ns;

    if (!s)
        return NULL;
    ns = realloc(ents->strings, (ents->n_strings + 1) * sizeof(*ns));
    if (!ns) {
        free(s);
        return NULL;
    }
    ents->strings = ns;
    ents->strings[ents->n_strings++] = s;
    return s;
}

/* "Bug 724929" in Mozilla's comment block -> a Bugzilla link. */
static char *
reference_from_comment(const char *comment)
{
    const char *p = comment ? strstr(comment, "Bug ") : NULL;
    char *url;
    unsigned long bug;

    if (!p || sscanf(p, "Bug %lu", &bug) != 1)
        return strdup("");
    if (asprintf(&url, "https://bugzilla.mozilla.org/show_bug.cgi?id=%lu", bug) < 0)
        return NULL;
    return url;
}

static ng_bytes
attr_bytes(const ng_attr *a)
{
    return a ? (ng_bytes){a->value, a->len} : (ng_bytes){NULL, 0};
}

static bool
same_bytes(ng_bytes a, ng_bytes b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

/* Certificates of the file, indexed by issuer+serial; entry.line is the record. */
typedef struct {
    ng_entries certs;
    ng_index index;
    const ng_record **records;
} cert_map;

static bool
add_certificate(cert_map *map, const ng_records *recs, const ng_record *rec, ng_error *err)
{
    const ng_attr *value = ng_record_get(rec, CKA_VALUE);
    const ng_attr *issuer_attr = ng_record_get(rec, CKA_ISSUER);
    const ng_attr *serial_attr = ng_record_get(rec, CKA_SERIAL_NUMBER);
    ng_entry e;

    memset(&e, 0, sizeof(e));
    if (!value) {
        ng_error_set(err, recs->file, rec->line, "certificate object without CKA_VALUE");
        return false;
    }
    if (!ng_der_cert_issuer_serial(attr_bytes(value), &e.issuer, &e.serial_der) ||
        !ng_der_integer_value(e.serial_der, &e.serial)) {
        ng_error_set(err, recs->file, value->line, "CKA_VALUE is not a DER X.509 certificate");
        return false;
    }
    if (issuer_attr && !same_bytes(attr_bytes(issuer_attr), e.issuer)) {
        ng_error_set(err, recs->file, issuer_attr->line,
                     "CKA_ISSUER differs from the issuer in CKA_VALUE");
        return false;
    }
    if (serial_attr && !same_bytes(attr_bytes(serial_attr), e.serial_der)) {
        ng_error_set(err, recs->file, serial_attr->line,
                     "CKA_SERIAL_NUMBER differs from the serial in CKA_VALUE");
        return false;
    }
    e.cert = attr_bytes(value);
    e.hash = ng_entry_hash(e.issuer, e.serial);
    ng_sha1(value->value, value->len, e.sha1);
    e.has_sha1 = true;
    e.line = rec->line;
    e.label =
        (const char *)(ng_record_get(rec, CKA_LABEL) ? ng_record_get(rec, CKA_LABEL)->value : NULL);
    if (!ng_entries_push(&map->certs, &e)) {
        ng_error_set(err, recs->file, rec->line, "out of memory");
        return false;
    }
    return true;
}

/* ---- the attributes of schema.h: one check each ---- */

static bool
check_name_constraints(const ng_entry *e, ng_bytes value, const char **why)
{
    (void)e;
    *why = "is not a DER NameConstraints";
    return ng_der_is_sequence(value);
}

/* 32 bytes, and the certificate's own key hash when the file holds it. */
static bool
check_spki_sha256(const ng_entry *e, ng_bytes value, const char **why)
{
    ng_cert_parts parts;
    unsigned char sha256[NG_SHA256_LEN];

    *why = "is not a SHA-256 (32 bytes)";
    if (value.len != NG_SHA256_LEN)
        return false;
    if (!e->cert.len)
        return true;
    *why = "does not match the certificate's SubjectPublicKeyInfo";
    if (!ng_der_cert_parts(e->cert, &parts))
        return false;
    ng_sha256(parts.spki.data, parts.spki.len, sha256);
    return memcmp(sha256, value.data, NG_SHA256_LEN) == 0;
}

/* Reads and checks every schema.h attribute the record carries into e
 * (which has its certificate by now, when the file holds one). */
static bool
schema_attrs(ng_entry *e, const ng_records *recs, const ng_record *rec, ng_error *err)
{
    const ng_attr *a;
    const char *why = "";

#define SCHEMA_READ(field, cka, name, check, listed)                                               \
    if ((a = ng_record_get(rec, cka))) {                                                           \
        e->field = attr_bytes(a);                                                                  \
        if (!check(e, e->field, &why)) {                                                           \
            ng_error_set(err, recs->file, a->line, "%s %s", name, why);                            \
            return false;                                                                          \
        }                                                                                          \
    }
    NG_ENTRY_ATTRS(SCHEMA_READ)
#undef SCHEMA_READ
    return true;
}

typedef enum { RECORD_DISTRUST, RECORD_CONSTRAINT, RECORD_SKIP } record_kind;

static record_kind
classify(const ng_record *rec)
{
    bool distrust = false, positive = false;
    CK_ULONG t;

    for (size_t i = 0; i < NG_N_ELEMENTS(purposes); i++) {
        if (!ng_record_ulong(rec, purposes[i], &t))
            continue;
        if (t == CKT_NSS_NOT_TRUSTED)
            distrust = true;
        else if (t == CKT_NSS_TRUSTED || t == CKT_NSS_TRUSTED_DELEGATOR ||
                 t == CKT_NSS_VALID_DELEGATOR)
            positive = true;
    }
    const ng_attr *step_up = ng_record_get(rec, CKA_TRUST_STEP_UP_APPROVED);
    if (step_up && step_up->len == 1 && step_up->value[0])
        positive = true;
    if (positive)
        return RECORD_SKIP;
    if (distrust)
        return RECORD_DISTRUST;
    return ng_record_get(rec, CKA_NSSGUARD_NAME_CONSTRAINTS) ? RECORD_CONSTRAINT : RECORD_SKIP;
}

/* 1 when rec is a key entry (filled into *k), 0 when it is not one, -1 when
 * it tries to be one and is malformed (err set). */
int
ng_key_entry_read(const ng_records *recs, const ng_record *rec, ng_key_entry *k, ng_error *err)
{
    const ng_attr *subject = ng_record_get(rec, CKA_SUBJECT);
    const ng_attr *spki = ng_record_get(rec, CKA_NSSGUARD_SPKI_SHA256);
    const ng_attr *reason = ng_record_get(rec, CKA_NSSGUARD_REASON);
    const ng_attr *label = ng_record_get(rec, CKA_LABEL);
    const ng_attr *ref = ng_record_get(rec, CKA_NSSGUARD_REFERENCE);
    CK_ULONG cls;

    if (!ng_record_ulong(rec, CKA_CLASS, &cls) || cls != CKO_NSS_TRUST ||
        ng_record_get(rec, CKA_ISSUER) || ng_record_get(rec, CKA_SERIAL_NUMBER) ||
        (!subject && !spki))
        return 0;
    memset(k, 0, sizeof(*k));
    if (!subject || !spki) {
        ng_error_set(err, recs->file, rec->line, "key entry without %s",
                     subject ? "CKA_NSSGUARD_SPKI_SHA256" : "CKA_SUBJECT");
        return -1;
    }
    if (classify(rec) != RECORD_DISTRUST) {
        ng_error_set(err, recs->file, rec->line,
                     "key entry that distrusts nothing (or grants trust)");
        return -1;
    }
    k->subject = attr_bytes(subject);
    k->spki_sha256 = attr_bytes(spki);
    if (!ng_der_is_sequence(k->subject)) {
        ng_error_set(err, recs->file, subject->line, "CKA_SUBJECT is not a DER Name");
        return -1;
    }
    if (k->spki_sha256.len != NG_SHA256_LEN) {
        ng_error_set(err, recs->file, spki->line,
                     "CKA_NSSGUARD_SPKI_SHA256 is not a SHA-256 "
                     "(32 bytes)");
        return -1;
    }
    k->reason = reason ? (const char *)reason->value : "";
    if (strcmp(k->reason, "mitm") != 0 && strcmp(k->reason, "compromised") != 0) {
        ng_error_set(err, recs->file, reason ? reason->line : rec->line,
                     "a key entry's reason is mitm or compromised, not '%.40s' (a revoked or "
                     "mis-issued certificate's key is shared by legitimate re-issues: name "
                     "the certificate by issuer and serial)",
                     reason ? k->reason : "(none)");
        return -1;
    }
    k->label = label ? (const char *)label->value : "";
    k->reference = ref ? (const char *)ref->value : "";
    k->line = rec->line;
    return 1;
}

static bool
add_entry(ng_entries *out, const cert_map *map, const ng_records *recs, const ng_record *rec,
          bool distrusted, ng_error *err)
{
    const ng_attr *issuer = ng_record_get(rec, CKA_ISSUER);
    const ng_attr *serial = ng_record_get(rec, CKA_SERIAL_NUMBER);
    const ng_attr *hash = ng_record_get(rec, CKA_CERT_SHA1_HASH);
    const ng_attr *label = ng_record_get(rec, CKA_LABEL);
    const ng_attr *reason = ng_record_get(rec, CKA_NSSGUARD_REASON);
    const ng_attr *ref = ng_record_get(rec, CKA_NSSGUARD_REFERENCE);
    ng_entry e;
    long cert;

    memset(&e, 0, sizeof(e));
    e.distrusted = distrusted;
    if (!issuer || !serial) {
        ng_error_set(err, recs->file, rec->line, "trust object without %s",
                     issuer ? "CKA_SERIAL_NUMBER" : "CKA_ISSUER");
        return false;
    }
    e.issuer = attr_bytes(issuer);
    e.serial_der = attr_bytes(serial);
    if (!ng_der_is_sequence(e.issuer)) {
        ng_error_set(err, recs->file, issuer->line, "CKA_ISSUER is not a DER Name");
        return false;
    }
    if (!ng_der_integer_value(e.serial_der, &e.serial)) {
        ng_error_set(err, recs->file, serial->line, "CKA_SERIAL_NUMBER is not a DER INTEGER");
        return false;
    }
    e.hash = ng_entry_hash(e.issuer, e.serial);
    if (hash && hash->len != NG_SHA1_LEN) {
        ng_error_set(err, recs->file, hash->line, "CKA_CERT_SHA1_HASH is %zu bytes, not 20",
                     hash->len);
        return false;
    }
    cert = ng_index_find(&map->index, map->certs.entries, e.issuer, e.serial);
    if (cert >= 0) {
        const ng_entry *c = &map->certs.entries[cert];
        if (hash && memcmp(hash->value, c->sha1, NG_SHA1_LEN) != 0) {
            ng_error_set(err, recs->file, hash->line,
                         "CKA_CERT_SHA1_HASH does not match the certificate at line %u "
                         "(NSS would ignore this record)",
                         c->line);
            return false;
        }
        memcpy(e.sha1, c->sha1, NG_SHA1_LEN);
        e.has_sha1 = true;
        e.cert = c->cert;
        if (!label)
            e.label = c->label;
    }
    if (!schema_attrs(&e, recs, rec, err))
        return false;
    if (label)
        e.label = (const char *)label->value;
    if (!e.label)
        e.label = "";
    if (reason) {
        for (size_t i = 0; i < NG_N_ELEMENTS(reasons) && !e.reason; i++) {
            if (strcmp((const char *)reason->value, reasons[i]) == 0)
                e.reason = reasons[i];
        }
        if (!e.reason) {
            ng_error_set(err, recs->file, reason->line,
                         "unknown reason '%.40s' (mitm, revoked, compromised, misissued, "
                         "distrusted)",
                         (const char *)reason->value);
            return false;
        }
    } else {
        e.reason = "distrusted";
    }
    if (ref)
        e.reference = (const char *)ref->value;
    else
        e.reference = keep_string(out, reference_from_comment(rec->comment));
    e.file = recs->file;
    e.line = rec->line;
    if (!e.reference || !ng_entries_push(out, &e)) {
        ng_error_set(err, recs->file, rec->line, "out of memory");
        return false;
    }
    return true;
}

bool
ng_build_entries(const ng_records *recs, ng_entries *out, ng_error *err)
{
    size_t first = out->n_entries, first_string = out->n_strings, skipped = 0, keys = 0;
    cert_map map;
    CK_ULONG cls;
    bool ok = false;

    memset(&map, 0, sizeof(map));
    for (size_t i = 0; i < recs->n_records; i++) {
        const ng_record *rec = &recs->records[i];
        if (ng_record_ulong(rec, CKA_CLASS, &cls) && cls == CKO_CERTIFICATE &&
            !add_certificate(&map, recs, rec, err))
            goto out;
    }
    if (!ng_index_build(&map.index, map.certs.entries, map.certs.n_entries)) {
        ng_error_set(err, recs->file, 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < recs->n_records; i++) {
        const ng_record *rec = &recs->records[i];
        if (!ng_record_ulong(rec, CKA_CLASS, &cls) || cls == CKO_CERTIFICATE)
            continue;
        ng_key_entry key;
        int is_key = ng_key_entry_read(recs, rec, &key, err);
        if (is_key < 0)
            goto out;
        if (is_key) { /* served by its expansion, not by the module */
            keys++;
            continue;
        }
        record_kind kind = cls == CKO_NSS_TRUST ? classify(rec) : RECORD_SKIP;
        if (kind == RECORD_SKIP) {
            skipped++;
            continue;
        }
        if (!add_entry(out, &map, recs, rec, kind == RECORD_DISTRUST, err))
            goto out;
    }
    out->skipped += skipped;
    out->keys += keys;
    ok = true;
out:
    if (!ok) { /* all or nothing: forget what this file added */
        out->n_entries = first;
        while (out->n_strings > first_string)
            free(out->strings[--out->n_strings]);
    }
    ng_index_clear(&map.index);
    free(map.certs.entries);
    return ok;
}

void
ng_entries_clear(ng_entries *ents)
{
    for (size_t i = 0; i < ents->n_strings; i++)
        free(ents->strings[i]);
    free(ents->strings);
    free(ents->entries);
    memset(ents, 0, sizeof(ents[0]));
}

/*
 * schema.h: the attributes an entry may carry beyond its issuer, serial,
 * certificate and trust, listed once. Each row
 *
 *   X(field, CKA, "CKA name", check, listed)
 *
 * makes an overlay attribute (an octal value, parser.c), a field of
 * ng_entry (ng_bytes, len 0 when absent; internal.h), an (offset, length)
 * pair of the compiled image's record (image.c, which refuses images
 * compiled with another list), a field of the tool's tool_entry that
 * tool_write_entry writes back (tools/tool.h), and, when `listed`, a line
 * of `nssguard list` and a key of its JSON. `check` is a builder.c function
 * bool check(const ng_entry *e, ng_bytes value, const char **why) that
 * refuses a bad value; it sees the entry with its certificate (e->cert)
 * when the file holds one. None of these is ever served to NSS as a new
 * attribute: objects.c decides what an object carries.
 *
 * Adding an attribute: a row here, its check in builder.c, a test.
 */
#ifndef NSSGUARD_SCHEMA_H
#define NSSGUARD_SCHEMA_H

#include "nssguard.h"

/* OCTAL: the SHA-256 of the distrusted certificate's SubjectPublicKeyInfo
 * (issue 13, distrust by key; OneCRL's pubKeyHash). */
#define CKA_NSSGUARD_SPKI_SHA256 (CKA_NSSGUARD_BASE + 4)

#define NG_ENTRY_ATTRS(X)                                                                          \
    X(name_constraints, CKA_NSSGUARD_NAME_CONSTRAINTS, "CKA_NSSGUARD_NAME_CONSTRAINTS",            \
      check_name_constraints, false)                                                               \
    X(spki_sha256, CKA_NSSGUARD_SPKI_SHA256, "CKA_NSSGUARD_SPKI_SHA256", check_spki_sha256, true)

/* An ng_bytes field of a struct, one per row. */
#define NG_ENTRY_ATTR_FIELD(field, cka, name, check, listed) ng_bytes field;
/* The names, in order: an image records a hash of them. */
#define NG_ENTRY_ATTR_NAME(field, cka, name, check, listed) name ","
#define NG_ENTRY_ATTR_NAMES NG_ENTRY_ATTRS(NG_ENTRY_ATTR_NAME)
#define NG_ENTRY_ATTR_ONE(field, cka, name, check, listed) +1
#define NG_N_ENTRY_ATTRS (0 NG_ENTRY_ATTRS(NG_ENTRY_ATTR_ONE))

#endif /* NSSGUARD_SCHEMA_H */

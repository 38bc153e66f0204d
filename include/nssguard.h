/*
 * nssguard: public definitions shared by the module, the tool and overlay authors.
 *
 * Overlay files use Mozilla's certdata.txt syntax. nssguard adds two vendor
 * attributes to a trust object; they are served back by the module so that
 * any PKCS#11 client can read why an entry is distrusted.
 */
#ifndef NSSGUARD_H
#define NSSGUARD_H

#include <pkcs11t.h>

/* Vendor attributes: CKA_VENDOR_DEFINED | "NSG" (0x4e5347) << 8 | n. */
#define CKA_NSSGUARD_BASE (CKA_VENDOR_DEFINED | 0x4E534700UL)
/* UTF8: why the entry exists, one of NSSGUARD_REASONS. */
#define CKA_NSSGUARD_REASON (CKA_NSSGUARD_BASE + 1)
/* UTF8: where the decision is documented (a bug, an advisory, a ticket). */
#define CKA_NSSGUARD_REFERENCE (CKA_NSSGUARD_BASE + 2)
/* MULTILINE_OCTAL: a DER NameConstraints (the extension's value). On a trust
 * record without distrust it makes a constraint entry: "this CA may only
 * issue for these names". NSS cannot apply constraints from a module, so the
 * module serves such an entry as distrust (constraints=distrust, default) or
 * not at all (constraints=ignore); nssguard verify applies them. */
#define CKA_NSSGUARD_NAME_CONSTRAINTS (CKA_NSSGUARD_BASE + 3)

/* The reasons an overlay entry may give, in the order the tool lists them.
 * "distrusted" is what Mozilla's own records get when imported as they are. */
#define NSSGUARD_REASONS "mitm", "revoked", "compromised", "misissued", "distrusted"

/* PKCS#11 3.2 trust objects (NSS >= 3.114 asks for these before CKO_NSS_TRUST).
 * Older NSS headers lack them; the values are the specification's. */
#ifndef CKO_TRUST
#define CKO_TRUST 0x0000000bUL
#endif
#ifndef CKA_NAME_HASH_ALGORITHM
#define CKA_NAME_HASH_ALGORITHM 0x0000008cUL
#endif
#ifndef CKA_PKCS_TRUST_SERVER_AUTH
#define CKA_PKCS_TRUST_SERVER_AUTH 0x0000062cUL
#define CKA_PKCS_TRUST_CLIENT_AUTH 0x0000062dUL
#define CKA_PKCS_TRUST_CODE_SIGNING 0x0000062eUL
#define CKA_PKCS_TRUST_EMAIL_PROTECTION 0x0000062fUL
#endif
#ifndef CKA_HASH_OF_CERTIFICATE
#define CKA_HASH_OF_CERTIFICATE 0x00000635UL
#endif
#ifndef CKT_NOT_TRUSTED
#define CKT_NOT_TRUSTED 0x00000003UL
#endif

#endif /* NSSGUARD_H */

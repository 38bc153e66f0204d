/*
 * corpus.h: certificates from any corpus (issue 13, item 1).
 *
 * One reader that every command taking certificates uses (add, audit,
 * import-onecrl --certs, check --certs, key expansion). A corpus is loaded
 * from one or more SPECs, each one of:
 *
 *   sql:DIR       the certificates of an NSS database, opened read-only
 *                 beside whatever NSS already has (SECMOD_OpenUserDB), so
 *                 several databases can be read in one run
 *   DIR           a directory, recursively (at most 16 levels, symbolic
 *                 links to directories not followed): its *.pem, *.crt,
 *                 *.cer, *.der files and its *.csv and *.csv.xz files, in
 *                 name order; DER that is not a certificate (keys, requests)
 *                 is skipped with a warning
 *   FILE.csv      CCADB's AllCertificatePEMsCSVFormat: the header line
 *                 "SHA-256 Fingerprint,X.509 Certificate (PEM)" (repeated
 *                 anywhere, as in the per-year files concatenated), then one
 *                 record per certificate, the PEM field quoted and spanning
 *                 lines; each certificate's SHA-256 must match its first field
 *   FILE.csv.xz   the same, decompressed through `xz -dc` (no library)
 *   FILE          a DER certificate or a PEM bundle (one or many); a file
 *                 that starts with the CCADB header is read as CSV
 *
 * Every input is bounded: TOOL_INPUT_MAX (64 MiB) per file, and per
 * decompressed .xz stream. Byte-identical certificates are kept once (the
 * first origin is the certificate's; n_duplicates counts the others, and
 * tool_corpus_next_copy says where each was read).
 *
 * NSS must be initialised first (tool_nss_init(NULL) is enough, also for
 * sql:DIR specs): the SHA-256 of each SPKI is computed with NSS.
 */
#ifndef NSSGUARD_CORPUS_H
#define NSSGUARD_CORPUS_H

#include "tool.h"

typedef struct {
    ng_bytes der;        /* the certificate (owned by the corpus) */
    ng_bytes issuer;     /* full DER Name TLV, inside der */
    ng_bytes serial_der; /* full DER INTEGER TLV, inside der */
    ng_bytes subject;    /* full DER Name TLV, inside der */
    ng_bytes spki;       /* SubjectPublicKeyInfo TLV, inside der */
    unsigned char spki_sha256[32];
    const char *origin; /* "FILE", "FILE#3", "FILE.csv:LINE", "sql:DIR NICKNAME" */
} tool_corpus_cert;

/* A byte-identical copy left out: certs[of] was read first. */
typedef struct {
    size_t of;
    char *origin;
} tool_corpus_copy;

typedef struct {
    tool_corpus_cert *certs; /* in the order read; index i is stable */
    size_t n, cap;
    size_t n_duplicates;        /* byte-identical certificates left out */
    tool_corpus_copy *copies;   /* n_duplicates of them, in the order read */
    tool_hmap by_issuer_serial; /* value i: certs[i] */
    tool_hmap by_subject_key;   /* value i: certs[i] */
    tool_hmap by_der;           /* value i: certs[i] */
} tool_corpus;

/* Appends the certificates of one SPEC (see above). Zero-initialise the
 * corpus before the first call. On failure *why is set (a static string or
 * one kept in the corpus' lifetime) and nothing of that SPEC is kept;
 * where a message names a line or a file inside SPEC, it was printed. */
bool tool_corpus_load(tool_corpus *c, const char *spec, const char **why);
/* tool_corpus_load for each SPEC; prints "SPEC: why" and stops at the first
 * failure. */
bool tool_corpus_load_all(tool_corpus *c, char *const *specs, size_t n_specs);
/* Appends one DER certificate (copied); false when it does not decode. A
 * byte-identical duplicate is counted and returns true. */
bool tool_corpus_add(tool_corpus *c, const unsigned char *der, size_t len, const char *origin);
void tool_corpus_clear(tool_corpus *c);

/* The certificate with this issuer (DER Name) and serial (DER INTEGER TLV),
 * byte for byte as NSS compares them; the first one read, or NULL. */
const tool_corpus_cert *tool_corpus_find_issuer_serial(const tool_corpus *c, ng_bytes issuer,
                                                       ng_bytes serial_der);
/* The certificates with this SHA-256 of their SPKI and this subject (DER
 * Name; equal bytes or equal under RFC 5280, since a cross-signing CA may
 * re-encode it), one per call: *cursor SIZE_MAX to start; NULL after the
 * last. */
const tool_corpus_cert *tool_corpus_next_subject_key(const tool_corpus *c, ng_bytes subject,
                                                     const unsigned char spki_sha256[32],
                                                     size_t *cursor);

/* Where the corpus read byte-identical copies of cc (left out), one origin
 * per call: *cursor 0 to start; NULL after the last. */
const char *tool_corpus_next_copy(const tool_corpus *c, const tool_corpus_cert *cc, size_t *cursor);

/* True when SPEC names a CSV file (.csv, .csv.xz). */
bool tool_corpus_is_csv(const char *spec);

#endif /* NSSGUARD_CORPUS_H */

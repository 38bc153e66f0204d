/*
 * tool.h: what the nssguard subcommands share.
 *
 * Each subcommand lives in its own tools/cmd-*.c and is one row of the table
 * in tools/nssguard.c. Overlays are read with the module's own parser and
 * builder (module/internal.h), so the tool sees exactly what the module
 * serves; NSS does the certificate work (decoding, hashing, verification).
 *
 * Exit statuses, common to every subcommand:
 *   0  done, nothing to report
 *   1  findings (check), matches (explain), a rejected chain (verify),
 *      records not converted (import-onecrl), unconstrained CAs (audit)
 *   2  usage error or unreadable input
 */
#ifndef NSSGUARD_TOOL_H
#define NSSGUARD_TOOL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <cert.h>

#include "internal.h"

#define TOOL_EXIT_OK 0
#define TOOL_EXIT_FOUND 1
#define TOOL_EXIT_ERROR 2

/* ---- the subcommand table (nssguard.c) ---- */

typedef int (*tool_cmd_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    tool_cmd_fn run;
    const char *summary;
} tool_command;

int tool_cmd_add(int argc, char **argv);
int tool_cmd_import_mozilla(int argc, char **argv);
int tool_cmd_import_onecrl(int argc, char **argv);
/* issue 13 item 4: tools/cmd-import-crl.c */
int tool_cmd_import_crl(int argc, char **argv);
int tool_cmd_check(int argc, char **argv);
int tool_cmd_list(int argc, char **argv);
int tool_cmd_explain(int argc, char **argv);
int tool_cmd_verify(int argc, char **argv);
int tool_cmd_audit(int argc, char **argv);
int tool_cmd_compile(int argc, char **argv);
int tool_cmd_expand(int argc, char **argv); /* issue 13: distrust by key */
/* issue 15: tools/cmd-enable.c, cmd-status.c, cmd-watch.c */
int tool_cmd_enable(int argc, char **argv);
int tool_cmd_disable(int argc, char **argv);
int tool_cmd_status(int argc, char **argv);
int tool_cmd_watch(int argc, char **argv);

typedef struct tool_overlay tool_overlay;

/* ---- cli.c: the skeleton every subcommand's main uses ---- */

#define TOOL_OPT_JSON 0x1u              /* --json */
#define TOOL_OPT_OVERLAY 0x2u           /* --overlay FILE|DIR, repeatable */
#define TOOL_OPT_ARGS_ARE_OVERLAYS 0x4u /* operands are overlays too (list) */
#define TOOL_OPT_NO_OPERAND 0x8u        /* operands: none */
#define TOOL_OPT_ONE_OPERAND 0x10u      /* ... exactly one */
#define TOOL_OPT_SOME_OPERANDS 0x20u    /* ... one or more */
#define TOOL_OPT_REMADE 0x40u           /* -o FILE is made anew: --shrink (tool_write_remade) */

/* A subcommand's own option: returns -1 to go on, or the exit status. */
typedef int (*tool_option_fn)(void *ctx, int opt, char *arg);

typedef struct {
    const char *name;             /* the subcommand, for messages */
    void (*usage)(FILE *fp);      /* --help on stdout, a bad option on stderr */
    unsigned flags;               /* TOOL_OPT_* */
    const struct option *options; /* the subcommand's own, {NULL} ended, or NULL */
    const char *shortopts;        /* ... and short ones ("o:"), or NULL */
    tool_option_fn option;        /* called for each of them */
    void *ctx;                    /* passed to option */
    const char *operand_error;    /* said (then usage) when a TOOL_OPT_*_OPERAND* count is
                                     not met; NULL: usage alone */
    bool json;                    /* --json was given */
    bool shrink;                  /* --shrink was given (TOOL_OPT_REMADE) */
    char **overlays;              /* --overlay arguments (borrowed strings) */
    size_t n_overlays;
} tool_common;

/* Parses argv (getopt_long, optind left at the first operand) and checks the
 * operand count the flags ask for. Returns true to go on, *rc then
 * TOOL_EXIT_ERROR (the status until the subcommand succeeds); false to
 * return *rc at once (0 after --help). */
bool tool_parse_args(tool_common *c, int argc, char **argv, int *rc);
/* tool_overlay_load on the --overlay arguments (none: the configuration). */
bool tool_common_load(tool_common *c, tool_overlay *ov);
void tool_common_clear(tool_common *c);

/* Appends a borrowed string (an argv element) to a growing list. */
bool tool_strv_push(char ***v, size_t *n, char *s);

/* "nssguard: message" on stderr: a user message, never an event. */
void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The reasons `add` accepts (NSSGUARD_REASONS without "distrusted", which
 * only describes Mozilla records imported as they are). */
bool tool_valid_reason(const char *reason);

/* ---- files and certificates ---- */

/* The most the tool reads from one input file or standard input (certificates,
 * OneCRL JSON, certdata.txt, headers): 64 MiB. Overlays are read by the
 * module's parser, whose own limit is 512 MiB. */
#define TOOL_INPUT_MAX ((size_t)64 << 20)
#define TOOL_INPUT_MAX_TEXT "64 MiB"

/* Reads a whole file (NUL-terminated for convenience), at most
 * TOOL_INPUT_MAX bytes. On failure *why is set. */
bool tool_read_file(const char *path, unsigned char **data, size_t *len, const char **why);
/* The same from an open stream (a pipe), which the caller closes. */
bool tool_read_stream(FILE *fp, unsigned char **data, size_t *len, const char **why);

/* DER certificates read from files, NSS databases or bundles. */
typedef struct {
    SECItem *items; /* each item's data is PORT_Alloc'd */
    size_t n;
    char **origins; /* "file" or "file#2" or "sql:DB nickname", parallel to items */
} tool_certs;

void tool_certs_clear(tool_certs *certs);
/* Appends every certificate in a DER file or a PEM file (one or many). */
bool tool_certs_read_file(tool_certs *certs, const char *path, const char **why);
/* Appends the certificates of every file in argv[from..argc), or says which
 * file could not be read. */
bool tool_certs_read_args(tool_certs *certs, int argc, char **argv, int from);

/* NSS without a database, or with a read-only one ("sql:DIR"). */
bool tool_nss_init(const char *db);
void tool_nss_shutdown(void);

/* A certificate beside the one an overlay entry recorded (ng_entry.cert),
 * both with the entry's issuer and serial. */
typedef enum {
    TOOL_RECORDED_NONE,      /* the entry holds no certificate to compare with */
    TOOL_RECORDED_SAME,      /* byte for byte the recorded certificate */
    TOOL_RECORDED_REENCODED, /* the same tbsCertificate, other bytes outside it */
    TOOL_RECORDED_OTHER,     /* another tbsCertificate: a different certificate */
} tool_recorded;
tool_recorded tool_compare_recorded(const ng_entry *e, ng_bytes der);
/* The certificate's SHA-256 of its SubjectPublicKeyInfo (OneCRL's pubKeyHash). */
bool tool_spki_sha256(const CERTCertificate *cert, unsigned char out[32]);

/* ---- writing overlay records (certdata.txt syntax) ---- */

typedef struct {
    const char *label;
    const char *comment; /* lines (without '#') written above the records, or NULL */
    ng_bytes cert;       /* DER certificate: written as CKO_CERTIFICATE when set */
    ng_bytes subject;    /* with cert: its DER subject */
    ng_bytes issuer;     /* DER Name */
    ng_bytes serial_der; /* DER INTEGER */
    bool has_sha1;
    unsigned char sha1[NG_SHA1_LEN];
    bool has_md5;
    unsigned char md5[16];
    const char *reason;
    const char *reference;
    bool no_distrust; /* write no purpose NOT_TRUSTED (constraint/date entries) */
    /* trust_as_given: write CKT_NSS_NOT_TRUSTED only for the purposes whose bit
     * is set in not_trusted (TOOL_PURPOSE_*), as the source record had them;
     * otherwise every purpose (import-mozilla copies Mozilla's records) */
    bool trust_as_given;
    unsigned not_trusted;
    /* module/schema.h's attributes (name_constraints...), len 0 when none:
     * tool_write_entry writes each one that is set */
    NG_ENTRY_ATTRS(NG_ENTRY_ATTR_FIELD)
    const char *distrust_after; /* UTCTime text YYMMDDHHMMSSZ, or NULL */
} tool_entry;

#define TOOL_PURPOSE_SERVER_AUTH 0x1u
#define TOOL_PURPOSE_CLIENT_AUTH 0x2u
#define TOOL_PURPOSE_EMAIL_PROTECTION 0x4u
#define TOOL_PURPOSE_CODE_SIGNING 0x8u

/* One entry: a certificate object when e->cert is set, then the trust
 * object with every purpose CKT_NSS_NOT_TRUSTED (or those trust_as_given). */
void tool_write_entry(FILE *out, const tool_entry *e);
void tool_write_octal(FILE *out, const char *attr, const unsigned char *data, size_t len);
void tool_write_utf8(FILE *out, const char *attr, const char *text);
/* "# " + text, control characters replaced; one line per '\n' in text. */
void tool_write_comment(FILE *out, const char *text);
/* Writes `len` bytes to path (or stdout when path is NULL) only when all of
 * them were produced: the caller collects the output in memory first. */
bool tool_write_output(const char *path, const char *buf, size_t len);
/* Replaces the file at path (through a symbolic link: its target) by buf:
 * written to a dot file beside it, synced, renamed over it, so that a reader
 * sees the old content or the new, never a part. The file gets `mode`, or
 * with 0: 0644 when new, else the mode it had; and its owner when we may.
 * False with errno. */
bool tool_write_atomic(const char *path, const char *buf, size_t len, mode_t mode);
/* For a read-modify-write of the file at path: locks (flock, exclusive)
 * the 0600 file .nssguard.lock in its folder (the module's scan skips dot
 * files), waiting at most 30 s. The descriptor to close(), or -1 (errno
 * ETIMEDOUT when another holds it). */
int tool_lock_for(const char *path);

/* tool_write_output for a command that makes FILE anew from its input (an
 * export, a CRL, a corpus): unless `shrink` (--shrink), refuses to replace a
 * FILE that loads with one holding fewer than half its entries, so that an
 * empty or cut input cannot withdraw the distrust FILE serves. */
bool tool_write_remade(const char *path, const char *buf, size_t len, bool shrink);

/* A DER INTEGER for serial value bytes (as OneCRL gives them). Caller frees. */
unsigned char *tool_der_integer(const unsigned char *value, size_t len, size_t *der_len);

/* ---- cmd-add.c, also used by import-onecrl ---- */

typedef struct {
    const char *reason;
    const char *ref;
    const char *label; /* NULL: the subject's common name */
    bool issuer_serial;
    ng_bytes name_constraints;  /* a constraint entry instead of distrust */
    const char *distrust_after; /* UTCTime text: a distrust-after record */
    bool by_key;                /* a key entry (subject + SPKI SHA-256; issue 13) */
} tool_add_options;

/* Writes the records for one DER certificate. On failure sets *why. */
bool tool_add_cert(FILE *out, const SECItem *der, const tool_add_options *opt, const char **why);

/* A subject + public key selector (OneCRL's second form): the DER subject
 * and the SHA-256 of the SubjectPublicKeyInfo. */
typedef struct {
    unsigned char *subject;
    size_t subject_len;
    unsigned char key_hash[32];
} tool_subject_key;

/* Parses "SUBJECT_BASE64:PUBKEYHASH_BASE64" or the two halves. */
bool tool_subject_key_decode(tool_subject_key *sk, const char *subject_b64, const char *hash_b64);
void tool_subject_key_clear(tool_subject_key *sk);
bool tool_subject_key_matches(const tool_subject_key *sk, const CERTCertificate *cert);

/* ---- json.c: OneCRL exports, read with json-c ---- */

typedef enum {
    TOOL_JSON_NULL,
    TOOL_JSON_FALSE,
    TOOL_JSON_TRUE,
    TOOL_JSON_NUMBER,
    TOOL_JSON_STRING,
    TOOL_JSON_ARRAY,
    TOOL_JSON_OBJECT,
} tool_json_type;

typedef struct json_object tool_json; /* json-c's */

/* Strict JSON, nesting at most 64 deep, valid UTF-8, no lone surrogate
 * escape, nothing after the value. On failure err says "line N, column M:
 * reason". Free *root with tool_json_free. */
bool tool_json_parse(const char *text, size_t len, tool_json **root, char *err, size_t err_size);
void tool_json_free(tool_json *v);
tool_json_type tool_json_type_of(const tool_json *v);
/* An array's length (0 for anything else) and its element i (or NULL). */
size_t tool_json_length(const tool_json *array);
const tool_json *tool_json_at(const tool_json *array, size_t i);
/* An object's member (NULL when obj is not an object or has no such key). */
const tool_json *tool_json_get(const tool_json *obj, const char *key);
const char *tool_json_get_string(const tool_json *obj, const char *key);

/* ---- JSON output ---- */

void tool_json_string(FILE *out, const char *s);

/* ---- reading overlays with the module's parser and builder ---- */

/* A multimap from 64-bit hashes to the values 0, 1, 2, ... in the order
 * they were added (tool_hmap_next yields a key's values in that order). */
typedef struct {
    size_t *slots;    /* values, SIZE_MAX when empty */
    uint64_t *hashes; /* each value's key */
    size_t cap, n;
} tool_hmap;

bool tool_hmap_add(tool_hmap *m, uint64_t key); /* the value is m->n before the call */
/* The next value with this key (cursor SIZE_MAX to start), or SIZE_MAX. */
size_t tool_hmap_next(const tool_hmap *m, uint64_t key, size_t *cursor);
void tool_hmap_clear(tool_hmap *m);

/* A file's CKO_CERTIFICATE records by the issuer and serial of CKA_VALUE. */
typedef struct {
    const ng_records *recs;
    tool_hmap map;
    size_t *rec_of; /* map value -> record number */
} tool_cert_index;

bool tool_cert_index_build(tool_cert_index *ci, const ng_records *recs);
void tool_cert_index_clear(tool_cert_index *ci);
/* The first certificate record with this issuer and serial (DER INTEGER). */
const ng_record *tool_cert_index_find(const tool_cert_index *ci, ng_bytes issuer,
                                      ng_bytes serial_der);

struct tool_overlay {
    ng_records *files;           /* the text files that loaded; entries point into them */
    tool_cert_index *cert_index; /* parallel to files */
    size_t n_files;
    ng_image **images; /* the compiled files (.ngo) that loaded, mapped */
    size_t n_images;
    ng_entries ents;
    ng_index index;
    size_t n_refused; /* files the module would refuse (message printed) */
};

/* Expands FILE|DIR arguments with the module's ng_overlay_expand_path (a
 * directory means its *.txt and *.ngo files in name order, dot files
 * skipped), leaving out an X.ngo listed beside its X.txt. Returns a
 * NULL-terminated array, or NULL with a message printed. */
char **tool_overlay_paths(char *const *args, size_t n_args);
void tool_overlay_paths_free(char **paths);

/* Loads as the module does: a file with an error is refused whole (its
 * "file:line: reason" printed on stderr), the others load. With no paths the
 * module's configuration ($NSSGUARD_CONFIG, the system file, the defaults)
 * decides. False only when nothing could be read at all. */
bool tool_overlay_load(tool_overlay *ov, char *const *args, size_t n_args);
void tool_overlay_clear(tool_overlay *ov);
/* The entry for a certificate (by issuer + serial), or NULL. */
const ng_entry *tool_overlay_find(const tool_overlay *ov, const CERTCertificate *cert);
/* The first of entries (indexed by idx) for a certificate's issuer and
 * serial, from its DER, or NULL. */
const ng_entry *tool_entry_for_der(const ng_index *idx, const ng_entry *entries, ng_bytes der);
/* The full DER certificate an overlay file holds for this entry, if any. */
bool tool_overlay_entry_cert(const tool_overlay *ov, const ng_entry *e, ng_bytes *cert);

/* An overlay's entries sorted by serial value, to find the entries that
 * name a certificate's issuer in other bytes (RFC 5280: string types,
 * case, spaces), which NSS never matches: it compares the bytes. */
typedef struct {
    const ng_entry **sorted;
    size_t n;
} tool_serial_index;

bool tool_serial_index_build(tool_serial_index *si, const ng_entry *entries, size_t n);
void tool_serial_index_clear(tool_serial_index *si);
/* The entries with this serial value whose issuer equals `issuer` only under
 * RFC 5280 comparison: up to max of them in out; returns how many there are. */
size_t tool_name_misses(const tool_serial_index *si, ng_bytes issuer, ng_bytes serial,
                        const ng_entry **out, size_t max);
/* "nssguard: warning: FILE:LINE: entry ... will never match ORIGIN" on stderr. */
void tool_warn_name_miss(const ng_entry *e, const char *origin, ng_bytes issuer);

/* An entry for people (label, reason, reference, issuer, serial, hash,
 * where), each line starting with `indent`, and as one JSON object. */
void tool_print_entry(FILE *out, const ng_entry *e, const char *indent);
void tool_json_entry(FILE *out, const ng_entry *e);

/* ---- names.c: name constraints and distrust-after dates ---- */

/* "permit:dns:example.com,permit:ip:192.0.2.0/24,exclude:dns:.gov,..."
 * (forms dns, ip, email) -> a DER NameConstraints (malloc'd). */
bool tool_name_constraints_encode(const char *spec, unsigned char **der, size_t *der_len, char *why,
                                  size_t why_size);
/* "YYYY-MM-DD" -> UTCTime text "YYMMDD000000Z". */
bool tool_distrust_after_text(const char *date, char out[14]);
/* 1 when every name of the leaf (SAN, subject, and with `server` the CN)
 * is inside the constraints, 0 when one is not (named in `name`), -1 when
 * the constraints do not decode. */
int tool_check_name_constraints(CERTCertificate *leaf, ng_bytes nc_der, bool server, char *name,
                                size_t size);

typedef struct {
    PRTime when;
    char date[14]; /* as written: YYMMDDHHMMSSZ */
    char label[256];
    const char *file;
    unsigned line;
} tool_distrust_after;

/* The server (or email) distrust-after date an overlay record (trust or
 * certificate) gives for this certificate's issuer and serial. */
bool tool_overlay_distrust_after(const tool_overlay *ov, const CERTCertificate *cert, bool email,
                                 tool_distrust_after *out);

/* Readable forms. */
void tool_name_text(ng_bytes name, char *buf, size_t size);
void tool_hex(const unsigned char *data, size_t len, char *buf, size_t size);

#endif /* NSSGUARD_TOOL_H */

/*
 * nssguard module internals. The module is a pipeline, one stage per file:
 *
 *   parser.c   overlay text (certdata.txt syntax)  -> records (attribute lists)
 *   builder.c  records -> distrust entries (checked, hashes verified)
 *   index.c    the issuer+serial hash and the one probe (entries, images)
 *   image.c    entries -> one flat image (in memory, or compiled to a file)
 *   overlay.c  configured paths -> generations of images, live reload
 *   builtins.c mode=builtins: Mozilla's roots (roots=PATH) keyed into images
 *   objects.c  the lookup: what each mode serves (one table), the serial
 *              rule, the find over every source, attributes
 *   session.c  the session table (acquire, pin, release: inline, below)
 *   config.c   parameter string and configuration file
 *   log.c      security events: one table (name, priority, fields), rate
 *              limits, sinks (syslog, stderr, JSON lines) and their fallback
 *   trace.c    NSSGUARD_DEBUG: a wrapped function list, handed out only then
 *   module.c   the PKCS#11 entry points, kept thin; the one fork handler
 *
 * schema.h lists an entry's extra attributes once (parser, entry, image,
 * tool). der.c and sha1.c are leaf helpers. The module never links NSS: it is loaded
 * into processes (Firefox) that bring their own copy.
 *
 * NSS's trust query, C_FindObjectsInit {TOKEN, CLASS, ISSUER, SERIAL} to its
 * answer, runs code of four module files: module.c, objects.c, index.c,
 * image.c. Every call goes down and comes back; none calls back into a file
 * it came from (no return trip). The session's lock and pin and the
 * serial's DER are small inline functions in this header (each says why),
 * so session.c and der.c are not entered; overlay.c is entered only when a
 * reload is due, trace.c only with NSSGUARD_DEBUG set:
 *
 *   module.c   mod_C_FindObjectsInit: ng_overlays_poll (inline on ng, below:
 *              overlay.c's ng_overlays_poll_due only once the reload
 *              interval has passed; never waits), the session:
 *              ng_session_acquire, ng_session_pin (the generation to read),
 *              ng_session_release (inline on ng.sessions, below), and:
 *   objects.c  ng_objects_find: the template read once (class -> the mode's
 *              table); the serial rule: the serial read as a DER INTEGER
 *              (ng_der_integer_value, inline), issuer+serial hashed once in
 *              both serial forms (index.c's ng_issuer_hash and
 *              ng_serial_hash); each source probed in turn, the roots
 *              (mode=builtins) then the overlay's files (ng_overlay->images)
 *              through image.c; the hits (image.c's ng_image_entry) matched
 *              against the table and returned as handles
 *   index.c    the hash, called from objects.c; the probe, called from
 *              image.c: it reads the directory and the fingerprints and
 *              returns the run of positions whose fingerprint is the hash's
 *              (calls nothing)
 *   image.c    ng_image_find_der_like / ng_image_find_hashed (the latter
 *              probes through index.c, then compares the candidate records
 *              itself), ng_image_entry: called from objects.c only
 *
 * In mode=builtins the roots' records are read through parser.c's
 * ng_record_get and ng_record_ulong (leaves): five files there.
 *
 * C_FindObjects hands the handles out (a hit of a trust query is a distrust
 * event: objects.c's ng_objects_report), C_GetAttributeValue reads them
 * through the same table (ng_objects_get_attributes).
 */
#ifndef NSSGUARD_INTERNAL_H
#define NSSGUARD_INTERNAL_H

#include <pkcs11.h>
#include <pthread.h>
#include <pkcs11n.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nssguard.h"
#include "schema.h"

/* p11-kit's trust objects (p11-kit's common/pkcs11i.h and pkcs11x.h; only
 * the second is installed, so the values are repeated here). */
#define NG_X_VENDOR (CKA_VENDOR_DEFINED | 0x58444700UL)
#ifndef CKA_X_DISTRUSTED
#define CKA_X_DISTRUSTED (NG_X_VENDOR + 100)
#endif
#ifndef CKO_X_TRUST_ASSERTION
#define CKO_X_TRUST_ASSERTION (NG_X_VENDOR + 100)
#define CKA_X_ASSERTION_TYPE (NG_X_VENDOR + 1)
#define CKA_X_CERTIFICATE_VALUE (NG_X_VENDOR + 2)
#define CKA_X_PURPOSE (NG_X_VENDOR + 3)
#define CKT_X_DISTRUSTED_CERTIFICATE 1UL
#endif
#ifndef CKA_PUBLIC_KEY_INFO
#define CKA_PUBLIC_KEY_INFO 0x00000129UL
#endif

#define NG_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* CLOCK_MONOTONIC in nanoseconds: the deadlines of reload slices. */
static inline uint64_t
ng_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A borrowed byte range. */
typedef struct {
    const unsigned char *data;
    size_t len;
} ng_bytes;

/* An error message in the form "file:line: reason" (or "file: reason"),
 * with its parts: the line (0 when none) and where the reason starts. */
typedef struct {
    char msg[512];
    unsigned line;
    size_t reason_off;
} ng_error;

void ng_error_set(ng_error *err, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- der.c: the little DER this module needs ---- */

/* ng_der_read and ng_der_integer_value are defined here, inline, not in
 * der.c: every trust query reads its serial with them (the serial rule,
 * objects.c), and a call into der.c for a dozen instructions would make
 * der.c one more file on the query's path. Every caller uses these. */

/* Reads one TLV at p (len bytes available). On success sets the tag, the
 * contents and the total encoded size. Definite lengths only. */
static inline bool
ng_der_read(const unsigned char *p, size_t len, unsigned *tag, ng_bytes *contents, size_t *total)
{
    size_t hdr = 2, clen;

    if (len < 2 || (p[0] & 0x1f) == 0x1f) /* no multi-byte tags */
        return false;
    *tag = p[0];
    if (p[1] < 0x80) {
        clen = p[1];
    } else {
        size_t n = p[1] & 0x7f;
        if (n == 0 || n > 4 || len < 2 + n)
            return false; /* indefinite or absurd */
        clen = 0;
        for (size_t i = 0; i < n; i++)
            clen = (clen << 8) | p[2 + i];
        if (clen < 0x80 || (n > 1 && p[2] == 0))
            return false; /* not minimal: not DER */
        hdr += n;
    }
    if (clen > len - hdr)
        return false;
    contents->data = p + hdr;
    contents->len = clen;
    *total = hdr + clen;
    return true;
}

/* The value bytes of a DER INTEGER that fills exactly `der`. */
static inline bool
ng_der_integer_value(ng_bytes der, ng_bytes *value)
{
    unsigned tag;
    size_t total;

    if (!ng_der_read(der.data, der.len, &tag, value, &total))
        return false;
    return tag == 0x02 && total == der.len && value->len > 0;
}
/* True when `der` is exactly one DER SEQUENCE (a Name, a certificate). */
bool ng_der_is_sequence(ng_bytes der);
/* The fields of a certificate that PKCS#11 objects carry, as full TLVs. */
typedef struct {
    ng_bytes serial;  /* INTEGER */
    ng_bytes issuer;  /* Name */
    ng_bytes subject; /* Name */
    ng_bytes spki;    /* SubjectPublicKeyInfo */
} ng_cert_parts;
bool ng_der_cert_parts(ng_bytes cert, ng_cert_parts *parts);
/* The tbsCertificate of a certificate (the part its issuer signed), as a
 * full TLV. */
bool ng_der_cert_tbs(ng_bytes cert, ng_bytes *tbs);
/* The issuer Name and serial INTEGER (both as full TLVs) of a certificate. */
bool ng_der_cert_issuer_serial(ng_bytes cert, ng_bytes *issuer, ng_bytes *serial);
/* A readable form of a DER Name, most specific RDN first as NSS prints it:
 * "CN=...,O=...,C=...". Always NUL-terminates; truncates with "...". */
void ng_der_name_text(ng_bytes name, char *buf, size_t size);
/* Whether two DER Names are equal as RFC 5280 7.1 compares them (string
 * types ignored, spaces trimmed and collapsed, ASCII case folded), which is
 * not how NSS finds trust: it compares the bytes. For the tool's warnings. */
bool ng_der_name_equal_rfc5280(ng_bytes a, ng_bytes b);
/* Hex of bytes, colon separated, lower case ("6b:49:d2:05"). */
void ng_hex_text(ng_bytes bytes, char *buf, size_t size);

/* ---- sha1.c: SHA-1, and SHA-256 for key hashes ---- */

#define NG_SHA1_LEN 20
void ng_sha1(const unsigned char *data, size_t len, unsigned char out[NG_SHA1_LEN]);
/* The same without the CPU's SHA instructions, for tests to compare. */
void ng_sha1_portable(const unsigned char *data, size_t len, unsigned char out[NG_SHA1_LEN]);
/* The SHA-1 of what is left to read from fd; false on a read error. */
bool ng_sha1_fd(int fd, unsigned char out[NG_SHA1_LEN]);
#define NG_SHA256_LEN 32
void ng_sha256(const unsigned char *data, size_t len, unsigned char out[NG_SHA256_LEN]);

/* ---- parser.c: certdata.txt syntax -> records ---- */

typedef struct {
    CK_ATTRIBUTE_TYPE type;
    unsigned char *value;
    size_t len;
    unsigned line;
    bool text; /* a UTF8 value: a NUL follows value[len] */
} ng_attr;

typedef struct {
    unsigned line; /* line of its CKA_CLASS */
    char *comment; /* the comment block just before it, or NULL */
    ng_attr *attrs;
    size_t n_attrs;
} ng_record;

typedef struct ng_arena_block ng_arena_block;

typedef struct {
    char *file;
    ng_record *records;
    size_t n_records;
    ng_arena_block *arena; /* holds the values and comments of the records */
} ng_records;

/* Parses a whole file. On failure returns false, fills err with
 * "file:line: reason" and leaves *out empty. */
bool ng_parse_file(const char *path, ng_records *out, ng_error *err);
/* The same, refusing a file over max bytes (as opened, and as read: a file
 * swapped or grown after it was looked at stops there too). */
bool ng_parse_file_max(const char *path, size_t max, ng_records *out, ng_error *err);
bool ng_parse_buffer(const char *name, const char *buf, size_t len, ng_records *out, ng_error *err);
void ng_records_clear(ng_records *recs);
const ng_attr *ng_record_get(const ng_record *rec, CK_ATTRIBUTE_TYPE type);
bool ng_record_ulong(const ng_record *rec, CK_ATTRIBUTE_TYPE type, CK_ULONG *value);

/* ---- builder.c: records -> distrust entries ---- */

typedef struct {
    ng_bytes issuer;     /* DER Name */
    ng_bytes serial_der; /* DER INTEGER */
    ng_bytes serial;     /* its value bytes (inside serial_der) */
    uint64_t hash;       /* index hash of issuer + serial value */
    bool has_sha1;       /* only when verified against the certificate */
    bool distrusted;     /* the record distrusts; false for a constraint-only entry */
    NG_ENTRY_ATTRS(NG_ENTRY_ATTR_FIELD) /* schema.h: name_constraints... */
    ng_bytes cert; /* the certificate's DER when its file had it, len 0 when none */
    unsigned char sha1[NG_SHA1_LEN];
    const char *label;
    const char *reason;
    const char *reference;
    const char *file;
    unsigned line;
} ng_entry;

typedef struct {
    ng_entry *entries;
    size_t n_entries;
    size_t cap;
    char **strings; /* strings the builder made (labels, references) */
    size_t n_strings;
    size_t skipped; /* records that are not distrust (roots, root list...) */
    size_t keys;    /* key entries: not served, expanded by the tool (issue 13) */
} ng_entries;

/* A key entry (issue 13): distrusts every certificate of a subject and key.
 * Pointers into the records. */
typedef struct {
    ng_bytes subject;     /* DER Name */
    ng_bytes spki_sha256; /* 32 bytes */
    const char *reason;   /* mitm or compromised */
    const char *label;
    const char *reference;
    unsigned line;
} ng_key_entry;

/* 1: rec is a key entry, in *k; 0: it is not one; -1: a malformed one (err). */
int ng_key_entry_read(const ng_records *recs, const ng_record *rec, ng_key_entry *k, ng_error *err);

/* Turns one file's records into entries appended to `out`. All or nothing:
 * on an error nothing is appended and err says file:line: reason. */
bool ng_build_entries(const ng_records *recs, ng_entries *out, ng_error *err);
void ng_entries_clear(ng_entries *ents);
/* Appends a copy of e (its pointers still borrowed); false when out of memory. */
bool ng_entries_push(ng_entries *ents, const ng_entry *e);

/* ---- index.c: the issuer+serial hash, and the one probe ---- */

uint64_t ng_entry_hash(ng_bytes issuer, ng_bytes serial_value);
/* ng_entry_hash in two steps, for several serials under one issuer. */
uint64_t ng_issuer_hash(ng_bytes issuer);
uint64_t ng_serial_hash(uint64_t issuer_hash, ng_bytes serial_value);

/* Keys sorted by hash: frag[i] is the top half of key i's hash (its
 * fingerprint), dir (2^bits + 1 positions) the first key of each bucket of
 * hashes by their top `bits` bits (bits <= 32). */
typedef struct {
    const uint32_t *dir;
    unsigned bits;
    const uint32_t *frag;
} ng_probe;

#define NG_FRAG(h) ((uint32_t)((h) >> 32))

/* The number of directory bits for n keys. */
unsigned ng_index_bits(size_t n);
/* Fills dir for the n sorted fingerprints of p; false when not sorted. */
bool ng_index_directory(const ng_probe *p, uint32_t *dir, size_t n);
/* The candidates for hash h: the positions [*first, returned end) whose
 * fingerprint is h's (an empty range when none). The caller compares the
 * keys at them itself: the probe calls nothing back. */
size_t ng_index_probe(const ng_probe *p, uint64_t h, size_t *first);

/* An index over an array of entries (in any order). */
typedef struct {
    uint64_t hash;
    uint64_t entry;
} ng_index_key;

typedef struct {
    ng_probe probe;
    ng_index_key *keys; /* sorted by hash, then entry number */
    uint32_t *dir, *frag;
} ng_index;

bool ng_index_build(ng_index *idx, const ng_entry *entries, size_t n);
void ng_index_clear(ng_index *idx);
/* The first entry with exactly this issuer and serial value, or -1. */
long ng_index_find(const ng_index *idx, const ng_entry *entries, ng_bytes issuer,
                   ng_bytes serial_value);

/* ---- config.c ---- */

enum {
    NG_LOG_SYSLOG = 1 << 0,
    NG_LOG_STDERR = 1 << 1,
    NG_LOG_FILE = 1 << 2,
};

/* Text overlays the module parses in-process (on a query's thread, about
 * the file's size in memory at the peak: ~4 KB per entry) are at most this
 * big by default (text_max=MIB, up to 512); a larger one is refused with a
 * text_too_large event: compile it (`nssguard compile`). */
#define NG_TEXT_MAX_BYTES ((size_t)16 << 20)

/* What the module serves besides NSS's trust objects (mode=). */
typedef enum {
    NG_MODE_NSS = 0,  /* trust objects only: the default, and all NSS needs */
    NG_MODE_P11KIT,   /* also p11-kit's certificates and trust assertions */
    NG_MODE_CHROMIUM, /* also the certificates the overlay holds, for Chromium */
    NG_MODE_BUILTINS, /* also Mozilla's roots from roots=PATH, as libnssckbi.so */
} ng_mode;

typedef struct {
    char **overlays; /* files or directories */
    size_t n_overlays;
    unsigned log_sinks;
    char *log_file;
    unsigned ratelimit;     /* seconds between two events for one entry */
    unsigned reload_ms;     /* how often a query may look for changed files */
    bool serve_constraints; /* constraints=distrust: constraint entries as distrust */
    size_t text_max;        /* text_max=MIB: the largest text overlay parsed in-process */
    ng_mode mode;
    char *roots;  /* mode=builtins: the certdata.txt served as the builtins */
    char *source; /* where the configuration came from, for messages */
    /* Lines of a configuration file that were not taken (each one
     * "file:line: reason"), or the file that could not be read: the module
     * serves with the settings that were good, and says so (config_error). */
    char **errors; /* the first NG_CONFIG_ERRORS_KEPT of them */
    size_t n_errors;
} ng_config;

#define NG_CONFIG_ERRORS_KEPT 8

void ng_config_init_defaults(ng_config *cfg);
void ng_config_clear(ng_config *cfg);
/* "key=value key=value" (spaces or ';' between pairs, values may be quoted). */
bool ng_config_parse_params(ng_config *cfg, const char *params, ng_error *err);
/* "key = value" lines, '#' comments. A missing file is not an error
 * (*found = false); an unreadable one is (false, err). A bad line is not:
 * it is added to cfg->errors and the other lines are taken. */
bool ng_config_parse_file(ng_config *cfg, const char *path, bool *found, ng_error *err);
/* The configuration C_Initialize uses: the parameter string when there is
 * one, else $NSSGUARD_CONFIG or the system file, else the defaults. cfg is
 * filled from scratch: it must hold nothing (zeroed, or cleared). False only
 * for a bad parameter string (the caller sees it at once, e.g. modutil):
 * a bad or unreadable configuration file leaves its errors in cfg->errors
 * and the module serving with what was good, the default overlay at least. */
bool ng_config_load(ng_config *cfg, const char *params, ng_error *err);
/* Records a configuration error (cfg->errors); false when out of memory. */
bool ng_config_add_error(ng_config *cfg, const char *msg);

/* ---- log.c: security events ---- */

/* Every event, in log.c's table (name, priority, fields). */
typedef enum {
    NG_EV_LOAD,           /* info: the first generation */
    NG_EV_RELOAD,         /* info: a new generation */
    NG_EV_LOAD_FAILED,    /* err: a generation with no entry, files refused */
    NG_EV_LOAD_ERROR,     /* err: one file refused */
    NG_EV_STALE_COMPILED, /* warning: a .ngo older than its .txt, the text used */
    NG_EV_CONFIG_ERROR,   /* err: a setting refused */
    NG_EV_OVERLAY_EMPTY,  /* warning: a configured path gave no entry */
    NG_EV_TEXT_TOO_LARGE, /* err: a text overlay over the in-process cap */
    NG_EV_DISTRUST,       /* warning: an entry answered a trust query */
    NG_EV_VERIFY,         /* info: nssguard verify's verdict */
    NG_EV_COUNT
} ng_event;

/* A rate-limit counter (per entry and generation, or per repeated event). */
typedef struct {
    uint64_t last; /* monotonic second of the last logged event, 0 = never */
    uint32_t suppressed;
} ng_rate;

void ng_log_configure(const ng_config *cfg);
void ng_log_close(void);
/* False with log=none: callers skip building events nobody reads. */
bool ng_log_enabled(void);
/* One event: its table row and NULL-terminated key/value string pairs.
 * Values of the keys the table marks numeric are written as JSON numbers. */
void ng_log_event(ng_event ev, ...) __attribute__((sentinel));
const char *ng_event_name(ng_event ev);
int ng_event_priority(ng_event ev);
/* Rate limiting: true when an event counted by `rate` may be logged now
 * (at most one a `window` seconds); then *suppressed is the number of
 * events held back since the last one. */
bool ng_log_admit(ng_rate *rate, unsigned window, uint32_t *suppressed);
/* Opens a log or trace file to append: a regular file, no symbolic link,
 * never blocking. -1 with *why set when refused. */
int ng_log_open_file(const char *path, const char **why);
/* buf to fd, however many write() calls it takes (the tool's files too). */
bool ng_write_all(int fd, const char *buf, size_t len);

/* ---- trace.c: NSSGUARD_DEBUG=area[,area][:file] ---- */

/* The function list C_GetFunctionList hands out: `real` itself unless
 * NSSGUARD_DEBUG (secure_getenv) asks for tracing, then a list of wrappers
 * that trace each call and call `real`'s. */
CK_FUNCTION_LIST *ng_trace_function_list(CK_FUNCTION_LIST *real);
/* The `load` area: an event as it is logged. */
void ng_trace_event(const char *name, const char *text);

/* ---- image.c: the compiled overlay (also what text is built into) ---- */

typedef struct ng_image ng_image;

/* Builds an image in memory; source_* stamp the text file it came from. */
ng_image *ng_image_build(const ng_entries *ents, uint64_t source_size, int64_t source_mtime_ns,
                         ng_error *err);
/* Reads a compiled file into the process's own memory and checks all of it
 * (never a file mapping: a file truncated or rewritten in place must not
 * fault, SIGBUS, in the host). */
ng_image *ng_image_open(const char *path, ng_error *err);
/* The same in steps, for a reload: ng_image_map opens the file and sets
 * memory aside for it; ng_image_check reads and checks it until done or
 * until CLOCK_MONOTONIC passes deadline_ns (UINT64_MAX: no deadline): 1
 * when all of it is good, 0 when there is more to check, -1 when refused
 * (err says why; a file that shrinks while read is refused). An image is
 * used only once it returned 1. */
ng_image *ng_image_map(const char *path, ng_error *err);
int ng_image_check(ng_image *img, uint64_t deadline_ns, ng_error *err);
/* Writes the checksum into an image's header (for tools and fuzzing that
 * build or alter images; the module only ever checks it). */
void ng_image_seal(unsigned char *data, size_t len);
/* Checks bytes as ng_image_open checks a file, and keeps a copy of them. */
ng_image *ng_image_from_bytes(const unsigned char *data, size_t len, ng_error *err);
/* Writes the image to path atomically (temporary file, then rename). */
bool ng_image_write(const ng_image *img, const char *path, ng_error *err);
void ng_image_free(ng_image *img);
/* Frees the image, giving a mapping back a slice at a time until done or
 * until deadline_ns passes; true once it is all freed (call again if not). */
bool ng_image_release(ng_image *img, uint64_t deadline_ns);
size_t ng_image_count(const ng_image *img);
/* The key entries its source held (not in the image: nothing serves them). */
size_t ng_image_keys(const ng_image *img);
void ng_image_source(const ng_image *img, uint64_t *size, int64_t *mtime_ns);
/* The SHA-1 of the text it was compiled from, or NULL when it has none
 * (compiled from several files, or built in memory). */
const unsigned char *ng_image_source_sha1(const ng_image *img);
/* Stamps an image built here with the text file it was compiled from: its
 * size, mtime and SHA-1 (the module serves the image only beside that text). */
bool ng_image_stamp_source(ng_image *img, const char *path, ng_error *err);
/* Fills a view of entry i; its pointers point into the image. Entries are
 * numbered in hash order (the order the probe reads them in). */
void ng_image_entry(const ng_image *img, size_t i, ng_entry *e);
/* Fills out[0..ng_image_count) with every entry, in the order they were
 * compiled in (file order), as listings show them. */
void ng_image_entries(const ng_image *img, ng_entry *out);
long ng_image_find(const ng_image *img, ng_bytes issuer, ng_bytes serial_value);
/* The same with the hash given (ng_entry_hash of issuer and serial_value). */
long ng_image_find_hashed(const ng_image *img, uint64_t hash, ng_bytes issuer,
                          ng_bytes serial_value);
/* The same among the entries whose serial value is itself a complete DER
 * INTEGER: the only ones that a serial_value that is one can match. */
long ng_image_find_der_like(const ng_image *img, uint64_t hash, ng_bytes issuer,
                            ng_bytes serial_value);

/* ---- overlay.c: generations of the served overlay ---- */

typedef struct ng_source ng_source;
typedef struct ng_overlay ng_overlay;

/* One generation: immutable once published, but for `rates`. */
struct ng_overlay {
    uint64_t id;
    ng_source **sources; /* one per loaded file, in load order */
    ng_image **images;   /* sources[i]'s image: what the lookup (objects.c) probes */
    size_t *first;       /* global number of each source's first entry */
    size_t n_sources;
    size_t n_entries;
    size_t n_refused;
    size_t skipped;
    size_t keys;                /* key entries read and not served (issue 13) */
    struct ng_file_stamp *scan; /* what the files looked like (overlay.c) */
    size_t n_scan;
    ng_rate *rates; /* per-entry event rate limiting: the only mutable part */
    unsigned ratelimit;
    bool serve_constraints;
    ng_mode mode;
    uint64_t retired_at; /* epoch it was replaced at */
    ng_overlay *next_retired;
};

/* One overlay file as configured: X.txt and its compiled X.ngo. */
typedef struct {
    char *unit;  /* the path without .txt / .ngo: the unit's identity */
    char *given; /* the name as found, for messages */
    char *txt, *ngo;
    size_t origin; /* the configured path it came from; n_overlays: kept, vanished */
} ng_unit_paths;

typedef struct {
    ng_unit_paths *units; /* in load order, each once */
    size_t n_units;
    char *dir_error;     /* the first directory that could not be read */
    bool dir_error_kept; /* ... whose files keep their last good versions */
} ng_unit_list;

/* A reload under way (overlay.c, "building the next generation"). */
typedef struct {
    ng_overlay *ov; /* being built, unpublished; NULL when no reload is under way */
    ng_unit_list ul;
    size_t next;          /* the unit being loaded */
    ng_source *src;       /* its new source, while it loads */
    ng_image *checking;   /* its compiled file, until checked */
    size_t *path_entries; /* entries served per configured path */
    uint64_t started_ms;
} ng_reload_job;

/* Loads the first generation; false only when out of memory. */
bool ng_overlays_start(const ng_config *cfg);
void ng_overlays_stop(void);
/* In a forked child's C_Initialize or C_Finalize: drop the parent's state
 * without taking its locks (leaked if a parent thread was changing it). */
void ng_overlays_forget(void);
/* ng_overlays_poll (below, with the state) once the reload interval has
 * passed: looks at the files, reloads when they changed. Never waits for
 * another thread. */
void ng_overlays_poll_due(uint64_t now_ms);
void ng_overlays_reclaim(void);

/* Appends the files a configured overlay path stands for: the path itself,
 * or a directory's *.txt and *.ngo files in name order (dot files skipped). */
bool ng_overlay_expand_path(const char *path, char ***files, size_t *n_files, ng_error *err);

/* ---- objects.c: entries as PKCS#11 objects ---- */

/* mode=builtins' roots (ng.roots), one more source of the lookup: loaded by
 * builtins.c, served by objects.c. Record i is object handle i+1
 * (generation id 0). */
typedef struct {
    ng_records parsed; /* roots=PATH: owns the records */
    /* issuer+serial -> record: the certificate records, then the trust
     * records (an entry's `line` is its record's number) */
    ng_image *keyed[2];
    bool served; /* loaded whole (C_Initialize, before any query) */
} ng_roots;

/* In NSS mode each entry is served as two objects: CKO_NSS_TRUST and
 * CKO_TRUST; p11-kit mode adds up to five (objects.c). Handles leave room for
 * NG_KINDS_PER_ENTRY objects an entry and carry the generation's id above
 * NG_HANDLE_ID_SHIFT. */
#define NG_OBJECTS_PER_ENTRY 2
#define NG_KINDS_PER_ENTRY 7
#define NG_HANDLE_ID_SHIFT 40
/* Generation ids run 1..NG_HANDLE_ID_MAX and then start again at 1 (0 is the
 * roots' of mode=builtins): a session reads at most two generations, so an
 * id seen again is never confused. */
#define NG_HANDLE_ID_MAX ((UINT64_C(1) << (64 - NG_HANDLE_ID_SHIFT)) - 1)

typedef struct {
    ng_overlay *overlay;                /* the generation searched */
    CK_OBJECT_HANDLE *handles;          /* `inline_handles` or malloc'd */
    CK_OBJECT_HANDLE inline_handles[4]; /* a trust query finds at most 4 */
    size_t cap;
    size_t n;
    size_t pos;
    bool trust_query; /* an issuer+serial lookup: hits are security events */
} ng_find;

/* The lookup: the objects of the roots (mode=builtins) and of generation ov
 * that match the template, issuer+serial queries through the images'
 * probe (objects.c, "the serial rule"). */
CK_RV ng_objects_find(ng_overlay *ov, const CK_ATTRIBUTE *tmpl, CK_ULONG count, ng_find *find);
void ng_find_clear(ng_find *find);
CK_RV ng_objects_get_attributes(const ng_overlay *ov, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE *tmpl,
                                CK_ULONG count);
bool ng_objects_valid(const ng_overlay *ov, CK_OBJECT_HANDLE handle);
/* A view of entry `global` (all files' entries numbered in load order). */
bool ng_overlay_entry(const ng_overlay *ov, size_t global, ng_entry *e);
uint64_t ng_objects_handle_id(CK_OBJECT_HANDLE handle);
/* Logs (rate-limited) that the object's entry answered a trust query. */
void ng_objects_report(ng_overlay *ov, CK_OBJECT_HANDLE handle);

/* Fills one attribute of a C_GetAttributeValue template from the object's
 * value (present = false: the object has no such attribute) and returns the
 * call's return value so far, as PKCS#11 says. */
CK_RV ng_fill_attribute(CK_ATTRIBUTE *t, const void *data, CK_ULONG len, bool present, CK_RV rv);

/* ---- builtins.c: mode=builtins ---- */

bool ng_builtins_load(const char *path, ng_error *err);
void ng_builtins_free(void);

/* ---- session.c ---- */

typedef struct {
    CK_SESSION_HANDLE handle;
    CK_FLAGS flags;
    /* The generations this session reads: the one of its last search and the
     * one before, so handles found just before a reload still resolve. */
    ng_overlay *cur, *prev;
    bool finding;
    ng_find find;
} ng_session;

/* In a fork()ed child's C_Initialize or C_Finalize: free this process's
 * copies of the parent's sessions without their locks. */
void ng_sessions_forget(void);
void ng_sessions_close_all(void);
CK_RV ng_session_open(CK_FLAGS flags, CK_SESSION_HANDLE *handle);
CK_RV ng_session_close(CK_SESSION_HANDLE handle);
/* ng_session_acquire, ng_session_release and ng_session_pin: inline on
 * ng.sessions, below with the module state. */
/* The generation a handle belongs to, if this session may read it: one it
 * reads already, or the current one (handles are valid in every session). */
ng_overlay *ng_session_overlay_of(ng_session *sess, CK_OBJECT_HANDLE handle);
unsigned long ng_sessions_count(void);
/* Could a session still be reading this replaced generation? */
bool ng_sessions_may_read(const ng_overlay *ov);
/* At C_Finalize: close every session and free the table. */
void ng_sessions_free(void);

/* ---- module state: every stage's mutable state, in `ng` ----
 *
 * One struct, so that the one fork handler (module.c, forked_child) sees
 * all of it and says in one place what a child of fork() keeps and what it
 * remakes. Each part is its stage's to change:
 *
 *   ng (top)     module.c: the C_Initialize lock, initialized, forked;
 *                config.c fills ng.config
 *   overlay.c    reload_lock, reloading, the current and retired
 *                generations, epoch, next_check_ms, next_id, the reload
 *                under way (job), the images being unmapped (dying)
 *   ng.sessions  session.c: the session table (open_lock, the slot chunks,
 *                the handle sequence, the count open)
 *   ng.roots     builtins.c loads, objects.c serves: mode=builtins' roots
 *   ng.log       log.c: sinks, the fallback, the file path, lost events, the
 *                rate limiter of repeated events (repeats_lock, repeats)
 *   ng.trace     trace.c: NSSGUARD_DEBUG's areas, file and wrapped list
 *
 * What stays static, and why: module.c's atfork_once and trace.c's
 * trace_once (a pthread_once_t cannot be reset, and must not be: the fork
 * handler is registered once, NSSGUARD_DEBUG read once per process);
 * module.c's function_list and the tables of log.c, objects.c and trace.c
 * (constant after start-up); sha1.c's sha_ni (a fact of the CPU, the same
 * in a child). */

#define NG_SESSION_CHUNK 256  /* slots a chunk */
#define NG_SESSION_CHUNKS 256 /* 65,536 sessions */

/* A slot of the session table: one cache line or two, no false sharing. */
typedef struct {
    _Alignas(64) pthread_mutex_t lock;
    ng_session *session; /* NULL when free */
    /* __atomic: */
    uint64_t pinning; /* epoch a switch started at, 0 = not switching */
    uint64_t held[2]; /* ids of the generations read, 0 = none */
} ng_session_slot;

#define NG_LOG_REPEATS 32 /* distinct rate-limited events remembered */

/* A remembered rate-limited event: its identity (a hash of the name and the
 * text fields) and its counter. */
typedef struct {
    uint64_t id;
    ng_rate rate;
} ng_log_repeat;

typedef struct {
    /* module.c */
    pthread_mutex_t lock; /* C_Initialize and C_Finalize */
    bool initialized;     /* __atomic: C_Initialize succeeded in this process */
    bool forked;          /* a fork()ed child answering from its inherited copy */
    ng_config config;
    /* overlay.c */
    pthread_mutex_t reload_lock;
    bool reloading;      /* __atomic: a thread holds reload_lock (for a child of fork) */
    ng_overlay *current; /* __atomic access */
    ng_overlay *retired; /* under reload_lock */
    uint64_t epoch;      /* __atomic access */
    uint64_t next_check_ms;
    uint64_t next_id;
    const ng_config *overlay_config;
    ng_reload_job job; /* under reload_lock */
    ng_image **dying;  /* replaced images, unmapped a slice at a time */
    size_t n_dying, dying_cap;
    /* session.c */
    struct {
        pthread_mutex_t open_lock; /* claiming a free slot */
        /* __atomic loads: published once, freed at C_Finalize */
        ng_session_slot *chunks[NG_SESSION_CHUNKS];
        uint64_t sequence;    /* under open_lock: the next handle's high bits */
        unsigned long n_open; /* __atomic */
    } sessions;
    /* builtins.c and objects.c */
    ng_roots roots;
    /* log.c */
    struct {
        unsigned sinks;     /* configured */
        unsigned working;   /* configured sinks that took the probe at configure time */
        unsigned fallback;  /* where events no configured sink takes go */
        unsigned ratelimit; /* seconds */
        char path[1024];
        uint32_t lost; /* __atomic: events no configured sink took since one did */
        pthread_mutex_t repeats_lock;
        ng_log_repeat repeats[NG_LOG_REPEATS];
    } log;
    /* trace.c: set once (trace_once), read after */
    struct {
        unsigned areas; /* 0 = off */
        int fd;
        CK_FUNCTION_LIST *real;
        CK_FUNCTION_LIST traced;
    } trace;
} ng_state;

extern ng_state ng;

/* The generation queries read now, and the reload epoch (overlay.c changes
 * them): inline, so that a query does not leave for overlay.c. */
static inline ng_overlay *
ng_overlays_current(void)
{
    return __atomic_load_n(&ng.current, __ATOMIC_SEQ_CST);
}

static inline uint64_t
ng_overlays_epoch(void)
{
    return __atomic_load_n(&ng.epoch, __ATOMIC_SEQ_CST);
}

/* ---- session.c's hot part: a session's slot, its lock, its pin ----
 * Inline here, not in session.c: every PKCS#11 call that takes a session
 * runs them (a trust query: acquire, pin, release), a few instructions
 * each, and a call into session.c would put one more file on the query's
 * path. session.c keeps opening, closing and managing the table, and the
 * other half of the pin's protocol (ng_sessions_may_read: see its header
 * comment). */

/* The slot a handle names (its low 16 bits), or NULL when that slot's chunk
 * was never allocated. */
static inline ng_session_slot *
ng_session_slot_of(CK_SESSION_HANDLE handle)
{
    size_t index = handle & 0xffff;
    ng_session_slot *chunk =
        __atomic_load_n(&ng.sessions.chunks[index / NG_SESSION_CHUNK], __ATOMIC_ACQUIRE);

    return chunk ? &chunk[index % NG_SESSION_CHUNK] : NULL;
}

/* Finds a session and locks it (its own lock only); release with
 * ng_session_release. */
static inline CK_RV
ng_session_acquire(CK_SESSION_HANDLE handle, ng_session **sess)
{
    ng_session_slot *sl = ng_session_slot_of(handle);

    if (!sl)
        return CKR_SESSION_HANDLE_INVALID;
    pthread_mutex_lock(&sl->lock);
    if (!sl->session || sl->session->handle != handle) {
        pthread_mutex_unlock(&sl->lock);
        return CKR_SESSION_HANDLE_INVALID;
    }
    *sess = sl->session;
    return CKR_OK;
}

static inline void
ng_session_release(ng_session *sess)
{
    pthread_mutex_unlock(&ng_session_slot_of(sess->handle)->lock);
}

/* Makes the current generation the session's, for a new search. */
static inline void
ng_session_pin(ng_session *s)
{
    ng_session_slot *sl;
    ng_overlay *ov = ng_overlays_current();
    uint64_t e;

    /* The session reads it already: held[0] carries its id, so it cannot be
     * freed; no switch to announce (and no fence on every query). s->cur
     * is held, so no other generation can have its address. */
    if (ov == s->cur)
        return;
    sl = ng_session_slot_of(s->handle);
    e = ng_overlays_epoch();
    /* Announce the switch before reading `current` again: a generation
     * replaced after this point is not freed until the switch is over. */
    __atomic_store_n(&sl->pinning, e, __ATOMIC_SEQ_CST);
    ov = ng_overlays_current();
    if (ov != s->cur) {
        /* keep one generation back, so that handles found just before a
         * reload still resolve; the id being dropped is never the only one
         * published in between */
        s->prev = s->cur;
        __atomic_store_n(&sl->held[1], s->prev ? s->prev->id : 0, __ATOMIC_RELAXED);
        s->cur = ov;
        __atomic_store_n(&sl->held[0], ov ? ov->id : 0, __ATOMIC_RELAXED);
    }
    /* release: a reclaimer that sees the switch over sees the ids above */
    __atomic_store_n(&sl->pinning, 0, __ATOMIC_RELEASE);
}

/* CLOCK_MONOTONIC_COARSE in milliseconds: a few ms of grain is plenty for
 * the reload interval, and it costs no system call. */
static inline uint64_t
ng_clock_coarse_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Each query's poll: reload when the interval has passed (overlay.c), else
 * nothing. A forked child serves what it inherited and never reloads. */
static inline void
ng_overlays_poll(void)
{
    uint64_t now = ng_clock_coarse_ms();

    if (__atomic_load_n(&ng.forked, __ATOMIC_RELAXED) ||
        now < __atomic_load_n(&ng.next_check_ms, __ATOMIC_RELAXED))
        return;
    ng_overlays_poll_due(now);
}

#endif /* NSSGUARD_INTERNAL_H */

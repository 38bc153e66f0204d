/*
 * corpus.c: certificates from any corpus: PEM bundles, DER files,
 * directories, NSS databases and CCADB's CSV (see corpus.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <base64.h>
#include <cert.h>
#include <pk11pub.h>
#include <secmod.h>

#include "corpus.h"

#define CORPUS_DIR_DEPTH 16
#define CORPUS_TOKEN "nssguard corpus"

static const char csv_header[] = "SHA-256 Fingerprint,";
static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && strcmp(s + n - m, suffix) == 0;
}

bool
tool_corpus_is_csv(const char *spec)
{
    return has_suffix(spec, ".csv") || has_suffix(spec, ".csv.xz");
}

static bool
bytes_eq(ng_bytes a, ng_bytes b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

/* ---- the store ---- */

static uint64_t
der_key(ng_bytes der)
{
    return ng_entry_hash(der, (ng_bytes){NULL, 0});
}

/* Keyed by the SPKI hash alone: the subject is compared after, under RFC
 * 5280 (see tool_corpus_next_subject_key). */
static uint64_t
subject_key_key(const unsigned char sha[32])
{
    return ng_entry_hash((ng_bytes){sha, 32}, (ng_bytes){NULL, 0});
}

/* The index of the certificate with these bytes, or SIZE_MAX. */
static size_t
find_der(const tool_corpus *c, ng_bytes der)
{
    size_t cursor = SIZE_MAX, v;

    while ((v = tool_hmap_next(&c->by_der, der_key(der), &cursor)) != SIZE_MAX) {
        if (bytes_eq(c->certs[v].der, der))
            return v;
    }
    return SIZE_MAX;
}

/* Records where a copy of certs[of] was read. */
static bool
add_copy(tool_corpus *c, size_t of, const char *origin)
{
    tool_corpus_copy *nc = realloc(c->copies, (c->n_duplicates + 1) * sizeof(*nc));

    if (!nc)
        return false;
    c->copies = nc;
    nc[c->n_duplicates].of = of;
    if (!(nc[c->n_duplicates].origin = strdup(origin)))
        return false;
    c->n_duplicates++;
    return true;
}

const char *
tool_corpus_next_copy(const tool_corpus *c, const tool_corpus_cert *cc, size_t *cursor)
{
    size_t of = (size_t)(cc - c->certs);

    for (; *cursor < c->n_duplicates; (*cursor)++) {
        if (c->copies[*cursor].of == of)
            return c->copies[(*cursor)++].origin;
    }
    return NULL;
}

/* Takes `der` (malloc'd) on success. */
static bool
corpus_take(tool_corpus *c, unsigned char *der, size_t len, const char *origin)
{
    tool_corpus_cert *cc;
    ng_cert_parts parts;
    ng_bytes d = {der, len};

    if (!ng_der_is_sequence(d) || !ng_der_cert_parts(d, &parts))
        return false;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        tool_corpus_cert *nc = realloc(c->certs, cap * sizeof(*nc));
        if (!nc)
            return false;
        c->certs = nc;
        c->cap = cap;
    }
    cc = &c->certs[c->n];
    memset(cc, 0, sizeof(*cc));
    cc->der = d;
    cc->issuer = parts.issuer;
    cc->serial_der = parts.serial;
    cc->subject = parts.subject;
    cc->spki = parts.spki;
    if (PK11_HashBuf(SEC_OID_SHA256, cc->spki_sha256, parts.spki.data, (PRInt32)parts.spki.len) !=
            SECSuccess ||
        !(cc->origin = strdup(origin)))
        return false;
    if (!tool_hmap_add(&c->by_issuer_serial, ng_entry_hash(cc->issuer, cc->serial_der)) ||
        !tool_hmap_add(&c->by_subject_key, subject_key_key(cc->spki_sha256)) ||
        !tool_hmap_add(&c->by_der, der_key(d))) {
        free((char *)cc->origin);
        return false; /* the maps are out of step: the caller gives up */
    }
    c->n++;
    return true;
}

bool
tool_corpus_add(tool_corpus *c, const unsigned char *der, size_t len, const char *origin)
{
    unsigned char *copy;
    size_t first = find_der(c, (ng_bytes){der, len});

    if (first != SIZE_MAX)
        return add_copy(c, first, origin);
    copy = malloc(len ? len : 1);
    if (!copy)
        return false;
    memcpy(copy, der, len);
    if (!corpus_take(c, copy, len, origin)) {
        free(copy);
        return false;
    }
    return true;
}

void
tool_corpus_clear(tool_corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free((unsigned char *)c->certs[i].der.data);
        free((char *)c->certs[i].origin);
    }
    free(c->certs);
    for (size_t i = 0; i < c->n_duplicates; i++)
        free(c->copies[i].origin);
    free(c->copies);
    tool_hmap_clear(&c->by_issuer_serial);
    tool_hmap_clear(&c->by_subject_key);
    tool_hmap_clear(&c->by_der);
    memset(c, 0, sizeof(*c));
}

/* Drops what was added since `mark` (a spec that failed half way). */
static void
corpus_truncate(tool_corpus *c, size_t mark, size_t dup_mark)
{
    tool_corpus keep;

    for (size_t i = dup_mark; i < c->n_duplicates; i++)
        free(c->copies[i].origin);
    c->n_duplicates = dup_mark;
    if (c->n == mark)
        return;
    keep = *c;
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < keep.n; i++) {
        if (i < mark)
            tool_corpus_add(c, keep.certs[i].der.data, keep.certs[i].der.len, keep.certs[i].origin);
    }
    /* the copies read before `mark` name certificates before it */
    c->copies = keep.copies;
    c->n_duplicates = dup_mark;
    keep.copies = NULL;
    keep.n_duplicates = 0;
    tool_corpus_clear(&keep);
}

const tool_corpus_cert *
tool_corpus_find_issuer_serial(const tool_corpus *c, ng_bytes issuer, ng_bytes serial_der)
{
    size_t cursor = SIZE_MAX, v;

    while ((v = tool_hmap_next(&c->by_issuer_serial, ng_entry_hash(issuer, serial_der), &cursor)) !=
           SIZE_MAX) {
        if (bytes_eq(c->certs[v].issuer, issuer) && bytes_eq(c->certs[v].serial_der, serial_der))
            return &c->certs[v];
    }
    return NULL;
}

const tool_corpus_cert *
tool_corpus_next_subject_key(const tool_corpus *c, ng_bytes subject,
                             const unsigned char spki_sha256[32], size_t *cursor)
{
    size_t v;

    while ((v = tool_hmap_next(&c->by_subject_key, subject_key_key(spki_sha256), cursor)) !=
           SIZE_MAX) {
        /* the same CA whatever string types or case its issuers wrote its
         * name in: a cross-signing CA may re-encode the subject */
        if (memcmp(c->certs[v].spki_sha256, spki_sha256, 32) == 0 &&
            (bytes_eq(c->certs[v].subject, subject) ||
             ng_der_name_equal_rfc5280(c->certs[v].subject, subject)))
            return &c->certs[v];
    }
    return NULL;
}

/* ---- PEM and DER ---- */

/* One PEM block's base64 (between BEGIN and END, NUL-terminated by the
 * caller) as a certificate. */
static bool
pem_one(tool_corpus *c, char *b64, const char *origin, const char **why)
{
    unsigned len = 0;
    unsigned char *der = ATOB_AsciiToData(b64, &len);
    bool ok;

    if (!der || len == 0) {
        if (der)
            PORT_Free(der);
        *why = "bad base64 in a PEM certificate";
        return false;
    }
    ok = tool_corpus_add(c, der, len, origin);
    PORT_Free(der);
    if (!ok)
        *why = "a PEM block that is not a certificate";
    return ok;
}

/* Every PEM certificate in text (NUL-terminated, modified). */
static bool
pem_all(tool_corpus *c, char *text, const char *path, unsigned *count, const char **why)
{
    char origin[4200], *p, *end;

    *count = 0;
    for (p = text; (p = strstr(p, pem_begin)) != NULL; p = end + sizeof(pem_end) - 1) {
        p += sizeof(pem_begin) - 1;
        end = strstr(p, pem_end);
        if (!end) {
            *why = "PEM certificate without an END line";
            return false;
        }
        *end = '\0';
        ++*count;
        if (*count == 1)
            snprintf(origin, sizeof(origin), "%s", path);
        else
            snprintf(origin, sizeof(origin), "%s#%u", path, *count);
        if (!pem_one(c, p, origin, why))
            return false;
    }
    return true;
}

/* ---- CCADB's CSV ---- */

typedef struct {
    const char *p, *end, *path;
    unsigned line;
    char *buf; /* the current field, unquoted */
    size_t len, cap;
} csv_in;

static bool
csv_put(csv_in *in, char ch)
{
    if (in->len + 1 >= in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 4096;
        char *nb = realloc(in->buf, cap);
        if (!nb)
            return false;
        in->buf = nb;
        in->cap = cap;
    }
    in->buf[in->len++] = ch;
    in->buf[in->len] = '\0';
    return true;
}

/* A quoted field, the opening quote at in->p. */
static bool
csv_quoted(csv_in *in, const char **why)
{
    unsigned start = in->line;

    for (in->p++;; in->p++) {
        if (in->p == in->end) {
            static char msg[64];
            snprintf(msg, sizeof(msg), "line %u: a quoted field that never ends", start);
            *why = msg;
            return false;
        }
        if (*in->p == '"') {
            if (in->p + 1 < in->end && in->p[1] == '"') {
                in->p++;
            } else {
                in->p++;
                return true;
            }
        }
        if (*in->p == '\n')
            in->line++;
        if (!csv_put(in, *in->p)) {
            *why = "out of memory";
            return false;
        }
    }
}

/* One field into in->buf; *eor when it ended its record. */
static bool
csv_field(csv_in *in, bool *eor, const char **why)
{
    static char msg[80];

    in->len = 0;
    if (!csv_put(in, '\0'))
        goto oom;
    in->len = 0;
    if (in->p < in->end && *in->p == '"') {
        if (!csv_quoted(in, why))
            return false;
        if (in->p < in->end && *in->p != ',' && *in->p != '\n' && *in->p != '\r') {
            snprintf(msg, sizeof(msg), "line %u: text after a closing quote", in->line);
            *why = msg;
            return false;
        }
    }
    for (; in->p < in->end && *in->p != ',' && *in->p != '\n'; in->p++) {
        if (*in->p == '"' || (*in->p == '\r' && in->p + 1 < in->end && in->p[1] != '\n')) {
            snprintf(msg, sizeof(msg), "line %u: a stray quote or carriage return", in->line);
            *why = msg;
            return false;
        }
        if (*in->p != '\r' && !csv_put(in, *in->p))
            goto oom;
    }
    *eor = in->p == in->end || *in->p == '\n';
    if (in->p < in->end && *in->p++ == '\n')
        in->line++;
    return true;
oom:
    *why = "out of memory";
    return false;
}

/* The first field names the certificate's SHA-256: it must be the one read. */
static bool
csv_fingerprint_ok(const char *hex, const tool_corpus_cert *cc)
{
    unsigned char sha[32];
    char mine[65];

    if (PK11_HashBuf(SEC_OID_SHA256, sha, cc->der.data, (PRInt32)cc->der.len) != SECSuccess)
        return false;
    for (size_t i = 0; i < 32; i++)
        snprintf(mine + 2 * i, 3, "%02x", sha[i]);
    return strcasecmp(hex, mine) == 0;
}

/* One record's two fields: a fingerprint and one PEM certificate. */
static bool
csv_record(tool_corpus *c, csv_in *in, const char *fpr, unsigned line, const char **why)
{
    static char msg[160];
    char origin[4200], *b, *e;
    size_t before = c->n;

    b = strstr(in->buf, pem_begin);
    e = b ? strstr(b, pem_end) : NULL;
    if (!b || !e || strstr(e + 1, pem_begin)) {
        snprintf(msg, sizeof(msg), "line %u: the second field is not one PEM certificate", line);
        *why = msg;
        return false;
    }
    *e = '\0';
    snprintf(origin, sizeof(origin), "%s:%u", in->path, line);
    if (!pem_one(c, b + sizeof(pem_begin) - 1, origin, why)) {
        snprintf(msg, sizeof(msg), "line %u: %s", line, *why);
        *why = msg;
        return false;
    }
    /* a byte-identical copy of one read before is checked too */
    if (!csv_fingerprint_ok(fpr, c->n > before ? &c->certs[before]
                                               : &c->certs[c->copies[c->n_duplicates - 1].of])) {
        snprintf(msg, sizeof(msg), "line %u: the certificate's SHA-256 is not %.64s", line, fpr);
        *why = msg;
        return false;
    }
    return true;
}

static bool
csv_parse(tool_corpus *c, const char *text, size_t len, const char *path, const char **why)
{
    static char msg[96];
    csv_in in = {text, text + len, path, 1, NULL, 0, 0};
    char fpr[80] = "";
    bool eor, two, ok = false;
    unsigned line;

    while (in.p < in.end) {
        if (*in.p == '\n' || (*in.p == '\r' && in.p + 1 < in.end && in.p[1] == '\n')) {
            in.p += *in.p == '\r' ? 2 : 1; /* an empty line */
            in.line++;
            continue;
        }
        line = in.line;
        if (!csv_field(&in, &eor, why))
            goto out;
        two = !eor;
        snprintf(fpr, sizeof(fpr), "%s", in.buf);
        if (two && !csv_field(&in, &eor, why))
            goto out;
        if (!two || !eor) {
            snprintf(msg, sizeof(msg), "line %u: want two fields", line);
            *why = msg;
            goto out;
        }
        if (strcmp(fpr, "SHA-256 Fingerprint") == 0 &&
            strcmp(in.buf, "X.509 Certificate (PEM)") == 0)
            continue; /* the header, at the start of each year */
        if (!csv_record(c, &in, fpr, line, why))
            goto out;
    }
    ok = true;
out:
    free(in.buf);
    return ok;
}

/* ---- files ---- */

/* `xz -dc PATH` into memory, at most TOOL_INPUT_MAX bytes. */
static bool
read_xz(const char *path, unsigned char **data, size_t *len, const char **why)
{
    int fds[2], status;
    pid_t pid;
    FILE *fp;
    bool ok, read_ok;

    if (pipe(fds) != 0) {
        *why = strerror(errno);
        return false;
    }
    pid = fork();
    if (pid < 0) {
        *why = strerror(errno);
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("xz", "xz", "-dc", "--", path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    fp = fdopen(fds[0], "rb");
    ok = read_ok = fp && tool_read_stream(fp, data, len, why);
    if (!fp) {
        *why = strerror(errno);
        close(fds[0]);
    } else {
        fclose(fp); /* over the limit: xz gets SIGPIPE */
    }
    if (!ok)
        kill(pid, SIGTERM);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (ok && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        *why = WIFEXITED(status) && WEXITSTATUS(status) == 127
                   ? "cannot run xz (install it, or decompress the file first)"
                   : "xz could not decompress it";
        ok = false;
    }
    if (!ok && read_ok)
        free(*data);
    return ok;
}

static bool
load_file(tool_corpus *c, const char *path, bool in_dir, const char **why)
{
    unsigned char *data = NULL;
    size_t len = 0;
    unsigned count;
    bool ok = false, xz = has_suffix(path, ".csv.xz");

    if (!(xz ? read_xz(path, &data, &len, why) : tool_read_file(path, &data, &len, why)))
        return false;
    if (len == 0) {
        *why = "empty file";
    } else if (xz || has_suffix(path, ".csv") ||
               (len >= sizeof(csv_header) - 1 &&
                memcmp(data, csv_header, sizeof(csv_header) - 1) == 0)) {
        ok = csv_parse(c, (const char *)data, len, path, why);
    } else if (data[0] == 0x30) {
        ok = tool_corpus_add(c, data, len, path);
        if (!ok && in_dir) {
            tool_error("%s: not a certificate, skipped", path);
            ok = true;
        } else if (!ok) {
            *why = "not a DER or PEM certificate";
        }
    } else if (memchr(data, '\0', len)) {
        *why = "not a DER or PEM certificate";
    } else if ((ok = pem_all(c, (char *)data, path, &count, why)) && count == 0) {
        *why = "no certificate found (want DER or PEM)";
        ok = false;
    }
    free(data);
    return ok;
}

/* ---- directories ---- */

static bool
corpus_file_name(const char *name)
{
    static const char *const exts[] = {".pem", ".crt", ".cer", ".der", ".csv", ".csv.xz"};

    if (name[0] == '.')
        return false;
    for (size_t i = 0; i < NG_N_ELEMENTS(exts); i++) {
        if (has_suffix(name, exts[i]))
            return true;
    }
    return false;
}

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory (not dot files), sorted. */
static char **
dir_names(const char *path, size_t *n, const char **why)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char **names = NULL, **nn;

    *n = 0;
    if (!d) {
        *why = strerror(errno);
        return NULL;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        nn = realloc(names, (*n + 2) * sizeof(*nn));
        if (!nn || asprintf(&nn[*n], "%s/%s", path, de->d_name) < 0) {
            names = nn ? nn : names;
            *why = "out of memory";
            break;
        }
        names = nn;
        names[++*n] = NULL;
    }
    closedir(d);
    if (names)
        qsort(names, *n, sizeof(*names), compare_strings);
    else if (!de)
        names = calloc(1, sizeof(*names));
    return names;
}

static bool
load_dir(tool_corpus *c, const char *path, unsigned depth, const char **why)
{
    size_t n;
    char **names = dir_names(path, &n, why);
    bool ok = names != NULL;

    if (depth > CORPUS_DIR_DEPTH) {
        *why = "directories nested deeper than 16 levels";
        ok = false;
    }
    for (size_t i = 0; ok && i < n; i++) {
        struct stat st;
        if (lstat(names[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            ok = load_dir(c, names[i], depth + 1, why);
        } else if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) &&
                   corpus_file_name(strrchr(names[i], '/') + 1) &&
                   !(ok = load_file(c, names[i], true, why))) {
            tool_error("%s: %s", names[i], *why ? *why : "out of memory");
            *why = "a file in it could not be read";
        }
    }
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    return ok;
}

/* ---- NSS databases ---- */

static bool
load_nssdb(tool_corpus *c, const char *spec, const char **why)
{
    char *params = NULL, origin[1200];
    PK11SlotInfo *slot;
    CERTCertList *list;
    CERTCertListNode *node;
    bool ok = true;

    if (strchr(spec, '\'') || strchr(spec, '"')) {
        *why = "an NSS database path with a quote in it";
        return false;
    }
    if (asprintf(&params, "configdir='%s' tokenDescription='" CORPUS_TOKEN "' flags=readOnly",
                 spec) < 0)
        return false;
    slot = SECMOD_OpenUserDB(params);
    free(params);
    if (!slot || !PK11_IsPresent(slot)) {
        *why = "cannot open the NSS database";
        if (slot)
            PK11_FreeSlot(slot);
        return false;
    }
    list = PK11_ListCertsInSlot(slot);
    for (node = list ? CERT_LIST_HEAD(list) : NULL; list && !CERT_LIST_END(node, list);
         node = CERT_LIST_NEXT(node)) {
        const char *nick = node->cert->nickname ? node->cert->nickname : "(no nickname)";
        if (strncmp(nick, CORPUS_TOKEN ":", sizeof(CORPUS_TOKEN)) == 0)
            nick += sizeof(CORPUS_TOKEN); /* the token's name, which we chose */
        snprintf(origin, sizeof(origin), "%s %s", spec, nick);
        if (!(ok = tool_corpus_add(c, node->cert->derCert.data, node->cert->derCert.len, origin)))
            break;
    }
    if (list)
        CERT_DestroyCertList(list);
    SECMOD_CloseUserDB(slot);
    PK11_FreeSlot(slot);
    if (!ok)
        *why = "out of memory";
    return ok;
}

bool
tool_corpus_load(tool_corpus *c, const char *spec, const char **why)
{
    size_t mark = c->n, dup_mark = c->n_duplicates;
    struct stat st;
    bool ok;

    *why = NULL;
    if (strncmp(spec, "sql:", 4) == 0)
        ok = load_nssdb(c, spec, why);
    else if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode))
        ok = load_dir(c, spec, 0, why);
    else
        ok = load_file(c, spec, false, why);
    if (!ok) {
        corpus_truncate(c, mark, dup_mark);
        if (!*why)
            *why = "out of memory";
    }
    return ok;
}

bool
tool_corpus_load_all(tool_corpus *c, char *const *specs, size_t n_specs)
{
    const char *why;

    for (size_t i = 0; i < n_specs; i++) {
        if (!tool_corpus_load(c, specs[i], &why)) {
            tool_error("%s: %s", specs[i], why);
            return false;
        }
    }
    return true;
}

/*
 * util.c: what the subcommands share: reading certificates, writing overlay
 * records in certdata.txt syntax, JSON strings, and reading overlays through
 * the module's own parser and builder.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <base64.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>

#include "tool.h"

#define OCTALS_PER_LINE 16

static const char *const add_reasons[] = {"mitm", "revoked", "compromised", "misissued"};

void
tool_error(const char *fmt, ...)
{
    va_list ap;

    fputs("nssguard: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

bool
tool_valid_reason(const char *reason)
{
    for (size_t i = 0; i < NG_N_ELEMENTS(add_reasons); i++) {
        if (strcmp(reason, add_reasons[i]) == 0)
            return true;
    }
    return false;
}

bool
tool_read_file(const char *path, unsigned char **data, size_t *len, const char **why)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    bool ok;

    if (!fp) {
        *why = strerror(errno);
        return false;
    }
    ok = tool_read_stream(fp, data, len, why);
    if (fp != stdin)
        fclose(fp);
    return ok;
}

bool
tool_read_stream(FILE *fp, unsigned char **data, size_t *len, const char **why)
{
    unsigned char *buf = NULL, *bigger;
    size_t n = 0, cap = 0, got;
    bool ok = false;

    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16384;
            if (cap > TOOL_INPUT_MAX + 1) /* one byte past the limit tells */
                cap = TOOL_INPUT_MAX + 1;
            bigger = realloc(buf, cap + 1);
            if (!bigger) {
                *why = "out of memory";
                goto out;
            }
            buf = bigger;
        }
        got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (n > TOOL_INPUT_MAX) {
            *why = "larger than the " TOOL_INPUT_MAX_TEXT " the tool reads from one input "
                   "(a device, or a stream that does not end?)";
            goto out;
        }
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        *why = strerror(errno);
        goto out;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
    ok = true;
out:
    free(buf);
    return ok;
}

/* ---- certificates ---- */

void
tool_certs_clear(tool_certs *certs)
{
    for (size_t i = 0; i < certs->n; i++) {
        PORT_Free(certs->items[i].data);
        free(certs->origins[i]);
    }
    free(certs->items);
    free(certs->origins);
    memset(certs, 0, sizeof(*certs));
}

static bool
certs_take(tool_certs *certs, unsigned char *der, unsigned len, const char *origin)
{
    SECItem *ni = realloc(certs->items, (certs->n + 1) * sizeof(*ni));
    char **no;

    if (!ni)
        return false;
    certs->items = ni;
    no = realloc(certs->origins, (certs->n + 1) * sizeof(*no));
    if (!no)
        return false;
    certs->origins = no;
    certs->origins[certs->n] = strdup(origin);
    if (!certs->origins[certs->n])
        return false;
    certs->items[certs->n] = (SECItem){siBuffer, der, len};
    certs->n++;
    return true;
}

bool
tool_certs_read_args(tool_certs *certs, int argc, char **argv, int from)
{
    const char *why;

    for (int i = from; i < argc; i++) {
        if (!tool_certs_read_file(certs, argv[i], &why)) {
            tool_error("%s: %s", argv[i], why);
            return false;
        }
    }
    return true;
}

bool
tool_strv_push(char ***v, size_t *n, char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

    if (!nv)
        return false;
    nv[(*n)++] = s;
    *v = nv;
    return true;
}

static bool
certs_push(tool_certs *certs, const unsigned char *der, size_t len, const char *origin)
{
    unsigned char *copy = PORT_Alloc(len ? len : 1);

    if (!copy)
        return false;
    memcpy(copy, der, len);
    if (!certs_take(certs, copy, (unsigned)len, origin)) {
        PORT_Free(copy);
        return false;
    }
    return true;
}

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

bool
tool_certs_read_file(tool_certs *certs, const char *path, const char **why)
{
    unsigned char *data = NULL;
    size_t len = 0;
    char *p, *end, origin[4096];
    unsigned char *der;
    unsigned der_len, count = 0;
    bool ok = false;

    if (!tool_read_file(path, &data, &len, why))
        goto out;
    if (len == 0) {
        *why = "empty file";
        goto out;
    }
    if (data[0] == 0x30) {
        if (!ng_der_is_sequence((ng_bytes){data, len})) {
            *why = "not a DER or PEM certificate";
            goto out;
        }
        ok = certs_push(certs, data, len, path);
        if (!ok)
            *why = "out of memory";
        goto out;
    }
    if (memchr(data, '\0', len)) {
        *why = "not a DER or PEM certificate";
        goto out;
    }
    for (p = (char *)data; (p = strstr(p, pem_begin)) != NULL; p = end + sizeof(pem_end) - 1) {
        p += sizeof(pem_begin) - 1;
        end = strstr(p, pem_end);
        if (!end) {
            *why = "PEM certificate without an END line";
            goto out;
        }
        *end = '\0';
        der = ATOB_AsciiToData(p, &der_len);
        if (!der || der_len == 0 || der[0] != 0x30) {
            if (der)
                PORT_Free(der);
            *why = "bad base64 in a PEM certificate";
            goto out;
        }
        count++;
        if (count == 1)
            snprintf(origin, sizeof(origin), "%s", path);
        else
            snprintf(origin, sizeof(origin), "%s#%u", path, count);
        if (!certs_take(certs, der, der_len, origin)) {
            PORT_Free(der);
            *why = "out of memory";
            goto out;
        }
    }
    if (count == 0) {
        *why = "no certificate found (want DER or PEM)";
        goto out;
    }
    ok = true;
out:
    free(data);
    return ok;
}

bool
tool_nss_init(const char *db)
{
    SECStatus rv;

    if (db)
        rv = NSS_Initialize(db, "", "", SECMOD_DB, NSS_INIT_READONLY);
    else
        rv = NSS_NoDB_Init(NULL);
    if (rv != SECSuccess) {
        tool_error("cannot initialise NSS%s%s: %s", db ? " with " : "", db ? db : "",
                   PR_ErrorToName(PR_GetError()) ? PR_ErrorToName(PR_GetError()) : "error");
        return false;
    }
    return true;
}

void
tool_nss_shutdown(void)
{
    NSS_Shutdown();
}

tool_recorded
tool_compare_recorded(const ng_entry *e, ng_bytes der)
{
    ng_bytes mine, theirs;

    if (!e->cert.len)
        return TOOL_RECORDED_NONE;
    if (e->cert.len == der.len && memcmp(e->cert.data, der.data, der.len) == 0)
        return TOOL_RECORDED_SAME;
    if (ng_der_cert_tbs(der, &mine) && ng_der_cert_tbs(e->cert, &theirs) &&
        mine.len == theirs.len && memcmp(mine.data, theirs.data, mine.len) == 0)
        return TOOL_RECORDED_REENCODED;
    return TOOL_RECORDED_OTHER;
}

bool
tool_spki_sha256(const CERTCertificate *cert, unsigned char out[32])
{
    ng_cert_parts parts;

    if (!ng_der_cert_parts((ng_bytes){cert->derCert.data, cert->derCert.len}, &parts))
        return false;
    return PK11_HashBuf(SEC_OID_SHA256, out, parts.spki.data, (PRInt32)parts.spki.len) ==
           SECSuccess;
}

/* ---- writing records ---- */

void
tool_write_octal(FILE *out, const char *attr, const unsigned char *data, size_t len)
{
    fprintf(out, "%s MULTILINE_OCTAL\n", attr);
    for (size_t i = 0; i < len; i++) {
        fprintf(out, "\\%03o", data[i]);
        if ((i + 1) % OCTALS_PER_LINE == 0 || i + 1 == len)
            fputc('\n', out);
    }
    fputs("END\n", out);
}

void
tool_write_utf8(FILE *out, const char *attr, const char *text)
{
    fprintf(out, "%s UTF8 \"", attr);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p > 0x7e)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputs("\"\n", out);
}

void
tool_write_comment(FILE *out, const char *text)
{
    bool start = true;

    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (start)
            fputs(*p == '\n' ? "#" : "# ", out);
        start = false;
        if (*p == '\n') {
            fputc('\n', out);
            start = true;
        } else {
            fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
        }
    }
    if (!start)
        fputc('\n', out);
}

static void
object_header(FILE *out, const char *cls, const char *label)
{
    fprintf(out, "CKA_CLASS CK_OBJECT_CLASS %s\n", cls);
    fputs("CKA_TOKEN CK_BBOOL CK_TRUE\n", out);
    fputs("CKA_PRIVATE CK_BBOOL CK_FALSE\n", out);
    fputs("CKA_MODIFIABLE CK_BBOOL CK_FALSE\n", out);
    tool_write_utf8(out, "CKA_LABEL", label ? label : "");
}

void
tool_write_entry(FILE *out, const tool_entry *e)
{
    if (e->comment)
        tool_write_comment(out, e->comment);
    if (e->cert.len) {
        object_header(out, "CKO_CERTIFICATE", e->label);
        fputs("CKA_CERTIFICATE_TYPE CK_CERTIFICATE_TYPE CKC_X_509\n", out);
        tool_write_octal(out, "CKA_SUBJECT", e->subject.data, e->subject.len);
        fputs("CKA_ID UTF8 \"0\"\n", out);
        tool_write_octal(out, "CKA_ISSUER", e->issuer.data, e->issuer.len);
        tool_write_octal(out, "CKA_SERIAL_NUMBER", e->serial_der.data, e->serial_der.len);
        tool_write_octal(out, "CKA_VALUE", e->cert.data, e->cert.len);
        fputc('\n', out);
    }
    object_header(out, "CKO_NSS_TRUST", e->label);
    if (e->has_sha1)
        tool_write_octal(out, "CKA_CERT_SHA1_HASH", e->sha1, sizeof(e->sha1));
    if (e->has_md5)
        tool_write_octal(out, "CKA_CERT_MD5_HASH", e->md5, sizeof(e->md5));
    if (e->issuer.len) {
        tool_write_octal(out, "CKA_ISSUER", e->issuer.data, e->issuer.len);
        tool_write_octal(out, "CKA_SERIAL_NUMBER", e->serial_der.data, e->serial_der.len);
    } else { /* a key entry (issue 13): the subject, and the key's hash below */
        tool_write_octal(out, "CKA_SUBJECT", e->subject.data, e->subject.len);
    }
    if (!e->no_distrust) {
        static const char *const names[] = {"CKA_TRUST_SERVER_AUTH", "CKA_TRUST_CLIENT_AUTH",
                                            "CKA_TRUST_EMAIL_PROTECTION", "CKA_TRUST_CODE_SIGNING"};
        for (unsigned i = 0; i < NG_N_ELEMENTS(names); i++) {
            if (!e->trust_as_given || (e->not_trusted & (1u << i)))
                fprintf(out, "%s CK_TRUST CKT_NSS_NOT_TRUSTED\n", names[i]);
        }
    }
    fputs("CKA_TRUST_STEP_UP_APPROVED CK_BBOOL CK_FALSE\n", out);
#define SCHEMA_WRITE(field, cka, name, check, listed)                                              \
    if (e->field.len)                                                                              \
        tool_write_octal(out, name, e->field.data, e->field.len);
    NG_ENTRY_ATTRS(SCHEMA_WRITE) /* module/schema.h */
#undef SCHEMA_WRITE
    if (e->distrust_after) {
        tool_write_octal(out, "CKA_NSS_SERVER_DISTRUST_AFTER",
                         (const unsigned char *)e->distrust_after, strlen(e->distrust_after));
        tool_write_octal(out, "CKA_NSS_EMAIL_DISTRUST_AFTER",
                         (const unsigned char *)e->distrust_after, strlen(e->distrust_after));
    }
    tool_write_utf8(out, "CKA_NSSGUARD_REASON", e->reason);
    tool_write_utf8(out, "CKA_NSSGUARD_REFERENCE", e->reference ? e->reference : "");
    fputc('\n', out);
}

bool
tool_write_atomic(const char *path, const char *buf, size_t len, mode_t mode)
{
    char *real = realpath(path, NULL), *tmp = NULL, *slash;
    const char *target = real ? real : path;
    struct stat old;
    bool had = stat(target, &old) == 0 && S_ISREG(old.st_mode), ok;
    int fd = -1, saved;

    /* beside the target, a dot file: the module's folder scan skips it */
    slash = strrchr(target, '/');
    if (asprintf(&tmp, "%.*s.%s.nssguard-XXXXXX", slash ? (int)(slash - target + 1) : 0, target,
                 slash ? slash + 1 : target) < 0) {
        tmp = NULL;
        ok = false;
    } else {
        fd = mkstemp(tmp);
        ok = fd >= 0;
    }
    ok = ok && ng_write_all(fd, buf, len);
    /* mode 0: a new file world-readable, as every user's browser must read
     * an overlay, an existing one its own mode; and its owner when we may
     * (else it becomes ours, as an editor would leave it) */
    if (!mode)
        mode = had ? old.st_mode & 07777 : 0644;
    ok = ok && fchmod(fd, mode) == 0;
    if (ok && had && fchown(fd, old.st_uid, old.st_gid) != 0)
        errno = 0;
    ok = ok && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    ok = ok && rename(tmp, target) == 0;
    saved = errno;
    if (!ok && fd >= 0)
        unlink(tmp);
    free(tmp);
    free(real);
    errno = saved;
    return ok;
}

int
tool_lock_for(const char *path)
{
    char *real = realpath(path, NULL), *copy = strdup(real ? real : path), *lock = NULL;
    int fd = -1;

    /* a file of our own, 0600, not the folder: anyone who can read a folder
     * can flock it, and would hold root's add for as long as they liked */
    if (copy && asprintf(&lock, "%s/.nssguard.lock", dirname(copy)) >= 0)
        fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    for (int tries = 0; fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0; tries++) {
        if (errno != EWOULDBLOCK || tries == 300) { /* 30 s: another add is stuck */
            if (errno == EWOULDBLOCK)
                errno = ETIMEDOUT;
            close(fd);
            fd = -1;
            break;
        }
        usleep(100000);
    }
    free(lock);
    free(copy);
    free(real);
    return fd;
}

bool
tool_write_output(const char *path, const char *buf, size_t len)
{
    struct stat st;
    FILE *fp;
    bool ok;

    /* Overlay text under a compiled overlay's name would replace an image
     * with a file the module refuses (it reads X.ngo as an image only). */
    if (path && strlen(path) >= 4 && strcmp(path + strlen(path) - 4, ".ngo") == 0) {
        tool_error("%s: a compiled overlay's name: write the text to a .txt file, and "
                   "nssguard compile it",
                   path);
        return false;
    }
    /* A file is replaced whole (a module reading it meanwhile sees the old
     * text or the new, never a part); a FIFO or a device (/dev/stdout) is
     * written as it is. */
    if (path && !(stat(path, &st) == 0 && !S_ISREG(st.st_mode))) {
        if (!tool_write_atomic(path, buf, len, 0)) {
            tool_error("%s: %s", path, strerror(errno));
            return false;
        }
        if (stat(path, &st) == 0 && (st.st_mode & 0444) != 0444)
            tool_error("warning: %s is mode %04o, kept: a process of a user who cannot read "
                       "it (a browser) loads nothing from it",
                       path, (unsigned)(st.st_mode & 07777));
        return true;
    }
    fp = path ? fopen(path, "w") : stdout;
    if (!fp) {
        tool_error("%s: %s", path, strerror(errno));
        return false;
    }
    ok = fwrite(buf, 1, len, fp) == len && fflush(fp) == 0;
    if (path && fclose(fp) != 0)
        ok = false;
    if (!ok)
        tool_error("%s: %s", path ? path : "stdout", strerror(errno));
    return ok;
}

const ng_entry *
tool_entry_for_der(const ng_index *idx, const ng_entry *entries, ng_bytes der)
{
    ng_bytes issuer, serial_der, serial;
    long i;

    if (!ng_der_cert_issuer_serial(der, &issuer, &serial_der) ||
        !ng_der_integer_value(serial_der, &serial))
        return NULL;
    i = ng_index_find(idx, entries, issuer, serial);
    return i < 0 ? NULL : &entries[i];
}

/* The entries (key entries too) an overlay text holds as the module would
 * load it, or -1 (err says why) when it does not load. From a file when buf
 * is NULL. */
static long
overlay_count(const char *name, const char *buf, size_t len, ng_error *err)
{
    ng_records recs;
    ng_entries ents;
    long n = -1;

    if (!(buf ? ng_parse_buffer(name, buf, len, &recs, err) : ng_parse_file(name, &recs, err)))
        return -1;
    memset(&ents, 0, sizeof(ents));
    if (ng_build_entries(&recs, &ents, err))
        n = (long)(ents.n_entries + ents.keys);
    ng_entries_clear(&ents);
    ng_records_clear(&recs);
    return n;
}

bool
tool_write_remade(const char *path, const char *buf, size_t len, bool shrink)
{
    struct stat st;
    ng_error err;
    long was, now;

    if (!path)
        return tool_write_output(path, buf, len);
    /* what the module would refuse whole (a --header that is not comments):
     * never, --shrink or not */
    if ((now = overlay_count(path, buf, len, &err)) < 0) {
        tool_error("%s: the new output is not an overlay the module loads (%s): not written", path,
                   err.msg);
        return false;
    }
    if (!shrink && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        (was = overlay_count(path, NULL, 0, &err)) > 0 && now < (was + 1) / 2) {
        tool_error("%s holds %ld entr%s and the new output has %ld: not written (an empty "
                   "or cut input would withdraw that distrust); --shrink writes it",
                   path, was, was == 1 ? "y" : "ies", now);
        return false;
    }
    return tool_write_output(path, buf, len);
}

unsigned char *
tool_der_integer(const unsigned char *value, size_t len, size_t *der_len)
{
    unsigned char *der, *p;
    size_t hdr = len < 0x80 ? 2 : len < 0x100 ? 3 : 4;

    if (len == 0 || len > 0xffff)
        return NULL;
    der = malloc(hdr + len);
    if (!der)
        return NULL;
    p = der;
    *p++ = 0x02;
    if (len >= 0x100) {
        *p++ = 0x82;
        *p++ = (unsigned char)(len >> 8);
    } else if (len >= 0x80) {
        *p++ = 0x81;
    }
    *p++ = (unsigned char)len;
    memcpy(p, value, len);
    *der_len = hdr + len;
    return der;
}

/* ---- JSON ---- */

void
tool_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* ---- overlays ---- */

void
tool_overlay_paths_free(char **paths)
{
    for (size_t i = 0; paths && paths[i]; i++)
        free(paths[i]);
    free(paths);
}

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* X.ngo beside X.txt in the list: the same entries, compiled from it. */
static bool
compiled_twin(char **paths, size_t n, const char *path)
{
    size_t len = strlen(path);

    if (!has_suffix(path, ".ngo"))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strlen(paths[i]) == len && has_suffix(paths[i], ".txt") &&
            strncmp(paths[i], path, len - 4) == 0)
            return true;
    }
    return false;
}

char **
tool_overlay_paths(char *const *args, size_t n_args)
{
    char **paths = NULL;
    size_t n = 0, kept = 0;
    ng_error err;

    paths = calloc(1, sizeof(*paths)); /* an empty, NULL-terminated array */
    if (!paths)
        return NULL;
    for (size_t i = 0; i < n_args; i++) {
        if (!ng_overlay_expand_path(args[i], &paths, &n, &err)) {
            tool_error("%s", err.msg);
            goto fail;
        }
        paths[n] = NULL;
    }
    /* The module serves X.ngo in place of X.txt while it is current; the
     * tool reads the text, which is what the image was compiled from. */
    for (size_t i = 0; i < n; i++) {
        if (compiled_twin(paths, n, paths[i]))
            free(paths[i]);
        else
            paths[kept++] = paths[i];
    }
    paths[kept] = NULL;
    return paths;
fail:
    paths[n] = NULL;
    tool_overlay_paths_free(paths);
    return NULL;
}

/* A compiled overlay: its entries (pointing into the mapped image) join the
 * others. 1 loaded, 0 refused (message printed), -1 out of memory. */
static int
load_image(tool_overlay *ov, const char *path)
{
    ng_error err;
    ng_image *img = ng_image_open(path, &err), **ni;
    size_t n;

    if (!img) {
        tool_error("%s (file refused)", err.msg);
        return 0;
    }
    n = ng_image_count(img);
    ni = realloc(ov->images, (ov->n_images + 1) * sizeof(*ni));
    if (!ni) {
        ng_image_free(img);
        return -1;
    }
    ov->images = ni;
    ov->images[ov->n_images++] = img;
    if (ov->ents.n_entries + n > ov->ents.cap) {
        ng_entry *ne = realloc(ov->ents.entries, (ov->ents.n_entries + n) * sizeof(*ne));
        if (!ne)
            return -1;
        ov->ents.entries = ne;
        ov->ents.cap = ov->ents.n_entries + n;
    }
    ng_image_entries(img, &ov->ents.entries[ov->ents.n_entries]); /* in file order */
    ov->ents.n_entries += n;
    return 1;
}

/* The overlays the configuration names ($NSSGUARD_CONFIG, the system file,
 * else the default $(datadir)/nssguard), less those that do not exist, each
 * said on stderr: the module skips them too (with a load_error), and a tool
 * run from the build tree before `make install` has no default overlay. The
 * tool then goes on with what is left, possibly nothing; it does not fall
 * back to the source tree's certdata/, which the module would not serve. */
static char **
configured_paths(ng_config *cfg)
{
    ng_error err;
    struct stat st;
    char **present, **paths;
    size_t n = 0;

    if (!ng_config_load(cfg, NULL, &err)) {
        tool_error("%s", err.msg);
        return NULL;
    }
    present = calloc(cfg->n_overlays + 1, sizeof(*present));
    if (!present)
        return NULL;
    for (size_t i = 0; i < cfg->n_overlays; i++) {
        if (stat(cfg->overlays[i], &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
            tool_error("no overlay at %s (nssguard is not installed, or runs from its build "
                       "tree): going on without it; name overlays with --overlay",
                       cfg->overlays[i]);
            continue;
        }
        present[n++] = cfg->overlays[i];
    }
    paths = tool_overlay_paths(present, n);
    free(present);
    return paths;
}

bool
tool_overlay_load(tool_overlay *ov, char *const *args, size_t n_args)
{
    ng_config cfg;
    ng_error err;
    char **paths = NULL;
    bool ok = false;

    memset(ov, 0, sizeof(*ov));
    memset(&cfg, 0, sizeof(cfg)); /* ng_config_load fills it; clearing it empty is fine */
    paths = n_args ? tool_overlay_paths(args, n_args) : configured_paths(&cfg);
    if (!paths)
        goto out;
    for (size_t i = 0; paths[i]; i++) {
        ng_records recs;
        ng_records *nf;
        if (has_suffix(paths[i], ".ngo")) {
            int r = load_image(ov, paths[i]);
            if (r < 0)
                goto out;
            ov->n_refused += r == 0;
            continue;
        }
        if (!ng_parse_file(paths[i], &recs, &err)) {
            tool_error("%s (file refused)", err.msg);
            ov->n_refused++;
            continue;
        }
        if (!ng_build_entries(&recs, &ov->ents, &err)) {
            tool_error("%s (file refused)", err.msg);
            ng_records_clear(&recs);
            ov->n_refused++;
            continue;
        }
        nf = realloc(ov->files, (ov->n_files + 1) * sizeof(*nf));
        if (!nf) {
            ng_records_clear(&recs);
            tool_error("out of memory");
            goto out;
        }
        ov->files = nf;
        ov->files[ov->n_files++] = recs;
    }
    ov->cert_index = calloc(ov->n_files + 1, sizeof(*ov->cert_index));
    if (!ov->cert_index)
        goto oom;
    for (size_t f = 0; f < ov->n_files; f++) {
        if (!tool_cert_index_build(&ov->cert_index[f], &ov->files[f]))
            goto oom;
    }
    if (!ng_index_build(&ov->index, ov->ents.entries, ov->ents.n_entries)) {
    oom:
        tool_error("out of memory");
        goto out;
    }
    ok = ov->n_files + ov->n_images > 0 || ov->n_refused == 0;
out:
    tool_overlay_paths_free(paths);
    ng_config_clear(&cfg);
    return ok;
}

void
tool_overlay_clear(tool_overlay *ov)
{
    ng_index_clear(&ov->index);
    ng_entries_clear(&ov->ents);
    for (size_t i = 0; i < ov->n_files; i++) {
        if (ov->cert_index)
            tool_cert_index_clear(&ov->cert_index[i]);
        ng_records_clear(&ov->files[i]);
    }
    free(ov->cert_index);
    free(ov->files);
    for (size_t i = 0; i < ov->n_images; i++)
        ng_image_free(ov->images[i]);
    free(ov->images);
    memset(ov, 0, sizeof(*ov));
}

const ng_entry *
tool_overlay_find(const tool_overlay *ov, const CERTCertificate *cert)
{
    return tool_entry_for_der(&ov->index, ov->ents.entries,
                              (ng_bytes){cert->derCert.data, cert->derCert.len});
}

/* ---- a multimap from 64-bit hashes to 0, 1, 2, ... (linear probing) ---- */

#define HMAP_EMPTY SIZE_MAX

static bool
hmap_grow(tool_hmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    size_t *slots = malloc(cap * sizeof(*slots));

    if (!slots)
        return false;
    for (size_t i = 0; i < cap; i++)
        slots[i] = HMAP_EMPTY;
    /* Values go in in increasing order, so each key's values stay in the
     * order they were added along its probe sequence. */
    for (size_t v = 0; v < m->n; v++) {
        size_t slot = (size_t)m->hashes[v] & (cap - 1);
        while (slots[slot] != HMAP_EMPTY)
            slot = (slot + 1) & (cap - 1);
        slots[slot] = v;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return true;
}

bool
tool_hmap_add(tool_hmap *m, uint64_t key)
{
    uint64_t *hashes;
    size_t slot;

    if ((m->n + 1) * 2 > m->cap && !hmap_grow(m))
        return false;
    hashes = realloc(m->hashes, (m->n + 1) * sizeof(*hashes));
    if (!hashes)
        return false;
    m->hashes = hashes;
    hashes[m->n] = key;
    slot = (size_t)key & (m->cap - 1);
    while (m->slots[slot] != HMAP_EMPTY)
        slot = (slot + 1) & (m->cap - 1);
    m->slots[slot] = m->n++;
    return true;
}

size_t
tool_hmap_next(const tool_hmap *m, uint64_t key, size_t *cursor)
{
    size_t slot;

    if (!m->cap)
        return SIZE_MAX;
    slot = *cursor == SIZE_MAX ? (size_t)key & (m->cap - 1) : (*cursor + 1) & (m->cap - 1);
    for (; m->slots[slot] != HMAP_EMPTY; slot = (slot + 1) & (m->cap - 1)) {
        if (m->hashes[m->slots[slot]] == key) {
            *cursor = slot;
            return m->slots[slot];
        }
    }
    return SIZE_MAX;
}

void
tool_hmap_clear(tool_hmap *m)
{
    free(m->slots);
    free(m->hashes);
    memset(m, 0, sizeof(*m));
}

/* ---- a file's certificate records by issuer and serial ---- */

static bool
cert_record_key(const ng_record *rec, ng_bytes *issuer, ng_bytes *serial_der)
{
    const ng_attr *value = ng_record_get(rec, CKA_VALUE);
    CK_ULONG cls;

    if (!value || !ng_record_ulong(rec, CKA_CLASS, &cls) || cls != CKO_CERTIFICATE)
        return false;
    return ng_der_cert_issuer_serial((ng_bytes){value->value, value->len}, issuer, serial_der);
}

bool
tool_cert_index_build(tool_cert_index *ci, const ng_records *recs)
{
    ng_bytes issuer, serial_der;

    memset(ci, 0, sizeof(*ci));
    ci->recs = recs;
    for (size_t r = 0; r < recs->n_records; r++) {
        if (!cert_record_key(&recs->records[r], &issuer, &serial_der))
            continue;
        size_t *nr = realloc(ci->rec_of, (ci->map.n + 1) * sizeof(*nr));
        if (!nr)
            return false;
        ci->rec_of = nr;
        nr[ci->map.n] = r;
        if (!tool_hmap_add(&ci->map, ng_entry_hash(issuer, serial_der)))
            return false;
    }
    return true;
}

void
tool_cert_index_clear(tool_cert_index *ci)
{
    tool_hmap_clear(&ci->map);
    free(ci->rec_of);
    memset(ci, 0, sizeof(*ci));
}

const ng_record *
tool_cert_index_find(const tool_cert_index *ci, ng_bytes issuer, ng_bytes serial_der)
{
    size_t cursor = SIZE_MAX, v;
    uint64_t key = ng_entry_hash(issuer, serial_der);

    while ((v = tool_hmap_next(&ci->map, key, &cursor)) != SIZE_MAX) {
        const ng_record *rec = &ci->recs->records[ci->rec_of[v]];
        ng_bytes ci_issuer, ci_serial;
        if (cert_record_key(rec, &ci_issuer, &ci_serial) && ci_issuer.len == issuer.len &&
            ci_serial.len == serial_der.len &&
            memcmp(ci_issuer.data, issuer.data, issuer.len) == 0 &&
            memcmp(ci_serial.data, serial_der.data, serial_der.len) == 0)
            return rec;
    }
    return NULL;
}

bool
tool_overlay_entry_cert(const tool_overlay *ov, const ng_entry *e, ng_bytes *cert)
{
    for (size_t f = 0; f < ov->n_files; f++) {
        const ng_records *recs = &ov->files[f];
        const ng_record *rec;
        const ng_attr *value;
        if (recs->file != e->file && strcmp(recs->file, e->file) != 0)
            continue;
        rec = tool_cert_index_find(&ov->cert_index[f], e->issuer, e->serial_der);
        value = rec ? ng_record_get(rec, CKA_VALUE) : NULL;
        if (value) {
            *cert = (ng_bytes){value->value, value->len};
            return true;
        }
    }
    return false;
}

void
tool_print_entry(FILE *out, const ng_entry *e, const char *indent)
{
    char name[1024], hex[256];

    fprintf(out, "%s%s\n", indent, e->label[0] ? e->label : "(no label)");
    fprintf(out, "%s  reason:    %s\n", indent, e->reason);
    fprintf(out, "%s  reference: %s\n", indent, e->reference[0] ? e->reference : "(none)");
    ng_der_name_text(e->issuer, name, sizeof(name));
    fprintf(out, "%s  issuer:    %s\n", indent, name);
    ng_hex_text(e->serial, hex, sizeof(hex));
    fprintf(out, "%s  serial:    %s\n", indent, hex);
    if (e->has_sha1) {
        ng_hex_text((ng_bytes){e->sha1, sizeof(e->sha1)}, hex, sizeof(hex));
        fprintf(out, "%s  sha1:      %s\n", indent, hex);
    } else {
        fprintf(out, "%s  sha1:      none (issuer+serial record)\n", indent);
    }
#define SCHEMA_PRINT(field, cka, name, check, listed)                                              \
    if (listed && e->field.len) {                                                                  \
        ng_hex_text(e->field, hex, sizeof(hex));                                                   \
        fprintf(out, "%s  %-10s %s\n", indent, #field ":", hex);                                   \
    }
    NG_ENTRY_ATTRS(SCHEMA_PRINT) /* module/schema.h: the listed ones */
#undef SCHEMA_PRINT
    fprintf(out, "%s  source:    %s:%u\n", indent, e->file, e->line);
}

void
tool_json_entry(FILE *out, const ng_entry *e)
{
    char name[1024], hex[256];

    fputs("{\"label\":", out);
    tool_json_string(out, e->label);
    fputs(",\"reason\":", out);
    tool_json_string(out, e->reason);
    fputs(",\"reference\":", out);
    tool_json_string(out, e->reference);
    ng_der_name_text(e->issuer, name, sizeof(name));
    fputs(",\"issuer\":", out);
    tool_json_string(out, name);
    ng_hex_text(e->serial, hex, sizeof(hex));
    fputs(",\"serial\":", out);
    tool_json_string(out, hex);
    fputs(",\"sha1\":", out);
    if (e->has_sha1) {
        ng_hex_text((ng_bytes){e->sha1, sizeof(e->sha1)}, hex, sizeof(hex));
        tool_json_string(out, hex);
    } else {
        fputs("null", out);
    }
#define SCHEMA_JSON(field, cka, name, check, listed)                                               \
    if (listed && e->field.len) {                                                                  \
        ng_hex_text(e->field, hex, sizeof(hex));                                                   \
        fputs(",\"" #field "\":", out);                                                            \
        tool_json_string(out, hex);                                                                \
    }
    NG_ENTRY_ATTRS(SCHEMA_JSON) /* module/schema.h: the listed ones */
#undef SCHEMA_JSON
    fputs(",\"file\":", out);
    tool_json_string(out, e->file);
    fprintf(out, ",\"line\":%u}", e->line);
}

void
tool_name_text(ng_bytes name, char *buf, size_t size)
{
    ng_der_name_text(name, buf, size);
}

void
tool_hex(const unsigned char *data, size_t len, char *buf, size_t size)
{
    ng_hex_text((ng_bytes){data, len}, buf, size);
}

/* ---- entries whose issuer matches only under RFC 5280 comparison ---- */

static int
serial_cmp(ng_bytes a, ng_bytes b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    return a.len ? memcmp(a.data, b.data, a.len) : 0;
}

static int
by_serial(const void *a, const void *b)
{
    const ng_entry *x = *(const ng_entry *const *)a, *y = *(const ng_entry *const *)b;

    return serial_cmp(x->serial, y->serial);
}

bool
tool_serial_index_build(tool_serial_index *si, const ng_entry *entries, size_t n)
{
    si->n = 0;
    si->sorted = malloc((n ? n : 1) * sizeof(*si->sorted));
    if (!si->sorted)
        return false;
    for (size_t i = 0; i < n; i++)
        si->sorted[i] = &entries[i];
    qsort(si->sorted, n, sizeof(*si->sorted), by_serial);
    si->n = n;
    return true;
}

void
tool_serial_index_clear(tool_serial_index *si)
{
    free(si->sorted);
    si->sorted = NULL;
    si->n = 0;
}

size_t
tool_name_misses(const tool_serial_index *si, ng_bytes issuer, ng_bytes serial,
                 const ng_entry **out, size_t max)
{
    size_t lo = 0, hi = si->n, found = 0;

    while (lo < hi) { /* the first entry with a serial >= this one */
        size_t mid = lo + (hi - lo) / 2;
        if (serial_cmp(si->sorted[mid]->serial, serial) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < si->n && serial_cmp(si->sorted[i]->serial, serial) == 0; i++) {
        const ng_entry *e = si->sorted[i];
        if (e->issuer.len == issuer.len && memcmp(e->issuer.data, issuer.data, issuer.len) == 0)
            continue; /* NSS's own match */
        if (!ng_der_name_equal_rfc5280(e->issuer, issuer))
            continue;
        if (found < max)
            out[found] = e;
        found++;
    }
    return found;
}

void
tool_warn_name_miss(const ng_entry *e, const char *origin, ng_bytes issuer)
{
    char want[512], have[512];

    ng_der_name_text(issuer, want, sizeof(want));
    ng_der_name_text(e->issuer, have, sizeof(have));
    tool_error("warning: %s:%u: entry '%s' names the issuer of %s (%s) in other bytes (%s): "
               "equal under RFC 5280 name comparison, but NSS compares the bytes, so this "
               "entry will never match that certificate",
               e->file, e->line, e->label, origin, want, have);
}

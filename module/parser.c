/*
 * parser.c: Mozilla's certdata.txt syntax -> records.
 *
 *   # comment
 *   BEGINDATA                      (optional in nssguard overlays)
 *   CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST     <- starts an object
 *   CKA_LABEL UTF8 "text with \" \\ \xHH \ooo escapes"
 *   CKA_ISSUER MULTILINE_OCTAL
 *   \060\201...
 *   END
 *
 * The parser knows the attribute names and the value types each one takes,
 * and nothing about what the objects mean (that is builder.c). Any error
 * stops the file: the caller gets "file:line: reason" and no records.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_FILE_SIZE (512UL * 1024 * 1024)
#define MAX_VALUE_SIZE (1UL * 1024 * 1024)
#define MAX_ATTRS 64
#define MAX_COMMENT 4096

/* a table name and its length, for lookups that compare lengths first */
#define NAME(s) s, sizeof(s) - 1

enum value_type {
    T_CLASS = 1 << 0,
    T_BBOOL = 1 << 1,
    T_UTF8 = 1 << 2,
    T_TRUST = 1 << 3,
    T_CERTTYPE = 1 << 4,
    T_OCTAL = 1 << 5,
};

static const struct {
    const char *name;
    size_t len;
    enum value_type type;
} value_types[] = {
    {NAME("CK_OBJECT_CLASS"), T_CLASS},
    {NAME("CK_BBOOL"), T_BBOOL},
    {NAME("UTF8"), T_UTF8},
    {NAME("CK_TRUST"), T_TRUST},
    {NAME("CK_CERTIFICATE_TYPE"), T_CERTTYPE},
    {NAME("MULTILINE_OCTAL"), T_OCTAL},
};

static const struct {
    const char *name;
    size_t len; /* strlen(name): compared before the bytes */
    CK_ATTRIBUTE_TYPE type;
    unsigned takes; /* value types allowed */
} attributes[] = {
    {NAME("CKA_CLASS"), CKA_CLASS, T_CLASS},
    {NAME("CKA_TOKEN"), CKA_TOKEN, T_BBOOL},
    {NAME("CKA_PRIVATE"), CKA_PRIVATE, T_BBOOL},
    {NAME("CKA_MODIFIABLE"), CKA_MODIFIABLE, T_BBOOL},
    {NAME("CKA_LABEL"), CKA_LABEL, T_UTF8},
    {NAME("CKA_CERTIFICATE_TYPE"), CKA_CERTIFICATE_TYPE, T_CERTTYPE},
    {NAME("CKA_SUBJECT"), CKA_SUBJECT, T_OCTAL},
    {NAME("CKA_ID"), CKA_ID, T_UTF8 | T_OCTAL},
    {NAME("CKA_ISSUER"), CKA_ISSUER, T_OCTAL},
    {NAME("CKA_SERIAL_NUMBER"), CKA_SERIAL_NUMBER, T_OCTAL},
    {NAME("CKA_VALUE"), CKA_VALUE, T_OCTAL},
    {NAME("CKA_CERT_SHA1_HASH"), CKA_CERT_SHA1_HASH, T_OCTAL},
    {NAME("CKA_CERT_MD5_HASH"), CKA_CERT_MD5_HASH, T_OCTAL},
    {NAME("CKA_TRUST_SERVER_AUTH"), CKA_TRUST_SERVER_AUTH, T_TRUST},
    {NAME("CKA_TRUST_CLIENT_AUTH"), CKA_TRUST_CLIENT_AUTH, T_TRUST},
    {NAME("CKA_TRUST_EMAIL_PROTECTION"), CKA_TRUST_EMAIL_PROTECTION, T_TRUST},
    {NAME("CKA_TRUST_CODE_SIGNING"), CKA_TRUST_CODE_SIGNING, T_TRUST},
    {NAME("CKA_TRUST_IPSEC_END_SYSTEM"), CKA_TRUST_IPSEC_END_SYSTEM, T_TRUST},
    {NAME("CKA_TRUST_IPSEC_TUNNEL"), CKA_TRUST_IPSEC_TUNNEL, T_TRUST},
    {NAME("CKA_TRUST_IPSEC_USER"), CKA_TRUST_IPSEC_USER, T_TRUST},
    {NAME("CKA_TRUST_TIME_STAMPING"), CKA_TRUST_TIME_STAMPING, T_TRUST},
    {NAME("CKA_TRUST_STEP_UP_APPROVED"), CKA_TRUST_STEP_UP_APPROVED, T_BBOOL},
    {NAME("CKA_NSS_MOZILLA_CA_POLICY"), CKA_NSS_MOZILLA_CA_POLICY, T_BBOOL},
    {NAME("CKA_NSS_SERVER_DISTRUST_AFTER"), CKA_NSS_SERVER_DISTRUST_AFTER, T_BBOOL | T_OCTAL},
    {NAME("CKA_NSS_EMAIL_DISTRUST_AFTER"), CKA_NSS_EMAIL_DISTRUST_AFTER, T_BBOOL | T_OCTAL},
    {NAME("CKA_NSSGUARD_REASON"), CKA_NSSGUARD_REASON, T_UTF8},
    {NAME("CKA_NSSGUARD_REFERENCE"), CKA_NSSGUARD_REFERENCE, T_UTF8},
#define SCHEMA_ROW(field, cka, name, check, listed) {NAME(name), cka, T_OCTAL},
    NG_ENTRY_ATTRS(SCHEMA_ROW) /* schema.h */
#undef SCHEMA_ROW
};

static const struct {
    const char *name;
    enum value_type type;
    CK_ULONG value;
} symbols[] = {
    {"CKO_DATA", T_CLASS, CKO_DATA},
    {"CKO_CERTIFICATE", T_CLASS, CKO_CERTIFICATE},
    {"CKO_PUBLIC_KEY", T_CLASS, CKO_PUBLIC_KEY},
    {"CKO_NSS_TRUST", T_CLASS, CKO_NSS_TRUST},
    {"CKO_NSS_BUILTIN_ROOT_LIST", T_CLASS, CKO_NSS_BUILTIN_ROOT_LIST},
    {"CKO_NSS_CRL", T_CLASS, CKO_NSS_CRL},
    {"CKO_TRUST", T_CLASS, CKO_TRUST},
    {"CKT_NSS_TRUSTED", T_TRUST, CKT_NSS_TRUSTED},
    {"CKT_NSS_TRUSTED_DELEGATOR", T_TRUST, CKT_NSS_TRUSTED_DELEGATOR},
    {"CKT_NSS_VALID_DELEGATOR", T_TRUST, CKT_NSS_VALID_DELEGATOR},
    {"CKT_NSS_MUST_VERIFY_TRUST", T_TRUST, CKT_NSS_MUST_VERIFY_TRUST},
    {"CKT_NSS_NOT_TRUSTED", T_TRUST, CKT_NSS_NOT_TRUSTED},
    {"CKT_NSS_TRUST_UNKNOWN", T_TRUST, CKT_NSS_TRUST_UNKNOWN},
    {"CKC_X_509", T_CERTTYPE, CKC_X_509},
};

void
ng_error_set(ng_error *err, const char *file, unsigned line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!err)
        return;
    if (line)
        n = snprintf(err->msg, sizeof(err->msg), "%s:%u: ", file, line);
    else
        n = snprintf(err->msg, sizeof(err->msg), "%s: ", file);
    if (n < 0 || (size_t)n >= sizeof(err->msg))
        return;
    err->line = line;
    err->reason_off = (size_t)n;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
    va_end(ap);
}

typedef struct {
    const char *name;
    const char *p;   /* next unread byte */
    const char *end; /* end of buffer */
    unsigned line;   /* line number of the current line */
    const char *cur; /* current line */
    size_t cur_len;
    ng_records *out;
    ng_record *obj; /* object being filled, or NULL */
    char comment[MAX_COMMENT];
    size_t comment_len;
    ng_error *err;
    /* reading a file in chunks (fd >= 0): [p, end) is what is left of
     * `chunk`, lines are complete once a newline or the end is seen */
    int fd;
    char *chunk;
    size_t chunk_cap;
    /* where a value is decoded before add_attr copies it to the arena */
    unsigned char *scratch;
    size_t scratch_cap;
    size_t total, max; /* bytes read so far, and the most the caller takes */
    bool eof;
    bool io_error;
} parser;

#define CHUNK_SIZE (1UL << 20)
#define MAX_LINE (8UL << 20) /* above 4 bytes of octal for the 1 MiB value limit */

/* Values and comments live in blocks that are freed together: a 100k-entry
 * file has about two million of them, and freeing them one by one took a
 * fifth of its load time (malloc_consolidate, unlink_chunk, _int_free). */
#define ARENA_BLOCK ((size_t)1 << 20)

struct ng_arena_block {
    ng_arena_block *next;
    size_t used, cap;
    unsigned char data[];
};

/* n bytes from the records' arena, 8-aligned; NULL when out of memory. */
static unsigned char *
arena_alloc(ng_records *out, size_t n)
{
    ng_arena_block *b = out->arena;
    unsigned char *p;

    n = (n + 7) & ~(size_t)7;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->next = out->arena;
        b->used = 0;
        b->cap = cap;
        out->arena = b;
    }
    p = b->data + b->used;
    b->used += n;
    return p;
}

/* The scratch buffer, with room for n bytes (its contents kept). */
static unsigned char *
scratch(parser *ps, size_t n)
{
    if (n > ps->scratch_cap) {
        size_t cap = ps->scratch_cap ? ps->scratch_cap : 256;
        while (cap < n)
            cap *= 2;
        unsigned char *ns = realloc(ps->scratch, cap);
        if (!ns)
            return NULL;
        ps->scratch = ns;
        ps->scratch_cap = cap;
    }
    return ps->scratch;
}

/* Moves the unfinished line to the chunk's start and reads more after it.
 * False on end of file (eof set) or error (io_error set, err filled). */
static bool
refill(parser *ps)
{
    size_t left = (size_t)(ps->end - ps->p);
    ssize_t r;

    if (ps->fd < 0 || ps->eof)
        return false;
    memmove(ps->chunk, ps->p, left);
    if (left == ps->chunk_cap) { /* one line fills the chunk: grow it */
        char *nc = ps->chunk_cap < MAX_LINE ? realloc(ps->chunk, ps->chunk_cap * 2) : NULL;
        if (!nc) {
            ng_error_set(ps->err, ps->name, ps->line + 1, "line longer than 8 MiB");
            ps->io_error = true;
            return false;
        }
        ps->chunk = nc;
        ps->chunk_cap *= 2;
    }
    do
        r = read(ps->fd, ps->chunk + left, ps->chunk_cap - left);
    while (r < 0 && errno == EINTR);
    if (r < 0 || ps->total + (size_t)(r > 0 ? r : 0) > ps->max) {
        if (r < 0)
            ng_error_set(ps->err, ps->name, 0, "%s", strerror(errno));
        else
            ng_error_set(ps->err, ps->name, 0, "file larger than %zu MiB", ps->max >> 20);
        ps->io_error = true;
        return false;
    }
    ps->total += (size_t)r;
    ps->eof = r == 0;
    ps->p = ps->chunk;
    ps->end = ps->chunk + left + (size_t)r;
    return true;
}

/* Advances to the next line; false at end of input. Strips CR and trailing
 * blanks. */
static bool
next_line(parser *ps)
{
    const char *nl;

    for (;;) {
        nl = ps->p < ps->end ? memchr(ps->p, '\n', (size_t)(ps->end - ps->p)) : NULL;
        if (nl || (ps->p < ps->end && (ps->eof || ps->fd < 0)))
            break; /* a whole line, or the last one without its newline */
        if (!refill(ps))
            return false;
    }
    ps->cur = ps->p;
    ps->cur_len = nl ? (size_t)(nl - ps->p) : (size_t)(ps->end - ps->p);
    ps->p = nl ? nl + 1 : ps->end;
    ps->line++;
    while (ps->cur_len > 0 && (ps->cur[ps->cur_len - 1] == '\r' ||
                               ps->cur[ps->cur_len - 1] == ' ' || ps->cur[ps->cur_len - 1] == '\t'))
        ps->cur_len--;
    return true;
}

static bool fail(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool
fail(parser *ps, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    ng_error_set(ps->err, ps->name, ps->line, "%s", reason);
    return false;
}

/* Splits the next blank-separated word off *s (of length *n). */
static bool
word(const char **s, size_t *n, const char **w, size_t *wn)
{
    while (*n > 0 && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    if (*n == 0)
        return false;
    *w = *s;
    while (*n > 0 && **s != ' ' && **s != '\t')
        (*s)++, (*n)--;
    *wn = (size_t)(*s - *w);
    return true;
}

static bool
word_is(const char *w, size_t wn, const char *s)
{
    /* first byte first: most comparisons (END on every octal line) stop
     * there. memcmp, not strncmp: a word may hold a NUL (octal lines are not
     * checked for one), and strncmp would stop there and let s[wn] be read
     * past the end of s. */
    return wn > 0 && w[0] == s[0] && strlen(s) == wn && memcmp(w, s, wn) == 0;
}

static void
printable_word(const char *w, size_t wn, char *buf, size_t size)
{
    size_t n = wn < size - 1 ? wn : size - 1;

    for (size_t i = 0; i < n; i++)
        buf[i] = (w[i] >= 0x20 && w[i] < 0x7f) ? w[i] : '?';
    buf[n] = '\0';
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses a quoted UTF8 value that must fill the rest of the line. */
static bool
parse_utf8(parser *ps, const char *s, size_t n, unsigned char **val, size_t *len)
{
    unsigned char *buf;
    size_t used = 0;

    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    if (n == 0 || *s != '"')
        return fail(ps, "UTF8 value must be a quoted string");
    s++, n--;
    buf = scratch(ps, n + 1);
    if (!buf)
        return fail(ps, "out of memory");
    for (;;) {
        if (n == 0)
            return fail(ps, "unterminated string (missing closing quote)");
        char c = *s++;
        n--;
        if (c == '"')
            break;
        if (c == '\\') {
            int v;
            if (n == 0)
                continue; /* reported as unterminated on the next turn */
            c = *s++;
            n--;
            if (c == '"' || c == '\\') {
                v = (unsigned char)c;
            } else if (c == 'x' && n >= 2 && hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
                v = hexval(s[0]) << 4 | hexval(s[1]);
                s += 2, n -= 2;
            } else if (c >= '0' && c <= '3' && n >= 2 && s[0] >= '0' && s[0] <= '7' &&
                       s[1] >= '0' && s[1] <= '7') {
                v = (c - '0') << 6 | (s[0] - '0') << 3 | (s[1] - '0');
                s += 2, n -= 2;
            } else {
                return fail(ps, "bad escape in string (use \\\", \\\\, \\xHH or \\ooo)");
            }
            if (v == 0)
                return fail(ps, "NUL byte in string");
            buf[used++] = (unsigned char)v;
        } else {
            buf[used++] = (unsigned char)c;
        }
    }
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    if (n > 0)
        return fail(ps, "text after the closing quote");
    buf[used] = '\0'; /* UTF8 values are also C strings; len excludes the NUL */
    *val = buf;
    *len = used;
    return true;
}

/* Reads MULTILINE_OCTAL lines up to END. */
static bool
parse_octal(parser *ps, unsigned char **val, size_t *len)
{
    unsigned start = ps->line;
    size_t used = 0;
    unsigned char *buf = scratch(ps, 64);

    if (!buf)
        return fail(ps, "out of memory");
    for (;;) {
        if (!next_line(ps)) {
            if (ps->io_error) /* err already says what went wrong */
                return false;
            ps->line = start;
            return fail(ps, "MULTILINE_OCTAL value has no END");
        }
        const char *s = ps->cur;
        size_t n = ps->cur_len;
        while (n > 0 && (*s == ' ' || *s == '\t'))
            s++, n--;
        if (word_is(s, n, "END"))
            break;
        /* a line holds at most n / 4 bytes: make room once per line */
        if (used + n / 4 > 2 * MAX_VALUE_SIZE)
            return fail(ps, "value longer than 1 MiB");
        if (!(buf = scratch(ps, used + n / 4)))
            return fail(ps, "out of memory");
        while (n > 0) {
            if (*s == ' ' || *s == '\t') {
                s++, n--;
                continue;
            }
            unsigned d1 = 9, d2 = 9, d3 = 9;
            if (n >= 4 && s[0] == '\\') /* never read past the line */
                d1 = (unsigned)(s[1] - '0'), d2 = (unsigned)(s[2] - '0'),
                d3 = (unsigned)(s[3] - '0');
            if (d1 > 3 || d2 > 7 || d3 > 7)
                return fail(ps, "%s",
                            s[0] == '\\' ? "bad or truncated octal escape"
                                         : "expected \\ooo octal escapes or END");
            buf[used++] = (unsigned char)(d1 << 6 | d2 << 3 | d3);
            s += 4, n -= 4;
        }
        if (used > MAX_VALUE_SIZE)
            return fail(ps, "value longer than 1 MiB");
    }
    *val = buf;
    *len = used;
    return true;
}

static bool
parse_symbol(parser *ps, enum value_type type, const char *s, size_t n, unsigned char **val,
             size_t *len)
{
    const char *w;
    size_t wn;
    char shown[64];

    if (!word(&s, &n, &w, &wn))
        return fail(ps, "missing value");
    const char *rest = s;
    size_t rn = n;
    const char *extra;
    size_t en;
    if (word(&rest, &rn, &extra, &en))
        return fail(ps, "text after the value");
    if (type == T_BBOOL) {
        CK_BBOOL b;
        if (word_is(w, wn, "CK_TRUE"))
            b = CK_TRUE;
        else if (word_is(w, wn, "CK_FALSE"))
            b = CK_FALSE;
        else
            return printable_word(w, wn, shown, sizeof(shown)),
                   fail(ps, "CK_BBOOL must be CK_TRUE or CK_FALSE, not '%s'", shown);
        *val = scratch(ps, 1);
        if (!*val)
            return fail(ps, "out of memory");
        **val = b;
        *len = 1;
        return true;
    }
    for (size_t i = 0; i < NG_N_ELEMENTS(symbols); i++) {
        if (symbols[i].type != type || !word_is(w, wn, symbols[i].name))
            continue;
        CK_ULONG v = symbols[i].value;
        *val = scratch(ps, sizeof(v));
        if (!*val)
            return fail(ps, "out of memory");
        memcpy(*val, &v, sizeof(v));
        *len = sizeof(v);
        return true;
    }
    printable_word(w, wn, shown, sizeof(shown));
    return fail(ps, "unknown value '%s' for this type", shown);
}

/* Adds the value decoded in the scratch buffer (val), copied to the arena;
 * a UTF8 value keeps its NUL. */
static bool
add_attr(parser *ps, CK_ATTRIBUTE_TYPE type, const char *name, const unsigned char *val, size_t len,
         unsigned line, bool text)
{
    ng_record *obj = ps->obj;
    unsigned char *copy;

    for (size_t i = 0; i < obj->n_attrs; i++) {
        if (obj->attrs[i].type == type) {
            ps->line = line;
            return fail(ps, "duplicate %s in one object", name);
        }
    }
    if (obj->n_attrs == MAX_ATTRS)
        return fail(ps, "too many attributes in one object");
    if ((obj->n_attrs & (obj->n_attrs - 1)) == 0) { /* grow at powers of two */
        size_t cap = obj->n_attrs ? obj->n_attrs * 2 : 8;
        ng_attr *na = realloc(obj->attrs, cap * sizeof(*na));
        if (!na)
            return fail(ps, "out of memory");
        obj->attrs = na;
    }
    copy = arena_alloc(ps->out, len + text);
    if (!copy)
        return fail(ps, "out of memory");
    memcpy(copy, val, len + text);
    obj->attrs[obj->n_attrs++] = (ng_attr){type, copy, len, line, text};
    return true;
}

static bool
start_object(parser *ps)
{
    ng_records *out = ps->out;

    if ((out->n_records & (out->n_records - 1)) == 0) {
        size_t cap = out->n_records ? out->n_records * 2 : 16;
        ng_record *nr = realloc(out->records, cap * sizeof(*nr));
        if (!nr)
            return fail(ps, "out of memory");
        out->records = nr;
    }
    ps->obj = &out->records[out->n_records++];
    memset(ps->obj, 0, sizeof(*ps->obj));
    ps->obj->line = ps->line;
    if (ps->comment_len) {
        ps->obj->comment = (char *)arena_alloc(out, ps->comment_len + 1);
        if (!ps->obj->comment)
            return fail(ps, "out of memory");
        memcpy(ps->obj->comment, ps->comment, ps->comment_len);
        ps->obj->comment[ps->comment_len] = '\0';
        ps->comment_len = 0;
    }
    return true;
}

static void
keep_comment(parser *ps)
{
    if (ps->comment_len + ps->cur_len + 1 >= sizeof(ps->comment))
        return;
    memcpy(ps->comment + ps->comment_len, ps->cur, ps->cur_len);
    ps->comment_len += ps->cur_len;
    ps->comment[ps->comment_len++] = '\n';
}

static bool
parse_attribute_line(parser *ps)
{
    const char *s = ps->cur, *w;
    size_t n = ps->cur_len, wn;
    char shown[64];
    unsigned line = ps->line;
    CK_ATTRIBUTE_TYPE type = 0;
    const char *name = NULL;
    unsigned takes = 0;
    enum value_type vt = 0;
    unsigned char *val = NULL;
    size_t len = 0;

    word(&s, &n, &w, &wn);
    for (size_t i = 0; i < NG_N_ELEMENTS(attributes) && !name; i++) {
        if (attributes[i].len == wn && memcmp(w, attributes[i].name, wn) == 0) {
            type = attributes[i].type;
            name = attributes[i].name;
            takes = attributes[i].takes;
        }
    }
    if (!name)
        return printable_word(w, wn, shown, sizeof(shown)),
               fail(ps, "unknown attribute '%s'", shown);
    if (!word(&s, &n, &w, &wn))
        return fail(ps, "%s has no value type", name);
    for (size_t i = 0; i < NG_N_ELEMENTS(value_types); i++) {
        if (value_types[i].len == wn && memcmp(w, value_types[i].name, wn) == 0)
            vt = value_types[i].type;
    }
    if (!vt)
        return printable_word(w, wn, shown, sizeof(shown)),
               fail(ps, "unknown value type '%s'", shown);
    if (!(takes & vt))
        return printable_word(w, wn, shown, sizeof(shown)),
               fail(ps, "this attribute does not take %s values", shown);

    if (type == CKA_CLASS) {
        if (!start_object(ps))
            return false;
    } else if (!ps->obj) {
        return fail(ps, "%s outside an object (an object starts with CKA_CLASS)", name);
    }

    if (vt == T_UTF8) {
        if (!parse_utf8(ps, s, n, &val, &len))
            return false;
    } else if (vt == T_OCTAL) {
        const char *extra;
        size_t en;
        if (word(&s, &n, &extra, &en))
            return fail(ps, "text after MULTILINE_OCTAL (the bytes go on the next lines)");
        if (!parse_octal(ps, &val, &len))
            return false;
    } else if (!parse_symbol(ps, vt, s, n, &val, &len)) {
        return false;
    }
    return add_attr(ps, type, name, val, len, line, vt == T_UTF8);
}

static bool
parse(parser *ps, const char *name, ng_records *out, ng_error *err)
{
    bool in_data = false;

    memset(out, 0, sizeof(*out));
    ps->name = name;
    ps->out = out;
    ps->err = err;
    out->file = strdup(name);
    if (!out->file)
        return fail(ps, "out of memory");

    while (next_line(ps)) {
        const char *s = ps->cur;
        size_t n = ps->cur_len;

        if (memchr(s, '\0', n))
            goto fail_nul;
        while (n > 0 && (*s == ' ' || *s == '\t'))
            s++, n--;
        if (n == 0)
            continue;
        if (*s == '#') {
            keep_comment(ps);
            continue;
        }
        if (word_is(s, n, "BEGINDATA")) {
            if (in_data) {
                fail(ps, "second BEGINDATA");
                goto fail;
            }
            in_data = true;
            continue;
        }
        if (!in_data && n > 6 && memcmp(s, "CVS_ID", 6) == 0 && (s[6] == ' ' || s[6] == '\t'))
            continue; /* the header line of old Mozilla files */
        if (n >= 4 && memcmp(s, "CKA_", 4) == 0) {
            in_data = true;
            if (!parse_attribute_line(ps))
                goto fail;
            continue;
        }
        fail(ps, "%s",
             in_data ? "expected an attribute line (CKA_NAME TYPE VALUE)"
                     : "expected BEGINDATA or an attribute line");
        goto fail;
    }
    if (ps->io_error) /* err says why */
        goto fail_quiet;
    free(ps->scratch);
    return true;

fail_nul:
    fail(ps, "NUL byte in the file (not a text file)");
fail:
fail_quiet:
    free(ps->scratch);
    ng_records_clear(out);
    return false;
}

bool
ng_parse_buffer(const char *name, const char *buf, size_t len, ng_records *out, ng_error *err)
{
    parser ps;

    memset(&ps, 0, sizeof(ps));
    ps.fd = -1;
    ps.p = buf;
    ps.end = buf + len;
    ps.eof = true;
    return parse(&ps, name, out, err);
}

bool
ng_parse_file(const char *path, ng_records *out, ng_error *err)
{
    return ng_parse_file_max(path, MAX_FILE_SIZE, out, err);
}

bool
ng_parse_file_max(const char *path, size_t max, ng_records *out, ng_error *err)
{
    parser ps;
    struct stat st;
    bool ok = false;

    memset(out, 0, sizeof(*out));
    memset(&ps, 0, sizeof(ps));
    /* O_NONBLOCK: a FIFO or device named like an overlay must not block
     * the host process; it is refused as not a regular file below. */
    ps.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (ps.fd < 0) {
        ng_error_set(err, path, 0, "cannot open: %s", strerror(errno));
        return false;
    }
    if (fstat(ps.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        ng_error_set(err, path, 0, "not a regular file");
        goto out;
    }
    if (max > MAX_FILE_SIZE)
        max = MAX_FILE_SIZE;
    if ((unsigned long long)st.st_size > max) {
        ng_error_set(err, path, 0, "file larger than %zu MiB", max >> 20);
        goto out;
    }
    ps.max = max;
    /* read in chunks: a large overlay never sits in memory whole */
    ps.chunk_cap = CHUNK_SIZE;
    ps.chunk = malloc(ps.chunk_cap);
    if (!ps.chunk) {
        ng_error_set(err, path, 0, "out of memory");
        goto out;
    }
    ps.p = ps.end = ps.chunk;
    ok = parse(&ps, path, out, err);
out:
    free(ps.chunk);
    close(ps.fd);
    return ok;
}

void
ng_records_clear(ng_records *recs)
{
    for (size_t i = 0; i < recs->n_records; i++)
        free(recs->records[i].attrs);
    while (recs->arena) {
        ng_arena_block *next = recs->arena->next;
        free(recs->arena);
        recs->arena = next;
    }
    free(recs->records);
    free(recs->file);
    memset(recs, 0, sizeof(*recs));
}

const ng_attr *
ng_record_get(const ng_record *rec, CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < rec->n_attrs; i++) {
        if (rec->attrs[i].type == type)
            return &rec->attrs[i];
    }
    return NULL;
}

bool
ng_record_ulong(const ng_record *rec, CK_ATTRIBUTE_TYPE type, CK_ULONG *value)
{
    const ng_attr *a = ng_record_get(rec, type);

    if (!a || a->len != sizeof(CK_ULONG))
        return false;
    memcpy(value, a->value, sizeof(*value));
    return true;
}

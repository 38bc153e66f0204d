/*
 * json.c: a small JSON reader for OneCRL exports. Builds a tree; strings are
 * unescaped to UTF-8 (\uXXXX including surrogate pairs). Depth is limited;
 * numbers are kept as text. Enough for Remote Settings dumps, no more.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#define MAX_DEPTH 64

typedef struct {
    const char *p;
    const char *end;
    const char *start;
    char *err;
    size_t err_size;
} reader;

static bool
fail(reader *r, const char *what)
{
    unsigned line = 1;

    for (const char *q = r->start; q < r->p; q++)
        line += *q == '\n';
    snprintf(r->err, r->err_size, "line %u: %s", line, what);
    return false;
}

static void
skip_space(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static bool parse_value(reader *r, tool_json *v, int depth);

static void
put_utf8(char *buf, size_t *len, unsigned long cp)
{
    char *b = buf + *len;

    if (cp < 0x80) {
        b[0] = (char)cp;
        *len += 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        *len += 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        *len += 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        *len += 4;
    }
}

static bool
hex4(reader *r, unsigned long *cp)
{
    *cp = 0;
    if (r->end - r->p < 4)
        return fail(r, "short \\u escape");
    for (int i = 0; i < 4; i++) {
        char c = *r->p++;
        *cp <<= 4;
        if (c >= '0' && c <= '9')
            *cp |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f')
            *cp |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            *cp |= (unsigned long)(c - 'A' + 10);
        else
            return fail(r, "bad \\u escape");
    }
    return true;
}

static bool
parse_string(reader *r, char **out)
{
    const char *q;
    char *buf;
    size_t len = 0;

    r->p++; /* the opening quote */
    for (q = r->p; q < r->end && *q != '"'; q++) {
        if (*q == '\\')
            q++;
    }
    if (q >= r->end)
        return fail(r, "unterminated string");
    /* Unescaped text is never longer than the escaped text (+4 for a \u pair). */
    buf = malloc((size_t)(q - r->p) + 5);
    if (!buf)
        return fail(r, "out of memory");
    while (*r->p != '"') {
        unsigned char c = (unsigned char)*r->p++;
        unsigned long cp, lo;
        if (c < 0x20) {
            free(buf);
            return fail(r, "control character in a string");
        }
        if (c != '\\') {
            buf[len++] = (char)c;
            continue;
        }
        c = (unsigned char)*r->p++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            buf[len++] = (char)c;
            break;
        case 'b':
            buf[len++] = '\b';
            break;
        case 'f':
            buf[len++] = '\f';
            break;
        case 'n':
            buf[len++] = '\n';
            break;
        case 'r':
            buf[len++] = '\r';
            break;
        case 't':
            buf[len++] = '\t';
            break;
        case 'u':
            if (!hex4(r, &cp)) {
                free(buf);
                return false;
            }
            if (cp >= 0xd800 && cp < 0xdc00 && r->end - r->p >= 6 && r->p[0] == '\\' &&
                r->p[1] == 'u') {
                r->p += 2;
                if (!hex4(r, &lo)) {
                    free(buf);
                    return false;
                }
                if (lo >= 0xdc00 && lo < 0xe000)
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0)
                cp = 0xfffd; /* no NUL inside C strings */
            put_utf8(buf, &len, cp);
            break;
        default:
            free(buf);
            return fail(r, "bad escape in a string");
        }
    }
    r->p++; /* the closing quote */
    buf[len] = '\0';
    *out = buf;
    return true;
}

static bool
push_child(reader *r, tool_json *v, const tool_json *child)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        tool_json *nc = realloc(v->children, cap * sizeof(*nc));
        if (!nc)
            return fail(r, "out of memory");
        v->children = nc;
        v->cap = cap;
    }
    v->children[v->n++] = *child;
    return true;
}

static bool
parse_container(reader *r, tool_json *v, int depth, char close)
{
    bool object = close == '}';

    v->type = object ? TOOL_JSON_OBJECT : TOOL_JSON_ARRAY;
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return true;
    }
    for (;;) {
        tool_json child;
        char *key = NULL;
        memset(&child, 0, sizeof(child));
        skip_space(r);
        if (object) {
            if (r->p >= r->end || *r->p != '"')
                return fail(r, "expected a key");
            if (!parse_string(r, &key))
                return false;
            skip_space(r);
            if (r->p >= r->end || *r->p != ':') {
                free(key);
                return fail(r, "expected ':'");
            }
            r->p++;
        }
        if (!parse_value(r, &child, depth + 1)) {
            free(key);
            tool_json_free(&child);
            return false;
        }
        child.key = key;
        if (!push_child(r, v, &child)) {
            tool_json_free(&child);
            return false;
        }
        skip_space(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return true;
        }
        return fail(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool
literal(reader *r, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return fail(r, "unexpected text");
    r->p += n;
    return true;
}

static bool
parse_value(reader *r, tool_json *v, int depth)
{
    const char *q;

    if (depth > MAX_DEPTH)
        return fail(r, "nested too deeply");
    skip_space(r);
    if (r->p >= r->end)
        return fail(r, "unexpected end of input");
    switch (*r->p) {
    case '{':
        return parse_container(r, v, depth, '}');
    case '[':
        return parse_container(r, v, depth, ']');
    case '"':
        v->type = TOOL_JSON_STRING;
        return parse_string(r, &v->string);
    case 't':
        v->type = TOOL_JSON_TRUE;
        return literal(r, "true");
    case 'f':
        v->type = TOOL_JSON_FALSE;
        return literal(r, "false");
    case 'n':
        v->type = TOOL_JSON_NULL;
        return literal(r, "null");
    default:
        for (q = r->p; q < r->end && strchr("+-0123456789.eE", *q); q++)
            ;
        if (q == r->p)
            return fail(r, "unexpected character");
        v->type = TOOL_JSON_NUMBER;
        v->string = strndup(r->p, (size_t)(q - r->p));
        r->p = q;
        return v->string ? true : fail(r, "out of memory");
    }
}

bool
tool_json_parse(const char *text, size_t len, tool_json *root, char *err, size_t err_size)
{
    reader r = {text, text + len, text, err, err_size};

    memset(root, 0, sizeof(*root));
    if (!parse_value(&r, root, 0)) {
        tool_json_free(root);
        return false;
    }
    skip_space(&r);
    if (r.p != r.end) {
        tool_json_free(root);
        return fail(&r, "text after the JSON value");
    }
    return true;
}

void
tool_json_free(tool_json *v)
{
    for (size_t i = 0; i < v->n; i++)
        tool_json_free(&v->children[i]);
    free(v->children);
    free(v->string);
    free(v->key);
    memset(v, 0, sizeof(*v));
}

const tool_json *
tool_json_get(const tool_json *obj, const char *key)
{
    if (!obj || obj->type != TOOL_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++) {
        if (obj->children[i].key && strcmp(obj->children[i].key, key) == 0)
            return &obj->children[i];
    }
    return NULL;
}

const char *
tool_json_get_string(const tool_json *obj, const char *key)
{
    const tool_json *v = tool_json_get(obj, key);

    return v && v->type == TOOL_JSON_STRING ? v->string : NULL;
}

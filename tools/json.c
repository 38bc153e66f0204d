/*
 * json.c: OneCRL exports read with json-c (Debian's libjson-c), with the
 * limits a hostile file needs: nesting at most TOOL_JSON_MAX_DEPTH, strict
 * syntax, UTF-8 validated, nothing after the value, and no lone UTF-16
 * surrogate escape (json-c would turn "\ud800" into U+FFFD silently; a label
 * must say what the record says, so the file is refused).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "tool.h"

#define TOOL_JSON_MAX_DEPTH 64

/* Line and column (from 1) of byte `off` of text. */
static void
position(const char *text, size_t off, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static bool
hex4(const char *p, size_t left, unsigned *value)
{
    *value = 0;
    if (left < 4)
        return false;
    for (size_t i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16;
        if (d == 16)
            return false;
        *value = *value << 4 | d;
    }
    return true;
}

/* The offset of the first \u escape in a string that is a lone surrogate
 * (a high one not followed by a low one, or a low one alone), or len. */
static size_t
lone_surrogate(const char *text, size_t len)
{
    bool in_string = false;
    unsigned u, low;

    for (size_t i = 0; i < len; i++) {
        if (text[i] == '"') {
            in_string = !in_string;
            continue;
        }
        if (!in_string || text[i] != '\\')
            continue;
        if (i + 1 < len && text[i + 1] != 'u') {
            i++; /* \" \\ \n ...: one character */
            continue;
        }
        if (!hex4(text + i + 2, len - i - 2, &u))
            continue; /* json-c reports the bad escape */
        if (u >= 0xdc00 && u <= 0xdfff)
            return i;
        if (u >= 0xd800 && u <= 0xdbff) {
            if (i + 12 > len || text[i + 6] != '\\' || text[i + 7] != 'u' ||
                !hex4(text + i + 8, len - i - 8, &low) || low < 0xdc00 || low > 0xdfff)
                return i;
            i += 6;
        }
        i += 5;
    }
    return len;
}

bool
tool_json_parse(const char *text, size_t len, tool_json **root, char *err, size_t err_size)
{
    struct json_tokener *tok = json_tokener_new_ex(TOOL_JSON_MAX_DEPTH);
    enum json_tokener_error jerr;
    size_t end, bad;
    unsigned line, col;
    const char *why = NULL;

    *root = NULL;
    if (!tok) {
        snprintf(err, err_size, "out of memory");
        return false;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    bad = lone_surrogate(text, len);
    if (bad < len) {
        end = bad;
        why = "a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair): not a "
              "character";
    } else if (len > INT32_MAX) {
        end = 0;
        why = "too large";
    } else {
        *root = json_tokener_parse_ex(tok, text, (int)len);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        while (*root && end < len && strchr(" \t\r\n", text[end]))
            end++;
        if (jerr == json_tokener_continue || (!*root && jerr == json_tokener_success))
            why = "truncated: the input ends inside a value";
        else if (jerr != json_tokener_success)
            why = jerr == json_tokener_error_depth ? "nested too deeply (more than 64 levels)"
                                                   : json_tokener_error_desc(jerr);
        else if (end < len)
            why = "text after the JSON value";
    }
    json_tokener_free(tok);
    if (!why)
        return true;
    json_object_put(*root);
    *root = NULL;
    position(text, end < len ? end : len, &line, &col);
    snprintf(err, err_size, "line %u, column %u: %s", line, col, why);
    return false;
}

void
tool_json_free(tool_json *v)
{
    json_object_put(v);
}

tool_json_type
tool_json_type_of(const tool_json *v)
{
    switch (json_object_get_type(v)) {
    case json_type_boolean:
        return json_object_get_boolean(v) ? TOOL_JSON_TRUE : TOOL_JSON_FALSE;
    case json_type_double:
    case json_type_int:
        return TOOL_JSON_NUMBER;
    case json_type_string:
        return TOOL_JSON_STRING;
    case json_type_array:
        return TOOL_JSON_ARRAY;
    case json_type_object:
        return TOOL_JSON_OBJECT;
    case json_type_null:
    default:
        return TOOL_JSON_NULL;
    }
}

size_t
tool_json_length(const tool_json *array)
{
    return json_object_is_type(array, json_type_array) ? json_object_array_length(array) : 0;
}

const tool_json *
tool_json_at(const tool_json *array, size_t i)
{
    return i < tool_json_length(array) ? json_object_array_get_idx(array, i) : NULL;
}

const tool_json *
tool_json_get(const tool_json *obj, const char *key)
{
    struct json_object *v = NULL;

    if (!obj || !json_object_is_type(obj, json_type_object))
        return NULL;
    return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

const char *
tool_json_get_string(const tool_json *obj, const char *key)
{
    const tool_json *v = tool_json_get(obj, key);

    return v && json_object_is_type(v, json_type_string) ? json_object_get_string((tool_json *)v)
                                                         : NULL;
}

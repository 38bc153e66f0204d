/*
 * trace.c: debug tracing, NSSGUARD_DEBUG=area[,area][:FILE].
 *
 *   pkcs11  every PKCS#11 call: its arguments decoded and its return value
 *   lookup  each search: what was asked (class, issuer as text, serial in
 *           hex), the handles answered, and the attribute values read
 *           (CKA_TRUST_SERVER_AUTH=CKT_NSS_NOT_TRUSTED)
 *   load    the module's events as they are logged (load, reload, errors)
 *   all     all three
 *
 * Lines go to FILE (appended; a regular file, opened as the log file is:
 * no symbolic link, never blocking) or to stderr. The variable is read with
 * secure_getenv: a setuid or file-capability process never traces.
 *
 * Free when off: C_GetFunctionList hands out the module's own function list
 * unless the variable asks for tracing; only then does it hand out `traced`,
 * a copy whose every entry is a wrapper here that calls the real function.
 * The lookup path itself holds no trace test.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

enum {
    AREA_PKCS11 = 1 << 0,
    AREA_LOOKUP = 1 << 1,
    AREA_LOAD = 1 << 2,
};

#define TRACE_LINE_MAX 8192

/* The areas, the file and the wrapped list are ng.trace (internal.h), set
 * once and then only read: a child of fork() traces on as its parent did.
 * trace_once stays here: a pthread_once_t cannot be reset, and the variable
 * is read once per process. */
static pthread_once_t trace_once = PTHREAD_ONCE_INIT;
/* The list to wrap, for trace_setup (pthread_once passes no argument): the
 * same constant from every caller, stored atomically. */
static CK_FUNCTION_LIST *trace_real;

/* ---- the line ---- */

typedef struct {
    char buf[TRACE_LINE_MAX];
    size_t used;
} tline;

static void tprintf(tline *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
tprintf(tline *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (l->used >= sizeof(l->buf) - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(l->buf + l->used, sizeof(l->buf) - l->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->used += (size_t)n < sizeof(l->buf) - l->used ? (size_t)n : sizeof(l->buf) - l->used - 1;
}

static void
tline_start(tline *l)
{
    l->used = 0;
    tprintf(l, "nssguard-trace[%ld]: ", (long)getpid());
}

static void
tline_emit(tline *l)
{
    if (l->used >= sizeof(l->buf) - 1)
        l->used = sizeof(l->buf) - 2;
    l->buf[l->used++] = '\n';
    (void)ng_write_all(ng.trace.fd, l->buf, l->used);
}

/* ---- names ---- */

typedef struct {
    CK_ULONG value;
    const char *name;
} named;

#define N(x)                                                                                       \
    {                                                                                              \
        x, #x                                                                                      \
    }
static const named rv_names[] = {
    N(CKR_OK),
    N(CKR_HOST_MEMORY),
    N(CKR_SLOT_ID_INVALID),
    N(CKR_GENERAL_ERROR),
    N(CKR_ARGUMENTS_BAD),
    N(CKR_CANT_LOCK),
    N(CKR_ATTRIBUTE_SENSITIVE),
    N(CKR_ATTRIBUTE_TYPE_INVALID),
    N(CKR_FUNCTION_NOT_PARALLEL),
    N(CKR_FUNCTION_NOT_SUPPORTED),
    N(CKR_MECHANISM_INVALID),
    N(CKR_OBJECT_HANDLE_INVALID),
    N(CKR_OPERATION_ACTIVE),
    N(CKR_OPERATION_NOT_INITIALIZED),
    N(CKR_SESSION_COUNT),
    N(CKR_SESSION_HANDLE_INVALID),
    N(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
    N(CKR_TOKEN_WRITE_PROTECTED),
    N(CKR_USER_NOT_LOGGED_IN),
    N(CKR_BUFFER_TOO_SMALL),
    N(CKR_CRYPTOKI_NOT_INITIALIZED),
    N(CKR_CRYPTOKI_ALREADY_INITIALIZED),
};

static const named class_names[] = {
    N(CKO_DATA),
    N(CKO_CERTIFICATE),
    N(CKO_PUBLIC_KEY),
    N(CKO_PRIVATE_KEY),
    N(CKO_SECRET_KEY),
    N(CKO_NSS_TRUST),
    N(CKO_TRUST),
    N(CKO_NSS_BUILTIN_ROOT_LIST),
    N(CKO_X_TRUST_ASSERTION),
    N(CKO_NSS_CRL),
    N(CKO_NSS_SMIME),
};

static const named trust_names[] = {
    N(CKT_NSS_TRUSTED),     N(CKT_NSS_TRUSTED_DELEGATOR), N(CKT_NSS_MUST_VERIFY_TRUST),
    N(CKT_NSS_NOT_TRUSTED), N(CKT_NSS_TRUST_UNKNOWN),     N(CKT_NSS_VALID_DELEGATOR),
};

typedef enum { V_BYTES, V_ULONG_CLASS, V_TRUST, V_PKCS_TRUST, V_BOOL, V_NAME, V_HEX, V_TEXT } vkind;

static const struct {
    CK_ATTRIBUTE_TYPE type;
    const char *name;
    vkind kind;
} attr_names[] = {
    {CKA_CLASS, "CKA_CLASS", V_ULONG_CLASS},
    {CKA_TOKEN, "CKA_TOKEN", V_BOOL},
    {CKA_PRIVATE, "CKA_PRIVATE", V_BOOL},
    {CKA_LABEL, "CKA_LABEL", V_TEXT},
    {CKA_VALUE, "CKA_VALUE", V_BYTES},
    {CKA_CERTIFICATE_TYPE, "CKA_CERTIFICATE_TYPE", V_HEX},
    {CKA_ISSUER, "CKA_ISSUER", V_NAME},
    {CKA_SERIAL_NUMBER, "CKA_SERIAL_NUMBER", V_HEX},
    {CKA_SUBJECT, "CKA_SUBJECT", V_NAME},
    {CKA_ID, "CKA_ID", V_HEX},
    {CKA_MODIFIABLE, "CKA_MODIFIABLE", V_BOOL},
    {CKA_TRUSTED, "CKA_TRUSTED", V_BOOL},
    {CKA_CERTIFICATE_CATEGORY, "CKA_CERTIFICATE_CATEGORY", V_HEX},
    {CKA_TRUST_SERVER_AUTH, "CKA_TRUST_SERVER_AUTH", V_TRUST},
    {CKA_TRUST_CLIENT_AUTH, "CKA_TRUST_CLIENT_AUTH", V_TRUST},
    {CKA_TRUST_CODE_SIGNING, "CKA_TRUST_CODE_SIGNING", V_TRUST},
    {CKA_TRUST_EMAIL_PROTECTION, "CKA_TRUST_EMAIL_PROTECTION", V_TRUST},
    {CKA_TRUST_STEP_UP_APPROVED, "CKA_TRUST_STEP_UP_APPROVED", V_BOOL},
    {CKA_CERT_SHA1_HASH, "CKA_CERT_SHA1_HASH", V_HEX},
    {CKA_CERT_MD5_HASH, "CKA_CERT_MD5_HASH", V_HEX},
    {CKA_NSS_MOZILLA_CA_POLICY, "CKA_NSS_MOZILLA_CA_POLICY", V_BOOL},
    {CKA_NSS_SERVER_DISTRUST_AFTER, "CKA_NSS_SERVER_DISTRUST_AFTER", V_BYTES},
    {CKA_NSS_EMAIL_DISTRUST_AFTER, "CKA_NSS_EMAIL_DISTRUST_AFTER", V_BYTES},
    {CKA_PKCS_TRUST_SERVER_AUTH, "CKA_PKCS_TRUST_SERVER_AUTH", V_PKCS_TRUST},
    {CKA_PKCS_TRUST_CLIENT_AUTH, "CKA_PKCS_TRUST_CLIENT_AUTH", V_PKCS_TRUST},
    {CKA_PKCS_TRUST_CODE_SIGNING, "CKA_PKCS_TRUST_CODE_SIGNING", V_PKCS_TRUST},
    {CKA_PKCS_TRUST_EMAIL_PROTECTION, "CKA_PKCS_TRUST_EMAIL_PROTECTION", V_PKCS_TRUST},
    {CKA_HASH_OF_CERTIFICATE, "CKA_HASH_OF_CERTIFICATE", V_HEX},
    {CKA_NAME_HASH_ALGORITHM, "CKA_NAME_HASH_ALGORITHM", V_HEX},
    {CKA_PUBLIC_KEY_INFO, "CKA_PUBLIC_KEY_INFO", V_BYTES},
    {CKA_X_DISTRUSTED, "CKA_X_DISTRUSTED", V_BOOL},
    {CKA_X_ASSERTION_TYPE, "CKA_X_ASSERTION_TYPE", V_HEX},
    {CKA_X_CERTIFICATE_VALUE, "CKA_X_CERTIFICATE_VALUE", V_BYTES},
    {CKA_X_PURPOSE, "CKA_X_PURPOSE", V_TEXT},
};

static const char *
name_of(const named *table, size_t n, CK_ULONG value)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].value == value)
            return table[i].name;
    }
    return NULL;
}

static void
add_ulong(tline *l, const named *table, size_t n, CK_ULONG value)
{
    const char *name = name_of(table, n, value);

    if (name)
        tprintf(l, "%s", name);
    else
        tprintf(l, "0x%lx", (unsigned long)value);
}

static void
add_rv(tline *l, CK_RV rv)
{
    tprintf(l, " = ");
    add_ulong(l, rv_names, NG_N_ELEMENTS(rv_names), rv);
}

static void
add_value(tline *l, vkind kind, const CK_ATTRIBUTE *a)
{
    ng_bytes b = {a->pValue, a->ulValueLen};
    char text[600];
    CK_ULONG ul;

    if (kind == V_ULONG_CLASS || kind == V_TRUST || kind == V_PKCS_TRUST) {
        if (a->ulValueLen != sizeof(CK_ULONG)) {
            tprintf(l, "<%lu bytes>", (unsigned long)a->ulValueLen);
            return;
        }
        memcpy(&ul, a->pValue, sizeof(ul));
        if (kind == V_ULONG_CLASS)
            add_ulong(l, class_names, NG_N_ELEMENTS(class_names), ul);
        else if (kind == V_TRUST)
            add_ulong(l, trust_names, NG_N_ELEMENTS(trust_names), ul);
        else
            tprintf(l, "%s", ul == CKT_NOT_TRUSTED ? "CKT_NOT_TRUSTED" : "other");
        if (kind == V_PKCS_TRUST && ul != CKT_NOT_TRUSTED)
            tprintf(l, "(0x%lx)", (unsigned long)ul);
    } else if (kind == V_BOOL && a->ulValueLen == 1) {
        tprintf(l, "%s", *(const CK_BBOOL *)a->pValue ? "true" : "false");
    } else if (kind == V_NAME && ng_der_is_sequence(b)) {
        ng_der_name_text(b, text, sizeof(text));
        tprintf(l, "\"%s\"", text);
    } else if (kind == V_TEXT && a->ulValueLen < 200) {
        tprintf(l, "\"");
        for (CK_ULONG i = 0; i < a->ulValueLen; i++) {
            unsigned char c = ((const unsigned char *)a->pValue)[i];
            tprintf(l, c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? "%c" : "\\x%02x", c);
        }
        tprintf(l, "\"");
    } else if ((kind == V_HEX || kind == V_NAME) && a->ulValueLen <= 64) {
        ng_hex_text(b, text, sizeof(text));
        tprintf(l, "%s", a->ulValueLen ? text : "\"\"");
    } else {
        tprintf(l, "<%lu bytes>", (unsigned long)a->ulValueLen);
    }
}

/* A template: types, and values when `values` and the value is there. */
static void
add_template(tline *l, const CK_ATTRIBUTE *t, CK_ULONG count, bool values)
{
    tprintf(l, "{");
    for (CK_ULONG i = 0; t && i < count && i < 32; i++) {
        const char *name = NULL;
        vkind kind = V_BYTES;
        for (size_t k = 0; k < NG_N_ELEMENTS(attr_names); k++) {
            if (attr_names[k].type == t[i].type) {
                name = attr_names[k].name, kind = attr_names[k].kind;
                break;
            }
        }
        tprintf(l, i ? ", " : "");
        if (name)
            tprintf(l, "%s", name);
        else
            tprintf(l, "0x%lx", (unsigned long)t[i].type);
        if (!values)
            continue;
        if (t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
            tprintf(l, "=unavailable");
        else if (!t[i].pValue)
            tprintf(l, " len=%lu", (unsigned long)t[i].ulValueLen);
        else {
            tprintf(l, "=");
            add_value(l, kind, &t[i]);
        }
    }
    tprintf(l, count > 32 ? ", ...}" : "}");
}

/* ---- the wrappers ---- */

static bool
on(unsigned area)
{
    return (ng.trace.areas & area) != 0;
}

static CK_RV
tr_C_Initialize(CK_VOID_PTR args)
{
    CK_RV rv = ng.trace.real->C_Initialize(args);
    tline l;

    if (on(AREA_PKCS11)) {
        const CK_C_INITIALIZE_ARGS *a = args;
        tline_start(&l);
        tprintf(&l, "C_Initialize(%s%s%s)", a && a->LibraryParameters ? "parameters=\"" : "",
                a && a->LibraryParameters ? (const char *)a->LibraryParameters : "",
                a && a->LibraryParameters ? "\"" : "");
        add_rv(&l, rv);
        tline_emit(&l);
    }
    return rv;
}

static CK_RV
tr_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                 CK_SESSION_HANDLE_PTR session)
{
    CK_RV rv = ng.trace.real->C_OpenSession(slot, flags, app, notify, session);
    tline l;

    if (on(AREA_PKCS11)) {
        tline_start(&l);
        tprintf(&l, "C_OpenSession(slot=%lu, flags=0x%lx) session=%lu", (unsigned long)slot,
                (unsigned long)flags, rv == CKR_OK && session ? (unsigned long)*session : 0UL);
        add_rv(&l, rv);
        tline_emit(&l);
    }
    return rv;
}

static CK_RV
tr_C_FindObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
    CK_RV rv = ng.trace.real->C_FindObjectsInit(session, tmpl, count);
    tline l;

    if (on(AREA_PKCS11 | AREA_LOOKUP)) {
        tline_start(&l);
        tprintf(&l, "C_FindObjectsInit(session=%lu, ", (unsigned long)session);
        add_template(&l, tmpl, count, true);
        tprintf(&l, ")");
        add_rv(&l, rv);
        tline_emit(&l);
    }
    return rv;
}

static CK_RV
tr_C_FindObjects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE_PTR objects, CK_ULONG max,
                 CK_ULONG_PTR count)
{
    CK_RV rv = ng.trace.real->C_FindObjects(session, objects, max, count);
    tline l;

    if (on(AREA_PKCS11 | AREA_LOOKUP)) {
        tline_start(&l);
        tprintf(&l, "C_FindObjects(session=%lu, max=%lu) found", (unsigned long)session,
                (unsigned long)max);
        if (rv == CKR_OK && count && objects) {
            tprintf(&l, " %lu:", (unsigned long)*count);
            for (CK_ULONG i = 0; i < *count && i < 64; i++)
                tprintf(&l, " 0x%lx", (unsigned long)objects[i]);
        }
        add_rv(&l, rv);
        tline_emit(&l);
    }
    return rv;
}

static CK_RV
tr_C_GetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR tmpl,
                       CK_ULONG count)
{
    CK_RV rv = ng.trace.real->C_GetAttributeValue(session, object, tmpl, count);
    tline l;

    if (on(AREA_PKCS11 | AREA_LOOKUP)) {
        tline_start(&l);
        tprintf(&l, "C_GetAttributeValue(session=%lu, object=0x%lx) ", (unsigned long)session,
                (unsigned long)object);
        add_template(&l, tmpl, count, true);
        add_rv(&l, rv);
        tline_emit(&l);
    }
    return rv;
}

/* The other calls: their name, their first argument and the return value. */
#define TRACED(name, params, args, first)                                                          \
    static CK_RV tr_##name params                                                                  \
    {                                                                                              \
        CK_RV rv = ng.trace.real->name args;                                                       \
        tline l;                                                                                   \
        if (on(AREA_PKCS11)) {                                                                     \
            tline_start(&l);                                                                       \
            tprintf(&l, #name "(%lu)", (unsigned long)(first));                                    \
            add_rv(&l, rv);                                                                        \
            tline_emit(&l);                                                                        \
        }                                                                                          \
        return rv;                                                                                 \
    }

/* clang-format off */
TRACED(C_Finalize, (CK_VOID_PTR a), (a), a != NULL)
TRACED(C_GetInfo, (CK_INFO_PTR a), (a), a != NULL)
TRACED(C_GetSlotList, (CK_BBOOL a, CK_SLOT_ID_PTR b, CK_ULONG_PTR c), (a, b, c), a)
TRACED(C_GetSlotInfo, (CK_SLOT_ID a, CK_SLOT_INFO_PTR b), (a, b), a)
TRACED(C_GetTokenInfo, (CK_SLOT_ID a, CK_TOKEN_INFO_PTR b), (a, b), a)
TRACED(C_GetMechanismList, (CK_SLOT_ID a, CK_MECHANISM_TYPE_PTR b, CK_ULONG_PTR c), (a, b, c), a)
TRACED(C_GetMechanismInfo, (CK_SLOT_ID a, CK_MECHANISM_TYPE b, CK_MECHANISM_INFO_PTR c), (a, b, c), a)
TRACED(C_InitToken, (CK_SLOT_ID a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d), (a, b, c, d), a)
TRACED(C_InitPIN, (CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c), (a, b, c), a)
TRACED(C_SetPIN, (CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d, CK_ULONG e), (a, b, c, d, e), a)
TRACED(C_CloseSession, (CK_SESSION_HANDLE a), (a), a)
TRACED(C_CloseAllSessions, (CK_SLOT_ID a), (a), a)
TRACED(C_GetSessionInfo, (CK_SESSION_HANDLE a, CK_SESSION_INFO_PTR b), (a, b), a)
TRACED(C_GetOperationState, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c), (a, b, c), a)
TRACED(C_SetOperationState, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_OBJECT_HANDLE d, CK_OBJECT_HANDLE e), (a, b, c, d, e), a)
TRACED(C_Login, (CK_SESSION_HANDLE a, CK_USER_TYPE b, CK_UTF8CHAR_PTR c, CK_ULONG d), (a, b, c, d), a)
TRACED(C_Logout, (CK_SESSION_HANDLE a), (a), a)
TRACED(C_CreateObject, (CK_SESSION_HANDLE a, CK_ATTRIBUTE_PTR b, CK_ULONG c, CK_OBJECT_HANDLE_PTR d), (a, b, c, d), a)
TRACED(C_CopyObject, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c, CK_ULONG d, CK_OBJECT_HANDLE_PTR e), (a, b, c, d, e), a)
TRACED(C_DestroyObject, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b), (a, b), a)
TRACED(C_GetObjectSize, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ULONG_PTR c), (a, b, c), a)
TRACED(C_SetAttributeValue, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c, CK_ULONG d), (a, b, c, d), a)
TRACED(C_FindObjectsFinal, (CK_SESSION_HANDLE a), (a), a)
TRACED(C_EncryptInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c), (a, b, c), a)
TRACED(C_Encrypt, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_EncryptUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_EncryptFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c), (a, b, c), a)
TRACED(C_DecryptInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c), (a, b, c), a)
TRACED(C_Decrypt, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_DecryptUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_DecryptFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c), (a, b, c), a)
TRACED(C_DigestInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b), (a, b), a)
TRACED(C_Digest, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_DigestUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c), (a, b, c), a)
TRACED(C_DigestKey, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b), (a, b), a)
TRACED(C_DigestFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c), (a, b, c), a)
TRACED(C_SignInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c), (a, b, c), a)
TRACED(C_Sign, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_SignUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c), (a, b, c), a)
TRACED(C_SignFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c), (a, b, c), a)
TRACED(C_SignRecoverInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c), (a, b, c), a)
TRACED(C_SignRecover, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_VerifyInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c), (a, b, c), a)
TRACED(C_Verify, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e), (a, b, c, d, e), a)
TRACED(C_VerifyUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c), (a, b, c), a)
TRACED(C_VerifyFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c), (a, b, c), a)
TRACED(C_VerifyRecoverInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c), (a, b, c), a)
TRACED(C_VerifyRecover, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_DigestEncryptUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_DecryptDigestUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_SignEncryptUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_DecryptVerifyUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e), (a, b, c, d, e), a)
TRACED(C_GenerateKey, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_ATTRIBUTE_PTR c, CK_ULONG d, CK_OBJECT_HANDLE_PTR e), (a, b, c, d, e), a)
TRACED(C_GenerateKeyPair, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_ATTRIBUTE_PTR c, CK_ULONG d, CK_ATTRIBUTE_PTR e, CK_ULONG f, CK_OBJECT_HANDLE_PTR g, CK_OBJECT_HANDLE_PTR h), (a, b, c, d, e, f, g, h), a)
TRACED(C_WrapKey, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_OBJECT_HANDLE d, CK_BYTE_PTR e, CK_ULONG_PTR f), (a, b, c, d, e, f), a)
TRACED(C_UnwrapKey, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_BYTE_PTR d, CK_ULONG e, CK_ATTRIBUTE_PTR f, CK_ULONG g, CK_OBJECT_HANDLE_PTR h), (a, b, c, d, e, f, g, h), a)
TRACED(C_DeriveKey, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_ATTRIBUTE_PTR d, CK_ULONG e, CK_OBJECT_HANDLE_PTR f), (a, b, c, d, e, f), a)
TRACED(C_SeedRandom, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c), (a, b, c), a)
TRACED(C_GenerateRandom, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c), (a, b, c), a)
TRACED(C_GetFunctionStatus, (CK_SESSION_HANDLE a), (a), a)
TRACED(C_CancelFunction, (CK_SESSION_HANDLE a), (a), a)
TRACED(C_WaitForSlotEvent, (CK_FLAGS a, CK_SLOT_ID_PTR b, CK_VOID_PTR c), (a, b, c), a)
/* clang-format on */

/* ---- set-up ---- */

static unsigned
parse_areas(const char *spec, size_t len)
{
    unsigned areas = 0;
    size_t i = 0;

    while (i < len) {
        size_t n = strcspn(spec + i, ",:");
        if (n > len - i)
            n = len - i;
        if (n == 6 && strncmp(spec + i, "pkcs11", 6) == 0)
            areas |= AREA_PKCS11;
        else if (n == 6 && strncmp(spec + i, "lookup", 6) == 0)
            areas |= AREA_LOOKUP;
        else if (n == 4 && strncmp(spec + i, "load", 4) == 0)
            areas |= AREA_LOAD;
        else if (n == 3 && strncmp(spec + i, "all", 3) == 0)
            areas |= AREA_PKCS11 | AREA_LOOKUP | AREA_LOAD;
        i += n + 1;
    }
    return areas;
}

#define WRAP(name) ng.trace.traced.name = tr_##name

static void
wrap_all(void)
{
    WRAP(C_Initialize), WRAP(C_Finalize), WRAP(C_GetInfo), WRAP(C_GetSlotList);
    WRAP(C_GetSlotInfo), WRAP(C_GetTokenInfo), WRAP(C_GetMechanismList);
    WRAP(C_GetMechanismInfo), WRAP(C_InitToken), WRAP(C_InitPIN), WRAP(C_SetPIN);
    WRAP(C_OpenSession), WRAP(C_CloseSession), WRAP(C_CloseAllSessions);
    WRAP(C_GetSessionInfo), WRAP(C_GetOperationState), WRAP(C_SetOperationState);
    WRAP(C_Login), WRAP(C_Logout), WRAP(C_CreateObject), WRAP(C_CopyObject);
    WRAP(C_DestroyObject), WRAP(C_GetObjectSize), WRAP(C_GetAttributeValue);
    WRAP(C_SetAttributeValue), WRAP(C_FindObjectsInit), WRAP(C_FindObjects);
    WRAP(C_FindObjectsFinal), WRAP(C_EncryptInit), WRAP(C_Encrypt), WRAP(C_EncryptUpdate);
    WRAP(C_EncryptFinal), WRAP(C_DecryptInit), WRAP(C_Decrypt), WRAP(C_DecryptUpdate);
    WRAP(C_DecryptFinal), WRAP(C_DigestInit), WRAP(C_Digest), WRAP(C_DigestUpdate);
    WRAP(C_DigestKey), WRAP(C_DigestFinal), WRAP(C_SignInit), WRAP(C_Sign);
    WRAP(C_SignUpdate), WRAP(C_SignFinal), WRAP(C_SignRecoverInit), WRAP(C_SignRecover);
    WRAP(C_VerifyInit), WRAP(C_Verify), WRAP(C_VerifyUpdate), WRAP(C_VerifyFinal);
    WRAP(C_VerifyRecoverInit), WRAP(C_VerifyRecover), WRAP(C_DigestEncryptUpdate);
    WRAP(C_DecryptDigestUpdate), WRAP(C_SignEncryptUpdate), WRAP(C_DecryptVerifyUpdate);
    WRAP(C_GenerateKey), WRAP(C_GenerateKeyPair), WRAP(C_WrapKey), WRAP(C_UnwrapKey);
    WRAP(C_DeriveKey), WRAP(C_SeedRandom), WRAP(C_GenerateRandom);
    WRAP(C_GetFunctionStatus), WRAP(C_CancelFunction), WRAP(C_WaitForSlotEvent);
}

/* Reads NSSGUARD_DEBUG once per process. A file that is refused (not a
 * regular file, a symbolic link, unwritable) turns tracing to stderr, with a
 * line that says so: tracing is asked for by a person who watches. */
static void
trace_setup(void)
{
    const char *spec = secure_getenv("NSSGUARD_DEBUG");
    const char *colon, *why;
    tline l;

    if (!spec || !*spec)
        return;
    colon = strchr(spec, ':');
    ng.trace.areas = parse_areas(spec, colon ? (size_t)(colon - spec) : strlen(spec));
    if (!ng.trace.areas)
        return;
    ng.trace.fd = STDERR_FILENO;
    if (colon && colon[1]) {
        int fd = strlen(colon + 1) < 1024 ? ng_log_open_file(colon + 1, &why) : -1;
        if (fd >= 0) {
            ng.trace.fd = fd;
        } else {
            tline_start(&l);
            tprintf(&l, "NSSGUARD_DEBUG: %.1023s refused (%s), tracing to stderr", colon + 1,
                    fd < 0 && strlen(colon + 1) >= 1024 ? "path over 1023 bytes" : why);
            tline_emit(&l);
        }
    }
    /* the wrapped list too, once: C_GetFunctionList may be called from two
     * threads at once, and neither may see a list being filled in */
    if (ng.trace.areas & (AREA_PKCS11 | AREA_LOOKUP)) {
        ng.trace.real = __atomic_load_n(&trace_real, __ATOMIC_RELAXED);
        ng.trace.traced = *ng.trace.real;
        wrap_all();
    }
}

CK_FUNCTION_LIST *
ng_trace_function_list(CK_FUNCTION_LIST *real)
{
    __atomic_store_n(&trace_real, real, __ATOMIC_RELAXED);
    pthread_once(&trace_once, trace_setup);
    return ng.trace.real ? &ng.trace.traced : real;
}

void
ng_trace_event(const char *name, const char *text)
{
    tline l;

    if (!(ng.trace.areas & AREA_LOAD))
        return;
    tline_start(&l);
    tprintf(&l, "event %s: %s", name, text);
    tline_emit(&l);
}

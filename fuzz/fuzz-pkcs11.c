/*
 * fuzz-pkcs11: call sequences with arbitrary arguments into the module's
 * PKCS#11 entry points, in-process (the module's sources are linked in and
 * reached through C_GetFunctionList, as NSS reaches them).
 *
 * The input is a little program: each step takes an opcode byte and reads
 * its arguments from the following bytes (missing bytes read as zero):
 * C_Initialize with no arguments, NSS's arguments, arbitrary lock callbacks
 * and flags, or an arbitrary parameter string; sessions opened and closed;
 * C_FindObjectsInit with arbitrary templates (types, values, lengths, NULL
 * values); C_FindObjects with arbitrary counts; C_GetAttributeValue with
 * arbitrary, short and NULL buffers; the info calls with NULL pointers; a
 * few unsupported functions; C_Finalize. Every input ends with C_Finalize,
 * so inputs are independent and leaks show per input.
 *
 * Buffers handed to the module are heap blocks of exactly the length the
 * call announces, so a write or read past it is an ASan report.
 *
 * Oracles (abort() on violation): every object a search returns has class
 * CKO_NSS_TRUST or CKO_TRUST and answers every trust purpose with
 * NOT_TRUSTED; C_FindObjects never returns more than asked; a successful
 * C_GetAttributeValue never reports a length above the buffer.
 *
 * Files: the first input makes a private folder under $TMPDIR (or /tmp)
 * with a good overlay (issuer CN=A, serial 7), a refused one and a config
 * file, and chdir()s into it (not LLVMFuzzerInitialize: with -jobs the
 * libFuzzer parent runs that too, and would then start its workers and
 * write their logs in the private folder): arbitrary parameter strings have every
 * '/' replaced, so their paths stay inside that folder and log=file: cannot
 * name a file (it needs an absolute path). Give libFuzzer absolute corpus
 * and artifact paths.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static void setup(void);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static CK_FUNCTION_LIST_PTR p11;
static char good_params[1200];
static char folder[512];

static const unsigned char issuer_der[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
                                           0x03, 0x55, 0x04, 0x03, 0x13, 0x01, 0x41};
static const unsigned char serial_der[] = {0x02, 0x01, 0x07};
static const unsigned char serial_bare[] = {0x07};

static const char good_overlay[] =
    "# Explicitly Distrust \"Test\", Bug 1\n"
    "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
    "CKA_TOKEN CK_BBOOL CK_TRUE\n"
    "CKA_LABEL UTF8 \"fuzz MITM CA\"\n"
    "CKA_ISSUER MULTILINE_OCTAL\n"
    "\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003\\023\\001\\101\n"
    "END\n"
    "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\001\\007\nEND\n"
    "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n"
    "CKA_NSSGUARD_REASON UTF8 \"mitm\"\n"
    "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
    "CKA_LABEL UTF8 \"second\"\n"
    "CKA_ISSUER MULTILINE_OCTAL\n"
    "\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003\\023\\001\\101\n"
    "END\n"
    "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\002\\000\\200\nEND\n"
    "CKA_TRUST_CODE_SIGNING CK_TRUST CKT_NSS_NOT_TRUSTED\n";

/* ---- reading the input ---- */

typedef struct {
    const unsigned char *p;
    size_t left;
} reader;

static unsigned
u8(reader *r)
{
    if (!r->left)
        return 0;
    r->left--;
    return *r->p++;
}

static CK_ULONG
u32(reader *r)
{
    CK_ULONG v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | u8(r);
    return v;
}

/* Up to `max` bytes from the input, copied into an exact-size heap block
 * (never NULL: a zero-length value gets a 1-byte block it must not touch). */
static unsigned char *
take(reader *r, size_t want, size_t *got)
{
    size_t n = want < r->left ? want : r->left;
    unsigned char *b = malloc(n ? n : 1);

    if (!b)
        abort();
    if (n)
        memcpy(b, r->p, n);
    r->p += n;
    r->left -= n;
    *got = n;
    return b;
}

/* ---- state of one run ---- */

#define MAX_SESSIONS 8
#define MAX_TEMPLATE 8
#define MAX_FOUND 32

typedef struct {
    CK_SESSION_HANDLE sessions[MAX_SESSIONS];
    size_t n_sessions;
    CK_OBJECT_HANDLE found[MAX_FOUND];
    size_t n_found;
} state;

static CK_SESSION_HANDLE
pick_session(reader *r, state *st)
{
    unsigned k = u8(r);

    if (k < 0xf0 && st->n_sessions)
        return st->sessions[k % st->n_sessions];
    if (k == 0xff)
        return (CK_SESSION_HANDLE)u32(r);
    return (CK_SESSION_HANDLE)(k & 0x0f);
}

static CK_OBJECT_HANDLE
pick_object(reader *r, state *st)
{
    unsigned k = u8(r);

    if (k < 0xe0 && st->n_found)
        return st->found[k % st->n_found];
    if (k == 0xff)
        return (CK_OBJECT_HANDLE)u32(r);
    return (CK_OBJECT_HANDLE)(k & 0x1f);
}

static const CK_ATTRIBUTE_TYPE types[] = {
    CKA_CLASS,
    CKA_TOKEN,
    CKA_PRIVATE,
    CKA_MODIFIABLE,
    CKA_LABEL,
    CKA_ISSUER,
    CKA_SERIAL_NUMBER,
    CKA_SUBJECT,
    CKA_VALUE,
    CKA_ID,
    CKA_CERT_SHA1_HASH,
    CKA_CERT_MD5_HASH,
    CKA_TRUST_SERVER_AUTH,
    CKA_TRUST_CLIENT_AUTH,
    CKA_TRUST_EMAIL_PROTECTION,
    CKA_TRUST_CODE_SIGNING,
    CKA_TRUST_STEP_UP_APPROVED,
    CKA_PKCS_TRUST_SERVER_AUTH,
    CKA_PKCS_TRUST_CLIENT_AUTH,
    CKA_PKCS_TRUST_EMAIL_PROTECTION,
    CKA_PKCS_TRUST_CODE_SIGNING,
    CKA_HASH_OF_CERTIFICATE,
    CKA_NAME_HASH_ALGORITHM,
    CKA_NSSGUARD_REASON,
    CKA_NSSGUARD_REFERENCE,
    CKA_MODULUS,
};

static CK_ATTRIBUTE_TYPE
pick_type(reader *r)
{
    unsigned k = u8(r);

    if (k < 0xf0)
        return types[k % NG_N_ELEMENTS(types)];
    return (CK_ATTRIBUTE_TYPE)u32(r);
}

/* A search value: one the module knows, or bytes from the input. The block
 * is exactly ulValueLen long; a NULL value may come with any length. */
static void
search_value(reader *r, CK_ATTRIBUTE *a)
{
    static const CK_OBJECT_CLASS classes[] = {CKO_NSS_TRUST, CKO_TRUST, CKO_CERTIFICATE,
                                              CKO_NSS_BUILTIN_ROOT_LIST};
    static const CK_BBOOL yes = CK_TRUE;
    const void *known = NULL;
    size_t len = 0, got;
    unsigned k = u8(r);

    switch (k % 8) {
    case 0:
        a->pValue = NULL;
        a->ulValueLen = k & 0x80 ? u32(r) : 0;
        return;
    case 1:
        known = issuer_der, len = sizeof(issuer_der);
        break;
    case 2:
        known = serial_der, len = sizeof(serial_der);
        break;
    case 3:
        known = serial_bare, len = sizeof(serial_bare);
        break;
    case 4:
        known = &classes[(k >> 3) % NG_N_ELEMENTS(classes)], len = sizeof(CK_OBJECT_CLASS);
        break;
    case 5:
        known = &yes, len = sizeof(yes);
        break;
    default:
        a->pValue = take(r, u8(r), &got);
        a->ulValueLen = got;
        return;
    }
    a->pValue = malloc(len);
    if (!a->pValue)
        abort();
    memcpy(a->pValue, known, len);
    a->ulValueLen = len;
}

static CK_ULONG
read_template(reader *r, CK_ATTRIBUTE *tmpl, bool for_search)
{
    CK_ULONG n = u8(r) % (MAX_TEMPLATE + 1);

    for (CK_ULONG i = 0; i < n; i++) {
        tmpl[i].type = pick_type(r);
        if (for_search) {
            search_value(r, &tmpl[i]);
        } else {
            unsigned k = u8(r);
            size_t len = k & 0x7f;
            if (k & 0x80) { /* a length query */
                tmpl[i].pValue = NULL;
                tmpl[i].ulValueLen = k & 1 ? u32(r) : 0;
            } else {
                tmpl[i].pValue = malloc(len ? len : 1);
                if (!tmpl[i].pValue)
                    abort();
                memset(tmpl[i].pValue, 0xa5, len ? len : 1);
                tmpl[i].ulValueLen = len;
            }
        }
    }
    return n;
}

static void
free_template(CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++)
        free(tmpl[i].pValue);
}

static void
check(int cond)
{
    if (!cond)
        abort();
}

/* What NSS would read of a found object: its class and its four purposes. */
static void
check_object(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
    CK_OBJECT_CLASS cls = 0;
    CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};

    check(p11->C_GetAttributeValue(s, h, &a, 1) == CKR_OK);
    check(cls == CKO_NSS_TRUST || cls == CKO_TRUST);
    CK_ATTRIBUTE_TYPE nss[] = {CKA_TRUST_SERVER_AUTH, CKA_TRUST_CLIENT_AUTH,
                               CKA_TRUST_EMAIL_PROTECTION, CKA_TRUST_CODE_SIGNING};
    CK_ATTRIBUTE_TYPE pkcs[] = {CKA_PKCS_TRUST_SERVER_AUTH, CKA_PKCS_TRUST_CLIENT_AUTH,
                                CKA_PKCS_TRUST_EMAIL_PROTECTION, CKA_PKCS_TRUST_CODE_SIGNING};
    for (int i = 0; i < 4; i++) {
        CK_ULONG t = 0;
        CK_ATTRIBUTE q = {cls == CKO_TRUST ? pkcs[i] : nss[i], &t, sizeof(t)};
        check(p11->C_GetAttributeValue(s, h, &q, 1) == CKR_OK);
        check(t == (cls == CKO_TRUST ? CKT_NOT_TRUSTED : CKT_NSS_NOT_TRUSTED));
    }
}

/* ---- the steps ---- */

static CK_RV
fake_create(CK_VOID_PTR_PTR m)
{
    *m = (void *)1;
    return CKR_OK;
}

static CK_RV
fake_other(CK_VOID_PTR m)
{
    return CKR_OK;
}

/* Arbitrary bytes as a parameter string: no '/', so every path is relative
 * to the private folder and no log file can be named. */
static char *
param_string(reader *r)
{
    size_t n;
    unsigned char *b = take(r, u8(r), &n);
    char *s = malloc(n + 1);

    if (!s)
        abort();
    for (size_t i = 0; i < n; i++)
        s[i] = b[i] == '/' ? '_' : (char)b[i];
    s[n] = '\0';
    free(b);
    return s;
}

static void
step_initialize(reader *r)
{
    CK_C_INITIALIZE_ARGS args;
    unsigned k = u8(r);
    char *params = NULL;

    memset(&args, 0, sizeof(args));
    switch (k % 4) {
    case 0: /* no arguments: the config file of the folder */
        p11->C_Initialize(NULL);
        return;
    case 1: /* as NSS calls it */
        args.CreateMutex = fake_create;
        args.DestroyMutex = fake_other;
        args.LockMutex = fake_other;
        args.UnlockMutex = fake_other;
        args.flags = CKF_OS_LOCKING_OK | CKF_LIBRARY_CANT_CREATE_OS_THREADS;
        args.LibraryParameters = (CK_CHAR_PTR *)good_params;
        break;
    case 2: /* arbitrary callbacks and flags */
        args.CreateMutex = k & 0x10 ? fake_create : NULL;
        args.DestroyMutex = k & 0x20 ? fake_other : NULL;
        args.LockMutex = k & 0x40 ? fake_other : NULL;
        args.UnlockMutex = k & 0x80 ? fake_other : NULL;
        args.flags = u32(r);
        args.LibraryParameters = (CK_CHAR_PTR *)(k & 0x08 ? good_params : NULL);
        break;
    default: /* an arbitrary parameter string */
        params = param_string(r);
        args.flags = CKF_OS_LOCKING_OK;
        args.LibraryParameters = (CK_CHAR_PTR *)params;
        break;
    }
    p11->C_Initialize(&args);
    free(params);
}

static void
step_find_init(reader *r, state *st)
{
    CK_ATTRIBUTE tmpl[MAX_TEMPLATE];
    CK_SESSION_HANDLE s = pick_session(r, st);
    CK_ULONG n = read_template(r, tmpl, true);
    unsigned k = u8(r);

    if (k == 0xff) /* a NULL template with a count */
        p11->C_FindObjectsInit(s, NULL, n ? n : 1);
    else
        p11->C_FindObjectsInit(s, n || !(k & 1) ? tmpl : NULL, n);
    free_template(tmpl, n);
}

static void
step_find(reader *r, state *st)
{
    CK_SESSION_HANDLE s = pick_session(r, st);
    unsigned k = u8(r);
    CK_ULONG max = k & 0x3f, count = (CK_ULONG)-1;
    CK_OBJECT_HANDLE *out = malloc((max ? max : 1) * sizeof(*out));

    if (!out)
        abort();
    if (k & 0x80) { /* NULL pointers */
        p11->C_FindObjects(s, k & 0x40 ? out : NULL, max, k & 0x40 ? NULL : &count);
    } else if (p11->C_FindObjects(s, out, max, &count) == CKR_OK) {
        check(count <= max);
        for (CK_ULONG i = 0; i < count; i++) {
            check_object(s, out[i]);
            if (st->n_found < MAX_FOUND)
                st->found[st->n_found++] = out[i];
        }
    }
    free(out);
}

static void
step_get_attributes(reader *r, state *st)
{
    CK_ATTRIBUTE tmpl[MAX_TEMPLATE];
    CK_SESSION_HANDLE s = pick_session(r, st);
    CK_OBJECT_HANDLE h = pick_object(r, st);
    CK_ULONG n = read_template(r, tmpl, false);
    CK_ULONG given[MAX_TEMPLATE];
    bool had_buffer[MAX_TEMPLATE];
    unsigned k = u8(r);
    CK_RV rv;

    for (CK_ULONG i = 0; i < n; i++) {
        given[i] = tmpl[i].ulValueLen;
        had_buffer[i] = tmpl[i].pValue != NULL;
    }
    rv = p11->C_GetAttributeValue(s, h, k == 0xff ? NULL : tmpl, n);
    if (rv == CKR_OK) {
        for (CK_ULONG i = 0; i < n; i++)
            check(!had_buffer[i] || tmpl[i].ulValueLen <= given[i]);
    }
    free_template(tmpl, n);
}

static void
step_info(reader *r, state *st)
{
    unsigned k = u8(r);
    bool null = k & 0x80;
    CK_SLOT_ID slot = k & 0x40 ? (CK_SLOT_ID)u8(r) : 1;
    CK_INFO info;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_SESSION_INFO sess;
    CK_SLOT_ID slots[2];
    CK_MECHANISM_TYPE mechs[2];
    CK_MECHANISM_INFO mi;
    CK_ULONG n = k & 0x20 ? 0 : 2, size;

    switch (k % 9) {
    case 0:
        p11->C_GetInfo(null ? NULL : &info);
        break;
    case 1:
        p11->C_GetSlotList(k & 0x10, null ? NULL : slots, k & 0x08 ? NULL : &n);
        break;
    case 2:
        p11->C_GetSlotInfo(slot, null ? NULL : &si);
        break;
    case 3:
        p11->C_GetTokenInfo(slot, null ? NULL : &ti);
        break;
    case 4:
        p11->C_GetSessionInfo(pick_session(r, st), null ? NULL : &sess);
        break;
    case 5:
        p11->C_GetMechanismList(slot, null ? NULL : mechs, k & 0x08 ? NULL : &n);
        break;
    case 6:
        p11->C_GetMechanismInfo(slot, u32(r), null ? NULL : &mi);
        break;
    case 7:
        p11->C_GetObjectSize(pick_session(r, st), pick_object(r, st), null ? NULL : &size);
        break;
    default:
        p11->C_GetFunctionStatus(pick_session(r, st));
        p11->C_CancelFunction(pick_session(r, st));
        break;
    }
}

static void
step_unsupported(reader *r, state *st)
{
    CK_SESSION_HANDLE s = pick_session(r, st);
    CK_BYTE buf[16];
    CK_ULONG n = sizeof(buf);
    CK_OBJECT_HANDLE h = 0;

    switch (u8(r) % 6) {
    case 0:
        check(p11->C_Login(s, CKU_USER, buf, 0) == CKR_FUNCTION_NOT_SUPPORTED);
        break;
    case 1:
        check(p11->C_CreateObject(s, NULL, 0, &h) == CKR_FUNCTION_NOT_SUPPORTED);
        break;
    case 2:
        check(p11->C_DestroyObject(s, pick_object(r, st)) == CKR_FUNCTION_NOT_SUPPORTED);
        break;
    case 3:
        check(p11->C_SetAttributeValue(s, pick_object(r, st), NULL, 0) ==
              CKR_FUNCTION_NOT_SUPPORTED);
        break;
    case 4:
        check(p11->C_GenerateRandom(s, buf, n) == CKR_FUNCTION_NOT_SUPPORTED);
        break;
    default:
        check(p11->C_InitToken(1, NULL, 0, NULL) == CKR_FUNCTION_NOT_SUPPORTED);
        break;
    }
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    reader r = {data, size};
    state st;
    unsigned steps = 0;

    if (!p11)
        setup();
    memset(&st, 0, sizeof(st));
    while (r.left && steps++ < 256) {
        unsigned op = u8(&r);
        switch (op % 12) {
        case 0:
            step_initialize(&r);
            break;
        case 1:
            p11->C_Finalize(u8(&r) == 0xff ? (void *)&st : NULL);
            break;
        case 2: {
            CK_SESSION_HANDLE h = 0;
            unsigned k = u8(&r);
            CK_FLAGS flags = k & 0x80 ? u32(&r) : CKF_SERIAL_SESSION;
            CK_SLOT_ID slot = k & 0x40 ? (CK_SLOT_ID)u8(&r) : 1;
            if (p11->C_OpenSession(slot, flags, NULL, NULL, k & 0x20 ? NULL : &h) == CKR_OK &&
                st.n_sessions < MAX_SESSIONS)
                st.sessions[st.n_sessions++] = h;
            break;
        }
        case 3:
            p11->C_CloseSession(pick_session(&r, &st));
            break;
        case 4:
            p11->C_CloseAllSessions(u8(&r) & 1 ? 1 : 0);
            break;
        case 5:
        case 6:
            step_find_init(&r, &st);
            break;
        case 7:
            step_find(&r, &st);
            break;
        case 8:
            p11->C_FindObjectsFinal(pick_session(&r, &st));
            break;
        case 9:
            step_get_attributes(&r, &st);
            break;
        case 10:
            step_info(&r, &st);
            break;
        default:
            step_unsupported(&r, &st);
            break;
        }
    }
    p11->C_Finalize(NULL);
    return 0;
}

static void
remove_folder(void)
{
    char path[600];
    static const char *const files[] = {"good.txt", "bad.txt", "nssguard.conf"};

    for (size_t i = 0; i < NG_N_ELEMENTS(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", folder, files[i]);
        unlink(path);
    }
    rmdir(folder);
}

static void
setup(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = folder, path[700];
    FILE *f;

    snprintf(dir, sizeof(folder), "%s/nssguard-fuzz-pkcs11-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir) || chdir(dir) != 0) {
        perror("fuzz-pkcs11: private folder");
        exit(1);
    }
    atexit(remove_folder);
    if (!(f = fopen("good.txt", "w")))
        exit(1);
    fputs(good_overlay, f);
    fclose(f);
    if (!(f = fopen("bad.txt", "w")))
        exit(1);
    fputs("CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nCKA_BOGUS CK_BBOOL CK_TRUE\n", f);
    fclose(f);
    if (!(f = fopen("nssguard.conf", "w")))
        exit(1);
    fputs("overlay = good.txt:bad.txt\nlog = none\nratelimit = 0\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/nssguard.conf", dir);
    setenv("NSSGUARD_CONFIG", path, 1);
    snprintf(good_params, sizeof(good_params), "overlay=%s/good.txt:%s/bad.txt log=none", dir, dir);
    C_GetFunctionList(&p11);
}

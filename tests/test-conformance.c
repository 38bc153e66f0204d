/*
 * test-conformance: the PKCS#11 (v2.40) return codes of every entry point,
 * beyond what test-module covers: calls before C_Initialize and after
 * C_Finalize, double initialisation, invalid slot, session and object
 * handles, NULL pointers, short buffers, unknown attributes, a search whose
 * session is closed (by C_CloseSession or C_CloseAllSessions) while it
 * runs, searches paged one object at a time, and every function a
 * read-only trust token does not implement (CKR_FUNCTION_NOT_SUPPORTED).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

static CK_FUNCTION_LIST_PTR p11;
static char dir[] = "/tmp/nssguard-test-conformance-XXXXXX";
static char overlay_path[512], params[1200];

static const unsigned char issuer_der[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
                                           0x03, 0x55, 0x04, 0x03, 0x13, 0x01, 0x41};

/* Two entries (serials 7 and 8): four objects. */
static const char overlay_text[] =
    "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
    "CKA_TOKEN CK_BBOOL CK_TRUE\n"
    "CKA_LABEL UTF8 \"conformance seven\"\n"
    "CKA_ISSUER MULTILINE_OCTAL\n"
    "\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003\\023\\001\\101\nEND\n"
    "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\001\\007\nEND\n"
    "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n"
    "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
    "CKA_TOKEN CK_BBOOL CK_TRUE\n"
    "CKA_LABEL UTF8 \"conformance eight\"\n"
    "CKA_ISSUER MULTILINE_OCTAL\n"
    "\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003\\023\\001\\101\nEND\n"
    "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\001\\010\nEND\n"
    "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n";

#define IS(got, want, what) tap_is_ulong((got), (want), (what))

static CK_RV
init(void)
{
    CK_C_INITIALIZE_ARGS args;

    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.LibraryParameters = (CK_CHAR_PTR *)params;
    return p11->C_Initialize(&args);
}

static CK_SESSION_HANDLE
open_session(void)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;

    p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
    return s;
}

/* The implemented entry points, each called with plausible arguments, must
 * all say CKR_CRYPTOKI_NOT_INITIALIZED when the module is not initialised. */
static void
test_not_initialized(const char *when)
{
    CK_INFO info;
    CK_SLOT_ID slot;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_MECHANISM_TYPE mech;
    CK_MECHANISM_INFO mi;
    CK_SESSION_HANDLE s = 1;
    CK_SESSION_INFO sinfo;
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 1;
    CK_ATTRIBUTE a = {CKA_CLASS, NULL, 0};
    char what[160];
    int bad = 0;

    CK_RV rvs[] = {
        p11->C_Finalize(NULL),
        p11->C_GetInfo(&info),
        p11->C_GetSlotList(CK_TRUE, &slot, &n),
        p11->C_GetSlotInfo(1, &si),
        p11->C_GetTokenInfo(1, &ti),
        p11->C_GetMechanismList(1, &mech, &n),
        p11->C_GetMechanismInfo(1, CKM_SHA_1, &mi),
        p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s),
        p11->C_CloseSession(1),
        p11->C_CloseAllSessions(1),
        p11->C_GetSessionInfo(1, &sinfo),
        p11->C_FindObjectsInit(1, &a, 1),
        p11->C_FindObjects(1, &h, 1, &n),
        p11->C_FindObjectsFinal(1),
        p11->C_GetAttributeValue(1, 1, &a, 1),
        p11->C_GetObjectSize(1, 1, &n),
        p11->C_GetFunctionStatus(1),
        p11->C_CancelFunction(1),
    };
    for (size_t i = 0; i < NG_N_ELEMENTS(rvs); i++) {
        if (rvs[i] != CKR_CRYPTOKI_NOT_INITIALIZED) {
            printf("# call %zu returned 0x%lx\n", i, rvs[i]);
            bad++;
        }
    }
    snprintf(what, sizeof(what), "%s: all 18 implemented functions say NOT_INITIALIZED", when);
    IS(bad, 0, what);
}

static void
test_initialize(void)
{
    CK_FUNCTION_LIST_PTR again = NULL;

    IS(C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD, "C_GetFunctionList(NULL)");
    IS(C_GetFunctionList(&again), CKR_OK, "C_GetFunctionList");
    tap_ok(again == p11, "... always the same list");
    tap_ok(p11->version.major == 2 && p11->version.minor == 40, "function list version 2.40");
    test_not_initialized("before C_Initialize");
    IS(p11->C_Finalize((void *)p11), CKR_ARGUMENTS_BAD, "C_Finalize(non-NULL)");
    IS(init(), CKR_OK, "C_Initialize");
    IS(init(), CKR_CRYPTOKI_ALREADY_INITIALIZED, "C_Initialize twice");
    IS(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED, "C_Initialize(NULL) twice");
    IS(p11->C_Finalize((void *)p11), CKR_ARGUMENTS_BAD, "C_Finalize(non-NULL) while initialised");
    IS(p11->C_Finalize(NULL), CKR_OK, "C_Finalize");
    test_not_initialized("after C_Finalize");
    IS(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED, "C_Finalize twice");
    IS(init(), CKR_OK, "C_Initialize after C_Finalize");
}

static void
test_slot_and_token(void)
{
    CK_INFO info;
    CK_SLOT_ID slots[4];
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_MECHANISM_TYPE mech[2];
    CK_MECHANISM_INFO mi;
    CK_ULONG n;

    IS(p11->C_GetInfo(NULL), CKR_ARGUMENTS_BAD, "C_GetInfo(NULL)");
    IS(p11->C_GetInfo(&info), CKR_OK, "C_GetInfo");
    tap_ok(memchr(info.manufacturerID, '\0', sizeof(info.manufacturerID)) == NULL &&
               info.manufacturerID[sizeof(info.manufacturerID) - 1] == ' ',
           "... manufacturerID blank-padded, not NUL-terminated");
    tap_ok(info.flags == 0, "... flags 0");

    IS(p11->C_GetSlotList(CK_TRUE, slots, NULL), CKR_ARGUMENTS_BAD, "C_GetSlotList, NULL count");
    n = 0;
    IS(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK, "C_GetSlotList count, all slots");
    IS(n, 1, "... one");
    n = 0;
    IS(p11->C_GetSlotList(CK_FALSE, slots, &n), CKR_BUFFER_TOO_SMALL, "slot list, short buffer");
    IS(n, 1, "... with the length set");
    n = 4;
    IS(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK, "slot list");
    tap_ok(n == 1 && slots[0] == 1, "... slot 1");

    IS(p11->C_GetSlotInfo(0, &si), CKR_SLOT_ID_INVALID, "C_GetSlotInfo, slot 0");
    IS(p11->C_GetSlotInfo(2, &si), CKR_SLOT_ID_INVALID, "C_GetSlotInfo, slot 2");
    IS(p11->C_GetSlotInfo(1, NULL), CKR_ARGUMENTS_BAD, "C_GetSlotInfo(NULL)");
    IS(p11->C_GetTokenInfo(7, &ti), CKR_SLOT_ID_INVALID, "C_GetTokenInfo, bad slot");
    IS(p11->C_GetTokenInfo(1, NULL), CKR_ARGUMENTS_BAD, "C_GetTokenInfo(NULL)");
    IS(p11->C_GetTokenInfo(1, &ti), CKR_OK, "C_GetTokenInfo");
    tap_ok(!(ti.flags & (CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_RNG)),
           "... no login, no PIN, no RNG");
    IS(ti.ulMaxRwSessionCount, 0, "... no read-write sessions");
    tap_ok(ti.label[sizeof(ti.label) - 1] == ' ', "... label blank-padded");

    IS(p11->C_GetMechanismList(9, mech, &n), CKR_SLOT_ID_INVALID, "C_GetMechanismList, bad slot");
    IS(p11->C_GetMechanismList(1, mech, NULL), CKR_ARGUMENTS_BAD, "C_GetMechanismList, NULL count");
    n = 2;
    IS(p11->C_GetMechanismList(1, mech, &n), CKR_OK, "C_GetMechanismList into a buffer");
    IS(n, 0, "... no mechanisms");
    IS(p11->C_GetMechanismInfo(9, CKM_SHA_1, &mi), CKR_SLOT_ID_INVALID,
       "C_GetMechanismInfo, bad slot");
    IS(p11->C_GetMechanismInfo(1, CKM_SHA_1, &mi), CKR_MECHANISM_INVALID,
       "C_GetMechanismInfo: no mechanism is valid");
}

static void
test_sessions(void)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE, t, u;
    CK_SESSION_INFO info;
    CK_TOKEN_INFO ti;

    IS(p11->C_OpenSession(2, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_SLOT_ID_INVALID,
       "C_OpenSession, bad slot");
    IS(p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD,
       "C_OpenSession(NULL handle)");
    IS(p11->C_OpenSession(1, 0, NULL, NULL, &s), CKR_SESSION_PARALLEL_NOT_SUPPORTED,
       "C_OpenSession without CKF_SERIAL_SESSION");
    IS(p11->C_OpenSession(1, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
       CKR_TOKEN_WRITE_PROTECTED, "C_OpenSession read-write");
    IS(p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK, "C_OpenSession");
    tap_ok(s != CK_INVALID_HANDLE, "... a valid handle");
    t = open_session();
    u = open_session();
    tap_ok(t != s && u != s && u != t, "three sessions, three handles");
    IS(p11->C_GetTokenInfo(1, &ti), CKR_OK, "C_GetTokenInfo");
    IS(ti.ulSessionCount, 3, "... counts three sessions");
    IS(p11->C_GetSessionInfo(s, NULL), CKR_ARGUMENTS_BAD, "C_GetSessionInfo(NULL)");
    IS(p11->C_GetSessionInfo(CK_INVALID_HANDLE, &info), CKR_SESSION_HANDLE_INVALID,
       "C_GetSessionInfo(CK_INVALID_HANDLE)");
    IS(p11->C_GetSessionInfo(s, &info), CKR_OK, "C_GetSessionInfo");
    tap_ok(info.slotID == 1 && info.state == CKS_RO_PUBLIC_SESSION &&
               info.flags == CKF_SERIAL_SESSION && info.ulDeviceError == 0,
           "... slot 1, read-only public, serial");
    IS(p11->C_CloseSession(CK_INVALID_HANDLE), CKR_SESSION_HANDLE_INVALID,
       "C_CloseSession(CK_INVALID_HANDLE)");
    IS(p11->C_CloseSession((CK_SESSION_HANDLE)-1), CKR_SESSION_HANDLE_INVALID,
       "C_CloseSession(~0)");
    IS(p11->C_CloseSession(t), CKR_OK, "C_CloseSession");
    IS(p11->C_GetSessionInfo(t, &info), CKR_SESSION_HANDLE_INVALID, "... its handle is dead");
    IS(p11->C_GetSessionInfo(s, &info), CKR_OK, "... the others live");
    IS(p11->C_CloseAllSessions(5), CKR_SLOT_ID_INVALID, "C_CloseAllSessions, bad slot");
    IS(p11->C_CloseAllSessions(1), CKR_OK, "C_CloseAllSessions");
    IS(p11->C_GetSessionInfo(s, &info), CKR_SESSION_HANDLE_INVALID, "... closed the first");
    IS(p11->C_GetSessionInfo(u, &info), CKR_SESSION_HANDLE_INVALID, "... and the last");
    p11->C_GetTokenInfo(1, &ti);
    IS(ti.ulSessionCount, 0, "... none left");
    IS(p11->C_CloseAllSessions(1), CKR_OK, "C_CloseAllSessions with none open");

    /* A handle does not survive C_Finalize and C_Initialize. */
    s = open_session();
    p11->C_Finalize(NULL);
    init();
    IS(p11->C_GetSessionInfo(s, &info), CKR_SESSION_HANDLE_INVALID,
       "a session handle from before C_Finalize is invalid after C_Initialize");
}

static CK_ULONG
find_all(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *h, CK_ULONG max)
{
    CK_ULONG n = 0;

    if (p11->C_FindObjectsInit(s, NULL, 0) != CKR_OK)
        return (CK_ULONG)-1;
    p11->C_FindObjects(s, h, max, &n);
    p11->C_FindObjectsFinal(s);
    return n;
}

static void
test_find(void)
{
    CK_SESSION_HANDLE s = open_session(), t = open_session();
    CK_OBJECT_HANDLE h[8], one;
    CK_ULONG n = 99, total = 0;
    CK_ATTRIBUTE null_value = {CKA_LABEL, NULL, 5};
    CK_ATTRIBUTE modulus = {CKA_MODULUS, "x", 1};
    CK_ATTRIBUTE empty_label = {CKA_LABEL, NULL, 0};
    CK_ATTRIBUTE issuer = {CKA_ISSUER, (void *)issuer_der, sizeof(issuer_der)};

    IS(p11->C_FindObjectsInit(s, NULL, 1), CKR_ARGUMENTS_BAD, "C_FindObjectsInit(NULL, 1)");
    IS(p11->C_FindObjectsInit(s, &null_value, 1), CKR_ARGUMENTS_BAD,
       "C_FindObjectsInit: NULL value with a length");
    IS(p11->C_FindObjectsInit(CK_INVALID_HANDLE, NULL, 0), CKR_SESSION_HANDLE_INVALID,
       "C_FindObjectsInit, invalid session");
    IS(p11->C_FindObjects(CK_INVALID_HANDLE, h, 1, &n), CKR_SESSION_HANDLE_INVALID,
       "C_FindObjects, invalid session");
    IS(p11->C_FindObjectsFinal(CK_INVALID_HANDLE), CKR_SESSION_HANDLE_INVALID,
       "C_FindObjectsFinal, invalid session");

    IS(p11->C_FindObjectsInit(s, &modulus, 1), CKR_OK, "a search on an unknown attribute");
    IS(p11->C_FindObjects(s, h, 8, &n), CKR_OK, "... runs");
    IS(n, 0, "... and matches nothing");
    IS(p11->C_FindObjectsFinal(s), CKR_OK, "... ends");
    IS(p11->C_FindObjectsInit(s, &empty_label, 1), CKR_OK, "a search for an empty label");
    p11->C_FindObjects(s, h, 8, &n);
    IS(n, 0, "... matches nothing");
    p11->C_FindObjectsFinal(s);

    IS(p11->C_FindObjectsInit(s, &issuer, 1), CKR_OK, "a search by issuer only (scan)");
    IS(p11->C_FindObjects(s, h, 0, &n), CKR_OK, "C_FindObjects for 0 objects");
    IS(n, 0, "... returns 0");
    IS(p11->C_FindObjects(s, h, 1, NULL), CKR_ARGUMENTS_BAD, "C_FindObjects, NULL count");
    for (int i = 0; i < 10; i++) {
        n = 0;
        if (p11->C_FindObjects(s, &one, 1, &n) != CKR_OK || n == 0)
            break;
        total += n;
    }
    IS(total, 4, "paged one at a time: 2 entries x 2 classes");
    IS(p11->C_FindObjects(s, h, 8, &n), CKR_OK, "C_FindObjects after the end");
    IS(n, 0, "... returns 0");
    IS(p11->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE,
       "C_FindObjectsInit during a search");
    IS(p11->C_FindObjectsInit(t, NULL, 0), CKR_OK, "... another session searches meanwhile");
    IS(p11->C_FindObjectsFinal(s), CKR_OK, "C_FindObjectsFinal");
    IS(p11->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED, "C_FindObjectsFinal twice");
    IS(p11->C_FindObjects(s, h, 1, &n), CKR_OPERATION_NOT_INITIALIZED,
       "C_FindObjects after C_FindObjectsFinal");
    IS(find_all(s, h, 8), 4, "a new search in the same session");

    /* Sessions closed during a search. */
    IS(p11->C_CloseSession(t), CKR_OK, "C_CloseSession during a search");
    IS(p11->C_FindObjects(t, h, 8, &n), CKR_SESSION_HANDLE_INVALID, "... C_FindObjects then");
    IS(p11->C_FindObjectsFinal(t), CKR_SESSION_HANDLE_INVALID, "... C_FindObjectsFinal then");
    IS(p11->C_FindObjectsInit(s, NULL, 0), CKR_OK, "a search ...");
    IS(p11->C_CloseAllSessions(1), CKR_OK, "... ended by C_CloseAllSessions");
    IS(p11->C_FindObjects(s, h, 8, &n), CKR_SESSION_HANDLE_INVALID, "... C_FindObjects then");
}

static void
test_attributes(void)
{
    CK_SESSION_HANDLE s = open_session(), t = open_session();
    CK_OBJECT_HANDLE h[8];
    CK_ULONG n = find_all(s, h, 8), size = 0;
    CK_OBJECT_CLASS cls = 0;
    char label[64], tiny[3];
    CK_ATTRIBUTE a[3];

    IS(n, 4, "four objects");
    IS(p11->C_GetAttributeValue(s, h[0], NULL, 1), CKR_ARGUMENTS_BAD,
       "C_GetAttributeValue(NULL template, 1)");
    IS(p11->C_GetAttributeValue(s, h[0], NULL, 0), CKR_OK, "C_GetAttributeValue of nothing");
    a[0] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
    IS(p11->C_GetAttributeValue(CK_INVALID_HANDLE, h[0], a, 1), CKR_SESSION_HANDLE_INVALID,
       "C_GetAttributeValue, invalid session");
    IS(p11->C_GetAttributeValue(s, CK_INVALID_HANDLE, a, 1), CKR_OBJECT_HANDLE_INVALID,
       "C_GetAttributeValue(CK_INVALID_HANDLE)");
    IS(p11->C_GetAttributeValue(s, 5, a, 1), CKR_OBJECT_HANDLE_INVALID,
       "C_GetAttributeValue, handle past the last object");
    IS(p11->C_GetAttributeValue(s, (CK_OBJECT_HANDLE)-1, a, 1), CKR_OBJECT_HANDLE_INVALID,
       "C_GetAttributeValue, handle ~0");
    /* An object handle in another session: see test-handle-any-session
     * (an expected failure). Here t searches first, then reads. */
    find_all(t, h + 4, 4);
    IS(p11->C_GetAttributeValue(t, h[0], a, 1), CKR_OK,
       "an object handle works in another session that has searched");

    /* One unknown, one too short, one good: every entry is processed. */
    a[0] = (CK_ATTRIBUTE){CKA_MODULUS, label, sizeof(label)};
    a[1] = (CK_ATTRIBUTE){CKA_LABEL, tiny, sizeof(tiny)};
    a[2] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
    CK_RV rv = p11->C_GetAttributeValue(s, h[0], a, 3);
    tap_ok(rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_BUFFER_TOO_SMALL,
           "unknown + short + good: ATTRIBUTE_TYPE_INVALID or BUFFER_TOO_SMALL");
    IS(a[0].ulValueLen, CK_UNAVAILABLE_INFORMATION, "... the unknown one: unavailable");
    IS(a[1].ulValueLen, CK_UNAVAILABLE_INFORMATION, "... the short one: unavailable");
    IS(a[2].ulValueLen, sizeof(cls), "... the good one is still filled");
    tap_ok(cls == CKO_NSS_TRUST || cls == CKO_TRUST, "... with the class");

    a[0] = (CK_ATTRIBUTE){CKA_LABEL, NULL, 12345};
    IS(p11->C_GetAttributeValue(s, h[0], a, 1), CKR_OK, "a length query (NULL value)");
    IS(a[0].ulValueLen, strlen("conformance seven"), "... gives the exact length");
    a[0].pValue = label;
    a[0].ulValueLen = strlen("conformance seven");
    IS(p11->C_GetAttributeValue(s, h[0], a, 1), CKR_OK, "a buffer of exactly that length");
    tap_ok(memcmp(label, "conformance seven", 17) == 0, "... gets the label, no NUL needed");
    a[0].ulValueLen = sizeof(label);
    IS(p11->C_GetAttributeValue(s, h[0], a, 1), CKR_OK, "a larger buffer");
    IS(a[0].ulValueLen, 17, "... length set to the value's");

    IS(p11->C_GetObjectSize(s, h[0], NULL), CKR_ARGUMENTS_BAD, "C_GetObjectSize(NULL)");
    IS(p11->C_GetObjectSize(s, 999, &size), CKR_OBJECT_HANDLE_INVALID,
       "C_GetObjectSize, bad handle");
    IS(p11->C_GetObjectSize(s, h[0], &size), CKR_OK, "C_GetObjectSize");
    IS(size, CK_UNAVAILABLE_INFORMATION, "... unavailable");
    IS(p11->C_GetFunctionStatus(s), CKR_FUNCTION_NOT_PARALLEL, "C_GetFunctionStatus (legacy)");
    IS(p11->C_CancelFunction(s), CKR_FUNCTION_NOT_PARALLEL, "C_CancelFunction (legacy)");
    p11->C_CloseAllSessions(1);
}

/* Every function a read-only trust token does not have. */
static void
test_unsupported(void)
{
    CK_SESSION_HANDLE s = open_session();
    CK_MECHANISM mech = {CKM_SHA_1, NULL, 0};
    CK_BYTE buf[32];
    CK_ULONG n = sizeof(buf);
    CK_OBJECT_HANDLE h = 0, h2 = 0;
    CK_ATTRIBUTE a = {CKA_LABEL, buf, sizeof(buf)};
    CK_SLOT_ID slot;
    int bad = 0, count = 0;

#define NS(call)                                                                                   \
    do {                                                                                           \
        count++;                                                                                   \
        CK_RV rv_ = (call);                                                                        \
        if (rv_ != CKR_FUNCTION_NOT_SUPPORTED) {                                                   \
            printf("# %s returned 0x%lx\n", #call, rv_);                                           \
            bad++;                                                                                 \
        }                                                                                          \
    } while (0)
    NS(p11->C_InitToken(1, buf, 4, buf));
    NS(p11->C_InitPIN(s, buf, 4));
    NS(p11->C_SetPIN(s, buf, 4, buf, 4));
    NS(p11->C_GetOperationState(s, buf, &n));
    NS(p11->C_SetOperationState(s, buf, n, 0, 0));
    NS(p11->C_Login(s, CKU_USER, buf, 4));
    NS(p11->C_Logout(s));
    NS(p11->C_CreateObject(s, &a, 1, &h));
    NS(p11->C_CopyObject(s, 1, &a, 1, &h));
    NS(p11->C_DestroyObject(s, 1));
    NS(p11->C_SetAttributeValue(s, 1, &a, 1));
    NS(p11->C_EncryptInit(s, &mech, 1));
    NS(p11->C_Encrypt(s, buf, 4, buf, &n));
    NS(p11->C_EncryptUpdate(s, buf, 4, buf, &n));
    NS(p11->C_EncryptFinal(s, buf, &n));
    NS(p11->C_DecryptInit(s, &mech, 1));
    NS(p11->C_Decrypt(s, buf, 4, buf, &n));
    NS(p11->C_DecryptUpdate(s, buf, 4, buf, &n));
    NS(p11->C_DecryptFinal(s, buf, &n));
    NS(p11->C_DigestInit(s, &mech));
    NS(p11->C_Digest(s, buf, 4, buf, &n));
    NS(p11->C_DigestUpdate(s, buf, 4));
    NS(p11->C_DigestKey(s, 1));
    NS(p11->C_DigestFinal(s, buf, &n));
    NS(p11->C_SignInit(s, &mech, 1));
    NS(p11->C_Sign(s, buf, 4, buf, &n));
    NS(p11->C_SignUpdate(s, buf, 4));
    NS(p11->C_SignFinal(s, buf, &n));
    NS(p11->C_SignRecoverInit(s, &mech, 1));
    NS(p11->C_SignRecover(s, buf, 4, buf, &n));
    NS(p11->C_VerifyInit(s, &mech, 1));
    NS(p11->C_Verify(s, buf, 4, buf, 4));
    NS(p11->C_VerifyUpdate(s, buf, 4));
    NS(p11->C_VerifyFinal(s, buf, 4));
    NS(p11->C_VerifyRecoverInit(s, &mech, 1));
    NS(p11->C_VerifyRecover(s, buf, 4, buf, &n));
    NS(p11->C_DigestEncryptUpdate(s, buf, 4, buf, &n));
    NS(p11->C_DecryptDigestUpdate(s, buf, 4, buf, &n));
    NS(p11->C_SignEncryptUpdate(s, buf, 4, buf, &n));
    NS(p11->C_DecryptVerifyUpdate(s, buf, 4, buf, &n));
    NS(p11->C_GenerateKey(s, &mech, &a, 1, &h));
    NS(p11->C_GenerateKeyPair(s, &mech, &a, 1, &a, 1, &h, &h2));
    NS(p11->C_WrapKey(s, &mech, 1, 1, buf, &n));
    NS(p11->C_UnwrapKey(s, &mech, 1, buf, 4, &a, 1, &h));
    NS(p11->C_DeriveKey(s, &mech, 1, &a, 1, &h));
    NS(p11->C_SeedRandom(s, buf, 4));
    NS(p11->C_GenerateRandom(s, buf, 4));
    NS(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL));
#undef NS
    IS(count, 48, "48 unsupported functions called");
    IS(bad, 0, "... each returns CKR_FUNCTION_NOT_SUPPORTED");
    p11->C_CloseSession(s);
}

int
main(void)
{
    FILE *f;
    char cmd[600];

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    snprintf(overlay_path, sizeof(overlay_path), "%s/overlay.txt", dir);
    f = fopen(overlay_path, "w");
    if (!f)
        return 99;
    fputs(overlay_text, f);
    fclose(f);
    snprintf(params, sizeof(params), "overlay=%s log=none", overlay_path);
    C_GetFunctionList(&p11);

    test_initialize();
    test_slot_and_token();
    test_sessions();
    test_find();
    test_attributes();
    test_unsupported();
    IS(p11->C_Finalize(NULL), CKR_OK, "C_Finalize at the end");

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return tap_done();
}

/*
 * test-module: the PKCS#11 surface, called in-process as NSS calls it.
 * Initialisation (NSS's arguments, parameter string, config file), the
 * token's flags, the trust query in both serial forms and both trust
 * classes, the attribute values (never positive, never UNKNOWN), the
 * objects it must not serve, p11-kit mode, return codes for misuse, rate-limited events,
 * refused files, and fork.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

static CK_FUNCTION_LIST_PTR p11;
static char dir[] = "/tmp/nssguard-test-module-XXXXXX";
static char log_path[512], overlay_path[512], bad_path[512], params[2048];

/* Issuer "CN=A" and serial 7, as DER. */
static const unsigned char issuer_der[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
                                           0x03, 0x55, 0x04, 0x03, 0x13, 0x01, 0x41};
static const unsigned char serial_der[] = {0x02, 0x01, 0x07};
static const unsigned char serial_bare[] = {0x07};

static const char overlay_text[] =
    "# Explicitly Distrust \"Test\", Bug 1\n"
    "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
    "CKA_TOKEN CK_BBOOL CK_TRUE\n"
    "CKA_LABEL UTF8 \"test MITM CA\"\n"
    "CKA_ISSUER MULTILINE_OCTAL\n"
    "\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003\\023\\001\\101\n"
    "END\n"
    "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\001\\007\nEND\n"
    "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n"
    "CKA_TRUST_STEP_UP_APPROVED CK_BBOOL CK_FALSE\n"
    "CKA_NSSGUARD_REASON UTF8 \"mitm\"\n"
    "CKA_NSSGUARD_REFERENCE UTF8 \"https://example.test/1\"\n";

/* NSS's own lock callbacks are never called with CKF_OS_LOCKING_OK; these
 * stand in for them. */
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

static CK_RV
init_with(const char *parameters)
{
    CK_C_INITIALIZE_ARGS args;

    memset(&args, 0, sizeof(args));
    args.CreateMutex = fake_create;
    args.DestroyMutex = fake_other;
    args.LockMutex = fake_other;
    args.UnlockMutex = fake_other;
    args.flags = CKF_OS_LOCKING_OK | CKF_LIBRARY_CANT_CREATE_OS_THREADS;
    args.LibraryParameters = (CK_CHAR_PTR *)parameters;
    return p11->C_Initialize(&args);
}

static CK_SESSION_HANDLE
open_session(void)
{
    CK_SESSION_HANDLE s = 0;
    p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
    return s;
}

/* Runs one find and returns how many objects it found (up to 64). */
static CK_ULONG
find(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    CK_OBJECT_HANDLE local[64];
    CK_ULONG count = 0;

    if (!out)
        out = local;
    if (p11->C_FindObjectsInit(s, tmpl, n) != CKR_OK)
        return (CK_ULONG)-1;
    p11->C_FindObjects(s, out, 64, &count);
    p11->C_FindObjectsFinal(s);
    return count;
}

static CK_ULONG
trust_query(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const void *serial, CK_ULONG serial_len,
            CK_OBJECT_HANDLE *out)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_ISSUER, (void *)issuer_der, sizeof(issuer_der)},
        {CKA_SERIAL_NUMBER, (void *)serial, serial_len},
    };
    return find(s, tmpl, 4, out);
}

static void
test_before_init(void)
{
    CK_INFO info;

    tap_is_ulong(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED,
                 "C_GetInfo before C_Initialize");
    tap_is_ulong(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED,
                 "C_Finalize before C_Initialize");
    tap_is_ulong(p11->C_FindObjectsInit(1, NULL, 0), CKR_CRYPTOKI_NOT_INITIALIZED,
                 "C_FindObjectsInit before C_Initialize");

    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof(args));
    args.CreateMutex = fake_create;
    tap_is_ulong(p11->C_Initialize(&args), CKR_ARGUMENTS_BAD, "some lock callbacks but not all");
    args.DestroyMutex = fake_other;
    args.LockMutex = fake_other;
    args.UnlockMutex = fake_other;
    tap_is_ulong(p11->C_Initialize(&args), CKR_CANT_LOCK,
                 "lock callbacks without CKF_OS_LOCKING_OK");
    tap_is_ulong(init_with("overlay=/x colour=blue"), CKR_ARGUMENTS_BAD,
                 "an unknown key in the parameter string fails C_Initialize");
    tap_is_ulong(init_with("log=carrier-pigeon"), CKR_ARGUMENTS_BAD, "a bad log destination");
}

static void
test_token(void)
{
    CK_SLOT_ID slots[2];
    CK_ULONG n = 0;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_INFO info;

    tap_is_ulong(init_with(params), CKR_OK, "C_Initialize with NSS's arguments and parameters");
    tap_is_ulong(init_with(params), CKR_CRYPTOKI_ALREADY_INITIALIZED, "second C_Initialize");
    tap_is_ulong(p11->C_GetInfo(&info), CKR_OK, "C_GetInfo");
    tap_ok(info.cryptokiVersion.major == 2 && info.cryptokiVersion.minor >= 1,
           "cryptokiVersion >= 2.1");
    tap_is_ulong(p11->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK, "slot count");
    tap_is_ulong(n, 1, "one slot");
    n = 0;
    tap_is_ulong(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL,
                 "slot list into a zero-length buffer");
    tap_is_ulong(n, 1, "... with the length set");
    tap_is_ulong(p11->C_GetSlotInfo(1, &si), CKR_OK, "C_GetSlotInfo");
    tap_ok(si.flags & CKF_TOKEN_PRESENT, "CKF_TOKEN_PRESENT");
    tap_ok(!(si.flags & CKF_HW_SLOT), "no CKF_HW_SLOT (NSS would drop the serial from its cache)");
    tap_is_ulong(p11->C_GetTokenInfo(1, &ti), CKR_OK, "C_GetTokenInfo");
    tap_ok(ti.flags & CKF_WRITE_PROTECTED, "token is write-protected");
    tap_is_ulong(p11->C_GetSlotInfo(2, &si), CKR_SLOT_ID_INVALID, "a slot that does not exist");
    tap_is_ulong(p11->C_GetMechanismList(1, NULL, &n), CKR_OK, "mechanism list");
    tap_is_ulong(n, 0, "no mechanisms");
}

static void
test_queries(void)
{
    CK_SESSION_HANDLE s = open_session(), rw = 0;
    CK_OBJECT_HANDLE h[64];
    CK_OBJECT_CLASS cert = CKO_CERTIFICATE, roots = CKO_NSS_BUILTIN_ROOT_LIST;
    CK_ATTRIBUTE by_class = {CKA_CLASS, &cert, sizeof(cert)};

    tap_ok(s != 0, "read-only session opens");
    tap_is_ulong(p11->C_OpenSession(1, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw),
                 CKR_TOKEN_WRITE_PROTECTED, "read-write session refused");
    tap_is_ulong(p11->C_OpenSession(1, 0, NULL, NULL, &rw), CKR_SESSION_PARALLEL_NOT_SUPPORTED,
                 "session without CKF_SERIAL_SESSION refused");

    tap_is_ulong(trust_query(s, CKO_NSS_TRUST, serial_der, sizeof(serial_der), h), 1,
                 "CKO_NSS_TRUST found by DER INTEGER serial");
    tap_is_ulong(trust_query(s, CKO_NSS_TRUST, serial_bare, sizeof(serial_bare), NULL), 1,
                 "CKO_NSS_TRUST found by bare serial value (temporary certificates)");
    tap_is_ulong(trust_query(s, CKO_TRUST, serial_der, sizeof(serial_der), NULL), 1,
                 "PKCS#11 3.2 CKO_TRUST found too");
    static const unsigned char other[] = {0x02, 0x01, 0x08};
    tap_is_ulong(trust_query(s, CKO_NSS_TRUST, other, sizeof(other), NULL), 0,
                 "another serial finds nothing");
    /* The lookup compares the issuer it probed with once, and only the
     * objects of the class asked for: an attribute given twice must still
     * match both times. */
    static const unsigned char issuer_b[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
                                             0x03, 0x55, 0x04, 0x03, 0x13, 0x01, 'B'};
    CK_OBJECT_CLASS nss_trust = CKO_NSS_TRUST, pkcs_trust = CKO_TRUST;
    CK_ATTRIBUTE two_issuers[] = {
        {CKA_ISSUER, (void *)issuer_b, sizeof(issuer_b)},
        {CKA_CLASS, &nss_trust, sizeof(nss_trust)},
        {CKA_ISSUER, (void *)issuer_der, sizeof(issuer_der)},
        {CKA_SERIAL_NUMBER, (void *)serial_der, sizeof(serial_der)},
    };
    tap_is_ulong(find(s, two_issuers, 4, NULL), 0,
                 "a template with another issuer before the probed one finds nothing");
    two_issuers[0].pValue = (void *)issuer_der;
    two_issuers[0].ulValueLen = sizeof(issuer_der);
    tap_is_ulong(find(s, two_issuers, 4, NULL), 1, "... the same issuer twice finds the entry");
    CK_ATTRIBUTE two_classes[] = {
        {CKA_CLASS, &pkcs_trust, sizeof(pkcs_trust)},
        {CKA_ISSUER, (void *)issuer_der, sizeof(issuer_der)},
        {CKA_SERIAL_NUMBER, (void *)serial_der, sizeof(serial_der)},
        {CKA_CLASS, &nss_trust, sizeof(nss_trust)},
    };
    tap_is_ulong(find(s, two_classes, 4, NULL), 0, "two different classes find nothing");
    tap_is_ulong(find(s, &by_class, 1, NULL), 0, "no CKO_CERTIFICATE objects are served");
    by_class.pValue = &roots;
    tap_is_ulong(find(s, &by_class, 1, NULL), 0, "no CKO_NSS_BUILTIN_ROOT_LIST object");
    tap_is_ulong(find(s, NULL, 0, NULL), 2, "listing everything: one entry, two trust objects");

    /* The attributes NSS reads in one call. */
    CK_BBOOL token = 0, step = 1;
    CK_TRUST sa = 0, ca = 0, ep = 0, cs = 0;
    unsigned char sha1[20];
    CK_ATTRIBUTE attrs[] = {
        {CKA_TOKEN, &token, sizeof(token)},
        {CKA_TRUST_SERVER_AUTH, &sa, sizeof(sa)},
        {CKA_TRUST_CLIENT_AUTH, &ca, sizeof(ca)},
        {CKA_TRUST_EMAIL_PROTECTION, &ep, sizeof(ep)},
        {CKA_TRUST_CODE_SIGNING, &cs, sizeof(cs)},
        {CKA_TRUST_STEP_UP_APPROVED, &step, sizeof(step)},
        {CKA_CERT_SHA1_HASH, sha1, sizeof(sha1)},
    };
    tap_is_ulong(p11->C_GetAttributeValue(s, h[0], attrs, 7), CKR_ATTRIBUTE_TYPE_INVALID,
                 "NSS's trust template: the hash is absent (never served)");
    tap_ok(token == CK_TRUE, "CKA_TOKEN is true");
    tap_ok(sa == CKT_NSS_NOT_TRUSTED && ca == CKT_NSS_NOT_TRUSTED && ep == CKT_NSS_NOT_TRUSTED &&
               cs == CKT_NSS_NOT_TRUSTED,
           "every purpose is CKT_NSS_NOT_TRUSTED");
    tap_ok(step == CK_FALSE, "step-up not approved");
    tap_is_ulong(attrs[6].ulValueLen, CK_UNAVAILABLE_INFORMATION, "hash length unavailable");

    char label[4];
    CK_ATTRIBUTE small = {CKA_LABEL, label, sizeof(label)};
    tap_is_ulong(p11->C_GetAttributeValue(s, h[0], &small, 1), CKR_BUFFER_TOO_SMALL,
                 "label into a short buffer");
    tap_is_ulong(small.ulValueLen, CK_UNAVAILABLE_INFORMATION, "... length unavailable");
    small.pValue = NULL;
    tap_is_ulong(p11->C_GetAttributeValue(s, h[0], &small, 1), CKR_OK, "label length query");
    tap_is_ulong(small.ulValueLen, strlen("test MITM CA"), "... gives the length");
    CK_ATTRIBUTE unknown = {CKA_MODULUS, NULL, 0};
    tap_is_ulong(p11->C_GetAttributeValue(s, h[0], &unknown, 1), CKR_ATTRIBUTE_TYPE_INVALID,
                 "an attribute a trust object does not have");
    tap_is_ulong(p11->C_GetAttributeValue(s, 9999, &small, 1), CKR_OBJECT_HANDLE_INVALID,
                 "an object handle that does not exist");
    tap_is_ulong(p11->C_GetAttributeValue(s, 0, &small, 1), CKR_OBJECT_HANDLE_INVALID,
                 "CK_INVALID_HANDLE");

    /* Misuse of the find. */
    CK_ULONG count;
    tap_is_ulong(p11->C_FindObjects(s, h, 1, &count), CKR_OPERATION_NOT_INITIALIZED,
                 "C_FindObjects without C_FindObjectsInit");
    tap_is_ulong(p11->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED,
                 "C_FindObjectsFinal without C_FindObjectsInit");
    tap_is_ulong(p11->C_FindObjectsInit(s, NULL, 0), CKR_OK, "find all");
    tap_is_ulong(p11->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE, "find while finding");
    tap_is_ulong(p11->C_FindObjects(s, NULL, 1, &count), CKR_ARGUMENTS_BAD, "NULL handle array");
    tap_is_ulong(p11->C_FindObjectsInit(s + 1000, NULL, 0), CKR_SESSION_HANDLE_INVALID,
                 "an unknown session");
    CK_SESSION_HANDLE s2 = open_session();
    tap_is_ulong(p11->C_FindObjectsInit(s2, NULL, 0), CKR_OK, "a search in a second session");
    tap_is_ulong(p11->C_CloseSession(s2), CKR_OK, "closing a session during its search");
    tap_is_ulong(p11->C_FindObjects(s2, h, 1, &count), CKR_SESSION_HANDLE_INVALID,
                 "... leaves no usable handle");
    tap_is_ulong(p11->C_CloseSession(s), CKR_OK, "close session");
    tap_is_ulong(p11->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID, "close it twice");
}

/* The event log: one distrust event per entry per window, with the count of
 * what it held back; refused files are events too. */
static void
test_events(void)
{
    CK_SESSION_HANDLE s = open_session();

    tap_is_ulong(count_in_file(log_path, "\"event\":\"load\""), 1, "one load event");
    tap_is_ulong(count_in_file(log_path, "\"event\":\"load_error\""), 1,
                 "the broken file is a load_error event");
    char want[600];
    snprintf(want, sizeof(want), "\"error\":\"%s:3: unknown attribute 'CKA_BOGUS'\"", bad_path);
    tap_is_ulong(count_in_file(log_path, want), 1, "... naming file:line: reason");

    /* test_queries answered 4 trust queries: one event, three held back. Let
     * that window pass, and count only what follows. */
    unlink(log_path);
    sleep(2);
    for (int i = 0; i < 5; i++)
        trust_query(s, CKO_NSS_TRUST, serial_der, sizeof(serial_der), NULL);
    tap_is_ulong(count_in_file(log_path, "\"event\":\"distrust\""), 1,
                 "five answers within the window: one event");
    tap_is_ulong(count_in_file(log_path, "\"label\":\"test MITM CA\",\"reason\":\"mitm\","
                                         "\"reference\":\"https://example.test/1\","
                                         "\"issuer\":\"CN=A\",\"serial\":\"07\""),
                 1, "the event names label, reason, reference, issuer and serial");
    tap_is_ulong(count_in_file(log_path, "\"suppressed\":3}"), 1,
                 "it counts the three answers held back in the previous window");
    /* A listing is not a trust query: no event. */
    find(s, NULL, 0, NULL);
    sleep(2); /* the window (ratelimit=2) passes */
    trust_query(s, CKO_NSS_TRUST, serial_bare, sizeof(serial_bare), NULL);
    tap_is_ulong(count_in_file(log_path, "\"event\":\"distrust\""), 2,
                 "after the window: the next answer is logged");
    tap_is_ulong(count_in_file(log_path, "\"suppressed\":4}"), 1,
                 "... saying how many were held back");
    p11->C_CloseSession(s);
}

/* Every object served for Mozilla's 3.28 records: NOT_TRUSTED only, and a
 * hash only where it is the certificate's. */
static void
test_mozilla_values(void)
{
    const char *shared = getenv("NSSGUARD_SHARED");
    char path[1024], p[1200];

    snprintf(path, sizeof(path), "%s/mozilla/certdata-nss-3.28.txt", shared ? shared : "");
    if (!shared || access(path, R_OK) != 0) {
        tap_skip("no ../shared/data/mozilla beside the checkout");
        return;
    }
    snprintf(p, sizeof(p), "overlay=%s log=none", path);
    tap_is_ulong(init_with(p), CKR_OK, "C_Initialize with Mozilla's certdata 3.28");
    CK_SESSION_HANDLE s = open_session();
    CK_OBJECT_HANDLE h[128];
    CK_ULONG n = 0;
    p11->C_FindObjectsInit(s, NULL, 0);
    p11->C_FindObjects(s, h, 128, &n);
    p11->C_FindObjectsFinal(s);
    tap_is_ulong(n, 56, "28 entries, each as CKO_NSS_TRUST and CKO_TRUST");
    int bad = 0, hashes = 0;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_OBJECT_CLASS cls;
        CK_ULONG t[4];
        unsigned char hash[20];
        CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof(cls)}};
        p11->C_GetAttributeValue(s, h[i], a, 1);
        CK_ATTRIBUTE_TYPE base[4] = {CKA_TRUST_SERVER_AUTH, CKA_TRUST_CLIENT_AUTH,
                                     CKA_TRUST_EMAIL_PROTECTION, CKA_TRUST_CODE_SIGNING};
        CK_ATTRIBUTE_TYPE pkcs[4] = {CKA_PKCS_TRUST_SERVER_AUTH, CKA_PKCS_TRUST_CLIENT_AUTH,
                                     CKA_PKCS_TRUST_EMAIL_PROTECTION, CKA_PKCS_TRUST_CODE_SIGNING};
        CK_ULONG want = cls == CKO_TRUST ? CKT_NOT_TRUSTED : CKT_NSS_NOT_TRUSTED;
        for (int k = 0; k < 4; k++) {
            CK_ATTRIBUTE q = {cls == CKO_TRUST ? pkcs[k] : base[k], &t[k], sizeof(t[k])};
            if (p11->C_GetAttributeValue(s, h[i], &q, 1) != CKR_OK || t[k] != want)
                bad++;
        }
        CK_ATTRIBUTE hq = {cls == CKO_TRUST ? CKA_HASH_OF_CERTIFICATE : CKA_CERT_SHA1_HASH, hash,
                           sizeof(hash)};
        CK_MECHANISM_TYPE mech;
        CK_ATTRIBUTE mq = {CKA_NAME_HASH_ALGORITHM, &mech, sizeof(mech)};
        hashes += p11->C_GetAttributeValue(s, h[i], &hq, 1) == CKR_OK;
        hashes += p11->C_GetAttributeValue(s, h[i], &mq, 1) == CKR_OK;
    }
    tap_is_ulong(bad, 0,
                 "every purpose of every object is NOT_TRUSTED (never positive, never UNKNOWN)");
    tap_is_ulong(hashes, 0,
                 "no trust object carries a hash, though 19 entries hold their certificate: "
                 "NSS would drop the record for a re-encoded copy");
    p11->C_CloseSession(s);
    p11->C_Finalize(NULL);
}

static void
test_config_file(void)
{
    char conf[600], text[1200];

    snprintf(conf, sizeof(conf), "%s/nssguard.conf", dir);
    snprintf(text, sizeof(text), "# test\noverlay = %s\nlog = file:%s\n", overlay_path, log_path);
    write_file(conf, text);
    setenv("NSSGUARD_CONFIG", conf, 1);
    unlink(log_path);
    tap_is_ulong(init_with(NULL), CKR_OK, "no parameters: the config file serves");
    CK_SESSION_HANDLE s = open_session();
    tap_is_ulong(trust_query(s, CKO_NSS_TRUST, serial_der, sizeof(serial_der), NULL), 1,
                 "... with its overlay");
    snprintf(text, sizeof(text), "\"config\":\"%s\"", conf);
    tap_is_ulong(count_in_file(log_path, text), 1, "... and its log, naming the config file");
    p11->C_Finalize(NULL);

    /* issue 12: a client that passes no parameters (Firefox's policy,
     * GnuTLS) drops a module whose C_Initialize fails, and serves no
     * distrust at all: a bad line is skipped and said, the rest serves */
    snprintf(text, sizeof(text), "overlay = %s\nfrobnicate = 1\nlog = file:%s\nreload = 1s\n",
             overlay_path, log_path);
    write_file(conf, text);
    unlink(log_path);
    tap_is_ulong(init_with(NULL), CKR_OK, "a config file with bad lines: C_Initialize succeeds");
    s = open_session();
    tap_is_ulong(trust_query(s, CKO_NSS_TRUST, serial_der, sizeof(serial_der), NULL), 1,
                 "... its good lines serve (overlay)");
    tap_is_ulong(count_in_file(log_path, "\"event\":\"config_error\""), 2,
                 "... (log) and each bad line is a config_error event");
    snprintf(text, sizeof(text), "error\":\"%s:2: unknown key 'frobnicate'", conf);
    tap_is_ulong(count_in_file(log_path, text), 2,
                 "... naming file and line, also in the load event");
    p11->C_Finalize(NULL);
    unsetenv("NSSGUARD_CONFIG");
}

/* A constraint entry (name constraints, no distrust): NSS cannot apply the
 * constraints, so constraints=distrust serves it as distrust and
 * constraints=ignore not at all. */
static void
test_constraints(void)
{
    static const char *const policies[] = {"", "constraints=distrust", "constraints=ignore"};
    char path[600], p[1400];

    snprintf(path, sizeof(path), "%s/constraint.txt", dir);
    write_file(path, "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
                     "CKA_LABEL UTF8 \"constrained CA\"\n"
                     "CKA_ISSUER MULTILINE_OCTAL\n"
                     "\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003"
                     "\\023\\001\\101\nEND\n"
                     "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\001\\007\nEND\n"
                     "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_MUST_VERIFY_TRUST\n"
                     "CKA_NSSGUARD_NAME_CONSTRAINTS MULTILINE_OCTAL\n"
                     "\\060\\021\\240\\017\\060\\015\\202\\013\\145\\170\\141"
                     "\\155\\160\\154\\145\\056\\143\\157\\155\nEND\n");
    for (size_t i = 0; i < NG_N_ELEMENTS(policies); i++) {
        snprintf(p, sizeof(p), "overlay=%s log=none %s", path, policies[i]);
        tap_is_ulong(init_with(p), CKR_OK, "C_Initialize with a constraint entry");
        CK_SESSION_HANDLE s = open_session();
        CK_OBJECT_HANDLE h[4];
        CK_ULONG n = trust_query(s, CKO_NSS_TRUST, serial_der, sizeof(serial_der), h);
        if (i < 2) {
            CK_TRUST sa = 0;
            unsigned char nc[64];
            CK_ATTRIBUTE a[] = {{CKA_TRUST_SERVER_AUTH, &sa, sizeof(sa)},
                                {CKA_NSSGUARD_NAME_CONSTRAINTS, nc, sizeof(nc)}};
            tap_is_ulong(n, 1, "constraints=distrust (the default): served");
            tap_is_ulong(p11->C_GetAttributeValue(s, h[0], a, 2), CKR_OK, "... readable");
            tap_is_ulong(sa, CKT_NSS_NOT_TRUSTED, "... as distrust, never as MUST_VERIFY");
            tap_is_ulong(a[1].ulValueLen, 19, "... with its name constraints");
        } else {
            tap_is_ulong(n, 0, "constraints=ignore: not served to NSS");
        }
        p11->C_Finalize(NULL);
        /* p11-kit mode follows the same choice: GnuTLS applies stapled
         * extensions only from the module that serves the trust anchor
         * (lib/pkcs11x.c), which nssguard never does. */
        snprintf(p, sizeof(p), "overlay=%s log=none mode=p11-kit %s", path, policies[i]);
        init_with(p);
        s = open_session();
        CK_OBJECT_CLASS cert = CKO_CERTIFICATE;
        CK_ATTRIBUTE by_class = {CKA_CLASS, &cert, sizeof(cert)};
        tap_is_ulong(find(s, &by_class, 1, NULL), i < 2 ? 1 : 0,
                     i < 2 ? "p11-kit mode, constraints=distrust: a distrusted certificate"
                           : "p11-kit mode, constraints=ignore: nothing");
        p11->C_Finalize(NULL);
    }
}

/* A v1 certificate "CN=B" issued by "CN=A" (UTF8String), serial 7, P-256. */
static const unsigned char cert_der[] = {
    0x30, 0x81, 0xff, 0x30, 0x81, 0xa6, 0x02, 0x01, 0x07, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x04, 0x03, 0x02, 0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03,
    0x0c, 0x01, 0x41, 0x30, 0x1e, 0x17, 0x0d, 0x32, 0x36, 0x31, 0x31, 0x32, 0x37, 0x30, 0x32, 0x35,
    0x30, 0x33, 0x32, 0x5a, 0x17, 0x0d, 0x33, 0x36, 0x31, 0x31, 0x32, 0x34, 0x30, 0x32, 0x35, 0x30,
    0x33, 0x32, 0x5a, 0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01,
    0x42, 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x4b, 0x3e, 0x75, 0x6c,
    0xfc, 0xc8, 0xdf, 0x26, 0xf0, 0x2a, 0x58, 0x75, 0x18, 0xaa, 0x9a, 0x1b, 0xd3, 0x2b, 0x17, 0x67,
    0x03, 0xb3, 0xc1, 0x13, 0x04, 0xf5, 0x0e, 0xdf, 0x86, 0xe4, 0xd9, 0xf1, 0x5d, 0x9d, 0x8f, 0x2b,
    0xda, 0x15, 0x4f, 0xc1, 0xf7, 0xf6, 0xc6, 0x3d, 0xb0, 0x8b, 0xcc, 0x03, 0xf3, 0x5c, 0x86, 0x04,
    0x58, 0xad, 0x53, 0xeb, 0xe6, 0xa1, 0x7c, 0xee, 0x9c, 0x42, 0xdf, 0x70, 0x30, 0x0a, 0x06, 0x08,
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x03, 0x48, 0x00, 0x30, 0x45, 0x02, 0x21, 0x00,
    0x99, 0x94, 0x70, 0xfb, 0x87, 0x25, 0x0b, 0xd7, 0xeb, 0x76, 0x31, 0x45, 0x41, 0x6d, 0xca, 0xc0,
    0x62, 0x47, 0x7b, 0x28, 0xb7, 0x71, 0x1d, 0x19, 0xa1, 0xd8, 0x85, 0xca, 0x60, 0x98, 0xe8, 0xd0,
    0x02, 0x20, 0x43, 0xc5, 0x5f, 0xe2, 0xeb, 0xba, 0x83, 0x5c, 0xc1, 0xa6, 0xea, 0x35, 0x28, 0x70,
    0x40, 0x51, 0x4c, 0xd2, 0x4c, 0x26, 0x1d, 0x6d, 0xd5, 0x59, 0x44, 0x04, 0x0c, 0x40, 0x52, 0x6a,
    0x79, 0x92};
#define CERT_ISSUER_OFF 21  /* 14 bytes */
#define CERT_SUBJECT_OFF 67 /* 14 bytes */
#define CERT_SPKI_OFF 81    /* 91 bytes */

/* Writes an overlay with the certificate and its trust record, and an
 * issuer+serial-only record for serial 8. */
static void
write_cert_overlay(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fputs("CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE\nCKA_LABEL UTF8 \"B\"\n"
          "CKA_VALUE MULTILINE_OCTAL\n",
          f);
    for (size_t i = 0; i < sizeof(cert_der); i++)
        fprintf(f, "\\%03o%s", cert_der[i], i % 16 == 15 ? "\n" : "");
    fputs("\nEND\n\n", f);
    for (int serial = 7; serial <= 8; serial++) {
        fputs("CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nCKA_ISSUER MULTILINE_OCTAL\n", f);
        for (size_t i = 0; i < 14; i++)
            fprintf(f, "\\%03o", cert_der[CERT_ISSUER_OFF + i]);
        fprintf(f,
                "\nEND\nCKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\001\\%03o\nEND\n"
                "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n\n",
                serial);
    }
    fclose(f);
}

static CK_ULONG
count_class(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls)
{
    CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
    return find(s, &a, 1, NULL);
}

/* mode=p11-kit: the certificate with CKA_X_DISTRUSTED and p11-kit's trust
 * assertions, found the way GnuTLS and `trust list` look; NSS mode serves
 * neither. */
static void
test_p11kit_mode(void)
{
    char path[600], conf[600], p[1400];
    CK_INFO info;

    snprintf(path, sizeof(path), "%s/cert.txt", dir);
    write_cert_overlay(path);
    snprintf(p, sizeof(p), "overlay=%s log=none", path);
    tap_is_ulong(init_with(p), CKR_OK, "C_Initialize in NSS mode with a certificate entry");
    CK_SESSION_HANDLE s = open_session();
    tap_is_ulong(find(s, NULL, 0, NULL), 4, "NSS mode: 2 entries, trust objects only");
    tap_is_ulong(count_class(s, CKO_CERTIFICATE), 0, "NSS mode: no certificate objects");
    tap_is_ulong(count_class(s, CKO_X_TRUST_ASSERTION), 0, "NSS mode: no trust assertions");
    p11->C_GetInfo(&info);
    tap_ok(memcmp(info.manufacturerID, "nssguard ", 9) == 0, "NSS mode: manufacturer nssguard");
    p11->C_Finalize(NULL);

    tap_is_ulong(init_with("mode=builtin"), CKR_ARGUMENTS_BAD, "an unknown mode fails");
    snprintf(p, sizeof(p), "overlay=%s log=none mode=chromium", path);
    tap_is_ulong(init_with(p), CKR_OK, "C_Initialize in Chromium mode");
    s = open_session();
    tap_is_ulong(count_class(s, CKO_CERTIFICATE), 1,
                 "Chromium mode: the one certificate the overlay holds");
    tap_is_ulong(count_class(s, CKO_X_TRUST_ASSERTION), 0, "Chromium mode: no trust assertions");
    tap_is_ulong(find(s, NULL, 0, NULL), 5, "Chromium mode: 4 trust objects and the certificate");
    p11->C_GetInfo(&info);
    tap_ok(memcmp(info.manufacturerID, "nssguard ", 9) == 0,
           "Chromium mode: manufacturer nssguard");
    p11->C_Finalize(NULL);
    snprintf(conf, sizeof(conf), "%s/p11kit.conf", dir);
    snprintf(p, sizeof(p), "overlay = %s\nlog = none\nconfig = /x\n", path);
    write_file(conf, p);
    snprintf(p, sizeof(p), "config=%s", conf);
    /* the file's bad line is skipped (a config_error), as any file's */
    tap_is_ulong(init_with(p), CKR_OK, "config= inside a config file is a bad line, skipped");
    p11->C_Finalize(NULL);
    snprintf(p, sizeof(p), "overlay = %s\nlog = none\n", path);
    write_file(conf, p);
    snprintf(p, sizeof(p), "config=%s mode=p11-kit", conf);
    tap_is_ulong(init_with(p), CKR_OK, "config=FILE mode=p11-kit (p11-kit's x-init-reserved)");
    s = open_session();
    p11->C_GetInfo(&info);
    tap_ok(memcmp(info.manufacturerID, "PKCS#11 Kit", 11) == 0,
           "p11-kit mode: manufacturer starts \"PKCS#11 Kit\" (GnuTLS asks)");
    tap_is_ulong(find(s, NULL, 0, NULL), 2 * (2 + 1 + 4),
                 "p11-kit mode: the overlay of the config file, 14 objects");
    tap_is_ulong(count_class(s, CKO_CERTIFICATE), 2, "a certificate object an entry");
    tap_is_ulong(count_class(s, CKO_X_TRUST_ASSERTION), 8, "4 assertions an entry");

    /* GnuTLS's blocklist query (lib/pkcs11.c find_cert_cb) */
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE gnutls[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_X_DISTRUSTED, &yes, sizeof(yes)},
        {CKA_SERIAL_NUMBER, (void *)serial_der, sizeof(serial_der)},
        {CKA_ISSUER, (void *)(cert_der + CERT_ISSUER_OFF), 14},
    };
    CK_OBJECT_HANDLE h[16];
    tap_is_ulong(find(s, gnutls, 4, h), 1, "GnuTLS's distrust query finds the certificate");
    unsigned char value[512], subject[64], spki[128], id[20];
    CK_BBOOL trusted = CK_TRUE, distrusted = CK_FALSE;
    CK_ATTRIBUTE a[] = {
        {CKA_VALUE, value, sizeof(value)},         {CKA_SUBJECT, subject, sizeof(subject)},
        {CKA_PUBLIC_KEY_INFO, spki, sizeof(spki)}, {CKA_ID, id, sizeof(id)},
        {CKA_TRUSTED, &trusted, sizeof(trusted)},  {CKA_X_DISTRUSTED, &distrusted, 1},
    };
    tap_is_ulong(p11->C_GetAttributeValue(s, h[0], a, 6), CKR_OK, "... its attributes");
    tap_ok(a[0].ulValueLen == sizeof(cert_der) && !memcmp(value, cert_der, sizeof(cert_der)),
           "... CKA_VALUE is the certificate");
    tap_ok(a[1].ulValueLen == 14 && !memcmp(subject, cert_der + CERT_SUBJECT_OFF, 14),
           "... CKA_SUBJECT its subject");
    tap_ok(a[2].ulValueLen == 91 && !memcmp(spki, cert_der + CERT_SPKI_OFF, 91),
           "... CKA_PUBLIC_KEY_INFO its key");
    tap_ok(!trusted && distrusted, "... CKA_TRUSTED false, CKA_X_DISTRUSTED true");
    gnutls[1].pValue = &no;
    tap_is_ulong(find(s, gnutls, 4, NULL), 0, "a search for a trusted certificate finds none");

    /* gcr/glib-networking: assertions by issuer, serial and purpose */
    CK_OBJECT_CLASS acls = CKO_X_TRUST_ASSERTION;
    CK_ULONG type = 0;
    static const char server[] = "1.3.6.1.5.5.7.3.1";
    unsigned char serial8[] = {0x02, 0x01, 0x08};
    CK_ATTRIBUTE q[] = {
        {CKA_CLASS, &acls, sizeof(acls)},
        {CKA_X_PURPOSE, (void *)server, sizeof(server) - 1},
        {CKA_ISSUER, (void *)(cert_der + CERT_ISSUER_OFF), 14},
        {CKA_SERIAL_NUMBER, serial8, sizeof(serial8)},
    };
    gnutls[2].pValue = serial8;
    gnutls[1].pValue = &yes;
    tap_is_ulong(find(s, gnutls, 4, h), 1, "GnuTLS's query finds the issuer+serial-only entry");
    tap_is_ulong(p11->C_GetAttributeValue(s, h[0], a, 1), CKR_ATTRIBUTE_TYPE_INVALID,
                 "... whose certificate object has no CKA_VALUE");
    tap_is_ulong(find(s, q, 4, h), 1, "an issuer+serial-only entry has a serverAuth assertion");
    CK_ATTRIBUTE t[] = {{CKA_X_ASSERTION_TYPE, &type, sizeof(type)},
                        {CKA_X_CERTIFICATE_VALUE, value, sizeof(value)}};
    tap_is_ulong(p11->C_GetAttributeValue(s, h[0], t, 2), CKR_ATTRIBUTE_TYPE_INVALID,
                 "... without a certificate value");
    tap_is_ulong(type, CKT_X_DISTRUSTED_CERTIFICATE, "... of type CKT_X_DISTRUSTED_CERTIFICATE");
    q[3].pValue = (void *)serial_der;
    tap_is_ulong(find(s, q, 4, h), 1, "the entry with its certificate has one too");
    tap_is_ulong(p11->C_GetAttributeValue(s, h[0], t, 2), CKR_OK, "... with its value");
    tap_is_ulong(t[1].ulValueLen, sizeof(cert_der), "... the certificate's DER");
    p11->C_Finalize(NULL);
}

/* "Bogus kuix.de" (removed from NSS in 2014 by bug 895375): the shipped
 * overlay's record carries no CKA_TRUST_CLIENT_AUTH, as Mozilla wrote it; the
 * module still serves CKT_NSS_NOT_TRUSTED for every purpose of that
 * issuer+serial (UTN-USERFirst-Hardware, 72:03:21:05:c5:0c:08:57:3d:8e:a5:30:
 * 4e:fe:e8:b0), since it only ever serves distrust. */
static void
shipped_kuix(CK_SESSION_HANDLE s)
{
    static const unsigned char utn_hardware[] = {
        0x30, 0x81, 0x97, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02,
        0x55, 0x53, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x08, 0x13, 0x02, 0x55,
        0x54, 0x31, 0x17, 0x30, 0x15, 0x06, 0x03, 0x55, 0x04, 0x07, 0x13, 0x0e, 0x53, 0x61,
        0x6c, 0x74, 0x20, 0x4c, 0x61, 0x6b, 0x65, 0x20, 0x43, 0x69, 0x74, 0x79, 0x31, 0x1e,
        0x30, 0x1c, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x13, 0x15, 0x54, 0x68, 0x65, 0x20, 0x55,
        0x53, 0x45, 0x52, 0x54, 0x52, 0x55, 0x53, 0x54, 0x20, 0x4e, 0x65, 0x74, 0x77, 0x6f,
        0x72, 0x6b, 0x31, 0x21, 0x30, 0x1f, 0x06, 0x03, 0x55, 0x04, 0x0b, 0x13, 0x18, 0x68,
        0x74, 0x74, 0x70, 0x3a, 0x2f, 0x2f, 0x77, 0x77, 0x77, 0x2e, 0x75, 0x73, 0x65, 0x72,
        0x74, 0x72, 0x75, 0x73, 0x74, 0x2e, 0x63, 0x6f, 0x6d, 0x31, 0x1f, 0x30, 0x1d, 0x06,
        0x03, 0x55, 0x04, 0x03, 0x13, 0x16, 0x55, 0x54, 0x4e, 0x2d, 0x55, 0x53, 0x45, 0x52,
        0x46, 0x69, 0x72, 0x73, 0x74, 0x2d, 0x48, 0x61, 0x72, 0x64, 0x77, 0x61, 0x72, 0x65};
    static const unsigned char serial[] = {0x02, 0x10, 0x72, 0x03, 0x21, 0x05, 0xc5, 0x0c, 0x08,
                                           0x57, 0x3d, 0x8e, 0xa5, 0x30, 0x4e, 0xfe, 0xe8, 0xb0};
    CK_OBJECT_CLASS cls = CKO_NSS_TRUST;
    CK_ATTRIBUTE q[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_ISSUER, (void *)utn_hardware, sizeof(utn_hardware)},
        {CKA_SERIAL_NUMBER, (void *)serial, sizeof(serial)},
    };
    CK_OBJECT_HANDLE h[64];
    CK_TRUST t[4] = {0, 0, 0, 0};
    CK_ATTRIBUTE a[] = {
        {CKA_TRUST_SERVER_AUTH, &t[0], sizeof(t[0])},
        {CKA_TRUST_CLIENT_AUTH, &t[1], sizeof(t[1])},
        {CKA_TRUST_EMAIL_PROTECTION, &t[2], sizeof(t[2])},
        {CKA_TRUST_CODE_SIGNING, &t[3], sizeof(t[3])},
    };

    tap_is_ulong(find(s, q, 3, h), 1, "Bogus kuix.de: one trust object for its issuer+serial");
    tap_is_ulong(p11->C_GetAttributeValue(s, h[0], a, 4), CKR_OK, "... with its four purposes");
    tap_ok(t[0] == CKT_NSS_NOT_TRUSTED && t[1] == CKT_NSS_NOT_TRUSTED &&
               t[2] == CKT_NSS_NOT_TRUSTED && t[3] == CKT_NSS_NOT_TRUSTED,
           "... every one CKT_NSS_NOT_TRUSTED");
}

/* The shipped overlay folder loads whole: every *.txt in certdata/ is an
 * overlay: Mozilla's 28 records of 3.28 and Bogus kuix.de (nssguard-default.txt), the 18 key
 * entries of nssguard-keys.txt (counted, not served) and the 13 entries
 * they became (nssguard-keys-expanded.txt, issue 13). */
static void
test_shipped_overlay(void)
{
    const char *top = getenv("top_srcdir");
    char p[1400];

    if (!top) {
        tap_skip("top_srcdir not set (run through make check)");
        return;
    }
    unlink(log_path);
    snprintf(p, sizeof(p), "overlay=%s/certdata log=file:%s", top, log_path);
    tap_is_ulong(init_with(p), CKR_OK, "C_Initialize with the shipped certdata/ folder");
    tap_is_ulong(count_in_file(log_path, "\"entries\":42,\"files\":3,\"refused\":0,"
                                         "\"skipped\":0,\"keys\":18,"),
                 1,
                 "certdata/ holds three overlay files, 29 + 13 entries (Mozilla's 28 of NSS "
                 "3.28 and Bogus kuix.de, and what the key entries became), 18 key entries, "
                 "nothing refused");
    shipped_kuix(open_session());
    p11->C_Finalize(NULL);
}

static void
test_fork(void)
{
    pid_t pid;
    int status = -1;

    tap_is_ulong(init_with(params), CKR_OK, "initialised before fork");
    CK_SESSION_HANDLE ps = open_session();
    pid = fork();
    if (pid == 0) {
        /* issue 12: the child keeps the distrust it inherited (a child
         * told CKR_CRYPTOKI_NOT_INITIALIZED by this module would verify
         * with NSS's own database alone, and accept), in the parent's
         * session and in a new one, until its own C_Initialize */
        CK_INFO info;
        int ok = p11->C_GetInfo(&info) == CKR_OK;
        ok = ok && trust_query(ps, CKO_NSS_TRUST, serial_der, sizeof(serial_der), NULL) == 1;
        CK_SESSION_HANDLE s = open_session();
        ok = ok && trust_query(s, CKO_NSS_TRUST, serial_der, sizeof(serial_der), NULL) == 1;
        ok = ok && init_with(params) == CKR_OK;
        ok = ok && init_with(params) == CKR_CRYPTOKI_ALREADY_INITIALIZED;
        s = open_session();
        ok = ok && trust_query(s, CKO_NSS_TRUST, serial_der, sizeof(serial_der), NULL) == 1;
        ok = ok && p11->C_Finalize(NULL) == CKR_OK;
        _exit(ok ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "after fork the child still answers, then C_Initialize and a lookup work");
    pid = fork();
    if (pid == 0) /* C_Finalize without C_Initialize in the child */
        _exit(p11->C_Finalize(NULL) == CKR_OK && init_with(params) == CKR_OK &&
                      p11->C_Finalize(NULL) == CKR_OK
                  ? 0
                  : 1);
    waitpid(pid, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "after fork the child may C_Finalize first (NSS's SECMOD_RestartModules does)");
    tap_ok(trust_query(ps, CKO_NSS_TRUST, serial_der, sizeof(serial_der), NULL) == 1,
           "the parent still answers in its session");
    tap_is_ulong(p11->C_Finalize(NULL), CKR_OK, "parent still finalises");
}

/* log.c's table: every event's name and syslog priority (the syslog packets
 * themselves are read in tests/log-sinks.sh). */
static void
test_event_table(void)
{
    static const struct {
        ng_event ev;
        const char *name;
        int priority;
    } want[] = {
        {NG_EV_LOAD, "load", LOG_INFO},
        {NG_EV_RELOAD, "reload", LOG_INFO},
        {NG_EV_LOAD_FAILED, "load_failed", LOG_ERR},
        {NG_EV_LOAD_ERROR, "load_error", LOG_ERR},
        {NG_EV_STALE_COMPILED, "stale_compiled", LOG_WARNING},
        {NG_EV_CONFIG_ERROR, "config_error", LOG_ERR},
        {NG_EV_OVERLAY_EMPTY, "overlay_empty", LOG_WARNING},
        {NG_EV_TEXT_TOO_LARGE, "text_too_large", LOG_ERR},
        {NG_EV_DISTRUST, "distrust", LOG_WARNING},
        {NG_EV_VERIFY, "verify", LOG_INFO},
    };
    char what[96];

    tap_is_ulong(NG_N_ELEMENTS(want), NG_EV_COUNT, "every event of the table is checked here");
    for (size_t i = 0; i < NG_N_ELEMENTS(want); i++) {
        snprintf(what, sizeof(what), "%s: name and priority %d", want[i].name, want[i].priority);
        tap_ok(strcmp(ng_event_name(want[i].ev), want[i].name) == 0 &&
                   ng_event_priority(want[i].ev) == want[i].priority,
               what);
    }
}

/* A log file in a folder that appears later: the events before it are
 * counted as lost in the first line it takes; a load_error repeated inside
 * the window is held back, and counted in the next one let through. */
/* stderr a full pipe nobody drains (a daemon's, its supervisor stuck):
 * log=stderr events blocked the query thread, under the session lock, and
 * the host hung; now such an event is lost, the answer comes. SIGALRM ends
 * the test if it hangs. */
static void
test_stderr_full(void)
{
    int p[2], saved = dup(STDERR_FILENO), flags;
    char chunk[4096], p2[1200];
    CK_SESSION_HANDLE s;
    CK_ULONG found;

    memset(chunk, 'x', sizeof(chunk));
    if (saved < 0 || pipe(p) != 0 || (flags = fcntl(p[1], F_GETFL)) < 0 ||
        fcntl(p[1], F_SETFL, flags | O_NONBLOCK) != 0) {
        tap_ok(0, "a pipe for stderr");
        return;
    }
    while (write(p[1], chunk, sizeof(chunk)) > 0)
        ;
    fcntl(p[1], F_SETFL, flags); /* full, and blocking, as a host's stderr is */
    snprintf(p2, sizeof(p2), "overlay=%s log=stderr", overlay_path);
    fflush(stderr);
    dup2(p[1], STDERR_FILENO);
    alarm(20);
    init_with(p2); /* its load event: lost */
    s = open_session();
    found = trust_query(s, CKO_NSS_TRUST, serial_der, sizeof(serial_der), NULL);
    p11->C_CloseSession(s);
    p11->C_Finalize(NULL);
    alarm(0);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[0]);
    close(p[1]);
    tap_is_ulong(found, 1, "stderr a full pipe: the distrust is answered, no hang (events lost)");
}

static void
test_log_lost_and_repeats(void)
{
    ng_config cfg;
    char later[600], file[700];

    snprintf(later, sizeof(later), "%s/later", dir);
    snprintf(file, sizeof(file), "%s/events.json", later);
    memset(&cfg, 0, sizeof(cfg));
    cfg.log_sinks = NG_LOG_FILE;
    cfg.log_file = file;
    cfg.ratelimit = 1;
    ng_log_configure(&cfg); /* its config_error is the first lost event */
    ng_log_event(NG_EV_LOAD_ERROR, "file", "/x.txt", "error", "bad", "serving", "nothing", NULL);
    tap_ok(mkdir(later, 0700) == 0, "the log folder appears");
    ng_log_event(NG_EV_LOAD_ERROR, "file", "/x.txt", "error", "bad", "serving", "nothing", NULL);
    ng_log_event(NG_EV_LOAD_ERROR, "file", "/x.txt", "error", "bad", "serving", "nothing", NULL);
    ng_log_event(NG_EV_LOAD_ERROR, "file", "/y.txt", "error", "bad", "serving", "nothing", NULL);
    tap_is_ulong(count_in_file(file, "\"event\":\"load_error\""), 1,
                 "a repeated load_error inside the window is held back");
    tap_is_ulong(count_in_file(file,
                               "\"file\":\"/y.txt\",\"error\":\"bad\",\"serving\":\"nothing\","
                               "\"lost\":2}"),
                 1, "the first line the file takes counts the 2 events lost before it");
    sleep(2); /* the window (ratelimit=1) passes */
    ng_log_event(NG_EV_LOAD_ERROR, "file", "/x.txt", "error", "bad", "serving", "nothing", NULL);
    tap_is_ulong(count_in_file(file,
                               "\"file\":\"/x.txt\",\"error\":\"bad\",\"serving\":\"nothing\","
                               "\"suppressed\":2}"),
                 1, "after the window the repeat is logged, counting the 2 held back");
    ng_log_close();
}

int
main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    snprintf(log_path, sizeof(log_path), "%s/events.json", dir);
    snprintf(overlay_path, sizeof(overlay_path), "%s/good.txt", dir);
    snprintf(bad_path, sizeof(bad_path), "%s/bad.txt", dir);
    write_file(overlay_path, overlay_text);
    write_file(bad_path, "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n\nCKA_BOGUS CK_BBOOL CK_TRUE\n");
    snprintf(params, sizeof(params), "overlay=%s:%s log=file:%s ratelimit=2", overlay_path,
             bad_path, log_path);

    C_GetFunctionList(&p11);
    test_before_init();
    test_token();
    test_queries();
    test_events();
    tap_is_ulong(p11->C_Finalize(NULL), CKR_OK, "C_Finalize");
    tap_is_ulong(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED, "C_Finalize twice");
    test_mozilla_values();
    test_config_file();
    test_constraints();
    test_p11kit_mode();
    test_shipped_overlay();
    test_fork();
    test_event_table();
    test_stderr_full();
    test_log_lost_and_repeats();

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return tap_done();
}

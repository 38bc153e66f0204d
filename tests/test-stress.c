/*
 * test-stress: the module under concurrent load, through its PKCS#11 entry
 * points, every answer checked.
 *
 *   - 8 lookup threads: NSS's trust query for hits and misses, serial as DER
 *     INTEGER and as bare value, class CKO_NSS_TRUST and CKO_TRUST; each hit
 *     is read back (class, issuer, serial, a purpose) and must be the entry
 *     asked for; each thread reopens its session every few dozen lookups;
 *   - 1 listing thread: a search over everything paged one object at a time,
 *     interleaved with trust queries in a second session of its own;
 *   - 1 session thread: sessions opened and closed as fast as possible, with
 *     C_GetTokenInfo and C_GetSessionInfo in between;
 *   - 1 reload thread: the overlay file replaced by rename() again and again
 *     (reload=0: every search looks for changes), see reload_loop below.
 *
 * Distrust events are rate-limited (ratelimit=1) into a log file, so the
 * rate limiter's atomics race too.
 *
 * Scale: NSSGUARD_STRESS_SCALE=valgrind (or tsan) divides the work by 10 for
 * the slow runtimes; a number multiplies it. Run it under ThreadSanitizer
 * with ./configure --enable-tsan, or under helgrind:
 *   NSSGUARD_STRESS_SCALE=valgrind valgrind --tool=helgrind ./tests/test-stress
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

#define N_LOOKUP_THREADS 8
#define N_ENTRIES 300 /* serials 1..N_ENTRIES are distrusted, under issuer CN=A */
#define BASE_LOOKUPS 100000

static CK_FUNCTION_LIST_PTR p11;
static char dir[] = "/tmp/nssguard-test-stress-XXXXXX";
static char overlay_path[512], log_path[512], params[1400];
static long lookups_per_thread = BASE_LOOKUPS;
static useconds_t reload_pause_us = 500;

static const unsigned char issuer_a[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
                                         0x03, 0x55, 0x04, 0x03, 0x13, 0x01, 0x41};
static const unsigned char issuer_b[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
                                         0x03, 0x55, 0x04, 0x03, 0x13, 0x01, 0x42};

static atomic_long n_lookups, n_hits, n_listed, n_sessions, n_failures;
static atomic_bool stop;

/* serial as DER INTEGER (positive, minimal), returns its length */
static size_t
serial_der(unsigned v, unsigned char *out)
{
    unsigned char val[8];
    size_t n = 0;

    do {
        val[n++] = (unsigned char)(v & 0xff);
        v >>= 8;
    } while (v);
    if (val[n - 1] & 0x80)
        val[n++] = 0;
    out[0] = 0x02;
    out[1] = (unsigned char)n;
    for (size_t i = 0; i < n; i++)
        out[2 + i] = val[n - 1 - i];
    return 2 + n;
}

static void
failure(const char *what, unsigned long a, unsigned long b)
{
    if (atomic_fetch_add(&n_failures, 1) < 10)
        printf("# FAILED: %s (0x%lx, 0x%lx)\n", what, a, b);
}

static unsigned
next_random(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 8;
}

/* One trust query; checks the answer. */
static void
lookup(CK_SESSION_HANDLE s, unsigned *rnd)
{
    unsigned r = next_random(rnd);
    bool use_b = r & 1, bare = r & 2, pkcs = r & 4;
    unsigned serial = 1 + (r >> 3) % (N_ENTRIES + N_ENTRIES / 2); /* a third miss */
    bool hit = !use_b && serial <= N_ENTRIES;
    unsigned char der[16];
    size_t der_len = serial_der(serial, der);
    CK_OBJECT_CLASS cls = pkcs ? CKO_TRUST : CKO_NSS_TRUST;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_ISSUER, (void *)(use_b ? issuer_b : issuer_a), sizeof(issuer_a)},
        {CKA_SERIAL_NUMBER, bare ? der + 2 : der, bare ? der_len - 2 : der_len},
    };
    CK_OBJECT_HANDLE h[4];
    CK_ULONG n = 99;
    CK_RV rv;

    atomic_fetch_add(&n_lookups, 1);
    if ((rv = p11->C_FindObjectsInit(s, tmpl, 4)) != CKR_OK) {
        failure("C_FindObjectsInit", rv, serial);
        return;
    }
    if ((rv = p11->C_FindObjects(s, h, 4, &n)) != CKR_OK)
        failure("C_FindObjects", rv, serial);
    if ((rv = p11->C_FindObjectsFinal(s)) != CKR_OK)
        failure("C_FindObjectsFinal", rv, serial);
    if (n != (hit ? 1u : 0u)) {
        failure(hit ? "a distrusted serial was not found" : "a miss found something", n, serial);
        return;
    }
    if (!hit)
        return;
    atomic_fetch_add(&n_hits, 1);

    CK_OBJECT_CLASS got_cls = 0;
    unsigned char got_serial[16], got_issuer[32];
    CK_ULONG trust = 0;
    CK_ATTRIBUTE read[] = {
        {CKA_CLASS, &got_cls, sizeof(got_cls)},
        {CKA_SERIAL_NUMBER, got_serial, sizeof(got_serial)},
        {CKA_ISSUER, got_issuer, sizeof(got_issuer)},
        {pkcs ? CKA_PKCS_TRUST_SERVER_AUTH : CKA_TRUST_SERVER_AUTH, &trust, sizeof(trust)},
    };
    if ((rv = p11->C_GetAttributeValue(s, h[0], read, 4)) != CKR_OK) {
        failure("C_GetAttributeValue", rv, serial);
        return;
    }
    if (got_cls != cls)
        failure("wrong class", got_cls, cls);
    if (read[1].ulValueLen != der_len || memcmp(got_serial, der, der_len) != 0)
        failure("wrong serial", read[1].ulValueLen, serial);
    if (read[2].ulValueLen != sizeof(issuer_a) ||
        memcmp(got_issuer, issuer_a, sizeof(issuer_a)) != 0)
        failure("wrong issuer", read[2].ulValueLen, serial);
    if (trust != (pkcs ? CKT_NOT_TRUSTED : CKT_NSS_NOT_TRUSTED))
        failure("not NOT_TRUSTED", trust, serial);
}

static CK_SESSION_HANDLE
open_session(void)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_RV rv = p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);

    if (rv != CKR_OK)
        failure("C_OpenSession", rv, 0);
    atomic_fetch_add(&n_sessions, 1);
    return s;
}

static void
close_session(CK_SESSION_HANDLE s)
{
    CK_RV rv = p11->C_CloseSession(s);

    if (rv != CKR_OK)
        failure("C_CloseSession", rv, s);
}

static void *
lookup_thread(void *arg)
{
    unsigned rnd = (unsigned)(uintptr_t)arg * 7919u + 1;
    CK_SESSION_HANDLE s = open_session();

    for (long i = 0; i < lookups_per_thread; i++) {
        if (i % 50 == 49) {
            close_session(s);
            s = open_session();
        }
        lookup(s, &rnd);
    }
    close_session(s);
    return NULL;
}

/* Lists everything one object at a time while doing trust queries in a
 * second session, until the lookup threads are done. */
static void *
listing_thread(void *arg)
{
    unsigned rnd = 4242;
    CK_SESSION_HANDLE list = open_session(), query = open_session();

    while (!atomic_load(&stop)) {
        CK_ULONG total = 0, n;
        CK_OBJECT_HANDLE h;
        CK_RV rv = p11->C_FindObjectsInit(list, NULL, 0);
        if (rv != CKR_OK) {
            failure("listing C_FindObjectsInit", rv, 0);
            break;
        }
        do {
            n = 0;
            if ((rv = p11->C_FindObjects(list, &h, 1, &n)) != CKR_OK)
                failure("listing C_FindObjects", rv, total);
            total += n;
            if (total % 16 == 0)
                lookup(query, &rnd);
        } while (n == 1 && rv == CKR_OK);
        p11->C_FindObjectsFinal(list);
        if (total != N_ENTRIES * NG_OBJECTS_PER_ENTRY)
            failure("listing saw the wrong number of objects", total,
                    N_ENTRIES * NG_OBJECTS_PER_ENTRY);
        atomic_fetch_add(&n_listed, 1);
    }
    close_session(list);
    close_session(query);
    return NULL;
}

static void *
session_thread(void *arg)
{
    while (!atomic_load(&stop)) {
        CK_SESSION_HANDLE s = open_session();
        CK_SESSION_INFO info;
        CK_TOKEN_INFO ti;
        CK_RV rv;
        if ((rv = p11->C_GetSessionInfo(s, &info)) != CKR_OK || info.slotID != 1)
            failure("C_GetSessionInfo", rv, s);
        if ((rv = p11->C_GetTokenInfo(1, &ti)) != CKR_OK || ti.ulSessionCount < 1)
            failure("C_GetTokenInfo", rv, ti.ulSessionCount);
        close_session(s);
        if ((rv = p11->C_GetSessionInfo(s, &info)) != CKR_SESSION_HANDLE_INVALID)
            failure("a closed session still answers", rv, s);
    }
    return NULL;
}

/*
 * Live reload (issue 3): the overlay file is replaced by rename(), again and
 * again, alternating two versions that hold the same N_ENTRIES entries under
 * different labels, so every answer stays checkable while generations change
 * under the lookups. The module runs with reload=0: every C_FindObjectsInit
 * looks at the files, and the thread that sees the change builds the next
 * generation while the others keep answering from the current one.
 */
static atomic_long n_reloads;

static bool write_overlay(const char *path, const char *label);

static void *
reload_loop(void *arg)
{
    char tmp[600];
    long i = 0;

    snprintf(tmp, sizeof(tmp), "%s/stress.tmp", dir);
    while (!atomic_load(&stop)) {
        if (!write_overlay(tmp, i++ % 2 ? "stress A" : "stress B") ||
            rename(tmp, overlay_path) != 0) {
            failure("rewriting the overlay", 0, 0);
            break;
        }
        atomic_fetch_add(&n_reloads, 1);
        usleep(reload_pause_us);
    }
    return NULL;
}

static bool
write_overlay(const char *path, const char *label)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return false;
    for (unsigned i = 1; i <= N_ENTRIES; i++) {
        unsigned char der[16];
        size_t n = serial_der(i, der);
        fprintf(f,
                "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
                "CKA_TOKEN CK_BBOOL CK_TRUE\n"
                "CKA_LABEL UTF8 \"%s %u\"\n"
                "CKA_ISSUER MULTILINE_OCTAL\n",
                label, i);
        for (size_t k = 0; k < sizeof(issuer_a); k++)
            fprintf(f, "\\%03o", issuer_a[k]);
        fputs("\nEND\nCKA_SERIAL_NUMBER MULTILINE_OCTAL\n", f);
        for (size_t k = 0; k < n; k++)
            fprintf(f, "\\%03o", der[k]);
        fputs("\nEND\nCKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n"
              "CKA_TRUST_CODE_SIGNING CK_TRUST CKT_NSS_NOT_TRUSTED\n\n",
              f);
    }
    return fclose(f) == 0;
}

/* The first load and every reload log one generation event. */
static int
count_generations(void)
{
    return count_in_file(log_path, "\"generation\":");
}

int
main(void)
{
    pthread_t lookups[N_LOOKUP_THREADS], lister, sessions, reloader;
    const char *scale = getenv("NSSGUARD_STRESS_SCALE");
    CK_C_INITIALIZE_ARGS args;
    char cmd[600];

    if (scale && (strcmp(scale, "valgrind") == 0 || strcmp(scale, "tsan") == 0))
        lookups_per_thread = BASE_LOOKUPS / 10, reload_pause_us = 5000;
    else if (scale && atol(scale) > 0)
        lookups_per_thread = BASE_LOOKUPS * atol(scale);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    snprintf(overlay_path, sizeof(overlay_path), "%s/stress.txt", dir);
    snprintf(log_path, sizeof(log_path), "%s/events.json", dir);
    if (!write_overlay(overlay_path, "stress"))
        return 99;
    snprintf(params, sizeof(params), "overlay=%s log=file:%s ratelimit=1 reload=0", overlay_path,
             log_path);
    C_GetFunctionList(&p11);
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.LibraryParameters = (CK_CHAR_PTR *)params;
    tap_is_ulong(p11->C_Initialize(&args), CKR_OK, "C_Initialize");

    pthread_create(&lister, NULL, listing_thread, NULL);
    pthread_create(&sessions, NULL, session_thread, NULL);
    pthread_create(&reloader, NULL, reload_loop, NULL);
    for (uintptr_t i = 0; i < N_LOOKUP_THREADS; i++)
        pthread_create(&lookups[i], NULL, lookup_thread, (void *)i);
    for (int i = 0; i < N_LOOKUP_THREADS; i++)
        pthread_join(lookups[i], NULL);
    atomic_store(&stop, true);
    pthread_join(lister, NULL);
    pthread_join(sessions, NULL);
    pthread_join(reloader, NULL);

    printf("# %ld lookups (%ld hits), %ld full listings, %ld sessions opened, %ld overlay "
           "rewrites, %d generations loaded\n",
           atomic_load(&n_lookups), atomic_load(&n_hits), atomic_load(&n_listed),
           atomic_load(&n_sessions), atomic_load(&n_reloads), count_generations());
    tap_ok(atomic_load(&n_lookups) >= N_LOOKUP_THREADS * lookups_per_thread,
           "8 threads did all their lookups");
    tap_ok(atomic_load(&n_hits) > 0 && atomic_load(&n_hits) < atomic_load(&n_lookups),
           "... hits and misses");
    tap_ok(atomic_load(&n_listed) > 0, "the listing thread finished at least one listing");
    tap_ok(atomic_load(&n_reloads) > 0 && count_generations() > 1,
           "the overlay was reloaded while the lookups ran");
    tap_is_ulong(atomic_load(&n_failures), 0, "every answer was right");
    tap_is_ulong(count_in_file(log_path, "\"event\":\"load_error\""), 0, "no reload failed");
    CK_TOKEN_INFO ti;
    p11->C_GetTokenInfo(1, &ti);
    tap_is_ulong(ti.ulSessionCount, 0, "every session was closed");
    tap_is_ulong(p11->C_Finalize(NULL), CKR_OK, "C_Finalize");

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return tap_done();
}

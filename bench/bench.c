/*
 * nssguard-bench: times NSS's trust lookup against any PKCS#11 module.
 *
 *   nssguard-bench -m MODULE.so [-P PARAMS] -l QUERY-LIST [-n MAX-QUERIES]
 *                  [-d SECONDS] [-S] [-a]
 *
 * The module is loaded the way NSS loads it: dlopen, C_GetFunctionList,
 * C_Initialize with CK_C_INITIALIZE_ARGS {CKF_OS_LOCKING_OK, pReserved =
 * PARAMS} (NSS's "LibraryParameters"), first slot with a token, one session
 * per thread. Each lookup is the sequence NSS 3.87 sends for a certificate's
 * trust (lib/dev/devtoken.c, lib/dev/ckhelper.c):
 *
 *   C_FindObjectsInit {CKA_TOKEN=TRUE, CKA_CLASS=CKO_NSS_TRUST, CKA_ISSUER,
 *                      CKA_SERIAL_NUMBER (DER)}
 *   C_FindObjects, C_FindObjectsFinal
 *   hit: C_GetAttributeValue {CKA_TOKEN, CKA_TRUST_SERVER_AUTH, _CLIENT_AUTH,
 *        _EMAIL_PROTECTION, _CODE_SIGNING, _STEP_UP_APPROVED, CKA_CERT_SHA1_HASH}
 *
 * Every answer is checked: a hit ("H" line of the list made by
 * nssguard-bench-gen) must find an object that says CKT_NSS_NOT_TRUSTED for
 * every purpose, with the certificate's SHA-1 when it serves one; a miss ("M")
 * must find nothing. Any other answer ends the run with exit status 1.
 *
 *   -S  hits are the module's own trust objects (found by enumerating
 *       CKO_NSS_TRUST), the list gives only the misses: for libnssckbi.so.
 *   -a  a hit may carry any trust value (with -S: the builtins trust roots).
 *   -n  use at most this many lines of the list (default: all).
 *   -d  seconds of each throughput run (default 1).
 *
 * Output: one line of key=value fields on stdout (times in ns, sizes in kB):
 *   load_ns hits misses hit_med hit_p99 miss_med miss_p99 rss_before_kb
 *   anon_before_kb hwm_kb anon_after_kb lps1 lps2 self_objects hit2_med hit2_p99
 *   timer_ns
 * (hit2: the hits timed a second time, once each entry has been seen;
 * timer_ns: the median of two clock readings back to back, which every
 * latency includes once).
 *
 * nssguard-bench -C [-d SECONDS] only calibrates: the rate of a CPU-only loop
 * with one thread and with two ("spin1=... spin2=..."), i.e. what a second
 * thread can get on this machine at the moment.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pkcs11.h>
#include <pkcs11n.h>

#include "clock.h"

#define SHA1_LEN 20
#define FIND_MAX 16

typedef struct {
    int hit;
    CK_BYTE_PTR issuer;
    CK_ULONG issuer_len;
    CK_BYTE_PTR serial;
    CK_ULONG serial_len;
    int has_sha1;
    CK_BYTE sha1[SHA1_LEN];
} query;

typedef struct {
    query *q;
    size_t n;
} query_list;

static CK_FUNCTION_LIST_PTR fn;
static CK_SLOT_ID slot;
static int any_trust;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "nssguard-bench: FAILED: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ---- the query list ---- */

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the hex word at *p in place (the bytes overwrite the text). */
static CK_BYTE_PTR
hex_word(char **p, CK_ULONG *len)
{
    char *s = *p;
    CK_BYTE_PTR out = (CK_BYTE_PTR)s;
    CK_ULONG n = 0;

    while (*s == ' ')
        s++;
    out = (CK_BYTE_PTR)s;
    while (hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
        out[n++] = (CK_BYTE)(hexval(s[0]) << 4 | hexval(s[1]));
        s += 2;
    }
    *p = s;
    *len = n;
    return n ? out : NULL;
}

static query_list
read_queries(const char *path, size_t max)
{
    query_list list = {NULL, 0};
    FILE *fp = fopen(path, "r");
    size_t cap = 0;
    char *line = NULL;
    size_t line_cap = 0;

    if (!fp)
        fail("%s: %s", path, strerror(errno));
    while (getline(&line, &line_cap, fp) > 0 && (!max || list.n < max)) {
        query *q;
        char *p = line + 1;
        CK_ULONG len;
        CK_BYTE_PTR sha1;

        if (line[0] != 'H' && line[0] != 'M')
            continue;
        if (list.n == cap) {
            cap = cap ? cap * 2 : 1024;
            list.q = realloc(list.q, cap * sizeof(*list.q));
            if (!list.q)
                fail("%s: out of memory", path);
        }
        q = &list.q[list.n];
        memset(q, 0, sizeof(*q));
        q->hit = line[0] == 'H';
        q->issuer = hex_word(&p, &q->issuer_len);
        q->serial = hex_word(&p, &q->serial_len);
        sha1 = hex_word(&p, &len);
        if (!q->issuer || !q->serial)
            fail("%s: bad line %lu", path, (unsigned long)list.n + 1);
        if (sha1 && len == SHA1_LEN) {
            memcpy(q->sha1, sha1, SHA1_LEN);
            q->has_sha1 = 1;
        }
        /* Keep the decoded bytes: each line is its own allocation. */
        q->issuer = memcpy(malloc(q->issuer_len + q->serial_len), q->issuer, q->issuer_len);
        memcpy(q->issuer + q->issuer_len, q->serial, q->serial_len);
        q->serial = q->issuer + q->issuer_len;
        list.n++;
    }
    free(line);
    fclose(fp);
    if (list.n == 0)
        fail("%s: no queries", path);
    return list;
}

/* ---- one lookup, as NSS does it ---- */

static void
check_rv(CK_RV rv, const char *what)
{
    if (rv != CKR_OK)
        fail("%s returned 0x%lx", what, rv);
}

static void
lookup(CK_SESSION_HANDLE session, const query *q)
{
    CK_BBOOL true_value = CK_TRUE;
    CK_OBJECT_CLASS cls = CKO_NSS_TRUST;
    CK_ATTRIBUTE find[4] = {
        {CKA_TOKEN, &true_value, sizeof(true_value)},
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_ISSUER, q->issuer, q->issuer_len},
        {CKA_SERIAL_NUMBER, q->serial, q->serial_len},
    };
    CK_OBJECT_HANDLE found[FIND_MAX];
    CK_ULONG count = 0, k;
    CK_BBOOL token = CK_FALSE, step_up = CK_FALSE;
    CK_TRUST purposes[4] = {0, 0, 0, 0};
    CK_BYTE sha1[SHA1_LEN];
    CK_ATTRIBUTE get[7] = {
        {CKA_TOKEN, &token, sizeof(token)},
        {CKA_TRUST_SERVER_AUTH, &purposes[0], sizeof(CK_TRUST)},
        {CKA_TRUST_CLIENT_AUTH, &purposes[1], sizeof(CK_TRUST)},
        {CKA_TRUST_EMAIL_PROTECTION, &purposes[2], sizeof(CK_TRUST)},
        {CKA_TRUST_CODE_SIGNING, &purposes[3], sizeof(CK_TRUST)},
        {CKA_TRUST_STEP_UP_APPROVED, &step_up, sizeof(step_up)},
        {CKA_CERT_SHA1_HASH, sha1, sizeof(sha1)},
    };
    CK_RV rv;

    check_rv(fn->C_FindObjectsInit(session, find, 4), "C_FindObjectsInit");
    check_rv(fn->C_FindObjects(session, found, FIND_MAX, &count), "C_FindObjects");
    check_rv(fn->C_FindObjectsFinal(session), "C_FindObjectsFinal");
    if (!q->hit) {
        if (count != 0)
            fail("a miss found %lu trust objects", count);
        return;
    }
    if (count == 0)
        fail("a hit found nothing");

    rv = fn->C_GetAttributeValue(session, found[0], get, 7);
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID)
        fail("C_GetAttributeValue returned 0x%lx", rv);
    if (get[0].ulValueLen != sizeof(token) || token != CK_TRUE)
        fail("a hit's trust object has no CKA_TOKEN=TRUE");
    if (any_trust)
        return;
    for (k = 0; k < 4; k++) {
        if (get[1 + k].ulValueLen != sizeof(CK_TRUST) || purposes[k] != CKT_NSS_NOT_TRUSTED)
            fail("a hit is not CKT_NSS_NOT_TRUSTED for purpose %lu (0x%lx)", k, purposes[k]);
    }
    if (get[6].ulValueLen != (CK_ULONG)-1) {
        if (get[6].ulValueLen != SHA1_LEN)
            fail("CKA_CERT_SHA1_HASH has length %lu", get[6].ulValueLen);
        if (q->has_sha1 && memcmp(sha1, q->sha1, SHA1_LEN) != 0)
            fail("a hit's CKA_CERT_SHA1_HASH is wrong");
    }
}

/* ---- the module ---- */

static CK_SESSION_HANDLE
open_session(void)
{
    CK_SESSION_HANDLE session;

    check_rv(fn->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session), "C_OpenSession");
    return session;
}

static void
load_module(const char *path)
{
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get_list;

    if (!dl) {
        fprintf(stderr, "nssguard-bench: dlopen: %s\n", dlerror());
        exit(1);
    }
    get_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    if (!get_list)
        fail("%s exports no C_GetFunctionList", path);
    check_rv(get_list(&fn), "C_GetFunctionList");
}

static void
initialize(const char *params)
{
    CK_C_INITIALIZE_ARGS args;
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;

    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    /* NSS's pkcs11t.h names pReserved "LibraryParameters". */
    args.LibraryParameters = (CK_CHAR_PTR *)(params && *params ? params : NULL);
    check_rv(fn->C_Initialize(&args), "C_Initialize");
    check_rv(fn->C_GetSlotList(CK_TRUE, slots, &n), "C_GetSlotList");
    if (n == 0)
        fail("the module has no slot with a token");
    slot = slots[0];
}

/* Appends the module's own trust objects as hits (the -S mode). */
static size_t
self_hits(CK_SESSION_HANDLE session, query_list *list)
{
    CK_OBJECT_CLASS cls = CKO_NSS_TRUST;
    CK_ATTRIBUTE find[1] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE handles[4096];
    CK_ULONG count = 0, i;
    size_t n_miss = 0, j, out = 0;
    query *hits;

    check_rv(fn->C_FindObjectsInit(session, find, 1), "C_FindObjectsInit (enumerate)");
    check_rv(fn->C_FindObjects(session, handles, 4096, &count), "C_FindObjects (enumerate)");
    check_rv(fn->C_FindObjectsFinal(session), "C_FindObjectsFinal");
    hits = calloc(count ? count : 1, sizeof(*hits));
    for (i = 0; i < count; i++) {
        CK_ATTRIBUTE get[2] = {{CKA_ISSUER, NULL, 0}, {CKA_SERIAL_NUMBER, NULL, 0}};

        if (fn->C_GetAttributeValue(session, handles[i], get, 2) != CKR_OK)
            continue;
        get[0].pValue = malloc(get[0].ulValueLen + get[1].ulValueLen);
        get[1].pValue = (CK_BYTE_PTR)get[0].pValue + get[0].ulValueLen;
        check_rv(fn->C_GetAttributeValue(session, handles[i], get, 2), "C_GetAttributeValue");
        hits[out].hit = 1;
        hits[out].issuer = get[0].pValue;
        hits[out].issuer_len = get[0].ulValueLen;
        hits[out].serial = get[1].pValue;
        hits[out].serial_len = get[1].ulValueLen;
        out++;
    }
    if (out == 0)
        fail("the module serves no CKO_NSS_TRUST object");
    /* Keep the misses, put a self hit in place of each listed hit. */
    for (j = 0; j < list->n; j++) {
        if (list->q[j].hit)
            list->q[j] = hits[n_miss++ % out];
        else
            n_miss++;
    }
    return out;
}

/* ---- statistics ---- */

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void
percentiles(uint64_t *v, size_t n, uint64_t *med, uint64_t *p99)
{
    if (n == 0) {
        *med = *p99 = 0;
        return;
    }
    qsort(v, n, sizeof(*v), cmp_u64);
    *med = v[n / 2];
    *p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
}

/* A field of /proc/self/status in kB, or 0. */
static unsigned long
status_kb(const char *field)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(field);
    unsigned long kb = 0;

    if (!fp)
        return 0;
    while (fgets(line, sizeof(line), fp)) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            kb = strtoul(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(fp);
    return kb;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0), so the peak is this run's. */
static void
reset_peak(void)
{
    FILE *fp = fopen("/proc/self/clear_refs", "w");

    if (fp) {
        fputs("5", fp);
        fclose(fp);
    }
}

/* ---- throughput ---- */

typedef struct {
    const query_list *list;
    size_t start;
    double seconds;
    CK_SESSION_HANDLE session;
    pthread_barrier_t *barrier;
    unsigned long count;
    uint64_t elapsed;
} worker;

static void *
work(void *arg)
{
    worker *w = arg;
    size_t i = w->start;
    uint64_t t0, limit = (uint64_t)(w->seconds * 1e9);

    unsigned long count = 0; /* not w->count: the two workers' structs share a cache line */

    pthread_barrier_wait(w->barrier);
    t0 = now_ns();
    for (;;) {
        lookup(w->session, &w->list->q[i]);
        if (++i == w->list->n)
            i = 0;
        if (++count % 16 == 0 && now_ns() - t0 >= limit)
            break;
    }
    w->elapsed = now_ns() - t0;
    w->count = count;
    return NULL;
}

static double
throughput(const query_list *list, int threads, double seconds)
{
    worker w[2];
    pthread_t tid[2];
    pthread_barrier_t barrier;
    double lps = 0;
    int k;

    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    for (k = 0; k < threads; k++) {
        w[k].list = list;
        w[k].start = (list->n / (size_t)threads) * (size_t)k;
        w[k].seconds = seconds;
        w[k].session = open_session();
        w[k].barrier = &barrier;
        w[k].count = 0;
        w[k].elapsed = 0;
    }
    for (k = 0; k < threads; k++) {
        if (pthread_create(&tid[k], NULL, work, &w[k]) != 0)
            fail("pthread_create");
    }
    for (k = 0; k < threads; k++) {
        pthread_join(tid[k], NULL);
        lps += (double)w[k].count * 1e9 / (double)w[k].elapsed;
        fn->C_CloseSession(w[k].session);
    }
    pthread_barrier_destroy(&barrier);
    return lps;
}

/* ---- calibration: what a second thread can get on this machine now ---- */

typedef struct {
    double seconds;
    pthread_barrier_t *barrier;
    double rate;
} spinner;

static void *
spin(void *arg)
{
    spinner *sp = arg;
    uint64_t t0, x = 88172645463325252ULL, count = 0, limit = (uint64_t)(sp->seconds * 1e9);
    volatile uint64_t sink;

    pthread_barrier_wait(sp->barrier);
    t0 = now_ns();
    do {
        int k;

        for (k = 0; k < 4096; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        count++;
    } while (now_ns() - t0 < limit);
    sink = x;
    (void)sink;
    sp->rate = (double)count * 1e9 / (double)(now_ns() - t0);
    return NULL;
}

/* The sum of the threads' rates of a CPU-only loop. */
static double
spin_rate(int threads, double seconds)
{
    spinner sp[2];
    pthread_t tid[2];
    pthread_barrier_t barrier;
    double rate = 0;
    int k;

    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    for (k = 0; k < threads; k++) {
        sp[k].seconds = seconds;
        sp[k].barrier = &barrier;
        if (pthread_create(&tid[k], NULL, spin, &sp[k]) != 0)
            fail("pthread_create");
    }
    for (k = 0; k < threads; k++) {
        pthread_join(tid[k], NULL);
        rate += sp[k].rate;
    }
    pthread_barrier_destroy(&barrier);
    return rate;
}

static void
usage(void)
{
    fputs("usage: nssguard-bench -m MODULE.so [-P PARAMS] -l QUERY-LIST [-n MAX-QUERIES]\n"
          "                      [-d SECONDS] [-S] [-a]\n"
          "       nssguard-bench -C [-d SECONDS]\n",
          stderr);
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *module = NULL, *params = NULL, *list_path = NULL;
    size_t max = 0, i, n_hit = 0, n_miss = 0, n_self = 0, n_hit2;
    double seconds = 1.0, lps1, lps2;
    unsigned long rss_before, anon_before;
    uint64_t t0, load_ns, *hit_ns, *miss_ns, hit_med, hit_p99, miss_med, miss_p99, hit2_med,
        hit2_p99, timer_med, timer_p99;
    int self = 0, calibrate = 0, opt;
    CK_SESSION_HANDLE session;
    query_list list;

    while ((opt = getopt(argc, argv, "m:P:l:n:d:SaC")) != -1) {
        switch (opt) {
        case 'm':
            module = optarg;
            break;
        case 'P':
            params = optarg;
            break;
        case 'l':
            list_path = optarg;
            break;
        case 'n':
            max = strtoul(optarg, NULL, 0);
            break;
        case 'd':
            seconds = strtod(optarg, NULL);
            break;
        case 'S':
            self = 1;
            break;
        case 'a':
            any_trust = 1;
            break;
        case 'C':
            calibrate = 1;
            break;
        default:
            usage();
        }
    }
    if (calibrate && optind == argc && seconds > 0) {
        lps1 = spin_rate(1, seconds);
        lps2 = spin_rate(2, seconds);
        printf("spin1=%.0f spin2=%.0f\n", lps1, lps2);
        return 0;
    }
    if (!module || !list_path || optind != argc || seconds <= 0)
        usage();

    list = read_queries(list_path, max);
    hit_ns = calloc(list.n, sizeof(*hit_ns));
    miss_ns = calloc(list.n, sizeof(*miss_ns));
    if (!hit_ns || !miss_ns)
        fail("out of memory");
    load_module(module);

    /* Load: C_Initialize -> the first answered query (a miss: it needs no
     * hit list, so -S can use it too). */
    reset_peak();
    rss_before = status_kb("VmRSS");
    anon_before = status_kb("RssAnon");
    t0 = now_ns();
    initialize(params);
    session = open_session();
    for (i = 0; i < list.n && list.q[i].hit; i++)
        ;
    if (i == list.n)
        fail("the list has no miss");
    lookup(session, &list.q[i]);
    load_ns = now_ns() - t0;

    if (self)
        n_self = self_hits(session, &list);

    /* Latency: every query once, each timed on its own. */
    for (i = 0; i < list.n; i++) {
        uint64_t t = now_ns();

        lookup(session, &list.q[i]);
        t = now_ns() - t;
        if (list.q[i].hit)
            hit_ns[n_hit++] = t;
        else
            miss_ns[n_miss++] = t;
    }
    percentiles(hit_ns, n_hit, &hit_med, &hit_p99);
    percentiles(miss_ns, n_miss, &miss_med, &miss_p99);

    /* The hits again: each entry has now been seen (nssguard logged it). */
    for (i = 0, n_hit2 = 0; i < list.n; i++) {
        uint64_t t;

        if (!list.q[i].hit)
            continue;
        t = now_ns();
        lookup(session, &list.q[i]);
        hit_ns[n_hit2++] = now_ns() - t;
    }
    percentiles(hit_ns, n_hit2, &hit2_med, &hit2_p99);

    /* The clock's own cost, in every latency above once. */
    for (i = 0; i < list.n; i++) {
        uint64_t t = now_ns();
        hit_ns[i] = now_ns() - t;
    }
    percentiles(hit_ns, list.n, &timer_med, &timer_p99);

    lps1 = throughput(&list, 1, seconds);
    lps2 = throughput(&list, 2, seconds);

    printf("load_ns=%llu hits=%zu misses=%zu hit_med=%llu hit_p99=%llu miss_med=%llu "
           "miss_p99=%llu rss_before_kb=%lu anon_before_kb=%lu hwm_kb=%lu anon_after_kb=%lu "
           "lps1=%.0f lps2=%.0f self_objects=%zu hit2_med=%llu hit2_p99=%llu timer_ns=%llu\n",
           (unsigned long long)load_ns, n_hit, n_miss, (unsigned long long)hit_med,
           (unsigned long long)hit_p99, (unsigned long long)miss_med, (unsigned long long)miss_p99,
           rss_before, anon_before, status_kb("VmHWM"), status_kb("RssAnon"), lps1, lps2, n_self,
           (unsigned long long)hit2_med, (unsigned long long)hit2_p99,
           (unsigned long long)timer_med);
    fn->C_CloseSession(session);
    fn->C_Finalize(NULL);
    return 0;
}

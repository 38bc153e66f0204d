/*
 * nssguard-bench-reload: how long queries wait while the overlay reloads.
 *
 *   nssguard-bench-reload MODULE.so OVERLAY-DIR COMPILED.ngo RELOADS [keep|drop]
 *
 * Loads the module with overlay=OVERLAY-DIR reload=0 log=none, learns up to
 * 1,000 entries (issuer+serial) by listing its trust objects, then runs two
 * threads that repeat NSS's trust lookup on them (every answer checked),
 * timing each lookup, while the main thread installs a fresh copy of
 * COMPILED.ngo in OVERLAY-DIR (copy, then rename) RELOADS times, 50 ms
 * apart. Each copy is a new file, so the next query that looks sees a
 * change and starts the next generation; the module spreads that work over
 * the queries that follow (module/overlay.c), so no query should notice.
 *
 * keep (the default) replaces the file as nssguard compile does: the
 * replaced file keeps a name (compile keeps X.ngo.old) until after the run,
 * so the module's letting go of it frees nothing. drop renames over it
 * alone: the module's thread that lets go of the old file last then pays
 * for the kernel freeing it (on ext4 here, ~4 ms for 17 MB; a plain unlink
 * of such a file costs as much), one query per reload.
 *
 * Prints key=value fields: queries reloads replace over_1ms max_ns p999_ns
 * wrong. over_1ms counts lookups slower than 1 ms. RELOADS=0 runs as long
 * as 20 reloads would, without touching the files: the machine's own noise,
 * to compare with.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pkcs11.h>
#include <pkcs11n.h>

#include "clock.h"

#define MAX_KEYS 1000
#define BUCKETS 100000 /* 10 ns each, up to 1 ms; slower lookups are counted apart */

typedef struct {
    unsigned char issuer[512], serial[64];
    CK_ULONG issuer_len, serial_len;
} key;

static CK_FUNCTION_LIST_PTR fn;
static key keys[MAX_KEYS];
static size_t n_keys;
static volatile int stop;
static int wrong; /* __atomic */

/* Each thread's own counts: nothing written by both threads while timing
 * (a shared counter would bounce its cache line on every lookup). */
typedef struct {
    uint32_t *histogram; /* lookups per 10 ns, below 1 ms */
    size_t queries, over_1ms;
    uint64_t max_ns;
} tally;

static int
lookup(CK_SESSION_HANDLE s, const key *k)
{
    CK_BBOOL yes = CK_TRUE;
    CK_OBJECT_CLASS cls = CKO_NSS_TRUST;
    CK_ATTRIBUTE tmpl[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                           {CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_ISSUER, (void *)k->issuer, k->issuer_len},
                           {CKA_SERIAL_NUMBER, (void *)k->serial, k->serial_len}};
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;
    CK_TRUST sa = 0;
    CK_ATTRIBUTE a = {CKA_TRUST_SERVER_AUTH, &sa, sizeof(sa)};

    if (fn->C_FindObjectsInit(s, tmpl, 4) != CKR_OK || fn->C_FindObjects(s, &h, 1, &n) != CKR_OK ||
        fn->C_FindObjectsFinal(s) != CKR_OK || n != 1)
        return 0;
    return fn->C_GetAttributeValue(s, h, &a, 1) == CKR_OK && sa == CKT_NSS_NOT_TRUSTED;
}

static void *
worker(void *arg)
{
    tally *t = arg;
    CK_SESSION_HANDLE s;

    if (fn->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
        __atomic_add_fetch(&wrong, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    for (size_t i = 0; !stop; i++) {
        uint64_t t0 = now_ns();
        int ok = lookup(s, &keys[i % n_keys]);
        uint64_t dt = now_ns() - t0;
        if (!ok)
            __atomic_add_fetch(&wrong, 1, __ATOMIC_RELAXED);
        t->queries++;
        if (dt > t->max_ns)
            t->max_ns = dt;
        if (dt > 1000000)
            t->over_1ms++;
        else
            t->histogram[dt >= BUCKETS * 10 ? BUCKETS - 1 : dt / 10]++;
    }
    fn->C_CloseSession(s);
    return NULL;
}

/* The 99.9th percentile of both threads' lookups, to 10 ns. */
static uint64_t
p999(const tally *t)
{
    size_t total = t[0].queries + t[1].queries, want = total - total / 1000, seen = 0;

    for (size_t b = 0; b < BUCKETS; b++) {
        seen += t[0].histogram[b] + t[1].histogram[b];
        if (seen >= want)
            return (uint64_t)b * 10;
    }
    return 1000000;
}

static void
learn_keys(void)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_CLASS cls = CKO_NSS_TRUST;
    CK_ATTRIBUTE t = {CKA_CLASS, &cls, sizeof(cls)};
    CK_OBJECT_HANDLE h[MAX_KEYS];
    CK_ULONG n = 0;

    fn->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
    fn->C_FindObjectsInit(s, &t, 1);
    fn->C_FindObjects(s, h, MAX_KEYS, &n);
    fn->C_FindObjectsFinal(s);
    for (CK_ULONG i = 0; i < n; i++) {
        key *k = &keys[n_keys];
        CK_ATTRIBUTE a[] = {{CKA_ISSUER, k->issuer, sizeof(k->issuer)},
                            {CKA_SERIAL_NUMBER, k->serial, sizeof(k->serial)}};
        if (fn->C_GetAttributeValue(s, h[i], a, 2) == CKR_OK) {
            k->issuer_len = a[0].ulValueLen;
            k->serial_len = a[1].ulValueLen;
            n_keys++;
        }
    }
    fn->C_CloseSession(s);
}

/* Copies the file to TO.tmp and renames it over TO, in this process: a
 * fork (system("cp ...")) would stall the query threads on the page-table
 * copy and measure the harness, not the module. */
static int
copy_file(const char *from, const char *to)
{
    char tmp[4200], buf[1 << 16];
    FILE *in = fopen(from, "rb"), *out;
    size_t n;

    snprintf(tmp, sizeof(tmp), "%s.tmp", to);
    out = fopen(tmp, "wb");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return 1;
    }
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    /* on disk before the rename, as nssguard compile does: renaming an
     * unwritten file over another makes ext4 flush it under the directory's
     * lock, and every lookup in that directory then waits for the disk */
    if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0)
        return 1;
    return rename(tmp, to) != 0;
}

int
main(int argc, char **argv)
{
    char params[2048], target[2048];
    CK_C_INITIALIZE_ARGS args;
    CK_C_GetFunctionList get;
    pthread_t t[2];
    void *lib;
    int reloads, keep;

    if (argc < 5 || argc > 6 || (argc == 6 && strcmp(argv[5], "keep") && strcmp(argv[5], "drop"))) {
        fprintf(stderr, "usage: nssguard-bench-reload MODULE.so OVERLAY-DIR COMPILED.ngo RELOADS "
                        "[keep|drop]\n");
        return 2;
    }
    reloads = atoi(argv[4]);
    keep = argc < 6 || strcmp(argv[5], "keep") == 0;
    snprintf(target, sizeof(target), "%s/overlay.ngo", argv[2]);
    if (copy_file(argv[3], target) != 0)
        return 1;
    lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
    if (!get || get(&fn) != CKR_OK) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    snprintf(params, sizeof(params), "overlay=%s reload=0 log=none", argv[2]);
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.LibraryParameters = (CK_CHAR_PTR *)params;
    if (fn->C_Initialize(&args) != CKR_OK)
        return 1;
    learn_keys();
    tally tl[2];
    memset(tl, 0, sizeof(tl));
    for (int i = 0; i < 2; i++) /* calloc touches nothing: write them now, not while timing */
        if ((tl[i].histogram = malloc(BUCKETS * sizeof(uint32_t))))
            memset(tl[i].histogram, 0, BUCKETS * sizeof(uint32_t));
    if (!n_keys || !tl[0].histogram || !tl[1].histogram) {
        fprintf(stderr, "no entries in %s\n", argv[3]);
        return 1;
    }
    /* The copies are made before the clock starts: during the run the main
     * thread only renames one into place, so it takes no CPU from the
     * query threads on a small machine. */
    char staged[2100], kept[2100];
    for (int r = 0; r < reloads; r++) {
        snprintf(staged, sizeof(staged), "%s.%d", target, r);
        if (copy_file(argv[3], staged) != 0)
            return 1;
    }
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, &tl[i]);
    for (int r = 0; r < (reloads ? reloads : 20); r++) {
        usleep(50000);
        snprintf(staged, sizeof(staged), "%s.%d", target, r);
        snprintf(kept, sizeof(kept), "%s.old.%d", target, r);
        if (reloads && ((keep && link(target, kept) != 0) || rename(staged, target) != 0))
            return 1;
    }
    usleep(50000);
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("queries=%zu reloads=%d replace=%s over_1ms=%zu max_ns=%llu p999_ns=%llu wrong=%d\n",
           tl[0].queries + tl[1].queries, reloads, keep ? "keep" : "drop",
           tl[0].over_1ms + tl[1].over_1ms,
           (unsigned long long)(tl[0].max_ns > tl[1].max_ns ? tl[0].max_ns : tl[1].max_ns),
           (unsigned long long)p999(tl), wrong);
    fn->C_Finalize(NULL);
    for (int r = 0; keep && r < reloads; r++) { /* the clock has stopped: now delete them */
        snprintf(kept, sizeof(kept), "%s.old.%d", target, r);
        unlink(kept);
    }
    return wrong ? 1 : 0;
}

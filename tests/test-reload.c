/*
 * test-reload: compiled overlays and live reload, through the PKCS#11 entry
 * points in-process.
 * - a compiled X.ngo is used while X.txt is unchanged, ignored once stale;
 * - a corrupted, truncated or other-version compiled file is refused whole
 *   with an event, and what was served before keeps serving;
 * - files changed, added, broken and removed on disk are seen by the next
 *   query in the same long-lived session (reload=0: look on every query);
 * - a search started before a reload finishes on the old generation;
 * - four threads querying while the file flips between two versions only
 *   ever see one version or the other, never a mix, and never an error;
 * - a large compiled file is checked a slice at a time: its reload spreads
 *   over several queries, which answer from the old version until the new
 *   one is whole; a process that queries rarely finishes it on the first
 *   query a second later; replaced images are unmapped in slices too;
 * - writing a compiled file keeps the one it replaces as X.ngo.old;
 * - a compiled file whose offsets wrap around 2^64 (slots before the file)
 *   is refused, checksum correct or not;
 * - a serial whose value bytes are themselves a DER INTEGER (02 01 07) is
 *   found by a caller's DER serial 02 01 07 as given, beside the entry of
 *   value 07, in a text overlay and a compiled one.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

static CK_FUNCTION_LIST_PTR p11;
static char dir[] = "/tmp/nssguard-test-reload-XXXXXX";
static char odir[600], log_path[600], txt[700], ngo[700];

static const unsigned char issuer_der[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
                                           0x03, 0x55, 0x04, 0x03, 0x13, 0x01, 0x41};

/* An overlay is replaced as deployment tools do: written to PATH.tmp, then
 * renamed over PATH (with MTIME as its modification time when not 0). */
static FILE *
replace_begin(const char *path, char *tmp, size_t size)
{
    snprintf(tmp, size, "%s.tmp", path);
    return fopen(tmp, "w");
}

static void
replace_end(FILE *f, const char *tmp, const char *path, long mtime)
{
    fclose(f);
    if (mtime) { /* distinct modification times, whatever the clock's grain */
        struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
        utimensat(AT_FDCWD, tmp, ts, 0);
    }
    rename(tmp, path);
}

/* Writes an overlay with serials first..last labelled "<tag>-<serial>".
 * Serials below 128 take one byte, others three. */
static void
write_overlay(const char *path, const char *tag, int first, int last, long mtime)
{
    char tmp[800];
    FILE *f = replace_begin(path, tmp, sizeof(tmp));

    if (!f)
        return;
    for (int s = first; s <= last; s++) {
        fprintf(f,
                "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
                "CKA_LABEL UTF8 \"%s-%d\"\n"
                "CKA_ISSUER MULTILINE_OCTAL\n"
                "\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003\\023\\001\\101\nEND\n"
                "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n",
                tag, s);
        if (s < 128)
            fprintf(f, "\\002\\001\\%03o\nEND\n", s);
        else
            fprintf(f, "\\002\\003\\%03o\\%03o\\%03o\nEND\n", (s >> 16) & 0x7f, (s >> 8) & 0xff,
                    s & 0xff);
        fprintf(f, "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n\n");
    }
    replace_end(f, tmp, path, mtime);
}

/* Replaces an overlay by one without entries (a comment): how distrust is
 * withdrawn, as a deleted file keeps its last good version (issue 12). */
static void
withdraw(const char *path)
{
    char tmp[800];
    FILE *f = replace_begin(path, tmp, sizeof(tmp));

    if (!f)
        return;
    fputs("# every entry withdrawn\n", f);
    replace_end(f, tmp, path, 0);
}

static void
compile(const char *in, const char *out)
{
    ng_records recs;
    ng_entries ents;
    ng_error err;
    struct stat st;

    memset(&ents, 0, sizeof(ents));
    stat(in, &st);
    if (ng_parse_file(in, &recs, &err) && ng_build_entries(&recs, &ents, &err)) {
        ng_image *img =
            ng_image_build(&ents, (uint64_t)st.st_size,
                           (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, &err);
        if (img && ng_image_stamp_source(img, in, &err)) /* as nssguard compile does */
            ng_image_write(img, out, &err);
        ng_image_free(img);
    }
    ng_entries_clear(&ents);
    ng_records_clear(&recs);
}

/* The label of serial s as the module serves it now, or "" when not found. */
static const char *
lookup(CK_SESSION_HANDLE s, int serial, char *label, size_t size)
{
    CK_BBOOL yes = CK_TRUE;
    CK_OBJECT_CLASS cls = CKO_NSS_TRUST;
    unsigned char ser[3] = {0x02, 0x01, (unsigned char)serial};
    CK_ATTRIBUTE tmpl[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_ISSUER, (void *)issuer_der, sizeof(issuer_der)},
        {CKA_SERIAL_NUMBER, ser, sizeof(ser)},
    };
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;

    label[0] = '\0';
    if (p11->C_FindObjectsInit(s, tmpl, 4) != CKR_OK)
        return "(init failed)";
    p11->C_FindObjects(s, &h, 1, &n);
    p11->C_FindObjectsFinal(s);
    if (n == 1) {
        CK_ATTRIBUTE a = {CKA_LABEL, label, size - 1};
        if (p11->C_GetAttributeValue(s, h, &a, 1) != CKR_OK)
            return "(attribute read failed)";
        label[a.ulValueLen] = '\0';
    }
    return label;
}

static CK_RV
init(void)
{
    char params[1400];
    CK_C_INITIALIZE_ARGS args;

    snprintf(params, sizeof(params), "overlay=%s log=file:%s reload=0 ratelimit=0", odir, log_path);
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.LibraryParameters = (CK_CHAR_PTR *)params;
    return p11->C_Initialize(&args);
}

static void
flip_byte(const char *path, long offset)
{
    FILE *f = fopen(path, "r+b");
    int c;

    if (!f)
        return;
    fseek(f, offset, SEEK_SET);
    c = fgetc(f);
    fseek(f, offset, SEEK_SET);
    fputc(c ^ 0x01, f);
    fclose(f);
}

static void
test_compiled_and_reload(CK_SESSION_HANDLE s)
{
    char label[64], bad[700];
    long t = 1700000000;

    tap_is_str(lookup(s, 1, label, sizeof(label)), "A-1", "text overlay served");

    compile(txt, ngo);
    tap_is_str(lookup(s, 2, label, sizeof(label)), "A-2", "after compiling: still served");
    tap_is_ulong(count_in_file(log_path, "\"event\":\"reload\""), 1,
                 "adding the compiled file is a reload...");
    tap_is_ulong(count_in_file(log_path, "\"compiled\":\"yes\""), 1, "... that serves it");

    write_overlay(txt, "B", 1, 3, t += 10);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "B-1",
               "the text changed: the stale compiled file is ignored");
    tap_is_ulong(count_in_file(log_path, "\"event\":\"stale_compiled\""), 1,
                 "... with a stale_compiled event");

    compile(txt, ngo);
    lookup(s, 1, label, sizeof(label));
    flip_byte(ngo, 300);
    write_overlay(txt, "B", 1, 3, t); /* same stamp: only the .ngo changed */
    tap_is_str(lookup(s, 3, label, sizeof(label)), "B-3",
               "a corrupted compiled file: the text serves instead");
    char want[900];
    snprintf(want, sizeof(want), "\"error\":\"%s: checksum mismatch (corrupted)\"", ngo);
    tap_is_ulong(count_in_file(log_path, want), 1, "... and the event says it was corrupted");
    unlink(ngo);

    /* a compiled file on its own, truncated, then of another version */
    snprintf(bad, sizeof(bad), "%s/solo.ngo", odir);
    write_overlay(txt, "C", 1, 3, t += 10);
    compile(txt, bad);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "C-1", "text and a standalone compiled file");
    if (truncate(bad, 200) != 0)
        printf("# truncate failed\n");
    lookup(s, 1, label, sizeof(label));
    snprintf(want, sizeof(want),
             "\"error\":\"%s: truncated or extended (size differs from its header)\"", bad);
    tap_is_ulong(count_in_file(log_path, want), 1, "a truncated compiled file is refused");
    tap_ok(count_in_file(log_path, "\"serving\":\"previous version\"") >= 1,
           "... and its last good version keeps serving");
    compile(txt, bad);
    flip_byte(bad, 8); /* the version field */
    lookup(s, 1, label, sizeof(label));
    snprintf(want, sizeof(want), "%s: compiled overlay of another version", bad);
    tap_is_ulong(count_in_file(log_path, want), 1, "a compiled file of another version is refused");
    withdraw(bad); /* a compiled file without entries, then none: nothing kept */
    compile(bad, bad);
    lookup(s, 1, label, sizeof(label));
    unlink(bad);

    /* a broken edit keeps the last good version */
    FILE *f = fopen(txt, "w");
    if (f) {
        fputs("CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nCKA_LABEL UTF8 \"oops\n", f);
        fclose(f);
    }
    tap_is_str(lookup(s, 2, label, sizeof(label)), "C-2",
               "a broken new file: the last good version keeps serving");
    snprintf(want, sizeof(want),
             "\"error\":\"%s:2: unterminated string (missing closing quote)\",\"serving\":"
             "\"previous version\"",
             txt);
    tap_is_ulong(count_in_file(log_path, want), 1, "... and the event says why and what serves");

    /* files added and removed */
    char other[800];
    snprintf(other, sizeof(other), "%s/z.txt", odir);
    write_overlay(other, "Z", 9, 9, 0);
    tap_is_str(lookup(s, 9, label, sizeof(label)), "Z-9", "a file added to the directory");
    /* issue 12: a file that vanishes (a redeployment half done) keeps its
     * last good version; a file without the entry withdraws it */
    unlink(other);
    tap_is_str(lookup(s, 9, label, sizeof(label)), "Z-9",
               "... deleted: its last good version stays in service");
    tap_ok(count_in_file(log_path, "vanished or unreadable") >= 1, "... with a load_error");
    withdraw(other);
    tap_is_str(lookup(s, 9, label, sizeof(label)), "", "... replaced by one without it: withdrawn");
    unlink(other);
    unlink(txt);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "C-1",
               "every file deleted: the last good versions stay in service");
    write_overlay(txt, "A", 1, 3, t += 10);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "A-1", "and back");
}

/* A search that began before a reload finishes on the generation it began on. */
static void
test_search_across_reload(CK_SESSION_HANDLE s)
{
    CK_SESSION_HANDLE other = 0;
    CK_OBJECT_HANDLE h[8];
    CK_ULONG n = 0;
    char label[64] = "";
    CK_ATTRIBUTE a = {CKA_LABEL, label, sizeof(label) - 1};

    p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &other);
    tap_is_ulong(p11->C_FindObjectsInit(s, NULL, 0), CKR_OK, "a listing starts");
    write_overlay(txt, "D", 1, 3, 1800000000);
    tap_is_str(lookup(other, 1, label, sizeof(label)), "D-1", "another session sees the change");
    p11->C_FindObjects(s, h, 8, &n);
    p11->C_FindObjectsFinal(s);
    tap_is_ulong(n, 6, "the listing still has the old generation's six objects");
    tap_is_ulong(p11->C_GetAttributeValue(s, h[0], &a, 1), CKR_OK, "its handles still resolve");
    label[a.ulValueLen] = '\0';
    /* entries are listed in hash order: any of the old generation's (A-*) */
    tap_is_str(strncmp(label, "A-", 2) == 0 ? "A-" : label, "A-",
               "... to the old generation's objects");
    tap_is_str(lookup(s, 1, label, sizeof(label)), "D-1", "its next search sees the new one");
    p11->C_CloseSession(other);
}

/* Generation ids fit the handle's top 24 bits: after the last one they start
 * again at 1, and handles keep resolving (16.7 million reloads, which a
 * process reloading once a second would reach in 194 days). */
static void
test_generation_id_wraps(CK_SESSION_HANDLE s)
{
    CK_OBJECT_HANDLE h[8];
    CK_ULONG n = 0;
    CK_TRUST t = 0;
    CK_ATTRIBUTE a = {CKA_TRUST_SERVER_AUTH, &t, sizeof(t)};
    char label[64] = "";

    ng.next_id = NG_HANDLE_ID_MAX;
    write_overlay(txt, "W", 1, 3, 1900000000);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "W-1", "the last generation id serves");
    tap_is_ulong(ng.next_id, 1, "... and the next id is 1 again");
    write_overlay(txt, "X", 1, 3, 1900000001);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "X-1", "the generation after it serves too");
    p11->C_FindObjectsInit(s, NULL, 0);
    p11->C_FindObjects(s, h, 8, &n);
    p11->C_FindObjectsFinal(s);
    tap_ok(n > 0 && p11->C_GetAttributeValue(s, h[0], &a, 1) == CKR_OK && t == CKT_NSS_NOT_TRUSTED,
           "its handles resolve to NOT_TRUSTED");
}

typedef struct {
    int errors;
    int hits;
    int mixed;
} worker_result;

static int stop; /* __atomic: the main thread ends the workers */

static void *
worker(void *arg)
{
    worker_result *r = arg;
    CK_SESSION_HANDLE s = 0;
    char label[64], want_e[16], want_f[16];

    if (p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
        r->errors++;
        return NULL;
    }
    for (int i = 0; !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); i++) {
        int serial = 1 + i % 60; /* 1..50 are in both versions, 51..60 in none */
        const char *got = lookup(s, serial, label, sizeof(label));
        snprintf(want_e, sizeof(want_e), "E-%d", serial);
        snprintf(want_f, sizeof(want_f), "F-%d", serial);
        if (got[0] == '(')
            r->errors++;
        else if (serial > 50 ? got[0] != '\0'
                             : strcmp(got, want_e) != 0 && strcmp(got, want_f) != 0)
            r->mixed++;
        else if (got[0])
            r->hits++;
    }
    p11->C_CloseSession(s);
    return NULL;
}

static void
test_concurrent_reloads(void)
{
    pthread_t t[4];
    worker_result res[4];
    int flips = 0;

    write_overlay(txt, "E", 1, 50, 1900000000);
    CK_SESSION_HANDLE s = 0;
    char label[64];
    p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "E-1", "version E in service");
    p11->C_CloseSession(s);
    memset(res, 0, sizeof(res));
    __atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, &res[i]);
    for (; flips < 40; flips++) {
        write_overlay(txt, flips % 2 ? "E" : "F", 1, 50, 1900000000 + flips + 1);
        usleep(5000);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    int errors = 0, mixed = 0, hits = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        errors += res[i].errors;
        mixed += res[i].mixed;
        hits += res[i].hits;
    }
    printf("# %d flips, %d hits checked across 4 threads\n", flips, hits);
    tap_ok(hits > 100, "the threads got answers during the reloads");
    tap_is_ulong((unsigned long)errors, 0, "no call failed during 40 reloads");
    tap_is_ulong((unsigned long)mixed, 0, "every answer was the old version's or the new one's");
}

/* Checks a compiled file with a deadline that has always passed: each call
 * does one slice. Returns the calls, the last one's result in *rv. */
static int
check_in_slices(const char *path, int *rv, ng_error *err, size_t *size)
{
    ng_image *img = ng_image_map(path, err);
    struct stat st;
    int calls = 0;

    *rv = -2;
    if (!img)
        return 0;
    stat(path, &st);
    *size = (size_t)st.st_size;
    while ((*rv = ng_image_check(img, 0, err)) == 0 && calls < 1000000)
        calls++;
    calls++;
    ng_image_free(img);
    return calls;
}

static void
test_sliced_reload(void)
{
    char big_txt[800], big_ngo[800], old_ngo[820], label[64], want[900];
    CK_SESSION_HANDLE s = 0;
    struct stat g, kept;
    ng_error err;
    size_t size = 0;
    int rv, calls, queries = 0, strays = 0;
    const int n = 60000;

    p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
    withdraw(txt);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "", "small files: a change is seen at once");

    /* one slice per call: more calls than 256 KiB pieces in the file */
    snprintf(big_txt, sizeof(big_txt), "%s/big.txt", dir);
    snprintf(big_ngo, sizeof(big_ngo), "%s/big.ngo", dir);
    write_overlay(big_txt, "G", 1, n, 2000000000);
    compile(big_txt, big_ngo);
    calls = check_in_slices(big_ngo, &rv, &err, &size);
    printf("# %zu bytes checked in %d calls\n", size, calls);
    tap_is_ulong((unsigned long)rv, 1, "a large compiled file checked a slice per call is good");
    tap_ok(size > 4000000 && (size_t)calls > size / (256 * 1024),
           "... and took more calls than its 256 KiB pieces");
    flip_byte(big_ngo, (long)size - 100);
    calls = check_in_slices(big_ngo, &rv, &err, &size);
    snprintf(want, sizeof(want), "%s: checksum mismatch (corrupted)", big_ngo);
    tap_ok(rv == -1 && calls > 10, "a byte changed near its end: refused after several slices");
    tap_is_str(err.msg, want, "... saying so");
    ng_image *img = ng_image_open(big_ngo, &err);
    tap_ok(img == NULL, "... as checking it in one go does");
    ng_image_free(img);

    /* in the module: old answers until the new version is whole */
    compile(big_txt, big_ngo);
    stat(big_ngo, &g);
    snprintf(old_ngo, sizeof(old_ngo), "%s/big.ngo", odir);
    rename(big_ngo, old_ngo); /* into the overlay directory, whole */
    size_t reloads = count_in_file(log_path, "\"event\":\"reload\"");
    const char *got = lookup(s, 1, label, sizeof(label));
    tap_is_str(got, "", "the first query after a large compiled file appears: the old answer");
    for (queries = 1; strcmp(got, "G-1") != 0 && queries < 1000000; queries++) {
        got = lookup(s, 1, label, sizeof(label));
        strays += got[0] != '\0' && strcmp(got, "G-1") != 0;
    }
    printf("# the new version was served after %d queries\n", queries);
    tap_is_str(got, "G-1", "... then, some queries later, the new one");
    tap_ok(queries > 1, "... the reload's work spread over several queries");
    tap_is_ulong((unsigned long)strays, 0, "... every answer the old version's or the new one's");
    tap_is_ulong(count_in_file(log_path, "\"event\":\"reload\""), reloads + 1,
                 "... and one reload event, when it was published");
    snprintf(want, sizeof(want), "\"entries\":%d,", n);
    tap_is_ulong(count_in_file(log_path, want), 1, "... of all its entries");

    /* a process that queries rarely: the next query a second later finishes it */
    write_overlay(big_txt, "H", 1, n, 2000000100);
    compile(big_txt, old_ngo);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "G-1", "version H written: G still served");
    sleep(1);
    usleep(200000);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "H-1",
               "a query more than a second later finishes the reload");

    /* nssguard compile keeps the image it replaced */
    snprintf(want, sizeof(want), "%s.old", old_ngo);
    tap_ok(stat(want, &kept) == 0 && kept.st_ino == g.st_ino,
           "writing a compiled file keeps the one it replaced as X.ngo.old");
    unlink(want);
    unlink(old_ngo);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "H-1",
               "the large file deleted: its last good version stays in service");
    withdraw(big_txt);
    compile(big_txt, old_ngo);
    unlink(big_txt);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "",
               "the large file replaced by an empty one: nothing served");
    unlink(old_ngo);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "", "... and deleted then: still nothing");
    p11->C_CloseSession(s);
}

/* A text swapped after the scan saw it, while its large compiled file is
 * checked over several queries: the text is then hashed to tell whether the
 * compiled file is current. Swapped for a link to /dev/zero (a local user
 * who can write the folder), that hash never ended, inside a query; now a
 * text that is no longer the file the scan saw is not hashed (the compiled
 * file counts as stale, the text is refused as not a regular file) and the
 * next scan serves the compiled file, which has no text beside it now. */
static void
test_text_swapped_while_checking(void)
{
    char src_txt[800], src_ngo[800], sw_txt[800], sw_ngo[800], tmp[820], label[64];
    CK_SESSION_HANDLE s = 0;
    int queries;
    const char *got;

    p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
    snprintf(src_txt, sizeof(src_txt), "%s/sw.txt", dir);
    snprintf(src_ngo, sizeof(src_ngo), "%s/sw.ngo", dir);
    snprintf(sw_txt, sizeof(sw_txt), "%s/sw.txt", odir);
    snprintf(sw_ngo, sizeof(sw_ngo), "%s/sw.ngo", odir);
    write_overlay(src_txt, "S", 1, 60000, 2000000200);
    compile(src_txt, src_ngo);
    rename(src_txt, sw_txt); /* the text and its compiled file, whole */
    rename(src_ngo, sw_ngo);
    int stale = count_in_file(log_path, "\"event\":\"stale_compiled\"");
    tap_is_str(lookup(s, 1, label, sizeof(label)), "",
               "swap: a large compiled file and its text appear: checked over several queries");
    snprintf(tmp, sizeof(tmp), "%s.tmp", sw_txt);
    tap_ok(symlink("/dev/zero", tmp) == 0 && rename(tmp, sw_txt) == 0,
           "... the text swapped meanwhile for a link to /dev/zero");
    alarm(60); /* the hash of /dev/zero never ended: fail, do not hang */
    got = lookup(s, 1, label, sizeof(label));
    for (queries = 1; strcmp(got, "S-1") != 0 && queries < 1000000; queries++)
        got = lookup(s, 1, label, sizeof(label));
    alarm(0);
    tap_is_str(got, "S-1", "... the reload ends: the compiled file is served, no hang");
    tap_ok(count_in_file(log_path, "\"event\":\"stale_compiled\"") > stale,
           "... the swapped text never vouched for it (a stale_compiled event)");
    unlink(sw_ngo);
    withdraw(sw_txt);
    tap_is_str(lookup(s, 1, label, sizeof(label)), "", "... withdrawn by a text without entries");
    p11->C_CloseSession(s);
}

/* Found by fuzz-compiled: slots_off = 2^64 - 40 made slots_off + n_slots * 8
 * wrap to a small number, so the layout check passed and the slot table was
 * read from 40 bytes before the image. */
static void
test_wrapping_offsets(void)
{
    char path[800], image[800];
    unsigned char *bytes = NULL;
    long size = 0;
    ng_error err;
    FILE *f;

    snprintf(path, sizeof(path), "%s/wrap.txt", dir);
    snprintf(image, sizeof(image), "%s/wrap.ngo", dir);
    write_overlay(path, "W", 1, 3, 0);
    compile(path, image);
    if ((f = fopen(image, "rb"))) {
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        rewind(f);
        bytes = malloc((size_t)size);
        if (bytes && fread(bytes, 1, (size_t)size, f) != (size_t)size)
            size = 0;
        fclose(f);
    }
    if (!bytes || size < 128) {
        tap_ok(0, "read the compiled file back");
        free(bytes);
        return;
    }
    uint64_t slots_off = (uint64_t)0 - 40, n_slots = 16; /* header offsets 56 and 40 */
    memcpy(bytes + 56, &slots_off, 8);
    memcpy(bytes + 40, &n_slots, 8);
    ng_image_seal(bytes, (size_t)size);
    ng_image *img = ng_image_from_bytes(bytes, (size_t)size, &err);
    tap_ok(img == NULL, "a compiled file whose slot offset wraps around is refused");
    tap_is_str(err.msg, "(in memory): inconsistent layout", "... as an inconsistent layout");
    ng_image_free(img);
    free(bytes);
    unlink(image);
    unlink(path);
}

/* The trust objects for serial bytes as given; their labels joined by ' '. */
static CK_ULONG
trust_labels(CK_SESSION_HANDLE s, const unsigned char *serial, CK_ULONG len, char *out, size_t size)
{
    CK_OBJECT_CLASS cls = CKO_NSS_TRUST;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_ISSUER, (void *)issuer_der, sizeof(issuer_der)},
        {CKA_SERIAL_NUMBER, (void *)serial, len},
    };
    CK_OBJECT_HANDLE h[4];
    CK_ULONG n = 0;

    out[0] = '\0';
    p11->C_FindObjectsInit(s, tmpl, 3);
    p11->C_FindObjects(s, h, 4, &n);
    p11->C_FindObjectsFinal(s);
    for (CK_ULONG i = 0; i < n; i++) {
        char label[64];
        CK_ATTRIBUTE a = {CKA_LABEL, label, sizeof(label) - 1};
        if (p11->C_GetAttributeValue(s, h[i], &a, 1) == CKR_OK) {
            label[a.ulValueLen] = '\0';
            snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "", label);
        }
    }
    return n;
}

static void
test_der_like_serials(void)
{
    static const unsigned char der7[] = {0x02, 0x01, 0x07}, bare7[] = {0x07};
    char path[800], compiled[800], got[256];
    CK_SESSION_HANDLE s = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/der-like.txt", odir);
    snprintf(compiled, sizeof(compiled), "%s/der-like.ngo", odir);
    write_overlay(path, "V", 7, 7, 0); /* serial 02 01 07: value 07 */
    f = fopen(path, "a");
    if (f) { /* serial 02 03 02 01 07: value 02 01 07, itself a DER INTEGER */
        fputs("CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nCKA_LABEL UTF8 \"D-020107\"\n"
              "CKA_ISSUER MULTILINE_OCTAL\n"
              "\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003\\023\\001\\101\nEND\n"
              "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\003\\002\\001\\007\nEND\n"
              "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n",
              f);
        fclose(f);
    }
    p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
    for (int pass = 0; pass < 2; pass++) {
        const char *form = pass ? "compiled" : "text";
        char what[200];
        if (pass)
            compile(path, compiled);
        snprintf(what, sizeof(what), "%s: serial 02 01 07 finds value 07 and value 02 01 07", form);
        tap_is_ulong(trust_labels(s, der7, sizeof(der7), got, sizeof(got)), 2, what);
        tap_is_str(got, "D-020107 V-7", "... the one as given first");
        snprintf(what, sizeof(what), "%s: bare serial 07 finds value 07 only", form);
        tap_is_ulong(trust_labels(s, bare7, sizeof(bare7), got, sizeof(got)), 1, what);
        tap_is_str(got, "V-7", "... that one");
    }
    unlink(compiled);
    unlink(path);
    p11->C_CloseSession(s);
}

int
main(void)
{
    CK_SESSION_HANDLE s = 0;

    if (!mkdtemp(dir))
        return 99;
    snprintf(odir, sizeof(odir), "%s/overlay.d", dir);
    mkdir(odir, 0755);
    snprintf(log_path, sizeof(log_path), "%s/events.json", dir);
    snprintf(txt, sizeof(txt), "%s/a.txt", odir);
    snprintf(ngo, sizeof(ngo), "%s/a.ngo", odir);
    write_overlay(txt, "A", 1, 3, 1600000000);

    C_GetFunctionList(&p11);
    tap_is_ulong(init(), CKR_OK, "C_Initialize with reload=0");
    p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
    test_compiled_and_reload(s);
    test_search_across_reload(s);
    test_generation_id_wraps(s);
    p11->C_CloseSession(s);
    test_concurrent_reloads();
    test_sliced_reload();
    test_text_swapped_while_checking();
    test_der_like_serials();
    test_wrapping_offsets();
    tap_is_ulong(p11->C_Finalize(NULL), CKR_OK, "C_Finalize frees every generation");

    /* Nothing loadable at all: the module starts, serves nothing, says so. */
    char params[1400];
    CK_C_INITIALIZE_ARGS args;
    snprintf(params, sizeof(params), "overlay=%s/missing.txt log=file:%s", dir, log_path);
    memset(&args, 0, sizeof(args));
    args.LibraryParameters = (CK_CHAR_PTR *)params;
    tap_is_ulong(p11->C_Initialize(&args), CKR_OK, "no overlay loadable: C_Initialize succeeds");
    tap_is_ulong(count_in_file(log_path, "\"event\":\"load_failed\""), 1,
                 "... with a load_failed event (syslog priority err)");
    p11->C_Finalize(NULL);

    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return tap_done();
}

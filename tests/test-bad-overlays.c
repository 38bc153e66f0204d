/*
 * test-bad-overlays: every malformed overlay in tests/bad-overlays/, loaded
 * through the real module next to a good file, as NSS would load them:
 *
 *   C_Initialize("overlay=GOOD:BAD log=file:LOG ratelimit=0")
 *
 * For each file, tests/bad-overlays.txt says what must happen: refused with
 * exactly "FILE:LINE: reason" (one load_error event, "refused":1), skipped
 * (not distrust: loads, serves nothing, counted "skipped"), or loaded with N
 * entries. In every case the good file's entry is still served, the bad
 * file's record (issuer CN=B, serial 9) is served only when it loaded, and
 * nothing crashes. Cases a repository cannot hold are made here: a
 * directory where a file should be, an unreadable file (not as root), a
 * symlink loop, a missing file, a value over 1 MiB, a file over 512 MiB.
 * As root, the unreadable file is tried in a child that becomes nobody.
 *
 * Each refused file is loaded a second time as a live reload: the path
 * first holds a good record (issuer CN=B, serial 9), then the bad file is
 * renamed over it; the next query reloads, and the module must log the same
 * error with "serving":"previous version" and keep serving the good record.
 *
 * Last, the case where no overlay can be loaded at all: C_Initialize
 * succeeds, serves nothing and says so with a load_failed event.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

static CK_FUNCTION_LIST_PTR p11;
static char dir[] = "/tmp/nssguard-test-bad-overlays-XXXXXX";
static char good_path[512], log_path[512];

static const unsigned char issuer_a[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
                                         0x03, 0x55, 0x04, 0x03, 0x13, 0x01, 0x41};
static const unsigned char serial_7[] = {0x02, 0x01, 0x07};
static const unsigned char issuer_b[] = {0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
                                         0x03, 0x55, 0x04, 0x03, 0x13, 0x01, 0x42};
static const unsigned char serial_9[] = {0x02, 0x01, 0x09};

static const char good_text[] =
    "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
    "CKA_TOKEN CK_BBOOL CK_TRUE\n"
    "CKA_LABEL UTF8 \"good\"\n"
    "CKA_ISSUER MULTILINE_OCTAL\n"
    "\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003\\023\\001\\101\n"
    "END\n"
    "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\001\\007\nEND\n"
    "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n";

/* ---- the event log ---- */

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, r;

    if (!f)
        return NULL;
    do {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
    } while (r > 0);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Counts lines of the log holding `needle`. */
static int
log_count(const char *needle)
{
    char *text = slurp(log_path, NULL), *line, *save = NULL;
    int n = 0;

    if (!text)
        return 0;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        n += strstr(line, needle) != NULL;
    free(text);
    return n;
}

/* The JSON string value of `key` in the first line holding `event`,
 * unescaped (\" \\ \uXXXX below 0x100), or "" when absent. */
static const char *
log_value(const char *event, const char *key)
{
    static char out[4096];
    char *text = slurp(log_path, NULL), *line, *save = NULL, pat[64];

    out[0] = '\0';
    if (!text)
        return out;
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *p;
        if (!strstr(line, event) || !(p = strstr(line, pat)))
            continue;
        size_t o = 0;
        for (p += strlen(pat); *p && *p != '"' && o < sizeof(out) - 1; p++) {
            if (*p == '\\' && p[1] == 'u') {
                out[o++] = (char)strtoul((char[]){p[4], p[5], 0}, NULL, 16);
                p += 5;
            } else if (*p == '\\' && p[1]) {
                out[o++] = *++p;
            } else {
                out[o++] = *p;
            }
        }
        out[o] = '\0';
        break;
    }
    free(text);
    return out;
}

/* ---- the module ---- */

static CK_RV
init_with(const char *overlay)
{
    CK_C_INITIALIZE_ARGS args;
    char params[4096];

    snprintf(params, sizeof(params), "overlay=%s log=file:%s ratelimit=0 reload=0", overlay,
             log_path);
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.LibraryParameters = (CK_CHAR_PTR *)params;
    unlink(log_path);
    return p11->C_Initialize(&args);
}

/* 1 when the trust query for issuer+serial finds its CKO_NSS_TRUST object. */
static CK_ULONG
served(const unsigned char *issuer, size_t ilen, const unsigned char *serial, size_t slen)
{
    CK_SESSION_HANDLE s = 0;
    CK_OBJECT_CLASS cls = CKO_NSS_TRUST;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_ISSUER, (void *)issuer, ilen},
        {CKA_SERIAL_NUMBER, (void *)serial, slen},
    };
    CK_OBJECT_HANDLE h[8];
    CK_ULONG n = (CK_ULONG)-1;

    if (p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return (CK_ULONG)-1;
    if (p11->C_FindObjectsInit(s, tmpl, 4) == CKR_OK) {
        p11->C_FindObjects(s, h, 8, &n);
        p11->C_FindObjectsFinal(s);
    }
    p11->C_CloseSession(s);
    return n;
}

static void
replace_file(char *out, size_t size, const char *pattern, const char *path)
{
    const char *f = strstr(pattern, "FILE");

    if (f)
        snprintf(out, size, "%.*s%s%s", (int)(f - pattern), pattern, path, f + 4);
    else
        snprintf(out, size, "%s", pattern);
}

/* Loads `path` next to the good file and checks the outcome `expect`. */
static void
check_file(const char *name, const char *path, const char *expect)
{
    char what[1200], want[4096], overlay[4096], key[64];
    unsigned long entries = 0, skipped = 0;
    bool refused = strncmp(expect, "FILE", 4) == 0;

    snprintf(overlay, sizeof(overlay), "%s:%s", good_path, path);
    snprintf(what, sizeof(what), "%s: C_Initialize succeeds", name);
    if (!tap_is_ulong(init_with(overlay), CKR_OK, what))
        return;
    if (refused) {
        replace_file(want, sizeof(want), expect, path);
        snprintf(what, sizeof(what), "%s: refused with its file:line: reason", name);
        tap_is_str(log_value("\"event\":\"load_error\"", "error"), want, what);
        snprintf(what, sizeof(what), "%s: one load_error event, the load event counts it", name);
        tap_ok(log_count("\"event\":\"load_error\"") == 1 && log_count("\"refused\":1,") == 1,
               what);
    } else {
        if (sscanf(expect, "skipped %lu", &skipped) != 1 &&
            sscanf(expect, "loaded %lu skipped %lu", &entries, &skipped) < 1) {
            tap_ok(0, "bad-overlays.txt: unreadable expectation");
            p11->C_Finalize(NULL);
            return;
        }
        snprintf(what, sizeof(what), "%s: not an error (%s)", name, expect);
        snprintf(key, sizeof(key), "\"entries\":%lu,", entries + 1);
        snprintf(want, sizeof(want), "\"skipped\":%lu,", skipped);
        tap_ok(log_count("\"event\":\"load_error\"") == 0 && log_count("\"refused\":0,") == 1 &&
                   log_count(key) == 1 && log_count(want) == 1,
               what);
    }
    snprintf(what, sizeof(what), "%s: the good file's entry is still served", name);
    tap_is_ulong(served(issuer_a, sizeof(issuer_a), serial_7, sizeof(serial_7)), 1, what);
    snprintf(what, sizeof(what), "%s: its own record is served only if it loaded", name);
    tap_is_ulong(served(issuer_b, sizeof(issuer_b), serial_9, sizeof(serial_9)),
                 entries > 0 ? 1 : 0, what);
    snprintf(what, sizeof(what), "%s: C_Finalize", name);
    tap_is_ulong(p11->C_Finalize(NULL), CKR_OK, what);
}

static const char record_b9[] =
    "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
    "CKA_LABEL UTF8 \"last good version\"\n"
    "CKA_ISSUER MULTILINE_OCTAL\n"
    "\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003\\023\\001\\102\n"
    "END\n"
    "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\001\\011\nEND\n"
    "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n";

/* Copies src to dst by a temporary file and rename(), as an admin should. */
static bool
replace_with(const char *dst, const char *src_path, const char *text)
{
    char tmp[700];
    size_t len = text ? strlen(text) : 0;
    char *data = text ? (char *)text : slurp(src_path, &len);
    FILE *f;
    bool ok;

    snprintf(tmp, sizeof(tmp), "%s/.replace.tmp", dir);
    if (!data || !(f = fopen(tmp, "wb")))
        return false;
    ok = fwrite(data, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!text)
        free(data);
    return ok && rename(tmp, dst) == 0;
}

/* The refused file arrives by reload over a good version of itself. */
static void
check_reload(const char *name, const char *bad_path, const char *expect)
{
    char path[700], overlay[1500], what[1200], want[4096];

    snprintf(path, sizeof(path), "%s/reloaded.txt", dir);
    if (!replace_with(path, NULL, record_b9)) {
        tap_ok(0, "cannot write the reloaded file");
        return;
    }
    snprintf(overlay, sizeof(overlay), "%s:%s", good_path, path);
    snprintf(what, sizeof(what), "%s by reload: the good version loads first", name);
    if (!tap_is_ulong(init_with(overlay), CKR_OK, what))
        return;
    tap_is_ulong(served(issuer_b, sizeof(issuer_b), serial_9, sizeof(serial_9)), 1, what);
    replace_with(path, bad_path, NULL);
    served(issuer_a, sizeof(issuer_a), serial_7, sizeof(serial_7)); /* the query that reloads */
    replace_file(want, sizeof(want), expect, path);
    snprintf(what, sizeof(what), "%s by reload: the same file:line: reason", name);
    tap_is_str(log_value("\"event\":\"load_error\"", "error"), want, what);
    snprintf(what, sizeof(what), "%s by reload: the event says the previous version serves", name);
    tap_is_str(log_value("\"event\":\"load_error\"", "serving"), "previous version", what);
    snprintf(what, sizeof(what), "%s by reload: the last good version is still served", name);
    tap_is_ulong(served(issuer_b, sizeof(issuer_b), serial_9, sizeof(serial_9)), 1, what);
    snprintf(what, sizeof(what), "%s by reload: and the good file", name);
    tap_is_ulong(served(issuer_a, sizeof(issuer_a), serial_7, sizeof(serial_7)), 1, what);
    p11->C_Finalize(NULL);
}

static void
test_listed(void)
{
    const char *top = getenv("top_srcdir");
    char list[1024], line[1024], path[2048];
    FILE *f;
    int n = 0;

    snprintf(list, sizeof(list), "%s/tests/bad-overlays.txt", top ? top : ".");
    f = fopen(list, "r");
    if (!tap_ok(f != NULL, "tests/bad-overlays.txt opens"))
        return;
    while (fgets(line, sizeof(line), f)) {
        char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
        if (line[0] == '#' || !tab)
            continue;
        if (nl)
            *nl = '\0';
        *tab = '\0';
        snprintf(path, sizeof(path), "%s/tests/bad-overlays/%s", top ? top : ".", line);
        check_file(line, path, tab + 1);
        if (strncmp(tab + 1, "FILE", 4) == 0)
            check_reload(line, path, tab + 1);
        n++;
    }
    fclose(f);
    tap_ok(n >= 40, "at least 40 listed files");
}

/* As root every file is readable: the check runs in a child that becomes
 * nobody (the folder is opened to it, the log file made writable). */
static void
check_unreadable_as_nobody(const char *path)
{
    char ulog[sizeof(log_path)];
    int status = -1, fd;
    pid_t pid;

    snprintf(ulog, sizeof(ulog), "%s/nobody-events.json", dir);
    fd = open(ulog, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0 || fchmod(fd, 0666) != 0 || chmod(dir, 0711) != 0 || chmod(good_path, 0644) != 0) {
        tap_skip("unreadable file: cannot prepare a run as nobody");
        if (fd >= 0)
            close(fd);
        return;
    }
    close(fd);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int before = tap_failures;
        if (!freopen("/dev/null", "w", stdout) || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        snprintf(log_path, sizeof(log_path), "%s", ulog);
        check_file("unreadable-file", path, "FILE: cannot open: Permission denied");
        _exit(tap_failures == before ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    chmod(dir, 0700);
    unlink(ulog);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "unreadable-file (as nobody): refused with 'cannot open: Permission denied', the good "
           "file still served");
}

static void
test_made_here(void)
{
    char path[700], path2[700], sub[700], want[1024];

    /* A directory named like an overlay file inside an overlay directory. */
    snprintf(sub, sizeof(sub), "%s/d", dir);
    mkdir(sub, 0755);
    snprintf(path, sizeof(path), "%s/d/dir.txt", dir);
    mkdir(path, 0755);
    {
        char overlay[1500], what[128];
        snprintf(overlay, sizeof(overlay), "%s:%s", good_path, sub);
        tap_is_ulong(init_with(overlay), CKR_OK, "a directory in an overlay folder: initialises");
        replace_file(want, sizeof(want), "FILE: not a regular file", path);
        tap_is_str(log_value("\"event\":\"load_error\"", "error"), want,
                   "... the sub-directory named *.txt is refused: not a regular file");
        snprintf(what, sizeof(what), "... the good file is still served");
        tap_is_ulong(served(issuer_a, sizeof(issuer_a), serial_7, sizeof(serial_7)), 1, what);
        p11->C_Finalize(NULL);
    }
    rmdir(path);
    rmdir(sub);

    /* A directory given as an overlay path is read as a folder (by design). */
    snprintf(sub, sizeof(sub), "%s/empty", dir);
    mkdir(sub, 0755);
    {
        char overlay[1500];
        snprintf(overlay, sizeof(overlay), "%s:%s", good_path, sub);
        tap_is_ulong(init_with(overlay), CKR_OK, "an empty directory as overlay path");
        tap_ok(log_count("\"event\":\"load_error\"") == 0 && log_count("\"entries\":1,") == 1,
               "... is an empty folder, not an error");
        p11->C_Finalize(NULL);
    }
    rmdir(sub);

    /* A symlink loop. */
    snprintf(path, sizeof(path), "%s/loop-a.txt", dir);
    snprintf(path2, sizeof(path2), "%s/loop-b.txt", dir);
    if (symlink(path2, path) == 0 && symlink(path, path2) == 0)
        check_file("symlink-loop", path, "FILE: cannot open: Too many levels of symbolic links");
    else
        tap_skip("cannot make a symlink loop here");
    unlink(path);
    unlink(path2);

    /* A missing file. */
    snprintf(path, sizeof(path), "%s/missing.txt", dir);
    check_file("missing-file", path, "FILE: cannot open: No such file or directory");

    /* An unreadable file (root reads anything). */
    snprintf(path, sizeof(path), "%s/unreadable.txt", dir);
    write_file(path, good_text);
    chmod(path, 0);
    if (geteuid() != 0)
        check_file("unreadable-file", path, "FILE: cannot open: Permission denied");
    else
        check_unreadable_as_nobody(path);
    unlink(path);

    /* A value over 1 MiB: 1 MiB + 1 octal escapes on one line. */
    snprintf(path, sizeof(path), "%s/huge-value.txt", dir);
    {
        FILE *f = fopen(path, "w");
        if (f) {
            fputs("CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nCKA_TOKEN CK_BBOOL CK_TRUE\n"
                  "CKA_ISSUER MULTILINE_OCTAL\n",
                  f);
            for (size_t i = 0; i < 1024 * 1024 + 1; i++)
                fputs("\\101", f);
            fputs("\nEND\n", f);
            fclose(f);
        }
        check_file("huge-value", path, "FILE:4: value longer than 1 MiB");
    }
    unlink(path);

    /* A file over 512 MiB (sparse: costs no disk). */
    snprintf(path, sizeof(path), "%s/huge-file.txt", dir);
    {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0 && ftruncate(fd, 600L * 1024 * 1024) == 0) {
            ng_records recs;
            ng_error err;
            close(fd);
            /* the parser's own limit (the tool parses such files) */
            snprintf(want, sizeof(want), "%s: file larger than 512 MiB", path);
            tap_ok(!ng_parse_file(path, &recs, &err), "huge-file: the parser refuses it");
            tap_is_str(err.msg, want, "huge-file: ... saying so");
            /* the module's own cap, applied again as the file is read
             * (a file swapped after the scan looked at its size) */
            snprintf(want, sizeof(want), "%s: file larger than 16 MiB", path);
            tap_ok(!ng_parse_file_max(path, NG_TEXT_MAX_BYTES, &recs, &err),
                   "huge-file: the parser refuses it over text_max as well");
            tap_is_str(err.msg, want, "huge-file: ... naming that limit");
            /* the module refuses it before that: over its in-process text
             * cap (text_max, 16 MiB by default), with text_too_large */
            tap_is_ulong(init_with(path), CKR_OK, "huge-file: C_Initialize succeeds");
            tap_ok(log_count("\"event\":\"text_too_large\"") == 1 &&
                       log_count("\"size\":629145600") == 1 && log_count("nssguard compile") == 1,
                   "huge-file: a text_too_large event that says to compile it");
            tap_ok(log_count("\"event\":\"load_failed\"") == 1 && log_count("\"refused\":1,") == 1,
                   "huge-file: the load event (load_failed: nothing served) counts it refused");
            p11->C_Finalize(NULL);
        } else {
            if (fd >= 0)
                close(fd);
            tap_skip("cannot make a sparse file here");
        }
    }
    unlink(path);
}

/* No overlay at all can be loaded. Today: C_Initialize succeeds and the
 * module serves nothing; it says so with the load_error events and a
 * load_failed event (syslog err) in place of load. These assertions describe
 * the current policy, so that a change to it is deliberate. */
static void
test_nothing_loads(void)
{
    char bad[600], overlay[1400];
    CK_SESSION_HANDLE s = 0;
    CK_ULONG n = (CK_ULONG)-1;

    snprintf(bad, sizeof(bad), "%s/broken.txt", dir);
    write_file(bad, "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nCKA_BOGUS CK_BBOOL CK_TRUE\n");
    snprintf(overlay, sizeof(overlay), "%s:%s/absent.txt", bad, dir);
    tap_is_ulong(init_with(overlay), CKR_OK,
                 "no overlay loads: C_Initialize still succeeds (current policy)");
    tap_ok(log_count("\"event\":\"load_error\"") == 2, "... two load_error events");
    tap_ok(log_count("\"event\":\"load_failed\"") == 1 && log_count("\"event\":\"load\"") == 0 &&
               log_count("\"entries\":0,") == 1 && log_count("\"refused\":2,") == 1,
           "... and a load_failed event (not load) with entries 0, refused 2");
    p11->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
    p11->C_FindObjectsInit(s, NULL, 0);
    CK_OBJECT_HANDLE h[4];
    p11->C_FindObjects(s, h, 4, &n);
    p11->C_FindObjectsFinal(s);
    tap_is_ulong(n, 0, "... the token serves no objects: nothing is distrusted");
    CK_TOKEN_INFO ti;
    p11->C_GetTokenInfo(1, &ti);
    tap_ok(ti.flags & CKF_TOKEN_INITIALIZED, "... and the token looks like any other");
    p11->C_Finalize(NULL);
    unlink(bad);
}

int
main(void)
{
    char cmd[600];

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    snprintf(good_path, sizeof(good_path), "%s/good.txt", dir);
    snprintf(log_path, sizeof(log_path), "%s/events.json", dir);
    write_file(good_path, good_text);
    C_GetFunctionList(&p11);

    test_listed();
    test_made_here();
    test_nothing_loads();

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return tap_done();
}

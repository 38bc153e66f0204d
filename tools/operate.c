/*
 * operate.c: the helpers of enable, disable, status and watch (issue 15):
 * where the module goes (NSS databases, Firefox profiles, Firefox's
 * policies.json), running NSS's tools, and writing files atomically.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "operate.h"
#include "tool.h"

#ifndef NSSGUARD_PKCS11DIR
#define NSSGUARD_PKCS11DIR "/usr/lib/pkcs11"
#endif

const char *
op_module_path(void)
{
    const char *m = getenv("NSSGUARD_MODULE");
    return m != NULL && m[0] != '\0' ? m : NSSGUARD_PKCS11DIR "/libnssguard.so";
}

const char *
op_refresh_module_path(void)
{
    static char path[4096];
    const char *m = getenv("NSSGUARD_REFRESH_MODULE");
    if (m != NULL && m[0] != '\0')
        return m;
    const char *main = op_module_path(), *slash = strrchr(main, '/');
    snprintf(path, sizeof(path), "%.*slibnssguard-refresh.so",
             slash != NULL ? (int)(slash - main + 1) : 0, main);
    return path;
}

bool
op_list_add(op_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0)
            return true; /* each place once */
    }
    char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (v == NULL)
        return false;
    l->v = v;
    if ((l->v[l->n] = strdup(s)) == NULL)
        return false;
    l->n++;
    return true;
}

bool
op_list_addf(op_list *l, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        return false;
    bool ok = op_list_add(l, s);
    free(s);
    return ok;
}

void
op_list_clear(op_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static bool
is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *
home(void)
{
    const char *h = getenv("HOME");
    return h != NULL && h[0] != '\0' ? h : "/";
}

bool
op_find_user_nssdb(op_list *out, bool must_exist)
{
    char *pki = NULL, *xdg = NULL;
    bool ok = asprintf(&pki, "%s/.pki/nssdb", home()) >= 0 &&
              asprintf(&xdg, "%s/.local/share/pki/nssdb", home()) >= 0;
    if (ok) {
        /* Chromium 156 and NSS: ~/.pki/nssdb when it exists, else the XDG one */
        if (is_dir(pki))
            ok = op_list_addf(out, "sql:%s", pki);
        else if (is_dir(xdg) || !must_exist)
            ok = op_list_addf(out, "sql:%s", xdg);
    }
    free(pki);
    free(xdg);
    return ok;
}

void
op_find_system_nssdb(op_list *out)
{
    if (is_dir("/etc/pki/nssdb"))
        op_list_add(out, "sql:/etc/pki/nssdb");
}

/* Each Path= of a profiles.ini, relative to its folder when IsRelative=1. */
static void
read_profiles_ini(op_list *out, const char *dir)
{
    char *ini = NULL;
    if (asprintf(&ini, "%s/profiles.ini", dir) < 0)
        return;
    FILE *fp = fopen(ini, "r");
    free(ini);
    if (fp == NULL)
        return;
    char line[4096], path[4096] = "";
    bool relative = true, in_profile = false;
    for (;;) {
        bool eof = fgets(line, sizeof(line), fp) == NULL;
        line[strcspn(line, "\r\n")] = '\0';
        if (eof || line[0] == '[') {
            if (in_profile && path[0] != '\0')
                op_list_addf(out, "%s%s%s", relative ? dir : "", relative ? "/" : "", path);
            if (eof)
                break;
            in_profile = strncmp(line, "[Profile", 8) == 0;
            path[0] = '\0';
            relative = true;
        } else if (strncmp(line, "Path=", 5) == 0) {
            snprintf(path, sizeof(path), "%s", line + 5);
        } else if (strncmp(line, "IsRelative=", 11) == 0) {
            relative = line[11] == '1';
        }
    }
    fclose(fp);
}

void
op_find_firefox_profiles(op_list *out)
{
    char *d = NULL;
    /* the classic place, then the XDG one newer Firefox releases use */
    if (asprintf(&d, "%s/.mozilla/firefox", home()) >= 0)
        read_profiles_ini(out, d);
    free(d);
    d = NULL;
    const char *xdg = getenv("XDG_CONFIG_HOME");
    int r = xdg != NULL && xdg[0] == '/' ? asprintf(&d, "%s/mozilla/firefox", xdg)
                                         : asprintf(&d, "%s/.config/mozilla/firefox", home());
    if (r >= 0)
        read_profiles_ini(out, d);
    free(d);
}

const char *
op_firefox_policy_path(void)
{
    const char *p = getenv("NSSGUARD_FIREFOX_POLICY");
    return p != NULL && p[0] != '\0' ? p : "/etc/firefox/policies/policies.json";
}

long
op_profile_locked_by(const char *profile)
{
    char *lock = NULL, target[256];
    if (asprintf(&lock, "%s/lock", profile) < 0)
        return 0;
    ssize_t n = readlink(lock, target, sizeof(target) - 1);
    free(lock);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    /* "IP:+PID": Firefox's symlink lock; stale when PID is gone */
    const char *plus = strrchr(target, '+');
    long pid = plus != NULL ? strtol(plus + 1, NULL, 10) : 0;
    if (pid <= 0)
        return 0;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/%ld", pid);
    return is_dir(proc) ? pid : 0;
}

static char *
read_fd(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (ssize_t n; buf != NULL; len += (size_t)n) {
        if (len + 1 >= cap) {
            char *b = realloc(buf, cap *= 2);
            if (b == NULL)
                break;
            buf = b;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            n = 0;
        else if (n <= 0)
            break;
    }
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

int
op_run(char *const argv[], char **out)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(out != NULL ? p[1] : null, 1);
        dup2(out != NULL ? p[1] : null, 2);
        close(p[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    char *text = read_fd(p[0]);
    close(p[0]);
    if (out != NULL)
        *out = text;
    else
        free(text);
    int st = 0;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    return r == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A regular file's text; NULL with errno set otherwise. The paths are the
 * user's (pkcs11.txt, policies.json, p11-kit .module files): opened without
 * blocking, so that a FIFO planted there fails instead of hanging. */
char *
op_slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return NULL;
    struct stat st = {0};
    unsigned char *text = NULL;
    size_t len;
    const char *why;
    FILE *fp = NULL;
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
        errno = EINVAL;
    else if (S_ISREG(st.st_mode) && fcntl(fd, F_SETFL, 0) == 0 && (fp = fdopen(fd, "r")) &&
             !tool_read_stream(fp, &text, &len, &why)) /* 64 MiB at most, as every input */
        errno = EFBIG;
    int saved = errno;
    if (fp)
        fclose(fp);
    else
        close(fd);
    errno = saved;
    return (char *)text;
}

/* One "key=value" line of a pkcs11.txt block. */
static const char *
block_value(const char *block, const char *key, char *buf, size_t size)
{
    size_t klen = strlen(key);
    for (const char *l = block; l != NULL && *l != '\0' && *l != '\n';) {
        const char *end = strchr(l, '\n');
        size_t n = end != NULL ? (size_t)(end - l) : strlen(l);
        if (n > klen && strncmp(l, key, klen) == 0 && l[klen] == '=') {
            snprintf(buf, size, "%.*s", (int)(n - klen - 1), l + klen + 1);
            return buf;
        }
        l = end != NULL ? end + 1 : NULL;
    }
    return NULL;
}

bool
op_nssdb_module(const char *dbdir, bool *listed, char **params, char **name, char **library)
{
    const char *dir = strncmp(dbdir, "sql:", 4) == 0 ? dbdir + 4 : dbdir;
    char *path = NULL;
    *listed = false;
    *params = NULL;
    *name = NULL;
    *library = NULL;
    if (asprintf(&path, "%s/pkcs11.txt", dir) < 0)
        return false;
    char *text = op_slurp(path);
    free(path);
    if (text == NULL)
        return errno == ENOENT;
    /* blocks start with library= (NSS writes one block per module) */
    char lib[4096], par[4096];
    for (char *b = text; b != NULL && !*listed; b = strstr(b + 1, "\nlibrary=")) {
        const char *blk = *b == '\n' ? b + 1 : b;
        if (block_value(blk, "library", lib, sizeof(lib)) == NULL)
            continue;
        const char *base = strrchr(lib, '/');
        if (strcmp(lib, op_module_path()) == 0 ||
            strcmp(base != NULL ? base + 1 : lib, "libnssguard.so") == 0) {
            *listed = true;
            *params = strdup(block_value(blk, "parameters", par, sizeof(par)) ? par : "");
            *name = strdup(block_value(blk, "name", par, sizeof(par)) ? par : OP_MODULE_NAME);
            *library = strdup(lib);
        }
    }
    free(text);
    return true;
}

bool
op_is_our_library(const char *library)
{
    struct stat a, b;

    if (strchr(library, '/') == NULL)
        return true;
    return stat(library, &a) == 0 && stat(op_module_path(), &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

void
op_targets_clear(op_targets *t)
{
    op_list_clear(&t->nssdbs);
    op_list_clear(&t->profiles);
    op_list_clear(&t->policies);
}

/* The target options of enable, disable and status: long options only,
 * numbered past the shared skeleton's (tools/cli.c). */
enum {
    OPT_NSSDB = 0x2000,
    OPT_USER,
    OPT_SYSTEM,
    OPT_PROFILES,
    OPT_POLICY,
    OPT_DRY_RUN,
    OPT_PARAMS,
    OPT_EXTENSION,
    OPT_HOST,
};

#define TARGET_OPTIONS                                                                             \
    {"nssdb", required_argument, NULL, OPT_NSSDB}, {"user", no_argument, NULL, OPT_USER},          \
        {"system", no_argument, NULL, OPT_SYSTEM},                                                 \
        {"firefox-profiles", no_argument, NULL, OPT_PROFILES},                                     \
    {                                                                                              \
        "firefox-policy", no_argument, NULL, OPT_POLICY                                            \
    }

const struct option op_status_options[] = {TARGET_OPTIONS, {NULL, 0, NULL, 0}};

#define CHANGE_OPTIONS                                                                             \
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},                                                   \
        {"firefox-extension", required_argument, NULL, OPT_EXTENSION},                             \
    {                                                                                              \
        "native-host", required_argument, NULL, OPT_HOST                                           \
    }

const struct option op_disable_options[] = {TARGET_OPTIONS, CHANGE_OPTIONS, {NULL, 0, NULL, 0}};

const struct option op_enable_options[] = {TARGET_OPTIONS,
                                           CHANGE_OPTIONS,
                                           {"params", required_argument, NULL, OPT_PARAMS},
                                           {NULL, 0, NULL, 0}};

int
op_target_option(void *ctx, int opt, char *arg)
{
    op_targets *t = ctx;
    bool ok = true;
    switch (opt) {
    case OPT_NSSDB:
        ok = strncmp(arg, "sql:", 4) == 0 ? op_list_add(&t->nssdbs, arg)
                                          : op_list_addf(&t->nssdbs, "sql:%s", arg);
        break;
    case OPT_USER:
        t->user = true;
        break;
    case OPT_SYSTEM:
        t->system = true;
        break;
    case OPT_PROFILES:
        op_find_firefox_profiles(&t->profiles);
        break;
    case OPT_POLICY:
        ok = op_list_add(&t->policies, op_firefox_policy_path());
        break;
    case OPT_DRY_RUN:
        t->dry_run = true;
        break;
    case OPT_PARAMS:
        t->params = arg;
        break;
    case OPT_EXTENSION:
        t->xpi = arg;
        ok = op_list_add(&t->policies, op_firefox_policy_path());
        break;
    case OPT_HOST:
        t->host = arg;
        break;
    default:
        return TOOL_EXIT_ERROR;
    }
    return ok ? -1 : TOOL_EXIT_ERROR;
}

void
op_targets_finish(op_targets *t)
{
    if (t->user)
        op_find_user_nssdb(&t->nssdbs, false);
    if (t->system)
        op_find_system_nssdb(&t->nssdbs);
}

/*
 * operate.c: the helpers of enable, disable, status and watch (issue 15):
 * where the module goes (NSS databases, Firefox profiles, Firefox's
 * policies.json), running NSS's tools, and writing files atomically.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "operate.h"

void
op_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nssguard: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

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
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *
op_slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *text = read_fd(fd);
    close(fd);
    return text;
}

bool
op_write_atomic(const char *path, const char *text)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.nssguard-XXXXXX", path) < 0)
        return false;
    int fd = mkstemp(tmp);
    bool ok = fd >= 0;
    size_t len = strlen(text);
    ok = ok && write(fd, text, len) == (ssize_t)len;
    ok = ok && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok && fd >= 0)
        unlink(tmp);
    free(tmp);
    return ok;
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
op_nssdb_module(const char *dbdir, bool *listed, char **params, char **name)
{
    const char *dir = strncmp(dbdir, "sql:", 4) == 0 ? dbdir + 4 : dbdir;
    char *path = NULL;
    *listed = false;
    *params = NULL;
    *name = NULL;
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
        }
    }
    free(text);
    return true;
}

void
op_targets_clear(op_targets *t)
{
    op_list_clear(&t->nssdbs);
    op_list_clear(&t->profiles);
    op_list_clear(&t->policies);
}

/* One target option; 1 when taken, 0 when not a target option. */
static int
parse_one(op_targets *t, const char *a, bool *user, bool *sys)
{
    if (strcmp(a, "--user") == 0)
        *user = true;
    else if (strcmp(a, "--system") == 0)
        *sys = true;
    else if (strcmp(a, "--firefox-profiles") == 0)
        op_find_firefox_profiles(&t->profiles);
    else if (strcmp(a, "--firefox-policy") == 0)
        op_list_add(&t->policies, op_firefox_policy_path());
    else if (strcmp(a, "--dry-run") == 0)
        t->dry_run = true;
    else if (strcmp(a, "--json") == 0)
        t->json = true;
    else
        return 0;
    return 1;
}

int
op_parse_targets(op_targets *t, int argc, char **argv, bool with_params)
{
    bool user = false, sys = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (parse_one(t, a, &user, &sys))
            continue;
        if (strcmp(a, "--nssdb") == 0 && i + 1 < argc) {
            const char *d = argv[++i];
            if (strncmp(d, "sql:", 4) == 0 ? !op_list_add(&t->nssdbs, d)
                                           : !op_list_addf(&t->nssdbs, "sql:%s", d))
                return -1;
        } else if (with_params && strcmp(a, "--params") == 0 && i + 1 < argc) {
            t->params = argv[++i];
        } else if (strcmp(a, "--firefox-extension") == 0 && i + 1 < argc) {
            t->xpi = argv[++i];
            op_list_add(&t->policies, op_firefox_policy_path());
        } else if (strcmp(a, "--native-host") == 0 && i + 1 < argc) {
            t->host = argv[++i];
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (a[0] == '-') {
            op_error("unknown option '%s'", a);
            return -1;
        } else {
            break;
        }
    }
    if (user)
        op_find_user_nssdb(&t->nssdbs, false);
    if (sys)
        op_find_system_nssdb(&t->nssdbs);
    t->system = sys;
    return i;
}

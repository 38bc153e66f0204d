/*
 * config.c: where the module's settings come from.
 *
 *   1. NSS's parameter string (modutil -string, pkcs11.txt parameters=),
 *      passed to C_Initialize in pReserved;
 *   2. else the file named by $NSSGUARD_CONFIG, or
 *      $(sysconfdir)/nssguard/nssguard.conf (Firefox's SecurityDevices policy
 *      and p11-kit pass no parameters);
 *   3. else the defaults: overlay=$(datadir)/nssguard, log=syslog.
 *
 * Keys: overlay=PATH[:PATH...]  log=syslog|stderr|file:PATH|none[,...]
 *       ratelimit=SECONDS  reload=SECONDS  constraints=distrust|ignore
 *       mode=nss|p11-kit|chromium  config=FILE (parameter string only: read FILE there)
 *       verbose=yes|no (accepted and ignored: p11-kit's trust tool adds it)
 *       text_max=MIB (1..512, default 16: the largest text overlay parsed
 *       in-process; a larger one must be compiled)
 *
 * A bad parameter string fails C_Initialize: whoever passes it (modutil,
 * pkcs11.txt) sees that at once. A configuration FILE is read by clients
 * that pass none (Firefox's SecurityDevices policy, GnuTLS, p11-kit), and
 * there a failed C_Initialize makes the client drop the module and serve
 * no distrust at all: so a bad line in it is skipped, every good line is
 * taken, and the errors are kept in cfg->errors for config_error events.
 * An unreadable file counts as one such error: the defaults serve.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#ifndef NSSGUARD_SYSCONFDIR
#define NSSGUARD_SYSCONFDIR "/etc"
#endif
#ifndef NSSGUARD_DATADIR
#define NSSGUARD_DATADIR "/usr/share"
#endif

#define DEFAULT_OVERLAY NSSGUARD_DATADIR "/nssguard"
#define DEFAULT_CONFIG NSSGUARD_SYSCONFDIR "/nssguard/nssguard.conf"
#define DEFAULT_RATELIMIT 60
#define DEFAULT_RELOAD_MS 1000

static void
free_overlays(ng_config *cfg)
{
    for (size_t i = 0; i < cfg->n_overlays; i++)
        free(cfg->overlays[i]);
    free(cfg->overlays);
    cfg->overlays = NULL;
    cfg->n_overlays = 0;
}

static bool
set_overlays(ng_config *cfg, const char *value)
{
    const char *p = value;

    free_overlays(cfg);
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n > 0) {
            char **no = realloc(cfg->overlays, (cfg->n_overlays + 1) * sizeof(*no));
            if (!no)
                return false;
            cfg->overlays = no;
            cfg->overlays[cfg->n_overlays] = strndup(p, n);
            if (!cfg->overlays[cfg->n_overlays])
                return false;
            cfg->n_overlays++;
        }
        if (!colon)
            return true;
        p = colon + 1;
    }
}

void
ng_config_init_defaults(ng_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    set_overlays(cfg, DEFAULT_OVERLAY);
    cfg->log_sinks = NG_LOG_SYSLOG;
    cfg->ratelimit = DEFAULT_RATELIMIT;
    cfg->reload_ms = DEFAULT_RELOAD_MS;
    cfg->serve_constraints = true;
    cfg->text_max = NG_TEXT_MAX_BYTES;
    cfg->source = strdup("built-in defaults");
}

void
ng_config_clear(ng_config *cfg)
{
    free_overlays(cfg);
    free(cfg->log_file);
    free(cfg->roots);
    free(cfg->source);
    for (size_t i = 0; i < cfg->n_errors && i < NG_CONFIG_ERRORS_KEPT; i++)
        free(cfg->errors[i]);
    free(cfg->errors);
    memset(cfg, 0, sizeof(*cfg));
}

bool
ng_config_add_error(ng_config *cfg, const char *msg)
{
    if (!cfg->errors && !(cfg->errors = calloc(NG_CONFIG_ERRORS_KEPT, sizeof(*cfg->errors))))
        return false;
    if (cfg->n_errors < NG_CONFIG_ERRORS_KEPT && !(cfg->errors[cfg->n_errors] = strdup(msg)))
        return false;
    cfg->n_errors++;
    return true;
}

static bool
set_log(ng_config *cfg, const char *value, const char *where, unsigned line, ng_error *err)
{
    char *copy = strdup(value), *save = NULL;
    unsigned sinks = 0;
    bool ok = false;

    if (!copy)
        return false;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "syslog") == 0) {
            sinks |= NG_LOG_SYSLOG;
        } else if (strcmp(tok, "stderr") == 0) {
            sinks |= NG_LOG_STDERR;
        } else if (strcmp(tok, "none") == 0) {
            /* nothing */
        } else if (strncmp(tok, "file:", 5) == 0 && tok[5] == '/') {
            if (strlen(tok + 5) > 1023) { /* never a shorter path than the one asked */
                ng_error_set(err, where, line, "log: file path longer than 1023 bytes");
                goto out;
            }
            sinks |= NG_LOG_FILE;
            free(cfg->log_file);
            cfg->log_file = strdup(tok + 5);
        } else {
            ng_error_set(err, where, line,
                         "log: '%.80s' is not syslog, stderr, none or file:/ABSOLUTE/PATH", tok);
            goto out;
        }
    }
    cfg->log_sinks = sinks;
    ok = true;
out:
    free(copy);
    return ok;
}

static bool
set_key(ng_config *cfg, const char *key, const char *value, const char *where, unsigned line,
        ng_error *err)
{
    if (strcmp(key, "overlay") == 0) {
        if (!set_overlays(cfg, value)) {
            ng_error_set(err, where, line, "out of memory");
            return false;
        }
        return true;
    }
    if (strcmp(key, "log") == 0)
        return set_log(cfg, value, where, line, err);
    if (strcmp(key, "constraints") == 0) {
        if (strcmp(value, "distrust") != 0 && strcmp(value, "ignore") != 0) {
            ng_error_set(err, where, line, "constraints: '%.40s' is not distrust or ignore", value);
            return false;
        }
        cfg->serve_constraints = value[0] == 'd';
        return true;
    }
    if (strcmp(key, "config") == 0) {
        /* only in the parameter string (p11-kit's x-init-reserved): read
         * the file here, so the keys after it override it */
        bool found;
        if (strcmp(where, "parameters") != 0) {
            ng_error_set(err, where, line, "config= is a parameter-string key");
            return false;
        }
        return ng_config_parse_file(cfg, value, &found, err);
    }
    if (strcmp(key, "verbose") == 0) {
        /* p11-kit's trust tool appends " verbose=yes" to every module's
         * x-init-reserved (p11-kit/modules.c); events have their own sinks */
        if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
            ng_error_set(err, where, line, "verbose: '%.40s' is not yes or no", value);
            return false;
        }
        return true;
    }
    if (strcmp(key, "mode") == 0) {
        if (strcmp(value, "nss") == 0) {
            cfg->mode = NG_MODE_NSS;
        } else if (strcmp(value, "p11-kit") == 0) {
            cfg->mode = NG_MODE_P11KIT;
        } else if (strcmp(value, "chromium") == 0) {
            cfg->mode = NG_MODE_CHROMIUM;
        } else if (strcmp(value, "builtins") == 0) {
            cfg->mode = NG_MODE_BUILTINS;
        } else {
            ng_error_set(err, where, line,
                         "mode: '%.40s' is not nss, p11-kit, chromium or builtins", value);
            return false;
        }
        return true;
    }
    if (strcmp(key, "roots") == 0) {
        free(cfg->roots);
        cfg->roots = strdup(value);
        return cfg->roots != NULL;
    }
    if (strcmp(key, "text_max") == 0) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (errno || end == value || *end || v < 1 || v > 512) {
            ng_error_set(err, where, line, "text_max: '%.40s' is not 1..512 MiB", value);
            return false;
        }
        cfg->text_max = (size_t)v << 20;
        return true;
    }
    if (strcmp(key, "ratelimit") == 0 || strcmp(key, "reload") == 0) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (errno || end == value || *end || v > 86400) {
            ng_error_set(err, where, line, "%s: '%.40s' is not 0..86400 seconds", key, value);
            return false;
        }
        if (key[1] == 'a')
            cfg->ratelimit = (unsigned)v;
        else
            cfg->reload_ms = (unsigned)v * 1000;
        return true;
    }
    ng_error_set(err, where, line,
                 "unknown key '%.40s' (overlay, log, ratelimit, reload, constraints, mode, roots, "
                 "text_max, config)",
                 key);
    return false;
}

/* Splits "key=value" at the first '=' and strips quotes around the value. */
static bool
key_value(char *pair, const char *where, unsigned line, ng_config *cfg, ng_error *err)
{
    char *eq = strchr(pair, '=');
    char *value;
    size_t n;

    if (!eq || eq == pair) {
        ng_error_set(err, where, line, "expected key=value, got '%.60s'", pair);
        return false;
    }
    *eq = '\0';
    value = eq + 1;
    n = strlen(value);
    if (n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0]) {
        value[n - 1] = '\0';
        value++;
    }
    return set_key(cfg, pair, value, where, line, err);
}

bool
ng_config_parse_params(ng_config *cfg, const char *params, ng_error *err)
{
    const char *p = params;
    char *pair;
    bool ok = true;

    while (ok && *p) {
        while (*p == ' ' || *p == '\t' || *p == ';' || *p == '\n')
            p++;
        if (!*p)
            break;
        const char *start = p;
        char quote = 0;
        while (*p && (quote || (*p != ' ' && *p != '\t' && *p != ';' && *p != '\n'))) {
            if (*p == '"' || *p == '\'')
                quote = quote == *p ? 0 : (quote ? quote : *p);
            p++;
        }
        pair = strndup(start, (size_t)(p - start));
        if (!pair) {
            ng_error_set(err, "parameters", 0, "out of memory");
            return false;
        }
        ok = key_value(pair, "parameters", 0, cfg, err);
        free(pair);
    }
    if (ok) {
        free(cfg->source);
        cfg->source = strdup("module parameters");
    }
    return ok;
}

bool
ng_config_parse_file(ng_config *cfg, const char *path, bool *found, ng_error *err)
{
    /* O_NONBLOCK: a FIFO in place of the file must not block C_Initialize */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat sb;
    FILE *f = NULL;
    char line[4096];
    unsigned lineno = 0;
    bool ok = true;

    *found = fd >= 0;
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return true;
        ng_error_set(err, path, 0, "cannot open: %s", strerror(errno));
        return false;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || !(f = fdopen(fd, "r"))) {
        close(fd);
        ng_error_set(err, path, 0, "not a regular file");
        return false;
    }
    while (ok && fgets(line, sizeof(line), f)) {
        char *s = line, *e;
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            /* skipped like any bad line (a pasted certificate in a comment
             * must not cost the file its other lines) */
            int c;
            while ((c = getc(f)) != EOF && c != '\n')
                ;
            ng_error_set(err, path, lineno, "line longer than 4095 bytes");
            ok = ng_config_add_error(cfg, err->msg);
            continue;
        }
        while (*s == ' ' || *s == '\t')
            s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (*s == '\0' || *s == '#')
            continue;
        /* "key = value": drop the blanks around '=' */
        char *eq = strchr(s, '=');
        if (eq) {
            char *k = eq, *v = eq + 1;
            while (k > s && (k[-1] == ' ' || k[-1] == '\t'))
                k--;
            while (*v == ' ' || *v == '\t')
                v++;
            memmove(k + 1, v, strlen(v) + 1);
            *k = '=';
        }
        bool hash = strstr(s, " #") || strstr(s, "\t#");
        if (!key_value(s, path, lineno, cfg, err)) {
            /* skipped: the other lines still count (see the top) */
            char msg[sizeof(err->msg) + 64];
            snprintf(msg, sizeof(msg), "%s%s", err->msg,
                     hash ? " ('#' starts a comment only at the start of a line)" : "");
            ok = ng_config_add_error(cfg, msg);
        }
    }
    if (!ok)
        ng_error_set(err, path, lineno, "out of memory");
    fclose(f);
    free(cfg->source);
    cfg->source = strdup(path);
    return ok;
}

bool
ng_config_load(ng_config *cfg, const char *params, ng_error *err)
{
    const char *path = secure_getenv("NSSGUARD_CONFIG");
    bool found;

    ng_config_init_defaults(cfg);
    if (params && *params)
        return ng_config_parse_params(cfg, params, err);
    if (!path || !*path)
        path = DEFAULT_CONFIG;
    if (!ng_config_parse_file(cfg, path, &found, err)) {
        /* unreadable: the defaults serve (the default overlay at least) */
        ng_config_clear(cfg);
        ng_config_init_defaults(cfg);
        if (!ng_config_add_error(cfg, err->msg))
            return false;
        free(cfg->source);
        cfg->source = strdup(path);
    }
    return true;
}

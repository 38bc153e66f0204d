/*
 * nssguard watch: says when the overlay the module serves has changed, so
 * that a running Firefox can be told to drop the trust it cached.
 *
 * It reads the configuration the module reads without parameters
 * ($NSSGUARD_CONFIG, else the system nssguard.conf; or --config FILE),
 * and every --interval milliseconds stamps each configured overlay path
 * and the files it stands for (device, inode, size, mtime). The stamp's
 * FNV-1a hash is the "generation": a message goes out at start and again
 * whenever the hash changes and has held still for one more interval (so
 * a half-written file is not announced).
 *
 * Output: one JSON line per message, or with --native the framing of
 * Firefox's native messaging (a 32-bit native-endian length, then the
 * JSON). In --native mode the host lives as long as Firefox keeps its
 * standard input open; what Firefox sends back goes to standard error,
 * which Firefox copies to its own.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "operate.h"
#include "tool.h"

typedef struct {
    const char *config;
    unsigned interval_ms;
    bool native;
    bool once;
} watch_opts;

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t
stamp_one(uint64_t h, const char *path)
{
    struct stat st;
    int64_t v[5] = {0};
    h = fnv(h, path, strlen(path) + 1);
    if (stat(path, &st) == 0) {
        v[0] = (int64_t)st.st_dev;
        v[1] = (int64_t)st.st_ino;
        v[2] = (int64_t)st.st_size;
        v[3] = (int64_t)st.st_mtim.tv_sec;
        v[4] = (int64_t)st.st_mtim.tv_nsec;
    } else {
        v[0] = -errno;
    }
    return fnv(h, v, sizeof(v));
}

/* The generation of the configured overlays, and how many files they are. */
static uint64_t
stamp_overlays(const ng_config *cfg, size_t *n_files)
{
    uint64_t h = 14695981039346656037ULL;
    *n_files = 0;
    for (size_t i = 0; i < cfg->n_overlays; i++) {
        char **files = NULL;
        size_t n = 0;
        ng_error err = {0};
        h = stamp_one(h, cfg->overlays[i]);
        if (!ng_overlay_expand_path(cfg->overlays[i], &files, &n, &err))
            h = fnv(h, err.msg, strlen(err.msg));
        for (size_t j = 0; j < n; j++) {
            h = stamp_one(h, files[j]);
            free(files[j]);
        }
        free(files);
        *n_files += n;
    }
    return h;
}

static bool
send_message(const watch_opts *o, uint64_t gen, size_t n_files, const ng_config *cfg)
{
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, gen);
    json_object *m = json_object_new_object();
    json_object_object_add(m, "generation", json_object_new_string(hex));
    json_object_object_add(m, "files", json_object_new_int64((int64_t)n_files));
    json_object_object_add(m, "overlays", json_object_new_int64((int64_t)cfg->n_overlays));
    json_object_object_add(m, "time", json_object_new_int64((int64_t)time(NULL)));
    const char *s = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
    uint32_t len = (uint32_t)strlen(s);
    bool ok;
    if (o->native)
        ok = fwrite(&len, sizeof(len), 1, stdout) == 1 && fwrite(s, 1, len, stdout) == len;
    else
        ok = printf("%s\n", s) > 0;
    ok = fflush(stdout) == 0 && ok;
    json_object_put(m);
    return ok;
}

/* What Firefox sent so far: its messages are framed (a 4-byte length, then
 * the JSON) and a read may end anywhere in a frame. */
static char from_ff[65536];
static size_t from_ff_len;

/* Copies each complete message to stderr (Firefox passes a host's stderr to
 * its console), keeps a partial one for the next read. */
static void
show_messages(void)
{
    size_t i = 0;
    while (from_ff_len - i >= 4) {
        uint32_t len;
        memcpy(&len, from_ff + i, sizeof(len));
        if (len > sizeof(from_ff) - 4) {
            i = from_ff_len; /* not a frame we can hold: drop what we have */
            break;
        }
        if (from_ff_len - i - 4 < len)
            break;
        fprintf(stderr, "nssguard watch: from firefox: %.*s\n", (int)len, from_ff + i + 4);
        i += 4 + len;
    }
    memmove(from_ff, from_ff + i, from_ff_len - i);
    from_ff_len -= i;
}

/* Native mode: reads what Firefox sent; false once it closed our standard
 * input. Waits up to ms for it. */
static bool
firefox_still_there(unsigned ms)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    int r = poll(&p, 1, (int)ms);
    if (r <= 0)
        return r == 0 || errno == EINTR;
    ssize_t n = read(0, from_ff + from_ff_len, sizeof(from_ff) - from_ff_len);
    if (n <= 0)
        return false;
    from_ff_len += (size_t)n;
    show_messages();
    return true;
}

static bool
load_config(const watch_opts *o, ng_config *cfg)
{
    ng_error err = {0};
    bool found = false;
    if (o->config == NULL) {
        if (ng_config_load(cfg, NULL, &err))
            return true;
    } else {
        ng_config_init_defaults(cfg);
        if (ng_config_parse_file(cfg, o->config, &found, &err) && found)
            return true;
        if (err.msg[0] == '\0')
            snprintf(err.msg, sizeof(err.msg), "%s: no such file", o->config);
    }
    tool_error("watch: %s", err.msg);
    return false;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A change is announced once the files held still for one interval, and
 * no sooner than the module's reload interval (reload=) after it was first
 * seen: by then every query the module answers looks at the new files. */
static int
watch_loop(const watch_opts *o, const ng_config *cfg)
{
    size_t n_files = 0;
    uint64_t sent = stamp_overlays(cfg, &n_files);
    if (!send_message(o, sent, n_files, cfg))
        return TOOL_EXIT_ERROR;
    uint64_t last = sent, seen_at = 0;
    while (!o->once) {
        if (o->native) {
            if (!firefox_still_there(o->interval_ms))
                return TOOL_EXIT_OK;
        } else {
            struct timespec ts = {o->interval_ms / 1000, (long)(o->interval_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        uint64_t now = stamp_overlays(cfg, &n_files);
        if (now != last)
            seen_at = now_ms();
        if (now == last && now != sent && now_ms() - seen_at >= cfg->reload_ms + 100) {
            if (!send_message(o, now, n_files, cfg))
                return TOOL_EXIT_ERROR;
            sent = now;
        }
        last = now;
    }
    return TOOL_EXIT_OK;
}

static void
watch_usage(FILE *fp)
{
    fputs("usage: nssguard watch [--native] [--interval MS] [--once] [--config FILE]\n"
          "\n"
          "Prints {\"generation\": ...} when the overlay files the module reads change\n"
          "(nssguard.conf's overlay= paths), once at start and after each change.\n"
          "\n"
          "  --native         Firefox native-messaging framing; exits when Firefox\n"
          "                   closes standard input (the nssguard extension's host)\n"
          "  --interval MS    how often to look (default 1000)\n"
          "  --once           print the current generation and exit\n"
          "  --config FILE    this nssguard.conf instead of the module's own choice\n",
          fp);
}

enum { OPT_NATIVE = 0x2000, OPT_INTERVAL, OPT_ONCE, OPT_CONFIG };

static const struct option watch_options[] = {
    {"native", no_argument, NULL, OPT_NATIVE},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"once", no_argument, NULL, OPT_ONCE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {NULL, 0, NULL, 0},
};

static int
watch_option(void *ctx, int opt, char *arg)
{
    watch_opts *o = ctx;
    char *end;
    unsigned long v;
    switch (opt) {
    case OPT_NATIVE:
        o->native = true;
        return -1;
    case OPT_ONCE:
        o->once = true;
        return -1;
    case OPT_INTERVAL:
        v = strtoul(arg, &end, 10);
        if (*end != '\0' || v < 50 || v > 3600000) {
            watch_usage(stderr);
            return TOOL_EXIT_ERROR;
        }
        o->interval_ms = (unsigned)v;
        return -1;
    case OPT_CONFIG:
        o->config = arg;
        return -1;
    default:
        return TOOL_EXIT_ERROR;
    }
}

/* Firefox runs the host with its manifest's path and the extension's id:
 * in --native mode those operands are taken and ignored; none otherwise. */
static bool
operands_ok(const watch_opts *o, int argc, char **argv)
{
    for (int i = optind; i < argc; i++) {
        if (!o->native || (argv[i][0] != '/' && strchr(argv[i], '@') == NULL))
            return false;
    }
    return true;
}

int
tool_cmd_watch(int argc, char **argv)
{
    watch_opts o = {.interval_ms = 1000};
    tool_common common = {.name = "watch",
                          .usage = watch_usage,
                          .options = watch_options,
                          .option = watch_option,
                          .ctx = &o};
    int rc;

    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    if (!operands_ok(&o, argc, argv)) {
        watch_usage(stderr);
        goto out;
    }
    ng_config cfg = {0};
    if (load_config(&o, &cfg))
        rc = watch_loop(&o, &cfg);
    ng_config_clear(&cfg);
out:
    tool_common_clear(&common);
    return rc;
}

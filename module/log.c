/*
 * log.c: security events. Every event the module (and the tool) raises is a
 * row of `events` below: its name, its syslog priority, its fields, and
 * whether identical repeats are rate-limited. One event is one line per sink:
 *   file:PATH  JSON object per line, appended with one write() (O_APPEND),
 *              so several processes can share the file;
 *   syslog     sent straight to /dev/log as "nssguard[pid]: key=value ...",
 *              facility authpriv, without openlog(): the module must not
 *              change its host process's syslog identity;
 *   stderr     "nssguard: key=value ..." for people running NSS tools.
 *
 * Fail loudly: the log file must be a regular file, opened without following
 * a symbolic link and without blocking (a FIFO would hang the host). An event
 * that no configured sink takes goes to a fallback (syslog, else stderr), and
 * the next event a configured sink takes counts it in "lost". The `load` and
 * `reload` events name the sinks that work and the fallback in use.
 *
 * Rate limiting lives here too: ng_log_admit decides for a per-entry counter
 * (distrust events, one counter per entry per generation), and repeats of a
 * rate-limited event with the same text fields inside the window are counted
 * and reported as "suppressed" by the next one that gets through.
 *
 * Debug tracing (trace.c) and user messages are not events.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define LINE_MAX_BYTES 8192
#define VALUE_MAX_BYTES 512 /* per value; at most 12 keys keep a line whole */
#define MAX_KEYS 16
#define REPEAT_SLOTS NG_LOG_REPEATS

/* The events. `fields`: the keys each carries, in order; '#' after a key
 * makes it a JSON number. log.c adds "suppressed" and "lost" (numbers) when
 * they are not 0, and the sink fields to load, reload and load_failed. */
static const struct {
    const char *name;
    int priority;
    bool repeats_limited; /* identical repeats inside the window are counted */
    bool names_sinks;     /* carries "log" (and "fallback") */
    const char *fields;
} events[NG_EV_COUNT] = {
    [NG_EV_LOAD] = {"load", LOG_INFO, false, true,
                    "entries# files# refused# skipped# keys# generation# compiled config"},
    [NG_EV_RELOAD] = {"reload", LOG_INFO, false, true,
                      "entries# files# refused# skipped# keys# generation# compiled config"},
    [NG_EV_LOAD_FAILED] = {"load_failed", LOG_ERR, true, true,
                           "entries# files# refused# skipped# keys# generation# compiled config"},
    [NG_EV_LOAD_ERROR] = {"load_error", LOG_ERR, true, false, "file error serving"},
    [NG_EV_STALE_COMPILED] = {"stale_compiled", LOG_WARNING, true, false, "file using"},
    [NG_EV_CONFIG_ERROR] = {"config_error", LOG_ERR, true, false, "error"},
    [NG_EV_OVERLAY_EMPTY] = {"overlay_empty", LOG_WARNING, true, false, "path"},
    [NG_EV_TEXT_TOO_LARGE] = {"text_too_large", LOG_ERR, true, false, "file size# limit#"},
    [NG_EV_DISTRUST] = {"distrust", LOG_WARNING, false, false,
                        "label reason reference issuer serial sha1 class source suppressed#"},
    [NG_EV_VERIFY] = {"verify", LOG_INFO, false, false,
                      "host usage verdict error subject label reason reference"},
};

/* The sinks, the fallback, lost events and the repeats remembered are
 * ng.log (internal.h): the fork handler (module.c) remakes repeats_lock in
 * a child. */

const char *
ng_event_name(ng_event ev)
{
    return (unsigned)ev < NG_EV_COUNT ? events[ev].name : "unknown";
}

int
ng_event_priority(ng_event ev)
{
    return (unsigned)ev < NG_EV_COUNT ? events[ev].priority : LOG_ERR;
}

/* ---- the sinks ---- */

int
ng_log_open_file(const char *path, const char **why)
{
    /* O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) instead of
     * blocking C_Initialize; with a reader, fstat refuses it */
    int fd = open(
        path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0640);
    struct stat sb;

    if (fd < 0) {
        *why = errno == ELOOP   ? "a symbolic link"
               : errno == ENXIO ? "not a regular file"
                                : strerror(errno);
        return -1;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        *why = "not a regular file";
        return -1;
    }
    return fd;
}

bool
ng_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        buf += w;
        len -= (size_t)w;
    }
    return true;
}

static bool
send_file(const char *line, size_t len)
{
    const char *why;
    int fd = ng_log_open_file(ng.log.path, &why);
    bool ok;

    if (fd < 0)
        return false;
    ok = ng_write_all(fd, line, len);
    close(fd);
    return ok;
}

/* The host's stderr is not ours to block on (a pipe nobody drains, under
 * a session lock on a query thread): a line of at most PIPE_BUF bytes, which
 * a pipe that polls writable takes whole, written only when it polls
 * writable now; else the event counts as lost. */
static bool
send_stderr(const char *text)
{
    char line[PIPE_BUF];
    int n = snprintf(line, sizeof(line), "nssguard: %s\n", text);
    struct pollfd p = {.fd = STDERR_FILENO, .events = POLLOUT};

    if (n <= 0 || poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
        return false;
    if ((size_t)n >= sizeof(line)) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    return ng_write_all(STDERR_FILENO, line, (size_t)n);
}

/* MSG_DONTWAIT: a syslog daemon that stopped reading must not block the
 * host; such an event counts as lost. */
static bool
send_syslog(int priority, const char *msg)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
    char packet[LINE_MAX_BYTES + 64], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int fd, n;
    ssize_t sent;

    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
    n = snprintf(packet, sizeof(packet), "<%d>%s nssguard[%ld]: %s", LOG_AUTHPRIV | priority, stamp,
                 (long)getpid(), msg);
    if (n < 0)
        return false;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sent = sendto(fd, packet, (size_t)n < sizeof(packet) ? (size_t)n : sizeof(packet) - 1,
                  MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&addr, sizeof(addr));
    close(fd);
    return sent > 0;
}

static bool
syslog_reachable(void)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd < 0)
        return false;
    ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

static const char *
sinks_text(unsigned sinks, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s%s", sinks & NG_LOG_FILE ? "file," : "",
             sinks & NG_LOG_SYSLOG ? "syslog," : "", sinks & NG_LOG_STDERR ? "stderr," : "",
             sinks ? "" : "none");
    if (sinks)
        buf[strlen(buf) - 1] = '\0';
    return buf;
}

void
ng_log_configure(const ng_config *cfg)
{
    const char *why = NULL;
    char error[1200];

    pthread_mutex_lock(&ng.log.repeats_lock);
    memset(ng.log.repeats, 0, sizeof(ng.log.repeats));
    pthread_mutex_unlock(&ng.log.repeats_lock);
    __atomic_store_n(&ng.log.lost, 0, __ATOMIC_RELAXED);
    ng.log.sinks = cfg->log_sinks;
    ng.log.ratelimit = cfg->ratelimit;
    ng.log.path[0] = '\0';
    ng.log.working = ng.log.sinks & NG_LOG_STDERR;
    if (ng.log.sinks & NG_LOG_FILE) {
        size_t n = cfg->log_file ? strlen(cfg->log_file) : 0;
        if (n == 0 || n >= sizeof(ng.log.path)) {
            why = "no path, or one over 1023 bytes";
        } else {
            int fd;
            memcpy(ng.log.path, cfg->log_file, n + 1);
            fd = ng_log_open_file(ng.log.path, &why);
            if (fd >= 0) {
                close(fd);
                ng.log.working |= NG_LOG_FILE;
            }
        }
    }
    if ((ng.log.sinks & NG_LOG_SYSLOG) && syslog_reachable())
        ng.log.working |= NG_LOG_SYSLOG;
    ng.log.fallback =
        !(ng.log.sinks & NG_LOG_SYSLOG) && syslog_reachable() ? NG_LOG_SYSLOG : NG_LOG_STDERR;
    if (why) {
        snprintf(error, sizeof(error), "log file %.1023s refused: %s",
                 cfg->log_file ? cfg->log_file : "", why);
        ng_log_event(NG_EV_CONFIG_ERROR, "error", error, NULL);
    }
}

bool
ng_log_enabled(void)
{
    return ng.log.sinks != 0;
}

void
ng_log_close(void)
{
    ng.log.sinks = 0;
}

/* ---- rate limiting ---- */

static uint64_t
monotonic_seconds(void)
{
    return ng_clock_ns() / 1000000000u + 1; /* never 0: 0 means "never logged" */
}

bool
ng_log_admit(ng_rate *rate, unsigned window, uint32_t *suppressed)
{
    uint64_t now = monotonic_seconds();
    uint64_t last = __atomic_load_n(&rate->last, __ATOMIC_ACQUIRE);

    if (last != 0 && now - last < window) {
        __atomic_add_fetch(&rate->suppressed, 1, __ATOMIC_RELAXED);
        return false;
    }
    if (!__atomic_compare_exchange_n(&rate->last, &last, now, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        __atomic_add_fetch(&rate->suppressed, 1, __ATOMIC_RELAXED); /* another thread logs */
        return false;
    }
    *suppressed = __atomic_exchange_n(&rate->suppressed, 0, __ATOMIC_ACQ_REL);
    return true;
}

/* FNV-1a over the event and its text fields: the repeat's identity.
 * Numbers (generations, counts) do not make an event a new one. */
static uint64_t
fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return (h ^ 0xff) * 0x100000001b3ULL;
}

/* ---- the line ---- */

typedef struct {
    char buf[LINE_MAX_BYTES];
    size_t used;
    bool full;
} line_buf;

static void
add(line_buf *b, const char *s, size_t n)
{
    if (b->used + n + 8 > sizeof(b->buf)) { /* room for "...\"}\n" and NUL */
        b->full = true;
        return;
    }
    memcpy(b->buf + b->used, s, n);
    b->used += n;
    b->buf[b->used] = '\0';
}

static void
adds(line_buf *b, const char *s)
{
    add(b, s, strlen(s));
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t
utf8_sequence(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return n;
}

/* A JSON string body: escapes quotes, backslashes and control bytes, and
 * writes each byte that is not part of well-formed UTF-8 as U+FFFD, so that
 * every line parses with a strict JSON parser. */
static void
add_json_string(line_buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    char esc[8];
    size_t start = b->used;

    while (*s && !b->full) {
        size_t n = utf8_sequence(s);
        if (b->used - start + (n ? n : 6) > VALUE_MAX_BYTES) {
            adds(b, "...");
            break;
        }
        if (n == 0) {
            adds(b, "\\ufffd");
            s++;
        } else if (*s == '"' || *s == '\\') {
            esc[0] = '\\', esc[1] = (char)*s;
            add(b, esc, 2);
            s++;
        } else if (*s < 0x20 || *s == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", *s);
            add(b, esc, 6);
            s++;
        } else {
            add(b, (const char *)s, n);
            s += n;
        }
    }
}

/* A key=value text value: quoted when it holds blanks or quotes. */
static void
add_text_value(line_buf *b, const char *s)
{
    bool quote = *s == '\0' || strpbrk(s, " \t\"=") != NULL;

    if (quote)
        adds(b, "\"");
    add_json_string(b, s); /* the same escaping keeps one event on one line */
    if (quote)
        adds(b, "\"");
}

/* Is key one of the event's fields marked '#', or a count log.c adds? */
static bool
is_numeric_key(ng_event ev, const char *key)
{
    const char *f = events[ev].fields;
    size_t n = strlen(key);

    if (strcmp(key, "suppressed") == 0 || strcmp(key, "lost") == 0)
        return true;
    while ((f = strstr(f, key)) != NULL) {
        if ((f == events[ev].fields || f[-1] == ' ') && f[n] == '#')
            return true;
        f += n;
    }
    return false;
}

static void
add_field(line_buf *json, line_buf *text, ng_event ev, const char *key, const char *value)
{
    adds(json, ",\"");
    adds(json, key);
    adds(json, "\":");
    if (is_numeric_key(ev, key) && *value && strspn(value, "0123456789") == strlen(value)) {
        adds(json, value);
    } else {
        adds(json, "\"");
        add_json_string(json, value);
        adds(json, "\"");
    }
    adds(text, " ");
    adds(text, key);
    adds(text, "=");
    add_text_value(text, value);
}

/* For a rate-limited event: false when it repeats one inside the window
 * (it is counted); else true, with the count of the repeats it ends. */
static bool
admit_repeat(ng_event ev, uint64_t id, uint32_t *suppressed)
{
    ng_log_repeat *slot = NULL, *oldest = &ng.log.repeats[0];
    bool pass;

    pthread_mutex_lock(&ng.log.repeats_lock);
    for (size_t i = 0; i < REPEAT_SLOTS && !slot; i++) {
        if (ng.log.repeats[i].id == id)
            slot = &ng.log.repeats[i];
        else if (ng.log.repeats[i].rate.last < oldest->rate.last)
            oldest = &ng.log.repeats[i];
    }
    if (!slot) {
        slot = oldest;
        memset(slot, 0, sizeof(*slot));
        slot->id = id;
    }
    pass = ng_log_admit(&slot->rate, ng.log.ratelimit, suppressed);
    pthread_mutex_unlock(&ng.log.repeats_lock);
    (void)ev;
    return pass;
}

static bool
deliver(unsigned sinks, ng_event ev, const line_buf *json, const line_buf *text)
{
    bool took = false;

    if ((sinks & NG_LOG_FILE) && ng.log.path[0])
        took |= send_file(json->buf, json->used);
    if (sinks & NG_LOG_STDERR)
        took |= send_stderr(text->buf);
    if (sinks & NG_LOG_SYSLOG)
        took |= send_syslog(events[ev].priority, text->buf);
    return took;
}

void
ng_log_event(ng_event ev, ...)
{
    line_buf json = {.used = 0}, text = {.used = 0};
    const char *keys[MAX_KEYS], *values[MAX_KEYS];
    char stamp[32], pid[24], count[16], lost_text[16], sinks[32];
    size_t n_keys = 0;
    uint32_t suppressed = 0, lost;
    uint64_t id;
    time_t now = time(NULL);
    struct tm tm;
    va_list ap;

    if (!ng.log.sinks || (unsigned)ev >= NG_EV_COUNT)
        return;
    id = fnv(0xcbf29ce484222325ULL, events[ev].name);
    va_start(ap, ev);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        if (n_keys == MAX_KEYS)
            continue;
        keys[n_keys] = key;
        values[n_keys] = value ? value : "";
        if (!is_numeric_key(ev, key))
            id = fnv(fnv(id, key), values[n_keys]);
        n_keys++;
    }
    va_end(ap);
    if (events[ev].repeats_limited && ng.log.ratelimit && !admit_repeat(ev, id, &suppressed))
        return;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    adds(&json, "{\"time\":\"");
    adds(&json, stamp);
    adds(&json, "\",\"event\":\"");
    adds(&json, events[ev].name);
    adds(&json, "\",\"pid\":");
    adds(&json, pid);
    adds(&json, ",\"process\":\"");
    add_json_string(&json, program_invocation_short_name);
    adds(&json, "\"");
    adds(&text, "event=");
    adds(&text, events[ev].name);
    adds(&text, " process=");
    add_text_value(&text, program_invocation_short_name);

    for (size_t i = 0; i < n_keys; i++)
        add_field(&json, &text, ev, keys[i], values[i]);
    if (suppressed) {
        snprintf(count, sizeof(count), "%u", suppressed);
        add_field(&json, &text, ev, "suppressed", count);
    }
    if (events[ev].names_sinks) {
        add_field(&json, &text, ev, "log", sinks_text(ng.log.working, sinks, sizeof(sinks)));
        if (!ng.log.working) /* no configured sink takes events: say where they go */
            add_field(&json, &text, ev, "fallback",
                      sinks_text(ng.log.fallback, sinks, sizeof(sinks)));
    }
    lost = __atomic_load_n(&ng.log.lost, __ATOMIC_RELAXED);
    if (lost) {
        snprintf(lost_text, sizeof(lost_text), "%u", lost);
        add_field(&json, &text, ev, "lost", lost_text);
    }
    adds(&json, "}\n");

    ng_trace_event(events[ev].name, text.buf);
    if (deliver(ng.log.sinks, ev, &json, &text)) {
        __atomic_sub_fetch(&ng.log.lost, lost, __ATOMIC_RELAXED);
    } else {
        __atomic_add_fetch(&ng.log.lost, 1, __ATOMIC_RELAXED);
        if (!deliver(ng.log.fallback, ev, &json, &text) && ng.log.fallback != NG_LOG_STDERR)
            deliver(NG_LOG_STDERR, ev, &json, &text);
    }
}

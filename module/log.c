/*
 * log.c: security events. One event is one line per sink:
 *   file:PATH  JSON object per line, appended with one write() (O_APPEND),
 *              so several processes can share the file;
 *   syslog     sent straight to /dev/log as "nssguard[pid]: key=value ...",
 *              facility authpriv, without openlog(): the module must not
 *              change its host process's syslog identity;
 *   stderr     "nssguard: key=value ..." for people running NSS tools.
 * Debug tracing and user messages are not events and do not come here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define LINE_MAX_BYTES 8192
#define VALUE_MAX_BYTES 512 /* per value; at most 12 keys keep a line whole */

static unsigned sinks = NG_LOG_SYSLOG;
static char log_path[1024];

static const char *const numeric_keys[] = {"suppressed", "entries", "files",
                                           "refused",    "skipped", "generation"};

void
ng_log_configure(const ng_config *cfg)
{
    sinks = cfg->log_sinks;
    log_path[0] = '\0';
    if ((sinks & NG_LOG_FILE) && cfg->log_file)
        snprintf(log_path, sizeof(log_path), "%s", cfg->log_file);
}

bool
ng_log_enabled(void)
{
    return sinks != 0;
}

void
ng_log_close(void)
{
    sinks = 0;
}

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

/* A JSON string body: escapes quotes, backslashes and control bytes. */
static void
add_json_string(line_buf *b, const char *s)
{
    char esc[8];
    size_t start = b->used;

    for (; *s && !b->full; s++) {
        if (b->used - start >= VALUE_MAX_BYTES) {
            adds(b, "...");
            break;
        }
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            add(b, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            add(b, esc, 6);
        } else {
            add(b, (const char *)&c, 1);
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

static bool
is_numeric_key(const char *key)
{
    for (size_t i = 0; i < NG_N_ELEMENTS(numeric_keys); i++) {
        if (strcmp(key, numeric_keys[i]) == 0)
            return true;
    }
    return false;
}

static void
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

static void
send_syslog(int priority, const char *msg)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
    char packet[LINE_MAX_BYTES + 64], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int fd, n;

    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
    n = snprintf(packet, sizeof(packet), "<%d>%s nssguard[%ld]: %s", LOG_AUTHPRIV | priority, stamp,
                 (long)getpid(), msg);
    if (n < 0)
        return;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    sendto(fd, packet, (size_t)n < sizeof(packet) ? (size_t)n : sizeof(packet) - 1, MSG_NOSIGNAL,
           (struct sockaddr *)&addr, sizeof(addr));
    close(fd);
}

static int
priority_of(const char *event)
{
    if (strcmp(event, "distrust") == 0)
        return LOG_WARNING;
    if (strstr(event, "error") || strstr(event, "fail"))
        return LOG_ERR;
    return LOG_INFO;
}

void
ng_log_event(const char *event, ...)
{
    line_buf json = {.used = 0}, text = {.used = 0};
    char stamp[32], pid[24];
    time_t now = time(NULL);
    struct tm tm;
    va_list ap;

    if (!sinks)
        return;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());

    adds(&json, "{\"time\":\"");
    adds(&json, stamp);
    adds(&json, "\",\"event\":\"");
    add_json_string(&json, event);
    adds(&json, "\",\"pid\":");
    adds(&json, pid);
    adds(&json, ",\"process\":\"");
    add_json_string(&json, program_invocation_short_name);
    adds(&json, "\"");

    adds(&text, "event=");
    add_text_value(&text, event);
    adds(&text, " process=");
    add_text_value(&text, program_invocation_short_name);

    va_start(ap, event);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        if (!value)
            value = "";
        adds(&json, ",\"");
        adds(&json, key);
        adds(&json, "\":");
        if (is_numeric_key(key)) {
            adds(&json, value);
        } else {
            adds(&json, "\"");
            add_json_string(&json, value);
            adds(&json, "\"");
        }
        adds(&text, " ");
        adds(&text, key);
        adds(&text, "=");
        add_text_value(&text, value);
    }
    va_end(ap);
    adds(&json, "}\n");

    if ((sinks & NG_LOG_FILE) && log_path[0]) {
        int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd >= 0) {
            write_all(fd, json.buf, json.used);
            close(fd);
        }
    }
    if (sinks & NG_LOG_STDERR) {
        char line[LINE_MAX_BYTES + 16];
        int n = snprintf(line, sizeof(line), "nssguard: %s\n", text.buf);
        if (n > 0)
            write_all(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
    if (sinks & NG_LOG_SYSLOG)
        send_syslog(priority_of(event), text.buf);
}

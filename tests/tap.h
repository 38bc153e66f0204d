/*
 * tap.h: the few TAP helpers nssguard's C tests use. Each check prints
 * "ok N - what" or "not ok N - what" with the values that differed;
 * tap_done() prints the plan and returns the exit status. count_in_file()
 * counts the lines of an event log that contain a string; write_file()
 * writes a test's overlay or configuration file.
 */
#ifndef NSSGUARD_TAP_H
#define NSSGUARD_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count, tap_failures;

static inline int
tap_ok(int cond, const char *what)
{
    tap_count++;
    if (!cond)
        tap_failures++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, what);
    fflush(stdout);
    return cond;
}

static inline int
tap_is_str(const char *got, const char *want, const char *what)
{
    int same = got && want && strcmp(got, want) == 0;

    if (!tap_ok(same, what)) {
        printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(null)", want ? want : "(null)");
    }
    return same;
}

static inline int
tap_is_ulong(unsigned long got, unsigned long want, const char *what)
{
    if (!tap_ok(got == want, what)) {
        printf("#   got:  0x%lx\n#   want: 0x%lx\n", got, want);
        return 0;
    }
    return 1;
}

static inline void
tap_skip(const char *why)
{
    tap_count++;
    printf("ok %d # SKIP %s\n", tap_count, why);
}

/* Writes text to path (a test's overlay or config file). */
static inline void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* How many lines of a file (an event log) contain needle. */
static inline int
count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    int n = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static inline int
tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failures ? 1 : 0;
}

#endif

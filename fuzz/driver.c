/*
 * driver.c: runs a fuzz target without libFuzzer, once per corpus file, so
 * `make check` exercises every corpus (and every kept crasher) with any
 * compiler. Prints TAP, one line per file.
 *
 *   fuzz/run-overlay [FILE|DIR...]
 *
 * Without arguments it reads $top_srcdir/fuzz/corpus/FUZZ_TARGET_NAME (the
 * harness sets top_srcdir). All paths are made absolute and listed before
 * the first input runs, because a target may chdir() (fuzz-pkcs11 does).
 * Each file is read into a heap block of exactly its size.
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_TARGET_NAME
#error "build with -DFUZZ_TARGET_NAME=\"name\""
#endif

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static char **files;
static size_t n_files;

static void
add_file(const char *path)
{
    char **nf = realloc(files, (n_files + 1) * sizeof(*nf));

    if (!nf || !(nf[n_files] = strdup(path))) {
        perror("driver");
        exit(99);
    }
    files = nf;
    n_files++;
}

static int
compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
add_path(const char *path)
{
    char abs[PATH_MAX];
    struct stat st;

    if (!realpath(path, abs) || stat(abs, &st) != 0) {
        printf("Bail out! cannot read %s\n", path);
        exit(99);
    }
    if (!S_ISDIR(st.st_mode)) {
        add_file(abs);
        return;
    }
    DIR *d = opendir(abs);
    struct dirent *de;
    size_t first = n_files;
    if (!d) {
        printf("Bail out! cannot open %s\n", abs);
        exit(99);
    }
    while ((de = readdir(d))) {
        char p[PATH_MAX + 256];
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", abs, de->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            add_file(p);
    }
    closedir(d);
    qsort(files + first, n_files - first, sizeof(*files), compare);
}

static unsigned char *
read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc(n ? (size_t)n : 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return buf;
}

int
main(int argc, char **argv)
{
    int failed = 0;

    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            add_path(argv[i]);
    } else {
        const char *top = getenv("top_srcdir");
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s", top ? top : ".", FUZZ_TARGET_NAME);
        add_path(dir);
    }
    if (n_files == 0) {
        printf("1..0 # SKIP empty corpus\n");
        return 77;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (size_t i = 0; i < n_files; i++) {
        size_t size = 0;
        unsigned char *data = read_file(files[i], &size);
        const char *name = strrchr(files[i], '/');
        if (!data) {
            printf("not ok %zu - %s: cannot read\n", i + 1, files[i]);
            failed++;
            continue;
        }
        /* A crash ends the program: the harness reports it as a failure. */
        LLVMFuzzerTestOneInput(data, size);
        printf("ok %zu - %s %s (%zu bytes)\n", i + 1, FUZZ_TARGET_NAME, name ? name + 1 : files[i],
               size);
        fflush(stdout);
        free(data);
        free(files[i]);
    }
    free(files);
    printf("1..%zu\n", n_files);
    return failed ? 1 : 0;
}

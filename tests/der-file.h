/*
 * der-file.h: reads a file tests/pki.sh made (a DER certificate) whole into a
 * SECItem, for the C programs that drive NSS: the tests and bench's verify.
 * Header only, so that bench links neither the module nor a test library;
 * each program says in its own way what went wrong.
 */
#ifndef NSSGUARD_TESTS_DER_FILE_H
#define NSSGUARD_TESTS_DER_FILE_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seccomon.h>

typedef struct {
    char path[4096]; /* DIR/NAME, for the caller's message */
    SECItem item;    /* the contents (malloc'ed) */
    const char *why; /* on failure: strerror of the open, "cannot size", "cannot read" */
} der_file;

static inline bool
der_file_read(der_file *f, const char *dir, const char *name)
{
    FILE *fp;
    long len;

    f->item = (SECItem){siBuffer, NULL, 0};
    snprintf(f->path, sizeof(f->path), "%s/%s", dir, name);
    fp = fopen(f->path, "rb");
    if (!fp) {
        f->why = strerror(errno);
        return false;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) <= 0 || fseek(fp, 0, SEEK_SET) != 0) {
        f->why = "cannot size";
        fclose(fp);
        return false;
    }
    f->item.data = malloc((size_t)len);
    if (!f->item.data || fread(f->item.data, 1, (size_t)len, fp) != (size_t)len) {
        f->why = "cannot read";
        free(f->item.data);
        f->item.data = NULL;
        fclose(fp);
        return false;
    }
    f->item.len = (unsigned)len;
    fclose(fp);
    f->why = NULL;
    return true;
}

#endif

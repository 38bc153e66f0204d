/*
 * overlay.c: the configured paths -> one immutable overlay that sessions
 * share by reference. Each file is a unit: a file with any error is refused
 * whole (a load_error event names file:line) and the other files still load,
 * so one typo in an admin's drop-in cannot switch off the shipped distrust.
 * Directories load their *.txt files in name order; dot files are skipped.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

static void
refuse(ng_overlay *ov, const char *path, const char *error)
{
    ov->n_refused++;
    ng_log_event("load_error", "file", path, "error", error, NULL);
}

static void
load_file(ng_overlay *ov, const char *path)
{
    ng_records recs;
    ng_error err;
    ng_records *nf;
    size_t before = ov->ents.n_entries;

    if (!ng_parse_file(path, &recs, &err)) {
        refuse(ov, path, err.msg);
        return;
    }
    if (!ng_build_entries(&recs, &ov->ents, &err)) {
        ng_records_clear(&recs);
        refuse(ov, path, err.msg);
        return;
    }
    nf = realloc(ov->files, (ov->n_files + 1) * sizeof(*nf));
    if (!nf) { /* the entries point into recs: they must go with it */
        ov->ents.n_entries = before;
        ng_records_clear(&recs);
        refuse(ov, path, "out of memory");
        return;
    }
    ov->files = nf;
    ov->files[ov->n_files++] = recs;
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
wanted(const char *name)
{
    size_t n = strlen(name);

    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".txt") == 0;
}

static void
load_dir(ng_overlay *ov, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;

    if (!d) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s: cannot open directory: %s", dir, strerror(errno));
        refuse(ov, dir, msg);
        return;
    }
    while ((de = readdir(d))) {
        if (!wanted(de->d_name))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof(*nn));
        if (!nn)
            break;
        names = nn;
        if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0)
            break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), compare_names);
    for (size_t i = 0; i < n; i++) {
        load_file(ov, names[i]);
        free(names[i]);
    }
    free(names);
}

ng_overlay *
ng_overlay_load(const ng_config *cfg)
{
    ng_overlay *ov = calloc(1, sizeof(*ov));
    struct stat st;
    char count[4][24];

    if (!ov)
        return NULL;
    ov->refs = 1;
    ov->ratelimit = cfg->ratelimit;
    for (size_t i = 0; i < cfg->n_overlays; i++) {
        const char *path = cfg->overlays[i];
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            load_dir(ov, path);
        else
            load_file(ov, path);
    }
    if (!ng_index_build(&ov->index, ov->ents.entries, ov->ents.n_entries))
        goto oom;
    ov->rates = calloc(ov->ents.n_entries ? ov->ents.n_entries : 1, sizeof(*ov->rates));
    if (!ov->rates)
        goto oom;
    snprintf(count[0], sizeof(count[0]), "%zu", ov->ents.n_entries);
    snprintf(count[1], sizeof(count[1]), "%zu", ov->n_files);
    snprintf(count[2], sizeof(count[2]), "%zu", ov->n_refused);
    snprintf(count[3], sizeof(count[3]), "%zu", ov->ents.skipped);
    ng_log_event("load", "entries", count[0], "files", count[1], "refused", count[2], "skipped",
                 count[3], "config", cfg->source, NULL);
    return ov;
oom:
    ng_overlay_unref(ov);
    return NULL;
}

ng_overlay *
ng_overlay_ref(ng_overlay *ov)
{
    __atomic_add_fetch(&ov->refs, 1, __ATOMIC_RELAXED);
    return ov;
}

void
ng_overlay_unref(ng_overlay *ov)
{
    if (!ov || __atomic_sub_fetch(&ov->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (size_t i = 0; i < ov->n_files; i++)
        ng_records_clear(&ov->files[i]);
    free(ov->files);
    ng_entries_clear(&ov->ents);
    ng_index_clear(&ov->index);
    free(ov->rates);
    free(ov);
}

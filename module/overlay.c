/*
 * overlay.c: the configured paths -> generations of immutable overlays,
 * swapped atomically when the files change.
 *
 * A generation is a list of sources, one per overlay file ("unit": X.txt,
 * or its compiled X.ngo when that is current). Readers never lock: a
 * session pins the generation it reads with an epoch (session.c), and a
 * replaced generation is freed only when no session can still hold it.
 *
 * Reload: at most once per `reload` interval a query's thread looks at the
 * files (stat and directory listing, no reading). When something changed it
 * starts building the next generation, reusing the sources whose files did
 * not change, and publishes it once it is whole; other threads keep
 * answering from the old one and never wait (the check is a try-lock). A
 * unit that fails to load keeps its previous version in service; either way
 * a load_error event says why. How the work is spread over queries: see
 * "building the next generation" below.
 *
 * Fail closed (issue 12): a unit whose files vanish or turn unreadable (a
 * folder moved away and copied back, rm -rf + cp -r, a file deleted), or
 * whose text is empty (a copy just begun), keeps its last good version
 * until its files are back, or until C_Initialize; a file that no longer
 * holds an entry withdraws it at the next reload. A text over text_max is
 * not parsed here (text_too_large): compile it. A configured path that
 * gives no entry is an overlay_empty event; a start that serves nothing
 * is load_failed. A forked child never reloads (module.c).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

typedef struct ng_file_stamp {
    char *path;
    bool exists;
    dev_t dev;
    ino_t ino;
    uint64_t size;
    int64_t mtime_ns;
    int64_t ctime_ns; /* any rewrite moves it, even one that restores mtime */
    bool has_sha1;    /* a text's SHA-1, once take_compiled needed it */
    unsigned char sha1[NG_SHA1_LEN];
} file_stamp;

struct ng_source {
    int refs;   /* generations holding it; changed under reload_lock only */
    char *unit; /* the path without .txt / .ngo */
    file_stamp txt, ngo;
    ng_image *image;
    bool compiled;
};

/* The state (reload_lock, the current and retired generations, the reload
 * under way, the images being unmapped) is in `ng` (internal.h), with the
 * rest of the module's: one fork handler sees all of it (module.c). */

/* ---- looking at the files ---- */

/* st's identity from sb (st->path set by the caller); a file that is not
 * a regular one does not exist here. */
static void
stamp_stat(file_stamp *st, int r, const struct stat *sb)
{
    if (r == 0 && S_ISREG(sb->st_mode)) {
        st->exists = true;
        st->dev = sb->st_dev;
        st->ino = sb->st_ino;
        st->size = (uint64_t)sb->st_size;
        st->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
        st->ctime_ns = (int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec;
    }
}

static void
stamp_file(file_stamp *st, const char *path)
{
    struct stat sb;

    memset(st, 0, sizeof(*st));
    st->path = strdup(path);
    stamp_stat(st, stat(path, &sb), &sb);
}

static bool
same_stamp(const file_stamp *a, const file_stamp *b)
{
    return a->exists == b->exists && strcmp(a->path, b->path) == 0 &&
           (!a->exists || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns));
}

/* Is the open fd still the file that st describes (same inode, size, mtime
 * and ctime)? */
static bool
fd_is_stamped(int fd, const file_stamp *st)
{
    struct stat sb;
    file_stamp now = {.path = st->path};

    stamp_stat(&now, fstat(fd, &sb), &sb);
    return st->exists && same_stamp(&now, st);
}

static bool
has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);

    return n > m && strcmp(name + n - m, suffix) == 0;
}

typedef ng_unit_paths unit_paths;
typedef ng_unit_list unit_list;

static void
add_unit(unit_list *ul, const char *path, size_t origin)
{
    bool suffixed = has_suffix(path, ".txt") || has_suffix(path, ".ngo");
    size_t n = strlen(path) - (suffixed ? 4 : 0);
    unit_paths u = {strndup(path, n), strdup(path), NULL, NULL, origin};

    for (size_t i = 0; u.unit && i < ul->n_units; i++) {
        if (strcmp(ul->units[i].unit, u.unit) == 0)
            goto drop;
    }
    if (!u.unit || !u.given || asprintf(&u.ngo, "%s.ngo", u.unit) < 0)
        goto drop;
    /* overlay=/etc/x.conf names a text file whatever its name */
    u.txt = suffixed ? NULL : strdup(path);
    if (suffixed && asprintf(&u.txt, "%s.txt", u.unit) < 0)
        u.txt = NULL;
    unit_paths *nu = u.txt ? realloc(ul->units, (ul->n_units + 1) * sizeof(*nu)) : NULL;
    if (!nu)
        goto drop;
    ul->units = nu;
    ul->units[ul->n_units++] = u;
    return;
drop:
    free(u.unit);
    free(u.given);
    free(u.txt);
    free(u.ngo);
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool
ng_overlay_expand_path(const char *path, char ***files, size_t *n_files, ng_error *err)
{
    struct stat sb;
    DIR *d;
    struct dirent *de;
    char **names = NULL, **all;
    size_t n = 0;
    bool ok = true;

    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        names = malloc(sizeof(*names));
        if (!names || !(names[0] = strdup(path)))
            goto oom;
        n = 1;
        goto done;
    }
    d = opendir(path);
    if (!d) {
        ng_error_set(err, path, 0, "cannot open directory: %s", strerror(errno));
        return false;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' ||
            !(has_suffix(de->d_name, ".txt") || has_suffix(de->d_name, ".ngo")))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof(*nn));
        if (!nn || asprintf(&nn[n], "%s/%s", path, de->d_name) < 0) {
            names = nn ? nn : names;
            ok = false;
            break;
        }
        names = nn;
        n++;
    }
    closedir(d);
    if (!ok)
        goto oom;
    if (n) /* qsort and memcpy want real pointers, even for nothing */
        qsort(names, n, sizeof(*names), compare_names);
done:
    all = realloc(*files, (*n_files + n + 1) * sizeof(*all));
    if (!all)
        goto oom;
    if (n)
        memcpy(all + *n_files, names, n * sizeof(*names));
    *files = all;
    *n_files += n;
    free(names);
    return true;
oom:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    ng_error_set(err, path, 0, "out of memory");
    return false;
}

/* Does the generation in service serve a file from folder `path`? */
static bool
served_under(const char *path)
{
    const ng_overlay *ov = ng.current;
    size_t n = strlen(path);

    for (size_t i = 0; ov && i < ov->n_sources; i++) {
        if (strncmp(ov->sources[i]->unit, path, n) == 0 && ov->sources[i]->unit[n] == '/')
            return true;
    }
    return false;
}

/* The units of one configured path (see ng_overlay_expand_path). */
static void
list_units(unit_list *ul, const char *path, size_t origin)
{
    char **files = NULL;
    size_t n = 0;
    ng_error err;
    struct stat sb;

    /* a folder that vanished (moved away to be redeployed): its files keep
     * their last good versions (scan), each with its load_error */
    if (stat(path, &sb) != 0 && errno == ENOENT && served_under(path))
        return;
    if (!ng_overlay_expand_path(path, &files, &n, &err)) {
        if (!ul->dir_error) {
            ul->dir_error = strdup(err.msg);
            ul->dir_error_kept = served_under(path);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        add_unit(ul, files[i], origin);
        free(files[i]);
    }
    free(files);
}

static void
free_units(unit_list *ul)
{
    for (size_t i = 0; i < ul->n_units; i++) {
        free(ul->units[i].unit);
        free(ul->units[i].given);
        free(ul->units[i].txt);
        free(ul->units[i].ngo);
    }
    free(ul->units);
    free(ul->dir_error);
}

/* The configured path a unit came from (n_overlays: none of them now). */
static size_t
origin_of(const ng_config *cfg, const char *unit)
{
    for (size_t i = 0; i < cfg->n_overlays; i++) {
        const char *p = cfg->overlays[i];
        size_t n = strlen(p);
        if (strncmp(unit, p, n) == 0 && (unit[n] == '/' || unit[n] == '\0'))
            return i;
        if (has_suffix(p, ".txt") || has_suffix(p, ".ngo")) {
            if (strlen(unit) == n - 4 && strncmp(unit, p, n - 4) == 0)
                return i;
        }
    }
    return cfg->n_overlays;
}

/* What the configured paths look like now: each unit's .txt and .ngo. */
static file_stamp *
scan(const ng_config *cfg, size_t *n_out, unit_list *ul)
{
    file_stamp *st;

    memset(ul, 0, sizeof(*ul));
    for (size_t i = 0; i < cfg->n_overlays; i++)
        list_units(ul, cfg->overlays[i], i);
    /* A file served now that the paths no longer list (deleted, its folder
     * moved away or unreadable: a redeployment half done) stays a unit: its
     * last good version stays in service until it is back (see unit_step) */
    for (size_t i = 0; ng.current && i < ng.current->n_sources; i++) {
        const ng_source *src = ng.current->sources[i];
        add_unit(ul, src->txt.exists ? src->txt.path : src->ngo.path, origin_of(cfg, src->unit));
    }
    st = calloc(ul->n_units * 2 + 1, sizeof(*st));
    if (!st)
        return NULL;
    for (size_t i = 0; i < ul->n_units; i++) {
        stamp_file(&st[2 * i], ul->units[i].txt);
        stamp_file(&st[2 * i + 1], ul->units[i].ngo);
    }
    *n_out = ul->n_units * 2;
    return st;
}

static void
free_stamps(file_stamp *st, size_t n)
{
    for (size_t i = 0; st && i < n; i++)
        free(st[i].path);
    free(st);
}

/* ---- building the next generation, a slice at a time ----
 *
 * NSS lets no module start a thread (CKF_LIBRARY_CANT_CREATE_OS_THREADS),
 * so a reload runs on the threads that query. A query that finds one under
 * way works on it for about RELOAD_SLICE_NS, checking a large compiled file
 * a slice at a time, then answers from the current generation; the new one
 * is published whole when it is done. Replaced images are unmapped the same
 * way, a slice at a time. A reload that has waited RELOAD_PATIENCE_MS (a
 * process that queries rarely) is finished by the next query whatever it
 * costs, so a change is never seen much later than that. Small files (a
 * check of less than one slice) and text files are loaded in one go: a
 * large overlay reloads without stalling its queries only when compiled.
 */
#define RELOAD_SLICE_NS 250000
#define RELOAD_PATIENCE_MS 1000

static void
bury(ng_image *img)
{
    if (!img)
        return;
    if (ng.n_dying == ng.dying_cap) {
        size_t cap = ng.dying_cap ? 2 * ng.dying_cap : 8;
        ng_image **nd = realloc(ng.dying, cap * sizeof(*nd));
        if (!nd) {
            ng_image_free(img); /* at once, then */
            return;
        }
        ng.dying = nd;
        ng.dying_cap = cap;
    }
    ng.dying[ng.n_dying++] = img;
}

/* Frees buried images until deadline_ns passes. */
static void
release_buried(uint64_t deadline_ns)
{
    while (ng.n_dying && (deadline_ns == UINT64_MAX || ng_clock_ns() < deadline_ns)) {
        if (!ng_image_release(ng.dying[ng.n_dying - 1], deadline_ns))
            return;
        ng.n_dying--;
    }
    if (!ng.n_dying) {
        free(ng.dying);
        ng.dying = NULL;
        ng.dying_cap = 0;
    }
}

static void
source_unref(ng_source *src)
{
    if (!src || --src->refs > 0)
        return;
    bury(src->image);
    free(src->unit);
    free(src->txt.path);
    free(src->ngo.path);
    free(src);
}

static void
copy_stamp(file_stamp *dst, const file_stamp *src)
{
    *dst = *src;
    dst->path = strdup(src->path ? src->path : "");
}

/* The largest text overlay parsed in the host (text_max=). */
static size_t
text_max(void)
{
    const ng_config *cfg = ng.overlay_config;

    return cfg && cfg->text_max ? cfg->text_max : NG_TEXT_MAX_BYTES;
}

static ng_image *
load_text(const char *path, const file_stamp *st, size_t *skipped, ng_error *err)
{
    ng_records recs;
    ng_entries ents;
    ng_image *img = NULL;

    memset(&ents, 0, sizeof(ents));
    /* text_max again as the file is read: the scan saw its size, but it
     * may have been swapped since */
    if (!ng_parse_file_max(path, text_max(), &recs, err))
        return NULL;
    if (ng_build_entries(&recs, &ents, err)) {
        img = ng_image_build(&ents, st->size, st->mtime_ns, err);
        *skipped += ents.skipped;
    }
    ng_entries_clear(&ents);
    ng_records_clear(&recs);
    return img;
}

/* `serving`: what is served instead of the file that failed. */
static void
load_error(const char *file, const char *error, const char *serving)
{
    ng_log_event(NG_EV_LOAD_ERROR, "file", file, "error", error, "serving", serving, NULL);
}

/* The rate-limit counters: a mapping of zero pages, touched only by
 * events, so that a new generation costs no memset of a large array (from
 * the heap, calloc clears it: hundreds of microseconds at 100k entries). */
static size_t
rates_size(const ng_overlay *ov)
{
    return (ov->n_entries ? ov->n_entries : 1) * sizeof(*ov->rates);
}

static bool
rates_alloc(ng_overlay *ov)
{
    void *p =
        mmap(NULL, rates_size(ov), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    ov->rates = p == MAP_FAILED ? NULL : p;
    return ov->rates != NULL;
}

static void
overlay_free(ng_overlay *ov)
{
    if (!ov)
        return;
    for (size_t i = 0; i < ov->n_sources; i++)
        source_unref(ov->sources[i]);
    free(ov->sources);
    free(ov->images);
    free(ov->first);
    free_stamps(ov->scan, ov->n_scan);
    if (ov->rates)
        munmap(ov->rates, rates_size(ov));
    free(ov);
}

static const ng_source *
previous_source(const ng_overlay *prev, const char *unit)
{
    for (size_t i = 0; prev && i < prev->n_sources; i++) {
        if (strcmp(prev->sources[i]->unit, unit) == 0)
            return prev->sources[i];
    }
    return NULL;
}

static bool
add_source(ng_overlay *ov, ng_source *src)
{
    ng_source **ns = realloc(ov->sources, (ov->n_sources + 1) * sizeof(*ns));
    size_t *nf = realloc(ov->first, (ov->n_sources + 1) * sizeof(*nf));
    ng_image **ni = realloc(ov->images, (ov->n_sources + 1) * sizeof(*ni));

    if (ns)
        ov->sources = ns;
    if (nf)
        ov->first = nf;
    if (ni)
        ov->images = ni;
    if (!ns || !nf || !ni)
        return false;
    ov->first[ov->n_sources] = ov->n_entries;
    ov->images[ov->n_sources] = src->image;
    ov->sources[ov->n_sources++] = src;
    ov->n_entries += ng_image_count(src->image);
    ov->keys += ng_image_keys(src->image); /* text or compiled, and kept across reloads */
    return true;
}

static void
job_drop(void)
{
    bury(ng.job.checking);
    source_unref(ng.job.src);
    overlay_free(ng.job.ov);
    free_units(&ng.job.ul);
    free(ng.job.path_entries);
    memset(&ng.job, 0, sizeof(ng.job));
}

/* Starts building the generation that the scan describes; takes the scan
 * and the units. */
static bool
job_start(const ng_config *cfg, file_stamp *st, size_t n_st, unit_list *ul)
{
    ng_overlay *ov = calloc(1, sizeof(*ov));

    if (!ov) {
        free_stamps(st, n_st);
        free_units(ul);
        return false;
    }
    ov->id = ng.next_id;
    ng.next_id = ng.next_id >= NG_HANDLE_ID_MAX ? 1 : ng.next_id + 1;
    ov->scan = st;
    ov->n_scan = n_st;
    ov->ratelimit = cfg->ratelimit;
    ov->serve_constraints = cfg->serve_constraints;
    ov->mode = cfg->mode;
    if (ul->dir_error) {
        ov->n_refused++;
        load_error(ul->dir_error, ul->dir_error,
                   ul->dir_error_kept ? "previous version of its files" : "nothing");
    }
    memset(&ng.job, 0, sizeof(ng.job));
    ng.job.path_entries = calloc(cfg->n_overlays + 1, sizeof(*ng.job.path_entries));
    if (!ng.job.path_entries) {
        overlay_free(ov); /* and the scan it holds */
        free_units(ul);
        return false;
    }
    ng.job.ov = ov;
    ng.job.ul = *ul;
    ng.job.started_ms = ng_clock_coarse_ms();
    return true;
}

/* The unit is done: its new source goes into the generation, or, when it
 * has no image, the unit's last good version (if any) does. */
static bool
unit_done(const ng_source *old)
{
    ng_source *src = ng.job.src;
    size_t origin = ng.job.ul.units[ng.job.next].origin;

    ng.job.src = NULL;
    if (!src || !src->image) {
        source_unref(src);
        ng.job.ov->n_refused++;
        src = (ng_source *)old; /* keep the last good version */
        if (src)
            src->refs++;
    }
    if (src && !add_source(ng.job.ov, src)) {
        source_unref(src);
        return false;
    }
    if (src)
        ng.job.path_entries[origin] += ng_image_count(src->image);
    return true;
}

/* The text's SHA-1 into job.src->txt: the last generation's when the text
 * is the same file unchanged (dev, inode, size, mtime, ctime), else read
 * now; a poll never re-reads a text that did not change. */
static bool
text_sha1(const file_stamp *txt)
{
    const ng_source *old = previous_source(ng.current, ng.job.src->unit);
    file_stamp *mine = &ng.job.src->txt;

    if (old && old->txt.has_sha1 && same_stamp(&old->txt, txt)) {
        memcpy(mine->sha1, old->txt.sha1, NG_SHA1_LEN);
        return mine->has_sha1 = true;
    }
    /* Hashed through one fd that is the file the scan saw, before and after
     * (else not hashed: the text is parsed): the hash then stands for that
     * stamp, and a file swapped since the scan (for /dev/zero, say, which
     * would never end) is never read here. */
    int fd = open(txt->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    mine->has_sha1 =
        fd >= 0 && fd_is_stamped(fd, txt) && ng_sha1_fd(fd, mine->sha1) && fd_is_stamped(fd, txt);
    if (fd >= 0)
        close(fd);
    return mine->has_sha1;
}

/* Takes the checked compiled file when it is the one to serve: no text
 * beside it, or the text it was compiled from (same size, mtime and
 * SHA-1: size and mtime alone are easily kept across a swap). A text over
 * text_max is never parsed here (text_too_large), so the image is all that
 * can serve its unit: taken without hashing the text (gigabytes, at every
 * process start), and said to be stale when size or mtime moved. */
static bool
take_compiled(const file_stamp *txt)
{
    uint64_t size;
    int64_t mtime;
    const unsigned char *sha1 = ng_image_source_sha1(ng.job.checking);
    bool too_large = txt->exists && txt->size > text_max();

    ng_image_source(ng.job.checking, &size, &mtime);
    if (too_large && (size != txt->size || mtime != txt->mtime_ns))
        ng_log_event(NG_EV_STALE_COMPILED, "file", ng.job.src->ngo.path, "using",
                     ng.job.src->ngo.path, NULL);
    else if (!too_large && txt->exists &&
             (size != txt->size || mtime != txt->mtime_ns || !sha1 || !text_sha1(txt) ||
              memcmp(sha1, ng.job.src->txt.sha1, NG_SHA1_LEN) != 0)) {
        ng_log_event(NG_EV_STALE_COMPILED, "file", ng.job.src->ngo.path, "using", txt->path, NULL);
        return false;
    }
    ng.job.src->image = ng.job.checking;
    ng.job.src->compiled = true;
    ng.job.checking = NULL;
    return true;
}

/* Parses the unit's text file into ng.job.src->image, unless it is not to
 * be: then the unit's last good version (`old`, if any) stays in service. */
static void
unit_text(const unit_paths *u, const file_stamp *txt, const file_stamp *ngo, const ng_source *old)
{
    /* neither file: parse the name as given, for its error message */
    const char *path = txt->exists ? txt->path : u->given;
    const char *failed = old ? "previous version" : "nothing";
    size_t max = text_max();
    char size[24], limit[24];
    ng_error err;

    if (old && !txt->exists && !ngo->exists) {
        load_error(path,
                   "vanished or unreadable: its last good version stays in service until it is "
                   "back (to withdraw entries, replace the file by one without them)",
                   failed);
        return;
    }
    if (old && txt->exists && txt->size == 0) { /* a copy that has only begun */
        load_error(path,
                   "empty (still being written?): its last good version stays in service "
                   "(to withdraw every entry, leave a comment line in it)",
                   failed);
        return;
    }
    if (txt->exists && txt->size > max) {
        snprintf(size, sizeof(size), "%llu", (unsigned long long)txt->size);
        snprintf(limit, sizeof(limit), "%zu", max);
        ng_log_event(NG_EV_TEXT_TOO_LARGE, "file", path, "size", size, "limit", limit, "fix",
                     "compile it: nssguard compile (the module reads the X.ngo beside X.txt)",
                     "serving", failed, NULL);
        return;
    }
    ng.job.src->image = load_text(path, txt, &ng.job.ov->skipped, &err);
    if (!ng.job.src->image)
        load_error(path, err.msg, failed);
}

/* Loads unit ng.job.next until done (1), until deadline_ns passes while its
 * compiled file is being checked (0), or out of memory (-1). */
static int
unit_step(uint64_t deadline_ns)
{
    const unit_paths *u = &ng.job.ul.units[ng.job.next];
    const file_stamp *txt = &ng.job.ov->scan[2 * ng.job.next], *ngo = txt + 1;
    const ng_source *old = previous_source(ng.current, u->unit);
    const char *failed = old ? "previous version" : "nothing";
    ng_error err;

    if (!ng.job.src) {
        if (old && same_stamp(&old->txt, txt) && same_stamp(&old->ngo, ngo)) {
            ng.job.src = (ng_source *)old; /* unchanged: the same source again */
            ng.job.src->refs++;
            return unit_done(old) ? 1 : -1;
        }
        ng.job.src = calloc(1, sizeof(*ng.job.src));
        if (!ng.job.src)
            return unit_done(old) ? 1 : -1;
        ng.job.src->refs = 1;
        ng.job.src->unit = strdup(u->unit);
        copy_stamp(&ng.job.src->txt, txt);
        copy_stamp(&ng.job.src->ngo, ngo);
        if (ngo->exists && !(ng.job.checking = ng_image_map(ngo->path, &err)))
            load_error(ngo->path, err.msg, txt->exists ? "the text file" : failed);
    }
    if (ng.job.checking) {
        int r = ng_image_check(ng.job.checking, deadline_ns, &err);
        if (r == 0)
            return 0;
        if (r < 0)
            load_error(ngo->path, err.msg, txt->exists ? "the text file" : failed);
        if (r < 0 || !take_compiled(txt)) {
            bury(ng.job.checking);
            ng.job.checking = NULL;
        }
    }
    if (!ng.job.src->image && (txt->exists || !ngo->exists))
        unit_text(u, txt, ngo, old);
    return unit_done(old) ? 1 : -1;
}

/* Works on the reload until it is done (1: ng.job.ov is ready to publish),
 * until deadline_ns passes (0), or out of memory (-1: dropped). */
static int
job_step(uint64_t deadline_ns)
{
    while (ng.job.next < ng.job.ul.n_units) {
        int r = unit_step(deadline_ns);
        if (r < 0) {
            job_drop();
            return -1;
        }
        if (r == 0)
            return 0;
        ng.job.next++;
    }
    if (!rates_alloc(ng.job.ov)) {
        job_drop();
        return -1;
    }
    return 1;
}

/* ---- generations ---- */

/* reload_lock, and ng.reloading while it is held: a child of fork() must
 * know whether a thread of its parent was changing the state it copied. */
static void
reload_lock(void)
{
    pthread_mutex_lock(&ng.reload_lock);
    __atomic_store_n(&ng.reloading, true, __ATOMIC_SEQ_CST);
}

static bool
reload_trylock(void)
{
    if (pthread_mutex_trylock(&ng.reload_lock) != 0)
        return false;
    __atomic_store_n(&ng.reloading, true, __ATOMIC_SEQ_CST);
    return true;
}

static void
reload_unlock(void)
{
    __atomic_store_n(&ng.reloading, false, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&ng.reload_lock);
}

static void
log_generation(ng_event event, const ng_overlay *ov, const ng_config *cfg)
{
    char n[6][24];
    size_t compiled = 0;

    for (size_t i = 0; i < ov->n_sources; i++)
        compiled += ov->sources[i]->compiled;
    snprintf(n[0], sizeof(n[0]), "%zu", ov->n_entries);
    snprintf(n[1], sizeof(n[1]), "%zu", ov->n_sources);
    snprintf(n[2], sizeof(n[2]), "%zu", ov->n_refused);
    snprintf(n[3], sizeof(n[3]), "%zu", ov->skipped);
    snprintf(n[4], sizeof(n[4]), "%llu", (unsigned long long)ov->id);
    snprintf(n[5], sizeof(n[5]), "%zu", ov->keys);
    /* a configuration file's bad lines are named here too (config_error) */
    ng_log_event(event, "entries", n[0], "files", n[1], "refused", n[2], "skipped", n[3], "keys",
                 n[5], "generation", n[4], "compiled", compiled ? "yes" : "no", "config",
                 cfg->source, cfg->n_errors ? "config_error" : NULL,
                 cfg->n_errors ? cfg->errors[0] : NULL, NULL);
}

/* Each configured path that gives no entry: an overlay_empty event (an
 * empty folder, one of *.certdata or *.TXT files only, overlay='' ...). */
static void
log_empty_paths(const ng_config *cfg)
{
    if (cfg->n_overlays == 0) {
        ng_log_event(NG_EV_OVERLAY_EMPTY, "path", "", "reason",
                     "overlay= names no path: nothing is distrusted", NULL);
        return;
    }
    for (size_t i = 0; i < cfg->n_overlays; i++) {
        size_t units = 0;
        if (ng.job.path_entries[i])
            continue;
        for (size_t j = 0; j < ng.job.ul.n_units; j++)
            units += ng.job.ul.units[j].origin == i;
        ng_log_event(NG_EV_OVERLAY_EMPTY, "path", cfg->overlays[i], "reason",
                     units ? "no distrust entry in its files"
                           : "no *.txt or *.ngo file (a folder reads only those names)",
                     NULL);
    }
}

/* Frees the replaced generations that no session can still be reading:
 * none holds its id, and none began switching before it was replaced (such
 * a session may have read `current` while it was still this one). */
static void
reclaim_locked(void)
{
    ng_overlay **link = &ng.retired;

    while (*link) {
        ng_overlay *ov = *link;
        if (!ng_sessions_may_read(ov)) {
            *link = ov->next_retired;
            overlay_free(ov);
        } else {
            link = &ov->next_retired;
        }
    }
}

static void
publish_locked(ng_overlay *ov)
{
    ng_overlay *old = __atomic_exchange_n(&ng.current, ov, __ATOMIC_SEQ_CST);

    if (old) {
        old->retired_at = __atomic_add_fetch(&ng.epoch, 1, __ATOMIC_SEQ_CST);
        old->next_retired = ng.retired;
        ng.retired = old;
    }
    reclaim_locked();
}

/* Publishes the reload that job_step finished. */
static void
job_publish(ng_event event)
{
    log_empty_paths(ng.overlay_config);
    log_generation(event, ng.job.ov, ng.overlay_config);
    publish_locked(ng.job.ov);
    ng.job.ov = NULL;
    job_drop();
}

static void
drop_all(void)
{
    job_drop();
    overlay_free(__atomic_exchange_n(&ng.current, NULL, __ATOMIC_SEQ_CST));
    while (ng.retired) {
        ng_overlay *next = ng.retired->next_retired;
        overlay_free(ng.retired);
        ng.retired = next;
    }
    release_buried(UINT64_MAX);
    ng.overlay_config = NULL;
}

bool
ng_overlays_start(const ng_config *cfg)
{
    unit_list ul;
    size_t n_st = 0;
    file_stamp *st;
    bool ok;

    reload_lock();
    ng.overlay_config = cfg;
    st = scan(cfg, &n_st, &ul);
    if (!st)
        free_units(&ul);
    /* the first load is done whole: C_Initialize returns with it served */
    ok = st && job_start(cfg, st, n_st, &ul) && job_step(UINT64_MAX) == 1;
    if (ok) {
        /* nothing at all is served: say so loudly (err), never silently */
        job_publish(ng.job.ov->n_entries == 0 ? NG_EV_LOAD_FAILED : NG_EV_LOAD);
        __atomic_store_n(&ng.next_check_ms, ng_clock_coarse_ms() + cfg->reload_ms,
                         __ATOMIC_RELAXED);
    }
    reload_unlock();
    return ok;
}

void
ng_overlays_stop(void)
{
    reload_lock();
    drop_all();
    reload_unlock();
}

void
ng_overlays_forget(void)
{
    /* In a forked child, which runs one thread: the parent's generations
     * are this process's copies. Free them, unless a parent thread was
     * changing them at the fork (ng.reloading): then leave them be. The
     * parent's reload lock is never taken here: the fork handler made it
     * anew (module.c). */
    if (!__atomic_load_n(&ng.reloading, __ATOMIC_SEQ_CST)) {
        drop_all();
    } else {
        memset(&ng.job, 0, sizeof(ng.job));
        ng.current = ng.retired = NULL;
        ng.dying = NULL;
        ng.n_dying = ng.dying_cap = 0;
        ng.overlay_config = NULL;
    }
    __atomic_store_n(&ng.reloading, false, __ATOMIC_SEQ_CST);
}

static bool
scan_changed(const ng_overlay *ov, const file_stamp *st, size_t n)
{
    if (n != ov->n_scan)
        return true;
    for (size_t i = 0; i < n; i++) {
        if (!same_stamp(&ov->scan[i], &st[i]))
            return true;
    }
    return false;
}

/* The reload interval has passed (ng_overlays_poll, internal.h, decided:
 * never in a forked child). */
void
ng_overlays_poll_due(uint64_t now)
{
    uint64_t deadline;
    unit_list ul;
    size_t n_st = 0;
    file_stamp *st;

    if (!reload_trylock())
        return; /* another thread is at it: never wait */
    deadline = ng_clock_ns() + RELOAD_SLICE_NS;
    if (!ng.overlay_config || !ng.current)
        goto out;
    if (!ng.job.ov) {
        st = scan(ng.overlay_config, &n_st, &ul);
        if (!st || !scan_changed(ng.current, st, n_st)) {
            free_stamps(st, n_st);
            free_units(&ul);
            reclaim_locked();
            goto idle;
        }
        if (!job_start(ng.overlay_config, st, n_st, &ul))
            goto idle;
    }
    if (now >= ng.job.started_ms + RELOAD_PATIENCE_MS)
        deadline = UINT64_MAX; /* it has waited long enough: finish it now */
    switch (job_step(deadline)) {
    case 0: /* more to do: the next query goes on with it */
        __atomic_store_n(&ng.next_check_ms, 0, __ATOMIC_RELAXED);
        goto release;
    case 1:
        job_publish(NG_EV_RELOAD);
        break;
    default: /* out of memory: dropped, try again later */
        break;
    }
idle:
    __atomic_store_n(&ng.next_check_ms, now + ng.overlay_config->reload_ms, __ATOMIC_RELAXED);
release:
    release_buried(deadline);
out:
    reload_unlock();
}

void
ng_overlays_reclaim(void)
{
    if (__atomic_load_n(&ng.forked, __ATOMIC_RELAXED) || !reload_trylock())
        return;
    reclaim_locked();
    reload_unlock();
}

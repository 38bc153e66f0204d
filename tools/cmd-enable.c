/*
 * nssguard enable / disable: put libnssguard.so where clients load it, or
 * take it away again. Idempotent; --dry-run says what would change.
 *
 *   --nssdb sql:DIR      an NSS database (modutil -add / -delete)
 *   --user               the user's database: ~/.pki/nssdb when it exists,
 *                        else ~/.local/share/pki/nssdb (created if need be)
 *   --system             /etc/pki/nssdb where it exists
 *   --firefox-profiles   every profile of profiles.ini; refused while that
 *                        Firefox runs (it rewrites pkcs11.txt on exit)
 *   --firefox-policy     SecurityDevices in the policies.json Firefox reads,
 *                        merged into what is there, written atomically
 *   --firefox-extension XPI [--native-host PROG]
 *                        also the trust-refresh extension (ExtensionSettings)
 *                        and the two native manifests it needs
 *   --params STRING      the module's parameters (default: none, so the
 *                        module reads nssguard.conf)
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "operate.h"
#include "tool.h"

#define EXT_ID "nssguard@nssguard.invalid"

typedef struct {
    const op_targets *t;
    bool on;
    int failures;
    int changes;
} op_run_state;

static void
report(op_run_state *st, const char *where, const char *what)
{
    printf("%s: %s%s\n", where,
           st->t->dry_run && strncmp(what, "unchanged", 9) != 0 ? "would " : "", what);
}

static bool
modutil(const char *db, const char *verb, const char *name, const char *params)
{
    char *argv[12] = {"modutil", "-dbdir", (char *)db, "-force", (char *)verb, (char *)name};
    int n = 6;
    if (strcmp(verb, "-add") == 0) {
        argv[n++] = "-libfile";
        argv[n++] = (char *)op_module_path();
        if (params != NULL && params[0] != '\0') {
            argv[n++] = "-string";
            argv[n++] = (char *)params;
        }
    }
    argv[n] = NULL;
    char *out = NULL;
    int rc = op_run(argv, &out);
    if (rc != 0)
        tool_error("modutil %s %s on %s failed (%d): %s", verb, name, db, rc, out ? out : "");
    free(out);
    return rc == 0;
}

static bool
mkdir_p(const char *dir)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return false;
            *p = '/';
        }
    }
    return mkdir(buf, 0755) == 0 || errno == EEXIST;
}

/* A database that does not exist yet: created for --user on enable. */
static bool
ensure_db(op_run_state *st, const char *db)
{
    const char *dir = db + 4;
    char *probe = NULL;
    struct stat sb;
    bool have = asprintf(&probe, "%s/cert9.db", dir) >= 0 && stat(probe, &sb) == 0;
    free(probe);
    if (have)
        return true;
    if (!st->on)
        return false;
    report(st, db, "create the database (certutil -N --empty-password)");
    if (st->t->dry_run)
        return false;
    if (!mkdir_p(dir)) /* no shell: the path is the user's (profiles.ini, $HOME) */
        return false;
    char *argv[] = {"certutil", "-N", "-d", (char *)db, "--empty-password", NULL};
    return op_run(argv, NULL) == 0;
}

/* The module line tried in a scratch database first, so that a line the
 * module refuses never replaces one that works. */
static bool
trial_add(const char *params)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = NULL, *db = NULL;
    if (asprintf(&dir, "%s/nssguard-enable-XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0)
        return false;
    bool ok = mkdtemp(dir) != NULL && asprintf(&db, "sql:%s", dir) >= 0;
    char *mk[] = {"certutil", "-N", "-d", db, "--empty-password", NULL};
    ok = ok && op_run(mk, NULL) == 0 && modutil(db, "-add", OP_MODULE_NAME, params);
    char *rm[] = {"rm", "-rf", dir, NULL};
    op_run(rm, NULL);
    free(db);
    free(dir);
    return ok;
}

static void
one_nssdb(op_run_state *st, const char *db)
{
    bool listed = false;
    char *params = NULL, *name = NULL, *library = NULL;
    const char *want = st->t->params != NULL ? st->t->params : "";
    if (!ensure_db(st, db)) {
        if (!st->t->dry_run || !st->on)
            report(st, db, "unchanged (no database)");
        return;
    }
    if (!op_nssdb_module(db, &listed, &params, &name, &library)) {
        tool_error("%s: cannot read pkcs11.txt", db);
        st->failures++;
        return;
    }
    /* a line naming another libnssguard.so (moved, deleted) loads nothing */
    bool same = listed && strcmp(params, want) == 0 && op_is_our_library(library);
    if (st->on ? same : !listed) {
        report(st, db, st->on ? "unchanged (module listed)" : "unchanged (module not listed)");
    } else {
        st->changes++;
        report(st, db,
               !st->on  ? "remove the module"
               : listed ? (op_is_our_library(library) ? "replace the module's parameters"
                                                      : "replace the module's library")
                        : "add the module");
        bool ok = st->t->dry_run || !st->on || trial_add(want);
        if (!ok)
            tool_error("%s: left as it is: the module does not initialise with this line", db);
        ok = ok && (st->t->dry_run || !listed || modutil(db, "-delete", name, NULL));
        ok = ok && (st->t->dry_run || !st->on || modutil(db, "-add", OP_MODULE_NAME, want));
        if (!ok)
            st->failures++;
    }
    free(params);
    free(name);
    free(library);
}

static void
one_profile(op_run_state *st, const char *profile)
{
    long pid = op_profile_locked_by(profile);
    if (pid > 0) {
        tool_error("%s: Firefox (pid %ld) is running on this profile; close it first "
                   "(it rewrites pkcs11.txt when it exits)",
                   profile, pid);
        st->failures++;
        return;
    }
    char *db = NULL;
    if (asprintf(&db, "sql:%s", profile) < 0)
        return;
    one_nssdb(st, db);
    free(db);
}

/* ---- policies.json ---- */

static json_object *
object_member(json_object *parent, const char *key)
{
    json_object *o = NULL;
    if (json_object_object_get_ex(parent, key, &o) && json_object_is_type(o, json_type_object))
        return o;
    o = json_object_new_object();
    json_object_object_add(parent, key, o);
    return o;
}

/* Removes s from the array parent[key]; adds it when add is set. */
static void
array_member_set(json_object *parent, const char *key, const char *s, bool add)
{
    json_object *a = NULL;
    if (!json_object_object_get_ex(parent, key, &a) || !json_object_is_type(a, json_type_array)) {
        if (!add)
            return;
        a = json_object_new_array();
        json_object_object_add(parent, key, a);
    }
    for (size_t i = json_object_array_length(a); i-- > 0;) {
        const char *v = json_object_get_string(json_object_array_get_idx(a, i));
        if (v != NULL && strcmp(v, s) == 0)
            json_object_array_del_idx(a, i, 1);
    }
    if (add)
        json_object_array_add(a, json_object_new_string(s));
    else if (json_object_array_length(a) == 0)
        json_object_object_del(parent, key);
}

/* SecurityDevices: {"Add": {name: path}, "Delete": [name]} (or the older
 * form, {name: path}: kept as it is, our key removed). Disable asks Firefox
 * to delete the module, which a policy-added module otherwise outlives. */
static void
policy_devices(json_object *policies, bool on)
{
    json_object *dev = object_member(policies, "SecurityDevices");
    json_object_object_del(dev, OP_MODULE_NAME); /* the older form */
    json_object *add = object_member(dev, "Add");
    json_object_object_del(add, OP_MODULE_NAME);
    if (on)
        json_object_object_add(add, OP_MODULE_NAME, json_object_new_string(op_module_path()));
    else if (json_object_object_length(add) == 0)
        json_object_object_del(dev, "Add");
    array_member_set(dev, "Delete", OP_MODULE_NAME, !on);
}

static bool
policy_extension(json_object *policies, const char *xpi, bool on)
{
    json_object *ext = object_member(policies, "ExtensionSettings");
    json_object_object_del(ext, EXT_ID);
    if (on) {
        char real[PATH_MAX], *url = NULL;
        if (realpath(xpi, real) == NULL || asprintf(&url, "file://%s", real) < 0) {
            tool_error("%s: %s", xpi, strerror(errno));
            return false;
        }
        json_object *e = json_object_new_object();
        json_object_object_add(e, "installation_mode", json_object_new_string("force_installed"));
        json_object_object_add(e, "install_url", json_object_new_string(url));
        json_object_object_add(ext, EXT_ID, e);
        free(url);
    } else if (json_object_object_length(ext) == 0) {
        json_object_object_del(policies, "ExtensionSettings");
    }
    return true;
}

/* The policy file as it is, or an empty one; NULL (and why) when it is not
 * a JSON object Firefox would read: parsed strictly (tools/json.c), so that
 * text json-c alone would skip (after the value, comments, a lone surrogate)
 * is never dropped by a rewrite that then makes the file valid. */
static json_object *
policy_read(const char *path, char *why, size_t size)
{
    char *text = op_slurp(path);
    json_object *root = NULL;
    snprintf(why, size, "not a JSON object");
    if (text == NULL) {
        snprintf(why, size, "%s", strerror(errno));
        return errno == ENOENT ? json_object_new_object() : NULL;
    }
    if (tool_json_parse(text, strlen(text), &root, why, size) &&
        !json_object_is_type(root, json_type_object)) {
        snprintf(why, size, "not a JSON object");
        json_object_put(root);
        root = NULL;
    }
    free(text);
    return root;
}

static void
one_policy(op_run_state *st, const char *path)
{
    char why[256];
    json_object *root = policy_read(path, why, sizeof(why));
    if (root == NULL) {
        tool_error("%s: %s; left as it is (fix it, then run this again)", path, why);
        st->failures++;
        return;
    }
    char *before = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    bool existed = access(path, F_OK) == 0;
    json_object *policies = object_member(root, "policies");
    policy_devices(policies, st->on);
    if ((st->t->xpi != NULL || !st->on) && !policy_extension(policies, st->t->xpi, st->on))
        st->failures++;
    const char *after = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    if ((!st->on && !existed) || strcmp(before, after) == 0) {
        report(st, path, "unchanged");
    } else {
        st->changes++;
        report(st, path,
               st->on ? "add SecurityDevices nssguard" : "ask Firefox to delete nssguard");
        char *dir = strdup(path), *slash = strrchr(dir, '/');
        if (slash != NULL)
            *slash = '\0';
        const char *pretty =
            json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!st->t->dry_run &&
            (!mkdir_p(dir) || !tool_write_atomic(path, pretty, strlen(pretty), 0644))) {
            tool_error("%s: cannot write: %s", path, strerror(errno));
            st->failures++;
        }
        free(dir);
    }
    if (st->on && st->t->params != NULL)
        fprintf(stderr,
                "nssguard: %s: a policy cannot carry --params; the module reads "
                "nssguard.conf there\n",
                path);
    free(before);
    json_object_put(root);
}

/* ---- the extension's native manifests ---- */

static char *
manifest_dir(const op_targets *t, const char *kind)
{
    char *d = NULL;
    const char *home = getenv("HOME");
    int r = t->system ? asprintf(&d, "/usr/lib/mozilla/%s", kind)
                      : asprintf(&d, "%s/.mozilla/%s", home ? home : "", kind);
    if (r < 0)
        return NULL;
    return d;
}

/* The host Firefox runs: --native-host, else a wrapper beside the manifest
 * running this very nssguard as `watch --native`. */
static char *
host_program(op_run_state *st, const char *dir)
{
    char self[PATH_MAX], *wrapper = NULL, *text = NULL;
    if (st->t->host != NULL)
        return realpath(st->t->host, NULL);
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0 || asprintf(&wrapper, "%s/nssguard-host", dir) < 0)
        return NULL;
    self[n] = '\0';
    if (asprintf(&text, "#!/bin/sh\nexec '%s' watch --native \"$@\"\n", self) >= 0 &&
        !st->t->dry_run && !tool_write_atomic(wrapper, text, strlen(text), 0755))
        st->failures++;
    free(text);
    return wrapper;
}

static void
write_manifest(op_run_state *st, const char *kind, const char *type, const char *path)
{
    /* the refresh module's manifest, or the native host's */
    const char *name = path != NULL ? "nssguard_refresh" : OP_MODULE_NAME;
    char *dir = manifest_dir(st->t, kind), *file = NULL;
    if (dir == NULL || asprintf(&file, "%s/%s.json", dir, name) < 0)
        return;
    if (!st->on) {
        bool had = access(file, F_OK) == 0;
        report(st, file, had ? "remove" : "unchanged (absent)");
        if (had && !st->t->dry_run)
            unlink(file);
        char *wrapper = NULL;
        if (had && !st->t->dry_run && asprintf(&wrapper, "%s/nssguard-host", dir) >= 0)
            unlink(wrapper);
        free(wrapper);
    } else {
        char *prog = path != NULL ? strdup(path) : (mkdir_p(dir) ? host_program(st, dir) : NULL);
        json_object *m = json_object_new_object();
        json_object_object_add(m, "name", json_object_new_string(name));
        json_object_object_add(m, "description", json_object_new_string("nssguard trust refresh"));
        json_object_object_add(m, "path", json_object_new_string(prog ? prog : ""));
        json_object_object_add(m, "type", json_object_new_string(type));
        json_object *ids = json_object_new_array();
        json_object_array_add(ids, json_object_new_string(EXT_ID));
        json_object_object_add(m, "allowed_extensions", ids);
        const char *text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
        char *old = op_slurp(file);
        bool same = old != NULL && strcmp(old, text) == 0;
        report(st, file, same ? "unchanged" : "write the native manifest");
        if (!same && !st->t->dry_run &&
            (!mkdir_p(dir) || !tool_write_atomic(file, text, strlen(text), 0644)))
            st->failures++;
        free(old);
        free(prog);
        json_object_put(m);
    }
    free(dir);
    free(file);
}

static void
enable_usage(FILE *fp)
{
    fputs("usage: nssguard enable|disable [--dry-run] [--nssdb sql:DIR]... [--user] [--system]\n"
          "           [--firefox-profiles] [--firefox-policy] [--firefox-extension XPI\n"
          "           [--native-host PROGRAM]] [--params STRING]\n"
          "\n"
          "Adds libnssguard.so to (enable) or removes it from (disable) NSS databases,\n"
          "Firefox profiles and the policies.json Firefox reads ($NSSGUARD_FIREFOX_POLICY,\n"
          "else /etc/firefox/policies/policies.json). Without --params the module reads\n"
          "nssguard.conf. See doc/operate.md.\n",
          fp);
}

static int
enable_or_disable(int argc, char **argv, bool on)
{
    op_targets t = {0};
    tool_common common = {.name = on ? "enable" : "disable",
                          .usage = enable_usage,
                          .flags = TOOL_OPT_NO_OPERAND,
                          .options = on ? op_enable_options : op_disable_options,
                          .option = op_target_option,
                          .ctx = &t};
    int rc;

    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    op_targets_finish(&t);
    if (t.nssdbs.n + t.profiles.n + t.policies.n == 0) {
        enable_usage(stderr);
        goto out;
    }
    op_run_state st = {.t = &t, .on = on};
    for (size_t i = 0; i < t.nssdbs.n; i++)
        one_nssdb(&st, t.nssdbs.v[i]);
    for (size_t i = 0; i < t.profiles.n; i++)
        one_profile(&st, t.profiles.v[i]);
    for (size_t i = 0; i < t.policies.n; i++)
        one_policy(&st, t.policies.v[i]);
    if (t.xpi != NULL || (!on && t.policies.n > 0)) {
        write_manifest(&st, "pkcs11-modules", "pkcs11", op_refresh_module_path());
        write_manifest(&st, "native-messaging-hosts", "stdio", NULL);
    }
    rc = st.failures > 0 ? TOOL_EXIT_ERROR : TOOL_EXIT_OK;
out:
    tool_common_clear(&common);
    op_targets_clear(&t);
    return rc;
}

int
tool_cmd_enable(int argc, char **argv)
{
    return enable_or_disable(argc, argv, true);
}

int
tool_cmd_disable(int argc, char **argv)
{
    return enable_or_disable(argc, argv, false);
}

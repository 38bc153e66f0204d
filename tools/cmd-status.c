/*
 * nssguard status [--json] [--system] [targets]: every place the module
 * can be loaded from for this user (NSS database, Firefox profiles,
 * Firefox's policy, p11-kit module configurations; the system's too with
 * --system), and for each: is the module listed, with which parameters
 * and mode, does it initialise, how many entries it serves, where its
 * events go, its trustOrder, and a live self-test: a throwaway chain
 * through a throwaway sub-CA, distrusted in a throwaway overlay added to
 * the place's own configuration, verified by NSS (vfychain) in a scratch
 * database carrying the same module line. The user's databases are only
 * ever read. Exit 0 only when every place found enforces.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "operate.h"
#include "tool.h"

/* The throwaway PKI: root, a sub-CA distrusted by overlay.txt, a leaf. */
static const char selftest_pki[] =
    "set -e; cd \"$1\"\n"
    "head -c 64 /dev/urandom >noise\n"
    "printf 'y\\n\\ny\\n' >answers\n"
    "mkdir ca; certutil -N -d sql:ca --empty-password\n"
    "ca() { n=$1 m=$2 t=$3; shift 3; certutil -S -d sql:ca -n $n -s \"CN=nssguard self-test $n\" "
    "\\\n"
    "  -m $m -t $t \"$@\" -k ec -q secp256r1 -z noise -v 2 -2 --keyUsage certSigning,crlSigning "
    "\\\n"
    "  <answers; }\n"
    "ca root 1 C,, -x\n"
    "ca sub 2 ,, -c root\n"
    "certutil -S -d sql:ca -n leaf -s CN=localhost -c sub -m 3 -t ,, -k ec -q secp256r1 \\\n"
    "  -z noise -v 2 --extSAN dns:localhost --extKeyUsage serverAuth --keyUsage digitalSignature\n"
    "for n in root sub leaf; do certutil -L -d sql:ca -n $n -r >$n.der; done\n"
    "\"$2\" add --reason mitm --ref https://nssguard.invalid/self-test \\\n"
    "  --label 'nssguard self-test sub-CA' -o overlay.txt sub.der\n";

/* One place: a scratch database trusting the throwaway root, the module
 * added with PARAMS, then vfychain on the throwaway chain. Prints the
 * vfychain output; exits 3 when the chain fails without the module. */
static const char selftest_place[] =
    "d=$1/$2; rm -rf \"$d\"; mkdir \"$d\"; cd \"$1\"\n"
    "certutil -N -d \"sql:$d\" --empty-password || exit 4\n"
    "certutil -A -d \"sql:$d\" -n root -t C,, -i root.der || exit 4\n"
    "vfychain -d \"sql:$d\" -u 1 leaf.der sub.der >/dev/null 2>&1 || exit 3\n"
    "modutil -dbdir \"sql:$d\" -force -add nssguard -libfile \"$3\" -string \"$4\" >/dev/null 2>&1 "
    "|| exit 5\n"
    "vfychain -d \"sql:$d\" -u 1 leaf.der sub.der 2>&1\n";

typedef struct {
    json_object *j; /* this place's record */
    bool enforcing;
} place;

static const char *
mode_name(ng_mode m)
{
    switch (m) {
    case NG_MODE_P11KIT:
        return "p11-kit";
    case NG_MODE_CHROMIUM:
        return "chromium";
    case NG_MODE_BUILTINS:
        return "builtins";
    default:
        return "nss";
    }
}

static void
add_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v != NULL ? json_object_new_string(v) : NULL);
}

static json_object *
events_of(const ng_config *cfg)
{
    json_object *a = json_object_new_array();
    if (cfg->log_sinks & NG_LOG_SYSLOG)
        json_object_array_add(a, json_object_new_string("syslog"));
    if (cfg->log_sinks & NG_LOG_STDERR)
        json_object_array_add(a, json_object_new_string("stderr"));
    if ((cfg->log_sinks & NG_LOG_FILE) && cfg->log_file != NULL) {
        char *s = NULL;
        if (asprintf(&s, "file:%s", cfg->log_file) >= 0)
            json_object_array_add(a, json_object_new_string(s));
        free(s);
    }
    return a;
}

/* The self-test's parameters: the place's configuration, plus the
 * throwaway overlay, events to a scratch file. */
static char *
selftest_params(const ng_config *cfg, const char *scratch, const char *dir)
{
    size_t cap = 256 + strlen(scratch) + strlen(dir) + (cfg->roots ? strlen(cfg->roots) : 0);
    for (size_t i = 0; i < cfg->n_overlays; i++)
        cap += strlen(cfg->overlays[i]) + 1;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    strcpy(s, "overlay=\"");
    for (size_t i = 0; i < cfg->n_overlays; i++) {
        strcat(s, cfg->overlays[i]);
        strcat(s, ":");
    }
    size_t n = strlen(s);
    snprintf(s + n, cap - n, "%s/overlay.txt\" log=\"file:%s/events.log\" mode=%s%s%s%s reload=0",
             scratch, dir, mode_name(cfg->mode), cfg->roots ? " roots=\"" : "",
             cfg->roots ? cfg->roots : "", cfg->roots ? "\"" : "");
    if (cfg->serve_constraints)
        strcat(s, " constraints=distrust");
    return s;
}

/* The module's own "load" event in the self-test's log: entries, files. */
static void
read_load_event(place *pl, const char *dir)
{
    char *path = NULL, *text = NULL;
    if (asprintf(&path, "%s/events.log", dir) < 0)
        return;
    text = op_slurp(path);
    free(path);
    for (char *l = text, *nl; l != NULL && *l != '\0'; l = nl) {
        nl = strchr(l, '\n');
        if (nl != NULL)
            *nl++ = '\0';
        json_object *ev = json_tokener_parse(l), *v = NULL;
        if (ev != NULL && json_object_object_get_ex(ev, "event", &v) &&
            strcmp(json_object_get_string(v), "load") == 0) {
            /* minus the throwaway overlay's one entry and one file */
            const char *keys[] = {"entries", "files", "refused", "skipped"};
            for (size_t i = 0; i < 4; i++) {
                int64_t n =
                    json_object_object_get_ex(ev, keys[i], &v) ? json_object_get_int64(v) : 0;
                if (i < 2)
                    n = n > 0 ? n - 1 : 0;
                json_object_object_add(pl->j, keys[i], json_object_new_int64(n));
            }
        }
        json_object_put(ev);
    }
    free(text);
}

static void
verdict(place *pl, bool enforcing, const char *why)
{
    pl->enforcing = enforcing;
    json_object_object_add(pl->j, "enforcing", json_object_new_boolean(enforcing));
    add_str(pl->j, "why", why);
}

static bool
served_nothing(const place *pl)
{
    json_object *v = NULL;
    return !json_object_object_get_ex(pl->j, "entries", &v) || json_object_get_int64(v) == 0;
}

/* The live self-test of one place's configuration. */
static void
selftest(place *pl, const char *scratch, const char *name, const ng_config *cfg,
         const char *library)
{
    char *dir = NULL, *params = NULL, *out = NULL;
    if (asprintf(&dir, "%s/%s", scratch, name) < 0)
        return;
    params = selftest_params(cfg, scratch, dir);
    mkdir(dir, 0700);
    char *argv[] = {
        "sh",   "-c", (char *)selftest_place, "sh", (char *)scratch, (char *)name, (char *)library,
        params, NULL};
    int rc = params != NULL ? op_run(argv, &out) : -1;
    json_object_object_add(pl->j, "initialises", json_object_new_boolean(rc != 5 && rc != -1));
    read_load_event(pl, dir);
    if (rc == 3 || rc == 4 || rc == -1)
        verdict(pl, false, "the self-test could not run (scratch database or chain)");
    else if (rc == 5)
        verdict(pl, false, "the module does not initialise with this configuration");
    else if (rc == 0)
        verdict(pl, false, "NSS accepted a chain through a distrusted sub-CA");
    else if (out == NULL || (strstr(out, "SEC_ERROR_UNTRUSTED_ISSUER") == NULL &&
                             strstr(out, "ERROR -8172:") == NULL))
        verdict(pl, false, out != NULL ? out : "vfychain failed for another reason");
    else if (served_nothing(pl))
        verdict(pl, false, "the configured overlays serve no entry (missing, empty or refused)");
    else
        verdict(pl, true, NULL);
    free(out);
    free(params);
    free(dir);
}

/* Fills a place: the configuration its module line stands for (params, or
 * nssguard.conf when there are none), then the self-test. */
static void
describe(place *pl, const char *scratch, const char *name, const char *params, const char *library)
{
    ng_config cfg = {0};
    ng_error err = {0};
    add_str(pl->j, "parameters", params);
    /* the self-test loads what the place names, not what this tool would */
    if (library == NULL || strchr(library, '/') == NULL)
        library = op_module_path();
    add_str(pl->j, "library", library);
    if (!op_is_our_library(library)) {
        char *msg = NULL;
        json_object_object_add(pl->j, "initialises", json_object_new_boolean(false));
        verdict(pl, false,
                asprintf(&msg, "it names %s, which is missing or not this nssguard's module",
                         library) >= 0
                    ? msg
                    : "it names another library");
        free(msg);
        return;
    }
    if (!ng_config_load(&cfg, params != NULL && params[0] != '\0' ? params : NULL, &err)) {
        json_object_object_add(pl->j, "initialises", json_object_new_boolean(false));
        verdict(pl, false, err.msg);
        ng_config_clear(&cfg);
        return;
    }
    add_str(pl->j, "config", cfg.source);
    add_str(pl->j, "mode", mode_name(cfg.mode));
    json_object *ov = json_object_new_array();
    for (size_t i = 0; i < cfg.n_overlays; i++)
        json_object_array_add(ov, json_object_new_string(cfg.overlays[i]));
    json_object_object_add(pl->j, "overlays", ov);
    json_object_object_add(pl->j, "events", events_of(&cfg));
    bool builtins = cfg.mode == NG_MODE_BUILTINS;
    json_object_object_add(pl->j, "trustOrder", json_object_new_int(builtins ? 100 : 50));
    add_str(pl->j, "trustOrderMeans",
            builtins ? "ranked below the user database (75): a user trust record for a "
                       "distrusted CA beats the distrust"
                     : "ahead of the user database (75) and the builtins (100)");
    selftest(pl, scratch, name, &cfg, library);
    ng_config_clear(&cfg);
}

static place *
new_place(json_object *all, const char *kind, const char *where)
{
    place *pl = calloc(1, sizeof(*pl));
    if (pl == NULL)
        return NULL;
    pl->j = json_object_new_object();
    add_str(pl->j, "kind", kind);
    add_str(pl->j, "where", where);
    json_object_array_add(all, pl->j);
    return pl;
}

static bool
status_nssdb(json_object *all, const char *scratch, const char *kind, const char *db, int idx)
{
    place *pl = new_place(all, kind, db);
    bool listed = false;
    char *params = NULL, *name = NULL, *library = NULL, tag[32];
    if (pl == NULL)
        return false;
    if (!op_nssdb_module(db, &listed, &params, &name, &library))
        listed = false;
    json_object_object_add(pl->j, "listed", json_object_new_boolean(listed));
    if (strcmp(kind, "firefox-profile") == 0) {
        long pid = op_profile_locked_by(db + 4);
        json_object_object_add(pl->j, "firefoxRunning",
                               pid > 0 ? json_object_new_int64(pid) : NULL);
    }
    snprintf(tag, sizeof(tag), "place%d", idx);
    if (listed)
        describe(pl, scratch, tag, params, library);
    else
        verdict(pl, false, "the module is not listed");
    bool ok = pl->enforcing;
    free(params);
    free(name);
    free(library);
    free(pl);
    return ok;
}

/* Firefox's policy: SecurityDevices (Add, or the older flat form), and
 * whether the trust-refresh extension is deployed beside it. */
static bool
status_policy(json_object *all, const char *scratch, const char *path, int idx)
{
    place *pl = new_place(all, "firefox-policy", path);
    char *text = op_slurp(path), tag[32], why[256] = "", *library = NULL;
    json_object *root = NULL, *p, *d, *a, *e;
    bool listed = false, ext = false, missing = text == NULL && errno == ENOENT;
    bool read = text != NULL;
    /* strictly, as Firefox does: a file it refuses loads no module at all */
    bool valid = text != NULL && tool_json_parse(text, strlen(text), &root, why, sizeof(why));
    free(text);
    if (pl == NULL) {
        json_object_put(root);
        return false;
    }
    if (json_object_object_get_ex(root, "policies", &p) &&
        json_object_object_get_ex(p, "SecurityDevices", &d)) {
        json_object *lib = NULL;
        listed = json_object_object_get_ex(d, OP_MODULE_NAME, &lib) ||
                 (json_object_object_get_ex(d, "Add", &a) &&
                  json_object_object_get_ex(a, OP_MODULE_NAME, &lib));
        if (listed && json_object_is_type(lib, json_type_string))
            library = strdup(json_object_get_string(lib));
    }
    if (json_object_object_get_ex(root, "policies", &p) &&
        json_object_object_get_ex(p, "ExtensionSettings", &e))
        ext = json_object_object_get_ex(e, "nssguard@nssguard.invalid", NULL);
    json_object_object_add(pl->j, "listed", json_object_new_boolean(listed));
    json_object_object_add(pl->j, "refreshExtension", json_object_new_boolean(ext));
    json_object_put(root);
    snprintf(tag, sizeof(tag), "place%d", idx);
    if (read && !valid) {
        char *msg = NULL;
        verdict(pl, false,
                asprintf(&msg, "Firefox refuses this policies.json: %s", why) >= 0 ? msg : why);
        free(msg);
    } else if (listed) {
        describe(pl, scratch, tag, NULL, library);
    } else {
        verdict(pl, false, missing ? "no policies.json" : "the module is not listed");
    }
    bool ok = pl->enforcing;
    free(library);
    free(pl);
    return ok;
}

/* The "module:" and "x-init-reserved:" lines of a p11-kit .module file:
 * whether it names libnssguard.so, and then the library and parameters. */
static bool
p11kit_names_us(const char *file, char **params, char **library)
{
    char *text = op_slurp(file);
    bool ours = false;
    *params = NULL;
    *library = NULL;
    for (char *l = text, *nl; l != NULL && *l != '\0'; l = nl) {
        nl = strchr(l, '\n');
        if (nl != NULL)
            *nl++ = '\0';
        while (*l == ' ' || *l == '\t')
            l++;
        if (strncmp(l, "module:", 7) == 0 && strstr(l, "libnssguard.so") != NULL) {
            ours = true;
            free(*library);
            *library = strdup(l + 7 + strspn(l + 7, " \t"));
        } else if (strncmp(l, "x-init-reserved:", 16) == 0)
            *params = strdup(l + 16 + strspn(l + 16, " \t"));
    }
    free(text);
    if (!ours) {
        free(*params);
        free(*library);
        *params = *library = NULL;
    }
    return ours;
}

static int
status_p11kit_dir(json_object *all, const char *scratch, const char *dir, const char *ignored,
                  int *idx, bool *all_ok)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int found = 0;
    while (d != NULL && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char *file = NULL, *params = NULL, *library = NULL, tag[32];
        if (n < 8 || strcmp(de->d_name + n - 7, ".module") != 0 ||
            asprintf(&file, "%s/%s", dir, de->d_name) < 0)
            continue;
        if (p11kit_names_us(file, &params, &library)) {
            place *pl = new_place(all, "p11-kit", file);
            json_object_object_add(pl->j, "listed", json_object_new_boolean(true));
            snprintf(tag, sizeof(tag), "place%d", (*idx)++);
            describe(pl, scratch, tag, params, library);
            if (ignored != NULL)
                verdict(pl, false, ignored);
            *all_ok = *all_ok && pl->enforcing;
            free(pl);
            found++;
        }
        free(params);
        free(library);
        free(file);
    }
    if (d != NULL)
        closedir(d);
    return found;
}

/* The user's p11-kit module folder: ~/.config/pkcs11/modules, where p11-kit
 * reads ~/.config as $XDG_CONFIG_HOME when that is set. */
static char *
p11kit_user_modules(void)
{
    const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
    char *dir = NULL;
    int r = x != NULL && x[0] == '/' ? asprintf(&dir, "%s/pkcs11/modules", x)
                                     : asprintf(&dir, "%s/.config/pkcs11/modules", h ? h : "");
    return r < 0 ? NULL : dir;
}

static void
print_place(json_object *p)
{
    json_object *v;
    const char *where = json_object_get_string(json_object_object_get(p, "where"));
    const char *kind = json_object_get_string(json_object_object_get(p, "kind"));
    bool enf = json_object_get_boolean(json_object_object_get(p, "enforcing"));
    const char *why = json_object_get_string(json_object_object_get(p, "why"));
    printf("%s (%s): %s%s%s\n", where, kind, enf ? "enforcing" : "NOT enforcing", why ? ": " : "",
           why ? why : "");
    const char *keys[] = {"parameters",     "config",     "mode",
                          "entries",        "files",      "overlays",
                          "events",         "trustOrder", "refreshExtension",
                          "firefoxRunning", "initialises"};
    for (size_t i = 0; i < NG_N_ELEMENTS(keys); i++) {
        if (i == 0 && json_object_object_get_ex(p, "parameters", &v) &&
            json_object_get_string_len(v) == 0)
            printf("    %-17s none (reads nssguard.conf)\n", keys[i]);
        else if (json_object_object_get_ex(p, keys[i], &v) && v != NULL)
            printf("    %-17s %s\n", keys[i],
                   json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    }
}

static void
collect_default(op_targets *t, bool sys)
{
    op_find_user_nssdb(&t->nssdbs, true);
    if (sys)
        op_find_system_nssdb(&t->nssdbs);
    op_find_firefox_profiles(&t->profiles);
    if (access(op_firefox_policy_path(), F_OK) == 0)
        op_list_add(&t->policies, op_firefox_policy_path());
}

static bool
status_all(op_targets *t, json_object *all, const char *scratch, bool p11kit)
{
    bool ok = true;
    int idx = 0;
    for (size_t i = 0; i < t->nssdbs.n; i++)
        ok = status_nssdb(all, scratch, "nssdb", t->nssdbs.v[i], idx++) && ok;
    for (size_t i = 0; i < t->profiles.n; i++) {
        char *db = NULL;
        if (asprintf(&db, "sql:%s", t->profiles.v[i]) >= 0)
            ok = status_nssdb(all, scratch, "firefox-profile", db, idx++) && ok;
        free(db);
    }
    for (size_t i = 0; i < t->policies.n; i++)
        ok = status_policy(all, scratch, t->policies.v[i], idx++) && ok;
    if (p11kit) {
        char *user = p11kit_user_modules();
        /* p11-kit reads no user configuration for root (measured with
         * `p11-kit list-modules`: tests/operate-p11kit.sh) */
        const char *ignored =
            geteuid() == 0 ? "p11-kit ignores a user's module files for root" : NULL;
        if (user != NULL)
            status_p11kit_dir(all, scratch, user, ignored, &idx, &ok);
        free(user);
        if (t->system) {
            status_p11kit_dir(all, scratch, "/etc/pkcs11/modules", NULL, &idx, &ok);
            status_p11kit_dir(all, scratch, "/usr/share/p11-kit/modules", NULL, &idx, &ok);
        }
    }
    return ok;
}

static void
status_usage(FILE *fp)
{
    fputs("usage: nssguard status [--json] [--system] [--nssdb sql:DIR]... [--user]\n"
          "           [--firefox-profiles] [--firefox-policy]\n"
          "\n"
          "For every place the module can be loaded from (by default: the user's NSS\n"
          "database, Firefox profiles and policy, p11-kit modules; --system adds the\n"
          "system's), whether it is listed, its configuration, and a live self-test\n"
          "(a throwaway distrusted sub-CA verified by NSS in a scratch database with\n"
          "the same module line): enforcing, or NOT enforcing and why. Exit 0 only\n"
          "when every place found enforces.\n",
          fp);
}

static char *
make_scratch(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = NULL;
    if (asprintf(&dir, "%s/nssguard-status-XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0)
        return NULL;
    if (mkdtemp(dir) == NULL) {
        free(dir);
        return NULL;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    char *out = NULL;
    char *argv[] = {"sh", "-c", (char *)selftest_pki, "sh", dir, self, NULL};
    if (op_run(argv, &out) != 0) {
        tool_error("status: the throwaway PKI could not be made: %s", out ? out : "");
        free(out);
        free(dir);
        return NULL;
    }
    free(out);
    return dir;
}

static void
print_status(json_object *all, bool ok, bool json)
{
    size_t n = json_object_array_length(all);
    if (json) {
        json_object *root = json_object_new_object();
        json_object_object_add(root, "enforcing", json_object_new_boolean(ok && n > 0));
        json_object_object_add(root, "places", json_object_get(all));
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return;
    }
    for (size_t i = 0; i < n; i++)
        print_place(json_object_array_get_idx(all, i));
    if (n == 0)
        puts("no NSS database, Firefox profile, policy or p11-kit module found");
}

int
tool_cmd_status(int argc, char **argv)
{
    op_targets t = {0};
    tool_common common = {.name = "status",
                          .usage = status_usage,
                          .flags = TOOL_OPT_JSON | TOOL_OPT_NO_OPERAND,
                          .options = op_status_options,
                          .option = op_target_option,
                          .ctx = &t};
    char *scratch = NULL;
    int rc;

    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    op_targets_finish(&t);
    bool defaults = t.nssdbs.n + t.profiles.n + t.policies.n == 0;
    if (defaults || (t.system && t.nssdbs.n == 0))
        collect_default(&t, t.system);
    scratch = make_scratch();
    if (scratch == NULL)
        goto out;
    json_object *all = json_object_new_array();
    bool ok = status_all(&t, all, scratch, defaults || t.system);
    print_status(all, ok, common.json);
    rc = ok && json_object_array_length(all) > 0 ? TOOL_EXIT_OK : TOOL_EXIT_FOUND;
    json_object_put(all);
    char *rm[] = {"rm", "-rf", scratch, NULL};
    op_run(rm, NULL);
out:
    free(scratch);
    tool_common_clear(&common);
    op_targets_clear(&t);
    return rc;
}

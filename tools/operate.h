/*
 * operate.h: what enable, disable, status and watch share (issue 15).
 *
 * These subcommands put libnssguard.so where clients load it (NSS
 * databases, Firefox profiles, Firefox's enterprise policy), say whether
 * each place enforces, and tell a running Firefox when the overlay changed.
 * They keep to their own helpers (tools/operate.c) and json-c.
 */
#ifndef NSSGUARD_OPERATE_H
#define NSSGUARD_OPERATE_H

#include <stdbool.h>
#include <stddef.h>

/* The module's name in every NSS database and policy we write. */
#define OP_MODULE_NAME "nssguard"

/* The installed module, or $NSSGUARD_MODULE when set (tests, make check). */
const char *op_module_path(void);
/* The slot-less module the Firefox extension adds and deletes: beside
 * op_module_path(), or $NSSGUARD_REFRESH_MODULE. */
const char *op_refresh_module_path(void);

/* A growing list of owned strings. */
typedef struct {
    char **v;
    size_t n;
} op_list;

bool op_list_add(op_list *l, const char *s);
bool op_list_addf(op_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void op_list_clear(op_list *l);

/* The targets enable, disable and status act on. */
typedef struct {
    op_list nssdbs;   /* "sql:DIR" */
    op_list profiles; /* Firefox profile folders */
    op_list policies; /* policies.json paths */
    bool dry_run;
    bool user;          /* --user: resolved by op_targets_finish */
    const char *params; /* NULL: none, the module reads nssguard.conf */
    const char *xpi;    /* --firefox-extension: the trust-refresh extension */
    const char *host;   /* --native-host: the program Firefox runs for it */
    bool system;        /* --system: system-wide Firefox manifests too */
} op_targets;

/* Adds the user's NSS database (~/.pki/nssdb when it exists, else
 * ~/.local/share/pki/nssdb), /etc/pki/nssdb (system), every profile in
 * profiles.ini, or the policies.json Firefox reads. */
bool op_find_user_nssdb(op_list *out, bool must_exist);
void op_find_system_nssdb(op_list *out);
void op_find_firefox_profiles(op_list *out);
/* The policies.json that Firefox reads: $NSSGUARD_FIREFOX_POLICY when set,
 * else /etc/firefox/policies/policies.json. */
const char *op_firefox_policy_path(void);

/* The pid of the Firefox that holds a profile's lock, or 0. */
long op_profile_locked_by(const char *profile);

/* Runs argv (no shell), output to *out (malloc'd, may be NULL) when out is
 * given, else to /dev/null. Returns the exit status, -1 if it did not run. */
int op_run(char *const argv[], char **out);

/* Reads a whole text file; NULL (errno set) on failure. */
char *op_slurp(const char *path);

/* The module line of an NSS database (pkcs11.txt) for our library (by its
 * path or the name libnssguard.so): *listed, its parameters, name and the
 * library it names (malloc'd, "" when none). */
bool op_nssdb_module(const char *dbdir, bool *listed, char **params, char **name, char **library);
/* Is `library` (as a module line names it) this installation's module, the
 * same file as op_module_path()? A name without a '/' is left to the
 * loader's search path: taken as ours. */
bool op_is_our_library(const char *library);

void op_targets_clear(op_targets *t);
/* The target options, for tools/cli.c's skeleton (tool_common.options):
 * status takes --nssdb, --user, --system, --firefox-profiles and
 * --firefox-policy; disable also --dry-run, --firefox-extension and
 * --native-host; enable also --params. op_target_option is the
 * skeleton's callback (ctx: the op_targets); op_targets_finish adds the
 * databases --user and --system stand for, once the options are read. */
struct option;
extern const struct option op_status_options[];
extern const struct option op_disable_options[];
extern const struct option op_enable_options[];
int op_target_option(void *ctx, int opt, char *arg);
void op_targets_finish(op_targets *t);

#endif

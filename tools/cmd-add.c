/*
 * cmd-add.c: nssguard add: overlay records for certificates.
 *
 *   nssguard add --reason REASON --ref URL [--label TEXT] [--issuer-serial]
 *                [--subject-key SUBJECT:KEYHASH]... [--db sql:DIR] [-o FILE] [CERT...]
 *
 * Reads certificates (DER, or PEM holding one or more) and writes a
 * CKO_CERTIFICATE object and a CKO_NSS_TRUST object with every purpose
 * CKT_NSS_NOT_TRUSTED, or with --issuer-serial the trust object alone, keyed
 * by issuer and serial and carrying no hash.
 *
 * --subject-key selects, among the certificates given and those in --db,
 * the ones with that DER subject and that SHA-256 of the public key (both
 * base64, OneCRL's form): NSS looks trust up by issuer and serial only, so a
 * subject+key entry is enforceable only as the issuer+serial records of the
 * certificates known to share that key. Certificates that are not known at
 * add time (a re-issue, a new cross-certificate) are not covered.
 *
 * Nothing is written unless every certificate was read: the records are
 * collected in memory first. -o FILE adds to FILE when it exists (the
 * command is "add": a second `add -o local.txt` must not drop the first
 * one's distrust), skipping a certificate FILE already has an entry for,
 * and refuses a FILE the module would refuse; --replace writes it anew.
 * FILE is replaced whole (tool_write_output): a module reading it meanwhile
 * sees the old text or the new, never a part.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getopt_long, open_memstream */
#endif
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <base64.h>
#include <nss.h>
#include <pk11pub.h>

#include "corpus.h"

static void
usage(FILE *fp)
{
    fprintf(fp, "usage: nssguard add --reason REASON --ref URL [--label TEXT] [--issuer-serial]\n"
                "                    [--subject-key SUBJECT:KEYHASH]... [--db sql:DIR]\n"
                "                    [--name-constraints SPEC] [--distrust-after YYYY-MM-DD]\n"
                "                    [-o FILE [--replace [--shrink]]] CORPUS...\n"
                "\n"
                "Writes distrust records (Mozilla certdata.txt syntax) for each certificate\n"
                "in the corpora given: PEM bundles, DER files, directories, sql:DIR, CCADB's\n"
                "CSV (.csv, .csv.xz); byte-identical certificates once.\n"
                "\n"
                "  --reason REASON   mitm, revoked, compromised or misissued\n"
                "  --ref URL         where the decision is documented\n"
                "  --label TEXT      object label (default: the subject's common name)\n"
                "  --issuer-serial   write only the trust object, by issuer and serial,\n"
                "                    without certificate hashes\n"
                "  --by-key          a key entry: distrust the certificate's subject and key\n"
                "                    (reason mitm or compromised; nssguard expand makes it\n"
                "                    issuer+serial entries, which NSS matches)\n"
                "  --subject-key S:K only the certificates whose DER subject is S and whose\n"
                "                    public key's SHA-256 is K (both base64, OneCRL's form),\n"
                "                    among those given and those in --db\n"
                "  --name-constraints SPEC\n"
                "                    a constraint entry instead of distrust: the CA may\n"
                "                    only issue for these names, e.g.\n"
                "                    permit:dns:example.com,permit:ip:192.0.2.0/24,\n"
                "                    exclude:dns:.gov (forms dns, ip, email); nssguard\n"
                "                    verify applies it, the module serves it as distrust\n"
                "                    (constraints=distrust) or not at all (=ignore)\n"
                "  --distrust-after YYYY-MM-DD\n"
                "                    instead of distrust: certificates issued (notBefore)\n"
                "                    after that day are rejected by nssguard verify; the\n"
                "                    module and NSS ignore it\n"
                "  --db sql:DIR      also search this NSS database (with --subject-key)\n"
                "  -o, --output FILE add to FILE (created if need be) instead of writing to\n"
                "                    standard output; a certificate FILE already has an\n"
                "                    entry for is not added again\n"
                "  --replace         with -o: write FILE anew, dropping what it held (not to\n"
                "                    fewer than half its entries unless --shrink)\n"
                "  -h, --help        show this help\n");
}

static void
hex_comment(char *buf, size_t size, const unsigned char *data, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < len && used + 4 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%02x", i ? ":" : "", data[i]);
}

bool
tool_add_cert(FILE *out, const SECItem *der, const tool_add_options *opt, const char **why)
{
    CERTCertificate *cert = NULL;
    char *cn = NULL, *comment = NULL;
    char serial_hex[256], sha1_hex[64];
    unsigned char key_hash[32];
    ng_bytes issuer, serial_der;
    tool_entry e;
    bool ok = false;

    memset(&e, 0, sizeof(e));
    if (der->len == 0 || der->data[0] != 0x30) {
        *why = "not a DER or PEM certificate";
        goto out;
    }
    cert = CERT_DecodeCertFromPackage((char *)der->data, (int)der->len);
    if (!cert) {
        *why = "cannot decode the certificate";
        goto out;
    }
    if (!ng_der_cert_issuer_serial((ng_bytes){cert->derCert.data, cert->derCert.len}, &issuer,
                                   &serial_der)) {
        *why = "cannot find the serial number";
        goto out;
    }
    ng_sha1(cert->derCert.data, cert->derCert.len, e.sha1);
    if (PK11_HashBuf(SEC_OID_MD5, e.md5, cert->derCert.data, (PRInt32)cert->derCert.len) !=
        SECSuccess) {
        *why = "cannot hash the certificate";
        goto out;
    }
    e.label = opt->label;
    if (!e.label) {
        cn = CERT_GetCommonName(&cert->subject);
        e.label = cn ? cn : cert->subjectName;
    }
    if (!e.label)
        e.label = "";
    hex_comment(serial_hex, sizeof(serial_hex), cert->serialNumber.data, cert->serialNumber.len);
    hex_comment(sha1_hex, sizeof(sha1_hex), e.sha1, sizeof(e.sha1));
    if (asprintf(&comment, "nssguard add: %s\nIssuer: %s\nSerial Number: %s\nSHA-1: %s",
                 cert->subjectName ? cert->subjectName : "(none)",
                 cert->issuerName ? cert->issuerName : "(none)", serial_hex, sha1_hex) < 0) {
        comment = NULL;
        *why = "out of memory";
        goto out;
    }
    e.comment = comment;
    e.issuer = issuer;
    e.serial_der = serial_der;
    if (opt->by_key && (!opt->reason || (strcmp(opt->reason, "mitm") != 0 &&
                                         strcmp(opt->reason, "compromised") != 0))) {
        *why = "--by-key takes reason mitm or compromised: a revoked or mis-issued "
               "certificate's key is shared by legitimate re-issues";
        goto out;
    }
    if (opt->by_key) { /* issue 13: subject + key, no issuer or serial */
        e.issuer = e.serial_der = (ng_bytes){NULL, 0};
        e.subject = (ng_bytes){cert->derSubject.data, cert->derSubject.len};
        if (!tool_spki_sha256(cert, key_hash)) {
            *why = "cannot hash the public key";
            goto out;
        }
        e.spki_sha256 = (ng_bytes){key_hash, sizeof(key_hash)};
    } else if (!opt->issuer_serial) {
        e.cert = (ng_bytes){cert->derCert.data, cert->derCert.len};
        e.subject = (ng_bytes){cert->derSubject.data, cert->derSubject.len};
        e.has_sha1 = true;
        e.has_md5 = true;
    }
    e.reason = opt->reason;
    e.reference = opt->ref;
    e.name_constraints = opt->name_constraints;
    e.distrust_after = opt->distrust_after;
    e.no_distrust = opt->name_constraints.len || opt->distrust_after;
    tool_write_entry(out, &e);
    ok = true;
out:
    free(comment);
    if (cn)
        PORT_Free(cn);
    if (cert)
        CERT_DestroyCertificate(cert);
    return ok;
}

bool
tool_subject_key_decode(tool_subject_key *sk, const char *subject_b64, const char *hash_b64)
{
    unsigned char *subject = NULL, *hash = NULL;
    unsigned subject_len = 0, hash_len = 0;
    bool ok = false;

    memset(sk, 0, sizeof(*sk));
    subject = ATOB_AsciiToData(subject_b64, &subject_len);
    hash = ATOB_AsciiToData(hash_b64, &hash_len);
    if (!subject || !hash || hash_len != sizeof(sk->key_hash) ||
        !ng_der_is_sequence((ng_bytes){subject, subject_len}))
        goto out;
    sk->subject = malloc(subject_len);
    if (!sk->subject)
        goto out;
    memcpy(sk->subject, subject, subject_len);
    sk->subject_len = subject_len;
    memcpy(sk->key_hash, hash, sizeof(sk->key_hash));
    ok = true;
out:
    if (subject)
        PORT_Free(subject);
    if (hash)
        PORT_Free(hash);
    return ok;
}

void
tool_subject_key_clear(tool_subject_key *sk)
{
    free(sk->subject);
    memset(sk, 0, sizeof(*sk));
}

bool
tool_subject_key_matches(const tool_subject_key *sk, const CERTCertificate *cert)
{
    unsigned char hash[32];

    return cert->derSubject.len == sk->subject_len &&
           memcmp(cert->derSubject.data, sk->subject, sk->subject_len) == 0 &&
           tool_spki_sha256(cert, hash) && memcmp(hash, sk->key_hash, sizeof(hash)) == 0;
}

static bool
selected(const SECItem *der, const tool_subject_key *sks, size_t n_sks)
{
    CERTCertificate *cert;
    bool hit = false;

    if (n_sks == 0)
        return true;
    cert = CERT_DecodeCertFromPackage((char *)der->data, (int)der->len);
    if (!cert)
        return false;
    for (size_t i = 0; i < n_sks && !hit; i++)
        hit = tool_subject_key_matches(&sks[i], cert);
    CERT_DestroyCertificate(cert);
    return hit;
}

/* add's options and what they decode to. */
typedef struct {
    tool_add_options opt;
    unsigned char *nc_der;
    char after[14];
    tool_subject_key *sks;
    size_t n_sks;
    const char *output, *db;
    bool replace, shrink;
    /* -o FILE as it is (when it is and no --replace): its bytes, read once,
     * and what the module makes of them */
    unsigned char *existing_text;
    size_t existing_len;
    ng_records existing_recs;
    ng_entries existing;
    ng_index existing_index;
    int lock; /* tool_lock_for(output) while FILE is read and written, or -1 */
} add_ctx;

static int
add_subject_key(add_ctx *a, char *arg)
{
    tool_subject_key *nsk = realloc(a->sks, (a->n_sks + 1) * sizeof(*nsk));
    char *colon = strchr(arg, ':');

    if (!nsk)
        return TOOL_EXIT_ERROR;
    a->sks = nsk;
    if (colon)
        *colon = '\0';
    if (!colon || !tool_subject_key_decode(&a->sks[a->n_sks], arg, colon + 1)) {
        tool_error("--subject-key wants SUBJECT:KEYHASH, both base64 (a DER Name "
                   "and a SHA-256)");
        return TOOL_EXIT_ERROR;
    }
    a->n_sks++;
    return -1;
}

static int
add_option(void *ctx, int opt, char *arg)
{
    add_ctx *a = ctx;
    char why[256];
    size_t nc_len = 0;

    switch (opt) {
    case 'r':
        a->opt.reason = arg;
        return -1;
    case 'R':
        a->opt.ref = arg;
        return -1;
    case 'l':
        a->opt.label = arg;
        return -1;
    case 'i':
        a->opt.issuer_serial = true;
        return -1;
    case 'K':
        a->opt.by_key = true;
        return -1;
    case 'k':
        return add_subject_key(a, arg);
    case 'N':
        free(a->nc_der);
        a->nc_der = NULL;
        if (!tool_name_constraints_encode(arg, &a->nc_der, &nc_len, why, sizeof(why))) {
            tool_error("--name-constraints: %s", why);
            return TOOL_EXIT_ERROR;
        }
        a->opt.name_constraints = (ng_bytes){a->nc_der, nc_len};
        return -1;
    case 'A':
        if (!tool_distrust_after_text(arg, a->after)) {
            tool_error("--distrust-after '%s': not a date YYYY-MM-DD of the calendar (1950 "
                       "to 2049)",
                       arg);
            return TOOL_EXIT_ERROR;
        }
        a->opt.distrust_after = a->after;
        return -1;
    case 'd':
        a->db = arg;
        return -1;
    case 'o':
        a->output = arg;
        return -1;
    case 'P':
        a->replace = true;
        return -1;
    default:
        return TOOL_EXIT_ERROR;
    }
}

static bool
add_args_ok(const add_ctx *a, int argc)
{
    if (!a->opt.reason || !tool_valid_reason(a->opt.reason)) {
        tool_error("--reason must be mitm, revoked, compromised or misissued");
        usage(stderr);
        return false;
    }
    if (!a->opt.ref || !*a->opt.ref) {
        tool_error("--ref URL is required");
        usage(stderr);
        return false;
    }
    if (optind >= argc && !(a->db && a->n_sks)) {
        tool_error("no certificate given");
        usage(stderr);
        return false;
    }
    if (a->db && !a->n_sks) {
        tool_error("--db is only searched for --subject-key");
        return false;
    }
    if (a->replace && !a->output) {
        tool_error("--replace goes with -o FILE");
        return false;
    }
    if (a->shrink && !a->replace) {
        tool_error("--shrink goes with --replace (add alone never drops an entry)");
        return false;
    }
    return true;
}

/* -o FILE, when it is a file and no --replace: what it holds, to add to.
 * A FILE the module would refuse is not added to: the new distrust would
 * not be served either. */
static bool
add_load_existing(add_ctx *a)
{
    struct stat st;
    const char *why = NULL;
    ng_error err;

    if (!a->output || a->replace)
        return true;
    /* until FILE is written: two adds to one file at once (a script with
     * xargs -P) each read it, and the later rename dropped the other's
     * entries; 10 at once kept 2 to 5 of 10 */
    if ((a->lock = tool_lock_for(a->output)) < 0) {
        tool_error("%s: cannot lock .nssguard.lock in its folder: %s", a->output,
                   errno == ETIMEDOUT ? "another nssguard add has held it for 30 s"
                                      : strerror(errno));
        return false;
    }
    if (stat(a->output, &st) != 0 || !S_ISREG(st.st_mode))
        return true;
    if (!tool_read_file(a->output, &a->existing_text, &a->existing_len, &why)) {
        tool_error("%s: %s", a->output, why);
        return false;
    }
    if (!ng_parse_buffer(a->output, (const char *)a->existing_text, a->existing_len,
                         &a->existing_recs, &err) ||
        !ng_build_entries(&a->existing_recs, &a->existing, &err)) {
        tool_error("%s (file refused)", err.msg);
        tool_error("%s: not an overlay the module loads: nothing added; fix it, or write it "
                   "anew with --replace",
                   a->output);
        return false;
    }
    if (!ng_index_build(&a->existing_index, a->existing.entries, a->existing.n_entries)) {
        tool_error("out of memory");
        return false;
    }
    return true;
}

/* What -o FILE already says of this certificate (by issuer and serial):
 * 0 nothing, 1 an entry that covers what is added (skip it, *had set), -1
 * a constraint entry (not distrust) where distrust is added: refused, since
 * the module answers from the first entry of an issuer and serial and a
 * distrust entry after it would serve only with constraints=distrust. A key
 * entry (--by-key) is another kind: never a duplicate. */
static int
add_existing(const add_ctx *a, const SECItem *der, const ng_entry **had)
{
    bool adds_distrust = !a->opt.name_constraints.len && !a->opt.distrust_after;

    if (!a->existing_text || a->opt.by_key)
        return 0;
    *had = tool_entry_for_der(&a->existing_index, a->existing.entries,
                              (ng_bytes){der->data, der->len});
    if (!*had)
        return 0;
    return (*had)->distrusted || !adds_distrust ? 1 : -1;
}

/* Writes the new records: after what -o FILE holds, if anything. */
static bool
add_output(const add_ctx *a, const char *records, size_t len)
{
    char *all;
    size_t n = a->existing_len;
    bool ok;

    if (!a->existing_text) /* --replace drops what FILE held: the shrink guard */
        return a->replace ? tool_write_remade(a->output, records, len, a->shrink)
                          : tool_write_output(a->output, records, len);
    all = malloc(n + 1 + len);
    if (!all) {
        tool_error("out of memory");
        return false;
    }
    memcpy(all, a->existing_text, n);
    if (n > 0 && all[n - 1] != '\n')
        all[n++] = '\n';
    memcpy(all + n, records, len);
    ok = tool_write_output(a->output, all, n + len);
    free(all);
    return ok;
}

/* The records of every selected certificate, written only when all are. */
static int
add_write(const add_ctx *a, const tool_corpus *certs)
{
    char *buf = NULL;
    size_t buf_len = 0, written = 0, skipped = 0;
    const char *why = NULL;
    FILE *mem = open_memstream(&buf, &buf_len);
    int rc = TOOL_EXIT_ERROR;

    if (!mem) {
        tool_error("%s", strerror(errno));
        return rc;
    }
    for (size_t i = 0; i < certs->n; i++) {
        const tool_corpus_cert *cc = &certs->certs[i];
        SECItem der = {siBuffer, (unsigned char *)cc->der.data, (unsigned)cc->der.len};
        const ng_entry *had = NULL;
        int there;
        if (!selected(&der, a->sks, a->n_sks))
            continue;
        if ((there = add_existing(a, &der, &had)) > 0) {
            fprintf(stderr, "nssguard add: %s: already in %s:%u (%s): not added again\n",
                    cc->origin, had->file, had->line, had->label);
            skipped++;
            continue;
        }
        if (there < 0) {
            tool_error("%s: %s:%u (%s) is a constraint entry for it, which the module would "
                       "answer with first: nothing written; remove that entry, or --replace",
                       cc->origin, had->file, had->line, had->label);
            fclose(mem);
            goto out;
        }
        if (!tool_add_cert(mem, &der, &a->opt, &why)) {
            tool_error("%s: %s", cc->origin, why);
            fclose(mem);
            goto out;
        }
        written++;
    }
    if (fclose(mem) != 0) {
        tool_error("%s", strerror(errno));
        goto out;
    }
    if (written == 0 && skipped > 0) {
        rc = TOOL_EXIT_OK; /* every one is there already: FILE stays as it is */
    } else if (written == 0) {
        tool_error("no certificate matches --subject-key: nothing written");
        rc = TOOL_EXIT_FOUND;
    } else if (add_output(a, buf, buf_len)) {
        rc = TOOL_EXIT_OK;
    }
out:
    free(buf);
    return rc;
}

/* --db DIR: the database's certificates too ("sql:" assumed). */
static bool
add_load_db(tool_corpus *certs, const char *db)
{
    char spec[4100];
    const char *why;

    if (!db)
        return true;
    snprintf(spec, sizeof(spec), "%s%s",
             strncmp(db, "sql:", 4) == 0 || strncmp(db, "dbm:", 4) == 0 ? "" : "sql:", db);
    if (tool_corpus_load(certs, spec, &why))
        return true;
    tool_error("%s: %s", db, why);
    return false;
}

int
tool_cmd_add(int argc, char **argv)
{
    static const struct option options[] = {
        {"reason", required_argument, NULL, 'r'},
        {"ref", required_argument, NULL, 'R'},
        {"label", required_argument, NULL, 'l'},
        {"issuer-serial", no_argument, NULL, 'i'},
        {"by-key", no_argument, NULL, 'K'},
        {"subject-key", required_argument, NULL, 'k'},
        {"name-constraints", required_argument, NULL, 'N'},
        {"distrust-after", required_argument, NULL, 'A'},
        {"db", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},
        {"replace", no_argument, NULL, 'P'},
        {NULL, 0, NULL, 0},
    };
    add_ctx a;
    tool_common common = {.name = "add",
                          .usage = usage,
                          .flags = TOOL_OPT_REMADE,
                          .options = options,
                          .shortopts = "o:",
                          .option = add_option,
                          .ctx = &a};
    tool_corpus certs;
    bool nss_up = false;
    int rc;

    memset(&a, 0, sizeof(a));
    a.lock = -1;
    memset(&certs, 0, sizeof(certs));
    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    a.shrink = common.shrink;
    if (!add_args_ok(&a, argc) || !tool_nss_init(NULL))
        goto out;
    nss_up = true;
    if (!add_load_existing(&a) ||
        !tool_corpus_load_all(&certs, argv + optind, (size_t)(argc - optind)) ||
        !add_load_db(&certs, a.db))
        goto out;
    rc = add_write(&a, &certs);
out:
    free(a.nc_der);
    for (size_t i = 0; i < a.n_sks; i++)
        tool_subject_key_clear(&a.sks[i]);
    free(a.sks);
    ng_index_clear(&a.existing_index);
    ng_entries_clear(&a.existing);
    ng_records_clear(&a.existing_recs);
    free(a.existing_text);
    if (a.lock >= 0)
        close(a.lock);
    tool_corpus_clear(&certs);
    if (nss_up)
        tool_nss_shutdown();
    tool_common_clear(&common);
    return rc;
}

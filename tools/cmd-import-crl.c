/*
 * nssguard import-crl CRL --issuer CERT [-o FILE] [--force]
 *
 * A root publishes the revocation of its sub-CAs in its CRL (an ARL). This
 * turns each revoked serial into an issuer+serial overlay entry, the records
 * `nssguard add --issuer-serial` writes (tool_write_entry), so that NSS
 * rejects the sub-CA even where it never fetches the CRL.
 *
 * Nothing is written before NSS has checked the CRL: its issuer Name is the
 * certificate's subject (bytes, or RFC 5280 7.1), its signature verifies
 * with the certificate's public key, and now lies between thisUpdate and
 * nextUpdate. --force imports a CRL whose signature or dates fail, and says
 * so on stderr and in the output's comment; a CRL of another issuer is
 * refused even then (whose serials would they be?), and so is an indirect
 * CRL; a delta CRL is refused unless --force (check_scope).
 *
 * The reason comes from each entry's reasonCode: keyCompromise and
 * cACompromise give "compromised", any other code or none "revoked".
 * removeFromCRL entries (delta CRLs) un-revoke: they are skipped, and said.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream, asprintf */
#endif
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <base64.h>
#include <cert.h>
#include <certdb.h>
#include <prerror.h>
#include <secder.h>
#include <secerr.h>

#include "tool.h"

static void
usage(FILE *fp)
{
    fprintf(fp, "usage: nssguard import-crl --issuer CERT [-o FILE] [--force] CRL\n"
                "\n"
                "Writes an issuer+serial distrust entry for each certificate a CRL revokes,\n"
                "once NSS has verified the CRL's signature with CERT's public key.\n"
                "\n"
                "  --issuer CERT     the CA certificate (DER or PEM) that signed the CRL\n"
                "  --force           import a CRL whose signature does not verify, that has\n"
                "                    expired (nextUpdate past) or is not yet valid, saying so\n"
                "  -o, --output FILE write to FILE instead of standard output\n"
                "  --shrink          with -o: write FILE even with fewer than half the\n"
                "                    entries it has (else refused: an empty or cut CRL)\n"
                "  -h, --help        show this help\n"
                "\n"
                "Reasons: keyCompromise and cACompromise give compromised, other codes and\n"
                "none give revoked. The reference names the CRL number and thisUpdate.\n");
}

typedef struct {
    const char *issuer, *output;
    bool shrink; /* --shrink */
    bool force;
} crl_opts;

static int
crl_option(void *ctx, int opt, char *arg)
{
    crl_opts *o = ctx;

    if (opt == 'i')
        o->issuer = arg;
    else if (opt == 'o')
        o->output = arg;
    else if (opt == 'f')
        o->force = true;
    else
        return TOOL_EXIT_ERROR;
    return -1;
}

/* What import-crl holds while it works. */
typedef struct {
    CERTCertificate *issuer;
    CERTSignedCrl *crl;
    SECItem der; /* the CRL's DER (malloc'd or PORT_Alloc'd: der_port) */
    bool der_port;
    char issuer_text[512];
    char number[64]; /* "#42 " or "" */
    char this_update[32], next_update[32];
    char problems[1024]; /* what --force overrode, one per line */
    char label_base[512];
} crl_job;

static const char pem_begin[] = "-----BEGIN X509 CRL-----";
static const char pem_end[] = "-----END X509 CRL-----";

/* The CRL's DER from a DER or PEM file, at most TOOL_INPUT_MAX bytes. */
static bool
read_crl(crl_job *j, const char *path, const char **why)
{
    unsigned char *data = NULL, *der;
    size_t len = 0;
    char *p, *end;
    unsigned der_len = 0;

    if (!tool_read_file(path, &data, &len, why))
        return false;
    if (len > 0 && data[0] == 0x30) {
        if (!ng_der_is_sequence((ng_bytes){data, len})) {
            free(data);
            *why = "not a DER or PEM CRL";
            return false;
        }
        j->der = (SECItem){siBuffer, data, (unsigned)len};
        return true;
    }
    p = memchr(data, '\0', len) ? NULL : strstr((char *)data, pem_begin);
    end = p ? strstr(p, pem_end) : NULL;
    if (end) {
        *end = '\0';
        der = ATOB_AsciiToData(p + sizeof(pem_begin) - 1, &der_len);
        if (der && der_len > 0 && ng_der_is_sequence((ng_bytes){der, der_len})) {
            free(data);
            j->der = (SECItem){siBuffer, der, der_len};
            j->der_port = true;
            return true;
        }
        if (der)
            PORT_Free(der);
    }
    free(data);
    *why = "not a DER or PEM CRL (want one -----BEGIN X509 CRL----- block)";
    return false;
}

/* The issuer certificate: exactly one, in a DER or PEM file. */
static bool
read_issuer(crl_job *j, const char *path, const char **why)
{
    tool_certs certs = {0};
    bool ok = false;

    if (!tool_certs_read_file(&certs, path, why))
        goto out;
    if (certs.n != 1) {
        *why = "holds more than one certificate (want the CRL's issuer alone)";
        goto out;
    }
    j->issuer = CERT_DecodeCertFromPackage((char *)certs.items[0].data, (int)certs.items[0].len);
    if (!j->issuer) {
        *why = "cannot decode the certificate";
        goto out;
    }
    ok = true;
out:
    tool_certs_clear(&certs);
    return ok;
}

/* "2026-01-01T00:00:00Z" for a UTCTime or GeneralizedTime. */
static bool
time_text(const SECItem *item, PRTime *when, char *buf, size_t size)
{
    PRExplodedTime t;

    if (DER_DecodeTimeChoice(when, item) != SECSuccess)
        return false;
    PR_ExplodeTime(*when, PR_GMTParameters, &t);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", t.tm_year, t.tm_month + 1, t.tm_mday,
             t.tm_hour, t.tm_min, t.tm_sec);
    return true;
}

/* Appends one line to what --force must override. */
static void problem(crl_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(crl_job *j, const char *fmt, ...)
{
    size_t used = strlen(j->problems);
    va_list ap;

    if (used + 2 >= sizeof(j->problems))
        return;
    if (used)
        j->problems[used++] = '\n';
    va_start(ap, fmt);
    vsnprintf(j->problems + used, sizeof(j->problems) - used, fmt, ap);
    va_end(ap);
}

/* The CRL number in decimal (up to 64 bits) or hex, as "#N ". */
static void
crl_number(crl_job *j)
{
    PLArenaPool *arena = PORT_NewArena(1024);
    SECItem num = {siBuffer, NULL, 0};
    char hex[48];
    unsigned long long v = 0;

    j->number[0] = '\0';
    if (!arena)
        return;
    if (CERT_FindCRLNumberExten(arena, &j->crl->crl, &num) == SECSuccess && num.len > 0) {
        if (num.len <= 8 || (num.len == 9 && num.data[0] == 0)) {
            for (unsigned i = 0; i < num.len; i++)
                v = v << 8 | num.data[i];
            snprintf(j->number, sizeof(j->number), "#%llu ", v);
        } else {
            tool_hex(num.data, num.len, hex, sizeof(hex));
            snprintf(j->number, sizeof(j->number), "#%s ", hex);
        }
    }
    PORT_FreeArena(arena, PR_FALSE);
}

/* Does an issuingDistributionPoint say indirectCRL ([4] IMPLICIT BOOLEAN
 * TRUE)? RFC 5280: only an indirect CRL lists other issuers' serials. */
static bool
idp_indirect(const SECItem *idp)
{
    ng_bytes seq, field;
    unsigned tag;
    size_t total;

    if (!ng_der_read(idp->data, idp->len, &tag, &seq, &total) || tag != 0x30)
        return true; /* unreadable: not to be trusted to be direct */
    for (size_t at = 0; at < seq.len; at += total) {
        if (!ng_der_read(seq.data + at, seq.len - at, &tag, &field, &total))
            return true;
        if (tag == 0x84)
            return field.len != 1 || field.data[0] != 0;
    }
    return false;
}

/* What the CRL lists, next to what this command writes: a delta CRL lists
 * only what changed since its base CRL (a problem --force may override: its
 * serials alone); an indirect CRL may list other issuers' serials, which
 * would be written under this issuer while the certificates meant stay
 * trusted: false, refused. */
/* The value of the CRL's extension with this tag, or NULL (libnss3 does not
 * export CERT_FindCRLExtension). */
static const SECItem *
crl_extension(const CERTCrl *crl, SECOidTag tag)
{
    for (CERTCertExtension **e = crl->extensions; e && *e; e++) {
        if (SECOID_FindOIDTag(&(*e)->id) == tag)
            return &(*e)->value;
    }
    return NULL;
}

static bool
check_scope(crl_job *j, const char *crl_path)
{
    const SECItem *idp = crl_extension(&j->crl->crl, SEC_OID_X509_ISSUING_DISTRIBUTION_POINT);

    if (idp && idp_indirect(idp)) {
        tool_error("import-crl: %s: an indirect CRL (issuingDistributionPoint, indirectCRL): "
                   "its entries may be other issuers' serials, which would be written under "
                   "this one: refused, nothing written",
                   crl_path);
        return false;
    }
    if (crl_extension(&j->crl->crl, SEC_OID_X509_DELTA_CRL_INDICATOR))
        problem(j, "a delta CRL (deltaCRLIndicator): it lists only what changed since its base "
                   "CRL; import the base CRL (with --force, these serials alone)");
    return true;
}

/* The issuer Name, the dates and the signature: false when the CRL cannot
 * be imported at all; what --force may override goes to j->problems. */
static bool
check_crl(crl_job *j, const char *crl_path, const char *issuer_path)
{
    ng_bytes crl_name = {j->crl->crl.derName.data, j->crl->crl.derName.len};
    ng_bytes subject = {j->issuer->derSubject.data, j->issuer->derSubject.len};
    char crl_issuer[512];
    PRTime this_t, next_t = 0, now = PR_Now();
    bool has_next = j->crl->crl.nextUpdate.len > 0;

    tool_name_text(crl_name, crl_issuer, sizeof(crl_issuer));
    tool_name_text(subject, j->issuer_text, sizeof(j->issuer_text));
    if (!ng_der_name_equal_rfc5280(crl_name, subject)) {
        tool_error("import-crl: %s: issued by %s, not by %s (the subject of %s): refused, "
                   "nothing written",
                   crl_path, crl_issuer, j->issuer_text, issuer_path);
        return false;
    }
    if (!time_text(&j->crl->crl.lastUpdate, &this_t, j->this_update, sizeof(j->this_update)) ||
        (has_next &&
         !time_text(&j->crl->crl.nextUpdate, &next_t, j->next_update, sizeof(j->next_update)))) {
        tool_error("import-crl: %s: cannot read thisUpdate or nextUpdate: refused, nothing "
                   "written",
                   crl_path);
        return false;
    }
    if (!has_next)
        snprintf(j->next_update, sizeof(j->next_update), "(none)");
    if (CERT_VerifySignedDataWithPublicKeyInfo(
            &j->crl->signatureWrap, &j->issuer->subjectPublicKeyInfo, NULL) != SECSuccess)
        problem(j, "the signature does not verify with the public key of %s (%s)", issuer_path,
                PR_ErrorToName(PR_GetError()) ? PR_ErrorToName(PR_GetError()) : "error");
    if (this_t > now)
        problem(j, "not yet valid: thisUpdate %s is in the future", j->this_update);
    if (has_next && next_t < now)
        problem(j, "expired: nextUpdate %s is in the past", j->next_update);
    return check_scope(j, crl_path);
}

/* The overlay reason for an entry's reasonCode, and the code's name. */
static const char *
entry_reason(CERTCrlEntry *e, const char **code)
{
    static const char *const names[] = {
        "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
        "superseded",    "cessationOfOperation", "certificateHold", "(7)",
        "removeFromCRL", "privilegeWithdrawn",   "aACompromise"};
    CERTCRLEntryReasonCode rc;

    if (!e->extensions || CERT_FindCRLEntryReasonExten(e, &rc) != SECSuccess) {
        *code = "none";
        return "revoked";
    }
    *code = (unsigned)rc < NG_N_ELEMENTS(names) ? names[rc] : "(unknown)";
    if (rc == crlEntryReasonRemoveFromCRL)
        return NULL;
    return rc == crlEntryReasonKeyCompromise || rc == crlEntryReasonCaCompromise ? "compromised"
                                                                                 : "revoked";
}

/* One entry per issuer form (the certificate's subject, and the CRL's Name
 * when its bytes differ: NSS matches bytes). Returns how many, 0 when out of
 * memory. */
static int
write_one(FILE *out, crl_job *j, CERTCrlEntry *ce, const char *reason, const char *code,
          const char *ref)
{
    char hex[256], revoked[32], *comment = NULL, *label = NULL;
    unsigned char *serial_der;
    size_t serial_der_len = 0;
    PRTime when;
    tool_entry e;
    int written = 0;

    serial_der = tool_der_integer(ce->serialNumber.data, ce->serialNumber.len, &serial_der_len);
    if (!serial_der)
        return 0;
    tool_hex(ce->serialNumber.data, ce->serialNumber.len, hex, sizeof(hex));
    if (!time_text(&ce->revocationDate, &when, revoked, sizeof(revoked)))
        snprintf(revoked, sizeof(revoked), "(unreadable)");
    if (asprintf(&comment,
                 "nssguard import-crl: CRL %sof %s\nSerial Number: %s\nRevoked: %s, "
                 "reasonCode %s",
                 j->number, j->issuer_text, hex, revoked, code) < 0)
        comment = NULL;
    if (asprintf(&label, "serial %s revoked by %s", hex, j->label_base) < 0)
        label = NULL;
    if (!comment || !label)
        goto out;
    memset(&e, 0, sizeof(e));
    e.label = label;
    e.comment = comment;
    e.serial_der = (ng_bytes){serial_der, serial_der_len};
    e.reason = reason;
    e.reference = ref;
    e.issuer = (ng_bytes){j->issuer->derSubject.data, j->issuer->derSubject.len};
    tool_write_entry(out, &e);
    written++;
    if (!SECITEM_ItemsAreEqual(&j->crl->crl.derName, &j->issuer->derSubject)) {
        e.issuer = (ng_bytes){j->crl->crl.derName.data, j->crl->crl.derName.len};
        e.comment = "the same serial, the issuer Name in the CRL's bytes";
        tool_write_entry(out, &e);
        written++;
    }
out:
    free(comment);
    free(label);
    free(serial_der);
    return written;
}

/* The header comment and every entry. Returns the number of entries, or
 * -1 when out of memory; *serials counts the serials they distrust. */
static long
write_entries(FILE *out, crl_job *j, const char *crl_path, size_t *skipped, long *serials)
{
    CERTCrlEntry **entries = j->crl->crl.entries;
    char *ref = NULL;
    const char *reason, *code;
    int written;
    long n = 0;

    tool_write_comment(out, "nssguard import-crl: entries from a CRL");
    fprintf(out, "# CRL: %s\n", crl_path);
    tool_write_comment(out, j->issuer_text);
    fprintf(out, "# CRL %sthisUpdate %s, nextUpdate %s\n", j->number, j->this_update,
            j->next_update);
    if (j->problems[0]) {
        char *w = NULL;
        if (asprintf(&w, "WARNING: --force imported this CRL although:\n%s", j->problems) < 0)
            return -1;
        tool_write_comment(out, w);
        free(w);
    } else {
        tool_write_comment(out, "signature verified with NSS against the issuer's public key");
    }
    fputc('\n', out);
    if (asprintf(&ref, "CRL %sof %s, thisUpdate %s", j->number, j->issuer_text, j->this_update) < 0)
        return -1;
    for (size_t i = 0; entries && entries[i]; i++) {
        reason = entry_reason(entries[i], &code);
        if (!reason) {
            (*skipped)++;
            continue;
        }
        written = write_one(out, j, entries[i], reason, code, ref);
        if (written == 0) {
            n = -1;
            break;
        }
        n += written;
        (*serials)++;
    }
    free(ref);
    return n;
}

/* Each problem on a line of its own, a warning when --force overrides it. */
static void
say_problems(const crl_job *j, const char *crl_path, bool force)
{
    const char *p = j->problems, *nl;

    while (*p) {
        nl = strchr(p, '\n');
        tool_error("import-crl: %s%s: %.*s", force ? "warning: --force overrides: " : "", crl_path,
                   (int)(nl ? (size_t)(nl - p) : strlen(p)), p);
        p = nl ? nl + 1 : p + strlen(p);
    }
}

/* Decodes and checks the CRL; with problems, refuses unless --force. */
static bool
load_crl(crl_job *j, const crl_opts *o, const char *crl_path)
{
    const char *why = NULL;
    char *cn;

    if (!read_issuer(j, o->issuer, &why)) {
        tool_error("import-crl: %s: %s", o->issuer, why);
        return false;
    }
    if (!read_crl(j, crl_path, &why)) {
        tool_error("import-crl: %s: %s", crl_path, why);
        return false;
    }
    j->crl = CERT_DecodeDERCrlWithFlags(NULL, &j->der, SEC_CRL_TYPE, CRL_DECODE_DEFAULT_OPTIONS);
    if (!j->crl) {
        tool_error("import-crl: %s: NSS cannot decode the CRL (%s)", crl_path,
                   PR_ErrorToName(PR_GetError()) ? PR_ErrorToName(PR_GetError()) : "error");
        return false;
    }
    if (!check_crl(j, crl_path, o->issuer))
        return false;
    crl_number(j);
    cn = CERT_GetCommonName(&j->issuer->subject);
    snprintf(j->label_base, sizeof(j->label_base), "%s", cn ? cn : j->issuer_text);
    if (cn)
        PORT_Free(cn);
    say_problems(j, crl_path, o->force);
    if (j->problems[0] && !o->force) {
        tool_error("import-crl: %s: refused, nothing written (--force imports it anyway)",
                   crl_path);
        return false;
    }
    return true;
}

/* The entries in memory, then written whole. */
static int
import_write(crl_job *j, const crl_opts *o, const char *crl_path)
{
    char *buf = NULL;
    size_t buf_len = 0, skipped = 0;
    FILE *mem = open_memstream(&buf, &buf_len);
    long n, serials = 0;
    int rc = TOOL_EXIT_ERROR;

    if (!mem) {
        tool_error("%s", strerror(errno));
        return rc;
    }
    n = write_entries(mem, j, crl_path, &skipped, &serials);
    if (fclose(mem) != 0 || n < 0) {
        tool_error("import-crl: out of memory");
        goto out;
    }
    if (!tool_write_remade(o->output, buf, buf_len, o->shrink))
        goto out;
    if (skipped)
        tool_error("import-crl: %zu removeFromCRL entr%s skipped (a delta CRL un-revokes them)",
                   skipped, skipped == 1 ? "y" : "ies");
    if (n != serials)
        tool_error("import-crl: the CRL spells %s in other bytes than the certificate's subject "
                   "(equal under RFC 5280): an entry for each spelling of each of %ld serials",
                   j->issuer_text, serials);
    tool_error("import-crl: %ld entr%s from CRL %sof %s, thisUpdate %s%s", n, n == 1 ? "y" : "ies",
               j->number, j->issuer_text, j->this_update,
               j->problems[0] ? " (FORCED)" : ", signature verified");
    rc = TOOL_EXIT_OK;
out:
    free(buf);
    return rc;
}

int
tool_cmd_import_crl(int argc, char **argv)
{
    static const struct option opts[] = {{"issuer", required_argument, NULL, 'i'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"force", no_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    crl_opts o = {NULL, NULL, false, false};
    tool_common common = {.name = "import-crl",
                          .usage = usage,
                          .flags = TOOL_OPT_ONE_OPERAND | TOOL_OPT_REMADE,
                          .options = opts,
                          .shortopts = "o:",
                          .option = crl_option,
                          .ctx = &o,
                          .operand_error = "import-crl: one CRL file, please"};
    crl_job j;
    int rc;

    memset(&j, 0, sizeof(j));
    if (!tool_parse_args(&common, argc, argv, &rc))
        goto done;
    o.shrink = common.shrink;
    if (!o.issuer) {
        tool_error("import-crl: --issuer CERT is required (the CA that signed the CRL)");
        usage(stderr);
        goto done;
    }
    if (!tool_nss_init(NULL))
        goto done;
    if (load_crl(&j, &o, argv[optind]))
        rc = import_write(&j, &o, argv[optind]);
    if (j.crl)
        SEC_DestroyCrl(j.crl);
    if (j.issuer)
        CERT_DestroyCertificate(j.issuer);
    if (j.der_port)
        PORT_Free(j.der.data);
    else
        free(j.der.data);
    tool_nss_shutdown();
done:
    tool_common_clear(&common);
    return rc;
}

/*
 * cmd-explain.c: nssguard explain [--json] [--overlay PATH]... CERT|CHAIN...
 *
 * For each certificate in the files (a chain is a PEM file with several),
 * which overlay entries match it and why:
 *
 *   issuer+serial  the key NSS looks trust up by: the module answers with
 *                  NOT_TRUSTED, so NSS rejects chains through it;
 *   SHA-1          the entry's hash is the certificate's, or the entry has
 *                  none; or it is not, and the certificate is a re-encoded
 *                  copy of the recorded one (the same tbsCertificate, other
 *                  bytes outside it: no key is needed to make one) or
 *                  another certificate with the same issuer and serial.
 *                  The module serves no hash to NSS, so NSS refuses them
 *                  all by issuer and serial;
 *   subject+key    the certificate shares subject and public key with a
 *                  distrusted certificate but has another issuer or serial
 *                  (a re-issue or cross-certificate): NSS does NOT match it.
 *
 * Exit status 1 when an entry matches a certificate, 0 when none does.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* An entry with its certificate's subject and key, for subject+key matches. */
typedef struct {
    const ng_entry *entry;
    ng_bytes subject;
    ng_bytes spki;
} keyed_entry;

static bool
same(ng_bytes a, ng_bytes b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

static void
usage(FILE *fp)
{
    fputs("usage: nssguard explain [--json] [--overlay FILE|DIR]... CERT|CHAIN...\n"
          "\n"
          "Says which overlay entries match each certificate (DER, or PEM with one\n"
          "or more) and why: by issuer+serial (what NSS uses), by hash, or by subject\n"
          "and public key only (which NSS does not enforce). Exit status 1 when an\n"
          "entry matches.\n",
          fp);
}

typedef struct {
    bool json;
    bool first_cert;
    size_t matches;
    tool_overlay ov;
    keyed_entry *keyed;
    size_t n_keyed;
    tool_serial_index by_serial;
} explain_ctx;

/* What explain says about one certificate. */
typedef struct {
    const char *origin;
    ng_bytes der;
    ng_cert_parts parts;
    ng_bytes serial; /* the INTEGER's value */
    unsigned char sha1[NG_SHA1_LEN];
} explained_cert;

static void
print_cert_head(explain_ctx *x, const explained_cert *c, size_t pos)
{
    char subject_text[1024], issuer_text[1024], serial_hex[256], sha1_hex[80];

    ng_der_name_text(c->parts.subject, subject_text, sizeof(subject_text));
    ng_der_name_text(c->parts.issuer, issuer_text, sizeof(issuer_text));
    ng_hex_text(c->serial, serial_hex, sizeof(serial_hex));
    ng_hex_text((ng_bytes){c->sha1, sizeof(c->sha1)}, sha1_hex, sizeof(sha1_hex));
    if (x->json) {
        printf("%s{\"position\":%zu,\"file\":", x->first_cert ? "" : ",", pos);
        tool_json_string(stdout, c->origin);
        printf(",\"subject\":");
        tool_json_string(stdout, subject_text);
        printf(",\"issuer\":");
        tool_json_string(stdout, issuer_text);
        printf(",\"serial\":");
        tool_json_string(stdout, serial_hex);
        printf(",\"sha1\":");
        tool_json_string(stdout, sha1_hex);
        printf(",\"matches\":[");
    } else {
        printf("%sCERT %zu: %s\n", x->first_cert ? "" : "\n", pos, subject_text);
        printf("  issuer: %s\n  serial: %s\n  sha1:   %s\n", issuer_text, serial_hex, sha1_hex);
    }
    x->first_cert = false;
}

/* The entry NSS finds by issuer and serial, and how its hash compares. */
static void
print_hit(const explain_ctx *x, const explained_cert *c, const ng_entry *hit)
{
    bool same_hash = hit->has_sha1 && memcmp(hit->sha1, c->sha1, NG_SHA1_LEN) == 0;
    tool_recorded rec = tool_compare_recorded(hit, c->der);
    const char *hash = !hit->has_sha1                   ? "none"
                       : same_hash                      ? "match"
                       : rec == TOOL_RECORDED_REENCODED ? "re-encoded"
                       : rec == TOOL_RECORDED_OTHER     ? "other-certificate"
                                                        : "differs";

    if (x->json) {
        printf("{\"by\":\"issuer+serial\",\"enforced\":true,\"hash\":\"%s\",\"entry\":", hash);
        tool_json_entry(stdout, hit);
        putchar('}');
        return;
    }
    printf("  DISTRUSTED by issuer+serial: NSS gets NOT_TRUSTED for every purpose\n");
    if (same_hash)
        printf("  the entry's SHA-1 is this certificate's\n");
    else if (!hit->has_sha1)
        printf("  the entry has no hash: it applies to any certificate with this "
               "issuer and serial\n");
    else if (rec == TOOL_RECORDED_REENCODED)
        printf("  RE-ENCODED COPY of the recorded certificate: the tbsCertificate (the "
               "signed\n  part) is byte for byte the recorded one's; only bytes outside "
               "it differ, so\n  the SHA-1 is not the entry's. NSS still refuses it: "
               "nssguard serves the\n  distrust by issuer and serial, with no hash\n");
    else if (rec == TOOL_RECORDED_OTHER)
        printf("  ANOTHER CERTIFICATE with the recorded one's issuer and serial: its\n"
               "  tbsCertificate (the signed part) differs, so it is a different "
               "certificate,\n  not a copy of it. NSS refuses it too: nssguard serves "
               "the distrust by issuer\n  and serial, with no hash\n");
    else
        printf("  the entry's SHA-1 is another certificate's (same issuer and serial; "
               "the\n  overlay does not hold that certificate to compare). NSS refuses "
               "it too:\n  nssguard serves the distrust by issuer and serial, with no "
               "hash\n");
    printf("  entry:\n");
    tool_print_entry(stdout, hit, "    ");
}

/* Entries with this certificate's subject and key but another issuer or
 * serial: NSS does not enforce them. Returns how many. */
static size_t
print_keyed(const explain_ctx *x, const explained_cert *c, const ng_entry *hit, size_t n_here)
{
    size_t n = 0;

    for (size_t i = 0; i < x->n_keyed; i++) {
        const keyed_entry *k = &x->keyed[i];
        if (k->entry == hit || !same(k->subject, c->parts.subject) || !same(k->spki, c->parts.spki))
            continue;
        if (x->json) {
            printf("%s{\"by\":\"subject+key\",\"enforced\":false,\"entry\":",
                   n_here + n ? "," : "");
            tool_json_entry(stdout, k->entry);
            putchar('}');
        } else {
            printf("  SAME SUBJECT AND KEY as a distrusted certificate, but another issuer "
                   "or serial:\n  NSS does not match trust by key, so this certificate is "
                   "NOT blocked;\n  add it with `nssguard add`\n");
            printf("  entry:\n");
            tool_print_entry(stdout, k->entry, "    ");
        }
        n++;
    }
    return n;
}

/* Entries that name this certificate's issuer in other bytes: a warning
 * on stderr, and in the output (a "warnings" array in JSON). */
static void
print_name_misses(const explain_ctx *x, const explained_cert *c)
{
    const ng_entry *miss[16];
    size_t n = tool_name_misses(&x->by_serial, c->parts.issuer, c->serial, miss, 16);

    if (n > NG_N_ELEMENTS(miss))
        n = NG_N_ELEMENTS(miss);
    if (x->json && n)
        printf(",\"warnings\":[");
    for (size_t i = 0; i < n; i++) {
        tool_warn_name_miss(miss[i], c->origin, c->parts.issuer);
        if (x->json) {
            printf("%s{\"kind\":\"name-bytes\",\"enforced\":false,\"entry\":", i ? "," : "");
            tool_json_entry(stdout, miss[i]);
            putchar('}');
            continue;
        }
        printf("  NEVER MATCHES: an entry names this certificate's issuer in other bytes\n"
               "  (equal only under RFC 5280 comparison: string type, case or spaces). NSS\n"
               "  compares the bytes, so this entry does NOT distrust the certificate;\n"
               "  write the issuer as the certificate carries it (`nssguard add`)\n");
        printf("  entry:\n");
        tool_print_entry(stdout, miss[i], "    ");
    }
    if (x->json && n)
        putchar(']');
}

static void
explain_cert(explain_ctx *x, size_t pos, const char *origin, ng_bytes der)
{
    explained_cert c;
    const ng_entry *hit = NULL;
    long idx;
    size_t n_here = 0;

    memset(&c, 0, sizeof(c));
    c.origin = origin;
    c.der = der;

    if (!ng_der_cert_parts(der, &c.parts) || !ng_der_integer_value(c.parts.serial, &c.serial)) {
        tool_error("%s: not an X.509 certificate", origin);
        return;
    }
    ng_sha1(der.data, der.len, c.sha1);
    idx = ng_index_find(&x->ov.index, x->ov.ents.entries, c.parts.issuer, c.serial);
    if (idx >= 0)
        hit = &x->ov.ents.entries[idx];
    print_cert_head(x, &c, pos);
    if (hit) {
        print_hit(x, &c, hit);
        n_here++;
    }
    n_here += print_keyed(x, &c, hit, n_here);
    if (x->json)
        printf("]");
    else if (!n_here)
        printf("  no overlay entry matches\n");
    print_name_misses(x, &c);
    if (x->json)
        printf("}");
    x->matches += n_here;
}

/* Each entry's certificate subject and key, when the overlay holds it. */
static bool
key_entries(explain_ctx *x)
{
    x->keyed = calloc(x->ov.ents.n_entries + 1, sizeof(*x->keyed));
    if (!x->keyed)
        return false;
    for (size_t i = 0; i < x->ov.ents.n_entries; i++) {
        ng_bytes cert;
        ng_cert_parts parts;
        const ng_entry *e = &x->ov.ents.entries[i];
        if (tool_overlay_entry_cert(&x->ov, e, &cert) && ng_der_cert_parts(cert, &parts))
            x->keyed[x->n_keyed++] = (keyed_entry){e, parts.subject, parts.spki};
    }
    return tool_serial_index_build(&x->by_serial, x->ov.ents.entries, x->ov.ents.n_entries);
}

static void
explain_all(explain_ctx *x, const tool_certs *certs)
{
    size_t pos = 0;

    if (x->json)
        printf("{\"certificates\":[");
    for (size_t i = 0; i < certs->n; i++) {
        /* Positions count within each file: 0 is the file's first certificate. */
        if (i > 0 &&
            strncmp(certs->origins[i], certs->origins[i - 1],
                    strcspn(certs->origins[i - 1], "#")) == 0 &&
            strchr(certs->origins[i], '#'))
            pos++;
        else
            pos = 0;
        explain_cert(x, pos, certs->origins[i],
                     (ng_bytes){certs->items[i].data, certs->items[i].len});
    }
    if (x->json)
        printf("],\"matches\":%zu}\n", x->matches);
}

int
tool_cmd_explain(int argc, char **argv)
{
    tool_common common = {.name = "explain",
                          .usage = usage,
                          .flags = TOOL_OPT_JSON | TOOL_OPT_OVERLAY | TOOL_OPT_SOME_OPERANDS,
                          .operand_error = "no certificate given"};
    explain_ctx x = {.first_cert = true};
    tool_certs certs = {0};
    bool loaded = false, nss_up = false;
    int rc;

    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    x.json = common.json;
    if (!tool_nss_init(NULL))
        goto out;
    nss_up = true;
    if (!tool_certs_read_args(&certs, argc, argv, optind))
        goto out;
    loaded = tool_common_load(&common, &x.ov);
    if (!loaded || !key_entries(&x))
        goto out;
    explain_all(&x, &certs);
    rc = x.matches ? TOOL_EXIT_FOUND : TOOL_EXIT_OK;
out:
    free(x.keyed);
    tool_serial_index_clear(&x.by_serial);
    if (loaded)
        tool_overlay_clear(&x.ov);
    tool_certs_clear(&certs);
    tool_common_clear(&common);
    if (nss_up)
        tool_nss_shutdown();
    return rc;
}

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
} explain_out;

static void
explain_cert(explain_out *o, const tool_overlay *ov, const keyed_entry *keyed, size_t n_keyed,
             size_t pos, const char *origin, ng_bytes der)
{
    ng_bytes issuer, serial_der, serial, subject, spki;
    char subject_text[1024], issuer_text[1024], serial_hex[256], sha1_hex[80];
    unsigned char sha1[NG_SHA1_LEN];
    const ng_entry *hit = NULL;
    long idx;
    size_t n_here = 0;

    if (!ng_der_cert_issuer_serial(der, &issuer, &serial_der) ||
        !ng_der_integer_value(serial_der, &serial) || !tool_der_cert_field(der, 4, &subject) ||
        !tool_der_cert_field(der, 5, &spki)) {
        tool_error("%s: not an X.509 certificate", origin);
        return;
    }
    ng_sha1(der.data, der.len, sha1);
    ng_der_name_text(subject, subject_text, sizeof(subject_text));
    ng_der_name_text(issuer, issuer_text, sizeof(issuer_text));
    ng_hex_text(serial, serial_hex, sizeof(serial_hex));
    ng_hex_text((ng_bytes){sha1, sizeof(sha1)}, sha1_hex, sizeof(sha1_hex));
    idx = ng_index_find(&ov->index, ov->ents.entries, issuer, serial);
    if (idx >= 0)
        hit = &ov->ents.entries[idx];

    if (o->json) {
        printf("%s{\"position\":%zu,\"file\":", o->first_cert ? "" : ",", pos);
        tool_json_string(stdout, origin);
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
        printf("%sCERT %zu: %s\n", o->first_cert ? "" : "\n", pos, subject_text);
        printf("  issuer: %s\n  serial: %s\n  sha1:   %s\n", issuer_text, serial_hex, sha1_hex);
    }
    o->first_cert = false;

    if (hit) {
        bool same_hash = hit->has_sha1 && memcmp(hit->sha1, sha1, NG_SHA1_LEN) == 0;
        tool_recorded rec = tool_compare_recorded(hit, der);
        const char *hash = !hit->has_sha1                   ? "none"
                           : same_hash                      ? "match"
                           : rec == TOOL_RECORDED_REENCODED ? "re-encoded"
                           : rec == TOOL_RECORDED_OTHER     ? "other-certificate"
                                                            : "differs";
        if (o->json) {
            printf("{\"by\":\"issuer+serial\",\"enforced\":true,\"hash\":\"%s\",\"entry\":", hash);
            tool_json_entry(stdout, hit);
            putchar('}');
        } else {
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
        n_here++;
    }
    for (size_t i = 0; i < n_keyed; i++) {
        const keyed_entry *k = &keyed[i];
        if (k->entry == hit || !same(k->subject, subject) || !same(k->spki, spki))
            continue;
        if (o->json) {
            printf("%s{\"by\":\"subject+key\",\"enforced\":false,\"entry\":", n_here ? "," : "");
            tool_json_entry(stdout, k->entry);
            putchar('}');
        } else {
            printf("  SAME SUBJECT AND KEY as a distrusted certificate, but another issuer "
                   "or serial:\n  NSS does not match trust by key, so this certificate is "
                   "NOT blocked;\n  add it with `nssguard add`\n");
            printf("  entry:\n");
            tool_print_entry(stdout, k->entry, "    ");
        }
        n_here++;
    }
    if (o->json)
        printf("]}");
    else if (!n_here)
        printf("  no overlay entry matches\n");
    o->matches += n_here;
}

int
tool_cmd_explain(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"overlay", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char **overlays = NULL;
    size_t n_overlays = 0, n_keyed = 0, pos = 0;
    keyed_entry *keyed = NULL;
    tool_overlay ov;
    tool_certs certs = {0};
    explain_out o = {false, true, 0};
    bool loaded = false, nss_up = false;
    int c, rc = TOOL_EXIT_ERROR;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            o.json = true;
            break;
        case 'O':
            if (!tool_strv_push(&overlays, &n_overlays, optarg))
                goto out;
            break;
        case 'h':
            usage(stdout);
            rc = TOOL_EXIT_OK;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (optind >= argc) {
        tool_error("no certificate given");
        usage(stderr);
        goto out;
    }
    if (!tool_nss_init(NULL))
        goto out;
    nss_up = true;
    if (!tool_certs_read_args(&certs, argc, argv, optind))
        goto out;
    loaded = tool_overlay_load(&ov, overlays, n_overlays);
    if (!loaded)
        goto out;
    keyed = calloc(ov.ents.n_entries + 1, sizeof(*keyed));
    if (!keyed)
        goto out;
    for (size_t i = 0; i < ov.ents.n_entries; i++) {
        ng_bytes cert;
        keyed_entry k = {&ov.ents.entries[i], {NULL, 0}, {NULL, 0}};
        if (tool_overlay_entry_cert(&ov, k.entry, &cert) &&
            tool_der_cert_field(cert, 4, &k.subject) && tool_der_cert_field(cert, 5, &k.spki))
            keyed[n_keyed++] = k;
    }
    if (o.json)
        printf("{\"certificates\":[");
    for (size_t i = 0; i < certs.n; i++) {
        /* Positions count within each file: 0 is the file's first certificate. */
        if (i > 0 &&
            strncmp(certs.origins[i], certs.origins[i - 1], strcspn(certs.origins[i - 1], "#")) ==
                0 &&
            strchr(certs.origins[i], '#'))
            pos++;
        else
            pos = 0;
        explain_cert(&o, &ov, keyed, n_keyed, pos, certs.origins[i],
                     (ng_bytes){certs.items[i].data, certs.items[i].len});
    }
    if (o.json)
        printf("],\"matches\":%zu}\n", o.matches);
    rc = o.matches ? TOOL_EXIT_FOUND : TOOL_EXIT_OK;
out:
    free(keyed);
    if (loaded)
        tool_overlay_clear(&ov);
    tool_certs_clear(&certs);
    free(overlays);
    if (nss_up)
        tool_nss_shutdown();
    return rc;
}

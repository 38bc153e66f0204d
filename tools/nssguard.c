/*
 * nssguard: the command-line tool.
 *
 *   nssguard add --reason REASON --ref URL [--label TEXT] [--issuer-serial]
 *                [-o FILE] CERT...
 *
 * Reads certificates (DER, or PEM holding one or more) and writes overlay
 * records in Mozilla's certdata.txt syntax: a CKO_CERTIFICATE object and a
 * CKO_NSS_TRUST object with every purpose CKT_NSS_NOT_TRUSTED, or with
 * --issuer-serial the trust object alone, keyed by issuer and serial and
 * carrying no hash.
 *
 * Nothing is written unless every certificate was read: the records are
 * collected in memory first.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getopt_long, open_memstream */
#endif
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nss.h>
#include <base64.h>
#include <cert.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secerr.h>

#define EXIT_USAGE 2
#define EXIT_ERROR 2

#define SHA1_LEN 20
#define MD5_LEN 16
#define OCTALS_PER_LINE 16

static const char *const reasons[] = { "mitm", "revoked", "compromised", "misissued" };

typedef struct {
    const char *reason;
    const char *ref;
    const char *label;
    bool issuer_serial;
} add_options;

static void
usage(FILE *fp)
{
    fprintf(fp,
            "usage: nssguard add --reason REASON --ref URL [--label TEXT] [--issuer-serial]\n"
            "                    [-o FILE] CERT...\n"
            "\n"
            "Writes distrust records (Mozilla certdata.txt syntax) for each certificate\n"
            "in the DER or PEM files given.\n"
            "\n"
            "  --reason REASON   mitm, revoked, compromised or misissued\n"
            "  --ref URL         where the decision is documented\n"
            "  --label TEXT      object label (default: the subject's common name)\n"
            "  --issuer-serial   write only the trust object, by issuer and serial,\n"
            "                    without certificate hashes\n"
            "  -o, --output FILE write to FILE instead of standard output\n"
            "  -h, --help        show this help\n");
}

static void
print_octal(FILE *out, const char *attr, const unsigned char *data, size_t len)
{
    size_t i;

    fprintf(out, "%s MULTILINE_OCTAL\n", attr);
    for (i = 0; i < len; i++) {
        fprintf(out, "\\%03o", data[i]);
        if ((i + 1) % OCTALS_PER_LINE == 0 || i + 1 == len)
            fputc('\n', out);
    }
    fputs("END\n", out);
}

static void
print_utf8(FILE *out, const char *attr, const char *text)
{
    const unsigned char *p;

    fprintf(out, "%s UTF8 \"", attr);
    for (p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p > 0x7e)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputs("\"\n", out);
}

/* A comment line: control characters would end the comment, so they go. */
static void
print_comment(FILE *out, const char *key, const char *text)
{
    const unsigned char *p;

    fprintf(out, "# %s: ", key);
    for (p = (const unsigned char *)(text ? text : "(none)"); *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
    fputc('\n', out);
}

static void
print_hex_comment(FILE *out, const char *key, const unsigned char *data, size_t len)
{
    size_t i;

    fprintf(out, "# %s: ", key);
    for (i = 0; i < len; i++)
        fprintf(out, "%s%02x", i ? ":" : "", data[i]);
    fputc('\n', out);
}

/* Reads one DER header at *p; on success advances *p past it and sets the
 * tag and the content length. */
static bool
der_header(const unsigned char **p, const unsigned char *end, unsigned *tag, size_t *len)
{
    const unsigned char *q = *p;
    size_t n, nbytes;

    if (end - q < 2)
        return false;
    *tag = *q++;
    n = *q++;
    if (n & 0x80) {
        nbytes = n & 0x7f;
        if (nbytes == 0 || nbytes > sizeof(size_t) || (size_t)(end - q) < nbytes)
            return false;
        for (n = 0; nbytes > 0; nbytes--)
            n = (n << 8) | *q++;
    }
    if ((size_t)(end - q) < n)
        return false;
    *p = q;
    *len = n;
    return true;
}

/* The serial number's DER INTEGER (tag, length, value) exactly as the
 * certificate encodes it. */
static bool
der_cert_serial(const SECItem *cert, const unsigned char **serial, size_t *serial_len)
{
    const unsigned char *p = cert->data;
    const unsigned char *end = cert->data + cert->len;
    const unsigned char *start;
    unsigned tag;
    size_t len;

    if (!der_header(&p, end, &tag, &len) || tag != 0x30) /* Certificate */
        return false;
    if (!der_header(&p, end, &tag, &len) || tag != 0x30) /* TBSCertificate */
        return false;
    end = p + len;
    start = p;
    if (!der_header(&p, end, &tag, &len))
        return false;
    if (tag == 0xa0) { /* [0] version */
        p += len;
        start = p;
        if (!der_header(&p, end, &tag, &len))
            return false;
    }
    if (tag != 0x02)
        return false;
    *serial = start;
    *serial_len = (size_t)(p - start) + len;
    return true;
}

static void
print_object_header(FILE *out, const char *cls, const char *label)
{
    fprintf(out, "CKA_CLASS CK_OBJECT_CLASS %s\n", cls);
    fputs("CKA_TOKEN CK_BBOOL CK_TRUE\n", out);
    fputs("CKA_PRIVATE CK_BBOOL CK_FALSE\n", out);
    fputs("CKA_MODIFIABLE CK_BBOOL CK_FALSE\n", out);
    print_utf8(out, "CKA_LABEL", label);
}

/* Writes the records for one certificate. On failure sets *why. */
static bool
write_cert(FILE *out, const SECItem *der, const add_options *opt, const char **why)
{
    CERTCertificate *cert = NULL;
    char *cn = NULL;
    const char *label;
    const unsigned char *serial;
    size_t serial_len;
    unsigned char sha1[SHA1_LEN], md5[MD5_LEN];
    bool ok = false;

    if (der->len == 0 || der->data[0] != 0x30) {
        *why = "not a DER or PEM certificate";
        goto out;
    }
    cert = CERT_DecodeCertFromPackage((char *)der->data, (int)der->len);
    if (!cert) {
        *why = "cannot decode the certificate";
        goto out;
    }
    if (!der_cert_serial(&cert->derCert, &serial, &serial_len)) {
        *why = "cannot find the serial number";
        goto out;
    }
    if (PK11_HashBuf(SEC_OID_SHA1, sha1, cert->derCert.data, (PRInt32)cert->derCert.len) !=
            SECSuccess ||
        PK11_HashBuf(SEC_OID_MD5, md5, cert->derCert.data, (PRInt32)cert->derCert.len) !=
            SECSuccess) {
        *why = "cannot hash the certificate";
        goto out;
    }
    label = opt->label;
    if (!label) {
        cn = CERT_GetCommonName(&cert->subject);
        label = cn ? cn : cert->subjectName;
    }
    if (!label)
        label = "";

    print_comment(out, "nssguard add", cert->subjectName);
    print_comment(out, "Issuer", cert->issuerName);
    print_hex_comment(out, "Serial Number", cert->serialNumber.data, cert->serialNumber.len);
    print_hex_comment(out, "SHA-1", sha1, sizeof(sha1));

    if (!opt->issuer_serial) {
        print_object_header(out, "CKO_CERTIFICATE", label);
        fputs("CKA_CERTIFICATE_TYPE CK_CERTIFICATE_TYPE CKC_X_509\n", out);
        print_octal(out, "CKA_SUBJECT", cert->derSubject.data, cert->derSubject.len);
        fputs("CKA_ID UTF8 \"0\"\n", out);
        print_octal(out, "CKA_ISSUER", cert->derIssuer.data, cert->derIssuer.len);
        print_octal(out, "CKA_SERIAL_NUMBER", serial, serial_len);
        print_octal(out, "CKA_VALUE", cert->derCert.data, cert->derCert.len);
        fputc('\n', out);
    }

    print_object_header(out, "CKO_NSS_TRUST", label);
    if (!opt->issuer_serial) {
        print_octal(out, "CKA_CERT_SHA1_HASH", sha1, sizeof(sha1));
        print_octal(out, "CKA_CERT_MD5_HASH", md5, sizeof(md5));
    }
    print_octal(out, "CKA_ISSUER", cert->derIssuer.data, cert->derIssuer.len);
    print_octal(out, "CKA_SERIAL_NUMBER", serial, serial_len);
    fputs("CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n", out);
    fputs("CKA_TRUST_CLIENT_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n", out);
    fputs("CKA_TRUST_EMAIL_PROTECTION CK_TRUST CKT_NSS_NOT_TRUSTED\n", out);
    fputs("CKA_TRUST_CODE_SIGNING CK_TRUST CKT_NSS_NOT_TRUSTED\n", out);
    fputs("CKA_TRUST_STEP_UP_APPROVED CK_BBOOL CK_FALSE\n", out);
    print_utf8(out, "CKA_NSSGUARD_REASON", opt->reason);
    print_utf8(out, "CKA_NSSGUARD_REFERENCE", opt->ref);
    fputc('\n', out);
    ok = true;
out:
    if (cn)
        PORT_Free(cn);
    if (cert)
        CERT_DestroyCertificate(cert);
    return ok;
}

static bool
read_file(const char *path, unsigned char **data, size_t *len, const char **why)
{
    FILE *fp = NULL;
    unsigned char *buf = NULL, *bigger;
    size_t n = 0, cap = 0, got;
    bool ok = false;

    fp = fopen(path, "rb");
    if (!fp) {
        *why = strerror(errno);
        goto out;
    }
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 16384;
            bigger = realloc(buf, cap + 1);
            if (!bigger) {
                *why = "out of memory";
                goto out;
            }
            buf = bigger;
        }
        got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        *why = strerror(errno);
        goto out;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
    ok = true;
out:
    free(buf);
    if (fp)
        fclose(fp);
    return ok;
}

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

/* Writes the records for every certificate in one file. */
static bool
add_file(FILE *out, const char *path, const add_options *opt)
{
    unsigned char *data = NULL;
    size_t len = 0;
    const char *why = NULL;
    char *p, *end, *b64;
    SECItem der = { siBuffer, NULL, 0 };
    unsigned count = 0;
    bool ok = false;

    if (!read_file(path, &data, &len, &why))
        goto out;
    if (len == 0) {
        why = "empty file";
        goto out;
    }
    if (data[0] == 0x30) {
        der.data = data;
        der.len = (unsigned)len;
        ok = write_cert(out, &der, opt, &why);
        der.data = NULL;
        goto out;
    }
    if (memchr(data, '\0', len)) {
        why = "not a DER or PEM certificate";
        goto out;
    }
    for (p = (char *)data; (p = strstr(p, pem_begin)) != NULL; p = end + sizeof(pem_end) - 1) {
        p += sizeof(pem_begin) - 1;
        end = strstr(p, pem_end);
        if (!end) {
            why = "PEM certificate without an END line";
            goto out;
        }
        *end = '\0';
        b64 = p;
        der.data = ATOB_AsciiToData(b64, &der.len);
        if (!der.data) {
            why = "bad base64 in a PEM certificate";
            goto out;
        }
        if (!write_cert(out, &der, opt, &why))
            goto out;
        PORT_Free(der.data);
        der.data = NULL;
        count++;
    }
    if (count == 0) {
        why = "no certificate found (want DER or PEM)";
        goto out;
    }
    ok = true;
out:
    if (!ok)
        fprintf(stderr, "nssguard: %s: %s\n", path, why ? why : "error");
    if (der.data)
        PORT_Free(der.data);
    free(data);
    return ok;
}

static bool
valid_reason(const char *reason)
{
    size_t i;

    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strcmp(reason, reasons[i]) == 0)
            return true;
    }
    return false;
}

static int
cmd_add(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "reason", required_argument, NULL, 'r' },
        { "ref", required_argument, NULL, 'R' },
        { "label", required_argument, NULL, 'l' },
        { "issuer-serial", no_argument, NULL, 'i' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    add_options opt = { NULL, NULL, NULL, false };
    const char *output = NULL;
    char *buf = NULL;
    size_t buf_len = 0;
    FILE *mem = NULL, *fp = NULL;
    bool nss_up = false;
    int c, i, rc = EXIT_ERROR;

    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            opt.reason = optarg;
            break;
        case 'R':
            opt.ref = optarg;
            break;
        case 'l':
            opt.label = optarg;
            break;
        case 'i':
            opt.issuer_serial = true;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        default:
            usage(stderr);
            rc = EXIT_USAGE;
            goto out;
        }
    }
    if (!opt.reason || !valid_reason(opt.reason)) {
        fprintf(stderr, "nssguard: --reason must be mitm, revoked, compromised or misissued\n");
        usage(stderr);
        rc = EXIT_USAGE;
        goto out;
    }
    if (!opt.ref || !*opt.ref) {
        fprintf(stderr, "nssguard: --ref URL is required\n");
        usage(stderr);
        rc = EXIT_USAGE;
        goto out;
    }
    if (optind >= argc) {
        fprintf(stderr, "nssguard: no certificate given\n");
        usage(stderr);
        rc = EXIT_USAGE;
        goto out;
    }

    if (NSS_NoDB_Init(NULL) != SECSuccess) {
        fprintf(stderr, "nssguard: cannot initialise NSS (error %d)\n", PR_GetError());
        goto out;
    }
    nss_up = true;

    mem = open_memstream(&buf, &buf_len);
    if (!mem) {
        fprintf(stderr, "nssguard: %s\n", strerror(errno));
        goto out;
    }
    for (i = optind; i < argc; i++) {
        if (!add_file(mem, argv[i], &opt))
            goto out;
    }
    if (fclose(mem) != 0) {
        mem = NULL;
        fprintf(stderr, "nssguard: %s\n", strerror(errno));
        goto out;
    }
    mem = NULL;

    fp = output ? fopen(output, "w") : stdout;
    if (!fp) {
        fprintf(stderr, "nssguard: %s: %s\n", output, strerror(errno));
        goto out;
    }
    if (fwrite(buf, 1, buf_len, fp) != buf_len || fflush(fp) != 0) {
        fprintf(stderr, "nssguard: %s: %s\n", output ? output : "stdout", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fp && fp != stdout && fclose(fp) != 0 && rc == 0) {
        fprintf(stderr, "nssguard: %s: %s\n", output, strerror(errno));
        rc = EXIT_ERROR;
    }
    if (mem)
        fclose(mem);
    free(buf);
    if (nss_up)
        NSS_Shutdown();
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "add") == 0)
        return cmd_add(argc - 1, argv + 1);
    fprintf(stderr, "nssguard: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}

/*
 * test-parser: the overlay reader and the entry builder, in-process.
 * - every certdata.txt in ../shared/data/mozilla parses with zero errors and
 *   yields exactly Mozilla's explicit-distrust records;
 * - each kind of malformed input gives its exact "file:line: reason";
 * - the builder's decisions: hash verified or refused, positive trust skipped,
 *   reason and reference taken from the vendor attributes or Mozilla's comment.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

/* Parses and builds `text` as file "t.txt"; returns the error or "" and the
 * entries in *ents (caller clears). */
static const char *
load(const char *text, ng_entries *ents, ng_records *recs)
{
    static ng_error err;

    memset(ents, 0, sizeof(*ents));
    if (!ng_parse_buffer("t.txt", text, strlen(text), recs, &err))
        return err.msg;
    if (!ng_build_entries(recs, ents, &err))
        return err.msg;
    return "";
}

static const char *
load_error(const char *text)
{
    ng_entries ents;
    ng_records recs;
    const char *msg = load(text, &ents, &recs);

    ng_entries_clear(&ents);
    ng_records_clear(&recs);
    return msg;
}

#define TRUST_HEAD "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nCKA_TOKEN CK_BBOOL CK_TRUE\n"
/* issuer: SEQUENCE { SET { SEQUENCE { OID CN, PrintableString "A" } } } */
#define ISSUER                                                                                     \
    "CKA_ISSUER "                                                                                  \
    "MULTILINE_"                                                                                   \
    "OCTAL\n\\060\\014\\061\\012\\060\\010\\006\\003\\125\\004\\003\\023\\001\\101\nEND\n"
#define SERIAL "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\002\\001\\007\nEND\n"
#define DISTRUST "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n"

static void
test_malformed(void)
{
    static const struct {
        const char *what;
        const char *text;
        const char *error;
    } cases[] = {
        {"unknown attribute", TRUST_HEAD "CKA_FOO CK_BBOOL CK_TRUE\n",
         "t.txt:3: unknown attribute 'CKA_FOO'"},
        {"unknown value type", TRUST_HEAD "CKA_LABEL STRING \"x\"\n",
         "t.txt:3: unknown value type 'STRING'"},
        {"wrong value type", TRUST_HEAD "CKA_LABEL CK_BBOOL CK_TRUE\n",
         "t.txt:3: this attribute does not take CK_BBOOL values"},
        {"bad boolean", TRUST_HEAD "CKA_PRIVATE CK_BBOOL yes\n",
         "t.txt:3: CK_BBOOL must be CK_TRUE or CK_FALSE, not 'yes'"},
        {"unknown trust value", TRUST_HEAD "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_MAYBE\n",
         "t.txt:3: unknown value 'CKT_MAYBE' for this type"},
        {"unterminated string", TRUST_HEAD "CKA_LABEL UTF8 \"abc\n",
         "t.txt:3: unterminated string (missing closing quote)"},
        {"text after string", TRUST_HEAD "CKA_LABEL UTF8 \"abc\" x\n",
         "t.txt:3: text after the closing quote"},
        {"NUL escape in string", TRUST_HEAD "CKA_LABEL UTF8 \"a\\x00b\"\n",
         "t.txt:3: NUL byte in string"},
        {"unterminated octal", TRUST_HEAD "CKA_ISSUER MULTILINE_OCTAL\n\\060\\001\n",
         "t.txt:3: MULTILINE_OCTAL value has no END"},
        {"truncated octal escape", TRUST_HEAD "CKA_ISSUER MULTILINE_OCTAL\n\\060\\00\nEND\n",
         "t.txt:4: bad or truncated octal escape"},
        {"octal escape out of range", TRUST_HEAD "CKA_ISSUER MULTILINE_OCTAL\n\\460\nEND\n",
         "t.txt:4: bad or truncated octal escape"},
        {"junk in octal", TRUST_HEAD "CKA_ISSUER MULTILINE_OCTAL\n060\nEND\n",
         "t.txt:4: expected \\ooo octal escapes or END"},
        {"value after MULTILINE_OCTAL", TRUST_HEAD "CKA_ISSUER MULTILINE_OCTAL \\060\nEND\n",
         "t.txt:3: text after MULTILINE_OCTAL (the bytes go on the next lines)"},
        {"duplicate attribute", TRUST_HEAD "CKA_TOKEN CK_BBOOL CK_FALSE\n",
         "t.txt:3: duplicate CKA_TOKEN in one object"},
        {"attribute before any object", "CKA_TOKEN CK_BBOOL CK_TRUE\n",
         "t.txt:1: CKA_TOKEN outside an object (an object starts with CKA_CLASS)"},
        {"garbage line", "BEGINDATA\n" TRUST_HEAD "hello world\n",
         "t.txt:4: expected an attribute line (CKA_NAME TYPE VALUE)"},
        {"garbage before data", "hello\n", "t.txt:1: expected BEGINDATA or an attribute line"},
        {"second BEGINDATA", "BEGINDATA\nBEGINDATA\n", "t.txt:2: second BEGINDATA"},
        {"missing value", TRUST_HEAD "CKA_PRIVATE CK_BBOOL\n", "t.txt:3: missing value"},
        {"no value type", TRUST_HEAD "CKA_PRIVATE\n", "t.txt:3: CKA_PRIVATE has no value type"},
        {"trust without issuer", TRUST_HEAD SERIAL DISTRUST,
         "t.txt:1: trust object without CKA_ISSUER"},
        {"trust without serial", TRUST_HEAD ISSUER DISTRUST,
         "t.txt:1: trust object without CKA_SERIAL_NUMBER"},
        {"serial not DER",
         TRUST_HEAD ISSUER "CKA_SERIAL_NUMBER MULTILINE_OCTAL\n\\007\nEND\n" DISTRUST,
         "t.txt:6: CKA_SERIAL_NUMBER is not a DER INTEGER"},
        {"issuer not DER",
         TRUST_HEAD "CKA_ISSUER MULTILINE_OCTAL\n\\060\\005\\001\nEND\n" SERIAL DISTRUST,
         "t.txt:3: CKA_ISSUER is not a DER Name"},
        {"short hash",
         TRUST_HEAD ISSUER SERIAL DISTRUST "CKA_CERT_SHA1_HASH MULTILINE_OCTAL\n\\001\\002\nEND\n",
         "t.txt:10: CKA_CERT_SHA1_HASH is 2 bytes, not 20"},
        {"unknown reason",
         TRUST_HEAD ISSUER SERIAL DISTRUST "CKA_NSSGUARD_REASON UTF8 \"annoying\"\n",
         "t.txt:10: unknown reason 'annoying' (mitm, revoked, compromised, misissued, distrusted)"},
        {"name constraints not DER",
         TRUST_HEAD ISSUER SERIAL
         "CKA_NSSGUARD_NAME_CONSTRAINTS MULTILINE_OCTAL\n\\001\\002\nEND\n",
         "t.txt:9: CKA_NSSGUARD_NAME_CONSTRAINTS is not a DER NameConstraints"},
        {"certificate without value", "CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE\n" ISSUER SERIAL,
         "t.txt:1: certificate object without CKA_VALUE"},
        {"certificate value not DER",
         "CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE\nCKA_VALUE MULTILINE_OCTAL\n\\060\\000\nEND\n",
         "t.txt:2: CKA_VALUE is not a DER X.509 certificate"},
    };
    for (size_t i = 0; i < NG_N_ELEMENTS(cases); i++)
        tap_is_str(load_error(cases[i].text), cases[i].error, cases[i].what);

    /* A NUL byte in the file itself. */
    {
        static const char text[] = "BEGINDATA\nCKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\0\n";
        ng_records recs;
        ng_error err;
        bool ok = ng_parse_buffer("t.txt", text, sizeof(text) - 1, &recs, &err);
        tap_ok(!ok, "a NUL byte in the file is refused");
        tap_is_str(err.msg, "t.txt:2: NUL byte in the file (not a text file)", "NUL byte message");
    }
    /* Missing and unreadable files name the file. */
    {
        ng_records recs;
        ng_error err;
        tap_ok(!ng_parse_file("/nonexistent/x.txt", &recs, &err), "a missing file is refused");
        tap_is_str(err.msg, "/nonexistent/x.txt: cannot open: No such file or directory",
                   "missing file message");
        tap_ok(!ng_parse_file("/", &recs, &err), "a directory given as a file is refused");
        tap_is_str(err.msg, "/: not a regular file", "directory message");
    }
}

static void
test_builder(void)
{
    ng_entries ents;
    ng_records recs;

    /* A plain distrust record: all escapes in a label decode. */
    tap_is_str(load(TRUST_HEAD
                    "CKA_LABEL UTF8 \"a\\\"b\\\\c\\xC3\\xA9\\101\"\n" ISSUER SERIAL DISTRUST,
                    &ents, &recs),
               "", "a distrust record loads");
    tap_is_ulong(ents.n_entries, 1, "one entry");
    if (ents.n_entries == 1) {
        tap_is_str(ents.entries[0].label,
                   "a\"b\\c\xC3\xA9"
                   "A",
                   "label escapes decoded");
        tap_is_str(ents.entries[0].reason, "distrusted", "default reason");
        tap_is_str(ents.entries[0].reference, "", "no reference without a Bug comment");
        tap_ok(!ents.entries[0].has_sha1, "no certificate: no hash");
        tap_is_ulong(ents.entries[0].serial.len, 1, "serial value is the INTEGER's contents");
        tap_is_ulong(ents.entries[0].line, 1, "entry remembers its line");
    }
    ng_entries_clear(&ents);
    ng_records_clear(&recs);

    /* Reason and reference from Mozilla's comment. */
    tap_is_str(load("# Explicitly Distrust \"X\", Bug 724929\n" TRUST_HEAD ISSUER SERIAL DISTRUST,
                    &ents, &recs),
               "", "a commented record loads");
    tap_is_str(ents.n_entries ? ents.entries[0].reference : NULL,
               "https://bugzilla.mozilla.org/show_bug.cgi?id=724929", "Bug NNN becomes a link");
    ng_entries_clear(&ents);
    ng_records_clear(&recs);

    /* Vendor attributes win. */
    tap_is_str(load(TRUST_HEAD ISSUER SERIAL DISTRUST
                    "CKA_NSSGUARD_REASON UTF8 \"mitm\"\n"
                    "CKA_NSSGUARD_REFERENCE UTF8 \"https://x/1\"\n",
                    &ents, &recs),
               "", "vendor attributes load");
    tap_is_str(ents.n_entries ? ents.entries[0].reason : NULL, "mitm", "reason attribute");
    tap_is_str(ents.n_entries ? ents.entries[0].reference : NULL, "https://x/1",
               "reference attribute");
    ng_entries_clear(&ents);
    ng_records_clear(&recs);

    /* A constraint entry: name constraints, no trust either way. */
    tap_is_str(load(TRUST_HEAD ISSUER SERIAL
                    "CKA_NSSGUARD_NAME_CONSTRAINTS MULTILINE_OCTAL\n\\060\\000\nEND\n",
                    &ents, &recs),
               "", "a constraint entry loads");
    tap_ok(ents.n_entries == 1 && !ents.entries[0].distrusted &&
               ents.entries[0].name_constraints.len == 2,
           "... as a constraint entry, not a distrust entry, with its constraints");
    ng_entries_clear(&ents);
    ng_records_clear(&recs);

    /* Positive, neutral and mixed trust are never served. */
    static const char *const not_distrust[] = {
        TRUST_HEAD ISSUER SERIAL "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_TRUSTED_DELEGATOR\n",
        TRUST_HEAD ISSUER SERIAL "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_MUST_VERIFY_TRUST\n",
        TRUST_HEAD ISSUER SERIAL "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_TRUST_UNKNOWN\n",
        TRUST_HEAD ISSUER SERIAL DISTRUST
        "CKA_TRUST_EMAIL_PROTECTION CK_TRUST CKT_NSS_TRUSTED_DELEGATOR\n",
        TRUST_HEAD ISSUER SERIAL DISTRUST "CKA_TRUST_STEP_UP_APPROVED CK_BBOOL CK_TRUE\n",
        "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_BUILTIN_ROOT_LIST\nCKA_LABEL UTF8 \"roots\"\n",
    };
    for (size_t i = 0; i < NG_N_ELEMENTS(not_distrust); i++) {
        load(not_distrust[i], &ents, &recs);
        tap_ok(ents.n_entries == 0 && ents.skipped == 1,
               "positive, neutral, mixed and root-list records are skipped, not served");
        ng_entries_clear(&ents);
        ng_records_clear(&recs);
    }
}

/* Mozilla's files: zero errors, and exactly the explicit-distrust records. */
static void
test_mozilla(void)
{
    static const struct {
        const char *file;
        size_t distrust;
    } files[] = {
        {"certdata-nss-3.28.txt", 28},
        {"certdata-nss-3.76.txt", 6},
        {"certdata-nss-3.87.1.txt", 1},
        {"certdata-nss-head.txt", 0},
    };
    const char *shared = getenv("NSSGUARD_SHARED");
    char path[4096], what[256];

    for (size_t i = 0; i < NG_N_ELEMENTS(files); i++) {
        ng_records recs;
        ng_entries ents;
        ng_error err;

        memset(&err, 0, sizeof(err));

        snprintf(path, sizeof(path), "%s/mozilla/%s", shared ? shared : "", files[i].file);
        if (!shared || access(path, R_OK) != 0) {
            tap_skip("no ../shared/data/mozilla beside the checkout");
            continue;
        }
        memset(&ents, 0, sizeof(ents));
        bool ok = ng_parse_file(path, &recs, &err) && ng_build_entries(&recs, &ents, &err);
        snprintf(what, sizeof(what), "%s parses and builds with zero errors", files[i].file);
        if (!tap_ok(ok, what))
            printf("#   %s\n", err.msg);
        snprintf(what, sizeof(what), "%s yields its %zu explicit-distrust records", files[i].file,
                 files[i].distrust);
        tap_is_ulong(ents.n_entries, files[i].distrust, what);
        if (i == 0) { /* 3.28: the Trustwave records are issuer+serial only */
            size_t trustwave = 0, hashed = 0;
            for (size_t j = 0; j < ents.n_entries; j++) {
                if (strstr(ents.entries[j].label, "Trustwave")) {
                    trustwave++;
                    tap_ok(!ents.entries[j].has_sha1,
                           "Trustwave MITM subCA: no certificate, no hash");
                    tap_is_str(ents.entries[j].reference,
                               "https://bugzilla.mozilla.org/show_bug.cgi?id=724929",
                               "Trustwave record links bug 724929");
                }
                hashed += ents.entries[j].has_sha1;
            }
            tap_is_ulong(trustwave, 2, "both Trustwave MITM subCAs are entries");
            printf("# 3.28: %zu of %zu entries carry a verified SHA-1\n", hashed, ents.n_entries);
        }
        ng_entries_clear(&ents);
        ng_records_clear(&recs);
    }
}

static void
test_der(void)
{
    /* The Trustwave issuer, as Mozilla recorded it. */
    static const unsigned char trustwave[] = {
        0x30, 0x81, 0xab, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x55,
        0x53, 0x31, 0x11, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x04, 0x08, 0x13, 0x08, 'I',  'l',  'l',
        'i',  'n',  'o',  'i',  's',  0x31, 0x10, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x07, 0x13,
        0x07, 'C',  'h',  'i',  'c',  'a',  'g',  'o',  0x31, 0x21, 0x30, 0x1f, 0x06, 0x03, 0x55,
        0x04, 0x0a, 0x13, 0x18, 'T',  'r',  'u',  's',  't',  'w',  'a',  'v',  'e',  ' ',  'H',
        'o',  'l',  'd',  'i',  'n',  'g',  's',  ',',  ' ',  'I',  'n',  'c',  '.',  0x31, 0x33,
        0x30, 0x31, 0x06, 0x03, 0x55, 0x04, 0x03, 0x13, 0x2a, 'T',  'r',  'u',  's',  't',  'w',
        'a',  'v',  'e',  ' ',  'O',  'r',  'g',  'a',  'n',  'i',  'z',  'a',  't',  'i',  'o',
        'n',  ' ',  'I',  's',  's',  'u',  'i',  'n',  'g',  ' ',  'C',  'A',  ',',  ' ',  'L',
        'e',  'v',  'e',  'l',  ' ',  '2',  0x31, 0x1f, 0x30, 0x1d, 0x06, 0x09, 0x2a, 0x86, 0x48,
        0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01, 0x16, 0x10, 'c',  'a',  '@',  't',  'r',  'u',  's',
        't',  'w',  'a',  'v',  'e',  '.',  'c',  'o',  'm',
    };
    char text[512];
    unsigned char sha[NG_SHA1_LEN];
    char hex[64];

    ng_der_name_text((ng_bytes){trustwave, sizeof(trustwave)}, text, sizeof(text));
    tap_is_str(text,
               "E=ca@trustwave.com,CN=Trustwave Organization Issuing CA\\, Level 2,"
               "O=Trustwave Holdings\\, Inc.,L=Chicago,ST=Illinois,C=US",
               "issuer printed most specific first, as NSS does");
    ng_der_name_text((ng_bytes){trustwave, 40}, text, sizeof(text));
    tap_is_str(text, "(malformed name)", "a truncated Name is reported, not read past");

    ng_sha1((const unsigned char *)"abc", 3, sha);
    ng_hex_text((ng_bytes){sha, sizeof(sha)}, hex, sizeof(hex));
    tap_is_str(hex, "a9:99:3e:36:47:06:81:6a:ba:3e:25:71:78:50:c2:6c:9c:d0:d8:9d", "SHA-1 of abc");
    {
        static unsigned char million[1000000];
        memset(million, 'a', sizeof(million));
        ng_sha1(million, sizeof(million), sha);
        ng_hex_text((ng_bytes){sha, sizeof(sha)}, hex, sizeof(hex));
        tap_is_str(hex, "34:aa:97:3c:d4:c4:da:a4:f6:1e:eb:2b:db:ad:27:31:65:34:01:6f",
                   "SHA-1 of a million a");
    }
    /* The CPU's SHA instructions (when it has them) and the portable code
     * agree on every length across several blocks, and on a large input. */
    {
        static unsigned char data[70000];
        unsigned char a[NG_SHA1_LEN], b[NG_SHA1_LEN];
        uint32_t x = 12345;
        int differ = 0;
        for (size_t i = 0; i < sizeof(data); i++)
            data[i] = (unsigned char)((x = x * 1103515245 + 12345) >> 16);
        for (size_t n = 0; n <= 300; n++) {
            ng_sha1(data, n, a);
            ng_sha1_portable(data, n, b);
            differ += memcmp(a, b, sizeof(a)) != 0;
        }
        ng_sha1(data, sizeof(data), a);
        ng_sha1_portable(data, sizeof(data), b);
        differ += memcmp(a, b, sizeof(a)) != 0;
        tap_is_ulong((unsigned long)differ, 0,
                     "SHA-1: the CPU's instructions and portable code agree");
    }
    ng_sha1_portable((const unsigned char *)"abc", 3, sha);
    ng_hex_text((ng_bytes){sha, sizeof(sha)}, hex, sizeof(hex));
    tap_is_str(hex, "a9:99:3e:36:47:06:81:6a:ba:3e:25:71:78:50:c2:6c:9c:d0:d8:9d",
               "portable SHA-1 of abc");
    /* Padding boundaries: 55 and 56 bytes. */
    ng_sha1((const unsigned char *)"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
            sha);
    ng_hex_text((ng_bytes){sha, sizeof(sha)}, hex, sizeof(hex));
    tap_is_str(hex, "84:98:3e:44:1c:3b:d2:6e:ba:ae:4a:a1:f9:51:29:e5:e5:46:70:f1",
               "SHA-1 of the 56-byte FIPS vector");
}

/* ---- schema.h's key hash (issue 13): parsed, checked, kept by an image ---- */

/* A self-signed P-256 certificate, CN=A, serial 7 (openssl req -x509). */
static const unsigned char spki_cert[] =
    "\x30\x82\x01\x59\x30\x82\x01\x00\xa0\x03\x02\x01\x02\x02\x01\x07\x30\x0a\x06\x08\x2a\x86"
    "\x48\xce\x3d\x04\x03\x02\x30\x0c\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x0c\x01\x41\x30\x1e"
    "\x17\x0d\x32\x36\x31\x32\x30\x36\x30\x36\x31\x38\x31\x38\x5a\x17\x0d\x33\x36\x31\x32\x30"
    "\x33\x30\x36\x31\x38\x31\x38\x5a\x30\x0c\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x0c\x01\x41"
    "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01"
    "\x07\x03\x42\x00\x04\x6d\x46\xb6\xdc\xee\xc8\x93\x4c\x54\xa5\x2c\xca\xf9\x5b\x9d\x15\x28"
    "\xf6\x8a\x48\x1b\xdd\x1b\xf9\xd3\x6f\x8e\x2c\x1f\x5f\x48\xd5\x21\x3f\x17\x33\xe7\x9f\x73"
    "\xe3\xac\x37\xad\x3c\x3f\xf6\x3c\xb5\x2c\x03\x2a\x80\xc7\x09\xa8\x13\x09\xd1\x4c\x27\xeb"
    "\xfd\x20\xfe\xa3\x53\x30\x51\x30\x1d\x06\x03\x55\x1d\x0e\x04\x16\x04\x14\x2e\xcc\x15\x7c"
    "\xb0\xfb\x14\x39\x1c\x14\x2d\x7d\x15\x84\xe2\x66\x2f\xda\x70\x9a\x30\x1f\x06\x03\x55\x1d"
    "\x23\x04\x18\x30\x16\x80\x14\x2e\xcc\x15\x7c\xb0\xfb\x14\x39\x1c\x14\x2d\x7d\x15\x84\xe2"
    "\x66\x2f\xda\x70\x9a\x30\x0f\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x05\x30\x03\x01\x01\xff"
    "\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02\x03\x47\x00\x30\x44\x02\x20\x20\x6f\xf4"
    "\xac\xe0\x4a\x3c\x5c\x5b\x5e\x8d\xd4\xb5\x81\xff\xc4\x73\x71\xb2\xc3\xf3\xe2\x3c\x26\x3b"
    "\xf8\x2b\x61\xa9\xda\x08\xb1\x02\x20\x39\x69\xf5\x11\x60\x57\xbb\x89\x64\x2d\xae\x69\xba"
    "\x29\xeb\x10\x4f\xb0\xb0\xa4\xa4\x6c\x23\xd8\x2e\xc9\x3d\xd7\xff\x00\x7a\x3b";
/* sha256 of its SubjectPublicKeyInfo (openssl pkey -pubin -outform DER | sha256sum) */
static const char spki_hex[] = "b7813d2802f8b1aede61d00b1751bff5b17b2b86377bb8e2c0f4fc96a5c2f73b";

static void
put_octal(char **p, const char *attr, const unsigned char *data, size_t len)
{
    *p += sprintf(*p, "%s MULTILINE_OCTAL\n", attr);
    for (size_t i = 0; i < len; i++)
        *p += sprintf(*p, "\\%03o", data[i]);
    *p += sprintf(*p, "\nEND\n");
}

/* The certificate and a trust record for it with key hash `key` (len bytes). */
static void
spki_overlay(char *text, const unsigned char *key, size_t len)
{
    ng_bytes cert = {spki_cert, sizeof(spki_cert) - 1};
    ng_cert_parts parts;
    char *p = text;

    ng_der_cert_parts(cert, &parts);
    p += sprintf(p, "CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE\n");
    put_octal(&p, "CKA_VALUE", cert.data, cert.len);
    p += sprintf(p, TRUST_HEAD);
    put_octal(&p, "CKA_ISSUER", parts.issuer.data, parts.issuer.len);
    put_octal(&p, "CKA_SERIAL_NUMBER", parts.serial.data, parts.serial.len);
    p += sprintf(p, DISTRUST);
    put_octal(&p, "CKA_NSSGUARD_SPKI_SHA256", key, len);
}

static void
test_spki_sha256(void)
{
    unsigned char key[NG_SHA256_LEN];
    char text[8192], hex[128];
    ng_entries ents;
    ng_records recs;
    ng_error err;
    ng_entry e;

    for (size_t i = 0; i < sizeof(key); i++)
        sscanf(spki_hex + 2 * i, "%2hhx", &key[i]);
    spki_overlay(text, key, sizeof(key));
    tap_is_str(load(text, &ents, &recs), "",
               "a trust record with the certificate's key hash loads");
    tap_is_ulong(ents.n_entries ? ents.entries[0].spki_sha256.len : 0, 32, "... and keeps it");
    if (ents.n_entries == 1) {
        ng_image *img = ng_image_build(&ents, 0, 0, &err);
        memset(&e, 0, sizeof(e));
        if (img)
            ng_image_entry(img, 0, &e);
        ng_hex_text(e.spki_sha256, hex, sizeof(hex));
        tap_is_str(hex,
                   "b7:81:3d:28:02:f8:b1:ae:de:61:d0:0b:17:51:bf:f5:b1:7b:2b:86:37:7b:b8:e2:c0:f4:"
                   "fc:96:a5:c2:f7:3b",
                   "an image keeps the key hash");
        ng_image_free(img);
    }
    ng_entries_clear(&ents);
    ng_records_clear(&recs);

    key[31] ^= 1;
    spki_overlay(text, key, sizeof(key));
    tap_ok(strstr(load_error(text), "CKA_NSSGUARD_SPKI_SHA256 does not match the certificate's "
                                    "SubjectPublicKeyInfo") != NULL,
           "a key hash that is not the certificate's is refused");
    spki_overlay(text, key, 20);
    tap_ok(strstr(load_error(text), "CKA_NSSGUARD_SPKI_SHA256 is not a SHA-256 (32 bytes)") != NULL,
           "a key hash of 20 bytes is refused");
}

int
main(void)
{
    test_malformed();
    test_builder();
    test_der();
    test_mozilla();
    test_spki_sha256();
    return tap_done();
}

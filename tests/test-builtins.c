/*
 * test-builtins: mode=builtins against Debian's own libnssckbi.so, which was
 * built from NSS 3.87.1's certdata.txt. Both modules are loaded as NSS loads
 * them; every object each one serves is described by the values of the
 * attributes below, and the two sets of descriptions must be equal but for
 * one deliberate difference: a distrust record (a trust object whose
 * purposes are all NOT_TRUSTED) comes without CKA_CERT_SHA1_HASH and
 * CKA_CERT_MD5_HASH from nssguard, so that a re-encoded copy of the
 * distrusted certificate still matches it (module/builtins.c). Then an
 * overlay entry for one of the roots replaces that root's trust object with
 * nssguard's NOT_TRUSTED one.
 *
 *   test-builtins LIBNSSCKBI.so CERTDATA-3.87.1.txt  (the harness: builtins.sh)
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

static const CK_ATTRIBUTE_TYPE described[] = {
    CKA_CLASS,
    CKA_TOKEN,
    CKA_PRIVATE,
    CKA_MODIFIABLE,
    CKA_LABEL,
    CKA_CERTIFICATE_TYPE,
    CKA_SUBJECT,
    CKA_ID,
    CKA_ISSUER,
    CKA_SERIAL_NUMBER,
    CKA_VALUE,
    CKA_NSS_MOZILLA_CA_POLICY,
    CKA_NSS_SERVER_DISTRUST_AFTER,
    CKA_NSS_EMAIL_DISTRUST_AFTER,
    CKA_CERT_SHA1_HASH,
    CKA_CERT_MD5_HASH,
    CKA_TRUST_SERVER_AUTH,
    CKA_TRUST_CLIENT_AUTH,
    CKA_TRUST_EMAIL_PROTECTION,
    CKA_TRUST_CODE_SIGNING,
    CKA_TRUST_STEP_UP_APPROVED,
};

typedef struct {
    char **lines;
    size_t n;
} descriptions;

/* Is the object a trust record that only distrusts? */
static bool
only_distrust(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
    static const CK_ATTRIBUTE_TYPE purposes[] = {CKA_TRUST_SERVER_AUTH, CKA_TRUST_CLIENT_AUTH,
                                                 CKA_TRUST_EMAIL_PROTECTION,
                                                 CKA_TRUST_CODE_SIGNING};
    CK_OBJECT_CLASS cls = 0;
    CK_ATTRIBUTE c = {CKA_CLASS, &cls, sizeof(cls)};
    size_t n = 0;

    if (f->C_GetAttributeValue(s, h, &c, 1) != CKR_OK || cls != CKO_NSS_TRUST)
        return false;
    for (size_t i = 0; i < NG_N_ELEMENTS(purposes); i++) {
        CK_TRUST t = 0;
        CK_ATTRIBUTE a = {purposes[i], &t, sizeof(t)};
        if (f->C_GetAttributeValue(s, h, &a, 1) != CKR_OK)
            continue;
        if (t != CKT_NSS_NOT_TRUSTED)
            return false;
        n++;
    }
    return n > 0;
}

static bool
has_attribute(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
              CK_ATTRIBUTE_TYPE type)
{
    CK_ATTRIBUTE a = {type, NULL, 0};

    return f->C_GetAttributeValue(s, h, &a, 1) == CKR_OK &&
           a.ulValueLen != CK_UNAVAILABLE_INFORMATION;
}

/* Distrust records that carry a hash (counted per module by all_objects). */
static size_t hashed_distrust;

/* One line per object: "TYPE=HEX;" for every attribute it has; a distrust
 * record's hashes are left out (see the top of this file). */
static char *
describe(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
    size_t cap = 256, used = 0;
    char *line = malloc(cap);
    bool distrust = only_distrust(f, s, h);

    line[0] = '\0';
    if (distrust &&
        (has_attribute(f, s, h, CKA_CERT_SHA1_HASH) || has_attribute(f, s, h, CKA_CERT_MD5_HASH)))
        hashed_distrust++;
    for (size_t i = 0; i < NG_N_ELEMENTS(described); i++) {
        CK_ATTRIBUTE a = {described[i], NULL, 0};
        if (distrust && (described[i] == CKA_CERT_SHA1_HASH || described[i] == CKA_CERT_MD5_HASH))
            continue;
        if (f->C_GetAttributeValue(s, h, &a, 1) != CKR_OK ||
            a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
            continue;
        unsigned char *v = malloc(a.ulValueLen + 1);
        a.pValue = v;
        if (f->C_GetAttributeValue(s, h, &a, 1) == CKR_OK) {
            while (used + 2 * a.ulValueLen + 32 > cap)
                line = realloc(line, cap *= 2);
            used += (size_t)sprintf(line + used, "%lx=", described[i]);
            for (CK_ULONG k = 0; k < a.ulValueLen; k++)
                used += (size_t)sprintf(line + used, "%02x", v[k]);
            line[used++] = ';';
            line[used] = '\0';
        }
        free(v);
    }
    return line;
}

static int
compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static CK_FUNCTION_LIST_PTR
load(const char *path, const char *params)
{
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
    CK_FUNCTION_LIST_PTR f = NULL;
    CK_C_INITIALIZE_ARGS args;

    if (!get || get(&f) != CKR_OK)
        return NULL;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.LibraryParameters = (CK_CHAR_PTR *)params;
    return f->C_Initialize(&args) == CKR_OK ? f : NULL;
}

static descriptions
all_objects(CK_FUNCTION_LIST_PTR f)
{
    descriptions d = {NULL, 0};
    CK_SLOT_ID slot;
    CK_ULONG n = 1, found = 0;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE h[4096];

    if (f->C_GetSlotList(CK_TRUE, &slot, &n) != CKR_OK ||
        f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return d;
    f->C_FindObjectsInit(s, NULL, 0);
    f->C_FindObjects(s, h, 4096, &found);
    f->C_FindObjectsFinal(s);
    d.lines = calloc(found + 1, sizeof(*d.lines));
    for (CK_ULONG i = 0; i < found; i++)
        d.lines[d.n++] = describe(f, s, h[i]);
    qsort(d.lines, d.n, sizeof(*d.lines), compare_lines);
    f->C_CloseSession(s);
    return d;
}

/* The start of an overlay trust record for this issuer and serial. */
static void
write_trust_record(FILE *f, const ng_attr *is, const ng_attr *sn)
{
    fputs("CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nCKA_ISSUER MULTILINE_OCTAL\n", f);
    for (size_t m = 0; m < is->len; m++)
        fprintf(f, "\\%03o%s", is->value[m], m % 16 == 15 ? "\n" : "");
    fputs("\nEND\nCKA_SERIAL_NUMBER MULTILINE_OCTAL\n", f);
    for (size_t m = 0; m < sn->len; m++)
        fprintf(f, "\\%03o", sn->value[m]);
    fputs("\nEND\n", f);
}

int
main(int argc, char **argv)
{
    char params[2048], overlay[] = "/tmp/nssguard-test-builtins-XXXXXX";
    CK_FUNCTION_LIST_PTR ckbi, guard = NULL;
    descriptions a, b;
    size_t only_a = 0, only_b = 0, i = 0, j = 0;

    if (argc != 3) {
        printf("1..0 # SKIP usage: test-builtins LIBNSSCKBI.so CERTDATA.txt\n");
        return 0;
    }
    ckbi = load(argv[1], NULL);
    C_GetFunctionList(&guard);
    snprintf(params, sizeof(params), "mode=builtins roots=%s overlay=/dev/null/none log=none",
             argv[2]);
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.LibraryParameters = (CK_CHAR_PTR *)params;
    tap_ok(ckbi != NULL, "Debian's libnssckbi.so loads");
    tap_is_ulong(guard->C_Initialize(&args), CKR_OK, "nssguard loads in mode=builtins");
    if (!ckbi)
        return tap_done();
    hashed_distrust = 0;
    a = all_objects(ckbi);
    tap_ok(hashed_distrust > 0, "libnssckbi.so serves its distrust records with their hashes");
    hashed_distrust = 0;
    b = all_objects(guard);
    tap_is_ulong(hashed_distrust, 0,
                 "nssguard serves them without: no hash that a re-encoded copy would miss");
    printf("# libnssckbi.so serves %zu objects, nssguard %zu\n", a.n, b.n);
    while (i < a.n || j < b.n) { /* a merge of two sorted lists */
        int c = i == a.n ? 1 : j == b.n ? -1 : strcmp(a.lines[i], b.lines[j]);
        if (c == 0) {
            i++, j++;
        } else if (c < 0) {
            if (only_a++ < 3)
                printf("# only in libnssckbi.so: %.200s\n", a.lines[i]);
            i++;
        } else {
            if (only_b++ < 3)
                printf("# only in nssguard: %.200s\n", b.lines[j]);
            j++;
        }
    }
    tap_ok(a.n > 300, "libnssckbi.so serves its roots (more than 300 objects)");
    tap_is_ulong(only_a, 0,
                 "every object libnssckbi.so serves, nssguard serves with the same values "
                 "(distrust records without their hashes)");
    tap_is_ulong(only_b, 0, "nssguard serves nothing more");
    guard->C_Finalize(NULL);

    /* An overlay entry for a root: its trust object gives way to nssguard's. */
    FILE *f;
    if (mkstemp(overlay) < 0 || !(f = fopen(overlay, "w")))
        return tap_done();
    ng_records recs;
    ng_error err;
    if (ng_parse_file(argv[2], &recs, &err)) {
        for (size_t k = 0; k < recs.n_records; k++) { /* the first trust record */
            CK_ULONG cls;
            const ng_attr *is = ng_record_get(&recs.records[k], CKA_ISSUER);
            const ng_attr *sn = ng_record_get(&recs.records[k], CKA_SERIAL_NUMBER);
            if (!ng_record_ulong(&recs.records[k], CKA_CLASS, &cls) || cls != CKO_NSS_TRUST ||
                !is || !sn)
                continue;
            write_trust_record(f, is, sn);
            fputs("CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_NOT_TRUSTED\n", f);
            fclose(f);
            f = NULL;
            CK_SESSION_HANDLE s;
            CK_OBJECT_CLASS tc = CKO_NSS_TRUST;
            ng_bytes bare = {sn->value, sn->len};
            (void)ng_der_integer_value((ng_bytes){sn->value, sn->len}, &bare);
            CK_ATTRIBUTE q[] = {{CKA_CLASS, &tc, sizeof(tc)},
                                {CKA_ISSUER, is->value, is->len},
                                {CKA_SERIAL_NUMBER, sn->value, sn->len}};
            CK_ATTRIBUTE qv[] = {{CKA_CLASS, &tc, sizeof(tc)},
                                 {CKA_ISSUER, is->value, is->len},
                                 {CKA_SERIAL_NUMBER, (void *)bare.data, bare.len}};
            CK_OBJECT_HANDLE h[4], hv[4];
            CK_ULONG n = 0, nv = 0;
            CK_TRUST sa = 0;
            CK_ATTRIBUTE r = {CKA_TRUST_SERVER_AUTH, &sa, sizeof(sa)};
            /* Without the overlay: the root's own record, by either serial form
             * (NSS sends a temporary certificate's serial as its bare value). */
            snprintf(params, sizeof(params),
                     "mode=builtins roots=%s overlay=/dev/null/none log=none", argv[2]);
            guard->C_Initialize(&args);
            guard->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
            guard->C_FindObjectsInit(s, q, 3);
            guard->C_FindObjects(s, h, 4, &n);
            guard->C_FindObjectsFinal(s);
            guard->C_FindObjectsInit(s, qv, 3);
            guard->C_FindObjects(s, hv, 4, &nv);
            guard->C_FindObjectsFinal(s);
            tap_ok(n == 1 && nv == 1 && h[0] == hv[0] && bare.len < sn->len,
                   "a root's trust record is found by its DER serial and by its bare value alike");
            CK_ULONG objsize = 0;
            tap_is_ulong(n == 1 ? guard->C_GetObjectSize(s, h[0], &objsize) : CKR_GENERAL_ERROR,
                         CKR_OK, "C_GetObjectSize of a root's object: a valid handle");
            guard->C_Finalize(NULL);
            snprintf(params, sizeof(params), "mode=builtins roots=%s overlay=%s log=none", argv[2],
                     overlay);
            tap_is_ulong(guard->C_Initialize(&args), CKR_OK,
                         "builtins with an overlay entry for a root");
            guard->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
            guard->C_FindObjectsInit(s, q, 3);
            guard->C_FindObjects(s, h, 4, &n);
            guard->C_FindObjectsFinal(s);
            tap_is_ulong(n, 1, "one trust object for that root: the overlay's");
            guard->C_GetAttributeValue(s, h[0], &r, 1);
            tap_is_ulong(sa, CKT_NSS_NOT_TRUSTED, "... and it says NOT_TRUSTED");
            sa = 0;
            guard->C_FindObjectsInit(s, qv, 3);
            guard->C_FindObjects(s, hv, 4, &nv);
            guard->C_FindObjectsFinal(s);
            if (nv == 1)
                guard->C_GetAttributeValue(s, hv[0], &r, 1);
            tap_ok(
                nv == 1 && sa == CKT_NSS_NOT_TRUSTED,
                "by its bare serial value too, the only trust object is the overlay's NOT_TRUSTED");
            guard->C_Finalize(NULL);
            /* A constraint entry for it, with constraints=ignore: not served, so
             * it must not hide the root's own record (one Mozilla distrusts
             * would lose its distrust). Its NameConstraints: dNSName example.com. */
            static const unsigned char nc[] = {0x30, 0x11, 0xa0, 0x0f, 0x30, 0x0d, 0x82,
                                               0x0b, 'e',  'x',  'a',  'm',  'p',  'l',
                                               'e',  '.',  'c',  'o',  'm'};
            if ((f = fopen(overlay, "w")) != NULL) {
                write_trust_record(f, is, sn);
                fputs("CKA_NSSGUARD_NAME_CONSTRAINTS MULTILINE_OCTAL\n", f);
                for (size_t m = 0; m < sizeof(nc); m++)
                    fprintf(f, "\\%03o", nc[m]);
                fputs("\nEND\n", f);
                fclose(f);
                f = NULL;
            }
            snprintf(params, sizeof(params),
                     "mode=builtins roots=%s overlay=%s constraints=ignore log=none", argv[2],
                     overlay);
            tap_is_ulong(guard->C_Initialize(&args), CKR_OK,
                         "builtins with a constraint entry for a root, constraints=ignore");
            guard->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s);
            n = 0;
            guard->C_FindObjectsInit(s, q, 3);
            guard->C_FindObjects(s, h, 4, &n);
            guard->C_FindObjectsFinal(s);
            tap_ok(n == 1 && (h[0] >> NG_HANDLE_ID_SHIFT) == 0,
                   "the root's own trust record still answers (the unserved entry hides nothing)");
            guard->C_Finalize(NULL);
            break;
        }
        ng_records_clear(&recs);
    }
    if (f)
        fclose(f);
    unlink(overlay);
    return tap_done();
}

/*
 * nssguard compile [-o OUT.ngo] FILE.txt...
 *
 * Turns overlay text into the flat image the module maps without parsing
 * (module/image.c). With one input X.txt the default output is X.ngo beside
 * it, stamped with X.txt's size and modification time: the module uses it in
 * place of X.txt only while that stamp matches, so an edited X.txt is never
 * shadowed by an old compiled file. Several inputs make one image (-o
 * required) that stands on its own. The output replaces any old file by
 * rename, so running processes that map the old one are not disturbed, and
 * the old one stays linked as OUT.ngo.old until the next compile (see
 * keep_previous in module/image.c).
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool.h"

static void
usage(FILE *fp)
{
    fprintf(fp, "usage: nssguard compile [-o OUT.ngo] [--without-certificates] FILE.txt...\n"
                "\n"
                "Compiles overlay text into the image libnssguard.so maps without parsing.\n"
                "One input X.txt gives X.ngo beside it, used by the module while X.txt is\n"
                "unchanged; several inputs need -o. The image replaced is kept as\n"
                "OUT.ngo.old until the next compile.\n"
                "\n"
                "  --without-certificates  keep each entry's SHA-1 but not the certificate's\n"
                "                          DER: a smaller image that loads faster, for the\n"
                "                          default NSS mode (p11-kit and Chromium modes serve\n"
                "                          certificates and need them)\n");
}

/* compile's options. */
typedef struct {
    bool certificates;
    const char *out;
} compile_opts;

static int
compile_option(void *ctx, int opt, char *arg)
{
    compile_opts *o = ctx;

    if (opt == 'o')
        o->out = arg;
    else if (opt == 'C')
        o->certificates = false;
    else
        return TOOL_EXIT_ERROR;
    return -1;
}

int
tool_cmd_compile(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"without-certificates", no_argument, NULL, 'C'},
                                         {0}};
    compile_opts o = {true, NULL};
    tool_common common = {.name = "compile",
                          .usage = usage,
                          .flags = TOOL_OPT_SOME_OPERANDS,
                          .options = opts,
                          .shortopts = "o:",
                          .option = compile_option,
                          .ctx = &o};
    bool certificates, go_on;
    const char *out;
    char *default_out = NULL;
    ng_records *files = NULL;
    ng_entries ents;
    ng_image *img = NULL;
    ng_error err;
    struct stat st;
    uint64_t size = 0;
    int64_t mtime = 0;
    int n, rc;

    memset(&ents, 0, sizeof(ents));
    go_on = tool_parse_args(&common, argc, argv, &rc);
    tool_common_clear(&common);
    if (!go_on)
        return rc;
    certificates = o.certificates;
    out = o.out;
    n = argc - optind;
    if (n > 1 && !out) {
        usage(stderr);
        return TOOL_EXIT_ERROR;
    }
    if (!out) {
        const char *in = argv[optind];
        size_t len = strlen(in);
        if (len > 4 && strcmp(in + len - 4, ".txt") == 0)
            len -= 4;
        if (asprintf(&default_out, "%.*s.ngo", (int)len, in) < 0)
            goto out;
        out = default_out;
    }
    files = calloc((size_t)n, sizeof(*files));
    if (!files)
        goto out;
    for (int i = 0; i < n; i++) {
        if (!ng_parse_file(argv[optind + i], &files[i], &err) ||
            !ng_build_entries(&files[i], &ents, &err)) {
            tool_error("%s", err.msg);
            goto out;
        }
    }
    for (size_t i = 0; !certificates && i < ents.n_entries; i++)
        ents.entries[i].cert.len = 0;
    /* One input: stamp it, so the module knows when this image is current. */
    if (n == 1 && stat(argv[optind], &st) == 0) {
        size = (uint64_t)st.st_size;
        mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    img = ng_image_build(&ents, size, mtime, &err);
    if (!img || (n == 1 && !ng_image_stamp_source(img, argv[optind], &err)) ||
        !ng_image_write(img, out, &err)) {
        tool_error("%s", err.msg);
        goto out;
    }
    printf("%s: %zu entries from %d file%s\n", out, ents.n_entries, n, n == 1 ? "" : "s");
    if (ents.keys)
        fprintf(stderr,
                "%s: %zu key entr%s carried as a count only: NSS asks by issuer and serial, "
                "so they distrust nothing until expanded (nssguard expand --certs CORPUS)\n",
                out, ents.keys, ents.keys == 1 ? "y" : "ies");
    rc = TOOL_EXIT_OK;
out:
    ng_image_free(img);
    ng_entries_clear(&ents);
    for (int i = 0; files && i < n; i++)
        ng_records_clear(&files[i]);
    free(files);
    free(default_out);
    return rc;
}

/*
 * cmd-list.c: nssguard list [--json] [--overlay PATH]... [PATH]...
 *
 * The entries the module would serve from these overlays (or from its
 * configuration when none is given), loaded with the module's parser and
 * builder: a file with an error is refused whole, as the module does.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static void
usage(FILE *fp)
{
    fputs("usage: nssguard list [--json] [--overlay FILE|DIR]... [FILE|DIR]...\n"
          "\n"
          "Lists the entries the module serves from the overlays given, or from its\n"
          "configuration ($NSSGUARD_CONFIG, the system file, the default overlay).\n"
          "Compiled overlays (FILE.ngo) are read as the module maps them.\n",
          fp);
}

int
tool_cmd_list(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"overlay", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char **overlays = NULL;
    size_t n_overlays = 0;
    tool_overlay ov;
    bool json = false, loaded = false;
    int c, rc = TOOL_EXIT_ERROR;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
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
    for (int i = optind; i < argc; i++) { /* FILE|DIR arguments: as --overlay */
        if (!tool_strv_push(&overlays, &n_overlays, argv[i]))
            goto out;
    }
    loaded = tool_overlay_load(&ov, overlays, n_overlays);
    if (!loaded)
        goto out;
    if (json)
        printf("{\"files\":%zu,\"refused\":%zu,\"entries\":[", ov.n_files + ov.n_images,
               ov.n_refused);
    for (size_t i = 0; i < ov.ents.n_entries; i++) {
        const ng_entry *e = &ov.ents.entries[i];
        if (json) {
            if (i)
                putchar(',');
            tool_json_entry(stdout, e);
            continue;
        }
        tool_print_entry(stdout, e, "");
    }
    if (json)
        printf("]}\n");
    else
        printf("%zu entr%s from %zu file%s, %zu refused\n", ov.ents.n_entries,
               ov.ents.n_entries == 1 ? "y" : "ies", ov.n_files + ov.n_images,
               ov.n_files + ov.n_images == 1 ? "" : "s", ov.n_refused);
    rc = ov.n_refused ? TOOL_EXIT_FOUND : TOOL_EXIT_OK;
out:
    if (loaded)
        tool_overlay_clear(&ov);
    free(overlays);
    return rc;
}

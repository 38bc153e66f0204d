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
    tool_common common = {.name = "list",
                          .usage = usage,
                          .flags = TOOL_OPT_JSON | TOOL_OPT_OVERLAY | TOOL_OPT_ARGS_ARE_OVERLAYS};
    tool_overlay ov;
    bool loaded = false;
    int rc;

    if (!tool_parse_args(&common, argc, argv, &rc))
        goto out;
    loaded = tool_common_load(&common, &ov);
    if (!loaded)
        goto out;
    if (common.json)
        printf("{\"files\":%zu,\"refused\":%zu,\"entries\":[", ov.n_files + ov.n_images,
               ov.n_refused);
    for (size_t i = 0; i < ov.ents.n_entries; i++) {
        const ng_entry *e = &ov.ents.entries[i];
        if (common.json) {
            if (i)
                putchar(',');
            tool_json_entry(stdout, e);
            continue;
        }
        tool_print_entry(stdout, e, "");
    }
    if (common.json)
        printf("]}\n");
    else
        printf("%zu entr%s from %zu file%s, %zu refused\n", ov.ents.n_entries,
               ov.ents.n_entries == 1 ? "y" : "ies", ov.n_files + ov.n_images,
               ov.n_files + ov.n_images == 1 ? "" : "s", ov.n_refused);
    rc = ov.n_refused ? TOOL_EXIT_FOUND : TOOL_EXIT_OK;
out:
    if (loaded)
        tool_overlay_clear(&ov);
    tool_common_clear(&common);
    return rc;
}

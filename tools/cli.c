/*
 * cli.c: the option and overlay-loading skeleton every subcommand shares:
 * --help, --json, --overlay and --shrink parsed in one place, the subcommand's own
 * options handed to its callback, and the overlays loaded as the module
 * would (from the arguments, else from its configuration).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool.h"

enum { OPT_JSON = 0x1000, OPT_OVERLAY, OPT_SHRINK, OPT_HELP };

/* The subcommand's long options and the common ones, in one array. */
static struct option *
merged_options(const tool_common *c)
{
    size_t n = 0, k = 0;
    struct option *all;

    while (c->options && c->options[n].name)
        n++;
    all = calloc(n + 5, sizeof(*all));
    if (!all)
        return NULL;
    for (size_t i = 0; i < n; i++)
        all[k++] = c->options[i];
    if (c->flags & TOOL_OPT_JSON)
        all[k++] = (struct option){"json", no_argument, NULL, OPT_JSON};
    if (c->flags & TOOL_OPT_OVERLAY)
        all[k++] = (struct option){"overlay", required_argument, NULL, OPT_OVERLAY};
    if (c->flags & TOOL_OPT_REMADE)
        all[k++] = (struct option){"shrink", no_argument, NULL, OPT_SHRINK};
    all[k++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    return all;
}

static int
common_option(tool_common *c, int opt, char *arg)
{
    switch (opt) {
    case OPT_JSON:
        c->json = true;
        return -1;
    case OPT_OVERLAY:
        return tool_strv_push(&c->overlays, &c->n_overlays, arg) ? -1 : TOOL_EXIT_ERROR;
    case OPT_SHRINK:
        c->shrink = true;
        return -1;
    case 'h':
    case OPT_HELP:
        c->usage(stdout);
        return TOOL_EXIT_OK;
    default:
        if (opt != '?' && opt != ':' && c->option)
            return c->option(c->ctx, opt, arg);
        c->usage(stderr);
        return TOOL_EXIT_ERROR;
    }
}

/* The operand count the flags ask for: true, or the message and usage. */
static bool
operands_ok(const tool_common *c, int n)
{
    bool ok = true;

    if (c->flags & TOOL_OPT_NO_OPERAND)
        ok = n == 0;
    else if (c->flags & TOOL_OPT_ONE_OPERAND)
        ok = n == 1;
    else if (c->flags & TOOL_OPT_SOME_OPERANDS)
        ok = n >= 1;
    if (!ok) {
        if (c->operand_error)
            tool_error("%s", c->operand_error);
        c->usage(stderr);
    }
    return ok;
}

/* -1 to go on, or the exit status. */
static int
parse_args(tool_common *c, int argc, char **argv)
{
    char shortopts[64];
    struct option *all = merged_options(c);
    int opt, rc = -1;

    if (!all)
        return TOOL_EXIT_ERROR;
    snprintf(shortopts, sizeof(shortopts), "h%s", c->shortopts ? c->shortopts : "");
    optind = 1;
    while (rc < 0 && (opt = getopt_long(argc, argv, shortopts, all, NULL)) != -1)
        rc = common_option(c, opt, optarg);
    free(all);
    if (rc < 0 && !operands_ok(c, argc - optind))
        return TOOL_EXIT_ERROR;
    if (rc < 0 && (c->flags & TOOL_OPT_ARGS_ARE_OVERLAYS)) {
        for (int i = optind; i < argc; i++) {
            if (!tool_strv_push(&c->overlays, &c->n_overlays, argv[i]))
                return TOOL_EXIT_ERROR;
        }
    }
    return rc;
}

bool
tool_parse_args(tool_common *c, int argc, char **argv, int *rc)
{
    int status = parse_args(c, argc, argv);

    *rc = status >= 0 ? status : TOOL_EXIT_ERROR;
    return status < 0;
}

bool
tool_common_load(tool_common *c, tool_overlay *ov)
{
    return tool_overlay_load(ov, c->overlays, c->n_overlays);
}

void
tool_common_clear(tool_common *c)
{
    free(c->overlays);
    c->overlays = NULL;
    c->n_overlays = 0;
}

/*
 * nssguard: the command-line tool. One row of the table below per
 * subcommand; each subcommand lives in tools/cmd-NAME.c and shares
 * tools/tool.h and tools/util.c. See nssguard(1).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tool.h"

static const tool_command commands[] = {
    {"add", tool_cmd_add, "write distrust records for certificates"},
    {"import-mozilla", tool_cmd_import_mozilla, "Mozilla certdata.txt distrust -> overlay"},
    {"import-onecrl", tool_cmd_import_onecrl, "OneCRL records (JSON) -> overlay"},
    {"import-crl", tool_cmd_import_crl, "a root's CRL (signature verified) -> overlay"},
    {"check", tool_cmd_check, "parse and lint overlay files"},
    {"list", tool_cmd_list, "list the entries of an overlay"},
    {"explain", tool_cmd_explain, "which entries match a certificate or chain, and why"},
    {"verify", tool_cmd_verify, "verify a chain with NSS and the module loaded"},
    {"audit", tool_cmd_audit, "find CA certificates that are not technically constrained"},
    {"compile", tool_cmd_compile, "compile overlay text into the image the module maps"},
    {"expand", tool_cmd_expand, "key entries -> issuer+serial entries from certificate corpora"},
    {"enable", tool_cmd_enable, "add the module to NSS databases, Firefox profiles, policy"},
    {"disable", tool_cmd_disable, "remove the module from where enable put it"},
    {"status", tool_cmd_status, "where the module is loaded, and whether it enforces there"},
    {"watch", tool_cmd_watch, "say when the overlay changes (a running Firefox's host)"},
};

static void
usage(FILE *fp)
{
    fputs("usage: nssguard COMMAND [OPTIONS] [ARGS]\n\ncommands:\n", fp);
    for (size_t i = 0; i < NG_N_ELEMENTS(commands); i++)
        fprintf(fp, "  %-15s %s\n", commands[i].name, commands[i].summary);
    fputs("\n`nssguard COMMAND --help` describes one command; nssguard(1) all of them.\n"
          "`nssguard --version` prints the version.\n"
          "\nInputs the tool reads itself (certificates, OneCRL JSON, certdata.txt,\n"
          "standard input) are refused past 64 MiB each; overlays, read by the\n"
          "module's parser, past 512 MiB.\n",
          fp);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return TOOL_EXIT_ERROR;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return TOOL_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("nssguard %s\n", PACKAGE_VERSION);
        return TOOL_EXIT_OK;
    }
    for (size_t i = 0; i < NG_N_ELEMENTS(commands); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    tool_error("unknown command '%s'", argv[1]);
    usage(stderr);
    return TOOL_EXIT_ERROR;
}

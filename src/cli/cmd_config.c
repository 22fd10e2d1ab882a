/*
 * cmd_config.c: `parley config [receipts [on|off]]`: this device's settings. Only one so far:
 * whether it sends delivery and read receipts (PROTOCOL.md §28; stored in the client store's
 * settings as "receipts").
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_config(cli_ctx *ctx, int argc, char **argv)
{
    pl_client *c = NULL;
    const char *name, *value;
    int code, r = CLI_EXIT_USAGE;

    if (cli_parse_plain(ctx, "config", argc, argv, 0, 2, &r) != 0)
        goto out;
    name = optind < argc ? argv[optind] : NULL;
    value = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (name && strcmp(name, "receipts") != 0) {
        r = cli_usage_error("config", "unknown setting (known: receipts)");
        goto out;
    }
    if (value && strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
        r = cli_usage_error("config", "receipts takes on or off");
        goto out;
    }
    if ((r = cli_open(ctx, "config", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    if (value && (code = pl_client_receipts_set(c, strcmp(value, "on") == 0)) != PL_CLIENT_OK) {
        r = cli_fail("config", code, c, NULL);
        goto out;
    }
    if (ctx->json)
        printf("{\"receipts\":%s}\n", pl_client_receipts_enabled(c) ? "true" : "false");
    else
        printf("receipts %s\n", pl_client_receipts_enabled(c) ? "on" : "off");
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

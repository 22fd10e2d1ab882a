/*
 * cmd_remove_device.c: `parley remove-device ID`: removes another device of this account
 * (pl_client_remove_device, signed with the account key).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>

#include "cli.h"

int cmd_remove_device(cli_ctx *ctx, int argc, char **argv)
{
    pl_client *c = NULL;
    unsigned long long id = 0;
    size_t groups = 0;
    int code, r = CLI_EXIT_USAGE;

    if (cli_parse_plain(ctx, "remove-device", argc, argv, 1, 1, &r) != 0)
        goto out;
    if (cli_parse_uint(argv[optind], UINT32_MAX, &id) != 0 || id == 0) {
        r = cli_usage_error("remove-device", "ID must be a device number (see `parley devices`)");
        goto out;
    }
    if ((r = cli_open(ctx, "remove-device", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    if ((code = pl_client_remove_device(c, (uint32_t)id)) != PL_CLIENT_OK) {
        r = cli_fail("remove-device", code, c, NULL);
        goto out;
    }
    groups = cli_groups_follow_devices("remove-device", c, (uint32_t)id, 0);
    if (ctx->json) {
        printf("{\"removed\":%llu,\"groups_updated\":%zu}\n", id, groups);
    } else {
        printf("Removed device %llu.\n", id);
        if (groups)
            printf("Updated %zu group%s.\n", groups, groups == 1 ? "" : "s");
    }
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

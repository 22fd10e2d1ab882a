/*
 * cmd_approve.c: `parley approve CODE`: on an existing device, checks a new device's link
 * offer against CODE and signs it into the account (pl_client_approve).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_approve(cli_ctx *ctx, int argc, char **argv)
{
    pl_client *c = NULL;
    uint32_t device_id = 0;
    char device_name[65];
    size_t groups = 0;
    int code, r = CLI_EXIT_USAGE;

    if (cli_parse_plain(ctx, "approve", argc, argv, 1, 1, &r) != 0)
        goto out;
    if ((r = cli_open(ctx, "approve", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    memset(device_name, 0, sizeof device_name);
    if ((code = pl_client_approve(c, argv[optind], &device_id, device_name)) != PL_CLIENT_OK) {
        r = cli_fail("approve", code, c, NULL);
        goto out;
    }
    device_name[sizeof device_name - 1] = '\0';
    groups = cli_groups_follow_devices("approve", c, device_id, 1);
    if (ctx->json) {
        printf("{\"approved\":true,\"device\":%lu,\"name\":", (unsigned long)device_id);
        cli_put_json_string(stdout, device_name, strlen(device_name));
        printf(",\"groups_updated\":%zu}\n", groups);
    } else {
        printf("Approved device %lu", (unsigned long)device_id);
        if (device_name[0]) {
            fputs(" (", stdout);
            cli_put_text(stdout, device_name, strlen(device_name), 0);
            fputs(")", stdout);
        }
        fputs(".\n", stdout);
        if (groups)
            printf("Updated %zu group%s.\n", groups, groups == 1 ? "" : "s");
    }
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

/*
 * cmd_devices.c: `parley devices`: this account's devices from the server's signed list
 * (pl_client_devices): id, name, device key fingerprint, when added; '*' marks this one.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_devices(cli_ctx *ctx, int argc, char **argv)
{
    pl_client *c = NULL;
    pl_client_device *devs = NULL;
    size_t n = 0, i;
    char added[32];
    int code, r = CLI_EXIT_USAGE;

    if (cli_parse_plain(ctx, "devices", argc, argv, 0, 0, &r) != 0)
        goto out;
    if ((r = cli_open(ctx, "devices", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    if ((code = pl_client_devices(c, &devs, &n)) != PL_CLIENT_OK) {
        r = cli_fail("devices", code, c, NULL);
        goto out;
    }
    if (!ctx->json)
        printf("  %-4s %-20s %-19s %s\n", "ID", "NAME", "ADDED", "FINGERPRINT");
    for (i = 0; i < n; i++) {
        devs[i].name[sizeof devs[i].name - 1] = '\0';
        devs[i].fingerprint[sizeof devs[i].fingerprint - 1] = '\0';
        if (ctx->json) {
            char when[32];

            cli_format_rfc3339(devs[i].added_at_ms, when);
            printf("{\"id\":%lu,\"name\":", (unsigned long)devs[i].id);
            cli_put_json_string(stdout, devs[i].name, strlen(devs[i].name));
            fputs(",\"fingerprint\":", stdout);
            cli_put_json_string(stdout, devs[i].fingerprint, strlen(devs[i].fingerprint));
            printf(",\"added_at\":\"%s\",\"current\":%s}\n", when,
                   devs[i].current ? "true" : "false");
            continue;
        }
        cli_format_local(devs[i].added_at_ms, added);
        printf("%c %-4lu ", devs[i].current ? '*' : ' ', (unsigned long)devs[i].id);
        /* The name is the device's own choice: escaped, and padded by hand. */
        cli_put_text(stdout, devs[i].name, strlen(devs[i].name), 0);
        printf("%*s %-19s %s\n", strlen(devs[i].name) < 20 ? (int)(20 - strlen(devs[i].name)) : 0,
               "", added, devs[i].fingerprint);
    }
    r = CLI_EXIT_OK;
out:
    free(devs);
    pl_client_close(c);
    return r;
}

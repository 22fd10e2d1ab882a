/*
 * cmd_whoami.c: `parley whoami`: this account, device and server, with their fingerprints
 * (pl_client_whoami_get).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

/* One "label: value" line, or one JSON member. */
static void field(const cli_ctx *ctx, const char *key, const char *label, const char *value,
                  size_t cap, int first)
{
    size_t n = strnlen(value, cap);

    if (ctx->json) {
        printf("%s\"%s\":", first ? "{" : ",", key);
        cli_put_json_string(stdout, value, n);
        return;
    }
    printf("%-20s ", label);
    cli_put_text(stdout, value, n, 0);
    fputc('\n', stdout);
}

int cmd_whoami(cli_ctx *ctx, int argc, char **argv)
{
    pl_client *c = NULL;
    pl_client_whoami me;
    char device[16];
    int code, r = CLI_EXIT_USAGE;

    if (cli_parse_plain(ctx, "whoami", argc, argv, 0, 0, &r) != 0)
        goto out;
    if ((r = cli_open(ctx, "whoami", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    memset(&me, 0, sizeof me);
    if ((code = pl_client_whoami_get(c, &me)) != PL_CLIENT_OK) {
        r = cli_fail("whoami", code, c, NULL);
        goto out;
    }
    snprintf(device, sizeof device, "%lu", (unsigned long)me.device_id);
    field(ctx, "user", "user:", me.username, sizeof me.username, 1);
    if (ctx->json)
        printf(",\"device\":%lu", (unsigned long)me.device_id);
    else
        field(ctx, "device", "device:", device, sizeof device, 0);
    field(ctx, "device_name", "device name:", me.device_name, sizeof me.device_name, 0);
    field(ctx, "server", "server:", me.server, sizeof me.server, 0);
    field(ctx, "account_fingerprint", "account fingerprint:", me.account_fingerprint,
          sizeof me.account_fingerprint, 0);
    field(ctx, "device_fingerprint", "device fingerprint:", me.device_fingerprint,
          sizeof me.device_fingerprint, 0);
    field(ctx, "server_fingerprint", "server certificate:", me.server_fingerprint,
          sizeof me.server_fingerprint, 0);
    if (ctx->json)
        fputs("}\n", stdout);
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

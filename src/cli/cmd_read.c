/*
 * cmd_read.c: `parley read USER`: marks what USER sent as read and, when receipts are on,
 * tells USER with one read receipt (pl_client_mark_read; PROTOCOL.md §28).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_read(cli_ctx *ctx, int argc, char **argv)
{
    pl_client *c = NULL;
    size_t n = 0;
    int code, r = CLI_EXIT_USAGE;

    if (cli_parse_plain(ctx, "read", argc, argv, 1, 1, &r) != 0)
        goto out;
    if ((r = cli_open(ctx, "read", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    if ((code = pl_client_mark_read(c, argv[optind], &n)) != PL_CLIENT_OK) {
        r = cli_fail("read", code, c, NULL);
        goto out;
    }
    if (ctx->json) {
        fputs("{\"user\":", stdout);
        cli_put_json_string(stdout, argv[optind], strlen(argv[optind]));
        printf(",\"marked_read\":%zu,\"receipts\":%s}\n", n,
               pl_client_receipts_enabled(c) ? "true" : "false");
    } else {
        printf("%zu message%s marked read%s\n", n, n == 1 ? "" : "s",
               n && !pl_client_receipts_enabled(c) ? " (receipts are off: not reported)" : "");
    }
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

/*
 * cmd_recv.c: `parley recv [--wait SECONDS]`: receives every pending message, printing each
 * (pl_client_receive), waiting up to SECONDS for a first one when none is pending.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>

#include "cli.h"

#define OPT_WAIT 'w'
#define OPT_SAVE_DIR 'd'
#define MAX_WAIT_SECONDS 86400u

int cmd_recv(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"wait", required_argument, NULL, OPT_WAIT},
        {"save-dir", required_argument, NULL, OPT_SAVE_DIR},
        {NULL, 0, NULL, 0},
    };
    pl_client *c = NULL;
    unsigned long long wait_s = 0;
    const char *save_dir = NULL;
    int opt, code, r = CLI_EXIT_USAGE;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == OPT_SAVE_DIR) {
            save_dir = optarg;
        } else if (opt == OPT_WAIT) {
            if (cli_parse_uint(optarg, MAX_WAIT_SECONDS, &wait_s) != 0) {
                r = cli_usage_error("recv", "--wait takes a number of seconds (at most 86400)");
                goto out;
            }
        } else if (cli_global_option(ctx, "recv", opt, optarg, &r) < 0) {
            goto out;
        }
    }
    if (optind != argc) {
        r = cli_usage_error("recv", "unexpected argument");
        goto out;
    }
    if ((r = cli_open(ctx, "recv", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    pl_client_on_receipt(c, cli_receipt_cb, ctx);
    code = pl_client_receive(c, (int)(wait_s * 1000u), cli_message_cb, ctx);
    if (code != PL_CLIENT_OK) {
        r = cli_fail("recv", code, c, NULL);
        goto out;
    }
    r = cli_fetch_files(ctx, c, save_dir); /* attachments of what just arrived (and before) */
out:
    pl_client_close(c);
    return r;
}

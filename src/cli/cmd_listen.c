/*
 * cmd_listen.c: `parley listen`: stays connected and prints messages as they arrive
 * (pl_client_listen, which reconnects with backoff); SIGINT or SIGTERM ends it with status 0.
 * Attachments are downloaded as `recv` does (--save-dir, the same output) when it is idle.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

#define OPT_SAVE_DIR 'd'

int cmd_listen(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"save-dir", required_argument, NULL, OPT_SAVE_DIR},
        {NULL, 0, NULL, 0},
    };
    static volatile sig_atomic_t stop;
    const char *save_dir = NULL;
    pl_client *c = NULL;
    pl_client_whoami me;
    int opt, code, r = CLI_EXIT_USAGE;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == OPT_SAVE_DIR)
            save_dir = optarg;
        else if (cli_global_option(ctx, "listen", opt, optarg, &r) < 0)
            goto out;
    }
    if (optind != argc) {
        r = cli_usage_error("listen", "unexpected argument");
        goto out;
    }
    stop = 0;
    /* Before opening: a signal during the open must still end the program cleanly. */
    cli_signals_stop_on(&stop);
    if ((r = cli_open(ctx, "listen", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    memset(&me, 0, sizeof me);
    if (!ctx->json && pl_client_whoami_get(c, &me) == PL_CLIENT_OK) {
        /* On stderr, so stdout carries only messages. */
        fputs("parley: listening as ", stderr);
        cli_put_text(stderr, me.username, strlen(me.username), 0);
        fputs(" (Ctrl-C stops)\n", stderr);
    }
    pl_client_on_receipt(c, cli_receipt_cb, ctx);
    if ((r = cli_listen_files(ctx, c, save_dir)) != CLI_EXIT_OK)
        goto out;
    code = pl_client_listen(c, &stop, cli_message_cb, ctx);
    if (code != PL_CLIENT_OK && !(code == PL_CLIENT_E_INTERRUPTED && stop)) {
        r = cli_fail("listen", code, c, NULL);
        goto out;
    }
    r = CLI_EXIT_OK;
out:
    cli_signals_restore();
    pl_client_close(c);
    return r;
}

/*
 * cmd_history.c: `parley history USER [--limit N]`: the stored conversation with USER,
 * oldest first (pl_client_history).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdint.h>

#include "cli.h"

#define OPT_LIMIT 'n'

int cmd_history(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"limit", required_argument, NULL, OPT_LIMIT},
        {NULL, 0, NULL, 0},
    };
    pl_client *c = NULL;
    unsigned long long limit = 0;
    size_t unread = 0;
    int opt, code, r = CLI_EXIT_USAGE;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == OPT_LIMIT) {
            if (cli_parse_uint(optarg, SIZE_MAX, &limit) != 0) {
                r = cli_usage_error("history", "--limit takes a number");
                goto out;
            }
        } else if (cli_global_option(ctx, "history", opt, optarg, &r) < 0) {
            goto out;
        }
    }
    if (argc - optind != 1) {
        r = cli_usage_error("history", argc - optind < 1 ? "missing USER" : "too many arguments");
        goto out;
    }
    if ((r = cli_open(ctx, "history", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    code = pl_client_history(c, argv[optind], (size_t)limit, cli_message_cb, ctx);
    if (code != PL_CLIENT_OK) {
        r = cli_fail("history", code, c, NULL);
        goto out;
    }
    /* Shown, so read (PROTOCOL.md §28): connects only when something is unread. Best effort:
     * the history was shown; a failure is a warning, and `parley read` can try again. */
    if (pl_client_unread_count(c, argv[optind], &unread) == PL_CLIENT_OK && unread > 0 &&
        (code = pl_client_mark_read(c, argv[optind], &unread)) != PL_CLIENT_OK)
        fprintf(stderr, "parley: history: could not mark the messages read: %s\n",
                pl_client_error(c));
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

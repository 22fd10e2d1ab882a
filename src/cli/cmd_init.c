/*
 * cmd_init.c: `parley init --server HOST:PORT --user NAME [--ca FILE] [--device-name TEXT]
 * [--passphrase-prompt]`: a new home, account key and first device, registered on the server
 * with prekeys uploaded (pl_client_open with create, then pl_client_init).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

#define OPT_SERVER 's'
#define OPT_USER 'u'
#define OPT_CA 'c'
#define OPT_DEVICE_NAME 'd'
#define OPT_PASSPHRASE_PROMPT 'p'

int cmd_init(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"server", required_argument, NULL, OPT_SERVER},
        {"user", required_argument, NULL, OPT_USER},
        {"ca", required_argument, NULL, OPT_CA},
        {"device-name", required_argument, NULL, OPT_DEVICE_NAME},
        {"passphrase-prompt", no_argument, NULL, OPT_PASSPHRASE_PROMPT},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL, *user = NULL, *ca = NULL, *device_name = NULL;
    int prompt = 0, opt, code;
    pl_client *c = NULL;
    pl_client_whoami me;
    char fingerprint[96];
    int r = CLI_EXIT_USAGE;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_SERVER:
            server = optarg;
            break;
        case OPT_USER:
            user = optarg;
            break;
        case OPT_CA:
            ca = optarg;
            break;
        case OPT_DEVICE_NAME:
            device_name = optarg;
            break;
        case OPT_PASSPHRASE_PROMPT:
            prompt = 1;
            break;
        default:
            if (cli_global_option(ctx, "init", opt, optarg, &r) < 0)
                goto out;
        }
    }
    if (optind != argc) {
        r = cli_usage_error("init", "unexpected argument");
        goto out;
    }
    if (!server || !user) {
        r = cli_usage_error("init", "--server and --user are required");
        goto out;
    }
    if ((r = cli_open(ctx, "init", 1, prompt, &c)) != CLI_EXIT_OK)
        goto out;
    memset(fingerprint, 0, sizeof fingerprint);
    if ((code = pl_client_init(c, server, ca, user, device_name, fingerprint)) != PL_CLIENT_OK) {
        r = cli_fail("init", code, c, NULL);
        goto out;
    }
    memset(&me, 0, sizeof me);
    if ((code = pl_client_whoami_get(c, &me)) != PL_CLIENT_OK) {
        r = cli_fail("init", code, c, NULL);
        goto out;
    }
    if (ctx->json) {
        fputs("{\"user\":", stdout);
        cli_put_json_string(stdout, me.username, strlen(me.username));
        fputs(",\"server\":", stdout);
        cli_put_json_string(stdout, server, strlen(server));
        printf(",\"device\":%lu,\"server_fingerprint\":", (unsigned long)me.device_id);
        cli_put_json_string(stdout, fingerprint, strlen(fingerprint));
        printf(",\"pinned\":\"%s\",\"account_fingerprint\":", ca ? "ca" : "first-use");
        cli_put_json_string(stdout, me.account_fingerprint, strlen(me.account_fingerprint));
        fputs("}\n", stdout);
    } else {
        fputs("Registered ", stdout);
        cli_put_text(stdout, me.username, strlen(me.username), 0);
        fputs(" on ", stdout);
        cli_put_text(stdout, server, strlen(server), 0);
        printf(" as device %lu.\n", (unsigned long)me.device_id);
        if (ca)
            printf("Server certificate (pinned from the CA file): %s\n", fingerprint);
        else
            printf("Server certificate (trusted on first use, now pinned): %s\n"
                   "Compare it with the one the server's operator publishes.\n",
                   fingerprint);
        printf("Account fingerprint: %s\n", me.account_fingerprint);
    }
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

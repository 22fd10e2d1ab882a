/*
 * cmd_link.c: `parley link --server HOST:PORT [--ca FILE] [--device-name TEXT]
 * [--passphrase-prompt]`: makes this home a new device of an existing account. Prints the
 * link code and a QR code, then waits (10 minutes at most; SIGINT or SIGTERM stops it) for
 * `parley approve CODE` on a device of the account (pl_client_link_start, _link_wait).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

#define OPT_SERVER 's'
#define OPT_CA 'c'
#define OPT_DEVICE_NAME 'd'
#define OPT_PASSPHRASE_PROMPT 'p'
#define LINK_TIMEOUT_MS (10 * 60 * 1000)

int cmd_link(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"server", required_argument, NULL, OPT_SERVER},
        {"ca", required_argument, NULL, OPT_CA},
        {"device-name", required_argument, NULL, OPT_DEVICE_NAME},
        {"passphrase-prompt", no_argument, NULL, OPT_PASSPHRASE_PROMPT},
        {NULL, 0, NULL, 0},
    };
    static volatile sig_atomic_t stop;
    const char *server = NULL, *ca = NULL, *device_name = NULL;
    int prompt = 0, opt, code;
    pl_client *c = NULL;
    pl_client_whoami me;
    char link_code[32], qr[128], fingerprint[96];
    int r = CLI_EXIT_USAGE;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_SERVER:
            server = optarg;
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
            if (cli_global_option(ctx, "link", opt, optarg, &r) < 0)
                goto out;
        }
    }
    if (optind != argc) {
        r = cli_usage_error("link", "unexpected argument");
        goto out;
    }
    if (!server) {
        r = cli_usage_error("link", "--server is required");
        goto out;
    }
    if ((r = cli_open(ctx, "link", 1, prompt, &c)) != CLI_EXIT_OK)
        goto out;
    memset(link_code, 0, sizeof link_code);
    memset(qr, 0, sizeof qr);
    memset(fingerprint, 0, sizeof fingerprint);
    code = pl_client_link_start(c, server, ca, device_name, link_code, qr, fingerprint);
    if (code != PL_CLIENT_OK) {
        r = cli_fail("link", code, c, NULL);
        goto out;
    }
    if (ctx->json) {
        fputs("{\"code\":", stdout);
        cli_put_json_string(stdout, link_code, strnlen(link_code, sizeof link_code));
        fputs(",\"qr\":", stdout);
        cli_put_json_string(stdout, qr, strnlen(qr, sizeof qr));
        fputs(",\"server_fingerprint\":", stdout);
        cli_put_json_string(stdout, fingerprint, strnlen(fingerprint, sizeof fingerprint));
        fputs("}\n", stdout);
    } else {
        printf("Server certificate: %s%s\n", fingerprint, ca ? "" : " (trusted on first use)");
        fputs("On a device of your account, run:\n\n    parley approve ", stdout);
        cli_put_text(stdout, link_code, strnlen(link_code, sizeof link_code), 0);
        fputs("\n\nor scan this code:\n\n", stdout);
        if (cli_qr_print(stdout, qr) != 0)
            fputs("(the QR code could not be drawn)\n", stdout);
        fputs("\nWaiting for approval (10 minutes; Ctrl-C stops)...\n", stdout);
    }
    fflush(stdout);
    stop = 0;
    cli_signals_stop_on(&stop);
    code = pl_client_link_wait(c, LINK_TIMEOUT_MS, &stop);
    cli_signals_restore();
    if (code != PL_CLIENT_OK) {
        r = cli_fail("link", code, c,
                     code == PL_CLIENT_E_INTERRUPTED ? "interrupted: no device was linked" : NULL);
        goto out;
    }
    memset(&me, 0, sizeof me);
    if ((code = pl_client_whoami_get(c, &me)) != PL_CLIENT_OK) {
        r = cli_fail("link", code, c, NULL);
        goto out;
    }
    if (ctx->json) {
        fputs("{\"linked\":true,\"user\":", stdout);
        cli_put_json_string(stdout, me.username, strlen(me.username));
        printf(",\"device\":%lu}\n", (unsigned long)me.device_id);
    } else {
        fputs("Linked: this is device ", stdout);
        printf("%lu of ", (unsigned long)me.device_id);
        cli_put_text(stdout, me.username, strlen(me.username), 0);
        fputs(".\n", stdout);
    }
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

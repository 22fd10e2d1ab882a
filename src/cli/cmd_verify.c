/*
 * cmd_verify.c: `parley verify USER [--confirm NUMBER]`: shows the safety number shared with
 * USER and both account fingerprints (pl_client_safety_number); with --confirm, marks USER
 * verified when NUMBER matches (pl_client_verify_confirm), else fails.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

#define OPT_CONFIRM 'c'

static void print_safety(const cli_ctx *ctx, const char *user, const pl_client_safety *s)
{
    size_t n = strlen(user);

    if (ctx->json) {
        fputs("{\"user\":", stdout);
        cli_put_json_string(stdout, user, n);
        fputs(",\"safety_number\":", stdout);
        cli_put_json_string(stdout, s->safety_number,
                            strnlen(s->safety_number, sizeof s->safety_number));
        fputs(",\"our_fingerprint\":", stdout);
        cli_put_json_string(stdout, s->our_fingerprint,
                            strnlen(s->our_fingerprint, sizeof s->our_fingerprint));
        fputs(",\"their_fingerprint\":", stdout);
        cli_put_json_string(stdout, s->their_fingerprint,
                            strnlen(s->their_fingerprint, sizeof s->their_fingerprint));
        printf(",\"verified\":%s,\"key_changed\":%s}\n", s->verified ? "true" : "false",
               s->key_changed ? "true" : "false");
        return;
    }
    fputs("Safety number with ", stdout);
    cli_put_text(stdout, user, n, 0);
    fputs(":\n\n    ", stdout);
    cli_put_text(stdout, s->safety_number, strnlen(s->safety_number, sizeof s->safety_number), 0);
    fputs("\n\nYour account fingerprint:   ", stdout);
    cli_put_text(stdout, s->our_fingerprint, strnlen(s->our_fingerprint, sizeof s->our_fingerprint),
                 0);
    fputs("\nTheir account fingerprint:  ", stdout);
    cli_put_text(stdout, s->their_fingerprint,
                 strnlen(s->their_fingerprint, sizeof s->their_fingerprint), 0);
    fputc('\n', stdout);
    if (s->key_changed)
        fputs("Status: KEY CHANGED since you verified: compare the number again, then\n"
              "        `parley verify USER --confirm NUMBER`. Sending is blocked until then.\n",
              stdout);
    else if (s->verified)
        fputs("Status: verified\n", stdout);
    else
        fputs("Status: not verified. Compare the number with them (in person or on a call),\n"
              "        then run `parley verify USER --confirm NUMBER`.\n",
              stdout);
}

int cmd_verify(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"confirm", required_argument, NULL, OPT_CONFIRM},
        {NULL, 0, NULL, 0},
    };
    pl_client *c = NULL;
    pl_client_safety safety;
    const char *confirm = NULL, *user;
    char what[64];
    int opt, code, r = CLI_EXIT_USAGE;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == OPT_CONFIRM)
            confirm = optarg;
        else if (cli_global_option(ctx, "verify", opt, optarg, &r) < 0)
            goto out;
    }
    if (argc - optind != 1) {
        r = cli_usage_error("verify", argc - optind < 1 ? "missing USER" : "too many arguments");
        goto out;
    }
    user = argv[optind];
    snprintf(what, sizeof what, "verify %.32s", user);
    if ((r = cli_open(ctx, "verify", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    if (confirm) {
        if ((code = pl_client_verify_confirm(c, user, confirm)) != PL_CLIENT_OK) {
            r = cli_fail(what, code, c,
                         code == PL_CLIENT_E_MISMATCH ? "safety number does not match" : NULL);
            goto out;
        }
        if (ctx->json) {
            fputs("{\"user\":", stdout);
            cli_put_json_string(stdout, user, strlen(user));
            fputs(",\"verified\":true}\n", stdout);
        } else {
            cli_put_text(stdout, user, strlen(user), 0);
            fputs(" is now verified.\n", stdout);
        }
        r = CLI_EXIT_OK;
        goto out;
    }
    memset(&safety, 0, sizeof safety);
    if ((code = pl_client_safety_number(c, user, &safety)) != PL_CLIENT_OK) {
        r = cli_fail(what, code, c, NULL);
        goto out;
    }
    print_safety(ctx, user, &safety);
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

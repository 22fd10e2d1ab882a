/*
 * cmd_contacts.c: `parley contacts`: the users this account knows, with their account
 * fingerprint and whether they are verified (pl_client_contacts).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

static int print_contact(void *arg, const pl_client_contact *ct)
{
    const cli_ctx *ctx = arg;
    char when[32];
    const char *state;
    size_t n = strnlen(ct->username, sizeof ct->username);

    if (ctx->json) {
        cli_format_rfc3339(ct->first_seen_ms, when);
        fputs("{\"user\":", stdout);
        cli_put_json_string(stdout, ct->username, n);
        fputs(",\"fingerprint\":", stdout);
        cli_put_json_string(stdout, ct->fingerprint,
                            strnlen(ct->fingerprint, sizeof ct->fingerprint));
        printf(",\"verified\":%s,\"key_changed\":%s,\"first_seen\":\"%s\"}\n",
               ct->verified ? "true" : "false", ct->key_changed ? "true" : "false", when);
        return 0;
    }
    cli_format_local(ct->first_seen_ms, when);
    state = ct->key_changed ? "KEY CHANGED" : ct->verified ? "verified" : "unverified";
    cli_put_text(stdout, ct->username, n, 0);
    printf("%*s %-12s %-19s ", n < 20 ? (int)(20 - n) : 0, "", state, when);
    cli_put_text(stdout, ct->fingerprint, strnlen(ct->fingerprint, sizeof ct->fingerprint), 0);
    fputc('\n', stdout);
    return 0;
}

int cmd_contacts(cli_ctx *ctx, int argc, char **argv)
{
    pl_client *c = NULL;
    int code, r = CLI_EXIT_USAGE;

    if (cli_parse_plain(ctx, "contacts", argc, argv, 0, 0, &r) != 0)
        goto out;
    if ((r = cli_open(ctx, "contacts", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    if (!ctx->json)
        printf("%-20s %-12s %-19s %s\n", "USER", "STATE", "FIRST SEEN", "FINGERPRINT");
    if ((code = pl_client_contacts(c, print_contact, ctx)) != PL_CLIENT_OK) {
        r = cli_fail("contacts", code, c, NULL);
        goto out;
    }
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

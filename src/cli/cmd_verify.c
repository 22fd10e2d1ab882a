/*
 * cmd_verify.c: `parley verify USER [--confirm NUMBER]`: shows the safety number shared with
 * USER and both account fingerprints (pl_client_safety_number); with --confirm, marks USER
 * verified when NUMBER matches (pl_client_verify_confirm), else fails. Without --confirm it
 * also looks USER up in the key-transparency log and shows what was verified
 * (pl_client_kt_status_get): version, checkpoint, the devices the log lists, alerts.
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
        printf(",\"verified\":%s,\"key_changed\":%s", s->verified ? "true" : "false",
               s->key_changed ? "true" : "false"); /* print_kt closes the object */
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

typedef struct user_alerts {
    const cli_ctx *ctx;
    const char *user;
    size_t n;
} user_alerts;

static int print_user_alert(void *arg, const pl_client_alert *a)
{
    user_alerts *u = arg;

    if (a->user[0] && strcmp(a->user, u->user) != 0)
        return 0;
    if (u->ctx->json) {
        fputs(u->n ? "," : "", stdout);
        printf("{\"id\":%lld,\"kind\":", (long long)a->id);
        cli_put_json_string(stdout, a->kind, strnlen(a->kind, sizeof a->kind));
        fputs(",\"reason\":", stdout);
        cli_put_json_string(stdout, a->reason, strnlen(a->reason, sizeof a->reason));
        fputc('}', stdout);
    } else {
        printf("  ALERT #%lld (%s): ", (long long)a->id, a->kind);
        cli_put_text(stdout, a->reason, strnlen(a->reason, sizeof a->reason), 0);
        fputc('\n', stdout);
    }
    u->n++;
    return 0;
}

/* The key-transparency part of `parley verify USER` (pl_client_kt_status_get). */
static void print_kt(const cli_ctx *ctx, pl_client *c, const char *user,
                     const pl_client_kt_status *k)
{
    char label[33], when[32], made[32];
    user_alerts ua = {ctx, label, 0};
    size_t n = strnlen(user, 32);

    for (size_t i = 0; i < n; i++)
        label[i] = (char)((user[i] >= 'A' && user[i] <= 'Z') ? user[i] + 32 : user[i]);
    label[n] = '\0';
    if (ctx->json) {
        fputs(",\"kt\":{\"pinned\":", stdout);
        fputs(k->pinned ? "true" : "false", stdout);
        fputs(",\"origin\":", stdout);
        cli_put_json_string(stdout, k->origin, strnlen(k->origin, sizeof k->origin));
        cli_format_rfc3339(k->checkpoint_checked_ms, when);
        printf(",\"checkpoint_size\":%llu,\"checkpoint_verified_at\":\"%s\",\"verified\":%s",
               (unsigned long long)k->checkpoint_size, when, k->verified ? "true" : "false");
        if (k->verified) {
            cli_format_rfc3339(k->verified_at_ms, when);
            printf(",\"version\":%lu,\"verified_at\":\"%s\",\"devices\":[",
                   (unsigned long)k->version, when);
            for (size_t i = 0; i < k->n_devices; i++) {
                if (i)
                    fputc(',', stdout);
                cli_put_kt_device_json(stdout, &k->devices[i]);
            }
            fputc(']', stdout);
        }
        printf(",\"blocked\":%s,\"alerts\":[", k->blocked ? "true" : "false");
        (void)pl_client_alerts(c, 0, print_user_alert, &ua);
        fputs("]}}\n", stdout);
        return;
    }
    fputs("\nKey transparency: ", stdout);
    if (!k->pinned) {
        fputs("no log pinned\n", stdout);
        return;
    }
    cli_put_text(stdout, k->origin, strnlen(k->origin, sizeof k->origin), 0);
    fputc('\n', stdout);
    if (k->has_checkpoint) {
        cli_format_local(k->checkpoint_checked_ms, when);
        printf("  checkpoint: size %llu, verified %s\n", (unsigned long long)k->checkpoint_size,
               when);
    }
    if (k->verified) {
        cli_format_local(k->verified_at_ms, when);
        cli_format_local(k->created_at_ms, made);
        printf("  verified version %lu (made %s by %s%lu), checked %s\n", (unsigned long)k->version,
               made, k->publisher_device_id ? "device " : "account key ",
               (unsigned long)k->publisher_device_id, when);
        printf("  account fingerprint in the log: %s\n", k->account_fingerprint);
        printf("  devices in the verified state:\n");
        for (size_t i = 0; i < k->n_devices; i++) {
            cli_format_local(k->devices[i].added_at_ms, when);
            printf("    %-6lu %s  (added %s)\n", (unsigned long)k->devices[i].id,
                   k->devices[i].fingerprint, when);
        }
    } else {
        fputs("  not verified in the log\n", stdout);
    }
    (void)pl_client_alerts(c, 0, print_user_alert, &ua);
    if (k->blocked)
        printf("  sending is BLOCKED by alert #%lld: see `parley alerts`\n",
               (long long)k->blocking_alert);
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
    pl_client_kt_status kt;
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
    code = pl_client_kt_status_get(c, user, 1, &kt);
    print_kt(ctx, c, user, &kt);
    fflush(stdout);
    r = code == PL_CLIENT_OK || code == PL_CLIENT_E_KEY_CHANGED ? CLI_EXIT_OK
                                                                : cli_fail(what, code, c, NULL);
out:
    pl_client_close(c);
    return r;
}

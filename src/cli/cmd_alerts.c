/*
 * cmd_alerts.c: `parley alerts [--all] [--ack ID] [--export DIR [--id ID]]`: the
 * key-transparency alerts (pl_client_alerts), acknowledging one (pl_client_alert_ack), and
 * writing their evidence for an auditor (pl_client_alerts_export). Local only: no server.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

#define OPT_ALL 'a'
#define OPT_ACK 'k'
#define OPT_EXPORT 'e'
#define OPT_ID 'i'

typedef struct alerts_ctx {
    const cli_ctx *ctx;
    size_t n;
} alerts_ctx;

static int print_alert(void *arg, const pl_client_alert *a)
{
    alerts_ctx *x = arg;
    char when[32];

    x->n++;
    if (x->ctx->json) {
        cli_format_rfc3339(a->created_at_ms, when);
        printf("{\"id\":%lld,\"user\":", (long long)a->id);
        cli_put_json_string(stdout, a->user, strnlen(a->user, sizeof a->user));
        fputs(",\"kind\":", stdout);
        cli_put_json_string(stdout, a->kind, strnlen(a->kind, sizeof a->kind));
        fputs(",\"reason\":", stdout);
        cli_put_json_string(stdout, a->reason, strnlen(a->reason, sizeof a->reason));
        printf(",\"high\":%s,\"created_at\":\"%s\",\"acknowledged\":%s,\"evidence\":%zu}\n",
               a->high ? "true" : "false", when, a->acknowledged ? "true" : "false", a->n_evidence);
        return 0;
    }
    cli_format_local(a->created_at_ms, when);
    printf("#%lld  %s  %s%s  ", (long long)a->id, when, a->kind, a->high ? " (HIGH)" : "");
    cli_put_text(stdout, a->user[0] ? a->user : "(the log)",
                 a->user[0] ? strnlen(a->user, sizeof a->user) : 9, 0);
    printf("%s\n    ", a->acknowledged ? "  [acknowledged]" : "");
    cli_put_text(stdout, a->reason, strnlen(a->reason, sizeof a->reason), 0);
    printf("\n    evidence: %zu file%s\n", a->n_evidence, a->n_evidence == 1 ? "" : "s");
    return 0;
}

int cmd_alerts(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"all", no_argument, NULL, OPT_ALL},
        {"ack", required_argument, NULL, OPT_ACK},
        {"export", required_argument, NULL, OPT_EXPORT},
        {"id", required_argument, NULL, OPT_ID},
        {NULL, 0, NULL, 0},
    };
    unsigned long long ack = 0, id = 0;
    const char *dir = NULL;
    alerts_ctx x = {ctx, 0};
    pl_client *c = NULL;
    int opt, all = 0, code, r = CLI_EXIT_USAGE;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == OPT_ALL) {
            all = 1;
        } else if (opt == OPT_ACK) {
            if (cli_parse_uint(optarg, INT64_MAX, &ack) != 0 || ack == 0) {
                r = cli_usage_error("alerts", "--ack takes an alert number");
                goto out;
            }
        } else if (opt == OPT_ID) {
            if (cli_parse_uint(optarg, INT64_MAX, &id) != 0 || id == 0) {
                r = cli_usage_error("alerts", "--id takes an alert number");
                goto out;
            }
        } else if (opt == OPT_EXPORT) {
            dir = optarg;
        } else if (cli_global_option(ctx, "alerts", opt, optarg, &r) < 0) {
            goto out;
        }
    }
    if (optind != argc) {
        r = cli_usage_error("alerts", "too many arguments");
        goto out;
    }
    if ((ack && dir) || (id && !dir)) {
        r = cli_usage_error("alerts", "--ack and --export go alone; --id goes with --export");
        goto out;
    }
    if ((r = cli_open(ctx, "alerts", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    if (ack) {
        if ((code = pl_client_alert_ack(c, (int64_t)ack)) != PL_CLIENT_OK) {
            r = cli_fail("alerts", code, c, NULL);
            goto out;
        }
        if (ctx->json)
            printf("{\"acknowledged\":%llu}\n", ack);
        else
            printf("alert #%llu acknowledged\n", ack);
    } else if (dir) {
        size_t n = 0;

        if ((code = pl_client_alerts_export(c, dir, (int64_t)id, &n)) != PL_CLIENT_OK) {
            r = cli_fail("alerts", code, c, NULL);
            goto out;
        }
        if (ctx->json) {
            fputs("{\"exported\":", stdout);
            cli_put_json_string(stdout, dir, strlen(dir));
            printf(",\"files\":%zu}\n", n);
        } else {
            printf("%zu evidence file%s written under ", n, n == 1 ? "" : "s");
            cli_put_text(stdout, dir, strlen(dir), 0);
            fputc('\n', stdout);
        }
    } else {
        if ((code = pl_client_alerts(c, all, print_alert, &x)) != PL_CLIENT_OK) {
            r = cli_fail("alerts", code, c, NULL);
            goto out;
        }
        if (!ctx->json && x.n == 0)
            printf(all ? "no alerts\n" : "no unacknowledged alerts\n");
    }
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

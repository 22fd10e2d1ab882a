/*
 * cmd_log.c: `parley log`: this account's history in the key-transparency log
 * (pl_client_account_log): each version, proven by a fixed lookup and checked against the one
 * before, with its time, the device that made it and the devices it added and removed.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct log_ctx {
    const cli_ctx *ctx;
    size_t unexpected;
} log_ctx;

static void device_line(char sign, const pl_client_kt_device *d)
{
    char added[32];

    cli_format_local(d->added_at_ms, added);
    printf("    %c device %-6lu %s  (added %s)\n", sign, (unsigned long)d->id, d->fingerprint,
           added);
}

static void devices_json(const char *name, const pl_client_kt_device *d, size_t n)
{
    printf(",\"%s\":[", name);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', stdout);
        cli_put_kt_device_json(stdout, &d[i]);
    }
    fputc(']', stdout);
}

static int print_entry(void *arg, const pl_client_log_entry *e)
{
    log_ctx *l = arg;
    char when[32];

    if (e->unexpected[0])
        l->unexpected++;
    if (l->ctx->json) {
        cli_format_rfc3339(e->created_at_ms, when);
        printf("{\"version\":%lu,\"created_at\":\"%s\",\"publisher\":%lu",
               (unsigned long)e->version, when, (unsigned long)e->publisher_device_id);
        cli_format_rfc3339(e->entry_time_ms, when);
        printf(",\"logged_at\":\"%s\",\"devices\":%zu", when, e->n_devices);
        devices_json("added", e->added, e->n_added);
        devices_json("removed", e->removed, e->n_removed);
        fputs(",\"unexpected\":", stdout);
        if (e->unexpected[0])
            cli_put_json_string(stdout, e->unexpected,
                                strnlen(e->unexpected, sizeof e->unexpected));
        else
            fputs("null", stdout);
        fputs("}\n", stdout);
        return 0;
    }
    cli_format_local(e->created_at_ms, when);
    printf("version %lu  %s  ", (unsigned long)e->version, when);
    if (e->publisher_device_id == 0)
        printf("by the account key (registration)");
    else
        printf("by device %lu", (unsigned long)e->publisher_device_id);
    printf(", %zu device%s\n", e->n_devices, e->n_devices == 1 ? "" : "s");
    for (size_t i = 0; i < e->n_added; i++)
        device_line('+', &e->added[i]);
    for (size_t i = 0; i < e->n_removed; i++)
        device_line('-', &e->removed[i]);
    if (e->unexpected[0]) {
        fputs("    !! UNEXPECTED: ", stdout);
        cli_put_text(stdout, e->unexpected, strnlen(e->unexpected, sizeof e->unexpected), 0);
        fputc('\n', stdout);
    }
    return 0;
}

int cmd_log(cli_ctx *ctx, int argc, char **argv)
{
    pl_client *c = NULL;
    log_ctx l = {ctx, 0};
    int code, r = CLI_EXIT_USAGE;

    if (cli_parse_plain(ctx, "log", argc, argv, 0, 0, &r) != 0)
        goto out;
    if ((r = cli_open(ctx, "log", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    if ((code = pl_client_account_log(c, print_entry, &l)) != PL_CLIENT_OK) {
        fflush(stdout);
        r = cli_fail("log", code, c, NULL);
        goto out;
    }
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

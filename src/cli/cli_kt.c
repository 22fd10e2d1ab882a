/*
 * cli_kt.c: key-transparency output shared by the commands: the high-priority alert lines
 * every command prints until they are acknowledged, and a verified device as JSON.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "cli.h"

static int print_high(void *ctx, const pl_client_alert *a)
{
    (void)ctx;
    if (!a->high)
        return 0;
    fprintf(stderr, "parley: ALERT #%lld (%s", (long long)a->id, a->kind);
    if (a->user[0]) {
        fputs(", ", stderr);
        cli_put_text(stderr, a->user, strnlen(a->user, sizeof a->user), 0);
    }
    fputs("): ", stderr);
    cli_put_text(stderr, a->reason, strnlen(a->reason, sizeof a->reason), 0);
    fputs(" [`parley alerts`]\n", stderr);
    return 0;
}

void cli_print_high_alerts(pl_client *c)
{
    (void)pl_client_alerts(c, 0, print_high, NULL);
}

void cli_put_kt_device_json(FILE *out, const pl_client_kt_device *d)
{
    char when[32];

    cli_format_rfc3339(d->added_at_ms, when);
    fprintf(out, "{\"id\":%lu,\"fingerprint\":", (unsigned long)d->id);
    cli_put_json_string(out, d->fingerprint, strnlen(d->fingerprint, sizeof d->fingerprint));
    fprintf(out, ",\"added_at\":\"%s\"}", when);
}

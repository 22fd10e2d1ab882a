/*
 * cmd_group.c: `parley group create NAME USER...`, `group add NAME USER`, `group remove NAME
 * USER`, `group leave NAME`, `group rename NAME NEWNAME`, `group info NAME` (client.h
 * "Groups", PROTOCOL.md §32). NAME is always the local name; `rename` changes the group's
 * shared name, which `info` shows when it differs.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_info(const cli_ctx *ctx, const pl_client_group *g)
{
    if (ctx->json) {
        fputs("{\"group\":", stdout);
        cli_put_json_string(stdout, g->name, strlen(g->name));
        fputs(",\"name\":", stdout);
        cli_put_json_string(stdout, g->shared_name, strlen(g->shared_name));
        printf(",\"id\":\"%s\",\"epoch\":%u,\"active\":%s,\"members\":[", g->id, g->epoch,
               g->active ? "true" : "false");
        for (size_t i = 0; i < g->n_members; i++) {
            fputs(i ? ",{\"user\":" : "{\"user\":", stdout);
            cli_put_json_string(stdout, g->members[i].username, strlen(g->members[i].username));
            fputs(",\"devices\":[", stdout);
            for (size_t d = 0; d < g->members[i].n_devices; d++)
                printf("%s%u", d ? "," : "", g->members[i].device_ids[d]);
            fputs("]}", stdout);
        }
        fputs("]}\n", stdout);
        return;
    }
    fputs("group ", stdout);
    cli_put_text(stdout, g->name, strlen(g->name), 0);
    if (strcmp(g->name, g->shared_name) != 0) {
        fputs(" (named \"", stdout);
        cli_put_text(stdout, g->shared_name, strlen(g->shared_name), 0);
        fputs("\" by its members)", stdout);
    }
    printf("%s\n  id %s, epoch %u, %zu member%s\n", g->active ? "" : " (you are not a member)",
           g->id, g->epoch, g->n_members, g->n_members == 1 ? "" : "s");
    for (size_t i = 0; i < g->n_members; i++) {
        fputs("  ", stdout);
        cli_put_text(stdout, g->members[i].username, strlen(g->members[i].username), 0);
        fputs("  devices", stdout);
        for (size_t d = 0; d < g->members[i].n_devices; d++)
            printf(" %u", g->members[i].device_ids[d]);
        fputc('\n', stdout);
    }
}

int cmd_group(cli_ctx *ctx, int argc, char **argv)
{
    pl_client *c = NULL;
    pl_client_group info;
    const char *sub, *name;
    int code = PL_CLIENT_OK, r = CLI_EXIT_USAGE, n;

    memset(&info, 0, sizeof info);
    if (cli_parse_plain(ctx, "group", argc, argv, 2, -1, &r) != 0)
        goto out;
    sub = argv[optind];
    name = argv[optind + 1];
    n = argc - optind - 2; /* arguments after NAME */
    if (!((strcmp(sub, "create") == 0 && n >= 1) ||
          ((strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0 || strcmp(sub, "rename") == 0) &&
           n == 1) ||
          ((strcmp(sub, "leave") == 0 || strcmp(sub, "info") == 0) && n == 0))) {
        r = cli_usage_error("group", "expected create NAME USER..., add|remove NAME USER, "
                                     "rename NAME NEWNAME, leave NAME or info NAME");
        goto out;
    }
    if ((r = cli_open(ctx, "group", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    if (strcmp(sub, "create") == 0)
        code = pl_client_group_create(c, name, (const char *const *)&argv[optind + 2], (size_t)n);
    else if (strcmp(sub, "add") == 0)
        code = pl_client_group_add(c, name, argv[optind + 2]);
    else if (strcmp(sub, "remove") == 0)
        code = pl_client_group_remove(c, name, argv[optind + 2]);
    else if (strcmp(sub, "rename") == 0)
        code = pl_client_group_rename(c, name, argv[optind + 2]);
    else if (strcmp(sub, "leave") == 0)
        code = pl_client_group_leave(c, name);
    if (code == PL_CLIENT_OK && strcmp(sub, "leave") != 0)
        code = pl_client_group_info(c, name, &info);
    if (code != PL_CLIENT_OK) {
        char what[64];

        snprintf(what, sizeof what, "group %s", sub);
        r = cli_fail(what, code, c, NULL);
        goto out;
    }
    if (strcmp(sub, "leave") == 0) {
        if (ctx->json)
            printf("{\"left\":true}\n");
        else
            printf("You left %s.\n", name);
    } else {
        print_info(ctx, &info);
    }
    r = CLI_EXIT_OK;
out:
    free(info.members);
    pl_client_close(c);
    return r;
}

size_t cli_groups_follow_devices(const char *what, pl_client *c, uint32_t device_id, int added)
{
    size_t n = 0;

    if (pl_client_group_own_devices_changed(c, device_id, added, &n) != PL_CLIENT_OK) {
        fprintf(stderr, "parley: %s: warning: groups not updated yet (", what);
        cli_put_text(stderr, pl_client_error(c), strlen(pl_client_error(c)), 0);
        fputs("); they are at the next group send\n", stderr);
    }
    return n;
}

static int print_group(void *arg, const pl_client_group *g)
{
    const cli_ctx *ctx = arg;

    if (ctx->json) {
        fputs("{\"group\":", stdout);
        cli_put_json_string(stdout, g->name, strlen(g->name));
        fputs(",\"name\":", stdout);
        cli_put_json_string(stdout, g->shared_name, strlen(g->shared_name));
        printf(",\"id\":\"%s\",\"epoch\":%u,\"members\":%zu,\"active\":%s}\n", g->id, g->epoch,
               g->n_members, g->active ? "true" : "false");
    } else {
        cli_put_text(stdout, g->name, strlen(g->name), 0);
        printf("  %zu member%s, epoch %u%s\n", g->n_members, g->n_members == 1 ? "" : "s", g->epoch,
               g->active ? "" : " (left)");
    }
    return 0;
}

int cmd_groups(cli_ctx *ctx, int argc, char **argv)
{
    pl_client *c = NULL;
    int code, r = CLI_EXIT_USAGE;

    if (cli_parse_plain(ctx, "groups", argc, argv, 0, 0, &r) != 0)
        goto out;
    if ((r = cli_open(ctx, "groups", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    if ((code = pl_client_groups(c, print_group, (void *)ctx)) != PL_CLIENT_OK) {
        r = cli_fail("groups", code, c, NULL);
        goto out;
    }
    r = CLI_EXIT_OK;
out:
    pl_client_close(c);
    return r;
}

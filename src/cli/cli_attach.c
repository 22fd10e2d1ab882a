/*
 * cli_attach.c: the attachment parts of `parley send --file` (to a user or a group), `parley
 * recv --save-dir` and `parley listen --save-dir`
 * (client.h, PROTOCOL.md §27): a progress bar on a terminal, the saved-file report.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct bar {
    const char *label;
    int last; /* last percentage drawn, -1 before the first */
} bar;

/* Draws "label [#####.....]  42%" on stderr, redrawn in place. */
static void draw(void *ctx, uint64_t done, uint64_t total)
{
    bar *b = ctx;
    int pct = total ? (int)(done * 100u / total) : 100, filled = pct / 5;

    if (pct == b->last)
        return;
    b->last = pct;
    fprintf(stderr, "\r%s [", b->label);
    for (int i = 0; i < 20; i++)
        fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %3d%%", pct);
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* A progress bar only for people: on a terminal, never with --json or on a pipe. */
static pl_client_progress_cb bar_for(const cli_ctx *ctx)
{
    return !ctx->json && isatty(STDERR_FILENO) ? draw : NULL;
}

int cli_send_file(cli_ctx *ctx, pl_client *c, const char *to, const char *group, const char *path,
                  const char *caption)
{
    bar b = {"uploading", -1};
    char id[33], what[64];
    const char *target = group ? group : to;
    int code;

    memset(id, 0, sizeof id);
    code = group ? pl_client_group_send_file(c, group, path, NULL, caption, bar_for(ctx), &b, id)
                 : pl_client_send_file(c, to, path, NULL, caption, bar_for(ctx), &b, id);
    if (code != PL_CLIENT_OK) {
        snprintf(what, sizeof what, "send to %s%.32s", group ? "group " : "", target);
        return cli_fail(what, code, c, NULL);
    }
    id[sizeof id - 1] = '\0';
    if (ctx->json) {
        fputs("{\"id\":", stdout);
        cli_put_json_string(stdout, id, strlen(id));
        fputs(group ? ",\"group\":" : ",\"to\":", stdout);
        cli_put_json_string(stdout, target, strlen(target));
        fputs(",\"file\":", stdout);
        cli_put_json_string(stdout, path, strlen(path));
        fputs(",\"sent\":true}\n", stdout);
    } else {
        fputs("Sent ", stdout);
        cli_put_text(stdout, path, strlen(path), 0);
        fputs(group ? " to group " : " to ", stdout);
        cli_put_text(stdout, target, strlen(target), 0);
        printf(" (message %s).\n", id);
    }
    return CLI_EXIT_OK;
}

static int print_file(void *arg, const pl_client_file *f)
{
    const cli_ctx *ctx = arg;

    if (ctx->json) {
        fputs("{\"id\":", stdout);
        cli_put_json_string(stdout, f->message_id, strlen(f->message_id));
        fputs(",\"file\":{\"path\":", stdout);
        cli_put_json_string(stdout, f->path, strlen(f->path));
        fputs(",\"name\":", stdout);
        cli_put_json_string(stdout, f->name, strlen(f->name));
        printf(",\"size\":%llu,\"sha256\":\"%s\"}}\n", (unsigned long long)f->size, f->sha256);
    } else {
        fputs("Saved ", stdout);
        cli_put_text(stdout, f->name, strlen(f->name), 0);
        printf(" (%llu bytes, SHA-256 %s) to ", (unsigned long long)f->size, f->sha256);
        cli_put_text(stdout, f->path, strlen(f->path), 0);
        fputs(".\n", stdout);
    }
    fflush(stdout);
    return 0;
}

int cli_fetch_files(cli_ctx *ctx, pl_client *c, const char *save_dir)
{
    bar b = {"downloading", -1};
    int code = pl_client_fetch_files(c, save_dir, bar_for(ctx), &b, print_file, ctx);

    return code == PL_CLIENT_OK ? CLI_EXIT_OK : cli_fail("recv", code, c, NULL);
}

int cli_listen_files(cli_ctx *ctx, pl_client *c, const char *save_dir)
{
    static bar b = {"downloading", -1}; /* lives as long as the listen */
    int code = pl_client_on_files(c, save_dir, bar_for(ctx), &b, print_file, ctx);

    return code == PL_CLIENT_OK ? CLI_EXIT_OK : cli_fail("listen", code, c, NULL);
}

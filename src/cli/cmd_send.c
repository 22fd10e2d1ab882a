/*
 * cmd_send.c: `parley send USER TEXT...` or `parley send USER -` (standard input, at most
 * CLI_MAX_STDIN_TEXT bytes): encrypts to every device of USER and our other devices; exits
 * 0 once the server has acknowledged (pl_client_send). `parley send USER --file PATH
 * [CAPTION...]` sends a file (cli_attach.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Reads standard input into a malloc'd buffer. Returns 0, or an exit code after the error
 * line (too long, read error). One trailing newline is dropped: `echo hi | parley send`. */
static int read_stdin(char **out, size_t *out_len)
{
    size_t cap = CLI_MAX_STDIN_TEXT + 1, len = 0, got;
    char *buf = NULL;
    int r = CLI_EXIT_FAIL;

    *out = NULL;
    if (!(buf = malloc(cap + 1))) {
        fputs("parley: send: out of memory\n", stderr);
        goto out;
    }
    while (len < cap && (got = fread(buf + len, 1, cap - len, stdin)) > 0)
        len += got;
    if (ferror(stdin)) {
        fputs("parley: send: cannot read standard input\n", stderr);
        goto out;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > CLI_MAX_STDIN_TEXT) {
        fprintf(stderr, "parley: send: the message is longer than %u bytes\n", CLI_MAX_STDIN_TEXT);
        r = CLI_EXIT_USAGE;
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    r = CLI_EXIT_OK;
out:
    free(buf);
    return r;
}

/* Joins argv[first..argc) with spaces into a malloc'd string. */
static char *join_words(int argc, char **argv, int first, size_t *len)
{
    size_t total = 0, at = 0, n;
    char *s;
    int i;

    for (i = first; i < argc; i++)
        total += strlen(argv[i]) + 1;
    if (!(s = malloc(total + 1)))
        return NULL;
    for (i = first; i < argc; i++) {
        if (i > first)
            s[at++] = ' ';
        n = strlen(argv[i]);
        memcpy(s + at, argv[i], n);
        at += n;
    }
    s[at] = '\0';
    *len = at;
    return s;
}

#define OPT_FILE 'f'

int cmd_send(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_GLOBAL_OPTIONS,
        {"file", required_argument, NULL, OPT_FILE},
        {NULL, 0, NULL, 0},
    };
    pl_client *c = NULL;
    const char *to, *file = NULL;
    char *text = NULL;
    size_t text_len = 0;
    char id[33];
    char what[64];
    const char *group = NULL;
    int opt, code, r = CLI_EXIT_USAGE, first;

    /* `send --group NAME TEXT...`: taken out before the other options (groups, §32). */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--group") == 0) {
            group = argv[i + 1];
            memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 1) * sizeof *argv);
            argc -= 2;
            break;
        }
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        int handled;

        if (opt == OPT_FILE) {
            file = optarg;
            continue;
        }
        if ((handled = cli_global_option(ctx, "send", opt, optarg, &r)) < 0)
            goto out;
        if (handled == 0) {
            r = cli_usage_error("send", "unknown option");
            goto out;
        }
    }
    /* Arguments: USER TEXT..., USER --file PATH [CAPTION...], --group NAME TEXT...,
     * --group NAME --file PATH [CAPTION...]. */
    if (argc - optind < (group ? !file : file ? 1 : 2)) {
        r = cli_usage_error("send", "missing argument");
        goto out;
    }
    to = group ? group : argv[optind];
    first = group ? optind : optind + 1;
    if (file) { /* --file PATH [CAPTION...] */
        if (!(text = join_words(argc, argv, first, &text_len))) {
            fputs("parley: send: out of memory\n", stderr);
            r = CLI_EXIT_FAIL;
            goto out;
        }
        if ((r = cli_open(ctx, "send", 0, 0, &c)) == CLI_EXIT_OK)
            r = cli_send_file(ctx, c, group ? NULL : to, group, file, text);
        goto out;
    }
    if (argc - first == 1 && strcmp(argv[first], "-") == 0) {
        if ((r = read_stdin(&text, &text_len)) != CLI_EXIT_OK)
            goto out;
    } else if (!(text = join_words(argc, argv, first, &text_len))) {
        fputs("parley: send: out of memory\n", stderr);
        r = CLI_EXIT_FAIL;
        goto out;
    }
    if (text_len == 0) {
        r = cli_usage_error("send", "the message is empty");
        goto out;
    }
    if ((r = cli_open(ctx, "send", 0, 0, &c)) != CLI_EXIT_OK)
        goto out;
    memset(id, 0, sizeof id);
    code = group ? pl_client_group_send(c, group, text, text_len, id)
                 : pl_client_send(c, to, text, text_len, id);
    if (code != PL_CLIENT_OK) {
        snprintf(what, sizeof what, "send to %.32s", to);
        r = cli_fail(what, code, c, NULL);
        goto out;
    }
    id[sizeof id - 1] = '\0';
    if (ctx->json) {
        fputs("{\"id\":", stdout);
        cli_put_json_string(stdout, id, strlen(id));
        fputs(group ? ",\"group\":" : ",\"to\":", stdout);
        cli_put_json_string(stdout, to, strlen(to));
        fputs(",\"sent\":true}\n", stdout);
    } else {
        fputs("Sent to ", stdout);
        cli_put_text(stdout, to, strlen(to), 0);
        printf(" (message %s).\n", id);
    }
    r = CLI_EXIT_OK;
out:
    free(text);
    pl_client_close(c);
    return r;
}

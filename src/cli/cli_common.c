/*
 * cli_common.c: what the subcommands share (cli.h): global options, exit codes, errors,
 * opening the client with the passphrase rules, signals, and output: escaped text for
 * terminals, JSON strings, times, messages.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

#define PASSPHRASE_MAX 1024
#define PASSPHRASE_TRIES 3

int cli_global_option(cli_ctx *ctx, const char *command, int opt, const char *arg, int *exit_code)
{
    switch (opt) {
    case CLI_OPT_HOME:
        ctx->home = arg;
        return 1;
    case CLI_OPT_JSON:
        ctx->json = 1;
        return 1;
    case CLI_OPT_HELP:
        cli_print_usage(stdout, command);
        *exit_code = CLI_EXIT_OK;
        return -1;
    case '?':
    case ':':
        /* getopt_long has printed what was wrong. */
        fprintf(stderr, "Try 'parley %s --help'.\n", command);
        *exit_code = CLI_EXIT_USAGE;
        return -1;
    default:
        return 0;
    }
}

int cli_parse_plain(cli_ctx *ctx, const char *command, int argc, char **argv, int min_args,
                    int max_args, int *exit_code)
{
    static const struct option options[] = {CLI_GLOBAL_OPTIONS, {NULL, 0, NULL, 0}};
    int opt, n, handled;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        handled = cli_global_option(ctx, command, opt, optarg, exit_code);
        if (handled < 0)
            return -1;
        if (handled == 0) {
            *exit_code = cli_usage_error(command, "unknown option");
            return -1;
        }
    }
    n = argc - optind;
    if (n < min_args || (max_args >= 0 && n > max_args)) {
        *exit_code =
            cli_usage_error(command, n < min_args ? "missing argument" : "too many arguments");
        return -1;
    }
    return 0;
}

int cli_usage_error(const char *command, const char *why)
{
    fprintf(stderr, "parley: %s: %s (try 'parley %s --help')\n", command, why, command);
    return CLI_EXIT_USAGE;
}

int cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    unsigned long long v;
    char *end = NULL;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_exit_code(int client_error)
{
    switch (client_error) {
    case PL_CLIENT_OK:
        return CLI_EXIT_OK;
    case PL_CLIENT_E_USAGE:
        return CLI_EXIT_USAGE;
    case PL_CLIENT_E_UNREACHABLE:
    case PL_CLIENT_E_CERT:
    case PL_CLIENT_E_PROTOCOL:
        return CLI_EXIT_NETWORK;
    case PL_CLIENT_E_KEY_CHANGED:
        return CLI_EXIT_KEY_CHANGED;
    case PL_CLIENT_E_KT_VIEW:
    case PL_CLIENT_E_KT_PROOF:
    case PL_CLIENT_E_KT_ROLLBACK:
    case PL_CLIENT_E_KT_UNLOGGED:
    case PL_CLIENT_E_KT_OWN:
    case PL_CLIENT_E_KT_CONFIG:
    case PL_CLIENT_E_KT_BLOCKED:
    case PL_CLIENT_E_KT_STATE:
        return CLI_EXIT_KT;
    case PL_CLIENT_E_STORE:
    case PL_CLIENT_E_NOT_INITIALISED:
    case PL_CLIENT_E_ALREADY_INITIALISED:
    case PL_CLIENT_E_LOCKED:
    case PL_CLIENT_E_PASSPHRASE:
    case PL_CLIENT_E_NEED_PASSPHRASE:
    case PL_CLIENT_E_CORRUPT:
    case PL_CLIENT_E_PERMISSIONS:
        return CLI_EXIT_STORE;
    default:
        return CLI_EXIT_FAIL;
    }
}

int cli_fail(const char *what, int code, const pl_client *c, const char *detail)
{
    const char *why = NULL;

    if (detail && *detail)
        why = detail;
    else if (c && pl_client_error(c) && *pl_client_error(c))
        why = pl_client_error(c);
    else
        why = pl_client_strerror(code);
    fprintf(stderr, "parley: %s: ", what);
    /* The sentence may quote the server or a file name: escape it like any network text. */
    cli_put_text(stderr, why, strlen(why), 0);
    fputc('\n', stderr);
    return cli_exit_code(code);
}

/* ---- Passphrases ------------------------------------------------------------------------- */

/* Reads one line from the terminal on standard input with echo off. Returns 0, or -1 at end
 * of input or on a read error; the newline is removed. */
static int read_secret(const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    int have_termios = 0;
    int r = -1;
    size_t n;

    fputs(prompt, stderr);
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        have_termios = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
    if (!fgets(buf, (int)cap, stdin))
        goto out;
    n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    r = 0;
out:
    if (have_termios)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    if (r != 0)
        fputc('\n', stderr);
    return r;
}

/* Asks for a new passphrase twice. Returns 0 (buf may be "" for none) or an exit code. */
static int prompt_new_passphrase(char *buf, size_t cap)
{
    char again[PASSPHRASE_MAX];
    int r = CLI_EXIT_USAGE;

    if (!isatty(STDIN_FILENO)) {
        fputs("parley: --passphrase-prompt: standard input is not a terminal\n", stderr);
        goto out;
    }
    r = CLI_EXIT_FAIL;
    if (read_secret("New passphrase (empty for none): ", buf, cap) != 0 ||
        read_secret("Repeat the passphrase: ", again, sizeof again) != 0) {
        fputs("parley: passphrase: no input\n", stderr);
        goto out;
    }
    if (strcmp(buf, again) != 0) {
        fputs("parley: passphrase: the two passphrases differ\n", stderr);
        goto out;
    }
    r = CLI_EXIT_OK;
out:
    sodium_memzero(again, sizeof again);
    return r;
}

static void print_notice(void *ctx, const char *user, const char *text)
{
    (void)ctx;
    fputs("parley: notice: ", stderr);
    cli_put_text(stderr, user ? user : "", user ? strlen(user) : 0, 0);
    fputs(": ", stderr);
    cli_put_text(stderr, text ? text : "", text ? strlen(text) : 0, 0);
    fputc('\n', stderr);
}

int cli_open(cli_ctx *ctx, const char *what, int create, int prompt_new, pl_client **out)
{
    char pass[PASSPHRASE_MAX];
    char err[512];
    const char *env = getenv("PARLEY_PASSPHRASE");
    const char *use = NULL;
    pl_client *c = NULL;
    int tries = 0;
    int code;
    int r;

    *out = NULL;
    pass[0] = '\0';
    err[0] = '\0';
    if (create && prompt_new) {
        if ((r = prompt_new_passphrase(pass, sizeof pass)) != CLI_EXIT_OK)
            goto out;
        use = pass[0] ? pass : NULL;
    } else if (env && *env) {
        use = env;
    }
    for (;;) {
        code = pl_client_open(&c, ctx->home, use, create, err, sizeof err);
        if (code == PL_CLIENT_OK)
            break;
        /* Prompt only when nothing was given from the environment and a person is there. */
        if ((code == PL_CLIENT_E_NEED_PASSPHRASE || (code == PL_CLIENT_E_PASSPHRASE && tries)) &&
            !create && !(env && *env) && tries < PASSPHRASE_TRIES && isatty(STDIN_FILENO)) {
            if (code == PL_CLIENT_E_PASSPHRASE)
                fputs("parley: wrong passphrase, try again\n", stderr);
            tries++;
            if (read_secret("Passphrase: ", pass, sizeof pass) != 0)
                break;
            use = pass;
            continue;
        }
        break;
    }
    if (code != PL_CLIENT_OK) {
        r = cli_fail(what, code, NULL, err);
        goto out;
    }
    pl_client_on_notice(c, print_notice, ctx);
    cli_print_high_alerts(c);
    *out = c;
    r = CLI_EXIT_OK;
out:
    sodium_memzero(pass, sizeof pass);
    return r;
}

/* ---- Signals ------------------------------------------------------------------------------ */

static volatile sig_atomic_t *stop_flag;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (stop_flag)
        *stop_flag = 1;
}

void cli_signals_stop_on(volatile sig_atomic_t *stop)
{
    struct sigaction sa;

    stop_flag = stop;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking poll returns EINTR at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_signals_restore(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    stop_flag = NULL;
}

/* ---- Text --------------------------------------------------------------------------------- */

/*
 * Decodes the UTF-8 sequence at s (n bytes available). Returns its length (1-4) and *cp, or
 * 0 when it is not valid UTF-8 (truncated, overlong, surrogate, above U+10FFFF).
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len, i;
    uint32_t v, min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        v = s[0] & 0x1fu;
        min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        v = s[0] & 0x0fu;
        min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        v = s[0] & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0u) != 0x80u)
            return 0;
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffffu || (v >= 0xd800u && v <= 0xdfffu))
        return 0;
    *cp = v;
    return len;
}

/* Code points a terminal would act on, or that reorder what is shown around them. */
static int is_dangerous(uint32_t cp)
{
    return (cp >= 0x80u && cp <= 0x9fu) || (cp >= 0x202au && cp <= 0x202eu) ||
           (cp >= 0x2066u && cp <= 0x2069u);
}

void cli_put_text(FILE *out, const char *s, size_t len, int keep_newlines)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        n = utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            fprintf(out, "\\x%02x", p[i]);
            i++;
            continue;
        }
        if (cp < 0x20u || cp == 0x7fu) {
            if (keep_newlines && (cp == '\n' || cp == '\t'))
                fputc((int)cp, out);
            else
                fprintf(out, "\\x%02x", (unsigned)cp);
        } else if (is_dangerous(cp)) {
            fprintf(out, "\\u{%04x}", (unsigned)cp);
        } else {
            fwrite(p + i, 1, n, out);
        }
        i += n;
    }
}

void cli_put_json_string(FILE *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;
    uint32_t cp;

    fputc('"', out);
    while (i < len) {
        n = utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            fputs("\\ufffd", out);
            i++;
            continue;
        }
        switch (cp) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            /* Controls are escaped even where JSON allows them raw, so that a JSON line
             * shown on a terminal is as safe as the text output. */
            if (cp < 0x20u || cp == 0x7fu || is_dangerous(cp))
                fprintf(out, "\\u%04x", (unsigned)cp);
            else
                fwrite(p + i, 1, n, out);
        }
        i += n;
    }
    fputc('"', out);
}

void cli_format_rfc3339(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000u);
    struct tm tm;
    char base[24];

    if (!gmtime_r(&t, &tm) || strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        base[0] = '\0';
    snprintf(out, 32, "%s.%03uZ", base, (unsigned)(ms % 1000u));
}

void cli_format_local(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000u);
    struct tm tm;

    if (!localtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, 32, "%llu", (unsigned long long)ms);
}

void cli_print_message(const cli_ctx *ctx, const pl_client_message *m)
{
    char when[32], received[32];

    if (ctx->json) {
        cli_format_rfc3339(m->sent_at_ms, when);
        cli_format_rfc3339(m->received_at_ms, received);
        fputs("{\"id\":", stdout);
        cli_put_json_string(stdout, m->id, strlen(m->id));
        fputs(",\"from\":", stdout);
        cli_put_json_string(stdout, m->from, strlen(m->from));
        printf(",\"device\":%lu,\"sent_at\":\"%s\",\"text\":", (unsigned long)m->device, when);
        cli_put_json_string(stdout, m->text ? m->text : "", m->text ? m->text_len : 0);
        fputs(",\"peer\":", stdout);
        cli_put_json_string(stdout, m->peer, strlen(m->peer));
        printf(",\"outgoing\":%s,\"received_at\":\"%s\",\"notice\":%s",
               m->outgoing ? "true" : "false", received, m->notice ? "true" : "false");
        if (m->outgoing)
            printf(",\"status\":\"%s\"", pl_client_status_name(m->status));
        if (m->group[0]) {
            fputs(",\"group\":", stdout);
            cli_put_json_string(stdout, m->group, strlen(m->group));
        }
        fputs("}\n", stdout);
    } else {
        cli_format_local(m->sent_at_ms, when);
        printf("%s  ", when);
        if (m->notice) {
            fputs("* ", stdout);
            cli_put_text(stdout, m->peer, strlen(m->peer), 0);
            fputs(": ", stdout);
        } else if (m->outgoing) {
            cli_put_text(stdout, m->from, strlen(m->from), 0);
            printf("/%lu -> ", (unsigned long)m->device);
            cli_put_text(stdout, m->peer, strlen(m->peer), 0);
            if (m->status != PL_CLIENT_STATUS_SENT)
                printf(" [%s]", pl_client_status_name(m->status));
            fputs(": ", stdout);
        } else {
            cli_put_text(stdout, m->from, strlen(m->from), 0);
            printf("/%lu: ", (unsigned long)m->device);
        }
        if (m->group[0] && !m->notice) {
            fputs("[#", stdout);
            cli_put_text(stdout, m->group, strlen(m->group), 0);
            fputs("] ", stdout);
        }
        cli_put_text(stdout, m->text ? m->text : "", m->text ? m->text_len : 0, 1);
        fputc('\n', stdout);
    }
    fflush(stdout);
}

void cli_receipt_cb(void *arg, const pl_client_receipt *r)
{
    const cli_ctx *ctx = arg;
    char when[32];

    if (ctx->json) {
        cli_format_rfc3339(r->sent_at_ms, when);
        fputs("{\"receipt\":{\"from\":", stdout);
        cli_put_json_string(stdout, r->from, strlen(r->from));
        printf(",\"device\":%lu,\"status\":\"%s\",\"sent_at\":\"%s\",\"ids\":[",
               (unsigned long)r->device, pl_client_status_name(r->status), when);
        for (size_t i = 0; i < r->n_ids; i++)
            printf("%s\"%s\"", i ? "," : "", r->ids[i]);
        fputs("]}}\n", stdout);
    } else {
        cli_format_local(r->sent_at_ms, when);
        printf("%s  * ", when);
        cli_put_text(stdout, r->from, strlen(r->from), 0);
        printf("/%lu: %s %zu message%s:", (unsigned long)r->device,
               pl_client_status_name(r->status), r->n_ids, r->n_ids == 1 ? "" : "s");
        for (size_t i = 0; i < r->n_ids; i++)
            printf(" %s", r->ids[i]);
        fputc('\n', stdout);
    }
    fflush(stdout);
}

int cli_message_cb(void *ctx, const pl_client_message *m)
{
    cli_print_message(ctx, m);
    return 0;
}

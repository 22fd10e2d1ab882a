/*
 * cli.h: what the subcommands of `parley` share: the table entry, the global options, exit
 * codes, opening the client (passphrase rules), errors, and printing (escaped text, JSON).
 *
 * A subcommand handler is `int cmd_x(cli_ctx *ctx, int argc, char **argv)`: argv[0] is the
 * command's name, options are parsed with getopt_long (each command accepts the global
 * options too, through CLI_GLOBAL_OPTIONS and cli_global_option()). It returns an exit code
 * (CLI_EXIT_*) after printing at most one error line on stderr.
 *
 * Output: text for people on stdout; with --json one JSON object per line. Everything that
 * came from the network (message text, usernames, device names, error sentences) goes
 * through cli_put_text() or cli_put_json_string(), so a hostile sender cannot move the
 * cursor or clear the screen.
 */
#ifndef PARLEY_CLI_H
#define PARLEY_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"

/* Exit codes (documented in `parley --help` and docs/CLIENT.md). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1        /* anything else: unknown user, refused, mismatch, timeout */
#define CLI_EXIT_USAGE 2       /* bad command line */
#define CLI_EXIT_NETWORK 3     /* server unreachable, certificate mismatch, protocol error */
#define CLI_EXIT_KEY_CHANGED 4 /* sending blocked: a verified contact's key changed */
#define CLI_EXIT_STORE 5       /* the home: locked, wrong passphrase, corrupt, no account */
#define CLI_EXIT_KT 6          /* key transparency: a check failed or an alert blocks sending */

/* Bound of a message read from standard input (`parley send USER -`). */
#define CLI_MAX_STDIN_TEXT (96u * 1024u)

typedef struct cli_ctx {
    const char *home; /* --home, else $PARLEY_HOME, else ~/.local/share/parley */
    char home_buf[4096];
    int json; /* --json */
} cli_ctx;

typedef struct cli_command {
    const char *name;
    int (*handler)(cli_ctx *ctx, int argc, char **argv);
    const char *summary; /* one line for `parley --help` */
    const char *usage;   /* the full text for `parley CMD --help` */
} cli_command;

/* The global options, accepted before the command and by every command. */
#define CLI_OPT_HOME 0x100
#define CLI_OPT_JSON 0x101
#define CLI_OPT_HELP 'h'
#define CLI_GLOBAL_OPTIONS                                                                         \
    {"home", required_argument, NULL, CLI_OPT_HOME}, {"json", no_argument, NULL, CLI_OPT_JSON},    \
    {                                                                                              \
        "help", no_argument, NULL, CLI_OPT_HELP                                                    \
    }

/*
 * Handles an option that getopt_long returned if it is a global one: returns 1 (handled:
 * --home, --json), 0 (not global: the command's own), or, for --help and getopt's '?'/':',
 * prints the command's usage (stdout for --help, stderr otherwise) and returns -1 with
 * *exit_code set (0 or CLI_EXIT_USAGE).
 */
int cli_global_option(cli_ctx *ctx, const char *command, int opt, const char *arg, int *exit_code);

/*
 * For commands with only the global options: parses argv and checks that between
 * min_args and max_args (-1: any number) positional arguments remain, from argv[optind].
 * Returns 0 to go on, or -1 with *exit_code set (help printed, or a usage error).
 */
int cli_parse_plain(cli_ctx *ctx, const char *command, int argc, char **argv, int min_args,
                    int max_args, int *exit_code);

/* Prints `usage` of the named command (from the table in main.c) to out. */
void cli_print_usage(FILE *out, const char *command);

/* Prints "parley: <command>: <why>" and the usage hint; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *why);

/* Parses a decimal number in [0, max] (no sign, no trailing bytes). Returns 0 or -1. */
int cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/* Maps a PL_CLIENT_E_* code to an exit code. */
int cli_exit_code(int client_error);

/*
 * Prints one error line "parley: <what>: <why>" on stderr, where why is pl_client_error(c)
 * when c is not NULL and has one, else pl_client_strerror(code) (or detail when given).
 * Returns cli_exit_code(code).
 */
int cli_fail(const char *what, int code, const pl_client *c, const char *detail);

/*
 * Opens the client on ctx->home. Passphrase: $PARLEY_PASSPHRASE if set; for create with
 * prompt_new set, asks for a new one twice on the terminal; for an existing store that needs
 * one (PL_CLIENT_E_NEED_PASSPHRASE or a wrong one) with standard input a terminal, asks
 * without echo (three tries). On failure prints the error line and returns the exit code
 * with *out NULL; on success CLI_EXIT_OK. Installs the notice printer.
 */
int cli_open(cli_ctx *ctx, const char *what, int create, int prompt_new, pl_client **out);

/*
 * Installs handlers for SIGINT and SIGTERM that set *stop (no SA_RESTART, so blocking calls
 * wake up); cli_signals_restore() puts the defaults back.
 */
void cli_signals_stop_on(volatile sig_atomic_t *stop);
void cli_signals_restore(void);

/* ---- Output --------------------------------------------------------------------------------- */

/*
 * Writes s (len bytes) for a terminal: bytes below 0x20 other than \n and \t, 0x7f, C1
 * controls (U+0080..U+009F in UTF-8), bidirectional overrides (U+202A..U+202E,
 * U+2066..U+2069) and bytes that are not valid UTF-8 are written as \xNN or \u{NNNN}.
 * keep_newlines == 0 escapes \n and \t too (for one-line fields such as names).
 */
void cli_put_text(FILE *out, const char *s, size_t len, int keep_newlines);

/* Writes s as a JSON string with its quotes; invalid UTF-8 becomes U+FFFD. */
void cli_put_json_string(FILE *out, const char *s, size_t len);

/* "2025-01-31T12:00:00.123Z" (ms since the epoch, UTC). */
void cli_format_rfc3339(uint64_t ms, char out[32]);
/* "2025-01-31 13:00:00" in local time. */
void cli_format_local(uint64_t ms, char out[32]);

/*
 * Prints one message (or notice) as text or, with ctx->json, as one JSON object line, and
 * flushes stdout (listen and link are read through pipes).
 */
void cli_print_message(const cli_ctx *ctx, const pl_client_message *m);

/*
 * cmd_group.c: after `approve` (added) or `remove-device` changed device_id of our account,
 * brings our member in every group to our devices (pl_client_group_own_devices_changed).
 * Returns how many groups changed; a failure is a warning on stderr, not an error: the
 * device change itself is done, and the groups follow at the next group send.
 */
size_t cli_groups_follow_devices(const char *what, pl_client *c, uint32_t device_id, int added);
/* pl_client_receipt_cb printing a receipt (ctx is the cli_ctx): a text line, or with --json
 * one line {"receipt":{"from","device","status","sent_at","ids"}}. */
void cli_receipt_cb(void *ctx, const pl_client_receipt *r);

/* pl_client_message_cb that calls cli_print_message (ctx is the cli_ctx). */
int cli_message_cb(void *ctx, const pl_client_message *m);

/* ---- Attachments (cli_attach.c) ------------------------------------------------------------ */

/* parley send USER --file PATH [CAPTION...] (to set, group NULL) and
 * parley send --group NAME --file PATH [CAPTION...] (group set, to NULL): sends, prints the
 * result; returns an exit code. */
int cli_send_file(cli_ctx *ctx, pl_client *c, const char *to, const char *group, const char *path,
                  const char *caption);
/* parley recv: saves the received files into save_dir (NULL: HOME/downloads), printing one
 * line (or {"id","file":{"path","name","size","sha256"}}) per file; returns an exit code. */
int cli_fetch_files(cli_ctx *ctx, pl_client *c, const char *save_dir);
/* parley listen --save-dir DIR: asks pl_client_listen to download files as recv does, with the
 * same output. Returns an exit code. */
int cli_listen_files(cli_ctx *ctx, pl_client *c, const char *save_dir);

/* ---- QR codes (qr.c) ------------------------------------------------------------------------ */

/* Prints text as a QR code with half-block characters and a quiet zone. Returns 0, or -1 if
 * libqrencode could not encode it. */
int cli_qr_print(FILE *out, const char *text);

/* ---- The subcommands (one file each) -------------------------------------------------------- */

int cmd_init(cli_ctx *ctx, int argc, char **argv);
int cmd_link(cli_ctx *ctx, int argc, char **argv);
int cmd_approve(cli_ctx *ctx, int argc, char **argv);
int cmd_devices(cli_ctx *ctx, int argc, char **argv);
int cmd_remove_device(cli_ctx *ctx, int argc, char **argv);
int cmd_send(cli_ctx *ctx, int argc, char **argv);
int cmd_recv(cli_ctx *ctx, int argc, char **argv);
int cmd_listen(cli_ctx *ctx, int argc, char **argv);
int cmd_history(cli_ctx *ctx, int argc, char **argv);
int cmd_read(cli_ctx *ctx, int argc, char **argv);
int cmd_config(cli_ctx *ctx, int argc, char **argv);
int cmd_group(cli_ctx *ctx, int argc, char **argv);
int cmd_groups(cli_ctx *ctx, int argc, char **argv);
int cmd_contacts(cli_ctx *ctx, int argc, char **argv);
int cmd_whoami(cli_ctx *ctx, int argc, char **argv);
int cmd_verify(cli_ctx *ctx, int argc, char **argv);
int cmd_log(cli_ctx *ctx, int argc, char **argv);
int cmd_alerts(cli_ctx *ctx, int argc, char **argv);

/* ---- Key transparency output (cli_kt.c) ------------------------------------------------------ */

/* Prints every unacknowledged high-priority alert on stderr, one line each (cli_open calls it
 * for every command, until the user acknowledges them with `parley alerts --ack ID`). */
void cli_print_high_alerts(pl_client *c);

/* Prints a device (id, fingerprint, added) of a key-transparency state as a JSON object. */
void cli_put_kt_device_json(FILE *out, const pl_client_kt_device *d);

#endif

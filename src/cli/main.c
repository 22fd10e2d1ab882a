/*
 * main.c: the `parley` command: global options, then one subcommand from the table below
 * (one file each, cmd_*.c). `parley --help` lists them; `parley CMD --help` shows one.
 *
 *   parley [--home DIR] [--json] COMMAND [ARGS...]
 *
 * Exit status: 0 success, 1 failure, 2 usage, 3 server unreachable or certificate mismatch,
 * 4 sending blocked by a key change, 5 local store (locked, passphrase, corrupt, no account),
 * 6 key transparency (a check failed, or an alert blocks sending).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"init", cmd_init, "create an account and its first device on a server",
     "usage: parley init --server HOST:PORT --user NAME [--ca FILE] [--device-name TEXT]\n"
     "                   [--passphrase-prompt]\n"
     "\n"
     "Creates the account key and this home's first device, registers NAME on the server and\n"
     "uploads prekeys.\n"
     "  --server HOST:PORT    the parleyd to use\n"
     "  --user NAME           the username to register\n"
     "  --ca FILE             pin the server's certificate (the cert.pem parleyd wrote);\n"
     "                        without it the first certificate seen is trusted and its\n"
     "                        fingerprint printed (trust on first use)\n"
     "  --device-name TEXT    a name for this device (shown by `parley devices`)\n"
     "  --passphrase-prompt   protect the store with a passphrase typed now; otherwise\n"
     "                        $PARLEY_PASSPHRASE if set, else a key file (store.key)\n"},
    {"link", cmd_link, "add this home as a new device of an existing account",
     "usage: parley link --server HOST:PORT [--ca FILE] [--device-name TEXT]\n"
     "                   [--passphrase-prompt]\n"
     "\n"
     "Prints a link code (and a QR code) and waits up to 10 minutes for `parley approve CODE`\n"
     "on a device of the account. Ctrl-C stops waiting. Options as for `parley init`.\n"},
    {"approve", cmd_approve, "sign in a new device from its link code",
     "usage: parley approve CODE\n"
     "\n"
     "Run on a device of the account: checks the offer the new device made against CODE,\n"
     "signs the device into the account and sends it the account key.\n"},
    {"devices", cmd_devices, "list this account's devices",
     "usage: parley devices\n"
     "\n"
     "Lists the account's devices from the server's signed list: id, name, fingerprint of\n"
     "the device key, when it was added. '*' marks this device.\n"},
    {"remove-device", cmd_remove_device, "remove one of this account's devices",
     "usage: parley remove-device ID\n"
     "\n"
     "Removes device ID (not this one) from the account; it stops receiving messages.\n"},
    {"send", cmd_send, "send a message",
     "usage: parley send USER TEXT...\n"
     "       parley send USER -\n"
     "       parley send USER --file PATH [CAPTION...]\n"
     "       parley send --group NAME TEXT...   (or -): one ciphertext to every member device\n"
     "       parley send --group NAME --file PATH [CAPTION...]\n"
     "\n"
     "Encrypts the words of TEXT (joined by spaces), or standard input when TEXT is '-' (at\n"
     "most 96 KiB, one trailing newline dropped), to every device of USER and to this\n"
     "account's other devices. Exits 0 once the server has acknowledged it.\n"
     "With --file, encrypts the file (at most 2 GiB) under a fresh key, uploads it (an\n"
     "interrupted upload of the same file resumes when run again; a progress bar on a\n"
     "terminal) and sends its name, size, hash and key; CAPTION, if given, is the text.\n"
     "The file is uploaded once whatever the number of devices it goes to.\n"},
    {"recv", cmd_recv, "receive pending messages",
     "usage: parley recv [--wait SECONDS] [--save-dir DIR]\n"
     "\n"
     "Connects, prints every pending message, saves received files and exits.\n"
     "  --wait SECONDS   if nothing is pending, wait this long for a first message (default 0)\n"
     "  --save-dir DIR   where files are saved (default HOME/downloads); each is checked\n"
     "                   against its hash first and never replaces an existing file\n"
     "With --json each message is one line: {\"id\",\"from\",\"device\",\"sent_at\",\"text\",\n"
     "\"peer\",\"outgoing\",\"received_at\",\"notice\",\"status\"}, times in RFC 3339 UTC;\n"
     "each saved file one more: {\"id\",\"file\":{\"path\",\"name\",\"size\",\"sha256\"}};\n"
     "each receipt one line {\"receipt\":{\"from\",\"device\",\"status\",\"sent_at\",\"ids\"}}.\n"
     "Sends a delivery receipt for what it stored (unless `parley config receipts off`).\n"},
    {"listen", cmd_listen, "stay connected and print messages as they arrive",
     "usage: parley listen [--save-dir DIR]\n"
     "\n"
     "Prints messages as they arrive, reconnecting with backoff when the connection drops.\n"
     "Saves received files as recv does (same checks and output) when idle.\n"
     "  --save-dir DIR   where files are saved (default HOME/downloads)\n"
     "Ctrl-C (SIGINT) or SIGTERM stops it (exit status 0).\n"},
    {"group", cmd_group, "create and change groups",
     "usage: parley group create NAME USER...\n"
     "       parley group add|remove NAME USER\n"
     "       parley group leave NAME\n"
     "       parley group rename NAME NEWNAME\n"
     "       parley group info NAME\n"
     "\n"
     "A group is state its members hold: each change is signed by the device that makes it and\n"
     "checked by every member, and every member's devices must be those the key-transparency\n"
     "log shows for that member (a member that links or removes a device updates its groups;\n"
     "a send updates any member that did not). Removing a member or a device rotates every\n"
     "sender key. NAME is this device's name for the group: 1 to 31 of A-Z a-z 0-9 . _ -;\n"
     "rename changes the name every member sees (info shows it), not NAME.\n"},
    {"groups", cmd_groups, "list the groups of this device",
     "usage: parley groups\n"
     "\n"
     "Lists the groups this device is or was in: name, members, epoch.\n"},
    {"read", cmd_read, "mark a user's messages read (and send a read receipt)",
     "usage: parley read USER\n"
     "\n"
     "Marks every message received from USER as read and, unless receipts are off, sends\n"
     "USER one read receipt naming them. `history USER` and `listen` do this for what they\n"
     "show.\n"},
    {"config", cmd_config, "show or change this device's settings",
     "usage: parley config [receipts [on|off]]\n"
     "\n"
     "receipts: whether this device sends delivery and read receipts (default on). Receipts\n"
     "from others are recorded either way.\n"},
    {"history", cmd_history, "show the conversation with a user",
     "usage: parley history USER [--limit N]\n"
     "\n"
     "Prints the stored conversation with USER, oldest first; a sent message shows what\n"
     "USER reported: [delivered] or [read]. Marks USER's messages read (`parley read`).\n"
     "  --limit N   only the last N messages\n"},
    {"contacts", cmd_contacts, "list the users this account has talked to",
     "usage: parley contacts\n"
     "\n"
     "Lists contacts: username, verified or not, account fingerprint, first seen.\n"},
    {"whoami", cmd_whoami, "show this account, device and server",
     "usage: parley whoami\n"
     "\n"
     "Shows the username, this device, the server and the fingerprints.\n"},
    {"verify", cmd_verify, "show or confirm the safety number with a user",
     "usage: parley verify USER [--confirm NUMBER]\n"
     "\n"
     "Prints the safety number shared with USER and both account fingerprints. Compare the\n"
     "number with USER in person or over a call; if it matches, run\n"
     "`parley verify USER --confirm NUMBER` to mark USER verified. Once verified, a change of\n"
     "USER's account key blocks sending (exit 4) until USER is verified again.\n"
     "  --confirm NUMBER   mark verified if NUMBER is the safety number (spaces ignored);\n"
     "                     otherwise fail with \"safety number does not match\"\n"
     "Without --confirm it also looks USER up in the server's key-transparency log and\n"
     "prints what was verified: the version, the checkpoint, the devices the log lists, and\n"
     "any alert about USER (exit 6 if the log's proofs do not verify).\n"},
    {"log", cmd_log, "this account's history in the key-transparency log",
     "usage: parley log\n"
     "\n"
     "Lists every version of this account in the server's key-transparency log, each proven\n"
     "and checked against the one before: when it was made, by which device, the devices it\n"
     "added (+) and removed (-) with their key fingerprints. A version none of this account's\n"
     "devices could have made is marked UNEXPECTED, raised as an alert, and exits 6.\n"},
    {"alerts", cmd_alerts, "key-transparency alerts and their evidence",
     "usage: parley alerts [--all] [--ack ID] [--export DIR [--id ID]]\n"
     "\n"
     "Lists the key-transparency alerts not yet acknowledged (with --all, every one): a check\n"
     "of the server's log that failed. An alert about a user blocks sending to them (one about\n"
     "the whole log, to everyone) until it is acknowledged.\n"
     "  --ack ID       acknowledge alert ID (after you found out why it happened)\n"
     "  --export DIR   write each alert's evidence (signed checkpoints, proofs, states) to\n"
     "                 DIR/alert-ID/, for an auditor; --id ID exports one alert only\n"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const char global_usage[] =
    "usage: parley [--home DIR] [--json] COMMAND [ARGS...]\n"
    "       parley COMMAND --help\n"
    "\n"
    "Parley: end-to-end encrypted messages from the command line.\n"
    "\n"
    "Global options (also accepted after the command):\n"
    "  --home DIR   the home directory (default $PARLEY_HOME, else ~/.local/share/parley)\n"
    "  --json       machine-readable output: one JSON object per line\n"
    "  --help       this text, or a command's with `parley COMMAND --help`\n"
    "\n"
    "Commands:\n";

static const char global_footer[] =
    "\n"
    "Environment: PARLEY_HOME (the home directory), PARLEY_PASSPHRASE (the store's\n"
    "passphrase; otherwise parley asks on the terminal when the store needs one).\n"
    "\n"
    "Exit status: 0 success, 1 failure (unknown user, refused, mismatch, timeout), 2 usage,\n"
    "3 server unreachable or certificate mismatch, 4 sending blocked because a verified\n"
    "contact's key changed, 5 local store (locked by another parley, wrong passphrase,\n"
    "corrupt, no account), 6 key transparency (a proof of the server's log did not verify,\n"
    "or an alert blocks sending: see `parley alerts`). See docs/CLIENT.md.\n";

static void print_global_usage(FILE *out)
{
    size_t i;

    fputs(global_usage, out);
    for (i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-15s %s\n", commands[i].name, commands[i].summary);
    fputs(global_footer, out);
}

void cli_print_usage(FILE *out, const char *command)
{
    size_t i;

    for (i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, command) == 0) {
            fputs(commands[i].usage, out);
            fputs("\nGlobal options: --home DIR, --json, --help.\n", out);
            return;
        }
    }
    print_global_usage(out);
}

/* The default home: $PARLEY_HOME, else $HOME/.local/share/parley. Returns 0 or -1. */
static int default_home(cli_ctx *ctx)
{
    const char *env = getenv("PARLEY_HOME");
    const char *home = getenv("HOME");
    int n;

    if (env && *env) {
        ctx->home = env;
        return 0;
    }
    if (!home || !*home)
        return -1;
    n = snprintf(ctx->home_buf, sizeof ctx->home_buf, "%s/.local/share/parley", home);
    if (n < 0 || (size_t)n >= sizeof ctx->home_buf)
        return -1;
    ctx->home = ctx->home_buf;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {CLI_GLOBAL_OPTIONS, {NULL, 0, NULL, 0}};
    cli_ctx ctx;
    const cli_command *cmd = NULL;
    size_t i;
    int opt, code = CLI_EXIT_USAGE;

    memset(&ctx, 0, sizeof ctx);
    /* '+': stop at the command's name; the command parses the rest. */
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        if (opt == CLI_OPT_HELP) {
            print_global_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (cli_global_option(&ctx, "", opt, optarg, &code) < 0)
            return code;
    }
    if (optind >= argc) {
        print_global_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    for (i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, argv[optind]) == 0)
            cmd = &commands[i];
    }
    if (!cmd) {
        fprintf(stderr, "parley: unknown command '%s' (try 'parley --help')\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!ctx.home && default_home(&ctx) != 0) {
        fputs("parley: home: set --home DIR or PARLEY_HOME (HOME is not set)\n", stderr);
        return CLI_EXIT_USAGE;
    }
    argc -= optind;
    argv += optind;
    optind = 0; /* glibc: 0 re-initialises getopt for the command's own parse */
    return cmd->handler(&ctx, argc, argv);
}

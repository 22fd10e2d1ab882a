/*
 * main.c: `parley-audit`, the witness and auditor of a parleyd key-transparency log
 * (docs/PROTOCOL.md §22, §24.2, §26; docs/AUDIT.md): a table of subcommands, one file each.
 *
 *   parley-audit COMMAND [OPTIONS]
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "parley/parley.h"

#include "cli.h"

static const audit_command commands[] = {
    {"init", cmd_init, "create a witness: its key, its database, its vkey",
     "usage: parley-audit init --state DIR --name NAME\n"
     "\n"
     "Creates DIR (0700) with witness.key (the Ed25519 cosignature key, 0600) and audit.db,\n"
     "and prints the witness's vkey, for the server's `[kt] witnesses` line.\n"
     "  --name NAME   the witness's key name, e.g. witness.example.org/w1\n"},
    {"once", cmd_once, "run one round: audit the newest checkpoint, cosign it, exit",
     "usage: parley-audit once --state DIR --server HOST:PORT (--ca FILE | --pin SHA256)\n"
     "\n"
     "Fetches the log's newest signed checkpoint and the entries not yet replayed, checks them\n"
     "and, if the log only grew, cosigns and sends the cosignature. Prints one line:\n"
     "`cosigned SIZE delivered|not-delivered REPLAYED`, `refused REASON DETAIL`,\n"
     "`halted REASON DETAIL` or `transient DETAIL`.\n"
     "  --server HOST:PORT   the parleyd\n"
     "  --ca FILE            trust the server certificate(s) in FILE (its DATA/tls/cert.pem)\n"
     "  --pin SHA256         or: the SHA-256 fingerprint the server's certificate must have\n"
     "  --verbose            debug lines\n"},
    {"run", cmd_run, "audit and cosign continuously (a service)",
     "usage: parley-audit run --state DIR --server HOST:PORT (--ca FILE | --pin SHA256)\n"
     "\n"
     "Stays connected (KtWatch) and runs a round for every newly signed checkpoint;\n"
     "reconnects with backoff; SIGTERM stops it. Exits 4 when it detects a fork, a rollback\n"
     "or a bad replay (the state is then halted), 5 on a local failure.\n"},
    {"status", cmd_status, "show the state: log, size, halted or not, evidence",
     "usage: parley-audit status --state DIR\n"
     "\n"
     "Prints the witness's vkey, the pinned log, the last cosigned checkpoint, the entries\n"
     "replayed, and the evidence of refusals. Exit 4 when halted. Safe beside `run`.\n"},
    {"resume", cmd_resume, "clear a halt after an operator has looked",
     "usage: parley-audit resume --state DIR\n"
     "\n"
     "Clears the halt set by a fork, rollback or bad replay. The evidence and the witness\n"
     "state stay: a resumed auditor still refuses every tree inconsistent with what it\n"
     "cosigned.\n"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *out)
{
    fputs("usage: parley-audit COMMAND [OPTIONS]    (parley-audit COMMAND --help)\n"
          "\n"
          "The witness and auditor of a Parley key-transparency log: replays every log entry\n"
          "into its own prefix tree and cosigns only checkpoints of an append-only log.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\nExit status: 0 ok, 1 failure, 2 usage, 3 server unreachable, 4 refused (the log\n"
          "misbehaved, or the state is halted), 5 local state. See docs/AUDIT.md.\n",
          out);
}

void audit_usage(FILE *out, const char *command)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, command) == 0) {
            fputs(commands[i].usage, out);
            return;
        }
    }
    print_usage(out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return AUDIT_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(stdout);
        return AUDIT_EXIT_OK;
    }
    umask(077); /* the state directory is this user's alone: key, database, lock */
    if (pl_init() != PL_OK) {
        fputs("parley-audit: cannot initialise libsodium\n", stderr);
        return AUDIT_EXIT_LOCAL;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, argv[1]) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "parley-audit: unknown command '%s' (try 'parley-audit --help')\n", argv[1]);
    return AUDIT_EXIT_USAGE;
}

/*
 * cli.h: parley-audit's subcommands (one file each, cmd_*.c) and what they share: options,
 * exit statuses, the stop flag set by SIGTERM/SIGINT.
 *
 * Exit status: 0 success (run: also stopped by a signal); 1 failure (cosigned but the server
 * did not take the cosignature, once interrupted, or another error); 2 usage; 3 the server is
 * unreachable or broke the protocol (transient: try again); 4 refused: the log misbehaved (fork,
 * rollback, bad replay, changed config) now or before (halted); 5 the local state (directory, key,
 * database) failed.
 */
#ifndef PARLEY_AUDIT_CLI_H
#define PARLEY_AUDIT_CLI_H

#include <signal.h>
#include <stdio.h>

#include "round.h"

#define AUDIT_EXIT_OK 0
#define AUDIT_EXIT_FAILURE 1
#define AUDIT_EXIT_USAGE 2
#define AUDIT_EXIT_UNREACHABLE 3
#define AUDIT_EXIT_REFUSED 4
#define AUDIT_EXIT_LOCAL 5

typedef struct audit_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *usage;
} audit_command;

/* The options every command may take; each command accepts the ones it names. */
typedef struct audit_opts {
    const char *state;  /* --state DIR */
    const char *name;   /* --name NAME (init) */
    const char *server; /* --server HOST:PORT */
    const char *ca;     /* --ca FILE */
    const char *pin;    /* --pin SHA256 */
    int verbose;        /* --verbose: debug lines */
} audit_opts;

/* Option letters a command accepts, as a string of: s(tate) n(ame) S(erver) c(a) p(in). */
int audit_parse(const char *command, const char *accepted, int argc, char **argv, audit_opts *o);

/* Prints a command's usage to out. */
void audit_usage(FILE *out, const char *command);

/* Set by SIGTERM and SIGINT once audit_catch_signals() ran. */
extern volatile sig_atomic_t audit_stop;
void audit_catch_signals(void);

/* Sleeps ms milliseconds, or less when audit_stop is raised. */
void audit_sleep_ms(unsigned ms);

/* The exit status for a round's outcome. */
int audit_exit_for(const pl_audit_round_result *res);

int cmd_init(int argc, char **argv);
int cmd_once(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_resume(int argc, char **argv);

#endif

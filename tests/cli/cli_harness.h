/*
 * cli_harness.h: runs the real `parley` binary for the end-to-end tests (tests/cli/): each
 * run is a fork/exec with standard output and error captured in files of a scratch
 * directory, a bounded wait (CH_RUN_TIMEOUT_MS, then SIGKILL and a failed test), and the
 * environment of the test process plus a few "NAME=value" (or "NAME" to unset) entries.
 *
 * ch_setup() sets PARLEY_TEST_FAST_KDF=1 and removes PARLEY_HOME and PARLEY_PASSPHRASE
 * from the environment every child inherits, and creates the scratch directory; each user
 * gets its own --home under it (ch_home). ch_teardown() removes it unless a test failed.
 *
 * Functions fail the test (cmocka fail_msg) on the harness's own errors only.
 */
#ifndef PARLEY_CLI_HARNESS_H
#define PARLEY_CLI_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include "parleyd_harness.h"

#define CH_RUN_TIMEOUT_MS 60000
#define CH_PATH_MAX 512

typedef struct ch_result {
    int status; /* the exit status; 128 + N if killed by signal N */
    char *out;  /* standard output, NUL-terminated (malloc'd) */
    char *err;  /* standard error, NUL-terminated (malloc'd) */
} ch_result;

typedef struct ch_proc {
    pid_t pid; /* 0 once reaped */
    int status;
    char out_path[CH_PATH_MAX];
    char err_path[CH_PATH_MAX];
} ch_proc;

void ch_setup(void);
void ch_teardown(void);
/* Keeps the scratch directory (a test failed); printed on stderr at teardown. */
void ch_keep(void);

/* "SCRATCH/name": a home directory path (not created: parley init/link create it). */
const char *ch_home(const char *name);
/* "SCRATCH/name": any other file path in the scratch directory. */
const char *ch_path(const char *name);
/* "127.0.0.1:PORT" of a harness server. */
const char *ch_server_addr(const ph_server *s);

/*
 * Runs parley with args (NULL-terminated, without argv[0]), env entries (NULL-terminated or
 * NULL) and input on standard input (NULL: /dev/null). Fills *res (free with
 * ch_result_free) and returns res->status.
 */
int ch_run(ch_result *res, const char *const *env, const char *input, const char *const *args);
void ch_result_free(ch_result *res);

#define CH_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Starts parley in the background (standard input /dev/null). */
void ch_spawn(ch_proc *p, const char *const *env, const char *const *args);
/* Waits up to timeout_ms until the process's stdout (or stderr if in_stderr) contains
 * needle. Returns 0, or -1 on timeout or if the process exited first. */
int ch_proc_wait_output(ch_proc *p, const char *needle, int in_stderr, unsigned timeout_ms);
/* The process's output so far (malloc'd, NUL-terminated). */
char *ch_proc_read(const ch_proc *p, int in_stderr);
/* Sends sig (0: none) and waits up to timeout_ms for the exit; returns the status as ch_run,
 * or -1 after a timeout (the process is then killed). */
int ch_proc_stop(ch_proc *p, int sig, unsigned timeout_ms);

/* Counts the occurrences of needle in haystack. */
size_t ch_count(const char *haystack, const char *needle);
/* Reads a whole file (malloc'd, NUL-terminated, *len set if len != NULL); NULL if absent. */
char *ch_read_file(const char *path, size_t *len);

/* Checks that text is a sequence of lines, each exactly one JSON object. Returns 0 (and the
 * count) or -1. */
int ch_json_lines(const char *text, size_t *n_objects);
/* Copies the value of "key" in a JSON line (a string unescaped naively, or the raw number or
 * literal) into out. Returns 0, or -1 if absent. For the tests' own simple fields. */
int ch_json_field(const char *line, const char *key, char *out, size_t cap);

/* parley init on server s with --ca (asserting success). */
void ch_init_user(const ph_server *s, const char *home, const char *user);
/* parley link on new_home (in the background), parley approve on from_home, asserting that
 * both succeed. */
void ch_link_device(const ph_server *s, const char *from_home, const char *new_home,
                    const char *name);
/* parley send (asserting success); the text is remembered for ch_sent_texts(). */
void ch_send(const char *home, const char *to, const char *text);
/* parley --json recv --wait 2, asserting success and one JSON object per line; returns its
 * standard output (malloc'd). */
char *ch_recv_json(const char *home);
/* Every text passed to ch_send() so far. */
size_t ch_sent_texts(const char *const **texts);

/* A loopback TCP port that was free a moment ago (asserted), for a parleyd that must keep
 * its address across a restart (the homes remember it). */
unsigned ch_free_port(void);

/* ---- Groups: rounds of receiving over several homes ---- */

/* parley --json recv --wait 1 on home; returns its standard output followed by its standard
 * error (the notices: a change refused, a key not saved explain a failure), malloc'd.
 * must_work: assert exit status 0 and one JSON object per line on standard output. */
char *ch_group_recv(const char *home, int must_work);
/* Every home receives, `rounds` times round (a change, the keys it causes, their answers);
 * what each home printed is appended to outs[i] (NULL or malloc'd). */
void ch_group_sync(const char *const *homes, size_t n, char **outs, unsigned rounds);
/* Frees outs[0..n) and sets them to NULL. */
void ch_outs_clear(char **outs, size_t n);
/* parley send --group group text, asserting success. */
void ch_group_send(const char *home, const char *group, const char *text);
/* Fails the test (keeping the homes) unless text occurs exactly want times in out. */
void ch_expect_count(const char *out, const char *text, size_t want, const char *who);

/* Asserts that a run exited with `want`, printing its output if not. */
#define CH_ASSERT_STATUS(res, want)                                                                \
    do {                                                                                           \
        if ((res)->status != (want)) {                                                             \
            ch_keep();                                                                             \
            fail_msg("parley exited %d, expected %d\nstdout:\n%s\nstderr:\n%s", (res)->status,     \
                     (want), (res)->out, (res)->err);                                              \
        }                                                                                          \
    } while (0)

#endif

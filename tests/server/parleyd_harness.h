/*
 * parleyd_harness.h: runs a real parleyd for the integration tests (tests/server/test_parleyd_*).
 *
 * A server lives in a fresh temporary directory:
 *   DIR/parleyd.conf   the generated configuration
 *   DIR/clock          the injected wall clock (PARLEYD_TEST_CLOCK_FILE), absent = real time
 *   DIR/data/          the data directory (parleyd.addr, tls/, the store)
 *   DIR/parleyd.log    the server's stderr, appended to across restarts
 *
 * Settings are "section.key=value" strings merged over the harness defaults (listen and admin
 * on 127.0.0.1:0, log_level debug, a generous registration limit), so a test names only what
 * it changes and no key is written twice.
 *
 * A test calls ph_stop() at its end, which asserts a clean exit (status 0) and marks the run as
 * passed; ph_free() then removes the directory. If the test failed before that (cmocka jumps
 * out), ph_free() kills the server, prints the tail of its log to stderr and keeps the
 * directory for inspection.
 *
 * Functions that fail on the harness's own errors (cannot fork, no parleyd.addr in time) call
 * cmocka's fail_msg(); they are meant for test bodies and setup only.
 */
#ifndef PARLEYD_HARNESS_H
#define PARLEYD_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PH_MAX_SETTINGS 32
#define PH_PATH_MAX 512

typedef struct ph_server {
    char dir[PH_PATH_MAX / 4];
    char data_dir[PH_PATH_MAX / 2];
    char conf_path[PH_PATH_MAX];
    char log_path[PH_PATH_MAX];
    char clock_path[PH_PATH_MAX];
    char cert_path[PH_PATH_MAX]; /* DATA/tls/cert.pem */
    char key_path[PH_PATH_MAX];
    pid_t pid;           /* 0 when not running */
    uint16_t port;       /* the wire listener, from parleyd.addr */
    uint16_t admin_port; /* 0 if parleyd.addr named none */
    int passed;          /* set by ph_stop() after a clean exit */
    int keep;            /* a test using this server failed: keep the directory */
} ph_server;

/*
 * Creates a directory, writes the configuration (defaults merged with settings, a
 * NULL-terminated list of "section.key=value", may be NULL) and starts parleyd. Returns the
 * running server (free it with ph_free); fails the test if parleyd is not built, does not
 * start, or writes no parleyd.addr within 10 s.
 */
ph_server *ph_start(const char *const *settings);

/* Starts parleyd again on the same directory and configuration (after ph_kill or ph_stop). */
void ph_restart(ph_server *s);

/* Sends SIGTERM, waits up to 10 s and asserts the exit status is 0. Marks the run passed. */
void ph_stop(ph_server *s);

/* Sends SIGKILL and reaps the process. */
void ph_kill(ph_server *s);

/* Sends SIGHUP (certificate reload). */
void ph_sighup(ph_server *s);

/* Writes the injected clock: milliseconds since the Unix epoch, atomically (rename). */
void ph_set_clock(ph_server *s, uint64_t ms);

/* Returns the real time in milliseconds since the Unix epoch. */
uint64_t ph_now_ms(void);

/* Sleeps ms milliseconds: only between the rounds of a bounded poll for a condition. */
void ph_sleep_ms(unsigned ms);

/* Monotonic milliseconds, for deadlines. */
uint64_t ph_mono_ms(void);

/* Prints the last max_bytes of the server's log to stderr. */
void ph_dump_log(const ph_server *s, size_t max_bytes);

/*
 * Plain HTTP GET of path on the admin listener. Writes the body (NUL-terminated, truncated
 * to cap - 1) into body and returns the HTTP status code, or -1 on a connection error.
 */
int ph_admin_get(const ph_server *s, const char *path, char *body, size_t cap);

/*
 * Reads one metric's value from the admin /metrics page (the first sample line whose name is
 * exactly name, labels ignored). Returns 0 and *value, or -1 if it is absent.
 */
int ph_metric(const ph_server *s, const char *name, double *value);

/* Kills the server if it still runs; removes the directory if ph_stop() passed, else prints
 * the log tail and keeps it. Accepts NULL. */
void ph_free(ph_server *s);

/*
 * For a server shared by the tests of one program: each test calls ph_test_begin() first and
 * ph_test_end() last, and the per-test teardown calls ph_test_teardown(shared). If the test
 * did not reach ph_test_end() (it failed), the teardown prints the server's log tail and marks
 * the directory to be kept. shared may be NULL.
 */
void ph_test_begin(void);
void ph_test_end(void);
void ph_test_teardown(ph_server *shared);

/* Removes a directory tree (for the tests' own temporary directories). */
void ph_rm_rf(const char *path);

#endif

/*
 * test_cli_errors.c: what `parley` does when things go wrong, end to end: usage, an unknown
 * user, an unreachable server, a certificate that is not the pinned one, a second process on
 * the same home, passphrases (wrong, missing), a corrupt store, a home without an account.
 * Each failure must be one line "parley: ...: ..." on stderr and its documented exit code.
 */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE

#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_harness.h"
#include "tls_cert.h"

static ph_server *server;

static int group_setup(void **state)
{
    (void)state;
    ch_setup();
    server = ph_start(NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (server && server->pid)
        ph_stop(server);
    ph_free(server);
    server = NULL;
    ch_teardown();
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    ph_test_teardown(server);
    return 0;
}

/* Asserts a failure: the status, and stderr exactly one line starting "parley: " and
 * containing `why`. */
static void assert_failed(ch_result *r, int status, const char *why)
{
    CH_ASSERT_STATUS(r, status);
    if (strncmp(r->err, "parley: ", 8) != 0 || ch_count(r->err, "\n") != 1 ||
        !strstr(r->err, why)) {
        ch_keep();
        fail_msg("expected one line with \"%s\" on stderr, got:\n%s", why, r->err);
    }
}

static void test_usage(void **state)
{
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_run(&r, NULL, NULL, CH_ARGS("--help"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "remove-device"));
    assert_non_null(strstr(r.out, "Exit status"));
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("send", "--help"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "usage: parley send USER"));
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("frobnicate"));
    assert_failed(&r, 2, "unknown command");
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", ch_home("nobody"), "send", "bob"));
    assert_failed(&r, 2, "missing argument");
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", ch_home("nobody"), "init", "--user", "x"));
    assert_failed(&r, 2, "--server");
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", ch_home("nobody"), "recv", "--wait", "soon"));
    assert_failed(&r, 2, "--wait");
    ch_result_free(&r);
    /* A home without an account. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", ch_home("nobody"), "whoami"));
    assert_failed(&r, 5, "parley: whoami: ");
    ch_result_free(&r);
    ph_test_end();
}

static void test_unknown_user(void **state)
{
    const char *alice = strdup(ch_home("alice1"));
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice1");
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "send", "nosuchuser", "hello"));
    assert_failed(&r, 1, "parley: send to nosuchuser: ");
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "verify", "nosuchuser"));
    assert_failed(&r, 1, "parley: verify nosuchuser: ");
    ch_result_free(&r);
    free((void *)alice);
    ph_test_end();
}

static void test_server_unreachable(void **state)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char addr[64];
    ch_result r;

    (void)state;
    ph_test_begin();
    /* A loopback port nobody listens on: bound, never listened to. */
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    ch_run(&r, NULL, NULL,
           CH_ARGS("--home", ch_home("unreachable"), "init", "--server", addr, "--user", "lonely"));
    assert_failed(&r, 3, "parley: init: ");
    ch_result_free(&r);
    close(fd);
    ph_test_end();
}

static void test_certificate_mismatch(void **state)
{
    const char *other = strdup(ch_path("other-server"));
    const char *tofu = strdup(ch_home("tofu"));
    char wrong_ca[PH_PATH_MAX], err[256], fingerprint[PL_TLS_FINGERPRINT_BYTES];
    int created = 0;
    ch_result r;

    (void)state;
    ph_test_begin();
    /* Another server's certificate, given as --ca. */
    assert_int_equal(mkdir(other, 0700), 0);
    assert_int_equal(pl_tls_cert_ensure(other, NULL, 0, &created, err, sizeof err), PL_TLS_OK);
    snprintf(wrong_ca, sizeof wrong_ca, "%s/tls/cert.pem", other);
    ch_run(&r, NULL, NULL,
           CH_ARGS("--home", ch_home("wrongca"), "init", "--server", ch_server_addr(server), "--ca",
                   wrong_ca, "--user", "wrongca"));
    assert_failed(&r, 3, "parley: init: ");
    ch_result_free(&r);
    /* Without --ca: trust on first use prints the server's real fingerprint. */
    assert_int_equal(pl_tls_cert_fingerprint_file(server->cert_path, fingerprint, err, sizeof err),
                     PL_TLS_OK);
    ch_run(&r, NULL, NULL,
           CH_ARGS("--home", tofu, "init", "--server", ch_server_addr(server), "--user", "tofu"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, fingerprint));
    assert_non_null(strstr(r.out, "trusted on first use"));
    ch_result_free(&r);
    free((void *)other);
    free((void *)tofu);
    ph_test_end();
}

static void test_second_process_on_the_same_home(void **state)
{
    const char *alice = strdup(ch_home("alice2"));
    ch_proc p;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice2");
    ch_spawn(&p, NULL, CH_ARGS("--home", alice, "listen"));
    assert_int_equal(ch_proc_wait_output(&p, "listening as alice2", 1, 30000), 0);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "contacts"));
    assert_failed(&r, 5, "another parley process");
    ch_result_free(&r);
    assert_int_equal(ch_proc_stop(&p, SIGINT, 10000), 0);
    /* Released: the next command works. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "contacts"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    free((void *)alice);
    ph_test_end();
}

static void test_passphrases(void **state)
{
    const char *home = strdup(ch_home("secret"));
    const char *const right[] = {"PARLEY_PASSPHRASE=correct horse", NULL};
    const char *const wrong[] = {"PARLEY_PASSPHRASE=battery staple", NULL};
    char *store_key;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_run(&r, right, NULL,
           CH_ARGS("--home", home, "init", "--server", ch_server_addr(server), "--ca",
                   server->cert_path, "--user", "secret"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    /* Protected: no plain key file. */
    store_key = ch_read_file(ch_path("secret/store.key"), NULL);
    assert_null(store_key);
    ch_run(&r, wrong, NULL, CH_ARGS("--home", home, "whoami"));
    assert_failed(&r, 5, "wrong passphrase");
    ch_result_free(&r);
    /* None given and no terminal to ask on. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", home, "whoami"));
    assert_failed(&r, 5, "passphrase");
    ch_result_free(&r);
    ch_run(&r, right, NULL, CH_ARGS("--home", home, "whoami"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "secret"));
    ch_result_free(&r);
    /* --passphrase-prompt needs a terminal. */
    ch_run(&r, NULL, NULL,
           CH_ARGS("--home", ch_home("prompt"), "init", "--server", ch_server_addr(server),
                   "--user", "prompted", "--passphrase-prompt"));
    assert_int_not_equal(r.status, 0);
    ch_result_free(&r);
    free((void *)home);
    ph_test_end();
}

static void test_corrupt_store(void **state)
{
    const char *home = strdup(ch_home("corrupt"));
    FILE *f;
    size_t len = 0, i;
    char *db;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, home, "corrupt");
    db = ch_read_file(ch_path("corrupt/parley.db"), &len);
    assert_non_null(db);
    assert_true(len > 0);
    for (i = 0; i < len; i++)
        db[i] = (char)(i * 131u + 7u);
    f = fopen(ch_path("corrupt/parley.db"), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(db, 1, len, f), len);
    fclose(f);
    free(db);
    ph_rm_rf(ch_path("corrupt/parley.db-wal"));
    ph_rm_rf(ch_path("corrupt/parley.db-shm"));
    ch_run(&r, NULL, NULL, CH_ARGS("--home", home, "whoami"));
    assert_failed(&r, 5, "parley: whoami: ");
    ch_result_free(&r);
    free((void *)home);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_usage, test_teardown),
        cmocka_unit_test_teardown(test_unknown_user, test_teardown),
        cmocka_unit_test_teardown(test_server_unreachable, test_teardown),
        cmocka_unit_test_teardown(test_certificate_mismatch, test_teardown),
        cmocka_unit_test_teardown(test_second_process_on_the_same_home, test_teardown),
        cmocka_unit_test_teardown(test_passphrases, test_teardown),
        cmocka_unit_test_teardown(test_corrupt_store, test_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

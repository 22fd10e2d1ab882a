/*
 * test_cli_trust.c: safety numbers and key changes, end to end.
 *
 * A key change used to be provoked as the attack it stands for, the operator replacing bob's
 * account on the server; with key transparency that is caught as a rollback of the log (exit
 * 6, tests/client/test_client_kt.c). Here alice's home instead remembers, for bob and carol,
 * another account key than the one the log proves (as after a reinstall the log shows), so
 * her next send sees a change of key. bob was verified by alice: sending to him is blocked
 * (exit 4) until alice verifies the new number. carol was not: the change is accepted and
 * announced.
 */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cli_harness.h"

static ph_server *server;

#define OTHER_KEY "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0"

static int group_setup(void **state)
{
    static char listen[64];
    const char *settings[] = {listen, NULL};

    (void)state;
    ch_setup();
    snprintf(listen, sizeof listen, "server.listen=127.0.0.1:%u", ch_free_port());
    server = ph_start(settings);
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

static void safety_number(const char *home, const char *user, char *out, size_t cap)
{
    ch_result r;

    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", home, "verify", user));
    CH_ASSERT_STATUS(&r, 0);
    assert_int_equal(ch_json_field(r.out, "safety_number", out, cap), 0);
    assert_true(strlen(out) >= 60);
    ch_result_free(&r);
}

/* alice's home remembers another account key for bob and carol (verified, for bob). */
static void plant_old_keys(const char *home)
{
    static const char sql[] =
        "UPDATE contacts SET account_key = x'01" OTHER_KEY "', verified_key = CASE verified"
        " WHEN 1 THEN x'01" OTHER_KEY "' ELSE verified_key END"
        " WHERE username IN ('bob', 'carol')";
    char db[CH_PATH_MAX + 16];
    sqlite3 *h = NULL;

    snprintf(db, sizeof db, "%s/parley.db", home);
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_changes(h), 2);
    sqlite3_close(h);
}

static void test_safety_number_and_key_change(void **state)
{
    const char *alice = strdup(ch_home("alice")), *bob = strdup(ch_home("bob"));
    const char *carol = strdup(ch_home("carol"));
    const char *bob_new = bob, *carol_new = carol;
    char number[128], theirs[128], changed[128];
    ch_result r;
    char *out;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice");
    ch_init_user(server, bob, "bob");
    ch_init_user(server, carol, "carol");
    ch_send(alice, "bob", "first contact");
    ch_send(alice, "carol", "first contact");
    free(ch_recv_json(bob));

    /* Both ends compute the same number; the text form shows it with both fingerprints. */
    safety_number(alice, "bob", number, sizeof number);
    safety_number(bob, "alice", theirs, sizeof theirs);
    assert_string_equal(number, theirs);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "verify", "bob"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, number));
    assert_non_null(strstr(r.out, "not verified"));
    ch_result_free(&r);

    /* A wrong number is refused and changes nothing. */
    ch_run(&r, NULL, NULL,
           CH_ARGS("--home", alice, "verify", "bob", "--confirm",
                   "11111 11111 11111 11111 11111 11111 11111 11111 11111 11111 11111 11111"));
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "safety number does not match"));
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "verify", "bob", "--confirm", number));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", alice, "contacts"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"user\":\"bob\",\"fingerprint\""));
    assert_int_equal(ch_count(r.out, "\"verified\":true"), 1);
    ch_result_free(&r);

    /* alice's home remembers other keys than the log proves for bob and carol; the number
     * she verified was the one of the key she remembers. `verify` shows it, then looks bob
     * up in the log and finds the change. */
    plant_old_keys(alice);
    safety_number(alice, "bob", number, sizeof number);

    /* Verified bob: blocked, exit 4, until alice verifies again. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "send", "bob", "must not go"));
    CH_ASSERT_STATUS(&r, 4);
    assert_non_null(strstr(r.err, "parley: send to bob: "));
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", alice, "verify", "bob"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"key_changed\":true"));
    assert_int_equal(ch_json_field(r.out, "safety_number", changed, sizeof changed), 0);
    assert_string_not_equal(changed, number);
    ch_result_free(&r);
    /* The old number no longer confirms. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "verify", "bob", "--confirm", number));
    assert_int_equal(r.status, 1);
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "verify", "bob", "--confirm", changed));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_send(alice, "bob", "after re-verifying");
    out = ch_recv_json(bob_new);
    assert_non_null(strstr(out, "after re-verifying"));
    free(out);

    /* Unverified carol: accepted, announced, and recorded in the history as a notice. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "send", "carol", "to the new carol"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", alice, "history", "carol"));
    CH_ASSERT_STATUS(&r, 0);
    assert_int_equal(ch_count(r.out, "\"notice\":true"), 1);
    ch_result_free(&r);
    out = ch_recv_json(carol_new);
    assert_non_null(strstr(out, "to the new carol"));
    free(out);

    free((void *)alice);
    free((void *)bob);
    free((void *)carol);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_safety_number_and_key_change, test_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * test_cli_receipts.c: end to end, real parleyd and real `parley` processes: delivery and read
 * receipts (PROTOCOL.md §28) in both directions, as their own --json objects, never shown as
 * messages nor answered by a receipt; `history` shows the status of sent messages and marks
 * what it shows read; `listen` reports what it shows read; a second device of the reader
 * does not report again; `parley config receipts off` stops them.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_harness.h"

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

/* parley --json send, returning the message id in id (33 bytes). */
static void send_id(const char *home, const char *to, const char *text, char id[33])
{
    ch_result r;

    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", home, "send", to, text));
    CH_ASSERT_STATUS(&r, 0);
    assert_int_equal(ch_json_field(r.out, "id", id, 33), 0);
    assert_int_equal(strlen(id), 32);
    ch_result_free(&r);
}

/* Runs a command expecting status 0 and returns its standard output (malloc'd). */
static char *run_ok(const char *const *args)
{
    ch_result r;
    char *out;

    ch_run(&r, NULL, NULL, args);
    CH_ASSERT_STATUS(&r, 0);
    out = r.out;
    r.out = NULL;
    ch_result_free(&r);
    return out;
}

/* Whether out holds a receipt line with that status naming id. */
static int has_receipt(const char *out, const char *status, const char *id)
{
    char want[64];
    const char *line = out;

    snprintf(want, sizeof want, "\"status\":\"%s\"", status);
    while ((line = strstr(line, "{\"receipt\":"))) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[4096];

        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf - 1 ? len : sizeof buf - 1), line);
        if (strstr(buf, want) && strstr(buf, id))
            return 1;
        line += len;
    }
    return 0;
}

/* The status the --json history of home with peer shows for message id ("" if absent). */
static void history_status(const char *home, const char *peer, const char *id, char *status,
                           size_t cap)
{
    char *out = run_ok(CH_ARGS("--json", "--home", home, "history", peer));
    char needle[64];
    const char *p;

    status[0] = '\0';
    snprintf(needle, sizeof needle, "{\"id\":\"%s\"", id);
    if ((p = strstr(out, needle))) {
        const char *end = strchr(p, '\n');
        char line[4096];

        snprintf(line, sizeof line, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
        if (ch_json_field(line, "status", status, cap) != 0)
            status[0] = '\0';
    }
    free(out);
}

static void test_receipts_both_ways(void **state)
{
    const char *alice = strdup(ch_home("alice1")), *bob = strdup(ch_home("bob1"));
    char id1[33], id2[33], status[16];
    char *out;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice1");
    ch_init_user(server, bob, "bob1");

    /* alice -> bob: sent, then delivered when bob stores it, then read on `parley read`. */
    send_id(alice, "bob1", "hello bob canary-r1", id1);
    history_status(alice, "bob1", id1, status, sizeof status);
    assert_string_equal(status, "sent");
    out = ch_recv_json(bob);
    assert_non_null(strstr(out, "canary-r1"));
    assert_null(strstr(out, "\"receipt\""));
    free(out);
    out = ch_recv_json(alice);
    if (!has_receipt(out, "delivered", id1) || ch_count(out, "\"text\"") != 0) {
        ch_keep();
        fail_msg("alice's recv after bob's:\n%s", out);
    }
    assert_non_null(strstr(out, "\"from\":\"bob1\""));
    free(out);
    history_status(alice, "bob1", id1, status, sizeof status);
    assert_string_equal(status, "delivered");
    out = run_ok(CH_ARGS("--home", bob, "read", "alice1"));
    assert_non_null(strstr(out, "1 message marked read"));
    free(out);
    out = run_ok(CH_ARGS("--home", bob, "read", "alice1")); /* once only */
    assert_non_null(strstr(out, "0 messages marked read"));
    free(out);
    out = ch_recv_json(alice);
    assert_true(has_receipt(out, "read", id1));
    assert_int_equal(ch_count(out, "{\"receipt\""), 1);
    free(out);
    history_status(alice, "bob1", id1, status, sizeof status);
    assert_string_equal(status, "read");
    out = run_ok(CH_ARGS("--home", alice, "history", "bob1")); /* and for people */
    assert_non_null(strstr(out, "[read]"));
    free(out);

    /* bob -> alice: delivered by recv, read by showing the history. */
    send_id(bob, "alice1", "hello alice canary-r2", id2);
    out = ch_recv_json(alice);
    assert_non_null(strstr(out, "canary-r2"));
    free(out);
    out = ch_recv_json(bob);
    assert_true(has_receipt(out, "delivered", id2));
    free(out);
    out = run_ok(CH_ARGS("--home", alice, "history", "bob1"));
    assert_non_null(strstr(out, "canary-r2"));
    free(out);
    out = ch_recv_json(bob);
    assert_true(has_receipt(out, "read", id2));
    free(out);
    history_status(bob, "alice1", id2, status, sizeof status);
    assert_string_equal(status, "read");
    /* Showing the history again reports nothing new. */
    free(run_ok(CH_ARGS("--home", alice, "history", "bob1")));

    /* No receipt answered a receipt: both mailboxes are empty now. */
    out = ch_recv_json(alice);
    assert_string_equal(out, "");
    free(out);
    out = ch_recv_json(bob);
    assert_string_equal(out, "");
    free(out);
    free((void *)alice);
    free((void *)bob);
    ph_test_end();
}

static void test_listen_reports_read(void **state)
{
    const char *alice = strdup(ch_home("alice2")), *bob = strdup(ch_home("bob2"));
    char id[33];
    char *out;
    ch_proc p;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice2");
    ch_init_user(server, bob, "bob2");
    ch_spawn(&p, NULL, CH_ARGS("--home", bob, "listen"));
    assert_int_equal(ch_proc_wait_output(&p, "listening as bob2", 1, 30000), 0);
    send_id(alice, "bob2", "live canary-r3", id);
    assert_int_equal(ch_proc_wait_output(&p, "canary-r3", 0, 30000), 0);
    /* listen sends the read receipt once idle; give it a few seconds to arrive. */
    out = NULL;
    for (int i = 0; i < 10; i++) {
        free(out);
        out = ch_recv_json(alice);
        if (has_receipt(out, "read", id))
            break;
    }
    if (!has_receipt(out, "read", id)) {
        ch_keep();
        fail_msg("no read receipt from listen:\n%s", out);
    }
    free(out);
    assert_int_equal(ch_proc_stop(&p, SIGTERM, 10000), 0);
    free((void *)alice);
    free((void *)bob);
    ph_test_end();
}

/* bob has two devices: what one marks read, the other does not report again. */
static void test_read_on_one_device_is_known_to_the_other(void **state)
{
    const char *alice = strdup(ch_home("alice3")), *b1 = strdup(ch_home("bob3-1"));
    const char *b2 = strdup(ch_home("bob3-2"));
    char id[33];
    char *out;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice3");
    ch_init_user(server, b1, "bob3");
    ch_link_device(server, b1, b2, "laptop");
    send_id(alice, "bob3", "two devices canary-r4", id);
    free(ch_recv_json(b1));
    free(ch_recv_json(b2));
    out = run_ok(CH_ARGS("--home", b1, "read", "alice3"));
    assert_non_null(strstr(out, "1 message marked read"));
    free(out);
    free(ch_recv_json(b2)); /* the copy of b1's read receipt */
    out = run_ok(CH_ARGS("--home", b2, "read", "alice3"));
    assert_non_null(strstr(out, "0 messages marked read"));
    free(out);
    out = ch_recv_json(alice);
    /* two delivered (one per device of bob) and one read */
    assert_true(has_receipt(out, "read", id));
    assert_int_equal(ch_count(out, "\"status\":\"read\""), 1);
    free(out);
    free((void *)alice);
    free((void *)b1);
    free((void *)b2);
    ph_test_end();
}

static void test_receipts_off(void **state)
{
    const char *carol = strdup(ch_home("carol4")), *dave = strdup(ch_home("dave4"));
    char id[33], status[16];
    char *out;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, carol, "carol4");
    ch_init_user(server, dave, "dave4");
    out = run_ok(CH_ARGS("--home", carol, "config", "receipts"));
    assert_non_null(strstr(out, "receipts on"));
    free(out);
    out = run_ok(CH_ARGS("--home", carol, "config", "receipts", "off"));
    assert_non_null(strstr(out, "receipts off"));
    free(out);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", carol, "config", "receipts", "maybe"));
    CH_ASSERT_STATUS(&r, 2);
    ch_result_free(&r);
    out = run_ok(CH_ARGS("--json", "--home", carol, "config"));
    assert_non_null(strstr(out, "{\"receipts\":false}"));
    free(out);

    send_id(dave, "carol4", "quiet please canary-r5", id);
    out = ch_recv_json(carol);
    assert_non_null(strstr(out, "canary-r5"));
    free(out);
    out = run_ok(CH_ARGS("--home", carol, "read", "dave4"));
    assert_non_null(strstr(out, "1 message marked read"));
    free(out);
    free(run_ok(CH_ARGS("--home", carol, "history", "dave4")));
    out = ch_recv_json(dave);
    assert_null(strstr(out, "\"receipt\""));
    free(out);
    history_status(dave, "carol4", id, status, sizeof status);
    assert_string_equal(status, "sent");

    /* On again: new messages are reported; the old one was marked read while off. */
    free(run_ok(CH_ARGS("--home", carol, "config", "receipts", "on")));
    send_id(dave, "carol4", "loud again canary-r6", id);
    free(ch_recv_json(carol));
    out = ch_recv_json(dave);
    assert_true(has_receipt(out, "delivered", id));
    free(out);
    free((void *)carol);
    free((void *)dave);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_receipts_both_ways, test_teardown),
        cmocka_unit_test_teardown(test_listen_reports_read, test_teardown),
        cmocka_unit_test_teardown(test_read_on_one_device_is_known_to_the_other, test_teardown),
        cmocka_unit_test_teardown(test_receipts_off, test_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

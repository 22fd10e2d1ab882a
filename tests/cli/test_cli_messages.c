/*
 * test_cli_messages.c: end to end, real parleyd and real `parley` processes on loopback:
 * messages both ways, an offline recipient, several devices per account (linked before and
 * during a conversation, one removed), a tampered link code, a crash between decryption and
 * acknowledgement, `listen`, hostile control characters, --json output, and finally that
 * nothing the server wrote contains a message text.
 */
#define _GNU_SOURCE /* memmem */

#include <ftw.h>
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

/* Counts the messages of a --json recv/history output whose text is exactly `text`. */
static size_t count_text(const char *out, const char *text)
{
    char needle[512];

    snprintf(needle, sizeof needle, "\"text\":\"%s\"", text);
    return ch_count(out, needle);
}

/* The device id of a home, from `parley --json whoami`. */
static unsigned device_id(const char *home)
{
    ch_result r;
    char id[16];
    unsigned v;

    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", home, "whoami"));
    CH_ASSERT_STATUS(&r, 0);
    assert_int_equal(ch_json_field(r.out, "device", id, sizeof id), 0);
    v = (unsigned)strtoul(id, NULL, 10);
    ch_result_free(&r);
    return v;
}

static void test_two_users_exchange_both_ways(void **state)
{
    const char *alice = strdup(ch_home("alice1")), *bob = strdup(ch_home("bob1"));
    char *out;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice1");
    ch_init_user(server, bob, "bob1");
    ch_send(alice, "bob1", "hello bob, canary-7f3a");
    out = ch_recv_json(bob);
    assert_int_equal(count_text(out, "hello bob, canary-7f3a"), 1);
    assert_non_null(strstr(out, "\"from\":\"alice1\""));
    assert_non_null(strstr(out, "\"outgoing\":false"));
    free(out);
    ch_send(bob, "alice1", "hello alice, canary-91c2");
    out = ch_recv_json(alice);
    assert_int_equal(count_text(out, "hello alice, canary-91c2"), 1);
    assert_non_null(strstr(out, "\"from\":\"bob1\""));
    free(out);
    /* Nothing is delivered twice. */
    out = ch_recv_json(bob);
    assert_int_equal(count_text(out, "hello bob, canary-7f3a"), 0);
    free(out);
    /* Both sides' history holds the conversation in order, in text for people too. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "history", "bob1"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "hello bob, canary-7f3a"));
    assert_non_null(strstr(r.out, "hello alice, canary-91c2"));
    assert_true(strstr(r.out, "hello bob") < strstr(r.out, "hello alice"));
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", bob, "history", "alice1", "--limit", "1"));
    CH_ASSERT_STATUS(&r, 0);
    assert_int_equal(count_text(r.out, "hello alice, canary-91c2"), 1);
    assert_int_equal(count_text(r.out, "hello bob, canary-7f3a"), 0);
    ch_result_free(&r);
    /* Contacts name each other. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "contacts"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "bob1"));
    ch_result_free(&r);
    free((void *)alice);
    free((void *)bob);
    ph_test_end();
}

static void test_offline_recipient_gets_everything_in_order(void **state)
{
    const char *alice = strdup(ch_home("alice2")), *bob = strdup(ch_home("bob2"));
    char *out;
    const char *p1, *p2, *p3;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice2");
    ch_init_user(server, bob, "bob2");
    /* bob has not connected since init: everything waits in his mailbox. */
    ch_send(alice, "bob2", "offline one canary-a1");
    ch_send(alice, "bob2", "offline two canary-a2");
    ch_send(alice, "bob2", "offline three canary-a3");
    out = ch_recv_json(bob);
    p1 = strstr(out, "offline one canary-a1");
    p2 = strstr(out, "offline two canary-a2");
    p3 = strstr(out, "offline three canary-a3");
    assert_true(p1 && p2 && p3 && p1 < p2 && p2 < p3);
    free(out);
    free((void *)alice);
    free((void *)bob);
    ph_test_end();
}

/* alice has two devices and bob one: every device sees every message, its own sent ones
 * included; a third device linked mid-conversation gets what follows; once removed it
 * gets nothing more. */
static void test_multi_device_link_and_remove(void **state)
{
    const char *a1 = strdup(ch_home("alice3-1")), *a2 = strdup(ch_home("alice3-2"));
    const char *a3 = strdup(ch_home("alice3-3")), *bob = strdup(ch_home("bob3"));
    char *out;
    char id[16];
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, a1, "alice3");
    ch_link_device(server, a1, a2, "laptop");
    ch_init_user(server, bob, "bob3");
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", a2, "devices"));
    CH_ASSERT_STATUS(&r, 0);
    if (ch_count(r.out, "\"id\":") != 2 || !strstr(r.out, "\"name\":\"laptop\"")) {
        ch_keep();
        fail_msg("devices after linking:\n%s", r.out);
    }
    ch_result_free(&r);

    ch_send(a1, "bob3", "from a1 canary-b1");
    out = ch_recv_json(bob);
    assert_int_equal(count_text(out, "from a1 canary-b1"), 1);
    free(out);
    out = ch_recv_json(a2); /* our own message, sent from the other device */
    assert_int_equal(count_text(out, "from a1 canary-b1"), 1);
    assert_non_null(strstr(out, "\"outgoing\":true"));
    free(out);

    ch_send(bob, "alice3", "to both canary-b2");
    out = ch_recv_json(a1);
    assert_int_equal(count_text(out, "to both canary-b2"), 1);
    free(out);
    out = ch_recv_json(a2);
    assert_int_equal(count_text(out, "to both canary-b2"), 1);
    free(out);

    ch_send(a2, "bob3", "from a2 canary-b3");
    out = ch_recv_json(bob);
    assert_int_equal(count_text(out, "from a2 canary-b3"), 1);
    free(out);
    out = ch_recv_json(a1);
    assert_int_equal(count_text(out, "from a2 canary-b3"), 1);
    free(out);

    /* Mid-conversation: a third device. */
    ch_link_device(server, a2, a3, "phone");
    ch_send(bob, "alice3", "after link canary-b4");
    out = ch_recv_json(a3);
    assert_int_equal(count_text(out, "after link canary-b4"), 1);
    free(out);
    out = ch_recv_json(a1);
    assert_int_equal(count_text(out, "after link canary-b4"), 1);
    free(out);

    /* Removed: the third device receives nothing more. */
    snprintf(id, sizeof id, "%u", device_id(a3));
    ch_run(&r, NULL, NULL, CH_ARGS("--home", a1, "remove-device", id));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", a1, "devices"));
    CH_ASSERT_STATUS(&r, 0);
    assert_null(strstr(r.out, "phone"));
    ch_result_free(&r);
    ch_send(bob, "alice3", "after removal canary-b5");
    out = ch_recv_json(a1);
    assert_int_equal(count_text(out, "after removal canary-b5"), 1);
    free(out);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", a3, "recv", "--wait", "1"));
    assert_int_not_equal(r.status, 0); /* the server refuses a removed device */
    assert_null(strstr(r.out, "after removal canary-b5"));
    ch_result_free(&r);
    free((void *)a1);
    free((void *)a2);
    free((void *)a3);
    free((void *)bob);
    ph_test_end();
}

static void test_tampered_link_code_is_refused(void **state)
{
    const char *a1 = strdup(ch_home("alice4-1")), *a2 = strdup(ch_home("alice4-2"));
    ch_proc p;
    ch_result r;
    char *out, code[64];
    size_t i;

    (void)state;
    ph_test_begin();
    ch_init_user(server, a1, "alice4");
    ch_spawn(&p, NULL,
             CH_ARGS("--json", "--home", a2, "link", "--server", ch_server_addr(server), "--ca",
                     server->cert_path));
    assert_int_equal(ch_proc_wait_output(&p, "\"code\":", 0, 30000), 0);
    out = ch_proc_read(&p, 0);
    assert_int_equal(ch_json_field(out, "code", code, sizeof code), 0);
    free(out);
    /* Change one character of the code to another of its alphabet. */
    for (i = 0; code[i] && code[i] == '-'; i++)
        ;
    code[i] = code[i] == 'A' ? 'B' : 'A';
    ch_run(&r, NULL, NULL, CH_ARGS("--home", a1, "approve", code));
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "parley: approve: "));
    ch_result_free(&r);
    /* The account still has one device; the waiting one is stopped with SIGINT, cleanly. */
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", a1, "devices"));
    CH_ASSERT_STATUS(&r, 0);
    assert_int_equal(ch_count(r.out, "\"id\":"), 1);
    ch_result_free(&r);
    assert_true(ch_proc_stop(&p, SIGINT, 10000) >= 0);
    assert_true(p.status < 128); /* exited, not killed by the signal */
    free((void *)a1);
    free((void *)a2);
    ph_test_end();
}

/* PARLEY_TEST_CRASH_BEFORE_ACK: the engine _exit(99)s after committing a received message
 * and before its Ack; the server redelivers, and the message still appears once. */
static void test_crash_between_commit_and_ack(void **state)
{
    const char *alice = strdup(ch_home("alice5")), *bob = strdup(ch_home("bob5"));
    const char *const crash_env[] = {"PARLEY_TEST_CRASH_BEFORE_ACK=1", NULL};
    ch_result r;
    char *out;
    size_t printed;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice5");
    ch_init_user(server, bob, "bob5");
    ch_send(alice, "bob5", "exactly once canary-c1");
    ch_run(&r, crash_env, NULL, CH_ARGS("--json", "--home", bob, "recv", "--wait", "5"));
    CH_ASSERT_STATUS(&r, 99);
    printed = count_text(r.out, "exactly once canary-c1");
    ch_result_free(&r);
    out = ch_recv_json(bob);
    printed += count_text(out, "exactly once canary-c1");
    free(out);
    assert_true(printed <= 1);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", bob, "history", "alice5"));
    CH_ASSERT_STATUS(&r, 0);
    assert_int_equal(count_text(r.out, "exactly once canary-c1"), 1);
    ch_result_free(&r);
    /* And the conversation goes on. */
    ch_send(alice, "bob5", "after the crash canary-c2");
    out = ch_recv_json(bob);
    assert_int_equal(count_text(out, "after the crash canary-c2"), 1);
    free(out);
    free((void *)alice);
    free((void *)bob);
    ph_test_end();
}

static void test_listen_prints_as_messages_arrive(void **state)
{
    const char *alice = strdup(ch_home("alice6")), *bob = strdup(ch_home("bob6"));
    ch_proc p;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice6");
    ch_init_user(server, bob, "bob6");
    ch_spawn(&p, NULL, CH_ARGS("--home", bob, "listen"));
    assert_int_equal(ch_proc_wait_output(&p, "listening as bob6", 1, 30000), 0);
    ch_send(alice, "bob6", "live one canary-d1");
    assert_int_equal(ch_proc_wait_output(&p, "live one canary-d1", 0, 30000), 0);
    ch_send(alice, "bob6", "live two canary-d2");
    assert_int_equal(ch_proc_wait_output(&p, "live two canary-d2", 0, 30000), 0);
    assert_int_equal(ch_proc_stop(&p, SIGTERM, 10000), 0);
    /* And SIGINT, the other way out, also exits 0. */
    ch_spawn(&p, NULL, CH_ARGS("--home", bob, "listen"));
    assert_int_equal(ch_proc_wait_output(&p, "listening as bob6", 1, 30000), 0);
    assert_int_equal(ch_proc_stop(&p, SIGINT, 10000), 0);
    free((void *)alice);
    free((void *)bob);
    ph_test_end();
}

/* A hostile sender's control characters reach neither the terminal nor broken JSON. */
static void test_control_characters_are_escaped(void **state)
{
    const char *alice = strdup(ch_home("alice7")), *bob = strdup(ch_home("bob7"));
    const char evil[] = "evil \x1b[2J\x1b]0;title\x07 c1 \xc2\x9b"
                        "31m del \x7f end canary-e1";
    ch_result r;
    char *out;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice7");
    ch_init_user(server, bob, "bob7");
    ch_send(alice, "bob7", evil);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", bob, "recv", "--wait", "2"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "end canary-e1"));
    assert_null(strchr(r.out, '\x1b'));
    assert_null(strchr(r.out, '\x07'));
    assert_null(strchr(r.out, '\x7f'));
    assert_null(strstr(r.out, "\xc2\x9b"));
    assert_non_null(strstr(r.out, "\\x1b[2J"));
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", bob, "history", "alice7"));
    CH_ASSERT_STATUS(&r, 0);
    assert_int_equal(ch_json_lines(r.out, NULL), 0);
    assert_non_null(strstr(r.out, "\\u001b[2J"));
    assert_null(strchr(r.out, '\x1b'));
    ch_result_free(&r);
    /* Standard input, with a newline kept inside and the last one dropped. */
    ch_run(&r, NULL, "line one\nline two canary-e2\n",
           CH_ARGS("--home", alice, "send", "bob7", "-"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    out = ch_recv_json(bob);
    assert_non_null(strstr(out, "\"text\":\"line one\\nline two canary-e2\""));
    free(out);
    free((void *)alice);
    free((void *)bob);
    ph_test_end();
}

/* Every --json command prints one object per line. */
static void test_json_output_is_one_object_per_line(void **state)
{
    const char *alice = strdup(ch_home("alice8")), *bob = strdup(ch_home("bob8"));
    static const char *const commands[][3] = {
        {"whoami", NULL, NULL},   {"devices", NULL, NULL},   {"contacts", NULL, NULL},
        {"verify", "bob8", NULL}, {"history", "bob8", NULL}, {"send", "bob8", "json canary-f2"},
    };
    ch_result r;
    size_t i, n;
    char *out;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice8");
    ch_init_user(server, bob, "bob8");
    ch_send(bob, "alice8", "json \"quoted\" \\ canary-f1");
    out = ch_recv_json(alice);
    assert_non_null(strstr(out, "\"text\":\"json \\\"quoted\\\" \\\\ canary-f1\""));
    assert_non_null(strstr(out, "\"sent_at\":\""));
    assert_non_null(strstr(out, "Z\",")); /* RFC 3339 UTC */
    free(out);
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        ch_run(&r, NULL, NULL,
               CH_ARGS("--json", "--home", alice, commands[i][0], commands[i][1], commands[i][2]));
        CH_ASSERT_STATUS(&r, 0);
        assert_int_equal(ch_json_lines(r.out, &n), 0);
        assert_true(n >= 1);
        ch_result_free(&r);
    }
    free((void *)alice);
    free((void *)bob);
    ph_test_end();
}

/* After all of the above: no message text anywhere the server wrote (data dir, log). */
static const char *const *canaries;
static size_t n_canaries;
static int canary_hits;

static int grep_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    char *data;
    size_t len, i;

    (void)st;
    (void)ftw;
    if (flag != FTW_F || !(data = ch_read_file(path, &len)))
        return 0;
    for (i = 0; i < n_canaries; i++) {
        if (memmem(data, len, canaries[i], strlen(canaries[i]))) {
            fprintf(stderr, "plaintext \"%s\" found in %s\n", canaries[i], path);
            canary_hits++;
        }
    }
    /* The distinctive part alone, in case a text was cut. */
    if (memmem(data, len, "canary-", 7)) {
        fprintf(stderr, "\"canary-\" found in %s\n", path);
        canary_hits++;
    }
    free(data);
    return 0;
}

static void test_no_plaintext_where_the_server_wrote(void **state)
{
    (void)state;
    ph_test_begin();
    n_canaries = ch_sent_texts(&canaries);
    assert_true(n_canaries >= 10);
    ph_stop(server); /* checkpoints the WAL into the database file */
    canary_hits = 0;
    assert_int_equal(nftw(server->dir, grep_file, 16, FTW_PHYS), 0);
    assert_int_equal(canary_hits, 0);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_two_users_exchange_both_ways, test_teardown),
        cmocka_unit_test_teardown(test_offline_recipient_gets_everything_in_order, test_teardown),
        cmocka_unit_test_teardown(test_multi_device_link_and_remove, test_teardown),
        cmocka_unit_test_teardown(test_tampered_link_code_is_refused, test_teardown),
        cmocka_unit_test_teardown(test_crash_between_commit_and_ack, test_teardown),
        cmocka_unit_test_teardown(test_listen_prints_as_messages_arrive, test_teardown),
        cmocka_unit_test_teardown(test_control_characters_are_escaped, test_teardown),
        cmocka_unit_test_teardown(test_json_output_is_one_object_per_line, test_teardown),
        cmocka_unit_test_teardown(test_no_plaintext_where_the_server_wrote, test_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * test_cli_groups.c: end to end, real parleyd and real `parley` processes: a group of four
 * users, one with two devices (PROTOCOL.md §32): created, messages both ways carrying
 * "group", a member added mid-conversation reads what follows, a member removed reads
 * nothing after (its sender keys were rotated away) and, added again, reads what follows
 * again, `group info` and `groups`; a device the server adds to a member's account without
 * the log showing it gets no group message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_harness.h"

static ph_server *server;

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

static void test_four_users_add_and_remove(void **state)
{
    const char *alice = strdup(ch_home("alice")), *b1 = strdup(ch_home("bob-1"));
    const char *b2 = strdup(ch_home("bob-2")), *carol = strdup(ch_home("carol"));
    const char *dave = strdup(ch_home("dave"));
    const char *homes[5] = {alice, b1, b2, carol, dave};
    const char *names[5] = {"alice", "bob-1", "bob-2", "carol", "dave"};
    char *outs[5] = {NULL};
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice");
    ch_init_user(server, b1, "bob");
    ch_link_device(server, b1, b2, "laptop");
    ch_init_user(server, carol, "carol");
    ch_init_user(server, dave, "dave");

    ch_run(&r, NULL, NULL,
           CH_ARGS("--json", "--home", alice, "group", "create", "team", "bob", "carol"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"user\":\"carol\""));
    ch_result_free(&r);
    ch_group_sync(homes, 4, outs, 3);
    ch_outs_clear(outs, 5);

    /* Messages both ways; every device of every member reads them, with "group". */
    ch_group_send(alice, "team", "hello team canary-g1");
    ch_group_send(carol, "team", "carol here canary-g2");
    ch_group_sync(homes, 5, outs, 3);
    for (size_t i = 0; i < 4; i++) {
        /* what a device sent is not echoed to it; bob-2 gets bob-1's, and so on */
        ch_expect_count(outs[i], "canary-g1", i == 0 ? 0 : 1, names[i]);
        ch_expect_count(outs[i], "canary-g2", i == 3 ? 0 : 1, names[i]);
    }
    ch_expect_count(outs[1], "\"group\":\"team\"", 2, "bob-1");
    ch_expect_count(outs[4], "canary-g", 0, "dave");
    ch_outs_clear(outs, 5);

    /* dave joins mid-conversation: he reads what follows, and is read. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "group", "add", "team", "dave"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_group_sync(homes, 5, outs, 3);
    ch_outs_clear(outs, 5);
    ch_group_send(dave, "team", "dave joined canary-g3");
    ch_group_send(b2, "team", "welcome dave canary-g4");
    ch_group_sync(homes, 5, outs, 3);
    ch_expect_count(outs[0], "canary-g3", 1, "alice");
    ch_expect_count(outs[3], "canary-g3", 1, "carol");
    ch_expect_count(outs[4], "canary-g4", 1, "dave");
    ch_expect_count(outs[1], "canary-g4", 1, "bob-1"); /* bob's other device */
    ch_outs_clear(outs, 5);

    /* carol is removed: nothing sent after reaches her, from anyone. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "group", "remove", "team", "carol"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_group_sync(homes, 5, outs, 3);
    ch_outs_clear(outs, 5);
    ch_group_send(alice, "team", "after carol canary-g5");
    ch_group_send(b1, "team", "bob after canary-g6");
    ch_group_sync(homes, 5, outs, 3);
    ch_expect_count(outs[3], "canary-g5", 0, "carol");
    ch_expect_count(outs[3], "canary-g6", 0, "carol");
    ch_expect_count(outs[4], "canary-g5", 1, "dave");
    ch_expect_count(outs[4], "canary-g6", 1, "dave");
    ch_expect_count(outs[2], "canary-g5", 1, "bob-2");
    ch_outs_clear(outs, 5);
    /* carol can no longer send to it. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", carol, "send", "--group", "team", "still here?"));
    assert_int_not_equal(r.status, 0);
    ch_result_free(&r);

    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", dave, "group", "info", "team"));
    CH_ASSERT_STATUS(&r, 0);
    assert_null(strstr(r.out, "\"user\":\"carol\""));
    assert_non_null(strstr(r.out, "\"user\":\"dave\""));
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", carol, "groups"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"active\":false"));
    ch_result_free(&r);

    /* carol is added again: she rejoins under her old local name, reads what follows and is
     * read, and still has nothing of what was said while she was out. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", dave, "group", "add", "team", "carol"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_group_sync(homes, 5, outs, 3);
    ch_outs_clear(outs, 5);
    ch_group_send(b2, "team", "welcome back canary-g9");
    ch_group_send(carol, "team", "carol is back canary-g10");
    ch_group_sync(homes, 5, outs, 3);
    ch_expect_count(outs[3], "canary-g9", 1, "carol");
    ch_expect_count(outs[3], "canary-g5", 0, "carol");
    ch_expect_count(outs[3], "\"group\":\"team\"", 1, "carol");
    ch_expect_count(outs[0], "canary-g10", 1, "alice");
    ch_expect_count(outs[4], "canary-g10", 1, "dave");
    ch_expect_count(outs[1], "canary-g10", 1, "bob-1");
    ch_outs_clear(outs, 5);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", carol, "groups"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"active\":true"));
    ch_result_free(&r);
    for (size_t i = 0; i < 5; i++)
        free((void *)homes[i]);
    ph_test_end();
}

/* The server adds a device to a member's account without the log showing it (its
 * publication stopped): a group message is not sent to it, and the send says why. Last: it
 * stops the server's publication for the rest of the run. */
static void test_a_device_the_log_does_not_show_gets_no_group_message(void **state)
{
    const char *ann = strdup(ch_home("ann")), *ben = strdup(ch_home("ben"));
    const char *ben2 = strdup(ch_home("ben-2"));
    const char *homes[2] = {ann, ben};
    char *outs[2] = {NULL};
    ch_result r;
    FILE *conf;

    (void)state;
    ph_test_begin();
    ch_init_user(server, ann, "ann");
    ch_init_user(server, ben, "ben");
    ch_run(&r, NULL, NULL, CH_ARGS("--home", ann, "group", "create", "pair", "ben"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_group_sync(homes, 2, outs, 3);
    ch_outs_clear(outs, 2);
    ch_group_send(ann, "pair", "before canary-g7");
    ch_group_sync(homes, 2, outs, 3);
    ch_expect_count(outs[1], "canary-g7", 1, "ben");
    ch_outs_clear(outs, 2);

    ph_stop(server);
    assert_non_null(conf = fopen(server->conf_path, "a"));
    fputs("\n[kt]\nbatch_interval = 1h\nheartbeat = 1h\n", conf);
    fclose(conf);
    ph_restart(server);
    ch_link_device(server, ben, ben2, "ghost");
    ch_run(&r, NULL, NULL, CH_ARGS("--home", ann, "send", "--group", "pair", "after canary-g8"));
    if (r.status == 0 || !strstr(r.err, "other devices")) {
        ch_keep();
        fail_msg("the group send went ahead (status %d): %s", r.status, r.err);
    }
    ch_result_free(&r);
    {
        char *o = ch_recv_json(ben2);

        ch_expect_count(o, "canary-g8", 0, "ben-2");
        free(o);
    }
    free((void *)ann);
    free((void *)ben);
    free((void *)ben2);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_four_users_add_and_remove, test_teardown),
        cmocka_unit_test_teardown(test_a_device_the_log_does_not_show_gets_no_group_message,
                                  test_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

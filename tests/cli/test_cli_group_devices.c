/*
 * test_cli_group_devices.c: end to end, real parleyd and real `parley` processes: group
 * members whose devices change (PROTOCOL.md §32.2 "Devices").
 *
 *   - bob links a second device mid-conversation: his approving device updates the group,
 *     the new device joins it, reads what is sent after and is read; bob removes it: it reads
 *     nothing sent after (every chain rotated) and everyone else still sends and reads;
 *   - finn links a device from a device that does not know the group (as an old client
 *     would): dan's next send updates the group for him, and finn's new device reads that
 *     very message;
 *   - `group rename` changes the name every member sees, not anyone's local name;
 *   - two members issue that devices change at the same moment (a fork): all converge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* No notice of a change refused, a key not saved, a message unreadable. */
static void no_notice(char *const *outs, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (outs[i] && (strstr(outs[i], "parley: notice:") || strstr(outs[i], "\"notice\":true"))) {
            ch_keep();
            fail_msg("%s had a notice:\n%s", names[i], outs[i]);
        }
}

/* How many devices `group info --json` on home lists for user in group. */
static size_t member_devices(const char *home, const char *group, const char *user)
{
    ch_result r;
    char key[64];
    const char *at, *end;
    size_t n = 0;

    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", home, "group", "info", group));
    CH_ASSERT_STATUS(&r, 0);
    snprintf(key, sizeof key, "{\"user\":\"%s\",\"devices\":[", user);
    if (!(at = strstr(r.out, key))) {
        ch_keep();
        fail_msg("group info on %s does not list %s:\n%s", home, user, r.out);
    }
    at += strlen(key);
    end = strchr(at, ']');
    assert_non_null(end);
    if (end > at)
        for (n = 1; at < end; at++)
            n += *at == ',';
    ch_result_free(&r);
    return n;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long device_id_of(const char *home)
{
    ch_result r;
    char id[32];

    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", home, "whoami"));
    CH_ASSERT_STATUS(&r, 0);
    assert_int_equal(ch_json_field(r.out, "device", id, sizeof id), 0);
    ch_result_free(&r);
    return strtoul(id, NULL, 10);
}

static void test_a_linked_device_joins_and_a_removed_one_is_cut_off(void **state)
{
    const char *alice = strdup(ch_home("alice")), *b1 = strdup(ch_home("bob-1"));
    const char *b2 = strdup(ch_home("bob-2")), *carol = strdup(ch_home("carol"));
    const char *homes[4] = {alice, b1, carol, b2};
    const char *names[4] = {"alice", "bob-1", "carol", "bob-2"};
    char *outs[4] = {NULL}, id[32];
    double t0;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice");
    ch_init_user(server, b1, "bob");
    ch_init_user(server, carol, "carol");
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "group", "create", "trio", "bob", "carol"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_group_sync(homes, 3, outs, 3);
    ch_outs_clear(outs, 4);
    ch_group_send(alice, "trio", "before link canary-d1");
    ch_group_sync(homes, 3, outs, 3);
    ch_expect_count(outs[1], "canary-d1", 1, "bob-1");
    ch_outs_clear(outs, 4);

    /* bob links a laptop: his phone updates the group; everyone's state lists it. */
    t0 = now_s();
    ch_link_device(server, b1, b2, "laptop");
    print_message("link + approve with one group to update: %.1f s\n", now_s() - t0);
    ch_group_sync(homes, 4, outs, 3);
    for (size_t i = 0; i < 4; i++)
        if (member_devices(homes[i], "trio", "bob") != 2) {
            ch_keep();
            fail_msg("%s does not list bob's two devices; it received:\n%s", names[i],
                     outs[i] ? outs[i] : "");
        }
    ch_expect_count(outs[3], "canary-d1", 0, "bob-2"); /* sent before it existed */
    no_notice(outs, names, 4);
    ch_outs_clear(outs, 4);
    ch_group_send(alice, "trio", "after link canary-d2");
    ch_group_send(carol, "trio", "carol too canary-d3");
    ch_group_send(b2, "trio", "from the laptop canary-d4");
    ch_group_sync(homes, 4, outs, 3);
    ch_expect_count(outs[3], "canary-d2", 1, "bob-2");
    ch_expect_count(outs[3], "canary-d3", 1, "bob-2");
    ch_expect_count(outs[1], "canary-d2", 1, "bob-1");
    for (size_t i = 0; i < 3; i++)
        ch_expect_count(outs[i], "canary-d4", 1, names[i]);
    no_notice(outs, names, 4);
    ch_outs_clear(outs, 4);

    /* bob removes the laptop: every chain rotates; it reads nothing sent after. */
    snprintf(id, sizeof id, "%lu", device_id_of(b2));
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", b1, "remove-device", id));
    CH_ASSERT_STATUS(&r, 0);
    if (!strstr(r.out, "\"groups_updated\":1")) {
        ch_keep();
        fail_msg("remove-device did not update the group: %s / %s", r.out, r.err);
    }
    ch_result_free(&r);
    ch_group_sync(homes, 3, outs, 3);
    ch_outs_clear(outs, 4);
    for (size_t i = 0; i < 3; i++)
        if (member_devices(homes[i], "trio", "bob") != 1)
            fail_msg("%s still lists bob's removed device", names[i]);
    ch_group_send(alice, "trio", "after removal canary-d5");
    ch_group_send(carol, "trio", "carol after canary-d6");
    ch_group_send(b1, "trio", "bob after canary-d7");
    ch_group_sync(homes, 3, outs, 3);
    ch_expect_count(outs[0], "canary-d6", 1, "alice");
    ch_expect_count(outs[0], "canary-d7", 1, "alice");
    ch_expect_count(outs[1], "canary-d5", 1, "bob-1");
    ch_expect_count(outs[2], "canary-d5", 1, "carol");
    ch_expect_count(outs[2], "canary-d7", 1, "carol");
    no_notice(outs, names, 3);
    outs[3] = ch_group_recv(b2, 0); /* it may not even connect any more */
    ch_expect_count(outs[3], "canary-d5", 0, "bob-2");
    ch_expect_count(outs[3], "canary-d6", 0, "bob-2");
    ch_expect_count(outs[3], "canary-d7", 0, "bob-2");
    ch_outs_clear(outs, 4);
    for (size_t i = 0; i < 4; i++)
        free((void *)homes[i]);
    ph_test_end();
}

static void test_a_sender_updates_a_member_whose_devices_did_not(void **state)
{
    const char *dan = strdup(ch_home("dan")), *erin = strdup(ch_home("erin"));
    const char *finn = strdup(ch_home("finn")), *old = strdup(ch_home("finn-old"));
    const char *finn2 = strdup(ch_home("finn-2"));
    const char *homes[4] = {dan, erin, finn, finn2};
    const char *names[4] = {"dan", "erin", "finn", "finn-2"};
    char *outs[4] = {NULL}, cmd[512];
    double t0;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, dan, "dan");
    ch_init_user(server, erin, "erin");
    ch_init_user(server, finn, "finn");
    /* A copy of finn's device from before the group: it approves the new device without
     * knowing the group, as an old client would, so finn issues no devices change. */
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", finn, old);
    assert_int_equal(system(cmd), 0);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", dan, "group", "create", "quad", "erin", "finn"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_group_sync(homes, 3, outs, 3);
    ch_outs_clear(outs, 4);

    ch_link_device(server, old, finn2, "tablet");
    /* Right away: dan's send finds finn's verified devices differ and updates the group. */
    t0 = now_s();
    ch_group_send(dan, "quad", "right after canary-e1");
    print_message("group send that first updates a member: %.1f s\n", now_s() - t0);
    assert_int_equal(member_devices(dan, "quad", "finn"), 2);
    ch_group_sync(homes, 4, outs, 3);
    ch_expect_count(outs[3], "canary-e1", 1, "finn-2");
    ch_expect_count(outs[2], "canary-e1", 1, "finn");
    ch_expect_count(outs[1], "canary-e1", 1, "erin");
    no_notice(outs, names, 4);
    ch_outs_clear(outs, 4);
    ch_group_send(erin, "quad", "erin canary-e2");
    ch_group_send(finn2, "quad", "tablet canary-e3");
    ch_group_send(finn, "quad", "old phone canary-e4");
    ch_group_sync(homes, 4, outs, 3);
    ch_expect_count(outs[3], "canary-e2", 1, "finn-2");
    ch_expect_count(outs[3], "canary-e4", 1, "finn-2");
    for (size_t i = 0; i < 3; i++)
        ch_expect_count(outs[i], "canary-e3", 1, names[i]);
    ch_expect_count(outs[0], "canary-e4", 1, "dan");
    no_notice(outs, names, 4);
    ch_outs_clear(outs, 4);

    /* rename: the shared name changes for everyone; local names stay. */
    ch_run(&r, NULL, NULL,
           CH_ARGS("--json", "--home", erin, "group", "rename", "quad", "Four of us"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"group\":\"quad\",\"name\":\"Four of us\""));
    ch_result_free(&r);
    ch_group_sync(homes, 4, outs, 3);
    for (size_t i = 0; i < 4; i++) {
        ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", homes[i], "group", "info", "quad"));
        CH_ASSERT_STATUS(&r, 0);
        if (!strstr(r.out, "\"name\":\"Four of us\"")) {
            ch_keep();
            fail_msg("%s does not see the new name: %s; it received:\n%s", names[i], r.out,
                     outs[i] ? outs[i] : "");
        }
        ch_result_free(&r);
    }
    ch_outs_clear(outs, 4);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", finn2, "groups"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"group\":\"quad\",\"name\":\"Four of us\""));
    ch_result_free(&r);
    ch_group_send(dan, "quad", "renamed canary-e5");
    ch_group_sync(homes, 4, outs, 3);
    ch_expect_count(outs[3], "canary-e5", 1, "finn-2");
    ch_outs_clear(outs, 4);
    free((void *)old);
    for (size_t i = 0; i < 4; i++)
        free((void *)homes[i]);
    ph_test_end();
}

/* Two members issue the devices change for a third at the same moment (a fork of the change
 * chain): every device ends with the same state, so a later change applies everywhere. */
static void test_two_devices_changes_at_once_converge(void **state)
{
    const char *gia = strdup(ch_home("gia")), *hal = strdup(ch_home("hal"));
    const char *ivy = strdup(ch_home("ivy")), *old = strdup(ch_home("hal-old"));
    const char *hal2 = strdup(ch_home("hal-2"));
    const char *homes[4] = {gia, hal, ivy, hal2};
    const char *names[4] = {"gia", "hal", "ivy", "hal-2"};
    char *outs[4] = {NULL}, cmd[512];
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, gia, "gia");
    ch_init_user(server, hal, "hal");
    ch_init_user(server, ivy, "ivy");
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", hal, old);
    assert_int_equal(system(cmd), 0);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", gia, "group", "create", "fork", "hal", "ivy"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_group_sync(homes, 3, outs, 3);
    ch_outs_clear(outs, 4);

    ch_link_device(server, old, hal2, "tablet");
    /* gia and ivy both find hal's devices changed, each before hearing of the other. */
    ch_group_send(gia, "fork", "from gia canary-f1");
    ch_group_send(ivy, "fork", "from ivy canary-f2");
    ch_group_sync(homes, 4, outs, 3);
    /* No notice here: one of the two messages was sent from the losing sibling, and the
     * receivers rightly say the group had forked at that moment (§32.4). */
    ch_expect_count(outs[3], "canary-f1", 1, "hal-2");
    ch_expect_count(outs[3], "canary-f2", 1, "hal-2");
    ch_expect_count(outs[1], "canary-f1", 1, "hal");
    ch_outs_clear(outs, 4);
    /* One state everywhere: a change made on it applies everywhere. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", hal, "group", "rename", "fork", "joined"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_group_sync(homes, 4, outs, 3);
    no_notice(outs, names, 4);
    for (size_t i = 0; i < 4; i++) {
        ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", homes[i], "group", "info", "fork"));
        CH_ASSERT_STATUS(&r, 0);
        if (!strstr(r.out, "\"name\":\"joined\"") || !strstr(r.out, "\"epoch\":2")) {
            ch_keep();
            fail_msg("%s did not converge: %s", names[i], r.out);
        }
        ch_result_free(&r);
    }
    ch_outs_clear(outs, 4);
    free((void *)old);
    for (size_t i = 0; i < 4; i++)
        free((void *)homes[i]);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_a_linked_device_joins_and_a_removed_one_is_cut_off,
                                  test_teardown),
        cmocka_unit_test_teardown(test_a_sender_updates_a_member_whose_devices_did_not,
                                  test_teardown),
        cmocka_unit_test_teardown(test_two_devices_changes_at_once_converge, test_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * test_cli_kt.c: key transparency through the real `parley` binary against a real parleyd
 * (quorum 0): `parley verify` shows the KT status after the first message (which verified
 * the contact in the log), `parley log` lists register, link and removal, and an altered
 * pinned VRF key makes `send` fail with exit 6 and a stable error, raises an alert that
 * `parley alerts` lists and exports, and that blocks sending until acknowledged.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cli_harness.h"

/* Another VRF public key (a valid-looking 32 bytes), planted in place of the pinned one. */
#define KEY32 "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0"

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

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}

static void test_verify_shows_kt_status_and_log_lists_history(void **state)
{
    const char *ann = strdup(ch_home("ann")), *ben = strdup(ch_home("ben"));
    const char *ann2 = strdup(ch_home("ann2"));
    char id[32] = "";
    ch_result r;
    int tries;

    (void)state;
    ph_test_begin();
    ch_init_user(server, ann, "ann");
    ch_init_user(server, ben, "ben");
    /* The first message verifies ben in the log first. */
    ch_send(ann, "ben", "hello ben");
    ch_run(&r, NULL, NULL, CH_ARGS("--home", ann, "verify", "ben"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "Key transparency: "));
    assert_non_null(strstr(r.out, "verified version 0"));
    assert_non_null(strstr(r.out, "checkpoint: size "));
    assert_non_null(strstr(r.out, "devices in the verified state:"));
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", ann, "verify", "ben"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"kt\":{\"pinned\":true"));
    assert_non_null(strstr(r.out, "\"verified\":true,\"version\":0"));
    assert_non_null(strstr(r.out, "\"devices\":[{\"id\":1,"));
    assert_non_null(strstr(r.out, "\"blocked\":false,\"alerts\":[]"));
    ch_result_free(&r);

    /* ann links a device and removes it: three versions of her account. */
    ch_link_device(server, ann, ann2, "tablet");
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", ann, "devices"));
    CH_ASSERT_STATUS(&r, 0);
    {
        /* The linked device's id: the line without "current":true. */
        const char *line = r.out, *nl;

        while (line && *line) {
            nl = strchr(line, '\n');
            if (!strstr(line, "\"current\":true") || (nl && strstr(line, "\"current\":true") > nl))
                ch_json_field(line, "id", id, sizeof id);
            line = nl ? nl + 1 : NULL;
        }
    }
    ch_result_free(&r);
    assert_true(id[0] != '\0');
    ch_run(&r, NULL, NULL, CH_ARGS("--home", ann, "remove-device", id));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    for (tries = 0; tries < 20; tries++) {
        size_t n = 0;

        ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", ann, "log"));
        CH_ASSERT_STATUS(&r, 0);
        assert_int_equal(ch_json_lines(r.out, &n), 0);
        if (n == 3)
            break;
        ch_result_free(&r);
        sleep_ms(500);
    }
    assert_int_equal(ch_count(r.out, "\"version\":"), 3);
    assert_int_equal(ch_count(r.out, "\"unexpected\":null"), 3);
    assert_non_null(strstr(r.out, "{\"version\":0,"));
    assert_non_null(strstr(r.out, "{\"version\":2,"));
    assert_int_equal(ch_count(r.out, "\"removed\":[{\"id\":"), 1);
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", ann, "log"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "version 0 "));
    assert_non_null(strstr(r.out, "    + device 1 "));
    assert_non_null(strstr(r.out, "    - device "));
    assert_null(strstr(r.out, "UNEXPECTED"));
    ch_result_free(&r);
    ph_test_end();
    free((void *)ann);
    free((void *)ben);
    free((void *)ann2);
}

static void test_altered_vrf_key_blocks_sending_and_keeps_evidence(void **state)
{
    const char *cat = strdup(ch_home("cat")), *dan = strdup(ch_home("dan"));
    const char *dir = strdup(ch_path("cat-evidence"));
    char db[600], alert_id[32] = "", path[700];
    sqlite3 *h = NULL;
    struct stat st;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, cat, "cat");
    ch_init_user(server, dan, "dan");
    ch_send(dan, "dan", "so that dan is in the log");
    snprintf(db, sizeof db, "%s/parley.db", cat);
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "UPDATE kt_log SET vrf_key = x'" KEY32 "'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", cat, "send", "dan", "must not go"));
    CH_ASSERT_STATUS(&r, 6);
    assert_non_null(strstr(r.err, "did not verify"));
    assert_non_null(strstr(r.err, "alert #"));
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", cat, "alerts"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"kind\":\"lookup\""));
    assert_int_equal(ch_json_field(r.out, "id", alert_id, sizeof alert_id), 0);
    ch_result_free(&r);
    /* Blocked now, without asking the server. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", cat, "send", "dan", "must not go either"));
    CH_ASSERT_STATUS(&r, 6);
    assert_non_null(strstr(r.err, "blocks sending"));
    ch_result_free(&r);
    /* The evidence, for an auditor. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", cat, "alerts", "--export", dir));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    snprintf(path, sizeof path, "%s/alert-%s/proof.bin", dir, alert_id);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 0);
    assert_int_equal(st.st_mode & 077, 0);
    snprintf(path, sizeof path, "%s/alert-%s/checkpoint.note", dir, alert_id);
    assert_int_equal(stat(path, &st), 0);
    /* An own-label failure is high priority: every command shows it until acknowledged. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", cat, "contacts"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.err, "parley: ALERT #"));
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", cat, "alerts", "--ack", alert_id));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", cat, "alerts", "--ack", "99999"));
    CH_ASSERT_STATUS(&r, 1);
    ch_result_free(&r);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", cat, "alerts", "--bogus"));
    CH_ASSERT_STATUS(&r, 2);
    ch_result_free(&r);
    ph_test_end();
    free((void *)cat);
    free((void *)dan);
    free((void *)dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_verify_shows_kt_status_and_log_lists_history, test_teardown),
        cmocka_unit_test_teardown(test_altered_vrf_key_blocks_sending_and_keeps_evidence,
                                  test_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

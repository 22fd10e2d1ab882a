/*
 * test_cli_attach_group.c: attachments beyond one recipient device, end to end with real
 * parleyd and `parley` processes on loopback (PROTOCOL.md §27.4):
 *   - `send --group NAME --file PATH` to a group of three, one member (the sender's account)
 *     with two devices: every other device saves the file with the announced hash, the
 *     sender's own second device included; the blob is uploaded once, stays while a device
 *     has still to fetch it, and is deleted once the last one did (its expected fetches are
 *     exactly the recipient devices);
 *   - a one-to-one `send --file`: the sender's second device saves it too (the sender copy),
 *     the recipient saves it, then the blob is deleted;
 *   - `listen --save-dir` saves a file that arrives while it listens, with recv's output;
 *   - on a server with a low frame rate per connection, an upload and a download that run
 *     into RATE_LIMITED wait and go on (pipelined puts included).
 * The server sweeps fetched blobs every second ([blobs] expire_interval = 1s) so that the
 * deletion can be waited for (bounded polling).
 */
#define _DEFAULT_SOURCE /* usleep */

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sodium.h>

#include "cli_harness.h"

#define KIB 1024u

static ph_server *server;

static int group_setup(void **state)
{
    (void)state;
    ch_setup();
    server = ph_start((const char *const[]){"blobs.expire_interval=1s", NULL});
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

/* size random bytes into path; their SHA-256 in hex. */
static void make_file(const char *path, size_t size, char hex[65])
{
    uint8_t *buf = malloc(size ? size : 1), h[32];
    FILE *f = fopen(path, "wb");

    assert_non_null(buf);
    assert_non_null(f);
    randombytes_buf(buf, size);
    assert_int_equal(fwrite(buf, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
    crypto_hash_sha256(h, buf, size);
    sodium_bin2hex(hex, 65, h, sizeof h);
    free(buf);
}

static void file_sha256(const char *path, char hex[65])
{
    size_t len = 0;
    char *data = ch_read_file(path, &len);
    uint8_t h[32];

    assert_non_null(data);
    crypto_hash_sha256(h, (const uint8_t *)data, len);
    sodium_bin2hex(hex, 65, h, sizeof h);
    free(data);
}

/* The files of dir (not hidden); the first one's path into first (may be NULL). */
static size_t dir_files(const char *dir, char *first, size_t cap)
{
    struct dirent *e;
    size_t n = 0;
    DIR *d = opendir(dir);

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n++ == 0 && first)
            snprintf(first, cap, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

static size_t server_blobs(void)
{
    char dir[CH_PATH_MAX * 2];

    snprintf(dir, sizeof dir, "%s/blobs", server->data_dir);
    return dir_files(dir, NULL, 0);
}

/* Waits up to 30 s for the server's blob directory to be empty (its sweep runs every second). */
static void wait_no_blobs(void)
{
    for (int i = 0; i < 3000; i++) {
        if (server_blobs() == 0)
            return;
        usleep(10000);
    }
    ch_keep();
    fail_msg("the server still holds %zu blob(s) 30 s after every device fetched", server_blobs());
}

/* parley --json recv --wait 1 [--save-dir DIR]; stdout (malloc'd), checked as JSON lines. */
static char *recv_json(const char *home, const char *save_dir)
{
    ch_result r;
    char *out;

    if (save_dir)
        ch_run(&r, NULL, NULL,
               CH_ARGS("--json", "--home", home, "recv", "--wait", "1", "--save-dir", save_dir));
    else
        ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", home, "recv", "--wait", "1"));
    CH_ASSERT_STATUS(&r, 0);
    if (ch_json_lines(r.out, NULL) != 0) {
        ch_keep();
        fail_msg("recv --json output is not one JSON object per line:\n%s", r.out);
    }
    out = r.out;
    r.out = NULL;
    ch_result_free(&r);
    return out;
}

/* Everyone receives, three rounds: group changes, then the sender keys they caused. */
static void sync_all(const char *const *homes, size_t n)
{
    for (size_t round = 0; round < 3; round++)
        for (size_t i = 0; i < n; i++)
            free(recv_json(homes[i], NULL));
}

/* home receives into save_dir: exactly one file, saved with the hash want (reported and
 * actual) and the name name. */
static void expect_saved(const char *home, const char *save_dir, const char *name, const char *want,
                         const char *caption)
{
    char *out = recv_json(home, save_dir), field[512], saved[CH_PATH_MAX * 2], got[65];

    if (ch_count(out, "\"file\":{\"path\":") != 1 || (caption && !strstr(out, caption))) {
        ch_keep();
        fail_msg("%s: expected one saved file%s%s; recv printed:\n%s", home,
                 caption ? " and the caption " : "", caption ? caption : "", out);
    }
    assert_int_equal(ch_json_field(out, "sha256", field, sizeof field), 0);
    assert_string_equal(field, want);
    assert_int_equal(ch_json_field(out, "name", field, sizeof field), 0);
    assert_string_equal(field, name);
    free(out);
    assert_int_equal(dir_files(save_dir, saved, sizeof saved), 1);
    assert_non_null(strstr(saved, name));
    file_sha256(saved, got);
    assert_string_equal(got, want);
}

static void test_group_file_reaches_every_device_then_the_blob_goes(void **state)
{
    char *alice = strdup(ch_home("alice")), *b1 = strdup(ch_home("bob-1"));
    char *b2 = strdup(ch_home("bob-2")), *carol = strdup(ch_home("carol"));
    char *file = strdup(ch_path("minutes.pdf"));
    char *save_alice = strdup(ch_path("save-alice")), *save_b2 = strdup(ch_path("save-bob-2"));
    char *save_carol = strdup(ch_path("save-carol")), *save_b1 = strdup(ch_path("save-bob-1"));
    const char *homes[4] = {alice, b1, b2, carol};
    char want[65], *out;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice");
    ch_init_user(server, b1, "bob");
    ch_link_device(server, b1, b2, "laptop");
    ch_init_user(server, carol, "carol");
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "group", "create", "crew", "bob", "carol"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    sync_all(homes, 4);
    /* Several puts and chunks, and a size that is not a multiple of either. */
    make_file(file, 700 * KIB + 123, want);
    assert_int_equal(server_blobs(), 0);
    ch_run(&r, NULL, NULL,
           CH_ARGS("--json", "--home", b1, "send", "--group", "crew", "--file", file,
                   "the minutes canary-f1"));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"group\":\"crew\""));
    assert_non_null(strstr(r.out, "\"sent\":true"));
    ch_result_free(&r);
    assert_int_equal(server_blobs(), 1); /* uploaded once for three devices */
    /* Two of the three recipient devices: the blob stays for the third. */
    expect_saved(alice, save_alice, "minutes.pdf", want, "canary-f1");
    expect_saved(b2, save_b2, "minutes.pdf", want, "canary-f1"); /* the sender's other device */
    usleep(2500 * 1000); /* two sweeps: nothing may go while carol has still to fetch */
    assert_int_equal(server_blobs(), 1);
    expect_saved(carol, save_carol, "minutes.pdf", want, "canary-f1");
    wait_no_blobs();
    /* The sending device has nothing to fetch; a second recv anywhere saves nothing more. */
    out = recv_json(b1, save_b1);
    assert_null(strstr(out, "\"file\""));
    free(out);
    out = recv_json(carol, save_carol);
    assert_null(strstr(out, "\"file\""));
    free(out);
    assert_int_equal(dir_files(save_carol, NULL, 0), 1);
    unlink(file);
    for (size_t i = 0; i < 4; i++)
        free((void *)homes[i]);
    free(file);
    free(save_alice);
    free(save_b1);
    free(save_b2);
    free(save_carol);
    ph_test_end();
}

static void test_one_to_one_file_reaches_the_senders_other_device(void **state)
{
    char *d1 = strdup(ch_home("dan-1")), *d2 = strdup(ch_home("dan-2"));
    char *erin = strdup(ch_home("erin")), *file = strdup(ch_path("photo.jpg"));
    char *save_d2 = strdup(ch_path("save-dan-2")), *save_erin = strdup(ch_path("save-erin"));
    char want[65];
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, d1, "dan");
    ch_link_device(server, d1, d2, "phone");
    ch_init_user(server, erin, "erin");
    make_file(file, 300 * KIB + 7, want);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", d1, "send", "erin", "--file", file, "canary-f2"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    assert_int_equal(server_blobs(), 1);
    expect_saved(d2, save_d2, "photo.jpg", want, "canary-f2");
    usleep(2500 * 1000); /* erin has still to fetch it */
    assert_int_equal(server_blobs(), 1);
    expect_saved(erin, save_erin, "photo.jpg", want, "canary-f2");
    wait_no_blobs();
    unlink(file);
    free(d1);
    free(d2);
    free(erin);
    free(file);
    free(save_d2);
    free(save_erin);
    ph_test_end();
}

static void test_listen_saves_a_file(void **state)
{
    char *lena = strdup(ch_home("lena")), *max = strdup(ch_home("max"));
    char *file = strdup(ch_path("notes.txt")), *save = strdup(ch_path("save-max"));
    char want[65], got[65], field[512], saved[CH_PATH_MAX * 2], *out, *line;
    ch_proc p;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, lena, "lena");
    ch_init_user(server, max, "max");
    make_file(file, 90 * KIB + 1, want);
    ch_spawn(&p, NULL, CH_ARGS("--json", "--home", max, "listen", "--save-dir", save));
    ch_run(&r, NULL, NULL, CH_ARGS("--home", lena, "send", "max", "--file", file, "canary-f3"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    if (ch_proc_wait_output(&p, "\"file\":{\"path\":", 0, 60000) != 0) {
        out = ch_proc_read(&p, 0);
        ch_keep();
        fail_msg("listen saved no file within 60 s; it printed:\n%s", out);
    }
    assert_int_equal(ch_proc_stop(&p, SIGTERM, 10000), 0);
    out = ch_proc_read(&p, 0);
    assert_int_equal(ch_json_lines(out, NULL), 0);
    assert_non_null(strstr(out, "canary-f3")); /* the message, then its file */
    line = strstr(out, "\"file\":{\"path\":");
    assert_non_null(line);
    assert_true(line > strstr(out, "canary-f3"));
    assert_int_equal(ch_json_field(line, "sha256", field, sizeof field), 0);
    assert_string_equal(field, want);
    free(out);
    assert_int_equal(dir_files(save, saved, sizeof saved), 1);
    file_sha256(saved, got);
    assert_string_equal(got, want);
    wait_no_blobs(); /* max's one device fetched it */
    unlink(file);
    free(lena);
    free(max);
    free(file);
    free(save);
    ph_test_end();
}

/*
 * A server that allows each connection 20 blob frames a second after a burst of 10 ([blobs]
 * frames_per_second, frames_burst; and the same for every other request, [server]): a 4 MiB
 * file is 17 BlobPuts and 17 BlobGets of 256 KiB, so both transfers run into RATE_LIMITED
 * (the upload with 8 puts in flight). The client waits as told and goes on from the last
 * acknowledged byte: both commands succeed and the file arrives intact.
 */
static void test_rate_limited_transfers_wait_and_go_on(void **state)
{
    char *ann = strdup(ch_home("ann")), *ben = strdup(ch_home("ben"));
    char *file = strdup(ch_path("scan.tiff")), *save = strdup(ch_path("save-ben"));
    ph_server *slow = ph_start(
        (const char *const[]){"server.frames_per_second=20", "server.frames_burst=10",
                              "blobs.frames_per_second=20", "blobs.frames_burst=10", NULL});
    char want[65], field[512], *out;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(slow, ann, "ann");
    ch_init_user(slow, ben, "ben");
    make_file(file, 4 * 1024 * KIB + 5, want);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", ann, "send", "ben", "--file", file, "canary-f4"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    out = recv_json(ben, save);
    if (ch_count(out, "\"file\":{\"path\":") != 1 || !strstr(out, "canary-f4")) {
        ch_keep();
        fail_msg("ben: expected the message and its file; recv printed:\n%s", out);
    }
    assert_int_equal(ch_json_field(strstr(out, "\"file\":{"), "sha256", field, sizeof field), 0);
    assert_string_equal(field, want);
    free(out);
    ph_stop(slow);
    ph_free(slow);
    unlink(file);
    free(ann);
    free(ben);
    free(file);
    free(save);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_group_file_reaches_every_device_then_the_blob_goes,
                                  test_teardown),
        cmocka_unit_test_teardown(test_one_to_one_file_reaches_the_senders_other_device,
                                  test_teardown),
        cmocka_unit_test_teardown(test_listen_saves_a_file, test_teardown),
        cmocka_unit_test_teardown(test_rate_limited_transfers_wait_and_go_on, test_teardown),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

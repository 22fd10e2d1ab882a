/*
 * test_cli_attach.c: attachments end to end, real parleyd and real `parley` processes on
 * loopback (PROTOCOL.md §27): a 100 MiB file sent with `send --file`, the upload killed
 * half-way and resumed (the same blob, not a new one), the download killed half-way and
 * resumed, the saved file byte-identical with the hash reported in --json; a blob altered on
 * the server's disk refused and never saved; the server never holding the file's plaintext
 * or name.
 */
#define _GNU_SOURCE /* memmem */

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
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
#include <sodium.h>

#include "cli_harness.h"

#define MIB (1024u * 1024u)

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

/* Writes size pseudo-random bytes (a seeded stream, so no two files are alike) to path and
 * returns their SHA-256 in hex. */
static void make_file(const char *path, size_t size, char hex[65])
{
    static uint8_t buf[MIB];
    uint8_t seed[randombytes_SEEDBYTES], nonce[12] = {0}, h[32];
    crypto_hash_sha256_state st;
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    randombytes_buf(seed, sizeof seed);
    crypto_hash_sha256_init(&st);
    for (size_t at = 0; at < size; at += sizeof buf) {
        size_t n = size - at < sizeof buf ? size - at : sizeof buf;

        nonce[0]++;
        nonce[1] = (uint8_t)(at >> 28);
        crypto_stream_chacha20_ietf(buf, n, nonce, seed);
        crypto_hash_sha256_update(&st, buf, n);
        assert_int_equal(fwrite(buf, 1, n, f), n);
    }
    crypto_hash_sha256_final(&st, h);
    assert_int_equal(fclose(f), 0);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

static void file_sha256(const char *path, char hex[65])
{
    static uint8_t buf[MIB];
    crypto_hash_sha256_state st;
    uint8_t h[32];
    size_t n;
    FILE *f = fopen(path, "rb");

    assert_non_null(f);
    crypto_hash_sha256_init(&st);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        crypto_hash_sha256_update(&st, buf, n);
    fclose(f);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* The files in dir (not "."/".."), their count; the first one's path into first. */
static size_t dir_files(const char *dir, const char *suffix, char *first, size_t cap)
{
    struct dirent *e;
    size_t n = 0;
    DIR *d = opendir(dir);

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), sl = suffix ? strlen(suffix) : 0;

        if (e->d_name[0] == '.' || (suffix && (len < sl || strcmp(e->d_name + len - sl, suffix))))
            continue;
        if (n++ == 0 && first)
            snprintf(first, cap, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Waits up to 60 s until some file of dir ending in suffix holds at least min bytes. */
static void wait_partial(const char *dir, const char *suffix, off_t min)
{
    char path[CH_PATH_MAX * 2];

    for (int i = 0; i < 6000; i++) {
        if (dir_files(dir, suffix, path, sizeof path) > 0 && file_size(path) >= min)
            return;
        usleep(10000);
    }
    fail_msg("no file *%s of %lld bytes in %s within 60 s", suffix ? suffix : "", (long long)min,
             dir);
}

static void test_100_mib_round_trip_interrupted_and_resumed(void **state)
{
    const size_t size = 100u * MIB;
    char *alice = strdup(ch_home("alice")), *bob = strdup(ch_home("bob"));
    char *file = strdup(ch_path("holiday-video.bin")), *save = strdup(ch_path("saved"));
    char want[65], got[65], blobs[CH_PATH_MAX * 2], dl_dir[CH_PATH_MAX * 2], saved[CH_PATH_MAX * 2];
    char field[512];
    ch_proc p;
    ch_result r;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice");
    ch_init_user(server, bob, "bob");
    make_file(file, size, want);
    snprintf(blobs, sizeof blobs, "%s/blobs", server->data_dir);
    /* The upload, killed once a fifth of the blob is on the server. */
    ch_spawn(&p, NULL, CH_ARGS("--home", alice, "send", "bob", "--file", file));
    wait_partial(blobs, NULL, (off_t)(size / 5));
    ch_proc_stop(&p, SIGKILL, 10000);
    assert_int_equal(dir_files(blobs, NULL, NULL, 0), 1);
    /* Run again: it resumes the same blob (a fresh upload would make a second one). */
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", alice, "send", "bob", "--file", file));
    CH_ASSERT_STATUS(&r, 0);
    assert_non_null(strstr(r.out, "\"sent\":true"));
    assert_int_equal(strlen(r.err), 0); /* no progress bar on a pipe */
    ch_result_free(&r);
    assert_int_equal(dir_files(blobs, NULL, NULL, 0), 1);
    /* The download, killed half-way. */
    snprintf(dl_dir, sizeof dl_dir, "%s/attach", bob);
    ch_spawn(&p, NULL, CH_ARGS("--json", "--home", bob, "recv", "--save-dir", save));
    wait_partial(dl_dir, ".down", (off_t)(size / 3));
    ch_proc_stop(&p, SIGKILL, 10000);
    assert_int_equal(dir_files(save, NULL, NULL, 0), 0); /* nothing unverified is shown */
    /* Run again: the message was stored before; the file resumes, is checked and saved. */
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", bob, "recv", "--save-dir", save));
    CH_ASSERT_STATUS(&r, 0);
    assert_int_equal(ch_json_lines(r.out, NULL), 0);
    assert_non_null(strstr(r.out, "\"file\":{\"path\":"));
    assert_int_equal(ch_json_field(r.out, "name", field, sizeof field), 0);
    assert_string_equal(field, "holiday-video.bin");
    assert_int_equal(ch_json_field(r.out, "sha256", field, sizeof field), 0);
    assert_string_equal(field, want);
    assert_int_equal(ch_json_field(r.out, "size", field, sizeof field), 0);
    assert_int_equal(strtoull(field, NULL, 10), size);
    ch_result_free(&r);
    assert_int_equal(dir_files(save, NULL, saved, sizeof saved), 1);
    assert_non_null(strstr(saved, "holiday-video.bin"));
    file_sha256(saved, got);
    assert_string_equal(got, want);
    assert_int_equal(dir_files(dl_dir, ".down", NULL, 0), 0); /* the ciphertext is gone */
    /* Bob's one device fetched it: the server deletes it (its sweep runs every minute by
     * default, so only the refusal to serve it again is checked here). */
    ch_run(&r, NULL, NULL, CH_ARGS("--json", "--home", bob, "recv", "--save-dir", save));
    CH_ASSERT_STATUS(&r, 0);
    assert_null(strstr(r.out, "\"file\""));
    ch_result_free(&r);
    unlink(file);
    unlink(saved);
    free(alice);
    free(bob);
    free(file);
    free(save);
    ph_test_end();
}

/* nftw over the server's data directory: counts files containing `needle`. */
static const uint8_t *needle;
static size_t needle_len, needle_hits;

static int search_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    size_t len;
    char *data;

    (void)st;
    (void)ftw;
    if (type != FTW_F || !(data = ch_read_file(path, &len)))
        return 0;
    if (memmem(data, len, needle, needle_len))
        needle_hits++;
    free(data);
    return 0;
}

static size_t server_files_containing(const void *what, size_t len)
{
    needle = what;
    needle_len = len;
    needle_hits = 0;
    assert_int_equal(nftw(server->data_dir, search_file, 16, FTW_PHYS), 0);
    return needle_hits;
}

static void test_tampered_blob_is_refused(void **state)
{
    char *alice = strdup(ch_home("alice2")), *bob = strdup(ch_home("bob2"));
    char *file = strdup(ch_path("secret-plans.txt")), *save = strdup(ch_path("saved2"));
    char want[65], blobs[CH_PATH_MAX * 2], blob[CH_PATH_MAX * 3];
    uint8_t byte;
    ch_result r;
    int fd;

    (void)state;
    ph_test_begin();
    ch_init_user(server, alice, "alice2");
    ch_init_user(server, bob, "bob2");
    make_file(file, 200000, want);
    snprintf(blobs, sizeof blobs, "%s/blobs", server->data_dir);
    /* Only this test's blob is new: remember which by its name's absence before. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "send", "bob2", "--file", file, "the plans"));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    {
        /* The newest file in DATA/blobs is ours. */
        struct dirent *e;
        time_t newest = 0;
        DIR *d = opendir(blobs);

        assert_non_null(d);
        while ((e = readdir(d))) {
            char path[CH_PATH_MAX * 3];
            struct stat st;

            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", blobs, e->d_name);
            if (stat(path, &st) == 0 && st.st_mtime >= newest && st.st_size > 190000 &&
                st.st_size < 210000) {
                newest = st.st_mtime;
                snprintf(blob, sizeof blob, "%s", path);
            }
        }
        closedir(d);
    }
    /* The server holds neither the file's name nor any of its plaintext. */
    {
        size_t len;
        char *plain = ch_read_file(file, &len);

        assert_non_null(plain);
        assert_int_equal(server_files_containing("secret-plans", 12), 0);
        assert_int_equal(server_files_containing(plain + 1000, 32), 0);
        free(plain);
    }
    /* The server (or its disk) alters one byte in the middle. */
    fd = open(blob, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &byte, 1, 100000), 1);
    byte ^= 0x20;
    assert_int_equal(pwrite(fd, &byte, 1, 100000), 1);
    close(fd);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", bob, "recv", "--save-dir", save));
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.out, "the plans")); /* the message itself arrived */
    assert_non_null(strstr(r.err, "tampered"));
    ch_result_free(&r);
    assert_int_equal(dir_files(save, NULL, NULL, 0), 0);
    /* Never fetched again: the next recv has nothing to do. */
    ch_run(&r, NULL, NULL, CH_ARGS("--home", bob, "recv", "--save-dir", save));
    CH_ASSERT_STATUS(&r, 0);
    ch_result_free(&r);
    assert_int_equal(dir_files(save, NULL, NULL, 0), 0);
    unlink(file);
    free(alice);
    free(bob);
    free(file);
    free(save);
    ph_test_end();
}

/* A server with small limits: a file over its size limit, then over the account's quota, is
 * refused with the server's reason, and nothing is sent. */
static void test_size_limit_and_quota_refusals(void **state)
{
    char *alice = strdup(ch_home("alice4")), *bob = strdup(ch_home("bob4"));
    char *big = strdup(ch_path("big.bin")), *small = strdup(ch_path("small.bin"));
    char hex[65];
    ph_server *own =
        ph_start((const char *const[]){"blobs.max_size_mib=1", "blobs.quota_mib=2", NULL});
    ch_result r;
    char *out;

    (void)state;
    ph_test_begin();
    ch_init_user(own, alice, "alice4");
    ch_init_user(own, bob, "bob4");
    make_file(big, MIB + 1, hex);
    make_file(small, 900 * 1024, hex);
    ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "send", "bob4", "--file", big));
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "max_size_mib"));
    ch_result_free(&r);
    /* Two fit the 2 MiB quota; the third does not (nothing was fetched yet). */
    for (int i = 0; i < 3; i++) {
        char caption[16];

        snprintf(caption, sizeof caption, "copy-%d", i);
        utimensat(AT_FDCWD, small, (const struct timespec[]){{0, UTIME_NOW}, {i + 1, 0}}, 0);
        ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "send", "bob4", "--file", small, caption));
        if (i < 2) {
            CH_ASSERT_STATUS(&r, 0);
        } else {
            assert_int_not_equal(r.status, 0);
            assert_non_null(strstr(r.err, "quota"));
        }
        ch_result_free(&r);
    }
    out = ch_recv_json(bob);
    assert_non_null(strstr(out, "copy-1"));
    assert_null(strstr(out, "copy-2"));
    free(out);
    ph_stop(own);
    ph_free(own);
    unlink(big);
    unlink(small);
    free(alice);
    free(bob);
    free(big);
    free(small);
    ph_test_end();
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Runs of the throughput test: PARLEY_ATTACH_BENCH_RUNS (1..9, default 1); its file's size:
 * PARLEY_ATTACH_BENCH_MIB (64..1024, default 64). */
static int bench_runs(void)
{
    const char *v = getenv("PARLEY_ATTACH_BENCH_RUNS");
    int n = v ? atoi(v) : 1;

    return n < 1 ? 1 : n > 9 ? 9 : n;
}

static size_t bench_mib(void)
{
    const char *v = getenv("PARLEY_ATTACH_BENCH_MIB");
    int n = v ? atoi(v) : 64;

    return n < 64 ? 64 : n > 1024 ? 1024 : (size_t)n;
}

/*
 * Throughput (docs/BENCHMARKS.md "Attachments"): an uninterrupted upload and download of a
 * 64 MiB file through the real parley and parleyd on loopback, against the raw
 * secretstream rate (64 KiB chunks, the client's format) measured in the same process just
 * before. Prints one line per run on stderr, and the medians when there are several runs
 * (PARLEY_ATTACH_BENCH_RUNS=3 with only this test: see main); asserts only that every step
 * worked.
 */
static void test_throughput_against_raw_secretstream(void **state)
{
    const size_t mib = bench_mib(), size = mib * MIB, chunk = 64u * 1024u;
    const int runs = bench_runs();
    char *alice = strdup(ch_home("alice3")), *bob = strdup(ch_home("bob3"));
    char *file = strdup(ch_path("bench.bin")), *save = strdup(ch_path("saved3"));
    uint8_t key[32], header[24], *pt = malloc(chunk), *ct = malloc(chunk + 17);
    crypto_secretstream_xchacha20poly1305_state st;
    double t0, raw[9], up[9], down[9];
    char want[65], saved[CH_PATH_MAX * 2], got[65];
    ch_result r;

    (void)state;
    ph_test_begin();
    assert_non_null(pt);
    assert_non_null(ct);
    ch_init_user(server, alice, "alice3");
    ch_init_user(server, bob, "bob3");
    /* A first message so both sides' sessions and KT lookups are done before timing. */
    ch_send(alice, "bob3", "warm-up");
    free(ch_recv_json(bob));
    for (int run = 0; run < runs; run++) {
        randombytes_buf(key, sizeof key);
        randombytes_buf(pt, chunk);
        t0 = now_s();
        crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
        for (size_t at = 0; at < size; at += chunk)
            crypto_secretstream_xchacha20poly1305_push(&st, ct, NULL, pt, chunk, NULL, 0, 0);
        raw[run] = (double)mib / (now_s() - t0);
        make_file(file, size, want);
        t0 = now_s();
        ch_run(&r, NULL, NULL, CH_ARGS("--home", alice, "send", "bob3", "--file", file));
        up[run] = now_s() - t0;
        CH_ASSERT_STATUS(&r, 0);
        ch_result_free(&r);
        t0 = now_s();
        ch_run(&r, NULL, NULL, CH_ARGS("--home", bob, "recv", "--save-dir", save));
        down[run] = now_s() - t0;
        CH_ASSERT_STATUS(&r, 0);
        ch_result_free(&r);
        assert_int_equal(dir_files(save, NULL, saved, sizeof saved), 1);
        file_sha256(saved, got);
        assert_string_equal(got, want);
        fprintf(stderr,
                "attach-bench: %zu MiB: raw secretstream %.0f MiB/s; send --file %.2f s (%.0f "
                "MiB/s, encrypt + upload + message); recv %.2f s (%.0f MiB/s, download + decrypt "
                "+ check)\n",
                mib, raw[run], up[run], (double)mib / up[run], down[run], (double)mib / down[run]);
        unlink(file);
        unlink(saved);
    }
    if (runs > 1) {
        qsort(raw, (size_t)runs, sizeof *raw, cmp_double);
        qsort(up, (size_t)runs, sizeof *up, cmp_double);
        qsort(down, (size_t)runs, sizeof *down, cmp_double);
        fprintf(stderr,
                "attach-bench: %zu MiB, medians of %d: raw secretstream %.0f MiB/s; send --file "
                "%.2f s (%.0f MiB/s); recv %.2f s (%.0f MiB/s)\n",
                mib, runs, raw[runs / 2], up[runs / 2], (double)mib / up[runs / 2], down[runs / 2],
                (double)mib / down[runs / 2]);
    }
    free(pt);
    free(ct);
    free(alice);
    free(bob);
    free(file);
    free(save);
    ph_test_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_100_mib_round_trip_interrupted_and_resumed, test_teardown),
        cmocka_unit_test_teardown(test_tampered_blob_is_refused, test_teardown),
        cmocka_unit_test_teardown(test_size_limit_and_quota_refusals, test_teardown),
        cmocka_unit_test_teardown(test_throughput_against_raw_secretstream, test_teardown),
    };

    if (sodium_init() < 0)
        return 1;
    if (getenv("PARLEY_ATTACH_BENCH_RUNS")) /* the benchmark alone (docs/BENCHMARKS.md) */
        cmocka_set_test_filter("test_throughput_against_raw_secretstream");
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * test_log.c: parleyd's log lines (src/server/log.c) read back through a pipe: both
 * formats, escaping of hostile values, NULL values, truncation and level filtering.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static int pipe_fd[2];

/* Reads what the log wrote since the last call (the pipe is non-blocking). */
static size_t drain(char *out, size_t cap)
{
    size_t len = 0;
    ssize_t n;

    while (len + 1 < cap && (n = read(pipe_fd[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    return len;
}

/* The line without its 24-character timestamp and the space after it (text). */
static const char *after_ts(const char *s)
{
    assert_true(strlen(s) > 25);
    assert_int_equal(s[4], '-');
    assert_int_equal(s[10], 'T');
    assert_int_equal(s[19], '.');
    assert_int_equal(s[23], 'Z');
    assert_int_equal(s[24], ' ');
    return s + 25;
}

static int ends_with(const char *s, size_t len, const char *tail)
{
    size_t n = strlen(tail);

    return len >= n && memcmp(s + len - n, tail, n) == 0;
}

static int setup(void **state)
{
    (void)state;
    if (pipe(pipe_fd) != 0)
        return -1;
    fcntl(pipe_fd[0], F_SETFL, O_NONBLOCK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pl_log_setup(PL_CONFIG_LOG_INFO, PL_CONFIG_LOG_TEXT, 2);
    close(pipe_fd[0]);
    close(pipe_fd[1]);
    return 0;
}

static void test_text_plain_fields(void **state)
{
    char out[4096];

    (void)state;
    pl_log_setup(PL_CONFIG_LOG_INFO, PL_CONFIG_LOG_TEXT, pipe_fd[1]);
    pl_log(PL_CONFIG_LOG_INFO, "started");
    drain(out, sizeof out);
    assert_string_equal(after_ts(out), "info started\n");

    pl_log(PL_CONFIG_LOG_WARN, "auth failed", PL_LOG_STR("user", "alice"), PL_LOG_U64("device", 7),
           PL_LOG_I64("delta", -3), PL_LOG_STR("addr", NULL), PL_LOG_STR("note", "two words"),
           PL_LOG_STR("empty", ""));
    drain(out, sizeof out);
    assert_string_equal(after_ts(out), "warn auth failed user=alice device=7 delta=-3 addr=- "
                                       "note=\"two words\" empty=\"\"\n");
}

static void test_text_escapes_hostile_values(void **state)
{
    char out[4096];

    (void)state;
    pl_log_setup(PL_CONFIG_LOG_DEBUG, PL_CONFIG_LOG_TEXT, pipe_fd[1]);
    pl_log(PL_CONFIG_LOG_ERROR, "x", PL_LOG_STR("u", "a\nb"), PL_LOG_STR("q", "say \"hi\""),
           PL_LOG_STR("b", "c:\\d"), PL_LOG_STR("f", "x=1"), PL_LOG_STR("bin", "\xff\xc3("),
           PL_LOG_STR("utf8", "h\xc3\xa9llo"), PL_LOG_STR("bad key!", "v"),
           PL_LOG_STR("esc", "\x1b[31m"));
    drain(out, sizeof out);
    assert_string_equal(after_ts(out),
                        "error x u=\"a\\x0ab\" q=\"say \\\"hi\\\"\" b=\"c:\\\\d\" f=\"x=1\" "
                        "bin=\"\\xff\\xc3(\" utf8=h\xc3\xa9llo bad_key_=v esc=\"\\x1b[31m\"\n");
    /* One line, whatever the values held. */
    assert_non_null(strchr(out, '\n'));
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
}

static void test_json_line(void **state)
{
    char out[4096];

    (void)state;
    pl_log_setup(PL_CONFIG_LOG_INFO, PL_CONFIG_LOG_JSON, pipe_fd[1]);
    pl_log(PL_CONFIG_LOG_INFO, "started");
    drain(out, sizeof out);
    assert_memory_equal(out, "{\"ts\":\"", 7);
    assert_string_equal(out + 7 + 24, "\",\"level\":\"info\",\"msg\":\"started\"}\n");

    pl_log(PL_CONFIG_LOG_INFO, "m\"sg", PL_LOG_STR("user", "a\nb\"c\\d\x01"), PL_LOG_U64("n", 12),
           PL_LOG_I64("i", -1), PL_LOG_STR("nil", NULL), PL_LOG_STR("bin", "\xfe\xed\xe2\x82\xac"));
    drain(out, sizeof out);
    assert_string_equal(
        out + 7 + 24,
        "\",\"level\":\"info\",\"msg\":\"m\\\"sg\",\"user\":\"a\\nb\\\"c\\\\d\\u0001\","
        "\"n\":12,\"i\":-1,\"nil\":null,\"bin\":\"\\u00fe\\u00ed\xe2\x82\xac\"}\n");
}

static void test_level_filter(void **state)
{
    char out[4096];

    (void)state;
    pl_log_setup(PL_CONFIG_LOG_WARN, PL_CONFIG_LOG_TEXT, pipe_fd[1]);
    assert_true(pl_log_enabled(PL_CONFIG_LOG_ERROR));
    assert_true(pl_log_enabled(PL_CONFIG_LOG_WARN));
    assert_false(pl_log_enabled(PL_CONFIG_LOG_INFO));
    assert_false(pl_log_enabled(PL_CONFIG_LOG_DEBUG));
    pl_log(PL_CONFIG_LOG_INFO, "hidden");
    pl_log(PL_CONFIG_LOG_DEBUG, "hidden");
    assert_int_equal(drain(out, sizeof out), 0);
    pl_log(PL_CONFIG_LOG_ERROR, "shown");
    drain(out, sizeof out);
    assert_string_equal(after_ts(out), "error shown\n");
    pl_log_setup(PL_CONFIG_LOG_ERROR, PL_CONFIG_LOG_TEXT, pipe_fd[1]);
    pl_log(PL_CONFIG_LOG_WARN, "hidden");
    assert_int_equal(drain(out, sizeof out), 0);
}

/* A value far longer than a line: one line of exactly the maximum or less, well-formed. */
static void test_truncation(void **state)
{
    static char big[3 * PL_LOG_LINE_MAX];
    char out[8192];
    size_t len;

    (void)state;
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[100] = ' ';

    pl_log_setup(PL_CONFIG_LOG_INFO, PL_CONFIG_LOG_TEXT, pipe_fd[1]);
    pl_log(PL_CONFIG_LOG_INFO, "big", PL_LOG_STR("v", big), PL_LOG_U64("after", 1));
    len = drain(out, sizeof out);
    assert_true(len <= PL_LOG_LINE_MAX);
    assert_true(len > PL_LOG_LINE_MAX - 64);
    assert_ptr_equal(strchr(out, '\n'), out + len - 1);
    assert_true(ends_with(out, len, "a\" truncated=true\n"));

    /* Every byte escaped (\x01 is four): a cut never splits an escape. */
    memset(big, 1, 1000);
    big[1000] = '\0';
    pl_log(PL_CONFIG_LOG_INFO, "esc", PL_LOG_STR("v", big));
    len = drain(out, sizeof out);
    assert_true(len <= PL_LOG_LINE_MAX);
    assert_true(ends_with(out, len, "\\x01\" truncated=true\n"));

    pl_log_setup(PL_CONFIG_LOG_INFO, PL_CONFIG_LOG_JSON, pipe_fd[1]);
    pl_log(PL_CONFIG_LOG_INFO, "esc", PL_LOG_STR("v", big));
    len = drain(out, sizeof out);
    assert_true(len <= PL_LOG_LINE_MAX);
    assert_true(ends_with(out, len, "\\u0001\",\"truncated\":true}\n"));

    /* A field that does not fit at all is left out whole, not cut after its key. */
    memset(big, 'b', 1990);
    big[1990] = '\0';
    pl_log(PL_CONFIG_LOG_INFO, big, PL_LOG_U64("number_key_that_is_long", UINT64_MAX));
    len = drain(out, sizeof out);
    assert_true(len <= PL_LOG_LINE_MAX);
    assert_null(strstr(out, "number_key"));
    assert_true(ends_with(out, len, "b\",\"truncated\":true}\n"));
}

/* Fields built in a loop, as a caller with a dynamic list would. */
static void test_fields_array(void **state)
{
    char out[4096];
    pl_log_field f[3] = {
        PL_LOG_U64("a", 1), {.key = "skip", .type = PL_LOG_T_SKIP}, PL_LOG_STR("c", "x")};

    (void)state;
    pl_log_setup(PL_CONFIG_LOG_INFO, PL_CONFIG_LOG_TEXT, pipe_fd[1]);
    pl_log_fields(PL_CONFIG_LOG_INFO, "arr", f, 3);
    drain(out, sizeof out);
    assert_string_equal(after_ts(out), "info arr a=1 c=x\n");
    pl_log_fields(PL_CONFIG_LOG_INFO, NULL, NULL, 0);
    drain(out, sizeof out);
    assert_string_equal(after_ts(out), "info \n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_plain_fields),
        cmocka_unit_test(test_text_escapes_hostile_values),
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_fields_array),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

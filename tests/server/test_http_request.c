/*
 * test_http_request.c: the admin listener's request-head parser (src/server/http_request.c):
 * a numbered table of heads and verdicts, every split point of a good head, and the
 * PL_HTTP_HEAD_MAX boundary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_request.h"

typedef struct head_case {
    const char *head;
    int want;
} head_case;

static const head_case cases[] = {
    /* 0 */ {"GET /healthz HTTP/1.1\r\n\r\n", PL_HTTP_COMPLETE},
    /* 1 */ {"GET /healthz HTTP/1.0\r\nHost: x\r\nAccept: */*\r\n\r\n", PL_HTTP_COMPLETE},
    /* 2 */ {"DELETE /x?y=1 HTTP/1.1\r\nX-A:\r\n\r\n", PL_HTTP_COMPLETE},
    /* 3 */ {"GET /x HTTP/1.1\r\nContent-Length:  0 \r\n\r\n", PL_HTTP_COMPLETE},
    /* 4 */ {"GET /x HTTP/1.1\r\nUser-Agent: caf\xc3\xa9\tx\r\n\r\n", PL_HTTP_COMPLETE},
    /* 5 */ {"", PL_HTTP_NEED_MORE},
    /* 6 */ {"GET /healthz HTTP/1.1\r\nHost: x\r", PL_HTTP_NEED_MORE},
    /* 7 */ {"GET /healthz HTTP/1.1\r\n\r", PL_HTTP_NEED_MORE},
    /* 8 */ {"GET /healthz HTTP/1.1\n\n", PL_HTTP_MALFORMED},
    /* 9 */ {"GET /healthz HTTP/1.1\r\nHost: x\n", PL_HTTP_MALFORMED},
    /* 10 */ {"GET  /healthz HTTP/1.1\r\n\r\n", PL_HTTP_MALFORMED},
    /* 11 */ {"GET /healthz  HTTP/1.1\r\n\r\n", PL_HTTP_MALFORMED},
    /* 12 */ {"GET /healthz HTTP/2.0\r\n\r\n", PL_HTTP_MALFORMED},
    /* 13 */ {"GET /healthz HTTP/1.10\r\n\r\n", PL_HTTP_MALFORMED},
    /* 14 */ {"GET /healthz http/1.1\r\n\r\n", PL_HTTP_MALFORMED},
    /* 15 */ {"GET /healthz\r\n\r\n", PL_HTTP_MALFORMED},
    /* 16 */ {"G(T /healthz HTTP/1.1\r\n\r\n", PL_HTTP_MALFORMED},
    /* 17 */ {"ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\n\r\n", PL_HTTP_MALFORMED},
    /* 18 */ {"\r\nGET / HTTP/1.1\r\n\r\n", PL_HTTP_MALFORMED},
    /* 19 */ {"GET / HTTP/1.1\r\n folded\r\n\r\n", PL_HTTP_MALFORMED},
    /* 20 */ {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", PL_HTTP_MALFORMED},
    /* 21 */ {"GET / HTTP/1.1\r\n: empty name\r\n\r\n", PL_HTTP_MALFORMED},
    /* 22 */ {"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", PL_HTTP_MALFORMED},
    /* 23 */ {"GET / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n", PL_HTTP_MALFORMED},
    /* 24 */ {"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", PL_HTTP_MALFORMED},
    /* 25 */ {"GET /\x7f HTTP/1.1\r\n\r\n", PL_HTTP_MALFORMED},
    /* 26 */ {"GET /a\x1b", PL_HTTP_MALFORMED}, /* control byte: no need to wait for more */
    /* 27 */ {"GET /a\rb", PL_HTTP_MALFORMED},
    /* 28 */ {"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", PL_HTTP_MALFORMED},
    /* 29 */ {"GET / HTTP/1.1\r\nContent-Length: 00\r\n\r\n", PL_HTTP_MALFORMED},
};

static void test_table(void **state)
{
    pl_http_request req;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r = pl_http_request_parse(cases[i].head, strlen(cases[i].head), &req);

        if (r != cases[i].want)
            fail_msg("case %zu: got %d, want %d", i, r, cases[i].want);
    }
}

static void test_fields(void **state)
{
    const char *h = "GET /metrics?name=x HTTP/1.0\r\nHost: a\r\nB: c\r\n\r\nextra";
    pl_http_request req;

    (void)state;
    assert_int_equal(pl_http_request_parse(h, strlen(h), &req), PL_HTTP_COMPLETE);
    assert_ptr_equal(req.method, h);
    assert_int_equal(req.method_len, 3);
    assert_ptr_equal(req.target, h + 4);
    assert_int_equal(req.target_len, 15);
    assert_int_equal(req.path_len, 8);
    assert_int_equal(req.version_minor, 0);
    assert_int_equal(req.header_count, 2);
    assert_int_equal(req.head_len, strlen(h) - 5);
}

/* Every prefix of a good head is NEED_MORE, with a zeroed output. */
static void test_every_split(void **state)
{
    const char *h = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:7444\r\n\r\n";
    pl_http_request req, zero;

    (void)state;
    memset(&zero, 0, sizeof zero);
    for (size_t n = 0; n < strlen(h); n++) {
        memset(&req, 0xaa, sizeof req);
        assert_int_equal(pl_http_request_parse(h, n, &req), PL_HTTP_NEED_MORE);
        assert_memory_equal(&req, &zero, sizeof req);
    }
    assert_int_equal(pl_http_request_parse(h, strlen(h), &req), PL_HTTP_COMPLETE);
    assert_int_equal(pl_http_request_parse(NULL, 0, &req), PL_HTTP_NEED_MORE);
}

/* A head of exactly PL_HTTP_HEAD_MAX bytes is accepted; one byte more is too large. */
static void test_head_max(void **state)
{
    static char buf[PL_HTTP_HEAD_MAX + 100];
    const char *start = "GET / HTTP/1.1\r\nX: ";
    pl_http_request req;
    size_t n;

    (void)state;
    for (size_t extra = 0; extra <= 1; extra++) {
        n = strlen(start);
        memcpy(buf, start, n);
        memset(buf + n, 'v', PL_HTTP_HEAD_MAX + extra - n - 4);
        memcpy(buf + PL_HTTP_HEAD_MAX + extra - 4, "\r\n\r\n", 4);
        assert_int_equal(pl_http_request_parse(buf, PL_HTTP_HEAD_MAX + extra, &req),
                         extra ? PL_HTTP_TOO_LARGE : PL_HTTP_COMPLETE);
        assert_int_equal(pl_http_request_parse(buf, PL_HTTP_HEAD_MAX - 1, &req), PL_HTTP_NEED_MORE);
    }
    /* Too many header lines, even short ones. */
    n = strlen(start) - 3;
    memcpy(buf, start, n);
    for (size_t i = 0; i <= PL_HTTP_MAX_HEADERS; i++) {
        memcpy(buf + n, "A: b\r\n", 6);
        n += 6;
    }
    memcpy(buf + n, "\r\n", 2);
    assert_int_equal(pl_http_request_parse(buf, n + 2, &req), PL_HTTP_MALFORMED);
    memcpy(buf + n - 6, "\r\n", 2);
    assert_int_equal(pl_http_request_parse(buf, n - 4, &req), PL_HTTP_COMPLETE);
    assert_int_equal(req.header_count, PL_HTTP_MAX_HEADERS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_head_max),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

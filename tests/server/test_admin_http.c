/*
 * test_admin_http.c: parleyd's admin listener (src/server/admin_http.c) on 127.0.0.1:0,
 * driven by UV_RUN_NOWAIT turns of a loop in this thread against non-blocking client
 * sockets: every route, bad requests, the head limit, the timeout and the connection limit.
 * Every wait is bounded by a deadline.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "admin_http.h"
#include "http_request.h"
#include "metrics.h"

static uv_loop_t loop;
static pl_admin_http *srv;
static int ready_flag;
static int ready_calls;

static int is_ready(void *ctx)
{
    ready_calls++;
    return *(int *)ctx;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One turn of the server's loop, then a short wait on the client fd (or a sleep). */
static void pump(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};

    uv_run(&loop, UV_RUN_NOWAIT);
    if (fd >= 0)
        poll(&p, 1, 1);
    else
        poll(NULL, 0, 1);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static int client_connect(void)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)pl_admin_http_port(srv));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
        assert_int_equal(errno, EINPROGRESS);
    return fd;
}

/*
 * Sends req[0..len) on fd and reads until the server closes, within limit_ms. Returns the
 * bytes read (resp is NUL-terminated), or -1 if the deadline passed first.
 */
static long converse(int fd, const char *req, size_t len, char *resp, size_t cap, uint64_t limit_ms)
{
    uint64_t deadline = now_ms() + limit_ms;
    size_t sent = 0, got = 0;

    while (now_ms() < deadline) {
        ssize_t n;

        pump(fd);
        if (sent < len) {
            n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
        }
        n = recv(fd, resp + got, cap - 1 - got, 0);
        if (n > 0) {
            got += (size_t)n;
            assert_true(got < cap - 1);
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)) {
            resp[got] = '\0';
            return (long)got;
        }
    }
    resp[got] = '\0';
    return -1;
}

static long request(const char *req, char *resp, size_t cap)
{
    int fd = client_connect();
    long n = converse(fd, req, strlen(req), resp, cap, 5000);

    close(fd);
    return n;
}

/* Checks the status line, the fixed headers and the body of a response. */
static void check_response(const char *resp, int status, const char *body)
{
    char line[64], cl[64];
    const char *end = strstr(resp, "\r\n\r\n");

    snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
    assert_memory_equal(resp, line, strlen(line));
    assert_non_null(end);
    assert_non_null(strstr(resp, "\r\nConnection: close\r\n"));
    if (body != NULL) {
        snprintf(cl, sizeof cl, "\r\nContent-Length: %zu\r\n", strlen(body));
        assert_non_null(strstr(resp, cl));
        assert_string_equal(end + 4, body);
    }
}

static int setup(void **state)
{
    struct sockaddr_in sin;
    char err[128];

    (void)state;
    if (uv_loop_init(&loop) != 0)
        return -1;
    uv_ip4_addr("127.0.0.1", 0, &sin);
    ready_flag = 0;
    ready_calls = 0;
    if (pl_admin_http_start(&srv, &loop, (struct sockaddr *)&sin, is_ready, &ready_flag, err,
                            sizeof err) != 0)
        return -1;
    return pl_admin_http_port(srv) > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pl_admin_http_close(srv);
    srv = NULL;
    uv_run(&loop, UV_RUN_DEFAULT); /* only close callbacks are left: it returns */
    return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static void test_healthz(void **state)
{
    char resp[4096];

    (void)state;
    assert_true(request("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof resp) > 0);
    check_response(resp, 200, "ok\n");
    assert_true(request("GET /healthz?verbose=1 HTTP/1.0\r\n\r\n", resp, sizeof resp) > 0);
    check_response(resp, 200, "ok\n");
}

static void test_readyz(void **state)
{
    char resp[4096];

    (void)state;
    assert_true(request("GET /readyz HTTP/1.1\r\n\r\n", resp, sizeof resp) > 0);
    check_response(resp, 503, "not ready\n");
    ready_flag = 1;
    assert_true(request("GET /readyz HTTP/1.1\r\n\r\n", resp, sizeof resp) > 0);
    check_response(resp, 200, "ready\n");
    assert_int_equal(ready_calls, 2);
}

static void test_metrics(void **state)
{
    static char resp[128 * 1024];
    char cl[64];
    const char *body;

    (void)state;
    pl_metrics_reset();
    pl_metrics_add(PL_M_ACCOUNTS_REGISTERED, 12345);
    assert_true(request("GET /metrics HTTP/1.1\r\n\r\n", resp, sizeof resp) > 0);
    check_response(resp, 200, NULL);
    assert_non_null(strstr(resp, "\r\nContent-Type: text/plain; version=0.0.4\r\n"));
    assert_non_null(strstr(resp, "\nparleyd_accounts_registered_total 12345\n"));
    body = strstr(resp, "\r\n\r\n") + 4;
    snprintf(cl, sizeof cl, "\r\nContent-Length: %zu\r\n", strlen(body));
    assert_non_null(strstr(resp, cl));
    pl_metrics_reset();
}

static void test_not_found_and_method(void **state)
{
    char resp[4096];

    (void)state;
    assert_true(request("GET /nope HTTP/1.1\r\n\r\n", resp, sizeof resp) > 0);
    check_response(resp, 404, "not found\n");
    assert_true(request("GET /healthzz HTTP/1.1\r\n\r\n", resp, sizeof resp) > 0);
    check_response(resp, 404, "not found\n");
    assert_true(request("POST /healthz HTTP/1.1\r\n\r\n", resp, sizeof resp) > 0);
    check_response(resp, 405, "method not allowed\n");
    assert_non_null(strstr(resp, "\r\nAllow: GET\r\n"));
    assert_true(request("get /metrics HTTP/1.1\r\n\r\n", resp, sizeof resp) > 0);
    check_response(resp, 405, "method not allowed\n");
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "GET /healthz\r\n\r\n",
        "GET /healthz HTTP/1.1\n\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello */
        "GET /healthz HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
        "GET /healthz HTTP/1.1\r\n folded\r\n\r\n",
    };
    char resp[4096];

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_true(request(bad[i], resp, sizeof resp) > 0);
        check_response(resp, 400, "bad request\n");
    }
}

/* A head of exactly PL_HTTP_HEAD_MAX bytes with no end: 431. */
static void test_oversized_head(void **state)
{
    static char big[PL_HTTP_HEAD_MAX + 1];
    char resp[4096];
    int fd;

    (void)state;
    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', PL_HTTP_HEAD_MAX - 5);
    fd = client_connect();
    assert_true(converse(fd, big, PL_HTTP_HEAD_MAX, resp, sizeof resp, 5000) > 0);
    close(fd);
    check_response(resp, 431, "request head too large\n");
}

/* A client that sends nothing, or half a head, is closed by the timer. */
static void test_timeout(void **state)
{
    char resp[256];
    uint64_t start;
    int fd;

    (void)state;
    pl_admin_http_set_timeout_ms(srv, 100);
    for (int partial = 0; partial <= 1; partial++) {
        const char *req = partial ? "GET /healthz HTTP/1.1\r\nHo" : "";

        start = now_ms();
        fd = client_connect();
        assert_int_equal(converse(fd, req, strlen(req), resp, sizeof resp, 3000), 0);
        close(fd);
        assert_true(now_ms() - start >= 90);
    }
    pl_admin_http_set_timeout_ms(srv, 0);
}

/* 32 idle connections are held; the 33rd is closed at once; once they go, it works again. */
static void test_connection_limit(void **state)
{
    int fds[PL_ADMIN_HTTP_MAX_CONNECTIONS];
    char resp[4096];
    uint64_t deadline;
    int extra;

    (void)state;
    for (int i = 0; i < PL_ADMIN_HTTP_MAX_CONNECTIONS; i++)
        fds[i] = client_connect();
    deadline = now_ms() + 3000;
    while (pl_admin_http_connections(srv) < PL_ADMIN_HTTP_MAX_CONNECTIONS && now_ms() < deadline)
        pump(-1);
    assert_int_equal(pl_admin_http_connections(srv), PL_ADMIN_HTTP_MAX_CONNECTIONS);

    extra = client_connect();
    assert_true(converse(extra, "GET /healthz HTTP/1.1\r\n\r\n", 25, resp, sizeof resp, 3000) >= 0);
    assert_null(strstr(resp, "HTTP/1.1"));
    close(extra);
    assert_int_equal(pl_admin_http_connections(srv), PL_ADMIN_HTTP_MAX_CONNECTIONS);

    for (int i = 0; i < PL_ADMIN_HTTP_MAX_CONNECTIONS; i++)
        close(fds[i]);
    deadline = now_ms() + 3000;
    while (pl_admin_http_connections(srv) > 0 && now_ms() < deadline)
        pump(-1);
    assert_int_equal(pl_admin_http_connections(srv), 0);
    assert_true(request("GET /healthz HTTP/1.1\r\n\r\n", resp, sizeof resp) > 0);
    check_response(resp, 200, "ok\n");
}

/* Closing with connections open frees everything once the loop has run (teardown checks
 * that uv_loop_close succeeds; the sanitizer build checks for leaks). */
static void test_close_with_open_connections(void **state)
{
    int fd = client_connect();
    uint64_t deadline = now_ms() + 3000;

    (void)state;
    while (pl_admin_http_connections(srv) < 1 && now_ms() < deadline)
        pump(-1);
    assert_int_equal(pl_admin_http_connections(srv), 1);
    pl_admin_http_close(srv);
    srv = NULL;
    uv_run(&loop, UV_RUN_DEFAULT);
    close(fd);
}

static void test_start_errors(void **state)
{
    struct sockaddr_in sin;
    struct sockaddr bad;
    pl_admin_http *h = (pl_admin_http *)&bad;
    char err[128];

    (void)state;
    memset(&bad, 0, sizeof bad);
    bad.sa_family = AF_UNIX;
    assert_int_equal(pl_admin_http_start(&h, &loop, &bad, NULL, NULL, err, sizeof err), UV_EINVAL);
    assert_null(h);
    assert_true(strlen(err) > 0);
    /* The port in use. */
    uv_ip4_addr("127.0.0.1", pl_admin_http_port(srv), &sin);
    assert_true(
        pl_admin_http_start(&h, &loop, (struct sockaddr *)&sin, NULL, NULL, err, sizeof err) < 0);
    assert_null(h);
    assert_non_null(strstr(err, "cannot listen"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_open_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * admin_http.h: parleyd's admin listener: a minimal HTTP/1.1 server on a loopback address,
 * run by the server's libuv loop, for health checks and metrics.
 *
 *   GET /healthz  200 "ok\n"                  (the loop answered, so the process lives)
 *   GET /readyz   200 "ready\n" if ready(ctx) returns non-zero, else 503 "not ready\n"
 *   GET /metrics  200, Content-Type: text/plain; version=0.0.4, pl_metrics_render()
 *   other path 404, other method 405, malformed head 400, head over 8 KiB 431.
 *
 * A query string is ignored. Every response is HTTP/1.1 with Content-Length and
 * Connection: close, and the connection is closed once it is written. It has no
 * authentication: config.c allows it on loopback addresses only.
 *
 * Bounds: at most PL_ADMIN_HTTP_MAX_CONNECTIONS connections at once (one more is closed at
 * once), each closed PL_ADMIN_HTTP_TIMEOUT_MS after it was accepted whatever its state, and
 * a request head of at most PL_HTTP_HEAD_MAX bytes. Each bad request, refused connection
 * and timeout is logged at warn.
 *
 * Everything runs on the loop's thread: call these functions from it only.
 */
#ifndef PARLEYD_ADMIN_HTTP_H
#define PARLEYD_ADMIN_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#define PL_ADMIN_HTTP_MAX_CONNECTIONS 32
#define PL_ADMIN_HTTP_TIMEOUT_MS 5000

typedef struct pl_admin_http pl_admin_http;

/*
 * Binds addr (AF_INET or AF_INET6; port 0 lets the system choose) and listens on loop.
 * ready(ctx) is called for each GET /readyz (ready may be NULL: never ready). *out is set to
 * NULL first. Returns 0 with *out set, or a negative libuv error code (UV_EADDRINUSE,
 * UV_EACCES, UV_EINVAL for a NULL or non-IP addr, UV_ENOMEM, ...) with err[0..err_len)
 * holding a NUL-terminated sentence (when err_len > 0); nothing is left open then.
 */
int pl_admin_http_start(pl_admin_http **out, uv_loop_t *loop, const struct sockaddr *addr,
                        int (*ready)(void *ctx), void *ctx, char *err, size_t err_len);

/* The port the listener is bound to (useful after binding port 0). */
int pl_admin_http_port(const pl_admin_http *h);

/* Sets the per-connection timeout for connections accepted from now on (tests); 0 means
 * the default. */
void pl_admin_http_set_timeout_ms(pl_admin_http *h, uint64_t ms);

/* The number of admin connections open now (tests). */
size_t pl_admin_http_connections(const pl_admin_http *h);

/*
 * Stops listening and closes every connection. Accepts NULL. The handles close through the
 * loop: h is freed by the last close callback, so run the loop until it returns; after
 * that nothing of h remains. h must not be used after this call.
 */
void pl_admin_http_close(pl_admin_http *h);

#endif

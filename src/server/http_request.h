/*
 * http_request.h: a sans-I/O parser for the head of an HTTP/1.x request, as much of
 * RFC 9112 as the admin listener needs and nothing more.
 *
 * Accepted: a request line `METHOD SP target SP HTTP/1.x CRLF` (method: 1 to 16 token
 * characters; target: 1 or more visible ASCII characters), then header lines
 * `name: value CRLF` (name: token characters; value: visible characters, spaces, tabs and
 * bytes 0x80-0xff), then an empty line. The head ends there: a request with a body
 * (Content-Length other than 0, or any Transfer-Encoding) is malformed, as are a bare LF,
 * a folded header line, control characters, more than PL_HTTP_MAX_HEADERS headers, and
 * leading empty lines.
 *
 * The caller keeps appending received bytes to one buffer and calls the parser on all of
 * it each time. A head longer than PL_HTTP_HEAD_MAX bytes is refused (431). A malformed
 * line is reported as soon as it is complete, and a control character as soon as it
 * arrives, so a hostile client is not waited for. Pure function: no allocation, no state.
 */
#ifndef PARLEYD_HTTP_REQUEST_H
#define PARLEYD_HTTP_REQUEST_H

#include <stddef.h>

/* Longest request head accepted, its final CRLF CRLF included. */
#define PL_HTTP_HEAD_MAX 8192
/* Most header lines accepted. */
#define PL_HTTP_MAX_HEADERS 64
/* Longest method. */
#define PL_HTTP_METHOD_MAX 16

/* Results of pl_http_request_parse. */
#define PL_HTTP_COMPLETE 0   /* a whole head; *out describes it */
#define PL_HTTP_NEED_MORE 1  /* valid so far; read more */
#define PL_HTTP_MALFORMED -1 /* answer 400 and close */
#define PL_HTTP_TOO_LARGE -2 /* no end of head in PL_HTTP_HEAD_MAX bytes: 431 and close */

/* A parsed head. Pointers point into the parsed buffer; they are not NUL-terminated. */
typedef struct pl_http_request {
    const char *method;
    size_t method_len;
    const char *target; /* as sent: path and optional ?query */
    size_t target_len;
    size_t path_len;   /* target[0..path_len) is the path: up to the first '?' */
    int version_minor; /* the x of HTTP/1.x */
    size_t header_count;
    size_t head_len; /* bytes of the head, the final CRLF CRLF included */
} pl_http_request;

/*
 * Parses the head at the start of buf[0..len) (bytes after the head are not looked at).
 * Returns PL_HTTP_COMPLETE with *out filled, or PL_HTTP_NEED_MORE, PL_HTTP_MALFORMED or
 * PL_HTTP_TOO_LARGE with *out zeroed. buf may be NULL when len is 0.
 *
 * Monotonic: once a buffer is MALFORMED or TOO_LARGE, every longer buffer that starts
 * with it is too, and a COMPLETE head stays complete with the same head_len.
 */
int pl_http_request_parse(const char *buf, size_t len, pl_http_request *out);

#endif

/*
 * fuzz_http_request.c: pl_http_request_parse (src/server/http_request.c) on hostile bytes.
 *
 * Invariants: only the four documented results; a zeroed request unless complete; a
 * complete head ends in CRLF CRLF within the input and PL_HTTP_HEAD_MAX, its fields point
 * inside it with the documented grammar, and it parses the same on its own; NEED_MORE
 * only below PL_HTTP_HEAD_MAX; and the verdicts are monotonic: the input minus its last
 * byte is NEED_MORE whenever the input is not MALFORMED or TOO_LARGE because of that byte.
 */
#include <string.h>

#include "fuzz.h"
#include "http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so that AddressSanitizer sees any overread. */
    char *buf = (char *)fz_alloc(size);
    pl_http_request req, again, zero;
    int r, rp;

    if (size > 0)
        memcpy(buf, data, size);
    memset(&zero, 0, sizeof zero);
    r = pl_http_request_parse(buf, size, &req);
    FZ_CHECK(r == PL_HTTP_COMPLETE || r == PL_HTTP_NEED_MORE || r == PL_HTTP_MALFORMED ||
             r == PL_HTTP_TOO_LARGE);
    if (r != PL_HTTP_COMPLETE)
        FZ_CHECK(memcmp(&req, &zero, sizeof req) == 0);
    if (r == PL_HTTP_NEED_MORE)
        FZ_CHECK(size < PL_HTTP_HEAD_MAX);
    if (r == PL_HTTP_TOO_LARGE)
        FZ_CHECK(size >= PL_HTTP_HEAD_MAX);
    if (r == PL_HTTP_COMPLETE) {
        FZ_CHECK(req.head_len >= 4 && req.head_len <= size && req.head_len <= PL_HTTP_HEAD_MAX);
        FZ_CHECK(memcmp(buf + req.head_len - 4, "\r\n\r\n", 4) == 0);
        FZ_CHECK(req.method == buf);
        FZ_CHECK(req.method_len >= 1 && req.method_len <= PL_HTTP_METHOD_MAX);
        FZ_CHECK(req.target == buf + req.method_len + 1 && req.target_len >= 1);
        FZ_CHECK(req.target + req.target_len < buf + req.head_len);
        FZ_CHECK(req.path_len <= req.target_len);
        FZ_CHECK(memchr(req.target, '?', req.path_len) == NULL);
        for (size_t i = 0; i < req.target_len; i++)
            FZ_CHECK(req.target[i] > 0x20 && req.target[i] < 0x7f);
        FZ_CHECK(req.version_minor >= 0 && req.version_minor <= 9);
        FZ_CHECK(req.header_count <= PL_HTTP_MAX_HEADERS);
        FZ_CHECK(memchr(buf, '\0', req.head_len) == NULL);
        FZ_CHECK(pl_http_request_parse(buf, req.head_len, &again) == PL_HTTP_COMPLETE);
        FZ_CHECK(memcmp(&req, &again, sizeof req) == 0);
        FZ_CHECK(pl_http_request_parse(buf, req.head_len - 1, &again) == PL_HTTP_NEED_MORE);
    }
    if (size > 0) {
        rp = pl_http_request_parse(buf, size - 1, &again);
        /* A prefix is never further along than the whole. */
        if (rp == PL_HTTP_MALFORMED)
            FZ_CHECK(r == PL_HTTP_MALFORMED);
        if (rp == PL_HTTP_TOO_LARGE)
            FZ_CHECK(r == PL_HTTP_TOO_LARGE);
        if (rp == PL_HTTP_COMPLETE)
            FZ_CHECK(r == PL_HTTP_COMPLETE && again.head_len == req.head_len);
    }
    free(buf);
    return 0;
}

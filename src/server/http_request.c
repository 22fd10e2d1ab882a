/*
 * http_request.c: the request-head parser of http_request.h.
 *
 * The head is taken line by line. Each complete line (ending in CRLF, looked for only in
 * the first PL_HTTP_HEAD_MAX bytes) is checked whole: the first against the request-line
 * grammar, the others against the header grammar, until the empty line. An incomplete
 * last line is checked only for bytes no line may hold, so the verdict on a prefix never
 * contradicts the verdict on the whole.
 */
#include <string.h>

#include "http_request.h"

/* RFC 9110 §5.6.2 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte a header value may hold: visible ASCII, SP, HTAB, obs-text. */
static int is_value_char(unsigned char c)
{
    return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

/* 1 if a[0..n) equals the lower-case b, ignoring ASCII case. */
static int name_is(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != b[i])
            return 0;
    }
    return 1;
}

/* Checks the request line line[0..n) (CRLF excluded) and fills the request-line fields. */
static int parse_request_line(const char *line, size_t n, pl_http_request *req)
{
    size_t i = 0, start;

    while (i < n && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i > PL_HTTP_METHOD_MAX || i >= n || line[i] != ' ')
        return PL_HTTP_MALFORMED;
    req->method = line;
    req->method_len = i;
    start = ++i;
    while (i < n && (unsigned char)line[i] >= 0x21 && (unsigned char)line[i] <= 0x7e)
        i++;
    if (i == start || i >= n || line[i] != ' ')
        return PL_HTTP_MALFORMED;
    req->target = line + start;
    req->target_len = i - start;
    req->path_len = 0;
    while (req->path_len < req->target_len && req->target[req->path_len] != '?')
        req->path_len++;
    i++;
    if (n - i != 8 || memcmp(line + i, "HTTP/1.", 7) != 0 || line[i + 7] < '0' || line[i + 7] > '9')
        return PL_HTTP_MALFORMED;
    req->version_minor = line[i + 7] - '0';
    return PL_HTTP_COMPLETE;
}

/* Checks the header line line[0..n) (CRLF excluded, not empty). */
static int parse_header_line(const char *line, size_t n)
{
    size_t i = 0, v, e;

    while (i < n && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= n || line[i] != ':')
        return PL_HTTP_MALFORMED;
    for (v = i + 1; v < n; v++)
        if (!is_value_char((unsigned char)line[v]))
            return PL_HTTP_MALFORMED;
    /* This listener takes no body: refuse any request that announces one. */
    if (name_is(line, i, "transfer-encoding"))
        return PL_HTTP_MALFORMED;
    if (name_is(line, i, "content-length")) {
        v = i + 1;
        e = n;
        while (v < e && (line[v] == ' ' || line[v] == '\t'))
            v++;
        while (e > v && (line[e - 1] == ' ' || line[e - 1] == '\t'))
            e--;
        if (e - v != 1 || line[v] != '0')
            return PL_HTTP_MALFORMED;
    }
    return PL_HTTP_COMPLETE;
}

/* Checks an incomplete last line: no control byte but HTAB, and CR only as its last byte. */
static int check_partial(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '\r' && i + 1 == n)
            break;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return PL_HTTP_MALFORMED;
    }
    return PL_HTTP_NEED_MORE;
}

int pl_http_request_parse(const char *buf, size_t len, pl_http_request *out)
{
    pl_http_request req;
    size_t scan = len < PL_HTTP_HEAD_MAX ? len : PL_HTTP_HEAD_MAX;
    size_t pos = 0, nlines = 0;
    int r = PL_HTTP_MALFORMED;

    memset(out, 0, sizeof *out);
    memset(&req, 0, sizeof req);
    if (len == 0)
        return PL_HTTP_NEED_MORE;
    for (;;) {
        const char *line = buf + pos;
        const char *lf = memchr(line, '\n', scan - pos);
        size_t n;

        if (lf == NULL) {
            r = check_partial(line, scan - pos);
            if (r == PL_HTTP_NEED_MORE && len >= PL_HTTP_HEAD_MAX)
                r = PL_HTTP_TOO_LARGE;
            goto out;
        }
        n = (size_t)(lf - line);
        r = PL_HTTP_MALFORMED;
        if (n == 0 || line[n - 1] != '\r') /* bare LF */
            goto out;
        n--;
        pos += n + 2;
        if (nlines == 0) {
            if ((r = parse_request_line(line, n, &req)) != PL_HTTP_COMPLETE)
                goto out;
        } else if (n == 0) {
            break;
        } else {
            r = PL_HTTP_MALFORMED;
            if (req.header_count == PL_HTTP_MAX_HEADERS)
                goto out;
            if ((r = parse_header_line(line, n)) != PL_HTTP_COMPLETE)
                goto out;
            req.header_count++;
        }
        nlines++;
    }
    req.head_len = pos;
    *out = req;
    r = PL_HTTP_COMPLETE;
out:
    return r;
}

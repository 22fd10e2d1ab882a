/*
 * log.c: parleyd's one-line log records (log.h), in text or JSON.
 *
 * A line is built in a `line` on the stack: every append is all or nothing, and the first
 * one that does not fit below `limit` marks the line full and makes every later append a
 * no-op. PL_LOG__RESERVE bytes above `limit` stay free for the ending: the closing quote
 * of a cut string, the truncated=true field, the closing brace and the newline. A field
 * whose key or number did not fit is taken back whole, so a cut line is still well-formed.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Room kept for the ending of a truncated line: `","truncated":true}\n` and less. */
#define PL_LOG__RESERVE 32

/* The settings: written by pl_log_setup before threads start, then only read. */
static pl_config_log_level log_level = PL_CONFIG_LOG_INFO;
static pl_config_log_format log_format = PL_CONFIG_LOG_TEXT;
static int log_fd = 2;

typedef struct line {
    char b[PL_LOG_LINE_MAX];
    size_t len;
    size_t limit;   /* appends stop here; the rest is the reserve */
    int full;       /* an append did not fit: the line is cut */
    int open_quote; /* inside a quoted value, which the ending must close */
} line;

static const char *level_name(pl_config_log_level level)
{
    switch (level) {
    case PL_CONFIG_LOG_ERROR:
        return "error";
    case PL_CONFIG_LOG_WARN:
        return "warn";
    case PL_CONFIG_LOG_INFO:
        return "info";
    case PL_CONFIG_LOG_DEBUG:
        return "debug";
    }
    return "info";
}

/* Appends s[0..n) whole, or marks the line full and appends nothing. */
static void put(line *l, const char *s, size_t n)
{
    if (l->full)
        return;
    if (n > l->limit - l->len) {
        l->full = 1;
        return;
    }
    memcpy(l->b + l->len, s, n);
    l->len += n;
}

static void puts_(line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* Appends the ending; it always fits, since it uses the reserve. */
static void put_tail(line *l, const char *s)
{
    size_t n = strlen(s);

    if (n > sizeof l->b - l->len)
        n = sizeof l->b - l->len; /* cannot happen: the reserve holds every ending */
    memcpy(l->b + l->len, s, n);
    l->len += n;
}

/*
 * Length of the well-formed UTF-8 sequence at p[0..n) (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 if p[0] does not start one.
 */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* above U+10FFFF */
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/* 1 if a text value must be quoted: empty, or anything but plain printable UTF-8. */
static int text_needs_quotes(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    if (n == 0)
        return 1;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(p + i, n - i);

        if (k == 0 || p[i] <= 0x20 || p[i] == 0x7f || p[i] == '"' || p[i] == '=' || p[i] == '\\')
            return 1;
        i += k;
    }
    return 0;
}

/* Appends s escaped: in JSON as a string's content, in text with \xNN (and \" \\ when
 * `quoted`). A UTF-8 sequence or an escape is appended whole or not at all. */
static void put_escaped(line *l, const char *s, int json, int quoted)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    char esc[8];

    for (size_t i = 0; i < n && !l->full;) {
        size_t k = utf8_len(p + i, n - i);
        unsigned char c = p[i];

        if (k > 1) {
            put(l, s + i, k);
            i += k;
            continue;
        }
        if (json && c == '"')
            puts_(l, "\\\"");
        else if (json && c == '\\')
            puts_(l, "\\\\");
        else if (json && c == '\n')
            puts_(l, "\\n");
        else if (json && c == '\r')
            puts_(l, "\\r");
        else if (json && c == '\t')
            puts_(l, "\\t");
        else if (json && (k == 0 || c < 0x20 || c == 0x7f)) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
            puts_(l, esc);
        } else if (!json && quoted && (c == '"' || c == '\\')) {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(l, esc, 2);
        } else if (!json && (k == 0 || c < 0x20 || c == 0x7f)) {
            snprintf(esc, sizeof esc, "\\x%02x", (unsigned)c);
            puts_(l, esc);
        } else {
            put(l, s + i, 1);
        }
        i++;
    }
}

/* Appends a key with every byte outside [A-Za-z0-9_.-] replaced by '_'. */
static void put_key(line *l, const char *key)
{
    if (key == NULL || *key == '\0')
        key = "_";
    for (const char *k = key; *k; k++) {
        char c = *k;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';

        put(l, ok ? k : "_", 1);
    }
}

/* Appends a quoted (JSON) or, where needed, quoted and escaped (text) string value. */
static void put_str_value(line *l, const char *s, int json)
{
    int quoted = json || text_needs_quotes(s);

    if (quoted) {
        put(l, "\"", 1);
        if (l->full)
            return;
        l->open_quote = 1;
    }
    put_escaped(l, s, json, quoted);
    if (quoted) {
        put(l, "\"", 1);
        if (!l->full)
            l->open_quote = 0;
    }
}

/* Appends one field; a field cut before its string value began is taken back whole. */
static void put_field(line *l, const pl_log_field *f, int json)
{
    size_t mark = l->len;
    char num[24];

    if (f->type != PL_LOG_T_STR && f->type != PL_LOG_T_U64 && f->type != PL_LOG_T_I64)
        return;
    put(l, json ? ",\"" : " ", json ? 2 : 1);
    put_key(l, f->key);
    put(l, json ? "\":" : "=", json ? 2 : 1);
    if (f->type == PL_LOG_T_U64) {
        snprintf(num, sizeof num, "%" PRIu64, f->v.u);
        puts_(l, num);
    } else if (f->type == PL_LOG_T_I64) {
        snprintf(num, sizeof num, "%" PRId64, f->v.i);
        puts_(l, num);
    } else if (f->v.s == NULL) {
        puts_(l, json ? "null" : "-");
    } else {
        if (l->full)
            goto out;
        put_str_value(l, f->v.s, json);
        return;
    }
out:
    if (l->full)
        l->len = mark;
}

/* Appends the current UTC time as 2026-11-29T09:40:00.123Z. */
static void put_time(line *l)
{
    struct timespec ts;
    struct tm tm;
    char buf[96];

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL) {
        puts_(l, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000));
    puts_(l, buf);
}

void pl_log_setup(pl_config_log_level level, pl_config_log_format format, int fd)
{
    if (level < PL_CONFIG_LOG_ERROR || level > PL_CONFIG_LOG_DEBUG)
        level = PL_CONFIG_LOG_INFO;
    if (format != PL_CONFIG_LOG_TEXT && format != PL_CONFIG_LOG_JSON)
        format = PL_CONFIG_LOG_TEXT;
    log_level = level;
    log_format = format;
    log_fd = fd < 0 ? 2 : fd;
}

int pl_log_enabled(pl_config_log_level level)
{
    return level >= PL_CONFIG_LOG_ERROR && level <= log_level;
}

void pl_log_fields(pl_config_log_level level, const char *msg, const pl_log_field *fields, size_t n)
{
    line l;
    int json = log_format == PL_CONFIG_LOG_JSON;
    size_t off = 0;

    if (!pl_log_enabled(level))
        return;
    l.len = 0;
    l.limit = sizeof l.b - PL_LOG__RESERVE;
    l.full = 0;
    l.open_quote = 0;
    if (msg == NULL)
        msg = "";
    if (json) {
        puts_(&l, "{\"ts\":\"");
        put_time(&l);
        puts_(&l, "\",\"level\":\"");
        puts_(&l, level_name(level));
        puts_(&l, "\",\"msg\":");
        put_str_value(&l, msg, 1);
    } else {
        put_time(&l);
        puts_(&l, " ");
        puts_(&l, level_name(level));
        puts_(&l, " ");
        put_escaped(&l, msg, 0, 0);
    }
    for (size_t i = 0; fields != NULL && i < n && !l.full; i++)
        put_field(&l, &fields[i], json);
    if (l.full) {
        if (l.open_quote)
            put_tail(&l, "\"");
        put_tail(&l, json ? ",\"truncated\":true" : " truncated=true");
    }
    if (json)
        put_tail(&l, "}");
    put_tail(&l, "\n");

    /* One write; the rest only if a file or terminal took part of it. */
    while (off < l.len) {
        ssize_t w = write(log_fd, l.b + off, l.len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

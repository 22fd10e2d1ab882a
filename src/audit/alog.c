/* alog.c: parley-audit's log lines (alog.h). */
#define _POSIX_C_SOURCE 200809L
#include "alog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

static enum pl_alog_level max_level = PL_ALOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void pl_alog_set_level(enum pl_alog_level level)
{
    max_level = level;
}

void pl_alog(enum pl_alog_level level, const char *fmt, ...)
{
    char line[LINE_MAX_BYTES];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    size_t n;
    int k;

    if (level > max_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof line - n, ".%03ldZ %s ", ts.tv_nsec / 1000000L,
                 level_names[level]);
    n += k > 0 ? (size_t)k : 0;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k < sizeof line - n - 1 ? (size_t)k : sizeof line - n - 2;
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, n);
}

const char *pl_alog_clean(const char *s, char *out, size_t cap)
{
    size_t i = 0;

    if (cap == 0)
        return out;
    if (!s)
        s = "-";
    for (; *s && i + 1 < cap; s++)
        out[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    out[i] = '\0';
    return out;
}

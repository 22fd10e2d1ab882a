/*
 * alog.h: parley-audit's log: one line per event on stderr,
 *     2026-11-29T09:40:00.123Z info cosigned size=12 origin=...
 * UTC with milliseconds. Text that came from the network (a server's status message, an
 * origin) is passed through pl_alog_clean() first, so it can never forge a line. Secrets are
 * never logged: no function here takes a key.
 */
#ifndef PARLEY_AUDIT_ALOG_H
#define PARLEY_AUDIT_ALOG_H

#include <stddef.h>

enum pl_alog_level { PL_ALOG_ERROR = 0, PL_ALOG_WARN, PL_ALOG_INFO, PL_ALOG_DEBUG };

/* Lines above this level are dropped (default PL_ALOG_INFO). */
void pl_alog_set_level(enum pl_alog_level level);

/* Writes one line (a trailing newline is added; the text is cut at 2 KiB). */
void pl_alog(enum pl_alog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies s into out[0..cap), replacing every byte outside printable ASCII by '?'; returns
 * out. s may be NULL ("-"). */
const char *pl_alog_clean(const char *s, char *out, size_t cap);

#endif

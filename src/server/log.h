/*
 * log.h: parleyd's log: one line per event, written to a file descriptor (stderr by
 * default) in plain text or JSON.
 *
 * Text:  2026-11-29T09:40:00.123Z info started key=value key2="quoted value"
 * JSON:  {"ts":"2026-11-29T09:40:00.123Z","level":"info","msg":"started","key":"value","n":12}
 *
 * Times are UTC with milliseconds. Values come from the network (usernames, addresses), so
 * they are escaped and can never forge a second line or field: in text, a value holding a
 * space, `"`, `=`, `\`, a control character or a byte that is not UTF-8 is quoted, with
 * `\"` and `\\` for quote and backslash and `\xNN` for control and non-UTF-8 bytes; in
 * JSON, every string is escaped per RFC 8259 (`\u00NN` for control characters, and for
 * bytes that are not UTF-8 too, so the line stays valid JSON). A NULL string value is
 * written `-` (text) or `null` (JSON). Keys are the caller's constants; a key byte outside
 * [A-Za-z0-9_.-] is written as `_`.
 *
 * Each line is built in a stack buffer of PL_LOG_LINE_MAX bytes and written with one
 * write(2), so lines from several threads never interleave (a pipe writes up to PIPE_BUF
 * bytes atomically). A longer line is cut at a field or character boundary and ends with
 * the field truncated=true, still one well-formed line (valid JSON in JSON format).
 *
 * Thread-safe: the only state is the settings of pl_log_setup(), made once at start-up
 * before other threads run, and only read afterwards.
 *
 * Use:
 *     pl_log(PL_CONFIG_LOG_INFO, "started");
 *     pl_log(PL_CONFIG_LOG_WARN, "auth failed", PL_LOG_STR("user", name),
 *            PL_LOG_U64("device", id));
 * pl_log evaluates its field arguments only when the level is enabled.
 */
#ifndef PARLEYD_LOG_H
#define PARLEYD_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Longest line written, its newline included; longer ones are truncated. */
#define PL_LOG_LINE_MAX 2048

/* pl_log_field.type */
#define PL_LOG_T_SKIP 0 /* ignored: pl_log's leading placeholder */
#define PL_LOG_T_STR 1
#define PL_LOG_T_U64 2
#define PL_LOG_T_I64 3

/* One key and its value. The key and string are borrowed for the call only. */
typedef struct pl_log_field {
    const char *key;
    int type;
    union {
        const char *s;
        uint64_t u;
        int64_t i;
    } v;
} pl_log_field;

#define PL_LOG_STR(k, val) ((pl_log_field){.key = (k), .type = PL_LOG_T_STR, .v = {.s = (val)}})
#define PL_LOG_U64(k, val)                                                                         \
    ((pl_log_field){.key = (k), .type = PL_LOG_T_U64, .v = {.u = (uint64_t)(val)}})
#define PL_LOG_I64(k, val)                                                                         \
    ((pl_log_field){.key = (k), .type = PL_LOG_T_I64, .v = {.i = (int64_t)(val)}})

/*
 * Sets the lowest severity written (ERROR < WARN < INFO < DEBUG: DEBUG writes everything),
 * the format, and the file descriptor lines go to (not closed here; the caller keeps it
 * open). Before any call: INFO, TEXT, fd 2. Call before starting threads. An out-of-range
 * level or format is taken as INFO or TEXT; a negative fd as 2.
 */
void pl_log_setup(pl_config_log_level level, pl_config_log_format format, int fd);

/* 1 if a line at this level would be written, else 0. */
int pl_log_enabled(pl_config_log_level level);

/*
 * Writes one line at `level` with message msg (a NULL msg is written as empty) and the n
 * fields (fields may be NULL when n is 0; fields of type PL_LOG_T_SKIP or an unknown type
 * are left out). Nothing when the level is not enabled. Write errors are ignored: there is
 * nowhere left to report them.
 */
void pl_log_fields(pl_config_log_level level, const char *msg, const pl_log_field *fields,
                   size_t n);

/* pl_log(level, msg, fields...): pl_log_fields with the fields given as arguments (none
 * is fine). The array starts with a placeholder so that it is never empty. */
#define pl_log(level, msg, ...)                                                                    \
    do {                                                                                           \
        if (pl_log_enabled(level)) {                                                               \
            const pl_log_field pl__log_f[] = {{NULL, PL_LOG_T_SKIP, {NULL}}, __VA_ARGS__};         \
            pl_log_fields((level), (msg), pl__log_f + 1,                                           \
                          sizeof pl__log_f / sizeof pl__log_f[0] - 1);                             \
        }                                                                                          \
    } while (0)

#endif

/*
 * config.c: parleyd's settings: defaults, the INI parser (libinih), overrides, validation.
 *
 * Every setting is one row of `keys` below: section, name, kind, where it lives in
 * pl_config and its range. The INI handler, pl_config_set and pl_config_validate all work
 * from that table, so a setting cannot be parsed one way and checked another.
 *
 * libinih reads lines through our reader (ini_parse_stream, the function that
 * ini_parse_string wraps), which lets us take text that is not NUL-terminated without a
 * copy, and check each whole line before libinih sees it: libinih would silently split a
 * line longer than its buffer into two lines, and would take an indented line as the
 * continuation of the previous value.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "frame.h"

enum kind {
    K_ADDR,     /* pl_config_addr */
    K_ADMIN,    /* pl_config_addr, loopback only */
    K_PATH,     /* char[PL_CONFIG_PATH_MAX], may not be empty */
    K_PATH_OPT, /* char[PL_CONFIG_PATH_MAX], empty means the default */
    K_U32,      /* uint32_t count */
    K_SIZE,     /* uint32_t bytes, KiB/MiB suffix allowed */
    K_MS,       /* uint64_t milliseconds, unit required */
    K_BOOL,     /* int */
    K_LEVEL,    /* pl_config_log_level */
    K_FORMAT,   /* pl_config_log_format */
    K_KT_NAME,  /* char[PL_CONFIG_KT_NAME_MAX + 1]: a note key name's characters */
    K_WITNESS,  /* comma-separated cosignature/v1 vkeys, appended; may be set on several lines */
    K_QUORUM,   /* uint32_t 0..PL_CONFIG_KT_MAX_WITNESSES (checked against the witnesses) */
};

struct key {
    const char *section;
    const char *name;
    enum kind kind;
    size_t offset;
    uint64_t min, max; /* K_U32, K_SIZE, K_MS */
};

#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define SEC 1000ull
#define MIN (60ull * SEC)
#define HOUR (60ull * MIN)
#define DAY (24ull * HOUR)

#define F(field) offsetof(pl_config, field)

static const struct key keys[] = {
    {"server", "listen", K_ADDR, F(server.listen), 0, 0},
    {"server", "data_dir", K_PATH, F(server.data_dir), 0, 0},
    {"server", "max_connections", K_U32, F(server.max_connections), 1, 1000000},
    {"server", "frames_per_second", K_U32, F(server.frames_per_second), 1, 100000},
    {"server", "frames_burst", K_U32, F(server.frames_burst), 1, 1000000},
    {"server", "max_frame_bytes", K_SIZE, F(server.max_frame_bytes), PL_FRAME_MIN_MAX_BYTES,
     PL_FRAME_MAX_BYTES},
    {"server", "max_envelope_bytes", K_SIZE, F(server.max_envelope_bytes), 1 * KIB, 16 * MIB},
    {"server", "idle_timeout", K_MS, F(server.idle_timeout_ms), 10 * SEC, 1 * HOUR},
    {"server", "write_timeout", K_MS, F(server.write_timeout_ms), 1 * SEC, 1 * HOUR},
    {"server", "log_level", K_LEVEL, F(server.log_level), 0, 0},
    {"server", "log_format", K_FORMAT, F(server.log_format), 0, 0},
    {"tls", "cert_file", K_PATH_OPT, F(tls.cert_file), 0, 0},
    {"tls", "key_file", K_PATH_OPT, F(tls.key_file), 0, 0},
    {"admin", "enabled", K_BOOL, F(admin.enabled), 0, 0},
    {"admin", "listen", K_ADMIN, F(admin.listen), 0, 0},
    {"accounts", "max_devices", K_U32, F(accounts.max_devices), 1, 16},
    {"accounts", "registrations_per_address_per_minute", K_U32,
     F(accounts.registrations_per_address_per_minute), 1, 10000},
    {"prekeys", "max_onetime_prekeys_per_device", K_U32, F(prekeys.max_onetime_prekeys_per_device),
     1, 10000},
    {"prekeys", "low_watermark", K_U32, F(prekeys.low_watermark), 0, 9999},
    {"mailbox", "quota_envelopes", K_U32, F(mailbox.quota_envelopes), 1, 10000000},
    {"mailbox", "retention", K_MS, F(mailbox.retention_ms), 1 * MIN, 365 * DAY},
    {"mailbox", "commit_max_batch", K_U32, F(mailbox.commit_max_batch), 1, 65536},
    {"mailbox", "commit_max_delay", K_MS, F(mailbox.commit_max_delay_ms), 0, 1 * SEC},
    {"mailbox", "expire_interval", K_MS, F(mailbox.expire_interval_ms), 1 * SEC, 1 * HOUR},
    {"limits", "max_group_recipient_devices", K_U32, F(limits.max_group_recipient_devices), 1,
     PL_WIRE_MAX_GROUP_RECIPIENT_DEVICES},
    {"blobs", "max_size_mib", K_U32, F(blobs.max_size_mib), 1, 4096},
    {"blobs", "quota_mib", K_U32, F(blobs.quota_mib), 1, 1024u * 1024u},
    {"blobs", "max_per_account", K_U32, F(blobs.max_per_account), 1, 1000000},
    {"blobs", "expiry", K_MS, F(blobs.expiry_ms), 1 * MIN, 365 * DAY},
    {"blobs", "expire_interval", K_MS, F(blobs.expire_interval_ms), 1 * SEC, 1 * HOUR},
    {"blobs", "frames_per_second", K_U32, F(blobs.frames_per_second), 1, 100000},
    {"blobs", "frames_burst", K_U32, F(blobs.frames_burst), 1, 1000000},
    {"kt", "name", K_KT_NAME, F(kt.name), 0, 0},
    {"kt", "witnesses", K_WITNESS, F(kt.n_witnesses), 0, 0},
    {"kt", "quorum", K_QUORUM, F(kt.quorum), 0, PL_CONFIG_KT_MAX_WITNESSES},
    {"kt", "batch_interval", K_MS, F(kt.batch_interval_ms), 10, 1 * HOUR},
    {"kt", "heartbeat", K_MS, F(kt.heartbeat_ms), 1 * SEC, 1 * DAY},
    {"kt", "max_ahead", K_MS, F(kt.max_ahead_ms), 1 * SEC, 1 * DAY},
    {"kt", "max_behind", K_MS, F(kt.max_behind_ms), 1 * SEC, 7 * DAY},
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const char *const sections[] = {"server",  "tls",    "admin", "accounts", "prekeys",
                                       "mailbox", "limits", "blobs", "kt"};

/* ---- errors ------------------------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int fail(pl_config_error *err, int code, const char *section, const char *key,
                const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static int fail(pl_config_error *err, int code, const char *section, const char *key,
                const char *fmt, ...)
{
    va_list ap;

    memset(err, 0, sizeof *err);
    copy_str(err->section, sizeof err->section, section ? section : "");
    copy_str(err->key, sizeof err->key, key ? key : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* Messages quote values, which may come from a command line: keep them printable. */
    for (char *p = err->message; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return code;
}

int pl_config_error_format(const pl_config_error *err, const char *file, char *out, size_t cap)
{
    char line[32] = "";
    char what[112] = "";

    if (err->line > 0)
        snprintf(line, sizeof line, file != NULL ? ":%d" : "line %d", err->line);
    if (err->section[0] != '\0' && err->key[0] != '\0')
        snprintf(what, sizeof what, "[%s] %s: ", err->section, err->key);
    else if (err->section[0] != '\0')
        snprintf(what, sizeof what, "[%s]: ", err->section);
    else if (err->key[0] != '\0')
        snprintf(what, sizeof what, "%s: ", err->key);
    return snprintf(out, cap, "%s%s%s%s%s", file != NULL ? file : "", line,
                    (file != NULL || err->line > 0) ? ": " : "", what, err->message);
}

/* Case-insensitive for ASCII letters only, whatever the locale. */
static int word_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;

        if (x != y)
            return 0;
        if (x == '\0')
            return 1;
    }
}

/* ---- values ------------------------------------------------------------------------- */

/* Parses the decimal digits at *p (at most 19, no sign) and advances *p. */
static int parse_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    size_t n = 0;

    while (*s >= '0' && *s <= '9') {
        if (++n > 19)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        s++;
    }
    if (n == 0)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

static const char *skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Multiplies, refusing overflow. */
static int mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b != 0 && a > UINT64_MAX / b)
        return -1;
    *out = a * b;
    return 0;
}

static int parse_count(const char *s, uint64_t *out)
{
    if (parse_digits(&s, out) != 0 || *s != '\0')
        return -1;
    return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
    uint64_t v, mult = 1;

    if (parse_digits(&s, &v) != 0)
        return -1;
    s = skip_blank(s);
    if (strcmp(s, "KiB") == 0)
        mult = KIB;
    else if (strcmp(s, "MiB") == 0)
        mult = MIB;
    else if (strcmp(s, "B") != 0 && *s != '\0')
        return -1;
    return mul_u64(v, mult, out);
}

static int parse_duration(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", SEC}, {"m", MIN}, {"h", HOUR}, {"d", DAY}};
    uint64_t v;

    if (parse_digits(&s, &v) != 0)
        return -1;
    s = skip_blank(s);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(s, units[i].unit) == 0)
            return mul_u64(v, units[i].ms, out);
    return -1;
}

static int parse_bool(const char *s, int *out)
{
    if (word_eq(s, "true") || word_eq(s, "yes") || word_eq(s, "on")) {
        *out = 1;
        return 0;
    }
    if (word_eq(s, "false") || word_eq(s, "no") || word_eq(s, "off")) {
        *out = 0;
        return 0;
    }
    return -1;
}

/*
 * "IPv4:port" or "[IPv6]:port", numeric only. Returns 0, or -1 with a reason in why.
 */
static int parse_addr(const char *s, pl_config_addr *out, const char **why)
{
    pl_config_addr a;
    const char *colon, *host = s;
    size_t host_len;
    int bracketed = s[0] == '[';
    uint64_t port;

    memset(&a, 0, sizeof a);
    *why = "expected IPv4:port or [IPv6]:port, e.g. 127.0.0.1:7443 or [::1]:7443";
    if (bracketed) {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':')
            return -1;
        host = s + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        host_len = (size_t)(colon - s);
    }
    if (host_len == 0 || host_len >= sizeof a.host)
        return -1;
    memcpy(a.host, host, host_len);
    a.host[host_len] = '\0';

    s = colon + 1;
    if (parse_digits(&s, &port) != 0 || *s != '\0' || port > 65535) {
        *why = "the port must be a number from 0 to 65535";
        return -1;
    }
    a.port = (uint16_t)port;

    if (bracketed) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.sa;

        if (inet_pton(AF_INET6, a.host, &sin6->sin6_addr) != 1) {
            *why = "not a numeric IPv6 address";
            return -1;
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(a.port);
        a.sa_len = sizeof *sin6;
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&a.sa;

        if (inet_pton(AF_INET, a.host, &sin->sin_addr) != 1) {
            *why = strchr(a.host, ':') ? "an IPv6 address must be in brackets: [::1]:7443"
                                       : "not a numeric IPv4 address (host names are not "
                                         "resolved)";
            return -1;
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons(a.port);
        a.sa_len = sizeof *sin;
    }
    *out = a;
    return 0;
}

static int addr_is_loopback(const pl_config_addr *a)
{
    if (a->sa.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->sa;

        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    if (a->sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->sa;
        const uint8_t *b = sin6->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127;
    }
    return 0;
}

static int addr_is_any(const pl_config_addr *a)
{
    if (a->sa.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->sa;

        return sin->sin_addr.s_addr == htonl(INADDR_ANY);
    }
    if (a->sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->sa;

        return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
    }
    return 0;
}

/* ---- the table ---------------------------------------------------------------------- */

static const struct key *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int known_section(const char *section, size_t len)
{
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (strlen(sections[i]) == len && memcmp(sections[i], section, len) == 0)
            return 1;
    return 0;
}

static const char *unit_hint(enum kind kind)
{
    switch (kind) {
    case K_SIZE:
        return "bytes, optionally with KiB or MiB";
    case K_MS:
        return "a number with a unit: ms, s, m, h or d";
    default:
        return "a whole number";
    }
}

static int check_range(const struct key *k, uint64_t v, pl_config_error *err)
{
    if (v >= k->min && v <= k->max)
        return PL_OK;
    if (k->kind == K_MS)
        return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                    "out of range: must be from %llums to %llums", (unsigned long long)k->min,
                    (unsigned long long)k->max);
    return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                "out of range: must be from %llu to %llu", (unsigned long long)k->min,
                (unsigned long long)k->max);
}

static int check_path(const struct key *k, const char *path, pl_config_error *err)
{
    if (path[0] == '\0' && k->kind == K_PATH)
        return fail(err, PL_E_INVALID_ARG, k->section, k->name, "must not be empty");
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name, "control character in path");
    return PL_OK;
}

/* The value of k in cfg as a number, for range checks. */
static uint64_t get_number(const pl_config *cfg, const struct key *k)
{
    const char *base = (const char *)cfg + k->offset;

    if (k->kind == K_MS)
        return *(const uint64_t *)(const void *)base;
    return *(const uint32_t *)(const void *)base;
}

/* The log's name: 1..PL_CONFIG_KT_NAME_MAX printable ASCII bytes without space or '+' (it
 * starts the origin, which is also the log key's note name). */
static int check_kt_name(const char *name, const char **why)
{
    size_t n = strlen(name);

    if (n == 0 || n > PL_CONFIG_KT_NAME_MAX) {
        *why = "must be 1 to 232 bytes";
        return PL_E_INVALID_ARG;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] <= 0x20 || (unsigned char)name[i] >= 0x7f || name[i] == '+') {
            *why = "only printable ASCII without spaces or '+' (it names the log's key)";
            return PL_E_INVALID_ARG;
        }
    return PL_OK;
}

/* Appends the comma-separated vkeys of value to cfg->kt: each a cosignature/v1 key, no
 * duplicate name or key, at most PL_CONFIG_KT_MAX_WITNESSES in all. All or nothing. */
static int add_witnesses(pl_config *cfg, const struct key *k, const char *value,
                         pl_config_error *err)
{
    uint32_t n = cfg->kt.n_witnesses;
    pl_note_verifier parsed[PL_CONFIG_KT_MAX_WITNESSES];
    size_t lens[PL_CONFIG_KT_MAX_WITNESSES];
    const char *starts[PL_CONFIG_KT_MAX_WITNESSES];
    uint32_t added = 0;
    const char *p = value;

    for (;;) {
        const char *e, *comma = strchr(p, ',');
        size_t len;

        while (*p == ' ' || *p == '\t')
            p++;
        e = comma ? comma : p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        len = (size_t)(e - p);
        if (len == 0)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                        "an empty entry: expected comma-separated vkeys");
        if (n + added >= PL_CONFIG_KT_MAX_WITNESSES)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name, "more than %u witnesses",
                        PL_CONFIG_KT_MAX_WITNESSES);
        if (pl_note_verifier_parse(p, len, &parsed[added]) != PL_OK)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                        "\"%.*s\" is not a vkey (name+keyid+base64 key)",
                        (int)(len > 60 ? 60 : len), p);
        if (parsed[added].type != PL_NOTE_TYPE_COSIGNATURE_V1)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                        "\"%.*s\" is not a cosignature/v1 key (type 0x04)",
                        (int)(len > 60 ? 60 : len), p);
        for (uint32_t i = 0; i < n + added; i++) {
            const pl_note_verifier *o = i < n ? &cfg->kt.witnesses[i] : &parsed[i - n];

            if (strcmp(o->name, parsed[added].name) == 0 ||
                memcmp(o->public_key, parsed[added].public_key, sizeof o->public_key) == 0)
                return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                            "witness %s is listed twice (by name or key)", parsed[added].name);
        }
        starts[added] = p;
        lens[added] = len;
        added++;
        if (!comma)
            break;
        p = comma + 1;
    }
    for (uint32_t i = 0; i < added; i++) {
        memcpy(cfg->kt.witness_vkeys[n + i], starts[i], lens[i]);
        cfg->kt.witness_vkeys[n + i][lens[i]] = '\0';
        cfg->kt.witnesses[n + i] = parsed[i];
    }
    cfg->kt.n_witnesses = n + added;
    return PL_OK;
}

static int set_key(pl_config *cfg, const struct key *k, const char *value, pl_config_error *err)
{
    char *field = (char *)cfg + k->offset;
    uint64_t v = 0;
    int b, r;
    const char *why;
    pl_config_addr addr;
    size_t n = strlen(value);

    if (n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0])
        return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                    "values are written without quotes");

    switch (k->kind) {
    case K_ADDR:
    case K_ADMIN:
        if (parse_addr(value, &addr, &why) != 0)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name, "\"%s\": %s", value, why);
        if (k->kind == K_ADMIN && !addr_is_loopback(&addr))
            return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                        "\"%s\" is not a loopback address: the admin listener has no "
                        "authentication, so it only listens on 127.0.0.0/8 or [::1]",
                        value);
        memcpy(field, &addr, sizeof addr);
        return PL_OK;
    case K_PATH:
    case K_PATH_OPT:
        if (n >= PL_CONFIG_PATH_MAX)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name, "path longer than %d bytes",
                        PL_CONFIG_PATH_MAX - 1);
        if ((r = check_path(k, value, err)) != PL_OK)
            return r;
        memcpy(field, value, n + 1);
        return PL_OK;
    case K_U32:
    case K_SIZE:
    case K_MS:
        if (k->kind == K_U32)
            r = parse_count(value, &v);
        else if (k->kind == K_SIZE)
            r = parse_size(value, &v);
        else
            r = parse_duration(value, &v);
        if (r != 0)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                        "\"%s\" is not valid: expected %s", value, unit_hint(k->kind));
        if ((r = check_range(k, v, err)) != PL_OK)
            return r;
        if (k->kind == K_MS) {
            uint64_t ms = v;
            memcpy(field, &ms, sizeof ms);
        } else {
            uint32_t u = (uint32_t)v;
            memcpy(field, &u, sizeof u);
        }
        return PL_OK;
    case K_BOOL:
        if (parse_bool(value, &b) != 0)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                        "\"%s\" is not valid: expected true or false", value);
        memcpy(field, &b, sizeof b);
        return PL_OK;
    case K_LEVEL: {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (word_eq(value, names[i])) {
                pl_config_log_level level = (pl_config_log_level)i;
                memcpy(field, &level, sizeof level);
                return PL_OK;
            }
        }
        return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                    "\"%s\" is not valid: expected error, warn, info or debug", value);
    }
    case K_FORMAT: {
        pl_config_log_format format;

        if (word_eq(value, "text"))
            format = PL_CONFIG_LOG_TEXT;
        else if (word_eq(value, "json"))
            format = PL_CONFIG_LOG_JSON;
        else
            return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                        "\"%s\" is not valid: expected text or json", value);
        memcpy(field, &format, sizeof format);
        return PL_OK;
    }
    case K_KT_NAME:
        if ((r = check_kt_name(value, &why)) != PL_OK)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name, "\"%s\": %s", value, why);
        memcpy(field, value, n + 1);
        return PL_OK;
    case K_WITNESS:
        return add_witnesses(cfg, k, value, err);
    case K_QUORUM:
        if (parse_count(value, &v) != 0)
            return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                        "\"%s\" is not valid: expected a whole number", value);
        if ((r = check_range(k, v, err)) != PL_OK)
            return r;
        cfg->kt.quorum = (uint32_t)v;
        return PL_OK;
    }
    return fail(err, PL_E_INVALID_ARG, k->section, k->name, "internal: unknown kind");
}

/* ---- public API --------------------------------------------------------------------- */

void pl_config_defaults(pl_config *cfg)
{
    const char *why;

    memset(cfg, 0, sizeof *cfg);
    if (parse_addr(PL_CONFIG_DEFAULT_LISTEN, &cfg->server.listen, &why) != 0 ||
        parse_addr(PL_CONFIG_DEFAULT_ADMIN_LISTEN, &cfg->admin.listen, &why) != 0)
        abort(); /* the defaults above are constants */
    copy_str(cfg->server.data_dir, sizeof cfg->server.data_dir, PL_CONFIG_DEFAULT_DATA_DIR);
    cfg->server.max_connections = PL_CONFIG_DEFAULT_MAX_CONNECTIONS;
    cfg->server.frames_per_second = PL_CONFIG_DEFAULT_FRAMES_PER_SECOND;
    cfg->server.frames_burst = PL_CONFIG_DEFAULT_FRAMES_BURST;
    cfg->server.max_frame_bytes = PL_CONFIG_DEFAULT_MAX_FRAME_BYTES;
    cfg->server.max_envelope_bytes = PL_CONFIG_DEFAULT_MAX_ENVELOPE_BYTES;
    cfg->server.idle_timeout_ms = PL_CONFIG_DEFAULT_IDLE_TIMEOUT_MS;
    cfg->server.log_level = PL_CONFIG_LOG_INFO;
    cfg->server.log_format = PL_CONFIG_LOG_TEXT;
    cfg->admin.enabled = 1;
    cfg->accounts.max_devices = PL_CONFIG_DEFAULT_MAX_DEVICES;
    cfg->accounts.registrations_per_address_per_minute = PL_CONFIG_DEFAULT_REGISTRATIONS_PER_MINUTE;
    cfg->prekeys.max_onetime_prekeys_per_device = PL_CONFIG_DEFAULT_MAX_ONETIME_PREKEYS;
    cfg->prekeys.low_watermark = PL_CONFIG_DEFAULT_PREKEY_LOW_WATERMARK;
    cfg->mailbox.quota_envelopes = PL_CONFIG_DEFAULT_QUOTA_ENVELOPES;
    cfg->mailbox.retention_ms = PL_CONFIG_DEFAULT_RETENTION_MS;
    cfg->mailbox.commit_max_batch = PL_CONFIG_DEFAULT_COMMIT_MAX_BATCH;
    cfg->mailbox.commit_max_delay_ms = PL_CONFIG_DEFAULT_COMMIT_MAX_DELAY_MS;
    cfg->mailbox.expire_interval_ms = PL_CONFIG_DEFAULT_EXPIRE_INTERVAL_MS;
    cfg->limits.max_group_recipient_devices = PL_CONFIG_DEFAULT_MAX_GROUP_RECIPIENT_DEVICES;
    cfg->blobs.max_size_mib = PL_CONFIG_DEFAULT_BLOB_MAX_SIZE_MIB;
    cfg->blobs.quota_mib = PL_CONFIG_DEFAULT_BLOB_QUOTA_MIB;
    cfg->blobs.max_per_account = PL_CONFIG_DEFAULT_BLOB_MAX_PER_ACCOUNT;
    cfg->blobs.expiry_ms = PL_CONFIG_DEFAULT_BLOB_EXPIRY_MS;
    cfg->blobs.expire_interval_ms = PL_CONFIG_DEFAULT_BLOB_EXPIRE_INTERVAL_MS;
    cfg->blobs.frames_per_second = PL_CONFIG_DEFAULT_BLOB_FRAMES_PER_SECOND;
    cfg->blobs.frames_burst = PL_CONFIG_DEFAULT_BLOB_FRAMES_BURST;
    cfg->server.write_timeout_ms = PL_CONFIG_DEFAULT_WRITE_TIMEOUT_MS;
    copy_str(cfg->kt.name, sizeof cfg->kt.name, PL_CONFIG_DEFAULT_KT_NAME);
    cfg->kt.quorum = PL_CONFIG_KT_QUORUM_ALL;
    cfg->kt.batch_interval_ms = PL_CONFIG_DEFAULT_KT_BATCH_INTERVAL_MS;
    cfg->kt.heartbeat_ms = PL_CONFIG_DEFAULT_KT_HEARTBEAT_MS;
    cfg->kt.max_ahead_ms = PL_CONFIG_DEFAULT_KT_MAX_AHEAD_MS;
    cfg->kt.max_behind_ms = PL_CONFIG_DEFAULT_KT_MAX_BEHIND_MS;
}

uint32_t pl_config_kt_quorum(const pl_config *cfg)
{
    return cfg->kt.quorum == PL_CONFIG_KT_QUORUM_ALL ? cfg->kt.n_witnesses : cfg->kt.quorum;
}

int pl_config_set(pl_config *cfg, const char *section, const char *key, const char *value,
                  pl_config_error *err)
{
    const struct key *k;

    if (!known_section(section, strlen(section)))
        return fail(err, PL_E_INVALID_ARG, section, key, "unknown section [%s]", section);
    if ((k = find_key(section, key)) == NULL)
        return fail(err, PL_E_INVALID_ARG, section, key, "unknown key \"%s\" in [%s]", key,
                    section);
    return set_key(cfg, k, value, err);
}

/* ---- the parser --------------------------------------------------------------------- */

struct parse_ctx {
    pl_config *cfg;
    const char *p, *end; /* the text not read yet */
    int line;            /* the line last handed to libinih */
    int first_line[NKEYS];
    int failed;
    int code;
    pl_config_error *err;
};

static void ctx_fail(struct parse_ctx *c, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void ctx_fail(struct parse_ctx *c, int code, const char *fmt, ...)
{
    va_list ap;

    if (c->failed)
        return;
    memset(c->err, 0, sizeof *c->err);
    va_start(ap, fmt);
    vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
    va_end(ap);
    c->err->line = c->line;
    c->failed = 1;
    c->code = code;
}

/*
 * libinih's reader (fgets-like): hands over one whole line, or stops the parse with an
 * error. Never a partial line: libinih would take the rest as a line of its own.
 */
static char *reader(char *str, int num, void *stream)
{
    struct parse_ctx *c = stream;
    const char *nl, *s, *e;
    size_t len;

    if (c->failed || c->p >= c->end || num < 2)
        return NULL;
    nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    len = nl ? (size_t)(nl - c->p) + 1 : (size_t)(c->end - c->p);
    c->line++;
    /* The line without its '\n' must fit libinih's buffer with room for '\n' and NUL. */
    if (len - (nl != NULL) > (size_t)num - 2) {
        ctx_fail(c, PL_E_TOO_LARGE, "line longer than %d characters", num - 2);
        return NULL;
    }
    s = c->p;
    e = c->p + len; /* [s, e) is the line, with its '\n' if it has one */
    for (const char *q = s; q < e; q++) {
        unsigned char ch = (unsigned char)*q;
        int at_end = (q + 1 == e) || (q + 2 == e && q[1] == '\n');

        if (ch == '\t' || ch == '\n' || (ch == '\r' && at_end))
            continue;
        if (ch < 0x20 || ch == 0x7f) {
            ctx_fail(c, PL_E_MALFORMED, "control character 0x%02x", ch);
            return NULL;
        }
    }
    if (s < e && (*s == ' ' || *s == '\t')) {
        const char *q = s;

        while (q < e && (*q == ' ' || *q == '\t'))
            q++;
        if (q < e && *q != '\n' && *q != '\r' && *q != '#' && *q != ';') {
            ctx_fail(c, PL_E_MALFORMED,
                     "indented line: remove the leading blanks (continuation lines are not "
                     "supported)");
            return NULL;
        }
    }
    if (*s == '[') {
        const char *close = memchr(s, ']', len);

        if (close != NULL && !known_section(s + 1, (size_t)(close - s - 1))) {
            int n = (int)(close - s - 1);

            ctx_fail(c, PL_E_INVALID_ARG,
                     "unknown section [%.*s]: expected [server], [tls], [admin], [accounts], "
                     "[prekeys], [mailbox] or [kt]",
                     n > 40 ? 40 : n, s + 1);
            return NULL;
        }
        if (close != NULL) {
            const char *q = close + 1;

            while (q < e && (*q == ' ' || *q == '\t'))
                q++;
            if (q < e && *q != '\n' && *q != '\r' && *q != ';' && *q != '#') {
                ctx_fail(c, PL_E_MALFORMED, "text after the [section] header");
                return NULL;
            }
        }
    }
    memcpy(str, s, len);
    str[len] = '\0';
    c->p += len;
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *c = user;
    const struct key *k;
    size_t i;
    int r;

    if (c->failed)
        return 0;
    if (section[0] == '\0') {
        ctx_fail(c, PL_E_INVALID_ARG, "\"%s\" comes before any [section]", name);
        copy_str(c->err->key, sizeof c->err->key, name);
        return 0;
    }
    if ((k = find_key(section, name)) == NULL) {
        r = pl_config_set(c->cfg, section, name, value, c->err); /* for its message */
        c->failed = 1;
        c->code = r;
        c->err->line = c->line;
        return 0;
    }
    i = (size_t)(k - keys);
    if (c->first_line[i] != 0 && k->kind != K_WITNESS) {
        ctx_fail(c, PL_E_INVALID_ARG, "set twice (first on line %d)", c->first_line[i]);
        copy_str(c->err->section, sizeof c->err->section, section);
        copy_str(c->err->key, sizeof c->err->key, name);
        return 0;
    }
    c->first_line[i] = c->line;
    if ((r = set_key(c->cfg, k, value, c->err)) != PL_OK) {
        size_t n = strlen(c->err->message);

        if (strstr(value, " #") != NULL || strstr(value, "\t#") != NULL)
            snprintf(c->err->message + n, sizeof c->err->message - n,
                     " (a comment after a value starts with \" ;\", not \"#\")");
        c->failed = 1;
        c->code = r;
        c->err->line = c->line;
        return 0;
    }
    return 1;
}

int pl_config_parse_string(pl_config *cfg, const char *text, size_t len, pl_config_error *err)
{
    struct parse_ctx c;
    pl_config work = *cfg;
    const char *nul;
    int rc;

    memset(err, 0, sizeof *err);
    if (len > PL_CONFIG_MAX_BYTES)
        return fail(err, PL_E_TOO_LARGE, NULL, NULL, "config longer than %u bytes",
                    PL_CONFIG_MAX_BYTES);
    if (len > 0 && (nul = memchr(text, '\0', len)) != NULL) {
        int line = 1;

        for (const char *q = text; q < nul; q++)
            line += *q == '\n';
        rc = fail(err, PL_E_MALFORMED, NULL, NULL, "NUL byte in the text");
        err->line = line;
        return rc;
    }

    memset(&c, 0, sizeof c);
    c.cfg = &work;
    c.p = text;
    c.end = text + len;
    c.err = err;
    rc = ini_parse_stream(reader, &c, handler, &c);
    if (rc == -2)
        return fail(err, PL_E_NOMEM, NULL, NULL, "out of memory");
    /* libinih goes on after a syntax error, so ours may have come on a later line. rc is
     * the first line libinih saw fail, which includes lines our handler refused. */
    if (rc > 0 && (!c.failed || rc < err->line)) {
        int line = rc;

        rc = fail(err, PL_E_MALFORMED, NULL, NULL,
                  "syntax error: expected [section], key = value, or a comment");
        err->line = line;
        return rc;
    }
    if (c.failed)
        return c.code;
    if (rc != 0)
        return fail(err, PL_E_MALFORMED, NULL, NULL, "libinih error %d", rc);
    *cfg = work;
    return PL_OK;
}

int pl_config_parse_file(pl_config *cfg, const char *path, pl_config_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int fd, r = PL_E_INVALID_ARG;

    memset(err, 0, sizeof *err);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;

        r = fail(err, PL_E_INVALID_ARG, NULL, NULL, "cannot open: %s", strerror(e));
        err->sys_errno = e;
        return r;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r = fail(err, PL_E_INVALID_ARG, NULL, NULL, "not a regular file");
        goto out;
    }
    /* One byte more than allowed, to tell "exactly the maximum" from "too long". */
    if ((buf = malloc(PL_CONFIG_MAX_BYTES + 1)) == NULL) {
        r = fail(err, PL_E_NOMEM, NULL, NULL, "out of memory");
        goto out;
    }
    while (len < PL_CONFIG_MAX_BYTES + 1) {
        ssize_t n = read(fd, buf + len, PL_CONFIG_MAX_BYTES + 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;

            r = fail(err, PL_E_INVALID_ARG, NULL, NULL, "cannot read: %s", strerror(e));
            err->sys_errno = e;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    r = pl_config_parse_string(cfg, buf, len, err);
out:
    free(buf);
    close(fd);
    return r;
}

int pl_config_validate(const pl_config *cfg, pl_config_error *err)
{
    const pl_config_addr *srv = &cfg->server.listen, *adm = &cfg->admin.listen;
    size_t data_len = strnlen(cfg->server.data_dir, sizeof cfg->server.data_dir);
    int r;

    memset(err, 0, sizeof *err);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        const char *field = (const char *)cfg + k->offset;

        switch (k->kind) {
        case K_U32:
        case K_SIZE:
        case K_MS:
            if ((r = check_range(k, get_number(cfg, k), err)) != PL_OK)
                return r;
            break;
        case K_PATH:
        case K_PATH_OPT:
            if (strnlen(field, PL_CONFIG_PATH_MAX) >= PL_CONFIG_PATH_MAX)
                return fail(err, PL_E_INVALID_ARG, k->section, k->name, "path not terminated");
            if ((r = check_path(k, field, err)) != PL_OK)
                return r;
            break;
        case K_ADDR:
        case K_ADMIN: {
            const pl_config_addr *a = (const pl_config_addr *)(const void *)field;

            if (a->sa.ss_family != AF_INET && a->sa.ss_family != AF_INET6)
                return fail(err, PL_E_INVALID_ARG, k->section, k->name, "no address set");
            break;
        }
        case K_BOOL:
        case K_LEVEL:
        case K_FORMAT:
            break;
        case K_KT_NAME: {
            const char *why;

            if (strnlen(field, PL_CONFIG_KT_NAME_MAX + 1) > PL_CONFIG_KT_NAME_MAX ||
                check_kt_name(field, &why) != PL_OK)
                return fail(err, PL_E_INVALID_ARG, k->section, k->name, "invalid log name");
            break;
        }
        case K_WITNESS:
            if (cfg->kt.n_witnesses > PL_CONFIG_KT_MAX_WITNESSES)
                return fail(err, PL_E_INVALID_ARG, k->section, k->name, "more than %u witnesses",
                            PL_CONFIG_KT_MAX_WITNESSES);
            for (uint32_t w = 0; w < cfg->kt.n_witnesses; w++) {
                pl_note_verifier v;
                const char *vk = cfg->kt.witness_vkeys[w];

                if (pl_note_verifier_parse(vk, strnlen(vk, sizeof cfg->kt.witness_vkeys[w]), &v) !=
                        PL_OK ||
                    v.type != PL_NOTE_TYPE_COSIGNATURE_V1 ||
                    strcmp(v.name, cfg->kt.witnesses[w].name) != 0 ||
                    v.key_id != cfg->kt.witnesses[w].key_id ||
                    memcmp(v.public_key, cfg->kt.witnesses[w].public_key, sizeof v.public_key) != 0)
                    return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                                "witness %u is not a cosignature/v1 vkey", w + 1);
            }
            break;
        case K_QUORUM:
            if (cfg->kt.quorum != PL_CONFIG_KT_QUORUM_ALL && cfg->kt.quorum > cfg->kt.n_witnesses)
                return fail(err, PL_E_INVALID_ARG, k->section, k->name,
                            "%u is more than the %u configured witnesses", cfg->kt.quorum,
                            cfg->kt.n_witnesses);
            break;
        }
    }
    if ((unsigned)cfg->server.log_level > PL_CONFIG_LOG_DEBUG)
        return fail(err, PL_E_INVALID_ARG, "server", "log_level", "unknown level");
    if ((unsigned)cfg->server.log_format > PL_CONFIG_LOG_JSON)
        return fail(err, PL_E_INVALID_ARG, "server", "log_format", "unknown format");

    if (cfg->admin.enabled) {
        if (!addr_is_loopback(adm))
            return fail(err, PL_E_INVALID_ARG, "admin", "listen",
                        "%s is not a loopback address: the admin listener has no "
                        "authentication, so it only listens on 127.0.0.0/8 or [::1]",
                        adm->host);
        if (adm->port != 0 && adm->port == srv->port &&
            (addr_is_any(srv) || strcmp(adm->host, srv->host) == 0))
            return fail(err, PL_E_INVALID_ARG, "admin", "listen",
                        "same address and port as [server] listen");
    }
    if ((cfg->tls.cert_file[0] == '\0') != (cfg->tls.key_file[0] == '\0'))
        return fail(err, PL_E_INVALID_ARG, "tls",
                    cfg->tls.cert_file[0] == '\0' ? "cert_file" : "key_file",
                    "set both cert_file and key_file, or neither (to use a self-signed "
                    "certificate in DATA/tls/)");
    /* DATA/tls/cert.pem must fit a path buffer. */
    if (data_len + sizeof "/tls/cert.pem" > PL_CONFIG_PATH_MAX ||
        data_len + sizeof "/kt/open.key.tmp" > PL_CONFIG_PATH_MAX)
        return fail(err, PL_E_INVALID_ARG, "server", "data_dir", "path too long");
    if ((uint64_t)cfg->server.max_envelope_bytes + PL_CONFIG_FRAME_HEADROOM >
        cfg->server.max_frame_bytes)
        return fail(err, PL_E_INVALID_ARG, "server", "max_frame_bytes",
                    "must be at least max_envelope_bytes + %u (%llu) so that a frame can "
                    "carry the largest envelope",
                    PL_CONFIG_FRAME_HEADROOM,
                    (unsigned long long)cfg->server.max_envelope_bytes + PL_CONFIG_FRAME_HEADROOM);
    if (cfg->prekeys.low_watermark >= cfg->prekeys.max_onetime_prekeys_per_device)
        return fail(err, PL_E_INVALID_ARG, "prekeys", "low_watermark",
                    "must be below max_onetime_prekeys_per_device (%u)",
                    cfg->prekeys.max_onetime_prekeys_per_device);
    return PL_OK;
}

int pl_config_tls_paths(const pl_config *cfg, char cert[PL_CONFIG_PATH_MAX],
                        char key[PL_CONFIG_PATH_MAX], int *is_default)
{
    int a, b;

    *is_default = cfg->tls.cert_file[0] == '\0';
    if (!*is_default) {
        a = snprintf(cert, PL_CONFIG_PATH_MAX, "%s", cfg->tls.cert_file);
        b = snprintf(key, PL_CONFIG_PATH_MAX, "%s", cfg->tls.key_file);
    } else {
        a = snprintf(cert, PL_CONFIG_PATH_MAX, "%s/tls/cert.pem", cfg->server.data_dir);
        b = snprintf(key, PL_CONFIG_PATH_MAX, "%s/tls/key.pem", cfg->server.data_dir);
    }
    if (a < 0 || b < 0 || a >= PL_CONFIG_PATH_MAX || b >= PL_CONFIG_PATH_MAX) {
        cert[0] = key[0] = '\0';
        return PL_E_TOO_LARGE;
    }
    return PL_OK;
}

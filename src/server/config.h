/*
 * config.h: parleyd's settings, their defaults, and a push-style parser for its INI file.
 *
 * The parser takes text, not a file (pl_config_parse_string), so tests and the fuzzer feed
 * it directly; pl_config_parse_file only reads a bounded file and hands the bytes over.
 * Command-line overrides (--listen, --data-dir, --admin) go through pl_config_set, the same
 * function every `key = value` line goes through, so both get the same checks.
 *
 * Use:
 *     pl_config cfg;
 *     pl_config_error err;
 *     pl_config_defaults(&cfg);
 *     r = pl_config_parse_file(&cfg, path, &err);         (optional)
 *     r = pl_config_set(&cfg, "server", "listen", v, &err); (overrides, optional)
 *     r = pl_config_validate(&cfg, &err);                  (always, last)
 *
 * File format (libinih): `[section]` headers and `key = value` lines; comments are lines
 * starting with `#` or `;`, or the rest of a line after ` ;`. Values are not quoted.
 * parleyd is stricter than plain INI, because a typo must never fall back to a default
 * silently: an unknown section or key, a key set twice, an indented line (libinih would
 * take it as a continuation of the previous value), a control character, a NUL byte, or a
 * line longer than libinih's line buffer is an error with its line number.
 *
 * Values: counts are decimal integers; sizes are bytes with an optional `KiB` or `MiB`
 * suffix (`96KiB`); durations need a unit, one of `ms`, `s`, `m`, `h`, `d` (`30d`, `2ms`);
 * booleans are true/false, yes/no or on/off; addresses are `IPv4:port` or `[IPv6]:port`
 * with numeric addresses only (no DNS at start-up). Each key, its default and its range
 * is listed in contrib/parleyd.conf.example.
 *
 * Not thread-safe per object; no globals, no printing, no allocation kept: a pl_config is
 * a plain struct that may be copied, and needs no free.
 */
#ifndef PARLEYD_CONFIG_H
#define PARLEYD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "parley/parley.h"

/* Longest path, including its NUL. */
#define PL_CONFIG_PATH_MAX 1024
/* Longest config file or text accepted. */
#define PL_CONFIG_MAX_BYTES (64u * 1024u)
/* Room a frame needs besides the envelope it carries; see max_frame_bytes. */
#define PL_CONFIG_FRAME_HEADROOM 1024u

/* Defaults (contrib/parleyd.conf.example explains each). */
#define PL_CONFIG_DEFAULT_LISTEN "127.0.0.1:7443"
#define PL_CONFIG_DEFAULT_ADMIN_LISTEN "127.0.0.1:7444"
#define PL_CONFIG_DEFAULT_DATA_DIR "/var/lib/parley"
#define PL_CONFIG_DEFAULT_MAX_CONNECTIONS 10000u
#define PL_CONFIG_DEFAULT_FRAMES_PER_SECOND 100u
#define PL_CONFIG_DEFAULT_FRAMES_BURST 400u
/* The wire protocol's hard maximum (frame.h, PROTOCOL.md §11.1): a full-size Send to 11 devices. */
#define PL_CONFIG_DEFAULT_MAX_FRAME_BYTES (1024u * 1024u + 64u * 1024u)
/* The largest message libparley produces: a full 96 KiB plaintext in a prekey message,
 * the message kind with the most overhead. The limit is on one device's ciphertext. */
#define PL_CONFIG_DEFAULT_MAX_ENVELOPE_BYTES (PL_MAX_PLAINTEXT_BYTES + PL_MESSAGE_MAX_OVERHEAD)
#define PL_CONFIG_DEFAULT_IDLE_TIMEOUT_MS (90u * 1000u)
#define PL_CONFIG_DEFAULT_WRITE_TIMEOUT_MS (30u * 1000u)
#define PL_CONFIG_DEFAULT_MAX_DEVICES 6u
#define PL_CONFIG_DEFAULT_REGISTRATIONS_PER_MINUTE 5u
#define PL_CONFIG_DEFAULT_MAX_ONETIME_PREKEYS 100u
#define PL_CONFIG_DEFAULT_PREKEY_LOW_WATERMARK 10u
#define PL_CONFIG_DEFAULT_QUOTA_ENVELOPES 10000u
#define PL_CONFIG_DEFAULT_RETENTION_MS (30ull * 24u * 3600u * 1000u)
#define PL_CONFIG_DEFAULT_COMMIT_MAX_BATCH 256u
#define PL_CONFIG_DEFAULT_COMMIT_MAX_DELAY_MS 2u
#define PL_CONFIG_DEFAULT_EXPIRE_INTERVAL_MS (60u * 1000u)
/* GroupSend (PROTOCOL.md §31): room for a group of 1,000 members with 6 devices each. */
#define PL_CONFIG_DEFAULT_MAX_GROUP_RECIPIENT_DEVICES 6000u
/* Attachment blobs (PROTOCOL.md §27, docs/SERVER.md). */
#define PL_CONFIG_DEFAULT_BLOB_MAX_SIZE_MIB 2048u /* 2 GiB of ciphertext per blob */
#define PL_CONFIG_DEFAULT_BLOB_QUOTA_MIB 4096u    /* per account, all its blobs together */
#define PL_CONFIG_DEFAULT_BLOB_MAX_PER_ACCOUNT 1000u
#define PL_CONFIG_DEFAULT_BLOB_EXPIRY_MS (30ull * 24u * 3600u * 1000u)
#define PL_CONFIG_DEFAULT_BLOB_EXPIRE_INTERVAL_MS (60u * 1000u)
/* BlobPut and BlobGet frames have a bucket of their own: a 256 KiB chunk costs its bytes, not
 * a frame's dispatch, and the messaging bucket (100/s) would hold a transfer to 25 MiB/s.
 * 1,000 chunks/s is 250 MiB/s per connection; reads and writes stay bounded by the requests
 * and bytes in flight (conn.c). */
#define PL_CONFIG_DEFAULT_BLOB_FRAMES_PER_SECOND 1000u
#define PL_CONFIG_DEFAULT_BLOB_FRAMES_BURST 400u
/* Key transparency (PROTOCOL.md §24, docs/SERVER.md). */
#define PL_CONFIG_DEFAULT_KT_NAME "localhost"
#define PL_CONFIG_DEFAULT_KT_BATCH_INTERVAL_MS 1000u
#define PL_CONFIG_DEFAULT_KT_HEARTBEAT_MS (60u * 1000u)
#define PL_CONFIG_DEFAULT_KT_MAX_AHEAD_MS (120u * 1000u)
#define PL_CONFIG_DEFAULT_KT_MAX_BEHIND_MS (600u * 1000u)
/* The log's name goes into its origin "<name>/kt/v1/<16 hex digits>" (at most 255 bytes). */
#define PL_CONFIG_KT_NAME_MAX 232u
#define PL_CONFIG_KT_MAX_WITNESSES 8u
/* [kt] quorum when it is not set: every configured witness. */
#define PL_CONFIG_KT_QUORUM_ALL UINT32_MAX

typedef enum pl_config_log_level {
    PL_CONFIG_LOG_ERROR = 0,
    PL_CONFIG_LOG_WARN = 1,
    PL_CONFIG_LOG_INFO = 2,
    PL_CONFIG_LOG_DEBUG = 3,
} pl_config_log_level;

typedef enum pl_config_log_format {
    PL_CONFIG_LOG_TEXT = 0,
    PL_CONFIG_LOG_JSON = 1,
} pl_config_log_format;

/* A numeric listen address. */
typedef struct pl_config_addr {
    struct sockaddr_storage sa; /* AF_INET or AF_INET6, port set, ready for bind() */
    socklen_t sa_len;
    char host[64]; /* the address as written, without brackets */
    uint16_t port; /* 0: the system picks a free port (tests) */
} pl_config_addr;

typedef struct pl_config {
    struct {
        pl_config_addr listen;
        char data_dir[PL_CONFIG_PATH_MAX];
        uint32_t max_connections;
        uint32_t frames_per_second; /* token bucket per connection: refill rate */
        uint32_t frames_burst;      /* ... and bucket size */
        uint32_t max_frame_bytes;
        uint32_t max_envelope_bytes; /* one recipient device's ciphertext */
        uint64_t idle_timeout_ms;
        uint64_t write_timeout_ms; /* queued output making no progress: a slow reader */
        pl_config_log_level log_level;
        pl_config_log_format log_format;
    } server;
    struct {
        /* Both empty (the default): DATA/tls/cert.pem and key.pem, created self-signed on
         * first start. pl_config_tls_paths() resolves them. */
        char cert_file[PL_CONFIG_PATH_MAX];
        char key_file[PL_CONFIG_PATH_MAX];
    } tls;
    struct {
        int enabled;
        pl_config_addr listen; /* loopback only: the admin listener has no authentication */
    } admin;
    struct {
        uint32_t max_devices;
        uint32_t registrations_per_address_per_minute;
    } accounts;
    struct {
        uint32_t max_onetime_prekeys_per_device;
        uint32_t low_watermark; /* tell a device to upload more below this many */
    } prekeys;
    struct {
        uint32_t quota_envelopes; /* per device */
        uint64_t retention_ms;
        uint32_t commit_max_batch;    /* group commit: envelopes per transaction ... */
        uint64_t commit_max_delay_ms; /* ... and the longest wait for more */
        uint64_t expire_interval_ms;  /* how often retention runs */
    } mailbox;
    struct {
        uint32_t max_group_recipient_devices; /* devices addressed by one GroupSend */
    } limits;
    struct {
        uint32_t max_size_mib;       /* largest blob, MiB of ciphertext */
        uint32_t quota_mib;          /* an account's blobs together, until they are deleted */
        uint32_t max_per_account;    /* blobs an account may hold at once */
        uint64_t expiry_ms;          /* a blob is deleted this long after creation at the latest */
        uint64_t expire_interval_ms; /* how often the expiry sweep runs */
        uint32_t frames_per_second;  /* BlobPut/BlobGet bucket per connection: refill rate */
        uint32_t frames_burst;       /* ... and bucket size */
    } blobs;
    struct {
        char name[PL_CONFIG_KT_NAME_MAX + 1]; /* the origin's first part */
        /* Witnesses' cosignature/v1 keys, as written and parsed. `witnesses` may be given on
         * several lines (each a comma-separated list), since eight vkeys do not fit one. */
        uint32_t n_witnesses;
        char witness_vkeys[PL_CONFIG_KT_MAX_WITNESSES][PL_NOTE_VKEY_MAX_BYTES + 1];
        pl_note_verifier witnesses[PL_CONFIG_KT_MAX_WITNESSES];
        uint32_t quorum;            /* 0..n_witnesses, or PL_CONFIG_KT_QUORUM_ALL (the default) */
        uint64_t batch_interval_ms; /* at most one log entry per interval while updates wait */
        uint64_t heartbeat_ms;      /* an entry at least this often when idle */
        uint64_t max_ahead_ms;      /* announced to clients: cosignature clock skew ... */
        uint64_t max_behind_ms;     /* ... and the oldest cosignature they accept */
    } kt;
} pl_config;

/* What went wrong and where. Strings are NUL-terminated and truncated to fit. */
typedef struct pl_config_error {
    int line;         /* 1-based line of the text, 0 when not from a text (override, validate) */
    int sys_errno;    /* errno of a failed file operation, else 0 */
    char section[32]; /* "" when not about one section */
    char key[64];     /* "" when not about one key */
    char message[256];
} pl_config_error;

/* Sets every field to its default. Never fails. */
void pl_config_defaults(pl_config *cfg);

/*
 * Parses INI text text[0..len) (need not be NUL-terminated; a NUL inside is an error) and
 * applies its settings on top of *cfg. All or nothing: on error *cfg is unchanged and
 * *err says where (the first error). Does not run pl_config_validate.
 * Returns PL_OK; PL_E_MALFORMED (syntax: no `=`, text after a [section] header, an
 * indented line, a control character or NUL); PL_E_INVALID_ARG (unknown section or key,
 * key set twice, bad value); PL_E_TOO_LARGE (len > PL_CONFIG_MAX_BYTES, or a line longer
 * than libinih's line buffer, ini_max_line - 2 = 198 characters); or PL_E_NOMEM.
 */
PL_NODISCARD int pl_config_parse_string(pl_config *cfg, const char *text, size_t len,
                                        pl_config_error *err);

/*
 * Reads the file at path (at most PL_CONFIG_MAX_BYTES, a regular file) and parses it with
 * pl_config_parse_string. Returns what that returns, or PL_E_INVALID_ARG with
 * err->sys_errno set if the file cannot be opened or read, or PL_E_TOO_LARGE.
 */
PL_NODISCARD int pl_config_parse_file(pl_config *cfg, const char *path, pl_config_error *err);

/*
 * Sets one setting from its text form, as a `key = value` line under [section] would.
 * On error *cfg is unchanged. err->line is 0 (the parser fills it in for lines).
 * Returns PL_OK or PL_E_INVALID_ARG (unknown section or key, value malformed or out of
 * range, non-loopback admin address).
 */
PL_NODISCARD int pl_config_set(pl_config *cfg, const char *section, const char *key,
                               const char *value, pl_config_error *err);

/*
 * Checks every range again and the rules between settings: the admin listener is on
 * loopback and not on the server's address, both or neither TLS files are set, a frame
 * holds a largest envelope plus PL_CONFIG_FRAME_HEADROOM, low_watermark is below the
 * prekey maximum, data_dir leaves room for DATA/tls/... Returns PL_OK or PL_E_INVALID_ARG.
 */
PL_NODISCARD int pl_config_validate(const pl_config *cfg, pl_config_error *err);

/* The witnesses a published checkpoint needs: quorum, or n_witnesses by default. */
uint32_t pl_config_kt_quorum(const pl_config *cfg);

/*
 * Writes the TLS certificate and key paths to use: the configured ones, or
 * DATA/tls/cert.pem and DATA/tls/key.pem. *is_default is 1 in the second case (the
 * server may create a self-signed pair there). Returns PL_OK or PL_E_TOO_LARGE.
 */
PL_NODISCARD int pl_config_tls_paths(const pl_config *cfg, char cert[PL_CONFIG_PATH_MAX],
                                     char key[PL_CONFIG_PATH_MAX], int *is_default);

/*
 * Formats err as one line for a log or a terminal: "FILE:LINE: [section] key: message",
 * leaving out the parts that are empty (file may be NULL). Returns the length that
 * snprintf would, like snprintf; out is always NUL-terminated when cap > 0.
 */
int pl_config_error_format(const pl_config_error *err, const char *file, char *out, size_t cap);

#endif

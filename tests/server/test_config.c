/*
 * test_config.c: parleyd's config: defaults, every key, units, errors with their line,
 * overrides, validation, and the example config in contrib/.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <sodium.h>
#include <ini.h>

#include "config.h"
#include "frame.h"
#include "testutil.h"

/* contrib/ relative to this file, so the test runs from any working directory. */
static const char *example_path(void)
{
    static char path[1024];
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int n = slash ? (int)(slash - file) : 1;

    snprintf(path, sizeof path, "%.*s/../../contrib/parleyd.conf.example", n, slash ? file : ".");
    return path;
}

static int parse(pl_config *cfg, const char *text, pl_config_error *err)
{
    return pl_config_parse_string(cfg, text, strlen(text), err);
}

/* Parses text on top of the defaults; checks code, line, section and key of the error. */
static void expect_error(const char *text, int code, int line, const char *section, const char *key,
                         const char *needle)
{
    pl_config cfg, before;
    pl_config_error err;
    int r;

    pl_config_defaults(&cfg);
    before = cfg;
    r = parse(&cfg, text, &err);
    if (r != code || err.line != line || strcmp(err.section, section) != 0 ||
        strcmp(err.key, key) != 0 || (needle && !strstr(err.message, needle))) {
        print_error("text: %s\ngot %s line %d [%s] %s: %s\nwant %s line %d [%s] %s (%s)\n", text,
                    pl_errname(r), err.line, err.section, err.key, err.message, pl_errname(code),
                    line, section, key, needle ? needle : "");
        fail();
    }
    /* All or nothing: a failed parse leaves the config as it was. */
    assert_memory_equal(&cfg, &before, sizeof cfg);
}

static void defaults_are_the_documented_values(void **state)
{
    pl_config cfg;
    pl_config_error err;

    (void)state;
    pl_config_defaults(&cfg);
    assert_string_equal(cfg.server.listen.host, "127.0.0.1");
    assert_int_equal(cfg.server.listen.port, 7443);
    assert_int_equal(cfg.server.listen.sa.ss_family, AF_INET);
    assert_string_equal(cfg.server.data_dir, "/var/lib/parley");
    assert_int_equal(cfg.server.max_connections, 10000);
    assert_int_equal(cfg.server.frames_per_second, 100);
    assert_int_equal(cfg.server.frames_burst, 400);
    assert_int_equal(cfg.blobs.frames_per_second, 1000);
    assert_int_equal(cfg.blobs.frames_burst, 400);
    assert_int_equal(cfg.server.max_frame_bytes, 1114112);
    /* 96 KiB of plaintext plus the overhead of a prekey message. */
    assert_int_equal(PL_MESSAGE_MAX_OVERHEAD, 136);
    assert_int_equal(cfg.server.max_envelope_bytes, 98304 + 136);
    assert_int_equal(cfg.server.idle_timeout_ms, 90000);
    assert_int_equal(cfg.server.log_level, PL_CONFIG_LOG_INFO);
    assert_int_equal(cfg.server.log_format, PL_CONFIG_LOG_TEXT);
    assert_string_equal(cfg.tls.cert_file, "");
    assert_string_equal(cfg.tls.key_file, "");
    assert_true(cfg.admin.enabled);
    assert_string_equal(cfg.admin.listen.host, "127.0.0.1");
    assert_int_equal(cfg.admin.listen.port, 7444);
    assert_int_equal(cfg.accounts.max_devices, 6);
    assert_int_equal(cfg.accounts.registrations_per_address_per_minute, 5);
    assert_int_equal(cfg.prekeys.max_onetime_prekeys_per_device, 100);
    assert_int_equal(cfg.prekeys.low_watermark, 10);
    assert_int_equal(cfg.mailbox.quota_envelopes, 10000);
    assert_int_equal(cfg.mailbox.retention_ms, 30ull * 86400 * 1000);
    assert_int_equal(cfg.mailbox.commit_max_batch, 256);
    assert_int_equal(cfg.mailbox.commit_max_delay_ms, 2);
    assert_int_equal(cfg.limits.max_group_recipient_devices, 6000);
    assert_int_equal(pl_config_validate(&cfg, &err), PL_OK);
}

static void empty_text_and_comments_change_nothing(void **state)
{
    pl_config cfg, def;
    pl_config_error err;

    (void)state;
    pl_config_defaults(&def);
    cfg = def;
    assert_int_equal(parse(&cfg, "", &err), PL_OK);
    assert_int_equal(parse(&cfg, "# a\n; b\n\n   \n  # indented\n[server] ; c\n[tls] # d\n", &err),
                     PL_OK);
    assert_memory_equal(&cfg, &def, sizeof cfg);
}

static void every_key_is_set(void **state)
{
    static const char text[] = "[server]\n"
                               "listen = [::]:8443\n"
                               "data_dir = /srv/parley\n"
                               "max_connections = 20000\n"
                               "frames_per_second = 50\n"
                               "frames_burst = 60\n"
                               "max_frame_bytes = 1MiB\n"
                               "max_envelope_bytes = 64KiB\n"
                               "idle_timeout = 2m\n"
                               "log_level = debug\n"
                               "log_format = json\n"
                               "[tls]\n"
                               "cert_file = /etc/letsencrypt/live/x/fullchain.pem\n"
                               "key_file = /etc/letsencrypt/live/x/privkey.pem\n"
                               "[admin]\n"
                               "enabled = no\n"
                               "listen = [::1]:9000\n"
                               "[accounts]\n"
                               "max_devices = 16\n"
                               "registrations_per_address_per_minute = 2\n"
                               "[prekeys]\n"
                               "max_onetime_prekeys_per_device = 500\n"
                               "low_watermark = 0\n"
                               "[mailbox]\n"
                               "quota_envelopes = 50000\n"
                               "retention = 7d\n"
                               "commit_max_batch = 1024\n"
                               "commit_max_delay = 10ms\n";
    pl_config cfg;
    pl_config_error err;

    (void)state;
    pl_config_defaults(&cfg);
    assert_int_equal(parse(&cfg, text, &err), PL_OK);
    assert_string_equal(cfg.server.listen.host, "::");
    assert_int_equal(cfg.server.listen.port, 8443);
    assert_int_equal(cfg.server.listen.sa.ss_family, AF_INET6);
    assert_int_equal(cfg.server.listen.sa_len, sizeof(struct sockaddr_in6));
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&cfg.server.listen.sa)->sin6_port), 8443);
    assert_string_equal(cfg.server.data_dir, "/srv/parley");
    assert_int_equal(cfg.server.max_connections, 20000);
    assert_int_equal(cfg.server.frames_per_second, 50);
    assert_int_equal(cfg.server.frames_burst, 60);
    assert_int_equal(cfg.server.max_frame_bytes, 1048576);
    assert_int_equal(cfg.server.max_envelope_bytes, 65536);
    assert_int_equal(cfg.server.idle_timeout_ms, 120000);
    assert_int_equal(cfg.server.log_level, PL_CONFIG_LOG_DEBUG);
    assert_int_equal(cfg.server.log_format, PL_CONFIG_LOG_JSON);
    assert_string_equal(cfg.tls.cert_file, "/etc/letsencrypt/live/x/fullchain.pem");
    assert_string_equal(cfg.tls.key_file, "/etc/letsencrypt/live/x/privkey.pem");
    assert_false(cfg.admin.enabled);
    assert_string_equal(cfg.admin.listen.host, "::1");
    assert_int_equal(cfg.admin.listen.port, 9000);
    assert_int_equal(cfg.accounts.max_devices, 16);
    assert_int_equal(cfg.accounts.registrations_per_address_per_minute, 2);
    assert_int_equal(cfg.prekeys.max_onetime_prekeys_per_device, 500);
    assert_int_equal(cfg.prekeys.low_watermark, 0);
    assert_int_equal(cfg.mailbox.quota_envelopes, 50000);
    assert_int_equal(cfg.mailbox.retention_ms, 7ull * 86400 * 1000);
    assert_int_equal(cfg.mailbox.commit_max_batch, 1024);
    assert_int_equal(cfg.mailbox.commit_max_delay_ms, 10);
    assert_int_equal(pl_config_validate(&cfg, &err), PL_OK);
}

/* Numbered table: a value for a key, and what it must become (or an error). */
static void units_and_numbers(void **state)
{
    static const struct {
        const char *section, *key, *value;
        int ok;
        uint64_t want;
    } t[] = {
        /* 1 */ {"mailbox", "retention", "1m", 1, 60000},
        /* 2 */ {"mailbox", "retention", "60s", 1, 60000},
        /* 3 */ {"mailbox", "retention", "59s", 0, 0}, /* below one minute */
        /* 4 */ {"mailbox", "retention", "60000ms", 1, 60000},
        /* 5 */ {"mailbox", "retention", "24h", 1, 86400000},
        /* 6 */ {"mailbox", "retention", "365d", 1, 365ull * 86400000},
        /* 7 */ {"mailbox", "retention", "366d", 0, 0},
        /* 8 */ {"mailbox", "retention", "30", 0, 0}, /* no unit */
        /* 9 */ {"mailbox", "retention", "30 d", 1, 30ull * 86400000},
        /* 10 */ {"mailbox", "retention", "30D", 0, 0},
        /* 11 */ {"mailbox", "retention", "30days", 0, 0},
        /* 12 */ {"mailbox", "retention", "-1d", 0, 0},
        /* 13 */ {"mailbox", "retention", "+1d", 0, 0},
        /* 14 */ {"mailbox", "retention", "1.5d", 0, 0},
        /* 15 */ {"mailbox", "retention", "99999999999999999999d", 0, 0}, /* 20 digits */
        /* 16 */ {"mailbox", "retention", "9999999999999999999d", 0, 0},  /* overflows */
        /* 17 */ {"mailbox", "retention", "d", 0, 0},
        /* 18 */ {"mailbox", "retention", "", 0, 0},
        /* 19 */ {"mailbox", "commit_max_delay", "0ms", 1, 0},
        /* 20 */ {"mailbox", "commit_max_delay", "1s", 1, 1000},
        /* 21 */ {"mailbox", "commit_max_delay", "1001ms", 0, 0},
        /* 22 */ {"server", "max_envelope_bytes", "96KiB", 1, 98304},
        /* 23 */ {"server", "max_envelope_bytes", "96 KiB", 1, 98304},
        /* 24 */ {"server", "max_envelope_bytes", "98440", 1, 98440},
        /* 25 */ {"server", "max_envelope_bytes", "98440B", 1, 98440},
        /* 26 */ {"server", "max_envelope_bytes", "1024", 1, 1024},
        /* 27 */ {"server", "max_envelope_bytes", "1023", 0, 0},
        /* 28 */ {"server", "max_envelope_bytes", "16MiB", 1, 16777216},
        /* 29 */ {"server", "max_envelope_bytes", "16777217", 0, 0},
        /* 30 */ {"server", "max_envelope_bytes", "96KB", 0, 0}, /* 1000 or 1024? */
        /* 31 */ {"server", "max_envelope_bytes", "96k", 0, 0},
        /* 32 */ {"server", "max_envelope_bytes", "0x1000", 0, 0},
        /* 33 */ {"server", "max_frame_bytes", "1088KiB", 1, 1088ull << 10},
        /* 34 */ {"server", "max_frame_bytes", "1089KiB", 0, 0},
        /* 35 */ {"server", "max_frame_bytes", "18446744073709551615MiB", 0, 0},
        /* 36 */ {"server", "max_connections", "1", 1, 1},
        /* 37 */ {"server", "max_connections", "0", 0, 0},
        /* 38 */ {"server", "max_connections", "1000000", 1, 1000000},
        /* 39 */ {"server", "max_connections", "1000001", 0, 0},
        /* 40 */ {"server", "max_connections", "4294967297", 0, 0}, /* 2^32 + 1 */
        /* 41 */ {"server", "max_connections", "12 ", 1, 12},       /* libinih strips */
        /* 42 */ {"server", "max_connections", "1 2", 0, 0},
        /* 43 */ {"server", "max_connections", "007", 1, 7},
        /* 44 */ {"accounts", "max_devices", "16", 1, 16},
        /* 45 */ {"accounts", "max_devices", "17", 0, 0},
        /* 46 */ {"accounts", "max_devices", "0", 0, 0},
        /* 47 */ {"server", "idle_timeout", "10s", 1, 10000},
        /* 48 */ {"server", "idle_timeout", "9s", 0, 0},
        /* 49 */ {"server", "idle_timeout", "1h", 1, 3600000},
        /* 50 */ {"server", "idle_timeout", "61m", 0, 0},
        /* 51 */ {"server", "frames_per_second", "100000", 1, 100000},
        /* 52 */ {"server", "frames_per_second", "100001", 0, 0},
        /* 53 */ {"prekeys", "low_watermark", "9999", 1, 9999},
        /* 54 */ {"prekeys", "low_watermark", "10000", 0, 0},
        /* 55 */ {"mailbox", "quota_envelopes", "10000000", 1, 10000000},
        /* 56 */ {"mailbox", "quota_envelopes", "10000001", 0, 0},
        /* 57 */ {"blobs", "frames_per_second", "100000", 1, 100000},
        /* 58 */ {"blobs", "frames_per_second", "0", 0, 0},
    };
    char text[256];

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        pl_config cfg;
        pl_config_error err;
        uint64_t got = 0;
        int r;

        pl_config_defaults(&cfg);
        snprintf(text, sizeof text, "[%s]\n%s = %s\n", t[i].section, t[i].key, t[i].value);
        r = parse(&cfg, text, &err);
        if (r == PL_OK) {
            if (!strcmp(t[i].key, "retention"))
                got = cfg.mailbox.retention_ms;
            else if (!strcmp(t[i].key, "commit_max_delay"))
                got = cfg.mailbox.commit_max_delay_ms;
            else if (!strcmp(t[i].key, "max_envelope_bytes"))
                got = cfg.server.max_envelope_bytes;
            else if (!strcmp(t[i].key, "max_frame_bytes"))
                got = cfg.server.max_frame_bytes;
            else if (!strcmp(t[i].key, "max_connections"))
                got = cfg.server.max_connections;
            else if (!strcmp(t[i].key, "max_devices"))
                got = cfg.accounts.max_devices;
            else if (!strcmp(t[i].key, "idle_timeout"))
                got = cfg.server.idle_timeout_ms;
            else if (!strcmp(t[i].key, "frames_per_second"))
                got = !strcmp(t[i].section, "blobs") ? cfg.blobs.frames_per_second
                                                     : cfg.server.frames_per_second;
            else if (!strcmp(t[i].key, "low_watermark"))
                got = cfg.prekeys.low_watermark;
            else if (!strcmp(t[i].key, "quota_envelopes"))
                got = cfg.mailbox.quota_envelopes;
        }
        if ((r == PL_OK) != t[i].ok || (t[i].ok && got != t[i].want) ||
            (!t[i].ok &&
             (r != PL_E_INVALID_ARG || err.line != 2 || strcmp(err.key, t[i].key) != 0))) {
            print_error("case %zu: %s = \"%s\": got %s %llu (line %d: %s)\n", i + 1, t[i].key,
                        t[i].value, pl_errname(r), (unsigned long long)got, err.line, err.message);
            fail();
        }
    }
}

static void booleans_and_words(void **state)
{
    static const struct {
        const char *text;
        int enabled; /* -1: error */
    } t[] = {
        {"true", 1}, {"yes", 1}, {"on", 1}, {"TRUE", 1}, {"false", 0}, {"no", 0},     {"off", 0},
        {"Off", 0},  {"1", -1},  {"0", -1}, {"", -1},    {"y", -1},    {"truee", -1},
    };
    char text[128];

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        pl_config cfg;
        pl_config_error err;
        int r;

        pl_config_defaults(&cfg);
        cfg.admin.enabled = 7;
        snprintf(text, sizeof text, "[admin]\nenabled = %s\n", t[i].text);
        r = parse(&cfg, text, &err);
        if (t[i].enabled < 0) {
            assert_int_equal(r, PL_E_INVALID_ARG);
            assert_int_equal(cfg.admin.enabled, 7);
        } else {
            assert_int_equal(r, PL_OK);
            assert_int_equal(cfg.admin.enabled, t[i].enabled);
        }
    }
    {
        pl_config cfg;
        pl_config_error err;

        pl_config_defaults(&cfg);
        assert_int_equal(parse(&cfg, "[server]\nlog_level = WARN\nlog_format = JSON\n", &err),
                         PL_OK);
        assert_int_equal(cfg.server.log_level, PL_CONFIG_LOG_WARN);
        assert_int_equal(cfg.server.log_format, PL_CONFIG_LOG_JSON);
        assert_int_equal(parse(&cfg, "[server]\nlog_level = error\n", &err), PL_OK);
        assert_int_equal(cfg.server.log_level, PL_CONFIG_LOG_ERROR);
    }
    expect_error("[server]\nlog_level = verbose\n", PL_E_INVALID_ARG, 2, "server", "log_level",
                 "expected error, warn, info or debug");
    expect_error("[server]\nlog_format = xml\n", PL_E_INVALID_ARG, 2, "server", "log_format",
                 "expected text or json");
}

static void addresses(void **state)
{
    static const struct {
        const char *value;
        int ok;
        int family;
        const char *host;
        int port;
    } t[] = {
        /* 1 */ {"0.0.0.0:7443", 1, AF_INET, "0.0.0.0", 7443},
        /* 2 */ {"[::]:443", 1, AF_INET6, "::", 443},
        /* 3 */ {"192.0.2.10:65535", 1, AF_INET, "192.0.2.10", 65535},
        /* 4 */ {"127.0.0.1:0", 1, AF_INET, "127.0.0.1", 0},
        /* 5 */ {"[2001:db8::1]:1", 1, AF_INET6, "2001:db8::1", 1},
        /* 6 */ {"127.0.0.1:65536", 0, 0, NULL, 0},
        /* 7 */ {"127.0.0.1", 0, 0, NULL, 0},
        /* 8 */ {"127.0.0.1:", 0, 0, NULL, 0},
        /* 9 */ {":7443", 0, 0, NULL, 0},
        /* 10 */ {"::1:7443", 0, 0, NULL, 0}, /* IPv6 without brackets */
        /* 11 */ {"[::1]7443", 0, 0, NULL, 0},
        /* 12 */ {"[::1:7443", 0, 0, NULL, 0},
        /* 13 */ {"[127.0.0.1]:7443", 0, 0, NULL, 0},
        /* 14 */ {"localhost:7443", 0, 0, NULL, 0}, /* no DNS */
        /* 15 */ {"256.0.0.1:7443", 0, 0, NULL, 0},
        /* 16 */ {"127.0.0.1:-1", 0, 0, NULL, 0},
        /* 17 */ {"127.0.0.1:+80", 0, 0, NULL, 0},
        /* 18 */ {"127.1:7443", 0, 0, NULL, 0}, /* inet_pton is strict, unlike inet_aton */
        /* 19 */ {"[]:7443", 0, 0, NULL, 0},
        /* 20 */ {"[fe80::1%eth0]:7443", 0, 0, NULL, 0},
    };
    char text[128];

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        pl_config cfg;
        pl_config_error err;
        int r;

        pl_config_defaults(&cfg);
        snprintf(text, sizeof text, "[server]\nlisten = %s\n", t[i].value);
        r = parse(&cfg, text, &err);
        if ((r == PL_OK) != t[i].ok) {
            print_error("case %zu: \"%s\": got %s: %s\n", i + 1, t[i].value, pl_errname(r),
                        err.message);
            fail();
        }
        if (t[i].ok) {
            assert_int_equal(cfg.server.listen.sa.ss_family, t[i].family);
            assert_string_equal(cfg.server.listen.host, t[i].host);
            assert_int_equal(cfg.server.listen.port, t[i].port);
        } else {
            assert_int_equal(err.line, 2);
            assert_string_equal(err.key, "listen");
        }
    }
}

static void admin_listener_is_loopback_only(void **state)
{
    static const struct {
        const char *value;
        int ok;
    } t[] = {
        {"127.0.0.1:7444", 1},          {"127.8.9.10:1", 1},   {"[::1]:7444", 1},
        {"[::ffff:127.0.0.1]:7444", 1}, {"0.0.0.0:7444", 0},   {"[::]:7444", 0},
        {"192.168.1.2:7444", 0},        {"128.0.0.1:7444", 0}, {"[::2]:7444", 0},
        {"[::ffff:10.0.0.1]:7444", 0},
    };
    char text[128];

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        pl_config cfg;
        pl_config_error err;
        int r;

        pl_config_defaults(&cfg);
        snprintf(text, sizeof text, "# admin\n[admin]\nlisten = %s\n", t[i].value);
        r = parse(&cfg, text, &err);
        if ((r == PL_OK) != t[i].ok) {
            print_error("case %zu: \"%s\": got %s: %s\n", i + 1, t[i].value, pl_errname(r),
                        err.message);
            fail();
        }
        if (!t[i].ok) {
            assert_int_equal(err.line, 3);
            assert_string_equal(err.section, "admin");
            assert_string_equal(err.key, "listen");
            assert_non_null(strstr(err.message, "not a loopback address"));
        } else {
            assert_int_equal(pl_config_validate(&cfg, &err), PL_OK);
        }
    }
}

static void errors_carry_line_section_and_key(void **state)
{
    (void)state;
    expect_error("[server]\nlisten = 127.0.0.1:7443\nmax_connections = lots\n", PL_E_INVALID_ARG, 3,
                 "server", "max_connections", "\"lots\" is not valid");
    expect_error("# comment\n\n[mailbox]\nretention = 30\n", PL_E_INVALID_ARG, 4, "mailbox",
                 "retention", "unit");
    expect_error("[server]\nmax_frame_bytes = 127KiB\n", PL_E_INVALID_ARG, 2, "server",
                 "max_frame_bytes", "out of range: must be from 131072 to 1114112");
    expect_error("[server]\ndata_dir =\n", PL_E_INVALID_ARG, 2, "server", "data_dir",
                 "must not be empty");
    expect_error("[server]\ndata_dir = \"/var/lib/parley\"\n", PL_E_INVALID_ARG, 2, "server",
                 "data_dir", "without quotes");
    expect_error("[server]\nlisten = 0.0.0.0:7443 # public\n", PL_E_INVALID_ARG, 2, "server",
                 "listen", "not \"#\"");
    /* Syntax errors: libinih's line. */
    expect_error("[server]\nlisten\n", PL_E_MALFORMED, 2, "", "", "syntax error");
    expect_error("[server\nlisten = 127.0.0.1:1\n", PL_E_MALFORMED, 1, "", "", "syntax error");
    /* The first error wins. */
    expect_error("[server]\nmax_connections = x\nmax_devices = 2\n", PL_E_INVALID_ARG, 2, "server",
                 "max_connections", NULL);
}

static void unknown_sections_and_keys_are_errors(void **state)
{
    (void)state;
    expect_error("[sever]\nlisten = 127.0.0.1:7443\n", PL_E_INVALID_ARG, 1, "", "",
                 "unknown section [sever]");
    expect_error("[server]\n[bogus]\n", PL_E_INVALID_ARG, 2, "", "", "unknown section [bogus]");
    expect_error("[Server]\n", PL_E_INVALID_ARG, 1, "", "", "unknown section [Server]");
    expect_error("[ server ]\n", PL_E_INVALID_ARG, 1, "", "", "unknown section [ server ]");
    expect_error("[server]\nlisten = 127.0.0.1:7443\nlisen = 127.0.0.1:1\n", PL_E_INVALID_ARG, 3,
                 "server", "lisen", "unknown key \"lisen\" in [server]");
    expect_error("[server]\nmax_devices = 3\n", PL_E_INVALID_ARG, 2, "server", "max_devices",
                 "unknown key");
    expect_error("[server]\nLISTEN = 127.0.0.1:1\n", PL_E_INVALID_ARG, 2, "server", "LISTEN",
                 "unknown key");
    expect_error("listen = 127.0.0.1:7443\n", PL_E_INVALID_ARG, 1, "", "listen",
                 "before any [section]");
}

static void a_key_set_twice_is_an_error(void **state)
{
    (void)state;
    expect_error("[server]\nlisten = 127.0.0.1:1\n\nlisten = 127.0.0.1:2\n", PL_E_INVALID_ARG, 4,
                 "server", "listen", "set twice (first on line 2)");
    /* Also across two [server] sections. */
    expect_error("[server]\nmax_connections = 5\n[tls]\n[server]\nmax_connections = 6\n",
                 PL_E_INVALID_ARG, 5, "server", "max_connections", "first on line 2");
}

static void indented_control_and_nul_are_errors(void **state)
{
    static const char nul_text[] = "[server]\nlisten = 1\0.0.0.1:1\n";
    pl_config cfg;
    pl_config_error err;

    (void)state;
    /* libinih would take this as a continuation of listen's value. */
    expect_error("[server]\nlisten = 127.0.0.1:1\n  data_dir = /x\n", PL_E_MALFORMED, 3, "", "",
                 "indented line");
    expect_error("[server]\n\t[admin]\n", PL_E_MALFORMED, 2, "", "", "indented line");
    expect_error("[server]\ndata_dir = /a\x01"
                 "b\n",
                 PL_E_MALFORMED, 2, "", "", "control character 0x01");
    expect_error("[server]\ndata_dir = /a\rb\n", PL_E_MALFORMED, 2, "", "", "0x0d");
    expect_error("[server]\x7f\n", PL_E_MALFORMED, 1, "", "", "0x7f");
    expect_error("[server] listen = 127.0.0.1:1\n", PL_E_MALFORMED, 1, "", "",
                 "text after the [section] header");
    pl_config_defaults(&cfg);
    assert_int_equal(pl_config_parse_string(&cfg, nul_text, sizeof nul_text - 1, &err),
                     PL_E_MALFORMED);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.message, "NUL"));
}

static void crlf_bom_tabs_and_unterminated_text(void **state)
{
    static const char text[] = "\xef\xbb\xbf[server]\r\nmax_connections\t=\t77\r\n"
                               "data_dir = /srv/p ; trailing comment\r\n"
                               "frames_burst: 9"; /* no final newline; ':' as libinih allows */
    char buf[64];
    pl_config cfg;
    pl_config_error err;

    (void)state;
    pl_config_defaults(&cfg);
    assert_int_equal(parse(&cfg, text, &err), PL_OK);
    assert_int_equal(cfg.server.max_connections, 77);
    assert_string_equal(cfg.server.data_dir, "/srv/p");
    assert_int_equal(cfg.server.frames_burst, 9);

    /* The length is the bound, not a NUL: "max_connections = 12345" cut after "12". */
    memcpy(buf, "[server]\nmax_connections = 12345", 33);
    pl_config_defaults(&cfg);
    assert_int_equal(pl_config_parse_string(&cfg, buf, 29, &err), PL_OK);
    assert_int_equal(cfg.server.max_connections, 12);
}

static void long_lines_and_long_texts(void **state)
{
    /* libinih's buffer is ini_max_line bytes: the line, its '\n' and a NUL. */
    size_t max = (size_t)ini_max_line - 2;
    size_t cap = PL_CONFIG_MAX_BYTES + 2;
    char *text = malloc(cap);
    pl_config cfg, before;
    pl_config_error err;
    size_t n;

    (void)state;
    assert_non_null(text);
    pl_config_defaults(&cfg);
    before = cfg;

    /* A comment line of exactly the maximum, then one byte more. */
    n = (size_t)snprintf(text, cap, "[server]\n#");
    memset(text + n, 'x', max - 1);
    strcpy(text + n + max - 1, "\nmax_connections = 3\n");
    assert_int_equal(parse(&cfg, text, &err), PL_OK);
    assert_int_equal(cfg.server.max_connections, 3);

    cfg = before;
    n = (size_t)snprintf(text, cap, "[server]\n#");
    memset(text + n, 'x', max);
    strcpy(text + n + max, "\nmax_connections = 3\n");
    assert_int_equal(parse(&cfg, text, &err), PL_E_TOO_LARGE);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.message, "line longer than"));
    assert_memory_equal(&cfg, &before, sizeof cfg);

    /* A long value must not be cut and its tail read as a line of its own. */
    n = (size_t)snprintf(text, cap, "[server]\ndata_dir = /");
    memset(text + n, 'd', 300);
    strcpy(text + n + 300, "\n");
    assert_int_equal(parse(&cfg, text, &err), PL_E_TOO_LARGE);
    assert_int_equal(err.line, 2);

    /* Exactly PL_CONFIG_MAX_BYTES of comments parses; one byte more does not. */
    memset(text, '\n', cap);
    memcpy(text, "[server]\n", 9);
    assert_int_equal(pl_config_parse_string(&cfg, text, PL_CONFIG_MAX_BYTES, &err), PL_OK);
    assert_int_equal(pl_config_parse_string(&cfg, text, PL_CONFIG_MAX_BYTES + 1, &err),
                     PL_E_TOO_LARGE);
    free(text);
}

/* [limits] max_group_recipient_devices (PROTOCOL.md §31): 1 up to the wire's 10,000. */
static void group_recipient_limit_range(void **state)
{
    static const struct {
        const char *value;
        int want;
        uint32_t got;
    } rows[] = {
        {"1", PL_OK, 1},
        {"10000", PL_OK, 10000},
        {"0", PL_E_INVALID_ARG, 6000},
        {"10001", PL_E_INVALID_ARG, 6000},
        {"many", PL_E_INVALID_ARG, 6000},
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pl_config cfg;
        pl_config_error err;

        pl_config_defaults(&cfg);
        assert_int_equal(
            pl_config_set(&cfg, "limits", "max_group_recipient_devices", rows[i].value, &err),
            rows[i].want);
        assert_int_equal(cfg.limits.max_group_recipient_devices, rows[i].got);
    }
}

static void overrides_use_the_same_checks(void **state)
{
    pl_config cfg, before;
    pl_config_error err;

    (void)state;
    pl_config_defaults(&cfg);
    assert_int_equal(parse(&cfg, "[server]\nlisten = 127.0.0.1:1\n", &err), PL_OK);
    /* --listen, --data-dir, --admin */
    assert_int_equal(pl_config_set(&cfg, "server", "listen", "0.0.0.0:7443", &err), PL_OK);
    assert_string_equal(cfg.server.listen.host, "0.0.0.0");
    assert_int_equal(pl_config_set(&cfg, "server", "data_dir", "./data", &err), PL_OK);
    assert_string_equal(cfg.server.data_dir, "./data");
    assert_int_equal(pl_config_set(&cfg, "admin", "listen", "[::1]:8000", &err), PL_OK);
    assert_int_equal(cfg.admin.listen.port, 8000);

    before = cfg;
    assert_int_equal(pl_config_set(&cfg, "admin", "listen", "10.0.0.1:8000", &err),
                     PL_E_INVALID_ARG);
    assert_int_equal(err.line, 0);
    assert_string_equal(err.section, "admin");
    assert_string_equal(err.key, "listen");
    assert_int_equal(pl_config_set(&cfg, "server", "listen", "nowhere", &err), PL_E_INVALID_ARG);
    assert_int_equal(pl_config_set(&cfg, "server", "nosuch", "1", &err), PL_E_INVALID_ARG);
    assert_non_null(strstr(err.message, "unknown key"));
    assert_int_equal(pl_config_set(&cfg, "nosuch", "listen", "1", &err), PL_E_INVALID_ARG);
    assert_non_null(strstr(err.message, "unknown section"));
    assert_int_equal(pl_config_set(&cfg, "server", "data_dir", "/a\nb", &err), PL_E_INVALID_ARG);
    /* Values quoted in messages stay printable. */
    assert_int_equal(pl_config_set(&cfg, "server", "listen", "\x1b[2J:1", &err), PL_E_INVALID_ARG);
    assert_null(strchr(err.message, 0x1b));
    assert_non_null(strstr(err.message, "\"?[2J:1\""));
    assert_memory_equal(&cfg, &before, sizeof cfg);

    /* A path of PL_CONFIG_PATH_MAX - 1 bytes fits; one more does not. */
    {
        char path[PL_CONFIG_PATH_MAX + 1];

        memset(path, 'p', sizeof path);
        path[0] = '/';
        path[PL_CONFIG_PATH_MAX - 1] = '\0';
        assert_int_equal(pl_config_set(&cfg, "tls", "cert_file", path, &err), PL_OK);
        path[PL_CONFIG_PATH_MAX - 1] = 'p';
        path[PL_CONFIG_PATH_MAX] = '\0';
        assert_int_equal(pl_config_set(&cfg, "tls", "cert_file", path, &err), PL_E_INVALID_ARG);
    }
}

static void validate_checks_rules_between_settings(void **state)
{
    pl_config cfg;
    pl_config_error err;

    (void)state;
#define EXPECT_INVALID(edit, want_section, want_key)                                               \
    do {                                                                                           \
        pl_config_defaults(&cfg);                                                                  \
        edit;                                                                                      \
        assert_int_equal(pl_config_validate(&cfg, &err), PL_E_INVALID_ARG);                        \
        assert_int_equal(err.line, 0);                                                             \
        assert_string_equal(err.section, want_section);                                            \
        assert_string_equal(err.key, want_key);                                                    \
    } while (0)

    EXPECT_INVALID(cfg.server.max_connections = 0, "server", "max_connections");
    EXPECT_INVALID(cfg.server.frames_per_second = 0, "server", "frames_per_second");
    EXPECT_INVALID(cfg.server.frames_burst = 0, "server", "frames_burst");
    EXPECT_INVALID(cfg.mailbox.retention_ms = 59999, "mailbox", "retention");
    EXPECT_INVALID(cfg.mailbox.quota_envelopes = 0, "mailbox", "quota_envelopes");
    EXPECT_INVALID(cfg.mailbox.commit_max_batch = 0, "mailbox", "commit_max_batch");
    EXPECT_INVALID(cfg.accounts.max_devices = 17, "accounts", "max_devices");
    EXPECT_INVALID(cfg.server.data_dir[0] = '\0', "server", "data_dir");
    EXPECT_INVALID(cfg.server.log_level = (pl_config_log_level)9, "server", "log_level");
    EXPECT_INVALID(cfg.server.log_format = (pl_config_log_format)2, "server", "log_format");
    /* The admin listener: loopback only, and not the server's port. */
    EXPECT_INVALID(
        assert_int_equal(pl_config_set(&cfg, "server", "listen", "0.0.0.0:7444", &err), PL_OK),
        "admin", "listen");
    EXPECT_INVALID(
        assert_int_equal(pl_config_set(&cfg, "server", "listen", "127.0.0.1:7444", &err), PL_OK),
        "admin", "listen");
    /* [::] takes IPv4 too where the system maps it. */
    EXPECT_INVALID(
        assert_int_equal(pl_config_set(&cfg, "server", "listen", "[::]:7444", &err), PL_OK),
        "admin", "listen");
    EXPECT_INVALID(memset(&cfg.server.listen, 0, sizeof cfg.server.listen), "server", "listen");
    /* Both TLS files or neither. */
    EXPECT_INVALID(strcpy(cfg.tls.cert_file, "/c.pem"), "tls", "key_file");
    EXPECT_INVALID(strcpy(cfg.tls.key_file, "/k.pem"), "tls", "cert_file");
    /* A frame must carry the largest envelope. */
    EXPECT_INVALID((cfg.server.max_frame_bytes = PL_FRAME_MIN_MAX_BYTES,
                    cfg.server.max_envelope_bytes = PL_FRAME_MIN_MAX_BYTES - 1023),
                   "server", "max_frame_bytes");
    EXPECT_INVALID(cfg.prekeys.low_watermark = 100, "prekeys", "low_watermark");
    EXPECT_INVALID(memset(cfg.server.data_dir, 'd', PL_CONFIG_PATH_MAX - 2), "server", "data_dir");
#undef EXPECT_INVALID

    /* What is allowed. */
    pl_config_defaults(&cfg);
    cfg.server.max_frame_bytes = PL_FRAME_MIN_MAX_BYTES;
    cfg.server.max_envelope_bytes = PL_FRAME_MIN_MAX_BYTES - 1024;
    cfg.prekeys.low_watermark = 99;
    assert_int_equal(pl_config_set(&cfg, "admin", "listen", "127.0.0.2:7443", &err), PL_OK);
    assert_int_equal(pl_config_validate(&cfg, &err), PL_OK); /* same port, other address */
    /* A disabled admin listener is not checked. */
    cfg.admin.enabled = 0;
    assert_int_equal(pl_config_set(&cfg, "server", "listen", "0.0.0.0:7443", &err), PL_OK);
    assert_int_equal(pl_config_validate(&cfg, &err), PL_OK);
}

static void tls_paths_default_to_the_data_dir(void **state)
{
    char cert[PL_CONFIG_PATH_MAX], key[PL_CONFIG_PATH_MAX];
    pl_config cfg;
    pl_config_error err;
    int is_default = -1;

    (void)state;
    pl_config_defaults(&cfg);
    assert_int_equal(pl_config_tls_paths(&cfg, cert, key, &is_default), PL_OK);
    assert_true(is_default);
    assert_string_equal(cert, "/var/lib/parley/tls/cert.pem");
    assert_string_equal(key, "/var/lib/parley/tls/key.pem");
    assert_int_equal(parse(&cfg, "[tls]\ncert_file = /e/full.pem\nkey_file = /e/priv.pem\n", &err),
                     PL_OK);
    assert_int_equal(pl_config_tls_paths(&cfg, cert, key, &is_default), PL_OK);
    assert_false(is_default);
    assert_string_equal(cert, "/e/full.pem");
    assert_string_equal(key, "/e/priv.pem");
    /* An empty value goes back to the default. */
    assert_int_equal(parse(&cfg, "[tls]\ncert_file =\nkey_file =\n", &err), PL_OK);
    assert_int_equal(pl_config_tls_paths(&cfg, cert, key, &is_default), PL_OK);
    assert_true(is_default);
    /* A data_dir that leaves no room. */
    memset(cfg.server.data_dir, 'd', PL_CONFIG_PATH_MAX - 1);
    cfg.server.data_dir[PL_CONFIG_PATH_MAX - 1] = '\0';
    assert_int_equal(pl_config_tls_paths(&cfg, cert, key, &is_default), PL_E_TOO_LARGE);
    assert_string_equal(cert, "");
}

static void error_format_names_file_line_section_and_key(void **state)
{
    char out[512];
    pl_config cfg;
    pl_config_error err;

    (void)state;
    pl_config_defaults(&cfg);
    assert_int_equal(parse(&cfg, "[mailbox]\nretention = 2\n", &err), PL_E_INVALID_ARG);
    pl_config_error_format(&err, "/etc/parley/parleyd.conf", out, sizeof out);
    assert_string_equal(out, "/etc/parley/parleyd.conf:2: [mailbox] retention: \"2\" is not "
                             "valid: expected a number with a unit: ms, s, m, h or d");
    pl_config_error_format(&err, NULL, out, sizeof out);
    assert_int_equal(strncmp(out, "line 2: [mailbox] retention: ", 29), 0);
    assert_int_equal(pl_config_set(&cfg, "admin", "listen", "1.2.3.4:5", &err), PL_E_INVALID_ARG);
    pl_config_error_format(&err, NULL, out, sizeof out);
    assert_int_equal(strncmp(out, "[admin] listen: \"1.2.3.4:5\" is not a loopback", 45), 0);
    /* Truncates, NUL-terminated. */
    assert_true(pl_config_error_format(&err, NULL, out, 8) > 8);
    assert_string_equal(out, "[admin]");
}

static void the_example_config_is_the_defaults(void **state)
{
    pl_config cfg, def;
    pl_config_error err;
    int r;

    (void)state;
    pl_config_defaults(&def);
    pl_config_defaults(&cfg);
    cfg.server.max_connections = 1; /* the example must set it back */
    r = pl_config_parse_file(&cfg, example_path(), &err);
    if (r != PL_OK) {
        char out[512];

        pl_config_error_format(&err, example_path(), out, sizeof out);
        print_error("%s\n", out);
    }
    assert_int_equal(r, PL_OK);
    assert_int_equal(pl_config_validate(&cfg, &err), PL_OK);
    /* "Every setting below is shown with its default". */
    assert_memory_equal(&cfg, &def, sizeof cfg);
}

/* A witness vkey (cosignature/v1 unless type says otherwise) named name, into out. */
static void make_vkey(const char *name, uint8_t type, char *out, size_t cap)
{
    uint8_t pk[32], sk[64];
    pl_note_verifier v;
    size_t len;

    crypto_sign_keypair(pk, sk);
    assert_int_equal(pl_note_verifier_init(name, strlen(name), type, pk, &v), PL_OK);
    assert_int_equal(pl_note_verifier_format(&v, out, cap - 1, &len), PL_OK);
    out[len] = '\0';
}

static void kt_settings(void **state)
{
    char w[9][PL_NOTE_VKEY_MAX_BYTES + 1], ed[PL_NOTE_VKEY_MAX_BYTES + 1], text[2048];
    pl_config cfg;
    pl_config_error err;

    (void)state;
    for (int i = 0; i < 9; i++) {
        char name[16];

        snprintf(name, sizeof name, "w%d.test", i);
        make_vkey(name, PL_NOTE_TYPE_COSIGNATURE_V1, w[i], sizeof w[i]);
    }
    make_vkey("log.test", PL_NOTE_TYPE_ED25519, ed, sizeof ed);

    /* Defaults: no witness, quorum "all" (0 of 0). */
    pl_config_defaults(&cfg);
    assert_string_equal(cfg.kt.name, "localhost");
    assert_int_equal(cfg.kt.n_witnesses, 0);
    assert_int_equal(pl_config_kt_quorum(&cfg), 0);
    assert_int_equal(cfg.kt.batch_interval_ms, 1000);
    assert_int_equal(cfg.kt.heartbeat_ms, 60000);

    /* Two lines of witnesses add up; quorum defaults to all of them. */
    snprintf(text, sizeof text,
             "[kt]\nname = chat.example.org\nwitnesses = %s, %s\nwitnesses = %s\n"
             "batch_interval = 250ms\nheartbeat = 5s\nmax_ahead = 30s\nmax_behind = 1h\n",
             w[0], w[1], w[2]);
    pl_config_defaults(&cfg);
    assert_int_equal(parse(&cfg, text, &err), PL_OK);
    assert_int_equal(pl_config_validate(&cfg, &err), PL_OK);
    assert_int_equal(cfg.kt.n_witnesses, 3);
    assert_string_equal(cfg.kt.witness_vkeys[2], w[2]);
    assert_string_equal(cfg.kt.witnesses[1].name, "w1.test");
    assert_int_equal(pl_config_kt_quorum(&cfg), 3);
    assert_string_equal(cfg.kt.name, "chat.example.org");
    assert_int_equal(cfg.kt.batch_interval_ms, 250);
    assert_int_equal(cfg.kt.max_behind_ms, 3600000);
    assert_int_equal(pl_config_set(&cfg, "kt", "quorum", "2", &err), PL_OK);
    assert_int_equal(pl_config_kt_quorum(&cfg), 2);
    /* A quorum above the witnesses is refused by validate. */
    assert_int_equal(pl_config_set(&cfg, "kt", "quorum", "4", &err), PL_OK);
    assert_int_equal(pl_config_validate(&cfg, &err), PL_E_INVALID_ARG);
    assert_string_equal(err.key, "quorum");

    /* Refusals, each on its line and leaving the config as it was. */
    snprintf(text, sizeof text, "[kt]\nwitnesses = %s\n", ed);
    expect_error(text, PL_E_INVALID_ARG, 2, "kt", "witnesses", "cosignature/v1");
    snprintf(text, sizeof text, "[kt]\nwitnesses = %s,%s\n", w[0], w[0]);
    expect_error(text, PL_E_INVALID_ARG, 2, "kt", "witnesses", "twice");
    snprintf(text, sizeof text, "[kt]\nwitnesses = %s,\n", w[0]);
    expect_error(text, PL_E_INVALID_ARG, 2, "kt", "witnesses", "empty");
    expect_error("[kt]\nwitnesses = nope+12345678+AAAA\n", PL_E_INVALID_ARG, 2, "kt", "witnesses",
                 "not a vkey");
    {
        size_t o = (size_t)snprintf(text, sizeof text, "[kt]\n");

        for (int i = 0; i < 9; i++)
            o += (size_t)snprintf(text + o, sizeof text - o, "witnesses = %s\n", w[i]);
        expect_error(text, PL_E_INVALID_ARG, 10, "kt", "witnesses", "more than 8");
    }
    expect_error("[kt]\nname = two words\n", PL_E_INVALID_ARG, 2, "kt", "name", NULL);
    expect_error("[kt]\nname = a+b\n", PL_E_INVALID_ARG, 2, "kt", "name", NULL);
    expect_error("[kt]\nquorum = 9\n", PL_E_INVALID_ARG, 2, "kt", "quorum", "out of range");
    expect_error("[kt]\nbatch_interval = 5ms\n", PL_E_INVALID_ARG, 2, "kt", "batch_interval",
                 "out of range");
    expect_error("[kt]\nheartbeat = 100ms\n", PL_E_INVALID_ARG, 2, "kt", "heartbeat",
                 "out of range");
    expect_error("[kt]\nname = a\nname = b\n", PL_E_INVALID_ARG, 3, "kt", "name", "twice");
}

static void parse_file_errors(void **state)
{
    char dir[] = "/tmp/parley-test-config-XXXXXX";
    char path[128];
    pl_config cfg;
    pl_config_error err;
    FILE *f;
    char *big;

    (void)state;
    pl_config_defaults(&cfg);
    assert_int_equal(pl_config_parse_file(&cfg, "/nonexistent/parleyd.conf", &err),
                     PL_E_INVALID_ARG);
    assert_int_equal(err.sys_errno, ENOENT);
    assert_non_null(strstr(err.message, "cannot open"));

    assert_non_null(mkdtemp(dir));
    assert_int_equal(pl_config_parse_file(&cfg, dir, &err), PL_E_INVALID_ARG);
    assert_non_null(strstr(err.message, "not a regular file"));

    snprintf(path, sizeof path, "%s/big.conf", dir);
    big = malloc(PL_CONFIG_MAX_BYTES + 1);
    assert_non_null(big);
    memset(big, '\n', PL_CONFIG_MAX_BYTES + 1);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite(big, 1, PL_CONFIG_MAX_BYTES + 1, f), PL_CONFIG_MAX_BYTES + 1);
    fclose(f);
    assert_int_equal(pl_config_parse_file(&cfg, path, &err), PL_E_TOO_LARGE);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite(big, 1, PL_CONFIG_MAX_BYTES, f), PL_CONFIG_MAX_BYTES);
    fputs("[server]\nlisten = 127.0.0.1:1\n", f); /* beyond the bound */
    fclose(f);
    assert_int_equal(pl_config_parse_file(&cfg, path, &err), PL_E_TOO_LARGE);

    assert_non_null(f = fopen(path, "wb"));
    fputs("[server]\n\nmax_connections = -1\n", f);
    fclose(f);
    assert_int_equal(pl_config_parse_file(&cfg, path, &err), PL_E_INVALID_ARG);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.sys_errno, 0);

    free(big);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_documented_values),
        cmocka_unit_test(empty_text_and_comments_change_nothing),
        cmocka_unit_test(every_key_is_set),
        cmocka_unit_test(units_and_numbers),
        cmocka_unit_test(booleans_and_words),
        cmocka_unit_test(addresses),
        cmocka_unit_test(admin_listener_is_loopback_only),
        cmocka_unit_test(errors_carry_line_section_and_key),
        cmocka_unit_test(unknown_sections_and_keys_are_errors),
        cmocka_unit_test(a_key_set_twice_is_an_error),
        cmocka_unit_test(indented_control_and_nul_are_errors),
        cmocka_unit_test(crlf_bom_tabs_and_unterminated_text),
        cmocka_unit_test(long_lines_and_long_texts),
        cmocka_unit_test(group_recipient_limit_range),
        cmocka_unit_test(overrides_use_the_same_checks),
        cmocka_unit_test(validate_checks_rules_between_settings),
        cmocka_unit_test(tls_paths_default_to_the_data_dir),
        cmocka_unit_test(error_format_names_file_line_section_and_key),
        cmocka_unit_test(the_example_config_is_the_defaults),
        cmocka_unit_test(parse_file_errors),
        cmocka_unit_test(kt_settings),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

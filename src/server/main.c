/*
 * main.c: the parleyd program: options, configuration, data directory, TLS certificate,
 * store, then the server (server.h) until SIGTERM.
 *
 *   parleyd [--config FILE] [--listen ADDR] [--data-dir DIR] [--admin ADDR]
 *   parleyd --check-config [--config FILE] [overrides...]
 *
 * Exit status: 0 after a clean drain (or a valid --check-config), 1 when start-up fails,
 * 2 for a bad command line or configuration.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "config.h"
#include "kt_keys.h"
#include "kt_log.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "tls_cert.h"
#include "tls_ctx.h"

#define DB_FILE "parleyd.db"

static void usage(FILE *out)
{
    fputs("usage: parleyd [--config FILE] [--listen ADDR] [--data-dir DIR] [--admin ADDR]\n"
          "               [--check-config] [--help] [--version]\n"
          "\n"
          "  --config FILE    INI configuration (see contrib/parleyd.conf.example)\n"
          "  --listen ADDR    client listener, IPv4:port or [IPv6]:port "
          "(default " PL_CONFIG_DEFAULT_LISTEN ")\n"
          "  --data-dir DIR   database, TLS files and parleyd.addr "
          "(default " PL_CONFIG_DEFAULT_DATA_DIR ")\n"
          "  --admin ADDR     loopback admin HTTP listener: /healthz /readyz /metrics\n"
          "  --check-config   validate the configuration (and TLS files if set) and exit\n",
          out);
}

static int config_fail(const pl_config_error *err, const char *file)
{
    char line[512];

    pl_config_error_format(err, file, line, sizeof line);
    fprintf(stderr, "parleyd: %s\n", line);
    return 2;
}

/* mkdir -p for the data directory, owner-only for new directories. */
static int make_dirs(const char *path)
{
    char buf[PL_CONFIG_PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        if (i < n)
            buf[i] = '/';
    }
    return 0;
}

static int open_tls(const pl_config *cfg, pl_tls_ctx **tls, int announce)
{
    char cert[PL_CONFIG_PATH_MAX], key[PL_CONFIG_PATH_MAX], err[512] = "";
    char fp[PL_TLS_FINGERPRINT_BYTES] = "";
    int is_default = 0, created = 0;

    if (pl_config_tls_paths(cfg, cert, key, &is_default) != PL_OK) {
        fprintf(stderr, "parleyd: the TLS file paths are too long\n");
        return -1;
    }
    if (is_default && announce &&
        pl_tls_cert_ensure(cfg->server.data_dir, NULL, 0, &created, err, sizeof err) != PL_TLS_OK) {
        fprintf(stderr, "parleyd: %s\n", err);
        return -1;
    }
    if (pl_tls_ctx_new_server(tls, cert, key, err, sizeof err) != PL_TLS_OK) {
        fprintf(stderr, "parleyd: %s\n", err);
        return -1;
    }
    if (announce) {
        (void)pl_tls_ctx_fingerprint(*tls, fp);
        if (created)
            pl_log(PL_CONFIG_LOG_INFO, "created a self-signed TLS certificate",
                   PL_LOG_STR("cert", cert));
        pl_log(PL_CONFIG_LOG_INFO, "TLS certificate", PL_LOG_STR("cert", cert),
               PL_LOG_STR("sha256", fp));
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},   {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'}, {"admin", required_argument, NULL, 'a'},
        {"check-config", no_argument, NULL, 'k'},   {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},        {NULL, 0, NULL, 0},
    };
    const char *config_file = NULL, *over[3] = {NULL, NULL, NULL};
    char db[PL_CONFIG_PATH_MAX + 16], err[512] = "";
    pl_config cfg;
    pl_config_error cerr;
    pl_store_options so;
    pl_tls_ctx *tls = NULL;
    pl_store *store = NULL;
    pl_kt_keys *keys = NULL;
    pl_kt_log *kt = NULL;
    int check = 0, o, r, created = 0;

    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            config_file = optarg;
            break;
        case 'l':
            over[0] = optarg;
            break;
        case 'd':
            over[1] = optarg;
            break;
        case 'a':
            over[2] = optarg;
            break;
        case 'k':
            check = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("parleyd %s\n", PL_VERSION_STRING);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "parleyd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (pl_init() != PL_OK) {
        fprintf(stderr, "parleyd: libsodium failed to initialise\n");
        return 1;
    }
    pl_config_defaults(&cfg);
    if (config_file && pl_config_parse_file(&cfg, config_file, &cerr) != PL_OK)
        return config_fail(&cerr, config_file);
    if ((over[0] && pl_config_set(&cfg, "server", "listen", over[0], &cerr) != PL_OK) ||
        (over[1] && pl_config_set(&cfg, "server", "data_dir", over[1], &cerr) != PL_OK) ||
        (over[2] && pl_config_set(&cfg, "admin", "listen", over[2], &cerr) != PL_OK))
        return config_fail(&cerr, "command line");
    if (pl_config_validate(&cfg, &cerr) != PL_OK)
        return config_fail(&cerr, config_file);
    pl_log_setup(cfg.server.log_level, cfg.server.log_format, 2);
    if (check) {
        /* Operator-supplied TLS files are checked too: a reload with them must work. */
        if (cfg.tls.cert_file[0] && open_tls(&cfg, &tls, 0) != 0)
            return 2;
        pl_tls_ctx_free(tls);
        printf("parleyd: configuration OK\n");
        return 0;
    }

    signal(SIGPIPE, SIG_IGN);
    if (pl_clock_init())
        pl_log(PL_CONFIG_LOG_WARN, "TEST CLOCK IN USE: wall time comes from a file",
               PL_LOG_STR("file", pl_clock_init()));
    if (make_dirs(cfg.server.data_dir) != 0) {
        fprintf(stderr, "parleyd: cannot create the data directory %s: %s\n", cfg.server.data_dir,
                strerror(errno));
        return 1;
    }
    if (open_tls(&cfg, &tls, 1) != 0)
        return 1;
    memset(&so, 0, sizeof so);
    so.max_devices = cfg.accounts.max_devices;
    so.max_onetime_prekeys = cfg.prekeys.max_onetime_prekeys_per_device;
    so.mailbox_quota = cfg.mailbox.quota_envelopes;
    so.retention_ms = cfg.mailbox.retention_ms;
    snprintf(db, sizeof db, "%s/%s", cfg.server.data_dir, DB_FILE);
    if ((r = pl_store_open_sqlite(db, &so, &store, err, sizeof err)) != PL_STORE_OK) {
        fprintf(stderr, "parleyd: cannot open the database %s: %s\n", db, err);
        pl_tls_ctx_free(tls);
        return 1;
    }
    /* Key transparency (PROTOCOL.md §24): keys, then the log rebuilt from the store. */
    if (pl_kt_keys_load(&keys, cfg.server.data_dir, cfg.kt.name, &created, err, sizeof err) != 0 ||
        pl_kt_log_open(&kt, &cfg, keys, store, err, sizeof err) != 0) {
        fprintf(stderr, "parleyd: %s\n", err);
        pl_store_close(store);
        pl_tls_ctx_free(tls);
        return 1;
    }
    if (created)
        pl_log(PL_CONFIG_LOG_INFO, "created the key-transparency keys in DATA/kt; back them up");
    pl_log(PL_CONFIG_LOG_INFO, "key-transparency log",
           PL_LOG_STR("origin", pl_kt_log_keys(kt)->origin),
           PL_LOG_STR("vkey", pl_kt_log_keys(kt)->log_vkey),
           PL_LOG_U64("size", pl_kt_log_signed_size(kt)),
           PL_LOG_U64("published", pl_kt_log_published_size(kt)),
           PL_LOG_U64("witnesses", cfg.kt.n_witnesses),
           PL_LOG_U64("quorum", pl_config_kt_quorum(&cfg)));
    return pl_server_run(&cfg, store, tls, kt);
}

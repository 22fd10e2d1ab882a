/* cli_common.c: what parley-audit's subcommands share (cli.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <getopt.h>
#include <string.h>
#include <time.h>

#include "alog.h"

volatile sig_atomic_t audit_stop;

static void on_signal(int sig)
{
    (void)sig;
    audit_stop = 1;
}

void audit_catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked poll() returns EINTR at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void audit_sleep_ms(unsigned ms)
{
    while (ms > 0 && !audit_stop) {
        unsigned slice = ms < 200 ? ms : 200;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000000L};

        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

int audit_exit_for(const pl_audit_round_result *res)
{
    switch (res->outcome) {
    case PL_AUDIT_ROUND_COSIGNED:
        return res->accepted ? AUDIT_EXIT_OK : AUDIT_EXIT_FAILURE;
    case PL_AUDIT_ROUND_REFUSED:
    case PL_AUDIT_ROUND_HALTED:
        return AUDIT_EXIT_REFUSED;
    case PL_AUDIT_ROUND_TRANSIENT:
        return AUDIT_EXIT_UNREACHABLE;
    case PL_AUDIT_ROUND_STOPPED: /* interrupted: nothing was cosigned */
        return AUDIT_EXIT_FAILURE;
    case PL_AUDIT_ROUND_LOCAL:
    default:
        return AUDIT_EXIT_LOCAL;
    }
}

int audit_parse(const char *command, const char *accepted, int argc, char **argv, audit_opts *o)
{
    static const struct option all[] = {
        {"state", required_argument, NULL, 's'},  {"name", required_argument, NULL, 'n'},
        {"server", required_argument, NULL, 'S'}, {"ca", required_argument, NULL, 'c'},
        {"pin", required_argument, NULL, 'p'},    {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int opt;

    memset(o, 0, sizeof *o);
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", all, NULL)) != -1) {
        if (opt == 'h') {
            audit_usage(stdout, command);
            return 1;
        }
        if (opt == 'v') {
            o->verbose = 1;
            pl_alog_set_level(PL_ALOG_DEBUG);
            continue;
        }
        if (opt == '?' || opt == ':' || !strchr(accepted, opt)) {
            fprintf(stderr, "parley-audit %s: unknown or incomplete option '%s'\n", command,
                    argv[optind - 1]);
            audit_usage(stderr, command);
            return -1;
        }
        switch (opt) {
        case 's':
            o->state = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'S':
            o->server = optarg;
            break;
        case 'c':
            o->ca = optarg;
            break;
        case 'p':
            o->pin = optarg;
            break;
        default:
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "parley-audit %s: unexpected argument '%s'\n", command, argv[optind]);
        audit_usage(stderr, command);
        return -1;
    }
    if (strchr(accepted, 's') && !o->state) {
        fprintf(stderr, "parley-audit %s: --state DIR is required\n", command);
        return -1;
    }
    if (strchr(accepted, 'n') && !o->name) {
        fprintf(stderr, "parley-audit %s: --name NAME is required\n", command);
        return -1;
    }
    if (strchr(accepted, 'S') && !o->server) {
        fprintf(stderr, "parley-audit %s: --server HOST:PORT is required\n", command);
        return -1;
    }
    if (strchr(accepted, 'c') && (o->ca == NULL) == (o->pin == NULL)) {
        fprintf(stderr, "parley-audit %s: give exactly one of --ca FILE and --pin SHA256\n",
                command);
        return -1;
    }
    return 0;
}

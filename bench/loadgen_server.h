/*
 * loadgen_server.h: the parleyd under test, as the load generator sees it from outside.
 *
 * lg_server_start() runs a parleyd binary in a fresh temporary directory with a benchmark
 * configuration (rate limits lifted, loopback only) and waits for DATA/parleyd.addr; the
 * /proc readers give its CPU time (whole process and per thread) and memory; lg_metrics_get
 * fetches the admin listener's /metrics text. Linux only (/proc).
 */
#ifndef PARLEY_LOADGEN_SERVER_H
#define PARLEY_LOADGEN_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct lg_server {
    pid_t pid;     /* 0 when not started here */
    char dir[256]; /* the temporary directory: parleyd.conf, parleyd.log, data/ */
    char ca[300];  /* data/tls/cert.pem */
    char host[64]; /* client listener */
    int port;
    char admin_host[64]; /* admin listener; port 0 if unknown */
    int admin_port;
} lg_server;

/*
 * Writes a configuration (max_connections, the rest lifted for benchmarking) and starts
 * bin --config FILE with stderr to DIR/parleyd.log, then waits up to 20 s for its address
 * file. Returns 0, or -1 with a sentence in err (the server is then stopped).
 */
int lg_server_start(lg_server *s, const char *bin, uint32_t max_connections, char *err,
                    size_t err_len);

/* The same, with extra_config (may be NULL) appended to the configuration: whole sections
 * that the benchmark configuration does not have, such as "[kt]\nquorum = 0\n". */
int lg_server_start_with(lg_server *s, const char *bin, uint32_t max_connections,
                         const char *extra_config, char *err, size_t err_len);

/* Sends SIGTERM, waits up to 10 s (then SIGKILL) and removes the directory unless keep.
 * Returns the server's exit status (0 after a clean drain), or -1. */
int lg_server_stop(lg_server *s, int keep);

/* User+system CPU time of a process, in ns. Returns 0 or -1. */
int lg_proc_cpu_ns(pid_t pid, uint64_t *ns);

/* A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"). Returns 0 or -1. */
int lg_proc_status_kib(pid_t pid, const char *key, uint64_t *kib);

typedef struct lg_thread_cpu {
    int tid;
    char comm[32];
    uint64_t cpu_ns;
} lg_thread_cpu;

/* Per-thread CPU time of pid, up to cap threads. Returns how many, or -1. */
int lg_proc_threads(pid_t pid, lg_thread_cpu *out, size_t cap);

/* GETs /metrics from host:port into buf (NUL-terminated, body only). Returns 0 or -1. */
int lg_metrics_get(const char *host, int port, char *buf, size_t cap);

/* The value of the unlabelled sample `name` in a Prometheus text; -1 if absent. */
double lg_metric(const char *text, const char *name);

#endif

/*
 * server.h: parleyd's server: listeners, connections, the store worker, timers, signals.
 *
 * One libuv loop thread runs everything except store operations, which run on the store
 * worker (store_worker.h). main (main.c) parses the configuration, opens the store, makes
 * the TLS context and calls pl_server_run, which returns when the server has drained after
 * SIGTERM or SIGINT.
 *
 * Signals: SIGHUP re-reads the TLS certificate and key (pl_tls_ctx_reload): existing
 * connections keep theirs, new ones get the new pair; a failed reload changes nothing and is
 * logged. SIGTERM/SIGINT drain: stop accepting and reading, let the worker finish every
 * queued job (so every accepted envelope is committed and answered), flush and close every
 * connection, then return 0.
 */
#ifndef PARLEYD_SERVER_H
#define PARLEYD_SERVER_H

#include <stdint.h>

#include <uv.h>

#include "addr_limit.h"
#include "config.h"
#include "conn.h"
#include "kt_log.h"
#include "link_table.h"
#include "registry.h"
#include "store.h"
#include "store_worker.h"
#include "tls_ctx.h"

/* How long a connection may take for its TLS handshake and Hello. */
#define PL_SERVER_HELLO_TIMEOUT_MS 10000u
/* How long a closing connection may take to flush its last frames. */
#define PL_SERVER_CLOSE_TIMEOUT_MS 5000u
/* Connections admitted past max_connections, only to be told SERVER_BUSY; beyond this many
 * the socket is closed at once. */
#define PL_SERVER_BUSY_EXTRA 64u
/* A challenge's lifetime (§11.6) and the failed proofs after which a connection is closed. */
#define PL_SERVER_CHALLENGE_TTL_MS 60000u
#define PL_SERVER_MAX_AUTH_FAILURES 3
/* Per-connection bounds on requests in flight (waiting for the store). */
#define PL_SERVER_MAX_REQUESTS_IN_FLIGHT 64u
#define PL_SERVER_MAX_REQUEST_BYTES_IN_FLIGHT (2u * 1024u * 1024u)
/* Envelopes per mailbox fetch when pushing a backlog. */
#define PL_SERVER_FETCH_PAGE 64u
/* LinkPut requests per client address per minute (device linking, §11.3). */
#define PL_SERVER_LINK_PUTS_PER_MINUTE 30u

struct pl_server {
    uv_loop_t *loop;
    pl_config cfg;
    pl_tls_ctx *tls;
    pl_store_worker *worker;
    pl_registry registry;
    pl_addr_limit registrations;
    pl_link_table links;     /* device-link rendezvous, memory only (link_table.h) */
    pl_addr_limit link_puts; /* LinkPut per address */

    uv_tcp_t listener;
    uv_timer_t sweep_timer;  /* once a second: connection timeouts, expired links */
    uv_timer_t expire_timer; /* retention sweeps */
    uv_timer_t blob_timer;   /* blob expiry sweeps, every [blobs] expire_interval */
    int blob_sweep_running;
    uint64_t blob_read_bytes; /* BlobGet bytes reserved by requests in flight (handle_blob.c) */
    pl_kt_log *kt;            /* the key-transparency log; its state is the worker's */
    uv_timer_t kt_timer;      /* the sequencer, every [kt] batch_interval */
    int kt_step_running;
    uv_signal_t sig_hup, sig_term, sig_int;
    struct pl_admin_http *admin;
    uv_check_t flush_check; /* end of each loop iteration: pl_conn_flush_all */
    uv_idle_t flush_idle;   /* running while flushes are queued, so poll does not block */
    pl_conn *flush_head;

    pl_conn *conns;
    uint32_t n_conns;
    uint32_t n_over_limit;
    uint64_t next_conn_id;
    int draining;
    int conns_closing;
    uint64_t drain_started_ns;
    int expire_running;
    int exit_code;
    char listen_addr[80]; /* "127.0.0.1:7443" as bound */
    char admin_addr[80];
};

/*
 * Runs the server until it has drained. Takes ownership of store, tls and kt. Writes
 * DATA/parleyd.addr (the bound addresses) once listening, removes it at exit, and tells
 * systemd READY=1 / STOPPING=1 when started by it. Returns the process exit code: 0 after a
 * clean drain, 1 if start-up failed (logged).
 */
int pl_server_run(const pl_config *cfg, pl_store *store, pl_tls_ctx *tls, pl_kt_log *kt);

/* Called by conn.c when a connection is fully closed (removes it from the list). */
void pl_server_conn_closed(pl_server *srv, pl_conn *c);

/* The idle handle's callback: nothing (its presence keeps poll from blocking). */
void pl_server_noop_idle(uv_idle_t *h);

/* 1 when the server is serving (not starting, not draining): /readyz. */
int pl_server_ready(void *srv);

#endif

/*
 * server.c: parleyd's loop: listener, connection admission, timers, signals, drain
 * (server.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "admin_http.h"
#include "clock.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"

#define LISTEN_BACKLOG 1024
#define SWEEP_INTERVAL_MS 1000u
#define DRAIN_POLL_MS 10u
#define DRAIN_TIMEOUT_MS 30000u
#define ADDR_FILE "parleyd.addr"

static void drain_step(uv_timer_t *t);

int pl_server_ready(void *arg)
{
    const pl_server *srv = arg;

    return !srv->draining;
}

/* ---- Connections --------------------------------------------------------------------------- */

void pl_server_noop_idle(uv_idle_t *h)
{
    (void)h;
}

static void on_flush_check(uv_check_t *h)
{
    pl_conn_flush_all(h->data);
}

static void close_unaccepted(uv_handle_t *h)
{
    free(h);
}

static void on_connection(uv_stream_t *listener, int status)
{
    pl_server *srv = listener->data;
    uint32_t regular = srv->n_conns - srv->n_over_limit;
    int over = regular >= srv->cfg.server.max_connections;
    uv_tcp_t *drop;

    if (status < 0) {
        pl_log(PL_CONFIG_LOG_WARN, "accept failed", PL_LOG_STR("error", uv_strerror(status)));
        return;
    }
    if (over) {
        pl_metrics_inc(PL_M_CONNECTIONS_REFUSED);
        if (srv->n_over_limit >= PL_SERVER_BUSY_EXTRA) {
            /* Too many even to say so: take the socket and close it. */
            if ((drop = malloc(sizeof *drop)) && uv_tcp_init(srv->loop, drop) == 0) {
                (void)uv_accept(listener, (uv_stream_t *)drop);
                uv_close((uv_handle_t *)drop, close_unaccepted);
            } else {
                free(drop);
            }
            return;
        }
    }
    if ((status = pl_conn_accept(srv, listener, over)) != 0)
        pl_log(PL_CONFIG_LOG_WARN, "could not accept a connection",
               PL_LOG_STR("error", uv_strerror(status)));
}

void pl_server_conn_closed(pl_server *srv, pl_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->n_conns--;
    if (c->over_limit)
        srv->n_over_limit--;
    pl_metrics_gauge_add(PL_G_CONNECTIONS_OPEN, -1);
}

/* ---- Timers -------------------------------------------------------------------------------- */

static void on_sweep(uv_timer_t *t)
{
    pl_server *srv = t->data;
    uint64_t now = pl_clock_mono_ns();
    pl_conn *c, *next;

    for (c = srv->conns; c; c = next) {
        next = c->next; /* a sweep may close c, but it is unlinked only in the close callback */
        pl_conn_sweep(c, now);
    }
    pl_metrics_add(PL_M_LINKS_EXPIRED, pl_link_table_expire(&srv->links, now));
}

typedef struct expire_job {
    pl_job job;
    pl_server *srv;
    uint64_t expired;
    int r;
} expire_job;

static void on_expired_device(void *ctx, const char *username, uint32_t device_id, uint64_t expired)
{
    (void)ctx;
    pl_metrics_add(PL_M_ENVELOPES_EXPIRED, expired);
    pl_log(PL_CONFIG_LOG_INFO, "envelopes expired (retention)", PL_LOG_STR("user", username),
           PL_LOG_U64("device", device_id), PL_LOG_U64("count", expired));
}

static void expire_run(pl_job *job, pl_store *s)
{
    expire_job *e = (expire_job *)job;

    e->r = pl_store_mailbox_expire(s, pl_clock_now_ms(), on_expired_device, NULL, &e->expired);
    if (e->r != PL_STORE_OK)
        pl_log(PL_CONFIG_LOG_ERROR, "retention sweep failed",
               PL_LOG_STR("error", pl_store_last_error(s)));
}

static void expire_done(pl_job *job)
{
    expire_job *e = (expire_job *)job;

    e->srv->expire_running = 0;
    free(e);
}

static void on_blob_timer(uv_timer_t *t)
{
    pl_blob_sweep(t->data);
}

static void on_expire_timer(uv_timer_t *t)
{
    pl_server *srv = t->data;
    expire_job *e;

    if (srv->expire_running || srv->draining || !(e = calloc(1, sizeof *e)))
        return;
    e->job.run = expire_run;
    e->job.done = expire_done;
    e->job.standalone = 1;
    e->srv = srv;
    srv->expire_running = 1;
    pl_store_worker_submit(srv->worker, &e->job);
}

/* ---- Signals ------------------------------------------------------------------------------- */

static void on_hup(uv_signal_t *h, int signum)
{
    pl_server *srv = h->data;
    char err[256] = "", fp[PL_TLS_FINGERPRINT_BYTES] = "";

    (void)signum;
    if (pl_tls_ctx_reload(srv->tls, err, sizeof err) != PL_TLS_OK) {
        pl_metrics_inc(PL_M_TLS_RELOAD_FAILURES);
        pl_log(PL_CONFIG_LOG_ERROR, "TLS reload failed; keeping the current certificate",
               PL_LOG_STR("error", err));
        return;
    }
    pl_metrics_inc(PL_M_TLS_RELOADS);
    (void)pl_tls_ctx_fingerprint(srv->tls, fp);
    pl_log(PL_CONFIG_LOG_INFO, "TLS certificate reloaded", PL_LOG_STR("sha256", fp));
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void start_drain(pl_server *srv)
{
    if (srv->draining)
        return;
    srv->draining = 1;
    srv->drain_started_ns = pl_clock_mono_ns();
    pl_metrics_gauge_set(PL_G_READY, 0);
    (void)sd_notify(0, "STOPPING=1");
    pl_log(PL_CONFIG_LOG_INFO, "draining: no new connections; finishing what was accepted");
    close_handle((uv_handle_t *)&srv->listener);
    for (pl_conn *c = srv->conns; c; c = c->next)
        pl_conn_stop_reading(c);
    uv_timer_start(&srv->sweep_timer, drain_step, 0, DRAIN_POLL_MS);
}

/* Drain, step by step: wait for the worker to answer everything queued, then close every
 * connection (flushing), then stop the worker and close the loop's handles. */
static void drain_step(uv_timer_t *t)
{
    pl_server *srv = t->data;
    int timed_out = pl_clock_mono_ns() - srv->drain_started_ns > DRAIN_TIMEOUT_MS * 1000000ull;

    if (pl_store_worker_depth(srv->worker) > 0 && !timed_out)
        return;
    if (!srv->conns_closing) {
        srv->conns_closing = 1;
        for (pl_conn *c = srv->conns; c; c = c->next)
            pl_conn_close(c, NULL);
    }
    on_sweep(t); /* closes connections whose flush takes too long */
    if (srv->n_conns > 0 && !timed_out)
        return;
    pl_store_worker_stop(srv->worker);
    uv_timer_stop(t);
    close_handle((uv_handle_t *)&srv->sweep_timer);
    close_handle((uv_handle_t *)&srv->expire_timer);
    close_handle((uv_handle_t *)&srv->blob_timer);
    close_handle((uv_handle_t *)&srv->kt_timer);
    close_handle((uv_handle_t *)&srv->sig_hup);
    close_handle((uv_handle_t *)&srv->sig_term);
    close_handle((uv_handle_t *)&srv->sig_int);
    pl_conn_flush_all(srv);
    close_handle((uv_handle_t *)&srv->flush_check);
    close_handle((uv_handle_t *)&srv->flush_idle);
    if (srv->admin)
        pl_admin_http_close(srv->admin);
    srv->admin = NULL;
    for (pl_conn *c = srv->conns; c; c = c->next)
        if (!uv_is_closing((uv_handle_t *)&c->tcp))
            uv_close((uv_handle_t *)&c->tcp, NULL); /* only after the drain timeout */
}

static void on_term(uv_signal_t *h, int signum)
{
    pl_log(PL_CONFIG_LOG_INFO, "signal received", PL_LOG_STR("signal", strsignal(signum)));
    start_drain(h->data);
}

/* ---- Start-up ------------------------------------------------------------------------------ */

static void format_sockname(uv_tcp_t *tcp, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char host[64] = "?";

    if (uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(out, cap, "?");
        return;
    }
    if (ss.ss_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)&ss, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port));
    } else {
        uv_ip4_name((const struct sockaddr_in *)&ss, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, ntohs(((const struct sockaddr_in *)&ss)->sin_port));
    }
}

/* Writes DATA/parleyd.addr (via a temporary file and rename, so a reader never sees half). */
static int write_addr_file(const pl_server *srv)
{
    char path[PL_CONFIG_PATH_MAX + 32], tmp[PL_CONFIG_PATH_MAX + 40];
    FILE *fp;
    int ok;

    snprintf(path, sizeof path, "%s/%s", srv->cfg.server.data_dir, ADDR_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(fp = fopen(tmp, "w")))
        return -1;
    fprintf(fp, "listen %s\n", srv->listen_addr);
    if (srv->admin)
        fprintf(fp, "admin %s\n", srv->admin_addr);
    ok = fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    ok = (fclose(fp) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void remove_addr_file(const pl_server *srv)
{
    char path[PL_CONFIG_PATH_MAX + 32];

    snprintf(path, sizeof path, "%s/%s", srv->cfg.server.data_dir, ADDR_FILE);
    (void)unlink(path);
}

static int start_listening(pl_server *srv)
{
    const pl_config_addr *a = &srv->cfg.server.listen;
    int r;

    if ((r = uv_tcp_init(srv->loop, &srv->listener)) != 0)
        return r;
    srv->listener.data = srv;
    if ((r = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&a->sa, 0)) != 0 ||
        (r = uv_listen((uv_stream_t *)&srv->listener, LISTEN_BACKLOG, on_connection)) != 0)
        return r;
    format_sockname(&srv->listener, srv->listen_addr, sizeof srv->listen_addr);
    return 0;
}

static int start_admin(pl_server *srv)
{
    char err[256] = "";
    int r;

    if (!srv->cfg.admin.enabled)
        return 0;
    r = pl_admin_http_start(&srv->admin, srv->loop,
                            (const struct sockaddr *)&srv->cfg.admin.listen.sa, pl_server_ready,
                            srv, err, sizeof err);
    if (r != 0) {
        pl_log(PL_CONFIG_LOG_ERROR, "admin listener failed", PL_LOG_STR("error", err));
        return r;
    }
    snprintf(srv->admin_addr, sizeof srv->admin_addr, "%s:%d", srv->cfg.admin.listen.host,
             pl_admin_http_port(srv->admin));
    return 0;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_kt_timer(uv_timer_t *t)
{
    pl_kt_tick(t->data);
}

int pl_server_run(const pl_config *cfg, pl_store *store, pl_tls_ctx *tls, pl_kt_log *kt)
{
    pl_server *srv = calloc(1, sizeof *srv);
    uv_loop_t loop;
    int r = 1, started = 0;

    if (!srv || uv_loop_init(&loop) != 0) {
        free(srv);
        pl_store_close(store);
        pl_tls_ctx_free(tls);
        pl_kt_log_free(kt);
        return 1;
    }
    srv->loop = &loop;
    srv->cfg = *cfg;
    srv->tls = tls;
    srv->kt = kt;
    if (pl_registry_init(&srv->registry) != 0 ||
        pl_addr_limit_init(&srv->registrations, cfg->accounts.registrations_per_address_per_minute,
                           60ull * 1000000000u) != 0 ||
        pl_link_table_init(&srv->links) != 0 ||
        pl_addr_limit_init(&srv->link_puts, PL_SERVER_LINK_PUTS_PER_MINUTE, 60ull * 1000000000u) !=
            0) {
        pl_log(PL_CONFIG_LOG_ERROR, "out of memory at start-up");
        pl_store_close(store);
        goto out;
    }
    if ((r = pl_store_worker_start(&srv->worker, &loop, store, cfg->mailbox.commit_max_batch,
                                   cfg->mailbox.commit_max_delay_ms)) != 0) {
        pl_log(PL_CONFIG_LOG_ERROR, "could not start the store thread",
               PL_LOG_STR("error", uv_strerror(r)));
        pl_store_close(store);
        r = 1;
        goto out;
    }
    if ((r = start_listening(srv)) != 0) {
        pl_log(PL_CONFIG_LOG_ERROR, "could not listen",
               PL_LOG_STR("address", cfg->server.listen.host),
               PL_LOG_U64("port", cfg->server.listen.port), PL_LOG_STR("error", uv_strerror(r)));
        r = 1;
        goto stop;
    }
    r = 1;
    if (start_admin(srv) != 0)
        goto stop;
    uv_check_init(&loop, &srv->flush_check);
    uv_idle_init(&loop, &srv->flush_idle);
    srv->flush_check.data = srv->flush_idle.data = srv;
    uv_check_start(&srv->flush_check, on_flush_check);
    uv_timer_init(&loop, &srv->sweep_timer);
    uv_timer_init(&loop, &srv->expire_timer);
    uv_timer_init(&loop, &srv->kt_timer);
    uv_timer_init(&loop, &srv->blob_timer);
    srv->sweep_timer.data = srv->expire_timer.data = srv->kt_timer.data = srv;
    srv->blob_timer.data = srv;
    /* The first step at once: an empty log gets its first entry and checkpoint. */
    uv_timer_start(&srv->kt_timer, on_kt_timer, 0, cfg->kt.batch_interval_ms);
    uv_timer_start(&srv->sweep_timer, on_sweep, SWEEP_INTERVAL_MS, SWEEP_INTERVAL_MS);
    uv_timer_start(&srv->expire_timer, on_expire_timer, cfg->mailbox.expire_interval_ms,
                   cfg->mailbox.expire_interval_ms);
    uv_timer_start(&srv->blob_timer, on_blob_timer, cfg->blobs.expire_interval_ms,
                   cfg->blobs.expire_interval_ms);
    uv_signal_init(&loop, &srv->sig_hup);
    uv_signal_init(&loop, &srv->sig_term);
    uv_signal_init(&loop, &srv->sig_int);
    srv->sig_hup.data = srv->sig_term.data = srv->sig_int.data = srv;
    uv_signal_start(&srv->sig_hup, on_hup, SIGHUP);
    uv_signal_start(&srv->sig_term, on_term, SIGTERM);
    uv_signal_start(&srv->sig_int, on_term, SIGINT);
    if (write_addr_file(srv) != 0)
        pl_log(PL_CONFIG_LOG_WARN, "could not write the address file",
               PL_LOG_STR("file", ADDR_FILE), PL_LOG_STR("error", strerror(errno)));
    started = 1;
    pl_metrics_gauge_set(PL_G_READY, 1);
    pl_metrics_gauge_set(PL_G_START_TIME_SECONDS, (int64_t)(pl_clock_now_ms() / 1000u));
    pl_log(PL_CONFIG_LOG_INFO, "listening", PL_LOG_STR("address", srv->listen_addr),
           PL_LOG_STR("admin", srv->admin ? srv->admin_addr : "off"));
    (void)sd_notify(0, "READY=1");
    uv_run(&loop, UV_RUN_DEFAULT);
    r = 0;
    goto done;
stop:
    pl_store_worker_stop(srv->worker);
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
done:
    if (started)
        remove_addr_file(srv);
    pl_store_worker_free(srv->worker);
    if (uv_loop_close(&loop) != 0) {
        uv_walk(&loop, close_walk, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&loop);
    }
    pl_store_close(store);
    if (started)
        pl_log(PL_CONFIG_LOG_INFO, "stopped");
out:
    pl_registry_free(&srv->registry);
    pl_addr_limit_free(&srv->registrations);
    pl_link_table_free(&srv->links);
    pl_addr_limit_free(&srv->link_puts);
    pl_tls_ctx_free(srv->tls);
    pl_kt_log_free(srv->kt);
    free(srv);
    return r;
}

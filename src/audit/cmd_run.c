/*
 * cmd_run.c: `parley-audit run --state DIR --server HOST:PORT (--ca FILE | --pin SHA256)`:
 * the auditor as a service. Connects, sends KtWatch, runs a round at once and then for every
 * Push.kt_checkpoint, and at least every ROUND_EVERY_MS; pings when the connection is idle so
 * the server keeps it. A dropped connection is reopened with exponential backoff (1 s doubling
 * to 60 s, reset after a successful round). SIGTERM or SIGINT ends it cleanly (status 0),
 * mid-round too: an unfinished round commits nothing.
 *
 * It exits on a refusal that halts the auditor (status 4: a fork, a rollback, a bad replay, a
 * changed config) and on a local failure (status 5); a refusal that does not halt (a note that
 * does not verify) is logged and the next checkpoint is awaited.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>

#include "alog.h"
#include "audit_conn.h"
#include "auditor.h"
#include "cli.h"
#include "frame.h"

#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 60000u
#define PING_EVERY_MS 30000u   /* parleyd's idle timeout is 90 s */
#define ROUND_EVERY_MS 300000u /* a round even without a push, in case one was missed */

/* Sends a request whose success has no body (KtWatch, Ping). Returns 0 or -1. */
static int simple_request(pl_audit_conn *c, Parley__Request *req, const char *what)
{
    Parley__ServerFrame *f = NULL;
    int rc = pl_audit_conn_request(c, req, &f, PL_AUDIT_CONN_TIMEOUT_MS), r = -1;

    if (rc != PL_AUDIT_CONN_OK) {
        pl_alog(PL_ALOG_WARN, "%s: %s", what, pl_audit_conn_error(c));
        return -1;
    }
    if (f->response->status->code == PARLEY__STATUS_CODE__STATUS_OK)
        r = 0;
    else
        pl_alog(PL_ALOG_WARN, "%s: refused with status %d", what, (int)f->response->status->code);
    pl_frame_server_free(f);
    return r;
}

static int watch(pl_audit_conn *c)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__KtWatch w = PARLEY__KT_WATCH__INIT;

    req.body_case = PARLEY__REQUEST__BODY_KT_WATCH;
    req.kt_watch = &w;
    return simple_request(c, &req, "KtWatch");
}

static int ping(pl_audit_conn *c)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__Ping p = PARLEY__PING__INIT;

    req.body_case = PARLEY__REQUEST__BODY_PING;
    req.ping = &p;
    return simple_request(c, &req, "Ping");
}

/* Runs one round and says whether to go on: 1 yes, 0 reconnect, or an exit status < 0
 * (negated). */
static int round_and_judge(pl_auditor *a, pl_audit_conn *c)
{
    pl_audit_round_result res;

    pl_audit_round(a, c, &res);
    switch (res.outcome) {
    case PL_AUDIT_ROUND_COSIGNED:
        return 1;
    case PL_AUDIT_ROUND_REFUSED:
        return res.halted ? -AUDIT_EXIT_REFUSED : 1;
    case PL_AUDIT_ROUND_HALTED:
        pl_alog(PL_ALOG_ERROR, "halted: %s", res.detail);
        return -AUDIT_EXIT_REFUSED;
    case PL_AUDIT_ROUND_TRANSIENT:
        pl_alog(PL_ALOG_WARN, "round failed, will retry: %s", res.detail);
        return 0;
    case PL_AUDIT_ROUND_STOPPED:
        return 0;
    case PL_AUDIT_ROUND_LOCAL:
    default:
        pl_alog(PL_ALOG_ERROR, "local failure: %s", res.detail);
        return -AUDIT_EXIT_LOCAL;
    }
}

int cmd_run(int argc, char **argv)
{
    audit_opts o;
    pl_auditor *a = NULL;
    unsigned backoff = BACKOFF_MIN_MS;
    char err[512];
    int r, code = AUDIT_EXIT_OK;

    if ((r = audit_parse("run", "sScp", argc, argv, &o)) != 0)
        return r > 0 ? AUDIT_EXIT_OK : AUDIT_EXIT_USAGE;
    audit_catch_signals();
    if (pl_auditor_open(&a, o.state, &audit_stop, err, sizeof err) != 0) {
        pl_alog(PL_ALOG_ERROR, "%s", err);
        return AUDIT_EXIT_LOCAL;
    }
    if (a->st.halted) {
        pl_alog(PL_ALOG_ERROR,
                "halted since an earlier %s: refusing to run; see "
                "`parley-audit status`, then `parley-audit resume`",
                a->st.halt_reason);
        pl_auditor_close(a);
        return AUDIT_EXIT_REFUSED;
    }
    pl_alog(PL_ALOG_INFO, "auditing %s as %s", o.server, a->me.name);
    while (!audit_stop) {
        pl_audit_conn *c = NULL;
        unsigned idle = 0, since_round = 0;
        int go;

        r = pl_audit_conn_open(&c, o.server, o.ca, o.pin, &audit_stop, err, sizeof err);
        if (r == PL_AUDIT_CONN_E_USAGE) {
            pl_alog(PL_ALOG_ERROR, "%s", err);
            code = AUDIT_EXIT_USAGE;
            break;
        }
        if (r != PL_AUDIT_CONN_OK) {
            if (r != PL_AUDIT_CONN_E_INTERRUPTED) {
                pl_alog(PL_ALOG_WARN, "%s: %s; retrying in %u ms", o.server, err, backoff);
                audit_sleep_ms(backoff);
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            }
            continue;
        }
        pl_alog(PL_ALOG_INFO, "connected to %s", o.server);
        go = watch(c) == 0 ? round_and_judge(a, c) : 0;
        if (go > 0)
            backoff = BACKOFF_MIN_MS;
        while (go > 0 && !audit_stop) {
            int w = pl_audit_conn_wait_push(c, 1000u);

            if (w == PL_AUDIT_CONN_OK ||
                (w == PL_AUDIT_CONN_E_TIMEOUT && (since_round += 1000u) >= ROUND_EVERY_MS)) {
                since_round = idle = 0;
                go = round_and_judge(a, c);
            } else if (w == PL_AUDIT_CONN_E_TIMEOUT) {
                if ((idle += 1000u) >= PING_EVERY_MS) {
                    idle = 0;
                    go = ping(c) == 0;
                }
            } else {
                if (w != PL_AUDIT_CONN_E_INTERRUPTED)
                    pl_alog(PL_ALOG_WARN, "connection lost: %s", pl_audit_conn_error(c));
                go = 0;
            }
        }
        pl_audit_conn_close(c);
        if (go < 0) {
            code = -go;
            break;
        }
        if (!audit_stop) {
            pl_alog(PL_ALOG_INFO, "reconnecting in %u ms", backoff);
            audit_sleep_ms(backoff);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
        }
    }
    if (audit_stop)
        pl_alog(PL_ALOG_INFO, "stopped");
    pl_auditor_close(a);
    return code;
}

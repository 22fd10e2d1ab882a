/*
 * client_conn.c: the client's blocking connection to parleyd (client_conn.h): requests
 * matched to their responses, and the pushes that arrive meanwhile queued, on a
 * pl_wire_conn (src/net/wire_conn.h: TCP, TLS, pinning, Hello, frames).
 */
#include "client_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "frame.h"
#include "wire_conn.h"

#define MAX_QUEUE 100000u

struct pl_cconn {
    pl_wire_conn *wire;
    Parley__ServerFrame **queue;
    size_t qhead, qlen, qcap;
};

/* The client's code for a wire_conn.h code. */
static int client_code(int wire)
{
    switch (wire) {
    case PL_WIRE_OK:
        return PL_CLIENT_OK;
    case PL_WIRE_E_NOMEM:
        return PL_CLIENT_E_NOMEM;
    case PL_WIRE_E_USAGE:
        return PL_CLIENT_E_USAGE;
    case PL_WIRE_E_CERT:
        return PL_CLIENT_E_CERT;
    case PL_WIRE_E_PROTOCOL:
        return PL_CLIENT_E_PROTOCOL;
    case PL_WIRE_E_TIMEOUT:
        return PL_CLIENT_E_TIMEOUT;
    default:
        return PL_CLIENT_E_UNREACHABLE;
    }
}

static int queue_push(pl_cconn *c, Parley__ServerFrame *f)
{
    if (c->qhead + c->qlen == c->qcap) {
        Parley__ServerFrame **q;
        size_t cap = c->qcap ? 2 * c->qcap : 64;

        if (c->qhead > 0) {
            memmove(c->queue, c->queue + c->qhead, c->qlen * sizeof *c->queue);
            c->qhead = 0;
        } else if (cap > MAX_QUEUE || !(q = realloc(c->queue, cap * sizeof *q))) {
            pl_frame_server_free(f);
            return pl_wire_conn_fail(c->wire, PL_CLIENT_E_NOMEM, "too many pushes queued");
        } else {
            c->queue = q;
            c->qcap = cap;
        }
    }
    c->queue[c->qhead + c->qlen++] = f;
    return PL_CLIENT_OK;
}

/* A frame that is neither the awaited Response nor a Push: a Goodbye (its status is already
 * the error line) or a server out of step. */
static int unexpected(pl_cconn *c, Parley__ServerFrame *got)
{
    pl_frame_server_free(got);
    return pl_wire_conn_goodbye(c->wire) >= 0
               ? PL_CLIENT_E_PROTOCOL
               : pl_wire_conn_fail(c->wire, PL_CLIENT_E_PROTOCOL,
                                   "unexpected frame from the server");
}

int pl_cconn_open(pl_cconn **out, const char *server, const char *ca_file, const char *pin,
                  char fingerprint_out[PL_TLS_FINGERPRINT_BYTES], char *err, size_t err_len)
{
    pl_wire_conn_options o = {
        .server = server,
        .ca_file = ca_file,
        .pin = pin,
        .client_name = "parley/" PL_VERSION_STRING,
        .timeout_ms = PL_CCONN_TIMEOUT_MS,
    };
    pl_cconn *c = calloc(1, sizeof *c);
    int r;

    *out = NULL;
    if (fingerprint_out)
        fingerprint_out[0] = '\0';
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return PL_CLIENT_E_NOMEM;
    }
    if ((r = client_code(pl_wire_conn_open(&c->wire, &o, fingerprint_out, err, err_len))) !=
        PL_CLIENT_OK) {
        free(c);
        return r;
    }
    *out = c;
    return PL_CLIENT_OK;
}

void pl_cconn_close(pl_cconn *c)
{
    if (!c)
        return;
    pl_wire_conn_close(c->wire);
    for (size_t i = 0; i < c->qlen; i++)
        pl_frame_server_free(c->queue[c->qhead + i]);
    free(c->queue);
    free(c);
}

int pl_cconn_send(pl_cconn *c, Parley__Request *req, unsigned timeout_ms)
{
    Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;

    req->id = pl_wire_conn_next_request_id(c->wire);
    f.kind_case = PARLEY__CLIENT_FRAME__KIND_REQUEST;
    f.request = req;
    return client_code(pl_wire_conn_send(c->wire, &f, pl_wire_mono_ms() + timeout_ms));
}

int pl_cconn_await(pl_cconn *c, uint64_t id, Parley__ServerFrame **out, unsigned timeout_ms)
{
    uint64_t deadline = pl_wire_mono_ms() + timeout_ms;
    int r;

    *out = NULL;
    for (;;) {
        Parley__ServerFrame *got;

        if ((r = client_code(pl_wire_conn_read(c->wire, &got, deadline))) != PL_CLIENT_OK)
            return r == PL_CLIENT_E_TIMEOUT ? pl_wire_conn_fail(c->wire, PL_CLIENT_E_UNREACHABLE,
                                                                "the server did not answer in time")
                                            : r;
        if (got->kind_case == PARLEY__SERVER_FRAME__KIND_PUSH) {
            if ((r = queue_push(c, got)) != PL_CLIENT_OK)
                return r;
            continue;
        }
        if (got->kind_case == PARLEY__SERVER_FRAME__KIND_RESPONSE && got->response->id == id) {
            *out = got;
            return PL_CLIENT_OK;
        }
        return unexpected(c, got);
    }
}

int pl_cconn_request(pl_cconn *c, Parley__Request *req, Parley__ServerFrame **out,
                     unsigned timeout_ms)
{
    int r;

    *out = NULL;
    if ((r = pl_cconn_send(c, req, timeout_ms)) != PL_CLIENT_OK)
        return r;
    return pl_cconn_await(c, req->id, out, timeout_ms);
}

int pl_cconn_next_push(pl_cconn *c, Parley__ServerFrame **out, unsigned timeout_ms)
{
    Parley__ServerFrame *got;
    int r;

    *out = NULL;
    if (c->qlen > 0) {
        *out = c->queue[c->qhead++];
        if (--c->qlen == 0)
            c->qhead = 0;
        return PL_CLIENT_OK;
    }
    r = client_code(pl_wire_conn_read(c->wire, &got, pl_wire_mono_ms() + timeout_ms));
    if (r != PL_CLIENT_OK)
        return r;
    if (got->kind_case == PARLEY__SERVER_FRAME__KIND_PUSH) {
        *out = got;
        return PL_CLIENT_OK;
    }
    return unexpected(c, got);
}

int pl_cconn_exporter(pl_cconn *c, uint8_t out[PL_TLS_EXPORTER_BYTES])
{
    return client_code(pl_wire_conn_exporter(c->wire, out));
}

int pl_cconn_goodbye(const pl_cconn *c)
{
    return pl_wire_conn_goodbye(c->wire);
}

const char *pl_cconn_error(const pl_cconn *c)
{
    return pl_wire_conn_error(c->wire);
}

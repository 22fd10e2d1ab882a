/*
 * audit_conn.c: the auditor's blocking connection to parleyd (audit_conn.h): requests and
 * their responses, and KtWatch pushes reduced to a flag, on a pl_wire_conn
 * (src/net/wire_conn.h: TCP, TLS, pinning, Hello, frames, the stop flag).
 */
#include "audit_conn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "wire_conn.h"

struct pl_audit_conn {
    pl_wire_conn *wire;
    int kt_pushed; /* a Push.kt_checkpoint came and was not yet reported */
};

/* The next frame that is not a Push; pushes raise kt_pushed or are dropped, and a Goodbye is
 * an error. Returns PL_AUDIT_CONN_E_TIMEOUT at the deadline (with *out NULL). stop_at_push:
 * return PL_AUDIT_CONN_OK with *out NULL as soon as a kt push is flagged. */
static int read_frame(pl_audit_conn *c, Parley__ServerFrame **out, uint64_t deadline,
                      int stop_at_push)
{
    *out = NULL;
    for (;;) {
        Parley__ServerFrame *f = NULL;
        int r = pl_wire_conn_read(c->wire, &f, deadline);

        if (r != PL_WIRE_OK)
            return r;
        if (f->kind_case == PARLEY__SERVER_FRAME__KIND_PUSH) {
            if (f->push->kind_case == PARLEY__PUSH__KIND_KT_CHECKPOINT)
                c->kt_pushed = 1;
            pl_frame_server_free(f);
            if (stop_at_push && c->kt_pushed)
                return PL_AUDIT_CONN_OK;
            continue;
        }
        if (f->kind_case == PARLEY__SERVER_FRAME__KIND_GOODBYE) {
            pl_frame_server_free(f); /* the error line says which status */
            return PL_AUDIT_CONN_E_PROTOCOL;
        }
        *out = f;
        return PL_AUDIT_CONN_OK;
    }
}

int pl_audit_conn_normalise_pin(const char *pin, char out[96])
{
    char hex[64];
    size_t n = 0;

    for (const char *p = pin; *p; p++) {
        if (*p == ':')
            continue;
        if (!isxdigit((unsigned char)*p) || n == sizeof hex)
            return -1;
        hex[n++] = (char)toupper((unsigned char)*p);
    }
    if (n != sizeof hex)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        out[3 * i] = hex[2 * i];
        out[3 * i + 1] = hex[2 * i + 1];
        out[3 * i + 2] = i == 31 ? '\0' : ':';
    }
    return 0;
}

int pl_audit_conn_open(pl_audit_conn **out, const char *server, const char *ca_file,
                       const char *pin, volatile sig_atomic_t *stop, char *err, size_t err_len)
{
    char want[96] = "";
    pl_wire_conn_options o = {
        .server = server,
        .ca_file = ca_file,
        .pin = NULL,
        .client_name = "parley-audit/" PL_VERSION_STRING,
        .stop = stop,
        .timeout_ms = PL_AUDIT_CONN_TIMEOUT_MS,
    };
    pl_audit_conn *c;
    int r;

    *out = NULL;
    if ((ca_file == NULL) == (pin == NULL)) {
        snprintf(err, err_len, "give exactly one of --ca and --pin");
        return PL_AUDIT_CONN_E_USAGE;
    }
    if (pin && pl_audit_conn_normalise_pin(pin, want) != 0) {
        snprintf(err, err_len, "--pin must be a SHA-256 fingerprint (64 hex digits)");
        return PL_AUDIT_CONN_E_USAGE;
    }
    o.pin = pin ? want : NULL;
    if (!(c = calloc(1, sizeof *c))) {
        snprintf(err, err_len, "out of memory");
        return PL_AUDIT_CONN_E_NOMEM;
    }
    if ((r = pl_wire_conn_open(&c->wire, &o, NULL, err, err_len)) != PL_WIRE_OK) {
        free(c);
        return r;
    }
    *out = c;
    return PL_AUDIT_CONN_OK;
}

void pl_audit_conn_close(pl_audit_conn *c)
{
    if (!c)
        return;
    pl_wire_conn_close(c->wire);
    free(c);
}

int pl_audit_conn_request(pl_audit_conn *c, Parley__Request *req, Parley__ServerFrame **out,
                          unsigned timeout_ms)
{
    Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;
    uint64_t deadline = pl_wire_mono_ms() + timeout_ms;
    Parley__ServerFrame *got = NULL;
    int r;

    *out = NULL;
    req->id = pl_wire_conn_next_request_id(c->wire);
    f.kind_case = PARLEY__CLIENT_FRAME__KIND_REQUEST;
    f.request = req;
    if ((r = pl_wire_conn_send(c->wire, &f, deadline)) != PL_AUDIT_CONN_OK)
        return r;
    if ((r = read_frame(c, &got, deadline, 0)) != PL_AUDIT_CONN_OK)
        return r == PL_AUDIT_CONN_E_TIMEOUT
                   ? pl_wire_conn_fail(c->wire, PL_AUDIT_CONN_E_UNREACHABLE,
                                       "the server did not answer in time")
                   : r;
    if (got->kind_case != PARLEY__SERVER_FRAME__KIND_RESPONSE || got->response->id != req->id) {
        pl_frame_server_free(got);
        return pl_wire_conn_fail(c->wire, PL_AUDIT_CONN_E_PROTOCOL,
                                 "unexpected frame from the server");
    }
    *out = got;
    return PL_AUDIT_CONN_OK;
}

int pl_audit_conn_wait_push(pl_audit_conn *c, unsigned timeout_ms)
{
    Parley__ServerFrame *got = NULL;
    int r;

    if (!c->kt_pushed) {
        r = read_frame(c, &got, pl_wire_mono_ms() + timeout_ms, 1);
        if (got) {
            pl_frame_server_free(got);
            return pl_wire_conn_fail(c->wire, PL_AUDIT_CONN_E_PROTOCOL,
                                     "unexpected frame from the server");
        }
        if (r != PL_AUDIT_CONN_OK)
            return r;
    }
    c->kt_pushed = 0;
    return PL_AUDIT_CONN_OK;
}

const char *pl_audit_conn_error(const pl_audit_conn *c)
{
    return pl_wire_conn_error(c->wire);
}

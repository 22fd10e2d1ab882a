/*
 * wire_client.h: a blocking test client for parleyd's wire protocol (PROTOCOL.md §11).
 *
 * One TCP socket, the repository's sans-I/O TLS engine (tls_conn.h, client side) and frame
 * codec (frame.h). Every wait has a timeout in milliseconds. Server frames are decoded and
 * validated with pl_frame_decode_server(), so a frame the server should never send fails the
 * read (WC_ERROR, with the reason in wc_error()).
 *
 * Pushes that arrive while wc_request() waits for its Response are queued in arrival order
 * and handed out by wc_next_push(). A Goodbye is remembered (wc_goodbye_code()); after it the
 * connection only reads to its end.
 *
 * Frames returned to the caller are owned by the caller: free them with
 * pl_frame_server_free(). A connection is used from one thread at a time.
 */
#ifndef PARLEYD_WIRE_CLIENT_H
#define PARLEYD_WIRE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "parley.pb-c.h"
#include "tls_conn.h"

/* Results of the client's calls (a status code of the protocol is never negative). */
enum {
    WC_OK = 0,
    WC_TIMEOUT = -1, /* nothing arrived in time */
    WC_EOF = -2,     /* the server closed the connection (TLS close_notify or TCP end) */
    WC_GOODBYE = -3, /* a Goodbye arrived instead of the awaited frame */
    WC_ERROR = -4,   /* socket, TLS or decoding failure; see wc_error() */
};

/* Default wait for one response. */
#define WC_TIMEOUT_MS 5000u

typedef struct wc_conn wc_conn;

/* Options for wc_open(); zero means the default. */
typedef struct wc_opts {
    int rcvbuf;              /* SO_RCVBUF before connect (a slow reader wants it small) */
    const char *server_name; /* checked against the certificate; default "127.0.0.1" */
} wc_opts;

/*
 * Connects to 127.0.0.1:port and completes a TLS 1.3 handshake trusting exactly the
 * certificate(s) in cert_path. opts may be NULL. Returns WC_OK and *out, or WC_ERROR (with
 * *out NULL; the reason is printed to stderr).
 */
int wc_open(wc_conn **out, uint16_t port, const char *cert_path, const wc_opts *opts);

/* wc_open() then Hello {1, 1} and its HelloReply. Returns WC_OK or a WC_* failure. */
int wc_connect(wc_conn **out, uint16_t port, const char *cert_path);

/*
 * Sends Hello {min_version, max_version, "parley-tests"} and reads the first frame, which
 * is returned in *reply if reply is not NULL (else freed). Returns WC_OK when it is a
 * HelloReply, WC_GOODBYE for a Goodbye, or another WC_* failure.
 */
int wc_hello(wc_conn *c, uint32_t min_version, uint32_t max_version, Parley__ServerFrame **reply);

/* Sends close_notify (best effort), closes the socket and frees c and its queue; NULL is ok. */
void wc_close(wc_conn *c);

/* Encodes and sends one client frame. Returns WC_OK, WC_EOF or WC_ERROR. */
int wc_send_frame(wc_conn *c, const Parley__ClientFrame *f);

/* Sends len raw plaintext bytes inside TLS (for malformed frames). Returns as above. */
int wc_send_plain(wc_conn *c, const void *p, size_t len);

/*
 * Reads the next server frame of any kind, bypassing the push queue. Returns WC_OK and *out,
 * WC_TIMEOUT, WC_EOF or WC_ERROR. A Goodbye is returned like any frame (and remembered).
 */
int wc_read_frame(wc_conn *c, Parley__ServerFrame **out, unsigned timeout_ms);

/*
 * Sends req wrapped in a ClientFrame, giving it the next id if req->id is 0, and waits for the
 * Response with that id, queueing pushes meanwhile. Returns WC_OK and *out (the ServerFrame
 * holding the Response; may be NULL to discard it), WC_GOODBYE, WC_TIMEOUT, WC_EOF or
 * WC_ERROR (also for a Response with another id).
 */
int wc_request(wc_conn *c, Parley__Request *req, Parley__ServerFrame **out, unsigned timeout_ms);

/* Returns the status code of a Response frame; fails the test if f is not one. */
int wc_status(const Parley__ServerFrame *f);

/*
 * Returns the next Push: the oldest queued one, else the next frame read. Returns WC_OK and
 * *out, WC_GOODBYE, WC_TIMEOUT, WC_EOF or WC_ERROR (a Response arriving here is an error).
 */
int wc_next_push(wc_conn *c, Parley__ServerFrame **out, unsigned timeout_ms);

/* Number of pushes queued and not yet handed out. */
size_t wc_pushes_queued(const wc_conn *c);

/*
 * Reads (and discards) frames until a Goodbye, then until the connection ends. Returns WC_OK
 * with *code the Goodbye's status; WC_EOF if the connection ended without one (*code -1);
 * WC_TIMEOUT or WC_ERROR. At most max_frames frames are discarded (then WC_ERROR).
 */
int wc_wait_goodbye(wc_conn *c, unsigned timeout_ms, int *code);

/* Reads and discards frames until the connection ends. Returns WC_OK, WC_TIMEOUT, WC_ERROR. */
int wc_wait_eof(wc_conn *c, unsigned timeout_ms);

/* The status of the Goodbye received so far, or -1. */
int wc_goodbye_code(const wc_conn *c);

/* Writes the connection's RFC 8446 exporter for device authentication. Returns WC_OK or
 * WC_ERROR. */
int wc_exporter(wc_conn *c, uint8_t out[PL_TLS_EXPORTER_BYTES]);

/* Returns the next request id this connection would use, and advances it. */
uint64_t wc_take_id(wc_conn *c);

/* The last error's description ("" if none). */
const char *wc_error(const wc_conn *c);

/* The socket, for tests that poke at it directly. */
int wc_fd(const wc_conn *c);

/* Returns a static name for a WC_* result or a StatusCode (>= 0). */
const char *wc_name(int code);

#endif

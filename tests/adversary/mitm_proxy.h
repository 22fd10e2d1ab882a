/*
 * mitm_proxy.h: a malicious operator's TLS man-in-the-middle, for the adversarial tests of key
 * transparency (docs/ADVERSARY.md).
 *
 * The proxy listens on 127.0.0.1 (an ephemeral port) and sits in front of a real parleyd. It
 * terminates the clients' TLS with parleyd's own certificate and key (DATA/tls/cert.pem and
 * key.pem): the operator controls both, so a client's pinned certificate still matches and
 * nothing at the TLS layer can tell the proxy from the server. For each accepted connection
 * it opens its own TLS connection to the upstream parleyd and relays frames both ways:
 *
 *   client --TLS--> proxy: ClientFrame -> client hook -> upstream  --TLS--> parleyd
 *   client <--TLS-- proxy: ServerFrame <- server hook <- upstream  <--TLS-- parleyd
 *
 * Every frame is decoded (protobuf-c, proto/parley.proto) and handed to the test's hook,
 * which returns a verdict: forward it unchanged, replace it by frames the hook encodes
 * (zero, one or several: rewrite, substitute, inject), drop it, or cut the connection; and it
 * may delay the frame. A Response's hook also sees the Request it answers, which the proxy
 * remembers per connection by id. A frame that does not decode is relayed as it came.
 *
 * Threads: one listener, and one thread per proxied connection with blocking sockets and
 * bounded waits (poll with a short timeout, checking the stop flag). At most MP_MAX_CONNS
 * connections at once (more are closed on accept); at most MP_MAX_PENDING requests remembered
 * per connection. Hooks run on the connection threads, one at a time (the proxy holds its
 * lock while a hook runs), so a hook may update the test's counters without locking; the test
 * thread reads them between mp_lock() and mp_unlock(). mp_set_hooks() and mp_set_upstream()
 * take the same lock.
 *
 * Device authentication (PROTOCOL.md §11.6) signs the TLS exporter of the connection, so a
 * TLS-terminating proxy cannot relay it: the client's AuthProof names the client-proxy
 * exporter and parleyd, which sees the proxy-parleyd one, refuses it. That is channel binding
 * doing its job against a third party without the device keys (test_mitm_proxy checks it). A
 * real malicious operator needs no such step, since it is the server; the proxy, which plays
 * the operator in front of an unmodified parleyd, re-signs each AuthProof for its own upstream
 * exporter with the device key the test lends it (mp_set_auth_signer), and relays the rest of
 * the connection as usual.
 *
 * The upstream can be switched (mp_set_upstream): new connections go to the new parleyd, and
 * mp_cut_all() ends the current ones so clients reconnect. A client that stored the proxy's
 * address therefore keeps reaching "its server" across a parleyd restart on another port, a
 * store restored from a backup, or a second parleyd with another history (a split view).
 *
 * Failures of the proxy's own set-up (cannot listen, cannot load the certificate) fail the
 * test with cmocka's fail_msg(). A relay that fails (upstream refuses, TLS error) closes that
 * connection only and is counted in mp_stats.relay_errors.
 */
#ifndef PARLEY_TESTS_MITM_PROXY_H
#define PARLEY_TESTS_MITM_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "parley.pb-c.h"

#define MP_MAX_CONNS 32
#define MP_MAX_PENDING 128
/* The longest delay a hook may ask for; longer requests are cut to it. */
#define MP_MAX_DELAY_MS 30000u
/* Bound on the frames one hook call may produce. */
#define MP_MAX_REPLACEMENT_BYTES (4u * 1024u * 1024u)

typedef struct mp_proxy mp_proxy;

typedef enum mp_verdict {
    MP_FORWARD = 0, /* relay the frame as it came */
    MP_REPLACE,     /* relay the frames added with mp_emit_*() instead (none: like MP_DROP) */
    MP_DROP,        /* relay nothing */
    MP_CLOSE        /* relay nothing and close both sides of this connection */
} mp_verdict;

/* What a hook sees besides the frame, and what it may ask for. */
typedef struct mp_frame_ctx {
    unsigned conn;                  /* this connection's number, from 1 in accept order */
    unsigned frame_no;              /* this frame's number in its direction, from 1 */
    const Parley__Request *request; /* server hook, for a Response: the Request it answers,
                                     * if the proxy saw it (else NULL); borrowed */
    unsigned delay_ms;              /* set by the hook: relay after this long */
    /* The frames the hook emitted (MP_REPLACE), length prefixes included: proxy-owned. */
    uint8_t *out;
    size_t out_len, out_cap;
    int out_failed; /* an mp_emit_*() failed: the connection is closed */
} mp_frame_ctx;

/* Hooks return a verdict; they must not keep f or fx past the call. arg is the pointer
 * given to mp_set_hooks(). */
typedef mp_verdict (*mp_server_hook)(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f);
typedef mp_verdict (*mp_client_hook)(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f);

/*
 * Appends f, encoded as one frame, to what this hook call relays. The usual rewrite makes
 * shallow copies of the received frame's messages on the stack, changes a field in the copy,
 * and emits it: the received frame stays intact (the proxy frees it). Returns MP_REPLACE, or
 * MP_CLOSE if f does not encode or the hook's output would pass MP_MAX_REPLACEMENT_BYTES.
 */
mp_verdict mp_emit_server(mp_frame_ctx *fx, const Parley__ServerFrame *f);
mp_verdict mp_emit_client(mp_frame_ctx *fx, const Parley__ClientFrame *f);

/*
 * Signs the authentication statement (pl_auth_sign) of device_id of username, for challenge
 * and the proxy's upstream exporter, into sig. Returns 0, or -1 if the test has no key for
 * that device (the AuthProof is then relayed unchanged, and parleyd refuses it).
 */
typedef int (*mp_auth_signer)(void *arg, const char *username, uint32_t device_id,
                              const uint8_t challenge[32], const uint8_t exporter[32],
                              uint8_t sig[64]);

/* Counters, read with mp_stats_get(). */
typedef struct mp_stats {
    unsigned conns_accepted;
    unsigned conns_refused; /* over MP_MAX_CONNS, or the upstream could not be reached */
    unsigned client_frames, server_frames; /* decoded and offered to a hook */
    unsigned undecoded_frames;             /* relayed raw: they did not decode */
    unsigned replaced, dropped, closed;    /* hook verdicts other than MP_FORWARD */
    unsigned relay_errors;                 /* TLS or socket failures on either side */
    unsigned auth_rebound;                 /* AuthProofs re-signed for the upstream */
} mp_stats;

/*
 * Starts a proxy on 127.0.0.1 (ephemeral port) that presents the certificate cert_path with
 * the key key_path (parleyd's DATA/tls files) and relays to 127.0.0.1:upstream_port, whose
 * certificate must be in upstream_cert_path (for the same parleyd: cert_path again). With no
 * hooks set every frame is forwarded. Fails the test on a set-up error. Free with mp_stop().
 */
mp_proxy *mp_start(const char *cert_path, const char *key_path, uint16_t upstream_port,
                   const char *upstream_cert_path);

/* The port the proxy listens on. */
uint16_t mp_port(const mp_proxy *p);

/* Sets both hooks and their argument (either hook may be NULL: forward). Takes the lock, so
 * no hook call is running with the old ones when this returns. */
void mp_set_hooks(mp_proxy *p, mp_server_hook server_hook, mp_client_hook client_hook, void *arg);

/* Sets the signer that rebinds AuthProofs to the upstream connection (NULL: none), under the
 * lock; it is called under the lock too. */
void mp_set_auth_signer(mp_proxy *p, mp_auth_signer signer, void *arg);

/* Connections accepted from now on go to 127.0.0.1:port, trusting upstream_cert_path
 * (copied). Current connections keep their upstream: see mp_cut_all(). */
void mp_set_upstream(mp_proxy *p, uint16_t port, const char *upstream_cert_path);

/* Closes every current connection (each thread notices within ~50 ms; this waits for them).
 * The listener keeps accepting. */
void mp_cut_all(mp_proxy *p);

/* Copies the counters. */
void mp_stats_get(mp_proxy *p, mp_stats *out);

/* The lock hooks run under, for the test thread to read what its hooks wrote. */
void mp_lock(mp_proxy *p);
void mp_unlock(mp_proxy *p);

/* Stops the listener and every connection, joins their threads and frees p; NULL is ok. */
void mp_stop(mp_proxy *p);

#endif

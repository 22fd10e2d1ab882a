/*
 * test_mitm_proxy.c: the man-in-the-middle proxy itself (mitm_proxy.h), before any attack is
 * built on it. An ordinary client flow (two real clients registering, messaging both ways)
 * passes through unchanged and the clients pin parleyd's own certificate; each verdict does
 * what it says (a rewritten status arrives, a dropped answer never does, a delayed one comes
 * late, a cut connection ends); a Response's hook sees the Request it answers; and after a
 * parleyd restart on another port, switching the upstream keeps the clients' address valid.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "adv_keyring.h"
#include "client.h"
#include "mitm_proxy.h"
#include "parleyd_test.h"
#include "tls_cert.h"

static char base[] = "/tmp/parley-mitm-XXXXXX";
/* The device keys lent to the proxy for re-signing authentication (mitm_proxy.h). */
static adv_keyring ring;

/* ------------------------------------------------------------------ hooks */

typedef struct hook_state {
    int mode;                    /* what the server hook does, below */
    unsigned delay_ms;           /* MODE_DELAY */
    unsigned responses_seen;     /* Responses that reached the server hook */
    unsigned matched_requests;   /* ... whose Request the proxy knew */
    unsigned pings_answered;     /* Responses to a Ping */
    unsigned fetch_bundles_seen; /* Responses to a FetchBundles, with the username asked */
    char fetch_bundles_user[64];
    unsigned client_pings;   /* Ping requests seen by the client hook */
    unsigned sends_answered; /* Responses to a Send */
} hook_state;

enum {
    MODE_WATCH,          /* forward everything, count */
    MODE_DROP_PING,      /* drop the Response to a Ping */
    MODE_DELAY_PING,     /* delay it */
    MODE_NOT_FOUND,      /* answer FetchBundles with STATUS_NOT_FOUND and no body */
    MODE_CLOSE_ON_PING,  /* close the connection instead of answering a Ping */
    MODE_DOUBLE_PING_OK, /* answer a Ping twice (the client must see an unexpected frame) */
};

static mp_verdict server_hook(void *arg, mp_frame_ctx *fx, const Parley__ServerFrame *f)
{
    hook_state *h = arg;
    const Parley__Request *rq = fx->request;

    if (f->kind_case != PARLEY__SERVER_FRAME__KIND_RESPONSE)
        return MP_FORWARD;
    h->responses_seen++;
    if (!rq)
        return MP_FORWARD;
    h->matched_requests++;
    if (rq->id != f->response->id)
        return MP_CLOSE; /* the proxy matched the wrong request: make the test fail loudly */
    if (rq->body_case == PARLEY__REQUEST__BODY_SEND)
        h->sends_answered++;
    if (rq->body_case == PARLEY__REQUEST__BODY_FETCH_BUNDLES) {
        h->fetch_bundles_seen++;
        snprintf(h->fetch_bundles_user, sizeof h->fetch_bundles_user, "%s",
                 rq->fetch_bundles->username);
        if (h->mode == MODE_NOT_FOUND) {
            Parley__Status st = *f->response->status;
            Parley__Response resp = *f->response;
            Parley__ServerFrame nf = *f;

            st.code = PARLEY__STATUS_CODE__STATUS_NOT_FOUND;
            st.message = "no such user (said the proxy)";
            resp.status = &st;
            resp.body_case = PARLEY__RESPONSE__BODY__NOT_SET;
            nf.response = &resp;
            return mp_emit_server(fx, &nf);
        }
    }
    if (rq->body_case != PARLEY__REQUEST__BODY_PING)
        return MP_FORWARD;
    h->pings_answered++;
    switch (h->mode) {
    case MODE_DROP_PING:
        return MP_DROP;
    case MODE_DELAY_PING:
        fx->delay_ms = h->delay_ms;
        return MP_FORWARD;
    case MODE_CLOSE_ON_PING:
        return MP_CLOSE;
    case MODE_DOUBLE_PING_OK:
        mp_emit_server(fx, f);
        return mp_emit_server(fx, f);
    default:
        return MP_FORWARD;
    }
}

static mp_verdict client_hook(void *arg, mp_frame_ctx *fx, const Parley__ClientFrame *f)
{
    hook_state *h = arg;

    (void)fx;
    if (f->kind_case == PARLEY__CLIENT_FRAME__KIND_REQUEST &&
        f->request->body_case == PARLEY__REQUEST__BODY_PING)
        h->client_pings++;
    return MP_FORWARD;
}

/* ------------------------------------------------------------------ helpers */

typedef struct inbox {
    char text[8][128];
    int n;
} inbox;

static int collect(void *ctx, const pl_client_message *m)
{
    inbox *in = ctx;

    if (!m->notice && in->n < 8)
        snprintf(in->text[in->n++], sizeof in->text[0], "%.*s", (int)m->text_len, m->text);
    return 0;
}

/* Opens an existing client home again, as the next `parley` command would. */
static pl_client *reopen_client(const char *name)
{
    char home[512], err[512];
    pl_client *c = NULL;
    int r;

    snprintf(home, sizeof home, "%s/%s", base, name);
    if ((r = pl_client_open(&c, home, NULL, 0, err, sizeof err)) != PL_CLIENT_OK)
        fail_msg("open %s: %s: %s", name, pl_client_errname(r), err);
    adv_keyring_add_client(&ring, c);
    return c;
}

static void close_client(pl_client *c)
{
    adv_keyring_remove_client(&ring, c);
    pl_client_close(c);
}

static pl_client *new_client(const char *name, const char *addr, const char *cert)
{
    char home[512], err[512], fp[96];
    pl_client *c = NULL;
    int r;

    snprintf(home, sizeof home, "%s/%s", base, name);
    if ((r = pl_client_open(&c, home, NULL, 1, err, sizeof err)) != PL_CLIENT_OK)
        fail_msg("open %s: %s: %s", name, pl_client_errname(r), err);
    adv_keyring_add_client(&ring, c);
    if ((r = pl_client_init(c, addr, cert, name, "laptop", fp)) != PL_CLIENT_OK)
        fail_msg("init %s: %s: %s", name, pl_client_errname(r), pl_client_error(c));
    return c;
}

static int ping(wc_conn *c, unsigned timeout_ms)
{
    Parley__Request rq = PARLEY__REQUEST__INIT;
    Parley__Ping p = PARLEY__PING__INIT;
    Parley__ServerFrame *f = NULL;
    int r;

    rq.body_case = PARLEY__REQUEST__BODY_PING;
    rq.ping = &p;
    if ((r = wc_request(c, &rq, &f, timeout_ms)) == WC_OK)
        r = wc_status(f);
    pl_frame_server_free(f);
    return r;
}

static void start(ph_server **srv, mp_proxy **px)
{
    memset(&ring, 0, sizeof ring);
    *srv = ph_start(NULL);
    *px = mp_start((*srv)->cert_path, (*srv)->key_path, (*srv)->port, (*srv)->cert_path);
    mp_set_auth_signer(*px, adv_keyring_sign, &ring);
}

/* ------------------------------------------------------------------ tests */

/* Two real clients register, message each other and receive through the proxy: nothing
 * changes, the client pinned parleyd's certificate, and every frame went by a hook. */
static void ordinary_flow_passes_unchanged(void **state)
{
    ph_server *srv;
    mp_proxy *px;
    hook_state h = {0};
    char addr[64], id[33], fp[PL_TLS_FINGERPRINT_BYTES];
    pl_client *alice, *bob;
    pl_client_whoami who;
    mp_stats st;
    inbox in = {0};

    (void)state;
    start(&srv, &px);
    mp_set_hooks(px, server_hook, client_hook, &h);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", mp_port(px));
    alice = new_client("alice", addr, srv->cert_path);
    bob = new_client("bob", addr, srv->cert_path);
    assert_int_equal(pl_client_send(alice, "bob", "hello through the proxy", 23, id), PL_CLIENT_OK);
    assert_int_equal(pl_client_receive(bob, 2000, collect, &in), PL_CLIENT_OK);
    assert_int_equal(in.n, 1);
    assert_string_equal(in.text[0], "hello through the proxy");
    assert_int_equal(pl_client_send(bob, "alice", "and back", 8, id), PL_CLIENT_OK);
    in.n = 0;
    assert_int_equal(pl_client_receive(alice, 2000, collect, &in), PL_CLIENT_OK);
    assert_int_equal(in.n, 1);
    assert_string_equal(in.text[0], "and back");

    /* The proxy presented parleyd's own certificate: the pin is parleyd's. */
    assert_int_equal(pl_tls_cert_fingerprint_file(srv->cert_path, fp, NULL, 0), PL_TLS_OK);
    assert_int_equal(pl_client_whoami_get(alice, &who), PL_CLIENT_OK);
    assert_string_equal(who.server_fingerprint, fp);

    mp_stats_get(px, &st);
    assert_true(st.conns_accepted >= 2); /* a client keeps its connection between calls */
    assert_int_equal(st.conns_refused, 0);
    assert_true(st.client_frames >= 10);
    assert_true(st.server_frames >= 10);
    assert_int_equal(st.undecoded_frames, 0);
    assert_int_equal(st.replaced + st.dropped + st.closed, 0);
    assert_int_equal(st.relay_errors, 0);
    assert_true(st.auth_rebound >= 2);
    mp_lock(px);
    /* Every Response was matched with its Request, the four Sends among them: the two
     * messages and the delivery receipt each receive sent back (PROTOCOL.md §28). */
    assert_true(h.responses_seen > 0);
    assert_int_equal(h.matched_requests, h.responses_seen);
    assert_int_equal(h.sends_answered, 4);
    mp_unlock(px);

    close_client(alice);
    close_client(bob);
    mp_stop(px);
    ph_stop(srv);
    ph_free(srv);
}

/* Each verdict, with the wire test client so the effect is seen frame by frame. */
static void verdicts_rewrite_drop_delay_close(void **state)
{
    ph_server *srv;
    mp_proxy *px;
    hook_state h = {0};
    wc_conn *c;
    wi_account *u;
    Parley__ServerFrame *f = NULL;
    uint64_t t0;
    mp_stats st;

    (void)state;
    start(&srv, &px);
    mp_set_hooks(px, server_hook, client_hook, &h);
    u = wo_new_user(mp_port(px), srv->cert_path, "mitm", NULL);
    adv_keyring_add_account(&ring, u);
    c = wo_login(mp_port(px), srv->cert_path, u, &u->devices[0]);

    /* Forward. */
    EXPECT(ping(c, 2000), ST(OK));

    /* Rewrite: the user exists, the proxy says it does not. */
    mp_lock(px);
    h.mode = MODE_NOT_FOUND;
    mp_unlock(px);
    EXPECT(wo_fetch_bundles(c, u->username, &f), ST(NOT_FOUND));
    assert_int_equal(f->response->body_case, PARLEY__RESPONSE__BODY__NOT_SET);
    assert_string_equal(f->response->status->message, "no such user (said the proxy)");
    pl_frame_server_free(f);
    mp_lock(px);
    assert_string_equal(h.fetch_bundles_user, u->username);
    mp_unlock(px);

    /* Drop: the answer never comes. */
    mp_lock(px);
    h.mode = MODE_DROP_PING;
    mp_unlock(px);
    EXPECT(ping(c, 400), WC_TIMEOUT);

    /* Delay: it comes, late. A fresh connection, since the dropped answer left the old one
     * with a request outstanding. */
    wc_close(c);
    c = wo_login(mp_port(px), srv->cert_path, u, &u->devices[0]);
    mp_lock(px);
    h.mode = MODE_DELAY_PING;
    h.delay_ms = 300;
    mp_unlock(px);
    t0 = ph_mono_ms();
    EXPECT(ping(c, 3000), ST(OK));
    assert_true(ph_mono_ms() - t0 >= 300);

    /* Two answers for one request: the second is a Response nobody asked for. */
    mp_lock(px);
    h.mode = MODE_DOUBLE_PING_OK;
    mp_unlock(px);
    EXPECT(ping(c, 2000), ST(OK));
    EXPECT(wc_read_frame(c, &f, 2000), WC_OK);
    assert_int_equal(f->kind_case, PARLEY__SERVER_FRAME__KIND_RESPONSE);
    pl_frame_server_free(f);

    /* Close: the connection ends instead of answering. */
    mp_lock(px);
    h.mode = MODE_CLOSE_ON_PING;
    mp_unlock(px);
    EXPECT(ping(c, 2000), WC_EOF);
    wc_close(c);

    mp_stats_get(px, &st);
    assert_int_equal(st.replaced, 2);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.closed, 1);
    mp_lock(px);
    assert_int_equal(h.client_pings, 5);
    mp_unlock(px);

    wi_account_free(u);
    mp_stop(px);
    ph_stop(srv);
    ph_free(srv);
}

/* Without the device key the proxy cannot authenticate upstream: the client's proof is bound
 * to the client-proxy TLS connection, and parleyd refuses it on the proxy-parleyd one. */
static void authentication_is_bound_to_the_connection(void **state)
{
    ph_server *srv;
    mp_proxy *px;
    wc_conn *c;
    wi_account *u;
    uint8_t challenge[32], exporter[32], sig[64];
    mp_stats st;

    (void)state;
    start(&srv, &px);
    mp_set_auth_signer(px, NULL, NULL);
    u = wo_new_user(mp_port(px), srv->cert_path, "bound", NULL);
    EXPECT(wc_connect(&c, mp_port(px), srv->cert_path), WC_OK);
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wc_exporter(c, exporter), WC_OK);
    wi_auth_signature(&u->devices[0], challenge, exporter, u->username, sig);
    EXPECT(wo_proof(c, u->username, 1, sig, NULL), ST(AUTH_FAILED));
    wc_close(c);
    mp_stats_get(px, &st);
    assert_int_equal(st.auth_rebound, 0);

    /* With the key lent, the same steps pass. */
    adv_keyring_add_account(&ring, u);
    mp_set_auth_signer(px, adv_keyring_sign, &ring);
    EXPECT(wc_connect(&c, mp_port(px), srv->cert_path), WC_OK);
    EXPECT(wo_challenge(c, challenge), ST(OK));
    EXPECT(wc_exporter(c, exporter), WC_OK);
    wi_auth_signature(&u->devices[0], challenge, exporter, u->username, sig);
    EXPECT(wo_proof(c, u->username, 1, sig, NULL), ST(OK));
    wc_close(c);
    mp_stats_get(px, &st);
    assert_int_equal(st.auth_rebound, 1);

    wi_account_free(u);
    mp_stop(px);
    ph_stop(srv);
    ph_free(srv);
}

/* A restart on another port: the clients keep the proxy's address; switching the upstream
 * and cutting the old connections is all it takes. */
static void upstream_switch_after_restart(void **state)
{
    ph_server *srv;
    mp_proxy *px;
    char addr[64], id[33];
    pl_client *erin, *frank;
    uint16_t old_port;
    inbox in = {0};

    (void)state;
    start(&srv, &px);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", mp_port(px));
    erin = new_client("erin", addr, srv->cert_path);
    frank = new_client("frank", addr, srv->cert_path);
    close_client(erin);
    close_client(frank);
    old_port = srv->port;
    ph_stop(srv);
    ph_restart(srv);
    if (srv->port == old_port)
        print_message("parleyd came back on the same port %u\n", old_port);
    mp_set_upstream(px, srv->port, srv->cert_path);
    mp_cut_all(px);
    erin = reopen_client("erin");
    frank = reopen_client("frank");
    assert_int_equal(pl_client_send(erin, "frank", "after the restart", 17, id), PL_CLIENT_OK);
    assert_int_equal(pl_client_receive(frank, 2000, collect, &in), PL_CLIENT_OK);
    assert_int_equal(in.n, 1);
    assert_string_equal(in.text[0], "after the restart");
    close_client(erin);
    close_client(frank);
    mp_stop(px);
    ph_stop(srv);
    ph_free(srv);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(base))
        return -1;
    /* The clients' store key derivation at test strength (as tests/client do). */
    setenv("PARLEY_TEST_FAST_KDF", "1", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ph_rm_rf(base);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ordinary_flow_passes_unchanged),
        cmocka_unit_test(verdicts_rewrite_drop_delay_close),
        cmocka_unit_test(authentication_is_bound_to_the_connection),
        cmocka_unit_test(upstream_switch_after_restart),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * loadgen.c: parleyd's load generator.
 *
 *   loadgen [throughput] [--pairs N] [--messages M] [--window W] [--rate R]
 *   loadgen --idle C
 *   common: [--server-bin PATH | --connect HOST:PORT --ca CERT [--admin HOST:PORT]]
 *           [--timeout S] [--setup-concurrency K] [--keep]
 *
 * throughput: N sender devices each send M envelopes of 300 bytes to their own receiver
 * device, at most W unanswered Sends at a time (paced to R envelopes/s in total if R is
 * given); receivers ack what they get once per loop iteration (up to 256 per Ack). Each
 * ciphertext carries (run tag, pair, message number), so every envelope is checked to
 * arrive once, at the right device, with increasing seqs. idle: C devices register,
 * authenticate and sit idle; the server's RSS growth per connection is reported.
 *
 * One libuv loop drives every connection (loadgen_conn.h); it reports its own CPU use so
 * a client-bound run shows. Human-readable lines, then one JSON line. Exit status 0 only
 * if every check passed before the deadline.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sodium.h>
#include <uv.h>

#include "parley/parley.h"
#include "parley/statement.h"

#include "loadgen_conn.h"
#include "loadgen_server.h"

#ifndef LOADGEN_PARLEYD
#define LOADGEN_PARLEYD "parleyd"
#endif

#define CIPHERTEXT_BYTES 300u
#define TAG_BYTES 8u
#define MAX_THREADS 64

enum role { ROLE_IDLE, ROLE_SENDER, ROLE_RECEIVER };

typedef struct dev {
    lg_conn conn;
    enum role role;
    uint32_t index; /* pair number, or connection number when idle */
    char username[33];
    uint32_t device_id;
    uint8_t identity_key[PL_PUBKEY_BYTES];
    pl_device *device; /* freed once authenticated */
    int setup_done;
    /* sender */
    uint32_t sent, results, inflight;
    uint64_t *sent_ns; /* M entries */
    uint8_t cmid_prefix[8];
    uint8_t body[CIPHERTEXT_BYTES];
    /* receiver */
    uint32_t received;
    uint64_t last_seq;
    uint8_t *seen; /* M entries */
    uint64_t acks[PL_WIRE_MAX_ACKS];
    uint32_t n_acks;
    uint32_t acks_outstanding;
    struct dev *next_ack;
    int on_ack_list;
} dev;

typedef struct opts {
    int idle;
    uint32_t conns; /* idle */
    uint32_t pairs, messages, window;
    double rate;
    double timeout_s;
    uint32_t setup_concurrency;
    const char *server_bin;
    const char *connect;
    const char *ca;
    const char *admin;
    int keep;
} opts;

static struct {
    opts o;
    uv_loop_t loop;
    lg_net net;
    lg_server srv;
    pl_tls_ctx *tls;
    uint8_t tag[TAG_BYTES];
    dev *devs;
    uint32_t n_devs;
    uint32_t next_start, setups_active, setups_done;
    uv_timer_t deadline, pace, idle_hold;
    int failed;
    char failure[512];
    int finished;
    /* throughput */
    uint64_t t0, t_last_delivery;
    uint64_t delivered, results, acked_frames;
    uint64_t *lat_ns; /* pairs * messages */
    dev *ack_list;
    uint64_t srv_cpu0, srv_cpu1;
    lg_thread_cpu thr0[MAX_THREADS], thr1[MAX_THREADS];
    int n_thr0, n_thr1;
    struct rusage ru0, ru1;
    uint64_t rss_peak_sampled;
    uv_timer_t rss_timer;
    uint64_t setup_t0, setup_t1;
} g;

/* Records the first failure (later ones are consequences) and stops the loop. */
__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;

    if (!g.failed) {
        g.failed = 1;
        va_start(ap, fmt);
        vsnprintf(g.failure, sizeof g.failure, fmt, ap);
        va_end(ap);
    }
    uv_stop(&g.loop);
}

/* ------------------------------------------------------------------ device setup */

static int start_device(dev *d);

static void start_more(void)
{
    while (!g.failed && g.next_start < g.n_devs && g.setups_active < g.o.setup_concurrency) {
        dev *d = &g.devs[g.next_start++];

        g.setups_active++;
        if (start_device(d) != 0) {
            fail("cannot start connection %u", (unsigned)(d - g.devs));
            return;
        }
    }
}

static int start_device(dev *d)
{
    pl_account *account = NULL;
    uint8_t account_key[PL_PUBKEY_BYTES], record[PL_DEVICE_RECORD_BYTES];
    int r = -1;

    d->device_id = 1;
    if (pl_account_generate(&account, NULL) != PL_OK ||
        pl_device_generate(&d->device, NULL, d->device_id) != PL_OK)
        goto out;
    pl_account_public_key(account, account_key);
    pl_device_identity_key(d->device, d->identity_key);
    if (pl_account_sign_device(account, d->device_id, d->identity_key, (uint64_t)time(NULL),
                               record) != PL_OK)
        goto out;
    if (lg_conn_start(&d->conn, &g.net, d) != 0)
        goto out;
    /* Kept until on_ready sends them (d->body is free until sending starts). */
    memcpy(d->body, account_key, sizeof account_key);
    memcpy(d->body + PL_PUBKEY_BYTES, record, sizeof record);
    r = 0;
out:
    pl_account_free(account);
    return r;
}

/* Pipelining is allowed (§11.2): Hello, RegisterAccount and the challenge go together. */
static void on_ready(lg_conn *c)
{
    dev *d = c->user;
    Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;
    Parley__Hello hello = PARLEY__HELLO__INIT;
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__RegisterAccount reg = PARLEY__REGISTER_ACCOUNT__INIT;
    Parley__Request req2 = PARLEY__REQUEST__INIT;
    Parley__AuthChallengeRequest ch = PARLEY__AUTH_CHALLENGE_REQUEST__INIT;

    hello.min_version = PL_WIRE_VERSION_MIN;
    hello.max_version = PL_WIRE_VERSION_MAX;
    hello.client = "parley-loadgen";
    f.kind_case = PARLEY__CLIENT_FRAME__KIND_HELLO;
    f.hello = &hello;
    if (lg_conn_send(c, &f) != 0)
        return;
    reg.username = d->username;
    reg.account_key.data = d->body;
    reg.account_key.len = PL_PUBKEY_BYTES;
    reg.device_record.data = d->body + PL_PUBKEY_BYTES;
    reg.device_record.len = PL_DEVICE_RECORD_BYTES;
    req.body_case = PARLEY__REQUEST__BODY_REGISTER_ACCOUNT;
    req.register_account = &reg;
    if (lg_conn_request(c, &req) != 0)
        return;
    req2.body_case = PARLEY__REQUEST__BODY_AUTH_CHALLENGE;
    req2.auth_challenge = &ch;
    (void)lg_conn_request(c, &req2);
}

static void setup_finished(dev *d)
{
    d->setup_done = 1;
    pl_device_free(d->device);
    d->device = NULL;
    g.setups_active--;
    g.setups_done++;
    start_more();
}

static void send_proof(dev *d, const Parley__AuthChallenge *ch)
{
    uint8_t exporter[PL_TLS_EXPORTER_BYTES], sig[PL_SIGNATURE_BYTES];
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__AuthProof proof = PARLEY__AUTH_PROOF__INIT;

    if (ch->challenge.len != PL_AUTH_CHALLENGE_BYTES ||
        pl_tls_conn_exporter(d->conn.tls, exporter) != PL_TLS_OK ||
        pl_auth_sign(d->device, ch->challenge.data, exporter, d->username, strlen(d->username),
                     d->device_id, sig) != PL_OK) {
        fail("%s: cannot sign the auth challenge", d->username);
        return;
    }
    proof.username = d->username;
    proof.device_id = d->device_id;
    proof.signature.data = sig;
    proof.signature.len = sizeof sig;
    req.body_case = PARLEY__REQUEST__BODY_AUTH_PROOF;
    req.auth_proof = &proof;
    (void)lg_conn_request(&d->conn, &req);
}

/* After AuthProof succeeded: a requester needs authentication, so this is not pipelined
 * with the proof, which the server verifies asynchronously. */
static void send_signed_prekey(dev *d)
{
    uint8_t spk_pub[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    pl_signed_prekey *spk = NULL;
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__UploadSignedPrekey up = PARLEY__UPLOAD_SIGNED_PREKEY__INIT;

    if (pl_signed_prekey_generate(&spk, NULL, d->device, 1, (uint64_t)time(NULL)) != PL_OK) {
        fail("%s: cannot make a signed prekey", d->username);
        return;
    }
    pl_signed_prekey_public(spk, spk_pub);
    pl_signed_prekey_free(spk);
    up.signed_prekey.data = spk_pub;
    up.signed_prekey.len = sizeof spk_pub;
    req.body_case = PARLEY__REQUEST__BODY_UPLOAD_SIGNED_PREKEY;
    req.upload_signed_prekey = &up;
    (void)lg_conn_request(&d->conn, &req);
}

/* ------------------------------------------------------------------ throughput */

static void finish_if_done(void);

static void pump(dev *s)
{
    uint64_t now, allowed = g.o.messages;
    dev *rcv = &g.devs[g.o.pairs + s->index];
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__Send send = PARLEY__SEND__INIT;
    Parley__DeviceCiphertext dc = PARLEY__DEVICE_CIPHERTEXT__INIT;
    Parley__DeviceCiphertext *dcs[1] = {&dc};
    uint8_t cmid[PL_WIRE_CLIENT_MESSAGE_ID_BYTES];

    if (g.o.rate > 0) {
        double per_pair = g.o.rate / (double)g.o.pairs;
        double t = (double)(uv_hrtime() - g.t0) / 1e9;

        allowed = (uint64_t)(t * per_pair) + 1;
        if (allowed > g.o.messages)
            allowed = g.o.messages;
    }
    send.recipient = rcv->username;
    send.n_recipient_devices = 1;
    send.recipient_devices = dcs;
    dc.device_id = rcv->device_id;
    dc.identity_key.data = rcv->identity_key;
    dc.identity_key.len = PL_PUBKEY_BYTES;
    dc.ciphertext.data = s->body;
    dc.ciphertext.len = CIPHERTEXT_BYTES;
    send.client_message_id.data = cmid;
    send.client_message_id.len = sizeof cmid;
    req.body_case = PARLEY__REQUEST__BODY_SEND;
    req.send = &send;
    while (!g.failed && s->sent < allowed && s->inflight < g.o.window) {
        uint32_t m = s->sent;

        memcpy(s->body, g.tag, TAG_BYTES);
        s->body[8] = (uint8_t)(s->index >> 24);
        s->body[9] = (uint8_t)(s->index >> 16);
        s->body[10] = (uint8_t)(s->index >> 8);
        s->body[11] = (uint8_t)s->index;
        s->body[12] = (uint8_t)(m >> 24);
        s->body[13] = (uint8_t)(m >> 16);
        s->body[14] = (uint8_t)(m >> 8);
        s->body[15] = (uint8_t)m;
        memcpy(cmid, s->cmid_prefix, 8);
        memcpy(cmid + 8, s->body + 8, 8);
        now = uv_hrtime();
        s->sent_ns[m] = now;
        if (lg_conn_request(&s->conn, &req) != 0)
            return;
        s->sent++;
        s->inflight++;
    }
}

static void on_pace(uv_timer_t *t)
{
    uint32_t i;

    (void)t;
    for (i = 0; i < g.o.pairs; i++)
        pump(&g.devs[i]);
}

static void sample_rss(uv_timer_t *t)
{
    uint64_t kib;

    (void)t;
    if (g.srv.pid > 0 && lg_proc_status_kib(g.srv.pid, "VmRSS", &kib) == 0 &&
        kib > g.rss_peak_sampled)
        g.rss_peak_sampled = kib;
}

static void start_sending(void)
{
    uint32_t i;

    g.setup_t1 = uv_hrtime();
    if (g.srv.pid > 0) {
        lg_proc_cpu_ns(g.srv.pid, &g.srv_cpu0);
        g.n_thr0 = lg_proc_threads(g.srv.pid, g.thr0, MAX_THREADS);
    }
    getrusage(RUSAGE_SELF, &g.ru0);
    g.t0 = uv_hrtime();
    if (g.o.rate > 0) {
        uv_timer_init(&g.loop, &g.pace);
        uv_timer_start(&g.pace, on_pace, 1, 1);
    }
    for (i = 0; i < g.o.pairs; i++)
        pump(&g.devs[i]);
}

static void record_end(void)
{
    if (g.srv.pid > 0) {
        lg_proc_cpu_ns(g.srv.pid, &g.srv_cpu1);
        g.n_thr1 = lg_proc_threads(g.srv.pid, g.thr1, MAX_THREADS);
    }
    getrusage(RUSAGE_SELF, &g.ru1);
}

static void finish_if_done(void)
{
    uint64_t total = (uint64_t)g.o.pairs * g.o.messages;
    uint32_t i;

    if (g.finished || g.delivered < total || g.results < total)
        return;
    for (i = g.o.pairs; i < g.n_devs; i++)
        if (g.devs[i].n_acks || g.devs[i].acks_outstanding)
            return;
    g.finished = 1;
    uv_stop(&g.loop);
}

static void queue_ack(dev *r)
{
    if (!r->on_ack_list) {
        r->on_ack_list = 1;
        r->next_ack = g.ack_list;
        g.ack_list = r;
    }
}

static void send_acks(dev *r)
{
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__Ack ack = PARLEY__ACK__INIT;

    if (r->n_acks == 0)
        return;
    ack.n_seqs = r->n_acks;
    ack.seqs = r->acks;
    req.body_case = PARLEY__REQUEST__BODY_ACK;
    req.ack = &ack;
    if (lg_conn_request(&r->conn, &req) != 0)
        return;
    r->n_acks = 0;
    r->acks_outstanding++;
    g.acked_frames++;
}

static void before_flush(lg_net *net)
{
    dev *r;

    (void)net;
    while ((r = g.ack_list) != NULL) {
        g.ack_list = r->next_ack;
        r->on_ack_list = 0;
        send_acks(r);
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void on_envelope(dev *r, const Parley__Envelope *e)
{
    uint64_t now = uv_hrtime();
    uint32_t pair, m;
    dev *s;

    if (r->role != ROLE_RECEIVER) {
        fail("%s got an envelope (seq %llu) it should not", r->username,
             (unsigned long long)e->seq);
        return;
    }
    if (e->seq <= r->last_seq) {
        fail("%s: seq %llu does not increase", r->username, (unsigned long long)e->seq);
        return;
    }
    r->last_seq = e->seq;
    if (e->ciphertext.len != CIPHERTEXT_BYTES || memcmp(e->ciphertext.data, g.tag, TAG_BYTES)) {
        fail("%s: envelope seq %llu is not one of ours", r->username, (unsigned long long)e->seq);
        return;
    }
    pair = be32(e->ciphertext.data + 8);
    m = be32(e->ciphertext.data + 12);
    if (pair != r->index || m >= g.o.messages) {
        fail("%s: envelope for another pair or out of range (seq %llu)", r->username,
             (unsigned long long)e->seq);
        return;
    }
    s = &g.devs[pair];
    if (strcmp(e->sender, s->username) != 0 || e->sender_device != s->device_id) {
        fail("%s: wrong sender on seq %llu", r->username, (unsigned long long)e->seq);
        return;
    }
    if (e->client_message_id.len != PL_WIRE_CLIENT_MESSAGE_ID_BYTES ||
        memcmp(e->client_message_id.data, s->cmid_prefix, 8) != 0 ||
        memcmp(e->client_message_id.data + 8, e->ciphertext.data + 8, 8) != 0) {
        fail("%s: client_message_id does not match on seq %llu", r->username,
             (unsigned long long)e->seq);
        return;
    }
    if (r->seen[m]) {
        fail("%s: message %u delivered twice", r->username, m);
        return;
    }
    if (m >= s->sent) {
        fail("%s: message %u delivered before it was sent", r->username, m);
        return;
    }
    r->seen[m] = 1;
    r->received++;
    g.delivered++;
    g.lat_ns[(size_t)pair * g.o.messages + m] = now - s->sent_ns[m];
    g.t_last_delivery = now;
    r->acks[r->n_acks++] = e->seq;
    if (r->n_acks == PL_WIRE_MAX_ACKS)
        send_acks(r);
    else
        queue_ack(r);
    if (g.delivered == (uint64_t)g.o.pairs * g.o.messages)
        record_end();
}

/* ------------------------------------------------------------------ frames */

static void on_response(dev *d, const Parley__Response *resp)
{
    if (resp->status->code != PARLEY__STATUS_CODE__STATUS_OK) {
        fail("%s: request %llu failed with status %d: %s", d->username,
             (unsigned long long)resp->id, (int)resp->status->code,
             resp->status->message ? resp->status->message : "");
        return;
    }
    switch (resp->body_case) {
    case PARLEY__RESPONSE__BODY_REGISTER_ACCOUNT:
        break;
    case PARLEY__RESPONSE__BODY_AUTH_CHALLENGE:
        send_proof(d, resp->auth_challenge);
        break;
    case PARLEY__RESPONSE__BODY_AUTH_PROOF:
        if (d->role == ROLE_IDLE)
            setup_finished(d);
        else
            send_signed_prekey(d);
        break;
    case PARLEY__RESPONSE__BODY_UPLOAD_SIGNED_PREKEY:
        setup_finished(d);
        if (!g.o.idle && g.setups_done == g.n_devs)
            start_sending();
        break;
    case PARLEY__RESPONSE__BODY_SEND:
        if (d->role != ROLE_SENDER || d->inflight == 0) {
            fail("%s: unexpected SendResult", d->username);
            return;
        }
        d->inflight--;
        d->results++;
        g.results++;
        pump(d);
        finish_if_done();
        break;
    case PARLEY__RESPONSE__BODY_ACK:
        if (d->acks_outstanding == 0) {
            fail("%s: unexpected Ack response", d->username);
            return;
        }
        d->acks_outstanding--;
        finish_if_done();
        break;
    default:
        fail("%s: unexpected response body %d", d->username, (int)resp->body_case);
    }
}

static void on_frame(lg_conn *c, const Parley__ServerFrame *f)
{
    dev *d = c->user;

    switch (f->kind_case) {
    case PARLEY__SERVER_FRAME__KIND_HELLO_REPLY:
        break;
    case PARLEY__SERVER_FRAME__KIND_RESPONSE:
        on_response(d, f->response);
        break;
    case PARLEY__SERVER_FRAME__KIND_PUSH:
        if (f->push->kind_case == PARLEY__PUSH__KIND_ENVELOPE)
            on_envelope(d, f->push->envelope);
        break;
    case PARLEY__SERVER_FRAME__KIND_GOODBYE:
        fail("%s: Goodbye, status %d: %s", d->username, (int)f->goodbye->status->code,
             f->goodbye->status->message ? f->goodbye->status->message : "");
        break;
    default:
        fail("%s: unknown frame kind %d", d->username, (int)f->kind_case);
    }
}

static void on_fail(lg_conn *c, const char *why)
{
    dev *d = c->user;

    if (g.finished)
        return;
    fail("%s (connection %u): %s", d->username, (unsigned)(d - g.devs), why);
}

static const lg_conn_cbs cbs = {on_ready, on_frame, on_fail};

/* ------------------------------------------------------------------ report */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *v, size_t n, double q)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e3;
}

static double tv_s(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static int report_throughput(int nproc)
{
    uint64_t total = (uint64_t)g.o.pairs * g.o.messages, *lat, rss_end = 0, hwm = 0;
    double wall = g.t_last_delivery > g.t0 ? (double)(g.t_last_delivery - g.t0) / 1e9 : 0;
    double srv_cpu, cli_cpu, rate;
    double mbatch = -1, commits = -1, commit_s = -1;
    size_t n = 0, i;
    uint32_t k;
    int ok = !g.failed && g.finished;
    static char metrics[1 << 20];

    if (g.ru1.ru_utime.tv_sec == 0 && g.ru1.ru_utime.tv_usec == 0)
        record_end(); /* did not finish: measure up to now */
    srv_cpu = g.srv_cpu1 >= g.srv_cpu0 ? (double)(g.srv_cpu1 - g.srv_cpu0) / 1e9 : 0;
    if (!g.finished && g.t0)
        wall = (double)(uv_hrtime() - g.t0) / 1e9;
    cli_cpu = tv_s(&g.ru1.ru_utime) + tv_s(&g.ru1.ru_stime) - tv_s(&g.ru0.ru_utime) -
              tv_s(&g.ru0.ru_stime);
    if (!(lat = malloc(sizeof *lat * (total ? total : 1))))
        return 1;
    for (k = 0; k < g.o.pairs; k++) {
        dev *r = &g.devs[g.o.pairs + k];
        uint32_t m;

        for (m = 0; m < g.o.messages; m++)
            if (r->seen && r->seen[m])
                lat[n++] = g.lat_ns[(size_t)k * g.o.messages + m];
    }
    qsort(lat, n, sizeof *lat, cmp_u64);
    rate = wall > 0 ? (double)g.delivered / wall : 0;
    if (g.srv.pid > 0) {
        lg_proc_status_kib(g.srv.pid, "VmRSS", &rss_end);
        lg_proc_status_kib(g.srv.pid, "VmHWM", &hwm);
    }
    /* VmHWM is folded from per-thread counters lazily; a sample can run ahead of it. */
    if (g.rss_peak_sampled > hwm)
        hwm = g.rss_peak_sampled;
    if (g.srv.admin_port > 0 &&
        lg_metrics_get(g.srv.admin_host, g.srv.admin_port, metrics, sizeof metrics) == 0) {
        double sum = lg_metric(metrics, "parleyd_commit_batch_envelopes_sum");
        double cnt = lg_metric(metrics, "parleyd_commit_batch_envelopes_count");
        double csum = lg_metric(metrics, "parleyd_commit_seconds_sum");
        double ccnt = lg_metric(metrics, "parleyd_commit_seconds_count");

        commits = lg_metric(metrics, "parleyd_commits_total");
        if (cnt > 0)
            mbatch = sum / cnt;
        if (ccnt > 0)
            commit_s = csum / ccnt;
    }
    printf("loadgen throughput: %u pairs x %u messages of %u bytes, window %u, rate %s\n",
           g.o.pairs, g.o.messages, CIPHERTEXT_BYTES, g.o.window, g.o.rate > 0 ? "paced" : "max");
    if (g.o.rate > 0)
        printf("  target rate          %.0f envelopes/s\n", g.o.rate);
    printf("  nproc                %d\n", nproc);
    printf("  setup                %u of %u devices in %.2f s\n", g.setups_done, g.n_devs,
           g.setup_t1 > g.setup_t0 ? (double)(g.setup_t1 - g.setup_t0) / 1e9 : 0);
    printf("  delivered            %llu of %llu (send results %llu, ack frames %llu)\n",
           (unsigned long long)g.delivered, (unsigned long long)total,
           (unsigned long long)g.results, (unsigned long long)g.acked_frames);
    printf("  wall                 %.3f s (first send -> last delivery)\n", wall);
    printf("  throughput           %.0f envelopes/s delivered\n", rate);
    printf("  latency (send->push) p50 %.0f us  p99 %.0f us  p99.9 %.0f us  max %.0f us\n",
           pct_us(lat, n, 0.5), pct_us(lat, n, 0.99), pct_us(lat, n, 0.999),
           n ? (double)lat[n - 1] / 1e3 : 0);
    printf("  client (this process) CPU %.2f s, %.0f%% of one core\n", cli_cpu,
           wall > 0 ? 100 * cli_cpu / wall : 0);
    if (g.srv.pid > 0) {
        printf("  server CPU           %.3f s = %.3f s per 1000 envelopes, %.0f%% of one core\n",
               srv_cpu, g.delivered ? srv_cpu * 1000 / (double)g.delivered : 0,
               wall > 0 ? 100 * srv_cpu / wall : 0);
        for (i = 0; i < (size_t)(g.n_thr1 > 0 ? g.n_thr1 : 0); i++) {
            uint64_t before = 0;
            int j;

            for (j = 0; j < g.n_thr0; j++)
                if (g.thr0[j].tid == g.thr1[i].tid)
                    before = g.thr0[j].cpu_ns;
            printf("    thread %-7d %-9s %-16s %.3f s (%.0f%%)\n", g.thr1[i].tid,
                   g.thr1[i].tid == (int)g.srv.pid ? "(loop)" : "", g.thr1[i].comm,
                   (double)(g.thr1[i].cpu_ns - before) / 1e9,
                   wall > 0 ? 100 * (double)(g.thr1[i].cpu_ns - before) / 1e9 / wall : 0);
        }
        printf("  server RSS           peak %llu KiB (VmHWM; sampled in run %llu KiB), end %llu "
               "KiB\n",
               (unsigned long long)hwm, (unsigned long long)g.rss_peak_sampled,
               (unsigned long long)rss_end);
    }
    if (commits >= 0)
        printf("  group commits        %.0f, mean %.1f envelopes per commit, mean %.3f ms each\n",
               commits, mbatch, commit_s * 1e3);
    if (!ok)
        printf("  FAILED: %s\n", g.failed ? g.failure : "deadline passed before completion");
    printf("{\"mode\":\"throughput\",\"ok\":%s,\"nproc\":%d,\"pairs\":%u,\"messages\":%u,"
           "\"window\":%u,\"rate_target\":%.0f,\"envelope_bytes\":%u,\"delivered\":%llu,"
           "\"wall_s\":%.3f,\"envelopes_per_s\":%.0f,\"latency_us\":{\"p50\":%.0f,\"p99\":%.0f,"
           "\"p999\":%.0f,\"max\":%.0f},\"client_cpu_s\":%.3f,\"server_cpu_s\":%.3f,"
           "\"server_cpu_s_per_1000\":%.4f,\"server_util\":%.3f,\"server_rss_kib\":{\"peak\":%llu,"
           "\"end\":%llu},\"commits\":%.0f,\"commit_batch_mean\":%.2f,\"commit_ms_mean\":%.3f}\n",
           ok ? "true" : "false", nproc, g.o.pairs, g.o.messages, g.o.window, g.o.rate,
           CIPHERTEXT_BYTES, (unsigned long long)g.delivered, wall, rate, pct_us(lat, n, 0.5),
           pct_us(lat, n, 0.99), pct_us(lat, n, 0.999), n ? (double)lat[n - 1] / 1e3 : 0, cli_cpu,
           srv_cpu, g.delivered ? srv_cpu * 1000 / (double)g.delivered : 0,
           wall > 0 ? srv_cpu / wall : 0, (unsigned long long)hwm, (unsigned long long)rss_end,
           commits, mbatch, commit_s * 1e3);
    free(lat);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ idle */

static uint64_t idle_rss_before, idle_rss_after;

static void on_idle_hold(uv_timer_t *t)
{
    uint32_t i, open = 0;

    (void)t;
    for (i = 0; i < g.n_devs; i++)
        open += !g.devs[i].conn.closed;
    if (open != g.n_devs) {
        fail("only %u connections still open after the idle hold", open);
        return;
    }
    if (g.srv.pid > 0)
        lg_proc_status_kib(g.srv.pid, "VmRSS", &idle_rss_after);
    g.finished = 1;
    uv_stop(&g.loop);
}

static void on_idle_check(uv_timer_t *t)
{
    (void)t;
    if (g.setups_done == g.n_devs) {
        uv_timer_stop(&g.pace);
        g.setup_t1 = uv_hrtime();
        uv_timer_init(&g.loop, &g.idle_hold);
        uv_timer_start(&g.idle_hold, on_idle_hold, 3000, 0);
    }
}

static int report_idle(int nproc)
{
    int ok = !g.failed && g.finished;
    double per = g.o.conns && idle_rss_after >= idle_rss_before
                     ? (double)(idle_rss_after - idle_rss_before) / g.o.conns
                     : 0;
    double setup = g.setup_t1 > g.setup_t0 ? (double)(g.setup_t1 - g.setup_t0) / 1e9 : 0;
    uint64_t hwm = 0;

    if (g.srv.pid > 0)
        lg_proc_status_kib(g.srv.pid, "VmHWM", &hwm);
    printf("loadgen idle: %u connections, each registered and authenticated, then idle 3 s\n",
           g.o.conns);
    printf("  nproc                %d\n", nproc);
    printf("  setup                %u of %u in %.2f s (%.0f connections/s)\n", g.setups_done,
           g.n_devs, setup, setup > 0 ? g.setups_done / setup : 0);
    printf("  server RSS           before %llu KiB, after %llu KiB, peak %llu KiB\n",
           (unsigned long long)idle_rss_before, (unsigned long long)idle_rss_after,
           (unsigned long long)hwm);
    printf("  per idle connection  %.1f KiB\n", per);
    if (!ok)
        printf("  FAILED: %s\n", g.failed ? g.failure : "deadline passed before completion");
    printf("{\"mode\":\"idle\",\"ok\":%s,\"nproc\":%d,\"connections\":%u,\"setup_s\":%.2f,"
           "\"rss_before_kib\":%llu,\"rss_after_kib\":%llu,\"rss_peak_kib\":%llu,"
           "\"kib_per_connection\":%.2f}\n",
           ok ? "true" : "false", nproc, g.o.conns, setup, (unsigned long long)idle_rss_before,
           (unsigned long long)idle_rss_after, (unsigned long long)hwm, per);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ main */

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    if (!g.failed) {
        g.failed = 1;
        snprintf(g.failure, sizeof g.failure, "deadline of %.0f s passed", g.o.timeout_s);
    }
    uv_stop(&g.loop);
}

static void usage(void)
{
    fputs("usage: loadgen [throughput] [--pairs N] [--messages M] [--window W] [--rate R]\n"
          "       loadgen --idle C\n"
          "  common: [--server-bin PATH | --connect HOST:PORT --ca CERT [--admin HOST:PORT]]\n"
          "          [--timeout SECONDS] [--setup-concurrency K] [--keep]\n",
          stderr);
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v == 0 || v > 10000000ul)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_args(int argc, char **argv, opts *o)
{
    int i;

    o->pairs = 50;
    o->messages = 2000;
    o->window = 32;
    o->timeout_s = 120;
    o->setup_concurrency = 256;
    o->server_bin = LOADGEN_PARLEYD;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;

        if (strcmp(a, "throughput") == 0)
            continue;
        if (strcmp(a, "--keep") == 0) {
            o->keep = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || !v) {
            usage();
            return -1;
        }
        i++;
        if (strcmp(a, "--idle") == 0) {
            o->idle = 1;
            bad = parse_u32(v, &o->conns);
        } else if (strcmp(a, "--pairs") == 0) {
            bad = parse_u32(v, &o->pairs);
        } else if (strcmp(a, "--messages") == 0) {
            bad = parse_u32(v, &o->messages);
        } else if (strcmp(a, "--window") == 0) {
            bad = parse_u32(v, &o->window);
        } else if (strcmp(a, "--setup-concurrency") == 0) {
            bad = parse_u32(v, &o->setup_concurrency);
        } else if (strcmp(a, "--rate") == 0) {
            o->rate = strtod(v, NULL);
            bad = !(o->rate > 0);
        } else if (strcmp(a, "--timeout") == 0) {
            o->timeout_s = strtod(v, NULL);
            bad = !(o->timeout_s > 0);
        } else if (strcmp(a, "--server-bin") == 0) {
            o->server_bin = v;
        } else if (strcmp(a, "--connect") == 0) {
            o->connect = v;
        } else if (strcmp(a, "--ca") == 0) {
            o->ca = v;
        } else if (strcmp(a, "--admin") == 0) {
            o->admin = v;
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "loadgen: bad option or value: %s %s\n", a, v);
            usage();
            return -1;
        }
    }
    if (o->connect && !o->ca) {
        fprintf(stderr, "loadgen: --connect needs --ca CERT\n");
        return -1;
    }
    return 0;
}

/* Splits "HOST:PORT" into host and port. Returns 0 or -1. */
static int split_addr(const char *s, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(s, ':');

    if (!colon || (size_t)(colon - s) >= cap)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = atoi(colon + 1);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

/* Raises RLIMIT_NOFILE to need (up to the hard limit). Returns 0, or -1 if it cannot. */
static int raise_nofile(rlim_t need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr,
                "loadgen: need %llu file descriptors but the hard limit (ulimit -Hn) is "
                "%llu\n",
                (unsigned long long)need, (unsigned long long)rl.rlim_max);
        return -1;
    }
    rl.rlim_cur = need;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

static int alloc_devices(void)
{
    uint32_t i;
    uint8_t run[3];
    char runhex[7];

    g.n_devs = g.o.idle ? g.o.conns : 2 * g.o.pairs;
    if (!(g.devs = calloc(g.n_devs, sizeof *g.devs)))
        return -1;
    randombytes_buf(g.tag, sizeof g.tag);
    randombytes_buf(run, sizeof run);
    sodium_bin2hex(runhex, sizeof runhex, run, sizeof run);
    if (!g.o.idle && !(g.lat_ns = calloc((size_t)g.o.pairs * g.o.messages, sizeof *g.lat_ns)))
        return -1;
    for (i = 0; i < g.n_devs; i++) {
        dev *d = &g.devs[i];

        if (g.o.idle) {
            d->role = ROLE_IDLE;
            d->index = i;
            snprintf(d->username, sizeof d->username, "lg%si%u", runhex, i);
        } else if (i < g.o.pairs) {
            d->role = ROLE_SENDER;
            d->index = i;
            snprintf(d->username, sizeof d->username, "lg%ss%u", runhex, i);
            if (!(d->sent_ns = calloc(g.o.messages, sizeof *d->sent_ns)))
                return -1;
            randombytes_buf(d->cmid_prefix, sizeof d->cmid_prefix);
        } else {
            d->role = ROLE_RECEIVER;
            d->index = i - g.o.pairs;
            snprintf(d->username, sizeof d->username, "lg%sr%u", runhex, i - g.o.pairs);
            if (!(d->seen = calloc(g.o.messages, 1)))
                return -1;
        }
    }
    return 0;
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int main(int argc, char **argv)
{
    char err[512] = "", host[64];
    struct sockaddr_in sa;
    int port, rc = 1, nproc = (int)sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t i;

    if (parse_args(argc, argv, &g.o) != 0)
        return 2;
    if (pl_init() != PL_OK) {
        fprintf(stderr, "loadgen: pl_init failed\n");
        return 1;
    }
    if (raise_nofile((rlim_t)(g.o.idle ? g.o.conns : 2 * g.o.pairs) + 256) != 0) {
        fprintf(stderr, "loadgen: cannot raise the open-file limit\n");
        return 1;
    }
    if (alloc_devices() != 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    if (g.o.connect) {
        if (split_addr(g.o.connect, host, sizeof host, &port) != 0) {
            fprintf(stderr, "loadgen: bad --connect %s\n", g.o.connect);
            return 2;
        }
        snprintf(g.srv.host, sizeof g.srv.host, "%s", host);
        g.srv.port = port;
        snprintf(g.srv.ca, sizeof g.srv.ca, "%s", g.o.ca);
        if (g.o.admin && split_addr(g.o.admin, g.srv.admin_host, sizeof g.srv.admin_host,
                                    &g.srv.admin_port) != 0) {
            fprintf(stderr, "loadgen: bad --admin %s\n", g.o.admin);
            return 2;
        }
    } else if (lg_server_start(&g.srv, g.o.server_bin, (g.o.idle ? g.o.conns : 2 * g.o.pairs) + 100,
                               err, sizeof err) != 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)g.srv.port);
    if (inet_pton(AF_INET, g.srv.host, &sa.sin_addr) != 1 ||
        (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "loadgen: %s is not a loopback IPv4 address\n", g.srv.host);
        goto out;
    }
    if (pl_tls_ctx_new_client(&g.tls, g.srv.ca, err, sizeof err) != PL_TLS_OK) {
        fprintf(stderr, "loadgen: %s\n", err);
        goto out;
    }
    if (uv_loop_init(&g.loop) != 0 || lg_net_init(&g.net, &g.loop, g.tls, &sa, &cbs) != 0) {
        fprintf(stderr, "loadgen: libuv initialisation failed\n");
        goto out;
    }
    g.net.before_flush = before_flush;
    uv_timer_init(&g.loop, &g.deadline);
    uv_timer_start(&g.deadline, on_deadline, (uint64_t)(g.o.timeout_s * 1000), 0);
    uv_timer_init(&g.loop, &g.rss_timer);
    uv_timer_start(&g.rss_timer, sample_rss, 100, 100);
    if (g.o.idle) {
        struct timespec ts = {1, 0};

        nanosleep(&ts, NULL); /* let the server settle before the baseline */
        if (g.srv.pid > 0)
            lg_proc_status_kib(g.srv.pid, "VmRSS", &idle_rss_before);
        uv_timer_init(&g.loop, &g.pace);
        uv_timer_start(&g.pace, on_idle_check, 50, 50);
    }
    g.setup_t0 = uv_hrtime();
    start_more();
    uv_run(&g.loop, UV_RUN_DEFAULT);
    rc = g.o.idle ? report_idle(nproc) : report_throughput(nproc);
    fflush(stdout);
    for (i = 0; i < g.n_devs; i++) {
        lg_conn_close(&g.devs[i].conn);
        pl_device_free(g.devs[i].device);
    }
    uv_walk(&g.loop, close_handle, NULL);
    uv_run(&g.loop, UV_RUN_DEFAULT);
    uv_loop_close(&g.loop);
out:
    if (g.srv.pid > 0) {
        int st = lg_server_stop(&g.srv, g.o.keep);

        if (st != 0) {
            fprintf(stderr, "loadgen: parleyd exited with status %d\n", st);
            rc = 1;
        }
    }
    pl_tls_ctx_free(g.tls);
    for (i = 0; i < g.n_devs; i++) {
        free(g.devs[i].sent_ns);
        free(g.devs[i].seen);
    }
    free(g.devs);
    free(g.lat_ns);
    return rc;
}

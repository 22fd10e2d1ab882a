/*
 * test_audit_round.c: one auditor round (src/audit/round.c) against a scripted, lying KT
 * server: an in-process TLS server built from the repository's TLS engine and frame codec,
 * serving a fake log that the test builds entry by entry, honestly or not, and signs.
 *
 * Each lie must be refused with its reason: the signed ones (a leaf logged twice, a time
 * going back, entries that do not give the signed root, a fork, a changed config) halt the
 * auditor with their evidence stored, the offending entry included; the unsigned ones (a
 * malformed answer, missing entries, a note not signed by the log) are transient or refused
 * without a halt. In every case nothing is cosigned, the database keeps the state of the
 * last good round, and an honest round afterwards (where no halt) still cosigns.
 */
#define _DEFAULT_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "parley/parley.h"
#include "parley/kt_lookup.h"

#include "audit_conn.h"
#include "auditor.h"
#include "frame.h"
#include "round.h"
#include "tls_cert.h"
#include "tls_conn.h"
#include "tls_ctx.h"

#define NAME "audit.example.org/w1"
#define MAX_ENTRIES 64
#define HB 32u

/* ------------------------------------------------------------------ the fake log */

typedef struct fake_entry {
    uint64_t ts;
    uint8_t root[HB];
    uint8_t (*leaves)[64];
    size_t n;
} fake_entry;

typedef struct fake_log {
    fake_entry e[MAX_ENTRIES];
    uint8_t leaf_hash[MAX_ENTRIES][HB];
    size_t n;
    pl_prefix_tree *tree;
    uint64_t ts;
} fake_log;

/* What the mock serves and how it lies; set by the test between rounds, under lock. */
static struct {
    pthread_mutex_t lock;
    uint8_t log_sk[64], log_pk[32], vrf_pk[32], other_sk[64];
    char origin[128], log_vkey[PL_NOTE_VKEY_MAX_BYTES + 1],
        witness_vkey[PL_NOTE_VKEY_MAX_BYTES + 1];
    pl_note_verifier witness;
    uint32_t quorum;
    fake_log *log;          /* the log served */
    uint64_t signed_size;   /* the checkpoint served */
    int sign_with_other;    /* the note is signed by another key under the log's name */
    int root_len;           /* the length of the prefix roots served (32) */
    int no_entries;         /* KtAuditGet answers nothing */
    int bad_proof;          /* flip a byte of the consistency proof */
    int cosign_status;      /* forced KtCosign status, or 0 to check the line */
    int served_ts_delta_at; /* add 1 ms to the timestamp served for this position + 1 */
    int bad_position_at;    /* serve this position + 1 as the position after it */
    int cosigns;            /* KtCosign requests received with a valid line */
    uint64_t cosigned_size;
    int error; /* line of the first failure in the mock thread */
    int lfd;
    uint16_t port;
    int stop;
} mock;

static char dir[] = "/tmp/test_audit_round.XXXXXX", tls_dir[300], cert[400], key[400], state[300];
static unsigned next_leaf;

static fake_log *log_new(void)
{
    fake_log *l = calloc(1, sizeof *l);

    assert_non_null(l);
    assert_int_equal(pl_prefix_tree_new(&l->tree), PL_OK);
    l->ts = 1700000000000u;
    return l;
}

static void log_free(fake_log *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->e[i].leaves);
    pl_prefix_tree_free(l->tree);
    free(l);
}

static int cmp_leaf(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* Appends an entry as given (an honest server or not), computing its log leaf. */
static void log_append_raw(fake_log *l, uint64_t ts, const uint8_t root[HB],
                           const uint8_t (*leaves)[64], size_t n)
{
    fake_entry *e = &l->e[l->n];
    uint8_t entry[PL_KT_LOG_ENTRY_BYTES];

    assert_true(l->n < MAX_ENTRIES);
    e->ts = ts;
    memcpy(e->root, root, HB);
    e->leaves = malloc(n ? n * 64 : 1);
    assert_non_null(e->leaves);
    if (n)
        memcpy(e->leaves, leaves, n * 64);
    e->n = n;
    pl_kt_log_entry(ts, root, entry);
    pl_merkle_leaf_hash(entry, sizeof entry, l->leaf_hash[l->n]);
    l->n++;
}

/* Appends an honest entry with n fresh leaves. */
static void log_append(fake_log *l, size_t n)
{
    uint8_t leaves[16][64], root[HB];

    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = next_leaf++;

        crypto_hash_sha256(leaves[i], (const uint8_t *)&k, sizeof k);
        crypto_hash_sha256(leaves[i] + 32, leaves[i], 32);
    }
    qsort(leaves, n, 64, cmp_leaf);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pl_prefix_tree_insert(l->tree, leaves[i], leaves[i] + 32), PL_OK);
    pl_prefix_tree_root(l->tree, root);
    log_append_raw(l, l->ts, root, (const uint8_t(*)[64])leaves, n);
    l->ts += 1000;
}

/* ------------------------------------------------------------------ the mock server */

static int flush_out(int fd, pl_tls_conn *t)
{
    for (;;) {
        const uint8_t *p;
        size_t len;
        ssize_t n;

        pl_tls_conn_pending_output(t, &p, &len);
        if (len == 0)
            return 0;
        if ((n = send(fd, p, len, MSG_NOSIGNAL)) <= 0)
            return -1;
        pl_tls_conn_consume_output(t, (size_t)n);
    }
}

/* The next client frame, or NULL at the end of the connection. */
static Parley__ClientFrame *next_frame(int fd, pl_tls_conn *t, pl_frame_reader *rd, uint8_t *pt,
                                       size_t *off, size_t *len)
{
    for (;;) {
        const uint8_t *frame;
        size_t used, flen, n;
        uint8_t buf[16384];
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t got;
        Parley__ClientFrame *f = NULL;

        if (*len > 0) {
            if (pl_frame_reader_feed(rd, pt + *off, *len, &used, &frame, &flen) != PL_FRAME_OK)
                return NULL;
            *off += used;
            *len -= used;
            if (frame)
                return pl_frame_decode_client(frame, flen, &f, NULL) == PL_FRAME_OK ? f : NULL;
            continue;
        }
        *off = 0;
        if (pl_tls_conn_read(t, pt, 16384, &n) == PL_TLS_OK) {
            *len = n;
            continue;
        }
        if (flush_out(fd, t) != 0 || poll(&pfd, 1, 10000) <= 0)
            return NULL;
        if ((got = recv(fd, buf, sizeof buf, 0)) <= 0)
            return NULL;
        if (pl_tls_conn_feed(t, buf, (size_t)got) != PL_TLS_OK)
            return NULL;
    }
}

static int send_frame(int fd, pl_tls_conn *t, const Parley__ServerFrame *f)
{
    size_t cap = pl_frame_server_size(f), len, off = 0;
    uint8_t *buf = malloc(cap);
    int r = -1;

    if (!buf || pl_frame_encode_server(f, buf, cap, &len) != PL_FRAME_OK)
        goto out;
    while (off < len) {
        size_t piece = len - off < 16384 ? len - off : 16384;

        if (pl_tls_conn_write(t, buf + off, piece) != PL_TLS_OK || flush_out(fd, t) != 0)
            goto out;
        off += piece;
    }
    r = 0;
out:
    free(buf);
    return r;
}

/* The signed note of the checkpoint of the first `size` entries of l, into note. */
static void sign_note(const fake_log *l, uint64_t size, const uint8_t sk[64], char *note,
                      size_t cap)
{
    pl_checkpoint cp;
    char text[512];
    size_t tlen, nlen;

    memset(&cp, 0, sizeof cp);
    cp.origin_len = strlen(mock.origin);
    memcpy(cp.origin, mock.origin, cp.origin_len);
    cp.size = size;
    if (pl_merkle_root((const uint8_t(*)[HB])l->leaf_hash, size, cp.root) != PL_OK ||
        pl_checkpoint_format(&cp, text, sizeof text, &tlen) != PL_OK ||
        pl_note_sign(text, tlen, mock.origin, strlen(mock.origin), sk, note, cap - 1, &nlen) !=
            PL_OK)
        abort();
    note[nlen] = '\0';
}

/* Fills resp for one request; returns 0, or -1 to fail the mock. */
static int answer(const Parley__Request *req, Parley__Response *resp, Parley__Status *st,
                  void **scratch)
{
    static Parley__Empty empty = PARLEY__EMPTY__INIT;

    st->code = PARLEY__STATUS_CODE__STATUS_OK;
    switch (req->body_case) {
    case PARLEY__REQUEST__BODY_KT_CONFIG: {
        Parley__KtConfig *c = calloc(1, sizeof *c);
        static char *w[1];

        parley__kt_config__init(c);
        w[0] = mock.witness_vkey;
        c->origin = mock.origin;
        c->log_vkey = mock.log_vkey;
        c->vrf_public_key = (ProtobufCBinaryData){32, mock.vrf_pk};
        c->witness_vkeys = w;
        c->n_witness_vkeys = 1;
        c->quorum = mock.quorum;
        c->max_ahead_ms = 120000;
        c->max_behind_ms = 600000;
        resp->body_case = PARLEY__RESPONSE__BODY_KT_CONFIG;
        resp->kt_config = c;
        *scratch = c;
        return 0;
    }
    case PARLEY__REQUEST__BODY_KT_CHECKPOINT: {
        struct cp_scratch {
            Parley__KtCheckpoint cp;
            char note[4096];
            uint8_t proof[PL_MERKLE_MAX_PROOF][HB];
            ProtobufCBinaryData bins[PL_MERKLE_MAX_PROOF];
        } *s = calloc(1, sizeof *s);
        uint64_t known = req->kt_checkpoint->known_size;
        size_t n = 0;

        *scratch = s;
        if (known > mock.signed_size) {
            st->code = PARLEY__STATUS_CODE__STATUS_BAD_REQUEST;
            return 0;
        }
        parley__kt_checkpoint__init(&s->cp);
        sign_note(mock.log, mock.signed_size, mock.sign_with_other ? mock.other_sk : mock.log_sk,
                  s->note, sizeof s->note);
        if (known > 0 && known < mock.signed_size &&
            pl_merkle_consistency_proof((const uint8_t(*)[HB])mock.log->leaf_hash, known,
                                        mock.signed_size, s->proof, &n) != PL_OK)
            return -1;
        if (mock.bad_proof && n > 0)
            s->proof[0][0] ^= 1;
        for (size_t i = 0; i < n; i++)
            s->bins[i] = (ProtobufCBinaryData){HB, s->proof[i]};
        s->cp.note = s->note;
        s->cp.consistency = s->bins;
        s->cp.n_consistency = n;
        resp->body_case = PARLEY__RESPONSE__BODY_KT_CHECKPOINT;
        resp->kt_checkpoint = &s->cp;
        return 0;
    }
    case PARLEY__REQUEST__BODY_KT_AUDIT: {
        struct audit_scratch {
            Parley__KtAuditBatch b;
            Parley__KtAuditEntry e[256], *ep[256];
            ProtobufCBinaryData leaves[256][16];
        } *s = calloc(1, sizeof *s);
        uint64_t from = req->kt_audit->from;

        *scratch = s;
        parley__kt_audit_batch__init(&s->b);
        for (uint64_t p = from;
             !mock.no_entries && p < mock.signed_size && p < from + req->kt_audit->max; p++) {
            const fake_entry *fe = &mock.log->e[p];
            Parley__KtAuditEntry *we = &s->e[s->b.n_entries];

            parley__kt_audit_entry__init(we);
            we->position = p + (mock.bad_position_at == (int)p + 1);
            we->timestamp_ms = fe->ts + (mock.served_ts_delta_at == (int)p + 1);
            we->prefix_root = (ProtobufCBinaryData){(size_t)mock.root_len, (uint8_t *)fe->root};
            for (size_t i = 0; i < fe->n; i++)
                s->leaves[s->b.n_entries][i] = (ProtobufCBinaryData){64, fe->leaves[i]};
            we->leaves = s->leaves[s->b.n_entries];
            we->n_leaves = fe->n;
            s->ep[s->b.n_entries++] = we;
        }
        s->b.entries = s->ep;
        resp->body_case = PARLEY__RESPONSE__BODY_KT_AUDIT;
        resp->kt_audit = &s->b;
        return 0;
    }
    case PARLEY__REQUEST__BODY_KT_COSIGN: {
        char note[4096];
        size_t text_len;
        uint64_t t;
        const char *line = req->kt_cosign->cosignature;

        if (mock.cosign_status) {
            st->code = (Parley__StatusCode)mock.cosign_status;
            return 0;
        }
        sign_note(mock.log, req->kt_cosign->size, mock.log_sk, note, sizeof note);
        text_len = (size_t)(strstr(note, "\n\n") - note) + 1; /* the checkpoint text */
        if (pl_cosignature_verify(&mock.witness, note, text_len, line, strlen(line), &t) != PL_OK) {
            st->code = PARLEY__STATUS_CODE__STATUS_BAD_SIGNATURE;
            return 0;
        }
        mock.cosigns++;
        mock.cosigned_size = req->kt_cosign->size;
        resp->body_case = PARLEY__RESPONSE__BODY_KT_COSIGN;
        resp->kt_cosign = &empty;
        return 0;
    }
    default:
        return -1;
    }
}

/* One connection: Hello, then requests until the client closes. */
static void serve(int fd, pl_tls_ctx *ctx)
{
    pl_tls_conn *t = NULL;
    pl_frame_reader *rd = NULL;
    uint8_t *pt = malloc(16384);
    size_t off = 0, len = 0;
    Parley__ClientFrame *cf;

    if (!pt || pl_tls_conn_new(&t, ctx) != PL_TLS_OK ||
        pl_frame_reader_new(&rd, PL_FRAME_MAX_BYTES) != PL_FRAME_OK) {
        mock.error = __LINE__;
        goto out;
    }
    while ((cf = next_frame(fd, t, rd, pt, &off, &len)) != NULL) {
        Parley__ServerFrame sf = PARLEY__SERVER_FRAME__INIT;
        Parley__HelloReply hr = PARLEY__HELLO_REPLY__INIT;
        Parley__Limits lim = PARLEY__LIMITS__INIT;
        Parley__Response resp = PARLEY__RESPONSE__INIT;
        Parley__Status st = PARLEY__STATUS__INIT;
        void *scratch = NULL;
        int r = 0;

        if (cf->kind_case == PARLEY__CLIENT_FRAME__KIND_HELLO) {
            hr.version = 1;
            hr.limits = &lim;
            hr.server = "mock";
            sf.kind_case = PARLEY__SERVER_FRAME__KIND_HELLO_REPLY;
            sf.hello_reply = &hr;
        } else {
            pthread_mutex_lock(&mock.lock);
            r = answer(cf->request, &resp, &st, &scratch);
            pthread_mutex_unlock(&mock.lock);
            resp.id = cf->request->id;
            resp.status = &st;
            sf.kind_case = PARLEY__SERVER_FRAME__KIND_RESPONSE;
            sf.response = &resp;
        }
        if (r != 0 || send_frame(fd, t, &sf) != 0) {
            if (!mock.error)
                mock.error = __LINE__;
            free(scratch);
            pl_frame_client_free(cf);
            break;
        }
        free(scratch);
        pl_frame_client_free(cf);
    }
out:
    pl_frame_reader_free(rd);
    pl_tls_conn_free(t);
    free(pt);
}

static void *mock_thread(void *arg)
{
    pl_tls_ctx *ctx = NULL;
    char err[256];

    (void)arg;
    if (pl_tls_ctx_new_server(&ctx, cert, key, err, sizeof err) != PL_TLS_OK) {
        mock.error = __LINE__;
        return NULL;
    }
    while (!mock.stop) {
        struct pollfd pfd = {.fd = mock.lfd, .events = POLLIN};
        int fd;

        if (poll(&pfd, 1, 100) <= 0)
            continue;
        if ((fd = accept(mock.lfd, NULL, NULL)) < 0)
            continue;
        serve(fd, ctx);
        close(fd);
    }
    pl_tls_ctx_free(ctx);
    return NULL;
}

/* ------------------------------------------------------------------ the test's auditor */

static pthread_t thread;

static int group_setup(void **st)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    char err[256];

    (void)st;
    if (pl_init() != PL_OK || !mkdtemp(dir))
        return -1;
    snprintf(tls_dir, sizeof tls_dir, "%s/tls-data", dir);
    snprintf(cert, sizeof cert, "%s/tls/cert.pem", tls_dir);
    snprintf(key, sizeof key, "%s/tls/key.pem", tls_dir);
    if (mkdir(tls_dir, 0700) != 0 ||
        pl_tls_cert_ensure(tls_dir, NULL, 0, NULL, err, sizeof err) != PL_TLS_OK)
        return -1;
    pthread_mutex_init(&mock.lock, NULL);
    mock.lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (mock.lfd < 0 || bind(mock.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(mock.lfd, 4) != 0 || getsockname(mock.lfd, (struct sockaddr *)&sa, &sl) != 0)
        return -1;
    mock.port = ntohs(sa.sin_port);
    return pthread_create(&thread, NULL, mock_thread, NULL) == 0 ? 0 : -1;
}

static void rm_rf(const char *path)
{
    char cmd[600];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}

static int group_teardown(void **st)
{
    (void)st;
    mock.stop = 1;
    pthread_join(thread, NULL);
    close(mock.lfd);
    rm_rf(dir);
    return 0;
}

/* A fresh auditor state and a fresh log, both keyed anew. */
static pl_auditor *fresh(void)
{
    uint8_t seed[32], h[32];
    crypto_hash_sha256_state hs;
    pl_note_verifier v;
    pl_audit_key *k = NULL;
    pl_auditor *a = NULL;
    char err[512], hex[17];
    size_t n;
    static int round_no;

    snprintf(state, sizeof state, "%s/state%d", dir, round_no++);
    assert_int_equal(mkdir(state, 0700), 0);
    assert_int_equal(pl_audit_key_create(state, err, sizeof err), 0);
    assert_int_equal(pl_audit_db_create(state, NAME, err, sizeof err), 0);
    assert_int_equal(pl_audit_key_load(state, &k, err, sizeof err), 0);

    pthread_mutex_lock(&mock.lock);
    assert_int_equal(pl_audit_key_verifier(k, NAME, strlen(NAME), &mock.witness), PL_OK);
    assert_int_equal(
        pl_note_verifier_format(&mock.witness, mock.witness_vkey, sizeof mock.witness_vkey - 1, &n),
        PL_OK);
    mock.witness_vkey[n] = '\0';
    pl_audit_key_free(k);
    randombytes_buf(seed, sizeof seed);
    crypto_sign_seed_keypair(mock.log_pk, mock.log_sk, seed);
    crypto_sign_keypair(h, mock.other_sk);
    randombytes_buf(mock.vrf_pk, sizeof mock.vrf_pk);
    crypto_hash_sha256_init(&hs);
    crypto_hash_sha256_update(&hs, (const uint8_t *)"parley/kt-config/v1", 19);
    crypto_hash_sha256_update(&hs, mock.log_pk, 32);
    crypto_hash_sha256_update(&hs, mock.vrf_pk, 32);
    crypto_hash_sha256_final(&hs, h);
    sodium_bin2hex(hex, sizeof hex, h, 8);
    snprintf(mock.origin, sizeof mock.origin, "mock.example/kt/v1/%s", hex);
    assert_int_equal(pl_note_verifier_init(mock.origin, strlen(mock.origin), PL_NOTE_TYPE_ED25519,
                                           mock.log_pk, &v),
                     PL_OK);
    assert_int_equal(pl_note_verifier_format(&v, mock.log_vkey, sizeof mock.log_vkey - 1, &n),
                     PL_OK);
    mock.log_vkey[n] = '\0';
    mock.quorum = 1;
    mock.root_len = 32;
    mock.sign_with_other = mock.no_entries = mock.bad_proof = mock.cosign_status = 0;
    mock.served_ts_delta_at = mock.bad_position_at = 0;
    mock.cosigns = 0;
    mock.log = log_new();
    mock.signed_size = 0;
    pthread_mutex_unlock(&mock.lock);

    assert_int_equal(pl_auditor_open(&a, state, NULL, err, sizeof err), 0);
    return a;
}

static void done(pl_auditor *a)
{
    pl_auditor_close(a);
    log_free(mock.log);
    mock.log = NULL;
    assert_int_equal(mock.error, 0);
}

/* Runs one round over a new connection to the mock. */
static void round_once(pl_auditor *a, pl_audit_round_result *res)
{
    pl_audit_conn *c = NULL;
    char server[64], err[512];

    snprintf(server, sizeof server, "127.0.0.1:%u", mock.port);
    if (pl_audit_conn_open(&c, server, cert, NULL, NULL, err, sizeof err) != PL_AUDIT_CONN_OK)
        fail_msg("cannot connect to the mock: %s", err);
    pl_audit_round(a, c, res);
    pl_audit_conn_close(c);
}

/* Publishes the first `size` entries of the log as its newest signed checkpoint. */
static void serve_size(uint64_t size)
{
    pthread_mutex_lock(&mock.lock);
    mock.signed_size = size;
    pthread_mutex_unlock(&mock.lock);
}

#define EXPECT_OUTCOME(res, want)                                                                  \
    do {                                                                                           \
        if ((res).outcome != (want))                                                               \
            fail_msg("line %d: outcome %s (%s: %s), expected %s", __LINE__,                        \
                     pl_audit_outcome_name((res).outcome), (res).reason, (res).detail,             \
                     pl_audit_outcome_name(want));                                                 \
    } while (0)

/* The auditor's database as another process sees it. */
static void db_state(pl_audit_db_state *st)
{
    pl_audit_db *db = NULL;
    char err[512];

    assert_int_equal(pl_audit_db_open(state, 1, &db, err, sizeof err), 0);
    assert_int_equal(pl_audit_db_state_get(db, st), 0);
    pl_audit_db_close(db);
}

/* An honest log of 3 entries, cosigned by a first round. */
static pl_auditor *cosigned_three(void)
{
    pl_auditor *a = fresh();
    pl_audit_round_result res;

    log_append(mock.log, 2);
    log_append(mock.log, 0);
    log_append(mock.log, 3);
    serve_size(3);
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_COSIGNED);
    assert_int_equal(res.size, 3);
    assert_int_equal(res.replayed, 3);
    assert_int_equal(res.accepted, 1);
    assert_int_equal(mock.cosigns, 1);
    return a;
}

/* Asserts that the last round cosigned nothing, halted or not, and kept size 3. */
static void assert_refused_kept_three(pl_auditor *a, const pl_audit_round_result *res,
                                      const char *reason, int halted)
{
    pl_audit_db_state st;

    EXPECT_OUTCOME(*res, PL_AUDIT_ROUND_REFUSED);
    assert_string_equal(res->reason, reason);
    assert_int_equal(res->halted, halted);
    assert_int_equal(mock.cosigns, 1);
    db_state(&st);
    assert_int_equal(st.halted, halted);
    assert_int_equal(st.size, 3);
    assert_int_equal(st.n_entries, 3);
    assert_int_equal(st.n_evidence, 1);
    assert_int_equal(pl_audit_replay_size(a->replay), 3);
}

/* The stored evidence's entry, decoded. */
static Parley__KtAuditEntry *evidence_entry(const char *reason)
{
    char path[400];
    sqlite3 *s = NULL;
    sqlite3_stmt *q = NULL;
    Parley__KtAuditEntry *e = NULL;

    snprintf(path, sizeof path, "%s/audit.db", state);
    assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(s,
                                        "SELECT entry, note FROM evidence WHERE reason = ?1"
                                        " AND entry IS NOT NULL AND note IS NOT NULL",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(q, 1, reason, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        e = parley__kt_audit_entry__unpack(NULL, (size_t)sqlite3_column_bytes(q, 0),
                                           sqlite3_column_blob(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(s);
    assert_non_null(e);
    return e;
}

/* ------------------------------------------------------------------ tests */

static void test_honest_log_is_cosigned_and_extended(void **st)
{
    pl_auditor *a = cosigned_three();
    pl_audit_round_result res;
    pl_audit_db_state s;

    (void)st;
    log_append(mock.log, 1);
    log_append(mock.log, 0);
    serve_size(5);
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_COSIGNED);
    assert_int_equal(res.replayed, 2);
    assert_int_equal(mock.cosigned_size, 5);
    /* the same checkpoint again: cosigned again, nothing fetched */
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_COSIGNED);
    assert_int_equal(res.replayed, 0);
    db_state(&s);
    assert_int_equal(s.size, 5);
    assert_int_equal(s.n_cosignatures, 3);
    assert_int_equal(s.n_leaves, 6);
    /* the server refusing the line does not undo the commitment */
    log_append(mock.log, 2);
    serve_size(6);
    mock.cosign_status = PARLEY__STATUS_CODE__STATUS_BAD_SIGNATURE;
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_COSIGNED);
    assert_int_equal(res.accepted, 0);
    db_state(&s);
    assert_int_equal(s.size, 6);
    done(a);
}

static void test_leaf_logged_twice_halts_with_the_entry(void **st)
{
    pl_auditor *a = cosigned_three();
    pl_audit_round_result res;
    Parley__KtAuditEntry *e;
    uint8_t root[HB];

    (void)st;
    /* entry 3 logs entry 0's first leaf again (an old state replayed into the map): a
     * signed, consistent log whose map did not only grow */
    pl_prefix_tree_root(mock.log->tree, root);
    log_append_raw(mock.log, mock.log->ts, root, (const uint8_t(*)[64])mock.log->e[0].leaves, 1);
    serve_size(4);
    round_once(a, &res);
    assert_refused_kept_three(a, &res, "leaf_present", 1);
    e = evidence_entry("leaf_present");
    assert_int_equal(e->position, 3);
    assert_int_equal(e->n_leaves, 1);
    assert_memory_equal(e->leaves[0].data, mock.log->e[0].leaves[0], 64);
    parley__kt_audit_entry__free_unpacked(e, NULL);
    /* halted: the next round refuses before any request */
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_HALTED);
    assert_string_equal(res.reason, "leaf_present");
    assert_int_equal(mock.cosigns, 1);
    done(a);
}

static void test_time_going_back_halts(void **st)
{
    pl_auditor *a = cosigned_three();
    pl_audit_round_result res;
    uint8_t root[HB];

    (void)st;
    pl_prefix_tree_root(mock.log->tree, root);
    log_append_raw(mock.log, mock.log->e[2].ts - 1, root, NULL, 0);
    serve_size(4);
    round_once(a, &res);
    assert_refused_kept_three(a, &res, "time_backwards", 1);
    done(a);
}

static void test_wrong_prefix_root_halts(void **st)
{
    pl_auditor *a = cosigned_three();
    pl_audit_round_result res;
    uint8_t root[HB];

    (void)st;
    /* entries 3 and 4 fine, entry 5 claims a root its leaves do not give */
    log_append(mock.log, 2);
    log_append(mock.log, 1);
    memset(root, 0x42, sizeof root);
    log_append_raw(mock.log, mock.log->ts, root, (const uint8_t(*)[64])mock.log->e[4].leaves, 0);
    serve_size(6);
    round_once(a, &res);
    assert_refused_kept_three(a, &res, "prefix_root", 1);
    done(a);
}

static void test_entries_not_the_signed_ones_halt(void **st)
{
    pl_auditor *a = cosigned_three();
    pl_audit_round_result res;

    (void)st;
    log_append(mock.log, 1);
    log_append(mock.log, 1);
    serve_size(5);
    /* entry 3 is served a millisecond later than it was signed: it replays, but the log root
     * over the served entries is not the checkpoint's */
    mock.served_ts_delta_at = 3 + 1;
    round_once(a, &res);
    assert_refused_kept_three(a, &res, "log_root", 1);
    done(a);
}

static void test_fork_and_rollback_halt(void **st)
{
    pl_auditor *a = cosigned_three();
    pl_audit_round_result res;
    fake_log *honest = mock.log, *fork = log_new();
    char err[512];

    (void)st;
    /* the same keys, another history of the same size */
    log_append(fork, 2);
    log_append(fork, 1);
    log_append(fork, 3);
    mock.log = fork;
    serve_size(3);
    round_once(a, &res);
    assert_refused_kept_three(a, &res, "fork", 1);
    assert_int_equal(res.code, PL_E_BAD_PROOF);
    /* resumed, it still refuses the fork, now as a longer tree */
    assert_int_equal(pl_audit_db_resume(a->db), 0);
    assert_int_equal(pl_auditor_reload(a, err, sizeof err), 0);
    log_append(fork, 1);
    serve_size(4);
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_REFUSED);
    assert_string_equal(res.reason, "fork");
    /* and a proof that does not verify from the honest log is a fork too */
    assert_int_equal(pl_audit_db_resume(a->db), 0);
    assert_int_equal(pl_auditor_reload(a, err, sizeof err), 0);
    mock.log = honest;
    log_append(honest, 1);
    serve_size(4);
    mock.bad_proof = 1;
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_REFUSED);
    assert_string_equal(res.reason, "fork");
    /* a smaller tree is a rollback, detected from the server's own answer */
    assert_int_equal(pl_audit_db_resume(a->db), 0);
    assert_int_equal(pl_auditor_reload(a, err, sizeof err), 0);
    mock.bad_proof = 0;
    serve_size(2);
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_REFUSED);
    assert_string_equal(res.reason, "rollback");
    assert_int_equal(res.code, PL_E_ROLLBACK);
    /* resumed, the honest log that extends what it cosigned is cosigned again */
    assert_int_equal(pl_audit_db_resume(a->db), 0);
    assert_int_equal(pl_auditor_reload(a, err, sizeof err), 0);
    serve_size(4);
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_COSIGNED);
    assert_int_equal(res.replayed, 1);
    assert_int_equal(mock.cosigns, 2);
    log_free(fork);
    done(a);
}

static void test_config_change_halts(void **st)
{
    pl_auditor *a = cosigned_three();
    pl_audit_round_result res;

    (void)st;
    mock.quorum = 0;
    round_once(a, &res);
    assert_refused_kept_three(a, &res, "config_changed", 1);
    done(a);
}

static void test_unsigned_lies_do_not_halt(void **st)
{
    pl_auditor *a = cosigned_three();
    pl_audit_round_result res;
    pl_audit_db_state s;

    (void)st;
    log_append(mock.log, 2);
    serve_size(4);
    /* a note signed by another key under the log's name: refused, kept, not halted */
    mock.sign_with_other = 1;
    round_once(a, &res);
    assert_refused_kept_three(a, &res, "bad_signature", 0);
    mock.sign_with_other = 0;
    /* a malformed answer: the frame codec already refuses it, so the round is transient */
    mock.root_len = 31;
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_TRANSIENT);
    mock.root_len = 32;
    /* an entry out of place and entries withheld: refused with the evidence, kept once
     * however often the server repeats itself, not halted */
    mock.bad_position_at = 3 + 1;
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_REFUSED);
    assert_string_equal(res.reason, "wrong_position");
    assert_int_equal(res.halted, 0);
    round_once(a, &res);
    assert_string_equal(res.reason, "wrong_position");
    mock.bad_position_at = 0;
    mock.no_entries = 1;
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_REFUSED);
    assert_string_equal(res.reason, "withheld");
    assert_int_equal(res.halted, 0);
    mock.no_entries = 0;
    db_state(&s);
    assert_int_equal(s.size, 3);
    assert_int_equal(s.n_entries, 3);
    assert_int_equal(s.n_evidence, 3);
    assert_int_equal(s.halted, 0);
    assert_int_equal(mock.cosigns, 1);
    /* the honest answer then goes through */
    round_once(a, &res);
    EXPECT_OUTCOME(res, PL_AUDIT_ROUND_COSIGNED);
    assert_int_equal(res.size, 4);
    assert_int_equal(res.replayed, 1);
    done(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest_log_is_cosigned_and_extended),
        cmocka_unit_test(test_leaf_logged_twice_halts_with_the_entry),
        cmocka_unit_test(test_time_going_back_halts),
        cmocka_unit_test(test_wrong_prefix_root_halts),
        cmocka_unit_test(test_entries_not_the_signed_ones_halt),
        cmocka_unit_test(test_fork_and_rollback_halt),
        cmocka_unit_test(test_config_change_halts),
        cmocka_unit_test(test_unsigned_lies_do_not_halt),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

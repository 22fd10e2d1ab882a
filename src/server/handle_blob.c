/*
 * handle_blob.c: BlobCreate, BlobPut, BlobStatusGet, BlobComplete, BlobGet, BlobFetched, and
 * the blob expiry sweep (PROTOCOL.md §27).
 *
 * A blob is ciphertext the server stores without understanding it: its id (16 random bytes
 * the server draws) is the capability to read it, its owner the only account that may write
 * it. Its life:
 *
 *   created (received 0) --BlobPut at offset == received--> ... received == size
 *     --BlobComplete--> complete: readable by any authenticated device that knows the id
 *     --BlobFetched from expected_fetches distinct devices, or expires_at reached-->
 *   expired: unreadable at once (expires_at <= now), deleted by the next sweep.
 *
 * Every request runs on the store worker (blob_store.h reads and writes the files there, so
 * the loop never waits for the disk). A put's bytes are fsynced before its batch commits the
 * new `received` (once per blob file per batch, put_sync), and the client hears OK only after
 * that commit: a resumed upload starts from BlobStatus.received and never loses an
 * acknowledged byte. Cheap checks (sizes against
 * the config) come before the store.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_store.h"
#include "clock.h"
#include "handlers.h"
#include "log.h"
#include "server.h"

#define ST(x) PARLEY__STATUS_CODE__STATUS_##x
#define MIB (1024ull * 1024ull)
/* BlobGet buffers in flight, all connections together: each get reserves its `max` until it
 * is answered, so pipelined gets cannot make the server hold unbounded memory (64 gets of
 * 256 KiB per connection times every connection). Past it a get is answered RATE_LIMITED. */
#define READ_BUDGET (64ull * MIB)
#define READ_RETRY_MS 50u
/* Blobs deleted per sweep job; the next tick takes the rest. */
#define SWEEP_MAX 256u

typedef struct blob_rq {
    pl_request rq;
    const pl_config *cfg;
    char username[PL_USERNAME_MAX + 1];
    uint32_t device_id;
    pl_store_blob blob; /* the state after the request */
    uint8_t *data;      /* BlobGet: bytes read */
    size_t data_len;
    uint64_t offset;
    uint64_t reserved; /* BlobGet: bytes of the read budget held until answered */
    int wrote;         /* BlobPut: bytes written and counted, to be fsynced (put_sync) */
} blob_rq;

static void fail_store(blob_rq *b, int r, const char *what)
{
    if (r == PL_STORE_E_NOT_FOUND)
        pl_request_fail(&b->rq, ST(NOT_FOUND), "no such blob");
    else if (r == PL_STORE_E_QUOTA)
        pl_request_fail(&b->rq, ST(BLOB_QUOTA), "the account's blob quota would be exceeded");
    else if (r == PL_STORE_E_LIMIT)
        pl_request_fail(&b->rq, ST(BLOB_QUOTA), "the account holds its maximum number of blobs");
    else
        pl_request_fail(&b->rq, ST(INTERNAL), what);
}

/* Loads the blob of id into b->blob; refuses an expired one as if it were gone. */
static int load(blob_rq *b, pl_store *s, const uint8_t *id)
{
    int r = pl_store_blob_get(s, id, &b->blob);

    if (r == PL_STORE_OK && b->blob.expires_at_ms <= pl_clock_now_ms())
        r = PL_STORE_E_NOT_FOUND;
    if (r != PL_STORE_OK) {
        fail_store(b, r, "the blob could not be read");
        return 0;
    }
    return 1;
}

/* Loads a blob this request's account owns; another account's blob is "not found". */
static int load_own(blob_rq *b, pl_store *s, const uint8_t *id)
{
    if (!load(b, s, id))
        return 0;
    if (strcmp(b->blob.owner, b->username) != 0) {
        pl_request_fail(&b->rq, ST(NOT_FOUND), "no such blob");
        return 0;
    }
    return 1;
}

/* ---- Runs (store worker) --------------------------------------------------------------- */

static void create_run(pl_job *job, pl_store *s)
{
    blob_rq *b = (blob_rq *)job;
    const Parley__BlobCreate *q = b->rq.frame->request->blob_create;
    uint64_t now = pl_clock_now_ms();
    int r;

    memset(&b->blob, 0, sizeof b->blob);
    pl_random_fill(NULL, b->blob.id, sizeof b->blob.id);
    memcpy(b->blob.owner, b->username, sizeof b->blob.owner);
    b->blob.size = q->size;
    b->blob.expected_fetches = q->expected_fetches;
    b->blob.created_at_ms = now;
    b->blob.expires_at_ms = now + b->cfg->blobs.expiry_ms;
    r = pl_store_blob_create(s, &b->blob, (uint64_t)b->cfg->blobs.quota_mib * MIB,
                             b->cfg->blobs.max_per_account);
    if (r != PL_STORE_OK)
        fail_store(b, r, "the blob could not be created");
}

static void put_run(pl_job *job, pl_store *s)
{
    blob_rq *b = (blob_rq *)job;
    const Parley__BlobPut *q = b->rq.frame->request->blob_put;
    int r;

    if (!load_own(b, s, q->blob_id.data))
        return;
    if (b->blob.complete) {
        pl_request_fail(&b->rq, ST(BLOB_COMPLETE), "the blob is complete");
        return;
    }
    if (q->offset != b->blob.received) {
        pl_request_fail(&b->rq, ST(BLOB_OFFSET), "offset is not the bytes received so far");
        return;
    }
    if (q->data.len > b->blob.size - b->blob.received) {
        pl_request_fail(&b->rq, ST(TOO_LARGE), "data beyond the blob's size");
        return;
    }
    if ((r = pl_blob_file_write(b->cfg->server.data_dir, b->blob.id, q->offset, q->data.data,
                                q->data.len)) != 0) {
        pl_log(PL_CONFIG_LOG_ERROR, "blob write failed", PL_LOG_STR("error", strerror(-r)));
        pl_request_fail(&b->rq, ST(INTERNAL), "the blob could not be written");
        return;
    }
    b->blob.received += q->data.len;
    if ((r = pl_store_blob_update(s, b->blob.id, b->blob.received, 0, b->blob.expires_at_ms)) !=
        PL_STORE_OK)
        fail_store(b, r, "the blob could not be updated");
    else
        b->wrote = 1;
}

/* Before the batch commits the puts' new `received`: their bytes on disk, one fsync per blob
 * file per batch. Every run of the batch is over, so the last put of a blob in the batch
 * fsyncs for the earlier ones (they skip). A failure fails the whole batch: nothing it
 * counted is committed, and the client resumes from the old `received`. */
static int put_sync(pl_job *job, pl_store *s)
{
    blob_rq *b = (blob_rq *)job;
    int r;

    (void)s;
    if (!b->wrote)
        return 0;
    for (pl_job *j = job->next; j; j = j->next) {
        const blob_rq *later = (const blob_rq *)j;

        if (j->before_commit == put_sync && later->wrote &&
            memcmp(later->blob.id, b->blob.id, sizeof b->blob.id) == 0)
            return 0;
    }
    if ((r = pl_blob_file_sync(b->cfg->server.data_dir, b->blob.id)) != 0)
        pl_log(PL_CONFIG_LOG_ERROR, "blob fsync failed", PL_LOG_STR("error", strerror(-r)));
    return r;
}

static void status_run(pl_job *job, pl_store *s)
{
    blob_rq *b = (blob_rq *)job;

    (void)load_own(b, s, b->rq.frame->request->blob_status->blob_id.data);
}

static void complete_run(pl_job *job, pl_store *s)
{
    blob_rq *b = (blob_rq *)job;
    int r;

    if (!load_own(b, s, b->rq.frame->request->blob_complete->blob_id.data) || b->blob.complete)
        return; /* completing twice answers the same state */
    if (b->blob.received != b->blob.size) {
        pl_request_fail(&b->rq, ST(BLOB_INCOMPLETE), "the blob has not received all its bytes");
        return;
    }
    b->blob.complete = 1;
    if ((r = pl_store_blob_update(s, b->blob.id, b->blob.received, 1, b->blob.expires_at_ms)) !=
        PL_STORE_OK)
        fail_store(b, r, "the blob could not be updated");
}

static void get_run(pl_job *job, pl_store *s)
{
    blob_rq *b = (blob_rq *)job;
    const Parley__BlobGet *q = b->rq.frame->request->blob_get;
    int r;

    if (!load(b, s, q->blob_id.data))
        return;
    if (!b->blob.complete) {
        pl_request_fail(&b->rq, ST(BLOB_INCOMPLETE), "the blob is not complete");
        return;
    }
    if (q->offset >= b->blob.size) {
        pl_request_fail(&b->rq, ST(BAD_REQUEST), "offset at or beyond the blob's end");
        return;
    }
    b->offset = q->offset;
    b->data_len = b->blob.size - q->offset < q->max ? (size_t)(b->blob.size - q->offset) : q->max;
    if (!(b->data = malloc(b->data_len))) {
        pl_request_fail(&b->rq, ST(INTERNAL), "out of memory");
        return;
    }
    if ((r = pl_blob_file_read(b->cfg->server.data_dir, b->blob.id, q->offset, b->data,
                               b->data_len)) != 0) {
        pl_log(PL_CONFIG_LOG_ERROR, "blob read failed", PL_LOG_STR("error", strerror(-r)));
        pl_request_fail(&b->rq, ST(INTERNAL), "the blob could not be read");
    }
}

static void fetched_run(pl_job *job, pl_store *s)
{
    blob_rq *b = (blob_rq *)job;
    const uint8_t *id = b->rq.frame->request->blob_fetched->blob_id.data;
    uint32_t fetched;
    int r;

    if (!load(b, s, id))
        return;
    if ((r = pl_store_blob_fetched(s, id, b->username, b->device_id, &fetched)) != PL_STORE_OK) {
        fail_store(b, r, "the fetch could not be recorded");
        return;
    }
    /* Every expected device is done: unreadable from now, deleted by the next sweep. */
    if (fetched >= b->blob.expected_fetches &&
        (r = pl_store_blob_update(s, id, b->blob.received, b->blob.complete, 0)) != PL_STORE_OK)
        fail_store(b, r, "the blob could not be updated");
}

/* ---- Answers (loop thread) -------------------------------------------------------------- */

static void status_body(Parley__BlobStatus *st, const pl_store_blob *blob)
{
    st->size = blob->size;
    st->received = blob->received;
    st->complete = blob->complete != 0;
    st->expires_at_ms = blob->expires_at_ms;
}

static void blob_done(pl_job *job)
{
    blob_rq *b = (blob_rq *)job;
    Parley__Response resp = PARLEY__RESPONSE__INIT;
    Parley__Status st = PARLEY__STATUS__INIT;
    Parley__BlobCreated created = PARLEY__BLOB_CREATED__INIT;
    Parley__BlobStatus status = PARLEY__BLOB_STATUS__INIT;
    Parley__BlobData data = PARLEY__BLOB_DATA__INIT;
    Parley__Empty empty = PARLEY__EMPTY__INIT;
    int body_case = (int)b->rq.frame->request->body_case;
    void *body = &status;
    uint8_t *bytes = b->data;
    pl_server *srv = b->rq.conn->srv;

    switch (body_case) {
    case PARLEY__REQUEST__BODY_BLOB_CREATE:
        created.blob_id.data = b->blob.id;
        created.blob_id.len = sizeof b->blob.id;
        created.expires_at_ms = b->blob.expires_at_ms;
        body = &created;
        break;
    case PARLEY__REQUEST__BODY_BLOB_GET:
        data.offset = b->offset;
        data.data.data = b->data;
        data.data.len = b->data_len;
        data.size = b->blob.size;
        body = &data;
        break;
    case PARLEY__REQUEST__BODY_BLOB_FETCHED:
        body = &empty;
        break;
    default:
        status_body(&status, &b->blob);
        break;
    }
    srv->blob_read_bytes -= b->reserved;
    pl_response_ok(&resp, &st, b->rq.id, body_case, body);
    pl_request_finish(&b->rq, b->rq.status == ST(OK) && !job->commit_failed ? &resp : NULL);
    free(bytes); /* after the answer is encoded; b itself is gone with pl_request_finish */
}

/* reserve: BlobGet's bytes of the read budget. Reads (BlobGet, BlobStatusGet) run standalone:
 * outside a transaction (they write nothing), so they do not wait up to [mailbox]
 * commit_max_delay for a batch to fill (a download is one get after another). */
static void submit(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes,
                   void (*run)(pl_job *, pl_store *), uint64_t reserve)
{
    blob_rq *b;

    if (c->srv->blob_read_bytes + reserve > READ_BUDGET) {
        pl_refuse(c, slot, f, ST(RATE_LIMITED), "too many blob reads in flight", READ_RETRY_MS);
        return;
    }
    if (!(b = (blob_rq *)pl_request_new(sizeof *b, c, slot, f, frame_bytes, run, blob_done)))
        return;
    b->reserved = reserve;
    c->srv->blob_read_bytes += reserve;
    b->cfg = &c->srv->cfg;
    memcpy(b->username, c->username, sizeof b->username);
    b->device_id = c->device_id;
    b->rq.job.standalone = run == get_run || run == status_run;
    if (run == put_run)
        b->rq.job.before_commit = put_sync;
    pl_request_submit(&b->rq);
}

void pl_handle_blob_create(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    if (f->request->blob_create->size > (uint64_t)c->srv->cfg.blobs.max_size_mib * MIB) {
        pl_refuse(c, slot, f, ST(TOO_LARGE), "blob larger than the server's [blobs] max_size_mib",
                  0);
        return;
    }
    submit(c, slot, f, frame_bytes, create_run, 0);
}

void pl_handle_blob_put(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    submit(c, slot, f, frame_bytes, put_run, 0);
}

void pl_handle_blob_status(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    submit(c, slot, f, frame_bytes, status_run, 0);
}

void pl_handle_blob_complete(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    submit(c, slot, f, frame_bytes, complete_run, 0);
}

void pl_handle_blob_get(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    submit(c, slot, f, frame_bytes, get_run, f->request->blob_get->max);
}

void pl_handle_blob_fetched(pl_conn *c, pl_reply *slot, Parley__ClientFrame *f, size_t frame_bytes)
{
    submit(c, slot, f, frame_bytes, fetched_run, 0);
}

/* ---- The expiry sweep ------------------------------------------------------------------- */

typedef struct sweep_job {
    pl_job job;
    pl_server *srv;
    size_t n;
} sweep_job;

/* Standalone (outside a batch): the rows are deleted and committed first, then the files,
 * so a crash in between leaves an orphan file, never a row without its bytes. */
static void sweep_run(pl_job *job, pl_store *s)
{
    sweep_job *w = (sweep_job *)job;
    uint8_t ids[SWEEP_MAX][PL_STORE_BLOB_ID_BYTES];
    int r;

    if ((r = pl_store_blob_expire(s, pl_clock_now_ms(), ids, SWEEP_MAX, &w->n)) != PL_STORE_OK) {
        pl_log(PL_CONFIG_LOG_ERROR, "blob expiry failed",
               PL_LOG_STR("error", pl_store_last_error(s)));
        return;
    }
    for (size_t i = 0; i < w->n; i++)
        if ((r = pl_blob_file_remove(w->srv->cfg.server.data_dir, ids[i])) != 0)
            pl_log(PL_CONFIG_LOG_ERROR, "blob file removal failed",
                   PL_LOG_STR("error", strerror(-r)));
}

static void sweep_done(pl_job *job)
{
    sweep_job *w = (sweep_job *)job;

    w->srv->blob_sweep_running = 0;
    if (w->n)
        pl_log(PL_CONFIG_LOG_INFO, "blobs deleted (fetched or expired)", PL_LOG_U64("count", w->n));
    free(w);
}

void pl_blob_sweep(pl_server *srv)
{
    sweep_job *w;

    if (srv->blob_sweep_running || srv->draining || !(w = calloc(1, sizeof *w)))
        return;
    w->job.run = sweep_run;
    w->job.done = sweep_done;
    w->job.standalone = 1;
    w->srv = srv;
    srv->blob_sweep_running = 1;
    pl_store_worker_submit(srv->worker, &w->job);
}

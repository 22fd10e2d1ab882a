/*
 * store_worker.h: the one thread that touches the store, and its group commit.
 *
 * Every store operation of parleyd runs here, in submission order, so the libuv loop never
 * waits for a disk and operations of one connection see each other's effects. The worker
 * takes the jobs queued so far (up to max_batch, waiting at most max_delay for more when
 * the queue is short), opens ONE transaction, runs each job's `run` inside it (each store
 * operation in its own savepoint, so one failing job changes nothing of the others), and
 * commits once: one fsync for the whole batch. Only then are the jobs handed back to the
 * loop thread, whose `done` callbacks answer clients. So an envelope is on disk before its
 * sender hears "stored", and a batch that fails to commit answers every job in it with an
 * error (`commit_failed`) even if its own operations had succeeded.
 *
 * A job is a struct the caller owns, embedded in its own context (container_of style); the
 * worker links it into its queues and never frees it. `done` runs on the loop thread in the
 * order the jobs ran. A `standalone` job (retention expiry, which commits in chunks) runs
 * between batches, outside any transaction.
 */
#ifndef PARLEYD_STORE_WORKER_H
#define PARLEYD_STORE_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "store.h"

typedef struct pl_job pl_job;

struct pl_job {
    /* On the worker thread, inside the batch: do the store work and record results in the
     * enclosing struct. Must not touch loop-thread state. */
    void (*run)(pl_job *job, pl_store *store);
    /* Optional (NULL: none). On the worker thread, after every job of the batch ran and before
     * its commit: makes durable what run wrote outside the store (a blob file's bytes), once
     * for the whole batch. Non-zero: the batch is rolled back and every job in it fails
     * (commit_failed), as when the commit itself fails. Not called for standalone jobs. */
    int (*before_commit)(pl_job *job, pl_store *store);
    /* On the loop thread, after the batch committed (or failed to). */
    void (*done)(pl_job *job);
    /* Set by the worker before done: 1 if the batch did not commit, so nothing `run` wrote
     * is stored, whatever it recorded. */
    int commit_failed;
    int standalone;       /* run outside a batch */
    size_t envelopes;     /* envelopes the job appends, for the batch-size metric */
    uint64_t enqueued_ns; /* set by pl_store_worker_submit */
    pl_job *next;         /* the worker's */
};

typedef struct pl_store_worker pl_store_worker;

/*
 * Starts the worker thread on store (which it then owns: only the worker uses it until
 * pl_store_worker_stop). Completions are delivered on loop through a uv_async_t.
 * Returns 0, or a negative uv error code.
 */
int pl_store_worker_start(pl_store_worker **out, uv_loop_t *loop, pl_store *store,
                          uint32_t max_batch, uint64_t max_delay_ms);

/* Queues job (loop thread only). After pl_store_worker_stop has begun, jobs are still run. */
void pl_store_worker_submit(pl_store_worker *w, pl_job *job);

/* Jobs queued or running, not yet handed back. */
size_t pl_store_worker_depth(const pl_store_worker *w);

/*
 * Runs every queued job to the end, stops and joins the thread, delivers the remaining
 * completions, and closes the async handle (the loop finishes the close; free w with
 * pl_store_worker_free after the loop has run once more). Loop thread only.
 */
void pl_store_worker_stop(pl_store_worker *w);

/* Frees w after stop and after the loop has processed the handle close. Accepts NULL. */
void pl_store_worker_free(pl_store_worker *w);

#endif

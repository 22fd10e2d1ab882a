/*
 * store_worker.c: the store thread and its group commit (store_worker.h).
 *
 * Queues: `in` (submitted, guarded by mu, signalled by cv) and `out` (finished, guarded by
 * mu, announced to the loop by `async`). A job is in exactly one of: in, the batch being
 * run, out, or back with its owner.
 */
#include "store_worker.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"

struct pl_store_worker {
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cv;
    pl_store *store;
    uint32_t max_batch;
    uint64_t max_delay_ns;
    pl_job *in_head, *in_tail;
    size_t in_count;
    pl_job *out_head, *out_tail;
    atomic_size_t depth;
    int stopping; /* guarded by mu */
    int joined;   /* loop thread only */
};

static void list_append(pl_job **head, pl_job **tail, pl_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

/* Runs jobs[0..n) in one transaction and marks them all failed if it does not commit. */
static void run_batch(pl_store_worker *w, pl_job *first)
{
    uint64_t t0 = pl_clock_mono_ns();
    size_t envelopes = 0;
    pl_job *j;
    int r;

    if (first->standalone) {
        first->commit_failed = 0;
        first->run(first, w->store);
        return;
    }
    if ((r = pl_store_batch_begin(w->store)) != PL_STORE_OK) {
        pl_log(PL_CONFIG_LOG_ERROR, "store batch could not begin",
               PL_LOG_STR("error", pl_store_last_error(w->store)));
        for (j = first; j; j = j->next)
            j->commit_failed = 1;
        return;
    }
    for (j = first; j; j = j->next) {
        j->commit_failed = 0;
        j->run(j, w->store);
        envelopes += j->envelopes;
    }
    for (j = first; j; j = j->next)
        if (j->before_commit && j->before_commit(j, w->store) != 0) {
            pl_log(PL_CONFIG_LOG_ERROR, "store batch could not be made durable");
            pl_store_batch_rollback(w->store);
            for (j = first; j; j = j->next)
                j->commit_failed = 1;
            return;
        }
    if ((r = pl_store_batch_commit(w->store)) != PL_STORE_OK) {
        pl_log(PL_CONFIG_LOG_ERROR, "store commit failed",
               PL_LOG_STR("error", pl_store_last_error(w->store)));
        pl_store_batch_rollback(w->store);
        for (j = first; j; j = j->next)
            j->commit_failed = 1;
        return;
    }
    pl_metrics_inc(PL_M_COMMITS);
    pl_metrics_observe_ns(PL_H_COMMIT_SECONDS, pl_clock_mono_ns() - t0);
    if (envelopes)
        pl_metrics_observe_count(PL_H_COMMIT_BATCH_ENVELOPES, envelopes);
}

/* Takes the next batch off `in` (mu held): one standalone job, or up to max_batch others. */
static pl_job *take_batch(pl_store_worker *w)
{
    pl_job *first = w->in_head, *last = first;
    size_t n = 1;

    if (!first->standalone)
        while (last->next && !last->next->standalone && n < w->max_batch) {
            last = last->next;
            n++;
        }
    w->in_head = last->next;
    if (!w->in_head)
        w->in_tail = NULL;
    w->in_count -= n;
    last->next = NULL;
    return first;
}

static void worker_main(void *arg)
{
    pl_store_worker *w = arg;
    pl_job *batch, *last;

    uv_mutex_lock(&w->mu);
    for (;;) {
        while (!w->in_head && !w->stopping)
            uv_cond_wait(&w->cv, &w->mu);
        if (!w->in_head)
            break; /* stopping, and nothing left */
        /* Group commit: a short queue may wait a little for company, bounded by the age of
         * its oldest job, so no job waits more than max_delay for it. */
        while (w->max_delay_ns && !w->stopping && w->in_count < w->max_batch &&
               !w->in_head->standalone) {
            uint64_t now = pl_clock_mono_ns(), deadline = w->in_head->enqueued_ns + w->max_delay_ns;

            if (now >= deadline || uv_cond_timedwait(&w->cv, &w->mu, deadline - now) != 0)
                break;
        }
        batch = take_batch(w);
        uv_mutex_unlock(&w->mu);

        run_batch(w, batch);

        for (last = batch; last->next; last = last->next)
            ;
        uv_mutex_lock(&w->mu);
        if (w->out_tail)
            w->out_tail->next = batch;
        else
            w->out_head = batch;
        w->out_tail = last;
        uv_mutex_unlock(&w->mu);
        uv_async_send(&w->async);
        uv_mutex_lock(&w->mu);
    }
    uv_mutex_unlock(&w->mu);
}

/* Hands finished jobs back, in the order they ran (loop thread). */
static void deliver(pl_store_worker *w)
{
    pl_job *j, *next;

    uv_mutex_lock(&w->mu);
    j = w->out_head;
    w->out_head = w->out_tail = NULL;
    uv_mutex_unlock(&w->mu);
    for (; j; j = next) {
        next = j->next;
        atomic_fetch_sub_explicit(&w->depth, 1, memory_order_relaxed);
        j->done(j);
    }
    pl_metrics_gauge_set(PL_G_COMMIT_QUEUE_DEPTH,
                         (int64_t)atomic_load_explicit(&w->depth, memory_order_relaxed));
}

static void on_async(uv_async_t *handle)
{
    deliver(handle->data);
}

static void free_on_close(uv_handle_t *handle)
{
    pl_store_worker *w = handle->data;

    uv_cond_destroy(&w->cv);
    uv_mutex_destroy(&w->mu);
    free(w);
}

int pl_store_worker_start(pl_store_worker **out, uv_loop_t *loop, pl_store *store,
                          uint32_t max_batch, uint64_t max_delay_ms)
{
    pl_store_worker *w = calloc(1, sizeof *w);
    int r = UV_ENOMEM;

    *out = NULL;
    if (!w)
        return r;
    w->loop = loop;
    w->store = store;
    w->max_batch = max_batch ? max_batch : 1;
    w->max_delay_ns = max_delay_ms * 1000000u;
    atomic_init(&w->depth, 0);
    if ((r = uv_mutex_init(&w->mu)) != 0)
        goto fail_mutex;
    if ((r = uv_cond_init(&w->cv)) != 0)
        goto fail_cond;
    if ((r = uv_async_init(loop, &w->async, on_async)) != 0)
        goto fail_async;
    w->async.data = w;
    if ((r = uv_thread_create(&w->thread, worker_main, w)) != 0) {
        /* The handle is registered with the loop: it is freed by the close callback. */
        uv_close((uv_handle_t *)&w->async, free_on_close);
        return r;
    }
    *out = w;
    return 0;
fail_async:
    uv_cond_destroy(&w->cv);
fail_cond:
    uv_mutex_destroy(&w->mu);
fail_mutex:
    free(w);
    return r;
}

void pl_store_worker_submit(pl_store_worker *w, pl_job *job)
{
    job->enqueued_ns = pl_clock_mono_ns();
    job->commit_failed = 0;
    atomic_fetch_add_explicit(&w->depth, 1, memory_order_relaxed);
    if (w->joined) {
        /* The thread is gone (shutdown): nothing can run; say so at once. */
        atomic_fetch_sub_explicit(&w->depth, 1, memory_order_relaxed);
        job->commit_failed = 1;
        job->done(job);
        return;
    }
    uv_mutex_lock(&w->mu);
    list_append(&w->in_head, &w->in_tail, job);
    w->in_count++;
    uv_cond_signal(&w->cv);
    uv_mutex_unlock(&w->mu);
    pl_metrics_gauge_set(PL_G_COMMIT_QUEUE_DEPTH,
                         (int64_t)atomic_load_explicit(&w->depth, memory_order_relaxed));
}

size_t pl_store_worker_depth(const pl_store_worker *w)
{
    return atomic_load_explicit(&((pl_store_worker *)w)->depth, memory_order_relaxed);
}

void pl_store_worker_stop(pl_store_worker *w)
{
    if (!w || w->joined)
        return;
    uv_mutex_lock(&w->mu);
    w->stopping = 1;
    uv_cond_signal(&w->cv);
    uv_mutex_unlock(&w->mu);
    uv_thread_join(&w->thread);
    w->joined = 1;
    deliver(w);
    uv_close((uv_handle_t *)&w->async, NULL);
}

void pl_store_worker_free(pl_store_worker *w)
{
    if (!w)
        return;
    uv_cond_destroy(&w->cv);
    uv_mutex_destroy(&w->mu);
    free(w);
}

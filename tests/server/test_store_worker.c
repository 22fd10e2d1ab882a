/*
 * test_store_worker.c: the store worker's before_commit hook (store_worker.h), which blob puts
 * use to fsync their files once per batch before the batch commits their new `received`:
 * it runs after every job of the batch ran and before the commit; one hook failing rolls the
 * whole batch back and reports every job in it as not committed; hooks that succeed let the
 * batch commit. The batch is made deterministic with max_batch 2 and a long max_delay (the
 * worker waits for the second job).
 */
#define _DEFAULT_SOURCE /* usleep; mkdtemp */

#include "store_fixture.h"
#include "store_worker.h"

typedef struct test_job {
    pl_job job;           /* first */
    const char *username; /* run: creates this account (NULL: nothing) */
    int run_rc;
    int hook_rc;         /* what before_commit returns */
    int hook_calls;      /* before_commit's calls */
    int ran_before_hook; /* every job of the batch had run when the hook was called */
    int done, commit_failed;
} test_job;

static test_job *batch_jobs[2];

static void job_run(pl_job *job, pl_store *s)
{
    test_job *t = (test_job *)job;
    uint8_t key[PL_PUBKEY_BYTES];

    t->run_rc = PL_STORE_OK;
    if (!t->username)
        return;
    fill_key(key, sizeof key, (uint8_t)t->username[0]);
    t->run_rc = pl_store_account_create(s, t->username, key, 1000);
}

static int job_hook(pl_job *job, pl_store *s)
{
    test_job *t = (test_job *)job;

    (void)s;
    t->hook_calls++;
    t->ran_before_hook = batch_jobs[0]->run_rc != -1000 && batch_jobs[1]->run_rc != -1000;
    return t->hook_rc;
}

static void job_done(pl_job *job)
{
    test_job *t = (test_job *)job;

    t->done = 1;
    t->commit_failed = job->commit_failed;
}

static test_job make_job(const char *username, int with_hook, int hook_rc)
{
    test_job t;

    memset(&t, 0, sizeof t);
    t.job.run = job_run;
    t.job.done = job_done;
    t.job.before_commit = with_hook ? job_hook : NULL;
    t.username = username;
    t.run_rc = -1000; /* not run yet */
    t.hook_rc = hook_rc;
    return t;
}

/* Submits a and b as one batch and runs the loop until both are done (at most 10 s). */
static void run_pair(uv_loop_t *loop, pl_store_worker *w, test_job *a, test_job *b)
{
    batch_jobs[0] = a;
    batch_jobs[1] = b;
    pl_store_worker_submit(w, &a->job);
    pl_store_worker_submit(w, &b->job);
    for (int i = 0; i < 1000 && !(a->done && b->done); i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
    assert_true(a->done && b->done);
}

static void a_failing_hook_rolls_the_batch_back(void **state)
{
    fixture *f = *state;
    pl_store_worker *w = NULL;
    uv_loop_t loop;
    test_job a = make_job("bob", 0, 0), b = make_job(NULL, 1, -1);
    test_job c = make_job("bob", 1, 0), d = make_job("carol", 1, 0);

    open_store(f, NULL);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(pl_store_worker_start(&w, &loop, f->s, 2, 1000), 0);
    /* bob is created, then the hook fails: nothing of the batch is committed. */
    run_pair(&loop, w, &a, &b);
    RC(a.run_rc, PL_STORE_OK);
    assert_int_equal(b.hook_calls, 1);
    assert_true(b.ran_before_hook);
    assert_int_equal(a.commit_failed, 1);
    assert_int_equal(b.commit_failed, 1);
    /* bob again (he was rolled back, so this works), with hooks that succeed: committed. */
    run_pair(&loop, w, &c, &d);
    RC(c.run_rc, PL_STORE_OK);
    RC(d.run_rc, PL_STORE_OK);
    assert_int_equal(c.hook_calls, 1);
    assert_int_equal(d.hook_calls, 1);
    assert_int_equal(c.commit_failed, 0);
    assert_int_equal(d.commit_failed, 0);
    pl_store_worker_stop(w);
    uv_run(&loop, UV_RUN_DEFAULT);
    pl_store_worker_free(w);
    assert_int_equal(uv_loop_close(&loop), 0);
    /* The store (the worker's until stop) holds bob and carol once. */
    {
        uint8_t key[PL_PUBKEY_BYTES];

        fill_key(key, sizeof key, 'b');
        RC(pl_store_account_create(f->s, "bob", key, 1000), PL_STORE_E_EXISTS);
        fill_key(key, sizeof key, 'c');
        RC(pl_store_account_create(f->s, "carol", key, 1000), PL_STORE_E_EXISTS);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_failing_hook_rolls_the_batch_back, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_metrics.c: parleyd's metrics registry (src/server/metrics.c): exact Prometheus text
 * after updates, histogram buckets, refusal labels, snprintf-style sizing, and two threads
 * incrementing at once.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "metrics.h"

static char text[64 * 1024];

static const char *render(void)
{
    size_t n = pl_metrics_render(text, sizeof text);

    assert_true(n < sizeof text);
    assert_int_equal(strlen(text), n);
    return text;
}

/* Asserts that `want` (one or more whole lines) appears in the text as whole lines. */
static void has_lines(const char *want)
{
    const char *p = text;
    size_t n = strlen(want);

    while ((p = strstr(p, want)) != NULL) {
        if ((p == text || p[-1] == '\n') && want[n - 1] == '\n')
            return;
        p++;
    }
    fail_msg("missing:\n%s", want);
}

static int reset(void **state)
{
    (void)state;
    pl_metrics_reset();
    return 0;
}

static void test_counters_and_gauges(void **state)
{
    (void)state;
    pl_metrics_inc(PL_M_CONNECTIONS_ACCEPTED);
    pl_metrics_inc(PL_M_CONNECTIONS_ACCEPTED);
    pl_metrics_add(PL_M_FRAMES_SENT, 40);
    pl_metrics_add(PL_M_FRAMES_SENT, 2);
    pl_metrics_gauge_set(PL_G_CONNECTIONS_OPEN, 5);
    pl_metrics_gauge_add(PL_G_CONNECTIONS_OPEN, -7);
    pl_metrics_gauge_set(PL_G_START_TIME_SECONDS, 1795000000);
    pl_metrics_inc((enum pl_metric_counter)PL_M_COUNTER_COUNT); /* ignored */
    pl_metrics_gauge_add((enum pl_metric_gauge) - 1, 1);        /* ignored */

    assert_int_equal(pl_metrics_counter_value(PL_M_CONNECTIONS_ACCEPTED), 2);
    assert_int_equal(pl_metrics_counter_value(PL_M_COUNTER_COUNT), 0);
    render();
    has_lines("# HELP parleyd_connections_accepted_total Client connections accepted.\n"
              "# TYPE parleyd_connections_accepted_total counter\n"
              "parleyd_connections_accepted_total 2\n");
    has_lines("# TYPE parleyd_frames_sent_total counter\nparleyd_frames_sent_total 42\n");
    has_lines("parleyd_tls_reload_failures_total 0\n");
    has_lines("# TYPE parleyd_connections_open gauge\nparleyd_connections_open -2\n");
    has_lines("parleyd_start_time_seconds 1795000000\n");
    has_lines("parleyd_ready 0\n");
    assert_int_equal(text[strlen(text) - 1], '\n');
}

static void test_refusals(void **state)
{
    (void)state;
    pl_metrics_refusal(17);
    pl_metrics_refusal(17);
    pl_metrics_refusal(0);   /* not a refusal: internal */
    pl_metrics_refusal(-5);  /* internal */
    pl_metrics_refusal(999); /* internal */
    pl_metrics_refusal(31);  /* no name (yet) */
    assert_int_equal(pl_metrics_refusal_value(17), 2);
    assert_int_equal(pl_metrics_refusal_value(23), 3);
    assert_int_equal(pl_metrics_refusal_value(31), 1);
    assert_int_equal(pl_metrics_refusal_value(32), 0);
    assert_int_equal(pl_metrics_refusal_value(-1), 0);
    render();
    has_lines("# TYPE parleyd_refusals_total counter\n"
              "parleyd_refusals_total{reason=\"bad_frame\"} 0\n");
    has_lines("parleyd_refusals_total{reason=\"mismatched_devices\"} 2\n");
    has_lines("parleyd_refusals_total{reason=\"internal\"} 3\n");
    has_lines("parleyd_refusals_total{reason=\"code_31\"} 1\n");
    assert_null(strstr(text, "code_30"));
    assert_null(strstr(text, "reason=\"ok\""));
}

static void test_seconds_histogram(void **state)
{
    (void)state;
    pl_metrics_observe_ns(PL_H_COMMIT_SECONDS, 500000);     /* le 0.0005, on the bound */
    pl_metrics_observe_ns(PL_H_COMMIT_SECONDS, 3000000);    /* le 0.005 */
    pl_metrics_observe_ns(PL_H_COMMIT_SECONDS, 3000000000); /* +Inf */
    pl_metrics_observe_count(PL_H_COMMIT_SECONDS, 1);       /* wrong kind: ignored */
    render();
    has_lines("# HELP parleyd_commit_seconds Time one group commit of the store took.\n"
              "# TYPE parleyd_commit_seconds histogram\n"
              "parleyd_commit_seconds_bucket{le=\"0.0005\"} 1\n"
              "parleyd_commit_seconds_bucket{le=\"0.001\"} 1\n"
              "parleyd_commit_seconds_bucket{le=\"0.002\"} 1\n"
              "parleyd_commit_seconds_bucket{le=\"0.005\"} 2\n"
              "parleyd_commit_seconds_bucket{le=\"0.01\"} 2\n"
              "parleyd_commit_seconds_bucket{le=\"0.02\"} 2\n"
              "parleyd_commit_seconds_bucket{le=\"0.05\"} 2\n"
              "parleyd_commit_seconds_bucket{le=\"0.1\"} 2\n"
              "parleyd_commit_seconds_bucket{le=\"0.25\"} 2\n"
              "parleyd_commit_seconds_bucket{le=\"0.5\"} 2\n"
              "parleyd_commit_seconds_bucket{le=\"1\"} 2\n"
              "parleyd_commit_seconds_bucket{le=\"2.5\"} 2\n"
              "parleyd_commit_seconds_bucket{le=\"+Inf\"} 3\n"
              "parleyd_commit_seconds_sum 3.003500000\n"
              "parleyd_commit_seconds_count 3\n");
    has_lines("parleyd_delivery_seconds_bucket{le=\"+Inf\"} 0\n"
              "parleyd_delivery_seconds_sum 0.000000000\n"
              "parleyd_delivery_seconds_count 0\n");
}

static void test_count_histogram(void **state)
{
    (void)state;
    pl_metrics_observe_count(PL_H_COMMIT_BATCH_ENVELOPES, 1);
    pl_metrics_observe_count(PL_H_COMMIT_BATCH_ENVELOPES, 3);
    pl_metrics_observe_count(PL_H_COMMIT_BATCH_ENVELOPES, 256);
    pl_metrics_observe_count(PL_H_COMMIT_BATCH_ENVELOPES, 257);
    pl_metrics_observe_ns(PL_H_COMMIT_BATCH_ENVELOPES, 5); /* wrong kind: ignored */
    pl_metrics_observe_count((enum pl_metric_histogram)7, 5);
    render();
    has_lines("# TYPE parleyd_commit_batch_envelopes histogram\n"
              "parleyd_commit_batch_envelopes_bucket{le=\"1\"} 1\n"
              "parleyd_commit_batch_envelopes_bucket{le=\"2\"} 1\n"
              "parleyd_commit_batch_envelopes_bucket{le=\"4\"} 2\n"
              "parleyd_commit_batch_envelopes_bucket{le=\"8\"} 2\n"
              "parleyd_commit_batch_envelopes_bucket{le=\"16\"} 2\n"
              "parleyd_commit_batch_envelopes_bucket{le=\"32\"} 2\n"
              "parleyd_commit_batch_envelopes_bucket{le=\"64\"} 2\n"
              "parleyd_commit_batch_envelopes_bucket{le=\"128\"} 2\n"
              "parleyd_commit_batch_envelopes_bucket{le=\"256\"} 3\n"
              "parleyd_commit_batch_envelopes_bucket{le=\"+Inf\"} 4\n"
              "parleyd_commit_batch_envelopes_sum 517\n"
              "parleyd_commit_batch_envelopes_count 4\n");
}

/* The return value is the full length whatever the capacity, and the output always ends
 * in a NUL within the capacity. */
static void test_render_sizing(void **state)
{
    size_t need = pl_metrics_render(NULL, 0);
    char small[100];

    (void)state;
    assert_true(need > 1000);
    memset(small, 'x', sizeof small);
    assert_int_equal(pl_metrics_render(small, 10), need);
    assert_int_equal(strlen(small), 9);
    assert_int_equal(small[10], 'x');
    assert_int_equal(pl_metrics_render(small, 1), need);
    assert_int_equal(small[0], '\0');
    assert_int_equal(pl_metrics_render(text, sizeof text), need);
    assert_int_equal(pl_metrics_render(text, need), need); /* one short: cut */
    assert_int_equal(strlen(text), need - 1);
}

#define THREAD_ITERATIONS 200000

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < THREAD_ITERATIONS; i++) {
        pl_metrics_inc(PL_M_FRAMES_RECEIVED);
        pl_metrics_gauge_add(PL_G_COMMIT_QUEUE_DEPTH, 1);
        pl_metrics_refusal(19);
        pl_metrics_observe_count(PL_H_COMMIT_BATCH_ENVELOPES, 2);
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    pthread_t t;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, hammer, NULL), 0);
    hammer(NULL);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(pl_metrics_counter_value(PL_M_FRAMES_RECEIVED), 2 * THREAD_ITERATIONS);
    assert_int_equal(pl_metrics_refusal_value(19), 2 * THREAD_ITERATIONS);
    render();
    has_lines("parleyd_commit_queue_depth 400000\n");
    has_lines("parleyd_commit_batch_envelopes_sum 800000\n"
              "parleyd_commit_batch_envelopes_count 400000\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_counters_and_gauges, reset),
        cmocka_unit_test_setup(test_refusals, reset),
        cmocka_unit_test_setup(test_seconds_histogram, reset),
        cmocka_unit_test_setup(test_count_histogram, reset),
        cmocka_unit_test_setup(test_render_sizing, reset),
        cmocka_unit_test_setup(test_two_threads, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

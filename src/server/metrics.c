/*
 * metrics.c: the process's metrics registry (metrics.h) and its Prometheus text rendering.
 *
 * Histograms keep one non-cumulative count per bucket (an observation lands in exactly one)
 * and the sum of the observed values in their own unit (nanoseconds, or envelopes); the
 * render makes the buckets cumulative and writes a seconds sum as an exact decimal.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "parley.pb-c.h"

/* Bounds of the seconds histograms, in nanoseconds and as written in le="...". */
static const uint64_t seconds_bounds[] = {
    500000u,   1000000u,   2000000u,   5000000u,   10000000u,   20000000u,
    50000000u, 100000000u, 250000000u, 500000000u, 1000000000u, 2500000000u,
};
static const char *const seconds_labels[] = {
    "0.0005", "0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
};
static const uint64_t count_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
static const char *const count_labels[] = {"1", "2", "4", "8", "16", "32", "64", "128", "256"};

#define SECONDS_BUCKETS (sizeof seconds_bounds / sizeof seconds_bounds[0])
#define COUNT_BUCKETS (sizeof count_bounds / sizeof count_bounds[0])
/* Finite buckets of the widest histogram, plus +Inf. */
#define MAX_BUCKETS (SECONDS_BUCKETS + 1)

typedef struct histogram_def {
    const char *name;
    const char *help;
    int seconds; /* values in nanoseconds, written as seconds */
    size_t nbounds;
    const uint64_t *bounds;
    const char *const *labels;
} histogram_def;

static const histogram_def histograms[PL_H_HISTOGRAM_COUNT] = {
    [PL_H_COMMIT_SECONDS] = {"parleyd_commit_seconds", "Time one group commit of the store took.",
                             1, SECONDS_BUCKETS, seconds_bounds, seconds_labels},
    [PL_H_DELIVERY_SECONDS] = {"parleyd_delivery_seconds",
                               "Time from accepting an envelope to pushing it to a connected "
                               "recipient device.",
                               1, SECONDS_BUCKETS, seconds_bounds, seconds_labels},
    [PL_H_COMMIT_BATCH_ENVELOPES] = {"parleyd_commit_batch_envelopes",
                                     "Envelopes written by one group commit.", 0, COUNT_BUCKETS,
                                     count_bounds, count_labels},
};

typedef struct counter_def {
    const char *name;
    const char *help;
} counter_def;

static const counter_def counters[PL_M_COUNTER_COUNT] = {
#define COUNTER_DEF(id, name, help) {name, help},
    PL_METRICS_COUNTERS(COUNTER_DEF)
#undef COUNTER_DEF
};

static const counter_def gauges[PL_G_GAUGE_COUNT] = {
#define GAUGE_DEF(id, name, help) {name, help},
    PL_METRICS_GAUGES(GAUGE_DEF)
#undef GAUGE_DEF
};

/* The registry (see metrics.h for why it is global). Zero-initialized at start. */
static struct {
    atomic_uint_fast64_t counter[PL_M_COUNTER_COUNT];
    atomic_int_fast64_t gauge[PL_G_GAUGE_COUNT];
    atomic_uint_fast64_t refusal[PL_METRICS_REFUSAL_CODES];
    struct {
        atomic_uint_fast64_t bucket[MAX_BUCKETS];
        atomic_uint_fast64_t sum;
    } hist[PL_H_HISTOGRAM_COUNT];
} reg;

void pl_metrics_inc(enum pl_metric_counter c)
{
    pl_metrics_add(c, 1);
}

void pl_metrics_add(enum pl_metric_counter c, uint64_t n)
{
    if ((unsigned)c < PL_M_COUNTER_COUNT)
        atomic_fetch_add_explicit(&reg.counter[c], n, memory_order_relaxed);
}

void pl_metrics_gauge_set(enum pl_metric_gauge g, int64_t v)
{
    if ((unsigned)g < PL_G_GAUGE_COUNT)
        atomic_store_explicit(&reg.gauge[g], v, memory_order_relaxed);
}

void pl_metrics_gauge_add(enum pl_metric_gauge g, int64_t delta)
{
    if ((unsigned)g < PL_G_GAUGE_COUNT)
        atomic_fetch_add_explicit(&reg.gauge[g], delta, memory_order_relaxed);
}

void pl_metrics_refusal(int status_code)
{
    if (status_code < 1 || status_code >= PL_METRICS_REFUSAL_CODES)
        status_code = PARLEY__STATUS_CODE__STATUS_INTERNAL;
    atomic_fetch_add_explicit(&reg.refusal[status_code], 1, memory_order_relaxed);
}

static void observe(enum pl_metric_histogram h, uint64_t v)
{
    const histogram_def *d = &histograms[h];
    size_t i = 0;

    while (i < d->nbounds && v > d->bounds[i])
        i++;
    atomic_fetch_add_explicit(&reg.hist[h].bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&reg.hist[h].sum, v, memory_order_relaxed);
}

void pl_metrics_observe_ns(enum pl_metric_histogram h, uint64_t nanoseconds)
{
    if ((unsigned)h < PL_H_HISTOGRAM_COUNT && histograms[h].seconds)
        observe(h, nanoseconds);
}

void pl_metrics_observe_count(enum pl_metric_histogram h, uint64_t count)
{
    if ((unsigned)h < PL_H_HISTOGRAM_COUNT && !histograms[h].seconds)
        observe(h, count);
}

uint64_t pl_metrics_counter_value(enum pl_metric_counter c)
{
    if ((unsigned)c >= PL_M_COUNTER_COUNT)
        return 0;
    return atomic_load_explicit(&reg.counter[c], memory_order_relaxed);
}

uint64_t pl_metrics_refusal_value(int status_code)
{
    if (status_code < 0 || status_code >= PL_METRICS_REFUSAL_CODES)
        return 0;
    return atomic_load_explicit(&reg.refusal[status_code], memory_order_relaxed);
}

void pl_metrics_reset(void)
{
    for (size_t i = 0; i < PL_M_COUNTER_COUNT; i++)
        atomic_store_explicit(&reg.counter[i], 0, memory_order_relaxed);
    for (size_t i = 0; i < PL_G_GAUGE_COUNT; i++)
        atomic_store_explicit(&reg.gauge[i], 0, memory_order_relaxed);
    for (size_t i = 0; i < PL_METRICS_REFUSAL_CODES; i++)
        atomic_store_explicit(&reg.refusal[i], 0, memory_order_relaxed);
    for (size_t h = 0; h < PL_H_HISTOGRAM_COUNT; h++) {
        for (size_t i = 0; i < MAX_BUCKETS; i++)
            atomic_store_explicit(&reg.hist[h].bucket[i], 0, memory_order_relaxed);
        atomic_store_explicit(&reg.hist[h].sum, 0, memory_order_relaxed);
    }
}

/* ------------------------------------------------------------------ rendering */

/* An snprintf-style writer: counts everything, stores what fits. */
typedef struct out_buf {
    char *p;
    size_t cap;
    size_t len;
} out_buf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
out_printf(out_buf *o, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;
    size_t len;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    len = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1; /* every line is short */
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;

        memcpy(o->p + o->len, tmp, len < room ? len : room);
    }
    o->len += len;
}

static void out_head(out_buf *o, const char *name, const char *help, const char *type)
{
    out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Writes the reason label of a code: the StatusCode name, lower-case, without STATUS_. */
static void reason_label(int code, char *out, size_t cap)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&parley__status_code__descriptor, code);
    const char *name;
    size_t i = 0;

    if (v == NULL || v->name == NULL) {
        snprintf(out, cap, "code_%02d", code);
        return;
    }
    name = v->name;
    if (strncmp(name, "STATUS_", 7) == 0)
        name += 7;
    for (; name[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)name[i];

        out[i] = isalnum(c) ? (char)tolower(c) : '_';
    }
    out[i] = '\0';
}

static void render_histogram(out_buf *o, enum pl_metric_histogram h)
{
    const histogram_def *d = &histograms[h];
    uint64_t total = 0, sum;

    out_head(o, d->name, d->help, "histogram");
    for (size_t i = 0; i <= d->nbounds; i++) {
        total += atomic_load_explicit(&reg.hist[h].bucket[i], memory_order_relaxed);
        out_printf(o, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", d->name,
                   i < d->nbounds ? d->labels[i] : "+Inf", total);
    }
    sum = atomic_load_explicit(&reg.hist[h].sum, memory_order_relaxed);
    if (d->seconds)
        out_printf(o, "%s_sum %" PRIu64 ".%09" PRIu64 "\n", d->name, sum / 1000000000u,
                   sum % 1000000000u);
    else
        out_printf(o, "%s_sum %" PRIu64 "\n", d->name, sum);
    out_printf(o, "%s_count %" PRIu64 "\n", d->name, total);
}

size_t pl_metrics_render(char *out, size_t cap)
{
    out_buf o = {out, cap, 0};
    char reason[64];

    if (out == NULL)
        o.cap = 0;
    for (size_t i = 0; i < PL_M_COUNTER_COUNT; i++) {
        out_head(&o, counters[i].name, counters[i].help, "counter");
        out_printf(&o, "%s %" PRIu64 "\n", counters[i].name,
                   (uint64_t)atomic_load_explicit(&reg.counter[i], memory_order_relaxed));
    }
    out_head(&o, "parleyd_refusals_total", "Requests and connections refused, by status code.",
             "counter");
    for (int code = 1; code < PL_METRICS_REFUSAL_CODES; code++) {
        uint64_t v = atomic_load_explicit(&reg.refusal[code], memory_order_relaxed);

        if (protobuf_c_enum_descriptor_get_value(&parley__status_code__descriptor, code) == NULL &&
            v == 0)
            continue;
        reason_label(code, reason, sizeof reason);
        out_printf(&o, "parleyd_refusals_total{reason=\"%s\"} %" PRIu64 "\n", reason, v);
    }
    for (size_t i = 0; i < PL_G_GAUGE_COUNT; i++) {
        out_head(&o, gauges[i].name, gauges[i].help, "gauge");
        out_printf(&o, "%s %" PRId64 "\n", gauges[i].name,
                   (int64_t)atomic_load_explicit(&reg.gauge[i], memory_order_relaxed));
    }
    for (size_t h = 0; h < PL_H_HISTOGRAM_COUNT; h++)
        render_histogram(&o, (enum pl_metric_histogram)h);

    if (o.cap > 0)
        o.p[o.len < o.cap ? o.len : o.cap - 1] = '\0';
    return o.len;
}

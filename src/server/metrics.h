/*
 * metrics.h: parleyd's counters, gauges and histograms, rendered in the Prometheus text
 * exposition format 0.0.4 for the admin listener's GET /metrics.
 *
 * There is one registry, global to the process. That is the exception to "no global
 * mutable state": the metrics describe the process itself (there is exactly one set per
 * parleyd), they are written from deep inside the loop thread and the store's writer
 * thread where threading a handle through every call would buy nothing, and they are
 * write-only for the server: no decision ever reads them back, so they cannot couple
 * modules. libparley (src/core) never touches them.
 *
 * Every value is a C11 atomic updated with relaxed ordering: updates from the loop thread
 * and the writer thread never get lost, and a render sees each value as it was at some
 * moment, not one snapshot of all (a histogram's _count is its +Inf bucket as read, so the
 * buckets and _count always agree; _sum may be one observation ahead or behind).
 *
 * An enum value out of range is ignored, never a crash.
 */
#ifndef PARLEYD_METRICS_H
#define PARLEYD_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* XX(ID, name, help): the counters, monotonic uint64. */
#define PL_METRICS_COUNTERS(XX)                                                                    \
    XX(CONNECTIONS_ACCEPTED, "parleyd_connections_accepted_total", "Client connections accepted.") \
    XX(CONNECTIONS_REFUSED, "parleyd_connections_refused_total",                                   \
       "Client connections refused because max_connections were open.")                            \
    XX(AUTH_SUCCESS, "parleyd_auth_success_total", "Device authentications that succeeded.")       \
    XX(AUTH_FAILURE, "parleyd_auth_failure_total", "Device authentications that failed.")          \
    XX(ENVELOPES_ACCEPTED, "parleyd_envelopes_accepted_total",                                     \
       "Envelopes stored and acknowledged to their sender.")                                       \
    XX(ENVELOPES_DELIVERED, "parleyd_envelopes_delivered_total",                                   \
       "Envelopes pushed to a recipient device.")                                                  \
    XX(ENVELOPES_ACKED, "parleyd_envelopes_acked_total",                                           \
       "Envelopes deleted after the recipient's acknowledgement.")                                 \
    XX(ENVELOPES_EXPIRED, "parleyd_envelopes_expired_total",                                       \
       "Envelopes deleted by the retention limit.")                                                \
    XX(ENVELOPES_QUOTA_REFUSED, "parleyd_envelopes_quota_refused_total",                           \
       "Envelopes refused because the recipient's mailbox was full.")                              \
    XX(SENDS_DEDUPLICATED, "parleyd_sends_deduplicated_total",                                     \
       "Sends recognised as repeats and not stored again.")                                        \
    XX(GROUP_SENDS, "parleyd_group_sends_total",                                                   \
       "GroupSends stored: one ciphertext fanned out to many devices.")                            \
    XX(ACCOUNTS_REGISTERED, "parleyd_accounts_registered_total", "Accounts registered.")           \
    XX(DEVICES_ADDED, "parleyd_devices_added_total", "Devices added to an account.")               \
    XX(DEVICES_REMOVED, "parleyd_devices_removed_total", "Devices removed from an account.")       \
    XX(LINK_OFFERS, "parleyd_link_offers_total", "Device-link offers stored (LinkPut, slot 0).")   \
    XX(LINK_ANSWERS, "parleyd_link_answers_total",                                                 \
       "Device-link answers stored (LinkPut, slot 1).")                                            \
    XX(LINKS_COMPLETED, "parleyd_links_total", "Device links completed: the answer was fetched.")  \
    XX(LINKS_EXPIRED, "parleyd_links_expired_total",                                               \
       "Device-link rendezvous that expired before the answer was fetched.")                       \
    XX(ONETIME_PREKEYS_CLAIMED, "parleyd_onetime_prekeys_claimed_total",                           \
       "One-time prekeys handed out in bundles.")                                                  \
    XX(COMMITS, "parleyd_commits_total", "Group commits of the store.")                            \
    XX(FRAMES_RECEIVED, "parleyd_frames_received_total", "Frames received from clients.")          \
    XX(FRAMES_SENT, "parleyd_frames_sent_total", "Frames sent to clients.")                        \
    XX(TLS_RELOADS, "parleyd_tls_reloads_total", "TLS certificate reloads that succeeded.")        \
    XX(TLS_RELOAD_FAILURES, "parleyd_tls_reload_failures_total",                                   \
       "TLS certificate reloads that failed (the old certificate stays).")                         \
    XX(KT_STATES_ACCEPTED, "parleyd_kt_states_accepted_total",                                     \
       "Account states accepted and waiting for the key-transparency log.")                        \
    XX(KT_VERSIONS_LOGGED, "parleyd_kt_versions_logged_total",                                     \
       "Label-versions added to the key-transparency log.")                                        \
    XX(KT_COSIGNATURES, "parleyd_kt_cosignatures_total", "Witness cosignatures accepted.")

/* XX(ID, name, help): the gauges, int64. */
#define PL_METRICS_GAUGES(XX)                                                                      \
    XX(CONNECTIONS_OPEN, "parleyd_connections_open", "Client connections open.")                   \
    XX(CONNECTIONS_AUTHENTICATED, "parleyd_connections_authenticated",                             \
       "Client connections with an authenticated device.")                                         \
    XX(COMMIT_QUEUE_DEPTH, "parleyd_commit_queue_depth",                                           \
       "Envelopes waiting for the next group commit.")                                             \
    XX(READY, "parleyd_ready", "1 when the server accepts clients, else 0.")                       \
    XX(START_TIME_SECONDS, "parleyd_start_time_seconds",                                           \
       "Start time of the process in seconds since the Unix epoch.")                               \
    XX(KT_SIGNED_SIZE, "parleyd_kt_entries", "Entries in the key-transparency log (signed).")      \
    XX(KT_PUBLISHED_SIZE, "parleyd_kt_published_size",                                             \
       "Size of the newest published (cosigned) key-transparency checkpoint.")                     \
    XX(KT_PENDING, "parleyd_kt_pending_updates",                                                   \
       "Accepted account states not yet in a log entry (counted since start).")

enum pl_metric_counter {
#define PL__METRICS_COUNTER_ENUM(id, name, help) PL_M_##id,
    PL_METRICS_COUNTERS(PL__METRICS_COUNTER_ENUM)
#undef PL__METRICS_COUNTER_ENUM
        PL_M_COUNTER_COUNT
};

enum pl_metric_gauge {
#define PL__METRICS_GAUGE_ENUM(id, name, help) PL_G_##id,
    PL_METRICS_GAUGES(PL__METRICS_GAUGE_ENUM)
#undef PL__METRICS_GAUGE_ENUM
        PL_G_GAUGE_COUNT
};

enum pl_metric_histogram {
    PL_H_COMMIT_SECONDS,         /* one group commit; pl_metrics_observe_ns */
    PL_H_DELIVERY_SECONDS,       /* envelope accepted -> pushed; pl_metrics_observe_ns */
    PL_H_COMMIT_BATCH_ENVELOPES, /* envelopes per group commit; pl_metrics_observe_count */
    PL_H_HISTOGRAM_COUNT
};

/* parleyd_refusals_total{reason} is kept per wire status code 0..PL_METRICS_REFUSAL_CODES-1
 * (proto/parley.proto's StatusCode). */
#define PL_METRICS_REFUSAL_CODES 32

/* Adds 1 (inc) or n (add) to a counter. */
void pl_metrics_inc(enum pl_metric_counter c);
void pl_metrics_add(enum pl_metric_counter c, uint64_t n);

/* Sets a gauge, or adds delta (negative to lower it) to it. */
void pl_metrics_gauge_set(enum pl_metric_gauge g, int64_t v);
void pl_metrics_gauge_add(enum pl_metric_gauge g, int64_t delta);

/* Counts one refusal with this wire status code. A code outside 1..31 (STATUS_OK is no
 * refusal) counts as STATUS_INTERNAL: the caller broke, and that is an internal error. */
void pl_metrics_refusal(int status_code);

/* Records one observation in a seconds histogram (PL_H_COMMIT_SECONDS,
 * PL_H_DELIVERY_SECONDS), given in nanoseconds. Ignored for the count histogram. */
void pl_metrics_observe_ns(enum pl_metric_histogram h, uint64_t nanoseconds);

/* Records one observation in the count histogram PL_H_COMMIT_BATCH_ENVELOPES. Ignored for
 * the seconds histograms. */
void pl_metrics_observe_count(enum pl_metric_histogram h, uint64_t count);

/*
 * Writes every metric in the Prometheus text format 0.0.4 into out[0..cap), NUL-terminated
 * when cap > 0 and cut if it does not fit. Returns the length of the whole text, without
 * its NUL, like snprintf: the text is complete when the result is below cap. out may be
 * NULL when cap is 0 (to ask for the size). A code with no StatusCode name is written
 * reason="code_NN", and only when its count is not zero.
 */
size_t pl_metrics_render(char *out, size_t cap);

/* The current value of a counter, or of one code's refusal count (0 out of range). */
uint64_t pl_metrics_counter_value(enum pl_metric_counter c);
uint64_t pl_metrics_refusal_value(int status_code);

/* Sets every metric back to zero. For tests only: not atomic as a whole. */
void pl_metrics_reset(void);

#endif

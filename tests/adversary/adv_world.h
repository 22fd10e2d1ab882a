/*
 * adv_world.h: the stage of one attack test (docs/ADVERSARY.md): a real parleyd with key
 * transparency, the malicious operator's proxy in front of it (mitm_proxy.h) with the device
 * keys it needs to re-sign authentication (adv_keyring.h), optionally an in-test witness
 * (adv_witness.h) that the server's quorum requires, and real clients (client.h) whose homes
 * live under the world's directory and whose server address is the proxy's.
 *
 * It also reads what a client has verified, straight from its store (adv_snapshot), so that a
 * test can assert that an attack changed nothing: the pinned view (size, root, signed note) and
 * the label's verified version and state. And it finds the client's newest alert.
 *
 * Everything fails the test (cmocka fail_msg) on the world's own errors, and every wait is
 * bounded.
 */
#ifndef PARLEY_TESTS_ADV_WORLD_H
#define PARLEY_TESTS_ADV_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "adv_keyring.h"
#include "adv_witness.h"
#include "client.h"
#include "mitm_proxy.h"
#include "parleyd_harness.h"

/* The log publishes quickly in tests: one entry per ADV_BATCH_MS while changes are pending. */
#define ADV_BATCH_MS 50u
#define ADV_MAX_BEHIND_MS 600000u

typedef struct adv_world {
    char dir[256];
    ph_server *srv;
    mp_proxy *px;
    adv_keyring ring;
    adv_witness wit;
    int with_witness;
    char addr[64]; /* "127.0.0.1:<proxy port>": what the clients know as their server */
} adv_world;

/* Options for adv_world_start. */
typedef struct adv_world_opts {
    int with_witness;            /* configure adv_witness "witness.test/adv" with quorum 1 */
    const char *const *settings; /* more parleyd settings (NULL-terminated), may be NULL */
} adv_world_opts;

/* Starts parleyd, the proxy (forwarding), and the witness's thread if asked. */
void adv_world_start(adv_world *w, const char *tag, const adv_world_opts *opts);

/* Stops the witness, the proxy and parleyd (asserting a clean exit) and removes the
 * directory. Clients must be closed first. */
void adv_world_stop(adv_world *w);

/* Restarts parleyd (after ph_stop or a store change) and points the proxy at it, cutting the
 * proxy's open connections; the witness follows too. */
void adv_world_restart(adv_world *w);

/* A new home `name` registered as user `name` through the proxy (pinning the log). */
pl_client *adv_client_new(adv_world *w, const char *name);
/* Opens the home again, as the next `parley` command would. */
pl_client *adv_client_open(adv_world *w, const char *name);
void adv_client_close(adv_world *w, pl_client *c);

/* Links a new device (home new_home) to owner's account through the proxy: link_start on the
 * new home, approve on owner (AddDevice: the account's next state), link_wait. Returns the
 * new device's client; *device_id (may be NULL) gets its id. */
pl_client *adv_client_link(adv_world *w, pl_client *owner, const char *new_home,
                           uint32_t *device_id);

/*
 * A KtLookup straight to parleyd (not through the proxy; callable from a proxy hook): greatest,
 * or with `fixed` exactly `version`. Returns the Response's status (0 = OK) or -1 for a
 * connection failure or an answer that does not decode. On OK, copies the proof to
 * proof[0..cap) (proof may be NULL) and gives the proven version and tree size (each may be
 * NULL).
 */
int adv_direct_lookup(adv_world *w, const char *user, int fixed, uint32_t version, uint8_t *proof,
                      size_t cap, size_t *proof_len, uint32_t *proven_version, uint64_t *tree_size);

/* Waits until `user`'s current state is published (a greatest lookup of it answers OK, seen
 * straight from parleyd) with at least version min_version; fails the test after 10 s. */
void adv_wait_published(adv_world *w, const char *user, uint32_t min_version);

/* The published checkpoint's size, straight from parleyd (0 if none). */
uint64_t adv_published_size(adv_world *w);

/* The malicious operator's own hands on parleyd's store: opens DATA/parleyd.db with SQLite
 * (parleyd must be stopped: ph_stop(w->srv)). Close it with sqlite3_close(). */
struct sqlite3;
struct sqlite3 *adv_store_open(adv_world *w);

/* Runs one SQL statement on the store, binding blob b[0..b_len) to ?1 when b is not NULL and
 * text t to ?2 when t is not NULL; fails the test on an error. Returns the changed rows. */
int adv_store_exec(struct sqlite3 *db, const char *sql, const void *b, size_t b_len, const char *t);

/* Reads one blob column of the first row of sql (with ?1 bound to text t) into out[0..cap);
 * returns its length, or fails the test if there is no row. */
size_t adv_store_blob(struct sqlite3 *db, const char *sql, const char *t, void *out, size_t cap);

/* Copies the file src to dst (created or replaced) with mode. Fails the test on an error. */
void adv_copy_file(const char *src, const char *dst, unsigned mode);

/* Takes a copy of parleyd's store (parleyd must be stopped) into backup_dir, or puts such a
 * copy back (removing the -wal and -shm files the current store may have). */
void adv_store_backup(adv_world *w, const char *backup_dir);
void adv_store_restore(adv_world *w, const char *backup_dir);

/*
 * Starts a second parleyd with the same log keys and TLS certificate as w's (DATA/kt and
 * DATA/tls copied before its log's first entry), but its own store: the same log origin and
 * key, another history. settings as for ph_start (with its own [kt] lines). Stop and free it
 * with ph_stop and ph_free.
 */
ph_server *adv_fork_server(adv_world *w, const char *const *settings);

/*
 * For a proxy hook: asks parleyd at port (trusting cert) the Request fx->request (a KT
 * request, which needs no authentication) and emits its Response, with the id of f's, in
 * place of f. Returns MP_CLOSE if the other server cannot be asked.
 */
mp_verdict adv_answer_from(mp_frame_ctx *fx, const Parley__ServerFrame *f, uint16_t port,
                           const char *cert);

/* What a client has verified. */
typedef struct adv_snapshot {
    int pinned;
    int has_checkpoint;
    uint64_t size;
    uint8_t root[32];
    uint8_t note_hash[32]; /* SHA-256 of the saved signed note */
    int has_label;
    uint32_t version;
    uint8_t state_hash[32];
    uint64_t label_tree_size;
    size_t n_alerts; /* every alert, acknowledged or not */
} adv_snapshot;

/* Reads c's store: the view, the label's row (label may be NULL), the alert count. */
void adv_snapshot_take(pl_client *c, const char *label, adv_snapshot *out);

/* Fails the test, naming the field, if the view or the label differ (alerts excluded). */
void adv_assert_kt_unchanged(const adv_snapshot *before, const adv_snapshot *after);

/* The newest alert of c (acknowledged or not). Returns the number of alerts; *out is zeroed
 * when there is none. */
size_t adv_newest_alert(pl_client *c, pl_client_alert *out);

/* Asserts that c's newest alert is new since `before` and has this kind (and, if
 * reason_part is not NULL, a reason containing it), and with want_evidence that it kept
 * evidence (signed notes, proof bytes or states). */
void adv_assert_alert(pl_client *c, const adv_snapshot *before, const char *kind,
                      const char *reason_part, int want_evidence);

/* Asserts rc == want, printing both names and c's error on failure. */
#define ADV_RC(c, expr, want)                                                                      \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        int want_ = (want);                                                                        \
        if (rc_ != want_)                                                                          \
            fail_msg("%s:%d: %s\n    expected %s, got %s: %s", __FILE__, __LINE__, #expr,          \
                     pl_client_errname(want_), pl_client_errname(rc_),                             \
                     (c) ? pl_client_error(c) : "");                                               \
    } while (0)

#endif

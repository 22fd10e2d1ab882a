/*
 * adv_witness.h: a witness written in the test (PROTOCOL.md §22, §24.2 "witnesses pull"),
 * so that the attack tests control what a witness cosigns and when: it runs libparley's
 * pl_kt_witness_add_checkpoint() exactly as parley-audit does (without the audit replay), over
 * the wire test client, and its clock can be set (a cosignature time in the past makes a
 * stale checkpoint).
 *
 * A round: KtConfigGet (the first round pins the origin and the log key), KtCheckpointGet
 * {known_size = the size it holds, latest_signed}, the add-checkpoint decision, and on success
 * KtCosign{size, line}. The state lives in memory only: a test that wants the witness to
 * "restart" copies the struct. A background thread (adv_witness_start) runs rounds every
 * ADV_WITNESS_PERIOD_MS, like `parley-audit run`, until adv_witness_stop().
 *
 * Thread safety: while the thread runs, read and change the witness only between
 * adv_witness_lock() and adv_witness_unlock().
 */
#ifndef PARLEY_TESTS_ADV_WITNESS_H
#define PARLEY_TESTS_ADV_WITNESS_H

#include <pthread.h>
#include <stdint.h>

#include "parley/parley.h"

#define ADV_WITNESS_PERIOD_MS 50u

typedef struct adv_witness {
    char name[64];
    uint8_t pk[32], sk[64];
    char vkey[PL_NOTE_VKEY_MAX_BYTES + 1]; /* for parleyd's [kt] witnesses */
    /* Where it connects (set by adv_witness_start, or passed to adv_witness_round). */
    uint16_t port;
    char cert[512];
    /* What it holds. */
    int pinned;
    pl_kt_witness_state st;
    /* Its clock: 0 = real time; otherwise it cosigns at exactly this POSIX second. */
    uint64_t clock_s;
    /* Set to 1 to make the background rounds do nothing (a witness that is down). */
    int paused;
    /* What happened. */
    unsigned cosigned;          /* lines accepted by parleyd */
    unsigned refused;           /* checkpoints the decision refused */
    int last_refusal;           /* its PL_E_* code */
    uint64_t last_refused_size; /* and the size offered */
    /* The background thread. */
    pthread_t thread;
    pthread_mutex_t lock;
    int running, stop;
} adv_witness;

/* Makes a witness named `name` with the Ed25519 key of seed bytes seed_byte (fixed). */
void adv_witness_init(adv_witness *w, const char *name, uint8_t seed_byte);

/*
 * One round against parleyd at 127.0.0.1:port (trusting cert). Returns PL_OK when it cosigned
 * a new checkpoint (parleyd accepted the line) or there was nothing new, with *size the size it
 * holds; the decision's PL_E_* when it refused one (counted; state unchanged); or -1 when the
 * server could not be reached or answered with an error status (nothing published yet is
 * PL_OK with *size 0). size may be NULL.
 */
int adv_witness_round(adv_witness *w, uint16_t port, const char *cert, uint64_t *size);

/* Starts the background rounds against port/cert. */
void adv_witness_start(adv_witness *w, uint16_t port, const char *cert);
/* Stops and joins them; no-op if not running. */
void adv_witness_stop(adv_witness *w);

void adv_witness_lock(adv_witness *w);
void adv_witness_unlock(adv_witness *w);

/* Frees nothing (the struct is plain) but stops the thread and destroys the lock. */
void adv_witness_free(adv_witness *w);

#endif

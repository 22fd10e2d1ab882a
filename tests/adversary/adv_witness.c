/*
 * adv_witness.c: a witness written in the test (see adv_witness.h): the add-checkpoint
 * decision of libparley over the wire test client.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <sodium.h>

#include "adv_witness.h"
#include "frame.h"
#include "wire_client.h"

#define ADV_WITNESS_TIMEOUT_MS 3000u

void adv_witness_init(adv_witness *w, const char *name, uint8_t seed_byte)
{
    uint8_t seed[32];
    pl_note_verifier v;
    size_t len;

    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    memset(seed, seed_byte, sizeof seed);
    crypto_sign_seed_keypair(w->pk, w->sk, seed);
    if (pl_note_verifier_init(name, strlen(name), PL_NOTE_TYPE_COSIGNATURE_V1, w->pk, &v) !=
            PL_OK ||
        pl_note_verifier_format(&v, w->vkey, sizeof w->vkey - 1, &len) != PL_OK)
        fail_msg("adv_witness: bad witness name %s", name);
    w->vkey[len] = '\0';
    pthread_mutex_init(&w->lock, NULL);
}

/* Sends one request (body already set) and returns its Response frame, or NULL. */
static Parley__ServerFrame *ask(wc_conn *c, Parley__Request *rq)
{
    Parley__ServerFrame *f = NULL;

    if (wc_request(c, rq, &f, ADV_WITNESS_TIMEOUT_MS) != WC_OK)
        return NULL;
    return f;
}

/* Pins the log from KtConfig: its origin and its note key. 0 or -1. */
static int pin(adv_witness *w, wc_conn *c)
{
    Parley__Request rq = PARLEY__REQUEST__INIT;
    Parley__KtConfigGet get = PARLEY__KT_CONFIG_GET__INIT;
    Parley__ServerFrame *f;
    pl_note_verifier log_key;
    int r = -1;

    rq.body_case = PARLEY__REQUEST__BODY_KT_CONFIG;
    rq.kt_config = &get;
    if (!(f = ask(c, &rq)))
        return -1;
    if (wc_status(f) == 0 && f->response->body_case == PARLEY__RESPONSE__BODY_KT_CONFIG) {
        const Parley__KtConfig *kc = f->response->kt_config;

        if (kc->origin && kc->log_vkey &&
            pl_note_verifier_parse(kc->log_vkey, strlen(kc->log_vkey), &log_key) == PL_OK &&
            pl_kt_witness_state_init(kc->origin, strlen(kc->origin), &log_key, &w->st) == PL_OK) {
            w->pinned = 1;
            r = 0;
        }
    }
    pl_frame_server_free(f);
    return r;
}

static uint64_t now_s(const adv_witness *w)
{
    return w->clock_s ? w->clock_s : (uint64_t)time(NULL);
}

int adv_witness_round(adv_witness *w, uint16_t port, const char *cert, uint64_t *size)
{
    Parley__Request rq = PARLEY__REQUEST__INIT;
    Parley__KtCheckpointGet get = PARLEY__KT_CHECKPOINT_GET__INIT;
    Parley__KtCosign cosign = PARLEY__KT_COSIGN__INIT;
    Parley__ServerFrame *f = NULL, *g = NULL;
    pl_kt_witness_state next;
    uint8_t cons[PL_MERKLE_MAX_PROOF][PL_MERKLE_HASH_BYTES];
    char line[512];
    size_t line_len, n_cons;
    uint64_t conflict;
    pl_checkpoint cp;
    const Parley__KtCheckpoint *kc;
    const char *note;
    wc_conn *c = NULL;
    int r = -1;

    if (size)
        *size = w->st.size;
    if (wc_connect(&c, port, cert) != WC_OK)
        return -1;
    if (!w->pinned && pin(w, c) != 0)
        goto out;
    get.known_size = w->st.has_state ? w->st.size : 0;
    get.latest_signed = 1;
    rq.body_case = PARLEY__REQUEST__BODY_KT_CHECKPOINT;
    rq.kt_checkpoint = &get;
    if (!(f = ask(c, &rq)))
        goto out;
    if (wc_status(f) == PARLEY__STATUS_CODE__STATUS_NOT_FOUND) {
        r = PL_OK; /* nothing signed yet */
        goto out;
    }
    if (wc_status(f) != 0 || f->response->body_case != PARLEY__RESPONSE__BODY_KT_CHECKPOINT)
        goto out;
    kc = f->response->kt_checkpoint;
    note = kc->note ? kc->note : "";
    if (kc->n_consistency > PL_MERKLE_MAX_PROOF)
        goto out;
    for (n_cons = 0; n_cons < kc->n_consistency; n_cons++) {
        if (kc->consistency[n_cons].len != PL_MERKLE_HASH_BYTES)
            goto out;
        memcpy(cons[n_cons], kc->consistency[n_cons].data, PL_MERKLE_HASH_BYTES);
    }
    /* Nothing new: the size and root it holds. */
    {
        const char *sep = strstr(note, "\n\n");

        if (w->st.has_state && sep &&
            pl_checkpoint_parse(note, (size_t)(sep - note) + 1, &cp) == PL_OK &&
            cp.size == w->st.size && sodium_memcmp(cp.root, w->st.root, 32) == 0) {
            r = PL_OK;
            goto out;
        }
    }
    r = pl_kt_witness_add_checkpoint(&w->st, get.known_size, note, strlen(note), cons, n_cons,
                                     w->name, strlen(w->name), w->sk, now_s(w), &next, line,
                                     sizeof line - 1, &line_len, &conflict);
    if (r != PL_OK) {
        w->refused++;
        w->last_refusal = r;
        {
            const char *sep = strstr(note, "\n\n");

            w->last_refused_size =
                sep && pl_checkpoint_parse(note, (size_t)(sep - note) + 1, &cp) == PL_OK ? cp.size
                                                                                         : 0;
        }
        goto out;
    }
    /* The state is "committed" (in memory) before the line leaves, as §22 requires. */
    w->st = next;
    line[line_len] = '\0';
    cosign.size = next.size;
    cosign.cosignature = line;
    memset(&rq, 0, sizeof rq);
    parley__request__init(&rq);
    rq.body_case = PARLEY__REQUEST__BODY_KT_COSIGN;
    rq.kt_cosign = &cosign;
    if (!(g = ask(c, &rq)) || wc_status(g) != 0) {
        r = -1;
        goto out;
    }
    w->cosigned++;
    r = PL_OK;
out:
    if (size)
        *size = w->st.size;
    pl_frame_server_free(f);
    pl_frame_server_free(g);
    wc_close(c);
    return r;
}

static void *witness_main(void *arg)
{
    adv_witness *w = arg;

    for (;;) {
        struct timespec ts = {0, (long)ADV_WITNESS_PERIOD_MS * 1000000L};
        int stop;

        pthread_mutex_lock(&w->lock);
        stop = w->stop;
        if (!stop && !w->paused)
            adv_witness_round(w, w->port, w->cert, NULL);
        pthread_mutex_unlock(&w->lock);
        if (stop)
            return NULL;
        nanosleep(&ts, NULL);
    }
}

void adv_witness_start(adv_witness *w, uint16_t port, const char *cert)
{
    pthread_mutex_lock(&w->lock);
    w->port = port;
    snprintf(w->cert, sizeof w->cert, "%s", cert);
    w->stop = 0;
    pthread_mutex_unlock(&w->lock);
    if (w->running)
        return;
    if (pthread_create(&w->thread, NULL, witness_main, w) != 0)
        fail_msg("adv_witness: cannot start its thread");
    w->running = 1;
}

void adv_witness_stop(adv_witness *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->running = 0;
}

void adv_witness_lock(adv_witness *w)
{
    pthread_mutex_lock(&w->lock);
}

void adv_witness_unlock(adv_witness *w)
{
    pthread_mutex_unlock(&w->lock);
}

void adv_witness_free(adv_witness *w)
{
    adv_witness_stop(w);
    pthread_mutex_destroy(&w->lock);
}

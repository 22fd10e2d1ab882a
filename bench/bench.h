/*
 * bench.h: the shared shape of parley-bench's three implementations.
 *
 * parley-bench times the same protocol operations three ways in one run: through
 * libparley's public API (bench_parley.c), as the bare libsodium calls Parley composes
 * with nothing around them (bench_composed.c), and through Matrix's libolm
 * (bench_olm.c). Each implementation fills a bench_impl table; main.c runs their
 * batches interleaved so that machine noise falls on all three alike, and prints the
 * medians. docs/BENCHMARKS.md states exactly what each timed region covers.
 *
 * Every batch function times its own region (so untimed set-up and clean-up can sit
 * between timed calls), returns 0 or -1 on a failure it has already described on
 * stderr, and adds nanoseconds to the sums it is handed.
 */
#ifndef PARLEY_BENCH_H
#define PARLEY_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Largest message the per-message batches send, and the most messages one batch holds. */
#define BENCH_MAX_MSG 1024u
#define BENCH_MAX_BATCH 4096u
/* Session set-up batches keep every session until the timed region ends. */
#define BENCH_MAX_SETUP_BATCH 512u

typedef struct bench_impl {
    const char *name;
    /* Creates the long-lived state: identities, prekeys, bundles, established session
     * pairs. Untimed. Returns NULL on failure. */
    void *(*open)(void);
    void (*close)(void *state);
    /* n initiator set-ups: verify the peer's bundle, start a session. *ns += time. */
    int (*setup_initiator)(void *state, unsigned n, uint64_t *ns);
    /* n responder set-ups: create a session from the first message and decrypt it. */
    int (*setup_responder)(void *state, unsigned n, uint64_t *ns);
    /* n messages of len bytes from A to B in one chain: all encrypts, then all decrypts. */
    int (*chain)(void *state, size_t len, unsigned n, uint64_t *enc_ns, uint64_t *dec_ns);
    /* n messages of len bytes alternating A->B, B->A, so that every message starts a new
     * DH ratchet step; each call is timed on its own. n is even. */
    int (*ratchet)(void *state, size_t len, unsigned n, uint64_t *enc_ns, uint64_t *dec_ns);
} bench_impl;

extern const bench_impl bench_parley_impl;
extern const bench_impl bench_composed_impl;
extern const bench_impl bench_olm_impl;

/* Nanoseconds on CLOCK_MONOTONIC. */
static inline uint64_t bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Prints what each libsodium primitive costs alone; divisor scales the iterations down. */
void bench_print_primitives(unsigned divisor);

/* Fills buf with a recognisable plaintext for message i. */
void bench_fill_plaintext(uint8_t *buf, size_t len, unsigned i);
/* Returns 0 if buf holds the plaintext bench_fill_plaintext made for message i. */
int bench_check_plaintext(const uint8_t *buf, size_t len, unsigned i);

#endif

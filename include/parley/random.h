/*
 * parley/random.h: the caller-replaceable source of randomness.
 *
 * Every libparley function that needs random bytes takes a `const pl_rng *`.
 * NULL means the operating system's generator (libsodium's randombytes_buf).
 * Tests and test vectors pass a deterministic source instead, so that fixed
 * inputs give fixed bytes. libparley never keeps an RNG in global state.
 */
#ifndef PARLEY_RANDOM_H
#define PARLEY_RANDOM_H

#include "parley/defs.h"

typedef struct pl_rng {
    /* Fills out[0..len) with random bytes. Must not fail. */
    void (*fill)(void *ctx, uint8_t *out, size_t len);
    void *ctx;
} pl_rng;

/* Fills out with len bytes from rng, or from the system generator when rng is NULL. */
PL_API void pl_random_fill(const pl_rng *rng, uint8_t *out, size_t len);

/*
 * A deterministic generator for tests and test vectors: NEVER for real keys.
 * Call number i (counting from 0) of fill() returns the first len bytes of the
 * ChaCha20 (RFC 8439) key stream under key=seed, nonce = i as 8 little-endian bytes then 4 zero
 * bytes, initial block counter 0. PROTOCOL.md §10 states it for other implementations.
 */
typedef struct pl_rng_deterministic {
    uint8_t seed[32];
    uint64_t calls;
} pl_rng_deterministic;

/* Initialises state from seed and returns an rng that draws from it. state must outlive rng use. */
PL_API pl_rng pl_rng_deterministic_init(pl_rng_deterministic *state, const uint8_t seed[32]);

#endif

/*
 * random.c: the system and deterministic sources behind pl_rng.
 */
#include <string.h>

#include <sodium.h>

#include "parley/random.h"

void pl_random_fill(const pl_rng *rng, uint8_t *out, size_t len)
{
    if (len == 0)
        return;
    if (rng == NULL || rng->fill == NULL) {
        randombytes_buf(out, len);
        return;
    }
    rng->fill(rng->ctx, out, len);
}

static void deterministic_fill(void *ctx, uint8_t *out, size_t len)
{
    pl_rng_deterministic *state = ctx;
    uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    uint64_t call = state->calls++;

    for (size_t i = 0; i < 8; i++)
        nonce[i] = (uint8_t)(call >> (8 * i));
    crypto_stream_chacha20_ietf(out, len, nonce, state->seed);
}

pl_rng pl_rng_deterministic_init(pl_rng_deterministic *state, const uint8_t seed[32])
{
    pl_rng rng;

    memcpy(state->seed, seed, sizeof state->seed);
    state->calls = 0;
    rng.fill = deterministic_fill;
    rng.ctx = state;
    return rng;
}

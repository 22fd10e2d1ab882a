/*
 * bench_primitives.c: what each libsodium call the protocol is built from costs alone.
 *
 * Not a comparison: a key for reading the main table (a set-up is so many DHs and
 * verifications, a message so many HMACs and one AEAD call). Printed after the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"

#define PRIM_BATCHES 11u

typedef enum prim {
    P_DH,
    P_BASE,
    P_VERIFY,
    P_PK_CONVERT,
    P_HMAC,
    P_AEAD_100,
    P_AEAD_1K,
    P_COUNT
} prim;

static const struct {
    const char *name;
    unsigned iters;
} prims[P_COUNT] = {
    [P_DH] = {"X25519 crypto_scalarmult", 200},
    [P_BASE] = {"X25519 crypto_scalarmult_base", 400},
    [P_VERIFY] = {"Ed25519 verify (79-byte message)", 200},
    [P_PK_CONVERT] = {"Ed25519 pk -> X25519 pk", 400},
    [P_HMAC] = {"HMAC-SHA256, 32-byte key, 1-byte msg", 20000},
    [P_AEAD_100] = {"ChaCha20-Poly1305 IETF seal, 100 B", 20000},
    [P_AEAD_1K] = {"ChaCha20-Poly1305 IETF seal, 1 KiB", 20000},
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static uint64_t run(prim p, unsigned n)
{
    static uint8_t sk[32], pk[32], out[32], edpk[32], edsk[64], sig[64], msg[1024 + 16];
    static uint8_t key[32], nonce[12], ad[109];
    static int ready;
    uint64_t t0;
    volatile int sink = 0;

    if (!ready) {
        randombytes_buf(sk, sizeof sk);
        crypto_scalarmult_base(pk, sk);
        crypto_sign_keypair(edpk, edsk);
        randombytes_buf(msg, 79);
        crypto_sign_detached(sig, NULL, msg, 79, edsk);
        randombytes_buf(key, sizeof key);
        ready = 1;
    }
    t0 = bench_now();
    for (unsigned i = 0; i < n; i++) {
        switch (p) {
        case P_DH:
            sink += crypto_scalarmult(out, sk, pk);
            break;
        case P_BASE:
            sink += crypto_scalarmult_base(out, sk);
            break;
        case P_VERIFY:
            sink += crypto_sign_verify_detached(sig, msg, 79, edpk);
            break;
        case P_PK_CONVERT:
            sink += crypto_sign_ed25519_pk_to_curve25519(out, edpk);
            break;
        case P_HMAC:
            sink += crypto_auth_hmacsha256(out, msg, 1, key);
            break;
        case P_AEAD_100:
            sink += crypto_aead_chacha20poly1305_ietf_encrypt(msg, NULL, msg, 100, ad, sizeof ad,
                                                              NULL, nonce, key);
            break;
        default:
            sink += crypto_aead_chacha20poly1305_ietf_encrypt(msg, NULL, msg, 1024, ad, sizeof ad,
                                                              NULL, nonce, key);
            break;
        }
    }
    (void)sink;
    return bench_now() - t0;
}

void bench_print_primitives(unsigned divisor)
{
    printf("\nlibsodium primitives alone (ns/call, median of %u batches)\n", PRIM_BATCHES);
    for (unsigned p = 0; p < P_COUNT; p++) {
        uint64_t t[PRIM_BATCHES];
        unsigned n = prims[p].iters / divisor ? prims[p].iters / divisor : 1;

        run((prim)p, n); /* warm-up */
        for (unsigned b = 0; b < PRIM_BATCHES; b++)
            t[b] = run((prim)p, n);
        qsort(t, PRIM_BATCHES, sizeof t[0], cmp_u64);
        printf("  %-40s %10.0f\n", prims[p].name, (double)t[PRIM_BATCHES / 2] / n);
    }
}

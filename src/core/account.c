/*
 * account.c: the account key (Ed25519), which signs the account's device records.
 */
#include <string.h>

#include "blob.h"
#include "keys_internal.h"

static pl_account *account_from_seed(const uint8_t seed[crypto_sign_SEEDBYTES])
{
    pl_account *a = pl__secure_alloc(sizeof *a);

    if (!a)
        return NULL;
    memcpy(a->seed, seed, sizeof a->seed);
    crypto_sign_seed_keypair(a->pk, a->sk, a->seed);
    return a;
}

int pl_account_generate(pl_account **out, const pl_rng *rng)
{
    uint8_t seed[crypto_sign_SEEDBYTES];

    *out = NULL;
    pl_random_fill(rng, seed, sizeof seed);
    *out = account_from_seed(seed);
    sodium_memzero(seed, sizeof seed);
    return *out ? PL_OK : PL_E_NOMEM;
}

void pl_account_free(pl_account *account)
{
    pl__secure_free(account);
}

void pl_account_public_key(const pl_account *account, uint8_t out[PL_PUBKEY_BYTES])
{
    pl__key_encode(out, PL_KEY_TYPE_ED25519, account->pk);
}

void pl_account_save(const pl_account *account, uint8_t out[PL_ACCOUNT_SAVED_BYTES])
{
    pl__writer w = pl__writer_init(out, PL_ACCOUNT_SAVED_BYTES);

    pl__blob_begin(&w, PL__BLOB_ACCOUNT, crypto_sign_SEEDBYTES);
    pl__put_bytes(&w, account->seed, sizeof account->seed);
    pl__blob_end(&w);
}

int pl_account_load(pl_account **out, const uint8_t *in, size_t len)
{
    pl__reader body;
    uint8_t version;
    const uint8_t *seed;
    int r;

    *out = NULL;
    if ((r = pl__blob_open(in, len, PL__BLOB_ACCOUNT, &body, &version)) != PL_OK)
        return r;
    seed = pl__get_bytes(&body, crypto_sign_SEEDBYTES);
    if ((r = pl__reader_finish(&body)) != PL_OK)
        return r == PL_E_TRUNCATED ? PL_E_MALFORMED : r;
    *out = account_from_seed(seed);
    return *out ? PL_OK : PL_E_NOMEM;
}

/*
 * cstore_key.c: the store key's two files.
 *
 *   store.key      the 32-byte key itself (no passphrase)
 *   store.key.enc  the key sealed under Argon2id(passphrase), 112 bytes:
 *       magic "PlSK" (4) | version 1 (1) | algorithm 2 = Argon2id v1.3 (1) | zero (2) |
 *       opslimit (u64 LE) | memlimit (u64 LE) | salt (16) | nonce (24) |
 *       XChaCha20-Poly1305(KEK, store key, ad = the 56 bytes before the ciphertext) (48)
 *     KEK = crypto_pwhash(passphrase, salt, opslimit, memlimit, ARGON2ID13).
 *
 * The KDF limits live in the file, so a store opens with the ones it was made with: libsodium's
 * MODERATE (256 MiB, 3 passes), or INTERACTIVE when PARLEY_TEST_FAST_KDF=1 (tests only).
 * Read limits are hostile input: anything outside INTERACTIVE..SENSITIVE is refused as
 * corrupt before Argon2id runs, so a crafted file cannot make us allocate terabytes.
 * A wrong passphrase and a damaged ciphertext look the same: PL_CSTORE_E_PASSPHRASE.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cstore_internal.h"

#define KEY_ENC_MAGIC "PlSK"
#define KEY_ENC_VERSION 1
#define KEY_ENC_SALT 16
#define KEY_ENC_HEADER (4 + 1 + 1 + 2 + 8 + 8 + KEY_ENC_SALT + 24)
#define KEY_ENC_BYTES                                                                              \
    (KEY_ENC_HEADER + PL__CSTORE_KEY_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)

static void put_u64le(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* KEK from the passphrase. PL_CSTORE_E_NOMEM when Argon2id cannot get its memory. */
static int derive_kek(uint8_t kek[crypto_aead_xchacha20poly1305_ietf_KEYBYTES],
                      const char *passphrase, const uint8_t salt[KEY_ENC_SALT], uint64_t ops,
                      uint64_t mem)
{
    if (crypto_pwhash(kek, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, passphrase,
                      strlen(passphrase), salt, (unsigned long long)ops, (size_t)mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return PL_CSTORE_E_NOMEM;
    return PL_CSTORE_OK;
}

int pl__cstore_key_create(const char *home, const char *passphrase,
                          const uint8_t key[PL__CSTORE_KEY_BYTES], char *err, size_t err_len)
{
    uint8_t file[KEY_ENC_BYTES], kek[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    const char *fast = getenv("PARLEY_TEST_FAST_KDF");
    uint64_t ops = crypto_pwhash_OPSLIMIT_MODERATE, mem = crypto_pwhash_MEMLIMIT_MODERATE;
    uint8_t *p = file;
    int r;

    if (!passphrase || !passphrase[0]) {
        r = pl__cstore_write_file(home, PL__CSTORE_KEY, key, PL__CSTORE_KEY_BYTES, err, err_len);
        goto out;
    }
    if (fast && strcmp(fast, "1") == 0) {
        ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    }
    memcpy(p, KEY_ENC_MAGIC, 4);
    p[4] = KEY_ENC_VERSION;
    p[5] = crypto_pwhash_ALG_ARGON2ID13;
    p[6] = p[7] = 0;
    put_u64le(p + 8, ops);
    put_u64le(p + 16, mem);
    randombytes_buf(p + 24, KEY_ENC_SALT);
    randombytes_buf(p + 24 + KEY_ENC_SALT, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    if ((r = derive_kek(kek, passphrase, p + 24, ops, mem)) != PL_CSTORE_OK) {
        pl__cstore_set_err(err, err_len, "%s: not enough memory for Argon2id", home);
        goto out;
    }
    crypto_aead_xchacha20poly1305_ietf_encrypt(file + KEY_ENC_HEADER, NULL, key,
                                               PL__CSTORE_KEY_BYTES, file, KEY_ENC_HEADER, NULL,
                                               p + 24 + KEY_ENC_SALT, kek);
    r = pl__cstore_write_file(home, PL__CSTORE_KEY_ENC, file, sizeof file, err, err_len);
out:
    sodium_memzero(kek, sizeof kek);
    sodium_memzero(file, sizeof file);
    return r;
}

int pl__cstore_key_enc_header(const uint8_t *file, size_t len, uint64_t *ops, uint64_t *mem)
{
    *ops = *mem = 0;
    if (len != KEY_ENC_BYTES || memcmp(file, KEY_ENC_MAGIC, 4) != 0 || file[4] != KEY_ENC_VERSION ||
        file[5] != crypto_pwhash_ALG_ARGON2ID13 || file[6] != 0 || file[7] != 0)
        return -1;
    *ops = get_u64le(file + 8);
    *mem = get_u64le(file + 16);
    if (*ops < crypto_pwhash_OPSLIMIT_INTERACTIVE || *ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
        *mem < crypto_pwhash_MEMLIMIT_INTERACTIVE || *mem > crypto_pwhash_MEMLIMIT_SENSITIVE) {
        *ops = *mem = 0;
        return -2;
    }
    return 0;
}

/* Opens a store.key.enc image with passphrase into key. */
static int open_key_enc(const uint8_t file[KEY_ENC_BYTES], const char *passphrase,
                        uint8_t key[PL__CSTORE_KEY_BYTES], const char *home, char *err,
                        size_t err_len)
{
    uint8_t kek[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    uint64_t ops, mem;
    int r;

    r = PL_CSTORE_E_CORRUPT;
    switch (pl__cstore_key_enc_header(file, KEY_ENC_BYTES, &ops, &mem)) {
    case 0:
        break;
    case -2:
        pl__cstore_set_err(err, err_len, "%s/%s: key derivation limits out of range", home,
                           PL__CSTORE_KEY_ENC);
        goto out;
    default:
        pl__cstore_set_err(err, err_len, "%s/%s: not a parley key file or a newer format", home,
                           PL__CSTORE_KEY_ENC);
        goto out;
    }
    if (!passphrase || !passphrase[0]) {
        pl__cstore_set_err(err, err_len, "%s: the store is protected by a passphrase", home);
        r = PL_CSTORE_E_NEED_PASSPHRASE;
        goto out;
    }
    if ((r = derive_kek(kek, passphrase, file + 24, ops, mem)) != PL_CSTORE_OK) {
        pl__cstore_set_err(err, err_len, "%s: not enough memory for Argon2id", home);
        goto out;
    }
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            key, NULL, NULL, file + KEY_ENC_HEADER, KEY_ENC_BYTES - KEY_ENC_HEADER, file,
            KEY_ENC_HEADER, file + 24 + KEY_ENC_SALT, kek) != 0) {
        pl__cstore_set_err(err, err_len, "%s: wrong passphrase", home);
        r = PL_CSTORE_E_PASSPHRASE;
        goto out;
    }
    r = PL_CSTORE_OK;
out:
    sodium_memzero(kek, sizeof kek);
    return r;
}

int pl__cstore_key_load(const char *home, const char *passphrase, uint8_t key[PL__CSTORE_KEY_BYTES],
                        char *err, size_t err_len)
{
    uint8_t file[KEY_ENC_BYTES];
    int plain = 0, sealed = 0;
    int r;

    if ((r = pl__cstore_file_check(home, PL__CSTORE_KEY, &plain, err, err_len)) != PL_CSTORE_OK ||
        (r = pl__cstore_file_check(home, PL__CSTORE_KEY_ENC, &sealed, err, err_len)) !=
            PL_CSTORE_OK)
        goto out;
    r = PL_CSTORE_E_CORRUPT;
    if (plain && sealed) {
        pl__cstore_set_err(err, err_len, "%s: both %s and %s exist; remove the stale one", home,
                           PL__CSTORE_KEY, PL__CSTORE_KEY_ENC);
        goto out;
    }
    if (plain) {
        r = pl__cstore_read_file(home, PL__CSTORE_KEY, key, PL__CSTORE_KEY_BYTES, err, err_len);
    } else if (sealed) {
        if ((r = pl__cstore_read_file(home, PL__CSTORE_KEY_ENC, file, sizeof file, err, err_len)) ==
            PL_CSTORE_OK)
            r = open_key_enc(file, passphrase, key, home, err, err_len);
    } else {
        pl__cstore_set_err(err, err_len, "%s: no parley store here (no %s)", home, PL__CSTORE_KEY);
        r = PL_CSTORE_E_NO_HOME;
    }
out:
    if (r != PL_CSTORE_OK)
        sodium_memzero(key, PL__CSTORE_KEY_BYTES);
    sodium_memzero(file, sizeof file);
    return r;
}

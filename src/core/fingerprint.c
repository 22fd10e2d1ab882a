/*
 * fingerprint.c: safety numbers and key fingerprints (PROTOCOL.md §8).
 *
 * Per account, as Signal's numeric fingerprint (version 0):
 *   h = SHA-512(0x00 0x00 || Encode(account key) || name)
 *   repeat 5200 times: h = SHA-512(h || Encode(account key))
 *   digits = for each of the six 5-byte big-endian chunks of h[0..30): chunk mod 100000,
 *            zero-padded to 5 digits
 * The safety number is the two 30-digit strings, the smaller (as strings) first.
 */
#include <string.h>

#include <sodium.h>

#include "keys_internal.h"
#include "parley/error.h"
#include "parley/fingerprint.h"

static int account_digits(const uint8_t key[PL_PUBKEY_BYTES], const char *name, size_t name_len,
                          char out[PL_ACCOUNT_FINGERPRINT_DIGITS + 1])
{
    static const uint8_t version[2] = {0x00, 0x00};
    uint8_t h[crypto_hash_sha512_BYTES];
    crypto_hash_sha512_state st;
    int r;

    if ((r = pl__key_check_type(key, PL_KEY_TYPE_ED25519)) != PL_OK)
        return r;
    if (name_len > PL_NAME_MAX_BYTES)
        return PL_E_TOO_LARGE;

    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, version, sizeof version);
    crypto_hash_sha512_update(&st, key, PL_PUBKEY_BYTES);
    crypto_hash_sha512_update(&st, (const uint8_t *)name, name_len);
    crypto_hash_sha512_final(&st, h);
    for (unsigned i = 0; i < PL_FINGERPRINT_ITERATIONS; i++) {
        crypto_hash_sha512_init(&st);
        crypto_hash_sha512_update(&st, h, sizeof h);
        crypto_hash_sha512_update(&st, key, PL_PUBKEY_BYTES);
        crypto_hash_sha512_final(&st, h);
    }
    for (unsigned chunk = 0; chunk < 6; chunk++) {
        const uint8_t *c = h + 5 * chunk;
        uint64_t v = ((uint64_t)c[0] << 32) | ((uint64_t)c[1] << 24) | ((uint64_t)c[2] << 16) |
                     ((uint64_t)c[3] << 8) | c[4];
        v %= 100000u;
        for (int d = 4; d >= 0; d--) {
            out[5 * chunk + (unsigned)d] = (char)('0' + v % 10);
            v /= 10;
        }
    }
    out[PL_ACCOUNT_FINGERPRINT_DIGITS] = '\0';
    return PL_OK;
}

int pl_account_fingerprint(const uint8_t account_key[PL_PUBKEY_BYTES], const char *name,
                           size_t name_len, char out[PL_ACCOUNT_FINGERPRINT_DIGITS + 1])
{
    memset(out, 0, PL_ACCOUNT_FINGERPRINT_DIGITS + 1);
    return account_digits(account_key, name, name_len, out);
}

int pl_safety_number(const uint8_t local_key[PL_PUBKEY_BYTES], const char *local_name,
                     size_t local_name_len, const uint8_t remote_key[PL_PUBKEY_BYTES],
                     const char *remote_name, size_t remote_name_len,
                     char out[PL_SAFETY_NUMBER_DIGITS + 1])
{
    char local[PL_ACCOUNT_FINGERPRINT_DIGITS + 1], remote[PL_ACCOUNT_FINGERPRINT_DIGITS + 1];
    const char *first, *second;
    int r;

    memset(out, 0, PL_SAFETY_NUMBER_DIGITS + 1);
    if ((r = account_digits(local_key, local_name, local_name_len, local)) != PL_OK ||
        (r = account_digits(remote_key, remote_name, remote_name_len, remote)) != PL_OK)
        return r;
    first = strcmp(local, remote) <= 0 ? local : remote;
    second = first == local ? remote : local;
    memcpy(out, first, PL_ACCOUNT_FINGERPRINT_DIGITS);
    memcpy(out + PL_ACCOUNT_FINGERPRINT_DIGITS, second, PL_ACCOUNT_FINGERPRINT_DIGITS);
    out[PL_SAFETY_NUMBER_DIGITS] = '\0';
    return PL_OK;
}

void pl_key_fingerprint(const uint8_t key[PL_PUBKEY_BYTES], char out[PL_KEY_FINGERPRINT_CHARS + 1])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t h[crypto_hash_sha256_BYTES];
    size_t o = 0;

    crypto_hash_sha256(h, key, PL_PUBKEY_BYTES);
    for (size_t i = 0; i < 16; i++) {
        if (i > 0 && i % 2 == 0)
            out[o++] = ' ';
        out[o++] = digits[h[i] >> 4];
        out[o++] = digits[h[i] & 15];
    }
    out[o] = '\0';
}

/*
 * statement.c: the wire protocol's signed statements, device authentication and device
 * removal (parley/statement.h, docs/PROTOCOL.md §11.3 and §11.6).
 */
#include <string.h>

#include "buf.h"
#include "keys_internal.h"
#include "parley/statement.h"

#define AUTH_LABEL "parley/auth/v1"
#define REMOVAL_LABEL "parley/remove-device/v1"
/* challenge || exporter || username || device_id */
#define AUTH_BODY_MAX                                                                              \
    (PL_AUTH_CHALLENGE_BYTES + PL_AUTH_EXPORTER_BYTES + PL_AUTH_USERNAME_MAX_BYTES + 4u)
#define REMOVAL_BODY_BYTES (PL_PUBKEY_BYTES + 4u)

static int auth_body(uint8_t out[AUTH_BODY_MAX], const uint8_t *challenge, const uint8_t *exporter,
                     const char *username, size_t username_len, uint32_t device_id, size_t *len)
{
    pl__writer w = pl__writer_init(out, AUTH_BODY_MAX);

    *len = 0;
    if (!username || username_len == 0 || username_len > PL_AUTH_USERNAME_MAX_BYTES)
        return PL_E_INVALID_ARG;
    pl__put_bytes(&w, challenge, PL_AUTH_CHALLENGE_BYTES);
    pl__put_bytes(&w, exporter, PL_AUTH_EXPORTER_BYTES);
    pl__put_bytes(&w, username, username_len);
    pl__put_u32(&w, device_id);
    *len = w.off;
    return w.err;
}

int pl_auth_sign(const pl_device *device, const uint8_t challenge[PL_AUTH_CHALLENGE_BYTES],
                 const uint8_t exporter[PL_AUTH_EXPORTER_BYTES], const char *username,
                 size_t username_len, uint32_t device_id, uint8_t sig[PL_SIGNATURE_BYTES])
{
    uint8_t body[AUTH_BODY_MAX];
    size_t len;
    int r = auth_body(body, challenge, exporter, username, username_len, device_id, &len);

    if (r != PL_OK) {
        memset(sig, 0, PL_SIGNATURE_BYTES);
        return r;
    }
    pl__sign_labeled(sig, AUTH_LABEL, body, len, device->sign_sk);
    return PL_OK;
}

int pl_auth_verify(const uint8_t identity_key[PL_PUBKEY_BYTES],
                   const uint8_t challenge[PL_AUTH_CHALLENGE_BYTES],
                   const uint8_t exporter[PL_AUTH_EXPORTER_BYTES], const char *username,
                   size_t username_len, uint32_t device_id, const uint8_t sig[PL_SIGNATURE_BYTES])
{
    uint8_t body[AUTH_BODY_MAX];
    size_t len;
    int r = pl__ed25519_key_decode(identity_key, NULL);

    if (r != PL_OK)
        return r;
    if ((r = auth_body(body, challenge, exporter, username, username_len, device_id, &len)) !=
        PL_OK)
        return r;
    return pl__verify_labeled(sig, AUTH_LABEL, body, len, identity_key + 1);
}

static void removal_body(uint8_t out[REMOVAL_BODY_BYTES],
                         const uint8_t account_key[PL_PUBKEY_BYTES], uint32_t device_id)
{
    pl__writer w = pl__writer_init(out, REMOVAL_BODY_BYTES);

    pl__put_bytes(&w, account_key, PL_PUBKEY_BYTES);
    pl__put_u32(&w, device_id);
}

void pl_removal_sign(const pl_account *account, uint32_t device_id, uint8_t sig[PL_SIGNATURE_BYTES])
{
    uint8_t key[PL_PUBKEY_BYTES];
    uint8_t body[REMOVAL_BODY_BYTES];

    pl_account_public_key(account, key);
    removal_body(body, key, device_id);
    pl__sign_labeled(sig, REMOVAL_LABEL, body, sizeof body, account->sk);
}

int pl_removal_verify(const uint8_t account_key[PL_PUBKEY_BYTES], uint32_t device_id,
                      const uint8_t sig[PL_SIGNATURE_BYTES])
{
    uint8_t body[REMOVAL_BODY_BYTES];
    int r = pl__ed25519_key_decode(account_key, NULL);

    if (r != PL_OK)
        return r;
    removal_body(body, account_key, device_id);
    return pl__verify_labeled(sig, REMOVAL_LABEL, body, sizeof body, account_key + 1);
}

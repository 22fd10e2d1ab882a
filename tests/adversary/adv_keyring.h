/*
 * adv_keyring.h: the device keys the tests lend the man-in-the-middle proxy so that it can
 * re-sign device authentication for its own upstream connection (mitm_proxy.h explains why a
 * TLS-terminating proxy must). A keyring holds borrowed pointers to real clients (pl_client,
 * whose identity is read when a proof passes, so a client may be added before it registers)
 * and to the test's wire accounts (wi_account). Bounded: ADV_KEYRING_MAX entries.
 *
 * adv_keyring_sign() is an mp_auth_signer: pass the keyring as its argument. The proxy calls
 * it under its lock, on a connection thread, while the client it signs for is blocked waiting
 * for the answer to that very proof; remove an entry (or stop the proxy) before freeing what
 * it points to.
 */
#ifndef PARLEY_TESTS_ADV_KEYRING_H
#define PARLEY_TESTS_ADV_KEYRING_H

#include <stdint.h>

#include "client.h"
#include "wire_identity.h"

#define ADV_KEYRING_MAX 32

typedef struct adv_keyring {
    pl_client *clients[ADV_KEYRING_MAX];
    const wi_account *accounts[ADV_KEYRING_MAX];
} adv_keyring;

/* Adds a borrowed client or account; fails the test when full. */
void adv_keyring_add_client(adv_keyring *k, pl_client *c);
void adv_keyring_add_account(adv_keyring *k, const wi_account *a);

/* Removes it (no-op if absent). */
void adv_keyring_remove_client(adv_keyring *k, const pl_client *c);
void adv_keyring_remove_account(adv_keyring *k, const wi_account *a);

/* The mp_auth_signer: signs with the key of device_id of username if an entry has it. */
int adv_keyring_sign(void *arg, const char *username, uint32_t device_id,
                     const uint8_t challenge[32], const uint8_t exporter[32], uint8_t sig[64]);

#endif

/*
 * adv_keyring.c: device keys lent to the man-in-the-middle proxy (see adv_keyring.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "adv_keyring.h"
#include "client_internal.h"

void adv_keyring_add_client(adv_keyring *k, pl_client *c)
{
    for (size_t i = 0; i < ADV_KEYRING_MAX; i++) {
        if (!k->clients[i]) {
            k->clients[i] = c;
            return;
        }
    }
    fail_msg("adv_keyring: more than %d clients", ADV_KEYRING_MAX);
}

void adv_keyring_add_account(adv_keyring *k, const wi_account *a)
{
    for (size_t i = 0; i < ADV_KEYRING_MAX; i++) {
        if (!k->accounts[i]) {
            k->accounts[i] = a;
            return;
        }
    }
    fail_msg("adv_keyring: more than %d accounts", ADV_KEYRING_MAX);
}

void adv_keyring_remove_client(adv_keyring *k, const pl_client *c)
{
    for (size_t i = 0; i < ADV_KEYRING_MAX; i++) {
        if (k->clients[i] == c)
            k->clients[i] = NULL;
    }
}

void adv_keyring_remove_account(adv_keyring *k, const wi_account *a)
{
    for (size_t i = 0; i < ADV_KEYRING_MAX; i++) {
        if (k->accounts[i] == a)
            k->accounts[i] = NULL;
    }
}

/* The device key of (username, device_id), or NULL. */
static const pl_device *find(const adv_keyring *k, const char *username, uint32_t device_id)
{
    for (size_t i = 0; i < ADV_KEYRING_MAX; i++) {
        const pl_client *c = k->clients[i];
        const wi_account *a = k->accounts[i];

        if (c && c->device && c->device_id == device_id && strcmp(c->username, username) == 0)
            return c->device;
        if (a && strcmp(a->username, username) == 0) {
            for (size_t j = 0; j < a->n_devices; j++) {
                if (a->devices[j].id == device_id)
                    return a->devices[j].dev;
            }
        }
    }
    return NULL;
}

int adv_keyring_sign(void *arg, const char *username, uint32_t device_id,
                     const uint8_t challenge[32], const uint8_t exporter[32], uint8_t sig[64])
{
    const pl_device *dev = find(arg, username, device_id);

    if (!dev)
        return -1;
    return pl_auth_sign(dev, challenge, exporter, username, strlen(username), device_id, sig) ==
                   PL_OK
               ? 0
               : -1;
}

/*
 * client_group_pending.c: the bound on the sender keys kept for groups this device does not
 * know yet (PROTOCOL.md §32.3).
 *
 * A member's chain may overtake the change that adds us, so a chain for an unknown group is
 * kept ("gk/..." secrets, client_group.c). Without a bound any contact could fill the store
 * with chains of groups that never come. Each sending account has a list, oldest first, of
 * the (group, device) chains it gave us for groups we do not know ("gkp/<sender>"); beyond
 * CL_GROUP_PENDING_MAX the oldest is dropped, its chain deleted. Entries whose group we have
 * since joined leave the list (their chains stay: they are in use).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_group_devices.h"

/* client_group.c */
void cl_group_rx_name(char out[64], const uint8_t group_id[16], const char *user, uint32_t dev);

size_t cl_group_pending_add(uint8_t *list, size_t n, size_t max,
                            const uint8_t entry[CL_GROUP_PENDING_ENTRY],
                            uint8_t evicted[CL_GROUP_PENDING_ENTRY], int *did_evict)
{
    *did_evict = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(list + i * CL_GROUP_PENDING_ENTRY, entry, CL_GROUP_PENDING_ENTRY) == 0)
            return n;
    memcpy(list + n * CL_GROUP_PENDING_ENTRY, entry, CL_GROUP_PENDING_ENTRY);
    n++;
    if (n <= max)
        return n;
    memcpy(evicted, list, CL_GROUP_PENDING_ENTRY);
    memmove(list, list + CL_GROUP_PENDING_ENTRY, (n - 1) * CL_GROUP_PENDING_ENTRY);
    *did_evict = 1;
    return n - 1;
}

static void entry_of(const uint8_t group_id[16], uint32_t device_id,
                     uint8_t out[CL_GROUP_PENDING_ENTRY])
{
    memcpy(out, group_id, 16);
    out[16] = (uint8_t)(device_id >> 24);
    out[17] = (uint8_t)(device_id >> 16);
    out[18] = (uint8_t)(device_id >> 8);
    out[19] = (uint8_t)device_id;
}

static uint32_t entry_device(const uint8_t e[CL_GROUP_PENDING_ENTRY])
{
    return (uint32_t)e[16] << 24 | (uint32_t)e[17] << 16 | (uint32_t)e[18] << 8 | e[19];
}

int cl_group_pending_note(pl_client *c, const char *sender, const uint8_t group_id[16],
                          uint32_t device_id)
{
    uint8_t list[(CL_GROUP_PENDING_MAX + 1) * CL_GROUP_PENDING_ENTRY];
    uint8_t entry[CL_GROUP_PENDING_ENTRY], evicted[CL_GROUP_PENDING_ENTRY];
    uint8_t *blob = NULL;
    size_t len = 0, n = 0;
    char name[64];
    int r, did_evict = 0;

    snprintf(name, sizeof name, "gkp/%s", sender);
    r = pl_cstore_secret_get(c->store, name, &blob, &len);
    if (r != PL_CSTORE_OK && r != PL_CSTORE_E_NOT_FOUND)
        return cl_store_fail(c, r, "reading pending group keys");
    /* A list of another shape (damaged) starts again empty: it only bounds, never grants. */
    if (r == PL_CSTORE_OK && len % CL_GROUP_PENDING_ENTRY == 0 &&
        len <= CL_GROUP_PENDING_MAX * CL_GROUP_PENDING_ENTRY) {
        /* Keep only the entries whose group is still unknown. */
        for (size_t i = 0; i < len / CL_GROUP_PENDING_ENTRY; i++) {
            const uint8_t *e = blob + i * CL_GROUP_PENDING_ENTRY;
            pl_cstore_group g;

            if (pl_cstore_group_by_id(c->store, e, &g) == PL_CSTORE_OK)
                continue;
            memcpy(list + n++ * CL_GROUP_PENDING_ENTRY, e, CL_GROUP_PENDING_ENTRY);
        }
    }
    pl_cstore_free_secret(blob, len);
    entry_of(group_id, device_id, entry);
    n = cl_group_pending_add(list, n, CL_GROUP_PENDING_MAX, entry, evicted, &did_evict);
    if (did_evict) {
        char rx[64];

        cl_group_rx_name(rx, evicted, sender, entry_device(evicted));
        r = pl_cstore_secret_delete(c->store, rx);
        if (r != PL_CSTORE_OK && r != PL_CSTORE_E_NOT_FOUND)
            return cl_store_fail(c, r, "dropping a pending group key");
    }
    r = pl_cstore_secret_put(c->store, name, list, n * CL_GROUP_PENDING_ENTRY);
    return r == PL_CSTORE_OK ? PL_CLIENT_OK : cl_store_fail(c, r, "saving pending group keys");
}

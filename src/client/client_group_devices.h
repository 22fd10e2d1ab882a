/*
 * client_group_devices.h: what client_group.c, client_group_msg.c and
 * client_group_devices.c share about keeping each member's devices in a group equal to the
 * member's verified key-transparency state (PROTOCOL.md §32.2 "Devices"), and the bound on
 * the sender keys kept for groups this device does not know yet (§32.3).
 */
#ifndef PARLEY_CLIENT_GROUP_DEVICES_H
#define PARLEY_CLIENT_GROUP_DEVICES_H

#include "client_internal.h"
#include "parley/group_state.h"

/* ---- client_group.c, for the files below ---- */
int cl_group_load_state(pl_client *c, const pl_cstore_group *g, pl_group_state **out);
int cl_group_find(pl_client *c, const char *name, pl_cstore_group *g, int need_active);
/* The member entry of user from its verified key-transparency state (waits, bounded, for a
 * new account's first entry). */
int cl_group_member_from_log(pl_client *c, const char *user, pl_group_member *m);
/* Signs body, applies it to st and saves the next state (*next, *change malloc'd). */
int cl_group_make_change(pl_client *c, const pl_cstore_group *g, const pl_group_state *st,
                         const pl_group_change_body *body, pl_group_state **next,
                         pl_group_applied *applied, uint8_t **change, size_t *change_len);
/* GroupUpdate{change, prev_state (may be empty), group_id} to every device of `to`. */
int cl_group_send_update(pl_client *c, const char *to, const uint8_t group_id[16],
                         const uint8_t *change, size_t change_len, const uint8_t *prev,
                         size_t prev_len);
/* The update (no prev_state) to every member of st but `skip` (NULL: none). */
int cl_group_send_update_to_all(pl_client *c, const pl_group_state *st, const uint8_t id[16],
                                const uint8_t *change, size_t len, const char *skip);
/* Our current chain in g to every device of `to` (and our other devices). */
int cl_group_send_own_key(pl_client *c, const pl_cstore_group *g, const char *to);
/* A new chain for this device in g, saved, sent to every member device of next. */
int cl_group_rotate(pl_client *c, const pl_cstore_group *g, const pl_group_state *next);

/* ---- client_group_devices.c ---- */

/*
 * Brings every member of group g (*st, its saved state) to the devices of the member's
 * verified key-transparency state: for a member whose devices differ (looked up again once),
 * this device signs a `devices` change, saves the new state, sends it (with prev_state to the
 * member's own devices, which may not know the group yet) and, when a device left, rotates
 * our chain. On PL_CLIENT_OK *st is the current state (replaced when it changed) and
 * *changed counts the changes made. A member whose account key changed (a new account) is
 * refused with PL_CLIENT_E_KT_UNLOGGED: that is a remove and an add, not a devices change.
 * only, when not NULL, limits this to that member.
 */
int cl_group_sync_members(pl_client *c, const pl_cstore_group *g, pl_group_state **st,
                          const char *only, size_t *changed);

/* Every active group, copied (a store listing cannot stay open while we send): *out is
 * malloc'd (free() it) with *n entries. PL_CLIENT_OK, E_NOMEM or E_STORE (client_group.c). */
int cl_group_list_active(pl_client *c, pl_cstore_group **out, size_t *n);

/* The state before the last change applied (E_NOT_FOUND if none was kept), and saving the
 * current state (client_group.c). */
int cl_group_load_parent(pl_client *c, const pl_cstore_group *g, pl_group_state **out);
int cl_group_save_state(pl_client *c, const pl_cstore_group *g, const pl_group_state *st);

/*
 * Forks (§32.2 "Two changes at once"). The pure part: ours and theirs are two state
 * encodings (§30.1). Returns CL_GROUP_SIBLING_NOT when they differ in anything but
 * last_change_hash (or are not states), CL_GROUP_SIBLING_KEEP when ours has the smaller
 * last_change_hash (or the same), CL_GROUP_SIBLING_ADOPT when theirs has the smaller.
 */
#define CL_GROUP_SIBLING_NOT 0
#define CL_GROUP_SIBLING_KEEP 1
#define CL_GROUP_SIBLING_ADOPT 2
int cl_group_sibling_order(const uint8_t *ours, size_t ours_len, const uint8_t *theirs,
                           size_t theirs_len);
/*
 * A received change that did not apply to our state cur (PL_E_STATE_CHAIN): if it applies
 * to the state before our last change, was made by the device that sent it, and gives a
 * state equal to cur but for the last change's hash, it is a sibling: the state whose last
 * change hashes smaller is kept (adopted and saved if it is theirs). Returns 1 when change
 * was such a sibling (handled: nothing to announce), 0 otherwise (nothing changed).
 */
int cl_group_adopt_sibling(pl_client *c, const pl_cstore_group *g, const pl_group_state *cur,
                           const char *sender, uint32_t sender_device, const uint8_t *change,
                           size_t len);

/* ---- client_group_pending.c: sender keys of groups not known yet ---- */

/* At most this many chains (group, device) per sending account are kept for groups this
 * device does not know; the oldest goes first. */
#define CL_GROUP_PENDING_MAX 32u
#define CL_GROUP_PENDING_ENTRY 20u /* group id (16) | device id (u32, big-endian) */

/*
 * The pure part, on a list of n entries (oldest first) with room for max + 1: adds entry at
 * the end unless it is there already. When the list then holds more than max, the oldest is
 * taken out and copied to evicted, and *did_evict set. Returns the new count.
 */
size_t cl_group_pending_add(uint8_t *list, size_t n, size_t max,
                            const uint8_t entry[CL_GROUP_PENDING_ENTRY],
                            uint8_t evicted[CL_GROUP_PENDING_ENTRY], int *did_evict);

/*
 * Before the chain of sender's device for the unknown group group_id is stored: records it
 * in sender's pending list ("gkp/<sender>"), drops entries whose group is now known, and
 * deletes the stored chain of an entry pushed out. Failures are reported as PL_CLIENT_E_*.
 */
int cl_group_pending_note(pl_client *c, const char *sender, const uint8_t group_id[16],
                          uint32_t device_id);

#endif

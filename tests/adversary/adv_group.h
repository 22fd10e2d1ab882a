/*
 * adv_group.h: the stage of the adversarial tests of groups (docs/ADVERSARY.md, "Groups"):
 * members that are real clients (adv_world.h) with a log of what each was shown, bounded
 * waits for the group's sender keys to travel, a look at a member's saved group state and
 * received chains (to assert that an attack changed nothing), the malicious operator's
 * rewrite of a GroupSend fan-out, and a member device's own hands (to play the operator's
 * accomplice: a GroupUpdate of its own making over its pairwise session).
 *
 * Every wait is bounded (ADV_GROUP_WAIT_MS) and fails the test with what was missing.
 */
#ifndef PARLEY_TESTS_ADV_GROUP_H
#define PARLEY_TESTS_ADV_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "adv_world.h"
#include "client.h"
#include "mitm_proxy.h"

#define ADV_GROUP_WAIT_MS 30000u
#define ADV_LOG_MAX 64

/* What a member was shown: messages (text, group) and notices, in order. */
typedef struct adv_log {
    size_t n;
    struct {
        int notice;
        char group[32];
        char from[33];
        char text[600];
    } e[ADV_LOG_MAX];
} adv_log;

/* A member: its client and what it was shown since adv_member_attach. */
typedef struct adv_member {
    pl_client *c;
    adv_log log;
} adv_member;

/* Starts recording m->c's notices into m->log (and clears it). */
void adv_member_attach(adv_member *m);

/* One receive round on m (waiting up to wait_ms for a first envelope). */
void adv_member_recv(adv_member *m, int wait_ms);

/* How many entries of m's log contain needle (notices when notice is 1, messages when 0,
 * both when -1). */
size_t adv_log_count(const adv_log *l, int notice, const char *needle);

/* Prints m's log to stderr (when a test fails, to see what happened). */
void adv_log_dump(const char *who, const adv_log *l);

/* The 16-byte id of c's group `name`; fails the test if c has none. */
void adv_group_id(pl_client *c, const char *name, uint8_t id[16]);

/* The key_id of the chain c holds of (sender, device) in group id, or 0 if it holds none. */
uint32_t adv_group_rx_key_id(pl_client *c, const uint8_t id[16], const char *sender,
                             uint32_t device);

/* The key_id of c's own sending chain of group `name` (0 if none). */
uint32_t adv_group_own_key_id(pl_client *c, const char *name);

/* c's saved state of group `name`, encoded (malloc'd, *len set); NULL if c has no such group.
 * *active (may be NULL) gets whether c still counts itself a member. */
uint8_t *adv_group_state(pl_client *c, const char *name, size_t *len, int *active);

/* Asserts that c's saved state of `name` is byte for byte `before` (and still active). */
void adv_assert_group_unchanged(pl_client *c, const char *name, const uint8_t *before,
                                size_t before_len);

/*
 * Receives on every member, round after round, until each holder holds the current chain of
 * each sender device: for every i, j (i != j) holders[i] has a chain of senders[j]'s device
 * in group id, whose key_id is senders[j]'s own current one. Fails the test after
 * ADV_GROUP_WAIT_MS. holders and senders may be the same array.
 */
void adv_group_wait_keys(adv_member *const *all, size_t n_all, adv_member *const *members, size_t n,
                         const char *name);

/* Receives on every member until pred(arg) holds, or fails the test naming what. */
void adv_group_wait_until(adv_member *const *all, size_t n_all, int (*pred)(void *), void *arg,
                          const char *what);

/*
 * For a client hook: emits f's GroupSend with one more addressed device (user, device,
 * identity key), as a server that fans the one ciphertext out to a device of its choice.
 * Returns MP_FORWARD when f is not a GroupSend.
 */
mp_verdict adv_group_send_add_device(mp_frame_ctx *fx, const Parley__ClientFrame *f,
                                     const char *user, uint32_t device,
                                     const uint8_t identity_key[33]);

/* The identity key of c's device. */
void adv_identity_key(pl_client *c, uint8_t out[33]);

/* from's device sends `to` a GroupUpdate{change, prev_state, group_id} over their pairwise
 * session, as its client sends a change (prev may be NULL). */
void adv_send_group_update(pl_client *from, const char *to, const uint8_t id[16],
                           const uint8_t *change, size_t len, const uint8_t *prev, size_t prev_len);

#endif

/*
 * group_vectors.c: builds the text of tests/vectors/group_v1.txt (group_vectors.h).
 *
 * Deterministic RNGs (PROTOCOL.md §10.1) with seeds of 32 x 0xa1 (Alice), 32 x 0xb2 (Bob)
 * and 32 x 0xc3 (the sender of the group messages):
 *   Alice's calls: 0 account seed, 1 device seed (device id 1).
 *   Bob's calls:   0 account seed, 1 device seed (device id 3).
 *   Sender's calls: 0 device seed (device id 5), 1 key_id (4 bytes), 2 chain key,
 *                   3 signing key seed.
 * Group id: 16 bytes 0x47. Alice creates "Parley" (max 1000) with herself and Bob; Bob
 * renames it "Parley v1". The sender distributes its chain and sends two messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_vectors.h"
#include "parley/parley.h"
#include "testutil.h"

typedef struct text {
    char *p;
    size_t cap, len;
    int err;
} text;

static void line(text *t, const char *name, const uint8_t *b, size_t n)
{
    char *hex = malloc(2 * n + 1);
    int w;

    if (hex == NULL) {
        t->err = 1;
        return;
    }
    tu_hex(b, n, hex);
    w = snprintf(t->p + t->len, t->cap - t->len, "%s %s\n", name, hex);
    free(hex);
    if (w < 0 || (size_t)w >= t->cap - t->len) {
        t->err = 1;
        return;
    }
    t->len += (size_t)w;
}

static void comment(text *t, const char *s)
{
    int w = snprintf(t->p + t->len, t->cap - t->len, "%s\n", s);

    if (w < 0 || (size_t)w >= t->cap - t->len)
        t->err = 1;
    else
        t->len += (size_t)w;
}

static pl_group_member member(const char *name, const pl_account *a, const pl_device *d)
{
    pl_group_member m;

    memset(&m, 0, sizeof m);
    m.username_len = (uint8_t)strlen(name);
    memcpy(m.username, name, m.username_len);
    pl_account_public_key(a, m.account_key);
    m.n_devices = 1;
    m.devices[0].device_id = pl_device_id(d);
    pl_device_identity_key(d, m.devices[0].identity_key);
    return m;
}

size_t gv_generate(char *out, size_t cap)
{
    text t = {out, cap, 0, 0};
    pl_rng_deterministic sa, sb, ss;
    pl_rng ra = tu_rng(&sa, 0xa1), rb = tu_rng(&sb, 0xb2), rs = tu_rng(&ss, 0xc3);
    pl_account *alice = NULL, *bob = NULL;
    pl_device *alice_dev = NULL, *bob_dev = NULL, *sender_dev = NULL;
    pl_sender_key *key = NULL;
    pl_group_state *s0 = NULL, *s1 = NULL;
    uint8_t gid[PL_GROUP_ID_BYTES], dist[PL_SENDER_KEY_DISTRIBUTION_BYTES], h[32];
    uint8_t msg[PL_GROUP_MESSAGE_BYTES(64)], *create = NULL, *rename = NULL;
    size_t msg_len, create_len, rename_len;
    pl_group_member ms[2];
    pl_group_change_body body;
    size_t result = 0;

    memset(gid, 0x47, sizeof gid);
    if (pl_account_generate(&alice, &ra) || pl_device_generate(&alice_dev, &ra, 1) ||
        pl_account_generate(&bob, &rb) || pl_device_generate(&bob_dev, &rb, 3) ||
        pl_device_generate(&sender_dev, &rs, 5) ||
        pl_sender_key_generate(&key, &rs, gid, sender_dev))
        goto out;

    comment(&t, "# Parley group vectors v1 (docs/PROTOCOL.md sections 29 and 30).");
    comment(&t,
            "# Written by tests/gen_group_vectors from deterministic RNGs (tests/group_vectors.c");
    comment(&t, "# says which call makes what); checked by test_group_state. Each line: name hex.");
    comment(&t, "# plaintext_* are the UTF-8 texts of the messages, hex-encoded.");
    line(&t, "group_id", gid, sizeof gid);

    /* §29: one distribution, two messages. */
    pl_sender_key_distribution(key, dist);
    line(&t, "sender_distribution", dist, sizeof dist);
    line(&t, "plaintext_0", (const uint8_t *)"Hello, group.", 13);
    if (pl_sender_key_encrypt(key, (const uint8_t *)"Hello, group.", 13, msg, sizeof msg, &msg_len))
        goto out;
    line(&t, "group_message_0", msg, msg_len);
    line(&t, "plaintext_1", (const uint8_t *)"Second message.", 15);
    if (pl_sender_key_encrypt(key, (const uint8_t *)"Second message.", 15, msg, sizeof msg,
                              &msg_len))
        goto out;
    line(&t, "group_message_1", msg, msg_len);

    /* §30: create by Alice, rename by Bob. */
    ms[0] = member("alice", alice, alice_dev);
    ms[1] = member("bob", bob, bob_dev);
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_CREATE;
    body.name = (const uint8_t *)"Parley";
    body.name_len = 6;
    body.max_members = 1000;
    body.members = ms;
    body.n_members = 2;
    if (pl_group_change_sign(alice_dev, (const uint8_t *)"alice", 5, NULL, gid, &body, &create,
                             &create_len) ||
        pl_group_apply(NULL, create, create_len, &s0, NULL))
        goto out;
    line(&t, "change_0_create", create, create_len);
    pl_group_state_hash(s0, h);
    line(&t, "state_0_hash", h, sizeof h);
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_RENAME;
    body.name = (const uint8_t *)"Parley v1";
    body.name_len = 9;
    if (pl_group_change_sign(bob_dev, (const uint8_t *)"bob", 3, s0, NULL, &body, &rename,
                             &rename_len) ||
        pl_group_apply(s0, rename, rename_len, &s1, NULL))
        goto out;
    line(&t, "change_1_rename", rename, rename_len);
    pl_group_state_hash(s1, h);
    line(&t, "state_1_hash", h, sizeof h);
    if (!t.err)
        result = t.len;
out:
    free(create);
    free(rename);
    pl_group_state_free(s0);
    pl_group_state_free(s1);
    pl_sender_key_free(key);
    pl_device_free(sender_dev);
    pl_device_free(alice_dev);
    pl_device_free(bob_dev);
    pl_account_free(alice);
    pl_account_free(bob);
    return result;
}

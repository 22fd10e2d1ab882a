/*
 * test_group_state.c: group membership state and signed changes (PROTOCOL.md §30).
 *
 * An independent encoder written from §30 (craft(), signing with a device's Ed25519 key
 * taken from its saved form) must produce byte for byte what pl_group_change_sign does, and
 * builds the hostile changes the library would never sign: duplicate and unsorted members,
 * non-member authors, trailing bytes, too many members. Then a whole life (create, add,
 * rename, devices, remove, leave) with the rotation flag, determinism and encode/decode
 * round trips, every refusal, the ghost-device check against an account state, and the
 * 1,000-member limit.
 */
#include "fixture.h"
#include "group_vectors.h"

#include <sodium.h>

#define LABEL "parley/group-change/v1"

static const uint8_t GID[PL_GROUP_ID_BYTES] = {0xa0, 1, 2,  3,  4,  5,  6,  7,
                                               8,    9, 10, 11, 12, 13, 14, 15};

typedef struct user {
    const char *name;
    pl_account *account;
    pl_device *dev[2];
    size_t n_dev;
    uint8_t sk[2][64]; /* device Ed25519 secret keys, from the saved form */
} user;

typedef struct world {
    pl_rng_deterministic rs;
    pl_rng rng;
    user alice, bob, carol, mallory;
} world;

static void user_init(world *w, user *u, const char *name, size_t n_dev, uint32_t first_id)
{
    memset(u, 0, sizeof *u);
    u->name = name;
    u->n_dev = n_dev;
    FX_RC(pl_account_generate(&u->account, &w->rng), PL_OK);
    for (size_t i = 0; i < n_dev; i++) {
        uint8_t saved[PL_DEVICE_SAVED_BYTES], pk[32];

        FX_RC(pl_device_generate(&u->dev[i], &w->rng, first_id + (uint32_t)i), PL_OK);
        pl_device_save(u->dev[i], saved);
        crypto_sign_seed_keypair(pk, u->sk[i], saved + 8 + 4);
        sodium_memzero(saved, sizeof saved);
    }
}

static void user_free(user *u)
{
    pl_account_free(u->account);
    for (size_t i = 0; i < u->n_dev; i++)
        pl_device_free(u->dev[i]);
}

static int setup(void **st)
{
    world *w = calloc(1, sizeof *w);

    w->rng = tu_rng(&w->rs, 0x61);
    user_init(w, &w->alice, "alice", 1, 1);
    user_init(w, &w->bob, "bob", 2, 3);
    user_init(w, &w->carol, "carol", 1, 1);
    user_init(w, &w->mallory, "mallory", 1, 1);
    *st = w;
    return 0;
}

static int teardown(void **st)
{
    world *w = *st;

    user_free(&w->alice);
    user_free(&w->bob);
    user_free(&w->carol);
    user_free(&w->mallory);
    free(w);
    return 0;
}

static pl_group_member member_of(const user *u)
{
    pl_group_member m;

    memset(&m, 0, sizeof m);
    m.username_len = (uint8_t)strlen(u->name);
    memcpy(m.username, u->name, m.username_len);
    pl_account_public_key(u->account, m.account_key);
    m.n_devices = (uint8_t)u->n_dev;
    for (size_t i = 0; i < u->n_dev; i++) {
        m.devices[i].device_id = pl_device_id(u->dev[i]);
        pl_device_identity_key(u->dev[i], m.devices[i].identity_key);
    }
    return m;
}

static size_t sign_change(const user *author, size_t dev, const pl_group_state *s,
                          const pl_group_change_body *body, uint8_t **out)
{
    size_t len = 0;

    FX_RC(pl_group_change_sign(author->dev[dev], (const uint8_t *)author->name,
                               strlen(author->name), s, GID, body, out, &len),
          PL_OK);
    return len;
}

static pl_group_state *apply_ok(const pl_group_state *s, const uint8_t *c, size_t len,
                                pl_group_applied *info)
{
    pl_group_state *n = NULL;

    FX_RC(pl_group_apply(s, c, len, &n, info), PL_OK);
    assert_non_null(n);
    return n;
}

static void apply_fail(const pl_group_state *s, const uint8_t *c, size_t len, int want)
{
    pl_group_state *n = (pl_group_state *)&n;
    pl_group_applied info;

    memset(&info, 0x5a, sizeof info);
    FX_RC(pl_group_apply(s, c, len, &n, &info), want);
    assert_null(n);
    FX_ZEROED(&info, sizeof info);
}

/* alice and bob (her author device: alice's only one). */
static pl_group_state *create_ab(world *w, uint16_t max, uint8_t **change, size_t *len)
{
    pl_group_member ms[2] = {member_of(&w->alice), member_of(&w->bob)};
    pl_group_change_body b = {.kind = PL_GROUP_CHANGE_CREATE,
                              .name = (const uint8_t *)"friends",
                              .name_len = 7,
                              .max_members = max,
                              .members = ms,
                              .n_members = 2};
    uint8_t *c = NULL;
    size_t n = sign_change(&w->alice, 0, NULL, &b, &c);
    pl_group_state *s = apply_ok(NULL, c, n, NULL);

    if (change) {
        *change = c;
        *len = n;
    } else {
        free(c);
    }
    return s;
}

/* ---- The independent encoder (§30) ----------------------------------------------------- */

typedef struct enc {
    uint8_t b[65536];
    size_t n;
} enc;

static void put(enc *e, const void *p, size_t n)
{
    memcpy(e->b + e->n, p, n);
    e->n += n;
}
static void put8(enc *e, uint8_t v)
{
    put(e, &v, 1);
}
static void put16(enc *e, uint16_t v)
{
    put8(e, (uint8_t)(v >> 8));
    put8(e, (uint8_t)v);
}
static void put32(enc *e, uint32_t v)
{
    put16(e, (uint16_t)(v >> 16));
    put16(e, (uint16_t)v);
}
static void put_member(enc *e, const pl_group_member *m)
{
    put8(e, m->username_len);
    put(e, m->username, m->username_len);
    put(e, m->account_key, 33);
    put8(e, m->n_devices);
    for (size_t i = 0; i < m->n_devices; i++) {
        put32(e, m->devices[i].device_id);
        put(e, m->devices[i].identity_key, 33);
    }
}

/* Starts a change: version, kind, group, epoch, prev hash, author, author device. */
static void craft_head(enc *e, uint8_t kind, const uint8_t gid[16], uint32_t epoch,
                       const pl_group_state *prev, const char *author, uint32_t dev)
{
    uint8_t h[32] = {0};

    e->n = 0;
    put8(e, 1);
    put8(e, kind);
    put(e, gid, 16);
    put32(e, epoch);
    if (prev)
        pl_group_state_hash(prev, h);
    put(e, h, 32);
    put8(e, (uint8_t)strlen(author));
    put(e, author, strlen(author));
    put32(e, dev);
}

/* Appends the signature of sk over the label and everything so far. */
static void craft_sign(enc *e, const uint8_t sk[64])
{
    uint8_t *m = malloc(strlen(LABEL) + e->n);

    memcpy(m, LABEL, strlen(LABEL));
    memcpy(m + strlen(LABEL), e->b, e->n);
    crypto_sign_detached(e->b + e->n, NULL, m, strlen(LABEL) + e->n, sk);
    e->n += 64;
    free(m);
}

/* ---- Tests ----------------------------------------------------------------------------- */

static void test_group_change_matches_independent_encoding(void **st)
{
    world *w = *st;
    pl_group_member a = member_of(&w->alice), b = member_of(&w->bob), c = member_of(&w->carol);
    uint8_t *chg;
    size_t len;
    pl_group_state *s = create_ab(w, 10, &chg, &len), *s2;
    enc e;
    uint8_t *add;
    size_t add_len;
    pl_group_change_body body = {.kind = PL_GROUP_CHANGE_ADD, .members = &c, .n_members = 1};

    craft_head(&e, 1, GID, 0, NULL, "alice", 1);
    put16(&e, 10);
    put8(&e, 7);
    put(&e, "friends", 7);
    put16(&e, 2);
    put_member(&e, &a);
    put_member(&e, &b);
    craft_sign(&e, w->alice.sk[0]);
    assert_int_equal(len, e.n);
    assert_memory_equal(chg, e.b, len);

    /* bob's second device adds carol. */
    add_len = sign_change(&w->bob, 1, s, &body, &add);
    craft_head(&e, 2, GID, 1, s, "bob", 4);
    put_member(&e, &c);
    craft_sign(&e, w->bob.sk[1]);
    assert_int_equal(add_len, e.n);
    assert_memory_equal(add, e.b, add_len);
    s2 = apply_ok(s, add, add_len, NULL);
    assert_int_equal(pl_group_state_member_count(s2), 3);
    free(chg);
    free(add);
    pl_group_state_free(s);
    pl_group_state_free(s2);
}

static void check_round_trip(const pl_group_state *s)
{
    size_t n = pl_group_state_encoded_size(s), got;
    uint8_t *b = malloc(n), *b2 = malloc(n), h1[32], h2[32];
    pl_group_state *d = NULL;

    FX_RC(pl_group_state_encode(s, b, n - 1, &got), PL_E_BUFFER_TOO_SMALL);
    FX_RC(pl_group_state_encode(s, b, n, &got), PL_OK);
    assert_int_equal(got, n);
    crypto_hash_sha256(h1, b, n);
    pl_group_state_hash(s, h2);
    assert_memory_equal(h1, h2, 32);
    FX_RC(pl_group_state_decode(b, n, &d), PL_OK);
    FX_RC(pl_group_state_encode(d, b2, n, &got), PL_OK);
    assert_memory_equal(b, b2, n);
    pl_group_state_free(d);
    free(b);
    free(b2);
}

static void test_group_life(void **st)
{
    world *w = *st;
    pl_group_member c = member_of(&w->carol), bob1 = member_of(&w->bob);
    pl_group_state *s0 = create_ab(w, 0, NULL, NULL), *s1, *s2, *s3, *s4, *s5, *s6, *twin;
    pl_group_applied info;
    uint8_t *chg;
    size_t len, nl;
    const uint8_t *name;
    pl_group_change_body body;
    uint8_t h1[32], h2[32], idk[33];

    assert_int_equal(pl_group_state_epoch(s0), 0);
    assert_int_equal(pl_group_state_max_members(s0), PL_GROUP_MAX_MEMBERS);
    assert_int_equal(pl_group_state_member_count(s0), 2);
    assert_int_equal(pl_group_state_find_member(s0, (const uint8_t *)"bob", 3), 1);
    assert_int_equal(pl_group_state_find_member(s0, (const uint8_t *)"bo", 2), -1);
    pl_device_identity_key(w->bob.dev[1], idk);
    assert_int_equal(pl_group_state_find_device(s0, 4, idk), 1);
    assert_int_equal(pl_group_state_find_device(s0, 3, idk), -1);
    check_round_trip(s0);

    /* add carol: no rotation (she gets the current chains from now on). */
    body = (pl_group_change_body){.kind = PL_GROUP_CHANGE_ADD, .members = &c, .n_members = 1};
    len = sign_change(&w->bob, 0, s0, &body, &chg);
    s1 = apply_ok(s0, chg, len, &info);
    twin = apply_ok(s0, chg, len, NULL); /* every member computes the same state */
    pl_group_state_hash(s1, h1);
    pl_group_state_hash(twin, h2);
    assert_memory_equal(h1, h2, 32);
    assert_int_equal(info.kind, PL_GROUP_CHANGE_ADD);
    assert_int_equal(info.author_device_id, 3);
    assert_memory_equal(info.author.username, "bob", 3);
    assert_memory_equal(info.subject.username, "carol", 5);
    assert_int_equal(info.rotate_sender_keys, 0);
    assert_int_equal(pl_group_state_epoch(s1), 1);
    assert_memory_equal(pl_group_state_member(s1, 2)->username, "carol", 5);
    apply_fail(s1, chg, len, PL_E_STATE_CHAIN); /* replayed */
    free(chg);
    pl_group_state_free(twin);

    /* rename by carol. */
    body = (pl_group_change_body){
        .kind = PL_GROUP_CHANGE_RENAME, .name = (const uint8_t *)"family", .name_len = 6};
    len = sign_change(&w->carol, 0, s1, &body, &chg);
    s2 = apply_ok(s1, chg, len, &info);
    name = pl_group_state_name(s2, &nl);
    assert_int_equal(nl, 6);
    assert_memory_equal(name, "family", 6);
    assert_int_equal(info.rotate_sender_keys, 0);
    free(chg);

    /* bob drops his second device: rotate. */
    bob1.n_devices = 1;
    body =
        (pl_group_change_body){.kind = PL_GROUP_CHANGE_DEVICES, .members = &bob1, .n_members = 1};
    len = sign_change(&w->bob, 0, s2, &body, &chg);
    s3 = apply_ok(s2, chg, len, &info);
    assert_int_equal(info.rotate_sender_keys, 1);
    assert_int_equal(pl_group_state_member(s3, 1)->n_devices, 1);
    free(chg);
    /* ... and adds it back: no rotation. */
    bob1 = member_of(&w->bob);
    len = sign_change(&w->bob, 0, s3, &body, &chg);
    s4 = apply_ok(s3, chg, len, &info);
    assert_int_equal(info.rotate_sender_keys, 0);
    free(chg);

    /* alice removes bob: rotate. */
    body = (pl_group_change_body){
        .kind = PL_GROUP_CHANGE_REMOVE, .username = (const uint8_t *)"bob", .username_len = 3};
    len = sign_change(&w->alice, 0, s4, &body, &chg);
    s5 = apply_ok(s4, chg, len, &info);
    assert_int_equal(info.rotate_sender_keys, 1);
    assert_memory_equal(info.subject.username, "bob", 3);
    assert_int_equal(pl_group_state_member_count(s5), 2);
    assert_int_equal(pl_group_state_find_member(s5, (const uint8_t *)"bob", 3), -1);
    free(chg);

    /* carol leaves: rotate; alice is the last and cannot leave. */
    body = (pl_group_change_body){.kind = PL_GROUP_CHANGE_LEAVE};
    len = sign_change(&w->carol, 0, s5, &body, &chg);
    s6 = apply_ok(s5, chg, len, &info);
    assert_int_equal(info.rotate_sender_keys, 1);
    assert_int_equal(pl_group_state_member_count(s6), 1);
    assert_int_equal(pl_group_state_epoch(s6), 6);
    free(chg);
    {
        uint8_t *x = (uint8_t *)&x;

        FX_RC(pl_group_change_sign(w->alice.dev[0], (const uint8_t *)"alice", 5, s6, GID, &body, &x,
                                   &len),
              PL_E_INVALID_ARG);
        assert_null(x);
    }
    check_round_trip(s6);
    pl_group_state_free(s0);
    pl_group_state_free(s1);
    pl_group_state_free(s2);
    pl_group_state_free(s3);
    pl_group_state_free(s4);
    pl_group_state_free(s5);
    pl_group_state_free(s6);
}

static void test_group_refuses_bad_signatures(void **st)
{
    world *w = *st;
    pl_group_member c = member_of(&w->carol);
    pl_group_state *s = create_ab(w, 0, NULL, NULL);
    enc e;

    /* every byte of a genuine add flipped */
    craft_head(&e, 2, GID, 1, s, "bob", 3);
    put_member(&e, &c);
    craft_sign(&e, w->bob.sk[0]);
    {
        pl_group_state *ok = apply_ok(s, e.b, e.n, NULL);

        pl_group_state_free(ok);
    }
    for (size_t i = e.n - 64; i < e.n; i++) {
        e.b[i] ^= 0x04;
        apply_fail(s, e.b, e.n, PL_E_BAD_SIGNATURE);
        e.b[i] ^= 0x04;
    }
    /* Mallory signs as bob's device 3 with her own key. */
    craft_head(&e, 2, GID, 1, s, "bob", 3);
    put_member(&e, &c);
    craft_sign(&e, w->mallory.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_BAD_SIGNATURE);
    /* bob's device 4 key claiming to be device 3. */
    craft_head(&e, 2, GID, 1, s, "bob", 3);
    put_member(&e, &c);
    craft_sign(&e, w->bob.sk[1]);
    apply_fail(s, e.b, e.n, PL_E_BAD_SIGNATURE);
    pl_group_state_free(s);
}

static void test_group_refuses_non_members_and_chain_breaks(void **st)
{
    world *w = *st;
    pl_group_member c = member_of(&w->carol), m = member_of(&w->mallory);
    pl_group_state *s = create_ab(w, 0, NULL, NULL), *other;
    enc e;
    uint8_t other_gid[16];

    /* non-member author (a server making up a change), and an unknown device of a member */
    craft_head(&e, 2, GID, 1, s, "mallory", 1);
    put_member(&e, &m);
    craft_sign(&e, w->mallory.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_IDENTITY_MISMATCH);
    craft_head(&e, 2, GID, 1, s, "bob", 9);
    put_member(&e, &c);
    craft_sign(&e, w->bob.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_IDENTITY_MISMATCH);
    /* wrong epoch, wrong previous hash, a create's zero hash */
    craft_head(&e, 2, GID, 2, s, "bob", 3);
    put_member(&e, &c);
    craft_sign(&e, w->bob.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_STATE_CHAIN);
    craft_head(&e, 2, GID, 1, NULL, "bob", 3);
    put_member(&e, &c);
    craft_sign(&e, w->bob.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_STATE_CHAIN);
    /* another group's change */
    memcpy(other_gid, GID, 16);
    other_gid[15] ^= 1;
    craft_head(&e, 2, other_gid, 1, s, "bob", 3);
    put_member(&e, &c);
    craft_sign(&e, w->bob.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_SESSION_MISMATCH);
    /* a fork: a change made on a sibling state does not apply */
    other = create_ab(w, 5, NULL, NULL);
    craft_head(&e, 2, GID, 1, other, "bob", 3);
    put_member(&e, &c);
    craft_sign(&e, w->bob.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_STATE_CHAIN);
    pl_group_state_free(other);
    /* create on a state, add without one */
    craft_head(&e, 1, GID, 0, NULL, "alice", 1);
    put16(&e, 10);
    put8(&e, 1);
    put8(&e, 'x');
    put16(&e, 1);
    put_member(&e, &c);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_MALFORMED);
    /* ... and a create whose author is not among its members */
    apply_fail(NULL, e.b, e.n, PL_E_IDENTITY_MISMATCH);
    craft_head(&e, 2, GID, 1, s, "bob", 3);
    put_member(&e, &c);
    craft_sign(&e, w->bob.sk[0]);
    apply_fail(NULL, e.b, e.n, PL_E_MALFORMED);
    pl_group_state_free(s);
}

static void test_group_refuses_impossible_changes(void **st)
{
    world *w = *st;
    pl_group_member a = member_of(&w->alice), b = member_of(&w->bob);
    pl_group_member m = member_of(&w->mallory);
    pl_group_state *s = create_ab(w, 0, NULL, NULL);
    enc e;

    /* duplicate member: add of one already in */
    craft_head(&e, 2, GID, 1, s, "alice", 1);
    put_member(&e, &b);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_INVALID_ARG);
    /* remove of someone not in, remove of oneself */
    craft_head(&e, 3, GID, 1, s, "alice", 1);
    put8(&e, 5);
    put(&e, "carol", 5);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_INVALID_ARG);
    craft_head(&e, 3, GID, 1, s, "alice", 1);
    put8(&e, 5);
    put(&e, "alice", 5);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_IDENTITY_MISMATCH);
    /* a devices change that swaps bob's account key for mallory's */
    memcpy(m.username, "bob", 3);
    m.username_len = 3;
    craft_head(&e, 6, GID, 1, s, "alice", 1);
    put_member(&e, &m);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_IDENTITY_MISMATCH);
    /* a devices change for a non-member */
    m = member_of(&w->mallory);
    craft_head(&e, 6, GID, 1, s, "alice", 1);
    put_member(&e, &m);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_INVALID_ARG);
    (void)a;
    pl_group_state_free(s);
}

static void test_group_refuses_malformed_encodings(void **st)
{
    world *w = *st;
    pl_group_member a = member_of(&w->alice), b = member_of(&w->bob), c = member_of(&w->carol);
    pl_group_member bad;
    pl_group_state *s = create_ab(w, 0, NULL, NULL);
    enc e;
    uint8_t *chg;
    size_t len;
    pl_group_change_body body = {.kind = PL_GROUP_CHANGE_ADD, .members = &c, .n_members = 1};

    /* every truncation of a genuine change, and a trailing byte (re-signed) */
    len = sign_change(&w->alice, 0, s, &body, &chg);
    for (size_t n = 0; n < len; n++) {
        pl_group_state *x = NULL;
        int r = pl_group_apply(s, chg, n, &x, NULL);

        assert_int_not_equal(r, PL_OK);
        assert_null(x);
    }
    for (size_t n = 0; n < 40; n++)
        apply_fail(s, chg, n, PL_E_TRUNCATED);
    free(chg);
    craft_head(&e, 2, GID, 1, s, "alice", 1);
    put_member(&e, &c);
    put8(&e, 0);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_MALFORMED);
    /* version, kind */
    craft_head(&e, 2, GID, 1, s, "alice", 1);
    e.b[0] = 2;
    put_member(&e, &c);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_VERSION);
    craft_head(&e, 7, GID, 1, s, "alice", 1);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_MALFORMED);
    /* duplicate and unsorted members in a create */
    craft_head(&e, 1, GID, 0, NULL, "alice", 1);
    put16(&e, 10);
    put8(&e, 1);
    put8(&e, 'x');
    put16(&e, 2);
    put_member(&e, &a);
    put_member(&e, &a);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(NULL, e.b, e.n, PL_E_MALFORMED);
    craft_head(&e, 1, GID, 0, NULL, "alice", 1);
    put16(&e, 10);
    put8(&e, 1);
    put8(&e, 'x');
    put16(&e, 2);
    put_member(&e, &b);
    put_member(&e, &a);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(NULL, e.b, e.n, PL_E_MALFORMED);
    /* a member with no devices, unsorted devices, an X25519 account key, an empty name */
    bad = b;
    bad.n_devices = 0;
    craft_head(&e, 2, GID, 1, s, "alice", 1);
    put_member(&e, &bad);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_MALFORMED);
    bad = b;
    bad.username[0] = 'z'; /* not a member yet */
    bad.devices[0].device_id = 9;
    craft_head(&e, 2, GID, 1, s, "alice", 1);
    put_member(&e, &bad);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_MALFORMED);
    bad = c;
    bad.account_key[0] = PL_KEY_TYPE_X25519;
    craft_head(&e, 2, GID, 1, s, "alice", 1);
    put_member(&e, &bad);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_KEY_TYPE);
    craft_head(&e, 5, GID, 1, s, "alice", 1);
    put8(&e, 0);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s, e.b, e.n, PL_E_MALFORMED);
    pl_group_state_free(s);
}

static void test_group_member_limit(void **st)
{
    world *w = *st;
    pl_group_member c = member_of(&w->carol), m = member_of(&w->mallory);
    pl_group_member *ms = calloc(PL_GROUP_MAX_MEMBERS + 1, sizeof *ms);
    pl_group_state *s = create_ab(w, 3, NULL, NULL), *s1, *big;
    pl_group_change_body body = {.kind = PL_GROUP_CHANGE_ADD, .members = &c, .n_members = 1};
    uint8_t *chg = NULL;
    size_t len;
    enc e;

    /* max 3: the third member goes in, the fourth does not */
    len = sign_change(&w->alice, 0, s, &body, &chg);
    s1 = apply_ok(s, chg, len, NULL);
    free(chg);
    craft_head(&e, 2, GID, 2, s1, "alice", 1);
    put_member(&e, &m);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(s1, e.b, e.n, PL_E_TOO_LARGE);
    body.members = &m;
    FX_RC(pl_group_change_sign(w->alice.dev[0], (const uint8_t *)"alice", 5, s1, GID, &body, &chg,
                               &len),
          PL_E_INVALID_ARG);

    /* 1,000 members (alice and 999 named m000..m998 sharing carol's keys) */
    ms[0] = member_of(&w->alice);
    for (size_t i = 1; i <= PL_GROUP_MAX_MEMBERS; i++) {
        ms[i] = c;
        ms[i].username_len = 4;
        snprintf((char *)ms[i].username, sizeof ms[i].username, "m%03zu", i - 1);
    }
    body = (pl_group_change_body){.kind = PL_GROUP_CHANGE_CREATE,
                                  .name = (const uint8_t *)"big",
                                  .name_len = 3,
                                  .members = ms,
                                  .n_members = PL_GROUP_MAX_MEMBERS};
    len = sign_change(&w->alice, 0, NULL, &body, &chg);
    big = apply_ok(NULL, chg, len, NULL);
    assert_int_equal(pl_group_state_member_count(big), PL_GROUP_MAX_MEMBERS);
    check_round_trip(big);
    free(chg);
    body.members = &ms[PL_GROUP_MAX_MEMBERS];
    body.n_members = 1;
    body.kind = PL_GROUP_CHANGE_ADD;
    FX_RC(pl_group_change_sign(w->alice.dev[0], (const uint8_t *)"alice", 5, big, GID, &body, &chg,
                               &len),
          PL_E_INVALID_ARG);
    /* 1,001 in a create */
    body.kind = PL_GROUP_CHANGE_CREATE;
    body.members = ms;
    body.n_members = PL_GROUP_MAX_MEMBERS + 1;
    FX_RC(pl_group_change_sign(w->alice.dev[0], (const uint8_t *)"alice", 5, NULL, GID, &body, &chg,
                               &len),
          PL_E_INVALID_ARG);
    /* a create asking for 4 members with max 3 */
    craft_head(&e, 1, GID, 0, NULL, "alice", 1);
    put16(&e, 3);
    put8(&e, 1);
    put8(&e, 'x');
    put16(&e, 4);
    for (size_t i = 0; i < 4; i++)
        put_member(&e, &ms[i]);
    craft_sign(&e, w->alice.sk[0]);
    apply_fail(NULL, e.b, e.n, PL_E_TOO_LARGE);
    pl_group_state_free(s);
    pl_group_state_free(s1);
    pl_group_state_free(big);
    free(ms);
}

static void test_group_member_check_account_state(void **st)
{
    world *w = *st;
    uint8_t recs[2][PL_DEVICE_RECORD_BYTES], idk[33], enc_state[PL_ACCOUNT_STATE_MAX_BYTES];
    pl_account_state as;
    pl_group_member m = member_of(&w->bob);
    size_t n;

    for (size_t i = 0; i < 2; i++) {
        pl_device_identity_key(w->bob.dev[i], idk);
        FX_RC(pl_account_sign_device(w->bob.account, pl_device_id(w->bob.dev[i]), idk,
                                     FX_CREATED_AT, recs[i]),
              PL_OK);
    }
    FX_RC(pl_account_state_sign(w->bob.account, 0, NULL, 1, 3,
                                (const uint8_t(*)[PL_DEVICE_RECORD_BYTES])recs, 2, enc_state,
                                sizeof enc_state, &n),
          PL_OK);
    FX_RC(pl_account_state_verify(enc_state, n, &as), PL_OK);
    FX_RC(pl_group_member_check_account_state(&m, &as), PL_OK);
    /* a ghost device in the group that the account state does not have */
    m.devices[2] = m.devices[1];
    m.devices[2].device_id = 99;
    m.n_devices = 3;
    FX_RC(pl_group_member_check_account_state(&m, &as), PL_E_IDENTITY_MISMATCH);
    /* the right ids with another key */
    m = member_of(&w->bob);
    pl_device_identity_key(w->mallory.dev[0], m.devices[1].identity_key);
    FX_RC(pl_group_member_check_account_state(&m, &as), PL_E_IDENTITY_MISMATCH);
    /* another account */
    m = member_of(&w->bob);
    pl_account_public_key(w->mallory.account, m.account_key);
    FX_RC(pl_group_member_check_account_state(&m, &as), PL_E_IDENTITY_MISMATCH);
    /* a device missing from the group */
    m = member_of(&w->bob);
    m.n_devices = 1;
    FX_RC(pl_group_member_check_account_state(&m, &as), PL_E_IDENTITY_MISMATCH);
}

static void test_group_state_decode_refusals(void **st)
{
    world *w = *st;
    pl_group_state *s = create_ab(w, 0, NULL, NULL), *d;
    size_t n = pl_group_state_encoded_size(s), got;
    uint8_t *b = malloc(n + 1);

    FX_RC(pl_group_state_encode(s, b, n, &got), PL_OK);
    for (size_t i = 0; i < n; i++) {
        d = (pl_group_state *)&d;
        FX_RC(pl_group_state_decode(b, i, &d), PL_E_TRUNCATED);
        assert_null(d);
    }
    b[n] = 0;
    FX_RC(pl_group_state_decode(b, n + 1, &d), PL_E_MALFORMED);
    b[0] = 2;
    FX_RC(pl_group_state_decode(b, n, &d), PL_E_VERSION);
    assert_null(d);
    free(b);
    pl_group_state_free(s);
}

/* Returns the bytes of line `name` of a vector file (malloc'd, *len set). */
static uint8_t *vector(const char *file, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    const char *p = file;

    while ((p = strstr(p, name)) != NULL) {
        if ((p == file || p[-1] == '\n') && p[nl] == ' ') {
            const char *hex = p + nl + 1, *end = strchr(hex, '\n');
            size_t n = (size_t)(end - hex);
            char *copy = malloc(n + 1);
            uint8_t *out = malloc(n / 2 + 1);

            memcpy(copy, hex, n);
            copy[n] = 0;
            *len = tu_unhex(copy, out, n / 2 + 1);
            free(copy);
            return out;
        }
        p += nl;
    }
    fail_msg("vector %s missing", name);
    return NULL;
}

static void test_group_vectors_frozen(void **st)
{
    static char want[GV_MAX_TEXT_BYTES];
    size_t n = gv_generate(want, sizeof want), flen, dl, ml, pl, cl, hl;
    char *file = (char *)tu_read_file(PARLEY_TEST_VECTORS_DIR "/group_v1.txt", &flen);
    uint8_t *dist, *msg, *pt, *chg, *hash, out[64], h[32];
    pl_sender_key_receiver *r = NULL;
    pl_group_state *s0, *s1;
    size_t out_len;

    (void)st;
    assert_non_null(file);
    assert_int_not_equal(n, 0);
    assert_int_equal(flen, n);
    assert_memory_equal(file, want, n);

    /* Read back as another implementation would: decrypt and apply from the file alone. */
    dist = vector(file, "sender_distribution", &dl);
    FX_RC(pl_sender_key_receiver_create(&r, dist, dl), PL_OK);
    for (int i = 0; i < 2; i++) {
        char name[32];

        snprintf(name, sizeof name, "group_message_%d", i);
        msg = vector(file, name, &ml);
        snprintf(name, sizeof name, "plaintext_%d", i);
        pt = vector(file, name, &pl);
        FX_RC(pl_sender_key_receiver_decrypt(r, msg, ml, out, sizeof out, &out_len), PL_OK);
        assert_int_equal(out_len, pl);
        assert_memory_equal(out, pt, pl);
        free(msg);
        free(pt);
    }
    chg = vector(file, "change_0_create", &cl);
    s0 = apply_ok(NULL, chg, cl, NULL);
    free(chg);
    hash = vector(file, "state_0_hash", &hl);
    pl_group_state_hash(s0, h);
    assert_memory_equal(h, hash, 32);
    free(hash);
    chg = vector(file, "change_1_rename", &cl);
    s1 = apply_ok(s0, chg, cl, NULL);
    free(chg);
    hash = vector(file, "state_1_hash", &hl);
    pl_group_state_hash(s1, h);
    assert_memory_equal(h, hash, 32);
    free(hash);
    pl_group_state_free(s0);
    pl_group_state_free(s1);
    pl_sender_key_receiver_free(r);
    free(dist);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_change_matches_independent_encoding, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_life, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_refuses_bad_signatures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_refuses_non_members_and_chain_breaks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_refuses_impossible_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_refuses_malformed_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_member_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_member_check_account_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_state_decode_refusals, setup, teardown),
        cmocka_unit_test(test_group_vectors_frozen),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

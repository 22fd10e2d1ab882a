/*
 * test_ratchet_chaos.c: the Double Ratchet under a hostile network, and its skipped-key
 * bounds (parley/session.h, PROTOCOL.md §6.4).
 *
 * The chaos tests run thousands of messages both ways through a simulated network that loses,
 * reorders and duplicates them on a schedule drawn from a seeded PRNG, saving and reloading
 * both parties now and then. A model of the ratchet predicts, after every delivery, exactly how
 * many skipped keys the receiver holds.
 */
#include "fixture.h"

/* ---- Schedule PRNG (splitmix64): the network's choices, independent of libparley's RNG. ---- */

static uint64_t mix_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static unsigned mix_below(uint64_t *s, unsigned n)
{
    return (unsigned)(mix_next(s) % n);
}

/* ---- The network and the model ----------------------------------------------------------------
 */

#define MAX_MSGS 3200u
#define POOL_MAX 48u
#define PT_MAX 40u
/* Finished receiving chains whose remote keys a session keeps (PROTOCOL.md §6.4, §12). */
#define RETIRED_CHAINS 16

typedef struct sent {
    uint8_t *ct;
    size_t ct_len;
    uint8_t pt[PT_MAX];
    size_t pt_len;
    int from;       /* 0 Alice, 1 Bob */
    unsigned chain; /* the sender's sending chain, counted from 0 */
    unsigned n;     /* the message's number in that chain */
    int lost;
    int delivered; /* decrypted once */
} sent;

/* What one party knows of the other's chains. */
typedef struct view {
    long cur;   /* highest peer chain received, -1 before any */
    long max_n; /* highest message number received in chain cur */
    size_t skipped;
} view;

typedef struct chaos {
    fx_pair x;
    sent *msgs;
    unsigned nmsgs;
    unsigned pool[POOL_MAX];
    unsigned npool;
    unsigned *chain_len[2]; /* messages sent per chain, per sender */
    view views[2];          /* views[p]: what party p knows of the other */
    uint64_t prng;
    /* counters for the schedule's self-check */
    unsigned lost, dups, replays, reordered, deliveries, ratchet_from_alice;
    long oldest_replay; /* chains between a replayed message's and the receiver's current */
} chaos;

static pl_session **session_of(chaos *c, int party)
{
    return party == 0 ? &c->x.a : &c->x.b;
}

static pl_rng *rng_of(chaos *c, int party)
{
    return party == 0 ? &c->x.alice.rng : &c->x.bob.rng;
}

/* The sending chain a party is on: Alice starts on chain 0 and moves on with every new chain of
 * Bob's she receives; Bob's first chain starts when he receives Alice's chain 0. */
static unsigned sending_chain(const chaos *c, int party)
{
    long seen = c->views[party].cur;

    return party == 0 ? (unsigned)(seen + 1) : (unsigned)seen;
}

static void send_one(chaos *c, int from, unsigned loss_pct, unsigned dup_pct)
{
    sent *m;
    unsigned roll, copies;

    if (c->nmsgs == MAX_MSGS)
        return;
    m = &c->msgs[c->nmsgs];
    memset(m, 0, sizeof *m);
    m->from = from;
    m->chain = sending_chain(c, from);
    m->n = c->chain_len[from][m->chain]++;
    m->pt_len = mix_below(&c->prng, PT_MAX + 1);
    for (size_t i = 0; i < m->pt_len; i++)
        m->pt[i] = (uint8_t)mix_next(&c->prng);
    m->ct = fx_encrypt(*session_of(c, from), m->pt, m->pt_len, &m->ct_len);
    if (from == 0 && c->views[0].cur < 0) {
        assert_int_equal(pl_message_kind(m->ct, m->ct_len), PL_MSG_PREKEY);
    } else {
        assert_int_equal(pl_message_kind(m->ct, m->ct_len), PL_MSG_RATCHET);
        c->ratchet_from_alice += from == 0;
    }

    roll = mix_below(&c->prng, 100);
    if (roll < loss_pct) {
        m->lost = 1;
        c->lost++;
        copies = 0;
    } else if (roll < loss_pct + dup_pct) {
        copies = 2 + (mix_below(&c->prng, 4) == 0);
        c->dups++;
    } else {
        copies = 1;
    }
    for (unsigned i = 0; i < copies && c->npool < POOL_MAX; i++)
        c->pool[c->npool++] = c->nmsgs;
    c->nmsgs++;
}

/* The model's update when `to` decrypts message m for the first time. */
static void model_receive(chaos *c, int to, const sent *m)
{
    view *v = &c->views[to];

    if (v->cur < 0) {
        assert_int_equal(m->chain, 0);
        v->skipped += m->n;
        v->cur = 0;
        v->max_n = m->n;
    } else if ((long)m->chain == v->cur + 1) {
        /* A DH ratchet step: the rest of the old chain, then the new chain up to m. */
        v->skipped += c->chain_len[m->from][v->cur] - (size_t)(v->max_n + 1);
        v->skipped += m->n;
        v->cur = m->chain;
        v->max_n = m->n;
    } else if ((long)m->chain == v->cur && (long)m->n > v->max_n) {
        v->skipped += m->n - (size_t)(v->max_n + 1);
        v->max_n = m->n;
    } else if ((long)m->chain <= v->cur) {
        assert_true(v->skipped > 0);
        v->skipped--;
        c->reordered++;
    } else {
        fail_msg("model: chain %u arrived while on chain %ld", m->chain, v->cur);
    }
    /* The schedule is meant to stay under the cap, where no key is evicted. */
    assert_true(v->skipped <= PL_RATCHET_MAX_SKIPPED_KEYS);
}

static void deliver_one(chaos *c)
{
    unsigned slot = mix_below(&c->prng, c->npool), id = c->pool[slot];
    sent *m = &c->msgs[id];
    int to = !m->from;
    pl_session **s = session_of(c, to);

    c->pool[slot] = c->pool[--c->npool];
    c->deliveries++;
    assert_false(m->lost);
    if (*s == NULL) {
        /* Bob's first delivery: whichever of Alice's prekey messages arrives first. */
        assert_int_equal(to, 1);
        *s = fx_accept(&c->x.bob, m->ct, m->ct_len, m->pt, m->pt_len);
    } else if (m->delivered) {
        fx_snapshot snap = fx_snap(*s);

        long age = c->views[to].cur - (long)m->chain;

        /* PROTOCOL.md §6.4: a replay is recognised as such while its chain is the current one
         * or one of the last RETIRED_CHAINS finished ones; from an older chain it is a
         * DH step to an unknown key that fails to authenticate. Either way nothing changes. */
        FX_DECRYPT_FAILS(*s, rng_of(c, to), m->ct, m->ct_len,
                         age <= RETIRED_CHAINS ? PL_E_REPLAY : PL_E_DECRYPT);
        if (age > c->oldest_replay)
            c->oldest_replay = age;
        FX_UNCHANGED(*s, &snap);
        fx_snap_free(&snap);
        c->replays++;
        return;
    } else {
        fx_decrypt_expect(*s, rng_of(c, to), m->ct, m->ct_len, m->pt, m->pt_len);
    }
    m->delivered = 1;
    model_receive(c, to, m);
    if (pl_session_skipped_keys(*s) != c->views[to].skipped)
        fail_msg("after message %u (from %d, chain %u, n %u): %zu skipped keys, model says %zu", id,
                 m->from, m->chain, m->n, pl_session_skipped_keys(*s), c->views[to].skipped);
}

typedef struct schedule {
    uint64_t seed;
    int with_opk;
    unsigned messages;
    unsigned loss_pct, dup_pct;
    unsigned max_burst;
    unsigned reload_every; /* deliveries between save/load of both parties */
} schedule;

static void run_chaos(const schedule *sch)
{
    chaos *c = fx_malloc(sizeof *c);
    unsigned since_reload = 0;

    memset(c, 0, sizeof *c);
    c->msgs = fx_malloc(MAX_MSGS * sizeof *c->msgs);
    c->chain_len[0] = calloc(MAX_MSGS + 1, sizeof(unsigned));
    c->chain_len[1] = calloc(MAX_MSGS + 1, sizeof(unsigned));
    assert_non_null(c->chain_len[0]);
    assert_non_null(c->chain_len[1]);
    c->prng = sch->seed;
    c->views[0].cur = c->views[1].cur = -1;
    c->views[0].max_n = c->views[1].max_n = -1;
    fx_pair_initiate(&c->x, sch->with_opk);
    assert_true(sch->messages <= MAX_MSGS);

    while (c->nmsgs < sch->messages || c->npool > 0) {
        unsigned roll = mix_below(&c->prng, 100);
        int may_send = c->nmsgs < sch->messages && c->npool + sch->max_burst * 3 <= POOL_MAX;

        if (may_send && roll < 40) {
            /* Bob can only speak once he has a session. */
            int from = (roll < 20 || c->x.b == NULL) ? 0 : 1;
            unsigned burst = 1 + mix_below(&c->prng, sch->max_burst);

            for (unsigned i = 0; i < burst && c->nmsgs < sch->messages; i++)
                send_one(c, from, sch->loss_pct, sch->dup_pct);
        } else if (c->npool > 0) {
            deliver_one(c);
            if (++since_reload == sch->reload_every) {
                since_reload = 0;
                c->x.a = fx_reload(c->x.a);
                if (c->x.b)
                    c->x.b = fx_reload(c->x.b);
            }
        } else if (c->nmsgs < sch->messages) {
            send_one(c, 0, sch->loss_pct, sch->dup_pct);
        }
    }

    /* CHAOS_STATS=1 in the environment prints what the schedule did, for tuning it. */
    if (getenv("CHAOS_STATS"))
        fprintf(stderr,
                "lost %u dups %u replays %u reordered %u chains %ld/%ld skipped %zu/%zu oldest "
                "replay %ld\n",
                c->lost, c->dups, c->replays, c->reordered, c->views[0].cur, c->views[1].cur,
                c->views[0].skipped, c->views[1].skipped, c->oldest_replay);
    /* Every message that was not lost arrived and decrypted exactly once. */
    for (unsigned i = 0; i < c->nmsgs; i++)
        if (!c->msgs[i].lost && !c->msgs[i].delivered)
            fail_msg("message %u was neither lost nor delivered", i);
    /* The schedule really was hostile, and the ratchet really turned. */
    assert_int_equal(c->nmsgs, sch->messages);
    assert_true(c->lost > sch->messages * sch->loss_pct / 200);
    assert_true(c->dups > sch->messages * sch->dup_pct / 200);
    assert_true(c->replays >= c->dups);
    assert_true(c->reordered > 20);
    assert_true(c->ratchet_from_alice > 0);
    assert_true(c->views[0].cur > 20 && c->views[1].cur > 20);
    /* What is left skipped is what was lost inside a chain that later messages passed. */
    assert_true(pl_session_skipped_keys(c->x.a) + pl_session_skipped_keys(c->x.b) <= c->lost);

    for (unsigned i = 0; i < c->nmsgs; i++)
        free(c->msgs[i].ct);
    free(c->msgs);
    free(c->chain_len[0]);
    free(c->chain_len[1]);
    fx_pair_free(&c->x);
    free(c);
}

static void chaos_loss_reordering_duplication_with_opk(void **state)
{
    static const schedule sch = {UINT64_C(0x5EED0001), 1, 3000, 5, 5, 4, 211};

    (void)state;
    run_chaos(&sch);
}

static void chaos_heavy_loss_long_bursts_without_opk(void **state)
{
    static const schedule sch = {UINT64_C(0x5EED0002), 0, 2500, 15, 10, 12, 97};

    (void)state;
    run_chaos(&sch);
}

/* ---- Skipped-key bounds -----------------------------------------------------------------------
 */

/* Encrypts n messages with s into a malloc'd array. */
static fx_msg *make_run(pl_session *s, const char *tag, unsigned n)
{
    fx_msg *m = fx_malloc(n * sizeof *m);

    for (unsigned i = 0; i < n; i++)
        fx_msg_make(&m[i], s, tag, i);
    return m;
}

static void free_run(fx_msg *m, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        fx_msg_free(&m[i]);
    free(m);
}

/* Bob replies and Alice decrypts it, so Alice's next messages start a new chain. */
static void turn(fx_pair *x)
{
    size_t len;
    uint8_t *r = fx_encrypt_str(x->b, "turn", &len);

    fx_decrypt_str(x->a, &x->alice.rng, r, len, "turn");
    free(r);
}

static void refused_as_too_many_skipped(pl_session *s, const pl_rng *rng, const fx_msg *m)
{
    fx_snapshot snap = fx_snap(s);
    size_t skipped = pl_session_skipped_keys(s);

    FX_DECRYPT_FAILS(s, rng, m->bytes, m->len, PL_E_TOO_MANY_SKIPPED);
    FX_UNCHANGED(s, &snap);
    assert_int_equal(pl_session_skipped_keys(s), skipped);
    fx_snap_free(&snap);
}

/* Within the current receiving chain: skipping MAX_SKIP+1 keys is refused and changes nothing;
 * skipping exactly MAX_SKIP works, and every skipped key then decrypts its message. */
static void skipping_max_skip_in_one_chain_works_and_one_more_is_refused(void **state)
{
    const unsigned n = PL_RATCHET_MAX_SKIP + 3;
    fx_pair x;
    fx_msg *m;

    (void)state;
    fx_pair_establish(&x, 1);
    m = make_run(x.a, "skip", n);
    /* Bob holds chain message 0, so message MAX_SKIP+2 would skip MAX_SKIP+1 keys. */
    fx_decrypt_expect(x.b, &x.bob.rng, m[0].bytes, m[0].len, m[0].text, m[0].text_len);
    refused_as_too_many_skipped(x.b, &x.bob.rng, &m[PL_RATCHET_MAX_SKIP + 2]);
    fx_decrypt_expect(x.b, &x.bob.rng, m[PL_RATCHET_MAX_SKIP + 1].bytes,
                      m[PL_RATCHET_MAX_SKIP + 1].len, m[PL_RATCHET_MAX_SKIP + 1].text,
                      m[PL_RATCHET_MAX_SKIP + 1].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), PL_RATCHET_MAX_SKIP);
    fx_decrypt_expect(x.b, &x.bob.rng, m[PL_RATCHET_MAX_SKIP + 2].bytes,
                      m[PL_RATCHET_MAX_SKIP + 2].len, m[PL_RATCHET_MAX_SKIP + 2].text,
                      m[PL_RATCHET_MAX_SKIP + 2].text_len);
    for (unsigned i = PL_RATCHET_MAX_SKIP; i >= 1; i--)
        fx_decrypt_expect(x.b, &x.bob.rng, m[i].bytes, m[i].len, m[i].text, m[i].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), 0);
    free_run(m, n);
    fx_pair_free(&x);
}

/* The first message of a new chain (a DH ratchet step) is bounded the same way. */
static void max_skip_applies_to_the_first_message_of_a_new_chain(void **state)
{
    const unsigned n = PL_RATCHET_MAX_SKIP + 2;
    fx_pair x;
    fx_msg *m;

    (void)state;
    fx_pair_establish(&x, 1);
    m = make_run(x.a, "new chain", n);
    refused_as_too_many_skipped(x.b, &x.bob.rng, &m[PL_RATCHET_MAX_SKIP + 1]);
    fx_decrypt_expect(x.b, &x.bob.rng, m[PL_RATCHET_MAX_SKIP].bytes, m[PL_RATCHET_MAX_SKIP].len,
                      m[PL_RATCHET_MAX_SKIP].text, m[PL_RATCHET_MAX_SKIP].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), PL_RATCHET_MAX_SKIP);
    fx_decrypt_expect(x.b, &x.bob.rng, m[0].bytes, m[0].len, m[0].text, m[0].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, m[PL_RATCHET_MAX_SKIP + 1].bytes,
                      m[PL_RATCHET_MAX_SKIP + 1].len, m[PL_RATCHET_MAX_SKIP + 1].text,
                      m[PL_RATCHET_MAX_SKIP + 1].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), PL_RATCHET_MAX_SKIP - 1);
    free_run(m, n);
    fx_pair_free(&x);
}

/* A new chain's first message also skips what is left of the previous chain (its header's
 * previous chain length): more than MAX_SKIP of those is refused. */
static void max_skip_applies_to_the_rest_of_the_previous_chain(void **state)
{
    const unsigned n = PL_RATCHET_MAX_SKIP + 2;
    fx_pair x;
    fx_msg *m, next;

    (void)state;
    fx_pair_establish(&x, 1);
    m = make_run(x.a, "old chain", n);
    /* Bob has message 0 of the chain; the chain is MAX_SKIP+2 long: MAX_SKIP+1 left. */
    fx_decrypt_expect(x.b, &x.bob.rng, m[0].bytes, m[0].len, m[0].text, m[0].text_len);
    turn(&x);
    fx_msg_make(&next, x.a, "next chain", 0);
    refused_as_too_many_skipped(x.b, &x.bob.rng, &next);
    /* With one more of the old chain received, exactly MAX_SKIP are left: accepted. */
    fx_decrypt_expect(x.b, &x.bob.rng, m[1].bytes, m[1].len, m[1].text, m[1].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, next.bytes, next.len, next.text, next.text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), PL_RATCHET_MAX_SKIP);
    fx_decrypt_expect(x.b, &x.bob.rng, m[n - 1].bytes, m[n - 1].len, m[n - 1].text,
                      m[n - 1].text_len);
    fx_msg_free(&next);
    free_run(m, n);
    fx_pair_free(&x);
}

/* Three chains of skips: the store fills to exactly PL_RATCHET_MAX_SKIPPED_KEYS, then the
 * oldest keys are evicted first; a message whose key was evicted is a replay. */
static void skipped_keys_are_capped_and_the_oldest_evicted(void **state)
{
    const unsigned n = PL_RATCHET_MAX_SKIP + 1, extra = 10;
    fx_pair x;
    fx_msg *c1, *c2, *c3;
    fx_snapshot snap;

    (void)state;
    assert_true(2 * PL_RATCHET_MAX_SKIP >= PL_RATCHET_MAX_SKIPPED_KEYS);
    fx_pair_establish(&x, 1);

    c1 = make_run(x.a, "chain one", n);
    fx_decrypt_expect(x.b, &x.bob.rng, c1[n - 1].bytes, c1[n - 1].len, c1[n - 1].text,
                      c1[n - 1].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), PL_RATCHET_MAX_SKIP);
    turn(&x);

    c2 = make_run(x.a, "chain two", n);
    fx_decrypt_expect(x.b, &x.bob.rng, c2[n - 1].bytes, c2[n - 1].len, c2[n - 1].text,
                      c2[n - 1].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), 2 * PL_RATCHET_MAX_SKIP);
    turn(&x);

    c3 = make_run(x.a, "chain three", extra + 1);
    fx_decrypt_expect(x.b, &x.bob.rng, c3[extra].bytes, c3[extra].len, c3[extra].text,
                      c3[extra].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), PL_RATCHET_MAX_SKIPPED_KEYS);

    /* The store survives a reload as it is. */
    x.b = fx_reload(x.b);

    /* Evicted: the oldest 2*MAX_SKIP + extra - MAX_SKIPPED_KEYS keys of chain one. */
    {
        const unsigned evicted = 2 * PL_RATCHET_MAX_SKIP + extra - PL_RATCHET_MAX_SKIPPED_KEYS;

        snap = fx_snap(x.b);
        for (unsigned i = 0; i < evicted; i++) {
            FX_DECRYPT_FAILS(x.b, &x.bob.rng, c1[i].bytes, c1[i].len, PL_E_REPLAY);
            FX_UNCHANGED(x.b, &snap);
        }
        fx_snap_free(&snap);
        fx_decrypt_expect(x.b, &x.bob.rng, c1[evicted].bytes, c1[evicted].len, c1[evicted].text,
                          c1[evicted].text_len);
        assert_int_equal(pl_session_skipped_keys(x.b), PL_RATCHET_MAX_SKIPPED_KEYS - 1);
    }
    fx_decrypt_expect(x.b, &x.bob.rng, c1[n - 2].bytes, c1[n - 2].len, c1[n - 2].text,
                      c1[n - 2].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, c2[0].bytes, c2[0].len, c2[0].text, c2[0].text_len);
    fx_decrypt_expect(x.b, &x.bob.rng, c3[0].bytes, c3[0].len, c3[0].text, c3[0].text_len);
    assert_int_equal(pl_session_skipped_keys(x.b), PL_RATCHET_MAX_SKIPPED_KEYS - 4);

    free_run(c1, n);
    free_run(c2, n);
    free_run(c3, extra + 1);
    fx_pair_free(&x);
}

/* Chain after chain of skips: the count grows by each message's skips until it reaches the cap
 * and then stays there, never above it. */
static void skipped_keys_never_exceed_the_cap(void **state)
{
    const unsigned per_chain = 700, chains = 5;
    size_t want = 0;
    fx_pair x;

    (void)state;
    fx_pair_establish(&x, 0);
    for (unsigned c = 0; c < chains; c++) {
        fx_msg *m = make_run(x.a, "cap", per_chain);
        const unsigned last = per_chain - 1, mid = per_chain / 2;

        /* The last message skips all the others; one of those then decrypts. */
        fx_decrypt_expect(x.b, &x.bob.rng, m[last].bytes, m[last].len, m[last].text,
                          m[last].text_len);
        want += last;
        if (want > PL_RATCHET_MAX_SKIPPED_KEYS)
            want = PL_RATCHET_MAX_SKIPPED_KEYS;
        assert_int_equal(pl_session_skipped_keys(x.b), want);
        fx_decrypt_expect(x.b, &x.bob.rng, m[mid].bytes, m[mid].len, m[mid].text, m[mid].text_len);
        want--;
        assert_int_equal(pl_session_skipped_keys(x.b), want);
        free_run(m, per_chain);
        turn(&x);
    }
    assert_int_equal(want, PL_RATCHET_MAX_SKIPPED_KEYS - 1);
    fx_pair_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chaos_loss_reordering_duplication_with_opk),
        cmocka_unit_test(chaos_heavy_loss_long_bursts_without_opk),
        cmocka_unit_test(skipping_max_skip_in_one_chain_works_and_one_more_is_refused),
        cmocka_unit_test(max_skip_applies_to_the_first_message_of_a_new_chain),
        cmocka_unit_test(max_skip_applies_to_the_rest_of_the_previous_chain),
        cmocka_unit_test(skipped_keys_are_capped_and_the_oldest_evicted),
        cmocka_unit_test(skipped_keys_never_exceed_the_cap),
    };

    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

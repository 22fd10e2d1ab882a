/*
 * groupbench.c: group-bench, the cost of group messaging in libparley (docs/BENCHMARKS.md,
 * "Groups"): per group message, the sender's pl_sender_key_encrypt (one AEAD, one Ed25519
 * signature: the same at any group size, since the server fans one ciphertext out) and a
 * receiver's pl_sender_key_receiver_decrypt (signature check, one chain step, AEAD), in
 * order and at the far edge of the skip window; the sender's cost of a key rotation to
 * 10, 100 and 1,000 member devices (a new chain, then its distribution message encrypted in
 * one pairwise session per device); and membership changes at 1,000 members: signing and
 * applying an add, a remove, and a create of the whole group. Medians of many calls;
 * figures, never assertions.
 *
 *   build-bench/bench/group-bench [--quick]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"
#include "parley/parley.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double median_us(uint64_t *ns, unsigned n)
{
    qsort(ns, n, sizeof *ns, cmp_u64);
    return (double)ns[n / 2] / 1000.0;
}

static void row(const char *what, double us, const char *note)
{
    printf("  %-52s %10.1f us   %s\n", what, us, note);
}

/* A recognisable plaintext (bench.h's helpers live in parley-bench's main.c). */
static void fill(uint8_t *buf, size_t len, unsigned i)
{
    for (size_t j = 0; j < len; j++)
        buf[j] = (uint8_t)(i * 131u + j * 7u + 1u);
}

static int check(const uint8_t *buf, size_t len, unsigned i)
{
    for (size_t j = 0; j < len; j++)
        if (buf[j] != (uint8_t)(i * 131u + j * 7u + 1u))
            return -1;
    return 0;
}

static int fail(const char *what, int r)
{
    fprintf(stderr, "group-bench: %s: %s\n", what, pl_errname(r));
    return -1;
}

static const uint8_t GID[PL_GROUP_ID_BYTES] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

/* Sender and receiver cost per message of len bytes; n messages each. */
static int bench_messages(const pl_device *dev, size_t len, unsigned n)
{
    pl_sender_key *key = NULL;
    pl_sender_key_receiver *rc = NULL;
    uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES], pt[1024], out[1024];
    uint8_t *msgs = malloc((size_t)n * PL_GROUP_MESSAGE_BYTES(1024));
    size_t *lens = calloc(n, sizeof *lens), out_len;
    uint64_t *enc = calloc(n, sizeof *enc), *dec = calloc(n, sizeof *dec);
    char what[96];
    int r = -1, e;

    if (!msgs || !lens || !enc || !dec)
        goto out;
    if ((e = pl_sender_key_generate(&key, NULL, GID, dev)) != PL_OK)
        goto fail_e;
    pl_sender_key_distribution(key, dist);
    if ((e = pl_sender_key_receiver_create(&rc, dist, sizeof dist)) != PL_OK)
        goto fail_e;
    fill(pt, len, 0);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *m = msgs + (size_t)i * PL_GROUP_MESSAGE_BYTES(1024);
        uint64_t t0 = bench_now();

        e = pl_sender_key_encrypt(key, pt, len, m, PL_GROUP_MESSAGE_BYTES(1024), &lens[i]);
        enc[i] = bench_now() - t0;
        if (e != PL_OK)
            goto fail_e;
    }
    for (unsigned i = 0; i < n; i++) {
        uint8_t *m = msgs + (size_t)i * PL_GROUP_MESSAGE_BYTES(1024);
        uint64_t t0 = bench_now();

        e = pl_sender_key_receiver_decrypt(rc, m, lens[i], out, sizeof out, &out_len);
        dec[i] = bench_now() - t0;
        if (e != PL_OK || out_len != len || check(out, len, 0) != 0)
            goto fail_e;
    }
    snprintf(what, sizeof what, "sender: encrypt + sign, %zu B", len);
    row(what, median_us(enc, n), "once per message, any group size");
    snprintf(what, sizeof what, "receiver: verify + decrypt, %zu B, in order", len);
    row(what, median_us(dec, n), "per receiving device");
    r = 0;
    goto out;
fail_e:
    fail("messages", e);
out:
    pl_sender_key_receiver_free(rc);
    pl_sender_key_free(key);
    free(msgs);
    free(lens);
    free(enc);
    free(dec);
    return r;
}

/* A receiver whose next message is PL_SENDER_KEY_MAX_SKIP ahead: the worst case. */
static int bench_skip(const pl_device *dev, unsigned n)
{
    uint64_t *ns = calloc(n, sizeof *ns);
    uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES], m[PL_GROUP_MESSAGE_BYTES(100)], pt[100];
    uint8_t out[100];
    size_t len = 0, out_len;
    int e = PL_OK;

    if (ns == NULL)
        return -1;
    fill(pt, sizeof pt, 0);
    for (unsigned i = 0; i < n && e == PL_OK; i++) {
        pl_sender_key *key = NULL;
        pl_sender_key_receiver *rc = NULL;
        uint64_t t0;

        if ((e = pl_sender_key_generate(&key, NULL, GID, dev)) != PL_OK)
            break;
        pl_sender_key_distribution(key, dist);
        e = pl_sender_key_receiver_create(&rc, dist, sizeof dist);
        for (unsigned j = 0; j <= PL_SENDER_KEY_MAX_SKIP && e == PL_OK; j++)
            e = pl_sender_key_encrypt(key, pt, sizeof pt, m, sizeof m, &len);
        if (e == PL_OK) {
            t0 = bench_now();
            e = pl_sender_key_receiver_decrypt(rc, m, len, out, sizeof out, &out_len);
            ns[i] = bench_now() - t0;
        }
        pl_sender_key_receiver_free(rc);
        pl_sender_key_free(key);
    }
    if (e != PL_OK) {
        free(ns);
        return fail("skip", e);
    }
    row("receiver: 100 B, 2,000 messages ahead", median_us(ns, n),
        "derives and keeps 2,000 skipped keys");
    free(ns);
    return 0;
}

/* A session pair from a's side, for the pairwise cost of distributing a sender key. */
static int session_pair(pl_session **a, pl_session **b)
{
    pl_account *acct = NULL;
    pl_device *da = NULL, *db = NULL;
    pl_signed_prekey *spk = NULL;
    uint8_t ik[PL_PUBKEY_BYTES], rec[PL_DEVICE_RECORD_BYTES],
        spk_pub[PL_SIGNED_PREKEY_PUBLIC_BYTES];
    uint8_t bundle_bytes[PL_BUNDLE_MAX_BYTES], acct_key[PL_PUBKEY_BYTES], msg[256], pt[16];
    size_t bl, ml, pl;
    pl_bundle bundle;
    int e;

    if ((e = pl_account_generate(&acct, NULL)) || (e = pl_device_generate(&da, NULL, 1)) ||
        (e = pl_device_generate(&db, NULL, 2)))
        goto out;
    pl_account_public_key(acct, acct_key);
    pl_device_identity_key(db, ik);
    if ((e = pl_account_sign_device(acct, 2, ik, 1700000000u, rec)) ||
        (e = pl_signed_prekey_generate(&spk, NULL, db, 1, 1700000000u)))
        goto out;
    pl_signed_prekey_public(spk, spk_pub);
    if ((e = pl_bundle_encode(rec, spk_pub, NULL, bundle_bytes, sizeof bundle_bytes, &bl)) ||
        (e = pl_bundle_verify(bundle_bytes, bl, acct_key, &bundle)) ||
        (e = pl_session_initiate(a, NULL, da, &bundle)) ||
        (e = pl_session_encrypt(*a, (const uint8_t *)"hi", 2, msg, sizeof msg, &ml)) ||
        (e = pl_session_accept(b, NULL, db, spk, NULL, msg, ml, pt, sizeof pt, &pl)) ||
        (e = pl_session_encrypt(*b, (const uint8_t *)"hi", 2, msg, sizeof msg, &ml)) ||
        (e = pl_session_decrypt(*a, NULL, msg, ml, pt, sizeof pt, &pl)))
        goto out;
out:
    pl_signed_prekey_free(spk);
    pl_device_free(da);
    pl_device_free(db);
    pl_account_free(acct);
    return e == PL_OK ? 0 : fail("session pair", e);
}

/* A rotation: a new chain, and its distribution encrypted once per member device. One
 * session stands in for each device's own: the per-device work is the same. */
static int bench_rotation(const pl_device *dev, unsigned devices, unsigned n)
{
    pl_session *a = NULL, *b = NULL;
    uint8_t dist[PL_SENDER_KEY_DISTRIBUTION_BYTES], msg[PL_SENDER_KEY_DISTRIBUTION_BYTES + 256];
    uint64_t *ns = calloc(n, sizeof *ns);
    size_t ml;
    char what[96];
    int e = PL_OK;

    if (ns == NULL || session_pair(&a, &b) != 0) {
        free(ns);
        return -1;
    }
    for (unsigned i = 0; i < n && e == PL_OK; i++) {
        pl_sender_key *key = NULL;
        uint64_t t0 = bench_now();

        e = pl_sender_key_generate(&key, NULL, GID, dev);
        if (e == PL_OK)
            pl_sender_key_distribution(key, dist);
        for (unsigned d = 0; d < devices && e == PL_OK; d++)
            e = pl_session_encrypt(a, dist, sizeof dist, msg, sizeof msg, &ml);
        ns[i] = bench_now() - t0;
        pl_sender_key_free(key);
    }
    pl_session_free(a);
    pl_session_free(b);
    if (e != PL_OK) {
        free(ns);
        return fail("rotation", e);
    }
    snprintf(what, sizeof what, "sender key rotation to %u member devices", devices);
    row(what, median_us(ns, n), "new chain + one pairwise message per device");
    free(ns);
    return 0;
}

static pl_group_member bench_member(unsigned i, const uint8_t account_key[PL_PUBKEY_BYTES],
                                    const uint8_t identity_key[PL_PUBKEY_BYTES])
{
    pl_group_member m;

    memset(&m, 0, sizeof m);
    m.username_len = (uint8_t)snprintf((char *)m.username, sizeof m.username, "user%05u", i);
    memcpy(m.account_key, account_key, PL_PUBKEY_BYTES);
    m.n_devices = 2; /* a phone and a laptop */
    m.devices[0].device_id = 1;
    m.devices[1].device_id = 2;
    memcpy(m.devices[0].identity_key, identity_key, PL_PUBKEY_BYTES);
    memcpy(m.devices[1].identity_key, identity_key, PL_PUBKEY_BYTES);
    return m;
}

/* Membership changes at PL_GROUP_MAX_MEMBERS members (two devices each). */
static int bench_membership(const pl_device *author, unsigned n)
{
    const unsigned big = PL_GROUP_MAX_MEMBERS;
    pl_account *acct = NULL;
    uint8_t ak[PL_PUBKEY_BYTES], ik[PL_PUBKEY_BYTES];
    pl_group_member *ms = calloc(big + 1, sizeof *ms);
    pl_group_state *s999 = NULL, *s1000 = NULL;
    uint64_t *sign = calloc(n, sizeof *sign), *apply = calloc(n, sizeof *apply);
    uint8_t *chg = NULL;
    size_t len = 0, create_len = 0;
    pl_group_change_body body;
    int e = PL_E_NOMEM;

    if (!ms || !sign || !apply || (e = pl_account_generate(&acct, NULL)) != PL_OK)
        goto out;
    pl_account_public_key(acct, ak);
    pl_device_identity_key(author, ik);
    for (unsigned i = 0; i <= big; i++)
        ms[i] = bench_member(i, ak, ik);
    ms[0].n_devices = 1;
    ms[0].devices[0].device_id = pl_device_id(author);

    /* create with 1,000 members */
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_CREATE;
    body.name = (const uint8_t *)"everyone";
    body.name_len = 8;
    body.members = ms;
    body.n_members = big;
    for (unsigned i = 0; i < n; i++) {
        pl_group_state *s = NULL;
        uint64_t t0 = bench_now(), t1;

        free(chg);
        chg = NULL;
        if ((e = pl_group_change_sign(author, ms[0].username, ms[0].username_len, NULL, GID, &body,
                                      &chg, &create_len)) != PL_OK)
            goto out;
        t1 = bench_now();
        e = pl_group_apply(NULL, chg, create_len, &s, NULL);
        apply[i] = bench_now() - t1;
        sign[i] = t1 - t0;
        pl_group_state_free(s1000);
        s1000 = s;
        if (e != PL_OK)
            goto out;
    }
    row("create, 1,000 members x 2 devices: sign", median_us(sign, n), "(checks by applying)");
    row("create, 1,000 members x 2 devices: apply", median_us(apply, n), "");
    printf("  %-52s %10zu B\n", "create change size", create_len);
    printf("  %-52s %10zu B\n", "state encoding at 1,000 members",
           pl_group_state_encoded_size(s1000));

    /* remove from 1,000 (to 999) */
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_REMOVE;
    body.username = ms[big - 1].username;
    body.username_len = ms[big - 1].username_len;
    for (unsigned i = 0; i < n; i++) {
        pl_group_state *s = NULL;
        uint64_t t0 = bench_now(), t1;

        free(chg);
        chg = NULL;
        if ((e = pl_group_change_sign(author, ms[0].username, ms[0].username_len, s1000, NULL,
                                      &body, &chg, &len)) != PL_OK)
            goto out;
        t1 = bench_now();
        e = pl_group_apply(s1000, chg, len, &s, NULL);
        apply[i] = bench_now() - t1;
        sign[i] = t1 - t0;
        pl_group_state_free(s999);
        s999 = s;
        if (e != PL_OK)
            goto out;
    }
    row("remove at 1,000 members: sign", median_us(sign, n), "(checks by applying)");
    row("remove at 1,000 members: apply", median_us(apply, n), "verify, copy, rehash");

    /* add the 1,000th member back */
    memset(&body, 0, sizeof body);
    body.kind = PL_GROUP_CHANGE_ADD;
    body.members = &ms[big - 1];
    body.n_members = 1;
    for (unsigned i = 0; i < n; i++) {
        pl_group_state *s = NULL;
        uint64_t t0 = bench_now(), t1;

        free(chg);
        chg = NULL;
        if ((e = pl_group_change_sign(author, ms[0].username, ms[0].username_len, s999, NULL, &body,
                                      &chg, &len)) != PL_OK)
            goto out;
        t1 = bench_now();
        e = pl_group_apply(s999, chg, len, &s, NULL);
        apply[i] = bench_now() - t1;
        sign[i] = t1 - t0;
        pl_group_state_free(s);
        if (e != PL_OK)
            goto out;
    }
    row("add the 1,000th member: sign", median_us(sign, n), "(checks by applying)");
    row("add the 1,000th member: apply", median_us(apply, n), "verify, copy, rehash");
    e = PL_OK;
out:
    free(chg);
    pl_group_state_free(s999);
    pl_group_state_free(s1000);
    pl_account_free(acct);
    free(ms);
    free(sign);
    free(apply);
    return e == PL_OK ? 0 : fail("membership", e);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    unsigned n = quick ? 200 : 5000, nslow = quick ? 5 : 41;
    pl_device *dev = NULL;
    int r = 0;

    if (pl_init() != PL_OK || pl_device_generate(&dev, NULL, 1) != PL_OK)
        return 1;
    printf("group-bench: medians, libparley %s, libsodium %s%s\n", pl_version(),
           sodium_version_string(), quick ? " (--quick)" : "");
    printf("Per group message\n");
    r |= bench_messages(dev, 100, n);
    r |= bench_messages(dev, 1024, n);
    r |= bench_skip(dev, nslow);
    printf("Sender key rotation (after a member or device leaves)\n");
    r |= bench_rotation(dev, 10, nslow * 4);
    r |= bench_rotation(dev, 100, nslow * 2);
    r |= bench_rotation(dev, 1000, nslow);
    printf("Membership changes at %u members\n", PL_GROUP_MAX_MEMBERS);
    r |= bench_membership(dev, nslow);
    pl_device_free(dev);
    return r ? 1 : 0;
}

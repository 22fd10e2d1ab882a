/*
 * demo.c: two in-process parties, Alice and Bob, set up a session and talk.
 *
 * This is what `make run` shows until the server exists. It walks through the protocol in
 * the order a real client would: account keys sign device records, Bob publishes a prekey
 * bundle, Alice verifies it and starts X3DH, and both sides exchange Double Ratchet messages,
 * one of them delivered out of order. Every byte that would cross the network is printed as
 * a size, and the safety number the two people would compare is printed at the end.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "parley/parley.h"

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        int check_r_ = (expr);                                                                     \
        if (check_r_ != PL_OK) {                                                                   \
            fprintf(stderr, "demo: %s failed: %s (%s)\n", #expr, pl_strerror(check_r_),            \
                    pl_errname(check_r_));                                                         \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

struct party {
    const char *name;
    pl_account *account;
    pl_device *device;
    uint8_t account_key[PL_PUBKEY_BYTES];
    uint8_t device_record[PL_DEVICE_RECORD_BYTES];
};

static int party_create(struct party *p, const char *name, uint32_t device_id, uint64_t now)
{
    uint8_t identity[PL_PUBKEY_BYTES];

    p->name = name;
    CHECK(pl_account_generate(&p->account, NULL));
    CHECK(pl_device_generate(&p->device, NULL, device_id));
    pl_account_public_key(p->account, p->account_key);
    pl_device_identity_key(p->device, identity);
    CHECK(pl_account_sign_device(p->account, device_id, identity, now, p->device_record));
    return 0;
}

static void party_free(struct party *p)
{
    pl_device_free(p->device);
    pl_account_free(p->account);
}

/* Encrypts text on `from`'s session into wire[]; returns its length or 0 on error. */
static size_t send_text(const char *who, pl_session *from, const char *text, uint8_t *wire,
                        size_t cap)
{
    size_t len = 0;
    int r = pl_session_encrypt(from, (const uint8_t *)text, strlen(text), wire, cap, &len);

    if (r != PL_OK) {
        fprintf(stderr, "demo: encrypt failed: %s\n", pl_strerror(r));
        return 0;
    }
    printf("  %-5s sends   %-44s -> %3zu bytes, %s message\n", who, text, len,
           pl_message_kind(wire, len) == PL_MSG_PREKEY ? "prekey" : "ratchet");
    return len;
}

static int receive_text(const char *who, pl_session *to, const uint8_t *wire, size_t len)
{
    uint8_t pt[1024];
    size_t pt_len = 0;

    CHECK(pl_session_decrypt(to, NULL, wire, len, pt, sizeof pt, &pt_len));
    printf("  %-5s reads   \"%.*s\"\n", who, (int)pt_len, (const char *)pt);
    return 0;
}

int main(void)
{
    struct party alice = {0}, bob = {0};
    pl_signed_prekey *spk = NULL;
    pl_onetime_prekey *opk = NULL;
    pl_session *a = NULL, *b = NULL;
    uint8_t spk_pub[PL_SIGNED_PREKEY_PUBLIC_BYTES], opk_pub[PL_ONETIME_PREKEY_PUBLIC_BYTES];
    uint8_t bundle_bytes[PL_BUNDLE_MAX_BYTES], wire[3][512], pt[512];
    size_t bundle_len, wire_len[3], pt_len;
    char safety[PL_SAFETY_NUMBER_DIGITS + 1], safety_b[PL_SAFETY_NUMBER_DIGITS + 1];
    pl_prekey_message_info info;
    pl_bundle bundle;
    uint64_t now = (uint64_t)time(NULL);

    CHECK(pl_init());
    printf("Parley %s demo: two devices, one session, no server yet.\n\n", pl_version());

    if (party_create(&alice, "alice", 1, now) || party_create(&bob, "bob", 1, now))
        return 1;
    printf("1. Accounts and devices\n");
    printf("  alice and bob each create an account key and a device; the account key signs\n"
           "  the device record (%u bytes).\n\n",
           (unsigned)PL_DEVICE_RECORD_BYTES);

    CHECK(pl_signed_prekey_generate(&spk, NULL, bob.device, 1, now));
    CHECK(pl_onetime_prekey_generate(&opk, NULL, 1001));
    pl_signed_prekey_public(spk, spk_pub);
    pl_onetime_prekey_public(opk, opk_pub);
    CHECK(pl_bundle_encode(bob.device_record, spk_pub, opk_pub, bundle_bytes, sizeof bundle_bytes,
                           &bundle_len));
    printf("2. Bob publishes a prekey bundle (%zu bytes): device record, signed prekey,\n"
           "   one one-time prekey.\n\n",
           bundle_len);

    /* Alice checks the bundle against the account key she trusts for bob. */
    CHECK(pl_bundle_verify(bundle_bytes, bundle_len, bob.account_key, &bundle));
    CHECK(pl_session_initiate(&a, NULL, alice.device, &bundle));
    printf("3. Alice verifies both signatures in the bundle and runs X3DH.\n\n");

    printf("4. Messages\n");
    if (!(wire_len[0] = send_text("alice", a, "Hi Bob, this is Alice.", wire[0], 512)))
        return 1;

    /* Bob finds the prekeys the message names, creates his session, and decrypts. */
    CHECK(pl_prekey_message_parse(wire[0], wire_len[0], &info));
    CHECK(pl_session_accept(&b, NULL, bob.device, spk, info.has_onetime_prekey ? opk : NULL,
                            wire[0], wire_len[0], pt, sizeof pt, &pt_len));
    printf("  bob   reads   \"%.*s\" (new session; one-time prekey %u now deleted)\n", (int)pt_len,
           (const char *)pt, (unsigned)info.onetime_prekey_id);
    pl_onetime_prekey_free(opk);
    opk = NULL;

    if (!(wire_len[0] = send_text("bob", b, "Hello Alice!", wire[0], 512)) ||
        receive_text("alice", a, wire[0], wire_len[0]))
        return 1;

    /* Three messages from Alice, delivered to Bob in the order 3, 1, 2. */
    if (!(wire_len[0] = send_text("alice", a, "One.", wire[0], 512)) ||
        !(wire_len[1] = send_text("alice", a, "Two.", wire[1], 512)) ||
        !(wire_len[2] = send_text("alice", a, "Three (delivered first).", wire[2], 512)))
        return 1;
    if (receive_text("bob", b, wire[2], wire_len[2]) ||
        receive_text("bob", b, wire[0], wire_len[0]) ||
        receive_text("bob", b, wire[1], wire_len[1]))
        return 1;

    /* A replay is refused. */
    {
        int r = pl_session_decrypt(b, NULL, wire[1], wire_len[1], pt, sizeof pt, &pt_len);
        printf("  bob   gets a replay of \"Two.\": %s\n\n", pl_strerror(r));
    }

    CHECK(pl_safety_number(alice.account_key, "alice", 5, bob.account_key, "bob", 3, safety));
    CHECK(pl_safety_number(bob.account_key, "bob", 3, alice.account_key, "alice", 5, safety_b));
    printf("5. Safety number (the same on both phones: %s)\n  ",
           strcmp(safety, safety_b) == 0 ? "yes" : "NO");
    for (unsigned i = 0; i < PL_SAFETY_NUMBER_DIGITS; i += 5)
        printf("%.5s%s", safety + i, (i + 5) % 20 == 0 ? "\n  " : " ");
    printf("\nNext: the server (parleyd) and the command-line client arrive in later issues.\n");

    pl_session_free(a);
    pl_session_free(b);
    pl_signed_prekey_free(spk);
    party_free(&alice);
    party_free(&bob);
    return 0;
}

/*
 * fuzz_prekey_message.c: pl_message_kind(), pl_prekey_message_parse() and, as Bob,
 * pl_session_accept() on hostile bytes.
 *
 * Invariants: the three agree (only a PL_MSG_PREKEY message parses, only a parsed message
 * is accepted, and then with the prekeys it names); a failed parse zeroes its output; a
 * failed accept creates no session and leaves no plaintext behind; an accepted session
 * knows the sender the message named, saves and reloads to the same bytes, and can reply.
 */
#include <string.h>

#include "fuzz.h"

static int info_is_zero(const pl_prekey_message_info *info)
{
    return fz_is_zero(info->sender_identity_key, sizeof info->sender_identity_key) &&
           fz_is_zero(info->base_key, sizeof info->base_key) && info->signed_prekey_id == 0 &&
           info->has_onetime_prekey == 0 && info->onetime_prekey_id == 0;
}

static void check_accepted(pl_session *session, const pl_prekey_message_info *info)
{
    const fz_fixtures *f = fz_fixtures_get();
    static const uint8_t reply[] = "reply";
    uint8_t peer[PL_PUBKEY_BYTES], *out;
    size_t cap, out_len = 0;

    FZ_CHECK(info->signed_prekey_id == pl_signed_prekey_id(f->bob_spk));
    FZ_CHECK(!info->has_onetime_prekey ||
             info->onetime_prekey_id == pl_onetime_prekey_id(f->bob_opk));
    pl_session_peer_identity(session, peer);
    FZ_CHECK(memcmp(peer, info->sender_identity_key, sizeof peer) == 0);
    fz_check_reload(session);

    cap = pl_session_encrypted_size(session, sizeof reply);
    out = fz_alloc(cap);
    FZ_CHECK(pl_session_encrypt(session, reply, sizeof reply, out, cap, &out_len) == PL_OK);
    FZ_CHECK(out_len == cap);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fz_fixtures *f = fz_fixtures_get();
    pl_rng_deterministic state;
    pl_rng rng = fz_rng(&state, "fuzz_prekey_message");
    pl_prekey_message_info info;
    const pl_onetime_prekey *opk = f->bob_opk;
    pl_session *session = NULL;
    uint8_t *pt;
    size_t pt_len = 0;
    int kind, rc_parse, rc;

    kind = pl_message_kind(data, size);
    FZ_CHECK(kind == PL_MSG_RATCHET || kind == PL_MSG_PREKEY || kind < 0);
    FZ_CHECK_RC(kind < 0 ? kind : PL_OK);

    memset(&info, 0xA5, sizeof info);
    rc_parse = pl_prekey_message_parse(data, size, &info);
    FZ_CHECK_RC(rc_parse);
    if (rc_parse != PL_OK) {
        FZ_CHECK(info_is_zero(&info));
    } else {
        FZ_CHECK(kind == PL_MSG_PREKEY);
        FZ_CHECK(info.has_onetime_prekey == 0 || info.has_onetime_prekey == 1);
        /* Hand over the one-time prekey only when the message names one, as a server-side
         * caller would; a wrong id must then be refused. */
        if (!info.has_onetime_prekey)
            opk = NULL;
    }

    pt = fz_alloc(size);
    memset(pt, 0xA5, size);
    rc = pl_session_accept(&session, &rng, f->bob_device, f->bob_spk, opk, data, size, pt, size,
                           &pt_len);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(session == NULL);
        fz_check_untouched_or_zero(pt, size, 0xA5);
    } else {
        FZ_CHECK(session != NULL);
        FZ_CHECK(rc_parse == PL_OK);
        FZ_CHECK(pt_len <= size);
        check_accepted(session, &info);
        pl_session_free(session);
    }
    free(pt);
    return 0;
}

/*
 * fuzz_session_load.c: pl_session_load() on hostile bytes, as they are and with the frame's
 * checksum recomputed so that mutations reach the body's parser.
 *
 * Invariants: a failed load creates nothing; a loaded session saves to exactly the input
 * (pl_session_saved_size() says so beforehand), stays within its documented bounds, and
 * survives being used: encrypting, and decrypting a message from the fixed conversation.
 */
#include <string.h>

#include "fuzz.h"

static void use_session(pl_session *session)
{
    const fz_fixtures *f = fz_fixtures_get();
    const fz_message *m = &f->a0;
    static const uint8_t text[] = "fuzz";
    pl_rng_deterministic state;
    pl_rng rng = fz_rng(&state, "fuzz_session_load");
    uint8_t peer[PL_PUBKEY_BYTES], *out, *pt;
    size_t cap, out_len = 0, pt_len = 0;
    int rc;

    pl_session_peer_identity(session, peer);
    FZ_CHECK(pl_session_skipped_keys(session) <= PL_RATCHET_MAX_SKIPPED_KEYS);

    cap = pl_session_encrypted_size(session, sizeof text);
    FZ_CHECK(cap >= sizeof text && cap - sizeof text <= PL_MESSAGE_MAX_OVERHEAD);
    out = fz_alloc(cap);
    rc = pl_session_encrypt(session, text, sizeof text, out, cap, &out_len);
    FZ_CHECK_RC(rc);
    FZ_CHECK(rc != PL_OK || out_len == cap);
    free(out);

    pt = fz_alloc(m->len);
    memset(pt, 0xA5, m->len);
    rc = pl_session_decrypt(session, &rng, m->bytes, m->len, pt, m->len, &pt_len);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK)
        fz_check_untouched_or_zero(pt, m->len, 0xA5);
    else
        FZ_CHECK(pt_len <= m->len);
    free(pt);
}

static void load(const uint8_t *in, size_t len)
{
    pl_session *session = NULL;
    uint8_t *again;
    size_t again_len = 0;
    int rc;

    rc = pl_session_load(&session, in, len);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        FZ_CHECK(session == NULL);
        return;
    }
    FZ_CHECK(session != NULL);
    FZ_CHECK(pl_session_saved_size(session) == len);
    again = fz_save_session(session, &again_len);
    FZ_CHECK(again_len == len && memcmp(again, in, len) == 0);
    free(again);
    use_session(session);
    pl_session_free(session);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed;

    (void)fz_fixtures_get();
    load(data, size);
    fixed = fz_fix_checksum(data, size);
    if (size && memcmp(fixed, data, size) != 0)
        load(fixed, size);
    free(fixed);
    return 0;
}

/*
 * fuzz_ratchet_message.c: pl_session_decrypt() on hostile bytes, from Bob's side of the
 * fixed session (fuzz.h), loaded afresh for every input.
 *
 * Invariants: a failed decrypt leaves the session byte for byte as it was (commit on
 * success), leaves no plaintext behind, and the session still decrypts Alice's next
 * genuine message; a successful one cannot be repeated (a replay fails and changes
 * nothing) and leaves a session that saves and reloads to the same bytes.
 */
#include <string.h>

#include "fuzz.h"

/* Decrypts msg and checks that the session is unchanged when it fails. Returns the code. */
static int decrypt_checked(pl_session *session, const pl_rng *rng, const uint8_t *msg, size_t len,
                           uint8_t *pt, size_t *pt_len)
{
    size_t before_len = 0, after_len = 0;
    uint8_t *before = fz_save_session(session, &before_len);
    uint8_t *after;
    int rc;

    memset(pt, 0xA5, len);
    rc = pl_session_decrypt(session, rng, msg, len, pt, len, pt_len);
    FZ_CHECK_RC(rc);
    if (rc != PL_OK) {
        fz_check_untouched_or_zero(pt, len, 0xA5);
        after = fz_save_session(session, &after_len);
        FZ_CHECK(after_len == before_len && memcmp(after, before, before_len) == 0);
        free(after);
    } else {
        FZ_CHECK(*pt_len <= len);
    }
    free(before);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fz_fixtures *f = fz_fixtures_get();
    const fz_message *next = &f->p1;
    pl_rng_deterministic state;
    pl_rng rng = fz_rng(&state, "fuzz_ratchet_message");
    pl_session *bob = NULL;
    uint8_t *pt = fz_alloc(size), *next_pt = fz_alloc(next->len);
    size_t pt_len = 0, next_len = 0;

    FZ_CHECK(pl_session_load(&bob, f->bob_session_saved, f->bob_session_saved_len) == PL_OK);
    if (decrypt_checked(bob, &rng, data, size, pt, &pt_len) == PL_OK) {
        FZ_CHECK(decrypt_checked(bob, &rng, data, size, pt, &pt_len) != PL_OK);
        fz_check_reload(bob);
    } else {
        FZ_CHECK(pl_session_decrypt(bob, &rng, next->bytes, next->len, next_pt, next->len,
                                    &next_len) == PL_OK);
        FZ_CHECK(next_len == strlen(next->text) && memcmp(next_pt, next->text, next_len) == 0);
    }
    pl_session_free(bob);
    free(next_pt);
    free(pt);
    return 0;
}

/*
 * session_helpers.h: helpers shared by test_session.c and test_session_hostile.c.
 * Static inline so that a file using only some of them compiles without warnings.
 */
#ifndef PARLEY_TEST_SESSION_HELPERS_H
#define PARLEY_TEST_SESSION_HELPERS_H

/* Ratchet message layout (session.h): version, kind, ratchet key, previous chain length,
 * message number, then ciphertext and tag. */
enum {
    RM_VERSION = 0,
    RM_KIND = 1,
    RM_KEY = 2,
    RM_PN = RM_KEY + PL_PUBKEY_BYTES,
    RM_N = RM_PN + 4,
    RM_BODY = RM_N + 4,
};

static const uint8_t flip_masks[] = {0x01, 0x80};

/* Decrypts msg with s and returns the code, which must not be PL_OK; no plaintext may be left
 * in the output buffer. */
static inline int decrypt_rejected(pl_session *s, const pl_rng *rng, const uint8_t *msg, size_t len,
                                   const char *what, size_t at)
{
    size_t cap = len ? len : 1;
    uint8_t *pt = fx_malloc(cap);
    size_t pt_len = 0;
    int r;

    memset(pt, FX_SENTINEL, cap);
    r = pl_session_decrypt(s, rng, msg, len, pt, cap, &pt_len);
    if (r == PL_OK)
        fail_msg("%s (byte/length %zu) was accepted", what, at);
    FX_NO_PLAINTEXT(pt, cap);
    free(pt);
    return r;
}

/* Accepts msg as p, which must fail; nothing may be created and no plaintext left in pt. */
static inline int accept_rejected(fx_party *p, const pl_signed_prekey *spk,
                                  const pl_onetime_prekey *opk, const uint8_t *msg, size_t len,
                                  const char *what, size_t at)
{
    size_t cap = len ? len : 1;
    uint8_t *pt = fx_malloc(cap);
    size_t pt_len = 0;
    pl_session *s = NULL;
    int r;

    memset(pt, FX_SENTINEL, cap);
    r = pl_session_accept(&s, &p->rng, p->device, spk, opk, msg, len, pt, cap, &pt_len);
    if (r == PL_OK) {
        pl_session_free(s);
        fail_msg("%s (byte/length %zu) was accepted", what, at);
    }
    assert_null(s);
    FX_NO_PLAINTEXT(pt, cap);
    free(pt);
    return r;
}

/* Returns the offset of needle in hay, failing if it is not there. */
static inline size_t find_bytes(const uint8_t *hay, size_t len, const uint8_t *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return i;
    fail_msg("%s", "bytes not found in message");
    return 0;
}

#endif

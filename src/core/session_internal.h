/*
 * session_internal.h: the state of one session, shared by x3dh.c, ratchet.c, session.c and
 * session_state.c.
 *
 * Invariants (checked on load by session_state.c):
 *  - send.active implies has_remote_ratchet_key (a sending chain exists only after a DH step);
 *  - send.active always: the initiator's chain exists from X3DH on, and a responder
 *    session is created by decrypting a message, which makes its sending chain;
 *  - pending_prekey only on an initiator session that has not yet received a message;
 *  - skipped.count <= PL_RATCHET_MAX_SKIPPED_KEYS; retired_count <= PL__RETIRED_KEYS.
 */
#ifndef PARLEY_CORE_SESSION_INTERNAL_H
#define PARLEY_CORE_SESSION_INTERNAL_H

#include "buf.h"
#include "parley/session.h"
#include "skipped_keys.h"

#define PL__MESSAGE_VERSION 1u
#define PL__AD_BYTES (2u * PL_PUBKEY_BYTES)
#define PL__RETIRED_KEYS 16u

/* KDF labels (PROTOCOL.md §5, §6). */
#define PL__LABEL_X3DH "parley/x3dh/v1"
#define PL__LABEL_ROOT "parley/ratchet-root/v1"
#define PL__LABEL_MESSAGE_KEYS "parley/message-keys/v1"

typedef struct pl__chain {
    uint8_t key[32];
    uint32_t n; /* number of the next message in this chain */
    uint8_t active;
} pl__chain;

struct pl_session {
    /* Who: identity keys (encoded) and the X3DH associated data built from them. */
    uint8_t local_identity[PL_PUBKEY_BYTES];
    uint8_t remote_identity[PL_PUBKEY_BYTES];
    uint8_t ad[PL__AD_BYTES]; /* Encode(IK_initiator) || Encode(IK_responder) */
    uint8_t is_initiator;

    /* X3DH data: the initiator resends it with every message until the peer replies. */
    uint8_t pending_prekey;
    uint8_t base_key[32]; /* the initiator's ephemeral public key */
    uint32_t signed_prekey_id;
    uint8_t has_onetime_prekey;
    uint32_t onetime_prekey_id;

    /* Double Ratchet state, named as in Signal's specification. */
    uint8_t root_key[32];           /* RK */
    uint8_t ratchet_sk[32];         /* DHs (private) */
    uint8_t ratchet_pk[32];         /* DHs (public) */
    uint8_t remote_ratchet_key[32]; /* DHr */
    uint8_t has_remote_ratchet_key;
    pl__chain send;               /* CKs, Ns */
    pl__chain recv;               /* CKr, Nr */
    uint32_t previous_send_count; /* PN */
    pl__skipped_keys skipped;     /* MKSKIPPED */

    /* Remote ratchet keys of finished receiving chains, newest last, so that a replayed
     * message from one of them is reported as PL_E_REPLAY rather than PL_E_DECRYPT. */
    uint8_t retired_keys[PL__RETIRED_KEYS][32];
    uint32_t retired_count;
};

/* Allocates a zeroed session in guarded memory, or NULL. */
pl_session *pl__session_alloc(void);
/* Builds s->ad from the two identities and s->is_initiator. */
void pl__session_set_ad(pl_session *s);

/* X3DH (x3dh.c). Both return PL_OK or PL_E_BAD_KEY and wipe their intermediates. */
int pl__x3dh_initiator(uint8_t sk[32], const pl_device *self, const uint8_t ephemeral_sk[32],
                       const pl_bundle *peer);
int pl__x3dh_responder(uint8_t sk[32], const pl_device *self, const pl_signed_prekey *spk,
                       const pl_onetime_prekey *opk, const uint8_t peer_identity[PL_PUBKEY_BYTES],
                       const uint8_t base_key[32]);
/* Writes the prekey-message prefix of an initiator session. */
void pl__prekey_prefix_write(pl__writer *w, const pl_session *s);
/* Returns the prefix length pl__prekey_prefix_write writes. */
size_t pl__prekey_prefix_size(const pl_session *s);
/* Parses a prekey message into info and the embedded ratchet message. */
int pl__prekey_message_split(const uint8_t *msg, size_t len, pl_prekey_message_info *info,
                             const uint8_t **inner, size_t *inner_len);

/* Double Ratchet (ratchet.c). */
int pl__ratchet_init_initiator(pl_session *s, const pl_rng *rng, const uint8_t sk[32],
                               const uint8_t remote_signed_prekey[32]);
void pl__ratchet_init_responder(pl_session *s, const uint8_t sk[32], const pl_signed_prekey *spk);
/* Appends a ratchet message (header and ciphertext) to w. Returns PL_OK or w's error, in
 * which case the session is unchanged. */
int pl__ratchet_encrypt(pl_session *s, const uint8_t *pt, size_t pt_len, pl__writer *w);
/* Decrypts a ratchet message; see pl_session_decrypt for the contract. */
int pl__ratchet_decrypt(pl_session *s, const pl_rng *rng, const uint8_t *msg, size_t len,
                        uint8_t *pt, size_t pt_cap, size_t *pt_len);

#endif

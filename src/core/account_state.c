/*
 * account_state.c: the account state key transparency logs (PROTOCOL.md §19), its canonical
 * encoding, its signature by the account key, and the owner's chain rule.
 *
 *   version u8 (1) | suite u8 (1) | account key (33) | seq u32 | prev_state_hash (32)
 *   | created_at_ms u64 | publisher_device_id u32 | n_devices u8 (1..16)
 *   | n_devices x device record (143, §3.3, ascending device id)
 *   | Ed25519 signature by the account key over "parley/account-state/v1" || the above
 *
 * The body is up to 2,372 bytes, more than pl__sign_labeled's bound, so this file builds the
 * labeled message itself in a buffer sized for the largest state; nothing is pre-hashed.
 */
#include <string.h>

#include "buf.h"
#include "keys_internal.h"
#include "parley/account_state.h"

#define PL__LABEL_ACCOUNT_STATE "parley/account-state/v1"
#define PL__ACCOUNT_STATE_MAX_BODY (PL_ACCOUNT_STATE_MAX_BYTES - PL_SIGNATURE_BYTES)
/* Where a device record keeps its account key and device id (§3.3). */
#define PL__RECORD_ACCOUNT_OFFSET 1u
#define PL__RECORD_DEVICE_ID_OFFSET (1u + PL_PUBKEY_BYTES)

/* The labeled message: label || body. body_len is at most PL__ACCOUNT_STATE_MAX_BODY. */
typedef struct labeled {
    uint8_t buf[sizeof PL__LABEL_ACCOUNT_STATE - 1 + PL__ACCOUNT_STATE_MAX_BODY];
    size_t len;
} labeled;

static void labeled_init(labeled *m, const uint8_t *body, size_t body_len)
{
    size_t label_len = sizeof PL__LABEL_ACCOUNT_STATE - 1;

    if (body_len > PL__ACCOUNT_STATE_MAX_BODY)
        sodium_misuse();
    memcpy(m->buf, PL__LABEL_ACCOUNT_STATE, label_len);
    memcpy(m->buf + label_len, body, body_len);
    m->len = label_len + body_len;
}

static uint32_t record_device_id(const uint8_t record[PL_DEVICE_RECORD_BYTES])
{
    const uint8_t *p = record + PL__RECORD_DEVICE_ID_OFFSET;

    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int is_zero(const uint8_t *p, size_t n)
{
    return sodium_is_zero(p, n) == 1;
}

int pl_account_state_sign(const pl_account *account, uint32_t seq, const uint8_t *prev_hash,
                          uint64_t created_at_ms, uint32_t publisher_device_id,
                          const uint8_t (*records)[PL_DEVICE_RECORD_BYTES], size_t n, uint8_t *out,
                          size_t cap, size_t *out_len)
{
    static const uint8_t zero_hash[PL_ACCOUNT_STATE_HASH_BYTES] = {0};
    uint8_t account_key[PL_PUBKEY_BYTES];
    pl_device_record rec;
    pl__writer w = pl__writer_init(out, cap);
    labeled m;
    size_t body_len;
    int r;

    *out_len = 0;
    if (cap > 0)
        memset(out, 0, cap);
    pl_account_public_key(account, account_key);
    r = PL_E_INVALID_ARG;
    if (n < 1 || n > PL_ACCOUNT_STATE_MAX_DEVICES || records == NULL)
        goto out;
    if (seq == 0 && prev_hash && !is_zero(prev_hash, PL_ACCOUNT_STATE_HASH_BYTES))
        goto out;
    if (seq != 0 && (!prev_hash || is_zero(prev_hash, PL_ACCOUNT_STATE_HASH_BYTES)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && record_device_id(records[i]) <= record_device_id(records[i - 1]))
            goto out;
        if ((r = pl_device_record_verify(records[i], PL_DEVICE_RECORD_BYTES, account_key, &rec)) !=
            PL_OK)
            goto out;
        r = PL_E_INVALID_ARG;
    }
    r = PL_E_BUFFER_TOO_SMALL;
    if (cap < PL_ACCOUNT_STATE_BYTES(n))
        goto out;

    pl__put_u8(&w, PL_ACCOUNT_STATE_VERSION);
    pl__put_u8(&w, PL_ACCOUNT_STATE_SUITE);
    pl__put_bytes(&w, account_key, PL_PUBKEY_BYTES);
    pl__put_u32(&w, seq);
    pl__put_bytes(&w, seq == 0 ? zero_hash : prev_hash, PL_ACCOUNT_STATE_HASH_BYTES);
    pl__put_u64(&w, created_at_ms);
    pl__put_u32(&w, publisher_device_id);
    pl__put_u8(&w, (uint8_t)n);
    for (size_t i = 0; i < n; i++)
        pl__put_bytes(&w, records[i], PL_DEVICE_RECORD_BYTES);
    if (w.err != PL_OK) /* cannot happen: cap was checked above */
        sodium_misuse();
    body_len = w.off;
    labeled_init(&m, out, body_len);
    crypto_sign_detached(out + body_len, NULL, m.buf, m.len, account->sk);
    *out_len = body_len + PL_SIGNATURE_BYTES;
    r = PL_OK;
out:
    if (r != PL_OK && cap > 0)
        memset(out, 0, cap);
    return r;
}

int pl_account_state_verify(const uint8_t *in, size_t len, pl_account_state *out)
{
    pl__reader rd = pl__reader_init(in, len);
    pl_account_state st;
    const uint8_t *records = NULL, *sig;
    uint8_t version, suite, n;
    labeled m;
    size_t body_len;
    int r;

    memset(out, 0, sizeof *out);
    memset(&st, 0, sizeof st);
    version = pl__get_u8(&rd);
    suite = pl__get_u8(&rd);
    pl__get_copy(&rd, st.account_key, PL_PUBKEY_BYTES);
    st.seq = pl__get_u32(&rd);
    pl__get_copy(&rd, st.prev_state_hash, PL_ACCOUNT_STATE_HASH_BYTES);
    st.created_at_ms = pl__get_u64(&rd);
    st.publisher_device_id = pl__get_u32(&rd);
    n = pl__get_u8(&rd);
    if ((r = rd.err) != PL_OK)
        goto out;
    r = PL_E_VERSION;
    if (version != PL_ACCOUNT_STATE_VERSION)
        goto out;
    r = PL_E_UNSUPPORTED;
    if (suite != PL_ACCOUNT_STATE_SUITE)
        goto out;
    if ((r = pl__key_check_type(st.account_key, PL_KEY_TYPE_ED25519)) != PL_OK)
        goto out;
    r = PL_E_MALFORMED;
    if (n < 1 || n > PL_ACCOUNT_STATE_MAX_DEVICES)
        goto out;
    records = pl__get_bytes(&rd, (size_t)n * PL_DEVICE_RECORD_BYTES);
    sig = pl__get_bytes(&rd, PL_SIGNATURE_BYTES);
    if ((r = pl__reader_finish(&rd)) != PL_OK)
        goto out;
    body_len = len - PL_SIGNATURE_BYTES;
    st.n_devices = n;
    memcpy(st.device_records, records, (size_t)n * PL_DEVICE_RECORD_BYTES);

    /* The chain's shape: zeros exactly for the first state. */
    r = PL_E_MALFORMED;
    if ((st.seq == 0) != is_zero(st.prev_state_hash, PL_ACCOUNT_STATE_HASH_BYTES))
        goto out;
    for (size_t i = 1; i < st.n_devices; i++)
        if (record_device_id(st.device_records[i]) <= record_device_id(st.device_records[i - 1]))
            goto out;
    /* A record of another account would be a ghost device: refuse it before any signature. */
    r = PL_E_IDENTITY_MISMATCH;
    for (size_t i = 0; i < st.n_devices; i++)
        if (sodium_memcmp(st.device_records[i] + PL__RECORD_ACCOUNT_OFFSET, st.account_key,
                          PL_PUBKEY_BYTES) != 0)
            goto out;

    labeled_init(&m, in, body_len);
    r = PL_E_BAD_SIGNATURE;
    if (crypto_sign_verify_detached(sig, m.buf, m.len, st.account_key + 1) != 0)
        goto out;
    for (size_t i = 0; i < st.n_devices; i++)
        if ((r = pl_device_record_verify(st.device_records[i], PL_DEVICE_RECORD_BYTES,
                                         st.account_key, &st.devices[i])) != PL_OK)
            goto out;
    *out = st;
    r = PL_OK;
out:
    sodium_memzero(&st, sizeof st);
    return r;
}

void pl_account_state_hash(const uint8_t *in, size_t len, uint8_t out[PL_ACCOUNT_STATE_HASH_BYTES])
{
    crypto_hash_sha256(out, in, len);
}

int pl_account_state_extends(const pl_account_state *prev,
                             const uint8_t prev_hash[PL_ACCOUNT_STATE_HASH_BYTES],
                             const pl_account_state *next)
{
    if (sodium_memcmp(prev->account_key, next->account_key, PL_PUBKEY_BYTES) != 0)
        return PL_E_IDENTITY_MISMATCH;
    if (prev->seq == UINT32_MAX || next->seq != prev->seq + 1)
        return PL_E_STATE_CHAIN;
    if (sodium_memcmp(next->prev_state_hash, prev_hash, PL_ACCOUNT_STATE_HASH_BYTES) != 0)
        return PL_E_STATE_CHAIN;
    return PL_OK;
}

/*
 * bundle.c: the prekey bundle a server hands out for one device.
 *
 *   version u8 (1) | flags u8 | device record (143) | signed prekey (109)
 *   | one-time prekey (37), present iff flags bit 0
 * flags bit 1 is reserved for a post-quantum KEM prekey (rejected as unsupported in v1);
 * the other bits must be zero. Keys of small order are caught by X3DH itself, whose every
 * DH output is checked (pl_session_initiate returns PL_E_BAD_KEY).
 */
#include <string.h>

#include "buf.h"
#include "keys_internal.h"

#define BUNDLE_VERSION 1u
#define BUNDLE_FLAG_ONETIME 0x01u
#define BUNDLE_FLAG_KEM 0x02u

int pl_bundle_encode(const uint8_t device_record[PL_DEVICE_RECORD_BYTES],
                     const uint8_t signed_prekey[PL_SIGNED_PREKEY_PUBLIC_BYTES],
                     const uint8_t *onetime_prekey, uint8_t *out, size_t cap, size_t *out_len)
{
    pl__writer w = pl__writer_init(out, cap);

    *out_len = 0;
    pl__put_u8(&w, BUNDLE_VERSION);
    pl__put_u8(&w, onetime_prekey ? BUNDLE_FLAG_ONETIME : 0);
    pl__put_bytes(&w, device_record, PL_DEVICE_RECORD_BYTES);
    pl__put_bytes(&w, signed_prekey, PL_SIGNED_PREKEY_PUBLIC_BYTES);
    if (onetime_prekey)
        pl__put_bytes(&w, onetime_prekey, PL_ONETIME_PREKEY_PUBLIC_BYTES);
    if (w.err)
        return w.err;
    *out_len = w.off;
    return PL_OK;
}

int pl_bundle_verify(const uint8_t *in, size_t len, const uint8_t account_key[PL_PUBKEY_BYTES],
                     pl_bundle *out)
{
    pl__reader rd = pl__reader_init(in, len);
    const uint8_t *record, *spk, *opk = NULL;
    uint8_t version, flags;
    pl_bundle b;
    int r;

    memset(out, 0, sizeof *out);
    memset(&b, 0, sizeof b);
    version = pl__get_u8(&rd);
    flags = pl__get_u8(&rd);
    if (rd.err)
        return rd.err;
    if (version != BUNDLE_VERSION)
        return PL_E_VERSION;
    if (flags & BUNDLE_FLAG_KEM)
        return PL_E_UNSUPPORTED;
    if (flags & ~BUNDLE_FLAG_ONETIME)
        return PL_E_MALFORMED;
    record = pl__get_bytes(&rd, PL_DEVICE_RECORD_BYTES);
    spk = pl__get_bytes(&rd, PL_SIGNED_PREKEY_PUBLIC_BYTES);
    if (flags & BUNDLE_FLAG_ONETIME)
        opk = pl__get_bytes(&rd, PL_ONETIME_PREKEY_PUBLIC_BYTES);
    if ((r = pl__reader_finish(&rd)) != PL_OK)
        return r;

    /* Cheap structural checks first, then the signatures. */
    if (opk) {
        r = pl_onetime_prekey_parse(opk, PL_ONETIME_PREKEY_PUBLIC_BYTES, &b.onetime_prekey_id,
                                    b.onetime_prekey);
        if (r != PL_OK)
            return r;
        b.has_onetime_prekey = 1;
    }
    if ((r = pl_device_record_verify(record, PL_DEVICE_RECORD_BYTES, account_key, &b.device)))
        return r;
    r = pl_signed_prekey_verify(spk, PL_SIGNED_PREKEY_PUBLIC_BYTES, b.device.identity_key,
                                &b.signed_prekey);
    if (r != PL_OK)
        return r;
    *out = b;
    return PL_OK;
}

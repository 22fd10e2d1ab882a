/*
 * fuzz_onetime_prekey.c: pl_onetime_prekey_parse() on hostile bytes.
 *
 * Invariant: what parses is an X25519 key and re-encodes (id big-endian, then the encoded
 * key: keys.h, src/core/buf.h) to exactly the input.
 */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t key[PL_PUBKEY_BYTES];
    uint32_t id = 0;
    int rc;

    (void)fz_fixtures_get(); /* pl_init() */
    rc = pl_onetime_prekey_parse(data, size, &id, key);
    FZ_CHECK_RC(rc);
    if (rc == PL_OK) {
        FZ_CHECK(key[0] == PL_KEY_TYPE_X25519);
        FZ_CHECK(size == PL_ONETIME_PREKEY_PUBLIC_BYTES);
        FZ_CHECK(fz_be32(data) == id && memcmp(data + 4, key, sizeof key) == 0);
    }
    return 0;
}

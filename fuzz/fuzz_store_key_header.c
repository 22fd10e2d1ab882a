/*
 * fuzz_store_key_header.c: pl__cstore_key_enc_header (src/client/cstore_key.c), the check
 * of the client's passphrase-protected key file before Argon2id runs, on hostile bytes (the
 * file is on disk, where anything may have written it).
 *
 * Invariants: no crash; accepted only at the exact file size, and then with KDF limits in
 * libsodium's INTERACTIVE..SENSITIVE range; zeros on refusal.
 */
#include <sodium.h>

#include "cstore_internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t ops = 1, mem = 1;
    int r = pl__cstore_key_enc_header(data, size, &ops, &mem);

    FZ_CHECK(r == 0 || r == -1 || r == -2);
    if (r != 0) {
        FZ_CHECK(ops == 0 && mem == 0);
        return 0;
    }
    FZ_CHECK(ops >= crypto_pwhash_OPSLIMIT_INTERACTIVE && ops <= crypto_pwhash_OPSLIMIT_SENSITIVE);
    FZ_CHECK(mem >= crypto_pwhash_MEMLIMIT_INTERACTIVE && mem <= crypto_pwhash_MEMLIMIT_SENSITIVE);
    return 0;
}

/*
 * parley/error.h: the one list of libparley's error codes.
 *
 * Every function that can fail returns int: 0 (PL_OK) on success, or one of the
 * negative codes below. The list is an X-macro so the enum, pl_strerror() and
 * pl_errname() cannot drift apart. Codes are stable: new ones are appended.
 */
#ifndef PARLEY_ERROR_H
#define PARLEY_ERROR_H

#include "parley/defs.h"

/* XX(name, value, message) */
#define PL_ERRNO_MAP(XX)                                                                           \
    XX(OK, 0, "success")                                                                           \
    XX(E_NOMEM, -1, "out of memory")                                                               \
    XX(E_CRYPTO_INIT, -2, "the cryptography library failed to initialise")                         \
    XX(E_BUFFER_TOO_SMALL, -3, "output buffer too small")                                          \
    XX(E_TRUNCATED, -4, "input ends before the encoding does")                                     \
    XX(E_MALFORMED, -5, "malformed encoding")                                                      \
    XX(E_VERSION, -6, "unsupported format version")                                                \
    XX(E_KEY_TYPE, -7, "unexpected or unsupported key type")                                       \
    XX(E_BAD_KEY, -8, "invalid public key")                                                        \
    XX(E_BAD_SIGNATURE, -9, "signature verification failed")                                       \
    XX(E_IDENTITY_MISMATCH, -10, "key does not belong to the expected identity")                   \
    XX(E_DECRYPT, -11, "message failed to authenticate")                                           \
    XX(E_REPLAY, -12, "message already received, or too old to decrypt")                           \
    XX(E_TOO_MANY_SKIPPED, -13, "message skips more messages than allowed")                        \
    XX(E_TOO_LARGE, -14, "input exceeds a size limit")                                             \
    XX(E_CORRUPT, -15, "stored state is corrupted")                                                \
    XX(E_WRONG_KIND, -16, "stored state is of a different kind")                                   \
    XX(E_PREKEY_MISMATCH, -17, "message was made for a different prekey")                          \
    XX(E_UNSUPPORTED, -18, "feature not supported by this version")                                \
    XX(E_INVALID_ARG, -19, "invalid argument")                                                     \
    XX(E_SESSION_MISMATCH, -20, "message belongs to a different session")                          \
    XX(E_BAD_PROOF, -21, "a proof does not verify")                                                \
    XX(E_STATE_CHAIN, -22, "account state does not extend the previous one")                       \
    XX(E_KT_VIEW, -23, "the log's checkpoint is not consistent with what this client saw")         \
    XX(E_WITNESS_CONFLICT, -24, "old tree size is not the one the witness holds")                  \
    XX(E_ROLLBACK, -25, "tree is smaller than one already cosigned")

enum pl_error {
#define PL__ERR_ENUM(name, value, msg) PL_##name = (value),
    PL_ERRNO_MAP(PL__ERR_ENUM)
#undef PL__ERR_ENUM
};

/* Returns a static, human-readable sentence for code; "unknown error" for unknown codes. */
PL_API const char *pl_strerror(int code);

/* Returns the static symbolic name of code ("PL_E_DECRYPT"); "PL_E_UNKNOWN" if unknown. */
PL_API const char *pl_errname(int code);

#endif

/*
 * parley/defs.h: sizes and export macros shared by every public header.
 */
#ifndef PARLEY_DEFS_H
#define PARLEY_DEFS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) && !defined(PARLEY_STATIC_ONLY)
#define PL_API __attribute__((visibility("default")))
#else
#define PL_API
#endif

#if defined(__GNUC__)
#define PL_NODISCARD __attribute__((warn_unused_result))
#else
#define PL_NODISCARD
#endif

/* Key encodings: one type byte followed by the raw 32-byte key (PROTOCOL.md §2). */
#define PL_KEY_TYPE_ED25519 0x01u  /* account keys, device identity keys */
#define PL_KEY_TYPE_X25519 0x02u   /* prekeys, ephemeral and ratchet keys */
#define PL_KEY_TYPE_MLKEM768 0x03u /* reserved for a post-quantum KEM; not accepted in v1 */

#define PL_RAW_KEY_BYTES 32u
#define PL_PUBKEY_BYTES 33u /* type byte + 32-byte key */
#define PL_SIGNATURE_BYTES 64u

/* A device record: version, account key, device id, device identity key, creation time,
 * followed by the account key's Ed25519 signature. */
#define PL_DEVICE_RECORD_BODY_BYTES (1u + PL_PUBKEY_BYTES + 4u + PL_PUBKEY_BYTES + 8u)
#define PL_DEVICE_RECORD_BYTES (PL_DEVICE_RECORD_BODY_BYTES + PL_SIGNATURE_BYTES)

/* A signed prekey's public part: id, key, creation time, device identity signature. */
#define PL_SIGNED_PREKEY_PUBLIC_BYTES (4u + PL_PUBKEY_BYTES + 8u + PL_SIGNATURE_BYTES)
/* A one-time prekey's public part: id, key. */
#define PL_ONETIME_PREKEY_PUBLIC_BYTES (4u + PL_PUBKEY_BYTES)

/* Prekey bundle: version, flags, device record, signed prekey, optional one-time prekey. */
#define PL_BUNDLE_MAX_BYTES                                                                        \
    (2u + PL_DEVICE_RECORD_BYTES + PL_SIGNED_PREKEY_PUBLIC_BYTES + PL_ONETIME_PREKEY_PUBLIC_BYTES)

/* Largest plaintext one message may carry (the server's per-device limit is 96 KiB). */
#define PL_MAX_PLAINTEXT_BYTES (96u * 1024u)

#endif

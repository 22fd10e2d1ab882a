/*
 * frame.h: parleyd's sans-I/O frame codec (docs/PROTOCOL.md §11.1-§11.3).
 *
 * A frame is u32 big-endian length || that many bytes of one protobuf message
 * (proto/parley.proto): a ClientFrame from client to server, a ServerFrame back. This module
 * cuts frames out of a byte stream (pl_frame_reader), decodes and validates them under a
 * memory budget, and encodes them. It never touches a socket, a clock or a store: the
 * connection layer feeds it what TLS hands over and writes out what it returns.
 *
 * Errors are the PL_FRAME_E_* codes below, each with the wire status a server answers with.
 */
#ifndef PARLEYD_FRAME_H
#define PARLEYD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "parley/kt_lookup.h"
#include "parley/note.h"
#include "parley/parley.h"

#include "parley.pb-c.h"

/* Wire protocol versions this code speaks (Hello / HelloReply, §11.2). */
#define PL_WIRE_VERSION_MIN 1u
#define PL_WIRE_VERSION_MAX 1u

/* Field bounds the validator enforces (§11.9). */
/* Usernames on the wire; the server's username rules are stricter. */
#define PL_WIRE_MAX_USERNAME_BYTES PL_NAME_MAX_BYTES
#define PL_WIRE_MAX_CLIENT_NAME_BYTES 64u /* Hello.client */
#define PL_WIRE_CHALLENGE_BYTES 32u
#define PL_WIRE_CLIENT_MESSAGE_ID_BYTES 16u
/* One device's ciphertext: the largest message libparley makes (96 KiB of plaintext plus the
 * prekey message's overhead, 98,440 bytes). */
#define PL_WIRE_MAX_CIPHERTEXT_BYTES (PL_MAX_PLAINTEXT_BYTES + PL_MESSAGE_MAX_OVERHEAD)
#define PL_WIRE_MAX_DEVICES 6u /* devices per account */
/* A Send carries one ciphertext per recipient device and one per other sender device. */
#define PL_WIRE_MAX_SEND_CIPHERTEXTS (2u * PL_WIRE_MAX_DEVICES - 1u)
/* GroupSend (§31): the hard bound on addressed devices (a server's configured
 * max_group_recipient_devices lies at or below it), and on accounts named in one
 * MismatchedDevices refusal of a GroupSend, so that the refusal decodes within the budget. */
#define PL_WIRE_MAX_GROUP_RECIPIENT_DEVICES 10000u
#define PL_WIRE_MAX_GROUP_MISMATCHED 64u
#define PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD 100u
#define PL_WIRE_MAX_ACKS 256u
/* Device linking (LinkPut / LinkGet): the rendezvous id, the two slots, a sealed blob. */
#define PL_WIRE_LINK_RENDEZVOUS_BYTES 16u
#define PL_WIRE_LINK_SLOTS 2u /* 0: the new device's offer; 1: the approver's answer */
#define PL_WIRE_LINK_MAX_BLOB_BYTES 4096u
/* Key transparency (§24.4). */
#define PL_WIRE_KT_MAX_WITNESSES 8u       /* KtConfig.witness_vkeys */
#define PL_WIRE_KT_MAX_AUDIT_ENTRIES 256u /* KtAuditGet.max, KtAuditBatch.entries */
/* Leaves in one log entry (the sequencer's cap) and in one KtAuditBatch (the server stops
 * adding entries before passing it; one entry always fits): 64 bytes each, so a batch stays
 * well below the smallest frame maximum. */
#define PL_WIRE_KT_MAX_ENTRY_LEAVES 1024u
#define PL_WIRE_KT_MAX_AUDIT_LEAVES 1024u
#define PL_WIRE_KT_LEAF_BYTES 64u /* vrf_out || commitment */
/* One note signature line: em dash, space, name, space, base64 of 76 bytes, newline. */
#define PL_WIRE_KT_MAX_COSIGNATURE_BYTES (3u + 1u + PL_NOTE_NAME_MAX_BYTES + 1u + 104u + 1u)

/* Frames. */
#define PL_FRAME_HEADER_BYTES 4u
/*
 * The largest frame body, either direction: 1 MiB + 64 KiB (1,114,112 bytes). A Send to a
 * recipient with 6 devices from a sender with 6 carries 11 ciphertexts of up to 98,440
 * bytes, 1,083,544 bytes with their protobuf overhead (at most 64 each) plus at most 512
 * bytes of username, message id and framing: 1,084,056. Every other frame is far smaller.
 */
#define PL_FRAME_MAX_BYTES (1024u * 1024u + 64u * 1024u)
/* The smallest maximum a server may be configured with: one largest ciphertext fits. */
#define PL_FRAME_MIN_MAX_BYTES (128u * 1024u)
/* Per-entry and fixed protobuf overhead of a Send, as counted above. */
#define PL_WIRE_SEND_ENTRY_OVERHEAD 64u
#define PL_WIRE_SEND_FIXED_OVERHEAD 512u

_Static_assert(PL_WIRE_MAX_SEND_CIPHERTEXTS *(PL_WIRE_MAX_CIPHERTEXT_BYTES +
                                              PL_WIRE_SEND_ENTRY_OVERHEAD) +
                       PL_WIRE_SEND_FIXED_OVERHEAD <=
                   PL_FRAME_MAX_BYTES,
               "a Send to every device must fit in one frame");
_Static_assert(PL_WIRE_MAX_CIPHERTEXT_BYTES + 4096u <= PL_FRAME_MIN_MAX_BYTES,
               "one largest envelope must fit in the smallest frame");

/*
 * Decoding a frame of n bytes may allocate at most 2n + 16 KiB (counting 16 bytes of
 * malloc overhead per allocation). A genuine frame needs about n plus a few hundred bytes
 * per repeated entry; a hostile one packed with tiny submessages or varints would need up to
 * 32 times n, and is refused with PL_FRAME_E_ALLOC_LIMIT instead.
 */
#define PL_FRAME_DECODE_ALLOC_MAX(n) (2u * (size_t)(n) + 16u * 1024u)

/* XX(name, value, wire status, message). Values are stable: new codes are appended. */
#define PL_FRAME_ERRNO_MAP(XX)                                                                     \
    XX(OK, 0, STATUS_OK, "success")                                                                \
    XX(E_NOMEM, -1, STATUS_INTERNAL, "out of memory")                                              \
    XX(E_EMPTY, -2, STATUS_BAD_FRAME, "frame length is zero")                                      \
    XX(E_TOO_LARGE, -3, STATUS_FRAME_TOO_LARGE, "frame length exceeds the maximum")                \
    XX(E_TRUNCATED, -4, STATUS_BAD_FRAME, "the stream ended inside a frame")                       \
    XX(E_DECODE, -5, STATUS_BAD_FRAME, "frame is not a valid protobuf message")                    \
    XX(E_ALLOC_LIMIT, -6, STATUS_BAD_FRAME, "frame decodes to more memory than allowed")           \
    XX(E_UNKNOWN_KIND, -7, STATUS_BAD_FRAME, "unknown frame kind")                                 \
    XX(E_UNKNOWN_REQUEST, -8, STATUS_UNKNOWN_REQUEST, "unknown request type")                      \
    XX(E_MISSING, -9, STATUS_BAD_REQUEST, "a required field is missing")                           \
    XX(E_FIELD_SIZE, -10, STATUS_BAD_REQUEST, "a field has the wrong length")                      \
    XX(E_TOO_MANY, -11, STATUS_BAD_REQUEST, "a repeated field has too many entries")               \
    XX(E_INVALID, -12, STATUS_BAD_REQUEST, "a field has an invalid value")                         \
    XX(E_BUFFER_TOO_SMALL, -13, STATUS_INTERNAL, "output buffer too small")

enum pl_frame_code {
#define PL__FRAME_ERR_ENUM(name, value, status, msg) PL_FRAME_##name = (value),
    PL_FRAME_ERRNO_MAP(PL__FRAME_ERR_ENUM)
#undef PL__FRAME_ERR_ENUM
};

/* Returns a static sentence for code; "unknown error" for unknown codes. */
const char *pl_frame_strerror(int code);

/* Returns the static symbolic name of code ("PL_FRAME_E_DECODE"); "PL_FRAME_E_UNKNOWN" if
 * unknown. */
const char *pl_frame_errname(int code);

/* Returns the wire status a server reports for code (STATUS_INTERNAL if unknown). */
Parley__StatusCode pl_frame_status(int code);

/* ------------------------------------------------------------------ reader */

typedef struct pl_frame_reader pl_frame_reader;

/*
 * Creates a reader that accepts frame bodies of 1..max_frame bytes. max_frame must lie in
 * [PL_FRAME_MIN_MAX_BYTES, PL_FRAME_MAX_BYTES] (else abort: a configuration bug). Returns
 * PL_FRAME_OK or PL_FRAME_E_NOMEM; *out is the reader, or NULL on failure. No body buffer is
 * allocated until a frame needs one.
 */
int pl_frame_reader_new(pl_frame_reader **out, size_t max_frame);

/* Frees r and its buffer; accepts NULL. */
void pl_frame_reader_free(pl_frame_reader *r);

/*
 * Takes bytes from in[0..len) until one whole frame is complete or the bytes run out.
 * *used is set to how many bytes were taken; the caller passes the rest again.
 *
 * When a frame is complete, *frame and *frame_len are its body (without the length prefix).
 * It points into `in` when the frame lay whole in this chunk with nothing buffered before
 * (no copy), and into r's buffer otherwise; either way it stays valid until the next call
 * on r, and `in` must too. Otherwise *frame is NULL, *frame_len 0 and *used == len.
 *
 * The body buffer grows with the bytes actually received, never ahead of them, up to the
 * frame's length; a buffer larger than 64 KiB is freed once its frame is handed out.
 *
 * Returns PL_FRAME_OK, or: PL_FRAME_E_EMPTY (a length of 0), PL_FRAME_E_TOO_LARGE (a length
 * above max_frame), PL_FRAME_E_NOMEM. Errors are final: the reader drops its buffer and
 * returns the same error from then on; the connection must be closed.
 */
int pl_frame_reader_feed(pl_frame_reader *r, const uint8_t *in, size_t len, size_t *used,
                         const uint8_t **frame, size_t *frame_len);

/*
 * For when the peer closed the stream: returns PL_FRAME_OK if r is between frames,
 * PL_FRAME_E_TRUNCATED if it holds part of a frame, or r's final error.
 */
int pl_frame_reader_finish(const pl_frame_reader *r);

/* Bytes of the current, unfinished frame (prefix included) that r holds. */
size_t pl_frame_reader_pending(const pl_frame_reader *r);

/* ------------------------------------------------------------------ decoding */

/* What went wrong with a frame that failed to decode or validate. */
typedef struct pl_frame_diag {
    int code;            /* PL_FRAME_E_* */
    uint64_t request_id; /* the Request's id if one was decoded, else 0 */
    const char *detail;  /* static text naming the field and the rule; "" if none */
} pl_frame_diag;

/*
 * Decodes p[0..len), one ClientFrame body, and validates it (§11.4: a kind is set, every
 * field the request needs is present and of the right length, repeated fields within their
 * bounds). Unknown fields are ignored; an unknown kind or request body is an error. At most
 * PL_FRAME_DECODE_ALLOC_MAX(len) bytes are allocated.
 *
 * Returns PL_FRAME_OK and the frame in *out (free it with pl_frame_client_free), or an
 * error with *out NULL: PL_FRAME_E_EMPTY, _TOO_LARGE (len above PL_FRAME_MAX_BYTES),
 * _DECODE, _ALLOC_LIMIT, _UNKNOWN_KIND, _UNKNOWN_REQUEST, _MISSING, _FIELD_SIZE, _TOO_MANY,
 * _INVALID. If diag is not NULL it is filled either way (code PL_FRAME_OK on success). A
 * server answers an error with a Response when diag->request_id is non-zero, and otherwise
 * with a Goodbye and a close.
 */
int pl_frame_decode_client(const uint8_t *p, size_t len, Parley__ClientFrame **out,
                           pl_frame_diag *diag);

/* The same for a ServerFrame (what a client reads), with the server-side rules of §11.7. */
int pl_frame_decode_server(const uint8_t *p, size_t len, Parley__ServerFrame **out,
                           pl_frame_diag *diag);

/* Validates an already decoded frame, as the decoders do. Returns PL_FRAME_OK or an error
 * as above; fills diag if not NULL. */
int pl_frame_validate_client(const Parley__ClientFrame *f, pl_frame_diag *diag);
int pl_frame_validate_server(const Parley__ServerFrame *f, pl_frame_diag *diag);

/* Free what the decoders returned; accept NULL. */
void pl_frame_client_free(Parley__ClientFrame *f);
void pl_frame_server_free(Parley__ServerFrame *f);

/* ------------------------------------------------------------------ encoding */

/* Returns the encoded size of f, length prefix included. */
size_t pl_frame_server_size(const Parley__ServerFrame *f);
size_t pl_frame_client_size(const Parley__ClientFrame *f);

/*
 * Writes f as one frame, u32 length prefix then the protobuf bytes, to out[0..cap), and
 * its size to *out_len. f is not validated; it must have its kind set. Returns PL_FRAME_OK,
 * or with *out_len 0: PL_FRAME_E_EMPTY (nothing to encode: no kind set),
 * PL_FRAME_E_TOO_LARGE (body above PL_FRAME_MAX_BYTES), PL_FRAME_E_BUFFER_TOO_SMALL.
 */
int pl_frame_encode_server(const Parley__ServerFrame *f, uint8_t *out, size_t cap, size_t *out_len);
int pl_frame_encode_client(const Parley__ClientFrame *f, uint8_t *out, size_t cap, size_t *out_len);

#endif

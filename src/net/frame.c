/*
 * frame.c: parleyd's frame codec: the incremental reader, decoding under a memory budget,
 * validation, and encoding (docs/PROTOCOL.md §11.1-§11.4).
 *
 * Reader states, per frame:
 *
 *   HEADER   hdr_have < 4: collecting the u32 length prefix (want == 0, have == 0)
 *   BODY     hdr_have == 4, 1 <= want <= max_frame, have < want: collecting the body
 *   DONE     delivered: the frame in buf was handed out; the next call starts a new HEADER
 *   FAILED   error != 0: final; buf freed
 *
 * A frame handed out straight from the caller's chunk never enters BODY or DONE.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "frame.h"

/* A body buffer above this size is freed once its frame is handed out, so an idle connection
 * does not keep a megabyte it needed once. */
#define READER_KEEP_BYTES (64u * 1024u)
/* The smallest body buffer allocated. */
#define READER_MIN_ALLOC 4096u
/* What each allocation costs beyond its size, as the decode budget counts it. */
#define ALLOC_OVERHEAD 16u

/* ------------------------------------------------------------------ error list */

const char *pl_frame_strerror(int code)
{
    switch (code) {
#define PL__FRAME_ERR_STR(name, value, status, msg)                                                \
    case (value):                                                                                  \
        return msg;
        PL_FRAME_ERRNO_MAP(PL__FRAME_ERR_STR)
#undef PL__FRAME_ERR_STR
    default:
        return "unknown error";
    }
}

const char *pl_frame_errname(int code)
{
    switch (code) {
#define PL__FRAME_ERR_NAME(name, value, status, msg)                                               \
    case (value):                                                                                  \
        return "PL_FRAME_" #name;
        PL_FRAME_ERRNO_MAP(PL__FRAME_ERR_NAME)
#undef PL__FRAME_ERR_NAME
    default:
        return "PL_FRAME_E_UNKNOWN";
    }
}

Parley__StatusCode pl_frame_status(int code)
{
    switch (code) {
#define PL__FRAME_ERR_STATUS(name, value, status, msg)                                             \
    case (value):                                                                                  \
        return PARLEY__STATUS_CODE__##status;
        PL_FRAME_ERRNO_MAP(PL__FRAME_ERR_STATUS)
#undef PL__FRAME_ERR_STATUS
    default:
        return PARLEY__STATUS_CODE__STATUS_INTERNAL;
    }
}

/* ------------------------------------------------------------------ reader */

struct pl_frame_reader {
    size_t max_frame;
    int error;     /* FAILED when non-zero */
    int delivered; /* DONE */
    uint8_t hdr[PL_FRAME_HEADER_BYTES];
    size_t hdr_have; /* bytes of hdr received */
    size_t want;     /* body length, once hdr is complete */
    uint8_t *buf;    /* body bytes received so far */
    size_t cap, have;
};

static uint32_t get_be32(const uint8_t p[4])
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(uint8_t p[4], uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int pl_frame_reader_new(pl_frame_reader **out, size_t max_frame)
{
    pl_frame_reader *r;

    *out = NULL;
    if (max_frame < PL_FRAME_MIN_MAX_BYTES || max_frame > PL_FRAME_MAX_BYTES)
        sodium_misuse();
    if (!(r = calloc(1, sizeof *r)))
        return PL_FRAME_E_NOMEM;
    r->max_frame = max_frame;
    *out = r;
    return PL_FRAME_OK;
}

void pl_frame_reader_free(pl_frame_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    free(r);
}

static void reader_drop_buffer(pl_frame_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

static int reader_fail(pl_frame_reader *r, int code)
{
    r->error = code;
    reader_drop_buffer(r);
    r->hdr_have = r->want = r->have = 0;
    return code;
}

/* Checks a length prefix; the reader fails on a bad one. */
static int reader_check_length(pl_frame_reader *r, uint32_t n)
{
    if (n == 0)
        return reader_fail(r, PL_FRAME_E_EMPTY);
    if (n > r->max_frame)
        return reader_fail(r, PL_FRAME_E_TOO_LARGE);
    return PL_FRAME_OK;
}

/* Makes room for `need` (<= want) body bytes: doubling, but never beyond the frame. */
static int reader_reserve(pl_frame_reader *r, size_t need)
{
    size_t cap = r->cap;
    uint8_t *p;

    if (need <= cap)
        return PL_FRAME_OK;
    if (cap < READER_MIN_ALLOC)
        cap = READER_MIN_ALLOC;
    while (cap < need)
        cap *= 2;
    if (cap > r->want)
        cap = r->want;
    if (!(p = realloc(r->buf, cap)))
        return reader_fail(r, PL_FRAME_E_NOMEM);
    r->buf = p;
    r->cap = cap;
    return PL_FRAME_OK;
}

int pl_frame_reader_feed(pl_frame_reader *r, const uint8_t *in, size_t len, size_t *used,
                         const uint8_t **frame, size_t *frame_len)
{
    size_t off = 0, take;
    int rc;

    *used = 0;
    *frame = NULL;
    *frame_len = 0;
    if (r->error)
        return r->error;
    if (r->delivered) {
        /* DONE -> HEADER */
        r->delivered = 0;
        r->hdr_have = r->want = r->have = 0;
        if (r->cap > READER_KEEP_BYTES)
            reader_drop_buffer(r);
    }

    while (off < len) {
        if (r->hdr_have < PL_FRAME_HEADER_BYTES) {
            if (r->hdr_have == 0 && len - off >= PL_FRAME_HEADER_BYTES) {
                uint32_t n = get_be32(in + off);

                if ((rc = reader_check_length(r, n)) != PL_FRAME_OK)
                    return rc;
                if (len - off - PL_FRAME_HEADER_BYTES >= n) {
                    /* The whole frame is in this chunk: hand it out in place. */
                    *frame = in + off + PL_FRAME_HEADER_BYTES;
                    *frame_len = n;
                    *used = off + PL_FRAME_HEADER_BYTES + n;
                    return PL_FRAME_OK;
                }
            }
            take = PL_FRAME_HEADER_BYTES - r->hdr_have;
            if (take > len - off)
                take = len - off;
            memcpy(r->hdr + r->hdr_have, in + off, take);
            r->hdr_have += take;
            off += take;
            if (r->hdr_have < PL_FRAME_HEADER_BYTES)
                break;
            /* HEADER -> BODY */
            if ((rc = reader_check_length(r, get_be32(r->hdr))) != PL_FRAME_OK)
                return rc;
            r->want = get_be32(r->hdr);
            r->have = 0;
            continue;
        }
        take = r->want - r->have;
        if (take > len - off)
            take = len - off;
        if ((rc = reader_reserve(r, r->have + take)) != PL_FRAME_OK)
            return rc;
        memcpy(r->buf + r->have, in + off, take);
        r->have += take;
        off += take;
        if (r->have == r->want) {
            /* BODY -> DONE */
            r->delivered = 1;
            *frame = r->buf;
            *frame_len = r->want;
            break;
        }
    }
    *used = off;
    return PL_FRAME_OK;
}

int pl_frame_reader_finish(const pl_frame_reader *r)
{
    if (r->error)
        return r->error;
    if (!r->delivered && r->hdr_have > 0)
        return PL_FRAME_E_TRUNCATED;
    return PL_FRAME_OK;
}

size_t pl_frame_reader_pending(const pl_frame_reader *r)
{
    if (r->error || r->delivered)
        return 0;
    return r->hdr_have + r->have;
}

/* ------------------------------------------------------------------ bounded allocator */

typedef struct alloc_budget {
    size_t used, limit;
    int refused;
} alloc_budget;

static void *budget_alloc(void *data, size_t size)
{
    alloc_budget *b = data;

    if (size > b->limit - b->used || ALLOC_OVERHEAD > b->limit - b->used - size) {
        b->refused = 1;
        return NULL;
    }
    b->used += size + ALLOC_OVERHEAD;
    return malloc(size ? size : 1);
}

static void budget_free(void *data, void *p)
{
    (void)data;
    free(p);
}

/*
 * Returns 1 if m and every submessage it holds carry no unknown field with field number 0.
 * Field number 0 is not valid protobuf, yet protobuf-c keeps such a field when its tag is
 * written in a non-minimal varint and writes it back minimally, which it then refuses: a frame
 * that decodes but whose re-encoding does not (found by fuzz_frame). Refusing it here keeps
 * "what we accept, we can write back" true. Depth is bounded by the schema (at most 4).
 */
static int unknown_fields_valid(const ProtobufCMessage *m, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    if (depth > 8)
        return 0;
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        const uint8_t *base = (const uint8_t *)m;

        if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + fd->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)(base + fd->offset);

            for (size_t k = 0; k < n; k++)
                if (items[k] && !unknown_fields_valid(items[k], depth + 1))
                    return 0;
            continue;
        }
        /* A oneof member counts only when its case is the one set. */
        if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
            continue;
        {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + fd->offset);

            if (sub && !unknown_fields_valid(sub, depth + 1))
                return 0;
        }
    }
    return 1;
}

/*
 * Unpacks p[0..len) as `desc` under the budget of PL_FRAME_DECODE_ALLOC_MAX(len). What it
 * returns is freed with protobuf_c_message_free_unpacked(m, NULL): the budget's free is
 * plain free(), which is also protobuf-c's default.
 */
static int unpack_bounded(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
                          ProtobufCMessage **out)
{
    alloc_budget budget = {0, PL_FRAME_DECODE_ALLOC_MAX(len), 0};
    ProtobufCAllocator allocator = {budget_alloc, budget_free, &budget};

    *out = NULL;
    if (len == 0)
        return PL_FRAME_E_EMPTY;
    if (len > PL_FRAME_MAX_BYTES)
        return PL_FRAME_E_TOO_LARGE;
    *out = protobuf_c_message_unpack(desc, &allocator, len, p);
    if (*out == NULL)
        return budget.refused ? PL_FRAME_E_ALLOC_LIMIT : PL_FRAME_E_DECODE;
    if (!unknown_fields_valid(*out, 0)) {
        protobuf_c_message_free_unpacked(*out, NULL);
        *out = NULL;
        return PL_FRAME_E_DECODE;
    }
    return PL_FRAME_OK;
}

/* ------------------------------------------------------------------ validation */

static int fail(pl_frame_diag *d, int code, const char *detail)
{
    d->code = code;
    d->detail = detail;
    return code;
}

/* A username: 1..PL_WIRE_MAX_USERNAME_BYTES bytes (its rules are checked by the handler). */
static int check_name(pl_frame_diag *d, const char *s, const char *missing, const char *size)
{
    size_t n = s ? strnlen(s, PL_WIRE_MAX_USERNAME_BYTES + 1) : 0;

    if (n == 0)
        return fail(d, PL_FRAME_E_MISSING, missing);
    if (n > PL_WIRE_MAX_USERNAME_BYTES)
        return fail(d, PL_FRAME_E_FIELD_SIZE, size);
    return PL_FRAME_OK;
}

static int check_exact(pl_frame_diag *d, ProtobufCBinaryData b, size_t n, const char *missing,
                       const char *size)
{
    if (b.len == 0)
        return fail(d, PL_FRAME_E_MISSING, missing);
    if (b.len != n)
        return fail(d, PL_FRAME_E_FIELD_SIZE, size);
    return PL_FRAME_OK;
}

static int check_count(pl_frame_diag *d, size_t n, size_t min, size_t max, const char *missing,
                       const char *many)
{
    if (n < min)
        return fail(d, PL_FRAME_E_MISSING, missing);
    if (n > max)
        return fail(d, PL_FRAME_E_TOO_MANY, many);
    return PL_FRAME_OK;
}

/* An account state (§19.1): one of the lengths 84 + 143 n + 64 for n in 1..16; its content is
 * the handler's. */
static int check_state(pl_frame_diag *d, ProtobufCBinaryData b, const char *missing,
                       const char *size)
{
    if (b.len == 0)
        return fail(d, PL_FRAME_E_MISSING, missing);
    if (b.len < PL_ACCOUNT_STATE_BYTES(1) || b.len > PL_ACCOUNT_STATE_MAX_BYTES ||
        (b.len - PL_ACCOUNT_STATE_BYTES(0)) % PL_DEVICE_RECORD_BYTES != 0)
        return fail(d, PL_FRAME_E_FIELD_SIZE, size);
    return PL_FRAME_OK;
}

/* A text field of 1..max bytes. */
static int check_text(pl_frame_diag *d, const char *s, size_t max, const char *missing,
                      const char *size)
{
    size_t n = s ? strnlen(s, max + 1) : 0;

    if (n == 0)
        return fail(d, PL_FRAME_E_MISSING, missing);
    if (n > max)
        return fail(d, PL_FRAME_E_FIELD_SIZE, size);
    return PL_FRAME_OK;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int tr_ = (expr);                                                                          \
        if (tr_ != PL_FRAME_OK)                                                                    \
            return tr_;                                                                            \
    } while (0)

/* Every present submessage pointer of a set oneof is non-NULL after unpacking; this guards a
 * caller-built frame handed to pl_frame_validate_*. */
#define NEED(d, ptr, what)                                                                         \
    do {                                                                                           \
        if ((ptr) == NULL)                                                                         \
            return fail((d), PL_FRAME_E_MISSING, what);                                            \
    } while (0)

static int check_hello(pl_frame_diag *d, const Parley__Hello *h)
{
    NEED(d, h, "hello: missing");
    if (h->min_version == 0)
        return fail(d, PL_FRAME_E_MISSING, "hello.min_version: must be at least 1");
    if (h->max_version < h->min_version)
        return fail(d, PL_FRAME_E_INVALID, "hello.max_version: below min_version");
    if (h->client &&
        strnlen(h->client, PL_WIRE_MAX_CLIENT_NAME_BYTES + 1) > PL_WIRE_MAX_CLIENT_NAME_BYTES)
        return fail(d, PL_FRAME_E_FIELD_SIZE, "hello.client: more than 64 bytes");
    return PL_FRAME_OK;
}

static int check_ciphertexts(pl_frame_diag *d, Parley__DeviceCiphertext *const *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        NEED(d, c[i], "send: missing device ciphertext");
        TRY(check_exact(d, c[i]->identity_key, PL_PUBKEY_BYTES,
                        "send.*_devices[].identity_key: missing",
                        "send.*_devices[].identity_key: must be 33 bytes"));
        if (c[i]->ciphertext.len == 0)
            return fail(d, PL_FRAME_E_MISSING, "send.*_devices[].ciphertext: missing");
        if (c[i]->ciphertext.len > PL_WIRE_MAX_CIPHERTEXT_BYTES)
            return fail(d, PL_FRAME_E_FIELD_SIZE,
                        "send.*_devices[].ciphertext: more than 98440 bytes");
        for (size_t j = 0; j < i; j++)
            if (c[j]->device_id == c[i]->device_id)
                return fail(d, PL_FRAME_E_INVALID, "send.*_devices[].device_id: listed twice");
    }
    return PL_FRAME_OK;
}

static int check_send(pl_frame_diag *d, const Parley__Send *s)
{
    TRY(check_name(d, s->recipient, "send.recipient: missing",
                   "send.recipient: more than 255 bytes"));
    TRY(check_count(d, s->n_recipient_devices, 1, PL_WIRE_MAX_DEVICES,
                    "send.recipient_devices: none", "send.recipient_devices: more than 6"));
    TRY(check_count(d, s->n_sender_devices, 0, PL_WIRE_MAX_DEVICES - 1, "",
                    "send.sender_devices: more than 5"));
    TRY(check_ciphertexts(d, s->recipient_devices, s->n_recipient_devices));
    TRY(check_ciphertexts(d, s->sender_devices, s->n_sender_devices));
    return check_exact(d, s->client_message_id, PL_WIRE_CLIENT_MESSAGE_ID_BYTES,
                       "send.client_message_id: missing",
                       "send.client_message_id: must be 16 bytes");
}

/* GroupSend (§31.1): one ciphertext and the parallel lists of addressed devices. Which
 * accounts and devices exist, duplicates after case folding and the server's own device
 * maximum are the handler's. */
static int check_group_send(pl_frame_diag *d, const Parley__GroupSend *g)
{
    size_t total = 0;

    if (g->ciphertext.len == 0)
        return fail(d, PL_FRAME_E_MISSING, "group_send.ciphertext: missing");
    if (g->ciphertext.len > PL_WIRE_MAX_CIPHERTEXT_BYTES)
        return fail(d, PL_FRAME_E_FIELD_SIZE, "group_send.ciphertext: more than 98440 bytes");
    TRY(check_exact(d, g->client_message_id, PL_WIRE_CLIENT_MESSAGE_ID_BYTES,
                    "group_send.client_message_id: missing",
                    "group_send.client_message_id: must be 16 bytes"));
    TRY(check_count(d, g->n_usernames, 1, PL_WIRE_MAX_GROUP_RECIPIENT_DEVICES,
                    "group_send.usernames: none", "group_send.usernames: more than 10000"));
    if (g->n_device_counts != g->n_usernames)
        return fail(d, PL_FRAME_E_INVALID, "group_send.device_counts: not one per username");
    for (size_t i = 0; i < g->n_usernames; i++) {
        TRY(check_name(d, g->usernames[i], "group_send.usernames[]: empty",
                       "group_send.usernames[]: more than 255 bytes"));
        TRY(check_count(d, g->device_counts[i], 1, PL_WIRE_MAX_DEVICES,
                        "group_send.device_counts[]: zero", "group_send.device_counts[]: above 6"));
        total += g->device_counts[i];
    }
    if (g->n_device_ids != total)
        return fail(d, PL_FRAME_E_INVALID,
                    "group_send.device_ids: not the sum of device_counts entries");
    if (total > PL_WIRE_MAX_GROUP_RECIPIENT_DEVICES)
        return fail(d, PL_FRAME_E_TOO_MANY, "group_send.device_ids: more than 10000");
    if (g->identity_keys.len != total * PL_PUBKEY_BYTES)
        return fail(d, PL_FRAME_E_FIELD_SIZE,
                    "group_send.identity_keys: must be 33 bytes per device id");
    /* Duplicate ids within one account; the lists are at most 6 long. */
    for (size_t i = 0, at = 0; i < g->n_usernames; at += g->device_counts[i], i++)
        for (size_t j = at; j < at + g->device_counts[i]; j++)
            for (size_t k = at; k < j; k++)
                if (g->device_ids[j] == g->device_ids[k])
                    return fail(d, PL_FRAME_E_INVALID,
                                "group_send.device_ids: listed twice for one account");
    return PL_FRAME_OK;
}

/* A link blob: 1..PL_WIRE_LINK_MAX_BLOB_BYTES bytes. */
static int check_link_blob(pl_frame_diag *d, ProtobufCBinaryData b, const char *missing,
                           const char *size)
{
    if (b.len == 0)
        return fail(d, PL_FRAME_E_MISSING, missing);
    if (b.len > PL_WIRE_LINK_MAX_BLOB_BYTES)
        return fail(d, PL_FRAME_E_FIELD_SIZE, size);
    return PL_FRAME_OK;
}

/* The rendezvous and slot that LinkPut and LinkGet share. */
static int check_link_key(pl_frame_diag *d, ProtobufCBinaryData rendezvous, uint32_t slot,
                          const char *missing, const char *size, const char *invalid)
{
    TRY(check_exact(d, rendezvous, PL_WIRE_LINK_RENDEZVOUS_BYTES, missing, size));
    if (slot >= PL_WIRE_LINK_SLOTS)
        return fail(d, PL_FRAME_E_INVALID, invalid);
    return PL_FRAME_OK;
}

static int check_request_body(pl_frame_diag *d, const Parley__Request *q)
{
    switch (q->body_case) {
    case PARLEY__REQUEST__BODY_REGISTER_ACCOUNT:
        NEED(d, q->register_account, "register_account: missing");
        TRY(check_name(d, q->register_account->username, "register_account.username: missing",
                       "register_account.username: more than 255 bytes"));
        TRY(check_exact(d, q->register_account->account_key, PL_PUBKEY_BYTES,
                        "register_account.account_key: missing",
                        "register_account.account_key: must be 33 bytes"));
        TRY(check_exact(d, q->register_account->device_record, PL_DEVICE_RECORD_BYTES,
                        "register_account.device_record: missing",
                        "register_account.device_record: must be 143 bytes"));
        return check_state(d, q->register_account->account_state,
                           "register_account.account_state: missing",
                           "register_account.account_state: not a one-device account state");
    case PARLEY__REQUEST__BODY_AUTH_CHALLENGE:
        NEED(d, q->auth_challenge, "auth_challenge: missing");
        return PL_FRAME_OK;
    case PARLEY__REQUEST__BODY_AUTH_PROOF:
        NEED(d, q->auth_proof, "auth_proof: missing");
        TRY(check_name(d, q->auth_proof->username, "auth_proof.username: missing",
                       "auth_proof.username: more than 255 bytes"));
        return check_exact(d, q->auth_proof->signature, PL_SIGNATURE_BYTES,
                           "auth_proof.signature: missing",
                           "auth_proof.signature: must be 64 bytes");
    case PARLEY__REQUEST__BODY_ADD_DEVICE:
        NEED(d, q->add_device, "add_device: missing");
        TRY(check_name(d, q->add_device->username, "add_device.username: missing",
                       "add_device.username: more than 255 bytes"));
        TRY(check_exact(d, q->add_device->device_record, PL_DEVICE_RECORD_BYTES,
                        "add_device.device_record: missing",
                        "add_device.device_record: must be 143 bytes"));
        return check_state(d, q->add_device->account_state, "add_device.account_state: missing",
                           "add_device.account_state: not the length of an account state");
    case PARLEY__REQUEST__BODY_REMOVE_DEVICE:
        NEED(d, q->remove_device, "remove_device: missing");
        TRY(check_name(d, q->remove_device->username, "remove_device.username: missing",
                       "remove_device.username: more than 255 bytes"));
        TRY(check_exact(d, q->remove_device->signature, PL_SIGNATURE_BYTES,
                        "remove_device.signature: missing",
                        "remove_device.signature: must be 64 bytes"));
        return check_state(d, q->remove_device->account_state,
                           "remove_device.account_state: missing",
                           "remove_device.account_state: not the length of an account state");
    case PARLEY__REQUEST__BODY_LIST_DEVICES:
        NEED(d, q->list_devices, "list_devices: missing");
        return check_name(d, q->list_devices->username, "list_devices.username: missing",
                          "list_devices.username: more than 255 bytes");
    case PARLEY__REQUEST__BODY_UPLOAD_SIGNED_PREKEY:
        NEED(d, q->upload_signed_prekey, "upload_signed_prekey: missing");
        return check_exact(d, q->upload_signed_prekey->signed_prekey, PL_SIGNED_PREKEY_PUBLIC_BYTES,
                           "upload_signed_prekey.signed_prekey: missing",
                           "upload_signed_prekey.signed_prekey: must be 109 bytes");
    case PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS: {
        const Parley__UploadOnetimePrekeys *u = q->upload_onetime_prekeys;

        NEED(d, u, "upload_onetime_prekeys: missing");
        TRY(check_count(d, u->n_onetime_prekeys, 1, PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD,
                        "upload_onetime_prekeys.onetime_prekeys: none",
                        "upload_onetime_prekeys.onetime_prekeys: more than 100"));
        for (size_t i = 0; i < u->n_onetime_prekeys; i++)
            TRY(check_exact(d, u->onetime_prekeys[i], PL_ONETIME_PREKEY_PUBLIC_BYTES,
                            "upload_onetime_prekeys.onetime_prekeys[]: empty",
                            "upload_onetime_prekeys.onetime_prekeys[]: must be 37 bytes"));
        return PL_FRAME_OK;
    }
    case PARLEY__REQUEST__BODY_FETCH_BUNDLES:
        NEED(d, q->fetch_bundles, "fetch_bundles: missing");
        return check_name(d, q->fetch_bundles->username, "fetch_bundles.username: missing",
                          "fetch_bundles.username: more than 255 bytes");
    case PARLEY__REQUEST__BODY_SEND:
        NEED(d, q->send, "send: missing");
        return check_send(d, q->send);
    case PARLEY__REQUEST__BODY_GROUP_SEND:
        NEED(d, q->group_send, "group_send: missing");
        return check_group_send(d, q->group_send);
    case PARLEY__REQUEST__BODY_ACK:
        NEED(d, q->ack, "ack: missing");
        TRY(check_count(d, q->ack->n_seqs, 1, PL_WIRE_MAX_ACKS, "ack.seqs: none",
                        "ack.seqs: more than 256"));
        for (size_t i = 0; i < q->ack->n_seqs; i++)
            if (q->ack->seqs[i] == 0)
                return fail(d, PL_FRAME_E_INVALID, "ack.seqs[]: sequence numbers start at 1");
        return PL_FRAME_OK;
    case PARLEY__REQUEST__BODY_PING:
        NEED(d, q->ping, "ping: missing");
        return PL_FRAME_OK;
    case PARLEY__REQUEST__BODY_PREKEY_STATUS:
        NEED(d, q->prekey_status, "prekey_status: missing");
        return PL_FRAME_OK;
    case PARLEY__REQUEST__BODY_LINK_PUT:
        NEED(d, q->link_put, "link_put: missing");
        TRY(check_link_key(d, q->link_put->rendezvous, q->link_put->slot,
                           "link_put.rendezvous: missing", "link_put.rendezvous: must be 16 bytes",
                           "link_put.slot: must be 0 or 1"));
        return check_link_blob(d, q->link_put->blob, "link_put.blob: missing",
                               "link_put.blob: more than 4096 bytes");
    case PARLEY__REQUEST__BODY_KT_CONFIG:
        NEED(d, q->kt_config, "kt_config: missing");
        return PL_FRAME_OK;
    case PARLEY__REQUEST__BODY_KT_CHECKPOINT:
        NEED(d, q->kt_checkpoint, "kt_checkpoint: missing");
        return PL_FRAME_OK;
    case PARLEY__REQUEST__BODY_KT_LOOKUP:
        NEED(d, q->kt_lookup, "kt_lookup: missing");
        TRY(check_name(d, q->kt_lookup->username, "kt_lookup.username: missing",
                       "kt_lookup.username: more than 255 bytes"));
        if (!q->kt_lookup->fixed && q->kt_lookup->version != 0)
            return fail(d, PL_FRAME_E_INVALID, "kt_lookup.version: set without fixed");
        return PL_FRAME_OK;
    case PARLEY__REQUEST__BODY_KT_AUDIT:
        NEED(d, q->kt_audit, "kt_audit: missing");
        return check_count(d, q->kt_audit->max, 1, PL_WIRE_KT_MAX_AUDIT_ENTRIES,
                           "kt_audit.max: must be at least 1", "kt_audit.max: more than 256");
    case PARLEY__REQUEST__BODY_KT_COSIGN:
        NEED(d, q->kt_cosign, "kt_cosign: missing");
        if (q->kt_cosign->size == 0)
            return fail(d, PL_FRAME_E_MISSING, "kt_cosign.size: must be non-zero");
        return check_text(d, q->kt_cosign->cosignature, PL_WIRE_KT_MAX_COSIGNATURE_BYTES,
                          "kt_cosign.cosignature: missing",
                          "kt_cosign.cosignature: longer than a signature line");
    case PARLEY__REQUEST__BODY_KT_WATCH:
        NEED(d, q->kt_watch, "kt_watch: missing");
        return PL_FRAME_OK;
    case PARLEY__REQUEST__BODY_LINK_GET:
        NEED(d, q->link_get, "link_get: missing");
        return check_link_key(
            d, q->link_get->rendezvous, q->link_get->slot, "link_get.rendezvous: missing",
            "link_get.rendezvous: must be 16 bytes", "link_get.slot: must be 0 or 1");
    case PARLEY__REQUEST__BODY__NOT_SET:
    default:
        /* A body field this schema does not know is kept as an unknown field. */
        if (q->body_case == PARLEY__REQUEST__BODY__NOT_SET && q->base.n_unknown_fields == 0)
            return fail(d, PL_FRAME_E_MISSING, "request: no body");
        return fail(d, PL_FRAME_E_UNKNOWN_REQUEST, "request: body of an unknown type");
    }
}

int pl_frame_validate_client(const Parley__ClientFrame *f, pl_frame_diag *diag)
{
    pl_frame_diag local;
    pl_frame_diag *d = diag ? diag : &local;
    int rc;

    d->code = PL_FRAME_OK;
    d->request_id = 0;
    d->detail = "";
    switch (f->kind_case) {
    case PARLEY__CLIENT_FRAME__KIND_HELLO:
        return check_hello(d, f->hello);
    case PARLEY__CLIENT_FRAME__KIND_REQUEST:
        NEED(d, f->request, "request: missing");
        if (f->request->id == 0)
            return fail(d, PL_FRAME_E_MISSING, "request.id: must be non-zero");
        rc = check_request_body(d, f->request);
        /* Only a request that failed can be answered by id; success leaves diag clean. */
        if (rc != PL_FRAME_OK)
            d->request_id = f->request->id;
        return rc;
    case PARLEY__CLIENT_FRAME__KIND__NOT_SET:
    default:
        if (f->kind_case == PARLEY__CLIENT_FRAME__KIND__NOT_SET && f->base.n_unknown_fields == 0)
            return fail(d, PL_FRAME_E_MISSING, "frame: no kind");
        return fail(d, PL_FRAME_E_UNKNOWN_KIND, "frame: kind of an unknown type");
    }
}

static int check_status(pl_frame_diag *d, const Parley__Status *s)
{
    NEED(d, s, "status: missing");
    /* A Send names two accounts, a GroupSend at most PL_WIRE_MAX_GROUP_MISMATCHED. */
    TRY(check_count(d, s->n_mismatched, 0, PL_WIRE_MAX_GROUP_MISMATCHED, "",
                    "status.mismatched: more than 64 accounts"));
    for (size_t i = 0; i < s->n_mismatched; i++)
        NEED(d, s->mismatched[i], "status.mismatched[]: missing");
    return PL_FRAME_OK;
}

/* A checkpoint note (1..PL_NOTE_MAX_BYTES) with a consistency proof of at most
 * PL_MERKLE_MAX_PROOF hashes of 32 bytes. The note's content is the client's to verify. */
static int check_kt_checkpoint(pl_frame_diag *d, const Parley__KtCheckpoint *c, const char *what)
{
    NEED(d, c, what);
    TRY(check_text(d, c->note, PL_NOTE_MAX_BYTES, "kt_checkpoint.note: missing",
                   "kt_checkpoint.note: longer than 16384 bytes"));
    TRY(check_count(d, c->n_consistency, 0, PL_MERKLE_MAX_PROOF, "",
                    "kt_checkpoint.consistency: more than 64 hashes"));
    for (size_t i = 0; i < c->n_consistency; i++)
        TRY(check_exact(d, c->consistency[i], PL_MERKLE_HASH_BYTES,
                        "kt_checkpoint.consistency[]: empty",
                        "kt_checkpoint.consistency[]: must be 32 bytes"));
    return PL_FRAME_OK;
}

static int check_kt_config(pl_frame_diag *d, const Parley__KtConfig *c)
{
    NEED(d, c, "response.kt_config: missing");
    TRY(check_text(d, c->origin, PL_NOTE_NAME_MAX_BYTES, "response.kt_config.origin: missing",
                   "response.kt_config.origin: more than 255 bytes"));
    TRY(check_text(d, c->log_vkey, PL_NOTE_VKEY_MAX_BYTES, "response.kt_config.log_vkey: missing",
                   "response.kt_config.log_vkey: too long"));
    TRY(check_exact(d, c->vrf_public_key, PL_VRF_PUBLIC_KEY_BYTES,
                    "response.kt_config.vrf_public_key: missing",
                    "response.kt_config.vrf_public_key: must be 32 bytes"));
    TRY(check_count(d, c->n_witness_vkeys, 0, PL_WIRE_KT_MAX_WITNESSES, "",
                    "response.kt_config.witness_vkeys: more than 8"));
    for (size_t i = 0; i < c->n_witness_vkeys; i++)
        TRY(check_text(d, c->witness_vkeys[i], PL_NOTE_VKEY_MAX_BYTES,
                       "response.kt_config.witness_vkeys[]: empty",
                       "response.kt_config.witness_vkeys[]: too long"));
    if (c->quorum > c->n_witness_vkeys)
        return fail(d, PL_FRAME_E_INVALID, "response.kt_config.quorum: more than the witnesses");
    return PL_FRAME_OK;
}

static int check_kt_audit(pl_frame_diag *d, const Parley__KtAuditBatch *b)
{
    size_t leaves = 0;

    NEED(d, b, "response.kt_audit: missing");
    TRY(check_count(d, b->n_entries, 0, PL_WIRE_KT_MAX_AUDIT_ENTRIES, "",
                    "response.kt_audit.entries: more than 256"));
    for (size_t i = 0; i < b->n_entries; i++) {
        const Parley__KtAuditEntry *e = b->entries[i];

        NEED(d, e, "response.kt_audit.entries[]: missing");
        TRY(check_exact(d, e->prefix_root, PL_PREFIX_HASH_BYTES,
                        "response.kt_audit.entries[].prefix_root: missing",
                        "response.kt_audit.entries[].prefix_root: must be 32 bytes"));
        TRY(check_count(d, e->n_leaves, 0, PL_WIRE_KT_MAX_ENTRY_LEAVES, "",
                        "response.kt_audit.entries[].leaves: too many"));
        leaves += e->n_leaves;
        for (size_t j = 0; j < e->n_leaves; j++)
            TRY(check_exact(d, e->leaves[j], PL_WIRE_KT_LEAF_BYTES,
                            "response.kt_audit.entries[].leaves[]: empty",
                            "response.kt_audit.entries[].leaves[]: must be 64 bytes"));
    }
    if (leaves > PL_WIRE_KT_MAX_AUDIT_LEAVES)
        return fail(d, PL_FRAME_E_TOO_MANY, "response.kt_audit: too many leaves");
    return PL_FRAME_OK;
}

static int check_response(pl_frame_diag *d, const Parley__Response *r)
{
    if (r->id == 0)
        return fail(d, PL_FRAME_E_MISSING, "response.id: must be non-zero");
    TRY(check_status(d, r->status));
    if (r->status->code != PARLEY__STATUS_CODE__STATUS_OK) {
        if (r->body_case != PARLEY__RESPONSE__BODY__NOT_SET)
            return fail(d, PL_FRAME_E_INVALID, "response: a body with an error status");
        return PL_FRAME_OK;
    }
    switch (r->body_case) {
    case PARLEY__RESPONSE__BODY_AUTH_CHALLENGE:
        NEED(d, r->auth_challenge, "response.auth_challenge: missing");
        return check_exact(d, r->auth_challenge->challenge, PL_WIRE_CHALLENGE_BYTES,
                           "response.auth_challenge.challenge: missing",
                           "response.auth_challenge.challenge: must be 32 bytes");
    case PARLEY__RESPONSE__BODY_LIST_DEVICES:
        NEED(d, r->list_devices, "response.list_devices: missing");
        TRY(check_exact(d, r->list_devices->account_key, PL_PUBKEY_BYTES,
                        "response.list_devices.account_key: missing",
                        "response.list_devices.account_key: must be 33 bytes"));
        TRY(check_count(d, r->list_devices->n_device_records, 0, PL_WIRE_MAX_DEVICES, "",
                        "response.list_devices.device_records: more than 6"));
        for (size_t i = 0; i < r->list_devices->n_device_records; i++)
            TRY(check_exact(d, r->list_devices->device_records[i], PL_DEVICE_RECORD_BYTES,
                            "response.list_devices.device_records[]: empty",
                            "response.list_devices.device_records[]: must be 143 bytes"));
        /* Absent for an account that has no state yet; else an account state's length. */
        if (r->list_devices->account_state.len)
            TRY(check_state(d, r->list_devices->account_state, "",
                            "response.list_devices.account_state: not the length of an account "
                            "state"));
        return PL_FRAME_OK;
    case PARLEY__RESPONSE__BODY_FETCH_BUNDLES:
        NEED(d, r->fetch_bundles, "response.fetch_bundles: missing");
        TRY(check_exact(d, r->fetch_bundles->account_key, PL_PUBKEY_BYTES,
                        "response.fetch_bundles.account_key: missing",
                        "response.fetch_bundles.account_key: must be 33 bytes"));
        TRY(check_count(d, r->fetch_bundles->n_bundles, 0, PL_WIRE_MAX_DEVICES, "",
                        "response.fetch_bundles.bundles: more than 6"));
        for (size_t i = 0; i < r->fetch_bundles->n_bundles; i++)
            if (r->fetch_bundles->bundles[i].len == 0 ||
                r->fetch_bundles->bundles[i].len > PL_BUNDLE_MAX_BYTES)
                return fail(d, PL_FRAME_E_FIELD_SIZE,
                            "response.fetch_bundles.bundles[]: 1..291 bytes");
        return PL_FRAME_OK;
    case PARLEY__RESPONSE__BODY_KT_CONFIG:
        return check_kt_config(d, r->kt_config);
    case PARLEY__RESPONSE__BODY_KT_CHECKPOINT:
        return check_kt_checkpoint(d, r->kt_checkpoint, "response.kt_checkpoint: invalid");
    case PARLEY__RESPONSE__BODY_KT_LOOKUP:
        NEED(d, r->kt_lookup, "response.kt_lookup: missing");
        TRY(check_kt_checkpoint(d, r->kt_lookup->checkpoint,
                                "response.kt_lookup.checkpoint: invalid"));
        if (r->kt_lookup->proof.len == 0)
            return fail(d, PL_FRAME_E_MISSING, "response.kt_lookup.proof: missing");
        if (r->kt_lookup->proof.len > PL_KT_LOOKUP_MAX_BYTES)
            return fail(d, PL_FRAME_E_FIELD_SIZE, "response.kt_lookup.proof: too long");
        return PL_FRAME_OK;
    case PARLEY__RESPONSE__BODY_KT_AUDIT:
        return check_kt_audit(d, r->kt_audit);
    case PARLEY__RESPONSE__BODY_LINK_GET:
        NEED(d, r->link_get, "response.link_get: missing");
        return check_link_blob(d, r->link_get->blob, "response.link_get.blob: missing",
                               "response.link_get.blob: more than 4096 bytes");
    case PARLEY__RESPONSE__BODY__NOT_SET:
        if (r->base.n_unknown_fields != 0)
            return fail(d, PL_FRAME_E_UNKNOWN_REQUEST, "response: body of an unknown type");
        return PL_FRAME_OK; /* requests whose success carries nothing */
    default:
        return PL_FRAME_OK; /* the other bodies have no field that needs a check */
    }
}

static int check_push(pl_frame_diag *d, const Parley__Push *p)
{
    switch (p->kind_case) {
    case PARLEY__PUSH__KIND_ENVELOPE:
        NEED(d, p->envelope, "push.envelope: missing");
        if (p->envelope->seq == 0)
            return fail(d, PL_FRAME_E_MISSING, "push.envelope.seq: must be non-zero");
        TRY(check_name(d, p->envelope->sender, "push.envelope.sender: missing",
                       "push.envelope.sender: more than 255 bytes"));
        if (p->envelope->ciphertext.len == 0)
            return fail(d, PL_FRAME_E_MISSING, "push.envelope.ciphertext: missing");
        if (p->envelope->ciphertext.len > PL_WIRE_MAX_CIPHERTEXT_BYTES)
            return fail(d, PL_FRAME_E_FIELD_SIZE,
                        "push.envelope.ciphertext: more than 98440 bytes");
        return PL_FRAME_OK;
    case PARLEY__PUSH__KIND_PREKEYS_LOW:
        NEED(d, p->prekeys_low, "push.prekeys_low: missing");
        return PL_FRAME_OK;
    case PARLEY__PUSH__KIND_QUEUE_EMPTY:
        NEED(d, p->queue_empty, "push.queue_empty: missing");
        return PL_FRAME_OK;
    case PARLEY__PUSH__KIND_KT_CHECKPOINT:
        return check_kt_checkpoint(d, p->kt_checkpoint, "push.kt_checkpoint: invalid");
    case PARLEY__PUSH__KIND__NOT_SET:
    default:
        if (p->kind_case == PARLEY__PUSH__KIND__NOT_SET && p->base.n_unknown_fields == 0)
            return fail(d, PL_FRAME_E_MISSING, "push: no kind");
        return fail(d, PL_FRAME_E_UNKNOWN_KIND, "push: kind of an unknown type");
    }
}

int pl_frame_validate_server(const Parley__ServerFrame *f, pl_frame_diag *diag)
{
    pl_frame_diag local;
    pl_frame_diag *d = diag ? diag : &local;

    d->code = PL_FRAME_OK;
    d->request_id = 0;
    d->detail = "";
    switch (f->kind_case) {
    case PARLEY__SERVER_FRAME__KIND_HELLO_REPLY:
        NEED(d, f->hello_reply, "hello_reply: missing");
        if (f->hello_reply->version == 0)
            return fail(d, PL_FRAME_E_MISSING, "hello_reply.version: must be non-zero");
        NEED(d, f->hello_reply->limits, "hello_reply.limits: missing");
        return PL_FRAME_OK;
    case PARLEY__SERVER_FRAME__KIND_RESPONSE:
        NEED(d, f->response, "response: missing");
        return check_response(d, f->response);
    case PARLEY__SERVER_FRAME__KIND_PUSH:
        NEED(d, f->push, "push: missing");
        return check_push(d, f->push);
    case PARLEY__SERVER_FRAME__KIND_GOODBYE:
        NEED(d, f->goodbye, "goodbye: missing");
        return check_status(d, f->goodbye->status);
    case PARLEY__SERVER_FRAME__KIND__NOT_SET:
    default:
        if (f->kind_case == PARLEY__SERVER_FRAME__KIND__NOT_SET && f->base.n_unknown_fields == 0)
            return fail(d, PL_FRAME_E_MISSING, "frame: no kind");
        return fail(d, PL_FRAME_E_UNKNOWN_KIND, "frame: kind of an unknown type");
    }
}

/* ------------------------------------------------------------------ decoding */

static void diag_set(pl_frame_diag *d, int code)
{
    if (d) {
        d->code = code;
        d->request_id = 0;
        d->detail = "";
    }
}

/* What both decoders share: unpack under the budget, validate, hand over or free. */
typedef int (*frame_validator)(const ProtobufCMessage *m, pl_frame_diag *diag);

static int validate_client_msg(const ProtobufCMessage *m, pl_frame_diag *diag)
{
    return pl_frame_validate_client((const Parley__ClientFrame *)m, diag);
}

static int validate_server_msg(const ProtobufCMessage *m, pl_frame_diag *diag)
{
    return pl_frame_validate_server((const Parley__ServerFrame *)m, diag);
}

static int decode_frame(const ProtobufCMessageDescriptor *desc, frame_validator validate,
                        const uint8_t *p, size_t len, ProtobufCMessage **out, pl_frame_diag *diag)
{
    ProtobufCMessage *m = NULL;
    int r;

    *out = NULL;
    diag_set(diag, PL_FRAME_OK);
    if ((r = unpack_bounded(desc, p, len, &m)) != PL_FRAME_OK) {
        diag_set(diag, r);
        goto out;
    }
    if ((r = validate(m, diag)) != PL_FRAME_OK)
        goto out;
    *out = m; /* hand over */
    m = NULL;
out:
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return r;
}

int pl_frame_decode_client(const uint8_t *p, size_t len, Parley__ClientFrame **out,
                           pl_frame_diag *diag)
{
    ProtobufCMessage *m = NULL;
    int r = decode_frame(&parley__client_frame__descriptor, validate_client_msg, p, len, &m, diag);

    *out = (Parley__ClientFrame *)m;
    return r;
}

int pl_frame_decode_server(const uint8_t *p, size_t len, Parley__ServerFrame **out,
                           pl_frame_diag *diag)
{
    ProtobufCMessage *m = NULL;
    int r = decode_frame(&parley__server_frame__descriptor, validate_server_msg, p, len, &m, diag);

    *out = (Parley__ServerFrame *)m;
    return r;
}

void pl_frame_client_free(Parley__ClientFrame *f)
{
    if (f)
        protobuf_c_message_free_unpacked(&f->base, NULL);
}

void pl_frame_server_free(Parley__ServerFrame *f)
{
    if (f)
        protobuf_c_message_free_unpacked(&f->base, NULL);
}

/* ------------------------------------------------------------------ encoding */

static int encode(const ProtobufCMessage *m, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t n = protobuf_c_message_get_packed_size(m);

    *out_len = 0;
    if (n == 0)
        return PL_FRAME_E_EMPTY;
    if (n > PL_FRAME_MAX_BYTES)
        return PL_FRAME_E_TOO_LARGE;
    if (cap < PL_FRAME_HEADER_BYTES || cap - PL_FRAME_HEADER_BYTES < n)
        return PL_FRAME_E_BUFFER_TOO_SMALL;
    put_be32(out, (uint32_t)n);
    if (protobuf_c_message_pack(m, out + PL_FRAME_HEADER_BYTES) != n)
        sodium_misuse(); /* protobuf-c broke its own size promise */
    *out_len = PL_FRAME_HEADER_BYTES + n;
    return PL_FRAME_OK;
}

size_t pl_frame_server_size(const Parley__ServerFrame *f)
{
    return PL_FRAME_HEADER_BYTES + protobuf_c_message_get_packed_size(&f->base);
}

size_t pl_frame_client_size(const Parley__ClientFrame *f)
{
    return PL_FRAME_HEADER_BYTES + protobuf_c_message_get_packed_size(&f->base);
}

int pl_frame_encode_server(const Parley__ServerFrame *f, uint8_t *out, size_t cap, size_t *out_len)
{
    return encode(&f->base, out, cap, out_len);
}

int pl_frame_encode_client(const Parley__ClientFrame *f, uint8_t *out, size_t cap, size_t *out_len)
{
    return encode(&f->base, out, cap, out_len);
}

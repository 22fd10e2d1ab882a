/*
 * test_frame.c: parleyd's frame codec (src/net/frame.c, PROTOCOL.md §11.1-§11.4): the
 * incremental reader at every split point, bad lengths, decoding under the memory budget,
 * validation of every request, and round trips of every message type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "testutil.h"

/* Filler for every bytes field: long enough for the largest ciphertext. */
static uint8_t fill[PL_WIRE_MAX_CIPHERTEXT_BYTES + 1];

static ProtobufCBinaryData bin(size_t n)
{
    ProtobufCBinaryData b = {n, fill};

    return b;
}

/* ------------------------------------------------------------------ message builders */

/* Everything a ClientFrame of any kind points to, so that it stays alive while encoded. */
typedef struct client_msg {
    Parley__ClientFrame frame;
    Parley__Hello hello;
    Parley__Request req;
    Parley__RegisterAccount reg;
    Parley__AuthChallengeRequest chal;
    Parley__AuthProof proof;
    Parley__AddDevice add;
    Parley__RemoveDevice rm;
    Parley__ListDevices list;
    Parley__UploadSignedPrekey spk;
    Parley__UploadOnetimePrekeys opks;
    ProtobufCBinaryData opk[PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD + 1];
    Parley__FetchBundles fetch;
    Parley__Send send;
    Parley__DeviceCiphertext ct[2 * PL_WIRE_MAX_DEVICES + 2];
    Parley__DeviceCiphertext *rcpt[PL_WIRE_MAX_DEVICES + 1];
    Parley__DeviceCiphertext *sndr[PL_WIRE_MAX_DEVICES + 1];
    Parley__Ack ack;
    uint64_t seqs[PL_WIRE_MAX_ACKS + 1];
    Parley__Ping ping;
    Parley__PrekeyStatus pks;
    Parley__LinkPut lput;
    Parley__LinkGet lget;
    Parley__KtConfigGet ktc;
    Parley__KtCheckpointGet ktp;
    Parley__KtLookup ktl;
    Parley__KtAuditGet kta;
    Parley__KtCosign kts;
    Parley__KtWatch ktw;
} client_msg;

/* The request bodies, in field order; 0 is Hello. */
static const Parley__Request__BodyCase request_kinds[] = {
    PARLEY__REQUEST__BODY_REGISTER_ACCOUNT,
    PARLEY__REQUEST__BODY_AUTH_CHALLENGE,
    PARLEY__REQUEST__BODY_AUTH_PROOF,
    PARLEY__REQUEST__BODY_ADD_DEVICE,
    PARLEY__REQUEST__BODY_REMOVE_DEVICE,
    PARLEY__REQUEST__BODY_LIST_DEVICES,
    PARLEY__REQUEST__BODY_UPLOAD_SIGNED_PREKEY,
    PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS,
    PARLEY__REQUEST__BODY_FETCH_BUNDLES,
    PARLEY__REQUEST__BODY_SEND,
    PARLEY__REQUEST__BODY_ACK,
    PARLEY__REQUEST__BODY_PING,
    PARLEY__REQUEST__BODY_PREKEY_STATUS,
    PARLEY__REQUEST__BODY_LINK_PUT,
    PARLEY__REQUEST__BODY_LINK_GET,
    PARLEY__REQUEST__BODY_KT_CONFIG,
    PARLEY__REQUEST__BODY_KT_CHECKPOINT,
    PARLEY__REQUEST__BODY_KT_LOOKUP,
    PARLEY__REQUEST__BODY_KT_AUDIT,
    PARLEY__REQUEST__BODY_KT_COSIGN,
    PARLEY__REQUEST__BODY_KT_WATCH,
};
#define N_REQUEST_KINDS (sizeof request_kinds / sizeof request_kinds[0])

static void client_hello(client_msg *m)
{
    memset(m, 0, sizeof *m);
    parley__client_frame__init(&m->frame);
    parley__hello__init(&m->hello);
    m->hello.min_version = 1;
    m->hello.max_version = 1;
    m->hello.client = "parley-test/0.1";
    m->frame.kind_case = PARLEY__CLIENT_FRAME__KIND_HELLO;
    m->frame.hello = &m->hello;
}

/* A valid request of `kind` with id 7; a Send goes to 2 recipient and 1 sender devices. */
static void client_request(client_msg *m, Parley__Request__BodyCase kind)
{
    memset(m, 0, sizeof *m);
    parley__client_frame__init(&m->frame);
    parley__request__init(&m->req);
    m->frame.kind_case = PARLEY__CLIENT_FRAME__KIND_REQUEST;
    m->frame.request = &m->req;
    m->req.id = 7;
    m->req.body_case = kind;
    switch (kind) {
    case PARLEY__REQUEST__BODY_REGISTER_ACCOUNT:
        parley__register_account__init(&m->reg);
        m->reg.username = "alice";
        m->reg.account_key = bin(PL_PUBKEY_BYTES);
        m->reg.device_record = bin(PL_DEVICE_RECORD_BYTES);
        m->reg.account_state = bin(PL_ACCOUNT_STATE_BYTES(1));
        m->req.register_account = &m->reg;
        break;
    case PARLEY__REQUEST__BODY_AUTH_CHALLENGE:
        parley__auth_challenge_request__init(&m->chal);
        m->req.auth_challenge = &m->chal;
        break;
    case PARLEY__REQUEST__BODY_AUTH_PROOF:
        parley__auth_proof__init(&m->proof);
        m->proof.username = "alice";
        m->proof.device_id = 1;
        m->proof.signature = bin(PL_SIGNATURE_BYTES);
        m->req.auth_proof = &m->proof;
        break;
    case PARLEY__REQUEST__BODY_ADD_DEVICE:
        parley__add_device__init(&m->add);
        m->add.username = "alice";
        m->add.device_record = bin(PL_DEVICE_RECORD_BYTES);
        m->add.account_state = bin(PL_ACCOUNT_STATE_BYTES(2));
        m->req.add_device = &m->add;
        break;
    case PARLEY__REQUEST__BODY_REMOVE_DEVICE:
        parley__remove_device__init(&m->rm);
        m->rm.username = "alice";
        m->rm.device_id = 2;
        m->rm.signature = bin(PL_SIGNATURE_BYTES);
        m->rm.account_state = bin(PL_ACCOUNT_STATE_BYTES(1));
        m->req.remove_device = &m->rm;
        break;
    case PARLEY__REQUEST__BODY_LIST_DEVICES:
        parley__list_devices__init(&m->list);
        m->list.username = "bob";
        m->req.list_devices = &m->list;
        break;
    case PARLEY__REQUEST__BODY_UPLOAD_SIGNED_PREKEY:
        parley__upload_signed_prekey__init(&m->spk);
        m->spk.signed_prekey = bin(PL_SIGNED_PREKEY_PUBLIC_BYTES);
        m->req.upload_signed_prekey = &m->spk;
        break;
    case PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS:
        parley__upload_onetime_prekeys__init(&m->opks);
        for (size_t i = 0; i < PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD + 1; i++)
            m->opk[i] = bin(PL_ONETIME_PREKEY_PUBLIC_BYTES);
        m->opks.n_onetime_prekeys = 3;
        m->opks.onetime_prekeys = m->opk;
        m->req.upload_onetime_prekeys = &m->opks;
        break;
    case PARLEY__REQUEST__BODY_FETCH_BUNDLES:
        parley__fetch_bundles__init(&m->fetch);
        m->fetch.username = "bob";
        m->req.fetch_bundles = &m->fetch;
        break;
    case PARLEY__REQUEST__BODY_SEND:
        parley__send__init(&m->send);
        for (size_t i = 0; i < sizeof m->ct / sizeof m->ct[0]; i++) {
            parley__device_ciphertext__init(&m->ct[i]);
            m->ct[i].device_id = (uint32_t)i + 1;
            m->ct[i].identity_key = bin(PL_PUBKEY_BYTES);
            m->ct[i].ciphertext = bin(200);
        }
        for (size_t i = 0; i < PL_WIRE_MAX_DEVICES + 1; i++) {
            m->rcpt[i] = &m->ct[i];
            m->sndr[i] = &m->ct[PL_WIRE_MAX_DEVICES + 1 + i];
        }
        m->send.recipient = "bob";
        m->send.n_recipient_devices = 2;
        m->send.recipient_devices = m->rcpt;
        m->send.n_sender_devices = 1;
        m->send.sender_devices = m->sndr;
        m->send.client_message_id = bin(PL_WIRE_CLIENT_MESSAGE_ID_BYTES);
        m->req.send = &m->send;
        break;
    case PARLEY__REQUEST__BODY_ACK:
        parley__ack__init(&m->ack);
        for (size_t i = 0; i < PL_WIRE_MAX_ACKS + 1; i++)
            m->seqs[i] = 1000 + i;
        m->ack.n_seqs = 3;
        m->ack.seqs = m->seqs;
        m->req.ack = &m->ack;
        break;
    case PARLEY__REQUEST__BODY_PING:
        parley__ping__init(&m->ping);
        m->req.ping = &m->ping;
        break;
    case PARLEY__REQUEST__BODY_PREKEY_STATUS:
        parley__prekey_status__init(&m->pks);
        m->req.prekey_status = &m->pks;
        break;
    case PARLEY__REQUEST__BODY_LINK_PUT:
        parley__link_put__init(&m->lput);
        m->lput.rendezvous = bin(PL_WIRE_LINK_RENDEZVOUS_BYTES);
        m->lput.slot = 1;
        m->lput.blob = bin(300);
        m->req.link_put = &m->lput;
        break;
    case PARLEY__REQUEST__BODY_LINK_GET:
        parley__link_get__init(&m->lget);
        m->lget.rendezvous = bin(PL_WIRE_LINK_RENDEZVOUS_BYTES);
        m->lget.slot = 0;
        m->req.link_get = &m->lget;
        break;
    case PARLEY__REQUEST__BODY_KT_CONFIG:
        parley__kt_config_get__init(&m->ktc);
        m->req.kt_config = &m->ktc;
        break;
    case PARLEY__REQUEST__BODY_KT_CHECKPOINT:
        parley__kt_checkpoint_get__init(&m->ktp);
        m->ktp.known_size = 5;
        m->req.kt_checkpoint = &m->ktp;
        break;
    case PARLEY__REQUEST__BODY_KT_LOOKUP:
        parley__kt_lookup__init(&m->ktl);
        m->ktl.username = "bob";
        m->ktl.fixed = 1;
        m->ktl.version = 3;
        m->req.kt_lookup = &m->ktl;
        break;
    case PARLEY__REQUEST__BODY_KT_AUDIT:
        parley__kt_audit_get__init(&m->kta);
        m->kta.max = 10;
        m->req.kt_audit = &m->kta;
        break;
    case PARLEY__REQUEST__BODY_KT_COSIGN:
        parley__kt_cosign__init(&m->kts);
        m->kts.size = 4;
        m->kts.cosignature = "\xe2\x80\x94 w AAAA\n";
        m->req.kt_cosign = &m->kts;
        break;
    case PARLEY__REQUEST__BODY_KT_WATCH:
        parley__kt_watch__init(&m->ktw);
        m->req.kt_watch = &m->ktw;
        break;
    default:
        fail_msg("no builder for request kind %d", (int)kind);
    }
}

/* Encodes m into a malloc'd frame (prefix included). */
static uint8_t *encode_client(const client_msg *m, size_t *len)
{
    size_t cap = pl_frame_client_size(&m->frame);
    uint8_t *out = malloc(cap);

    assert_non_null(out);
    assert_int_equal(pl_frame_encode_client(&m->frame, out, cap, len), PL_FRAME_OK);
    assert_int_equal(*len, cap);
    return out;
}

/* Everything a ServerFrame of any kind points to. */
typedef struct server_msg {
    Parley__ServerFrame frame;
    Parley__HelloReply hello;
    Parley__Limits limits;
    Parley__Response resp;
    Parley__Status status;
    Parley__MismatchedDevices mm[2];
    Parley__MismatchedDevices *mmp[2];
    uint32_t ids[3];
    Parley__Empty empty;
    Parley__AuthChallenge chal;
    Parley__AuthResult auth;
    Parley__DeviceList devices;
    Parley__PrekeyCount count;
    Parley__BundleList bundles;
    Parley__SendResult sent;
    Parley__LinkBlob link;
    Parley__KtConfig ktconfig;
    char *vkeys[2];
    Parley__KtCheckpoint ktcp;
    ProtobufCBinaryData hashes[3];
    Parley__KtLookupResult ktlookup;
    Parley__KtAuditBatch ktaudit;
    Parley__KtAuditEntry ktentry[2];
    Parley__KtAuditEntry *ktentries[2];
    ProtobufCBinaryData leaves[3];
    ProtobufCBinaryData items[PL_WIRE_MAX_DEVICES];
    Parley__Push push;
    Parley__Envelope env;
    Parley__PrekeysLow low;
    Parley__QueueEmpty qe;
    Parley__Goodbye bye;
} server_msg;

/* Server frame variants: 0 HelloReply, 1..N a Response to request_kinds[i-1] (N request
 * kinds), N+1 an error Response with mismatched devices, N+2..N+4 the pushes, N+5 Goodbye. */
#define N_SERVER_KINDS ((int)N_REQUEST_KINDS + 6)

static void server_frame(server_msg *m, int kind)
{
    memset(m, 0, sizeof *m);
    parley__server_frame__init(&m->frame);
    parley__status__init(&m->status);
    parley__empty__init(&m->empty);
    for (size_t i = 0; i < PL_WIRE_MAX_DEVICES; i++)
        m->items[i] = bin(i % 2 ? PL_BUNDLE_MAX_BYTES : PL_DEVICE_RECORD_BYTES);
    if (kind == 0) {
        parley__hello_reply__init(&m->hello);
        parley__limits__init(&m->limits);
        m->limits.max_frame_bytes = PL_FRAME_MAX_BYTES;
        m->limits.max_ciphertext_bytes = PL_WIRE_MAX_CIPHERTEXT_BYTES;
        m->limits.max_devices_per_account = PL_WIRE_MAX_DEVICES;
        m->hello.version = 1;
        m->hello.limits = &m->limits;
        m->hello.server = "parleyd/0.1";
        m->frame.kind_case = PARLEY__SERVER_FRAME__KIND_HELLO_REPLY;
        m->frame.hello_reply = &m->hello;
        return;
    }
    if (kind <= (int)N_REQUEST_KINDS + 1) {
        parley__response__init(&m->resp);
        m->resp.id = 7;
        m->resp.status = &m->status;
        m->frame.kind_case = PARLEY__SERVER_FRAME__KIND_RESPONSE;
        m->frame.response = &m->resp;
        if (kind == (int)N_REQUEST_KINDS + 1) {
            m->ids[0] = 3, m->ids[1] = 4, m->ids[2] = 5;
            for (int i = 0; i < 2; i++) {
                parley__mismatched_devices__init(&m->mm[i]);
                m->mm[i].username = i ? "alice" : "bob";
                m->mm[i].n_missing = 1, m->mm[i].missing = &m->ids[0];
                m->mm[i].n_extra = 1, m->mm[i].extra = &m->ids[1];
                m->mm[i].n_stale = 1, m->mm[i].stale = &m->ids[2];
                m->mmp[i] = &m->mm[i];
            }
            m->status.code = PARLEY__STATUS_CODE__STATUS_MISMATCHED_DEVICES;
            m->status.message = "device lists do not match";
            m->status.n_mismatched = 2;
            m->status.mismatched = m->mmp;
            return;
        }
        m->resp.body_case = (Parley__Response__BodyCase)request_kinds[kind - 1];
        switch (m->resp.body_case) {
        case PARLEY__RESPONSE__BODY_AUTH_CHALLENGE:
            parley__auth_challenge__init(&m->chal);
            m->chal.challenge = bin(PL_WIRE_CHALLENGE_BYTES);
            m->resp.auth_challenge = &m->chal;
            break;
        case PARLEY__RESPONSE__BODY_AUTH_PROOF:
            parley__auth_result__init(&m->auth);
            m->auth.onetime_prekeys = 42;
            m->auth.has_signed_prekey = 1;
            m->resp.auth_proof = &m->auth;
            break;
        case PARLEY__RESPONSE__BODY_LIST_DEVICES:
            parley__device_list__init(&m->devices);
            m->devices.account_key = bin(PL_PUBKEY_BYTES);
            for (size_t i = 0; i < PL_WIRE_MAX_DEVICES; i++)
                m->items[i] = bin(PL_DEVICE_RECORD_BYTES);
            m->devices.n_device_records = PL_WIRE_MAX_DEVICES;
            m->devices.device_records = m->items;
            m->resp.list_devices = &m->devices;
            break;
        case PARLEY__RESPONSE__BODY_UPLOAD_ONETIME_PREKEYS:
        case PARLEY__RESPONSE__BODY_PREKEY_STATUS:
            parley__prekey_count__init(&m->count);
            m->count.onetime_prekeys = 100;
            m->resp.upload_onetime_prekeys = &m->count; /* same union slot as prekey_status */
            if (m->resp.body_case == PARLEY__RESPONSE__BODY_PREKEY_STATUS)
                m->resp.prekey_status = &m->count;
            break;
        case PARLEY__RESPONSE__BODY_FETCH_BUNDLES:
            parley__bundle_list__init(&m->bundles);
            m->bundles.account_key = bin(PL_PUBKEY_BYTES);
            m->bundles.n_bundles = 2;
            m->bundles.bundles = m->items;
            m->resp.fetch_bundles = &m->bundles;
            break;
        case PARLEY__RESPONSE__BODY_SEND:
            parley__send_result__init(&m->sent);
            m->sent.server_time_ms = UINT64_C(1700000000123);
            m->resp.send = &m->sent;
            break;
        case PARLEY__RESPONSE__BODY_LINK_GET:
            parley__link_blob__init(&m->link);
            m->link.blob = bin(PL_WIRE_LINK_MAX_BLOB_BYTES);
            m->resp.link_get = &m->link;
            break;
        case PARLEY__RESPONSE__BODY_KT_CONFIG:
            parley__kt_config__init(&m->ktconfig);
            m->ktconfig.origin = "example.org/kt/v1/0123456789abcdef";
            m->ktconfig.log_vkey = "log+01234567+AQ";
            m->ktconfig.vrf_public_key = bin(PL_VRF_PUBLIC_KEY_BYTES);
            m->vkeys[0] = "w1+01234567+BA";
            m->vkeys[1] = "w2+01234567+BA";
            m->ktconfig.n_witness_vkeys = 2;
            m->ktconfig.witness_vkeys = m->vkeys;
            m->ktconfig.quorum = 2;
            m->resp.kt_config = &m->ktconfig;
            break;
        case PARLEY__RESPONSE__BODY_KT_CHECKPOINT:
        case PARLEY__RESPONSE__BODY_KT_LOOKUP:
            parley__kt_checkpoint__init(&m->ktcp);
            m->ktcp.note = "origin\n5\nroot\n\n\xe2\x80\x94 log AAAA\n";
            for (size_t i = 0; i < 3; i++)
                m->hashes[i] = bin(PL_MERKLE_HASH_BYTES);
            m->ktcp.n_consistency = 3;
            m->ktcp.consistency = m->hashes;
            m->resp.kt_checkpoint = &m->ktcp;
            if (m->resp.body_case == PARLEY__RESPONSE__BODY_KT_LOOKUP) {
                parley__kt_lookup_result__init(&m->ktlookup);
                m->ktlookup.checkpoint = &m->ktcp;
                m->ktlookup.proof = bin(1000);
                m->resp.kt_lookup = &m->ktlookup;
            }
            break;
        case PARLEY__RESPONSE__BODY_KT_AUDIT:
            parley__kt_audit_batch__init(&m->ktaudit);
            for (size_t i = 0; i < 3; i++)
                m->leaves[i] = bin(PL_WIRE_KT_LEAF_BYTES);
            for (size_t i = 0; i < 2; i++) {
                parley__kt_audit_entry__init(&m->ktentry[i]);
                m->ktentry[i].position = 10 + i;
                m->ktentry[i].timestamp_ms = UINT64_C(1700000000000) + i;
                m->ktentry[i].prefix_root = bin(PL_PREFIX_HASH_BYTES);
                m->ktentry[i].n_leaves = i ? 3 : 0;
                m->ktentry[i].leaves = m->leaves;
                m->ktentries[i] = &m->ktentry[i];
            }
            m->ktaudit.n_entries = 2;
            m->ktaudit.entries = m->ktentries;
            m->resp.kt_audit = &m->ktaudit;
            break;
        default: /* the empty bodies share one slot of the union */
            m->resp.register_account = &m->empty;
            break;
        }
        return;
    }
    if (kind <= (int)N_REQUEST_KINDS + 4) {
        parley__push__init(&m->push);
        m->frame.kind_case = PARLEY__SERVER_FRAME__KIND_PUSH;
        m->frame.push = &m->push;
        switch (kind - (int)N_REQUEST_KINDS - 2) {
        case 0:
            parley__envelope__init(&m->env);
            m->env.seq = 99;
            m->env.sender = "alice";
            m->env.sender_device = 1;
            m->env.server_time_ms = UINT64_C(1700000000123);
            m->env.ciphertext = bin(PL_WIRE_MAX_CIPHERTEXT_BYTES);
            m->env.client_message_id = bin(PL_WIRE_CLIENT_MESSAGE_ID_BYTES);
            m->push.kind_case = PARLEY__PUSH__KIND_ENVELOPE;
            m->push.envelope = &m->env;
            break;
        case 1:
            parley__prekeys_low__init(&m->low);
            m->low.remaining = 5;
            m->low.max = 100;
            m->push.kind_case = PARLEY__PUSH__KIND_PREKEYS_LOW;
            m->push.prekeys_low = &m->low;
            break;
        default:
            parley__queue_empty__init(&m->qe);
            m->push.kind_case = PARLEY__PUSH__KIND_QUEUE_EMPTY;
            m->push.queue_empty = &m->qe;
            break;
        }
        return;
    }
    parley__goodbye__init(&m->bye);
    m->status.code = PARLEY__STATUS_CODE__STATUS_SLOW_READER;
    m->status.message = "the client stopped reading";
    m->bye.status = &m->status;
    m->frame.kind_case = PARLEY__SERVER_FRAME__KIND_GOODBYE;
    m->frame.goodbye = &m->bye;
}

static uint8_t *encode_server(const server_msg *m, size_t *len)
{
    size_t cap = pl_frame_server_size(&m->frame);
    uint8_t *out = malloc(cap);

    assert_non_null(out);
    assert_int_equal(pl_frame_encode_server(&m->frame, out, cap, len), PL_FRAME_OK);
    assert_int_equal(*len, cap);
    return out;
}

/* ------------------------------------------------------------------ raw protobuf writers */

typedef struct raw {
    uint8_t *p;
    size_t len, cap;
} raw;

static void raw_byte(raw *r, uint8_t b)
{
    if (r->len == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->p = realloc(r->p, r->cap);
        assert_non_null(r->p);
    }
    r->p[r->len++] = b;
}

static void raw_varint(raw *r, uint64_t v)
{
    while (v >= 0x80) {
        raw_byte(r, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    raw_byte(r, (uint8_t)v);
}

static void raw_bytes(raw *r, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        raw_byte(r, p[i]);
}

/* field `num`, wire type 2, holding inner[0..n). */
static void raw_ld(raw *r, uint32_t num, const uint8_t *inner, size_t n)
{
    raw_varint(r, (uint64_t)num << 3 | 2);
    raw_varint(r, n);
    raw_bytes(r, inner, n);
}

/* A ClientFrame holding Request { id, <field body_num> = body }. */
static raw raw_request(uint64_t id, uint32_t body_num, const raw *body)
{
    raw req = {0}, frame = {0};

    raw_varint(&req, 1 << 3 | 0);
    raw_varint(&req, id);
    raw_ld(&req, body_num, body ? body->p : NULL, body ? body->len : 0);
    raw_ld(&frame, 2, req.p, req.len);
    free(req.p);
    return frame;
}

/* ------------------------------------------------------------------ reader */

static pl_frame_reader *new_reader(size_t max)
{
    pl_frame_reader *r = NULL;

    assert_int_equal(pl_frame_reader_new(&r, max), PL_FRAME_OK);
    assert_non_null(r);
    return r;
}

/* Feeds in[0..len) in chunks of the given sizes (cycled), collecting every frame's body into
 * out (concatenated) and counting them. Returns the first error, or PL_FRAME_OK. */
static int feed_chunks(pl_frame_reader *r, const uint8_t *in, size_t len, const size_t *sizes,
                       size_t n_sizes, uint8_t *out, size_t *out_len, size_t *frames)
{
    size_t pos = 0, k = 0;

    *out_len = 0;
    *frames = 0;
    while (pos < len) {
        size_t chunk = sizes[k++ % n_sizes];
        size_t left;
        const uint8_t *p;

        if (chunk > len - pos)
            chunk = len - pos;
        p = in + pos;
        left = chunk;
        while (left > 0) {
            const uint8_t *f;
            size_t used, flen;
            int rc = pl_frame_reader_feed(r, p, left, &used, &f, &flen);

            if (rc != PL_FRAME_OK)
                return rc;
            assert_true(used <= left);
            if (f == NULL) {
                assert_int_equal(used, left);
                assert_int_equal(flen, 0);
            } else {
                memcpy(out + *out_len, f, flen);
                *out_len += flen;
                (*frames)++;
            }
            p += used;
            left -= used;
        }
        pos += chunk;
    }
    return PL_FRAME_OK;
}

/* Three frames of different kinds, back to back; bodies is their bodies concatenated. */
static uint8_t *three_frames(size_t *len, uint8_t **bodies, size_t *bodies_len)
{
    client_msg m;
    uint8_t *a, *b, *c, *all;
    size_t la, lb, lc;

    client_hello(&m);
    a = encode_client(&m, &la);
    client_request(&m, PARLEY__REQUEST__BODY_SEND);
    b = encode_client(&m, &lb);
    client_request(&m, PARLEY__REQUEST__BODY_ACK);
    c = encode_client(&m, &lc);
    *len = la + lb + lc;
    all = malloc(*len);
    *bodies = malloc(*len);
    assert_non_null(all);
    assert_non_null(*bodies);
    memcpy(all, a, la);
    memcpy(all + la, b, lb);
    memcpy(all + la + lb, c, lc);
    memcpy(*bodies, a + 4, la - 4);
    memcpy(*bodies + la - 4, b + 4, lb - 4);
    memcpy(*bodies + la - 4 + lb - 4, c + 4, lc - 4);
    *bodies_len = *len - 12;
    free(a);
    free(b);
    free(c);
    return all;
}

static void reader_yields_the_same_frames_at_every_split_point(void **state)
{
    uint8_t *bodies, *all, *got;
    size_t len, bodies_len, got_len, frames;

    (void)state;
    all = three_frames(&len, &bodies, &bodies_len);
    got = malloc(len);
    assert_non_null(got);
    for (size_t split = 0; split <= len; split++) {
        pl_frame_reader *r = new_reader(PL_FRAME_MAX_BYTES);
        size_t sizes[2] = {split ? split : len, len};

        assert_int_equal(feed_chunks(r, all, len, sizes, 2, got, &got_len, &frames), PL_FRAME_OK);
        assert_int_equal(frames, 3);
        assert_int_equal(got_len, bodies_len);
        assert_memory_equal(got, bodies, bodies_len);
        assert_int_equal(pl_frame_reader_finish(r), PL_FRAME_OK);
        assert_int_equal(pl_frame_reader_pending(r), 0);
        pl_frame_reader_free(r);
    }
    /* One byte at a time, and a few odd chunk rhythms. */
    for (size_t rhythm = 1; rhythm <= 7; rhythm++) {
        pl_frame_reader *r = new_reader(PL_FRAME_MAX_BYTES);
        size_t sizes[3] = {rhythm, 3, 4 * rhythm + 1};

        assert_int_equal(feed_chunks(r, all, len, sizes, 3, got, &got_len, &frames), PL_FRAME_OK);
        assert_int_equal(frames, 3);
        assert_memory_equal(got, bodies, bodies_len);
        pl_frame_reader_free(r);
    }
    free(got);
    free(all);
    free(bodies);
}

static void reader_hands_out_whole_frames_of_one_chunk_in_place(void **state)
{
    uint8_t *bodies, *all;
    size_t len, bodies_len, used, flen, off = 0;
    const uint8_t *f;
    pl_frame_reader *r = new_reader(PL_FRAME_MAX_BYTES);

    (void)state;
    all = three_frames(&len, &bodies, &bodies_len);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pl_frame_reader_feed(r, all + off, len - off, &used, &f, &flen),
                         PL_FRAME_OK);
        assert_non_null(f);
        assert_ptr_equal(f, all + off + 4); /* no copy */
        off += used;
    }
    assert_int_equal(off, len);
    assert_int_equal(pl_frame_reader_feed(r, all + off, 0, &used, &f, &flen), PL_FRAME_OK);
    assert_null(f);
    assert_int_equal(used, 0);
    pl_frame_reader_free(r);
    free(all);
    free(bodies);
}

static void reader_zero_length_is_final(void **state)
{
    static const uint8_t zero[8] = {0, 0, 0, 0, 0, 0, 0, 2};
    static const uint8_t good[6] = {0, 0, 0, 2, 0x0a, 0x00};
    const uint8_t *f;
    size_t used, flen;

    (void)state;
    /* In one chunk and split inside the prefix. */
    for (size_t split = 1; split <= 4; split++) {
        pl_frame_reader *r = new_reader(PL_FRAME_MAX_BYTES);
        int rc;

        rc = pl_frame_reader_feed(r, zero, split, &used, &f, &flen);
        if (split < 4) {
            assert_int_equal(rc, PL_FRAME_OK);
            rc = pl_frame_reader_feed(r, zero + split, 4 - split, &used, &f, &flen);
        }
        assert_int_equal(rc, PL_FRAME_E_EMPTY);
        assert_null(f);
        /* Final: a good frame afterwards is refused too, and nothing is pending. */
        assert_int_equal(pl_frame_reader_feed(r, good, sizeof good, &used, &f, &flen),
                         PL_FRAME_E_EMPTY);
        assert_null(f);
        assert_int_equal(used, 0);
        assert_int_equal(pl_frame_reader_finish(r), PL_FRAME_E_EMPTY);
        assert_int_equal(pl_frame_reader_pending(r), 0);
        pl_frame_reader_free(r);
    }
}

/* Numbered table: length prefix, configured maximum, expected result of reading it. */
static void reader_length_limits_table(void **state)
{
    static const struct {
        uint32_t len;
        size_t max;
        int want;
    } cases[] = {
        /* 0 */ {1, PL_FRAME_MAX_BYTES, PL_FRAME_OK},
        /* 1 */ {PL_FRAME_MAX_BYTES, PL_FRAME_MAX_BYTES, PL_FRAME_OK},
        /* 2 */ {PL_FRAME_MAX_BYTES + 1, PL_FRAME_MAX_BYTES, PL_FRAME_E_TOO_LARGE},
        /* 3 */ {0xffffffffu, PL_FRAME_MAX_BYTES, PL_FRAME_E_TOO_LARGE},
        /* 4 */ {0x80000000u, PL_FRAME_MAX_BYTES, PL_FRAME_E_TOO_LARGE},
        /* 5 */ {PL_FRAME_MIN_MAX_BYTES, PL_FRAME_MIN_MAX_BYTES, PL_FRAME_OK},
        /* 6 */ {PL_FRAME_MIN_MAX_BYTES + 1, PL_FRAME_MIN_MAX_BYTES, PL_FRAME_E_TOO_LARGE},
        /* 7 */ {0, PL_FRAME_MIN_MAX_BYTES, PL_FRAME_E_EMPTY},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pl_frame_reader *r = new_reader(cases[i].max);
        uint8_t *buf = calloc(1, 4 + (size_t)(cases[i].want == PL_FRAME_OK ? cases[i].len : 0));
        size_t used, flen, total = 4 + (cases[i].want == PL_FRAME_OK ? cases[i].len : 0);
        const uint8_t *f;
        int rc;

        assert_non_null(buf);
        buf[0] = (uint8_t)(cases[i].len >> 24);
        buf[1] = (uint8_t)(cases[i].len >> 16);
        buf[2] = (uint8_t)(cases[i].len >> 8);
        buf[3] = (uint8_t)cases[i].len;
        /* The prefix alone decides; then, for a good length, the body in two pieces. */
        rc = pl_frame_reader_feed(r, buf, 4, &used, &f, &flen);
        if (cases[i].want != PL_FRAME_OK) {
            if (rc != cases[i].want)
                fail_msg("case %zu: got %s", i, pl_frame_errname(rc));
            free(buf);
            pl_frame_reader_free(r);
            continue;
        }
        assert_int_equal(rc, PL_FRAME_OK);
        assert_null(f);
        assert_int_equal(pl_frame_reader_pending(r), 4);
        if (cases[i].len > 1) {
            assert_int_equal(pl_frame_reader_feed(r, buf + 4, cases[i].len - 1, &used, &f, &flen),
                             PL_FRAME_OK);
            assert_null(f);
            assert_int_equal(pl_frame_reader_finish(r), PL_FRAME_E_TRUNCATED);
        }
        assert_int_equal(pl_frame_reader_feed(r, buf + total - 1, 1, &used, &f, &flen),
                         PL_FRAME_OK);
        if (f == NULL || flen != cases[i].len)
            fail_msg("case %zu: no frame of %u bytes", i, (unsigned)cases[i].len);
        assert_int_equal(pl_frame_reader_finish(r), PL_FRAME_OK);
        free(buf);
        pl_frame_reader_free(r);
    }
}

static void reader_stream_ending_inside_a_frame_is_truncated(void **state)
{
    client_msg m;
    uint8_t *frame;
    size_t len;

    (void)state;
    client_request(&m, PARLEY__REQUEST__BODY_REGISTER_ACCOUNT);
    frame = encode_client(&m, &len);
    for (size_t cut = 0; cut < len; cut++) {
        pl_frame_reader *r = new_reader(PL_FRAME_MAX_BYTES);
        const uint8_t *f;
        size_t used, flen;

        assert_int_equal(pl_frame_reader_feed(r, frame, cut, &used, &f, &flen), PL_FRAME_OK);
        assert_null(f);
        assert_int_equal(pl_frame_reader_pending(r), cut);
        assert_int_equal(pl_frame_reader_finish(r), cut ? PL_FRAME_E_TRUNCATED : PL_FRAME_OK);
        /* The rest completes it. */
        assert_int_equal(pl_frame_reader_feed(r, frame + cut, len - cut, &used, &f, &flen),
                         PL_FRAME_OK);
        assert_non_null(f);
        assert_int_equal(flen, len - 4);
        assert_int_equal(pl_frame_reader_finish(r), PL_FRAME_OK);
        pl_frame_reader_free(r);
    }
    free(frame);
}

static void reader_large_frame_then_small_frames(void **state)
{
    server_msg m;
    client_msg c;
    uint8_t *big, *small, *stream;
    size_t lb, ls, n, got_len, frames;
    size_t sizes[1] = {1000};
    uint8_t *got;
    pl_frame_reader *r = new_reader(PL_FRAME_MAX_BYTES);

    (void)state;
    server_frame(&m, (int)N_REQUEST_KINDS + 2); /* an envelope of the largest ciphertext */
    big = encode_server(&m, &lb);
    client_request(&c, PARLEY__REQUEST__BODY_PING);
    small = encode_client(&c, &ls);
    n = lb + 2 * ls;
    stream = malloc(n);
    got = malloc(n);
    assert_non_null(stream);
    assert_non_null(got);
    memcpy(stream, small, ls);
    memcpy(stream + ls, big, lb);
    memcpy(stream + ls + lb, small, ls);
    assert_int_equal(feed_chunks(r, stream, n, sizes, 1, got, &got_len, &frames), PL_FRAME_OK);
    assert_int_equal(frames, 3);
    assert_memory_equal(got + ls - 4, big + 4, lb - 4);
    assert_memory_equal(got + ls - 4 + lb - 4, small + 4, ls - 4);
    pl_frame_reader_free(r);
    free(big);
    free(small);
    free(stream);
    free(got);
}

/* ------------------------------------------------------------------ decoding */

static void expect_client(const uint8_t *p, size_t len, int want, uint64_t want_id)
{
    Parley__ClientFrame *f = (Parley__ClientFrame *)1;
    pl_frame_diag d;
    int rc = pl_frame_decode_client(p, len, &f, &d);

    if (rc != want)
        fail_msg("decode: got %s (%s), want %s", pl_frame_errname(rc), d.detail,
                 pl_frame_errname(want));
    assert_int_equal(d.code, want);
    assert_int_equal(d.request_id, want_id);
    assert_non_null(d.detail);
    if (want == PL_FRAME_OK)
        assert_non_null(f);
    else
        assert_null(f);
    pl_frame_client_free(f);
}

static void decode_every_client_message_round_trips(void **state)
{
    client_msg m;

    (void)state;
    for (size_t i = 0; i <= N_REQUEST_KINDS; i++) {
        Parley__ClientFrame *f = NULL;
        uint8_t *a, *b;
        size_t la, lb;

        if (i == 0)
            client_hello(&m);
        else
            client_request(&m, request_kinds[i - 1]);
        a = encode_client(&m, &la);
        assert_int_equal(pl_frame_validate_client(&m.frame, NULL), PL_FRAME_OK);
        assert_int_equal(pl_frame_decode_client(a + 4, la - 4, &f, NULL), PL_FRAME_OK);
        assert_int_equal(f->kind_case, m.frame.kind_case);
        if (i > 0) {
            assert_int_equal(f->request->id, 7);
            assert_int_equal(f->request->body_case, request_kinds[i - 1]);
        }
        b = malloc(la);
        assert_non_null(b);
        assert_int_equal(pl_frame_encode_client(f, b, la, &lb), PL_FRAME_OK);
        assert_int_equal(lb, la);
        assert_memory_equal(a, b, la);
        pl_frame_client_free(f);
        free(a);
        free(b);
    }
}

static void decode_every_server_message_round_trips(void **state)
{
    server_msg m;

    (void)state;
    for (int i = 0; i < N_SERVER_KINDS; i++) {
        Parley__ServerFrame *f = NULL;
        pl_frame_diag d;
        uint8_t *a, *b;
        size_t la, lb;
        int rc;

        server_frame(&m, i);
        a = encode_server(&m, &la);
        rc = pl_frame_decode_server(a + 4, la - 4, &f, &d);
        if (rc != PL_FRAME_OK)
            fail_msg("server kind %d: %s (%s)", i, pl_frame_errname(rc), d.detail);
        assert_int_equal(f->kind_case, m.frame.kind_case);
        b = malloc(la);
        assert_non_null(b);
        assert_int_equal(pl_frame_encode_server(f, b, la, &lb), PL_FRAME_OK);
        assert_int_equal(lb, la);
        assert_memory_equal(a, b, la);
        if (i == (int)N_REQUEST_KINDS + 1) {
            assert_int_equal(f->response->status->n_mismatched, 2);
            assert_string_equal(f->response->status->mismatched[1]->username, "alice");
            assert_int_equal(f->response->status->mismatched[0]->stale[0], 5);
        }
        pl_frame_server_free(f);
        free(a);
        free(b);
    }
}

static void decode_largest_send_fits_one_frame(void **state)
{
    static client_msg m;
    char name[PL_WIRE_MAX_USERNAME_BYTES + 1];
    uint8_t *a;
    size_t la;

    (void)state;
    client_request(&m, PARLEY__REQUEST__BODY_SEND);
    for (size_t i = 0; i < sizeof m.ct / sizeof m.ct[0]; i++)
        m.ct[i].ciphertext = bin(PL_WIRE_MAX_CIPHERTEXT_BYTES);
    m.send.n_recipient_devices = PL_WIRE_MAX_DEVICES;
    m.send.n_sender_devices = PL_WIRE_MAX_DEVICES - 1;
    memset(name, 'n', PL_WIRE_MAX_USERNAME_BYTES);
    name[PL_WIRE_MAX_USERNAME_BYTES] = '\0';
    m.send.recipient = name;
    m.req.id = UINT64_MAX;
    a = encode_client(&m, &la);
    assert_true(la - 4 <= PL_FRAME_MAX_BYTES);
    assert_true(la - 4 <= PL_WIRE_MAX_SEND_CIPHERTEXTS *
                                  (PL_WIRE_MAX_CIPHERTEXT_BYTES + PL_WIRE_SEND_ENTRY_OVERHEAD) +
                              PL_WIRE_SEND_FIXED_OVERHEAD);
    expect_client(a + 4, la - 4, PL_FRAME_OK, 0);
    free(a);
}

static void decode_garbage_is_a_decode_error(void **state)
{
    static const struct {
        const char *hex;
    } cases[] = {
        /* 0 */ {"ff"},                       /* a tag with no field */
        /* 1 */ {"12"},                       /* request: length missing */
        /* 2 */ {"1205"},                     /* request: 5 bytes announced, none there */
        /* 3 */ {"0a0208"},                   /* hello: varint missing */
        /* 4 */ {"08ffffffffffffffffffff01"}, /* an 11-byte varint */
        /* 5 */ {"0f"},                       /* wire type 7 */
        /* 6 */ {"0b"},                       /* a group start (wire type 3) */
        /* 7 */ {"1203088080"},               /* request.id: varint cut */
        /* 8 */ {"00"},                       /* field number 0 */
        /* 9 */ {"0a"},                       /* hello: length missing */
        /* 10 */ {"0d00"},                    /* fixed32 cut */
    };
    uint8_t buf[64];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = tu_unhex(cases[i].hex, buf, sizeof buf);
        Parley__ClientFrame *f = NULL;
        pl_frame_diag d;
        int rc = pl_frame_decode_client(buf, n, &f, &d);

        if (rc != PL_FRAME_E_DECODE)
            fail_msg("case %zu: got %s", i, pl_frame_errname(rc));
        assert_null(f);
        assert_int_equal(d.request_id, 0);
    }
    /* Hello's min_version with the wrong wire type. */
    expect_client((const uint8_t *)"\x0a\x02\x0a\x00", 4, PL_FRAME_E_DECODE, 0);
    expect_client(buf, 0, PL_FRAME_E_EMPTY, 0);
}

static void decode_ignores_unknown_fields(void **state)
{
    client_msg m;
    uint8_t *a;
    size_t la;
    raw r = {0};
    Parley__ClientFrame *f = NULL;

    (void)state;
    client_request(&m, PARLEY__REQUEST__BODY_LIST_DEVICES);
    a = encode_client(&m, &la);
    /* Frame body || an unknown frame-level varint field 50 || an unknown fixed64 field 51. */
    raw_bytes(&r, a + 4, la - 4);
    raw_varint(&r, 50u << 3 | 0);
    raw_varint(&r, 12345);
    raw_varint(&r, 51u << 3 | 1);
    raw_bytes(&r, (const uint8_t *)"12345678", 8);
    assert_int_equal(pl_frame_decode_client(r.p, r.len, &f, NULL), PL_FRAME_OK);
    assert_int_equal(f->base.n_unknown_fields, 2);
    assert_string_equal(f->request->list_devices->username, "bob");
    pl_frame_client_free(f);
    free(r.p);
    free(a);

    /* An unknown field inside a request body (list_devices field 9). */
    {
        raw body = {0}, frame;

        raw_ld(&body, 1, (const uint8_t *)"bob", 3);
        raw_ld(&body, 9, (const uint8_t *)"future", 6);
        frame = raw_request(5, 7, &body);
        assert_int_equal(pl_frame_decode_client(frame.p, frame.len, &f, NULL), PL_FRAME_OK);
        assert_int_equal(f->request->list_devices->base.n_unknown_fields, 1);
        pl_frame_client_free(f);
        free(body.p);
        free(frame.p);
    }
}

static void decode_unknown_kinds_and_bodies(void **state)
{
    raw frame = {0}, empty = {0};

    (void)state;
    /* A ClientFrame kind this schema lacks (field 3): no request id to answer. */
    raw_ld(&frame, 3, NULL, 0);
    expect_client(frame.p, frame.len, PL_FRAME_E_UNKNOWN_KIND, 0);
    free(frame.p);

    /* A request body of the reserved ranges: answerable by id. */
    for (uint32_t num = 15; num <= 400; num += 35) {
        frame = raw_request(77, num, &empty);
        expect_client(frame.p, frame.len, PL_FRAME_E_UNKNOWN_REQUEST, 77);
        free(frame.p);
    }
    /* A request with no body at all, and one with no id. */
    memset(&frame, 0, sizeof frame);
    {
        raw req = {0};

        raw_varint(&req, 1 << 3 | 0);
        raw_varint(&req, 9);
        raw_ld(&frame, 2, req.p, req.len);
        expect_client(frame.p, frame.len, PL_FRAME_E_MISSING, 9);
        free(req.p);
        free(frame.p);
    }
    frame = raw_request(0, 13, &empty);
    expect_client(frame.p, frame.len, PL_FRAME_E_MISSING, 0);
    free(frame.p);
    /* A frame with nothing set: an empty Hello is a kind but lacks its versions. */
    memset(&frame, 0, sizeof frame);
    raw_ld(&frame, 1, NULL, 0);
    expect_client(frame.p, frame.len, PL_FRAME_E_MISSING, 0);
    free(frame.p);
    /* Only unknown non-oneof data, e.g. a varint field 20: an unknown kind. */
    expect_client((const uint8_t *)"\xa0\x01\x01", 3, PL_FRAME_E_UNKNOWN_KIND, 0);
}

/* Numbered table: a valid request of `kind`, changed by `edit`, decodes to `want`. */
enum edit {
    E_NAME_EMPTY,
    E_NAME_LONG,
    E_KEY_SHORT,
    E_KEY_LONG,
    E_RECORD_SHORT,
    E_SIG_EMPTY,
    E_SIG_SHORT,
    E_SPK_LONG,
    E_OPK_NONE,
    E_OPK_MANY,
    E_OPK_SHORT,
    E_SEND_NO_RECIPIENT_DEVICES,
    E_SEND_MANY_RECIPIENT_DEVICES,
    E_SEND_MANY_SENDER_DEVICES,
    E_SEND_DUP_DEVICE,
    E_SEND_CT_EMPTY,
    E_SEND_CT_HUGE,
    E_SEND_CT_MAX,
    E_SEND_IK_SHORT,
    E_SEND_MSGID_SHORT,
    E_ACK_NONE,
    E_ACK_MANY,
    E_ACK_MAX,
    E_ACK_ZERO,
    E_LINK_RDV_EMPTY,
    E_LINK_RDV_SHORT,
    E_LINK_RDV_LONG,
    E_LINK_SLOT_2,
    E_LINK_BLOB_EMPTY,
    E_LINK_BLOB_MAX,
    E_LINK_BLOB_HUGE,
    E_STATE_EMPTY,
    E_STATE_ODD,
    E_STATE_MAX,
    E_STATE_HUGE,
    E_KT_AUDIT_ZERO,
    E_KT_AUDIT_MAX,
    E_KT_AUDIT_MANY,
    E_KT_COSIGN_EMPTY,
    E_KT_COSIGN_NO_SIZE,
    E_KT_COSIGN_LONG,
    E_KT_LOOKUP_VERSION_UNFIXED,
    E_KT_LOOKUP_NO_NAME,
    E_HELLO_NO_VERSION,
    E_HELLO_BACKWARDS,
    E_HELLO_CLIENT_LONG,
};

static const char long_name[] = "0123456789012345678901234567890123456789012345678901234567890123"
                                "0123456789012345678901234567890123456789012345678901234567890123"
                                "0123456789012345678901234567890123456789012345678901234567890123"
                                "0123456789012345678901234567890123456789012345678901234567890123";

/* One byte longer than the longest cosignature line. */
static char kt_long_line[PL_WIRE_KT_MAX_COSIGNATURE_BYTES + 2];

static void apply_edit(client_msg *m, Parley__Request__BodyCase kind, enum edit e)
{
    if (e >= E_HELLO_NO_VERSION)
        client_hello(m);
    else
        client_request(m, kind);
    switch (e) {
    case E_NAME_EMPTY:
    case E_NAME_LONG: {
        const char *name = e == E_NAME_EMPTY ? "" : long_name; /* 256 bytes */

        m->reg.username = m->proof.username = m->add.username = m->rm.username = (char *)name;
        m->list.username = m->fetch.username = m->send.recipient = (char *)name;
        break;
    }
    case E_KEY_SHORT:
        m->reg.account_key = bin(32);
        break;
    case E_KEY_LONG:
        m->reg.account_key = bin(34);
        break;
    case E_RECORD_SHORT:
        m->reg.device_record = m->add.device_record = bin(142);
        break;
    case E_SIG_EMPTY:
        m->proof.signature = m->rm.signature = bin(0);
        break;
    case E_SIG_SHORT:
        m->proof.signature = m->rm.signature = bin(63);
        break;
    case E_SPK_LONG:
        m->spk.signed_prekey = bin(110);
        break;
    case E_OPK_NONE:
        m->opks.n_onetime_prekeys = 0;
        break;
    case E_OPK_MANY:
        m->opks.n_onetime_prekeys = PL_WIRE_MAX_ONETIME_PREKEYS_PER_UPLOAD + 1;
        break;
    case E_OPK_SHORT:
        m->opk[2] = bin(36);
        break;
    case E_SEND_NO_RECIPIENT_DEVICES:
        m->send.n_recipient_devices = 0;
        break;
    case E_SEND_MANY_RECIPIENT_DEVICES:
        m->send.n_recipient_devices = PL_WIRE_MAX_DEVICES + 1;
        break;
    case E_SEND_MANY_SENDER_DEVICES:
        m->send.n_sender_devices = PL_WIRE_MAX_DEVICES;
        break;
    case E_SEND_DUP_DEVICE:
        m->ct[1].device_id = m->ct[0].device_id;
        break;
    case E_SEND_CT_EMPTY:
        m->ct[1].ciphertext = bin(0);
        break;
    case E_SEND_CT_HUGE:
        m->sndr[0]->ciphertext = bin(PL_WIRE_MAX_CIPHERTEXT_BYTES + 1);
        break;
    case E_SEND_CT_MAX:
        m->sndr[0]->ciphertext = bin(PL_WIRE_MAX_CIPHERTEXT_BYTES);
        break;
    case E_SEND_IK_SHORT:
        m->sndr[0]->identity_key = bin(1);
        break;
    case E_SEND_MSGID_SHORT:
        m->send.client_message_id = bin(15);
        break;
    case E_ACK_NONE:
        m->ack.n_seqs = 0;
        break;
    case E_ACK_MANY:
        m->ack.n_seqs = PL_WIRE_MAX_ACKS + 1;
        break;
    case E_ACK_MAX:
        m->ack.n_seqs = PL_WIRE_MAX_ACKS;
        break;
    case E_ACK_ZERO:
        m->seqs[1] = 0;
        break;
    case E_LINK_RDV_EMPTY:
        m->lput.rendezvous = m->lget.rendezvous = bin(0);
        break;
    case E_LINK_RDV_SHORT:
        m->lput.rendezvous = m->lget.rendezvous = bin(PL_WIRE_LINK_RENDEZVOUS_BYTES - 1);
        break;
    case E_LINK_RDV_LONG:
        m->lput.rendezvous = m->lget.rendezvous = bin(PL_WIRE_LINK_RENDEZVOUS_BYTES + 1);
        break;
    case E_LINK_SLOT_2:
        m->lput.slot = m->lget.slot = PL_WIRE_LINK_SLOTS;
        break;
    case E_LINK_BLOB_EMPTY:
        m->lput.blob = bin(0);
        break;
    case E_LINK_BLOB_MAX:
        m->lput.blob = bin(PL_WIRE_LINK_MAX_BLOB_BYTES);
        break;
    case E_LINK_BLOB_HUGE:
        m->lput.blob = bin(PL_WIRE_LINK_MAX_BLOB_BYTES + 1);
        break;
    case E_STATE_EMPTY:
        m->reg.account_state = m->add.account_state = m->rm.account_state = bin(0);
        break;
    case E_STATE_ODD:
        m->reg.account_state = m->add.account_state = m->rm.account_state =
            bin(PL_ACCOUNT_STATE_BYTES(1) + 1);
        break;
    case E_STATE_MAX:
        m->reg.account_state = m->add.account_state = m->rm.account_state =
            bin(PL_ACCOUNT_STATE_MAX_BYTES);
        break;
    case E_STATE_HUGE:
        m->reg.account_state = m->add.account_state = m->rm.account_state =
            bin(PL_ACCOUNT_STATE_BYTES(PL_ACCOUNT_STATE_MAX_DEVICES + 1));
        break;
    case E_KT_AUDIT_ZERO:
        m->kta.max = 0;
        break;
    case E_KT_AUDIT_MAX:
        m->kta.max = PL_WIRE_KT_MAX_AUDIT_ENTRIES;
        break;
    case E_KT_AUDIT_MANY:
        m->kta.max = PL_WIRE_KT_MAX_AUDIT_ENTRIES + 1;
        break;
    case E_KT_COSIGN_EMPTY:
        m->kts.cosignature = "";
        break;
    case E_KT_COSIGN_NO_SIZE:
        m->kts.size = 0;
        break;
    case E_KT_COSIGN_LONG:
        memset(kt_long_line, 'A', sizeof kt_long_line - 1);
        m->kts.cosignature = kt_long_line;
        break;
    case E_KT_LOOKUP_VERSION_UNFIXED:
        m->ktl.fixed = 0;
        break;
    case E_KT_LOOKUP_NO_NAME:
        m->ktl.username = "";
        break;
    case E_HELLO_NO_VERSION:
        m->hello.min_version = 0;
        break;
    case E_HELLO_BACKWARDS:
        m->hello.min_version = 2;
        break;
    case E_HELLO_CLIENT_LONG:
        m->hello.client = (char *)long_name + 256 - 65;
        break;
    }
}

static void decode_validation_table(void **state)
{
    static const struct {
        Parley__Request__BodyCase kind;
        enum edit edit;
        int want;
    } cases[] = {
        /* 0 */ {PARLEY__REQUEST__BODY_REGISTER_ACCOUNT, E_NAME_EMPTY, PL_FRAME_E_MISSING},
        /* 1 */ {PARLEY__REQUEST__BODY_REGISTER_ACCOUNT, E_NAME_LONG, PL_FRAME_E_FIELD_SIZE},
        /* 2 */ {PARLEY__REQUEST__BODY_REGISTER_ACCOUNT, E_KEY_SHORT, PL_FRAME_E_FIELD_SIZE},
        /* 3 */ {PARLEY__REQUEST__BODY_REGISTER_ACCOUNT, E_KEY_LONG, PL_FRAME_E_FIELD_SIZE},
        /* 4 */ {PARLEY__REQUEST__BODY_REGISTER_ACCOUNT, E_RECORD_SHORT, PL_FRAME_E_FIELD_SIZE},
        /* 5 */ {PARLEY__REQUEST__BODY_AUTH_PROOF, E_NAME_EMPTY, PL_FRAME_E_MISSING},
        /* 6 */ {PARLEY__REQUEST__BODY_AUTH_PROOF, E_SIG_EMPTY, PL_FRAME_E_MISSING},
        /* 7 */ {PARLEY__REQUEST__BODY_AUTH_PROOF, E_SIG_SHORT, PL_FRAME_E_FIELD_SIZE},
        /* 8 */ {PARLEY__REQUEST__BODY_ADD_DEVICE, E_NAME_LONG, PL_FRAME_E_FIELD_SIZE},
        /* 9 */ {PARLEY__REQUEST__BODY_ADD_DEVICE, E_RECORD_SHORT, PL_FRAME_E_FIELD_SIZE},
        /* 10 */ {PARLEY__REQUEST__BODY_REMOVE_DEVICE, E_SIG_SHORT, PL_FRAME_E_FIELD_SIZE},
        /* 11 */ {PARLEY__REQUEST__BODY_REMOVE_DEVICE, E_NAME_EMPTY, PL_FRAME_E_MISSING},
        /* 12 */ {PARLEY__REQUEST__BODY_LIST_DEVICES, E_NAME_EMPTY, PL_FRAME_E_MISSING},
        /* 13 */ {PARLEY__REQUEST__BODY_LIST_DEVICES, E_NAME_LONG, PL_FRAME_E_FIELD_SIZE},
        /* 14 */ {PARLEY__REQUEST__BODY_UPLOAD_SIGNED_PREKEY, E_SPK_LONG, PL_FRAME_E_FIELD_SIZE},
        /* 15 */ {PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS, E_OPK_NONE, PL_FRAME_E_MISSING},
        /* 16 */ {PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS, E_OPK_MANY, PL_FRAME_E_TOO_MANY},
        /* 17 */ {PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS, E_OPK_SHORT, PL_FRAME_E_FIELD_SIZE},
        /* 18 */ {PARLEY__REQUEST__BODY_FETCH_BUNDLES, E_NAME_LONG, PL_FRAME_E_FIELD_SIZE},
        /* 19 */ {PARLEY__REQUEST__BODY_SEND, E_NAME_EMPTY, PL_FRAME_E_MISSING},
        /* 20 */ {PARLEY__REQUEST__BODY_SEND, E_SEND_NO_RECIPIENT_DEVICES, PL_FRAME_E_MISSING},
        /* 21 */ {PARLEY__REQUEST__BODY_SEND, E_SEND_MANY_RECIPIENT_DEVICES, PL_FRAME_E_TOO_MANY},
        /* 22 */ {PARLEY__REQUEST__BODY_SEND, E_SEND_MANY_SENDER_DEVICES, PL_FRAME_E_TOO_MANY},
        /* 23 */ {PARLEY__REQUEST__BODY_SEND, E_SEND_DUP_DEVICE, PL_FRAME_E_INVALID},
        /* 24 */ {PARLEY__REQUEST__BODY_SEND, E_SEND_CT_EMPTY, PL_FRAME_E_MISSING},
        /* 25 */ {PARLEY__REQUEST__BODY_SEND, E_SEND_CT_HUGE, PL_FRAME_E_FIELD_SIZE},
        /* 26 */ {PARLEY__REQUEST__BODY_SEND, E_SEND_CT_MAX, PL_FRAME_OK},
        /* 27 */ {PARLEY__REQUEST__BODY_SEND, E_SEND_IK_SHORT, PL_FRAME_E_FIELD_SIZE},
        /* 28 */ {PARLEY__REQUEST__BODY_SEND, E_SEND_MSGID_SHORT, PL_FRAME_E_FIELD_SIZE},
        /* 29 */ {PARLEY__REQUEST__BODY_ACK, E_ACK_NONE, PL_FRAME_E_MISSING},
        /* 30 */ {PARLEY__REQUEST__BODY_ACK, E_ACK_MANY, PL_FRAME_E_TOO_MANY},
        /* 31 */ {PARLEY__REQUEST__BODY_ACK, E_ACK_MAX, PL_FRAME_OK},
        /* 32 */ {PARLEY__REQUEST__BODY_ACK, E_ACK_ZERO, PL_FRAME_E_INVALID},
        /* 33 */ {0, E_HELLO_NO_VERSION, PL_FRAME_E_MISSING},
        /* 34 */ {0, E_HELLO_BACKWARDS, PL_FRAME_E_INVALID},
        /* 35 */ {0, E_HELLO_CLIENT_LONG, PL_FRAME_E_FIELD_SIZE},
        /* 36 */ {PARLEY__REQUEST__BODY_LINK_PUT, E_LINK_RDV_EMPTY, PL_FRAME_E_MISSING},
        /* 37 */ {PARLEY__REQUEST__BODY_LINK_PUT, E_LINK_RDV_SHORT, PL_FRAME_E_FIELD_SIZE},
        /* 38 */ {PARLEY__REQUEST__BODY_LINK_PUT, E_LINK_RDV_LONG, PL_FRAME_E_FIELD_SIZE},
        /* 39 */ {PARLEY__REQUEST__BODY_LINK_PUT, E_LINK_SLOT_2, PL_FRAME_E_INVALID},
        /* 40 */ {PARLEY__REQUEST__BODY_LINK_PUT, E_LINK_BLOB_EMPTY, PL_FRAME_E_MISSING},
        /* 41 */ {PARLEY__REQUEST__BODY_LINK_PUT, E_LINK_BLOB_MAX, PL_FRAME_OK},
        /* 42 */ {PARLEY__REQUEST__BODY_LINK_PUT, E_LINK_BLOB_HUGE, PL_FRAME_E_FIELD_SIZE},
        /* 43 */ {PARLEY__REQUEST__BODY_LINK_GET, E_LINK_RDV_EMPTY, PL_FRAME_E_MISSING},
        /* 44 */ {PARLEY__REQUEST__BODY_LINK_GET, E_LINK_RDV_SHORT, PL_FRAME_E_FIELD_SIZE},
        /* 45 */ {PARLEY__REQUEST__BODY_LINK_GET, E_LINK_SLOT_2, PL_FRAME_E_INVALID},
        /* 46 */ {PARLEY__REQUEST__BODY_REGISTER_ACCOUNT, E_STATE_EMPTY, PL_FRAME_E_MISSING},
        /* 47 */ {PARLEY__REQUEST__BODY_REGISTER_ACCOUNT, E_STATE_ODD, PL_FRAME_E_FIELD_SIZE},
        /* 48 */ {PARLEY__REQUEST__BODY_ADD_DEVICE, E_STATE_EMPTY, PL_FRAME_E_MISSING},
        /* 49 */ {PARLEY__REQUEST__BODY_ADD_DEVICE, E_STATE_MAX, PL_FRAME_OK},
        /* 50 */ {PARLEY__REQUEST__BODY_ADD_DEVICE, E_STATE_HUGE, PL_FRAME_E_FIELD_SIZE},
        /* 51 */ {PARLEY__REQUEST__BODY_REMOVE_DEVICE, E_STATE_EMPTY, PL_FRAME_E_MISSING},
        /* 52 */ {PARLEY__REQUEST__BODY_REMOVE_DEVICE, E_STATE_ODD, PL_FRAME_E_FIELD_SIZE},
        /* 53 */ {PARLEY__REQUEST__BODY_KT_AUDIT, E_KT_AUDIT_ZERO, PL_FRAME_E_MISSING},
        /* 54 */ {PARLEY__REQUEST__BODY_KT_AUDIT, E_KT_AUDIT_MAX, PL_FRAME_OK},
        /* 55 */ {PARLEY__REQUEST__BODY_KT_AUDIT, E_KT_AUDIT_MANY, PL_FRAME_E_TOO_MANY},
        /* 56 */ {PARLEY__REQUEST__BODY_KT_COSIGN, E_KT_COSIGN_EMPTY, PL_FRAME_E_MISSING},
        /* 57 */ {PARLEY__REQUEST__BODY_KT_COSIGN, E_KT_COSIGN_NO_SIZE, PL_FRAME_E_MISSING},
        /* 58 */ {PARLEY__REQUEST__BODY_KT_COSIGN, E_KT_COSIGN_LONG, PL_FRAME_E_FIELD_SIZE},
        /* 59 */ {PARLEY__REQUEST__BODY_KT_LOOKUP, E_KT_LOOKUP_VERSION_UNFIXED, PL_FRAME_E_INVALID},
        /* 60 */ {PARLEY__REQUEST__BODY_KT_LOOKUP, E_KT_LOOKUP_NO_NAME, PL_FRAME_E_MISSING},
    };
    static client_msg m;

    (void)state;
    assert_int_equal(strlen(long_name), 256);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Parley__ClientFrame *f = (Parley__ClientFrame *)1;
        pl_frame_diag d;
        uint8_t *a;
        size_t la;
        int rc;

        apply_edit(&m, cases[i].kind, cases[i].edit);
        a = encode_client(&m, &la);
        rc = pl_frame_decode_client(a + 4, la - 4, &f, &d);
        if (rc != cases[i].want)
            fail_msg("case %zu: got %s (%s), want %s", i, pl_frame_errname(rc), d.detail,
                     pl_frame_errname(cases[i].want));
        /* Requests that fail are answerable by their id; a Hello is not a request. */
        assert_int_equal(d.request_id, rc != PL_FRAME_OK && cases[i].kind ? 7 : 0);
        assert_true(rc == PL_FRAME_OK || d.detail[0] != '\0');
        assert_int_equal(pl_frame_validate_client(&m.frame, NULL), cases[i].want);
        pl_frame_client_free(rc == PL_FRAME_OK ? f : NULL);
        if (rc != PL_FRAME_OK)
            assert_null(f);
        free(a);
    }
}

static void decode_allocation_is_capped(void **state)
{
    raw body = {0}, packed = {0}, frame;
    size_t n = 200000;

    (void)state;
    /* Ack with 200,000 one-byte packed seqs: 200 KB of frame, 1.6 MB of uint64_t. */
    for (size_t i = 0; i < n; i++)
        raw_byte(&packed, 1);
    raw_ld(&body, 1, packed.p, packed.len);
    frame = raw_request(3, 12, &body);
    assert_true(frame.len < PL_FRAME_MAX_BYTES);
    expect_client(frame.p, frame.len, PL_FRAME_E_ALLOC_LIMIT, 0);
    free(frame.p);
    free(body.p);

    /* 300 one-byte seqs: within the budget, but more entries than allowed. */
    memset(&body, 0, sizeof body);
    raw_ld(&body, 1, packed.p, 300);
    frame = raw_request(3, 12, &body);
    expect_client(frame.p, frame.len, PL_FRAME_E_TOO_MANY, 3);
    free(frame.p);
    free(body.p);
    free(packed.p);

    /* 100,000 empty DeviceCiphertext messages: 2 bytes each on the wire. */
    memset(&body, 0, sizeof body);
    for (size_t i = 0; i < 100000; i++)
        raw_ld(&body, 2, NULL, 0);
    frame = raw_request(4, 11, &body);
    expect_client(frame.p, frame.len, PL_FRAME_E_ALLOC_LIMIT, 0);
    free(frame.p);
    free(body.p);

    /* 200,000 unknown varint fields at frame level: each is copied and listed. */
    memset(&body, 0, sizeof body);
    for (size_t i = 0; i < 200000; i++) {
        raw_varint(&body, 50u << 3 | 0);
        raw_varint(&body, 0);
    }
    expect_client(body.p, body.len, PL_FRAME_E_ALLOC_LIMIT, 0);
    free(body.p);
}

static void decode_refuses_a_body_above_the_hard_maximum(void **state)
{
    uint8_t *big = calloc(1, PL_FRAME_MAX_BYTES + 1);

    (void)state;
    assert_non_null(big);
    expect_client(big, PL_FRAME_MAX_BYTES + 1, PL_FRAME_E_TOO_LARGE, 0);
    free(big);
}

/* The server frame variant that answers request kind k. */
static int request_index(Parley__Request__BodyCase k)
{
    for (size_t i = 0; i < N_REQUEST_KINDS; i++)
        if (request_kinds[i] == k)
            return (int)i + 1;
    fail_msg("no request kind %d", (int)k);
    return 0;
}

/* KT answers: lengths and counts of every field (§24.4). */
static void decode_server_refuses_malformed_kt_replies(void **state)
{
    server_msg m;

    (void)state;
    server_frame(&m, request_index(PARLEY__REQUEST__BODY_KT_CONFIG));
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_OK);
    m.ktconfig.quorum = 3;
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_INVALID);
    m.ktconfig.quorum = 2;
    m.ktconfig.vrf_public_key = bin(31);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_FIELD_SIZE);
    m.ktconfig.vrf_public_key = bin(PL_VRF_PUBLIC_KEY_BYTES);
    m.ktconfig.origin = "";
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_MISSING);

    server_frame(&m, request_index(PARLEY__REQUEST__BODY_KT_CHECKPOINT));
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_OK);
    m.hashes[1] = bin(33);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_FIELD_SIZE);
    m.hashes[1] = bin(32);
    m.ktcp.n_consistency = PL_MERKLE_MAX_PROOF + 1;
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_TOO_MANY);
    m.ktcp.n_consistency = 0;
    m.ktcp.note = "";
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_MISSING);

    server_frame(&m, request_index(PARLEY__REQUEST__BODY_KT_LOOKUP));
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_OK);
    m.ktlookup.proof = bin(PL_KT_LOOKUP_MAX_BYTES + 1);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_FIELD_SIZE);
    m.ktlookup.proof = bin(0);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_MISSING);
    m.ktlookup.proof = bin(10);
    m.ktlookup.checkpoint = NULL;
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_MISSING);

    server_frame(&m, request_index(PARLEY__REQUEST__BODY_KT_AUDIT));
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_OK);
    m.leaves[2] = bin(63);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_FIELD_SIZE);
    m.leaves[2] = bin(64);
    m.ktentry[0].prefix_root = bin(0);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_MISSING);
    m.ktentry[0].prefix_root = bin(32);
    m.ktaudit.n_entries = PL_WIRE_KT_MAX_AUDIT_ENTRIES + 1;
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_TOO_MANY);

    /* DeviceList.account_state: absent, or an account state's length. */
    server_frame(&m, request_index(PARLEY__REQUEST__BODY_LIST_DEVICES));
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_OK);
    m.devices.account_state = bin(PL_ACCOUNT_STATE_BYTES(6));
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_OK);
    m.devices.account_state = bin(PL_ACCOUNT_STATE_BYTES(6) - 1);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_FIELD_SIZE);

    /* Push.kt_checkpoint: the same checks as the answer. */
    server_frame(&m, request_index(PARLEY__REQUEST__BODY_KT_CHECKPOINT));
    parley__push__init(&m.push);
    m.push.kind_case = PARLEY__PUSH__KIND_KT_CHECKPOINT;
    m.push.kt_checkpoint = &m.ktcp;
    m.frame.kind_case = PARLEY__SERVER_FRAME__KIND_PUSH;
    m.frame.push = &m.push;
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_OK);
    m.ktcp.note = "";
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_MISSING);
}

static void decode_server_refuses_malformed_replies(void **state)
{
    server_msg m;
    Parley__ServerFrame *f = NULL;

    (void)state;
    server_frame(&m, 1);
    m.resp.status = NULL;
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_MISSING);
    server_frame(&m, 1 + 1); /* auth challenge */
    m.chal.challenge = bin(31);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_FIELD_SIZE);
    server_frame(&m, 1 + 1);
    m.status.code = PARLEY__STATUS_CODE__STATUS_AUTH_FAILED;
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_INVALID);
    server_frame(&m, (int)N_REQUEST_KINDS + 2);
    m.env.ciphertext = bin(PL_WIRE_MAX_CIPHERTEXT_BYTES + 1);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_FIELD_SIZE);
    server_frame(&m, request_index(PARLEY__REQUEST__BODY_LINK_GET)); /* LinkBlob */
    assert_int_equal(m.resp.body_case, PARLEY__RESPONSE__BODY_LINK_GET);
    m.link.blob = bin(PL_WIRE_LINK_MAX_BLOB_BYTES + 1);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_FIELD_SIZE);
    m.link.blob = bin(0);
    assert_int_equal(pl_frame_validate_server(&m.frame, NULL), PL_FRAME_E_MISSING);
    /* An unknown push kind. */
    assert_int_equal(pl_frame_decode_server((const uint8_t *)"\x1a\x02\x22\x00", 4, &f, NULL),
                     PL_FRAME_E_UNKNOWN_KIND);
    assert_null(f);
}

/* ------------------------------------------------------------------ encoding */

static void encode_reports_small_buffers_and_empty_frames(void **state)
{
    server_msg m;
    Parley__ServerFrame empty = PARLEY__SERVER_FRAME__INIT;
    uint8_t buf[64];
    size_t n = 99, need;

    (void)state;
    server_frame(&m, 0);
    need = pl_frame_server_size(&m.frame);
    assert_true(need <= sizeof buf);
    for (size_t cap = 0; cap < need; cap++) {
        assert_int_equal(pl_frame_encode_server(&m.frame, buf, cap, &n),
                         PL_FRAME_E_BUFFER_TOO_SMALL);
        assert_int_equal(n, 0);
    }
    assert_int_equal(pl_frame_encode_server(&m.frame, buf, need, &n), PL_FRAME_OK);
    assert_int_equal(n, need);
    /* Big-endian length prefix of the body. */
    assert_int_equal((size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3],
                     need - 4);
    assert_int_equal(pl_frame_encode_server(&empty, buf, sizeof buf, &n), PL_FRAME_E_EMPTY);
    assert_int_equal(n, 0);
}

static void error_list_names_and_statuses(void **state)
{
    (void)state;
    assert_string_equal(pl_frame_errname(PL_FRAME_E_DECODE), "PL_FRAME_E_DECODE");
    assert_string_equal(pl_frame_errname(-999), "PL_FRAME_E_UNKNOWN");
    assert_string_equal(pl_frame_strerror(PL_FRAME_E_EMPTY), "frame length is zero");
    assert_string_equal(pl_frame_strerror(-999), "unknown error");
    assert_int_equal(pl_frame_status(PL_FRAME_OK), PARLEY__STATUS_CODE__STATUS_OK);
    assert_int_equal(pl_frame_status(PL_FRAME_E_TOO_LARGE),
                     PARLEY__STATUS_CODE__STATUS_FRAME_TOO_LARGE);
    assert_int_equal(pl_frame_status(PL_FRAME_E_UNKNOWN_REQUEST),
                     PARLEY__STATUS_CODE__STATUS_UNKNOWN_REQUEST);
    assert_int_equal(pl_frame_status(PL_FRAME_E_FIELD_SIZE),
                     PARLEY__STATUS_CODE__STATUS_BAD_REQUEST);
    assert_int_equal(pl_frame_status(-999), PARLEY__STATUS_CODE__STATUS_INTERNAL);
}

/* ---- GroupSend (PROTOCOL.md §31.1) ---------------------------------------------------------- */

/* Encodes a GroupSend of n_users accounts of per_user devices each, names "u<i>", with a
 * ciphertext of ct_len bytes, decodes it, and returns the decoder's code. */
static int group_send_round_trip(size_t n_users, uint32_t per_user, size_t ct_len,
                                 size_t *frame_len)
{
    Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__GroupSend g = PARLEY__GROUP_SEND__INIT;
    char *names = calloc(n_users, 8);
    uint32_t *counts = calloc(n_users, sizeof *counts);
    uint32_t *ids = calloc(n_users * per_user, sizeof *ids);
    uint8_t *keys = calloc(n_users * per_user, PL_PUBKEY_BYTES);
    uint8_t *ct = calloc(1, ct_len);
    size_t cap = PL_FRAME_MAX_BYTES + 16, len = 0;
    uint8_t *out = malloc(cap);
    Parley__ClientFrame *back = NULL;
    pl_frame_diag d;
    int rc;

    assert_true(names && counts && ids && keys && ct && out);
    for (size_t i = 0, at = 0; i < n_users; i++) {
        at += (size_t)snprintf(names + at, n_users * 8 - at, i ? " u%zu" : "u%zu", i);
        counts[i] = per_user;
        for (uint32_t k = 0; k < per_user; k++)
            ids[i * per_user + k] = k + 1;
    }
    g.ciphertext.data = ct;
    g.ciphertext.len = ct_len;
    g.client_message_id.data = keys; /* any 16 bytes */
    g.client_message_id.len = PL_WIRE_CLIENT_MESSAGE_ID_BYTES;
    g.usernames = names;
    g.n_device_counts = n_users;
    g.device_counts = counts;
    g.device_ids = ids;
    g.n_device_ids = n_users * per_user;
    g.identity_keys.data = keys;
    g.identity_keys.len = n_users * per_user * PL_PUBKEY_BYTES;
    req.id = 1;
    req.body_case = PARLEY__REQUEST__BODY_GROUP_SEND;
    req.group_send = &g;
    f.kind_case = PARLEY__CLIENT_FRAME__KIND_REQUEST;
    f.request = &req;
    assert_int_equal(pl_frame_encode_client(&f, out, cap, &len), PL_FRAME_OK);
    *frame_len = len - PL_FRAME_HEADER_BYTES;
    rc =
        pl_frame_decode_client(out + PL_FRAME_HEADER_BYTES, len - PL_FRAME_HEADER_BYTES, &back, &d);
    pl_frame_client_free(back);
    free(names);
    free(counts);
    free(ids);
    free(keys);
    free(ct);
    free(out);
    return rc;
}

/* The flat lists exist so that the largest GroupSend decodes within the budget of
 * PL_FRAME_DECODE_ALLOC_MAX: 10,000 one-device accounts with short names, and the default
 * maximum of 1,000 accounts of 6 devices, each with the largest ciphertext. */
static void group_send_largest_lists_decode_within_budget(void **state)
{
    size_t len = 0;

    (void)state;
    assert_int_equal(group_send_round_trip(PL_WIRE_MAX_GROUP_RECIPIENT_DEVICES, 1,
                                           PL_WIRE_MAX_CIPHERTEXT_BYTES, &len),
                     PL_FRAME_OK);
    assert_true(len <= PL_FRAME_MAX_BYTES);
    assert_int_equal(group_send_round_trip(1000, 6, PL_WIRE_MAX_CIPHERTEXT_BYTES, &len),
                     PL_FRAME_OK);
    /* One device more than the wire's maximum is refused by the validator. */
    assert_int_equal(
        group_send_round_trip(PL_WIRE_MAX_GROUP_RECIPIENT_DEVICES / 5 + 1, 5, 100, &len),
        PL_FRAME_E_TOO_MANY);
    assert_int_equal(group_send_round_trip(1, 7, 100, &len), PL_FRAME_E_TOO_MANY);
    assert_int_equal(group_send_round_trip(1, 1, 0, &len), PL_FRAME_E_MISSING);
    assert_int_equal(group_send_round_trip(1, 1, PL_WIRE_MAX_CIPHERTEXT_BYTES + 1, &len),
                     PL_FRAME_E_FIELD_SIZE);
    /* A text message to 1,000 one-device members: the case a nested list failed. */
    assert_int_equal(group_send_round_trip(1000, 1, 200, &len), PL_FRAME_OK);
}

/* Numbered rows: one GroupSend of two accounts (2 and 1 devices) bent one way each. */
static void group_send_validation_table(void **state)
{
    static const struct {
        int row;
        size_t n_counts, n_ids, keys_len;
        uint32_t count0, id1;
        int want;
    } rows[] = {
        {0, 2, 3, 99, 2, 2, PL_FRAME_OK},
        {1, 1, 3, 99, 2, 2, PL_FRAME_E_INVALID},    /* counts not one per username */
        {2, 2, 2, 66, 2, 2, PL_FRAME_E_INVALID},    /* ids not the sum of counts */
        {3, 2, 3, 98, 2, 2, PL_FRAME_E_FIELD_SIZE}, /* keys not 33 per id */
        {4, 2, 3, 99, 2, 1, PL_FRAME_E_INVALID},    /* an id twice for one account */
        {5, 2, 2, 66, 0, 2, PL_FRAME_E_MISSING},    /* a count of zero */
    };
    uint8_t keys[99] = {0}, cmid[16] = {0};

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        Parley__ClientFrame f = PARLEY__CLIENT_FRAME__INIT;
        Parley__Request req = PARLEY__REQUEST__INIT;
        Parley__GroupSend g = PARLEY__GROUP_SEND__INIT;
        uint32_t counts[2] = {rows[i].count0, 1};
        uint32_t ids[3] = {1, rows[i].id1, 1};
        pl_frame_diag d;

        g.ciphertext.data = keys;
        g.ciphertext.len = 10;
        g.client_message_id.data = cmid;
        g.client_message_id.len = sizeof cmid;
        g.usernames = "alice bob";
        g.device_counts = counts;
        g.n_device_counts = rows[i].n_counts;
        g.device_ids = ids;
        g.n_device_ids = rows[i].n_ids;
        g.identity_keys.data = keys;
        g.identity_keys.len = rows[i].keys_len;
        req.id = 5;
        req.body_case = PARLEY__REQUEST__BODY_GROUP_SEND;
        req.group_send = &g;
        f.kind_case = PARLEY__CLIENT_FRAME__KIND_REQUEST;
        f.request = &req;
        if (pl_frame_validate_client(&f, &d) != rows[i].want)
            fail_msg("row %d: got %s (%s)", rows[i].row, pl_frame_errname(d.code), d.detail);
        if (rows[i].want != PL_FRAME_OK)
            assert_int_equal(d.request_id, 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_yields_the_same_frames_at_every_split_point),
        cmocka_unit_test(reader_hands_out_whole_frames_of_one_chunk_in_place),
        cmocka_unit_test(reader_zero_length_is_final),
        cmocka_unit_test(reader_length_limits_table),
        cmocka_unit_test(reader_stream_ending_inside_a_frame_is_truncated),
        cmocka_unit_test(reader_large_frame_then_small_frames),
        cmocka_unit_test(decode_every_client_message_round_trips),
        cmocka_unit_test(decode_every_server_message_round_trips),
        cmocka_unit_test(decode_largest_send_fits_one_frame),
        cmocka_unit_test(decode_garbage_is_a_decode_error),
        cmocka_unit_test(decode_ignores_unknown_fields),
        cmocka_unit_test(decode_unknown_kinds_and_bodies),
        cmocka_unit_test(decode_validation_table),
        cmocka_unit_test(decode_allocation_is_capped),
        cmocka_unit_test(decode_refuses_a_body_above_the_hard_maximum),
        cmocka_unit_test(decode_server_refuses_malformed_replies),
        cmocka_unit_test(decode_server_refuses_malformed_kt_replies),
        cmocka_unit_test(encode_reports_small_buffers_and_empty_frames),
        cmocka_unit_test(error_list_names_and_statuses),
        cmocka_unit_test(group_send_largest_lists_decode_within_budget),
        cmocka_unit_test(group_send_validation_table),
    };

    memset(fill, 0x5a, sizeof fill);
    if (pl_init() != PL_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}

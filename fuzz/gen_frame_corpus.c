/*
 * gen_frame_corpus.c: writes the seed corpus of fuzz_frame (fuzz/corpus/frame/).
 *
 *   fuzz_gen_frame_corpus DIR     writes DIR/frame/<seed> (DIR is normally fuzz/corpus)
 *
 * Each seed is fuzz_frame's input: a chunk-rhythm byte, then one or more genuine frames of
 * a kind (Hello, every request the validator accepts). Deterministic; built, never run, by
 * the tests. Run it by hand when parley.proto changes and commit its output.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "frame.h"
#include "fuzz.h"

static uint8_t fill[PL_ACCOUNT_STATE_MAX_BYTES];

static ProtobufCBinaryData bin(size_t n)
{
    ProtobufCBinaryData b = {n, fill};

    return b;
}

/* Appends frame f to buf[*len..cap). */
static void append(const Parley__ClientFrame *f, uint8_t *buf, size_t cap, size_t *len)
{
    size_t n = 0;

    FZ_CHECK(pl_frame_validate_client(f, NULL) == PL_FRAME_OK);
    FZ_CHECK(pl_frame_encode_client(f, buf + *len, cap - *len, &n) == PL_FRAME_OK);
    *len += n;
}

static void write_seed(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof path, "%s/frame/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_frame_corpus: cannot write %s\n", path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static uint8_t all[16384], one[4096];
    char path[1024];
    size_t all_len = 1, one_len;
    Parley__ClientFrame frame = PARLEY__CLIENT_FRAME__INIT;
    Parley__Hello hello = PARLEY__HELLO__INIT;
    Parley__Request req = PARLEY__REQUEST__INIT;
    Parley__RegisterAccount reg = PARLEY__REGISTER_ACCOUNT__INIT;
    Parley__AuthChallengeRequest chal = PARLEY__AUTH_CHALLENGE_REQUEST__INIT;
    Parley__AuthProof proof = PARLEY__AUTH_PROOF__INIT;
    Parley__AddDevice add = PARLEY__ADD_DEVICE__INIT;
    Parley__RemoveDevice rm = PARLEY__REMOVE_DEVICE__INIT;
    Parley__ListDevices list = PARLEY__LIST_DEVICES__INIT;
    Parley__UploadSignedPrekey spk = PARLEY__UPLOAD_SIGNED_PREKEY__INIT;
    Parley__UploadOnetimePrekeys opks = PARLEY__UPLOAD_ONETIME_PREKEYS__INIT;
    ProtobufCBinaryData opk[3] = {bin(37), bin(37), bin(37)};
    Parley__FetchBundles fetch = PARLEY__FETCH_BUNDLES__INIT;
    Parley__Send send = PARLEY__SEND__INIT;
    Parley__DeviceCiphertext ct[3] = {PARLEY__DEVICE_CIPHERTEXT__INIT,
                                      PARLEY__DEVICE_CIPHERTEXT__INIT,
                                      PARLEY__DEVICE_CIPHERTEXT__INIT};
    Parley__DeviceCiphertext *rcpt[2] = {&ct[0], &ct[1]}, *sndr[1] = {&ct[2]};
    Parley__Ack ack = PARLEY__ACK__INIT;
    uint64_t seqs[3] = {1, 2, 300};
    Parley__Ping ping = PARLEY__PING__INIT;
    Parley__PrekeyStatus pks = PARLEY__PREKEY_STATUS__INIT;
    Parley__LinkPut lput = PARLEY__LINK_PUT__INIT;
    Parley__LinkGet lget = PARLEY__LINK_GET__INIT;
    Parley__KtConfigGet ktc = PARLEY__KT_CONFIG_GET__INIT;
    Parley__KtCheckpointGet ktp = PARLEY__KT_CHECKPOINT_GET__INIT;
    Parley__KtLookup ktl = PARLEY__KT_LOOKUP__INIT;
    Parley__KtAuditGet kta = PARLEY__KT_AUDIT_GET__INIT;
    Parley__KtCosign kts = PARLEY__KT_COSIGN__INIT;
    Parley__KtWatch ktw = PARLEY__KT_WATCH__INIT;
    Parley__GroupSend gsend = PARLEY__GROUP_SEND__INIT;
    char *gs_names[3] = {"alice", "bob", "carol"};
    uint32_t gs_counts[3] = {1, 3, 2};
    uint32_t gs_ids[6] = {2, 1, 2, 7, 1, 300};
    static const struct {
        const char *name;
        Parley__Request__BodyCase kind;
    } seeds[] = {
        {"genuine-register", PARLEY__REQUEST__BODY_REGISTER_ACCOUNT},
        {"genuine-auth-challenge", PARLEY__REQUEST__BODY_AUTH_CHALLENGE},
        {"genuine-auth-proof", PARLEY__REQUEST__BODY_AUTH_PROOF},
        {"genuine-add-device", PARLEY__REQUEST__BODY_ADD_DEVICE},
        {"genuine-remove-device", PARLEY__REQUEST__BODY_REMOVE_DEVICE},
        {"genuine-list-devices", PARLEY__REQUEST__BODY_LIST_DEVICES},
        {"genuine-upload-signed-prekey", PARLEY__REQUEST__BODY_UPLOAD_SIGNED_PREKEY},
        {"genuine-upload-onetime-prekeys", PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS},
        {"genuine-fetch-bundles", PARLEY__REQUEST__BODY_FETCH_BUNDLES},
        {"genuine-send", PARLEY__REQUEST__BODY_SEND},
        {"genuine-ack", PARLEY__REQUEST__BODY_ACK},
        {"genuine-ping", PARLEY__REQUEST__BODY_PING},
        {"genuine-prekey-status", PARLEY__REQUEST__BODY_PREKEY_STATUS},
        {"genuine-link-put", PARLEY__REQUEST__BODY_LINK_PUT},
        {"genuine-link-get", PARLEY__REQUEST__BODY_LINK_GET},
        {"genuine-kt-config", PARLEY__REQUEST__BODY_KT_CONFIG},
        {"genuine-kt-checkpoint", PARLEY__REQUEST__BODY_KT_CHECKPOINT},
        {"genuine-kt-lookup", PARLEY__REQUEST__BODY_KT_LOOKUP},
        {"genuine-kt-audit", PARLEY__REQUEST__BODY_KT_AUDIT},
        {"genuine-kt-cosign", PARLEY__REQUEST__BODY_KT_COSIGN},
        {"genuine-kt-watch", PARLEY__REQUEST__BODY_KT_WATCH},
        {"genuine-group-send", PARLEY__REQUEST__BODY_GROUP_SEND},
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    memset(fill, 0x5a, sizeof fill);
    snprintf(path, sizeof path, "%s/frame", argv[1]);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_frame_corpus: mkdir %s: %s\n", path, strerror(errno));
        return 1;
    }

    reg.username = proof.username = add.username = rm.username = "alice";
    list.username = fetch.username = send.recipient = "bob";
    reg.account_key = bin(PL_PUBKEY_BYTES);
    reg.device_record = add.device_record = bin(PL_DEVICE_RECORD_BYTES);
    proof.device_id = 1;
    rm.device_id = 2;
    proof.signature = rm.signature = bin(PL_SIGNATURE_BYTES);
    spk.signed_prekey = bin(PL_SIGNED_PREKEY_PUBLIC_BYTES);
    opks.n_onetime_prekeys = 3;
    opks.onetime_prekeys = opk;
    for (uint32_t i = 0; i < 3; i++) {
        ct[i].device_id = i + 1;
        ct[i].identity_key = bin(PL_PUBKEY_BYTES);
        ct[i].ciphertext = bin(100 + i);
    }
    send.n_recipient_devices = 2;
    send.recipient_devices = rcpt;
    send.n_sender_devices = 1;
    send.sender_devices = sndr;
    send.client_message_id = bin(PL_WIRE_CLIENT_MESSAGE_ID_BYTES);
    ack.n_seqs = 3;
    ack.seqs = seqs;
    lput.rendezvous = lget.rendezvous = bin(PL_WIRE_LINK_RENDEZVOUS_BYTES);
    lput.slot = 0;
    lput.blob = bin(200);
    lget.slot = 1;
    reg.account_state = add.account_state = rm.account_state = bin(PL_ACCOUNT_STATE_BYTES(1));
    ktp.known_size = 7;
    ktp.latest_signed = 1;
    ktl.username = "bob";
    ktl.known_size = 3;
    ktl.fixed = 1;
    ktl.version = 2;
    kta.from = 1;
    kta.max = 16;
    kts.size = 9;
    kts.cosignature =
        "\xe2\x80\x94 witness AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    /* GroupSend (§31.1): the sender's other device, then two members. */
    gsend.ciphertext = bin(120);
    gsend.client_message_id = bin(PL_WIRE_CLIENT_MESSAGE_ID_BYTES);
    gsend.n_usernames = gsend.n_device_counts = 3;
    gsend.usernames = gs_names;
    gsend.device_counts = gs_counts;
    gsend.n_device_ids = 6;
    gsend.device_ids = gs_ids;
    gsend.identity_keys = bin(6 * PL_PUBKEY_BYTES);
    req.register_account = &reg;

    /* The rhythm byte: chunks of 4 and 98 bytes, so every seed crosses chunk edges. */
    hello.min_version = hello.max_version = PL_WIRE_VERSION_MIN;
    hello.client = "parley-gen/1";
    frame.kind_case = PARLEY__CLIENT_FRAME__KIND_HELLO;
    frame.hello = &hello;
    one[0] = all[0] = 0x13;
    one_len = 1;
    append(&frame, one, sizeof one, &one_len);
    append(&frame, all, sizeof all, &all_len);
    write_seed(argv[1], "genuine-hello", one, one_len);

    frame.kind_case = PARLEY__CLIENT_FRAME__KIND_REQUEST;
    frame.request = &req;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        req.id = i + 1;
        req.body_case = seeds[i].kind;
        switch (seeds[i].kind) {
        case PARLEY__REQUEST__BODY_REGISTER_ACCOUNT:
            req.register_account = &reg;
            break;
        case PARLEY__REQUEST__BODY_AUTH_CHALLENGE:
            req.auth_challenge = &chal;
            break;
        case PARLEY__REQUEST__BODY_AUTH_PROOF:
            req.auth_proof = &proof;
            break;
        case PARLEY__REQUEST__BODY_ADD_DEVICE:
            req.add_device = &add;
            break;
        case PARLEY__REQUEST__BODY_REMOVE_DEVICE:
            req.remove_device = &rm;
            break;
        case PARLEY__REQUEST__BODY_LIST_DEVICES:
            req.list_devices = &list;
            break;
        case PARLEY__REQUEST__BODY_UPLOAD_SIGNED_PREKEY:
            req.upload_signed_prekey = &spk;
            break;
        case PARLEY__REQUEST__BODY_UPLOAD_ONETIME_PREKEYS:
            req.upload_onetime_prekeys = &opks;
            break;
        case PARLEY__REQUEST__BODY_FETCH_BUNDLES:
            req.fetch_bundles = &fetch;
            break;
        case PARLEY__REQUEST__BODY_SEND:
            req.send = &send;
            break;
        case PARLEY__REQUEST__BODY_ACK:
            req.ack = &ack;
            break;
        case PARLEY__REQUEST__BODY_PING:
            req.ping = &ping;
            break;
        case PARLEY__REQUEST__BODY_LINK_PUT:
            req.link_put = &lput;
            break;
        case PARLEY__REQUEST__BODY_LINK_GET:
            req.link_get = &lget;
            break;
        case PARLEY__REQUEST__BODY_KT_CONFIG:
            req.kt_config = &ktc;
            break;
        case PARLEY__REQUEST__BODY_KT_CHECKPOINT:
            req.kt_checkpoint = &ktp;
            break;
        case PARLEY__REQUEST__BODY_KT_LOOKUP:
            req.kt_lookup = &ktl;
            break;
        case PARLEY__REQUEST__BODY_KT_AUDIT:
            req.kt_audit = &kta;
            break;
        case PARLEY__REQUEST__BODY_KT_COSIGN:
            req.kt_cosign = &kts;
            break;
        case PARLEY__REQUEST__BODY_KT_WATCH:
            req.kt_watch = &ktw;
            break;
        case PARLEY__REQUEST__BODY_GROUP_SEND:
            req.group_send = &gsend;
            break;
        default:
            req.prekey_status = &pks;
            break;
        }
        one_len = 1;
        append(&frame, one, sizeof one, &one_len);
        append(&frame, all, sizeof all, &all_len);
        write_seed(argv[1], seeds[i].name, one, one_len);
    }
    write_seed(argv[1], "genuine-session", all, all_len);
    /* The same stream fed one byte at a time, and cut inside its last frame. */
    all[0] = 0x00;
    write_seed(argv[1], "genuine-session-bytewise", all, all_len);
    write_seed(argv[1], "edit-session-truncated", all, all_len - 3);
    return 0;
}

/*
 * fuzz_content.c: cl_content_parse (src/client/client_content.c), the check of what another
 * client encrypted for us, on hostile bytes (a peer is as hostile as the network).
 *
 * Invariants: no crash; on success the id is 16 bytes, the text and sent_to within their
 * bounds, an attachment (Content field 200, PROTOCOL.md §27) passed its check, and packing
 * the known fields again and parsing that gives the same fields (unknown fields, also those
 * inside the attachment, receipt and group submessages, are set aside first).
 */
#include <string.h>

#include "client_internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Parley__Content *c = NULL, *again = NULL;
    uint8_t *buf;
    size_t len, unknown;
    /* Every submessage whose unknown fields are set aside, and how many each had. */
    ProtobufCMessage *subs[4];
    size_t sub_unknown[4], n_subs = 0;

    if (cl_content_parse(data, size, &c) != 0) {
        FZ_CHECK(c == NULL);
        return 0;
    }
    FZ_CHECK(c->message_id.len == 16);
    FZ_CHECK(strlen(c->text) <= PL_MAX_PLAINTEXT_BYTES);
    FZ_CHECK(strlen(c->sent_to) <= CL_USERNAME_MAX);
    FZ_CHECK(!c->attachment || (c->attachment->key.len == 32 && c->attachment->blob_id.len == 16 &&
                                !strchr(c->attachment->name, '/')));
    /* protobuf-c keeps unknown fields and may write back a truncated one it accepted; only
     * the known fields are compared. */
    unknown = c->base.n_unknown_fields;
    c->base.n_unknown_fields = 0;
    /* The same for the submessages' own unknown fields. */
    if (c->attachment)
        subs[n_subs++] = &c->attachment->base;
    if (c->receipt)
        subs[n_subs++] = &c->receipt->base;
    if (c->group_update)
        subs[n_subs++] = &c->group_update->base;
    if (c->group_sender_key)
        subs[n_subs++] = &c->group_sender_key->base;
    for (size_t i = 0; i < n_subs; i++) {
        sub_unknown[i] = subs[i]->n_unknown_fields;
        subs[i]->n_unknown_fields = 0;
    }
    len = parley__content__get_packed_size(c);
    if ((buf = malloc(len ? len : 1))) {
        parley__content__pack(c, buf);
        if (len <= PL_MAX_PLAINTEXT_BYTES) {
            FZ_CHECK(cl_content_parse(buf, len, &again) == 0);
            FZ_CHECK(memcmp(again->message_id.data, c->message_id.data, 16) == 0);
            FZ_CHECK(strcmp(again->text, c->text) == 0);
            FZ_CHECK(strcmp(again->sent_to, c->sent_to) == 0);
            FZ_CHECK(again->sent_at_ms == c->sent_at_ms);
            FZ_CHECK(!again->attachment == !c->attachment);
            if (c->attachment) {
                FZ_CHECK(again->attachment->size == c->attachment->size);
                FZ_CHECK(strcmp(again->attachment->name, c->attachment->name) == 0);
                FZ_CHECK(memcmp(again->attachment->key.data, c->attachment->key.data, 32) == 0);
            }
            parley__content__free_unpacked(again, NULL);
        }
        free(buf);
    }
    c->base.n_unknown_fields = unknown; /* so that they are freed */
    for (size_t i = 0; i < n_subs; i++)
        subs[i]->n_unknown_fields = sub_unknown[i];
    parley__content__free_unpacked(c, NULL);
    return 0;
}

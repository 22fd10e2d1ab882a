/*
 * client_content.c: the plaintext one client sends another inside the Double Ratchet
 * (proto/content.proto, docs/CLIENT.md): checking a decrypted Content before anything of it
 * is stored or shown.
 */
#include <string.h>

#include "client_attach.h"
#include "client_internal.h"

int cl_content_parse(const uint8_t *p, size_t len, Parley__Content **out)
{
    Parley__Content *c;

    *out = NULL;
    if (len > PL_MAX_PLAINTEXT_BYTES || !(c = parley__content__unpack(NULL, len, p)))
        return -1;
    if (c->message_id.len != 16 || strlen(c->text) > PL_MAX_PLAINTEXT_BYTES ||
        strlen(c->sent_to) > CL_USERNAME_MAX || c->padding.len > 1024 ||
        (c->attachment && cl_attachment_check(c->attachment) != 0) ||
        (c->receipt && cl_receipt_check(c) != 0) ||
        ((c->group_update || c->group_sender_key) && *c->text) ||
        (c->group_update &&
         (c->group_update->group_id.len != 16 || !c->group_update->change.len)) ||
        (c->group_id.len != 0 && c->group_id.len != 16)) {
        parley__content__free_unpacked(c, NULL);
        return -1;
    }
    *out = c;
    return 0;
}

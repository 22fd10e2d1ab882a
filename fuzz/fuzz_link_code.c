/*
 * fuzz_link_code.c: cl_link_code_decode (src/client/client_link.c), what a user types after
 * `parley approve`, on hostile text; and the opened link messages' parsers
 * (cl_link_offer_parse, cl_link_answer_parse) on the same bytes.
 *
 * Invariants: no crash; a decoded code encodes back to a code that decodes to the same
 * secret; an accepted offer or answer has the documented field sizes.
 */
#include <string.h>

#include "client_internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t s[CL_LINK_SECRET_BYTES], s2[CL_LINK_SECRET_BYTES];
    Parley__LinkOffer *offer = NULL;
    Parley__LinkAnswer *answer = NULL;
    char text[256], code[32];

    if (size < sizeof text) {
        memcpy(text, data, size);
        text[size] = '\0';
        if (cl_link_code_decode(text, s) == 0) {
            cl_link_code_encode(s, code);
            FZ_CHECK(strlen(code) == 19);
            FZ_CHECK(cl_link_code_decode(code, s2) == 0);
            FZ_CHECK(memcmp(s, s2, sizeof s) == 0);
        }
    }
    if (cl_link_offer_parse(data, size, &offer) == 0) {
        FZ_CHECK(offer->identity_key.len == PL_PUBKEY_BYTES && offer->ephemeral_key.len == 32);
        FZ_CHECK(offer->device_id != 0 && strlen(offer->device_name) <= 64);
        parley__link_offer__free_unpacked(offer, NULL);
    }
    if (cl_link_answer_parse(data, size, &answer) == 0) {
        FZ_CHECK(answer->account.len == PL_ACCOUNT_SAVED_BYTES);
        FZ_CHECK(answer->device_record.len == PL_DEVICE_RECORD_BYTES);
        FZ_CHECK(strlen(answer->username) >= 1 && strlen(answer->username) <= CL_USERNAME_MAX);
        parley__link_answer__free_unpacked(answer, NULL);
    }
    return 0;
}

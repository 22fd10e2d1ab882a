/*
 * kt_vectors.h: the golden lookup-proof vectors of tests/vectors/kt_lookup.json, generated
 * from the demo log of kt_log.h. TEST-ONLY.
 *
 * ktv_generate() is the whole generator: tests/gen_kt_vectors.c writes its output to the
 * file, and test_kt_lookup runs it again and requires the same bytes, so the file can only
 * change together with the code that made it. tests/vectors/README.md describes the fields.
 */
#ifndef PARLEY_TEST_KT_VECTORS_H
#define PARLEY_TEST_KT_VECTORS_H

#include <stddef.h>

#include "parley/kt_lookup.h"

/* Comfortably more than the file's size (about 14 vectors of up to ~5 KiB of base64). */
#define KTV_MAX_JSON_BYTES (256u * 1024u)

/* Writes the JSON text (NUL-terminated) into out[0..cap); returns its length without the
 * NUL, or 0 on any failure. */
size_t ktv_generate(char *out, size_t cap);

/* The token for a failure reason used in the file's "expect_failure" ("not_greatest"),
 * or NULL for a value outside the enum. */
const char *ktv_failure_token(pl_kt_lookup_failure f);

#endif

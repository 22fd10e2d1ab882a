/*
 * testutil.h: helpers shared by the unit tests (not part of libparley).
 */
#ifndef PARLEY_TESTUTIL_H
#define PARLEY_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "parley/random.h"

/* Decodes hex (no separators, upper or lower case) into out; returns the byte count, or
 * aborts the test program on bad input or overflow. */
size_t tu_unhex(const char *hex, uint8_t *out, size_t cap);

/* Writes 2*len lowercase hex digits plus NUL into out (capacity >= 2*len+1). */
void tu_hex(const uint8_t *in, size_t len, char *out);

/* A deterministic RNG seeded by repeating `seed_byte`; state must outlive the returned rng. */
pl_rng tu_rng(pl_rng_deterministic *state, uint8_t seed_byte);

/* Reads a whole file into a malloc'd buffer (NUL-terminated; *len excludes the NUL).
 * Returns NULL if the file cannot be read. */
uint8_t *tu_read_file(const char *path, size_t *len);

#endif

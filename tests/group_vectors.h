/*
 * group_vectors.h: the generator of tests/vectors/group_v1.txt, the frozen vectors of group
 * sender keys and group changes (PROTOCOL.md §29, §30). Shared by gen_group_vectors (which
 * writes the file) and test_group_state (which checks the file is exactly what it writes).
 */
#ifndef PARLEY_TEST_GROUP_VECTORS_H
#define PARLEY_TEST_GROUP_VECTORS_H

#include <stddef.h>

#define GV_MAX_TEXT_BYTES 8192u

/* Writes the vector file's text into out[0..cap) (NUL-terminated); returns its length without
 * the NUL, or 0 if generation failed. */
size_t gv_generate(char *out, size_t cap);

#endif

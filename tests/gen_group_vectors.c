/*
 * gen_group_vectors.c: writes tests/vectors/group_v1.txt (group_vectors.h). Built with the
 * tests, run by hand only:  build/tests/gen_group_vectors tests/vectors/group_v1.txt
 * test_group_state checks that the file is exactly what this program writes.
 */
#include <stdio.h>

#include "group_vectors.h"
#include "parley/parley.h"

int main(int argc, char **argv)
{
    static char text[GV_MAX_TEXT_BYTES];
    size_t n;
    FILE *f;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT.txt\n", argv[0]);
        return 2;
    }
    if (pl_init() != PL_OK || (n = gv_generate(text, sizeof text)) == 0) {
        fprintf(stderr, "gen_group_vectors: generation failed\n");
        return 1;
    }
    if (!(f = fopen(argv[1], "wb")) || fwrite(text, 1, n, f) != n || fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}

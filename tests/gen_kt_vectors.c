/*
 * gen_kt_vectors.c: writes tests/vectors/kt_lookup.json (kt_vectors.h). Built with the
 * tests, run by hand only:  build/tests/gen_kt_vectors tests/vectors/kt_lookup.json
 * test_kt_lookup checks that the file is exactly what this program writes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "parley/parley.h"
#include "kt_vectors.h"

int main(int argc, char **argv)
{
    static char json[KTV_MAX_JSON_BYTES];
    size_t n;
    FILE *f;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT.json\n", argv[0]);
        return 2;
    }
    if (pl_init() != PL_OK || (n = ktv_generate(json, sizeof json)) == 0) {
        fprintf(stderr, "gen_kt_vectors: generation failed\n");
        return 1;
    }
    if (!(f = fopen(argv[1], "wb")) || fwrite(json, 1, n, f) != n || fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}

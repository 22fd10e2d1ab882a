/*
 * replay_main.c: runs a fuzz target without libFuzzer, over a kept corpus.
 *
 *   fuzz_<name> PATH...   PATH is a file, or a directory whose files (not recursing, dot
 *                         files skipped) are run in name order
 *
 * This is how `make test` replays fuzz/corpus/<name>/ (seeds and past crashers, as SQLite's
 * fuzzcheck does) under the plain and the sanitizer builds. Each input gets a malloc'd
 * buffer of exactly its size, so a read past the end is caught under AddressSanitizer.
 * Prints how many inputs ran; fails if an input cannot be read or none ran at all.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;
    int r = -1;

    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc(size ? (size_t)size : 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size)
        goto out;
    /* Named first, so that the last name printed is the input that crashed. */
    fprintf(stderr, "replay: %s (%ld bytes)\n", path, size);
    (void)LLVMFuzzerTestOneInput(buf, (size_t)size);
    (*count)++;
    r = 0;
out:
    if (r != 0)
        fprintf(stderr, "replay: %s: cannot read\n", path);
    free(buf);
    fclose(f);
    return r;
}

static int skip_dot(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static int run_path(const char *path, size_t *count)
{
    struct stat st;
    struct dirent **names = NULL;
    int n, r = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path, count);

    n = scandir(path, &names, skip_dot, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(path) + 1 + strlen(names[i]->d_name) + 1;
        char *file = malloc(len);

        if (file == NULL) {
            r = -1;
        } else {
            snprintf(file, len, "%s/%s", path, names[i]->d_name);
            if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && run_file(file, count) != 0)
                r = -1;
            free(file);
        }
        free(names[i]);
    }
    free(names);
    return r;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int r = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &count) != 0)
            r = 1;
    printf("%s: %zu inputs ran\n", argv[0], count);
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        r = 1;
    }
    return r;
}

/*
 * fuzz_config.c: parleyd's config parser (src/server/config.c) on hostile text.
 *
 * The input is the text of a config file. Invariants: parse and validate return only
 * their documented codes; a failed parse leaves the config exactly as it was; an error's
 * strings are NUL-terminated and its line lies within the text; what parses and validates
 * yields TLS paths that fit. The input is also split at its first two newlines into
 * section, key and value for pl_config_set, the command-line override path.
 */
#include <string.h>

#include "config.h"
#include "fuzz.h"

static void check_error(const pl_config_error *err, size_t lines)
{
    FZ_CHECK(memchr(err->section, '\0', sizeof err->section) != NULL);
    FZ_CHECK(memchr(err->key, '\0', sizeof err->key) != NULL);
    FZ_CHECK(memchr(err->message, '\0', sizeof err->message) != NULL);
    FZ_CHECK(err->line >= 0 && (size_t)err->line <= lines);
}

static void try_set(const uint8_t *data, size_t size)
{
    char buf[512];
    char *section, *key, *value, *nl;
    pl_config cfg, before;
    pl_config_error err;
    int r;

    if (size >= sizeof buf)
        return;
    memcpy(buf, data, size);
    buf[size] = '\0';
    section = buf;
    if ((nl = strchr(section, '\n')) == NULL)
        return;
    *nl = '\0';
    key = nl + 1;
    if ((nl = strchr(key, '\n')) == NULL)
        return;
    *nl = '\0';
    value = nl + 1;

    pl_config_defaults(&cfg);
    before = cfg;
    r = pl_config_set(&cfg, section, key, value, &err);
    FZ_CHECK(r == PL_OK || r == PL_E_INVALID_ARG);
    if (r != PL_OK) {
        check_error(&err, 0);
        FZ_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char cert[PL_CONFIG_PATH_MAX], key[PL_CONFIG_PATH_MAX];
    pl_config cfg, before;
    pl_config_error err;
    size_t lines = 1;
    int r, is_default;

    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';

    pl_config_defaults(&cfg);
    before = cfg;
    r = pl_config_parse_string(&cfg, (const char *)data, size, &err);
    FZ_CHECK_RC(r);
    FZ_CHECK(r == PL_OK || r == PL_E_MALFORMED || r == PL_E_INVALID_ARG || r == PL_E_TOO_LARGE ||
             r == PL_E_NOMEM);
    if (r != PL_OK) {
        check_error(&err, lines);
        FZ_CHECK(err.line > 0 || r == PL_E_TOO_LARGE || r == PL_E_NOMEM);
        FZ_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
    } else {
        r = pl_config_validate(&cfg, &err);
        FZ_CHECK(r == PL_OK || r == PL_E_INVALID_ARG);
        check_error(&err, 0);
        if (r == PL_OK)
            FZ_CHECK(pl_config_tls_paths(&cfg, cert, key, &is_default) == PL_OK);
    }
    try_set(data, size);
    return 0;
}

/*
 * init.c: library initialisation and version.
 */
#include <sodium.h>

#include "parley/parley.h"

int pl_init(void)
{
    /* sodium_init() returns 1 when already initialised, which is fine. */
    return sodium_init() < 0 ? PL_E_CRYPTO_INIT : PL_OK;
}

const char *pl_version(void)
{
    return PL_VERSION_STRING;
}

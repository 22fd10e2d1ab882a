/*
 * error.c: pl_strerror() and pl_errname(), generated from PL_ERRNO_MAP.
 */
#include "parley/error.h"

const char *pl_strerror(int code)
{
    switch (code) {
#define PL__ERR_STR(name, value, msg)                                                              \
    case (value):                                                                                  \
        return (msg);
        PL_ERRNO_MAP(PL__ERR_STR)
#undef PL__ERR_STR
    }
    return "unknown error";
}

const char *pl_errname(int code)
{
    switch (code) {
#define PL__ERR_NAME(name, value, msg)                                                             \
    case (value):                                                                                  \
        return "PL_" #name;
        PL_ERRNO_MAP(PL__ERR_NAME)
#undef PL__ERR_NAME
    }
    return "PL_E_UNKNOWN";
}

/*
 * parley/parley.h: libparley, the sans-I/O protocol core of Parley.
 *
 * Include this one header. Call pl_init() once before anything else.
 * The library performs no network or file I/O, reads no clock, prints nothing and keeps
 * no global mutable state beyond libsodium's own initialisation.
 */
#ifndef PARLEY_PARLEY_H
#define PARLEY_PARLEY_H

#include "parley/account_state.h"
#include "parley/defs.h"
#include "parley/error.h"
#include "parley/fingerprint.h"
#include "parley/group_state.h"
#include "parley/keys.h"
#include "parley/kt_commit.h"
#include "parley/kt_lookup.h"
#include "parley/kt_view.h"
#include "parley/merkle.h"
#include "parley/kt_witness.h"
#include "parley/note.h"
#include "parley/prefix_tree.h"
#include "parley/random.h"
#include "parley/sender_key.h"
#include "parley/session.h"
#include "parley/statement.h"
#include "parley/vrf.h"

#define PL_VERSION_STRING "0.1.0"

/* Initialises libsodium. Safe to call repeatedly. Returns PL_OK or PL_E_CRYPTO_INIT. */
PL_API PL_NODISCARD int pl_init(void);

/* Returns the library's version string. */
PL_API const char *pl_version(void);

#endif

/*
 * blob_store.h: attachment blobs' bytes, one file per blob under DATA/blobs/ (PROTOCOL.md §27).
 *
 * A blob's file is DATA/blobs/<32 lowercase hex digits of its id>. Only the store worker
 * thread calls these (they block on the disk), so the libuv loop never waits for them. The
 * metadata (store.h, pl_store_blob) says how many bytes are valid; the file may be longer
 * after a put whose batch did not commit, and such bytes are overwritten by the next put.
 *
 * Each function returns 0 or a negative errno value; none logs.
 */
#ifndef PARLEYD_BLOB_STORE_H
#define PARLEYD_BLOB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Writes data[0..len) at offset of blob id's file (creating DATA/blobs/ and the file, mode
 * 0600, if needed; a created file's directory entry is fsynced before it returns 0). The data
 * is NOT fsynced: pl_blob_file_sync does it, once for every write of a store batch. */
int pl_blob_file_write(const char *data_dir, const uint8_t id[PL_STORE_BLOB_ID_BYTES],
                       uint64_t offset, const uint8_t *data, size_t len);

/* fsyncs blob id's file: every byte written to it so far is on disk when it returns 0. */
int pl_blob_file_sync(const char *data_dir, const uint8_t id[PL_STORE_BLOB_ID_BYTES]);

/* Reads exactly len bytes at offset of blob id's file into out. -EIO if the file is shorter
 * (it lost bytes the metadata counts as durable), -ENOENT if it is missing. */
int pl_blob_file_read(const char *data_dir, const uint8_t id[PL_STORE_BLOB_ID_BYTES],
                      uint64_t offset, uint8_t *out, size_t len);

/* Removes blob id's file; a missing file is not an error. */
int pl_blob_file_remove(const char *data_dir, const uint8_t id[PL_STORE_BLOB_ID_BYTES]);

#endif

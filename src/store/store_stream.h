/*
 * src/store/store_stream.h: stream files (STORE_STREAM_FILE), a file of
 * varint-length-delimited records: each record is its length as a base-128
 * varint (protobuf's writeDelimitedTo framing) followed by that many bytes.
 *
 * Reading goes through store_open() like any target: a row's key is the
 * record's position, "INDEX@OFFSET" (index from 0, byte offset of its
 * length prefix). A record whose bytes are bad but whose framing is intact
 * is an ordinary row, judged by the codec; a file that ends inside a record
 * ends the scan, and store_framing_issue() says where.
 *
 * A stream file is never edited. A fix writes a new file through a
 * store_stream_writer: a temporary file in the destination's directory
 * (with the original's permission bits),
 * written, fsync'd, renamed over the destination, and the directory
 * fsync'd, so that the destination holds either its old contents or the
 * whole new file. The original stays as it was: it is the backup.
 */
#ifndef RS_STORE_STREAM_H
#define RS_STORE_STREAM_H

#include "store/store.h"

/** Records larger than this are refused as framing errors (64 MiB). */
#define STORE_STREAM_MAX_RECORD ((uint64_t)64 << 20)

/**
 * Parses a stream row's key ("INDEX@OFFSET").
 * @return 0 with both filled, or -1 when @p key is not one
 */
int store_stream_position(const char *key, uint64_t *index, uint64_t *offset);

typedef struct store_stream_writer store_stream_writer;

/**
 * Starts writing @p path (through a temporary file beside it). Refuses a
 * @p path that is @p original itself (the same file, by device and inode,
 * or by name), or a directory.
 * @param[out] out the writer, owned by the caller: end it with
 *        store_stream_writer_commit() or store_stream_writer_abort()
 */
int store_stream_writer_open(store_stream_writer **out, const char *path,
                             const char *original, store_error *err);

/**
 * Writes @p v as a base-128 varint (a record's length prefix) into @p out.
 * @return the number of bytes written, 1 to 10
 */
size_t store_stream_varint(uint8_t out[10], uint64_t v);

/** Appends one record: its varint length, then its bytes. */
int store_stream_writer_put(store_stream_writer *w, const uint8_t *bytes,
                            size_t len, store_error *err);

/**
 * Flushes, fsyncs and renames the temporary file to the destination, then
 * fsyncs the directory. Frees @p w whatever happens; on failure the
 * temporary file is removed and the destination is untouched.
 */
int store_stream_writer_commit(store_stream_writer *w, store_error *err);

/** Removes the temporary file and frees @p w; NULL is allowed. */
void store_stream_writer_abort(store_stream_writer *w);

#endif

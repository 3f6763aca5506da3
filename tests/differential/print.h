/*
 * tests/differential/print.h: what the differential readers share: the
 * request lines they read and the JSON form in which they print a message.
 *
 * Standard input: one request a line, "CASE HEX" (HEX: the record's bytes,
 * possibly empty). Standard output: one JSON document a line, the message
 * walked through its descriptor:
 *
 *   message   {"NUMBER": VALUE or null (not set), ..., "#u": unknown fields}
 *             every field of the message, by number; a oneof only its set
 *             member
 *   integers  JSON numbers; bool true/false
 *   enum      {"e": NUMBER, "k": 1 if the descriptor's enum has it, else 0}
 *   float, double  {"d": "%a" of the value}
 *   string    {"s": HEX}: the bytes up to the first NUL, as C code sees them
 *   bytes     {"b": HEX}
 *   message   {"m": MESSAGE, "p": HEX of protobuf_c_message_pack()}
 *   repeated  [VALUE, ...] (a map is its repeated entry messages)
 *
 * or {"error": TEXT} when the reader cannot read the record.
 */
#ifndef RS_DIFFERENTIAL_PRINT_H
#define RS_DIFFERENTIAL_PRINT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/** One request line; zero-initialise, dispose with dc_request_dispose(). */
typedef struct dc_request {
  char *line;       /* the line read, owned */
  size_t cap;       /* its capacity, for getline() */
  const char *name; /* the case's name, inside line */
  uint8_t *buf;     /* the record's bytes, owned */
  size_t len;
} dc_request;

/**
 * Reads the next request from standard input into @p req (replacing the
 * previous one).
 *
 * @param prog names the program in messages on standard error
 * @return 1 (a request), 0 (end of input), -1 (malformed: said on stderr)
 */
int dc_read_request(dc_request *req, const char *prog);

/** Frees what @p req holds. */
void dc_request_dispose(dc_request *req);

/** Prints @p msg in the JSON form above, without a newline. */
void dc_print_message(const ProtobufCMessage *msg);

/** Prints {"error": TEXT} and a newline, TEXT escaped for JSON. */
void dc_print_error(const char *text);

#endif

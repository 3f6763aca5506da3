/*
 * tests/differential/reader.h: the case table of the differential reader.
 * gen.py writes dc_readers.c, which includes every case's protoc-c
 * generated rec.pb-c.c and defines the table.
 */
#ifndef RS_DIFFERENTIAL_READER_H
#define RS_DIFFERENTIAL_READER_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct dc_case {
  const char *name;                      /* the case's name in cases.py */
  const ProtobufCMessageDescriptor *rec; /* protoc-c's dc.<case>.v1.Rec */
} dc_case;

extern const dc_case dc_cases[];
extern const size_t dc_n_cases;

#endif

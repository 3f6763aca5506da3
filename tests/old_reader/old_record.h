/*
 * tests/old_reader/old_record.h: the version-1 reader of one shop.Order
 * record, as old service code built from schema/shop/v1/order.proto with
 * protoc-c reads it.
 */
#ifndef OLD_RECORD_H
#define OLD_RECORD_H

#include <stddef.h>
#include <stdint.h>

/** Room for the reasons old_check_record() writes. */
#define OLD_REASON_SIZE 512

/**
 * Reads the @p n bytes at @p b as version-1 code does. Returns 0 when it
 * reads them correctly, else 1 with the reasons ("; "-separated) in
 * @p why: unpack failed and why, a status(4) number shop.v1.Order.Status
 * does not define, or money that does not add up (a discount in a field
 * version 1 does not read).
 */
int old_check_record(const uint8_t *b, size_t n, char *why, size_t size);

#endif

-- The orders table: one shop.Order record per row (schema/README.md),
-- version 1 raw protobuf or version 2 in an envelope. The same table
-- `rollsafe demo` creates; written_at is UTC in RFC 3339.
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  payload BLOB NOT NULL,
  written_at TEXT NOT NULL
);

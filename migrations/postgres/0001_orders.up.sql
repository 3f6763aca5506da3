-- The orders table: one shop.Order record per row (schema/README.md),
-- version 1 raw protobuf or version 2 in an envelope. The same shape as the
-- table `rollsafe demo` creates.
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  payload bytea NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now()
);

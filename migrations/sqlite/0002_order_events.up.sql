-- The order-events outbox: a message per order event, consumed in id order
-- (state pending -> processing -> done). payload is a shop.Order record,
-- version 1 raw or version 2 in an envelope, exactly as in orders.payload;
-- enqueued_at is UTC in RFC 3339.
CREATE TABLE order_events (
  id INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL,
  payload BLOB NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  enqueued_at TEXT NOT NULL
);

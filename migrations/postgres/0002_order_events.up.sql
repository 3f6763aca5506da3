-- The order-events outbox: a message per order event, consumed in id order
-- by workers that claim pending rows (state pending -> processing -> done).
-- payload is a shop.Order record, version 1 raw or version 2 in an envelope,
-- exactly as in orders.payload.
CREATE TABLE order_events (
  id bigserial PRIMARY KEY,
  order_id text NOT NULL,
  payload bytea NOT NULL,
  state text NOT NULL DEFAULT 'pending',
  enqueued_at timestamptz NOT NULL DEFAULT now()
);

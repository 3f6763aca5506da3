-- checkout_v2, expand step: what the new checkout keeps next to the order
-- record, for its queries (store pickup lists, discount reports by
-- currency). A nullable column and a side table only: nothing the old code
-- writes has to change, and the old code never reads either.
--
-- The record in orders.payload stays the source of truth: every value here
-- is also in the record (pickup_store_id(13), discount(10)), so the down
-- script loses nothing a record needs. See 0003_checkout_v2.down.sql.
ALTER TABLE orders ADD COLUMN pickup_store_id TEXT;
CREATE INDEX orders_pickup_store_id ON orders (pickup_store_id)
  WHERE pickup_store_id IS NOT NULL;

CREATE TABLE order_discounts (
  order_id INTEGER PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
  units INTEGER NOT NULL,
  nanos INTEGER NOT NULL DEFAULT 0,
  currency_code TEXT NOT NULL DEFAULT 'USD'
);

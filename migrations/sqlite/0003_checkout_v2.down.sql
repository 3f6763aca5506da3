-- checkout_v2, contract after a flag kill. Safe to run once the flag is off
-- and `rollsafe fix` has rewritten what the old reader cannot read:
--
-- * the old code neither reads nor writes pickup_store_id or
--   order_discounts, so it does not notice them going;
-- * nothing in orders depends on them: the foreign key points from
--   order_discounts to orders, there is no trigger and no constraint on
--   orders.payload, so the rows the fix rewrote (and the run and backup
--   tables rollsafe_runs and rollsafe_backup) are untouched;
-- * the records keep everything: a fixed record carries the store as an
--   unknown field 13 and the discount in discount_cents(8), and a record
--   the fix could not convert is still the version-2 record with
--   discount(10).
--
-- DROP COLUMN needs SQLite 3.35 or later.
--
-- Applying 0003 up again brings back an empty column and table; the new
-- code fills them from the records (after `rollsafe restore`).
DROP TABLE IF EXISTS order_discounts;
DROP INDEX IF EXISTS orders_pickup_store_id;
ALTER TABLE orders DROP COLUMN pickup_store_id;

-- intake4: SQLite renumbers its receipts in arrival order (see
-- sqlite/0004_receipts_in_order.sql). PostgreSQL keeps its layout (the hash
-- as primary key, the index by day): its writes are not the intake's
-- bottleneck measured in bench/intake, which runs on SQLite.
SELECT 1;

-- intake4: receipts in arrival order, so that storing one touches one random
-- B-tree page (the unique index on the hash) instead of two (the table keyed by
-- the hash, and the index by day). Each receipt is numbered within its day:
--   n = (days since 1970-01-01) * 2^32 + (its number that day, from 1)
-- so new receipts append at the table's end, the hourly sweep deletes a range
-- of n (no index on the day needed), and no number counts the receipts of
-- earlier days (a counter over all days would tell how many reports the intake
-- ever received; a day's count is what its rows already show).
CREATE TABLE intake_receipts_new (
    n        INTEGER PRIMARY KEY,
    hash     BLOB NOT NULL UNIQUE,
    received TEXT NOT NULL
);
INSERT INTO intake_receipts_new (n, hash, received)
    SELECT (CAST(julianday(received) - 2440587.5 AS INTEGER) << 32)
           + ROW_NUMBER() OVER (PARTITION BY received ORDER BY hash),
           hash, received
    FROM intake_receipts;
DROP TABLE intake_receipts;
ALTER TABLE intake_receipts_new RENAME TO intake_receipts;

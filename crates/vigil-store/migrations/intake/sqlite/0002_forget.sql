-- intake: no AUTOINCREMENT, so that no counter (sqlite_sequence) remembers how
-- many reports ever came in. Rowids still keep the pending reports in order.
-- (0001 no longer says AUTOINCREMENT, so a fresh database has no sqlite_sequence
-- at all; this rebuild brings databases made before that in line. Dropping the
-- old table also drops its row in sqlite_sequence.)
CREATE TABLE intake_reports_new (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    receipt_hash BLOB    NOT NULL,
    sealed       BLOB    NOT NULL,
    received     TEXT    NOT NULL
);
INSERT INTO intake_reports_new (seq, id, receipt_hash, sealed, received)
    SELECT seq, id, receipt_hash, sealed, received FROM intake_reports;
DROP TABLE intake_reports;
ALTER TABLE intake_reports_new RENAME TO intake_reports;
-- intake: receipts expire by day (receipt_days); the sweep finds them by day.
CREATE INDEX intake_receipts_received ON intake_receipts (received);

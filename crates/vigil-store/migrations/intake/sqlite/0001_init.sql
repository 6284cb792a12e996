-- The intake zone's database: sealed reports and receipts, nothing of the desk.
-- Days are TEXT 'YYYY-MM-DD' on both backends, so both agree on every date.

-- Sealed reports waiting for the desk. Only ciphertext; the day, never the time.
-- No AUTOINCREMENT: its counter (sqlite_sequence) would count every report ever received.
CREATE TABLE intake_reports (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    receipt_hash BLOB    NOT NULL,
    sealed       BLOB    NOT NULL,
    received     TEXT    NOT NULL
);
-- Receipts outlive the sealed report (a reporter comes back after the desk pulled it).
CREATE TABLE intake_receipts (
    hash     BLOB PRIMARY KEY,
    received TEXT NOT NULL
) WITHOUT ROWID;

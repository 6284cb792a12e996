-- The intake zone's database: sealed reports and receipts, nothing of the desk.
-- Days are TEXT 'YYYY-MM-DD' on both backends, so both agree on every date.

-- Sealed reports waiting for the desk. Only ciphertext; the day, never the time.
CREATE TABLE intake_reports (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT  NOT NULL UNIQUE,
    receipt_hash BYTEA NOT NULL,
    sealed       BYTEA NOT NULL,
    received     TEXT  NOT NULL CHECK (received ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
);
-- Receipts outlive the sealed report (a reporter comes back after the desk pulled it).
CREATE TABLE intake_receipts (
    hash     BYTEA PRIMARY KEY,
    received TEXT  NOT NULL CHECK (received ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
);

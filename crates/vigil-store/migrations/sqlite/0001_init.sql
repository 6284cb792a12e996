-- No AUTOINCREMENT: its counter (sqlite_sequence) would count every report ever received.
-- intake: sealed reports waiting for the desk. Only ciphertext; the day, never the time.
CREATE TABLE intake_reports (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    receipt_hash BLOB    NOT NULL,
    sealed       BLOB    NOT NULL,
    received     TEXT    NOT NULL
);
-- intake: receipts outlive the sealed report (a reporter comes back after the desk pulled it).
CREATE TABLE intake_receipts (
    hash     BLOB PRIMARY KEY,
    received TEXT NOT NULL
) WITHOUT ROWID;
-- desk: every report pulled, still sealed at rest; opened only in memory with the identity.
CREATE TABLE desk_reports (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    receipt_hash BLOB    NOT NULL,
    sealed       BLOB    NOT NULL,
    received     TEXT    NOT NULL
);
CREATE INDEX desk_reports_received ON desk_reports (received);
CREATE TABLE desk_accounts (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created       TEXT NOT NULL
);

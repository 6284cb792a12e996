-- The desk zone's database. Days are TEXT 'YYYY-MM-DD' on both backends.

-- Every report pulled, still sealed at rest; opened only in memory with the identity.
CREATE TABLE desk_reports (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
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

-- The desk zone's database. Days are TEXT 'YYYY-MM-DD' on both backends.

-- Every report pulled, still sealed at rest; opened only in memory with the identity.
CREATE TABLE desk_reports (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT  NOT NULL UNIQUE,
    receipt_hash BYTEA NOT NULL,
    sealed       BYTEA NOT NULL,
    received     TEXT  NOT NULL CHECK (received ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
);
CREATE INDEX desk_reports_received ON desk_reports (received);
CREATE TABLE desk_accounts (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created       TEXT NOT NULL CHECK (created ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
);

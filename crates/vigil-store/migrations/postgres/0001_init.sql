-- intake: sealed reports waiting for the desk. Only ciphertext; the day, never the time.
CREATE TABLE intake_reports (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT  NOT NULL UNIQUE,
    receipt_hash BYTEA NOT NULL,
    sealed       BYTEA NOT NULL,
    received     DATE  NOT NULL
);
-- intake: receipts outlive the sealed report (a reporter comes back after the desk pulled it).
CREATE TABLE intake_receipts (
    hash     BYTEA PRIMARY KEY,
    received DATE  NOT NULL
);
-- desk: every report pulled, still sealed at rest; opened only in memory with the identity.
CREATE TABLE desk_reports (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT  NOT NULL UNIQUE,
    receipt_hash BYTEA NOT NULL,
    sealed       BYTEA NOT NULL,
    received     DATE  NOT NULL
);
CREATE INDEX desk_reports_received ON desk_reports (received);
CREATE TABLE desk_accounts (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created       DATE NOT NULL
);

-- deskaccess (issue 11): roles, the second factor, recovery codes and the audit log.

-- Accounts made before roles existed could do everything: they become admins.
-- A new account gets the least right unless its creator names a role.
ALTER TABLE desk_accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'analyst'
    CHECK (role IN ('admin', 'coordinator', 'duty_lawyer', 'verifier', 'analyst'));
UPDATE desk_accounts SET role = 'admin';
ALTER TABLE desk_accounts ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
-- Extra rights beyond the role (comma-separated: names, report_text).
ALTER TABLE desk_accounts ADD COLUMN grants TEXT NOT NULL DEFAULT '';
-- The TOTP secret, sealed (age) to the desk identity; NULL until enrolled.
ALTER TABLE desk_accounts ADD COLUMN totp_sealed BYTEA;
-- The last 30-second step a code was accepted for: a code is good once.
ALTER TABLE desk_accounts ADD COLUMN totp_last_step BIGINT;

-- Recovery codes, SHA-256 of the code with the username; deleted when used.
CREATE TABLE desk_recovery_codes (
    username  TEXT NOT NULL REFERENCES desk_accounts (username) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    PRIMARY KEY (username, code_hash)
);

-- The audit log: ids and kinds only, each entry's hash covers the previous one.
CREATE TABLE desk_audit (
    seq       BIGINT  PRIMARY KEY,
    at        BIGINT  NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subjects  TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
-- The chain's end, updated in the same transaction as each append: it
-- serialises appends and shows when the newest entries were cut off.
CREATE TABLE desk_audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO desk_audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- intakeform: replies by receipt. Each message is one age file sealed to the
-- desk and to the reporter's receipt-derived key, kept sealed at rest. A
-- message belongs to the report with the same receipt hash. `pushed` marks the
-- team's replies that an intake has taken.
CREATE TABLE desk_messages (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    receipt_hash BLOB    NOT NULL,
    sender       TEXT    NOT NULL,
    day          TEXT    NOT NULL,
    sealed       BLOB    NOT NULL,
    pushed       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX desk_messages_receipt ON desk_messages (receipt_hash);
CREATE INDEX desk_reports_receipt ON desk_reports (receipt_hash);

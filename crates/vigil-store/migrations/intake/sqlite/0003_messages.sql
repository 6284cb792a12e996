-- intakeform: replies by receipt. The team's replies (sealed to the desk and to
-- the key derived from the receipt) and the reporters' follow-ups (sealed to the
-- desk's recipients and the same key). Keyed by the receipt's keyed hash; only
-- the day in clear. `pending` marks follow-ups the desk has not yet stored.
CREATE TABLE intake_messages (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    receipt_hash BLOB    NOT NULL,
    sender       TEXT    NOT NULL,
    day          TEXT    NOT NULL,
    sealed       BLOB    NOT NULL,
    pending      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX intake_messages_receipt ON intake_messages (receipt_hash);
CREATE INDEX intake_messages_pending ON intake_messages (pending);

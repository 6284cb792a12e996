-- The urgent line (deskurgent): the duty roster, which reports are urgent and
-- who acknowledged them, and the alerts waiting to be sent. Times are whole
-- seconds since 1970 (UTC): time-to-acknowledge needs minutes, and the desk is
-- the trusted zone; nothing here holds report content.

-- A shift: who is on duty from `starts` until `ends`, in escalation order.
CREATE TABLE desk_duty_shifts (
    id     TEXT   PRIMARY KEY,
    starts BIGINT NOT NULL,
    ends   BIGINT NOT NULL CHECK (ends > starts)
);
CREATE INDEX desk_duty_shifts_starts ON desk_duty_shifts (starts);
CREATE TABLE desk_duty_people (
    shift_id TEXT   NOT NULL REFERENCES desk_duty_shifts (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    username TEXT   NOT NULL,
    PRIMARY KEY (shift_id, position)
);

-- Each pulled report once opened by the desk: whether it is urgent ("detained
-- now"), when the desk first saw it, how far its alert escalated, and who
-- acknowledged it when.
CREATE TABLE desk_triage (
    report_id  TEXT   PRIMARY KEY,
    urgent     BIGINT NOT NULL,
    seen       BIGINT NOT NULL,
    alerted    BIGINT NOT NULL DEFAULT 0,
    last_alert BIGINT,
    acked_by   TEXT,
    acked_at   BIGINT
);
CREATE INDEX desk_triage_open ON desk_triage (urgent, acked_at);

-- Alerts to send (an outbox, so that a restart loses none): to whom, by which
-- channel, how many urgent reports were waiting. Never any report content.
CREATE TABLE desk_alerts (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    username  TEXT   NOT NULL,
    channel   TEXT   NOT NULL,
    waiting   BIGINT NOT NULL,
    created   BIGINT NOT NULL,
    attempts  BIGINT NOT NULL DEFAULT 0,
    next_try  BIGINT NOT NULL,
    sent      BIGINT,
    gave_up   BIGINT
);
CREATE INDEX desk_alerts_due ON desk_alerts (sent, gave_up, next_try);

-- The record: persons, protest actions, events, cases and the sources behind them.
-- Identifying fields (names, birth dates, contacts, free text, links, addresses) live
-- only inside the `sealed` columns, encrypted with the record key that the desk
-- passphrase opens; the clear columns are what statistics count (kinds, dates,
-- regions, articles, actions), so `vigil stats` runs without the passphrase.
-- Dates are TEXT 'YYYY-MM-DD' (the first day of the period when `precision` is
-- month or year; NULL when unknown). Vocabulary values are stored as their codes.

CREATE TABLE record_sources (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('report', 'file', 'link')),
    report_id   TEXT,
    file_sha256 TEXT UNIQUE,
    sealed      BYTEA,
    added       TEXT NOT NULL
);

CREATE TABLE record_persons (
    id         TEXT PRIMARY KEY,
    sealed     BYTEA    NOT NULL,
    gender     TEXT,
    region     TEXT,
    roles      TEXT    NOT NULL,
    consent    TEXT    NOT NULL,
    source_id  TEXT REFERENCES record_sources (id),
    source_row BIGINT,
    version    BIGINT  NOT NULL,
    changed    TEXT    NOT NULL,
    changed_by TEXT    NOT NULL
);

CREATE TABLE record_actions (
    id           TEXT PRIMARY KEY,
    date         TEXT,
    date_precision TEXT NOT NULL,
    region       TEXT,
    city         TEXT,
    kind         TEXT NOT NULL,
    topic        TEXT,
    organiser    TEXT,
    authorised   TEXT,
    verification TEXT NOT NULL,
    sealed       BYTEA NOT NULL,
    source_id    TEXT REFERENCES record_sources (id),
    source_row   BIGINT,
    version      BIGINT NOT NULL,
    changed      TEXT NOT NULL,
    changed_by   TEXT NOT NULL
);
CREATE INDEX record_actions_date ON record_actions (date);

-- The police stations an action's detainees were taken to. Never a counting key:
-- an action's detentions are never counted again for each station it names.
CREATE TABLE record_action_stations (
    action_id TEXT NOT NULL REFERENCES record_actions (id),
    station   TEXT NOT NULL,
    PRIMARY KEY (action_id, station)
);

-- The number detained at an action as each source reports it.
CREATE TABLE record_action_counts (
    action_id TEXT   NOT NULL REFERENCES record_actions (id),
    source_id TEXT   NOT NULL REFERENCES record_sources (id),
    detained  BIGINT NOT NULL CHECK (detained >= 0),
    PRIMARY KEY (action_id, source_id)
);

CREATE TABLE record_cases (
    id         TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES record_persons (id),
    sealed     BYTEA NOT NULL,
    version    BIGINT NOT NULL,
    changed    TEXT NOT NULL,
    changed_by TEXT NOT NULL
);

CREATE TABLE record_events (
    id             TEXT PRIMARY KEY,
    person_id      TEXT REFERENCES record_persons (id),
    action_id      TEXT REFERENCES record_actions (id),
    case_id        TEXT REFERENCES record_cases (id),
    kind           TEXT NOT NULL,
    date           TEXT,
    date_precision  TEXT NOT NULL,
    region         TEXT,
    city           TEXT,
    police_station TEXT,
    court          TEXT,
    trigger_kind   TEXT,
    fine_rub       BIGINT,
    arrest_days    BIGINT,
    sentence       TEXT,
    verification   TEXT NOT NULL,
    sealed         BYTEA NOT NULL,
    source_id      TEXT REFERENCES record_sources (id),
    source_row     BIGINT,
    version        BIGINT NOT NULL,
    changed        TEXT NOT NULL,
    changed_by     TEXT NOT NULL
);
CREATE INDEX record_events_action ON record_events (action_id);
CREATE INDEX record_events_person ON record_events (person_id);
CREATE INDEX record_events_case ON record_events (case_id);
-- Everything `vigil stats` reads of an event, so counting scans this narrow index
-- rather than rows that carry sealed text.
CREATE INDEX record_events_counting
    ON record_events (action_id, kind, date, date_precision, region, person_id, id);

CREATE TABLE record_event_articles (
    event_id TEXT NOT NULL REFERENCES record_events (id),
    article  TEXT NOT NULL,
    PRIMARY KEY (event_id, article)
);

-- Further sources of a record beyond the one it was created from.
CREATE TABLE record_supports (
    source_id TEXT NOT NULL REFERENCES record_sources (id),
    entity    TEXT NOT NULL CHECK (entity IN ('person', 'action', 'event', 'case')),
    entity_id TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, source_id)
);

-- Every previous version of an edited record: who changed which fields, on which day.
CREATE TABLE record_history (
    entity    TEXT   NOT NULL,
    entity_id TEXT   NOT NULL,
    version   BIGINT NOT NULL,
    day       TEXT   NOT NULL,
    editor    TEXT   NOT NULL,
    changed   TEXT   NOT NULL,
    previous  TEXT   NOT NULL,
    PRIMARY KEY (entity, entity_id, version)
);

-- recfast: counting facts for `vigil stats`, kept beside the record on SQLite
-- (crates/vigil-store/src/desk/facts.rs). Each block holds the counting fields
-- of 16,384 events (or actions) by rowid as fixed-width integers: counting reads
-- a few MB of integers instead of the events' text. A block is a cache: the
-- triggers below drop it whenever a row in its range is inserted, changed or
-- deleted, and counting rebuilds the missing blocks before it reads them, in
-- one write transaction. Every edit path goes through the triggers.
-- Nothing here identifies anyone: kinds, days, regions and row numbers, as in
-- the clear columns they come from.

CREATE TABLE record_fact_codes (
    id   INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE
);

CREATE TABLE record_event_facts (
    block INTEGER PRIMARY KEY,
    facts BLOB NOT NULL
);

CREATE TABLE record_action_facts (
    block INTEGER PRIMARY KEY,
    facts BLOB NOT NULL
);

CREATE TRIGGER record_events_facts_insert AFTER INSERT ON record_events BEGIN
    DELETE FROM record_event_facts WHERE block = NEW.rowid >> 14;
END;
CREATE TRIGGER record_events_facts_update AFTER UPDATE ON record_events BEGIN
    DELETE FROM record_event_facts WHERE block IN (OLD.rowid >> 14, NEW.rowid >> 14);
END;
CREATE TRIGGER record_events_facts_delete AFTER DELETE ON record_events BEGIN
    DELETE FROM record_event_facts WHERE block = OLD.rowid >> 14;
END;

CREATE TRIGGER record_actions_facts_insert AFTER INSERT ON record_actions BEGIN
    DELETE FROM record_action_facts WHERE block = NEW.rowid >> 14;
END;
CREATE TRIGGER record_actions_facts_update AFTER UPDATE ON record_actions BEGIN
    DELETE FROM record_action_facts WHERE block IN (OLD.rowid >> 14, NEW.rowid >> 14);
END;
-- Events name their action and person by rowid in the facts: an action or a
-- person deleted or given another id renumbers them, so every event block goes.
CREATE TRIGGER record_actions_facts_delete AFTER DELETE ON record_actions BEGIN
    DELETE FROM record_action_facts WHERE block = OLD.rowid >> 14;
    DELETE FROM record_event_facts;
END;
CREATE TRIGGER record_actions_facts_renamed AFTER UPDATE OF id ON record_actions BEGIN
    DELETE FROM record_event_facts;
END;
CREATE TRIGGER record_persons_facts_delete AFTER DELETE ON record_persons BEGIN
    DELETE FROM record_event_facts;
END;
CREATE TRIGGER record_persons_facts_renamed AFTER UPDATE OF id ON record_persons BEGIN
    DELETE FROM record_event_facts;
END;

-- Counting reads the facts now, not this wide index; every import paid for it.
DROP INDEX record_events_counting;

-- Most events belong to no case (every imported one): an index of only those
-- that do costs an import nothing per row, and `case_id = ?` still uses it.
DROP INDEX record_events_case;
CREATE INDEX record_events_case ON record_events (case_id) WHERE case_id IS NOT NULL;

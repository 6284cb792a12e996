-- deskcoding: coding reports into the record, and merging persons.

-- A merge of two persons: the merged person's events and cases now name the
-- kept person. Nothing is deleted: the merged person's row stays, the moves are
-- listed below, and an undo moves them back and marks the merge undone.
CREATE TABLE record_merges (
    id         TEXT PRIMARY KEY,
    kept_id    TEXT NOT NULL REFERENCES record_persons (id),
    merged_id  TEXT NOT NULL REFERENCES record_persons (id),
    day        TEXT NOT NULL,
    editor     TEXT NOT NULL,
    undone_day TEXT,
    undone_by  TEXT
);
CREATE INDEX record_merges_merged ON record_merges (merged_id);
CREATE INDEX record_merges_kept ON record_merges (kept_id);

-- What a merge moved from the merged person to the kept one.
CREATE TABLE record_merge_moves (
    merge_id  TEXT NOT NULL REFERENCES record_merges (id),
    entity    TEXT NOT NULL CHECK (entity IN ('event', 'case')),
    entity_id TEXT NOT NULL,
    PRIMARY KEY (merge_id, entity, entity_id)
);

-- The queue asks which reports are coded, and a report's page what it supports.
CREATE INDEX record_sources_report ON record_sources (report_id);
CREATE INDEX record_supports_source ON record_supports (source_id);
CREATE INDEX record_persons_source ON record_persons (source_id);
CREATE INDEX record_events_source ON record_events (source_id);
CREATE INDEX record_actions_source ON record_actions (source_id);

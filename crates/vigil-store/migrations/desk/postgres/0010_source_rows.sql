-- import5: the persons', actions' and events' source indexes hold only the
-- records that came from no file row. An imported file names its one source
-- on every record it brings (a million times for a million rows), so an index
-- of every record's source cost every imported row a B-tree insert of a value
-- no query looks up through it: the queries that use these indexes ask which
-- records a report stands behind (desk/urgent.rs, desk/coding.rs). A record's
-- `source_row` is set only when its source is a file (record.rs, `Origin`);
-- those queries say `source_row IS NULL`, which lets them use the indexes,
-- and the records of a file source are found by a scan (they are most of the
-- table anyway).

DROP INDEX record_persons_source;
CREATE INDEX record_persons_source ON record_persons (source_id) WHERE source_row IS NULL;
DROP INDEX record_actions_source;
CREATE INDEX record_actions_source ON record_actions (source_id) WHERE source_row IS NULL;
DROP INDEX record_events_source;
CREATE INDEX record_events_source ON record_events (source_id) WHERE source_row IS NULL;

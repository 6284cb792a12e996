-- importfast: an event's articles and an action's police stations kept in their
-- primary key's B-tree alone (WITHOUT ROWID), instead of a table plus an index
-- of the same two columns: one B-tree insert per article of an imported row
-- instead of two. Nothing reads these tables by rowid.

CREATE TABLE record_event_articles_0009 (
    event_id TEXT NOT NULL REFERENCES record_events (id),
    article  TEXT NOT NULL,
    PRIMARY KEY (event_id, article)
) WITHOUT ROWID;
INSERT INTO record_event_articles_0009 (event_id, article)
    SELECT event_id, article FROM record_event_articles;
DROP TABLE record_event_articles;
ALTER TABLE record_event_articles_0009 RENAME TO record_event_articles;

CREATE TABLE record_action_stations_0009 (
    action_id TEXT NOT NULL REFERENCES record_actions (id),
    station   TEXT NOT NULL,
    PRIMARY KEY (action_id, station)
) WITHOUT ROWID;
INSERT INTO record_action_stations_0009 (action_id, station)
    SELECT action_id, station FROM record_action_stations;
DROP TABLE record_action_stations;
ALTER TABLE record_action_stations_0009 RENAME TO record_action_stations;

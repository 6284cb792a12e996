-- importfast: on SQLite this version keeps an event's articles and an action's
-- police stations in their primary key alone (WITHOUT ROWID). PostgreSQL's
-- tables have no rowid B-tree to save: nothing changes here.
SELECT 1;

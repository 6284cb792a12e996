-- recfast: the counting facts of SQLite's 0008 are not needed here: PostgreSQL
-- streams the counting columns itself (crates/vigil-store/src/desk/counts.rs).
-- The version is kept so that both backends number their schema alike.
SELECT 1;

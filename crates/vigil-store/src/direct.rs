//! The connections that bypass sqlx on an SQLite file (the intake's writer,
//! the record's import, a release's page reader): each opens the file the
//! pool already created and migrated, never a new one, and sets its own
//! per-connection pragmas.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Opens an existing SQLite file read-write for one thread (`extra` adds
/// open flags), waits up to 10 s for another writer's lock, and runs
/// `pragmas`.
pub(crate) fn open(path: &Path, extra: OpenFlags, pragmas: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | extra,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(pragmas)?;
    Ok(conn)
}

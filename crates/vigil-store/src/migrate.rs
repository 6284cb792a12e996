//! A small migration runner. Each zone has its own migrations for each backend,
//! embedded in the binary, so that the intake's database never carries a desk
//! table. Pending migrations (every version not yet recorded, lower ones too)
//! run in one transaction, recording each version
//! under the zone's name.

use crate::StoreError;
use crate::db::{Db, on_pool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Zone {
    Intake,
    Desk,
}

impl Zone {
    fn name(self) -> &'static str {
        match self {
            Zone::Intake => "intake",
            Zone::Desk => "desk",
        }
    }

    fn migrations(self, db: &Db) -> &'static [Migration] {
        match (self, db) {
            (Zone::Intake, Db::Sqlite(_)) => INTAKE_SQLITE,
            (Zone::Intake, Db::Postgres(_)) => INTAKE_POSTGRES,
            (Zone::Desk, Db::Sqlite(_)) => DESK_SQLITE,
            (Zone::Desk, Db::Postgres(_)) => DESK_POSTGRES,
        }
    }
}

pub(crate) struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($zone:literal, $backend:literal: $($version:literal => $file:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            sql: include_str!(concat!("../migrations/", $zone, "/", $backend, "/", $file)),
        }),*]
    };
}

const INTAKE_SQLITE: &[Migration] = migrations!("intake", "sqlite": 1 => "0001_init.sql", 2 => "0002_forget.sql", 3 => "0003_messages.sql", 4 => "0004_receipts_in_order.sql");
const INTAKE_POSTGRES: &[Migration] = migrations!("intake", "postgres": 1 => "0001_init.sql", 2 => "0002_forget.sql", 3 => "0003_messages.sql", 4 => "0004_receipts_in_order.sql");
const DESK_SQLITE: &[Migration] = migrations!("desk", "sqlite": 1 => "0001_init.sql", 2 => "0002_record.sql",
        4 => "0004_access.sql", 5 => "0005_coding.sql", 6 => "0006_urgent.sql", 7 => "0007_messages.sql",
        8 => "0008_facts.sql", 9 => "0009_import.sql", 10 => "0010_source_rows.sql");
const DESK_POSTGRES: &[Migration] = migrations!("desk", "postgres": 1 => "0001_init.sql", 2 => "0002_record.sql",
        4 => "0004_access.sql", 5 => "0005_coding.sql", 6 => "0006_urgent.sql", 7 => "0007_messages.sql",
        8 => "0008_facts.sql", 9 => "0009_import.sql", 10 => "0010_source_rows.sql");

/// An arbitrary constant that serialises PostgreSQL migrations across processes.
const MIGRATION_LOCK: i64 = 0x7669_6769_6c00;

pub(crate) fn latest(migrations: &[Migration]) -> i64 {
    migrations.iter().map(|m| m.version).max().unwrap_or(0)
}

fn check_not_newer(found: i64, migrations: &[Migration]) -> Result<(), StoreError> {
    let known = latest(migrations);
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    Ok(())
}

/// The migrations not yet applied, in version order. Every missing version
/// runs, not only those above the highest applied one: branches add numbers
/// out of order, and a database that already holds 7 must still get a 5.
fn pending<'a>(applied: &[i64], migrations: &'a [Migration]) -> Vec<&'a Migration> {
    let mut todo: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect();
    todo.sort_by_key(|m| m.version);
    todo
}

pub(crate) async fn run(db: &Db, zone: Zone) -> Result<(), StoreError> {
    let migrations = zone.migrations(db);
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        if let Db::Postgres(_) = db {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS vigil_migrations (\
                 zone TEXT NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (zone, version))",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM vigil_migrations WHERE zone = $1")
                .bind(zone.name())
                .fetch_all(&mut *tx)
                .await?;
        check_not_newer(applied.iter().copied().max().unwrap_or(0), migrations)?;
        for m in pending(&applied, migrations) {
            sqlx::raw_sql(m.sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::Migration {
                    version: m.version,
                    message: e.to_string(),
                })?;
            sqlx::query("INSERT INTO vigil_migrations (zone, version) VALUES ($1, $2)")
                .bind(zone.name())
                .bind(m.version)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(todo: &[&Migration]) -> Vec<i64> {
        todo.iter().map(|m| m.version).collect()
    }

    #[test]
    fn a_missing_lower_version_still_runs() {
        let all = [
            Migration {
                version: 7,
                sql: "",
            },
            Migration {
                version: 1,
                sql: "",
            },
            Migration {
                version: 5,
                sql: "",
            },
            Migration {
                version: 3,
                sql: "",
            },
        ];
        assert_eq!(versions(&pending(&[1, 7], &all)), vec![3, 5]);
        assert_eq!(versions(&pending(&[], &all)), vec![1, 3, 5, 7]);
        assert!(pending(&[1, 3, 5, 7], &all).is_empty());
    }

    #[test]
    fn a_database_newer_than_the_binary_is_refused() {
        let all = [Migration {
            version: 2,
            sql: "",
        }];
        assert!(check_not_newer(3, &all).is_err());
        assert!(check_not_newer(2, &all).is_ok());
    }
}

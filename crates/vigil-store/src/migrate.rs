//! A small migration runner. Each zone has its own migrations for each backend,
//! embedded in the binary, so that the intake's database never carries a desk
//! table. Pending migrations run in one transaction, recording each version
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

const INTAKE_SQLITE: &[Migration] =
    migrations!("intake", "sqlite": 1 => "0001_init.sql", 2 => "0002_forget.sql");
const INTAKE_POSTGRES: &[Migration] =
    migrations!("intake", "postgres": 1 => "0001_init.sql", 2 => "0002_forget.sql");
const DESK_SQLITE: &[Migration] = migrations!("desk", "sqlite": 1 => "0001_init.sql", 2 => "0002_record.sql",
        5 => "0005_coding.sql");
const DESK_POSTGRES: &[Migration] = migrations!("desk", "postgres": 1 => "0001_init.sql", 2 => "0002_record.sql",
        5 => "0005_coding.sql");

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
        let current: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM vigil_migrations WHERE zone = $1")
                .bind(zone.name())
                .fetch_one(&mut *tx)
                .await?;
        let current = current.unwrap_or(0);
        check_not_newer(current, migrations)?;
        for m in migrations.iter().filter(|m| m.version > current) {
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

//! The storage conformance suite: every check runs on SQLite and on PostgreSQL.
//!
//! PostgreSQL needs `VIGIL_TEST_POSTGRES_URL`, a URL of a role allowed to create
//! databases; `scripts/test` starts a throwaway cluster and sets it. Without it
//! the PostgreSQL half fails, so that CI can never skip it by accident; set
//! `VIGIL_TEST_POSTGRES=skip` to skip it on purpose on a developer machine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use vigil_core::{Day, ReportId};
use vigil_store::{Account, DeskStore, IntakeStore, SealedReport, StoreError};

/// A fresh, empty database for one test, and what keeps it alive. Each zone
/// opens its own store on it, as each zone has its own database in use.
struct Fresh {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Fresh {
    async fn intake(&self) -> Arc<dyn IntakeStore> {
        vigil_store::open_intake(&self.url).await.unwrap()
    }

    async fn desk(&self) -> Arc<dyn DeskStore> {
        vigil_store::open_desk(&self.url).await.unwrap()
    }

    /// The names of the tables the database holds, sorted.
    async fn tables(&self) -> Vec<String> {
        use sqlx::Connection;
        let mut names: Vec<String> = if self.url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(&mut c)
            .await
            .unwrap()
        } else {
            let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
                .fetch_all(&mut c)
                .await
                .unwrap()
        };
        names.sort();
        names
    }
}

async fn sqlite() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let url = vigil_store::sqlite_url(&dir.path().join("t.db"));
    Fresh {
        url,
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<Fresh> {
    let admin = match std::env::var("VIGIL_TEST_POSTGRES_URL") {
        Ok(u) => u,
        Err(_) if std::env::var("VIGIL_TEST_POSTGRES").as_deref() == Ok("skip") => {
            eprintln!("PostgreSQL half skipped on purpose (VIGIL_TEST_POSTGRES=skip)");
            return None;
        }
        Err(_) => panic!(
            "VIGIL_TEST_POSTGRES_URL is not set: run the tests with scripts/test, which starts PostgreSQL, \
             or set VIGIL_TEST_POSTGRES=skip to skip the PostgreSQL half on purpose"
        ),
    };
    use sqlx::Connection;
    let name = format!("vigil_test_{}", ReportId::generate().unwrap());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    Some(Fresh { url, _dir: None })
}

fn report(n: u8, day: &str) -> SealedReport {
    SealedReport {
        id: ReportId::generate().unwrap(),
        receipt_hash: [n; 32],
        sealed: format!("age-encryption.org/v1 sealed bytes {n}").into_bytes(),
        received: day.parse().unwrap(),
    }
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $check() {
                    super::$check(super::sqlite().await).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $check() {
                    if let Some(fresh) = super::postgres().await {
                        super::$check(fresh).await;
                    }
                }
            )*
        }
    };
}

conformance!(
    intake_keeps_reports_until_acknowledged,
    intake_batch_is_all_or_nothing,
    desk_store_is_idempotent,
    desk_counts_by_day,
    accounts_put_get_replace,
    data_survives_reopening,
    each_zone_holds_only_its_own_tables,
    intake_forgets_receipts_before_the_cutoff_day,
    intake_keeps_order_across_purges,
);

async fn intake_keeps_reports_until_acknowledged(f: Fresh) {
    let s = f.intake().await;
    let (a, b, c) = (
        report(1, "2024-01-01"),
        report(2, "2024-01-01"),
        report(3, "2024-01-02"),
    );
    s.intake_insert(&[a.clone(), b.clone()]).await.unwrap();
    s.intake_insert(std::slice::from_ref(&c)).await.unwrap();
    assert_eq!(s.intake_pending_count().await.unwrap(), 3);
    assert_eq!(
        s.intake_pending(10).await.unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(
        s.intake_pending(2).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert!(s.intake_receipt_known(&[2; 32]).await.unwrap());
    assert!(!s.intake_receipt_known(&[9; 32]).await.unwrap());

    assert_eq!(s.intake_acknowledge(&[a.id, c.id]).await.unwrap(), 2);
    assert_eq!(s.intake_pending(10).await.unwrap(), vec![b.clone()]);
    // A repeated acknowledgement, or one for an unknown id, changes nothing.
    assert_eq!(
        s.intake_acknowledge(&[a.id, ReportId::generate().unwrap()])
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.intake_pending_count().await.unwrap(), 1);
    // The receipt outlives the purged report.
    assert!(s.intake_receipt_known(&[1; 32]).await.unwrap());
}

async fn intake_batch_is_all_or_nothing(f: Fresh) {
    let s = f.intake().await;
    let a = report(1, "2024-01-01");
    s.intake_insert(std::slice::from_ref(&a)).await.unwrap();
    // The second report reuses an id already stored: the whole batch must fail.
    let b = report(2, "2024-01-01");
    let mut dup = report(3, "2024-01-01");
    dup.id = a.id;
    assert!(s.intake_insert(&[b, dup]).await.is_err());
    assert_eq!(s.intake_pending(10).await.unwrap(), vec![a]);
    assert!(!s.intake_receipt_known(&[2; 32]).await.unwrap());
}

async fn desk_store_is_idempotent(f: Fresh) {
    let s = f.desk().await;
    let (a, b) = (report(1, "2024-01-01"), report(2, "2024-01-03"));
    assert_eq!(
        s.desk_store_pulled(&[a.clone(), b.clone()]).await.unwrap(),
        2
    );
    // The same pull again, as after a crash before the acknowledgement.
    assert_eq!(
        s.desk_store_pulled(&[a.clone(), b.clone()]).await.unwrap(),
        0
    );
    assert_eq!(s.desk_reports().await.unwrap(), vec![a, b]);
}

async fn desk_counts_by_day(f: Fresh) {
    let s = f.desk().await;
    let reports = [
        report(1, "2024-02-24"),
        report(2, "2022-02-24"),
        report(3, "2024-02-24"),
        report(4, "2024-02-24"),
    ];
    s.desk_store_pulled(&reports).await.unwrap();
    let d = |s: &str| s.parse::<Day>().unwrap();
    assert_eq!(
        s.desk_count_by_day().await.unwrap(),
        vec![(d("2022-02-24"), 1), (d("2024-02-24"), 3)]
    );
}

async fn accounts_put_get_replace(f: Fresh) {
    let s = f.desk().await;
    assert_eq!(s.desk_account("lawyer").await.unwrap(), None);
    let mut acct = Account {
        username: "lawyer".into(),
        password_hash: "$argon2id$first".into(),
    };
    s.desk_put_account(&acct, day("2024-03-01")).await.unwrap();
    assert_eq!(s.desk_account("lawyer").await.unwrap(), Some(acct.clone()));
    acct.password_hash = "$argon2id$second".into();
    s.desk_put_account(&acct, day("2024-03-01")).await.unwrap();
    assert_eq!(s.desk_account("lawyer").await.unwrap(), Some(acct));
}

async fn data_survives_reopening(f: Fresh) {
    let a = report(7, "2024-05-05");
    let (intake, desk) = (f.intake().await, f.desk().await);
    intake
        .intake_insert(std::slice::from_ref(&a))
        .await
        .unwrap();
    desk.desk_store_pulled(std::slice::from_ref(&a))
        .await
        .unwrap();
    drop((intake, desk));
    // Opening again runs the migrations again: they must be a no-op.
    assert_eq!(
        f.intake().await.intake_pending(10).await.unwrap(),
        vec![a.clone()]
    );
    assert_eq!(f.desk().await.desk_reports().await.unwrap(), vec![a]);
}

async fn each_zone_holds_only_its_own_tables(f: Fresh) {
    f.intake().await;
    assert_eq!(
        f.tables().await,
        ["intake_receipts", "intake_reports", "vigil_migrations"],
        "the intake's database must carry no desk table"
    );
    let g = match &f._dir {
        Some(_) => sqlite().await,
        None => postgres().await.unwrap(),
    };
    g.desk().await;
    let desk_tables = g.tables().await;
    assert!(
        desk_tables.contains(&"desk_reports".to_owned()),
        "{desk_tables:?}"
    );
    assert!(
        desk_tables.iter().all(|t| !t.starts_with("intake_")),
        "{desk_tables:?}"
    );
}

fn day(s: &str) -> Day {
    s.parse().unwrap()
}

async fn intake_forgets_receipts_before_the_cutoff_day(f: Fresh) {
    let s = f.intake().await;
    s.intake_insert(&[
        report(1, "2024-01-01"),
        report(2, "2024-01-02"),
        report(3, "2024-03-01"),
    ])
    .await
    .unwrap();
    // Strictly before the cutoff: the cutoff day itself is kept.
    assert_eq!(
        s.intake_forget_receipts(day("2024-01-02")).await.unwrap(),
        1
    );
    assert!(!s.intake_receipt_known(&[1; 32]).await.unwrap());
    assert!(s.intake_receipt_known(&[2; 32]).await.unwrap());
    assert!(s.intake_receipt_known(&[3; 32]).await.unwrap());
    assert_eq!(
        s.intake_forget_receipts(day("2024-01-02")).await.unwrap(),
        0
    );
    assert_eq!(
        s.intake_forget_receipts(day("2025-01-01")).await.unwrap(),
        2
    );
    assert!(!s.intake_receipt_known(&[3; 32]).await.unwrap());
    // Forgetting receipts never touches the sealed reports waiting for the desk.
    assert_eq!(s.intake_pending_count().await.unwrap(), 3);
    s.intake_checkpoint().await.unwrap();
}

async fn intake_keeps_order_across_purges(f: Fresh) {
    let s = f.intake().await;
    let (a, b, c, d, e) = (
        report(1, "2024-01-01"),
        report(2, "2024-01-01"),
        report(3, "2024-01-01"),
        report(4, "2024-01-02"),
        report(5, "2024-01-02"),
    );
    s.intake_insert(&[a.clone(), b.clone()]).await.unwrap();
    // The newest is purged first, then everything: numbering must not collide.
    assert_eq!(s.intake_acknowledge(&[b.id]).await.unwrap(), 1);
    s.intake_insert(std::slice::from_ref(&c)).await.unwrap();
    assert_eq!(
        s.intake_pending(10).await.unwrap(),
        vec![a.clone(), c.clone()]
    );
    assert_eq!(s.intake_acknowledge(&[a.id, c.id]).await.unwrap(), 2);
    s.intake_checkpoint().await.unwrap();
    s.intake_insert(&[d.clone(), e.clone()]).await.unwrap();
    assert_eq!(s.intake_pending(10).await.unwrap(), vec![d, e]);
}

/// SQLite only (PostgreSQL cannot zero freed space): once purged and
/// checkpointed, no sealed report is left in the file or its WAL, and no
/// AUTOINCREMENT counter remembers how many reports ever came in.
#[tokio::test]
async fn sqlite_purge_leaves_no_ciphertext_and_no_counter() {
    let f = sqlite().await;
    let s = f.intake().await;
    let dir = f._dir.as_ref().unwrap().path().to_path_buf();
    let reports: Vec<SealedReport> = (0..40)
        .map(|n| {
            let mut r = report(n, "2024-01-01");
            r.sealed = format!("age-encryption.org/v1 {}", "x".repeat(3000)).into_bytes();
            r
        })
        .collect();
    s.intake_insert(&reports).await.unwrap();
    let on_disk = || {
        let mut bytes = std::fs::read(dir.join("t.db")).unwrap();
        bytes.extend(std::fs::read(dir.join("t.db-wal")).unwrap_or_default());
        bytes
    };
    let count = |bytes: &[u8]| {
        bytes
            .windows(18)
            .filter(|w| *w == b"age-encryption.org")
            .count()
    };
    assert!(count(&on_disk()) >= 40);
    let ids: Vec<ReportId> = reports.iter().map(|r| r.id).collect();
    assert_eq!(s.intake_acknowledge(&ids).await.unwrap(), 40);
    s.intake_checkpoint().await.unwrap();
    let bytes = on_disk();
    assert_eq!(count(&bytes), 0, "purged ciphertext left on disk");
    let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(has("intake_reports"));
    assert!(!has("sqlite_sequence"), "a sqlite_sequence table exists");
}

#[tokio::test]
async fn unknown_schemes_are_refused_with_a_hint() {
    for url in ["mysql://x/y", "/var/lib/vigil.db", "sqlite3:x.db"] {
        let (intake, desk) = (
            vigil_store::open_intake(url).await.err(),
            vigil_store::open_desk(url).await.err(),
        );
        for result in [intake, desk] {
            match result {
                Some(e @ StoreError::UnknownScheme(_)) => {
                    assert!(e.to_string().contains("sqlite:PATH"), "{e}")
                }
                Some(other) => panic!("{url}: wrong error {other}"),
                None => panic!("{url}: accepted"),
            }
        }
    }
}

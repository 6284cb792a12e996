//! The storage conformance suite: every check runs on SQLite and on PostgreSQL.
//!
//! PostgreSQL needs `VIGIL_TEST_POSTGRES_URL`, a URL of a role allowed to create
//! databases; `scripts/test` starts a throwaway cluster and sets it. Without it
//! the PostgreSQL half fails, so that CI can never skip it by accident; set
//! `VIGIL_TEST_POSTGRES=skip` to skip it on purpose on a developer machine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use vigil_core::{Day, ReportId};
use vigil_store::record::{
    ActionCount, ActionRow, CaseRow, CountQuery, CountRow, DateRow, Edit, EventRow, EventsOf,
    Origin, PersonRow, RecordBatch, SourceRow, Stamp, StatKey,
};
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
    record_write_is_idempotent_and_reads_back,
    record_batch_is_all_or_nothing,
    record_events_come_in_date_order,
    record_edits_keep_every_previous_version,
    record_counts_follow_the_counting_rules,
    record_write_rerunnable_is_idempotent_and_all_or_nothing,
    record_import_checks_references_and_keeps_counting_facts,
    // import4: the import writes the counting facts itself
    record_import_writes_the_counting_facts_a_rebuild_would,
    // importwrite: the import's writer thread
    record_import_pipe_writes_in_order_and_stops_at_a_refused_batch,
    intake_forgets_receipts_before_the_cutoff_day,
    intake_keeps_order_across_purges,
    // deskaccess (issue 11)
    accounts_roles_grants_and_disabling,
    accounts_second_factor_steps_and_recovery_codes,
    audit_appends_a_chain_and_pages_it,
    // the urgent line and retention (deskurgent)
    duty_shifts_keep_their_escalation_order,
    urgent_reports_are_triaged_once_and_acknowledged_once,
    escalation_and_alert_outbox_survive_reopening,
    retention_takes_only_uncoded_reports_and_closed_cases,
    // intakeform: replies by receipt
    intake_keeps_replies_only_for_known_receipts,
    intake_followups_wait_for_the_desk,
    intake_forgets_messages_with_their_receipt,
    desk_messages_are_idempotent_and_pushed_once,
    // the whole record, for a public release (pubsite)
    record_all_lists_the_whole_record,
    // intakechan: the multi-row intake insert
    intake_big_batch_spans_statement_chunks,
    // intakemerge: the insert takes the write lock first
    intake_insert_waits_for_concurrent_writers,
    // recfast: counting facts
    record_counting_follows_every_change,
    // intakemerge: a pull within a byte budget
    intake_pending_stops_at_the_byte_budget,
    // the record in keyset pages, for a release of a million events (pubstream)
    record_pages_walk_the_whole_record_once_in_order,
    // intake4: receipts in arrival order, numbered within their day
    intake_receipts_across_days_and_batches,
    // intake5: the commit pipeline
    intake_pipelined_insert_keeps_order_and_all_or_nothing,
    // intake6: reports straight to the store's writer thread
    intake_report_queue_stores_each_report_and_refuses_a_bad_one_alone,
);

#[path = "conformance/coding.rs"]
mod coding;

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

/// intake5: batches committed through the pipeline come back in the order
/// of the calls once each is durable, a failing batch stores none of its
/// reports and leaves the pipeline working, and the plain insert still works
/// after it (on SQLite files the two share the writer).
async fn intake_pipelined_insert_keeps_order_and_all_or_nothing(f: Fresh) {
    let s = f.intake().await;
    let first = Arc::new(vec![report(1, "2024-01-01"), report(2, "2024-01-01")]);
    let second = Arc::new(vec![report(3, "2024-01-02")]);
    let d1 = s.intake_insert_pipelined(first.clone()).await.unwrap();
    let d2 = s.intake_insert_pipelined(second.clone()).await.unwrap();
    d2.wait().await.unwrap();
    d1.wait().await.unwrap();
    let mut dup = report(4, "2024-01-02");
    dup.id = first[0].id;
    let bad = Arc::new(vec![report(5, "2024-01-02"), dup]);
    assert!(s.intake_insert_pipelined(bad).await.is_err());
    let c = report(6, "2024-01-03");
    s.intake_insert(std::slice::from_ref(&c)).await.unwrap();
    let mut want: Vec<SealedReport> = first.iter().chain(second.iter()).cloned().collect();
    want.push(c);
    assert_eq!(s.intake_pending(10).await.unwrap(), want);
    assert!(!s.intake_receipt_known(&[5; 32]).await.unwrap());
    assert!(s.intake_receipt_known(&[3; 32]).await.unwrap());
}

/// intake6: on an SQLite file the store hands out a queue to its writer
/// thread (elsewhere none). Reports sent at once are gathered into shared
/// transactions; each is answered `Ok` only once stored, a report that cannot
/// be stored (its id is taken) is refused alone while the others in its
/// transaction are stored, and a caller's batch sent meanwhile keeps working.
async fn intake_report_queue_stores_each_report_and_refuses_a_bad_one_alone(f: Fresh) {
    let s = f.intake().await;
    let Some(queue) = s.intake_report_queue() else {
        assert!(
            !f.url.starts_with("sqlite:"),
            "an SQLite file has a writer thread"
        );
        return;
    };
    let first = report(1, "2024-01-01");
    queue.store(first.clone()).await.unwrap();
    assert_eq!(s.intake_pending(10).await.unwrap(), vec![first.clone()]);

    let mut tasks = tokio::task::JoinSet::new();
    let mut want = vec![first.clone()];
    for n in 2..60u8 {
        let mut r = report(n, "2024-01-02");
        if n == 30 {
            r.id = first.id;
        } else {
            want.push(r.clone());
        }
        let queue = queue.clone();
        tasks.spawn(async move { (n, queue.store(r).await.is_ok()) });
    }
    let batch = std::sync::Arc::new(vec![report(70, "2024-01-02")]);
    want.push(batch[0].clone());
    s.intake_insert_pipelined(batch)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    while let Some(done) = tasks.join_next().await {
        let (n, stored) = done.unwrap();
        assert_eq!(stored, n != 30, "report {n}");
    }
    let mut got = s.intake_pending(100).await.unwrap();
    assert_eq!(got[0], first, "in the order stored");
    let key = |r: &SealedReport| r.receipt_hash;
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got, want);
    assert!(!s.intake_receipt_known(&[30; 32]).await.unwrap());
    assert!(s.intake_receipt_known(&[59; 32]).await.unwrap());
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
        [
            "intake_messages",
            "intake_receipts",
            "intake_reports",
            "vigil_migrations"
        ],
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

/// intake4: receipts of several days in one batch, a day seen again after a
/// later one (a clock set back), and batches after a sweep: each is known,
/// none twice, and the sweep takes exactly the days before the cutoff.
async fn intake_receipts_across_days_and_batches(f: Fresh) {
    let s = f.intake().await;
    s.intake_insert(&[
        report(1, "2024-01-01"),
        report(2, "2024-01-02"),
        report(3, "2024-01-01"),
    ])
    .await
    .unwrap();
    s.intake_insert(&[report(4, "2024-01-02"), report(5, "2023-12-31")])
        .await
        .unwrap();
    // A receipt already held is refused, and its batch with it.
    assert!(
        s.intake_insert(&[report(6, "2024-01-02"), report(4, "2024-01-03")])
            .await
            .is_err()
    );
    assert!(!s.intake_receipt_known(&[6; 32]).await.unwrap());
    for n in 1..=5 {
        assert!(s.intake_receipt_known(&[n; 32]).await.unwrap(), "{n}");
    }
    assert_eq!(
        s.intake_forget_receipts(day("2024-01-02")).await.unwrap(),
        3
    );
    for (n, known) in [(1, false), (2, true), (3, false), (4, true), (5, false)] {
        assert_eq!(
            s.intake_receipt_known(&[n; 32]).await.unwrap(),
            known,
            "{n}"
        );
    }
    s.intake_insert(&[report(7, "2024-01-01"), report(8, "2024-01-02")])
        .await
        .unwrap();
    assert!(s.intake_receipt_known(&[7; 32]).await.unwrap());
    assert!(s.intake_receipt_known(&[8; 32]).await.unwrap());
    assert_eq!(
        s.intake_forget_receipts(day("2024-01-03")).await.unwrap(),
        4
    );
}

/// intake4: the same on an in-memory SQLite database, which keeps sqlx's
/// path for inserts (a second connection could not reach it).
#[tokio::test]
async fn sqlite_in_memory_receipts_across_days_and_batches() {
    intake_receipts_across_days_and_batches(Fresh {
        url: "sqlite::memory:".into(),
        _dir: None,
    })
    .await;
}

/// SQLite only: migration 0004 renumbers the receipts of a database made
/// before it (each kept, numbered within its day), and no number counts the
/// receipts of earlier days: once they are swept, a new day's first receipt
/// is that day's number 1.
#[tokio::test]
async fn sqlite_receipts_are_numbered_within_their_day() {
    use sqlx::Connection;
    let f = sqlite().await;
    drop(f.intake().await);
    // The layout before 0004, with receipts in it.
    let mut c = sqlx::SqliteConnection::connect(&f.url).await.unwrap();
    sqlx::raw_sql(
        "DROP TABLE intake_receipts; \
         CREATE TABLE intake_receipts (hash BLOB PRIMARY KEY, received TEXT NOT NULL) WITHOUT ROWID; \
         CREATE INDEX intake_receipts_received ON intake_receipts (received); \
         INSERT INTO intake_receipts VALUES (x'01', '2024-01-01'), (x'02', '2024-01-02'), \
                                            (x'03', '2024-01-01'); \
         DELETE FROM vigil_migrations WHERE zone = 'intake' AND version = 4;",
    )
    .execute(&mut c)
    .await
    .unwrap();
    drop(c);
    let s = f.intake().await;
    let numbers = |url: String| async move {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_as::<_, (i64, Vec<u8>, String)>(
            "SELECT n, hash, received FROM intake_receipts ORDER BY n",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
    };
    let day_of = |d: &str| (day(d).date().to_julian_day() as i64 - 2_440_588) << 32;
    assert_eq!(
        numbers(f.url.clone()).await,
        vec![
            (day_of("2024-01-01") + 1, vec![1], "2024-01-01".to_owned()),
            (day_of("2024-01-01") + 2, vec![3], "2024-01-01".to_owned()),
            (day_of("2024-01-02") + 1, vec![2], "2024-01-02".to_owned()),
        ]
    );
    s.intake_insert(&[report(9, "2024-01-02")]).await.unwrap();
    assert_eq!(
        numbers(f.url.clone()).await.last().unwrap().0,
        day_of("2024-01-02") + 2
    );
    assert_eq!(
        s.intake_forget_receipts(day("2024-01-03")).await.unwrap(),
        4
    );
    s.intake_insert(&[report(10, "2024-01-03")]).await.unwrap();
    assert_eq!(
        numbers(f.url.clone()).await,
        vec![(
            day_of("2024-01-03") + 1,
            vec![10; 32],
            "2024-01-03".to_owned()
        )]
    );
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

/// SQLite only: a database from an older vigil, which purged reports with
/// `secure_delete` off, keeps their ciphertext in free pages (issue 8 found
/// 3,232 age headers so); `intake_vacuum`, run by `vigil intake` at start,
/// leaves none in the file or its WAL.
#[tokio::test]
async fn sqlite_vacuum_clears_ciphertext_freed_before_secure_delete() {
    use sqlx::Connection;
    let f = sqlite().await;
    let s = f.intake().await;
    let path = f._dir.as_ref().unwrap().path().join("t.db");
    // What an older vigil did: insert, then purge without secure_delete.
    let mut old = sqlx::SqliteConnection::connect(&f.url).await.unwrap();
    sqlx::raw_sql(
        "PRAGMA secure_delete = OFF;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
         INSERT INTO intake_reports (id, receipt_hash, sealed, received)
             SELECT 'old-' || i, zeroblob(32),
                    CAST('age-encryption.org/v1 ' || hex(randomblob(1500)) AS BLOB), '2024-01-01'
             FROM n;
         DELETE FROM intake_reports;
         PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .execute(&mut old)
    .await
    .unwrap();
    old.close().await.unwrap();
    let count = || {
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
        bytes
            .windows(18)
            .filter(|w| *w == b"age-encryption.org")
            .count()
    };
    assert!(count() >= 30, "the old purge left no ciphertext to clear");
    s.intake_vacuum().await.unwrap();
    assert_eq!(
        count(),
        0,
        "ciphertext freed before secure_delete left on disk"
    );
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

// --- the record ---

fn stamp() -> Stamp {
    Stamp {
        version: 1,
        changed: day("2024-03-01"),
        changed_by: "import".into(),
    }
}

fn on(d: &str) -> DateRow {
    DateRow {
        day: Some(day(d)),
        precision: "day",
    }
}

fn source(id: &str) -> SourceRow {
    SourceRow {
        id: id.into(),
        kind: "file".into(),
        report_id: None,
        file_sha256: Some(format!("sha-of-{id}")),
        sealed: Some(b"sealed file name".to_vec()),
        added: day("2024-03-01"),
    }
}

fn person(id: &str) -> PersonRow {
    PersonRow {
        id: id.into(),
        sealed: format!("sealed name of {id}").into_bytes(),
        gender: Some("female".into()),
        region: Some("RU-MOW".into()),
        roles: vec!["journalist".into(), "student".into()],
        consent: "none".into(),
        origin: Some(Origin {
            source_id: "s1".into(),
            row: Some(7),
        }),
        stamp: stamp(),
    }
}

fn action(id: &str, date: &str, region: &str, kind: &str) -> ActionRow {
    ActionRow {
        id: id.into(),
        date: on(date),
        region: Some(region.into()),
        city: None,
        kind: kind.into(),
        topic: Some("political_prisoners".into()),
        organiser: Some("Стратегия-31".into()),
        authorised: Some("no".into()),
        verification: "reported".into(),
        sealed: b"sealed place".to_vec(),
        stations: vec![],
        origin: Some(Origin {
            source_id: "s1".into(),
            row: Some(1),
        }),
        stamp: stamp(),
    }
}

fn event(
    id: &str,
    person: Option<&str>,
    action: Option<&str>,
    kind: &str,
    date: &str,
    region: &str,
) -> EventRow {
    EventRow {
        id: id.into(),
        person_id: person.map(Into::into),
        action_id: action.map(Into::into),
        case_id: None,
        kind: kind.into(),
        date: on(date),
        region: Some(region.into()),
        city: None,
        police_station: None,
        court: None,
        articles: vec![],
        trigger: None,
        fine_rub: None,
        arrest_days: None,
        sentence: None,
        verification: "reported".into(),
        sealed: b"sealed notes".to_vec(),
        origin: None,
        stamp: stamp(),
    }
}

fn count(action: &str, source: &str, n: u64) -> ActionCount {
    ActionCount {
        action_id: action.into(),
        source_id: source.into(),
        detained: n,
    }
}

async fn record_write_is_idempotent_and_reads_back(f: Fresh) {
    let s = f.desk().await;
    let mut a = action("a1", "2013-05-06", "RU-MOW", "rally");
    a.stations = vec!["ОВД Басманное".into(), "ОВД Тверское".into()];
    let mut e = event("e1", Some("p1"), Some("a1"), "fine", "2013-05-07", "RU-MOW");
    e.articles = vec!["adm-20.2-5".into(), "adm-19.3".into()];
    e.fine_rub = Some(10_000);
    e.case_id = Some("c1".into());
    let case = CaseRow {
        id: "c1".into(),
        person_id: "p1".into(),
        sealed: b"sealed title".to_vec(),
        stamp: stamp(),
    };
    let batch = RecordBatch {
        sources: vec![source("s1")],
        persons: vec![person("p1")],
        actions: vec![a.clone()],
        counts: vec![count("a1", "s1", 12)],
        cases: vec![case.clone()],
        events: vec![e.clone()],
    };
    let first = s.record_write(&batch).await.unwrap();
    assert_eq!((first.persons, first.actions, first.events), (1, 1, 1));
    let again = s.record_write(&batch).await.unwrap();
    assert_eq!((again.persons, again.actions, again.events), (0, 0, 0));

    assert_eq!(s.record_source("s1").await.unwrap(), Some(source("s1")));
    assert_eq!(s.record_person("p1").await.unwrap(), Some(person("p1")));
    assert_eq!(s.record_action("a1").await.unwrap(), Some(a));
    assert_eq!(
        s.record_action_counts("a1").await.unwrap(),
        vec![count("a1", "s1", 12)]
    );
    assert_eq!(s.record_case("c1").await.unwrap(), Some(case));
    let mut sorted = e.clone();
    sorted.articles.sort();
    assert_eq!(s.record_event("e1").await.unwrap(), Some(sorted.clone()));
    assert_eq!(
        s.record_events(EventsOf::Case("c1")).await.unwrap(),
        vec![sorted]
    );
    assert_eq!(s.record_person("nobody").await.unwrap(), None);
}

async fn record_batch_is_all_or_nothing(f: Fresh) {
    let s = f.desk().await;
    // The event names a person the batch does not hold: the whole batch fails.
    let batch = RecordBatch {
        sources: vec![source("s1")],
        actions: vec![action("a1", "2013-05-06", "RU-MOW", "rally")],
        events: vec![event(
            "e1",
            Some("ghost"),
            None,
            "detention",
            "2013-05-06",
            "RU-MOW",
        )],
        ..RecordBatch::default()
    };
    assert!(s.record_write(&batch).await.is_err());
    assert_eq!(s.record_action("a1").await.unwrap(), None);
    assert_eq!(s.record_source("s1").await.unwrap(), None);
}

async fn record_events_come_in_date_order(f: Fresh) {
    let s = f.desk().await;
    let mut unknown = event("e0", Some("p1"), None, "sentence", "2000-01-01", "RU-MOW");
    unknown.date = DateRow {
        day: None,
        precision: "unknown",
    };
    let mut month = event(
        "e2",
        Some("p1"),
        None,
        "criminal_case",
        "2022-03-01",
        "RU-MOW",
    );
    month.date.precision = "month";
    let batch = RecordBatch {
        sources: vec![source("s1")],
        persons: vec![person("p1"), person("p2")],
        events: vec![
            unknown.clone(),
            event("e3", Some("p1"), None, "search", "2022-04-10", "RU-MOW"),
            month.clone(),
            event("e1", Some("p1"), None, "detention", "2022-02-24", "RU-MOW"),
            event("e9", Some("p2"), None, "detention", "2022-02-24", "RU-MOW"),
        ],
        ..RecordBatch::default()
    };
    s.record_write(&batch).await.unwrap();
    let ids: Vec<String> = s
        .record_events(EventsOf::Person("p1"))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["e1", "e2", "e3", "e0"]);
    let got = s.record_event("e2").await.unwrap().unwrap();
    assert_eq!(got.date, month.date);
    assert_eq!(
        s.record_event("e0").await.unwrap().unwrap().date,
        unknown.date
    );
}

async fn record_edits_keep_every_previous_version(f: Fresh) {
    let s = f.desk().await;
    let original = event("e1", Some("p1"), None, "detention", "2022-02-24", "RU-MOW");
    s.record_write(&RecordBatch {
        sources: vec![source("s1")],
        persons: vec![person("p1")],
        events: vec![original.clone()],
        ..RecordBatch::default()
    })
    .await
    .unwrap();
    let mut edited = original.clone();
    edited.kind = "administrative_arrest".into();
    edited.arrest_days = Some(15);
    edited.articles = vec!["adm-20.2-5".into()];
    s.record_edit(Edit::Event(&edited), "verifier", day("2024-04-02"))
        .await
        .unwrap();
    let now = s.record_event("e1").await.unwrap().unwrap();
    assert_eq!(now.kind, "administrative_arrest");
    assert_eq!(now.articles, ["adm-20.2-5"]);
    assert_eq!(
        now.stamp,
        Stamp {
            version: 2,
            changed: day("2024-04-02"),
            changed_by: "verifier".into()
        }
    );
    let history = s.record_history("event", "e1").await.unwrap();
    assert_eq!(history.len(), 1);
    let h = &history[0];
    assert_eq!(
        (h.version, h.day, h.editor.as_str()),
        (1, day("2024-04-02"), "verifier")
    );
    assert_eq!(h.changed, ["arrest_days", "articles", "kind"]);
    assert_eq!(h.previous["kind"], "detention");
    assert_eq!(h.previous["arrest_days"], serde_json::Value::Null);

    // An edit made from the old version would overwrite the one above: refused.
    let mut stale = original.clone();
    stale.kind = "fine".into();
    assert!(matches!(
        s.record_edit(Edit::Event(&stale), "other", day("2024-04-03"))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        s.record_event("e1").await.unwrap().unwrap().kind,
        "administrative_arrest"
    );
    let missing = event("nope", None, None, "fine", "2022-01-01", "RU-MOW");
    assert!(matches!(
        s.record_edit(Edit::Event(&missing), "other", day("2024-04-03"))
            .await,
        Err(StoreError::NotFound)
    ));

    // Persons and actions keep history the same way.
    let mut p = s.record_person("p1").await.unwrap().unwrap();
    p.consent = "public".into();
    s.record_edit(Edit::Person(&p), "verifier", day("2024-04-05"))
        .await
        .unwrap();
    let ph = s.record_history("person", "p1").await.unwrap();
    assert_eq!(ph[0].changed, ["consent"]);
    assert_eq!(ph[0].previous["consent"], "none");
}

/// A count row's keys, actions, detentions, persons and events by kind.
type Shape = (Vec<Option<String>>, u64, u64, u64, Vec<(String, u64)>);

fn row(
    keys: &[Option<&str>],
    actions: u64,
    detentions: u64,
    persons: u64,
    events: &[(&str, u64)],
) -> Shape {
    (
        keys.iter().map(|k| k.map(str::to_owned)).collect(),
        actions,
        detentions,
        persons,
        events.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect(),
    )
}

/// The counts by month and region, in [`shape`], with the persons of the total.
async fn counted_by_month_and_region(s: &Arc<dyn DeskStore>) -> (Vec<Shape>, u64) {
    let by = CountQuery {
        by: vec![StatKey::Month, StatKey::Region],
        from: None,
        to: None,
    };
    let (rows, total) = s.record_count_with_total(&by).await.unwrap();
    (shape(rows), total.persons)
}

fn shape(rows: Vec<CountRow>) -> Vec<Shape> {
    rows.into_iter()
        .map(|r| {
            (
                r.keys,
                r.actions,
                r.detentions,
                r.persons,
                r.events.into_iter().collect(),
            )
        })
        .collect()
}

/// A hand-made record whose right answers are worked out here:
/// - a1 (Moscow, May): sources report 10 and 12 detained; p1 is named twice and
///   p2 once; it names three police stations. Detentions: max(2 named, 12) = 12.
/// - a2 (Moscow, May): a source reports 1; p3, p4, p5 are named. max(3, 1) = 3.
/// - a3 (St Petersburg, June): nothing reported, no one named: 0.
/// - p1 detained again outside any action (St Petersburg, June): 1; then fined
///   under 20.2 part 5.
///
/// Totals: 3 actions, 12 + 3 + 0 + 1 = 16 detentions (5 named, 13 reported),
/// 5 persons, 7 detention events and 1 fine.
async fn record_counts_follow_the_counting_rules(f: Fresh) {
    let s = f.desk().await;
    let mut a1 = action("a1", "2013-05-06", "RU-MOW", "rally");
    a1.stations = vec![
        "ОВД Тверское".into(),
        "ОВД Басманное".into(),
        "ОВД Якиманка".into(),
    ];
    let mut a2 = action("a2", "2013-05-20", "RU-MOW", "picket");
    a2.authorised = Some("yes".into());
    let a3 = action("a3", "2013-06-01", "RU-SPE", "rally");
    let mut fine = event("e8", Some("p1"), None, "fine", "2013-06-15", "RU-SPE");
    fine.articles = vec!["adm-20.2-5".into()];
    s.record_write(&RecordBatch {
        sources: vec![source("s1"), source("s2")],
        persons: ["p1", "p2", "p3", "p4", "p5"]
            .into_iter()
            .map(person)
            .collect(),
        actions: vec![a1, a2, a3],
        counts: vec![
            count("a1", "s1", 10),
            count("a1", "s2", 12),
            count("a2", "s1", 1),
        ],
        cases: vec![],
        events: vec![
            event(
                "e1",
                Some("p1"),
                Some("a1"),
                "detention",
                "2013-05-06",
                "RU-MOW",
            ),
            event(
                "e2",
                Some("p1"),
                Some("a1"),
                "detention",
                "2013-05-06",
                "RU-MOW",
            ),
            event(
                "e3",
                Some("p2"),
                Some("a1"),
                "detention",
                "2013-05-06",
                "RU-MOW",
            ),
            event(
                "e4",
                Some("p3"),
                Some("a2"),
                "detention",
                "2013-05-20",
                "RU-MOW",
            ),
            event(
                "e5",
                Some("p4"),
                Some("a2"),
                "detention",
                "2013-05-20",
                "RU-MOW",
            ),
            event(
                "e6",
                Some("p5"),
                Some("a2"),
                "detention",
                "2013-05-20",
                "RU-MOW",
            ),
            event("e7", Some("p1"), None, "detention", "2013-06-10", "RU-SPE"),
            fine,
        ],
    })
    .await
    .unwrap();
    let q = |by: &[StatKey], from: Option<&str>, to: Option<&str>| CountQuery {
        by: by.to_vec(),
        from: from.map(day),
        to: to.map(day),
    };

    let total = s.record_count(&q(&[], None, None)).await.unwrap();
    assert_eq!(
        shape(total.clone()),
        vec![row(&[], 3, 16, 5, &[("detention", 7), ("fine", 1)])]
    );
    assert_eq!(
        (total[0].detentions_named, total[0].detentions_reported),
        (5, 13)
    );

    assert_eq!(
        shape(
            s.record_count(&q(&[StatKey::Month], None, None))
                .await
                .unwrap()
        ),
        vec![
            row(&[Some("2013-05")], 2, 15, 5, &[("detention", 6)]),
            row(
                &[Some("2013-06")],
                1,
                1,
                1,
                &[("detention", 1), ("fine", 1)]
            ),
        ]
    );
    assert_eq!(
        shape(
            s.record_count(&q(&[StatKey::Year, StatKey::Region], None, None))
                .await
                .unwrap()
        ),
        vec![
            row(
                &[Some("2013"), Some("RU-MOW")],
                2,
                15,
                5,
                &[("detention", 6)]
            ),
            row(
                &[Some("2013"), Some("RU-SPE")],
                1,
                1,
                1,
                &[("detention", 1), ("fine", 1)]
            ),
        ]
    );
    assert_eq!(
        shape(
            s.record_count(&q(&[StatKey::ActionKind, StatKey::Authorised], None, None))
                .await
                .unwrap()
        )
        .into_iter()
        .map(|(k, a, d, _, _)| (k, a, d))
        .collect::<Vec<_>>(),
        vec![
            (vec![Some("picket".into()), Some("yes".into())], 1, 3),
            (vec![Some("rally".into()), Some("no".into())], 2, 12),
            (vec![None, None], 0, 1),
        ]
    );
    // By article: only the fine names one; no detention is counted twice.
    assert_eq!(
        shape(
            s.record_count(&q(&[StatKey::Article], None, None))
                .await
                .unwrap()
        ),
        vec![
            row(&[Some("adm-20.2-5")], 0, 0, 1, &[("fine", 1)]),
            row(&[None], 3, 16, 5, &[("detention", 7)]),
        ]
    );
    assert_eq!(
        shape(
            s.record_count(&q(&[StatKey::EventKind], None, None))
                .await
                .unwrap()
        )
        .into_iter()
        .map(|(k, a, d, p, _)| (k, a, d, p))
        .collect::<Vec<_>>(),
        vec![
            (vec![Some("detention".into())], 3, 16, 5),
            (vec![Some("fine".into())], 0, 0, 1),
        ]
    );
    // Dates filter on both ends.
    assert_eq!(
        shape(
            s.record_count(&q(&[], Some("2013-06-01"), None))
                .await
                .unwrap()
        ),
        vec![row(&[], 1, 1, 1, &[("detention", 1), ("fine", 1)])]
    );
    assert_eq!(
        shape(
            s.record_count(&q(&[], None, Some("2013-05-31")))
                .await
                .unwrap()
        ),
        vec![row(&[], 2, 15, 5, &[("detention", 6)])]
    );
    assert_eq!(
        shape(
            s.record_count(&q(&[], Some("2013-05-07"), Some("2013-06-12")))
                .await
                .unwrap()
        ),
        vec![row(&[], 2, 4, 4, &[("detention", 4)])]
    );
    // Groups and total together (one pass where the keys allow) give what the
    // two questions give apart: by article the total still counts each event once.
    for (keys, from, to) in [
        (&[][..], None, None),
        (&[StatKey::Month][..], None, None),
        (
            &[StatKey::Year, StatKey::Region][..],
            Some("2013-05-07"),
            None,
        ),
        (
            &[StatKey::ActionKind, StatKey::Authorised][..],
            None,
            Some("2013-05-31"),
        ),
        (&[StatKey::Article][..], None, None),
        (&[StatKey::EventKind, StatKey::Topic][..], None, None),
    ] {
        let query = q(keys, from, to);
        let (rows, total) = s.record_count_with_total(&query).await.unwrap();
        let apart = if keys.is_empty() {
            Vec::new()
        } else {
            s.record_count(&query).await.unwrap()
        };
        assert_eq!(rows, apart, "{keys:?}");
        let whole = s.record_count(&q(&[], from, to)).await.unwrap();
        assert_eq!(vec![total], whole, "{keys:?}");
    }
}

// --- deskaccess (issue 11): roles, second factor, audit log ---

impl Fresh {
    /// Runs one statement on the database directly, as a tamperer would.
    async fn execute(&self, sql: &str) {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        } else {
            let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
    }
}

async fn put_plain(s: &dyn DeskStore, name: &str) {
    s.desk_put_account(
        &Account {
            username: name.into(),
            password_hash: "$argon2id$x".into(),
        },
        day("2024-03-01"),
    )
    .await
    .unwrap();
}

async fn accounts_roles_grants_and_disabling(f: Fresh) {
    let s = f.desk().await;
    assert_eq!(s.desk_account_info("ann").await.unwrap(), None);
    assert!(matches!(
        s.desk_set_role("ann", "admin").await,
        Err(StoreError::NotFound)
    ));
    put_plain(s.as_ref(), "bob").await;
    put_plain(s.as_ref(), "ann").await;
    let info = s.desk_account_info("ann").await.unwrap().unwrap();
    // A new account gets the least right until someone names a role.
    assert_eq!(info.role, "analyst");
    assert!(!info.disabled);
    assert_eq!(info.grants, "");
    assert_eq!(info.created, day("2024-03-01"));
    assert_eq!(info.totp_sealed, None);
    s.desk_set_role("ann", "duty_lawyer").await.unwrap();
    s.desk_set_grants("ann", "names").await.unwrap();
    s.desk_set_disabled("ann", true).await.unwrap();
    // The database refuses a role it does not know.
    assert!(s.desk_set_role("ann", "superuser").await.is_err());
    let info = s.desk_account_info("ann").await.unwrap().unwrap();
    assert_eq!(
        (info.role.as_str(), info.grants.as_str(), info.disabled),
        ("duty_lawyer", "names", true)
    );
    // Replacing the password keeps the role.
    put_plain(s.as_ref(), "ann").await;
    assert_eq!(
        s.desk_account_info("ann").await.unwrap().unwrap().role,
        "duty_lawyer"
    );
    let names: Vec<String> = s
        .desk_account_list()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(names, ["ann", "bob"]);
}

async fn accounts_second_factor_steps_and_recovery_codes(f: Fresh) {
    let s = f.desk().await;
    put_plain(s.as_ref(), "ann").await;
    // No second factor yet: no step can be spent.
    assert!(!s.desk_use_totp_step("ann", 100).await.unwrap());
    let codes = [[1u8; 32], [2u8; 32]];
    s.desk_set_second_factor("ann", Some(b"sealed"), &codes)
        .await
        .unwrap();
    let info = s.desk_account_info("ann").await.unwrap().unwrap();
    assert_eq!(info.totp_sealed.as_deref(), Some(&b"sealed"[..]));
    assert_eq!(info.recovery_left, 2);
    assert!(s.desk_use_totp_step("ann", 100).await.unwrap());
    // The same step again, or an earlier one, is a replay.
    assert!(!s.desk_use_totp_step("ann", 100).await.unwrap());
    assert!(!s.desk_use_totp_step("ann", 99).await.unwrap());
    assert!(s.desk_use_totp_step("ann", 101).await.unwrap());
    assert_eq!(
        s.desk_account_info("ann")
            .await
            .unwrap()
            .unwrap()
            .totp_last_step,
        Some(101)
    );
    // A recovery code is good once.
    assert!(s.desk_use_recovery_code("ann", &[1; 32]).await.unwrap());
    assert!(!s.desk_use_recovery_code("ann", &[1; 32]).await.unwrap());
    assert!(!s.desk_use_recovery_code("ann", &[9; 32]).await.unwrap());
    assert_eq!(
        s.desk_account_info("ann")
            .await
            .unwrap()
            .unwrap()
            .recovery_left,
        1
    );
    // A reset clears the secret, the used step and the codes.
    s.desk_set_second_factor("ann", None, &[]).await.unwrap();
    let info = s.desk_account_info("ann").await.unwrap().unwrap();
    assert_eq!(
        (info.totp_sealed, info.totp_last_step, info.recovery_left),
        (None, None, 0)
    );
    assert!(!s.desk_use_recovery_code("ann", &[2; 32]).await.unwrap());
    assert!(matches!(
        s.desk_set_second_factor("nobody", None, &[]).await,
        Err(StoreError::NotFound)
    ));
}

async fn audit_appends_a_chain_and_pages_it(f: Fresh) {
    use vigil_store::audit::{GENESIS, entry_hash};
    let s = f.desk().await;
    assert_eq!(s.audit_head().await.unwrap(), (0, GENESIS.to_owned()));
    let ids = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let a = s
        .audit_append(1_700_000_000, "ann", "login", &[])
        .await
        .unwrap();
    let b = s
        .audit_append(1_700_000_060, "ann", "merge_persons", &ids(&["p1", "p2"]))
        .await
        .unwrap();
    assert_eq!((a.seq, b.seq), (1, 2));
    assert_eq!(a.prev_hash, GENESIS);
    assert_eq!(b.prev_hash, a.hash);
    assert_eq!(
        b.hash,
        entry_hash(
            &a.hash,
            2,
            1_700_000_060,
            "ann",
            "merge_persons",
            &b.subjects
        )
    );
    assert_eq!(s.audit_head().await.unwrap(), (2, b.hash.clone()));
    // Concurrent appends from two handles still make one unbroken chain.
    let t = f.desk().await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = if i % 2 == 0 { s.clone() } else { t.clone() };
        set.spawn(async move { store.audit_append(i, "bob", "open_report", &[]).await });
    }
    for r in set.join_all().await {
        r.unwrap();
    }
    let all = s.audit_entries(0, 100).await.unwrap();
    assert_eq!(all.len(), 12);
    for pair in all.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1);
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    assert_eq!(s.audit_entries(10, 100).await.unwrap().len(), 2);
    let newest = s.audit_newest(13, 3).await.unwrap();
    assert_eq!(
        newest.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [12, 11, 10]
    );
    assert_eq!(s.audit_entries(0, 2).await.unwrap(), vec![a, b.clone()]);
    // What a tamperer changes directly in the database reads back as changed.
    f.execute("UPDATE desk_audit SET action = 'logout' WHERE seq = 2")
        .await;
    let changed = s.audit_entries(1, 1).await.unwrap().remove(0);
    assert_eq!(changed.action, "logout");
    assert_ne!(
        entry_hash(
            &changed.prev_hash,
            changed.seq,
            changed.at,
            &changed.actor,
            &changed.action,
            &changed.subjects
        ),
        changed.hash
    );
}

// --- the urgent line and retention (deskurgent) ---

use vigil_store::urgent::{AlertRetry, Escalation, NewAlert, PurgeKind, Shift};

fn shift(id: &str, starts: i64, people: &[&str]) -> Shift {
    Shift {
        id: id.into(),
        starts,
        ends: starts + 3600,
        people: people.iter().map(|p| (*p).to_owned()).collect(),
    }
}

async fn duty_shifts_keep_their_escalation_order(f: Fresh) {
    let s = f.desk().await;
    assert!(s.duty_shifts().await.unwrap().is_empty());
    let night = shift("night", 7200, &["zoya", "anna", "boris"]);
    let day_shift = shift("day", 0, &["boris"]);
    s.duty_put_shift(&night).await.unwrap();
    s.duty_put_shift(&day_shift).await.unwrap();
    assert_eq!(
        s.duty_shifts().await.unwrap(),
        vec![day_shift.clone(), night.clone()]
    );
    // Replacing a shift replaces its people and their order.
    let night2 = shift("night", 7000, &["anna", "zoya"]);
    s.duty_put_shift(&night2).await.unwrap();
    assert_eq!(
        s.duty_shifts().await.unwrap(),
        vec![day_shift.clone(), night2]
    );
    assert!(s.duty_delete_shift("night").await.unwrap());
    assert!(!s.duty_delete_shift("night").await.unwrap());
    assert_eq!(s.duty_shifts().await.unwrap(), vec![day_shift]);
    // A shift that ends before it starts is refused by the database.
    let mut bad = shift("bad", 100, &["anna"]);
    bad.ends = 50;
    assert!(s.duty_put_shift(&bad).await.is_err());
}

async fn urgent_reports_are_triaged_once_and_acknowledged_once(f: Fresh) {
    let s = f.desk().await;
    let (a, b, c) = (
        report(1, "2024-01-01"),
        report(2, "2024-01-01"),
        report(3, "2024-01-02"),
    );
    s.desk_store_pulled(&[a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();
    assert_eq!(
        s.urgent_untriaged(10).await.unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(s.urgent_untriaged(1).await.unwrap(), vec![a.clone()]);
    s.urgent_triage(&[(a.id, true), (b.id, false)], 1000)
        .await
        .unwrap();
    // A second mark does not move the first (seen stays 1000).
    s.urgent_triage(&[(a.id, false)], 2000).await.unwrap();
    assert_eq!(s.urgent_untriaged(10).await.unwrap(), vec![c.clone()]);
    s.urgent_triage(&[(c.id, true)], 1500).await.unwrap();
    let open = s.urgent_reports(true).await.unwrap();
    assert_eq!(
        open.iter()
            .map(|u| (u.report_id, u.seen))
            .collect::<Vec<_>>(),
        vec![(a.id, 1000), (c.id, 1500)]
    );
    assert!(
        !s.urgent_acknowledge(b.id, "anna", 1100).await.unwrap(),
        "not urgent"
    );
    assert!(s.urgent_acknowledge(a.id, "anna", 1100).await.unwrap());
    assert!(
        !s.urgent_acknowledge(a.id, "boris", 1200).await.unwrap(),
        "twice"
    );
    let open = s.urgent_reports(true).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].report_id, c.id);
    let all = s.urgent_reports(false).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].acked_by.as_deref(), Some("anna"));
    assert_eq!(all[0].acked_at, Some(1100));
}

async fn escalation_and_alert_outbox_survive_reopening(f: Fresh) {
    let a = report(1, "2024-01-01");
    {
        let s = f.desk().await;
        s.desk_store_pulled(std::slice::from_ref(&a)).await.unwrap();
        s.urgent_triage(&[(a.id, true)], 100).await.unwrap();
        let alerts = [
            NewAlert {
                username: "anna".into(),
                channel: "email".into(),
                waiting: 1,
            },
            NewAlert {
                username: "anna".into(),
                channel: "telegram".into(),
                waiting: 1,
            },
        ];
        s.urgent_escalate(
            &[Escalation {
                report_id: a.id,
                alerted: 1,
            }],
            110,
            &alerts,
        )
        .await
        .unwrap();
    }
    let s = f.desk().await;
    let u = &s.urgent_reports(true).await.unwrap()[0];
    assert_eq!((u.alerted, u.last_alert), (1, Some(110)));
    assert!(s.alerts_due(109, 10).await.unwrap().is_empty());
    let due = s.alerts_due(110, 10).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|d| (
                d.username.as_str(),
                d.channel.as_str(),
                d.waiting,
                d.attempts
            ))
            .collect::<Vec<_>>(),
        vec![("anna", "email", 1, 0), ("anna", "telegram", 1, 0)]
    );
    s.alert_sent(due[0].id, 111).await.unwrap();
    s.alert_failed(due[1].id, AlertRetry::At(200))
        .await
        .unwrap();
    assert!(s.alerts_due(199, 10).await.unwrap().is_empty());
    let again = s.alerts_due(200, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(s.alert_backlog().await.unwrap(), (1, 0));
    s.alert_failed(again[0].id, AlertRetry::GiveUp(300))
        .await
        .unwrap();
    assert!(s.alerts_due(10_000, 10).await.unwrap().is_empty());
    assert_eq!(s.alert_backlog().await.unwrap(), (0, 1));
    // An acknowledged report's alert does not move on any more.
    assert!(s.urgent_acknowledge(a.id, "anna", 400).await.unwrap());
    s.urgent_escalate(
        &[Escalation {
            report_id: a.id,
            alerted: 2,
        }],
        500,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(s.urgent_reports(false).await.unwrap()[0].alerted, 1);
}

async fn retention_takes_only_uncoded_reports_and_closed_cases(f: Fresh) {
    let s = f.desk().await;
    let old_uncoded = report(1, "2020-01-01");
    let old_coded = report(2, "2020-01-01");
    let new_uncoded = report(3, "2024-06-01");
    let old_urgent_open = report(4, "2020-01-01");
    s.desk_store_pulled(&[
        old_uncoded.clone(),
        old_coded.clone(),
        new_uncoded.clone(),
        old_urgent_open.clone(),
    ])
    .await
    .unwrap();
    s.urgent_triage(&[(old_urgent_open.id, true)], 1)
        .await
        .unwrap();
    let mut from_report = source("sr");
    from_report.kind = "report".into();
    from_report.report_id = Some(old_coded.id.to_string());
    from_report.file_sha256 = None;
    let mut p1 = person("p1");
    p1.origin = None;
    let mut p2 = person("p2");
    p2.origin = Some(Origin {
        source_id: "sr".into(),
        row: None,
    });
    let case = |id: &str, person: &str| CaseRow {
        id: id.into(),
        person_id: person.into(),
        sealed: b"sealed matter".to_vec(),
        stamp: stamp(),
    };
    let in_case = |id: &str, person: &str, case: &str, kind: &str, date: &str| {
        let mut e = event(id, Some(person), None, kind, date, "RU-MOW");
        e.case_id = Some(case.into());
        e.articles = vec!["20.2".into()];
        e
    };
    // c1: closed long ago (a fine in 2015) -> goes, with p1 (named nowhere else).
    // c2: ended in a sentence, but in 2023 -> stays.
    // c3: last event a criminal case opened (not final) -> stays.
    // c4: one event with an unknown date -> stays (cannot tell).
    let mut undated = in_case("e5", "p2", "c4", "sentence", "2010-01-01");
    undated.date = DateRow {
        day: None,
        precision: "unknown",
    };
    s.record_write(&RecordBatch {
        sources: vec![source("s1"), from_report],
        persons: vec![p1, p2],
        cases: vec![
            case("c1", "p1"),
            case("c2", "p2"),
            case("c3", "p2"),
            case("c4", "p2"),
        ],
        events: vec![
            in_case("e1", "p1", "c1", "detention", "2014-05-06"),
            in_case("e2", "p1", "c1", "fine", "2015-02-01"),
            in_case("e3", "p2", "c2", "sentence", "2023-01-01"),
            in_case("e4", "p2", "c3", "criminal_case", "2012-01-01"),
            undated,
        ],
        ..RecordBatch::default()
    })
    .await
    .unwrap();
    let (reports_before, cases_before) = (Some(day("2024-01-01")), Some(day("2020-01-01")));
    let shape = |items: Vec<vigil_store::urgent::PurgeItem>| {
        items
            .into_iter()
            .map(|i| (i.kind, i.id, i.day.to_string()))
            .collect::<Vec<_>>()
    };
    let expected = vec![
        (
            PurgeKind::Report,
            old_uncoded.id.to_string(),
            "2020-01-01".to_owned(),
        ),
        (PurgeKind::Case, "c1".to_owned(), "2015-02-01".to_owned()),
    ];
    assert_eq!(
        shape(
            s.retention_candidates(reports_before, cases_before)
                .await
                .unwrap()
        ),
        expected
    );
    // Neither setting: nothing.
    assert!(s.retention_candidates(None, None).await.unwrap().is_empty());
    // The dry run changed nothing; the purge removes exactly those.
    assert_eq!(s.desk_reports().await.unwrap().len(), 4);
    assert_eq!(
        shape(
            s.retention_purge(reports_before, cases_before)
                .await
                .unwrap()
        ),
        expected
    );
    let left: Vec<_> = s
        .desk_reports()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, vec![old_coded.id, new_uncoded.id, old_urgent_open.id]);
    assert_eq!(s.record_case("c1").await.unwrap(), None);
    assert_eq!(s.record_event("e1").await.unwrap(), None);
    assert_eq!(s.record_event("e2").await.unwrap(), None);
    assert_eq!(s.record_person("p1").await.unwrap(), None);
    assert!(s.record_person("p2").await.unwrap().is_some());
    assert!(s.record_case("c2").await.unwrap().is_some());
    assert!(s.record_event("e4").await.unwrap().is_some());
    // A second purge finds nothing more.
    assert!(
        s.retention_purge(reports_before, cases_before)
            .await
            .unwrap()
            .is_empty()
    );
}

// --- intakeform: replies by receipt ---

fn message(
    receipt: u8,
    from: vigil_core::followup::Sender,
    d: &str,
) -> vigil_core::followup::SealedMessage {
    vigil_core::followup::SealedMessage {
        id: ReportId::generate().unwrap(),
        receipt_hash: [receipt; 32],
        from,
        day: day(d),
        sealed: format!("age-encryption.org/v1 message for {receipt}").into_bytes(),
    }
}

async fn intake_keeps_replies_only_for_known_receipts(f: Fresh) {
    use vigil_core::followup::Sender;
    let s = f.intake().await;
    s.intake_insert(&[report(1, "2024-03-01")]).await.unwrap();
    let known = message(1, Sender::Team, "2024-03-02");
    let unknown = message(2, Sender::Team, "2024-03-02");
    let held = s
        .intake_put_replies(&[known.clone(), unknown.clone()])
        .await
        .unwrap();
    assert_eq!(held, vec![known.id]);
    // Pushed again (the desk did not hear the answer): held once, still reported.
    assert_eq!(
        s.intake_put_replies(std::slice::from_ref(&known))
            .await
            .unwrap(),
        vec![known.id]
    );
    assert_eq!(s.intake_messages(&[1; 32]).await.unwrap(), vec![known]);
    assert!(s.intake_messages(&[2; 32]).await.unwrap().is_empty());
    // Replies are not follow-ups: nothing waits for the desk.
    assert!(s.intake_pending_followups(10).await.unwrap().is_empty());
}

async fn intake_followups_wait_for_the_desk(f: Fresh) {
    use vigil_core::followup::Sender;
    let s = f.intake().await;
    s.intake_insert(&[report(1, "2024-03-01")]).await.unwrap();
    let first = message(1, Sender::Reporter, "2024-03-02");
    let second = message(1, Sender::Reporter, "2024-03-03");
    assert!(s.intake_add_followup(&first).await.unwrap());
    assert!(s.intake_add_followup(&second).await.unwrap());
    assert!(
        !s.intake_add_followup(&message(9, Sender::Reporter, "2024-03-03"))
            .await
            .unwrap(),
        "a follow-up to an unknown receipt is not kept"
    );
    assert_eq!(
        s.intake_pending_followups(10).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(
        s.intake_pending_followups(1).await.unwrap(),
        vec![first.clone()]
    );
    assert_eq!(s.intake_followups_delivered(&[first.id]).await.unwrap(), 1);
    assert_eq!(s.intake_followups_delivered(&[first.id]).await.unwrap(), 0);
    assert_eq!(
        s.intake_pending_followups(10).await.unwrap(),
        vec![second.clone()]
    );
    // Delivered or not, the reporter still reads both back.
    assert_eq!(
        s.intake_messages(&[1; 32]).await.unwrap(),
        vec![first, second]
    );
}

async fn intake_forgets_messages_with_their_receipt(f: Fresh) {
    use vigil_core::followup::Sender;
    let s = f.intake().await;
    s.intake_insert(&[report(1, "2024-01-01"), report(2, "2024-03-01")])
        .await
        .unwrap();
    let old_reply = message(1, Sender::Team, "2024-01-02");
    let new_reply = message(2, Sender::Team, "2024-03-02");
    s.intake_put_replies(&[old_reply, new_reply.clone()])
        .await
        .unwrap();
    let waiting = message(1, Sender::Reporter, "2024-01-03");
    assert!(s.intake_add_followup(&waiting).await.unwrap());
    assert_eq!(
        s.intake_forget_receipts(day("2024-02-01")).await.unwrap(),
        1
    );
    // The old receipt's reply is gone; its follow-up waits until the desk has it.
    assert_eq!(
        s.intake_messages(&[1; 32]).await.unwrap(),
        vec![waiting.clone()]
    );
    assert_eq!(s.intake_messages(&[2; 32]).await.unwrap(), vec![new_reply]);
    s.intake_followups_delivered(&[waiting.id]).await.unwrap();
    s.intake_forget_receipts(day("2024-02-01")).await.unwrap();
    assert!(s.intake_messages(&[1; 32]).await.unwrap().is_empty());
}

async fn desk_messages_are_idempotent_and_pushed_once(f: Fresh) {
    use vigil_core::followup::Sender;
    let s = f.desk().await;
    let r = report(1, "2024-03-01");
    s.desk_store_pulled(std::slice::from_ref(&r)).await.unwrap();
    assert_eq!(s.desk_report(&r.id).await.unwrap(), Some(r.clone()));
    assert_eq!(
        s.desk_report(&ReportId::generate().unwrap()).await.unwrap(),
        None
    );
    let reply = message(1, Sender::Team, "2024-03-02");
    let followup = message(1, Sender::Reporter, "2024-03-03");
    assert_eq!(
        s.desk_add_messages(&[reply.clone(), followup.clone()])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.desk_add_messages(std::slice::from_ref(&followup))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.desk_messages().await.unwrap(),
        vec![reply.clone(), followup]
    );
    // Only the team's replies are handed to an intake, and only until taken.
    assert_eq!(
        s.desk_unpushed_replies(10).await.unwrap(),
        vec![reply.clone()]
    );
    assert_eq!(s.desk_mark_pushed(&[reply.id]).await.unwrap(), 1);
    assert_eq!(s.desk_mark_pushed(&[reply.id]).await.unwrap(), 0);
    assert!(s.desk_unpushed_replies(10).await.unwrap().is_empty());
}

// --- the whole record, for a public release (pubsite) ---

async fn record_all_lists_the_whole_record(f: Fresh) {
    let s = f.desk().await;
    assert!(s.record_all_actions().await.unwrap().is_empty());
    assert!(s.record_all_events().await.unwrap().is_empty());
    let mut a2 = action("a2", "2013-05-06", "RU-MOW", "rally");
    a2.stations = vec!["ОВД Тверское".into(), "ОВД Басманное".into()];
    let a1 = action("a1", "2013-06-12", "RU-SPE", "march");
    let mut unknown = action("a0", "2013-01-01", "RU-MOW", "picket");
    unknown.date = DateRow {
        day: None,
        precision: "unknown",
    };
    let mut e2 = event("e2", Some("p1"), Some("a2"), "fine", "2013-05-07", "RU-MOW");
    e2.articles = vec!["adm-20.2-5".into(), "adm-19.3".into()];
    let e1 = event(
        "e1",
        Some("p2"),
        Some("a2"),
        "detention",
        "2013-05-06",
        "RU-MOW",
    );
    let mut p2 = person("p2");
    p2.consent = "public".into();
    s.record_write(&RecordBatch {
        sources: vec![source("s1"), source("s2")],
        persons: vec![person("p1"), p2.clone()],
        actions: vec![a1.clone(), a2.clone(), unknown.clone()],
        counts: vec![
            count("a2", "s2", 30),
            count("a2", "s1", 12),
            count("a1", "s1", 3),
        ],
        events: vec![e2.clone(), e1.clone()],
        ..RecordBatch::default()
    })
    .await
    .unwrap();
    let mut a2_sorted = a2;
    a2_sorted.stations.sort();
    assert_eq!(
        s.record_all_actions().await.unwrap(),
        vec![a2_sorted, a1, unknown]
    );
    assert_eq!(
        s.record_all_action_counts().await.unwrap(),
        vec![
            count("a1", "s1", 3),
            count("a2", "s1", 12),
            count("a2", "s2", 30)
        ]
    );
    assert_eq!(
        s.record_all_persons().await.unwrap(),
        vec![person("p1"), p2]
    );
    let mut e2_sorted = e2;
    e2_sorted.articles.sort();
    assert_eq!(s.record_all_events().await.unwrap(), vec![e1, e2_sorted]);
}

// recspeed: the import's write, durable up to the last commits on SQLite.
async fn record_write_rerunnable_is_idempotent_and_all_or_nothing(f: Fresh) {
    let s = f.desk().await;
    let batch = RecordBatch {
        sources: vec![source("s1")],
        persons: vec![person("p1")],
        actions: vec![action("a1", "2013-05-06", "RU-MOW", "rally")],
        counts: vec![count("a1", "s1", 3)],
        events: vec![event(
            "e1",
            Some("p1"),
            Some("a1"),
            "detention",
            "2013-05-06",
            "RU-MOW",
        )],
        ..RecordBatch::default()
    };
    let first = s.record_write_rerunnable(&batch).await.unwrap();
    assert_eq!((first.persons, first.actions, first.events), (1, 1, 1));
    let again = s.record_write_rerunnable(&batch).await.unwrap();
    assert_eq!((again.persons, again.actions, again.events), (0, 0, 0));
    assert_eq!(s.record_person("p1").await.unwrap(), Some(person("p1")));
    assert_eq!(
        s.record_action_counts("a1").await.unwrap(),
        vec![count("a1", "s1", 3)]
    );

    // A batch naming a person nobody holds fails whole, and the store goes on.
    let bad = RecordBatch {
        sources: vec![source("s2")],
        events: vec![event(
            "e2",
            Some("ghost"),
            None,
            "detention",
            "2013-05-07",
            "RU-MOW",
        )],
        ..RecordBatch::default()
    };
    for _ in 0..6 {
        assert!(s.record_write_rerunnable(&bad).await.is_err());
    }
    assert_eq!(s.record_source("s2").await.unwrap(), None);
    assert_eq!(s.record_event("e2").await.unwrap(), None);
    let later = RecordBatch {
        persons: vec![person("p2")],
        ..RecordBatch::default()
    };
    assert_eq!(s.record_write(&later).await.unwrap().persons, 1);
}

// importfast: the bulk import's own write path (on an SQLite file, its own
// connection, references checked per batch, the facts' blocks dropped once
// per batch instead of by a trigger per row).
async fn record_import_checks_references_and_keeps_counting_facts(f: Fresh) {
    let s = f.desk().await;
    let total = |s: Arc<dyn DeskStore>| async move {
        let q = CountQuery {
            by: vec![],
            from: None,
            to: None,
        };
        let t = s.record_count_with_total(&q).await.unwrap().1;
        (t.actions, t.detentions, t.persons)
    };
    let mut a1 = action("a1", "2013-05-06", "RU-MOW", "rally");
    a1.stations = vec!["ОВД Басманное".into(), "ОВД Тверское".into()];
    let mut e1 = event(
        "e1",
        Some("p1"),
        Some("a1"),
        "detention",
        "2013-05-06",
        "RU-MOW",
    );
    e1.articles = vec!["adm-20.2-5".into()];
    let first = RecordBatch {
        sources: vec![source("s1")],
        persons: vec![person("p1")],
        actions: vec![a1.clone()],
        counts: vec![count("a1", "s1", 3)],
        events: vec![e1.clone()],
        ..RecordBatch::default()
    };
    let done = s.record_import(first.clone()).await.unwrap();
    assert_eq!((done.persons, done.actions, done.events), (1, 1, 1));
    assert_eq!(s.record_action("a1").await.unwrap(), Some(a1));
    assert_eq!(s.record_event("e1").await.unwrap(), Some(e1));
    assert_eq!(s.record_person("p1").await.unwrap(), Some(person("p1")));
    s.record_prepare_counting().await.unwrap();
    assert_eq!(total(s.clone()).await, (1, 3, 1));

    // A later batch names the earlier action: its event is counted (the
    // blocks the facts were read from are dropped by the batch).
    let second = RecordBatch {
        sources: vec![source("s1")],
        persons: vec![person("p2"), person("p3")],
        events: vec![
            event(
                "e2",
                Some("p2"),
                Some("a1"),
                "detention",
                "2013-05-06",
                "RU-MOW",
            ),
            event(
                "e3",
                Some("p3"),
                Some("a1"),
                "detention",
                "2013-05-06",
                "RU-MOW",
            ),
            event(
                "e4",
                Some("p3"),
                Some("a1"),
                "detention",
                "2013-05-06",
                "RU-MOW",
            ),
        ],
        ..RecordBatch::default()
    };
    let done = s.record_import(second.clone()).await.unwrap();
    assert_eq!((done.persons, done.actions, done.events), (2, 0, 3));
    // Three named detainees against a reported 3 (p3 once per action).
    assert_eq!(total(s.clone()).await, (1, 3, 3));
    let again = s.record_import(second).await.unwrap();
    assert_eq!((again.persons, again.actions, again.events), (0, 0, 0));
    let again = s.record_import(first).await.unwrap();
    assert_eq!((again.persons, again.actions, again.events), (0, 0, 0));

    // A batch naming a record neither in it nor held fails whole, whichever
    // reference it is, and the store goes on.
    let ghost = |e: EventRow| RecordBatch {
        sources: vec![source("s2")],
        persons: vec![person("p9")],
        events: vec![e],
        ..RecordBatch::default()
    };
    let mut no_case = event("e9", Some("p9"), None, "fine", "2013-05-07", "RU-MOW");
    no_case.case_id = Some("ghost".into());
    let mut no_source = event("e9", Some("p9"), None, "fine", "2013-05-07", "RU-MOW");
    no_source.origin = Some(Origin {
        source_id: "ghost".into(),
        row: None,
    });
    for bad in [
        ghost(event(
            "e9",
            Some("ghost"),
            None,
            "fine",
            "2013-05-07",
            "RU-MOW",
        )),
        ghost(event(
            "e9",
            Some("p9"),
            Some("ghost"),
            "fine",
            "2013-05-07",
            "RU-MOW",
        )),
        ghost(no_case),
        ghost(no_source),
        RecordBatch {
            counts: vec![count("ghost", "s1", 1)],
            ..RecordBatch::default()
        },
    ] {
        assert!(s.record_import(bad).await.is_err());
    }
    assert_eq!(s.record_source("s2").await.unwrap(), None);
    assert_eq!(s.record_person("p9").await.unwrap(), None);
    assert_eq!(s.record_event("e9").await.unwrap(), None);
    assert_eq!(total(s.clone()).await, (1, 3, 3));

    // The facts' triggers are in place after the imports: an ordinary write
    // is counted too.
    s.record_write(&RecordBatch {
        persons: vec![person("p4")],
        actions: vec![action("a2", "2013-06-12", "RU-SPE", "rally")],
        events: vec![event(
            "e5",
            Some("p4"),
            Some("a2"),
            "detention",
            "2013-06-12",
            "RU-SPE",
        )],
        ..RecordBatch::default()
    })
    .await
    .unwrap();
    assert_eq!(total(s.clone()).await, (2, 4, 4));
}

// import4: `record_import` writes the counting facts of its new rows itself,
// batch by batch across blocks of 16,384 rowids: on SQLite they are complete
// after the import without `record_prepare_counting`, and byte for byte what
// a rebuild from the tables makes; on both backends the counts are the ones
// worked out here.
async fn record_import_writes_the_counting_facts_a_rebuild_would(f: Fresh) {
    let s = f.desk().await;
    let sqlite = f.url.starts_with("sqlite:");
    // (block, facts) of both tables, and whether every block is there.
    let blocks = || async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&f.url).await.unwrap();
        let mut out = Vec::new();
        for (table, facts) in [
            ("record_events", "record_event_facts"),
            ("record_actions", "record_action_facts"),
        ] {
            let last: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COALESCE(MAX(rowid), 0) >> 14 FROM {table}"
            )))
            .fetch_one(&mut c)
            .await
            .unwrap();
            let held: Vec<(i64, Vec<u8>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT block, facts FROM {facts} ORDER BY block"
            )))
            .fetch_all(&mut c)
            .await
            .unwrap();
            assert_eq!(
                held.iter().map(|(b, _)| *b).collect::<Vec<_>>(),
                (0..=last).collect::<Vec<_>>(),
                "every block of {facts} is held"
            );
            out.push(held);
        }
        out
    };
    // Batch n: 9,000 events of new persons at the batch's own action, the
    // first 1,000 of them also fined outside any action; every event of
    // batch 1 and later names a person and the action of batch 0 as well.
    let batch = |n: usize| {
        let mut b = RecordBatch {
            sources: vec![source("s1")],
            actions: vec![action(
                &format!("a{n}"),
                &format!("2013-0{}-06", n + 1),
                "RU-MOW",
                "rally",
            )],
            ..RecordBatch::default()
        };
        for i in 0..9_000 {
            let p = format!("p{n}-{i:05}");
            b.persons.push(person(&p));
            let date = format!("2013-0{}-06", n + 1);
            b.events.push(event(
                &format!("e{n}-{i:05}"),
                Some(&p),
                Some(&format!("a{n}")),
                "detention",
                &date,
                "RU-MOW",
            ));
            if i < 1_000 {
                b.events.push(event(
                    &format!("f{n}-{i:05}"),
                    Some(&p),
                    None,
                    "fine",
                    &date,
                    "RU-SPE",
                ));
            }
        }
        if n > 0 {
            b.events.push(event(
                &format!("x{n}"),
                Some("p0-00000"),
                Some("a0"),
                "detention",
                "2013-01-06",
                "RU-MOW",
            ));
        }
        b
    };
    let first = s.record_import(batch(0)).await.unwrap();
    assert_eq!(
        (first.persons, first.actions, first.events),
        (9_000, 1, 10_000)
    );
    if sqlite {
        // The first block's facts lost behind the import's back: the next
        // batch, which adds to that block, builds its earlier rows from the tables.
        f.execute("DELETE FROM record_event_facts").await;
    }
    let second = s.record_import(batch(1)).await.unwrap();
    assert_eq!((second.events, second.actions), (10_001, 1));
    // Run again, and a batch holding one event twice: nothing counted twice.
    let again = s.record_import(batch(1)).await.unwrap();
    assert_eq!((again.persons, again.actions, again.events), (0, 0, 0));
    let mut third = batch(2);
    third.events.push(third.events[5].clone());
    assert_eq!(s.record_import(third).await.unwrap().events, 10_001);

    let month = |m: &str, actions, detentions, persons, events: &[(&str, u64)]| {
        row(
            &[Some(m), Some("RU-MOW")],
            actions,
            detentions,
            persons,
            events,
        )
    };
    let fines = |m: &str| row(&[Some(m), Some("RU-SPE")], 0, 0, 1_000, &[("fine", 1_000)]);
    let expected = (
        vec![
            // p0-00000 at a0 three times (batch 0, x1, x2): once.
            month("2013-01", 1, 9_000, 9_000, &[("detention", 9_002)]),
            fines("2013-01"),
            month("2013-02", 1, 9_000, 9_000, &[("detention", 9_000)]),
            fines("2013-02"),
            month("2013-03", 1, 9_000, 9_000, &[("detention", 9_000)]),
            fines("2013-03"),
        ],
        27_000,
    );
    if sqlite {
        let imported = blocks().await;
        assert_eq!(counted_by_month_and_region(&s).await, expected);
        // Rebuilt from the tables, with the same codes: the same bytes.
        f.execute("DELETE FROM record_event_facts; DELETE FROM record_action_facts")
            .await;
        s.record_prepare_counting().await.unwrap();
        assert_eq!(blocks().await, imported);
    }
    s.record_prepare_counting().await.unwrap();
    assert_eq!(counted_by_month_and_region(&s).await, expected);
}

// intakechan: intake_insert writes a batch in multi-row statements of 100
// reports; a batch of 250 spans three, and order and receipts must hold.
async fn intake_big_batch_spans_statement_chunks(f: Fresh) {
    let s = f.intake().await;
    let make = |n: u16| {
        let mut hash = [0u8; 32];
        hash[..2].copy_from_slice(&n.to_be_bytes());
        hash[31] = 1;
        SealedReport {
            id: ReportId::generate().unwrap(),
            receipt_hash: hash,
            sealed: format!("age-encryption.org/v1 sealed {n}").into_bytes(),
            received: "2024-02-03".parse().unwrap(),
        }
    };
    let first: Vec<SealedReport> = (0..250).map(make).collect();
    s.intake_insert(&first).await.unwrap();
    let later = make(1000);
    s.intake_insert(std::slice::from_ref(&later)).await.unwrap();
    assert_eq!(s.intake_pending_count().await.unwrap(), 251);
    let pending = s.intake_pending(500).await.unwrap();
    let mut expected = first.clone();
    expected.push(later.clone());
    assert_eq!(pending, expected);
    for r in [&first[0], &first[99], &first[100], &first[249], &later] {
        assert!(s.intake_receipt_known(&r.receipt_hash).await.unwrap());
    }
    // A duplicate id anywhere sinks the whole batch.
    let mut bad: Vec<SealedReport> = (2000..2150).map(make).collect();
    bad[140].id = first[3].id;
    assert!(s.intake_insert(&bad).await.is_err());
    assert_eq!(s.intake_pending_count().await.unwrap(), 251);
    assert!(!s.intake_receipt_known(&bad[0].receipt_hash).await.unwrap());
}

// intakemerge: a report is stored while other connections write (upkeep
// forgetting receipts, the desk acknowledging). Reading the highest seq
// before writing, inside the insert's transaction, made SQLite refuse the
// report at once with "database is locked" (seen as 503s in the intake's tests).
async fn intake_insert_waits_for_concurrent_writers(f: Fresh) {
    fn report(n: u32) -> SealedReport {
        let mut hash = [0u8; 32];
        hash[..4].copy_from_slice(&n.to_be_bytes());
        hash[31] = 2;
        SealedReport {
            id: ReportId::generate().unwrap(),
            receipt_hash: hash,
            sealed: format!("age-encryption.org/v1 sealed {n}").into_bytes(),
            received: "2024-02-03".parse().unwrap(),
        }
    }
    let s = f.intake().await;
    let mut tasks = Vec::new();
    for n in 0..40u32 {
        let store = s.clone();
        tasks.push(tokio::spawn(async move {
            store.intake_insert(&[report(n)]).await.map(|_| ())
        }));
        let store = s.clone();
        tasks.push(tokio::spawn(async move {
            store
                .intake_forget_receipts("2000-01-01".parse().unwrap())
                .await
                .map(|_| ())
        }));
        let store = s.clone();
        tasks.push(tokio::spawn(async move {
            store
                .intake_acknowledge(&[ReportId::generate().unwrap()])
                .await
                .map(|_| ())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(s.intake_pending_count().await.unwrap(), 40);
}

// --- recfast: counting facts follow every change to the record ---

/// Counts by month and region, and the total's persons, after each kind of
/// change: an edit, a bulk write across more than one block of facts (16,384
/// events), deletions in SQL behind the store's back, a person deleted.
async fn record_counting_follows_every_change(f: Fresh) {
    let s = f.desk().await;
    s.record_write(&RecordBatch {
        sources: vec![source("s1")],
        persons: ["p1", "p2", "p3"].into_iter().map(person).collect(),
        actions: vec![action("a1", "2013-05-06", "RU-MOW", "rally")],
        events: vec![
            event(
                "e1",
                Some("p1"),
                Some("a1"),
                "detention",
                "2013-05-06",
                "RU-MOW",
            ),
            event(
                "e2",
                Some("p2"),
                Some("a1"),
                "detention",
                "2013-05-06",
                "RU-MOW",
            ),
            event("e3", Some("p1"), None, "fine", "2013-06-15", "RU-SPE"),
        ],
        ..RecordBatch::default()
    })
    .await
    .unwrap();
    s.record_prepare_counting().await.unwrap();
    let may = |detentions, persons, events: &[(&str, u64)]| {
        row(
            &[Some("2013-05"), Some("RU-MOW")],
            1,
            detentions,
            persons,
            events,
        )
    };
    assert_eq!(
        counted_by_month_and_region(&s).await,
        (
            vec![
                may(2, 2, &[("detention", 2)]),
                row(&[Some("2013-06"), Some("RU-SPE")], 0, 0, 1, &[("fine", 1)]),
            ],
            2
        )
    );

    // An edit: the fine becomes a detention outside any action, in May, in Moscow.
    let mut e3 = event("e3", Some("p1"), None, "detention", "2013-05-20", "RU-MOW");
    e3.kind = "detention".into();
    s.record_edit(Edit::Event(&e3), "verifier", day("2024-04-02"))
        .await
        .unwrap();
    assert_eq!(
        counted_by_month_and_region(&s).await,
        (vec![may(3, 2, &[("detention", 3)])], 2)
    );

    // More events than one block holds: p3 at a2 16,500 times counts once.
    let bulk: Vec<EventRow> = (0..16_500)
        .map(|i| {
            event(
                &format!("b{i:05}"),
                Some("p3"),
                Some("a2"),
                "detention",
                "2014-01-01",
                "RU-SPE",
            )
        })
        .collect();
    s.record_write(&RecordBatch {
        actions: vec![action("a2", "2014-01-01", "RU-SPE", "rally")],
        events: bulk,
        ..RecordBatch::default()
    })
    .await
    .unwrap();
    s.record_write(&RecordBatch {
        events: vec![event(
            "e4",
            Some("p2"),
            None,
            "search",
            "2015-01-01",
            "RU-MOW",
        )],
        ..RecordBatch::default()
    })
    .await
    .unwrap();
    let spb = |persons, events: &[(&str, u64)]| {
        row(
            &[Some("2014-01"), Some("RU-SPE")],
            1,
            u64::from(persons > 0),
            persons,
            events,
        )
    };
    let later = |persons| {
        row(
            &[Some("2015-01"), Some("RU-MOW")],
            0,
            0,
            persons,
            &[("search", 1)],
        )
    };
    assert_eq!(
        counted_by_month_and_region(&s).await,
        (
            vec![
                may(3, 2, &[("detention", 3)]),
                spb(1, &[("detention", 16_500)]),
                later(1)
            ],
            3
        )
    );

    // Deleted behind the store's back: a1 now names p2 only.
    f.execute("DELETE FROM record_events WHERE id = 'e1'").await;
    // An edit in the second block: e4 names no person.
    let e4 = event("e4", None, None, "search", "2015-01-01", "RU-MOW");
    s.record_edit(Edit::Event(&e4), "verifier", day("2024-04-02"))
        .await
        .unwrap();
    assert_eq!(
        counted_by_month_and_region(&s).await,
        (
            vec![
                may(2, 2, &[("detention", 2)]),
                spb(1, &[("detention", 16_500)]),
                later(0)
            ],
            3
        )
    );

    // A person deleted with their events.
    f.execute("DELETE FROM record_events WHERE person_id = 'p3'")
        .await;
    f.execute("DELETE FROM record_persons WHERE id = 'p3'")
        .await;
    s.record_prepare_counting().await.unwrap();
    assert_eq!(
        counted_by_month_and_region(&s).await,
        (
            vec![may(2, 2, &[("detention", 2)]), spb(0, &[]), later(0)],
            2
        )
    );
}

/// recfast: while another connection holds SQLite's write lock, counting cannot
/// rebuild the facts an edit dropped; it counts by the general scan instead (after
/// the busy timeout) and gives what the rebuilt facts give once the lock is gone.
#[tokio::test]
async fn sqlite_counts_alike_when_the_facts_cannot_be_rebuilt() {
    use sqlx::Connection;
    let f = sqlite().await;
    let s = f.desk().await;
    s.record_write(&RecordBatch {
        sources: vec![source("s1")],
        persons: ["p1", "p2"].into_iter().map(person).collect(),
        actions: vec![action("a1", "2013-05-06", "RU-MOW", "rally")],
        counts: vec![count("a1", "s1", 5)],
        events: vec![
            event(
                "e1",
                Some("p1"),
                Some("a1"),
                "detention",
                "2013-05-06",
                "RU-MOW",
            ),
            event(
                "e2",
                Some("p1"),
                Some("a1"),
                "detention",
                "2013-05-06",
                "RU-MOW",
            ),
        ],
        ..RecordBatch::default()
    })
    .await
    .unwrap();
    let q = CountQuery {
        by: vec![StatKey::Month, StatKey::Region],
        from: None,
        to: None,
    };
    s.record_count_with_total(&q).await.unwrap();
    // Drops the facts' block; then another connection takes the write lock.
    s.record_write(&RecordBatch {
        events: vec![event(
            "e3",
            Some("p2"),
            None,
            "fine",
            "2013-06-15",
            "RU-SPE",
        )],
        ..RecordBatch::default()
    })
    .await
    .unwrap();
    let mut other = sqlx::SqliteConnection::connect(&f.url).await.unwrap();
    let lock = other.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let scanned = s.record_count_with_total(&q).await.unwrap();
    lock.rollback().await.unwrap();
    let from_facts = s.record_count_with_total(&q).await.unwrap();
    assert_eq!(scanned, from_facts);
    assert_eq!(
        shape(from_facts.0),
        vec![
            row(
                &[Some("2013-05"), Some("RU-MOW")],
                1,
                5,
                1,
                &[("detention", 2)]
            ),
            row(&[Some("2013-06"), Some("RU-SPE")], 0, 0, 1, &[("fine", 1)]),
        ]
    );
    assert_eq!(from_facts.1.persons, 2);
}
// intakemerge: reports with files are large; a pull stops before the sealed
// bytes pass the budget, always hands out at least one, and keeps the order.
async fn intake_pending_stops_at_the_byte_budget(f: Fresh) {
    let s = f.intake().await;
    let sizes = [10usize, 10, 10, 1000, 5];
    let reports: Vec<SealedReport> = sizes
        .iter()
        .enumerate()
        .map(|(n, size)| {
            let mut hash = [0u8; 32];
            hash[0] = u8::try_from(n).unwrap();
            hash[31] = 3;
            SealedReport {
                id: ReportId::generate().unwrap(),
                receipt_hash: hash,
                sealed: vec![b'a' + u8::try_from(n).unwrap(); *size],
                received: "2024-02-03".parse().unwrap(),
            }
        })
        .collect();
    s.intake_insert(&reports).await.unwrap();
    let ids = |v: Vec<SealedReport>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all: Vec<ReportId> = reports.iter().map(|r| r.id).collect();
    // 10 + 10 = 20 is under 25; the third would start at 20, still under.
    assert_eq!(
        ids(s.intake_pending_within(100, 25).await.unwrap()),
        all[..3]
    );
    assert_eq!(
        ids(s.intake_pending_within(100, 20).await.unwrap()),
        all[..2]
    );
    // The first always goes, however large.
    assert_eq!(
        ids(s.intake_pending_within(100, 1).await.unwrap()),
        all[..1]
    );
    // The large one ends a pull; the count limit still holds.
    assert_eq!(
        ids(s.intake_pending_within(100, 31).await.unwrap()),
        all[..4]
    );
    assert_eq!(
        ids(s.intake_pending_within(2, 1 << 30).await.unwrap()),
        all[..2]
    );
    assert_eq!(
        ids(s.intake_pending_within(100, 1 << 30).await.unwrap()),
        all
    );
    // The same reports, whole, as intake_pending gives them.
    assert_eq!(
        s.intake_pending_within(100, 1 << 30).await.unwrap(),
        s.intake_pending(100).await.unwrap()
    );
}

// --- pubstream: the record in keyset pages ---

async fn record_pages_walk_the_whole_record_once_in_order(f: Fresh) {
    use vigil_store::record::{ActionCursor, ActionDetained, EventFacts};
    let s = f.desk().await;
    assert!(s.record_actions_page(None, 10).await.unwrap().is_empty());
    assert!(
        s.record_event_facts_page(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.record_counted_persons_page(None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Two actions on one day (told apart by id), one later, two undated.
    let b = action("b", "2013-05-06", "RU-MOW", "rally");
    let a = action("a", "2013-05-06", "RU-SPE", "march");
    let c = action("c", "2012-01-01", "RU-MOW", "picket");
    let undated = |id: &str| {
        let mut x = action(id, "2013-01-01", "RU-MOW", "picket");
        x.date = DateRow {
            day: None,
            precision: "unknown",
        };
        x
    };
    let (u2, u1) = (undated("u2"), undated("u1"));
    let mut persons = vec![person("p1"), person("p2"), person("p3"), person("p4")];
    persons[1].consent = "counts".into();
    persons[2].consent = "public".into();
    persons[3].consent = "public".into();
    // p1 detained at b twice (counted once), an unnamed detention at b, a fine
    // at b; p2 and p4 elsewhere; p3 (public) has no event, p1's consent is none.
    let mut e3 = event(
        "e3",
        Some("p1"),
        Some("b"),
        "detention",
        "2013-05-06",
        "RU-MOW",
    );
    e3.articles = vec!["adm-20.2-5".into(), "adm-19.3".into()];
    let e1 = event(
        "e1",
        Some("p1"),
        Some("b"),
        "detention",
        "2013-05-06",
        "RU-MOW",
    );
    let e5 = event("e5", None, Some("b"), "detention", "2013-05-06", "RU-MOW");
    let mut e2 = event("e2", Some("p2"), Some("b"), "fine", "2013-05-07", "RU-MOW");
    e2.articles = vec!["adm-20.2-5".into()];
    let mut e4 = event("e4", Some("p4"), None, "search", "2014-02-01", "RU-SPE");
    e4.date = DateRow {
        day: None,
        precision: "unknown",
    };
    e4.trigger = Some("post".into());
    // A detention outside any action, under two articles.
    let mut e6 = event("e6", Some("p2"), None, "detention", "2013-06-01", "RU-SPE");
    e6.articles = vec!["adm-20.2-5".into(), "adm-20.2-8".into()];
    s.record_write(&RecordBatch {
        sources: vec![source("s1"), source("s2")],
        persons,
        actions: vec![u2.clone(), b.clone(), a.clone(), c.clone(), u1.clone()],
        counts: vec![
            count("b", "s1", 1),
            count("a", "s1", 3),
            count("a", "s2", 9),
        ],
        events: vec![
            e3.clone(),
            e1.clone(),
            e5.clone(),
            e2.clone(),
            e4.clone(),
            e6.clone(),
        ],
        ..RecordBatch::default()
    })
    .await
    .unwrap();

    // Actions, two a page: date order, then id, undated last.
    let mut walked: Vec<ActionDetained> = Vec::new();
    let mut after: Option<ActionCursor> = None;
    let mut pages = 0;
    loop {
        let page = s.record_actions_page(after.as_ref(), 2).await.unwrap();
        assert!(page.len() <= 2);
        pages += 1;
        let Some(last) = page.last() else { break };
        after = Some(ActionCursor::after(&last.action));
        walked.extend(page);
    }
    assert_eq!(pages, 4, "three pages of rows, then an empty one");
    let ids: Vec<&str> = walked.iter().map(|x| x.action.id.as_str()).collect();
    assert_eq!(ids, ["c", "a", "b", "u1", "u2"]);
    assert_eq!(walked[1].action, a, "every column reads back");
    let numbers: Vec<(u64, u64)> = walked.iter().map(|x| (x.named, x.reported)).collect();
    // b: p1 once plus one unnamed = 2 named, 1 reported; a: 9 reported.
    assert_eq!(numbers, [(0, 0), (0, 9), (2, 1), (0, 0), (0, 0)]);
    // A page can start in the undated part.
    let from_undated = s
        .record_actions_page(Some(&ActionCursor::after(&u1)), 10)
        .await
        .unwrap();
    assert_eq!(from_undated.len(), 1);
    assert_eq!(from_undated[0].action.id, "u2");

    // Events, two a page, by id, with their articles sorted.
    let mut events: Vec<EventFacts> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .record_event_facts_page(after.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        events.extend(page);
    }
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["e1", "e2", "e3", "e4", "e5", "e6"]);
    assert_eq!(events[2].articles, ["adm-19.3", "adm-20.2-5"]);
    assert_eq!(events[1].articles, ["adm-20.2-5"]);
    assert!(events[0].articles.is_empty() && events[4].articles.is_empty());
    assert_eq!(
        events[3],
        EventFacts {
            id: "e4".into(),
            person_id: Some("p4".into()),
            action_id: None,
            kind: "search".into(),
            date: e4.date,
            region: Some("RU-SPE".into()),
            articles: vec![],
            trigger: Some("post".into()),
        }
    );

    // Counted persons: consent other than none, with an event; one a page.
    let mut counted = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .record_counted_persons_page(after.as_deref(), 1)
            .await
            .unwrap();
        assert!(page.len() <= 1);
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        counted.extend(page);
    }
    let ids: Vec<&str> = counted.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p2", "p4"]);
    assert_eq!(counted[1].consent, "public");
    assert_eq!(counted[1].sealed, person("p4").sealed);

    // Every breakdown in one scan: the same groups as one count at a time.
    let mut bys: Vec<Vec<StatKey>> = StatKey::ALL.iter().map(|k| vec![*k]).collect();
    bys.push(vec![StatKey::Month, StatKey::Region]);
    bys.push(vec![StatKey::Article, StatKey::EventKind]);
    let (groups, total) = s.record_count_breakdowns(&bys).await.unwrap();
    assert_eq!(groups.len(), bys.len());
    for (by, got) in bys.iter().zip(&groups) {
        let want = s
            .record_count(&CountQuery {
                by: by.clone(),
                from: None,
                to: None,
            })
            .await
            .unwrap();
        assert_eq!(got, &want, "{by:?}");
    }
    let (_, want) = s
        .record_count_with_total(&CountQuery::default())
        .await
        .unwrap();
    assert_eq!(total, want);
    // b: 2 named (p1 once, one unnamed) over 1 reported; a: 9 reported; e6: 1.
    assert_eq!(total.detentions, 2 + 9 + 1);
}

// importwrite: on an SQLite file the import's batches go to a writer thread
// of their own (`record_import_pipe`); PostgreSQL has none (the import uses
// `record_import`). Batches are written in the order sent (a later one names
// an earlier one's action), each outcome comes back in order, and a refused
// batch stops the writer: nothing after it is written, the batches before
// it stay, and a new pipe writes again.
async fn record_import_pipe_writes_in_order_and_stops_at_a_refused_batch(f: Fresh) {
    let s = f.desk().await;
    let pipe = s.record_import_pipe(2).unwrap();
    assert_eq!(pipe.is_some(), f.url.starts_with("sqlite:"));
    let Some(mut pipe) = pipe else { return };
    let batch = |n: usize, a: &str, new_action: bool| RecordBatch {
        sources: vec![source("s1")],
        // Batch 3 has two persons, so that its outcome differs from batch 2's
        // and a swap of the two is seen (review).
        persons: if n == 3 {
            vec![person("p3"), person("p3b")]
        } else {
            vec![person(&format!("p{n}"))]
        },
        actions: if new_action {
            vec![action(a, "2013-05-06", "RU-MOW", "rally")]
        } else {
            vec![]
        },
        events: vec![event(
            &format!("e{n}"),
            Some(&format!("p{n}")),
            Some(a),
            "detention",
            "2013-05-06",
            "RU-MOW",
        )],
        ..RecordBatch::default()
    };
    // Batch 2 names batch 1's action, batch 3 batch 2's person's action.
    for n in 1..=3 {
        assert!(pipe.send(batch(n, "a1", n == 1)));
    }
    let outcomes = pipe.finish().unwrap();
    let got: Vec<_> = outcomes
        .iter()
        .map(|o| (o.persons, o.actions, o.events))
        .collect();
    assert_eq!(got, vec![(1, 1, 1), (1, 0, 1), (2, 0, 1)]);
    for n in 1..=3 {
        assert!(s.record_event(&format!("e{n}")).await.unwrap().is_some());
    }

    // Sent again: everything is held.
    let mut pipe = s.record_import_pipe(2).unwrap().unwrap();
    assert!(pipe.send(batch(1, "a1", true)));
    assert_eq!(pipe.finish().unwrap()[0].events, 0);

    // A batch naming an unknown action is refused; the one after it is not
    // written even if it was queued.
    let mut pipe = s.record_import_pipe(2).unwrap().unwrap();
    assert!(pipe.send(batch(4, "a1", false)));
    let _ = pipe.send(batch(5, "ghost", false));
    let _ = pipe.send(batch(6, "a1", false));
    assert!(pipe.finish().is_err());
    assert!(s.record_event("e4").await.unwrap().is_some());
    assert_eq!(s.record_person("p5").await.unwrap(), None);
    assert_eq!(s.record_event("e6").await.unwrap(), None);

    // A new pipe opens the connection again and writes.
    let mut pipe = s.record_import_pipe(2).unwrap().unwrap();
    assert!(pipe.send(batch(6, "a1", false)));
    assert_eq!(pipe.finish().unwrap()[0].events, 1);
    assert!(s.record_event("e6").await.unwrap().is_some());
}

//! Gaps the issue 8 audit found on a running build (docs/threat-model.md,
//! "Issue 8: where each finding stands").

use super::{World, vigil};

/// "Nothing was written", says a refused passphrase: not even the data folder
/// or its `desk` subfolder (they were made before the passphrase was judged).
#[test]
fn a_refused_passphrase_leaves_no_folder_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = vigil(&["keygen", "--kdf-work-factor", "10", "--data"])
        .arg(&data)
        .env("VIGIL_PASSPHRASE", "a")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a weak passphrase was accepted");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!data.exists(), "a refused keygen made {}", data.display());
}

/// The occurrences of an age header in the intake's database and its WAL.
fn age_headers(w: &World) -> usize {
    let db = w.data().join("intake/intake.db");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
    bytes
        .windows(18)
        .filter(|w| *w == b"age-encryption.org")
        .count()
}

/// Issue 8 found 3,232 age headers in the free pages of an intake database
/// with nothing pending: reports purged before `secure_delete` was on. Such a
/// database, from an older vigil, is rewritten when `vigil intake` starts.
#[tokio::test(flavor = "multi_thread")]
async fn an_intake_started_on_an_older_database_rewrites_its_freed_ciphertext() {
    use sqlx::Connection;
    let mut w = World::new();
    drop(w.intake_store().await);
    let url = vigil_store::sqlite_url(&w.data().join("intake/intake.db"));
    let mut old = sqlx::SqliteConnection::connect(&url).await.unwrap();
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
    assert!(age_headers(&w) >= 30, "the old purge left nothing to clear");
    w.start_intake();
    assert_eq!(
        age_headers(&w),
        0,
        "old ciphertext survived the intake's start"
    );
}

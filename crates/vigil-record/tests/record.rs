//! The record opened with its key, on a real SQLite desk store: an edit keeps
//! the previous version in the history and refuses a stale version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use vigil_core::Day;
use vigil_record::model::{Person, PersonIdentity};
use vigil_record::{Record, RecordKey};

fn person(region: &str) -> Person {
    Person {
        id: "p1".into(),
        identity: PersonIdentity {
            name: "Иванова Мария".into(),
            ..PersonIdentity::default()
        },
        gender: None,
        region: Some(region.into()),
        roles: vec![],
        consent: "none".into(),
        origin: None,
    }
}

#[tokio::test]
async fn an_edit_keeps_the_previous_version_and_refuses_a_stale_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open_desk(&vigil_store::sqlite_url(&dir.path().join("desk.db")))
        .await
        .unwrap();
    let key = RecordKey::generate().unwrap();
    let record = Record {
        store: store.as_ref(),
        key: &key,
    };
    let day1: Day = "2026-12-01".parse().unwrap();
    let day2: Day = "2026-12-02".parse().unwrap();
    record
        .add(&[person("MOW")], &[], &[], &[], "verifier", day1)
        .await
        .unwrap();

    let mut edited = person("SPE");
    edited.identity.name = "Иванова Мария Петровна".into();
    record
        .edit_person(&edited, 1, "lawyer", day2)
        .await
        .unwrap();

    let now = record.person("p1").await.unwrap().unwrap();
    assert_eq!(now.region.as_deref(), Some("SPE"));
    assert_eq!(now.identity.name, "Иванова Мария Петровна");
    let history = record.history("person", "p1").await.unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].version, 1);
    assert_eq!(history[0].editor, "lawyer");
    assert_eq!(history[0].day, day2);
    assert!(
        history[0].changed.iter().any(|f| f == "region"),
        "{history:?}"
    );

    // A second edit made from the same (now stale) version 1 is refused and
    // changes nothing.
    assert!(
        record
            .edit_person(&person("VOR"), 1, "other", day2)
            .await
            .is_err()
    );
    let still = record.person("p1").await.unwrap().unwrap();
    assert_eq!(still.region.as_deref(), Some("SPE"));
    assert_eq!(record.history("person", "p1").await.unwrap().len(), 1);
}

//! deskcoding: the queue's reads, coding reports into the record, merging persons.

use vigil_store::StoreError;
use vigil_store::coding::{ActionFilter, MergeRow, SupportRow, Supported};
use vigil_store::record::{CaseRow, EventsOf, RecordBatch, SourceRow};

use super::{Fresh, action, day, event, person, postgres, report, source, sqlite, stamp};

conformance!(
    reports_since_reads_only_what_was_pulled_after,
    coded_reports_are_those_that_support_a_record,
    a_merge_moves_events_and_cases_and_its_undo_moves_them_back,
    actions_are_found_by_date_and_region,
    retention_keeps_persons_a_merge_names,
    // deskfast
    person_versions_follow_edits_and_merges,
    // import5
    a_files_records_and_a_reports_are_found_by_their_source,
);

async fn person_versions_follow_edits_and_merges(f: Fresh) {
    let s = f.desk().await;
    assert!(s.record_person_versions().await.unwrap().is_empty());
    let mut batch = RecordBatch {
        sources: vec![source("s1")],
        ..RecordBatch::default()
    };
    for id in ["p3", "p1", "p2"] {
        batch.persons.push(person(id));
    }
    s.record_write(&batch).await.unwrap();
    let versions = s.record_person_versions().await.unwrap();
    let persons: Vec<(String, i64)> = s
        .record_persons()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p.stamp.version))
        .collect();
    assert_eq!(versions, persons, "the same persons in the same order");
    assert_eq!(
        versions,
        [
            ("p1".to_owned(), 1),
            ("p2".to_owned(), 1),
            ("p3".to_owned(), 1)
        ]
    );
    let mut edited = person("p2");
    edited.sealed = b"another name".to_vec();
    s.record_edit(
        vigil_store::record::Edit::Person(&edited),
        "verifier",
        day("2026-02-01"),
    )
    .await
    .unwrap();
    s.record_merge(&MergeRow {
        id: "m1".into(),
        kept_id: "p1".into(),
        merged_id: "p3".into(),
        day: day("2026-02-01"),
        editor: "verifier".into(),
        undone: None,
    })
    .await
    .unwrap();
    assert_eq!(
        s.record_person_versions().await.unwrap(),
        [("p1".to_owned(), 1), ("p2".to_owned(), 2)]
    );
}

async fn reports_since_reads_only_what_was_pulled_after(f: Fresh) {
    let s = f.desk().await;
    assert!(s.desk_reports_since(0).await.unwrap().is_empty());
    let (a, b, c) = (
        report(1, "2026-01-01"),
        report(2, "2026-01-02"),
        report(3, "2026-01-03"),
    );
    s.desk_store_pulled(&[a.clone(), b.clone()]).await.unwrap();
    let first = s.desk_reports_since(0).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].report, a);
    assert_eq!(first[1].report, b);
    assert!(first[0].seq < first[1].seq);
    let last = first[1].seq;
    assert!(s.desk_reports_since(last).await.unwrap().is_empty());
    s.desk_store_pulled(&[c.clone(), a.clone()]).await.unwrap();
    let next = s.desk_reports_since(last).await.unwrap();
    assert_eq!(
        next.len(),
        1,
        "only the new report, not the one held already"
    );
    assert_eq!(next[0].report, c);
}

fn report_source(id: &str, report_id: &str) -> SourceRow {
    SourceRow {
        id: id.into(),
        kind: "report".into(),
        report_id: Some(report_id.into()),
        file_sha256: None,
        sealed: None,
        added: day("2026-01-05"),
    }
}

async fn coded_reports_are_those_that_support_a_record(f: Fresh) {
    let s = f.desk().await;
    let mut p = person("p1");
    p.origin = None;
    p.region = Some("RU-SPE".into());
    let mut e = event("e1", Some("p1"), None, "detention", "2026-01-04", "RU-MOW");
    e.origin = Some(vigil_store::record::Origin {
        source_id: "src-r1".into(),
        row: None,
    });
    let batch = RecordBatch {
        sources: vec![
            report_source("src-r1", "r1"),
            report_source("src-r2", "r2"),
            report_source("src-r3", "r3"),
        ],
        persons: vec![p],
        events: vec![e],
        ..RecordBatch::default()
    };
    s.record_write(&batch).await.unwrap();
    // r1 created an event; r2 only a source row, nothing supported yet; r3 nothing.
    let uses = s.record_report_uses().await.unwrap();
    assert_eq!(uses.len(), 1, "{uses:?}");
    assert_eq!(uses[0].report_id, "r1");
    assert_eq!(uses[0].regions, ["RU-MOW"]);
    // r2 is added to the person as a further source.
    let support = SupportRow {
        source_id: "src-r2".into(),
        entity: "person".into(),
        entity_id: "p1".into(),
    };
    assert_eq!(
        s.record_add_supports(std::slice::from_ref(&support))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.record_add_supports(&[support]).await.unwrap(),
        0,
        "twice adds nothing"
    );
    let uses = s.record_report_uses().await.unwrap();
    let ids: Vec<&str> = uses.iter().map(|u| u.report_id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2"]);
    assert_eq!(uses[1].regions, ["RU-SPE"]);
    assert_eq!(
        s.record_supported_by("src-r1").await.unwrap(),
        [Supported {
            entity: "event".into(),
            id: "e1".into()
        }]
    );
    assert_eq!(
        s.record_supported_by("src-r2").await.unwrap(),
        [Supported {
            entity: "person".into(),
            id: "p1".into()
        }]
    );
    assert!(s.record_supported_by("src-r3").await.unwrap().is_empty());
}

fn merge(id: &str, kept: &str, merged: &str) -> MergeRow {
    MergeRow {
        id: id.into(),
        kept_id: kept.into(),
        merged_id: merged.into(),
        day: day("2026-02-01"),
        editor: "verifier".into(),
        undone: None,
    }
}

async fn a_merge_moves_events_and_cases_and_its_undo_moves_them_back(f: Fresh) {
    let s = f.desk().await;
    let batch = RecordBatch {
        sources: vec![source("s1")],
        persons: vec![person("p1"), person("p2"), person("p3")],
        cases: vec![CaseRow {
            id: "c2".into(),
            person_id: "p2".into(),
            sealed: b"sealed title".to_vec(),
            stamp: stamp(),
        }],
        events: vec![
            event("e1", Some("p1"), None, "detention", "2026-01-01", "RU-MOW"),
            event("e2", Some("p2"), None, "fine", "2026-01-02", "RU-MOW"),
            event("e3", Some("p2"), None, "detention", "2026-01-03", "RU-MOW"),
        ],
        ..RecordBatch::default()
    };
    s.record_write(&batch).await.unwrap();
    let ids = |rows: Vec<vigil_store::record::EventRow>| -> Vec<String> {
        rows.into_iter().map(|e| e.id).collect()
    };
    let moves = s.record_merge(&merge("m1", "p1", "p2")).await.unwrap();
    assert_eq!(moves.events, ["e2", "e3"]);
    assert_eq!(moves.cases, ["c2"]);
    assert_eq!(
        ids(s.record_events(EventsOf::Person("p1")).await.unwrap()),
        ["e1", "e2", "e3"]
    );
    assert!(
        s.record_events(EventsOf::Person("p2"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.record_case("c2").await.unwrap().unwrap().person_id, "p1");
    // Nothing is lost: the merged person is still held, only not listed.
    assert!(s.record_person("p2").await.unwrap().is_some());
    let listed: Vec<String> = s
        .record_persons()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(listed, ["p1", "p3"]);
    // A merged-away person can be neither kept nor merged again; nor can one merge with itself.
    for (kept, merged) in [("p2", "p3"), ("p3", "p2"), ("p3", "p3")] {
        assert!(matches!(
            s.record_merge(&merge("m-x", kept, merged)).await,
            Err(StoreError::Conflict)
        ));
    }
    assert!(matches!(
        s.record_merge(&merge("m-y", "p1", "nobody")).await,
        Err(StoreError::NotFound)
    ));
    // p1 merged on into p3: undoing m1 first is refused.
    s.record_merge(&merge("m2", "p3", "p1")).await.unwrap();
    assert!(matches!(
        s.record_unmerge("m1", "verifier", day("2026-02-02")).await,
        Err(StoreError::Conflict)
    ));
    s.record_unmerge("m2", "verifier", day("2026-02-02"))
        .await
        .unwrap();
    s.record_unmerge("m1", "verifier", day("2026-02-03"))
        .await
        .unwrap();
    assert_eq!(
        ids(s.record_events(EventsOf::Person("p1")).await.unwrap()),
        ["e1"]
    );
    assert_eq!(
        ids(s.record_events(EventsOf::Person("p2")).await.unwrap()),
        ["e2", "e3"]
    );
    assert_eq!(s.record_case("c2").await.unwrap().unwrap().person_id, "p2");
    let listed: Vec<String> = s
        .record_persons()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(listed, ["p1", "p2", "p3"]);
    assert!(matches!(
        s.record_unmerge("m1", "verifier", day("2026-02-03")).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        s.record_unmerge("m-none", "verifier", day("2026-02-03"))
            .await,
        Err(StoreError::NotFound)
    ));
    let merges = s.record_merges().await.unwrap();
    assert_eq!(merges.len(), 2);
    let m1 = merges.iter().find(|m| m.id == "m1").unwrap();
    assert_eq!((m1.kept_id.as_str(), m1.merged_id.as_str()), ("p1", "p2"));
    assert_eq!(m1.undone, Some((day("2026-02-03"), "verifier".to_owned())));
    // Merged again after the undo: a new merge, the old one stays in the list.
    s.record_merge(&merge("m3", "p1", "p2")).await.unwrap();
    assert_eq!(s.record_merges().await.unwrap().len(), 3);
}

async fn actions_are_found_by_date_and_region(f: Fresh) {
    let s = f.desk().await;
    let mut a1 = action("a1", "2026-03-01", "RU-MOW", "rally");
    a1.stations = vec!["ОВД Тверское".into()];
    let batch = RecordBatch {
        sources: vec![source("s1")],
        actions: vec![
            a1,
            action("a2", "2026-03-05", "RU-MOW", "march"),
            action("a3", "2026-03-05", "RU-SPE", "rally"),
            action("a4", "2026-04-01", "RU-MOW", "rally"),
        ],
        ..RecordBatch::default()
    };
    s.record_write(&batch).await.unwrap();
    let find = |from: Option<&str>, to: Option<&str>, region: Option<&str>, limit| ActionFilter {
        from: from.map(day),
        to: to.map(day),
        region: region.map(Into::into),
        limit,
    };
    let ids = |rows: Vec<vigil_store::record::ActionRow>| -> Vec<String> {
        rows.into_iter().map(|a| a.id).collect()
    };
    let all = s
        .record_find_actions(&find(None, None, None, 50))
        .await
        .unwrap();
    assert_eq!(ids(all), ["a4", "a2", "a3", "a1"]);
    let march = s
        .record_find_actions(&find(
            Some("2026-03-01"),
            Some("2026-03-31"),
            Some("RU-MOW"),
            50,
        ))
        .await
        .unwrap();
    assert_eq!(march[1].stations, ["ОВД Тверское"]);
    assert_eq!(ids(march), ["a2", "a1"]);
    let one = s
        .record_find_actions(&find(None, None, None, 1))
        .await
        .unwrap();
    assert_eq!(ids(one), ["a4"]);
}

/// deskmerge: purging a closed case whose person was merged keeps both
/// persons (a merge names them; deleting one would break the merge, and on
/// PostgreSQL fail the whole purge), and the merge can still be undone.
async fn retention_keeps_persons_a_merge_names(f: Fresh) {
    let s = f.desk().await;
    let mut closing = event("e2", Some("p2"), None, "fine", "2020-01-02", "RU-MOW");
    closing.case_id = Some("c2".into());
    let batch = RecordBatch {
        sources: vec![source("s1")],
        persons: vec![person("p1"), person("p2")],
        cases: vec![CaseRow {
            id: "c2".into(),
            person_id: "p2".into(),
            sealed: b"sealed title".to_vec(),
            stamp: stamp(),
        }],
        events: vec![closing],
        ..RecordBatch::default()
    };
    s.record_write(&batch).await.unwrap();
    s.record_merge(&merge("m1", "p1", "p2")).await.unwrap();
    let gone = s
        .retention_purge(None, Some(day("2025-01-01")))
        .await
        .unwrap();
    assert_eq!(gone.len(), 1, "the closed case goes");
    assert!(s.record_case("c2").await.unwrap().is_none());
    assert!(s.record_person("p1").await.unwrap().is_some());
    assert!(s.record_person("p2").await.unwrap().is_some());
    assert_eq!(s.record_merges().await.unwrap().len(), 1);
    s.record_unmerge("m1", "verifier", day("2026-02-02"))
        .await
        .unwrap();
}

/// import5: the source indexes hold only records without a file row
/// (migration 0010); a file's records are still found by their source, and a
/// report's records by theirs, whichever the index holds.
async fn a_files_records_and_a_reports_are_found_by_their_source(f: Fresh) {
    let s = f.desk().await;
    let mut held = person("p1");
    held.origin = Some(vigil_store::record::Origin {
        source_id: "s1".into(),
        row: Some(3),
    });
    let mut coded = person("p2");
    coded.region = Some("RU-SPE".into());
    coded.origin = Some(vigil_store::record::Origin {
        source_id: "src-r1".into(),
        row: None,
    });
    let mut e1 = event(
        "e1",
        Some("p1"),
        Some("a1"),
        "detention",
        "2026-01-04",
        "RU-MOW",
    );
    e1.origin = Some(vigil_store::record::Origin {
        source_id: "s1".into(),
        row: Some(3),
    });
    let mut e2 = event(
        "e2",
        Some("p2"),
        Some("a1"),
        "detention",
        "2026-01-04",
        "RU-SPE",
    );
    e2.origin = Some(vigil_store::record::Origin {
        source_id: "src-r1".into(),
        row: None,
    });
    let batch = RecordBatch {
        sources: vec![source("s1"), report_source("src-r1", "r1")],
        persons: vec![held, coded],
        actions: vec![action("a1", "2026-01-04", "RU-MOW", "rally")],
        events: vec![e1, e2],
        ..RecordBatch::default()
    };
    s.record_write(&batch).await.unwrap();
    let found = |entity: &str, id: &str| Supported {
        entity: entity.into(),
        id: id.into(),
    };
    // The file's action (row 1 of `action`), person and event, all with rows.
    assert_eq!(
        s.record_supported_by("s1").await.unwrap(),
        [
            found("action", "a1"),
            found("event", "e1"),
            found("person", "p1")
        ]
    );
    assert_eq!(
        s.record_supported_by("src-r1").await.unwrap(),
        [found("event", "e2"), found("person", "p2")]
    );
    // The report's regions, none of the file's (RU-MOW).
    let uses = s.record_report_uses().await.unwrap();
    assert_eq!(uses.len(), 1, "{uses:?}");
    assert_eq!(uses[0].report_id, "r1");
    assert_eq!(uses[0].regions, ["RU-SPE"]);
}

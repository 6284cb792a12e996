//! deskfast: the export of the coded record. An analyst's download holds the
//! coded fields and no name; a verifier's holds the names; each download is
//! one audit entry naming the table, the format and the row count only.

use axum::http::{StatusCode, header};
use vigil_desk::authz::Role;
use vigil_record::model::{Case, CaseDetails, Event, EventDetails, Person, PersonIdentity};
use vigil_record::{PartialDate, Record, RecordKey, Vocabularies};

use super::{Desk, desk, text};

/// A name no other test uses: found in a file, it can only come from here.
const MARKER: &str = "Маркерова Экспортина Тестовна";
const NOTE: &str = "note-marker-zq81";

async fn seeded() -> Desk {
    let d = desk(false).await;
    let key = RecordKey::generate().unwrap();
    let record = Record {
        store: d.web.store.as_ref(),
        key: &key,
    };
    let person = Person {
        id: "p-export".into(),
        identity: PersonIdentity {
            name: MARKER.into(),
            variants: vec!["Markerova Eksportina".into()],
            birth_year: Some(1991),
            contacts: vec!["+7 900 000-00-00".into()],
            ..PersonIdentity::default()
        },
        gender: Some("female".into()),
        region: Some("RU-MOW".into()),
        roles: vec!["student".into()],
        consent: "counts".into(),
        origin: None,
    };
    let case = Case {
        id: "c-export".into(),
        person_id: "p-export".into(),
        details: CaseDetails {
            title: format!("{MARKER}: дело"),
            notes: None,
        },
    };
    let event = Event {
        id: "e-export".into(),
        person_id: Some("p-export".into()),
        action_id: None,
        case_id: Some("c-export".into()),
        kind: "detention".into(),
        date: PartialDate::day("2026-03-01".parse().unwrap()),
        region: Some("RU-MOW".into()),
        city: Some("Москва".into()),
        police_station: None,
        court: None,
        articles: vec!["koap-20.2".into()],
        trigger: None,
        fine_rub: Some(15000),
        arrest_days: None,
        sentence: None,
        verification: "unverified".into(),
        details: EventDetails {
            notes: Some(format!("{NOTE} {MARKER}")),
            links: vec![],
        },
        origin: None,
    };
    record
        .add(
            &[person],
            &[],
            &[case],
            &[event],
            "test",
            "2026-03-01".parse().unwrap(),
        )
        .await
        .unwrap();
    d.web
        .coding
        .set_record(key, Vocabularies::built_in().unwrap());
    d
}

async fn export(d: &Desk, s: &str, table: &str, format: &str) -> (String, String) {
    let r = d
        .post_pairs(
            "/export",
            s,
            &[("lang", "en"), ("table", table), ("format", format)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{table}.{format}");
    let disposition = r.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment;"),
        "{disposition} for {table}.{format}"
    );
    (
        r.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned(),
        text(r).await,
    )
}

#[tokio::test]
async fn an_analysts_export_holds_coded_fields_and_no_name_and_is_audited() {
    let d = seeded().await;
    let secret = d.account("ana", Role::Analyst).await;
    let s = d.session_of("ana", &secret).await;
    let page = text(d.get("/export?lang=en", Some(&s)).await).await;
    assert!(page.contains("coded fields only"), "{page}");
    assert!(page.contains("name=\"table\" value=\"cases\""), "{page}");
    let before = d.audit_actions().await.len();
    let mut downloads = 0;
    for table in ["persons", "events", "actions", "cases"] {
        for format in ["csv", "json"] {
            let (kind, body) = export(&d, &s, table, format).await;
            downloads += 1;
            for secret in [MARKER, "Markerova", "Маркерова", "+7 900", NOTE, "1991"] {
                assert!(
                    !body.contains(secret),
                    "{secret} in the analyst's {table}.{format}: {body}"
                );
            }
            if format == "json" {
                assert_eq!(kind, "application/json");
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["table"], table);
            } else {
                assert!(kind.starts_with("text/csv"));
            }
        }
    }
    // The coded fields are there.
    let (_, persons) = export(&d, &s, "persons", "csv").await;
    assert_eq!(
        persons,
        "id,gender,region,roles,consent\r\np-export,female,RU-MOW,student,counts\r\n"
    );
    let (_, events) = export(&d, &s, "events", "json").await;
    let v: serde_json::Value = serde_json::from_str(&events).unwrap();
    assert_eq!(v["rows"][0]["fine_rub"], 15000);
    assert_eq!(v["rows"][0]["case_id"], "c-export");
    assert!(v["rows"][0].get("notes").is_none());
    downloads += 2;
    // One entry per download, ids and kinds only.
    let entries = d.audit_actions().await;
    let exports: Vec<_> = entries[before..]
        .iter()
        .filter(|(_, action, _)| action == "export")
        .collect();
    assert_eq!(exports.len(), downloads, "{entries:?}");
    let (actor, _, subjects) = exports[0];
    assert_eq!(actor, "ana");
    assert_eq!(subjects, &["persons", "csv", "coded", "rows=1"]);
    for (_, _, subjects) in &entries {
        assert!(
            !subjects
                .iter()
                .any(|x| x.contains("Маркер") || x.contains(NOTE)),
            "{subjects:?}"
        );
    }
}

#[tokio::test]
async fn a_verifiers_export_holds_the_names_and_formulas_stay_text() {
    let d = seeded().await;
    let s = d.session().await;
    let page = text(d.get("/export?lang=ru", Some(&s)).await).await;
    assert!(page.contains("видит имена"), "{page}");
    let (_, persons) = export(&d, &s, "persons", "csv").await;
    assert!(persons.contains(MARKER), "{persons}");
    assert!(persons.contains("\"'+7 900 000-00-00\""), "{persons}");
    let (_, cases) = export(&d, &s, "cases", "json").await;
    let v: serde_json::Value = serde_json::from_str(&cases).unwrap();
    assert_eq!(v["rows"][0]["title"], format!("{MARKER}: дело"));
    assert_eq!(v["rows"][0]["events"], 1);
    let (_, events) = export(&d, &s, "events", "csv").await;
    assert!(events.contains(NOTE), "{events}");
    let last = d.audit_actions().await.pop().unwrap();
    assert_eq!(last.1, "export");
    assert_eq!(last.2, ["events", "csv", "with_names", "rows=1"]);
}

#[tokio::test]
async fn an_export_needs_the_form_token_a_known_table_and_the_right() {
    let d = seeded().await;
    let s = d.session().await;
    let before = d.audit_actions().await.len();
    let r = d
        .post_pairs(
            "/export",
            &s,
            &[
                ("lang", "en"),
                ("form_token", "forged"),
                ("table", "persons"),
                ("format", "csv"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = d
        .post_pairs(
            "/export",
            &s,
            &[("lang", "en"), ("table", "accounts"), ("format", "csv")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(text(r).await.contains("Choose a table"));
    let r = d
        .post_pairs(
            "/export",
            &s,
            &[("lang", "en"), ("table", "persons"), ("format", "xlsx")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A duty lawyer may not export at all.
    let secret = d.account("duty", Role::DutyLawyer).await;
    let duty = d.session_of("duty", &secret).await;
    assert_eq!(
        d.get("/export", Some(&duty)).await.status(),
        StatusCode::FORBIDDEN
    );
    let r = d
        .post_pairs(
            "/export",
            &duty,
            &[("lang", "en"), ("table", "persons"), ("format", "csv")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let after = d.audit_actions().await;
    assert!(
        !after[before..].iter().any(|(_, a, _)| a == "export"),
        "{after:?}"
    );
}

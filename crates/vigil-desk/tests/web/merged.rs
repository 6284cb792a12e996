//! deskmerge: the queue and coding pages under the role table (what an
//! analyst does not see), what the old queue showed (how long ago a report
//! came), and the audit entries of coding, merging and phone reports.

use axum::http::StatusCode;
use vigil_core::{Channel, Day, Lang, ReportEnvelope, ReportId, SealedReport};
use vigil_desk::authz::Role;
use vigil_desk::clock::Clock;
use vigil_record::{RecordKey, Vocabularies};

use super::{Desk, desk, hidden, text};

/// Seals one report with a contact, arrived `minutes` ago by the desk's clock.
async fn report(d: &Desk, words: &str, minutes: u64) -> ReportId {
    let mut env = ReportEnvelope::new(
        words,
        true,
        Some("contact-marker +7 900"),
        Lang::Ru,
        Channel::WebForm,
        Day::today(),
    )
    .unwrap();
    let at = d.clock.unix() - minutes * 60;
    env.received_at = Some(vigil_core::day::timestamp(
        time::OffsetDateTime::from_unix_timestamp(at as i64).unwrap(),
    ));
    let id = ReportId::generate().unwrap();
    d.web
        .store
        .desk_store_pulled(&[SealedReport {
            id,
            receipt_hash: [3; 32],
            sealed: d.web.identity.recipients().seal_envelope(&env).unwrap(),
            received: Day::today(),
        }])
        .await
        .unwrap();
    id
}

fn with_record(d: &Desk) {
    d.web.coding.set_record(
        RecordKey::generate().unwrap(),
        Vocabularies::built_in().unwrap(),
    );
}

/// Codes a person named `name` from `report` as the session's account; the person's id.
async fn code_person(d: &Desk, s: &str, report: ReportId, name: &str) -> String {
    let r = d
        .post_pairs(
            &format!("/reports/{report}/person"),
            s,
            &[("lang", "en"), ("name", name), ("region", "RU-MOW")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(r).await);
    let page = text(d.get(&format!("/reports/{report}?lang=en"), Some(s)).await).await;
    let after = page.split("href=\"/persons/p-").last().unwrap();
    format!("p-{}", after.split('?').next().unwrap())
}

#[tokio::test]
async fn an_analyst_sees_when_and_what_is_coded_but_no_text_contact_names_or_search() {
    let d = desk(false).await;
    with_record(&d);
    let id = report(&d, "analyst-text-marker: задержан", 10).await;
    let verifier = d.session().await;
    code_person(&d, &verifier, id, "Named-Person-Marker").await;

    let secret = d.account("ana", Role::Analyst).await;
    let s = d.session_of("ana", &secret).await;
    let queue = text(d.get("/?lang=en", Some(&s)).await).await;
    assert!(queue.contains(&format!("r-{id}")), "{queue}");
    assert!(queue.contains("tag coded"), "the coding status shows");
    assert!(queue.contains("URGENT"), "urgency shows");
    for hidden_word in [
        "analyst-text-marker",
        "contact-marker",
        "Named-Person-Marker",
    ] {
        assert!(!queue.contains(hidden_word), "{hidden_word} in {queue}");
    }
    assert!(queue.contains("The report text is hidden"));
    assert!(!queue.contains("name=\"q\""), "no search box");
    // A text search would tell the text word by word: refused, the rest works.
    let r = d
        .post_pairs("/", &s, &[("lang", "en"), ("q", "analyst-text-marker")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = text(r).await;
    assert!(html.contains("Your role cannot search"), "{html}");
    assert!(
        html.contains(&format!("r-{id}")),
        "the search words were dropped"
    );
    // The report's page: when, coded, that a person is coded, not who; no forms.
    let page = text(d.get(&format!("/reports/{id}?lang=en"), Some(&s)).await).await;
    for hidden_word in [
        "analyst-text-marker",
        "contact-marker",
        "Named-Person-Marker",
    ] {
        assert!(!page.contains(hidden_word), "{hidden_word} in {page}");
    }
    assert!(page.contains("class=\"person\""), "{page}");
    assert!(!page.contains(&format!("action=\"/reports/{id}/person\"")));
    assert!(!page.contains("/persons?"), "no link to the persons' pages");

    // Granted names and text by an admin: the next login shows them.
    d.web
        .store
        .desk_set_grants("ana", "names,report_text")
        .await
        .unwrap();
    let s = d.session_of("ana", &secret).await;
    let page = text(d.get(&format!("/reports/{id}?lang=en"), Some(&s)).await).await;
    for shown in [
        "analyst-text-marker",
        "contact-marker",
        "Named-Person-Marker",
    ] {
        assert!(page.contains(shown), "{shown} not in {page}");
    }
    assert!(
        !page.contains(&format!("action=\"/reports/{id}/person\"")),
        "reading is granted, coding is not"
    );
}

#[tokio::test]
async fn the_queue_says_how_long_ago_a_report_came() {
    let d = desk(false).await;
    let id = report(&d, "ago-marker", 75).await;
    let s = d.session().await;
    let minutes = (d.clock.unix() - (d.clock.unix() - 75 * 60)) / 60;
    assert_eq!(minutes, 75);
    let queue = text(d.get("/?lang=ru", Some(&s)).await).await;
    assert!(queue.contains(&format!("r-{id}")));
    // The login moved the wall clock by a TOTP step or two: 75 or 76 minutes.
    assert!(
        queue.contains("получено 1 ч 15 мин назад") || queue.contains("получено 1 ч 16 мин назад"),
        "{queue}"
    );
}

#[tokio::test]
async fn coding_merging_undoing_and_phone_reports_are_audited_with_ids_only() {
    let d = desk(false).await;
    with_record(&d);
    let first = report(&d, "audit-text-marker one", 5).await;
    let second = report(&d, "audit-text-marker two", 5).await;
    let s = d.session().await;
    let kept = code_person(&d, &s, first, "Audit-Name-Marker").await;
    let merged = code_person(&d, &s, second, "Audit-Name-Marker Two").await;
    let r = d
        .post_pairs(
            "/persons/merge",
            &s,
            &[("lang", "en"), ("kept", &kept), ("merged", &merged)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let merges = d.web.store.record_merges().await.unwrap();
    let merge_id = merges[0].id.clone();
    let r = d
        .post_pairs(&format!("/merges/{merge_id}/undo"), &s, &[("lang", "en")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = d
        .post_pairs(
            "/reports/new",
            &s,
            &[("lang", "en"), ("text", "audit-text-marker by phone")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let phone = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/reports/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    let entries = d.audit_actions().await;
    let find = |action: &str, subjects: &[&str]| {
        entries.iter().any(|(actor, a, subj)| {
            actor == "lawyer"
                && a == action
                && subj.iter().map(String::as_str).eq(subjects.iter().copied())
        })
    };
    let (first, second) = (first.to_string(), second.to_string());
    assert!(find("open_report", &[&first]), "{entries:#?}");
    assert!(find("edit", &[&first, "person", &kept]), "{entries:#?}");
    assert!(find("edit", &[&second, "person", &merged]), "{entries:#?}");
    assert!(
        find("merge_persons", &[&merge_id, &kept, &merged]),
        "{entries:#?}"
    );
    assert!(find("unmerge_persons", &[&merge_id]), "{entries:#?}");
    assert!(find("enter_report", &[&phone]), "{entries:#?}");
    let all = format!("{entries:?}");
    assert!(!all.contains("marker") && !all.contains("Marker"), "{all}");
}

#[tokio::test]
async fn the_queue_search_needs_the_sessions_form_token() {
    let d = desk(false).await;
    report(&d, "token-marker", 1).await;
    let s = d.session().await;
    let r = d
        .post_pairs(
            "/",
            &s,
            &[("lang", "en"), ("q", "token"), ("form_token", "forged")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let token = hidden(
        &text(d.get("/?lang=en", Some(&s)).await).await,
        "form_token",
    );
    let r = d
        .post_pairs(
            "/",
            &s,
            &[("lang", "en"), ("q", "token"), ("form_token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(text(r).await.contains("token-marker"));
}

//! deskcoding: the queue pages (paging, filters, search over decrypted text),
//! coding a report into the record, a report taken by phone, merging persons
//! and undoing it, duplicate suggestions: in process, on a real SQLite file.

use axum::body::Body;
use axum::http::StatusCode;
use vigil_core::{Channel, Day, Lang, ReportEnvelope, ReportId, SealedReport};
use vigil_record::{Record, RecordKey, Vocabularies};
use vigil_store::record::EventsOf;

use super::{Desk, desk, hidden, text};

/// Seals `n` reports to the desk: every tenth urgent, every seventh by phone,
/// on three days; report `i` says "report number i" and the one at `marked`
/// carries a word to search for.
async fn seed(d: &Desk, n: usize, marked: usize) -> Vec<ReportId> {
    let mut reports = Vec::new();
    let mut ids = Vec::new();
    for i in 0..n {
        let day: Day = format!("2026-03-0{}", 1 + i % 3).parse().unwrap();
        let text = if i == marked {
            format!("report number {i}: задержан на пикете у ЁЛКИ, <script>x</script>")
        } else {
            format!("report number {i}: штраф")
        };
        let channel = if i % 7 == 0 {
            Channel::Phone
        } else {
            Channel::WebForm
        };
        let env = ReportEnvelope::new(&text, i % 10 == 0, None, Lang::Ru, channel, day).unwrap();
        let id = ReportId::generate().unwrap();
        ids.push(id);
        reports.push(SealedReport {
            id,
            receipt_hash: [i as u8; 32],
            sealed: d.web.identity.recipients().seal_envelope(&env).unwrap(),
            received: day,
        });
    }
    d.web.store.desk_store_pulled(&reports).await.unwrap();
    ids
}

fn with_record(d: &Desk) {
    d.web.coding.set_record(
        RecordKey::generate().unwrap(),
        Vocabularies::built_in().unwrap(),
    );
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

impl Desk {
    pub(super) async fn post_pairs(
        &self,
        path: &str,
        session: &str,
        pairs: &[(&str, &str)],
    ) -> axum::http::Response<Body> {
        // Every POST carries the session's form token; a test that sends its
        // own (a forged one) names it.
        let token;
        let mut pairs = pairs.to_vec();
        if !pairs.iter().any(|(k, _)| *k == "form_token") {
            token = hidden(
                &text(self.get("/sessions?lang=en", Some(session)).await).await,
                "form_token",
            );
            pairs.push(("form_token", &token));
        }
        self.send(
            Self::post(path, session)
                .body(Body::from(form(&pairs)))
                .unwrap(),
        )
        .await
    }
}

fn rows(html: &str) -> usize {
    html.matches("<tr id=\"r-").count()
}

#[tokio::test]
async fn the_queue_pages_filters_and_searches_decrypted_text() {
    let d = desk(false).await;
    let ids = seed(&d, 120, 77).await;
    let s = d.session().await;
    let html = text(d.get("/?lang=en", Some(&s)).await).await;
    assert_eq!(rows(&html), 50, "a page holds 50 reports");
    assert!(html.contains("Found: 120 / 120"), "{html}");
    // Urgent first: report 0 is urgent, so are 10, 20, ...; the first non-urgent comes after 12 of them.
    assert!(html.find("report number 0:").unwrap() < html.find("report number 1:").unwrap());
    assert!(html.find("report number 110:").unwrap() < html.find("report number 1:").unwrap());
    // The last page.
    let html = text(
        d.post_pairs("/", &s, &[("lang", "en"), ("page", "2")])
            .await,
    )
    .await;
    assert_eq!(rows(&html), 20);
    assert!(html.contains("page 3 / 3"));
    // Search over the opened text: any case, ё as е; the search words never in a URL.
    let html = text(
        d.post_pairs("/", &s, &[("lang", "en"), ("q", "ПИКЕТЕ елки")])
            .await,
    )
    .await;
    assert_eq!(rows(&html), 1, "{html}");
    assert!(html.contains(&format!("r-{}", ids[77])));
    assert!(!html.contains("<script>x"), "report text is escaped");
    // Filters: urgent, channel, day, and each combined with the others.
    let count = |html: &str| {
        html.split("Found: ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    let html = text(d.get("/?lang=en&urgent=on", Some(&s)).await).await;
    assert_eq!(count(&html), "12");
    let html = text(d.get("/?lang=en&channel=phone", Some(&s)).await).await;
    assert_eq!(count(&html), "18");
    let html = text(d.get("/?lang=en&day=2026-03-02", Some(&s)).await).await;
    assert_eq!(count(&html), "40");
    let html = text(
        d.get("/?lang=en&day=2026-03-02&channel=phone&urgent=on", Some(&s))
            .await,
    )
    .await;
    // i ≡ 1 (mod 3), i ≡ 0 (mod 7), i ≡ 0 (mod 10): i = 70.
    assert_eq!(count(&html), "1");
    // A bad filter is named, and the rest still applies.
    let r = d.get("/?lang=en&day=March&channel=phone", Some(&s)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = text(r).await;
    assert!(html.contains("write it as YYYY-MM-DD"), "{html}");
    assert_eq!(count(&html), "18");
    // A report pulled later appears without a restart.
    seed(&d, 1, 0).await;
    let html = text(d.get("/?lang=en", Some(&s)).await).await;
    assert_eq!(count(&html), "121");
    // Without a session: the login page.
    assert_eq!(d.get("/", None).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_report_is_coded_into_a_person_an_action_an_event_and_a_case() {
    let d = desk(false).await;
    with_record(&d);
    let ids = seed(&d, 3, 1).await;
    let report = ids[1];
    let s = d.session().await;
    let page = text(d.get(&format!("/reports/{report}?lang=en"), Some(&s)).await).await;
    assert!(page.contains("задержан на пикете"), "{page}");
    assert!(page.contains("uncoded"));
    let token = hidden(&page, "form_token");
    let path = |what: &str| format!("/reports/{report}/{what}");

    // A wrong value is refused with what to fix, and the form keeps what was typed.
    let r = d
        .post_pairs(
            &path("person"),
            &s,
            &[
                ("lang", "en"),
                ("form_token", &token),
                ("name", "Анна Иванова"),
                ("birth_year", "19x0"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = text(r).await;
    assert!(html.contains("A whole number"), "{html}");
    assert!(html.contains("value=\"Анна Иванова\""));
    // Without the session's form token: refused.
    let r = d
        .post_pairs(
            &path("person"),
            &s,
            &[("lang", "en"), ("form_token", "forged"), ("name", "X")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let r = d
        .post_pairs(
            &path("person"),
            &s,
            &[
                ("lang", "en"),
                ("form_token", &token),
                ("name", "Анна Иванова"),
                ("variants", "Anna Ivanova\nИванова А."),
                ("birth_year", "1990"),
                ("gender", "female"),
                ("region", "RU-MOW"),
                ("roles", "journalist"),
                ("roles", "student"),
                ("consent", "counts"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = d
        .post_pairs(
            &path("action"),
            &s,
            &[
                ("lang", "en"),
                ("form_token", &token),
                ("date", "2026-03-01"),
                ("kind", "single_picket"),
                ("region", "RU-MOW"),
                ("place", "Пушкинская площадь"),
                ("detained", "3"),
                ("verification", "reported"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = text(d.get(&format!("/reports/{report}?lang=en"), Some(&s)).await).await;
    let person_id = page
        .split("name=\"person\"><option value=\"\">—</option>\n<option value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let action_id = page
        .split("name=\"action\"><option value=\"\">—</option>\n<option value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    // An article outside the vocabulary is refused.
    let r = d
        .post_pairs(
            &path("event"),
            &s,
            &[
                ("lang", "en"),
                ("form_token", &token),
                ("person", &person_id),
                ("kind", "detention"),
                ("articles", "adm-99.9"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(text(r).await.contains("not in the vocabulary"));
    let r = d
        .post_pairs(
            &path("event"),
            &s,
            &[
                ("lang", "en"),
                ("form_token", &token),
                ("person", &person_id),
                ("action", &action_id),
                ("kind", "detention"),
                ("date", "2026-03"),
                ("region", "RU-MOW"),
                ("police_station", "ОВД Тверское"),
                ("articles", "adm-20.2-5"),
                ("trigger", "single_picket"),
                ("verification", "confirmed"),
                ("case_title", "Дело Ивановой"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(r).await);

    // In the record, with the report as its source, the name sealed.
    let access = d.web.coding.record().unwrap();
    let record = Record {
        store: d.web.store.as_ref(),
        key: &access.key,
    };
    let p = record.person(&person_id).await.unwrap().unwrap();
    assert_eq!(p.identity.name, "Анна Иванова");
    assert_eq!(p.identity.variants, ["Anna Ivanova", "Иванова А."]);
    assert_eq!(p.identity.birth_year, Some(1990));
    assert_eq!(p.roles, ["journalist", "student"]);
    assert_eq!(p.origin.unwrap().source_id, format!("report-{report}"));
    let events = record.events(EventsOf::Person(&person_id)).await.unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e.kind.as_str(), e.verification.as_str()),
        ("detention", "confirmed")
    );
    assert_eq!(e.date.precision, vigil_record::Precision::Month);
    assert_eq!(e.action_id.as_deref(), Some(action_id.as_str()));
    assert_eq!(e.articles, ["adm-20.2-5"]);
    let case = record
        .case(e.case_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(case.case.details.title, "Дело Ивановой");
    let counts = d.web.store.record_action_counts(&action_id).await.unwrap();
    assert_eq!(counts[0].detained, 3);
    let row = d
        .web
        .store
        .record_person(&person_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8_lossy(&row.sealed).contains("Иванова"));

    // The queue shows it coded, with its region.
    let s2 = s.clone();
    let html = text(d.get("/?lang=en&status=coded", Some(&s2)).await).await;
    assert_eq!(rows(&html), 1);
    assert!(html.contains(&format!("r-{report}")));
    let html = text(d.get("/?lang=en&status=uncoded", Some(&s2)).await).await;
    assert_eq!(rows(&html), 2);
    let html = text(d.get("/?lang=en&region=RU-MOW", Some(&s2)).await).await;
    assert_eq!(rows(&html), 1);

    // Another report attaches the same person and the same action.
    let other = ids[2];
    for (what, existing) in [("person", &person_id), ("action", &action_id)] {
        let r = d
            .post_pairs(
                &format!("/reports/{other}/{what}"),
                &s,
                &[
                    ("lang", "en"),
                    ("form_token", &token),
                    ("existing", existing),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    // An id that names no record is refused, saying so, and attaches nothing.
    for (what, says) in [
        ("person", "No person has that id"),
        ("action", "No protest action has that id"),
    ] {
        let r = d
            .post_pairs(
                &format!("/reports/{other}/{what}"),
                &s,
                &[
                    ("lang", "en"),
                    ("form_token", &token),
                    ("existing", "p-no-such-record"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(text(r).await.contains(says));
    }
    let supported = d
        .web
        .store
        .record_supported_by(&format!("report-{other}"))
        .await
        .unwrap();
    assert_eq!(supported.len(), 2);
    // Found by date and region on the report's page.
    let page = text(
        d.get(
            &format!("/reports/{other}?lang=en&a_from=2026-03-01&a_to=2026-03-31&a_region=RU-MOW"),
            Some(&s),
        )
        .await,
    )
    .await;
    assert!(
        page.contains(&format!("name=\"existing\" value=\"{action_id}\"")),
        "{page}"
    );
}

#[tokio::test]
async fn an_operator_enters_a_phone_report_and_it_is_queued_sealed() {
    let d = desk(false).await;
    with_record(&d);
    let s = d.session().await;
    let page = text(d.get("/reports/new?lang=ru", Some(&s)).await).await;
    assert!(page.contains("принятое по телефону"));
    let token = hidden(&page, "form_token");
    let r = d
        .post_pairs(
            "/reports/new",
            &s,
            &[("lang", "ru"), ("form_token", &token), ("text", "   ")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(text(r).await.contains("Текст сообщения пуст"));
    let r = d
        .post_pairs(
            "/reports/new",
            &s,
            &[
                ("lang", "ru"),
                ("form_token", &token),
                ("text", "Звонок: сына задержали у метро phone-marker"),
                ("urgent", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let held = d.web.store.desk_reports().await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(!String::from_utf8_lossy(&held[0].sealed).contains("phone-marker"));
    let env = d.web.identity.open_envelope(&held[0].sealed).unwrap();
    assert_eq!(env.channel, Channel::Phone);
    assert!(env.urgent);
    let html = text(d.get("/?lang=en&channel=phone&urgent=on", Some(&s)).await).await;
    assert!(html.contains("phone-marker"));
}

#[tokio::test]
async fn persons_merge_and_the_merge_is_undone_and_duplicates_are_suggested() {
    let d = desk(false).await;
    with_record(&d);
    let ids = seed(&d, 2, 0).await;
    let s = d.session().await;
    let page = text(
        d.get(&format!("/reports/{}?lang=en", ids[0]), Some(&s))
            .await,
    )
    .await;
    let token = hidden(&page, "form_token");
    let mut persons = Vec::new();
    for (report, name) in [(ids[0], "Иван Петрович Смирнов"), (ids[1], "Ivan Smirnov")]
    {
        let r = d
            .post_pairs(
                &format!("/reports/{report}/person"),
                &s,
                &[
                    ("lang", "en"),
                    ("form_token", &token),
                    ("name", name),
                    ("birth_year", "1990"),
                    ("region", "RU-MOW"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let page = text(d.get(&format!("/reports/{report}?lang=en"), Some(&s)).await).await;
        let id = format!(
            "p-{}",
            page.split("href=\"/persons/p-")
                .nth(1)
                .unwrap()
                .split('?')
                .next()
                .unwrap()
        );
        let r = d
            .post_pairs(
                &format!("/reports/{report}/event"),
                &s,
                &[
                    ("lang", "en"),
                    ("form_token", &token),
                    ("person", &id),
                    ("kind", "detention"),
                    ("date", "2026-03-01"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        persons.push(id);
    }
    let (kept, merged) = (&persons[0], &persons[1]);
    // The list finds a person by any spelling.
    let html = text(
        d.post_pairs("/persons", &s, &[("lang", "en"), ("q", "smirnov")])
            .await,
    )
    .await;
    assert!(
        html.contains(&format!("/persons/{merged}")) && !html.contains(&format!("/persons/{kept}"))
    );
    let r = d
        .post_pairs(
            "/persons/merge",
            &s,
            &[
                ("lang", "en"),
                ("form_token", &token),
                ("kept", kept),
                ("merged", merged),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = text(d.get(&format!("/persons/{kept}?lang=en"), Some(&s)).await).await;
    assert_eq!(
        html.matches("Detention").count() + html.matches("detention").count(),
        2,
        "{html}"
    );
    let html = text(d.get(&format!("/persons/{merged}?lang=en"), Some(&s)).await).await;
    assert!(html.contains("Merged into"), "{html}");
    let html = text(d.get("/persons?lang=en", Some(&s)).await).await;
    assert!(!html.contains(&format!("/persons/{merged}?")));
    // Merging the merged one again is refused, saying why.
    let r = d
        .post_pairs(
            "/persons/merge",
            &s,
            &[
                ("lang", "en"),
                ("form_token", &token),
                ("kept", merged),
                ("merged", kept),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(text(r).await.contains("undo that merge first"));
    // Undo: both hold their own events again.
    let merges = d.web.store.record_merges().await.unwrap();
    let r = d
        .post_pairs(
            &format!("/merges/{}/undo", merges[0].id),
            &s,
            &[("lang", "en"), ("form_token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for p in [kept, merged] {
        assert_eq!(
            d.web
                .store
                .record_events(EventsOf::Person(p))
                .await
                .unwrap()
                .len(),
            1
        );
    }
    let html = text(d.get("/merges?lang=en", Some(&s)).await).await;
    assert!(html.contains("undone"), "{html}");
    let r = d
        .post_pairs(
            &format!("/merges/{}/undo", merges[0].id),
            &s,
            &[("lang", "en"), ("form_token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Duplicate suggestions page answers (small populations may suggest nothing;
    // the engine's behaviour is tested in duplicates.rs).
    let r = d.get("/persons/duplicates?lang=en", Some(&s)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(text(r).await.contains("persons compared: 2"));
}

//! `vigil publish` and `vigil verify`, and the gathering of a release's
//! numbers: the public crate takes plain data (vigil_public::PublicData), so
//! the reading of the store and the opening of sealed fields happen here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use vigil_core::Day;
use vigil_core::keys::ReleaseKey;
use vigil_public::data::{
    Breakdowns, CaseEvent, Counts, Group, PersonAttributes, PublicAction, PublicCase, PublicEvent,
};
use vigil_public::{PublicData, Text};
use vigil_record::model::{Action, Person};
use vigil_record::stats::{CountQuery, CountRow, StatKey};
use vigil_record::{PartialDate, Precision, RecordKey, Vocabularies};
use vigil_store::DeskStore;

use super::Result;
use crate::config::{Layout, PublicConfig};
use crate::secrets;

/// Vocabularies whose labels the site shows.
const LABELLED: &[&str] = &[
    "regions",
    "event_kinds",
    "action_kinds",
    "articles",
    "topics",
    "authorised",
    "triggers",
    "roles",
];

fn counts(r: &CountRow) -> Counts {
    Counts {
        actions: r.actions,
        detentions: r.detentions,
        persons: r.persons,
        events: r.events.clone(),
    }
}

async fn breakdown(store: &dyn DeskStore, key: StatKey) -> Result<Vec<Group>> {
    let rows = store
        .record_count(&CountQuery {
            by: vec![key],
            from: None,
            to: None,
        })
        .await?;
    Ok(rows
        .iter()
        .map(|r| Group {
            code: r.keys.first().cloned().flatten(),
            counts: counts(r),
        })
        .collect())
}

/// An age group at the data's year: wide bands, so that a birth year alone
/// never narrows a person down.
fn age_group(birth_year: Option<i32>, year: Option<i32>) -> Option<String> {
    let age = year? - birth_year?;
    Some(
        match age {
            i32::MIN..=17 => "under_18",
            18..=24 => "18_24",
            25..=34 => "25_34",
            35..=44 => "35_44",
            45..=59 => "45_59",
            _ => "60_plus",
        }
        .into(),
    )
}

fn fixed_labels() -> BTreeMap<String, BTreeMap<String, Text>> {
    let mut m = BTreeMap::new();
    m.insert(
        "genders".to_owned(),
        [
            ("female", "женщины", "women"),
            ("male", "мужчины", "men"),
            ("other", "другое", "other"),
            ("unknown", "не указано", "not stated"),
        ]
        .into_iter()
        .map(|(c, ru, en)| (c.to_owned(), Text::new(ru, en)))
        .collect(),
    );
    m.insert(
        "age_groups".to_owned(),
        [
            ("under_18", "до 18", "under 18"),
            ("18_24", "18–24", "18–24"),
            ("25_34", "25–34", "25–34"),
            ("35_44", "35–44", "35–44"),
            ("45_59", "45–59", "45–59"),
            ("60_plus", "60 и старше", "60 and over"),
            ("unknown", "не указано", "not stated"),
        ]
        .into_iter()
        .map(|(c, ru, en)| (c.to_owned(), Text::new(ru, en)))
        .collect(),
    );
    m
}

/// Reads the record and counts it for a release. Names are opened only for
/// persons whose consent is `public`; birth years only to place a counted
/// person in an age group.
pub async fn gather(
    store: &dyn DeskStore,
    key: &RecordKey,
    vocab: &Vocabularies,
    public: &PublicConfig,
) -> Result<PublicData> {
    let (_, total) = store
        .record_count_with_total(&CountQuery::default())
        .await?;
    let by = Breakdowns {
        month: breakdown(store, StatKey::Month).await?,
        region: breakdown(store, StatKey::Region).await?,
        article: breakdown(store, StatKey::Article).await?,
        event_kind: breakdown(store, StatKey::EventKind).await?,
        action_kind: breakdown(store, StatKey::ActionKind).await?,
        topic: breakdown(store, StatKey::Topic).await?,
    };
    let action_rows = store.record_all_actions().await?;
    let reported = store.record_all_action_counts().await?;
    let event_rows = store.record_all_events().await?;
    let person_rows = store.record_all_persons().await?;

    // Detentions per action by the rules of counts.rs: the larger of the
    // distinct persons named as detained there and the highest reported count.
    let mut max_reported: HashMap<&str, u64> = HashMap::new();
    for c in &reported {
        let e = max_reported.entry(c.action_id.as_str()).or_default();
        *e = (*e).max(c.detained);
    }
    let mut named: HashMap<&str, (BTreeSet<&str>, u64)> = HashMap::new();
    for e in event_rows.iter().filter(|e| e.kind == "detention") {
        if let Some(a) = &e.action_id {
            let n = named.entry(a.as_str()).or_default();
            match &e.person_id {
                Some(p) => {
                    n.0.insert(p.as_str());
                }
                None => n.1 += 1,
            }
        }
    }
    let mut latest: Option<Day> = None;
    let mut actions = Vec::with_capacity(action_rows.len());
    for row in &action_rows {
        let a = Action::from_row(row, key)?;
        let n = named
            .get(row.id.as_str())
            .map_or(0, |(set, unnamed)| set.len() as u64 + unnamed);
        let r = max_reported.get(row.id.as_str()).copied().unwrap_or(0);
        latest = latest.max(a.date.start);
        actions.push(PublicAction {
            id: a.id.clone(),
            date: date_text(a.date),
            region: a.region.clone(),
            city: a.city.clone(),
            place: a.details.place.clone(),
            kind: a.kind.clone(),
            topic: a.topic.clone(),
            authorised: a.authorised.clone(),
            detentions: n.max(r),
        });
    }

    let mut events = Vec::with_capacity(event_rows.len());
    let mut with_events: BTreeSet<&str> = BTreeSet::new();
    for e in &event_rows {
        let date = vigil_record::model::date_from_row(e.date);
        latest = latest.max(date.start);
        if let Some(p) = &e.person_id {
            with_events.insert(p.as_str());
        }
        // Outside a public action, no finer than the month.
        let shown = if e.action_id.is_none() && date.precision == Precision::Day {
            PartialDate {
                start: date.start,
                precision: Precision::Month,
            }
        } else {
            date
        };
        events.push(PublicEvent {
            kind: e.kind.clone(),
            date: date_text(shown),
            region: e.region.clone(),
            articles: e.articles.clone(),
            trigger: e.trigger.clone(),
            action_id: e.action_id.clone(),
        });
    }
    let data_year = latest.map(|d| d.to_string()[..4].parse::<i32>().unwrap_or(0));

    let mut persons = Vec::new();
    let mut cases = Vec::new();
    for row in &person_rows {
        if row.consent == "none" || !with_events.contains(row.id.as_str()) {
            continue;
        }
        let p = Person::from_row(row, key)?;
        persons.push(PersonAttributes {
            gender: p.gender.clone(),
            age_group: age_group(p.identity.birth_year, data_year),
            roles: p.roles.clone(),
        });
        if row.consent == "public" {
            let own: Vec<CaseEvent> = event_rows
                .iter()
                .filter(|e| e.person_id.as_deref() == Some(row.id.as_str()))
                .map(|e| CaseEvent {
                    date: date_text(vigil_record::model::date_from_row(e.date)),
                    kind: e.kind.clone(),
                    region: e.region.clone(),
                    articles: e.articles.clone(),
                    fine_rub: e.fine_rub,
                    arrest_days: e.arrest_days,
                    sentence: e.sentence.clone(),
                })
                .collect();
            cases.push(PublicCase {
                slug: vigil_core::release::sha256_hex(row.id.as_bytes())[..12].to_owned(),
                name: p.identity.name.clone(),
                region: p.region.clone(),
                roles: p.roles.clone(),
                events: own,
            });
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name).then(a.slug.cmp(&b.slug)));

    let mut labels = fixed_labels();
    for name in LABELLED {
        if let Some(v) = vocab.get(name) {
            labels.insert(
                (*name).to_owned(),
                v.entries
                    .iter()
                    .map(|e| (e.code.clone(), Text::new(e.ru.clone(), e.en.clone())))
                    .collect(),
            );
        }
    }
    let regions = vocab
        .get("regions")
        .map(|v| v.entries.iter().map(|e| e.code.clone()).collect())
        .unwrap_or_default();
    let reports_by_day = store
        .desk_count_by_day()
        .await?
        .into_iter()
        .map(|(d, n)| (d.to_string(), n))
        .collect();
    Ok(PublicData {
        data_date: latest.map(|d| d.to_string()),
        total: counts(&total),
        by,
        actions,
        events,
        persons,
        cases,
        labels,
        regions,
        attributions: public.attributions.clone(),
        k: public.k.unwrap_or(vigil_public::suppress::DEFAULT_K),
        reports_by_day,
    })
}

fn date_text(d: PartialDate) -> String {
    if d.start.is_none() {
        String::new()
    } else {
        d.to_string()
    }
}

pub async fn publish(data: &Path, out: Option<PathBuf>) -> Result {
    let layout = Layout::new(data);
    let desk = super::desk::open(&layout, None).await?;
    vigil_public::suppress::check_k(
        desk.file
            .public
            .k
            .unwrap_or(vigil_public::suppress::DEFAULT_K),
    )?;
    let passphrase = secrets::passphrase()?;
    let key = ReleaseKey::read(&layout.release_key(), &passphrase)?;
    let identity = vigil_core::keys::read_identity(&layout.identity(), &passphrase)?;
    let record_key = RecordKey::open_or_create(
        &layout.desk_dir().join(vigil_record::RECORD_KEY_FILE),
        &identity,
    )?;
    drop(identity);
    let vocab = Vocabularies::load(data)?;
    let public = gather(desk.store.as_ref(), &record_key, &vocab, &desk.file.public).await?;
    let out = out.unwrap_or_else(|| layout.site());
    // A spinner with the time spent, on a terminal only (indicatif draws
    // nothing when stderr is not one, so scripts and logs stay clean).
    let spinner = indicatif::ProgressBar::new_spinner();
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} публикация / publishing {msg} {elapsed}")
    {
        spinner.set_style(style);
    }
    spinner.set_message(out.display().to_string());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let r = vigil_public::publish(&public, &key, &out, Day::today());
    spinner.finish_and_clear();
    let r = r?;
    // The audit log: kinds and counts, never what was published.
    let (files, actions) = (
        format!("files={}", r.files),
        format!("actions={}", r.actions),
    );
    super::urgent::cli_audit(
        &desk,
        vigil_desk::audit::AuditAction::Publish,
        &[&files, &actions],
    )
    .await?;
    println!(
        "published {} files ({} actions, {} detentions) to {}, signed by {}",
        r.files,
        r.actions,
        r.detentions,
        r.dir.display(),
        r.public_key
    );
    match &r.previous {
        Some(p) => println!(
            "follows the previous release (manifest SHA-256 {p}); {} table(s) changed, see changes.html",
            r.tables_changed
        ),
        None => println!("the first release of its chain"),
    }
    Ok(())
}

pub fn verify(dir: &Path, key: Option<&str>, previous: Option<&Path>) -> Result {
    let expected = match key {
        None => None,
        Some(k) => {
            let text = if Path::new(k).is_file() {
                std::fs::read_to_string(k)?
            } else {
                k.to_owned()
            };
            Some(vigil_core::keys::parse_public_key(&text).map_err(|e| format!("--key: {e}"))?)
        }
    };
    let v = match previous {
        None => vigil_public::verify(dir, expected.as_ref())?,
        Some(p) => vigil_public::verify_chain(dir, p, expected.as_ref())?,
    };
    println!(
        "OK: {} files match the manifest of {}, signed by {}",
        v.files, v.released, v.public_key
    );
    println!("manifest SHA-256: {}", v.manifest_sha256);
    match (&v.previous_checked, &v.previous) {
        (Some(before), _) => println!(
            "chain: follows the release of {} (manifest SHA-256 {}), which also verifies",
            before.released, before.manifest_sha256
        ),
        (None, Some(hash)) => {
            println!("chain: names the previous manifest {hash}; give --previous DIR to check it")
        }
        (None, None) => println!("chain: the first release of its chain"),
    }
    if !v.key_was_expected {
        println!(
            "note: no --key given; this proves the release is intact, not who signed it. \
             Compare the key above with the one the organisation publishes."
        );
    }
    Ok(())
}

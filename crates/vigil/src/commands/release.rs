//! `vigil publish` and `vigil verify`, and the gathering of a release's
//! numbers: the public crate takes plain data (vigil_public::PublicData), so
//! the reading of the store and the opening of sealed fields happen here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vigil_core::Day;
use vigil_core::keys::ReleaseKey;
use vigil_core::release::Licence;
use vigil_public::data::{
    Breakdowns, CaseEvent, Counts, Group, PersonAttributes, PublicAction, PublicCase, PublicEvent,
};
use vigil_public::{PublicData, Text};
use vigil_record::model::{Action, Person};
use vigil_record::stats::{CountRow, StatKey};
use vigil_record::{PartialDate, Precision, RecordKey, Vocabularies};
use vigil_store::DeskStore;
use vigil_store::record::{ActionCursor, EventsOf};
use vigil_store::record::{BreakdownTally, TallyAction, TallyEvent};

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

/// The labels and settings of a release: everything but its counts and the
/// record's rows.
async fn labels(
    store: &dyn DeskStore,
    vocab: &Vocabularies,
    public: &PublicConfig,
) -> Result<PublicData> {
    let licence = match &public.licence {
        Some(l) => l.licence()?,
        None => Licence::default(),
    };
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
        labels,
        regions,
        attributions: public.attributions.clone(),
        k: public.k.unwrap_or(vigil_public::suppress::DEFAULT_K),
        reports_by_day,
        licence,
        ..PublicData::default()
    })
}

/// What a release breaks the record down by, one key at a time.
const BREAKDOWNS: [StatKey; 6] = [
    StatKey::Month,
    StatKey::Region,
    StatKey::Article,
    StatKey::EventKind,
    StatKey::ActionKind,
    StatKey::Topic,
];

/// The tally's groups as the release's breakdowns, in the order of `BREAKDOWNS`.
fn breakdowns((groups, total): (Vec<Vec<CountRow>>, CountRow)) -> (Breakdowns, Counts) {
    let mut groups = groups.into_iter().map(|rows| {
        rows.iter()
            .map(|r| Group {
                code: r.keys.first().cloned().flatten(),
                counts: counts(r),
            })
            .collect::<Vec<_>>()
    });
    let mut next = || groups.next().unwrap_or_default();
    let by = Breakdowns {
        month: next(),
        region: next(),
        article: next(),
        event_kind: next(),
        action_kind: next(),
        topic: next(),
    };
    (by, counts(&total))
}

/// Rows per page read from the store: bounds the memory of a release however
/// large the record is.
const PAGE: u32 = 10_000;

/// What `publish_record` read, for its summary.
#[derive(Debug, Default)]
pub struct Read {
    pub actions: u64,
    pub events: u64,
    pub persons: u64,
    pub cases: u64,
    /// Wall seconds of each step, in order.
    pub steps: Vec<(&'static str, f64)>,
}

/// The progress of a release on a terminal (indicatif draws nothing when
/// stderr is not one, so scripts and logs stay clean).
struct Progress(indicatif::ProgressBar, std::time::Instant);

impl Progress {
    fn new(to: &Path) -> Progress {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} публикация / publishing {prefix}: {msg} {pos} {elapsed}",
        ) {
            bar.set_style(style);
        }
        bar.set_prefix(to.display().to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress(bar, std::time::Instant::now())
    }

    fn phase(&self, what: &'static str, len: u64, read: &mut Read) {
        let now = self.1.elapsed().as_secs_f64();
        let before: f64 = read.steps.iter().map(|(_, s)| s).sum();
        if let Some(last) = read.steps.last_mut() {
            last.1 = now - (before - last.1);
        }
        read.steps.push((what, 0.0));
        self.0.set_message(what);
        self.0.set_length(len);
        self.0.set_position(0);
    }
}

/// Reads the record page by page and writes it into a signed release in
/// `out`: the actions and events stream from the store into their open-data
/// files and pages, the persons are added up as they pass (names opened only
/// for persons whose consent is `public`; birth years only to place a counted
/// person in an age group), and memory stays bounded by a page.
pub async fn publish_record(
    store: &dyn DeskStore,
    key: &RecordKey,
    vocab: &Vocabularies,
    public: &PublicConfig,
    release_key: &ReleaseKey,
    out: &Path,
    today: Day,
) -> Result<(vigil_public::Release, Read)> {
    let progress = Progress::new(out);
    let mut read = Read::default();
    let mut data = labels(store, vocab, public).await?;
    vigil_public::suppress::check_k(data.k)?;
    let mut publication = vigil_public::Publication::begin(out)?;
    // pubfast: the breakdowns are added up from the rows as they stream into
    // their files (by the store's own tally, the rules of `vigil stats`), so
    // the record is read once; only the pages, written last, need them.
    let bys: Vec<Vec<StatKey>> = BREAKDOWNS.iter().map(|k| vec![*k]).collect();
    let mut tally = BreakdownTally::new(&bys);
    let latest = stream_rows(
        store,
        key,
        &data,
        &mut publication,
        &progress,
        &mut read,
        &mut tally,
    )
    .await?;
    (data.by, data.total) = breakdowns(tally.finish());
    let data_year = latest.map(|d| d.to_string()[..4].parse::<i32>().unwrap_or(0));

    progress.phase("persons", data.total.persons, &mut read);
    let mut after: Option<String> = None;
    loop {
        let page = store
            .record_counted_persons_page(after.as_deref(), PAGE)
            .await?;
        for row in &page {
            let p = Person::from_row(row, key)?;
            data.persons.add(&PersonAttributes {
                gender: p.gender.clone(),
                age_group: age_group(p.identity.birth_year, data_year),
                roles: p.roles.clone(),
            });
            if row.consent == "public" {
                let own = store
                    .record_events(EventsOf::Person(&row.id))
                    .await?
                    .into_iter()
                    .map(|e| CaseEvent {
                        date: date_text(vigil_record::model::date_from_row(e.date)),
                        kind: e.kind,
                        region: e.region,
                        articles: e.articles,
                        fine_rub: e.fine_rub,
                        arrest_days: e.arrest_days,
                        sentence: e.sentence,
                    })
                    .collect();
                data.cases.push(PublicCase {
                    slug: vigil_core::release::sha256_hex(row.id.as_bytes())[..12].to_owned(),
                    name: p.identity.name.clone(),
                    region: p.region.clone(),
                    roles: p.roles.clone(),
                    events: own,
                });
            }
        }
        read.persons += page.len() as u64;
        progress.0.inc(page.len() as u64);
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.id.clone()),
            _ => break,
        }
    }
    data.cases
        .sort_by(|a, b| a.name.cmp(&b.name).then(a.slug.cmp(&b.slug)));
    read.cases = data.cases.len() as u64;
    data.data_date = latest.map(|d| d.to_string());

    progress.phase("pages, changes, signatures", 0, &mut read);
    let r = publication.finish(&data, release_key, today);
    progress.phase("done", 0, &mut read);
    read.steps.pop();
    progress.0.finish_and_clear();
    Ok((r?, read))
}

/// The actions and the events, page by page from the store into their files
/// and pages; returns the latest day in the record.
async fn stream_rows(
    store: &dyn DeskStore,
    key: &RecordKey,
    data: &PublicData,
    publication: &mut vigil_public::Publication,
    progress: &Progress,
    read: &mut Read,
    tally: &mut BreakdownTally,
) -> Result<Option<Day>> {
    let mut latest: Option<Day> = None;
    // A date as stored, as the tally reads it (`YYYY-MM-DD`).
    let day_text = |d: Option<Day>| d.map(|d| d.to_string());
    progress.phase("actions", 0, read);
    let mut table = publication.actions(data)?;
    // pubfast: each next page is asked for before the rows of this one are
    // turned into cells, so SQLite (on its own thread) reads it meanwhile.
    let mut page = store.record_actions_page(None, PAGE).await?;
    loop {
        let after = match page.last() {
            Some(last) if page.len() == PAGE as usize => Some(ActionCursor::after(&last.action)),
            _ => None,
        };
        let next = async {
            match &after {
                Some(a) => store.record_actions_page(Some(a), PAGE).await.map(Some),
                None => Ok(None),
            }
        };
        let mut work = || -> Result {
            for row in &page {
                let stored = &row.action;
                let date = day_text(stored.date.day);
                tally.action(TallyAction {
                    id: &stored.id,
                    date: date.as_deref(),
                    precision: stored.date.precision,
                    region: stored.region.as_deref(),
                    kind: &stored.kind,
                    authorised: stored.authorised.as_deref(),
                    topic: stored.topic.as_deref(),
                });
                tally.reported(&stored.id, row.reported);
                let a = Action::from_row(&row.action, key)?;
                latest = latest.max(a.date.start);
                // Detentions by the rules of counts.rs: the larger of the distinct
                // persons named as detained there and the highest reported count.
                table.push_action(&PublicAction {
                    date: date_text(a.date),
                    region: a.region,
                    city: a.city,
                    place: a.details.place,
                    kind: a.kind,
                    topic: a.topic,
                    authorised: a.authorised,
                    detentions: row.named.max(row.reported),
                    id: a.id,
                })?;
            }
            Ok(())
        };
        let (next, done) = tokio::join!(next, async { work() });
        done?;
        read.actions += page.len() as u64;
        progress.0.inc(page.len() as u64);
        match next? {
            Some(p) => page = p,
            None => break,
        }
    }
    table.finish()?;

    progress.phase("events", 0, read);
    let mut table = publication.events()?;
    let mut page = store.record_event_facts_page(None, PAGE).await?;
    loop {
        let read_now = page.len();
        let after = match page.last() {
            Some(last) if read_now == PAGE as usize => Some(last.id.clone()),
            _ => None,
        };
        let next = async {
            match &after {
                Some(a) => store.record_event_facts_page(Some(a), PAGE).await.map(Some),
                None => Ok(None),
            }
        };
        let rows = std::mem::take(&mut page);
        let work = || -> Result {
            for e in rows {
                let stored = day_text(e.date.day);
                tally.event(
                    TallyEvent {
                        action_id: e.action_id.as_deref(),
                        kind: &e.kind,
                        date: stored.as_deref(),
                        precision: e.date.precision,
                        region: e.region.as_deref(),
                        person: e.person_id.as_deref(),
                    },
                    e.articles.iter().map(String::as_str),
                );
                let date = vigil_record::model::date_from_row(e.date);
                latest = latest.max(date.start);
                // Outside a public action, no finer than the month.
                let shown = if e.action_id.is_none() && date.precision == Precision::Day {
                    PartialDate {
                        start: date.start,
                        precision: Precision::Month,
                    }
                } else {
                    date
                };
                table.push_event_owned(PublicEvent {
                    kind: e.kind,
                    date: date_text(shown),
                    region: e.region,
                    articles: e.articles,
                    trigger: e.trigger,
                    action_id: e.action_id,
                })?;
            }
            Ok(())
        };
        let (next, done) = tokio::join!(next, async { work() });
        done?;
        read.events += read_now as u64;
        progress.0.inc(read_now as u64);
        match next? {
            Some(p) => page = p,
            None => break,
        }
    }
    table.finish()?;
    Ok(latest)
}

fn date_text(d: PartialDate) -> String {
    if d.start.is_none() {
        String::new()
    } else {
        d.to_string()
    }
}

pub async fn publish(data: &Path, out: Option<PathBuf>) -> Result {
    let started = std::time::Instant::now();
    let layout = Layout::new(data);
    let desk = super::desk::open(&layout, None).await?;
    vigil_public::suppress::check_k(
        desk.file
            .public
            .k
            .unwrap_or(vigil_public::suppress::DEFAULT_K),
    )?;
    if let Some(l) = &desk.file.public.licence {
        l.licence()?;
    }
    let passphrase = secrets::passphrase()?;
    let key = ReleaseKey::read(&layout.release_key(), &passphrase)?;
    let identity = vigil_core::keys::read_identity(&layout.identity(), &passphrase)?;
    let record_key = RecordKey::open_or_create(
        &layout.desk_dir().join(vigil_record::RECORD_KEY_FILE),
        &identity,
    )?;
    drop(identity);
    let vocab = Vocabularies::load(data)?;
    let out = out.unwrap_or_else(|| layout.site());
    let (r, read) = publish_record(
        desk.store.as_ref(),
        &record_key,
        &vocab,
        &desk.file.public,
        &key,
        &out,
        Day::today(),
    )
    .await?;
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
    println!(
        "read {} actions, {} events, {} counted persons ({} public cases) in {:.1} s",
        read.actions,
        read.events,
        read.persons,
        read.cases,
        started.elapsed().as_secs_f64()
    );
    println!(
        "steps: {}",
        read.steps
            .iter()
            .map(|(what, secs)| format!("{what} {secs:.1} s"))
            .collect::<Vec<_>>()
            .join(", ")
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

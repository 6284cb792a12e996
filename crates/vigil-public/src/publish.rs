//! Building a release: the desk's numbers as tables and pages, handed to
//! `opendata` (the files) and `release::write` (manifest, signatures, chain,
//! and the swap of the whole folder into place).

use std::path::{Path, PathBuf};

use askama::Template;
use vigil_core::keys::ReleaseKey;
use vigil_core::release::{Licence, MANIFEST_FILE};
use vigil_core::{Day, Lang};
use vigil_store::{DeskStore, StoreError};

use crate::release::ReleaseError;
use crate::table::{Cell, Column, ColumnKind, Table, Text};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "{path}: exists and is not a vigil release; refusing to overwrite it (choose an empty or new folder)"
    )]
    NotARelease { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the desk's data failed: {0}")]
    Store(#[from] StoreError),
    #[error("rendering the pages failed: {0}")]
    Render(String),
    #[error(transparent)]
    Release(#[from] ReleaseError),
}

/// What was published.
#[derive(Debug)]
pub struct Release {
    pub dir: PathBuf,
    pub files: usize,
    pub reports: u64,
    pub public_key: String,
    /// SHA-256 of the manifest, and of the previous one it chains to.
    pub manifest_sha256: String,
    pub previous: Option<String>,
    /// Tables whose numbers changed since the previous release.
    pub tables_changed: usize,
}

struct DayCount {
    day: String,
    reports: u64,
}

fn reports_by_day(days: &[DayCount]) -> Table {
    let column = |id: &str, ru: &str, en: &str, kind| Column {
        id: id.into(),
        label: Text::new(ru, en),
        description: Text::new(ru, en),
        kind,
        vocabulary: None,
    };
    Table {
        id: "reports-by-day".into(),
        title: Text::new("Сообщения по дням", "Reports by day"),
        description: Text::new(
            "Сообщения, полученные горячей линией, по дням (UTC). Не число событий или людей.",
            "Reports received by the hotline per day (UTC). Not a count of events or people.",
        ),
        columns: vec![
            column("day", "День", "Day", ColumnKind::Date),
            column("reports", "Сообщений", "Reports", ColumnKind::Integer),
        ],
        rows: days
            .iter()
            .map(|d| vec![Cell::Text(d.day.clone()), Cell::Int(d.reports)])
            .collect(),
    }
}

/// One bar of the SVG chart, precomputed so the template stays simple.
struct Bar {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    label: String,
}

struct Chart {
    width: u32,
    height: u32,
    bars: Vec<Bar>,
    max: u64,
}

const CHART_HEIGHT: u32 = 160;
const CHART_TOP: u32 = 10;

fn chart(days: &[DayCount]) -> Chart {
    let max = days.iter().map(|d| d.reports).max().unwrap_or(0).max(1);
    let slot = if days.len() > 120 { 4 } else { 14 };
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let h =
                u32::try_from(d.reports * u64::from(CHART_HEIGHT) / max).unwrap_or(CHART_HEIGHT);
            let i = u32::try_from(i).unwrap_or(u32::MAX / slot);
            Bar {
                x: i * slot,
                y: CHART_TOP + CHART_HEIGHT - h,
                width: slot - 1,
                height: h,
                label: format!("{}: {}", d.day, d.reports),
            }
        })
        .collect::<Vec<_>>();
    let n = u32::try_from(days.len()).unwrap_or(0);
    Chart {
        width: (n * slot).max(200),
        height: CHART_HEIGHT + CHART_TOP + 4,
        bars,
        max,
    }
}

struct Texts {
    lang: &'static str,
    title: &'static str,
    intro: &'static str,
    total: &'static str,
    day: &'static str,
    reports: &'static str,
    chart_title: &'static str,
    downloads: &'static str,
    methodology_title: &'static str,
    methodology: &'static str,
    authenticity_title: &'static str,
    authenticity: &'static str,
    other_lang_name: &'static str,
    other_lang_href: &'static str,
    empty: &'static str,
}

fn texts(lang: Lang) -> Texts {
    match lang {
        Lang::Ru => Texts {
            lang: "ru",
            title: "Сообщения о преследованиях",
            intro: "Сколько сообщений получила горячая линия, по дням. Это не число задержаний или дел: одно событие может прийти в нескольких сообщениях, а проверенная статистика событий публикуется отдельно.",
            total: "Всего сообщений",
            day: "День",
            reports: "Сообщений",
            chart_title: "Сообщения по дням",
            downloads: "Данные: CSV, JSON",
            methodology_title: "Методика",
            methodology: "Считается каждое сообщение, полученное через форму или API, по дню получения (UTC). Сообщения не содержат имён в этой таблице; их содержание никогда не публикуется. Время суток не хранится.",
            authenticity_title: "Подлинность",
            authenticity: "Каждый файл этого выпуска перечислен в manifest.json с его SHA-256; manifest.json подписан ключом Ed25519 (manifest.sig, открытый ключ в release-key.pub). Проверка: vigil verify ПАПКА --key КЛЮЧ.",
            other_lang_name: "English",
            other_lang_href: "index.en.html",
            empty: "Пока нет данных.",
        },
        Lang::En => Texts {
            lang: "en",
            title: "Reports of persecution",
            intro: "How many reports the hotline received, by day. This is not the number of detentions or cases: one event can arrive in several reports, and verified event statistics are published separately.",
            total: "Reports in total",
            day: "Day",
            reports: "Reports",
            chart_title: "Reports by day",
            downloads: "Data: CSV, JSON",
            methodology_title: "Methodology",
            methodology: "Every report received through the form or the API is counted on the day it arrived (UTC). This table holds no names; report contents are never published. The time of day is not kept.",
            authenticity_title: "Authenticity",
            authenticity: "Every file of this release is listed in manifest.json with its SHA-256; manifest.json is signed with an Ed25519 key (manifest.sig, public key in release-key.pub). To check: vigil verify FOLDER --key KEY.",
            other_lang_name: "Русский",
            other_lang_href: "index.html",
            empty: "No data yet.",
        },
    }
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    t: Texts,
    released: &'a str,
    total: u64,
    days: &'a [DayCount],
    chart: &'a Chart,
    public_key: &'a str,
}

/// Builds a signed release of the desk's data into `out`.
pub async fn publish(
    store: &dyn DeskStore,
    key: &ReleaseKey,
    out: &Path,
    today: Day,
) -> Result<Release, PublishError> {
    let counts = store.desk_count_by_day().await?;
    let days: Vec<DayCount> = counts
        .iter()
        .map(|(d, n)| DayCount {
            day: d.to_string(),
            reports: *n,
        })
        .collect();
    let total: u64 = days.iter().map(|d| d.reports).sum();
    let released = today.to_string();
    let public_key = key.public_hex();

    let mut files = crate::opendata::files(&[reports_by_day(&days)], &Licence::default());
    let chart = chart(&days);
    for (lang, file) in [(Lang::Ru, "index.html"), (Lang::En, "index.en.html")] {
        let html = IndexPage {
            t: texts(lang),
            released: &released,
            total,
            days: &days,
            chart: &chart,
            public_key: &public_key,
        }
        .render()
        .map_err(|e| PublishError::Render(e.to_string()))?;
        files.push((file.into(), html.into_bytes()));
    }
    files.push((
        "static/style.css".into(),
        vigil_web::STYLESHEET.as_bytes().to_vec(),
    ));
    // An earlier release in the same place is the one this one follows.
    let previous = out.join(MANIFEST_FILE).is_file().then_some(out);
    let r = crate::release::write(out, files, key, today, &Licence::default(), previous)?;
    Ok(Release {
        dir: r.dir,
        files: r.files,
        reports: total,
        public_key: r.public_key,
        manifest_sha256: r.manifest_sha256,
        previous: r.previous,
        tables_changed: r
            .changes
            .tables
            .iter()
            .filter(|t| t.status != crate::changes::Status::Unchanged)
            .count(),
    })
}

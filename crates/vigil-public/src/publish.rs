//! Building a release. The folder is written beside the target and swapped in
//! whole, so a reader (or a static host syncing it) never sees half a release.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use askama::Template;
use serde::Serialize;
use vigil_core::keys::ReleaseKey;
use vigil_core::release::{
    MANIFEST_FILE, MANIFEST_FORMAT, Manifest, PUBLIC_KEY_FILE, SIGNATURE_FILE, sha256_hex,
};
use vigil_core::{Day, Lang};
use vigil_store::{DeskStore, StoreError};

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
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PublishError + '_ {
    move |source| PublishError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What was published.
#[derive(Debug)]
pub struct Release {
    pub dir: PathBuf,
    pub files: usize,
    pub reports: u64,
    pub public_key: String,
}

#[derive(Serialize)]
struct DayCount {
    day: String,
    reports: u64,
}

#[derive(Serialize)]
struct ReportsByDay<'a> {
    released: &'a str,
    description: &'static str,
    total: u64,
    days: &'a [DayCount],
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

fn write(
    dir: &Path,
    rel: &str,
    bytes: &[u8],
    files: &mut BTreeMap<String, String>,
) -> Result<(), PublishError> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    fs::write(&path, bytes).map_err(io(&path))?;
    files.insert(rel.to_owned(), sha256_hex(bytes));
    Ok(())
}

/// Builds a signed release of the desk's data into `out`.
pub async fn publish(
    store: &dyn DeskStore,
    key: &ReleaseKey,
    out: &Path,
    today: Day,
) -> Result<Release, PublishError> {
    if out.exists() && !out.join(MANIFEST_FILE).exists() {
        let empty = fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty {
            return Err(PublishError::NotARelease {
                path: out.display().to_string(),
            });
        }
    }
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

    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "release".into());
    let suffix = hex_suffix();
    let staging = parent.join(format!(".{name}.new-{suffix}"));
    fs::create_dir_all(&staging).map_err(io(&staging))?;

    let mut files = BTreeMap::new();
    let mut csv = String::from("day,reports\n");
    for d in &days {
        csv.push_str(&format!("{},{}\n", d.day, d.reports));
    }
    write(
        &staging,
        "data/reports-by-day.csv",
        csv.as_bytes(),
        &mut files,
    )?;
    let json = serde_json::to_vec_pretty(&ReportsByDay {
        released: &released,
        description: "Reports received by the hotline per day (UTC). Not a count of events or people.",
        total,
        days: &days,
    })
    .map_err(|e| PublishError::Render(e.to_string()))?;
    write(&staging, "data/reports-by-day.json", &json, &mut files)?;
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
        write(&staging, file, html.as_bytes(), &mut files)?;
    }
    write(
        &staging,
        "static/style.css",
        vigil_web::STYLESHEET.as_bytes(),
        &mut files,
    )?;
    write(
        &staging,
        PUBLIC_KEY_FILE,
        format!("{public_key}\n").as_bytes(),
        &mut files,
    )?;

    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        released: released.clone(),
        public_key: public_key.clone(),
        files,
    };
    let mut manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| PublishError::Render(e.to_string()))?;
    manifest_bytes.push(b'\n');
    let manifest_path = staging.join(MANIFEST_FILE);
    fs::write(&manifest_path, &manifest_bytes).map_err(io(&manifest_path))?;
    let signature = format!("{}\n", hex::encode(key.sign(&manifest_bytes)));
    let sig_path = staging.join(SIGNATURE_FILE);
    fs::write(&sig_path, signature).map_err(io(&sig_path))?;

    // Swap the new release in whole.
    let old = parent.join(format!(".{name}.old-{suffix}"));
    if out.exists() {
        fs::rename(out, &old).map_err(io(out))?;
    }
    fs::rename(&staging, out).map_err(io(out))?;
    if old.exists() {
        fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(Release {
        dir: out.to_path_buf(),
        files: manifest.files.len() + 2,
        reports: total,
        public_key,
    })
}

fn hex_suffix() -> String {
    vigil_core::random::bytes::<6>()
        .map(hex::encode)
        .unwrap_or_else(|_| format!("{}", std::process::id()))
}

//! Building a release. The folder is written beside the target and swapped in
//! whole, so a reader (or a static host syncing it) never sees half a release.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use vigil_core::Day;
use vigil_core::keys::ReleaseKey;
use vigil_core::release::MANIFEST_FILE;

use crate::data::{PublicAction, PublicData, PublicEvent};
use crate::opendata::{Streamed, TableFiles, csv_path, json_path, parquet_path};
use crate::release::{StagedFile, Staging};
use crate::site::tables::tables;
use crate::site::{ROWS_MARKER, SITE_CSS, pages};
use crate::suppress::check_k;
use crate::table::{Cell, Table};

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
    #[error(transparent)]
    Threshold(#[from] crate::suppress::KError),
    #[error("rendering the pages failed: {0}")]
    Render(String),
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
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
    /// Every file in the folder, the manifest and its signatures included.
    pub files: usize,
    pub actions: u64,
    pub detentions: u64,
    pub public_key: String,
    /// SHA-256 of this release's `manifest.json`: what the next one names.
    pub manifest_sha256: String,
    /// The previous release's manifest hash, when this one follows one.
    pub previous: Option<String>,
    /// Tables whose numbers changed since the previous release.
    pub tables_changed: usize,
}

/// Builds a signed release of `data` into `out`: the pages (site/), the open
/// data (opendata.rs: CSV, JSON, Parquet, codebook, licence), written and signed
/// by release.rs, chained to the release already in `out` if there is one.
pub fn publish(
    data: &PublicData,
    key: &ReleaseKey,
    out: &Path,
    today: Day,
) -> Result<Release, PublishError> {
    check_k(data.k)?;
    Publication::begin(out)?.finish(data, key, today)
}

/// A release built in steps, for a record too large to hold in memory: the
/// record's big tables (actions, events) are streamed row by row into their
/// files in the staging folder (`actions`, `events`), then `finish` writes the
/// rest from `PublicData` (whose `actions` and `events` are then left empty)
/// and signs it all. The bytes are the same as `publish` with every row held.
pub struct Publication {
    out: PathBuf,
    staging: Staging,
    streamed: BTreeMap<String, Streamed>,
    /// Scratch files holding a streamed table's page rows (Russian, English).
    page_rows: BTreeMap<String, [PathBuf; 2]>,
}

impl Publication {
    pub fn begin(out: &Path) -> Result<Publication, PublishError> {
        if out.exists() && !out.join(MANIFEST_FILE).exists() {
            let empty = fs::read_dir(out).map_err(io(out))?.next().is_none();
            if !empty {
                return Err(PublishError::NotARelease {
                    path: out.display().to_string(),
                });
            }
        }
        Ok(Publication {
            out: out.to_path_buf(),
            staging: Staging::new(out)?,
            streamed: BTreeMap::new(),
            page_rows: BTreeMap::new(),
        })
    }

    /// The `actions` table, one action at a time (its page's rows too: `d`
    /// gives the labels).
    pub fn actions<'p>(&'p mut self, d: &'p PublicData) -> Result<RecordTable<'p>, PublishError> {
        let meta = crate::site::tables::actions(&PublicData::default());
        self.table(meta, Some(d))
    }

    /// The `events` table, one event at a time.
    pub fn events(&mut self) -> Result<RecordTable<'_>, PublishError> {
        let meta = crate::site::tables::events(&PublicData::default());
        self.table(meta, None)
    }

    fn table<'p>(
        &'p mut self,
        meta: Table,
        page: Option<&'p PublicData>,
    ) -> Result<RecordTable<'p>, PublishError> {
        let id = meta.id.clone();
        let files = TableFiles::new(
            &meta,
            self.staging.create(&csv_path(&id))?,
            self.staging.create(&json_path(&id))?,
            Some(self.staging.create(&parquet_path(&id))?),
        )
        .map_err(io(&self.out))?;
        let page = match page {
            None => None,
            Some(d) => {
                let paths = [
                    self.staging.scratch(&format!("{id}-ru")),
                    self.staging.scratch(&format!("{id}-en")),
                ];
                let open = |p: &PathBuf| -> Result<std::io::BufWriter<fs::File>, PublishError> {
                    Ok(std::io::BufWriter::new(fs::File::create(p).map_err(io(p))?))
                };
                let writers = [open(&paths[0])?, open(&paths[1])?];
                self.page_rows.insert(id.clone(), paths);
                Some(Writer::page(d.clone(), meta.clone(), writers).map_err(io(&self.out))?)
            }
        };
        let files = Writer::files(files).map_err(io(&self.out))?;
        Ok(RecordTable {
            publication: self,
            meta,
            files: Some(files),
            page,
            batch: Vec::with_capacity(BATCH),
        })
    }

    /// Writes the rest of the release from `data` and signs it.
    pub fn finish(
        mut self,
        data: &PublicData,
        key: &ReleaseKey,
        today: Day,
    ) -> Result<Release, PublishError> {
        check_k(data.k)?;
        let released = today.to_string();
        let public_key = key.public_hex();
        let licence = &data.licence;
        let tables = tables(data);
        let vocabularies = vigil_record::vocab::Vocabularies::built_in().ok();
        let files =
            crate::opendata::files_around(&tables, licence, vocabularies.as_ref(), &self.streamed);
        let mut files: BTreeMap<String, Vec<u8>> = files.into_iter().collect();
        let mut notes =
            String::from("Attribution required by the sources of this release's data:\n");
        for a in &data.attributions {
            notes.push_str(a);
            notes.push('\n');
        }
        files.insert("data/ATTRIBUTION.txt".into(), notes.into_bytes());
        for page in pages(data, &tables, &released, &public_key, &self.streamed) {
            // The page of a streamed table (`ru/actions.html`): its rows are
            // in the scratch files, in its language.
            let streamed_rows = page
                .path
                .split_once('/')
                .and_then(|(_, file)| file.strip_suffix(".html"))
                .and_then(|stem| self.page_rows.get(stem));
            match (streamed_rows, page.html.split_once(ROWS_MARKER)) {
                (Some([ru, en]), Some((head, tail))) => {
                    let rows = if page.path.starts_with("en/") { en } else { ru };
                    let mut f = self.staging.create(&page.path)?;
                    let copied = (|| -> std::io::Result<()> {
                        f.write_all(head.as_bytes())?;
                        std::io::copy(&mut fs::File::open(rows)?, &mut f)?;
                        f.write_all(tail.as_bytes())
                    })();
                    copied.map_err(io(rows))?;
                    self.staging.close(f)?;
                }
                _ => {
                    files.insert(page.path, page.html.into_bytes());
                }
            }
        }
        drop(tables);
        for paths in self.page_rows.values() {
            for p in paths {
                fs::remove_file(p).map_err(io(p))?;
            }
        }
        files.insert(
            "static/style.css".into(),
            vigil_web::STYLESHEET.as_bytes().to_vec(),
        );
        files.insert("static/site.css".into(), SITE_CSS.as_bytes().to_vec());
        // An earlier release in the same place is the one this one follows.
        let out = self.out.clone();
        let previous = out.join(MANIFEST_FILE).is_file().then_some(out.as_path());
        let r = crate::release::write_staged(self.staging, files, key, today, licence, previous)?;
        Ok(Release {
            dir: r.dir,
            files: r.files,
            actions: data.total.actions,
            detentions: data.total.detentions,
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
}

/// Rows handed to the writers at a time.
const BATCH: usize = 4096;

/// Batches in flight to a writer: bounds the memory a slow writer can hold up.
const IN_FLIGHT: usize = 4;

type Batch = crate::opendata::RowBatch;

/// A thread writing a record table's batches (pubfast): the open-data files
/// on one, the page rows in both languages on another, while the next page of
/// the record is read. Each writes its batches in the order they are sent, so
/// the bytes are those of writing them one after the other.
struct Writer<T> {
    send: Option<std::sync::mpsc::SyncSender<Batch>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<T>>>,
}

type Files = TableFiles<StagedFile>;

/// What the files' writer ends with: CSV, JSON, Parquet, and the rows.
type Written = (StagedFile, StagedFile, Option<StagedFile>, u64);

impl<T: Send + 'static> Writer<T> {
    fn spawn<S: Send + 'static>(
        name: &str,
        mut state: S,
        mut write: impl FnMut(&mut S, &Batch) -> std::io::Result<()> + Send + 'static,
        end: impl FnOnce(S) -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<Writer<T>> {
        let (send, receive) = std::sync::mpsc::sync_channel::<Batch>(IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                for batch in receive {
                    write(&mut state, &batch)?;
                }
                end(state)
            })?;
        Ok(Writer {
            send: Some(send),
            thread: Some(thread),
        })
    }

    /// Hands a batch over; false if the writer has stopped (its error comes
    /// with `finish`).
    fn send(&self, batch: &Batch) -> bool {
        self.send
            .as_ref()
            .is_some_and(|s| s.send(batch.clone()).is_ok())
    }

    fn finish(mut self) -> std::io::Result<T> {
        drop(self.send.take());
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            _ => Err(std::io::Error::other("a release writer thread stopped")),
        }
    }
}

impl Writer<Written> {
    fn files(files: Files) -> std::io::Result<Self> {
        Writer::spawn(
            "release-files",
            files,
            |f: &mut Files, rows: &Batch| f.push_batch(rows.clone()),
            |f: Files| f.finish(),
        )
    }
}

type PageWriters = [std::io::BufWriter<fs::File>; 2];

impl Writer<()> {
    fn page(d: PublicData, meta: Table, writers: PageWriters) -> std::io::Result<Self> {
        Writer::spawn(
            "release-page",
            (d, meta, writers),
            |(d, meta, writers): &mut (PublicData, Table, PageWriters), rows: &Batch| {
                let [ru, en] = crate::site::html_rows(d, meta, rows);
                writers[0].write_all(ru.as_bytes())?;
                writers[1].write_all(en.as_bytes())
            },
            |(_, _, writers): (PublicData, Table, PageWriters)| {
                for mut w in writers {
                    w.flush()?;
                }
                Ok(())
            },
        )
    }
}

/// One record table being streamed into a [`Publication`].
pub struct RecordTable<'p> {
    publication: &'p mut Publication,
    meta: Table,
    files: Option<Writer<Written>>,
    page: Option<Writer<()>>,
    batch: Vec<Vec<Cell>>,
}

impl RecordTable<'_> {
    pub fn push_action(&mut self, a: &PublicAction) -> Result<(), PublishError> {
        self.push(crate::site::tables::action_row(a))
    }

    pub fn push_event(&mut self, e: &PublicEvent) -> Result<(), PublishError> {
        self.push(crate::site::tables::event_row(e))
    }

    /// `push_event` without copying the event's fields.
    pub fn push_event_owned(&mut self, e: PublicEvent) -> Result<(), PublishError> {
        self.push(crate::site::tables::event_row_owned(e))
    }

    fn push(&mut self, row: Vec<Cell>) -> Result<(), PublishError> {
        self.batch.push(row);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends the batch to the writers. A writer that stopped has failed: its
    /// error is the one to report, so `finish` is called for it.
    fn flush(&mut self) -> Result<(), PublishError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch: Batch = std::sync::Arc::new(std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(BATCH),
        ));
        let out = self.publication.out.clone();
        if let Some(w) = &self.page
            && !w.send(&batch)
            && let Some(w) = self.page.take()
        {
            w.finish().map_err(io(&out))?;
        }
        if let Some(w) = &self.files
            && !w.send(&batch)
            && let Some(w) = self.files.take()
        {
            w.finish().map_err(io(&out))?;
        }
        Ok(())
    }

    /// Ends the table: its files are complete; returns how many rows it has.
    pub fn finish(mut self) -> Result<u64, PublishError> {
        self.flush()?;
        let out = self.publication.out.clone();
        if let Some(w) = self.page.take() {
            w.finish().map_err(io(&out))?;
        }
        let Some(files) = self.files.take() else {
            return Err(io(&out)(std::io::Error::other(
                "a release writer thread stopped",
            )));
        };
        let (csv, json, parquet, rows) = files.finish().map_err(io(&out))?;
        let id = self.meta.id.clone();
        let staging = &mut self.publication.staging;
        staging.close(csv)?;
        staging.close(json)?;
        let mut written = vec![csv_path(&id), json_path(&id)];
        if let Some(p) = parquet {
            staging.close(p)?;
            written.push(parquet_path(&id));
        }
        self.publication.streamed.insert(
            id,
            Streamed {
                rows,
                files: written,
            },
        );
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::data::{Counts, PersonAttributes};

    fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(dir).unwrap().display().to_string();
                    out.insert(rel, fs::read(&p).unwrap());
                }
            }
        }
        out
    }

    fn record() -> PublicData {
        let actions = (0..5000)
            .map(|i| PublicAction {
                id: format!("a{i:05}"),
                date: format!("2013-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
                region: Some(["RU-MOW", "RU-SPE"][i % 2].into()),
                city: (i % 3 == 0).then(|| "Москва".into()),
                place: Some(format!("площадь, \"{i}\"")),
                kind: "rally".into(),
                topic: None,
                authorised: Some("no".into()),
                detentions: i as u64 % 7,
            })
            .collect();
        let events = (0..9000)
            .map(|i| PublicEvent {
                kind: ["detention", "fine"][i % 2].into(),
                date: if i % 5 == 0 {
                    String::new()
                } else {
                    format!("2013-{:02}", i % 12 + 1)
                },
                region: Some("RU-MOW".into()),
                articles: if i % 4 == 0 {
                    vec!["koap-20.2".to_owned(), "koap-19.3".to_owned()]
                } else {
                    Vec::new()
                },
                trigger: None,
                action_id: (i % 3 == 0).then(|| format!("a{:05}", i % 5000)),
            })
            .collect();
        let persons = (0..40)
            .map(|i| PersonAttributes {
                gender: Some(["female", "male"][i % 2].into()),
                age_group: Some("25_34".into()),
                roles: Vec::new(),
            })
            .collect();
        PublicData {
            data_date: Some("2013-12-28".into()),
            total: Counts {
                actions: 5000,
                detentions: 123,
                persons: 40,
                events: BTreeMap::from([("detention".into(), 4500), ("fine".into(), 4500)]),
            },
            actions,
            events,
            persons,
            k: 5,
            ..PublicData::default()
        }
    }

    #[test]
    fn a_streamed_release_is_the_same_bytes_as_one_built_in_memory() {
        let tmp = tempfile::tempdir().unwrap();
        let key = ReleaseKey::generate().unwrap();
        let day: Day = "2026-12-07".parse().unwrap();
        let whole = record();
        let (held, streamed) = (tmp.path().join("held"), tmp.path().join("streamed"));
        publish(&whole, &key, &held, day).unwrap();

        let mut p = Publication::begin(&streamed).unwrap();
        let mut rest = whole.clone();
        let actions = std::mem::take(&mut rest.actions);
        let events = std::mem::take(&mut rest.events);
        let mut t = p.actions(&rest).unwrap();
        for a in &actions {
            t.push_action(a).unwrap();
        }
        assert_eq!(t.finish().unwrap(), 5000);
        let mut t = p.events().unwrap();
        for (i, e) in events.iter().enumerate() {
            if i % 2 == 0 {
                t.push_event(e).unwrap();
            } else {
                t.push_event_owned(e.clone()).unwrap();
            }
        }
        assert_eq!(t.finish().unwrap(), 9000);
        p.finish(&rest, &key, day).unwrap();

        let (a, b) = (files(&held), files(&streamed));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "the same files"
        );
        for (path, bytes) in &a {
            assert!(bytes == &b[path], "{path} differs");
        }
        // The rows are there, on the page and in the files.
        let page = String::from_utf8(b["en/actions.html"].clone()).unwrap();
        assert!(
            page.contains("площадь, &quot;4999&quot;"),
            "last action shown"
        );
        assert!(!page.contains(ROWS_MARKER));
        assert_eq!(
            String::from_utf8(b["data/events.csv"].clone())
                .unwrap()
                .lines()
                .count(),
            9001
        );
        crate::verify(&streamed, Some(&key.public_key())).unwrap();
        // No scratch or staging file is left behind.
        assert!(!b.keys().any(|k| k.contains("scratch")), "{:?}", b.keys());
        let beside: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(beside.len(), 2, "{beside:?}");
    }

    #[test]
    fn a_configured_licence_is_named_in_the_manifest_codebook_licence_file_and_pages() {
        let tmp = tempfile::tempdir().unwrap();
        let key = ReleaseKey::generate().unwrap();
        let mut d = record();
        d.licence = vigil_core::release::Licence {
            id: "ODbL-1.0".into(),
            name: "Open Database License v1.0".into(),
            url: "https://opendatacommons.org/licenses/odbl/1-0/".into(),
            ru: Some("Можно делиться и изменять, сохраняя лицензию".into()),
            en: Some("Share and adapt, keeping the licence".into()),
        };
        let out = tmp.path().join("r");
        publish(&d, &key, &out, "2026-12-07".parse().unwrap()).unwrap();
        let f = files(&out);
        let text = |p: &str| String::from_utf8(f[p].clone()).unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&text("manifest.json")).unwrap();
        assert_eq!(manifest["licence"]["id"], "ODbL-1.0");
        let book: serde_json::Value = serde_json::from_str(&text("data/codebook.json")).unwrap();
        assert_eq!(book["licence"]["url"], d.licence.url);
        assert!(text("data/codebook.md").contains("Open Database License v1.0"));
        assert!(
            text("LICENSE").contains("ODbL-1.0") && text("LICENSE").contains("Share and adapt")
        );
        let mut pages = 0;
        for (path, bytes) in &f {
            if path.ends_with(".html") && path != "changes.html" {
                let html = String::from_utf8(bytes.clone()).unwrap();
                assert!(
                    html.contains("<span class=\"licence-name\">Open Database License v1.0</span> (https://opendatacommons.org/licenses/odbl/1-0/)"),
                    "{path}"
                );
                let terms = if path.starts_with("en/") {
                    "Share and adapt"
                } else {
                    "Можно делиться"
                };
                assert!(html.contains(terms), "{path}");
                pages += 1;
            }
        }
        assert!(pages > 20, "{pages}");
        assert!(!text("LICENSE").contains("CC-BY-4.0"));
    }
}

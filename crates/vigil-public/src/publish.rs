//! Building a release. The folder is written beside the target and swapped in
//! whole, so a reader (or a static host syncing it) never sees half a release.

use std::fs;
use std::path::{Path, PathBuf};

use vigil_core::Day;
use vigil_core::keys::ReleaseKey;
use vigil_core::release::{Licence, MANIFEST_FILE};

use crate::data::PublicData;
use crate::site::tables::tables;
use crate::site::{SITE_CSS, pages};
use crate::suppress::check_k;

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
    if out.exists() && !out.join(MANIFEST_FILE).exists() {
        let empty = fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty {
            return Err(PublishError::NotARelease {
                path: out.display().to_string(),
            });
        }
    }
    let released = today.to_string();
    let public_key = key.public_hex();
    let licence = Licence::default();
    let tables = tables(data);
    let mut files = crate::opendata::files(&tables, &licence);
    let mut notes = String::from("Attribution required by the sources of this release's data:\n");
    for a in &data.attributions {
        notes.push_str(a);
        notes.push('\n');
    }
    files.push(("data/ATTRIBUTION.txt".into(), notes.into_bytes()));
    for page in pages(data, &tables, &released, &public_key) {
        files.push((page.path, page.html.into_bytes()));
    }
    drop(tables);
    files.push((
        "static/style.css".into(),
        vigil_web::STYLESHEET.as_bytes().to_vec(),
    ));
    files.push(("static/site.css".into(), SITE_CSS.as_bytes().to_vec()));
    // An earlier release in the same place is the one this one follows.
    let previous = out.join(MANIFEST_FILE).is_file().then_some(out);
    let r = crate::release::write(out, files, key, today, &licence, previous)?;
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

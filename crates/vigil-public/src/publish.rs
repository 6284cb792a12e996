//! Building a release. The folder is written beside the target and swapped in
//! whole, so a reader (or a static host syncing it) never sees half a release.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use vigil_core::Day;
use vigil_core::keys::ReleaseKey;
use vigil_core::release::{
    MANIFEST_FILE, MANIFEST_FORMAT, Manifest, PUBLIC_KEY_FILE, SIGNATURE_FILE, sha256_hex,
};

use crate::data::PublicData;
use crate::site::tables::tables;
use crate::site::{SITE_CSS, pages};
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
    pub actions: u64,
    pub detentions: u64,
    pub public_key: String,
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

/// A cell as CSV and JSON write it (until the open-data writers take over).
fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Suppressed => "suppressed".into(),
        Cell::Missing => String::new(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn table_csv(t: &Table) -> String {
    let mut out = t
        .columns
        .iter()
        .map(|c| csv_field(&c.id))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in &t.rows {
        out.push_str(
            &r.iter()
                .map(|c| csv_field(&cell_text(c)))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

/// One table as JSON, a row per line, written row by row so a million-row
/// table is never a tree of JSON values in memory.
fn table_json(t: &Table, released: &str) -> Result<Vec<u8>, PublishError> {
    let render = |e: serde_json::Error| PublishError::Render(e.to_string());
    let mut out = Vec::new();
    out.extend_from_slice(b"{\"id\": ");
    serde_json::to_writer(&mut out, &t.id).map_err(render)?;
    out.extend_from_slice(b",\n\"released\": ");
    serde_json::to_writer(&mut out, released).map_err(render)?;
    out.extend_from_slice(b",\n\"title\": ");
    serde_json::to_writer(&mut out, &t.title).map_err(render)?;
    out.extend_from_slice(b",\n\"description\": ");
    serde_json::to_writer(&mut out, &t.description).map_err(render)?;
    out.extend_from_slice(b",\n\"columns\": ");
    serde_json::to_writer(&mut out, &t.columns).map_err(render)?;
    out.extend_from_slice(b",\n\"rows\": [");
    for (i, r) in t.rows.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        out.push(b'{');
        for (j, (c, v)) in t.columns.iter().zip(r).enumerate() {
            if j > 0 {
                out.extend_from_slice(b", ");
            }
            serde_json::to_writer(&mut out, &c.id).map_err(render)?;
            out.extend_from_slice(b": ");
            match v {
                Cell::Text(s) => serde_json::to_writer(&mut out, s).map_err(render)?,
                Cell::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
                Cell::Suppressed => out.extend_from_slice(b"\"suppressed\""),
                Cell::Missing => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"\n]}\n");
    Ok(out)
}

/// Builds a signed release of `data` into `out`.
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
    let tables = tables(data);
    for t in &tables {
        write(
            &staging,
            &format!("data/{}.csv", t.id),
            table_csv(t).as_bytes(),
            &mut files,
        )?;
        write(
            &staging,
            &format!("data/{}.json", t.id),
            &table_json(t, &released)?,
            &mut files,
        )?;
    }
    let mut notes = String::from("Attribution required by the sources of this release's data:\n");
    for a in &data.attributions {
        notes.push_str(a);
        notes.push('\n');
    }
    write(
        &staging,
        "data/ATTRIBUTION.txt",
        notes.as_bytes(),
        &mut files,
    )?;
    for page in pages(data, &tables, &released, &public_key) {
        write(&staging, &page.path, page.html.as_bytes(), &mut files)?;
    }
    write(
        &staging,
        "static/style.css",
        vigil_web::STYLESHEET.as_bytes(),
        &mut files,
    )?;
    write(&staging, "static/site.css", SITE_CSS.as_bytes(), &mut files)?;
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
        actions: data.total.actions,
        detentions: data.total.detentions,
        public_key,
    })
}

fn hex_suffix() -> String {
    vigil_core::random::bytes::<6>()
        .map(hex::encode)
        .unwrap_or_else(|_| format!("{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Column, ColumnKind, Text};

    #[test]
    fn a_table_is_written_as_valid_json_and_csv() {
        let col = |id: &str, kind| Column {
            id: id.into(),
            label: Text::new(id, id),
            description: Text::new(id, id),
            kind,
            vocabulary: None,
        };
        let t = Table {
            id: "t".into(),
            title: Text::new("т", "t"),
            description: Text::new("о", "d"),
            columns: vec![
                col("place", ColumnKind::Text),
                col("n", ColumnKind::Integer),
            ],
            rows: vec![
                vec![Cell::Text("Тверская, 14 \"у\"".into()), Cell::Int(5)],
                vec![Cell::Missing, Cell::Suppressed],
            ],
        };
        let v: serde_json::Value =
            serde_json::from_slice(&table_json(&t, "2026-12-07").unwrap()).unwrap();
        assert_eq!(v["rows"][0]["place"], "Тверская, 14 \"у\"");
        assert_eq!(v["rows"][0]["n"], 5);
        assert_eq!(v["rows"][1]["place"], serde_json::Value::Null);
        assert_eq!(v["rows"][1]["n"], "suppressed");
        assert_eq!(
            table_csv(&t),
            "place,n\n\"Тверская, 14 \"\"у\"\"\",5\n,suppressed\n"
        );
    }
}

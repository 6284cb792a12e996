//! `vigil publish` streaming the record (issue 10, pubstream): the licence
//! configured in `[public.licence]` is named in the manifest, the codebook, the
//! LICENSE file and every page; the same record gives the same bytes.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::record::{mapping, table_2013};
use super::{World, files_under};

/// A world holding OVD-Info's 2013 table, with `extra` appended to its desk config.
fn world_2013(extra: &str) -> World {
    let w = World::new();
    w.write_desk_config("http://127.0.0.1:9");
    let config = w.data().join("desk/desk.toml");
    let mut text = fs::read_to_string(&config).unwrap();
    text.push_str(extra);
    fs::write(&config, text).unwrap();
    w.run_ok(&["import", "--mapping", &mapping(), &table_2013()]);
    w
}

fn publish(w: &World, to: &Path) -> String {
    let out = w.run_ok(&["publish", "--out", to.to_str().unwrap()]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read(site: &Path, rel: &str) -> String {
    fs::read_to_string(site.join(rel)).unwrap()
}

#[test]
fn a_configured_licence_is_named_in_the_manifest_codebook_licence_file_and_every_page() {
    let w = world_2013(
        "[public.licence]\n\
         id = \"CC-BY-SA-4.0\"\n\
         name = \"Creative Commons Attribution-ShareAlike 4.0 International\"\n\
         url = \"https://creativecommons.org/licenses/by-sa/4.0/\"\n\
         ru = \"Можно использовать с указанием источника и на тех же условиях\"\n\
         en = \"Use with credit, and share alike\"\n",
    );
    let site = w.dir.path().join("site");
    let said = publish(&w, &site);
    assert!(said.contains("steps: actions"), "{said}");
    let manifest: Value = serde_json::from_str(&read(&site, "manifest.json")).unwrap();
    assert_eq!(manifest["licence"]["id"], "CC-BY-SA-4.0");
    assert_eq!(
        manifest["licence"]["en"],
        "Use with credit, and share alike"
    );
    let book: Value = serde_json::from_str(&read(&site, "data/codebook.json")).unwrap();
    assert_eq!(
        book["licence"]["url"],
        "https://creativecommons.org/licenses/by-sa/4.0/"
    );
    let md = read(&site, "data/codebook.md");
    assert!(md.contains("Creative Commons Attribution-ShareAlike 4.0 International"));
    assert!(md.contains("на тех же условиях"), "{md}");
    let licence = read(&site, "LICENSE");
    assert!(licence.contains("CC-BY-SA-4.0") && licence.contains("share alike"));
    assert!(!licence.contains("CC-BY-4.0"), "{licence}");
    let pages: Vec<PathBuf> = files_under(&site)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .filter(|p| !p.ends_with("changes.html"))
        .collect();
    assert!(pages.len() > 20, "{pages:?}");
    for page in pages {
        let html = fs::read_to_string(&page).unwrap();
        assert!(
            html.contains(
                "<span class=\"licence-name\">Creative Commons Attribution-ShareAlike 4.0 \
                 International</span> (https://creativecommons.org/licenses/by-sa/4.0/)"
            ),
            "{}",
            page.display()
        );
        let english = page.strip_prefix(&site).unwrap().starts_with("en");
        let terms = if english {
            "share alike"
        } else {
            "на тех же условиях"
        };
        assert!(html.contains(terms), "{}", page.display());
    }
    // The open data and its verification are untouched by the setting.
    w.run_ok(&["verify", site.to_str().unwrap()]);
}

#[test]
fn a_licence_without_a_web_address_is_refused_before_anything_is_written() {
    let w = world_2013(
        "[public.licence]\nid = \"CC0-1.0\"\nname = \"CC0\"\nurl = \"creativecommons.org/zero\"\n",
    );
    let site = w.dir.path().join("site");
    let out = w.run(&["publish", "--out", site.to_str().unwrap()]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("[public.licence]") && text.contains("http(s)"),
        "{text}"
    );
    assert!(!site.exists());
}

#[test]
fn the_same_record_gives_the_same_release_bytes() {
    let w = world_2013("");
    let (a, b) = (w.dir.path().join("a"), w.dir.path().join("b"));
    let day = |d: &Path| {
        let m: Value = serde_json::from_str(&read(d, "manifest.json")).unwrap();
        m["released"].clone()
    };
    publish(&w, &a);
    publish(&w, &b);
    if day(&a) != day(&b) {
        // The day turned between the two builds: build both again.
        fs::remove_dir_all(&a).unwrap();
        fs::remove_dir_all(&b).unwrap();
        publish(&w, &a);
        publish(&w, &b);
    }
    let files = files_under(&a);
    assert!(
        files.iter().any(|f| f.ends_with("data/events.parquet")),
        "{files:?}"
    );
    assert_eq!(files.len(), files_under(&b).len());
    for f in files {
        let rel = f.strip_prefix(&a).unwrap();
        assert!(
            fs::read(&f).unwrap() == fs::read(b.join(rel)).unwrap(),
            "{} differs between two builds",
            rel.display()
        );
    }
    // No staging folder or scratch file is left beside or inside.
    let beside: Vec<_> = fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

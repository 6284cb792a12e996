//! The public statistics site (issue 10, pubsite): consent, the numbers on the
//! pages against the open data and `vigil stats`, and every page in Chromium
//! with JavaScript off.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::record::{mapping, table_2013};
use super::{Browser, World, contains, files_under};

/// A world whose desk holds OVD-Info's 2013 table, published to `site`.
fn published_2013() -> (World, PathBuf) {
    let w = World::new();
    w.write_desk_config("http://127.0.0.1:9");
    // The table's licence asks for attribution: the desk config's [public] section.
    let config = w.data().join("desk/desk.toml");
    let mut text = fs::read_to_string(&config).unwrap();
    text.push_str("[public]\nattributions = [\"Data: OVD-Info, CC BY 3.0\"]\n");
    fs::write(&config, text).unwrap();
    w.run_ok(&["import", "--mapping", &mapping(), &table_2013()]);
    let site = w.dir.path().join("site");
    w.run_ok(&["publish", "--out", site.to_str().unwrap()]);
    (w, site)
}

fn csv_rows(site: &Path, id: &str) -> Vec<Vec<String>> {
    let text = fs::read_to_string(site.join(format!("data/{id}.csv"))).unwrap();
    // A small reader for the release's CSV (quoted fields may hold commas,
    // quotes and line breaks); the header row is left out.
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    // The last column names the row's withheld cells (`;`-separated); they are
    // read back here as "suppressed", and that column is dropped.
    let header = rows.remove(0);
    if header.last().map(String::as_str) == Some("suppressed_cells") {
        for row in &mut rows {
            let marks = row.pop().unwrap_or_default();
            for name in marks.split(';').filter(|m| !m.is_empty()) {
                let i = header.iter().position(|h| h == name).unwrap();
                assert!(row[i].is_empty(), "a withheld cell holds {:?}", row[i]);
                row[i] = "suppressed".into();
            }
        }
    }
    rows
}

/// The numbers in `<td class="num">` / `<dd class="num">` cells of a page, in order.
fn numbers(html: &str) -> Vec<String> {
    let main = html.split("<main>").nth(1).unwrap_or("");
    main.split("class=\"num\"")
        .skip(1)
        .filter_map(|rest| {
            let rest = rest.split_once('>')?.1;
            let v = rest.split('<').next()?;
            // Numbers only (a withheld cell and a header are words).
            (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.to_owned())
        })
        .collect()
}

#[test]
fn only_the_person_who_consented_appears_anywhere_in_the_release() {
    let w = World::new();
    w.write_desk_config("http://127.0.0.1:9");
    let map = w.dir.path().join("persons.toml");
    fs::write(
        &map,
        "version = 1\ntable = \"events\"\n\
         [columns]\nname = \"name\"\nname_variants = \"latin\"\nregion = \"region\"\nevent_kind = \"what\"\n\
         date = \"date\"\nconsent = \"consent\"\nbirth_year = \"born\"\ngender = \"gender\"\n\
         [values.consent]\n\"нет\" = \"none\"\n\"счёт\" = \"counts\"\n\"да\" = \"public\"\n\
         [values.event_kind]\n\"задержан\" = \"detention\"\n",
    )
    .unwrap();
    let csv = w.dir.path().join("persons.csv");
    fs::write(
        &csv,
        "name,latin,region,what,date,consent,born,gender\n\
         Маркерова Нет Zq71,Markerova Net Zq71,Москва,задержан,06.05.2012,нет,1990,female\n\
         Маркеров Счёт Zq72,Markerov Schet Zq72,Москва,задержан,06.05.2012,счёт,1985,male\n\
         Маркеров Публ Zq73,Markerov Publ Zq73,Москва,задержан,07.05.2012,да,1979,male\n",
    )
    .unwrap();
    w.run_ok(&[
        "import",
        "--mapping",
        map.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    let site = w.dir.path().join("site");
    w.run_ok(&["publish", "--out", site.to_str().unwrap()]);
    let files = files_under(&site);
    let found = |marker: &str| -> Vec<String> {
        files
            .iter()
            .filter(|f| contains(&fs::read(f).unwrap(), marker))
            .map(|f| f.strip_prefix(&site).unwrap().display().to_string())
            .collect()
    };
    for marker in [
        "Zq71",
        "Zq72",
        "Маркерова",
        "Markerov Schet",
        "Счёт Zq",
        "Нет Zq",
    ] {
        assert!(found(marker).is_empty(), "{marker} in {:?}", found(marker));
    }
    let public = found("Маркеров Публ Zq73");
    assert!(
        public.iter().any(|f| f == "data/persons-public.csv"),
        "{public:?}"
    );
    assert!(
        public.iter().any(|f| f.starts_with("ru/cases/")),
        "{public:?}"
    );
    // The whole record still counts all three.
    let overview = csv_rows(&site, "overview");
    assert!(overview.contains(&vec!["persons".to_owned(), "3".to_owned()]));
    // Two counted persons (consent counts or public): below k = 5, withheld.
    let by_gender = csv_rows(&site, "persons-by-gender");
    assert!(
        by_gender
            .iter()
            .all(|r| r[1] == "suppressed" || r[1] == "0"),
        "{by_gender:?}"
    );
    assert!(!w.logs.lock().unwrap().is_empty());
    let logs = w.logs.lock().unwrap();
    assert!(!contains(&logs, "Zq7"), "a marker in the output");
}

#[test]
fn the_numbers_on_the_pages_in_the_tables_and_in_vigil_stats_agree() {
    let (w, site) = published_2013();
    let stats: Value =
        serde_json::from_slice(&w.run_ok(&["stats", "--format", "json"]).stdout).unwrap();
    let total = &stats["total"];
    // The overview's open data, its page in both languages, and stats.
    let overview: BTreeMap<String, String> = csv_rows(&site, "overview")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(overview["actions"], "235");
    assert_eq!(overview["detentions"], "2037");
    for m in ["actions", "detentions", "persons"] {
        assert_eq!(overview[m], total[m].to_string(), "{m}");
        for lang in ["ru", "en"] {
            let page = fs::read_to_string(site.join(format!("{lang}/index.html"))).unwrap();
            let want = format!("data-measure=\"{m}\">{}</dd>", overview[m]);
            assert!(page.contains(&want), "{lang}: {want}");
        }
    }
    // By region: the table, the page, and stats --by region.
    let by_region: Value = serde_json::from_slice(
        &w.run_ok(&["stats", "--by", "region", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let rows = csv_rows(&site, "by-region");
    let from_stats: Vec<Vec<String>> = by_region["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            vec![
                r["region"].as_str().unwrap().to_owned(),
                r["actions"].to_string(),
                r["detentions"].to_string(),
                r["persons"].to_string(),
            ]
        })
        .collect();
    assert_eq!(rows, from_stats);
    assert!(rows.contains(&vec![
        "RU-MOW".to_owned(),
        "169".to_owned(),
        "1462".to_owned(),
        "0".to_owned()
    ]));
    let page = fs::read_to_string(site.join("en/regions.html")).unwrap();
    let shown = numbers(&page);
    for r in &rows {
        assert!(shown.contains(&r[2]), "{} not on the page", r[2]);
    }
    // Every page holds the same numbers in Russian and English.
    for f in fs::read_dir(site.join("en")).unwrap().flatten() {
        if f.path().is_dir() {
            continue;
        }
        let name = f.file_name();
        let en = fs::read_to_string(f.path()).unwrap();
        let ru = fs::read_to_string(site.join("ru").join(&name)).unwrap();
        assert_eq!(numbers(&ru), numbers(&en), "{name:?}");
    }
    // The list of actions: one row per action, the detentions as they are.
    let actions = csv_rows(&site, "actions");
    assert_eq!(actions.len(), 235);
    let sum: u64 = actions.iter().map(|r| r[8].parse::<u64>().unwrap()).sum();
    assert_eq!(sum, 2037);
    // The attribution the data's licence requires, on every page and in the data.
    assert!(
        fs::read_to_string(site.join("ru/actions.html"))
            .unwrap()
            .contains("Data: OVD-Info, CC BY 3.0")
    );
    assert!(
        fs::read_to_string(site.join("data/ATTRIBUTION.txt"))
            .unwrap()
            .contains("Data: OVD-Info, CC BY 3.0")
    );
}

/// Every `src=`, `href=` and CSS `url(` of the release is relative: nothing
/// is loaded from another origin (the pages' Content Security Policy says the same).
fn assert_same_origin(site: &Path) {
    for f in files_under(site) {
        let name = f.display().to_string();
        if !(name.ends_with(".html") || name.ends_with(".css")) {
            continue;
        }
        let text = fs::read_to_string(&f).unwrap();
        for attr in ["src=\"", "href=\"", "url("] {
            for part in text.split(attr).skip(1) {
                let target = part.split(['"', ')']).next().unwrap_or("");
                assert!(
                    !target.contains("//") && !target.contains(':'),
                    "{name}: {attr}{target}"
                );
            }
        }
        if name.ends_with(".html") {
            assert!(text.contains("default-src 'none'"), "{name}: no CSP");
            assert!(!text.contains("<script"), "{name}: a script");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_renders_in_chromium_without_javascript_with_its_charts() {
    let (w, site) = published_2013();
    assert_same_origin(&site);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(vigil_web::serve(
        listener,
        vigil_public::site_router(site.clone()),
        std::future::pending(),
    ));
    let shots = w.dir.path().join("screenshots");
    fs::create_dir_all(&shots).unwrap();
    let browser = Browser::start().await;
    let mut pages: Vec<String> = vec!["index.html".into()];
    for lang in ["ru", "en"] {
        for f in fs::read_dir(site.join(lang)).unwrap().flatten() {
            if f.path().is_file() {
                pages.push(format!("{lang}/{}", f.file_name().to_string_lossy()));
            }
        }
    }
    pages.sort();
    assert!(pages.len() >= 23, "{pages:?}");
    for page in &pages {
        let html = fs::read_to_string(site.join(page)).unwrap();
        browser.goto(&format!("http://{addr}/{page}")).await;
        let h1 = browser.text_of("main h1").await;
        assert!(!h1.is_empty(), "{page}: no heading");
        let charts = html.matches("<svg class=\"chart\"").count();
        let found = browser
            .call(
                reqwest::Method::POST,
                "/elements",
                serde_json::json!({ "using": "css selector", "value": "svg.chart" }),
            )
            .await;
        let found = found.as_array().unwrap();
        assert_eq!(found.len(), charts, "{page}");
        for e in found {
            let id = e[super::ELEMENT].as_str().unwrap();
            let rect = browser
                .call(
                    reqwest::Method::GET,
                    &format!("/element/{id}/rect"),
                    Value::Null,
                )
                .await;
            assert!(
                rect["width"].as_f64().unwrap() > 100.0 && rect["height"].as_f64().unwrap() > 50.0,
                "{page}: a chart is not visible: {rect}"
            );
            let displayed = browser
                .call(
                    reqwest::Method::GET,
                    &format!("/element/{id}/displayed"),
                    Value::Null,
                )
                .await;
            assert_eq!(displayed, Value::Bool(true), "{page}");
        }
        let png = browser
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let bytes = base64(png.as_str().unwrap());
        assert!(bytes.starts_with(b"\x89PNG"));
        fs::write(shots.join(page.replace('/', "_") + ".png"), bytes).unwrap();
    }
    // The map page draws every region, and its numbers are those of the table.
    browser
        .goto(&format!("http://{addr}/en/regions.html"))
        .await;
    let moscow = browser.text_of("#t-by-region tbody tr:first-child").await;
    assert!(
        moscow.contains("Moscow") && moscow.contains("1462"),
        "{moscow}"
    );
    browser
        .goto(&format!("http://{addr}/ru/regions.html"))
        .await;
    let moscow = browser.text_of("#t-by-region tbody tr:first-child").await;
    assert!(
        moscow.contains("Москва") && moscow.contains("1462"),
        "{moscow}"
    );
}

/// Decodes standard base64 (WebDriver's screenshots) without another crate.
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|c| *c != b'=').collect();
        let mut n = 0u32;
        for (i, c) in data.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..data.len()]);
    }
    out
}

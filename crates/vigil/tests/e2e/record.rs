//! The record through the binary: `vigil import` of OVD-Info's real 2013 table
//! (Data: OVD-Info, CC BY 3.0) and `vigil stats` over it; bad input; a killed
//! import run again.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::World;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn mapping() -> String {
    repo()
        .join("mappings/ovdinfo-events.toml")
        .display()
        .to_string()
}

/// The real table, vendored in the repository (data/ovdinfo/README.md).
pub(crate) fn table_2013() -> String {
    let p = repo().join("data/ovdinfo/detentions_2013.csv");
    assert!(p.exists(), "{} is missing", p.display());
    p.display().to_string()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stats(w: &World, args: &[&str]) -> Value {
    let mut all = vec!["stats", "--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_slice(&w.run_ok(&all).stdout).unwrap()
}

/// (region, actions, detentions) of each region, and (actions, detentions) in total.
type ByRegion = (Vec<(String, u64, u64)>, (u64, u64));

fn by_region(w: &World) -> ByRegion {
    let v = stats(w, &["--by", "region"]);
    assert_eq!(v["by"], serde_json::json!(["region"]));
    let rows = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["region"].as_str().unwrap().to_owned(),
                r["actions"].as_u64().unwrap(),
                r["detentions"].as_u64().unwrap(),
            )
        })
        .collect();
    let t = &v["total"];
    (
        rows,
        (
            t["actions"].as_u64().unwrap(),
            t["detentions"].as_u64().unwrap(),
        ),
    )
}

fn published_2013() -> ByRegion {
    (
        vec![
            ("RU-MOW".into(), 169, 1462),
            ("RU-NIZ".into(), 19, 81),
            ("RU-SPE".into(), 42, 461),
            ("RU-VOR".into(), 5, 33),
        ],
        (235, 2037),
    )
}

#[test]
fn the_2013_table_imports_with_the_published_figures_and_only_once() {
    let w = World::new();
    let table = table_2013();
    let out = w.run_ok(&["import", "--mapping", &mapping(), &table]);
    let said = text(&out);
    assert!(
        said.contains("rows read 235, imported 235, already held 0, skipped 0"),
        "{said}"
    );
    assert!(said.contains("Data: OVD-Info, CC BY 3.0"), "{said}");
    assert!(
        said.contains("Против антимагнитского закона"),
        "new topic spellings are listed: {said}"
    );
    assert_eq!(by_region(&w), published_2013());

    // A second import of the same file changes nothing.
    let again = text(&w.run_ok(&["import", "--mapping", &mapping(), &table]));
    assert!(
        again.contains("imported 0, already held 235, skipped 0"),
        "{again}"
    );
    assert_eq!(by_region(&w), published_2013());

    // The table format labels regions in Russian; CSV has a header and a total.
    let table_out = String::from_utf8(w.run_ok(&["stats", "--by", "region"]).stdout).unwrap();
    assert!(
        table_out.contains("Москва") && table_out.contains("1462"),
        "{table_out}"
    );
    let csv = String::from_utf8(
        w.run_ok(&["stats", "--by", "month", "--format", "csv"])
            .stdout,
    )
    .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("month,actions,detentions,"), "{csv}");
    assert_eq!(lines.len(), 1 + 12 + 1, "12 months and a total: {csv}");
    assert!(lines[13].starts_with("total,235,2037,"), "{csv}");

    // Dates filter: the months add up to the year.
    let months = stats(&w, &["--by", "month"]);
    let sum: u64 = months["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["detentions"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 2037);
    let may = stats(&w, &["--from", "2013-05-01", "--to", "2013-05-31"]);
    let may_row = months["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["month"] == "2013-05")
        .unwrap()
        .clone();
    assert_eq!(may["total"]["detentions"], may_row["detentions"]);
    assert_eq!(may["total"]["actions"], may_row["actions"]);

    // The record key exists and names are not what statistics need: stats ran
    // without the passphrase.
    assert!(w.data().join("desk/record-key.age").exists());
    let mut no_pass = w.command(&["stats"]);
    no_pass.env_remove("VIGIL_PASSPHRASE").stdin(Stdio::null());
    assert!(no_pass.output().unwrap().status.success());
}

#[test]
fn a_killed_import_run_again_gives_the_same_figures() {
    let w = World::new();
    let table = table_2013();
    // One row per transaction, so the import is killed between commits.
    let mut child = w
        .command(&[
            "import",
            "--mapping",
            &mapping(),
            "--batch-rows",
            "1",
            &table,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let db = w.data().join("desk/desk.db");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    while Instant::now() < deadline {
        if db.exists() {
            let out = w.run(&["stats", "--format", "json"]);
            if out.status.success() {
                let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                seen = v["total"]["actions"].as_u64().unwrap();
                if seen >= 5 {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(seen >= 5, "the import never committed a row");
    let (_, (actions, detentions)) = by_region(&w);
    // Consistent: whole rows only, each action with its count.
    assert!(actions >= seen && actions <= 235);
    let partial = stats(&w, &[]);
    assert_eq!(
        partial["total"]["detentions_reported"].as_u64().unwrap(),
        detentions
    );

    let out = text(&w.run_ok(&["import", "--mapping", &mapping(), &table]));
    assert!(
        out.contains(&format!(
            "imported {}, already held {actions}",
            235 - actions
        )),
        "{out}"
    );
    assert_eq!(by_region(&w), published_2013());
}

/// The 2013 table's header and first two rows, with changes.
fn small_table(dir: &Path, header: &str, rows: &[&str]) -> String {
    let path = dir.join(format!("t{}.csv", rows.len()));
    let mut s = String::from(header);
    s.push('\n');
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    fs::write(&path, s).unwrap();
    path.display().to_string()
}

const HEADER: &str = "Id,date,region,agreement,agreement_eng,event_type,event_type_eng,subject,subject_eng,organizer,organizer_eng,description,description_eng,ovd,place,number_of_detentions,links";

fn row(id: u32, date: &str, region: &str, kind: &str, n: &str) -> String {
    format!(
        "{id},{date},{region},не согласовано,Unauthorised,{kind},,политзеки,,другое,,описание,,\"ОВД Тверское, ОВД Басманное\",место,{n},http://ovdinfo.org/x/{id}"
    )
}

#[test]
fn bad_rows_are_reported_with_row_and_column_and_the_rest_is_imported() {
    let w = World::new();
    let rows = [
        row(1, "12.01.2013", "Москва", "митинг", "5"),
        row(2, "31.02.2013", "Москва", "митинг", "5"),
        row(3, "13.01.2013", "Москва", "флешмоб", "5"),
        row(4, "14.01.2013", "Атлантида", "митинг", "5"),
        row(5, "15.01.2013", "Москва", "митинг", "много"),
        row(6, "16.01.2013", "Санкт-Петербург", "пикет", "7"),
        "7,17.01.2013,Москва,too,few,cells".to_owned(),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = small_table(w.dir.path(), HEADER, &rows);

    // A dry run prints the report and changes nothing.
    let dry = text(&w.run_ok(&["import", "--dry-run", "--mapping", &mapping(), &file]));
    assert!(dry.contains("would import 2"), "{dry}");
    assert!(dry.contains("dry run: nothing was changed"), "{dry}");
    assert!(!w.data().join("desk/record-key.age").exists());
    assert!(!w.data().join("desk/desk.db").exists());

    let out = text(&w.run_ok(&["import", "--mapping", &mapping(), &file]));
    for expected in [
        "row 2 (line 3), column \"date\": \"31.02.2013\" is not a date",
        "строка 2 (line 3), столбец «date»",
        "row 3 (line 4), column \"event_type\": \"флешмоб\" is not in the action_kinds vocabulary",
        "row 4 (line 5), column \"region\": \"Атлантида\" is not in the regions vocabulary",
        "row 5 (line 6), column \"number_of_detentions\": \"много\" is not a whole number",
        "row 7 (line 8), column \"-\": the row cannot be read (6 cells where the header has 17)",
        "rows read 7, imported 2, already held 0, skipped 5",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    let v = stats(&w, &[]);
    assert_eq!(
        (
            v["total"]["actions"].as_u64(),
            v["total"]["detentions"].as_u64()
        ),
        (Some(2), Some(12))
    );
}

#[test]
fn a_date_that_contradicts_the_year_column_is_reported() {
    let w = World::new();
    let map = fs::read_to_string(mapping())
        .unwrap()
        .replace("[columns]\n", "[columns]\nyear = \"year\"\n");
    let map_path = w.dir.path().join("with-year.toml");
    fs::write(&map_path, map).unwrap();
    let header = format!("{HEADER},year");
    let rows = [
        format!("{},2013", row(1, "12.01.2013", "Москва", "митинг", "5")),
        format!("{},2013", row(2, "12.01.2014", "Москва", "митинг", "5")),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = small_table(w.dir.path(), &header, &rows);
    let out = text(&w.run_ok(&["import", "--mapping", map_path.to_str().unwrap(), &file]));
    assert!(
        out.contains("row 2 (line 3), column \"date\": date \"2014-01-12\" contradicts column \"year\" (\"2013\")"),
        "{out}"
    );
    assert!(
        out.contains("imported 1, already held 0, skipped 1"),
        "{out}"
    );
}

#[test]
fn a_table_without_the_region_column_needs_set_region() {
    let w = World::new();
    let header = HEADER.replace("region,", "").replace(",ovd", "");
    let strip = |r: String| {
        let cells: Vec<String> = r.split(',').map(str::to_owned).collect();
        // Drop the region (3rd) and the two-part quoted station cell.
        let mut kept: Vec<String> = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            if i == 2 || i == 13 || i == 14 {
                continue;
            }
            kept.push(c.clone());
        }
        kept.join(",")
    };
    let rows = [strip(row(1, "12.01.2013", "Москва", "митинг", "5"))];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = small_table(w.dir.path(), &header, &rows);

    let refused = w.run(&["import", "--mapping", &mapping(), &file]);
    assert!(!refused.status.success());
    let said = text(&refused);
    assert!(
        said.contains(&format!("{file}: the mapping names column \"region\""))
            && said.contains("в файле нет столбца «region»"),
        "{said}"
    );
    let out = text(&w.run_ok(&[
        "import",
        "--mapping",
        &mapping(),
        "--set",
        "region=Москва",
        &file,
    ]));
    assert!(
        out.contains("imported 1, already held 0, skipped 0"),
        "{out}"
    );
    assert_eq!(
        stats(&w, &["--by", "region"])["rows"][0]["region"],
        "RU-MOW"
    );

    let bad = text(&w.run(&[
        "import",
        "--mapping",
        &mapping(),
        "--set",
        "region=Атлантида",
        &file,
    ]));
    assert!(bad.contains("--set region=Атлантида"), "{bad}");
}

#[test]
fn stats_refuses_unknown_keys_and_bad_dates_clearly() {
    let w = World::new();
    let out = w.run(&["stats", "--by", "region,colour"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown key \"colour\" for --by"),
        "{}",
        text(&out)
    );
    let out = w.run(&["stats", "--from", "24.02.2022"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("expected a date YYYY-MM-DD"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_list_of_persons_imports_with_names_sealed_and_counts_persons() {
    let w = World::new();
    let map = w.dir.path().join("list.toml");
    fs::write(
        &map,
        "version = 1\ntable = \"events\"\noptional = [\"articles\"]\n\
         [columns]\naction = \"акция\"\naction_kind = \"вид\"\nname = \"ФИО\"\nregion = \"регион\"\n\
         event_kind = \"что\"\ndate = \"дата\"\narticles = \"статьи\"\n\
         [split]\narticles = [\";\"]\n\
         [values.event_kind]\n\"задержан\" = \"detention\"\n\"задержана\" = \"detention\"\n",
    )
    .unwrap();
    let file = small_table(
        w.dir.path(),
        "акция,вид,ФИО,регион,что,дата,статьи",
        &[
            "A,митинг,Зубарева Полина,Москва,задержана,06.05.2012,20.2 ч.5",
            "A,митинг,Чернышёв Егор,Москва,задержан,06.05.2012,20.2 ч.5; 19.3",
            "A,митинг,Чернышёв Егор,Москва,задержан,06.05.2012,",
            ",,Чернышёв Егор,Москва,штраф,20.06.2012,20.2 ч.5",
        ],
    );
    let out = text(&w.run_ok(&["import", "--mapping", map.to_str().unwrap(), &file]));
    assert!(out.contains("rows read 4, imported 4"), "{out}");
    let v = stats(&w, &["--by", "month"]);
    // May: one action; three detention rows, but each row is its own person
    // until linkage merges them, so 3 named detentions and 3 persons.
    assert_eq!(v["rows"][0]["month"], "2012-05");
    assert_eq!(v["rows"][0]["actions"], 1);
    assert_eq!(v["rows"][0]["detentions"], 3);
    assert_eq!(v["rows"][0]["persons"], 3);
    assert_eq!(v["rows"][1]["events"]["fine"], 1);
    let by_article = stats(&w, &["--by", "article"]);
    let art = by_article["rows"].as_array().unwrap();
    assert_eq!(art[0]["article"], "adm-19.3");
    assert_eq!(art[1]["article"], "adm-20.2-5");
    assert_eq!(art[1]["persons"], 3);
    assert_eq!(
        by_article["labels"]["article"]["adm-19.3"]["en"],
        "Code of Administrative Offences 19.3 (disobeying a police officer)"
    );

    // No name is in the desk's database in clear.
    let mut bytes = Vec::new();
    for f in ["desk.db", "desk.db-wal"] {
        if let Ok(b) = fs::read(w.data().join("desk").join(f)) {
            bytes.extend(b);
        }
    }
    assert!(!bytes.is_empty());
    for name in ["Зубарева", "Чернышёв", "Полина"] {
        let needle = name.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|x| x == needle),
            "{name} is in the database in clear"
        );
    }
}

#[test]
fn an_admin_extends_a_vocabulary_with_a_file_in_the_data_folder() {
    let w = World::new();
    let rows = [row(1, "12.01.2013", "Москва", "флешмоб", "4")];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = small_table(w.dir.path(), HEADER, &rows);
    let before = text(&w.run_ok(&["import", "--dry-run", "--mapping", &mapping(), &file]));
    assert!(
        before.contains("is not in the action_kinds vocabulary"),
        "{before}"
    );

    fs::create_dir_all(w.data().join("vocab")).unwrap();
    fs::write(
        w.data().join("vocab/action_kinds.toml"),
        "version = 1\nvocabulary = \"action_kinds\"\n\n[[entry]]\ncode = \"flash_mob\"\nru = \"флешмоб\"\nen = \"flash mob\"\n",
    )
    .unwrap();
    let after = text(&w.run_ok(&["import", "--mapping", &mapping(), &file]));
    assert!(
        after.contains("imported 1, already held 0, skipped 0"),
        "{after}"
    );
    let v = stats(&w, &["--by", "action-kind"]);
    assert_eq!(v["rows"][0]["action-kind"], "flash_mob");
    assert_eq!(v["labels"]["action-kind"]["flash_mob"]["ru"], "флешмоб");
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End-to-end and property tests of the linkage engine and `vigil link`.

use std::path::PathBuf;
use std::process::Command;

use proptest::prelude::*;
use vigil_linkage::normalize::normalize;
use vigil_linkage::translit::{System, to_latin, word_keys};
use vigil_linkage::{Dataset, Quiet, Spec};

/// The F1 recorded in docs/linkage.md for the committed 2,000-record set.
const RECORDED_F1: f64 = 0.9958;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn vigil_link() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil-link"))
}

fn spec() -> Spec {
    Spec::parse(&std::fs::read_to_string(testdata("russian.toml")).unwrap()).unwrap()
}

/// The committed sets are what the seeded generator writes: seed 1, 2,000
/// records, in Cyrillic-and-Latin form and in the Latin view prepared for
/// splink. A change to the generator that alters them shows up here.
#[test]
fn the_generator_reproduces_the_committed_sets() {
    let dir = std::env::temp_dir().join(format!("vigil-link-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, latin) = (dir.join("ru.csv"), dir.join("latin.csv"));
    let status = Command::new(env!("CARGO_BIN_EXE_vigil-link-gen"))
        .args(["--records", "2000", "--seed", "1"])
        .args(["--out", out.to_str().unwrap()])
        .args(["--latin-out", latin.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    for (made, committed) in [(&out, "russian-2k.csv"), (&latin, "russian-2k-latin.csv")] {
        assert!(
            std::fs::read(made).unwrap() == std::fs::read(testdata(committed)).unwrap(),
            "{committed} differs from what the generator writes with seed 1"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truth_column_gives_the_recorded_f1() {
    let out = vigil_link()
        .args(["--spec", testdata("russian.toml").to_str().unwrap()])
        .args(["--input", testdata("russian-2k.csv").to_str().unwrap()])
        .args(["--truth-column", "entity_id", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f1 = v["f1"].as_f64().unwrap();
    assert!(
        (f1 - RECORDED_F1).abs() < 5e-4,
        "F1 {f1}, recorded {RECORDED_F1}"
    );
    assert!(v["pairs_compared"].as_u64().unwrap() > 0);
    assert!(v["precision"].as_f64().is_some() && v["recall"].as_f64().is_some());
}

#[test]
fn writes_clusters_and_explained_pairs() {
    let dir = std::env::temp_dir().join(format!("vigil-link-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let clusters = dir.join("clusters.csv");
    let pairs = dir.join("pairs.csv");
    let out = vigil_link()
        .args(["--spec", testdata("russian.toml").to_str().unwrap()])
        .args(["--input", testdata("russian-2k.csv").to_str().unwrap()])
        .args([
            "--out",
            clusters.to_str().unwrap(),
            "--pairs",
            pairs.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&clusters).unwrap();
    assert!(text.starts_with("input,id,cluster\n"));
    assert_eq!(text.lines().count(), 2001);
    let text = std::fs::read_to_string(&pairs).unwrap();
    let second = text.lines().nth(1).unwrap();
    assert!(second.contains("surname: "), "{second}");
    assert!(second.contains("birth_date: "), "{second}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn run_err(spec: &str, csv: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "vigil-link-err-{}-{}",
        std::process::id(),
        spec.len() * 31 + csv.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("spec.toml"), spec).unwrap();
    std::fs::write(dir.join("in.csv"), csv).unwrap();
    let out = vigil_link()
        .args(["--spec", dir.join("spec.toml").to_str().unwrap()])
        .args(["--input", dir.join("in.csv").to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_input_is_a_clear_error() {
    let csv = "id,name,born\n1,Юлия Иванова,1985\n2,Iuliia Ivanova,1985\n";
    let e = run_err(
        "id = \"id\"\n[fields]\nname = \"person_name\"\nborn = \"birthday\"\n",
        csv,
    );
    assert!(
        e.contains("spec.toml") && e.contains("\"birthday\"") && e.contains("date"),
        "{e}"
    );
    let e = run_err("id = \"id\"\n[fields]\nnmae = \"person_name\"\n", csv);
    assert!(
        e.contains("in.csv: line 1") && e.contains("\"nmae\"") && e.contains("name, born"),
        "{e}"
    );
    let bad_row = "id,name,born\n1,Юлия Иванова,1985\n2,Iuliia Ivanova\n";
    let e = run_err(
        "id = \"id\"\n[fields]\nname = \"person_name\"\nborn = \"date\"\n",
        bad_row,
    );
    assert!(
        e.contains("in.csv: line 3") && e.contains("column 3"),
        "{e}"
    );
}

#[test]
fn links_two_files_across_scripts() {
    let dir = std::env::temp_dir().join(format!("vigil-link-two-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("spec.toml"),
        "id = \"id\"\n[fields]\nname = \"person_name\"\nborn = \"date\"\ncity = \"place\"\n",
    )
    .unwrap();
    let a = "id,name,born,city,truth\n\
        a1,Иванова Юлия Сергеевна,16.09.1985,Москва,1\n\
        a2,Петров Дмитрий Александрович,1979-03-02,СПб,2\n\
        a3,Смирнова Анна,1990,Казань,3\n\
        a4,Кузнецов Олег Игоревич,01.02.1970,Пермь,4\n";
    let b = "id,name,born,city,truth\n\
        b1,Yulia Ivanova,1985-09-16,Moscow,1\n\
        b2,Dima Petrov,02.03.1979,Sankt-Peterburg,2\n\
        b3,Anna Smirnova,1991-05-05,Kazan,5\n\
        b4,Oleg Kuznetsov,19700201,Perm,4\n";
    std::fs::write(dir.join("a.csv"), a).unwrap();
    std::fs::write(dir.join("b.csv"), b).unwrap();
    let out = vigil_link()
        .args(["--spec", dir.join("spec.toml").to_str().unwrap()])
        .args(["--input", dir.join("a.csv").to_str().unwrap()])
        .args(["--input", dir.join("b.csv").to_str().unwrap()])
        .args(["--truth-column", "truth", "--json"])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "link");
    assert_eq!(v["true_pairs"], 3);
    assert!(v["correct_pairs"].as_u64().unwrap() >= 2, "{v}");
}

/// A dataset trained on the committed set, for scoring arbitrary pairs.
fn trained() -> (Dataset, vigil_linkage::Model) {
    let spec = spec();
    let mut reader = csv::Reader::from_path(testdata("russian-2k.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let cols: Vec<usize> = spec
        .fields
        .iter()
        .map(|f| headers.iter().position(|h| h == f.column).unwrap())
        .collect();
    let mut data = Dataset::new(spec);
    for rec in reader.records() {
        let rec = rec.unwrap();
        let values: Vec<&str> = cols.iter().map(|&c| &rec[c]).collect();
        data.push(0, &values);
    }
    static MODEL: std::sync::OnceLock<vigil_linkage::Model> = std::sync::OnceLock::new();
    let model = MODEL.get_or_init(|| data.link(&mut Quiet).model).clone();
    (data, model)
}

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[А-Яа-яЁё]{0,10}",
        "[A-Za-z' -]{0,10}",
        Just("Юлия".to_string()),
        Just("Iuliia".to_string()),
        Just("Саша".to_string()),
    ]
}

fn record_strategy() -> impl Strategy<Value = [String; 5]> {
    (
        name_strategy(),
        name_strategy(),
        name_strategy(),
        prop_oneof![
            Just(String::new()),
            Just("1985".to_string()),
            Just("16.09.1985".to_string()),
            Just("1985-16-09".to_string()),
            "[0-9.-]{0,10}",
        ],
        prop_oneof![
            Just(String::new()),
            Just("Москва".to_string()),
            "[a-z]{0,8}"
        ],
    )
        .prop_map(|(a, b, c, d, e)| [a, b, c, d, e])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn normalisation_is_idempotent(s in "\\PC{0,30}") {
        let once = normalize(&s);
        prop_assert_eq!(normalize(&once), once);
    }

    #[test]
    fn keys_of_normalised_words_are_stable(s in "[а-яё]{1,12}") {
        let k = word_keys(&s);
        prop_assert_eq!(word_keys(&normalize(&s)), k);
    }

    #[test]
    fn transliteration_never_leaves_cyrillic(s in "[А-Яа-яЁё ]{0,20}") {
        for sys in System::ALL {
            let latin = to_latin(&s, sys);
            prop_assert!(!latin.chars().any(vigil_linkage::normalize::is_cyrillic), "{} {:?}", latin, sys);
        }
    }

    #[test]
    fn scoring_is_symmetric_and_a_copy_matches(a in record_strategy(), b in record_strategy()) {
        let (mut data, model) = trained();
        let base = data.len();
        let refs = |r: &[String; 5]| -> Vec<String> { r.to_vec() };
        let ra = refs(&a);
        let rb = refs(&b);
        data.push(0, &ra.iter().map(String::as_str).collect::<Vec<_>>());
        data.push(0, &rb.iter().map(String::as_str).collect::<Vec<_>>());
        data.push(0, &ra.iter().map(String::as_str).collect::<Vec<_>>());
        let (x, y, copy) = (base, base + 1, base + 2);
        let xy = data.score_pair(&model, x, y);
        let yx = data.score_pair(&model, y, x);
        prop_assert!((xy - yx).abs() < 1e-9, "{} vs {}", xy, yx);
        prop_assert_eq!(data.levels_of(x, y), data.levels_of(y, x));
        // A record agrees with its exact copy at least as well as with any other.
        let self_score = data.score_pair(&model, x, copy);
        prop_assert!(self_score >= xy - 1e-9, "{} < {}", self_score, xy);
        let has_value = ra.iter().any(|v| !normalize(v).is_empty());
        if has_value && data.levels_of(x, copy).iter().flatten().count() >= 2 {
            // Agreement with a copy is always evidence for a match: the score is
            // above the prior (the chance that two random records match).
            let prior = (model.lambda / (1.0 - model.lambda)).log2();
            prop_assert!(self_score > prior, "copy scored {} (prior {})", self_score, prior);
        }
    }
}

//! Every fuzz target on its committed seeds (fuzz/seeds/TARGET/), every saved
//! crash (fuzz/crashes/TARGET/, inputs that once failed and were fixed), and a
//! few hundred inputs generated from the seeds with a fixed seed: what CI runs
//! instead of AFL++. An input that fails is written to fuzz/out/failed/ to
//! replay with `scripts/fuzz --replay FILE`.
//!
//! VIGIL_FUZZ_CASES changes the number of generated inputs per target and
//! VIGIL_FUZZ_SEED their seed (to look further than CI does).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use vigil_fuzz::generate::{Rng, dictionary, mutate};

const DEFAULT_CASES: usize = 300;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn exercise(name: &str) {
    let mut target = vigil_fuzz::target(name).unwrap();
    let seeds = files_in(&fuzz_dir().join("seeds").join(name));
    assert!(
        !seeds.is_empty(),
        "no seeds for {name} in fuzz/seeds/{name}/"
    );
    let crashes = files_in(&fuzz_dir().join("crashes").join(name));
    let mut run = |label: String, input: &[u8]| {
        let result = catch_unwind(AssertUnwindSafe(|| target.run(input)));
        let problem = match result {
            Ok(Ok(())) => return,
            Ok(Err(violation)) => violation.to_string(),
            Err(panic) => format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default()
            ),
        };
        let failed = fuzz_dir().join("out").join("failed");
        fs::create_dir_all(&failed).unwrap();
        let saved = failed.join(format!("{name}-{}", label.replace(['/', ' '], "_")));
        fs::write(&saved, input).unwrap();
        panic!(
            "{name}: {label}: {problem}\n(input saved to {})",
            saved.display()
        );
    };
    for (path, input) in seeds.iter().chain(&crashes) {
        run(path.display().to_string(), input);
    }
    let cases = env_number("VIGIL_FUZZ_CASES", DEFAULT_CASES as u64) as usize;
    let mut rng = Rng::for_target(name, env_number("VIGIL_FUZZ_SEED", 1));
    let seed_bytes: Vec<Vec<u8>> = seeds.into_iter().map(|(_, b)| b).collect();
    let dict = dictionary(name);
    for i in 0..cases {
        let input = mutate(&mut rng, &seed_bytes, &dict);
        run(format!("generated {i}"), &input);
    }
}

#[test]
fn every_target_has_seeds_and_a_test() {
    for name in vigil_fuzz::TARGETS {
        assert!(
            fuzz_dir().join("seeds").join(name).is_dir(),
            "fuzz/seeds/{name}/ is missing"
        );
    }
    assert_eq!(
        vigil_fuzz::TARGETS.len(),
        9,
        "add a test below for a new target"
    );
    assert!(vigil_fuzz::target("no_such_target").is_err());
}

#[test]
fn intake_json() {
    exercise("intake_json");
}

#[test]
fn intake_form() {
    exercise("intake_form");
}

#[test]
fn desk_pull() {
    exercise("desk_pull");
}

#[test]
fn intake_config() {
    exercise("intake_config");
}

#[test]
fn desk_config() {
    exercise("desk_config");
}

#[test]
fn release_manifest() {
    exercise("release_manifest");
}

#[test]
fn sealed_envelope() {
    exercise("sealed_envelope");
}

#[test]
fn linkage_csv() {
    exercise("linkage_csv");
}

#[test]
fn linkage_spec() {
    exercise("linkage_spec");
}

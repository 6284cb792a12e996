//! The release writer alone at scale: a synthetic `events` table of ROWS rows
//! (default 1,000,000) and a by-month table, through `opendata::files` and
//! `release::write`, then again over that release (chained: the previous one
//! is verified and every table compared), then `verify`. Prints wall time per
//! step and the peak memory of the process. Run by bench/publish/run.sh.
//!
//!   cargo run --release -p vigil-public --example release_bench -- ROWS DIR

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Instant;

use vigil_core::keys::ReleaseKey;
use vigil_core::release::Licence;
use vigil_public::table::{Cell, Column, ColumnKind, Table, Text};

fn column(id: &str, kind: ColumnKind, vocabulary: Option<&str>) -> Column {
    Column {
        id: id.into(),
        label: Text::new(id, id),
        description: Text::new(id, id),
        kind,
        vocabulary: vocabulary.map(Into::into),
    }
}

fn tables(rows: usize, bump: u64) -> Vec<Table> {
    const REGIONS: [&str; 5] = ["RU-MOW", "RU-SPE", "RU-NVS", "RU-KDA", "RU-TA"];
    const KINDS: [&str; 4] = ["detention", "fine", "search", "criminal_case"];
    let events = Table {
        id: "events".into(),
        title: Text::new("События", "Events"),
        description: Text::new("", ""),
        columns: vec![
            column("id", ColumnKind::Text, None),
            column("date", ColumnKind::Date, None),
            column("region", ColumnKind::Code, Some("regions")),
            column("kind", ColumnKind::Code, Some("event_kinds")),
            column("article", ColumnKind::Code, Some("articles")),
            column("place", ColumnKind::Text, None),
            column("detained", ColumnKind::Integer, None),
            column("action", ColumnKind::Text, None),
        ],
        rows: (0..rows)
            .map(|i| {
                let n = i as u64;
                vec![
                    Cell::Text(format!("e{i:07}")),
                    Cell::Text(format!(
                        "20{:02}-{:02}-{:02}",
                        12 + n % 13,
                        1 + n % 12,
                        1 + n % 28
                    )),
                    Cell::Text(REGIONS[i % 5].into()),
                    Cell::Text(KINDS[i % 4].into()),
                    if i % 3 == 0 {
                        Cell::Missing
                    } else {
                        Cell::Text("20.2".into())
                    },
                    Cell::Text(format!("улица {}", i % 1000)),
                    Cell::Int(1 + n % 7 + if i == 0 { bump } else { 0 }),
                    Cell::Text(format!("a{:06}", i / 10)),
                ]
            })
            .collect(),
    };
    let months = Table {
        id: "detentions-by-month".into(),
        title: Text::new("По месяцам", "By month"),
        description: Text::new("", ""),
        columns: vec![
            column("month", ColumnKind::Date, None),
            column("detentions", ColumnKind::Integer, None),
        ],
        rows: (0..156u64)
            .map(|m| {
                let n = if m == 0 { 3 + bump } else { 100 + m };
                vec![
                    Cell::Text(format!("{}-{:02}", 2012 + m / 12, 1 + m % 12)),
                    if n < 5 {
                        Cell::Suppressed
                    } else {
                        Cell::Int(n)
                    },
                ]
            })
            .collect(),
    };
    vec![events, months]
}

fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().map_or(1_000_000, |a| a.parse().unwrap());
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "/tmp/vigil-release-bench".into()),
    );
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("site");
    let key = ReleaseKey::generate().unwrap();
    let day = "2026-12-07".parse().unwrap();
    let licence = Licence::default();

    let t = Instant::now();
    let tables1 = tables(rows, 0);
    println!(
        "tables in memory ({rows} events): {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let files = vigil_public::opendata::files(&tables1, &licence);
    drop(tables1);
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    println!(
        "opendata::files: {:.2} s, {} files, {:.1} MiB",
        t.elapsed().as_secs_f64(),
        files.len(),
        bytes as f64 / 1048576.0
    );
    let t = Instant::now();
    vigil_public::release::write(&out, files, &key, day, &licence, None).unwrap();
    println!("release::write (first): {:.2} s", t.elapsed().as_secs_f64());

    let files = vigil_public::opendata::files(&tables(rows, 1), &licence);
    let t = Instant::now();
    let r = vigil_public::release::write(&out, files, &key, day, &licence, Some(&out)).unwrap();
    println!(
        "release::write (chained: verify previous, compare tables): {:.2} s; changed tables: {}",
        t.elapsed().as_secs_f64(),
        r.changes
            .tables
            .iter()
            .filter(|t| t.cells_changed > 0)
            .count()
    );
    let t = Instant::now();
    vigil_public::verify(&out, Some(&key.public_key())).unwrap();
    println!("verify: {:.2} s", t.elapsed().as_secs_f64());
    println!("peak memory of the process: {:.0} MiB", peak_mib());
}

//! How far can any linker go on a generated Russian set? `vigil-link-oracle --records N
//! --seed S` regenerates the set of `vigil-link-gen` and bounds the pairwise F1 that any
//! method can reach on it, from what each record shows (docs/benchmarks.md, linkru2).
//!
//! The oracle gives a linker more than the records: for each record, the true values
//! behind the fields it shows (the given name before its short form, typo and
//! transliteration; the masculine surname and whether a woman's surname is written in
//! the feminine form; the patronymic or what its initial shows; the true birth date
//! where the record gives the day or the month, the true year where it gives only the
//! year; the city), and the true values of every person in the set. Only which record
//! belongs to which person is hidden. Each record is a random function of that view
//! and of chances that do not depend on the person, so no linker of the records does
//! better than the best linker of the views. A person is consistent with a record when
//! they agree on everything it shows; the record's chance of being that person is
//! proportional to the likelihood of what it shows (a missing patronymic is 0.35 for
//! a person who has one and 1 for one who has none; a surname in the masculine form
//! 0.08 for a woman and 1 for a man, in the feminine 0.92 and 0), with every person
//! equally likely beforehand (the generator's report counts change the odds between
//! two persons by a factor 0.5–0.67 either way). Two records are the same person with
//! probability q = Σ_P p_a(P) p_b(P). The best linker links the pairs of highest q:
//! the true pairs it links at q ≥ t are counted, and the false ones it cannot avoid
//! estimated as Σ (1 − q) / q over those true pairs (among pairs of posterior q, a
//! share q is true).
//!
//! With `--clusters` (vigil-link's `--out`) and `--pairs` (its `--pairs`) it lists the
//! pairs the best linker links and vigil does not, and why.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Parser;
use vigil_linkage::generate::{
    DatePart, Part, Person, Shown, feminine_surname, generate_with_truth, initial_key,
};
use vigil_linkage::names::{GIVEN_NAMES, Gender};

#[derive(Parser)]
#[command(
    name = "vigil-link-oracle",
    about = "Bound the F1 any linker can reach on a generated Russian set"
)]
struct Cli {
    /// How many records (as given to vigil-link-gen).
    #[arg(long)]
    records: usize,
    /// The seed given to vigil-link-gen.
    #[arg(long)]
    seed: u64,
    /// vigil-link's clusters (`--out`) for these records: compare with the best linker.
    #[arg(long)]
    clusters: Option<PathBuf>,
    /// vigil-link's scored pairs (`--pairs`): the match probability of each missed pair.
    #[arg(long)]
    pairs: Option<PathBuf>,
    /// Write the true pairs the best linker links and vigil does not, with q and fields.
    #[arg(long)]
    missed: Option<PathBuf>,
    /// Weigh each record's own person this many times more than the others (a
    /// sensitivity check: the report counts can favour one person by at most 0.67/0.5).
    #[arg(long, default_value_t = 1.0)]
    favour: f64,
    /// Write the true pairs of q < 0.99 (the ones no linker links safely), with q and fields.
    #[arg(long)]
    uncertain: Option<PathBuf>,
}

/// What the oracle keeps of one person.
struct Key {
    female: bool,
    given: usize,
    given_initial: u32,
    patronymic: Option<u32>,
    patronymic_initial: Option<u32>,
    date: (u16, u8, u8),
    city: usize,
    has_feminine: bool,
}

fn intern(map: &mut HashMap<String, u32>, s: String) -> u32 {
    let next = map.len() as u32;
    *map.entry(s).or_insert(next)
}

/// The likelihood of what record `v` (of person `own`) shows if it were person `c`,
/// up to a factor common to all persons; 0 when `c` is not consistent with it.
fn weight(v: &Shown, own: &Key, c: &Key) -> f64 {
    let mut w = 1.0;
    match v.given {
        Part::Written => {
            if c.given != own.given {
                return 0.0;
            }
        }
        _ => {
            if c.given_initial != own.given_initial {
                return 0.0;
            }
        }
    }
    match v.patronymic {
        Part::Written => {
            if c.patronymic.is_none() || c.patronymic != own.patronymic {
                return 0.0;
            }
        }
        Part::Initial => {
            if c.patronymic_initial.is_none() || c.patronymic_initial != own.patronymic_initial {
                return 0.0;
            }
        }
        Part::Absent => {
            if c.patronymic.is_some() {
                w *= 0.35;
            }
        }
    }
    match v.date {
        DatePart::Full | DatePart::MonthYear => {
            if c.date != own.date {
                return 0.0;
            }
        }
        DatePart::Year => {
            if c.date.0 != own.date.0 {
                return 0.0;
            }
        }
        DatePart::Absent => {}
    }
    if v.city && c.city != own.city {
        return 0.0;
    }
    if own.has_feminine {
        let feminine_written = own.female && !v.masculine_form;
        w *= match (feminine_written, c.female) {
            (true, true) => 0.92,
            (true, false) => 0.0,
            (false, true) => 0.08,
            (false, false) => 1.0,
        };
    }
    w
}

fn keys(persons: &[Person]) -> Vec<Key> {
    let mut strings = HashMap::new();
    let given_initials: Vec<u32> = GIVEN_NAMES
        .iter()
        .map(|g| intern(&mut strings, initial_key(g.full)))
        .collect();
    persons
        .iter()
        .map(|p| Key {
            female: p.gender == Gender::Female,
            given: p.given,
            given_initial: given_initials[p.given],
            patronymic: p.patronymic.clone().map(|s| intern(&mut strings, s)),
            patronymic_initial: p
                .patronymic
                .as_deref()
                .map(|s| intern(&mut strings, format!("p{}", initial_key(s)))),
            date: (p.year, p.month, p.day),
            city: p.city,
            has_feminine: feminine_surname(&p.masculine) != p.masculine,
        })
        .collect()
}

/// One true pair and the chance the best linker gives it.
struct TruePair {
    a: usize,
    b: usize,
    q: f64,
}

fn true_pairs(shown: &[Shown], persons: &[Person], favour: f64) -> (Vec<TruePair>, Vec<u32>) {
    let keys = keys(persons);
    let mut by_surname: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in persons.iter().enumerate() {
        by_surname.entry(&p.masculine).or_default().push(i);
    }
    let mut records_of: Vec<Vec<usize>> = vec![Vec::new(); persons.len()];
    for (r, s) in shown.iter().enumerate() {
        records_of[s.entity].push(r);
    }
    let mut pairs = Vec::new();
    // How many persons each record is consistent with.
    let mut consistent = vec![0u32; shown.len()];
    for (e, recs) in records_of.iter().enumerate() {
        if recs.len() < 2 {
            continue;
        }
        let own = &keys[e];
        let n = recs.len();
        let mut z = vec![0.0f64; n];
        let mut cross = vec![0.0f64; n * n];
        let mut w = vec![0.0f64; n];
        for &c in &by_surname[persons[e].masculine.as_str()] {
            for (i, &r) in recs.iter().enumerate() {
                w[i] = weight(&shown[r], own, &keys[c]) * if c == e { favour } else { 1.0 };
                z[i] += w[i];
                if w[i] > 0.0 {
                    consistent[r] += 1;
                }
            }
            for i in 0..n {
                for j in i + 1..n {
                    cross[i * n + j] += w[i] * w[j];
                }
            }
        }
        for i in 0..n {
            for j in i + 1..n {
                pairs.push(TruePair {
                    a: recs[i],
                    b: recs[j],
                    q: cross[i * n + j] / (z[i] * z[j]),
                });
            }
        }
    }
    (pairs, consistent)
}

/// The best linker's expected quality when it links every pair of q ≥ t, for each t.
struct Curve {
    best_f1: (f64, f64, f64, f64),
    best_recall_at_99: (f64, f64, f64),
}

fn curve(pairs: &mut [TruePair]) -> Curve {
    pairs.sort_by(|x, y| y.q.total_cmp(&x.q));
    let total = pairs.len() as f64;
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    let mut best_f1 = (0.0, 0.0, 0.0, 1.0);
    let mut best_recall_at_99 = (0.0, 0.0, 1.0);
    let mut i = 0;
    while i < pairs.len() {
        let q = pairs[i].q;
        // Within one level of q the linker may link only some of the pairs: precision
        // falls linearly with how many, so the most it can take at precision 0.99 is
        // where that line meets 0.99.
        let level = pairs[i..].iter().take_while(|x| x.q == q).count() as f64;
        if q < 0.99 && tp >= 0.99 * (tp + fp) {
            let room = (tp - 0.99 * (tp + fp)) / (0.99 / q - 1.0);
            let x = room.clamp(0.0, level);
            let (t, f) = (tp + x, fp + x * (1.0 - q) / q);
            if t / total > best_recall_at_99.0 {
                best_recall_at_99 = (t / total, t / (t + f), q);
            }
        }
        while i < pairs.len() && pairs[i].q == q {
            tp += 1.0;
            fp += (1.0 - q) / q;
            i += 1;
        }
        let p = tp / (tp + fp);
        let r = tp / total;
        let f1 = 2.0 * p * r / (p + r);
        if f1 > best_f1.0 {
            best_f1 = (f1, p, r, q);
        }
        if p >= 0.99 && r > best_recall_at_99.0 {
            best_recall_at_99 = (r, p, q);
        }
    }
    Curve {
        best_f1,
        best_recall_at_99,
    }
}

fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut rd = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let header = rd
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for row in rd.records() {
        let row = row.map_err(|e| format!("{}: {e}", path.display()))?;
        rows.push(row.iter().map(str::to_string).collect());
    }
    Ok((header, rows))
}

fn column(header: &[String], name: &str, path: &Path) -> Result<usize, String> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| format!("{}: no column {name:?} in {header:?}", path.display()))
}

fn record_index(id: &str) -> Option<usize> {
    id.strip_prefix('r')?.parse().ok()
}

fn run(cli: &Cli) -> Result<(), String> {
    if !(cli.favour.is_finite() && cli.favour > 0.0) {
        return Err(format!(
            "--favour {}: give a finite number above 0 (1 = no favour)",
            cli.favour
        ));
    }
    let truth = generate_with_truth(cli.records, cli.seed);
    let (mut pairs, consistent) = true_pairs(&truth.shown, &truth.persons, cli.favour);
    let total = pairs.len();
    let certain = pairs.iter().filter(|p| p.q >= 1.0 - 1e-12).count();
    let below_half = pairs.iter().filter(|p| p.q <= 0.5).count();
    let c = curve(&mut pairs);
    println!(
        "records {}, persons {}, true pairs {total}",
        truth.records.len(),
        truth.persons.len()
    );
    let ambiguous = consistent.iter().filter(|&&k| k >= 2).count();
    let in_pairs = consistent.iter().filter(|&&k| k >= 1).count();
    println!(
        "records in true pairs {in_pairs}, of which consistent with 2 or more persons {ambiguous}"
    );
    println!(
        "true pairs certain (q = 1) {certain} ({:.4}), q <= 0.5 {below_half} ({:.4})",
        certain as f64 / total as f64,
        below_half as f64 / total as f64
    );
    let (f1, p, r, t) = c.best_f1;
    println!("bound: best F1 {f1:.4} (precision {p:.4}, recall {r:.4}, linking q >= {t:.4})");
    let (r99, p99, t99) = c.best_recall_at_99;
    println!(
        "bound: best recall at precision >= 0.99 {r99:.4} (precision {p99:.4}, q >= {t99:.4}); \
         F1 there {:.4}",
        2.0 * p99 * r99 / (p99 + r99)
    );
    for cut in [0.999, 0.99, 0.9, 0.5] {
        let n = pairs.iter().filter(|x| x.q >= cut).count();
        println!(
            "true pairs with q >= {cut}: {n} ({:.4})",
            n as f64 / total as f64
        );
    }
    let show = |i: usize| truth.records[i].fields()[2..].join(" | ");
    if let Some(path) = &cli.uncertain {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut w = BufWriter::new(file);
        let err = |e: std::io::Error| format!("{}: {e}", path.display());
        writeln!(w, "q,consistent_a,consistent_b,record_a,record_b").map_err(err)?;
        for x in pairs.iter().filter(|x| x.q < 0.99) {
            writeln!(
                w,
                "{:.4},{},{},\"{}\",\"{}\"",
                x.q,
                consistent[x.a],
                consistent[x.b],
                show(x.a),
                show(x.b)
            )
            .map_err(err)?;
        }
        w.flush().map_err(err)?;
    }
    let Some(clusters) = &cli.clusters else {
        return Ok(());
    };
    let (header, rows) = read_csv(clusters)?;
    let (id_col, cl_col) = (
        column(&header, "id", clusters)?,
        column(&header, "cluster", clusters)?,
    );
    let mut cluster_of = vec![String::new(); truth.records.len()];
    for row in &rows {
        if let Some(i) = record_index(&row[id_col])
            && i < cluster_of.len()
        {
            cluster_of[i] = row[cl_col].clone();
        }
    }
    let mut scored: HashMap<(usize, usize), f64> = HashMap::new();
    if let Some(path) = &cli.pairs {
        let (header, rows) = read_csv(path)?;
        let a = column(&header, "id_a", path)?;
        let b = column(&header, "id_b", path)?;
        let pr = column(&header, "match_probability", path)?;
        for row in &rows {
            if let (Some(x), Some(y), Ok(prob)) = (
                record_index(&row[a]),
                record_index(&row[b]),
                row[pr].parse::<f64>(),
            ) {
                scored.insert((x.min(y), x.max(y)), prob);
            }
        }
    }
    let linkable = t;
    let mut out = match &cli.missed {
        Some(path) => Some(BufWriter::new(
            File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => None,
    };
    if let Some(w) = out.as_mut() {
        writeln!(w, "q,vigil_probability,dates,typo,record_a,record_b")
            .map_err(|e| e.to_string())?;
    }
    // The missed pairs by what their records give of the birth date (the less
    // complete first) and whether either has a typo in a name or a wrong digit.
    let mut shapes: HashMap<(&str, &str, bool), usize> = HashMap::new();
    let date_part = |i: usize| match truth.shown[i].date {
        DatePart::Full => "full",
        DatePart::MonthYear => "month",
        DatePart::Year => "year",
        DatePart::Absent => "none",
    };
    let typo = |i: usize| {
        let s = &truth.shown[i];
        s.typo_given || s.typo_surname || s.wrong_digit
    };
    let (mut missed, mut unscored, mut low, mut mid, mut high) = (0, 0, 0, 0, 0);
    let (mut vigil_tp, mut oracle_tp) = (0usize, 0usize);
    for x in pairs.iter() {
        let together = !cluster_of[x.a].is_empty() && cluster_of[x.a] == cluster_of[x.b];
        vigil_tp += usize::from(together);
        if x.q < linkable {
            continue;
        }
        oracle_tp += 1;
        if together {
            continue;
        }
        missed += 1;
        let prob = scored.get(&(x.a.min(x.b), x.a.max(x.b))).copied();
        let (da, db) = (date_part(x.a), date_part(x.b));
        let dates = if da <= db { (da, db) } else { (db, da) };
        let typos = typo(x.a) || typo(x.b);
        *shapes.entry((dates.0, dates.1, typos)).or_default() += 1;
        match prob {
            None => unscored += 1,
            Some(p) if p < 0.5 => low += 1,
            Some(p) if p < 0.9 => mid += 1,
            Some(_) => high += 1,
        }
        if let Some(w) = out.as_mut() {
            writeln!(
                w,
                "{:.4},{},{}+{},{},\"{}\",\"{}\"",
                x.q,
                prob.map(|p| format!("{p:.3}")).unwrap_or_default(),
                dates.0,
                dates.1,
                typos,
                show(x.a),
                show(x.b)
            )
            .map_err(|e| e.to_string())?;
        }
    }
    println!(
        "vigil: true pairs in one cluster {vigil_tp} ({:.4}); the best linker links {oracle_tp} \
         true pairs (q >= {linkable:.4}), vigil misses {missed} of them: {unscored} not among \
         its scored pairs (never compared or below 0.1), {low} at 0.1-0.5, {mid} at 0.5-0.9, \
         {high} at >= 0.9 (linked but clustered apart)",
        vigil_tp as f64 / total as f64
    );
    let mut shapes: Vec<_> = shapes.into_iter().collect();
    shapes.sort_by_key(|x| std::cmp::Reverse(x.1));
    for ((a, b, typos), count) in shapes {
        let typos = if typos {
            "a typo or wrong digit"
        } else {
            "no typo"
        };
        println!("  missed, birth dates {a} + {b}, {typos}: {count}");
    }
    if let Some(mut w) = out {
        w.flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(given: usize, patronymic: Option<u32>, date: (u16, u8, u8), city: usize) -> Key {
        Key {
            female: false,
            given,
            given_initial: 0,
            patronymic,
            patronymic_initial: patronymic,
            date,
            city,
            has_feminine: true,
        }
    }

    fn shown(given: Part, patronymic: Part, date: DatePart, city: bool) -> Shown {
        Shown {
            entity: 0,
            given,
            masculine_form: false,
            patronymic,
            date,
            city,
            typo_given: false,
            typo_surname: false,
            wrong_digit: false,
        }
    }

    #[test]
    fn a_person_counts_only_where_they_agree_with_what_the_record_shows() {
        let own = key(1, Some(7), (1980, 5, 6), 2);
        let full = shown(Part::Written, Part::Written, DatePart::Full, true);
        assert_eq!(weight(&full, &own, &own), 1.0);
        assert_eq!(weight(&full, &own, &key(1, Some(7), (1980, 5, 7), 2)), 0.0);
        assert_eq!(weight(&full, &own, &key(2, Some(7), (1980, 5, 6), 2)), 0.0);
        // A record with the year only: another birthday that year is as likely.
        let year = shown(Part::Written, Part::Written, DatePart::Year, true);
        assert_eq!(weight(&year, &own, &key(1, Some(7), (1980, 1, 1), 2)), 1.0);
        assert_eq!(weight(&year, &own, &key(1, Some(7), (1981, 5, 6), 2)), 0.0);
        // No patronymic: a person without one writes none every time.
        let bare = shown(Part::Written, Part::Absent, DatePart::Absent, false);
        assert_eq!(weight(&bare, &own, &key(1, Some(9), (1950, 1, 1), 0)), 0.35);
        assert_eq!(weight(&bare, &own, &key(1, None, (1950, 1, 1), 0)), 1.0);
        // A masculine surname: a woman writes it so once in twelve.
        let woman = Key {
            female: true,
            ..key(1, None, (1950, 1, 1), 0)
        };
        assert_eq!(weight(&bare, &own, &woman), 0.08);
    }

    #[test]
    fn the_curve_pays_for_every_uncertain_link() {
        let pair = |q| TruePair { a: 0, b: 1, q };
        let mut certain = vec![pair(1.0), pair(1.0)];
        assert_eq!(curve(&mut certain).best_f1.0, 1.0);
        // Two certain pairs and two of q = 1/2: linking those costs one false
        // pair each; the best F1 leaves them out (F1 2/3 at precision 1) or
        // takes them (TP 4, FP 2: F1 0.8).
        let mut mixed = vec![pair(1.0), pair(1.0), pair(0.5), pair(0.5)];
        let c = curve(&mut mixed);
        assert!((c.best_f1.0 - 0.8).abs() < 1e-9, "{}", c.best_f1.0);
        // At precision 0.99 only a sliver of the q = 1/2 pairs can be taken.
        assert!((c.best_recall_at_99.0 - 0.5).abs() < 0.01);
    }
}

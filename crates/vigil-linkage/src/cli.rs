//! `vigil link`: reads CSV files as a spec describes them, links, writes clusters
//! and scored pairs, and evaluates against a truth column.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::engine::{Dataset, Linkage, Progress};
use crate::eval::pairwise_quality;
use crate::spec::Spec;

/// Find the same person across reports: deduplicate one file or link two.
#[derive(clap::Args, Debug, Clone)]
pub struct LinkArgs {
    /// TOML spec naming the id column and each field's kind.
    #[arg(long, value_name = "SPEC.toml")]
    pub spec: PathBuf,
    /// CSV input; give one to deduplicate it, two to link them.
    #[arg(long, value_name = "FILE.csv", required = true)]
    pub input: Vec<PathBuf>,
    /// Where to write the clusters (input, id, cluster).
    #[arg(long, value_name = "clusters.csv")]
    pub out: Option<PathBuf>,
    /// Where to write the scored pairs with their explanations.
    #[arg(long, value_name = "FILE")]
    pub pairs: Option<PathBuf>,
    /// Column holding the true entity id: print pairwise precision, recall and F1.
    #[arg(long, value_name = "COL")]
    pub truth_column: Option<String>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Match probability from which a pair links (overrides the spec's).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// What can go wrong in `vigil link`, with the file, line and column concerned.
#[derive(Debug)]
pub enum LinkError {
    Spec {
        path: PathBuf,
        message: String,
    },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    Csv {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
    MissingColumn {
        path: PathBuf,
        column: String,
        role: &'static str,
        available: Vec<String>,
    },
    Usage(String),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Spec { path, message } => {
                write!(f, "{}: {message}", path.display())
            }
            LinkError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            LinkError::Csv {
                path,
                line: Some(line),
                message,
            } => {
                write!(f, "{}: line {line}: {message}", path.display())
            }
            LinkError::Csv {
                path,
                line: None,
                message,
            } => {
                write!(f, "{}: {message}", path.display())
            }
            LinkError::MissingColumn {
                path,
                column,
                role,
                available,
            } => write!(
                f,
                "{}: line 1: no column {column:?} (named as {role} in the spec); the columns are: {}",
                path.display(),
                available.join(", ")
            ),
            LinkError::Usage(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for LinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LinkError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> LinkError {
    let line = e.position().map(|p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "malformed row: {len} fields where the header has {expected_len} (column {} is {})",
            (*len).min(*expected_len) + 1,
            if len < expected_len {
                "missing"
            } else {
                "extra"
            }
        ),
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "column {}: text is not valid UTF-8; save the file as UTF-8",
            err.field() + 1
        ),
        csv::ErrorKind::Io(err) => err.to_string(),
        _ => e.to_string(),
    };
    LinkError::Csv {
        path: path.to_path_buf(),
        line,
        message,
    }
}

struct Bar(Option<indicatif::ProgressBar>, bool);

impl Progress for Bar {
    fn start(&mut self, stage: &'static str, total: u64) {
        if !self.1 {
            return;
        }
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(stage);
        self.0 = Some(bar);
    }
    fn advance(&mut self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }
    fn finish(&mut self) {
        if let Some(b) = self.0.take() {
            b.finish_and_clear();
        }
    }
}

/// One input record's place, for output and for error messages.
struct Origin {
    id: String,
    truth: u32,
}

/// Runs `vigil link`.
pub fn run(args: &LinkArgs) -> Result<(), LinkError> {
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    if args.input.len() > 2 {
        return Err(LinkError::Usage(
            "give one --input to deduplicate or two to link them, not more".into(),
        ));
    }
    let spec_text = std::fs::read_to_string(&args.spec).map_err(|error| LinkError::Io {
        path: args.spec.clone(),
        error,
    })?;
    let mut spec = Spec::parse(&spec_text).map_err(|e| LinkError::Spec {
        path: args.spec.clone(),
        message: e.to_string(),
    })?;
    if let Some(t) = args.threshold {
        if !(t > 0.0 && t < 1.0) {
            return Err(LinkError::Usage(format!(
                "--threshold {t} is not a probability between 0 and 1"
            )));
        }
        spec.threshold = t;
    }
    let mut data = Dataset::new(spec.clone());
    let mut origins: Vec<Origin> = Vec::new();
    let mut truth_ids: crate::engine::FastMap<crate::engine::RawKey, u32> = Default::default();
    let mut warnings: Vec<String> = Vec::new();
    let mut unreadable = 0usize;
    for (source, path) in args.input.iter().enumerate() {
        let file = File::open(path).map_err(|error| LinkError::Io {
            path: path.clone(),
            error,
        })?;
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
        let headers = reader.headers().map_err(|e| csv_error(path, &e))?.clone();
        let available: Vec<String> = headers.iter().map(str::to_string).collect();
        let find = |column: &str, role: &'static str| {
            headers
                .iter()
                .position(|h| h.trim() == column)
                .ok_or_else(|| LinkError::MissingColumn {
                    path: path.clone(),
                    column: column.to_string(),
                    role,
                    available: available.clone(),
                })
        };
        let id_col = find(&spec.id, "the id")?;
        let field_cols: Vec<usize> = spec
            .fields
            .iter()
            .map(|f| find(&f.column, f.kind.name()))
            .collect::<Result<_, _>>()?;
        let truth_col = match &args.truth_column {
            Some(t) => Some(find(t, "the truth column")?),
            None => None,
        };
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(csv_error(path, &e)),
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let values: Vec<&str> = field_cols
                .iter()
                .map(|&c| record.get(c).unwrap_or(""))
                .collect();
            for problem in data.push(source as u8, &values) {
                unreadable += 1;
                if warnings.len() < 5 {
                    warnings.push(format!(
                        "{}: line {line}: column {:?}: {}; treated as missing",
                        path.display(),
                        spec.fields[problem.field].column,
                        problem.message
                    ));
                }
            }
            let truth = match truth_col {
                Some(c) => {
                    let t = record.get(c).unwrap_or("").trim();
                    match truth_ids.get(t.as_bytes()) {
                        Some(&id) => id,
                        None => {
                            let next = truth_ids.len() as u32;
                            truth_ids.insert(crate::engine::RawKey::new(t), next);
                            next
                        }
                    }
                }
                None => 0,
            };
            origins.push(Origin {
                id: record.get(id_col).unwrap_or("").to_string(),
                truth,
            });
        }
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if unreadable > warnings.len() {
        eprintln!(
            "warning: {unreadable} values in all could not be read and were treated as missing"
        );
    }
    if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
        eprintln!("read: {:.2} s", started.elapsed().as_secs_f64());
    }
    let show_progress = !args.quiet && !args.json && data.len() >= 20_000;
    let mut bar = Bar(None, show_progress);
    let linkage = data.link(&mut bar);
    let names: Vec<String> = args.input.iter().map(|p| p.display().to_string()).collect();
    if let Some(out) = &args.out {
        write_clusters(out, &data, &linkage, &origins, &names)?;
    }
    if let Some(out) = &args.pairs {
        write_pairs(out, &data, &linkage, &origins, &names)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
        eprintln!("linked and written: {seconds:.2} s");
    }
    let cpu = cpu_seconds().map(|end| end - cpu_started.unwrap_or(0.0));
    let linking = args.input.len() == 2;
    let linked_pairs = linkage
        .pairs
        .iter()
        .filter(|p| p.probability >= spec.threshold)
        .count();
    let cluster_count = {
        let mut c: Vec<u32> = linkage.clusters.clone();
        c.sort_unstable();
        c.dedup();
        c.len()
    };
    let quality = args.truth_column.as_ref().map(|_| {
        let truth: Vec<u32> = origins.iter().map(|o| o.truth).collect();
        let sources: Vec<u8> = (0..data.len()).map(|i| data.source(i)).collect();
        pairwise_quality(&linkage.clusters, &truth, &sources, linking)
    });
    if args.json {
        let mut obj = serde_json::json!({
            "records": data.len(),
            "inputs": names,
            "mode": if linking { "link" } else { "dedupe" },
            "pairs_compared": linkage.compared,
            "pairs_linked": linked_pairs,
            "clusters": cluster_count,
            "threshold": spec.threshold,
            "em_iterations": linkage.model.em_iterations,
            "match_prior": linkage.model.lambda,
            "wall_seconds": round(seconds, 3),
            "cpu_seconds": cpu.map(|c| round(c, 3)),
        });
        let model: Vec<serde_json::Value> = linkage
            .model
            .units
            .list
            .iter()
            .enumerate()
            .map(|(c, col)| {
                let levels: Vec<serde_json::Value> = col
                    .kind
                    .levels()
                    .iter()
                    .enumerate()
                    .map(|(l, label)| {
                        let (m, u) = (linkage.model.m[c][l], linkage.model.u[c][l]);
                        serde_json::json!({"level": label, "m": round(m, 6), "u": round(u, 8), "bits": round((m / u).log2(), 3)})
                    })
                    .collect();
                let units = &linkage.model.units;
                let group = units
                    .member_of
                    .get(c)
                    .copied()
                    .flatten()
                    .map(|g| units.list[units.ncol + g].name.clone())
                    .or_else(|| {
                        units.copy_of.get(c).copied().flatten().map(|o| {
                            format!("copy of {}", units.list[o].name)
                        })
                    });
                serde_json::json!({"column": col.name, "counted_in": group, "levels": levels})
            })
            .collect();
        if let Some(map) = obj.as_object_mut() {
            map.insert("model".into(), model.into());
        }
        if let (Some(q), Some(map)) = (quality, obj.as_object_mut()) {
            map.insert("precision".into(), round(q.precision, 6).into());
            map.insert("recall".into(), round(q.recall, 6).into());
            map.insert("f1".into(), round(q.f1, 6).into());
            map.insert("true_pairs".into(), q.true_pairs.into());
            map.insert("predicted_pairs".into(), q.predicted_pairs.into());
            map.insert("correct_pairs".into(), q.correct_pairs.into());
        }
        println!("{obj}");
    } else {
        println!("records          {}", data.len());
        println!("pairs compared   {}", linkage.compared);
        println!(
            "pairs linked     {linked_pairs} (match probability >= {})",
            spec.threshold
        );
        println!("clusters         {cluster_count}");
        if let Some(q) = quality {
            println!("precision        {:.4}", q.precision);
            println!("recall           {:.4}", q.recall);
            println!("F1               {:.4}", q.f1);
            println!(
                "true pairs {}, predicted pairs {}, correct pairs {}",
                q.true_pairs, q.predicted_pairs, q.correct_pairs
            );
        }
        match cpu {
            Some(c) => println!("time             {seconds:.2} s wall, {c:.2} s CPU"),
            None => println!("time             {seconds:.2} s wall"),
        }
    }
    Ok(())
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> LinkError + '_ {
    move |error| LinkError::Io {
        path: path.to_path_buf(),
        error,
    }
}

fn csv_write_err(path: &Path) -> impl Fn(csv::Error) -> LinkError + '_ {
    move |e| LinkError::Csv {
        path: path.to_path_buf(),
        line: None,
        message: e.to_string(),
    }
}

fn write_clusters(
    out: &Path,
    data: &Dataset,
    linkage: &Linkage,
    origins: &[Origin],
    names: &[String],
) -> Result<(), LinkError> {
    let file = File::create(out).map_err(io_err(out))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(file));
    w.write_record(["input", "id", "cluster"])
        .map_err(csv_write_err(out))?;
    for (i, o) in origins.iter().enumerate() {
        let input = names
            .get(data.source(i) as usize)
            .map(String::as_str)
            .unwrap_or("");
        let cluster = format!("c{}", linkage.clusters[i]);
        w.write_record([input, o.id.as_str(), cluster.as_str()])
            .map_err(csv_write_err(out))?;
    }
    w.flush().map_err(io_err(out))
}

/// Writes every pair with a match probability of at least 0.1, strongest first,
/// so that near misses can be reviewed too.
fn write_pairs(
    out: &Path,
    data: &Dataset,
    linkage: &Linkage,
    origins: &[Origin],
    names: &[String],
) -> Result<(), LinkError> {
    let file = File::create(out).map_err(io_err(out))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(file));
    w.write_record([
        "input_a",
        "id_a",
        "input_b",
        "id_b",
        "match_probability",
        "match_weight",
        "linked",
        "explanation",
    ])
    .map_err(csv_write_err(out))?;
    let mut order: Vec<usize> = (0..linkage.pairs.len())
        .filter(|&k| linkage.pairs[k].probability >= 0.1)
        .collect();
    order.sort_by(|&x, &y| linkage.pairs[y].weight.total_cmp(&linkage.pairs[x].weight));
    let threshold = data.spec().threshold;
    for k in order {
        let p = linkage.pairs[k];
        let explanation = data
            .explain(linkage, k)
            .iter()
            .map(|c| match &c.group {
                Some(g) => format!("{}: {} (in {g})", c.column, c.label),
                None => format!("{}: {} ({:+.1})", c.column, c.label, c.bits),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let input = |r: u32| {
            names
                .get(data.source(r as usize) as usize)
                .cloned()
                .unwrap_or_default()
        };
        w.write_record([
            input(p.a),
            origins[p.a as usize].id.clone(),
            input(p.b),
            origins[p.b as usize].id.clone(),
            format!("{:.6}", p.probability),
            format!("{:.3}", p.weight),
            (p.probability >= threshold).to_string(),
            explanation,
        ])
        .map_err(csv_write_err(out))?;
    }
    w.flush().map_err(io_err(out))
}

/// CPU seconds used by this process so far (Linux), for the timing line.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Writes generated records (and optionally their Latin view for other tools).
/// Writes a header and rows as CSV.
pub fn write_table(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<(), LinkError> {
    let file = File::create(path).map_err(io_err(path))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(file));
    w.write_record(header).map_err(csv_write_err(path))?;
    for r in rows {
        w.write_record(r).map_err(csv_write_err(path))?;
    }
    let mut inner = w.into_inner().map_err(|e| LinkError::Io {
        path: path.to_path_buf(),
        error: std::io::Error::other(e.to_string()),
    })?;
    inner.flush().map_err(io_err(path))
}

pub fn write_generated(
    path: &Path,
    records: &[crate::generate::GeneratedRecord],
    latin: bool,
) -> Result<(), LinkError> {
    let file = File::create(path).map_err(io_err(path))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(file));
    if latin {
        w.write_record(crate::generate::LATIN_HEADER)
            .map_err(csv_write_err(path))?;
        for r in records {
            w.write_record(crate::generate::latin_view(r))
                .map_err(csv_write_err(path))?;
        }
    } else {
        w.write_record(crate::generate::GeneratedRecord::HEADER)
            .map_err(csv_write_err(path))?;
        for r in records {
            w.write_record(r.fields()).map_err(csv_write_err(path))?;
        }
    }
    let mut inner = w.into_inner().map_err(|e| LinkError::Io {
        path: path.to_path_buf(),
        error: std::io::Error::other(e.to_string()),
    })?;
    inner.flush().map_err(io_err(path))
}

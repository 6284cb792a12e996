//! The linkage engine: prepared records, blocking, comparison, Fellegi–Sunter
//! scoring with unsupervised (EM) estimation, clustering and explanations.
//! No I/O here: records come in as strings, results go out as values.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::compare::{ColumnKind, jaro_winkler, osa_distance};
use crate::date::{PartialDate, Precision, parse_date, parse_year};
use crate::names::{canonical_given, is_initial, patronymic_base, split_full_name, surname_base};
use crate::normalize::{normalize, words};
use crate::spec::{FieldKind, Spec};
use crate::translit::word_keys;

const MISSING: u8 = u8::MAX;

/// One comparison column: a field, or one part of a full-name field.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    /// Index of the spec field it comes from.
    pub field: usize,
}

#[derive(Debug, Clone, Copy)]
struct NameValue {
    keys: [u32; 3],
    n: u8,
    initial: u8,
    only_initial: bool,
    canon: &'static [u16],
}

impl NameValue {
    fn keys(&self) -> &[u32] {
        &self.keys[..self.n as usize]
    }
}

#[derive(Debug, Clone, Copy)]
enum Value {
    Missing,
    Name(NameValue),
    Date(PartialDate),
    Year(u16),
    Text(u32),
    Exact(u32),
}

/// Strings seen in keys and identifiers, stored once.
#[derive(Default)]
struct Interner {
    map: HashMap<Box<str>, u32>,
    strs: Vec<Box<str>>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.strs.len() as u32;
        self.strs.push(s.into());
        self.map.insert(s.into(), id);
        id
    }

    fn get(&self, id: u32) -> &str {
        self.strs.get(id as usize).map(|s| &**s).unwrap_or("")
    }
}

/// A value that could not be read; the record keeps going with the value missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueProblem {
    /// Index of the spec field.
    pub field: usize,
    pub message: String,
}

/// Records prepared for linkage.
pub struct Dataset {
    spec: Spec,
    columns: Vec<Column>,
    values: Vec<Vec<Value>>,
    sources: Vec<u8>,
    interner: Interner,
    texts: Vec<Box<[u32]>>,
}

fn columns_for(spec: &Spec) -> Vec<Column> {
    let mut columns = Vec::new();
    for (i, f) in spec.fields.iter().enumerate() {
        let mut push = |suffix: &str, kind| {
            columns.push(Column {
                name: format!("{}{suffix}", f.column),
                kind,
                field: i,
            })
        };
        match f.kind {
            FieldKind::PersonName => {
                push(".given", ColumnKind::Given);
                push(".surname", ColumnKind::Surname);
                push(".patronymic", ColumnKind::Patronymic);
            }
            FieldKind::GivenName => push("", ColumnKind::Given),
            FieldKind::Surname => push("", ColumnKind::Surname),
            FieldKind::Patronymic => push("", ColumnKind::Patronymic),
            FieldKind::Date => push("", ColumnKind::Date),
            FieldKind::Year => push("", ColumnKind::Year),
            FieldKind::Place => push("", ColumnKind::Place),
            FieldKind::Text => push("", ColumnKind::Text),
            FieldKind::Exact => push("", ColumnKind::Exact),
        }
    }
    columns
}

/// Words that only say what kind of place follows ("г. Москва", "city of").
const PLACE_NOISE: &[&str] = &[
    "г",
    "гор",
    "город",
    "пос",
    "поселок",
    "с",
    "село",
    "city",
    "of",
    "gorod",
    "g",
    "obl",
    "область",
    "обл",
    "oblast",
    "region",
];

/// Place names people write in more than one way.
const PLACE_ALIASES: &[(&str, &str)] = &[
    ("спб", "санкт петербург"),
    ("питер", "санкт петербург"),
    ("петербург", "санкт петербург"),
    ("spb", "санкт петербург"),
    ("st petersburg", "санкт петербург"),
    ("saint petersburg", "санкт петербург"),
    ("petersburg", "санкт петербург"),
    ("мск", "москва"),
    ("moscow", "москва"),
    ("msk", "москва"),
    ("нижний", "нижний новгород"),
    ("екб", "екатеринбург"),
];

impl Dataset {
    pub fn new(spec: Spec) -> Dataset {
        let columns = columns_for(&spec);
        Dataset {
            values: vec![Vec::new(); columns.len()],
            columns,
            spec,
            sources: Vec::new(),
            interner: Interner::default(),
            texts: Vec::new(),
        }
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    pub fn source(&self, record: usize) -> u8 {
        self.sources.get(record).copied().unwrap_or(0)
    }

    /// Adds one record; `fields` holds the raw text of each spec field in order.
    /// Values that cannot be read (a date that is no date) are kept as missing
    /// and reported back.
    pub fn push(&mut self, source: u8, fields: &[&str]) -> Vec<ValueProblem> {
        let mut problems = Vec::new();
        let mut col = 0;
        for (fi, f) in self.spec.fields.clone().iter().enumerate() {
            let raw = fields.get(fi).copied().unwrap_or("");
            match f.kind {
                FieldKind::PersonName => {
                    let parts = split_full_name(&normalize(raw));
                    let g = self.name_value(parts.given.as_deref(), ColumnKind::Given);
                    let s = self.name_value(parts.surname.as_deref(), ColumnKind::Surname);
                    let p = self.name_value(parts.patronymic.as_deref(), ColumnKind::Patronymic);
                    self.values[col].push(g);
                    self.values[col + 1].push(s);
                    self.values[col + 2].push(p);
                    col += 3;
                    continue;
                }
                FieldKind::GivenName | FieldKind::Surname | FieldKind::Patronymic => {
                    let kind = self.columns[col].kind;
                    let norm = normalize(raw);
                    let v = self.name_value(Some(&norm), kind);
                    self.values[col].push(v);
                }
                FieldKind::Place => {
                    let v = self.place_value(raw);
                    self.values[col].push(v);
                }
                FieldKind::Date => {
                    let v = match parse_date(raw) {
                        Ok(Some(d)) => Value::Date(d),
                        Ok(None) => Value::Missing,
                        Err(e) => {
                            problems.push(ValueProblem {
                                field: fi,
                                message: e.to_string(),
                            });
                            Value::Missing
                        }
                    };
                    self.values[col].push(v);
                }
                FieldKind::Year => {
                    let v = match parse_year(raw) {
                        Ok(Some(y)) => Value::Year(y),
                        Ok(None) => Value::Missing,
                        Err(e) => {
                            problems.push(ValueProblem {
                                field: fi,
                                message: e.to_string(),
                            });
                            Value::Missing
                        }
                    };
                    self.values[col].push(v);
                }
                FieldKind::Text => {
                    let norm = normalize(raw);
                    let v = if norm.is_empty() {
                        Value::Missing
                    } else {
                        let mut ids: Vec<u32> = words(&norm).map(|w| self.interner.id(w)).collect();
                        ids.sort_unstable();
                        ids.dedup();
                        self.texts.push(ids.into_boxed_slice());
                        Value::Text(self.texts.len() as u32 - 1)
                    };
                    self.values[col].push(v);
                }
                FieldKind::Exact => {
                    let t: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
                    let v = if t.is_empty() {
                        Value::Missing
                    } else {
                        Value::Exact(self.interner.id(&t.to_lowercase()))
                    };
                    self.values[col].push(v);
                }
            }
            col += 1;
        }
        self.sources.push(source);
        problems
    }

    fn name_value(&mut self, norm: Option<&str>, kind: ColumnKind) -> Value {
        let Some(norm) = norm else {
            return Value::Missing;
        };
        let ws: Vec<&str> = words(norm).collect();
        let Some(first) = ws.first() else {
            return Value::Missing;
        };
        let only_initial = ws.len() == 1 && is_initial(first);
        // Given names and patronymics: the first word; surnames: all words joined
        // (double surnames, "фон" and the like stay part of the key).
        let mut keys: Vec<String> = match kind {
            ColumnKind::Surname if ws.len() > 1 => {
                let per_word: Vec<String> = ws.iter().map(|w| word_keys(w).remove(0)).collect();
                vec![per_word.concat()]
            }
            _ => word_keys(first),
        };
        keys.retain(|k| !k.is_empty());
        if keys.is_empty() {
            return Value::Missing;
        }
        let initial = keys[0].as_bytes()[0];
        let mut canon: &'static [u16] = &[];
        match kind {
            ColumnKind::Surname => {
                for k in keys.iter_mut() {
                    *k = surname_base(k);
                }
            }
            ColumnKind::Patronymic => {
                for k in keys.iter_mut() {
                    *k = patronymic_base(k);
                }
            }
            ColumnKind::Given => {
                canon = keys
                    .iter()
                    .map(|k| canonical_given(k))
                    .find(|c| !c.is_empty())
                    .unwrap_or(&[]);
            }
            _ => {}
        }
        let mut nv = NameValue {
            keys: [0; 3],
            n: 0,
            initial,
            only_initial,
            canon,
        };
        for k in keys.iter().take(3) {
            let id = self.interner.id(k);
            if !nv.keys().contains(&id) {
                nv.keys[nv.n as usize] = id;
                nv.n += 1;
            }
        }
        Value::Name(nv)
    }

    fn place_value(&mut self, raw: &str) -> Value {
        let norm = normalize(raw);
        let kept: Vec<&str> = words(&norm).filter(|w| !PLACE_NOISE.contains(w)).collect();
        let mut joined = kept.join(" ");
        if let Some((_, full)) = PLACE_ALIASES.iter().find(|(a, _)| *a == joined) {
            joined = (*full).to_string();
        }
        if joined.is_empty() {
            return Value::Missing;
        }
        let key: String = words(&joined).map(|w| word_keys(w).remove(0)).collect();
        let id = self.interner.id(&key);
        Value::Name(NameValue {
            keys: [id, 0, 0],
            n: 1,
            initial: key.as_bytes().first().copied().unwrap_or(0),
            only_initial: false,
            canon: &[],
        })
    }

    /// The comparison level of one column for two records, or `None` when
    /// either value is missing.
    fn level(&self, col: usize, a: usize, b: usize) -> u8 {
        let va = self.values[col][a];
        let vb = self.values[col][b];
        let kind = self.columns[col].kind;
        match (va, vb) {
            (Value::Missing, _) | (_, Value::Missing) => MISSING,
            (Value::Name(x), Value::Name(y)) => self.name_level(kind, &x, &y),
            (Value::Date(x), Value::Date(y)) => date_level(&x, &y),
            (Value::Year(x), Value::Year(y)) => match x.abs_diff(y) {
                0 => 2,
                1 => 1,
                _ => 0,
            },
            (Value::Text(x), Value::Text(y)) => {
                let (tx, ty) = (&self.texts[x as usize], &self.texts[y as usize]);
                if tx == ty {
                    return 3;
                }
                let common = tx.iter().filter(|t| ty.binary_search(t).is_ok()).count();
                let union = tx.len() + ty.len() - common;
                if common == 0 {
                    0
                } else if common * 2 >= union {
                    2
                } else {
                    1
                }
            }
            (Value::Exact(x), Value::Exact(y)) => {
                if x == y {
                    2
                } else {
                    let (sx, sy) = (self.interner.get(x), self.interner.get(y));
                    u8::from(osa_distance(sx.as_bytes(), sy.as_bytes(), 1) <= 1)
                }
            }
            _ => MISSING,
        }
    }

    fn name_level(&self, kind: ColumnKind, x: &NameValue, y: &NameValue) -> u8 {
        let top = (kind.levels().len() - 1) as u8;
        if x.only_initial || y.only_initial {
            let agree = x.initial == y.initial
                || x.keys().iter().any(|&k| {
                    y.keys().iter().any(|&l| {
                        self.interner.get(k).as_bytes().first()
                            == self.interner.get(l).as_bytes().first()
                    })
                });
            return match kind {
                ColumnKind::Place => 0,
                _ => u8::from(agree),
            };
        }
        if x.keys().iter().any(|k| y.keys().contains(k)) {
            return top;
        }
        if kind == ColumnKind::Given && x.canon.iter().any(|c| y.canon.contains(c)) {
            return 4;
        }
        let mut best = 0.0_f64;
        for &k in x.keys() {
            for &l in y.keys() {
                best = best.max(jaro_winkler(self.interner.get(k), self.interner.get(l)));
            }
        }
        match kind {
            ColumnKind::Given | ColumnKind::Surname => {
                if best >= 0.92 {
                    3
                } else if best >= 0.80 {
                    2
                } else {
                    0
                }
            }
            ColumnKind::Patronymic => {
                if best >= 0.88 {
                    2
                } else {
                    0
                }
            }
            _ => u8::from(best >= 0.88),
        }
    }

    /// Blocking keys of one record for one blockable item.
    fn block_keys(&self, item: Blockable, r: usize, out: &mut Vec<u64>) {
        out.clear();
        let v = self.values[item.column][r];
        match (item.what, v) {
            (BlockWhat::Name, Value::Name(n)) => {
                if !n.only_initial {
                    for &k in n.keys() {
                        out.push(u64::from(k) << 2);
                    }
                    for &c in n.canon {
                        out.push((u64::from(c) << 2) | 1);
                    }
                }
                if item.with_initial {
                    out.push((u64::from(n.initial) << 2) | 2);
                }
            }
            (BlockWhat::FullDate, Value::Date(d)) if d.precision() == Precision::Day => {
                let (m, dd) = (d.month.unwrap_or(0), d.day.unwrap_or(0));
                let (lo, hi) = (m.min(dd), m.max(dd));
                out.push((u64::from(d.year) << 16) | (u64::from(lo) << 8) | u64::from(hi));
            }
            (BlockWhat::Year, Value::Date(d)) => out.push(u64::from(d.year)),
            (BlockWhat::Year, Value::Year(y)) => out.push(u64::from(y)),
            (BlockWhat::Exact, Value::Exact(x)) => out.push(u64::from(x)),
            _ => {}
        }
    }
}

fn date_level(x: &PartialDate, y: &PartialDate) -> u8 {
    let (px, py) = (x.precision(), y.precision());
    if px == Precision::Day && py == Precision::Day {
        if x == y {
            return 5;
        }
        if x.year == y.year && x.month == y.day && x.day == y.month {
            return 4;
        }
        if osa_distance(&x.digits(), &y.digits(), 1) <= 1 {
            return 3;
        }
        return u8::from(x.year == y.year);
    }
    if x.year != y.year {
        return 0;
    }
    let month_ok = match (x.month, y.month) {
        (Some(a), Some(b)) => a == b || (Some(a) == y.day && Some(b) == x.day),
        _ => true,
    };
    if month_ok { 2 } else { 1 }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockWhat {
    Name,
    FullDate,
    Year,
    Exact,
}

#[derive(Debug, Clone, Copy)]
struct Blockable {
    column: usize,
    what: BlockWhat,
    with_initial: bool,
}

/// Estimated parameters of the Fellegi–Sunter model.
#[derive(Debug, Clone)]
pub struct Model {
    /// Prior probability that a compared pair is a match.
    pub lambda: f64,
    /// `m[c][l]`: probability of level `l` in column `c` among matches.
    pub m: Vec<Vec<f64>>,
    /// `u[c][l]`: the same among non-matches.
    pub u: Vec<Vec<f64>>,
    pub em_iterations: usize,
}

/// One column's part in a pair's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub column: String,
    /// `None` when a value is missing.
    pub level: Option<u8>,
    pub label: &'static str,
    /// log2 Bayes factor: positive for evidence of a match.
    pub bits: f64,
}

/// A compared pair with its score.
#[derive(Debug, Clone, Copy)]
pub struct ScoredPair {
    pub a: u32,
    pub b: u32,
    pub weight: f64,
    pub probability: f64,
}

/// Reports progress of long stages.
pub trait Progress {
    fn start(&mut self, stage: &'static str, total: u64);
    fn advance(&mut self, n: u64);
    fn finish(&mut self);
}

/// Progress that nobody watches.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&mut self, _: &'static str, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

/// The result of a linkage run.
pub struct Linkage {
    pub model: Model,
    /// Every compared pair, scored.
    pub pairs: Vec<ScoredPair>,
    /// Cluster number of each record (the smallest record index in its cluster).
    pub clusters: Vec<u32>,
    pub compared: usize,
    levels: Vec<u8>,
    tf: Vec<Option<TermFrequencies>>,
}

struct TermFrequencies {
    counts: HashMap<u32, u32>,
    total: u32,
}

/// A small deterministic generator: linkage results must not change between runs.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mix(rule: usize, a: u64, b: u64) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (rule, a, b).hash(&mut h);
    h.finish()
}

impl Dataset {
    fn blockables(&self) -> Vec<Blockable> {
        let mut out = Vec::new();
        for (c, col) in self.columns.iter().enumerate() {
            match col.kind {
                ColumnKind::Given => out.push(Blockable {
                    column: c,
                    what: BlockWhat::Name,
                    with_initial: true,
                }),
                ColumnKind::Surname | ColumnKind::Patronymic | ColumnKind::Place => {
                    out.push(Blockable {
                        column: c,
                        what: BlockWhat::Name,
                        with_initial: false,
                    })
                }
                ColumnKind::Date => {
                    out.push(Blockable {
                        column: c,
                        what: BlockWhat::FullDate,
                        with_initial: false,
                    });
                    out.push(Blockable {
                        column: c,
                        what: BlockWhat::Year,
                        with_initial: false,
                    });
                }
                ColumnKind::Year => out.push(Blockable {
                    column: c,
                    what: BlockWhat::Year,
                    with_initial: false,
                }),
                ColumnKind::Exact => out.push(Blockable {
                    column: c,
                    what: BlockWhat::Exact,
                    with_initial: false,
                }),
                ColumnKind::Text => {}
            }
        }
        out
    }

    /// Candidate pairs: records that share the values of any two blockable
    /// fields (or one identifier), skipping blocks too large to tell anything.
    pub fn candidate_pairs(&self, progress: &mut dyn Progress) -> Vec<(u32, u32)> {
        let items = self.blockables();
        let mut rules: Vec<Vec<usize>> = Vec::new();
        for i in 0..items.len() {
            if items[i].what == BlockWhat::Exact {
                rules.push(vec![i]);
            }
            for j in i + 1..items.len() {
                if items[i].column == items[j].column {
                    continue;
                }
                rules.push(vec![i, j]);
            }
        }
        let n = self.len();
        let linking = self.sources.iter().any(|&s| s != self.sources[0]);
        let mut pairs: Vec<u64> = Vec::new();
        progress.start("blocking", rules.len() as u64);
        let mut ka = Vec::new();
        let mut kb = Vec::new();
        for (ri, rule) in rules.iter().enumerate() {
            let mut entries: Vec<(u64, u32)> = Vec::with_capacity(n);
            for r in 0..n {
                self.block_keys(items[rule[0]], r, &mut ka);
                if ka.is_empty() {
                    continue;
                }
                if let Some(&second) = rule.get(1) {
                    self.block_keys(items[second], r, &mut kb);
                    for &x in &ka {
                        for &y in &kb {
                            entries.push((mix(ri, x, y), r as u32));
                        }
                    }
                } else {
                    for &x in &ka {
                        entries.push((mix(ri, x, u64::MAX), r as u32));
                    }
                }
            }
            entries.sort_unstable();
            entries.dedup();
            let mut start = 0;
            while start < entries.len() {
                let mut end = start + 1;
                while end < entries.len() && entries[end].0 == entries[start].0 {
                    end += 1;
                }
                let size = end - start;
                if size >= 2 && size <= self.spec.max_block {
                    for i in start..end {
                        for j in i + 1..end {
                            let (a, b) = (entries[i].1, entries[j].1);
                            if linking && self.sources[a as usize] == self.sources[b as usize] {
                                continue;
                            }
                            pairs.push((u64::from(a) << 32) | u64::from(b));
                        }
                    }
                }
                start = end;
            }
            progress.advance(1);
        }
        progress.finish();
        pairs.sort_unstable();
        pairs.dedup();
        pairs
            .into_iter()
            .map(|p| ((p >> 32) as u32, p as u32))
            .collect()
    }

    fn compare_pairs(&self, pairs: &[(u32, u32)], progress: &mut dyn Progress) -> Vec<u8> {
        let ncol = self.columns.len();
        let mut levels = vec![0u8; pairs.len() * ncol];
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        let chunk = pairs.len().div_ceil(threads).max(1);
        progress.start("comparing", pairs.len() as u64);
        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for (ps, out) in pairs.chunks(chunk).zip(levels.chunks_mut(chunk * ncol)) {
                handles.push(scope.spawn(move || {
                    for (k, &(a, b)) in ps.iter().enumerate() {
                        for c in 0..ncol {
                            out[k * ncol + c] = self.level(c, a as usize, b as usize);
                        }
                    }
                }));
            }
            for h in handles {
                let _ = h.join();
            }
        });
        progress.advance(pairs.len() as u64);
        progress.finish();
        levels
    }

    /// u probabilities from random pairs, which are almost all non-matches.
    fn estimate_u(&self, samples: usize) -> Vec<Vec<f64>> {
        let n = self.len();
        let linking = self.sources.iter().any(|&s| s != self.sources[0]);
        let mut rng = SplitMix(0x5EED_1234_ABCD_0001);
        let mut pairs = Vec::with_capacity(samples);
        let mut tries = 0;
        while pairs.len() < samples && n >= 2 && tries < samples * 4 {
            tries += 1;
            let a = rng.below(n);
            let b = rng.below(n);
            if a == b || (linking && self.sources[a] == self.sources[b]) {
                continue;
            }
            pairs.push((a.min(b) as u32, a.max(b) as u32));
        }
        let levels = self.compare_pairs(&pairs, &mut Quiet);
        let ncol = self.columns.len();
        (0..ncol)
            .map(|c| {
                let nl = self.columns[c].kind.levels().len();
                let mut counts = vec![0.0_f64; nl];
                for row in levels.chunks(ncol) {
                    if row[c] != MISSING {
                        counts[row[c] as usize] += 1.0;
                    }
                }
                let total: f64 = counts.iter().sum();
                counts
                    .iter()
                    .map(|&x| (x + 0.5) / (total + 0.5 * nl as f64))
                    .collect()
            })
            .collect()
    }

    fn term_frequencies(&self) -> Vec<Option<TermFrequencies>> {
        self.columns
            .iter()
            .enumerate()
            .map(|(c, col)| {
                col.kind.tf_level()?;
                let mut counts: HashMap<u32, u32> = HashMap::new();
                let mut total = 0u32;
                for v in &self.values[c] {
                    if let Value::Name(n) = v
                        && !n.only_initial
                    {
                        *counts.entry(n.keys[0]).or_default() += 1;
                        total += 1;
                    }
                }
                Some(TermFrequencies { counts, total })
            })
            .collect()
    }

    /// Runs the whole linkage: blocking, comparison, estimation, scoring, clustering.
    pub fn link(&self, progress: &mut dyn Progress) -> Linkage {
        let pairs = self.candidate_pairs(progress);
        let levels = self.compare_pairs(&pairs, progress);
        let u = self.estimate_u(400_000.min(self.len().saturating_mul(40)).max(1000));
        let model = estimate_m(&self.columns, &levels, u);
        let tf = self.term_frequencies();
        let ncol = self.columns.len();
        let prior = (model.lambda / (1.0 - model.lambda)).log2();
        let mut scored = Vec::with_capacity(pairs.len());
        for (k, &(a, b)) in pairs.iter().enumerate() {
            let row = &levels[k * ncol..(k + 1) * ncol];
            let mut w = prior;
            for (c, &l) in row.iter().enumerate() {
                w += self.bits(&model, &tf, c, l, a as usize, b as usize);
            }
            scored.push(ScoredPair {
                a,
                b,
                weight: w,
                probability: probability(w),
            });
        }
        let clusters = cluster(self.len(), &scored, self.spec.threshold);
        Linkage {
            model,
            compared: pairs.len(),
            pairs: scored,
            clusters,
            levels,
            tf,
        }
    }

    fn bits(
        &self,
        model: &Model,
        tf: &[Option<TermFrequencies>],
        c: usize,
        level: u8,
        a: usize,
        b: usize,
    ) -> f64 {
        if level == MISSING {
            return 0.0;
        }
        let l = level as usize;
        let m = model.m[c][l];
        let mut u = model.u[c][l];
        if let (Some(tf_level), Some(Some(t))) = (self.columns[c].kind.tf_level(), tf.get(c))
            && level == tf_level
            && t.total > 0
        {
            // Agreeing on a rare name says more than agreeing on a common one.
            let freq = |r: usize| match self.values[c][r] {
                Value::Name(n) => t.counts.get(&n.keys[0]).copied().unwrap_or(1),
                _ => 1,
            };
            let f = freq(a).max(freq(b)) as f64 / t.total as f64;
            // Keep the adjustment within a factor of 50 either way of the average.
            u = f.clamp(u / 50.0, u * 50.0);
        }
        (m / u).log2()
    }

    /// Why a pair scored as it did, column by column.
    pub fn explain(&self, linkage: &Linkage, pair_index: usize) -> Vec<Contribution> {
        let ncol = self.columns.len();
        let Some(pair) = linkage.pairs.get(pair_index) else {
            return Vec::new();
        };
        let row = &linkage.levels[pair_index * ncol..(pair_index + 1) * ncol];
        row.iter()
            .enumerate()
            .map(|(c, &l)| {
                let col = &self.columns[c];
                Contribution {
                    column: col.name.clone(),
                    level: (l != MISSING).then_some(l),
                    label: if l == MISSING {
                        "missing"
                    } else {
                        col.kind.levels()[l as usize]
                    },
                    bits: self.bits(
                        &linkage.model,
                        &linkage.tf,
                        c,
                        l,
                        pair.a as usize,
                        pair.b as usize,
                    ),
                }
            })
            .collect()
    }

    /// The score of one pair of records, compared directly (no blocking).
    /// Needs a model, for example from an earlier [`Dataset::link`].
    pub fn score_pair(&self, model: &Model, a: usize, b: usize) -> f64 {
        let mut w = (model.lambda / (1.0 - model.lambda)).log2();
        for c in 0..self.columns.len() {
            let l = self.level(c, a, b);
            w += self.bits(model, &[], c, l, a, b);
        }
        w
    }

    /// Comparison levels of one pair, for tests and explanations.
    pub fn levels_of(&self, a: usize, b: usize) -> Vec<Option<u8>> {
        (0..self.columns.len())
            .map(|c| {
                let l = self.level(c, a, b);
                (l != MISSING).then_some(l)
            })
            .collect()
    }
}

fn probability(weight: f64) -> f64 {
    let odds = weight.exp2();
    if odds.is_infinite() {
        1.0
    } else {
        odds / (1.0 + odds)
    }
}

/// Expectation–maximisation of the m probabilities and the match prior over the
/// compared pairs, with u held at its random-pair estimate (as splink does).
fn estimate_m(columns: &[Column], levels: &[u8], u: Vec<Vec<f64>>) -> Model {
    let ncol = columns.len();
    let mut patterns: HashMap<&[u8], f64> = HashMap::new();
    for row in levels.chunks(ncol.max(1)) {
        *patterns.entry(row).or_default() += 1.0;
    }
    let patterns: Vec<(&[u8], f64)> = patterns.into_iter().collect();
    // Start from "matches mostly agree at the top level".
    let mut m: Vec<Vec<f64>> = columns
        .iter()
        .map(|col| {
            let nl = col.kind.levels().len();
            (0..nl)
                .map(|l| {
                    if l + 1 == nl {
                        0.7
                    } else {
                        0.3 / (nl - 1) as f64
                    }
                })
                .collect()
        })
        .collect();
    let mut lambda = 0.1_f64;
    let total: f64 = patterns.iter().map(|p| p.1).sum();
    let mut iterations = 0;
    for it in 0..200 {
        iterations = it + 1;
        let mut m_acc: Vec<Vec<f64>> = m.iter().map(|v| vec![0.0; v.len()]).collect();
        let mut m_tot = vec![0.0_f64; ncol];
        let mut match_mass = 0.0;
        for &(row, count) in &patterns {
            let mut lm = lambda.ln();
            let mut lu = (1.0 - lambda).ln();
            for (c, &l) in row.iter().enumerate() {
                if l != MISSING {
                    lm += m[c][l as usize].ln();
                    lu += u[c][l as usize].ln();
                }
            }
            let p = 1.0 / (1.0 + (lu - lm).exp());
            match_mass += p * count;
            for (c, &l) in row.iter().enumerate() {
                if l != MISSING {
                    m_acc[c][l as usize] += p * count;
                    m_tot[c] += p * count;
                }
            }
        }
        let new_lambda = (match_mass / total.max(1.0)).clamp(1e-6, 1.0 - 1e-6);
        let mut change = (new_lambda - lambda).abs();
        for c in 0..ncol {
            let nl = m[c].len();
            for l in 0..nl {
                let v = ((m_acc[c][l] + 1e-3) / (m_tot[c] + 1e-3 * nl as f64)).max(1e-6);
                change = change.max((v - m[c][l]).abs());
                m[c][l] = v;
            }
        }
        lambda = new_lambda;
        if change < 1e-6 {
            break;
        }
    }
    Model {
        lambda,
        m,
        u,
        em_iterations: iterations,
    }
}

/// Connected components of the pairs at or above the threshold.
fn cluster(n: usize, pairs: &[ScoredPair], threshold: f64) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    for p in pairs.iter().filter(|p| p.probability >= threshold) {
        let (ra, rb) = (find(&mut parent, p.a), find(&mut parent, p.b));
        if ra != rb {
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            parent[hi as usize] = lo;
        }
    }
    (0..n as u32).map(|x| find(&mut parent, x)).collect()
}

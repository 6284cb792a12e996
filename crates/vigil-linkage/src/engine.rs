//! The linkage engine: prepared records, blocking, comparison, Fellegi–Sunter
//! scoring with unsupervised (EM) estimation, clustering and explanations.
//! No I/O here: records come in as strings, results go out as values.

use std::collections::HashMap;

use crate::compare::{ColumnKind, jaro_winkler, osa_distance};
use crate::date::{PartialDate, Precision, parse_date, parse_year};
use crate::groups::{self, Units};
use crate::names::{
    GIVEN_NAMES, Gender, canonical_given, is_initial, patronymic_base, split_full_name,
    surname_base,
};
use crate::normalize::{normalize, words};
use crate::spec::{FieldKind, Spec};
use crate::translit::word_keys;

mod quick;

pub(crate) const MISSING: u8 = u8::MAX;

/// A fast hasher for the engine's own maps (keys are not attacker-chosen in a
/// way that matters: the worst case is a slower run). FxHash's mixing step.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits weak; the table uses them for buckets.
        let z = self.0;
        let z = (z ^ (z >> 33)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        z ^ (z >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }

    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }

    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

/// A raw text as a map key, held in the map's own slot when short (most names,
/// dates and identifiers), so that a look-up reads no memory elsewhere: at a
/// million records the maps of raw names outgrow the cache, and a key held
/// apart costs a cache miss on every look-up. Looked up by its bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum RawKey {
    Inline { len: u8, bytes: [u8; 22] },
    Apart(Box<[u8]>),
}

impl RawKey {
    pub(crate) fn new(raw: &str) -> RawKey {
        let b = raw.as_bytes();
        if b.len() <= 22 {
            let mut bytes = [0u8; 22];
            bytes[..b.len()].copy_from_slice(b);
            RawKey::Inline {
                len: b.len() as u8,
                bytes,
            }
        } else {
            RawKey::Apart(b.into())
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            RawKey::Inline { len, bytes } => &bytes[..*len as usize],
            RawKey::Apart(b) => b,
        }
    }
}

// Hashes as its bytes do, so that a map of keys can be searched by `&[u8]`.
impl std::hash::Hash for RawKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes().hash(state);
    }
}

impl std::borrow::Borrow<[u8]> for RawKey {
    fn borrow(&self) -> &[u8] {
        self.bytes()
    }
}

/// Weights are clipped to this many bits when clustering weighs two groups.
const MERGE_CLIP: f64 = 10.0;

/// The share of the prior's bits a sparse pair's own evidence must reach for the
/// pair to count as neutral between two groups in clustering (see `cluster`).
const NEUTRAL: f64 = 0.75;

/// Compared pairs below this match probability are counted but not kept.
const KEEP_PROBABILITY: f64 = 0.1;

/// One comparison column: a field, or one part of a full-name field.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    /// Index of the spec field it comes from.
    pub field: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct NameValue {
    keys: [u32; 3],
    n: u8,
    initial: u8,
    only_initial: bool,
    /// The given names it can stand for: an index into the dataset's
    /// `canon_sets` (0: none).
    canon: u16,
    /// Bit i set: `keys()[i]` is a given name the table reads as exactly
    /// `canon` (such a key does not block by its spelling; `block_keys`).
    own_canon: u8,
    /// 0 unknown, 1 male, 2 female, as the name's form tells.
    sex: u8,
}

impl NameValue {
    fn keys(&self) -> &[u32] {
        &self.keys[..self.n as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Value {
    Missing,
    /// A name or place: an index into the dataset's distinct name values
    /// (held once, so that a record's row stays small and comparisons read
    /// little memory).
    Name(u32),
    Date(PartialDate),
    Year(u16),
    Text(u32),
    Exact(u32),
}

/// Strings seen in keys and identifiers, stored once.
struct Interner {
    map: FastMap<Box<str>, u32>,
    strs: Vec<Box<str>>,
    /// Per string: which bytes it holds (bit `byte % 64`).
    letters: Vec<u64>,
    /// Tells this interner's ids from another's in the per-thread similarity
    /// cache (one thread may compare several datasets, whose ids overlap).
    generation: u64,
}

impl Default for Interner {
    fn default() -> Interner {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Interner {
            map: FastMap::default(),
            strs: Vec::new(),
            letters: Vec::new(),
            generation: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.strs.len() as u32;
        self.strs.push(s.into());
        self.letters
            .push(s.bytes().fold(0u64, |m, b| m | (1u64 << (b & 63))));
        self.map.insert(s.into(), id);
        id
    }

    /// An upper bound of the Jaro–Winkler similarity of two strings from
    /// their lengths and letters alone: a letter one has and the other lacks
    /// takes at least one of its positions out of the matching characters.
    fn similarity_bound(&self, k: u32, l: u32) -> f64 {
        let (k, l) = (k as usize, l as usize);
        let (Some(x), Some(y)) = (self.strs.get(k), self.strs.get(l)) else {
            return 1.0;
        };
        let (mx, my) = (self.letters[k], self.letters[l]);
        let (lx, ly) = (x.len() as f64, y.len() as f64);
        if lx == 0.0 || ly == 0.0 {
            return 1.0;
        }
        let only_x = f64::from((mx & !my).count_ones());
        let only_y = f64::from((my & !mx).count_ones());
        let m = (lx - only_x).min(ly - only_y).max(0.0);
        let jaro = (m / lx + m / ly + 1.0) / 3.0;
        // Winkler's bonus for a common prefix: at most 4 × 0.1 of the rest.
        0.6 * jaro + 0.4 + 1e-9
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
    /// Row by row: all columns of record 0, then of record 1, ...
    values: Vec<Value>,
    sources: Vec<u8>,
    interner: Interner,
    texts: Vec<Box<[u32]>>,
    /// Prepared values by column and raw text: names and places repeat a lot.
    prepared: Vec<FastMap<RawKey, Value>>,
    /// Sets of given names a key can stand for; entry 0 is the empty set.
    canon_sets: Vec<&'static [u16]>,
    /// The distinct name and place values, which `Value::Name` points into.
    names: Vec<NameValue>,
    name_ids: FastMap<NameValue, u32>,
    /// Per column: the given name's surname column and back (see `row_level`).
    swap_partners: Vec<Option<usize>>,
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
    if columns.iter().any(|c| {
        matches!(
            c.kind,
            ColumnKind::Given | ColumnKind::Surname | ColumnKind::Patronymic
        )
    }) {
        columns.push(Column {
            name: "sex (from name forms)".to_string(),
            kind: ColumnKind::Sex,
            field: usize::MAX,
        });
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
    ("st petersburg", "санкт петербург"),
    ("saint petersburg", "санкт петербург"),
    ("sankt peterburg", "санкт петербург"),
    ("мск", "москва"),
    ("moscow", "москва"),
    ("нижний", "нижний новгород"),
    ("екб", "екатеринбург"),
];

fn place_key(norm: &str) -> String {
    words(norm).map(|w| word_keys(w).remove(0)).collect()
}

/// Aliases by phonetic key, so that "Piter" finds "питер" too.
fn place_aliases() -> &'static HashMap<String, String> {
    static ALIASES: std::sync::OnceLock<HashMap<String, String>> = std::sync::OnceLock::new();
    ALIASES.get_or_init(|| {
        PLACE_ALIASES
            .iter()
            .map(|(a, full)| (place_key(a), place_key(full)))
            .collect()
    })
}

impl Dataset {
    pub fn new(spec: Spec) -> Dataset {
        let columns = columns_for(&spec);
        let columns_len = columns.len();
        let swap_partners = (0..columns_len)
            .map(|c| swap_partner_of(&columns, c))
            .collect();
        Dataset {
            values: Vec::new(),
            columns,
            spec,
            sources: Vec::new(),
            interner: Interner::default(),
            texts: Vec::new(),
            prepared: vec![FastMap::default(); columns_len],
            canon_sets: vec![&[]],
            names: Vec::new(),
            name_ids: FastMap::default(),
            swap_partners,
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
        for fi in 0..self.spec.fields.len() {
            let kind = self.spec.fields[fi].kind;
            let raw = fields.get(fi).copied().unwrap_or("");
            match kind {
                FieldKind::PersonName => {
                    let parts = split_full_name(&normalize(raw));
                    let g = self.name_value(parts.given.as_deref(), ColumnKind::Given);
                    let s = self.name_value(parts.surname.as_deref(), ColumnKind::Surname);
                    let p = self.name_value(parts.patronymic.as_deref(), ColumnKind::Patronymic);
                    self.values.push(g);
                    self.values.push(s);
                    self.values.push(p);
                    col += 3;
                    continue;
                }
                FieldKind::GivenName | FieldKind::Surname | FieldKind::Patronymic => {
                    let v = match self.prepared[col].get(raw.as_bytes()) {
                        Some(&v) => v,
                        None => {
                            let kind = self.columns[col].kind;
                            let norm = normalize(raw);
                            let v = self.name_value(Some(&norm), kind);
                            self.prepared[col].insert(RawKey::new(raw), v);
                            v
                        }
                    };
                    self.values.push(v);
                }
                FieldKind::Place => {
                    let v = match self.prepared[col].get(raw.as_bytes()) {
                        Some(&v) => v,
                        None => {
                            let v = self.place_value(raw);
                            self.prepared[col].insert(RawKey::new(raw), v);
                            v
                        }
                    };
                    self.values.push(v);
                }
                FieldKind::Date => {
                    // Dates repeat (an action's date in every record of
                    // it): those read without a problem are remembered.
                    if let Some(&v) = self.prepared[col].get(raw.as_bytes()) {
                        self.values.push(v);
                        col += 1;
                        continue;
                    }
                    let v = match parse_date(raw) {
                        Ok(Some(d)) => self.remember(col, raw, Value::Date(d)),
                        Ok(None) => Value::Missing,
                        Err(e) => {
                            problems.push(ValueProblem {
                                field: fi,
                                message: e.to_string(),
                            });
                            Value::Missing
                        }
                    };
                    self.values.push(v);
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
                    self.values.push(v);
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
                    self.values.push(v);
                }
                FieldKind::Exact => {
                    let v = match self.prepared[col].get(raw.as_bytes()) {
                        Some(&v) => v,
                        None => {
                            let t: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
                            let v = if t.is_empty() {
                                Value::Missing
                            } else {
                                Value::Exact(self.interner.id(&t.to_lowercase()))
                            };
                            self.remember(col, raw, v)
                        }
                    };
                    self.values.push(v);
                }
            }
            col += 1;
        }
        if let Some(sc) = self.columns.iter().position(|c| c.kind == ColumnKind::Sex) {
            // The given name says most, then the patronymic, then the surname
            // (whose masculine form is often used for women too).
            let mut best = (0u8, 0u8);
            for c in 0..sc {
                if let Value::Name(n) = self.values[self.sources.len() * self.columns.len() + c] {
                    let n = self.names[n as usize];
                    let rank = match self.columns[c].kind {
                        ColumnKind::Given => 3,
                        ColumnKind::Patronymic => 2,
                        ColumnKind::Surname if n.sex == 2 => 1,
                        _ => 0,
                    };
                    if n.sex != 0 && rank > best.0 {
                        best = (rank, n.sex);
                    }
                }
            }
            self.values.push(if best.1 == 0 {
                Value::Missing
            } else {
                Value::Year(u16::from(best.1))
            });
        }
        self.sources.push(source);
        problems
    }

    /// Remembers the value prepared from a raw date or identifier, while the
    /// column's cache is small (identifiers of a million persons would each
    /// be remembered once and never read again).
    fn remember(&mut self, col: usize, raw: &str, v: Value) -> Value {
        if self.prepared[col].len() < PREPARED_CACHE {
            self.prepared[col].insert(RawKey::new(raw), v);
        }
        v
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
        let first_key = keys[0].clone();
        let mut canon: &'static [u16] = &[];
        let mut surname_sex = 0u8;
        match kind {
            ColumnKind::Surname => {
                surname_sex = if crate::names::surname_is_feminine(&first_key) {
                    2
                } else if ["ov", "ev", "in", "ski", "cki"]
                    .iter()
                    .any(|e| first_key.ends_with(e))
                {
                    1
                } else {
                    0
                };
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
        let sex = if only_initial {
            0
        } else {
            match kind {
                ColumnKind::Given => {
                    let mut sexes = canon.iter().map(|&id| GIVEN_NAMES[id as usize].gender);
                    match sexes.next() {
                        Some(first) if sexes.all(|g| g == first) => {
                            if first == Gender::Male {
                                1
                            } else {
                                2
                            }
                        }
                        _ => 0,
                    }
                }
                ColumnKind::Patronymic => {
                    if first_key.ends_with("na") {
                        2
                    } else if first_key.ends_with("iq") {
                        1
                    } else {
                        0
                    }
                }
                ColumnKind::Surname => surname_sex,
                _ => 0,
            }
        };
        let mut nv = NameValue {
            keys: [0; 3],
            n: 0,
            initial,
            only_initial,
            canon: self.canon_id(canon),
            own_canon: 0,
            sex,
        };
        for k in keys.iter().take(3) {
            let id = self.interner.id(k);
            if !nv.keys().contains(&id) {
                if !canon.is_empty() && canonical_given(k) == canon {
                    nv.own_canon |= 1 << nv.n;
                }
                nv.keys[nv.n as usize] = id;
                nv.n += 1;
            }
        }
        self.name(nv)
    }

    /// The value of a name, held once.
    fn name(&mut self, nv: NameValue) -> Value {
        if let Some(&id) = self.name_ids.get(&nv) {
            return Value::Name(id);
        }
        let id = self.names.len() as u32;
        self.names.push(nv);
        self.name_ids.insert(nv, id);
        Value::Name(id)
    }

    fn canon_id(&mut self, set: &'static [u16]) -> u16 {
        if set.is_empty() {
            return 0;
        }
        if let Some(i) = self.canon_sets.iter().position(|s| *s == set) {
            return i as u16;
        }
        self.canon_sets.push(set);
        (self.canon_sets.len() - 1) as u16
    }

    fn place_value(&mut self, raw: &str) -> Value {
        let norm = normalize(raw);
        let kept: Vec<&str> = words(&norm).filter(|w| !PLACE_NOISE.contains(w)).collect();
        let joined = kept.join(" ");
        if joined.is_empty() {
            return Value::Missing;
        }
        let mut key = place_key(&joined);
        if let Some(full) = place_aliases().get(&key) {
            key = full.clone();
        }
        let id = self.interner.id(&key);
        self.name(NameValue {
            keys: [id, 0, 0],
            n: 1,
            initial: key.as_bytes().first().copied().unwrap_or(0),
            only_initial: false,
            canon: 0,
            own_canon: 0,
            sex: 0,
        })
    }

    /// The comparison level of one column for two records, or `None` when
    /// either value is missing.
    fn level(&self, col: usize, a: usize, b: usize) -> u8 {
        let ncol = self.columns.len();
        self.row_level(
            &self.values[a * ncol..(a + 1) * ncol],
            &self.values[b * ncol..(b + 1) * ncol],
            col,
        )
    }

    /// The comparison level of one column for two records' rows of values:
    /// the column's own level, or for a given name and a surname the level
    /// "names swapped" when they were written in each other's field.
    fn row_level(&self, ra: &[Value], rb: &[Value], col: usize) -> u8 {
        let l = self.level_of(ra[col], rb[col], col);
        let kind = self.columns[col].kind;
        if l == MISSING || l >= swap_below(kind) {
            return l;
        }
        let Some(other) = self.swap_partner(col) else {
            return l;
        };
        let (g, s) = if kind == ColumnKind::Given {
            (col, other)
        } else {
            (other, col)
        };
        match kind.swapped_level() {
            Some(swapped) if self.names_swapped(ra, rb, g, s) => swapped,
            _ => l,
        }
    }

    /// The column a given name (or surname) column can be swapped with.
    fn swap_partner(&self, col: usize) -> Option<usize> {
        self.swap_partners.get(col).copied().flatten()
    }

    /// True when record a's given name agrees with record b's surname and a's
    /// surname with b's given name (the same up to a surname's gender form,
    /// or one typo apart; all four known and more than initials), while
    /// neither field agrees as well with its own counterpart. One cross alone is not a swap: a surname that is
    /// also a given name (Martin, James) meets given names by chance.
    fn names_swapped(&self, ra: &[Value], rb: &[Value], g: usize, s: usize) -> bool {
        let name = |v: Value| match v {
            Value::Name(n) => self.names.get(n as usize).filter(|n| !n.only_initial),
            _ => None,
        };
        let (Some(ag), Some(as_), Some(bg), Some(bs)) =
            (name(ra[g]), name(ra[s]), name(rb[g]), name(rb[s]))
        else {
            return false;
        };
        // Cheap first: one typo leaves at least one cross's initials alike.
        if ag.initial != bs.initial && as_.initial != bg.initial {
            return false;
        }
        // The same key, up to a surname's gender form, or one typo apart
        // (Jaro-Winkler >= 0.92 and one edit: Иван is not Иванов).
        let agree = |x: &NameValue, y: &NameValue| {
            x.keys().iter().any(|&k| {
                y.keys().iter().any(|&l| {
                    if k == l {
                        return true;
                    }
                    if self.similarity(k, l, 0.88) < 0.88 {
                        return false;
                    }
                    let (p, q) = (
                        surname_base(self.interner.get(k)),
                        surname_base(self.interner.get(l)),
                    );
                    p == q
                        || (osa_distance(p.as_bytes(), q.as_bytes(), 1) <= 1
                            && jaro_winkler(&p, &q) >= 0.92)
                })
            })
        };
        agree(ag, bs)
            && agree(as_, bg)
            && self.level_of(ra[g], rb[g], g) < swap_below(ColumnKind::Given)
            && self.level_of(ra[s], rb[s], s) < swap_below(ColumnKind::Surname)
    }

    /// The comparison level of two values of one column.
    fn level_of(&self, va: Value, vb: Value, col: usize) -> u8 {
        let kind = self.columns[col].kind;
        match (va, vb) {
            (Value::Missing, _) | (_, Value::Missing) => MISSING,
            (Value::Name(x), Value::Name(y)) if x == y && !self.names[x as usize].only_initial => {
                (kind.levels().len() - 1) as u8
            }
            (Value::Name(x), Value::Name(y)) => {
                self.name_level(kind, &self.names[x as usize], &self.names[y as usize])
            }
            (Value::Date(x), Value::Date(y)) => date_level(&x, &y),
            (Value::Year(x), Value::Year(y)) if kind == ColumnKind::Sex => u8::from(x == y),
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
                    u8::from(at_most_one_edit(sx.as_bytes(), sy.as_bytes()))
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
                ColumnKind::Given => {
                    if agree {
                        3
                    } else {
                        1
                    }
                }
                ColumnKind::Surname => {
                    if agree {
                        2
                    } else {
                        0
                    }
                }
                _ => u8::from(agree),
            };
        }
        if x.keys().iter().any(|k| y.keys().contains(k)) {
            return top;
        }
        if kind == ColumnKind::Given {
            let (xc, yc) = (
                self.canon_sets[x.canon as usize],
                self.canon_sets[y.canon as usize],
            );
            if xc.iter().any(|c| yc.contains(c)) {
                return 6;
            }
            if !xc.is_empty() && !yc.is_empty() {
                // Two known names that are not forms of one another (Юлия and
                // Алиса, Мария and Марина) are two people, whatever else they share.
                return 0;
            }
        }
        // Below this the level is the lowest, however far below.
        let floor = match kind {
            ColumnKind::Given | ColumnKind::Surname => 0.80,
            _ => 0.88,
        };
        let mut best = 0.0_f64;
        for &k in x.keys() {
            for &l in y.keys() {
                best = best.max(self.similarity(k, l, floor));
            }
        }
        match kind {
            ColumnKind::Given => {
                if best >= 0.92 {
                    5
                } else if best >= 0.80 {
                    4
                } else {
                    1
                }
            }
            ColumnKind::Surname => {
                if best >= 0.92 {
                    4
                } else if best >= 0.80 {
                    3
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

    /// Jaro–Winkler similarity of two interned keys, remembered in a small
    /// per-thread cache: the same names meet again and again.
    /// Values below `floor` may come back as 0: a bound from the keys'
    /// lengths and letters settles most pairs of different names without
    /// computing the similarity.
    fn similarity(&self, k: u32, l: u32, floor: f64) -> f64 {
        if self.interner.similarity_bound(k, l) < floor {
            return 0.0;
        }
        const SLOTS: usize = 1 << 16;
        thread_local! {
            static CACHE: std::cell::RefCell<Vec<(u64, u64, f64)>> =
                std::cell::RefCell::new(vec![(u64::MAX, u64::MAX, 0.0); SLOTS]);
        }
        let (k, l) = (k.min(l), k.max(l));
        let key = (u64::from(k) << 32) | u64::from(l);
        let slot = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as usize % SLOTS;
        let generation = self.interner.generation;
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            let entry = &mut cache[slot];
            if entry.0 == key && entry.1 == generation {
                return entry.2;
            }
            let v = jaro_winkler(self.interner.get(k), self.interner.get(l));
            *entry = (key, generation, v);
            v
        })
    }

    /// Blocking keys of one record for one blockable item.
    fn block_keys(&self, item: Blockable, r: usize, out: &mut Vec<u64>) {
        out.clear();
        let v = self.values[r * self.columns.len() + item.column];
        match (item.what, v) {
            (BlockWhat::Name, Value::Name(n)) => {
                let n = self.names[n as usize];
                if !n.only_initial {
                    // A given name in the names table blocks by its canonical
                    // name (and initial), not also by its spelling: records
                    // that share a spelling key read as the record's
                    // canonical names share those names, so the key's blocks
                    // found pairs the canonical name's blocks find too,
                    // compared in full or in a window (linkdet3; a third of
                    // the given name's block entries at a million). A key the
                    // table does not know, or reads as other canonical names
                    // (a Latin spelling read several ways), blocks by itself.
                    for (i, &k) in n.keys().iter().enumerate() {
                        if !(item.with_initial && n.own_canon & (1 << i) != 0) {
                            out.push(u64::from(k) << 2);
                        }
                    }
                    for &c in self.canon_sets[n.canon as usize] {
                        out.push((u64::from(c) << 2) | 1);
                    }
                }
                if item.with_initial {
                    out.push((u64::from(n.initial) << 2) | 2);
                }
            }
            (BlockWhat::SwappedNames, Value::Name(g)) => {
                let ncol = self.columns.len();
                let Some(s) = self.swap_partner(item.column) else {
                    return;
                };
                let Value::Name(sn) = self.values[r * ncol + s] else {
                    return;
                };
                let (g, sn) = (self.names[g as usize], self.names[sn as usize]);
                if g.only_initial || sn.only_initial {
                    return;
                }
                for &k in g.keys() {
                    for &l in sn.keys() {
                        let (x, y) = (
                            surname_base(self.interner.get(k)),
                            surname_base(self.interner.get(l)),
                        );
                        let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
                        let mut h = FastHasher::default();
                        std::hash::Hash::hash(&lo, &mut h);
                        std::hash::Hash::hash(&hi, &mut h);
                        out.push(std::hash::Hasher::finish(&h));
                    }
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

/// The column a given name (or surname) column can be swapped with: the
/// surname (given name) of the same person-name field, or else the only
/// one of its kind when the spec has one given-name and one surname column.
fn swap_partner_of(columns: &[Column], col: usize) -> Option<usize> {
    let kind = columns[col].kind;
    let want = match kind {
        ColumnKind::Given => ColumnKind::Surname,
        ColumnKind::Surname => ColumnKind::Given,
        _ => return None,
    };
    let field = columns[col].field;
    let of = |k: ColumnKind| columns.iter().enumerate().filter(move |(_, c)| c.kind == k);
    if let Some((p, _)) = of(want).find(|(_, c)| c.field == field) {
        return Some(p);
    }
    if of(want).count() == 1 && of(kind).count() == 1 {
        return of(want).next().map(|(p, _)| p);
    }
    None
}

/// The level from which a given name or surname agrees too well with its
/// own counterpart to be taken as swapped (Jaro-Winkler >= 0.92 and up);
/// other kinds are never swapped.
fn swap_below(kind: ColumnKind) -> u8 {
    match kind {
        ColumnKind::Given => 5,
        ColumnKind::Surname => 4,
        _ => 0,
    }
}

/// The two records of a pair packed as `a << 32 | b`.
/// A diagnostic for choosing blocking rules: with `VIGIL_LINK_RULE_TRUTH`
/// naming a file of one entity number per line (the records' truth, in input
/// order), blocking prints per rule the pairs it found, the true pairs among
/// them and the true pairs no other rule found.
struct RuleTruth {
    entity: Vec<u32>,
    found: Vec<usize>,
    true_found: Vec<usize>,
    /// Per true pair found, the rules that found it (a bit per rule, the
    /// 64th bit standing for every rule from 63 on).
    rules_of: FastMap<u64, u64>,
}

impl RuleTruth {
    fn from_env(rules: usize) -> Option<RuleTruth> {
        let path = std::env::var_os("VIGIL_LINK_RULE_TRUTH")?;
        let text = std::fs::read_to_string(path).ok()?;
        let mut ids: FastMap<&str, u32> = FastMap::default();
        let entity = text
            .lines()
            .map(|l| {
                let next = ids.len() as u32;
                *ids.entry(l.trim()).or_insert(next)
            })
            .collect();
        Some(RuleTruth {
            entity,
            found: vec![0; rules],
            true_found: vec![0; rules],
            rules_of: FastMap::default(),
        })
    }

    fn add(&mut self, rule: usize, pairs: &[u64]) {
        self.found[rule] += pairs.len();
        let bit = 1u64 << rule.min(63);
        let mut seen = FastMap::<u64, ()>::default();
        for &p in pairs {
            let (a, b) = split_pair(p);
            let same = match (self.entity.get(a as usize), self.entity.get(b as usize)) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            };
            if same && seen.insert(p, ()).is_none() {
                self.true_found[rule] += 1;
                *self.rules_of.entry(p).or_default() |= bit;
            }
        }
    }

    fn report(&self, names: &[String]) {
        let mut unique = vec![0usize; names.len()];
        for &mask in self.rules_of.values() {
            if mask.count_ones() == 1 {
                unique[mask.trailing_zeros() as usize] += 1;
            }
        }
        eprintln!(
            "rule truth: {} true pairs found by any rule",
            self.rules_of.len()
        );
        for (r, name) in names.iter().enumerate() {
            eprintln!(
                "rule truth {r} {name}: {} found, {} true, {} true found by no other rule{}",
                self.found[r],
                self.true_found[r],
                unique[r],
                if r >= 63 {
                    " (rules from 63 on share a bit)"
                } else {
                    ""
                }
            );
        }
    }
}

/// At most this many raw dates or identifiers per column are remembered
/// with their prepared values.
const PREPARED_CACHE: usize = 1 << 16;

/// Strangers who share a group's values agree on a column at least this
/// often where the group all but fixes it (blocking leaves out rules made
/// only of such columns).
const FIXED_BY_CONTEXT: f64 = 0.5;

/// A context date column's year blocks only where fewer than this share of
/// its present dates are known to the day: only those have a full-date key,
/// and a year or a month alone ("2022", "03.2022") has only its year.
const CONTEXT_YEAR_DAY_SHARE: f64 = 0.95;

/// One person's records share a context item's block key at least this often
/// (among records that agree on every name and on a birth date known to the
/// day) for the blocking rules without context to block within it, or to be
/// left to a rule that pairs one of their items with it and compares every
/// block in full (linkdet4; see `Dataset::context_holds`).
const CONTEXT_HOLDS: f64 = 0.995;

/// Pairs of one person's records seen before [`CONTEXT_HOLDS`] is trusted.
const CONTEXT_HOLDS_SEEN: usize = 200;

fn split_pair(p: u64) -> (u32, u32) {
    ((p >> 32) as u32, p as u32)
}

/// Sorts `v` as `sort_unstable` would, faster for large lists whose `key`
/// spreads evenly over its range (hashes, record numbers): one pass counts the
/// items per bucket of the key's top bits, one moves them into their buckets,
/// and each bucket (a few dozen items, in the cache) is sorted on its own.
/// `key` must order as the items do: `key(x) < key(y)` implies `x < y`.
fn bucket_sort<T: Ord + Copy>(v: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    bucket_sort_in(v, &mut Vec::new(), key);
}

/// `bucket_sort` moving the items through `scratch`, which is left holding
/// the unsorted items' memory: a caller that sorts many lists keeps its
/// buffers (fresh memory of that size costs a page fault per 4 KiB).
fn bucket_sort_in<T: Ord + Copy>(v: &mut Vec<T>, scratch: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    let n = v.len();
    if n < 1 << 15 {
        v.sort_unstable();
        return;
    }
    let (lo, hi) = v
        .iter()
        .map(&key)
        .fold((u64::MAX, 0), |(lo, hi), k| (lo.min(k), hi.max(k)));
    let span_bits = 64 - (hi - lo).leading_zeros();
    let bucket_bits = (usize::BITS - (n / 32).leading_zeros()).clamp(8, 16);
    let shift = span_bits.saturating_sub(bucket_bits);
    let bucket = |x: &T| ((key(x) - lo) >> shift) as usize;
    let mut starts = vec![0usize; (1 << bucket_bits) + 1];
    for x in v.iter() {
        starts[bucket(x) + 1] += 1;
    }
    for b in 0..1 << bucket_bits {
        starts[b + 1] += starts[b];
    }
    let out = scratch;
    out.clear();
    out.resize(n, v[0]);
    let mut next = starts.clone();
    for x in v.iter() {
        let slot = &mut next[bucket(x)];
        out[*slot] = *x;
        *slot += 1;
    }
    for w in starts.windows(2) {
        out[w[0]..w[1]].sort_unstable();
    }
    std::mem::swap(v, out);
}

/// Merges the pairs in `batch` into the sorted, distinct `pairs`, which stay
/// sorted and distinct; `batch` is left empty. The merge runs from the back in
/// place, so memory grows only by the batch.
#[cfg(test)]
fn merge_sorted(pairs: &mut Vec<u64>, batch: &mut Vec<u64>) {
    merge_sorted_in(pairs, batch, &mut Vec::new());
}

/// `merge_sorted`, sorting the batch through `scratch` (see `bucket_sort_in`).
fn merge_sorted_in(pairs: &mut Vec<u64>, batch: &mut Vec<u64>, scratch: &mut Vec<u64>) {
    bucket_sort_in(batch, scratch, |&p| p);
    batch.dedup();
    let old = pairs.len();
    pairs.reserve_exact(batch.len());
    pairs.resize(old + batch.len(), 0);
    let (mut i, mut j, mut k) = (old, batch.len(), pairs.len());
    while j > 0 {
        k -= 1;
        if i > 0 && pairs[i - 1] > batch[j - 1] {
            pairs[k] = pairs[i - 1];
            i -= 1;
        } else {
            pairs[k] = batch[j - 1];
            j -= 1;
        }
    }
    pairs.dedup();
    batch.clear();
}

/// Whether two strings are at most one edit apart (optimal string alignment:
/// a substitution, an insertion or deletion, or a swap of neighbours), without
/// allocating: identifiers that differ are compared for every candidate pair.
fn at_most_one_edit(x: &[u8], y: &[u8]) -> bool {
    let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    match long.len() - short.len() {
        0 => within_one_edit(x, y),
        1 => {
            let i = short.iter().zip(long).take_while(|(a, b)| a == b).count();
            short[i..] == long[i + 1..]
        }
        _ => false,
    }
}

/// Whether two digit strings of one length are at most one substitution or one
/// swap of neighbours apart (optimal string alignment distance <= 1; with equal
/// lengths an insertion needs a deletion too, so it never helps).
fn within_one_edit(x: &[u8], y: &[u8]) -> bool {
    let mut first = None;
    let mut differ = 0;
    for (i, (a, b)) in x.iter().zip(y).enumerate() {
        if a != b {
            differ += 1;
            if differ > 2 {
                return false;
            }
            first.get_or_insert(i);
        }
    }
    match (differ, first) {
        (0 | 1, _) => x.len() == y.len(),
        (2, Some(i)) => i + 1 < x.len() && x[i] == y[i + 1] && x[i + 1] == y[i],
        _ => false,
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
        if within_one_edit(&x.digits(), &y.digits()) {
            return 3;
        }
        return u8::from(x.year == y.year);
    }
    if x.year != y.year {
        // A year written with one wrong digit.
        let (dx, dy) = (x.digits(), y.digits());
        return u8::from(within_one_edit(&dx[..4], &dy[..4]));
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
    /// The given name and surname as an unordered pair (`column` is the given
    /// name): finds records whose names were written in each other's field.
    SwappedNames,
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
    /// What is scored: the real columns, then one pseudo-column per group of
    /// columns that move together (whose members then count only through it).
    pub units: Units,
    /// Prior probability that a compared pair is a match.
    pub lambda: f64,
    /// `m[c][l]`: probability of level `l` in unit `c` (a column or a group) among matches.
    pub m: Vec<Vec<f64>>,
    /// `u[c][l]`: the same among non-matches.
    pub u: Vec<Vec<f64>>,
    pub em_iterations: usize,
}

/// One column's part in a pair's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub column: String,
    /// The group this column is counted in (its own `bits` are then 0), if any.
    pub group: Option<String>,
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
    /// The compared pairs with a match probability of at least 0.1, scored.
    pub pairs: Vec<ScoredPair>,
    /// Cluster number of each record (the smallest record index in its cluster).
    pub clusters: Vec<u32>,
    pub compared: usize,
    levels: Vec<u8>,
    tf: TermFrequencies,
}

#[derive(Default)]
struct TermFrequencies {
    /// Per column: its place in a record's row of `ratio`, if it has one.
    slot: Vec<Option<usize>>,
    stride: usize,
    /// Row by row, per adjusted column: how much more often than the average
    /// value the record's value agrees by chance (its frequency over the sum of
    /// squared frequencies); 0 when missing or only an initial.
    ratio: Vec<f32>,
}

/// Candidate pairs beyond this many are not all compared for estimation: a
/// seeded share of them this large stands for all (at a million records the
/// 33 million pairs would otherwise be held with their levels). linkdet4: a
/// million instead of two (80,000 true pairs and more in the sample at a
/// million records) changed F1 on no set by more than 0.0004 and saved 0.3 to
/// 1.8 CPU s at a million records.
const ESTIMATION_PAIRS: usize = 1_000_000;

/// Records laid out for comparing (see `Dataset::layout`).
struct Layout {
    /// The records in layout order.
    order: Vec<u32>,
    /// Each record's place in the layout.
    rank: Vec<u32>,
    /// The records' rows of values, in layout order.
    local: Vec<Value>,
}

/// A pair (`a << 32 | b`) renumbered into the layout, smaller place first.
fn renumber(rank: &[u32], p: u64) -> u64 {
    let (a, b) = split_pair(p);
    let (x, y) = (rank[a as usize], rank[b as usize]);
    (u64::from(x.min(y)) << 32) | u64::from(x.max(y))
}

/// Threads for comparing: the cores there are, at most 8.
fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

/// Distinct comparison patterns (rows of unit levels), with how many pairs
/// show each.
struct Patterns {
    width: usize,
    rows: Vec<u8>,
    counts: Vec<f64>,
    index: FastMap<Box<[u8]>, u32>,
}

impl Patterns {
    fn new(width: usize) -> Patterns {
        Patterns {
            width,
            rows: Vec::new(),
            counts: Vec::new(),
            index: FastMap::default(),
        }
    }

    fn add(&mut self, row: &[u8], count: f64) -> u32 {
        if let Some(&id) = self.index.get(row) {
            self.counts[id as usize] += count;
            return id;
        }
        let id = self.counts.len() as u32;
        self.rows.extend_from_slice(row);
        self.counts.push(count);
        self.index.insert(row.into(), id);
        id
    }

    fn row(&self, id: usize) -> &[u8] {
        &self.rows[id * self.width..(id + 1) * self.width]
    }

    /// The patterns with their counts, sorted so that what is computed from them
    /// does not depend on the order pairs were compared in.
    fn sorted(&self) -> Vec<(&[u8], f64)> {
        let mut out: Vec<(&[u8], f64)> = (0..self.counts.len())
            .map(|k| (self.row(k), self.counts[k]))
            .collect();
        out.sort_by(|x, y| x.0.cmp(y.0));
        out
    }
}

/// What scoring needs of the model, computed once: weights by unit and level,
/// upper bounds for leaving hopeless pairs early, and the order to compare in.
struct ScorePlan {
    prior: f64,
    /// Weights of each unit's levels, before term-frequency adjustment.
    table: Vec<Vec<f64>>,
    tf_level: Vec<Option<u8>>,
    /// Units scored given a context: their weight depends on the row.
    given: Vec<bool>,
    /// The most a unit's level can add (term-frequency adjustment and a
    /// context's u included): `upper[c][l]`.
    upper_table: Vec<Vec<f64>>,
    /// The most a unit can add whatever its level (0 when it is missing).
    best: Vec<f64>,
    /// The prior plus every counted unit's best.
    start: f64,
    keep_weight: f64,
    /// The counted units (columns outside groups and copies, then groups),
    /// those that most often rule a candidate pair out first.
    order: Vec<usize>,
    /// Per unit with a term-frequency level: what its weight there is made of.
    tf_parts: Vec<Option<TfPart>>,
    /// Per unit: the most its levels other than the term-frequency one can
    /// add (0 at least, for a missing value).
    rest_best: Vec<f64>,
}

/// A unit's term-frequency level: its slot in a record's ratios, the level,
/// m and u at it, and the weight given a context (if the unit is scored so).
#[derive(Debug, Clone, Copy)]
struct TfPart {
    slot: usize,
    level: u8,
    m: f64,
    u: f64,
    given: f64,
}

/// The bound of one record's pairs: a term-frequency level's weight depends on
/// the rarer of the two values, so the first record's own ratio already caps
/// it (a common name agreeing says little, whoever it meets).
struct RecordBounds {
    start: f64,
    best: Vec<f64>,
    /// Per unit with a term-frequency level: the most it can add there.
    tf_top: Vec<f64>,
}

impl RecordBounds {
    fn new(plan: &ScorePlan) -> RecordBounds {
        RecordBounds {
            start: plan.start,
            best: plan.best.clone(),
            tf_top: vec![f64::INFINITY; plan.best.len()],
        }
    }

    /// Sets the bounds for pairs whose first record is `a` (its number in the dataset).
    fn set(&mut self, plan: &ScorePlan, tf: &TermFrequencies, a: usize) {
        let mut start = plan.start;
        for (c, part) in plan.tf_parts.iter().enumerate() {
            let Some(TfPart {
                slot, m, u, given, ..
            }) = *part
            else {
                continue;
            };
            let ra = tf.ratio[a * tf.stride + slot];
            // The pair's ratio is the larger of both (at least a's own); with
            // none for a, b's can be anything up to 30.
            let w = if ra > 0.0 {
                (m / (u * f64::from(ra).clamp(1.0 / 30.0, 30.0)).min(1.0)).log2()
            } else {
                (m / u).log2() + 30f64.log2()
            };
            // Full agreement is never evidence against (see `bits`).
            let top = w.max(given).max(0.0);
            self.tf_top[c] = top;
            let best = plan.rest_best[c].max(top);
            start += best - plan.best[c];
            self.best[c] = best;
        }
        self.start = start;
    }

    /// The most unit `c` at level `l` can add in this record's pairs.
    fn upper(&self, plan: &ScorePlan, c: usize, l: u8) -> f64 {
        match plan.tf_parts[c] {
            Some(part) if part.level == l => self.tf_top[c],
            _ => plan.upper(c, l),
        }
    }
}

impl ScorePlan {
    fn new(model: &Model, tf: &TermFrequencies, sample: &Patterns) -> ScorePlan {
        let units = &model.units;
        let nu = units.len();
        let prior = (model.lambda / (1.0 - model.lambda)).log2();
        let table: Vec<Vec<f64>> = (0..nu)
            .map(|c| {
                (0..model.m[c].len())
                    .map(|l| (model.m[c][l] / model.u[c][l]).log2())
                    .collect()
            })
            .collect();
        let tf_level: Vec<Option<u8>> = (0..nu)
            .map(|c| tf.slot[c].and(units.list[c].kind.tf_level()))
            .collect();
        let given: Vec<bool> = (0..nu)
            .map(|c| units.given.get(c).is_some_and(Option::is_some))
            .collect();
        // A term-frequency adjustment adds at most log2(30) bits; a column
        // scored given a context takes the larger of both weights.
        let upper_table: Vec<Vec<f64>> = (0..nu)
            .map(|c| {
                (0..model.m[c].len())
                    .map(|l| {
                        let w = match units.given.get(c) {
                            Some(Some((_, u))) => table[c][l].max((model.m[c][l] / u[l]).log2()),
                            _ => table[c][l],
                        };
                        if tf_level[c] == Some(l as u8) {
                            w + 30f64.log2()
                        } else {
                            w
                        }
                    })
                    .collect()
            })
            .collect();
        let counted: Vec<usize> = (0..nu)
            .filter(|&c| {
                c >= units.ncol || (units.member_of[c].is_none() && units.copy_of[c].is_none())
            })
            .collect();
        let best: Vec<f64> = (0..nu)
            .map(|c| upper_table[c].iter().copied().fold(0.0, f64::max))
            .collect();
        let start = prior + counted.iter().map(|&c| best[c]).sum::<f64>();
        // How far a unit brings the bound down on average among the sampled
        // candidate pairs, per column compared.
        let upper = |c: usize, l: u8| {
            if l == MISSING {
                0.0
            } else {
                upper_table[c][l as usize]
            }
        };
        let drop_of = |c: usize| -> f64 {
            let mut sum = 0.0;
            let mut total = 0.0;
            for k in 0..sample.counts.len() {
                let n = sample.counts[k];
                sum += n * (best[c] - upper(c, sample.row(k)[c]));
                total += n;
            }
            // Names and places may need a string similarity; dates, years,
            // identifiers and sex are a few integer comparisons.
            let cost_of = |k: ColumnKind| match k {
                ColumnKind::Given
                | ColumnKind::Surname
                | ColumnKind::Patronymic
                | ColumnKind::Place
                | ColumnKind::Text => 4.0,
                _ => 1.0,
            };
            let cost: f64 = if c >= units.ncol {
                units.members[c - units.ncol]
                    .iter()
                    .map(|&m| cost_of(units.list[m].kind))
                    .sum()
            } else {
                cost_of(units.list[c].kind)
            };
            sum / total.max(1.0) / cost.max(1.0)
        };
        let mut keyed: Vec<(f64, usize)> = counted.iter().map(|&c| (drop_of(c), c)).collect();
        keyed.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        // Only counted units: the others add nothing to the start.
        let tf_parts: Vec<Option<TfPart>> = (0..nu)
            .map(|c| {
                if !counted.contains(&c) {
                    return None;
                }
                let l = tf_level[c]?;
                let slot = tf.slot[c]?;
                let (m, u) = (model.m[c][l as usize], model.u[c][l as usize]);
                let given = match units.given.get(c) {
                    Some(Some((_, gu))) => (m / gu[l as usize]).log2(),
                    _ => f64::NEG_INFINITY,
                };
                Some(TfPart {
                    slot,
                    level: l,
                    m,
                    u,
                    given,
                })
            })
            .collect();
        let rest_best: Vec<f64> = (0..nu)
            .map(|c| {
                upper_table[c]
                    .iter()
                    .enumerate()
                    .filter(|&(l, _)| tf_level[c] != Some(l as u8))
                    .map(|(_, &w)| w)
                    .fold(0.0, f64::max)
            })
            .collect();
        ScorePlan {
            tf_parts,
            rest_best,
            prior,
            table,
            tf_level,
            given,
            best,
            start,
            keep_weight: (KEEP_PROBABILITY / (1.0 - KEEP_PROBABILITY)).log2(),
            order: keyed.into_iter().map(|(_, c)| c).collect(),
            upper_table,
        }
    }

    fn upper(&self, c: usize, l: u8) -> f64 {
        if l == MISSING {
            0.0
        } else {
            self.upper_table[c][l as usize]
        }
    }
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

/// A fast, fixed 64-bit hash of a blocking rule and two keys.
fn mix(rule: usize, a: u64, b: u64) -> u64 {
    let fold = |h: u64, x: u64| {
        let mut z = (h ^ x).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    fold(fold(fold(0x243F_6A88_85A3_08D3, rule as u64), a), b)
}

impl Dataset {
    fn blockables(&self, skip: &[bool]) -> Vec<Blockable> {
        let mut out = Vec::new();
        for (c, col) in self.columns.iter().enumerate() {
            if skip.get(c).copied().unwrap_or(false) {
                continue;
            }
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
                ColumnKind::Text | ColumnKind::Sex | ColumnKind::Group => {}
            }
        }
        // Last, so that the other items keep their numbers (which order the
        // records inside blocks).
        for (c, col) in self.columns.iter().enumerate() {
            let skipped = |c: usize| skip.get(c).copied().unwrap_or(false);
            if col.kind == ColumnKind::Given
                && !skipped(c)
                && self.swap_partner(c).is_some_and(|s| !skipped(s))
            {
                out.push(Blockable {
                    column: c,
                    what: BlockWhat::SwappedNames,
                    with_initial: false,
                });
            }
        }
        out
    }

    /// Candidate pairs: records that share the values of any two blockable
    /// fields (or one identifier), skipping blocks too large to tell anything.
    pub fn candidate_pairs(&self, progress: &mut dyn Progress) -> Vec<(u32, u32)> {
        self.candidate_pairs_skipping(&[], &[], progress)
            .into_iter()
            .map(split_pair)
            .collect()
    }

    /// The blockable items and the blocking rules over them (each one, two or
    /// three items' numbers: a rule without context gets a context item one
    /// person keeps as its third), leaving out the columns `skip` marks; and per rule the
    /// rules that find every pair of one person it finds when they compare
    /// their blocks in full (see [`Dataset::context_holds`]).
    fn blocking_rules(
        &self,
        skip: &[bool],
        group_of: &[Option<usize>],
    ) -> (Vec<Blockable>, Vec<Vec<usize>>, Vec<Vec<usize>>) {
        let items = self.blockables(skip);
        // A rule made only of context columns (a group's members, such as the
        // action's date and place or an address's street and postcode, and the
        // columns a group's value all but fixes, such as the action's article
        // and court) says only that two records share a context: its blocks
        // are everyone there, the pairs strangers, and the persons among them
        // who match agree on a name or a date too, which other rules block on.
        let all_rules = std::env::var_os("VIGIL_LINK_ALL_RULES").is_some();
        let context = if all_rules {
            vec![None; self.columns.len()]
        } else {
            self.context_columns(group_of)
        };
        let in_context = |i: usize| context.get(items[i].column).is_some_and(Option::is_some);
        let one_context = |rule: &[usize]| rule.iter().all(|&i| in_context(i));
        // A column that a group's value all but fixes (the action's article
        // and court, not the group's own members) pairs with the others only
        // where it is more selective than every blockable member of its
        // group: otherwise a name with the article blocks the same persons
        // as a name with the action's date, in blocks of many actions. (The
        // members themselves all pair with the others: an address's fields
        // are mistyped one at a time.)
        let blockable: Vec<bool> = (0..self.columns.len())
            .map(|c| items.iter().any(|b| b.column == c))
            .collect();
        let chance: Vec<f64> = (0..self.columns.len())
            .map(|c| {
                if context[c].is_some() && blockable[c] {
                    self.chance_agreement(c)
                } else {
                    f64::INFINITY
                }
            })
            .collect();
        // Likewise a member that a more selective member all but fixes (the
        // action's police station, fixed by its date).
        let fixed_by = if all_rules {
            Vec::new()
        } else {
            self.fixed_by(&context, &chance)
        };
        // Context date columns whose present dates are nearly all known to
        // the day: only there does the full date stand in for the year.
        let full_dates: Vec<bool> = (0..self.columns.len())
            .map(|c| {
                !all_rules
                    && context[c].is_some()
                    && self.columns[c].kind == ColumnKind::Date
                    && self.day_share(c) >= CONTEXT_YEAR_DAY_SHARE
            })
            .collect();
        let lesser_context = |i: usize| {
            let c = items[i].column;
            let fixed = group_of.get(c).copied().flatten().is_none();
            let by_group = fixed
                && context[c].is_some_and(|g| {
                    (0..self.columns.len()).any(|d| {
                        group_of.get(d).copied().flatten() == Some(g) && chance[d] < chance[c]
                    })
                });
            // The year of a context date whose full date blocks too (the
            // action's year), where nearly every date is known to the day:
            // the full date fixes it, and alone it blocks everyone detained
            // that year (linkdet3: at a million detentions its six rules found
            // 7.6 M pairs and 413 true pairs no other rule found). Where
            // partial dates ("2022", "03.2022") are more than a few, they have
            // only the year's key, and the year still blocks.
            let year_of_context = items[i].what == BlockWhat::Year
                && full_dates[c]
                && items
                    .iter()
                    .any(|b| b.column == c && b.what == BlockWhat::FullDate);
            by_group || year_of_context || fixed_by.get(c).copied().unwrap_or(false)
        };
        // A patronymic (the father's given name, shared by siblings and by
        // many strangers) does not block with a year: those blocks are mostly
        // strangers born in one year (linkdet3: at a million Russian records
        // the rule found 0.77 M pairs and 153 of 770,279 true pairs that no
        // other rule found; F1 on every set within 0.0003). With the surname,
        // a given name, a full date, a place or a context column it still
        // blocks (the city and patronymic rule, left out too, cost common
        // names at a million 0.0013 of F1).
        let weak_patronymic = |i: usize, j: usize| {
            self.columns[items[i].column].kind == ColumnKind::Patronymic
                && !in_context(j)
                && items[j].what == BlockWhat::Year
        };
        let mut rules: Vec<Vec<usize>> = Vec::new();
        for i in 0..items.len() {
            // The unordered given name and surname block alone, like an
            // identifier (the two names agree, in one order or the other).
            if matches!(items[i].what, BlockWhat::Exact | BlockWhat::SwappedNames)
                && !one_context(&[i])
            {
                rules.push(vec![i]);
            }
            for j in i + 1..items.len() {
                if items[i].column == items[j].column
                    || one_context(&[i, j])
                    || lesser_context(i)
                    || lesser_context(j)
                    || items[i].what == BlockWhat::SwappedNames
                    || items[j].what == BlockWhat::SwappedNames
                {
                    continue;
                }
                if weak_patronymic(i, j) || weak_patronymic(j, i) {
                    continue;
                }
                rules.push(vec![i, j]);
            }
        }
        if let Some(drop) = std::env::var_os("VIGIL_LINK_DROP_RULES") {
            let drop: Vec<usize> = drop
                .to_string_lossy()
                .split(',')
                .filter_map(|x| x.trim().parse().ok())
                .collect();
            let mut k = 0;
            rules.retain(|_| {
                k += 1;
                !drop.contains(&(k - 1))
            });
        }
        // A rule without context (the birth date and the surname) finds the
        // pairs of one person that a rule pairing one of its items with a
        // context column (the birth date and the action's date) finds, where
        // one person's records share that column's value (the repeat reports
        // of one detention) and that rule compares all its blocks in full.
        // Then its own finds are nearly all strangers (linkdet4: at a million
        // detentions the full birth date's four rules with a name found 2.5 M
        // pairs and no true pair that no other rule found). "Share" is
        // measured on clean pairs (every name and the birth date equal): a
        // pair of one person with a mistyped or missing context value loses
        // these rules, which CONTEXT_HOLDS bounds as far as the clean pairs
        // stand for the rest. Where one person is recorded in several
        // contexts (detained twice), the rules stay.
        let keyed = |i: usize| matches!(items[i].what, BlockWhat::FullDate | BlockWhat::Exact);
        // Per item: a context item with one key a value (a full date, an
        // identifier) that one person's records share.
        let candidate = |i: usize| {
            !all_rules
                && in_context(i)
                && keyed(i)
                && rules.iter().any(|r| r.len() == 2 && r.contains(&i))
        };
        let clean = if (0..items.len()).any(candidate) {
            self.clean_pairs(&context, skip)
        } else {
            Vec::new()
        };
        let holds: Vec<bool> = (0..items.len())
            .map(|i| candidate(i) && self.context_holds(items[i], &clean))
            .collect();
        let subsumers: Vec<Vec<usize>> = rules
            .iter()
            .map(|r| {
                // An identifier alone (one item) stays: it is what finds one
                // person across contexts, at little cost.
                if r.len() != 2 || r.iter().any(|&i| in_context(i)) {
                    return Vec::new();
                }
                (0..rules.len())
                    .filter(|&k| {
                        let s = &rules[k];
                        s.len() == 2
                            && s.iter().any(|&i| holds[i])
                            && s.iter().any(|&i| !in_context(i) && r.contains(&i))
                    })
                    .collect()
            })
            .collect();
        // The other rules without context block within that column's value:
        // their pairs that do not share it are strangers, and in the smaller
        // blocks every pair of one person is compared, where the larger ones
        // were compared in a window (linkdet4: at a million detentions the
        // birth year with a name or the city, and the names with each other,
        // found 11 M pairs, nearly all strangers from different actions).
        if let Some(c) = (0..items.len())
            .filter(|&i| holds[i])
            .min_by(|&i, &j| chance[items[i].column].total_cmp(&chance[items[j].column]))
        {
            for rule in rules.iter_mut() {
                if rule.len() == 2 && !rule.iter().any(|&i| in_context(i)) {
                    rule.push(c);
                }
            }
        }
        (items, rules, subsumers)
    }

    /// Pairs of records that agree on every present name and non-context
    /// date column (a date known to the day; at least one date and two names,
    /// else none; at most six records a value, so that a common name with a
    /// common birthday does not count; in linking, only pairs across
    /// sources, the only pairs compared): nearly all one person's.
    fn clean_pairs(&self, context: &[Option<usize>], skip: &[bool]) -> Vec<(u32, u32)> {
        let ncol = self.columns.len();
        let person: Vec<usize> = (0..ncol)
            .filter(|&d| {
                !skip.get(d).copied().unwrap_or(false)
                    && context[d].is_none()
                    && matches!(
                        self.columns[d].kind,
                        ColumnKind::Given
                            | ColumnKind::Surname
                            | ColumnKind::Patronymic
                            | ColumnKind::Date
                    )
            })
            .collect();
        let dates: Vec<usize> = person
            .iter()
            .copied()
            .filter(|&d| self.columns[d].kind == ColumnKind::Date)
            .collect();
        if dates.is_empty() || person.len() - dates.len() < 2 {
            return Vec::new();
        }
        let mut keyed = self.keyed_by_values(&person, |r| {
            dates.iter().all(|&d| match self.values[r * ncol + d] {
                Value::Date(x) => x.precision() == Precision::Day,
                _ => true,
            })
        });
        bucket_sort(&mut keyed, |e| e.0);
        let linking = self.sources.iter().any(|&s| s != self.sources[0]);
        let mut pairs = Vec::new();
        for run in keyed.chunk_by(|x, y| x.0 == y.0) {
            if !(2..=6).contains(&run.len()) {
                continue;
            }
            for (k, &(_, a)) in run.iter().enumerate() {
                for &(_, b) in &run[k + 1..] {
                    if !(linking && self.sources[a as usize] == self.sources[b as usize]) {
                        pairs.push((a, b));
                    }
                }
            }
        }
        pairs
    }

    /// Whether one person's records nearly always share the key of context
    /// item `item` (the action's date known to the day): at least
    /// [`CONTEXT_HOLDS`] of the [`Dataset::clean_pairs`] `clean` (and at
    /// least [`CONTEXT_HOLDS_SEEN`] of them) have a key of `item` and share
    /// it. A missing or partial date has no key and counts against. Pairs
    /// with a mistyped value in a name or the birth date are not among the
    /// clean ones, so up to the share's complement of one person's pairs may
    /// lose the rules that defer to the item.
    fn context_holds(&self, item: Blockable, clean: &[(u32, u32)]) -> bool {
        let (mut ka, mut kb) = (Vec::new(), Vec::new());
        let agree = clean
            .iter()
            .filter(|&&(a, b)| {
                self.block_keys(item, a as usize, &mut ka);
                self.block_keys(item, b as usize, &mut kb);
                ka.iter().any(|k| kb.contains(k))
            })
            .count();
        let pairs = clean.len();
        let holds = pairs >= CONTEXT_HOLDS_SEEN && agree as f64 >= CONTEXT_HOLDS * pairs as f64;
        if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
            eprintln!(
                "one person's records share {} ({:?}): {agree} of {pairs} pairs agreeing on every name and the birth date{}",
                self.columns[item.column].name,
                item.what,
                if holds {
                    " (rules without context that pair with it in full are left out)"
                } else {
                    ""
                }
            );
        }
        holds
    }

    /// Each record that has a value in every column of `cols` and that `keep`
    /// accepts, with a hash of those values (records with the same values
    /// share it).
    fn keyed_by_values(&self, cols: &[usize], keep: impl Fn(usize) -> bool) -> Vec<(u64, u32)> {
        (0..self.len())
            .filter(|&r| keep(r))
            .filter_map(|r| {
                use std::hash::{Hash, Hasher};
                let mut h = FastHasher::default();
                for &c in cols {
                    self.value_hash(c, r)?.hash(&mut h);
                }
                Some((h.finish(), r as u32))
            })
            .collect()
    }

    /// Candidate pairs, leaving out the columns `skip` marks (copies of another):
    /// sorted and distinct, each as `a << 32 | b` with `a < b`.
    fn candidate_pairs_skipping(
        &self,
        skip: &[bool],
        group_of: &[Option<usize>],
        progress: &mut dyn Progress,
    ) -> Vec<u64> {
        self.candidate_pairs_and_left_out(skip, group_of, progress)
            .0
    }

    /// [`Dataset::candidate_pairs_skipping`], and the rules left out because
    /// a rule with a context one person keeps finds their pairs of one person.
    fn candidate_pairs_and_left_out(
        &self,
        skip: &[bool],
        group_of: &[Option<usize>],
        progress: &mut dyn Progress,
    ) -> (Vec<u64>, Vec<usize>) {
        let (items, rules, subsumers) = self.blocking_rules(skip, group_of);
        let n = self.len();
        let linking = self.sources.iter().any(|&s| s != self.sources[0]);
        // The distinct pairs so far, sorted; new ones wait in `batch` until it
        // is worth sorting them and merging them in. Pairs that several rules
        // find are held once (at a million records, most are found twice or more).
        let mut pairs: Vec<u64> = Vec::new();
        let mut batch: Vec<u64> = Vec::new();
        let mut found = 0usize;
        let mut truth = RuleTruth::from_env(rules.len());
        progress.start("blocking", rules.len() as u64);
        let mut ka = Vec::new();
        // Within a block, records are ordered by the values of columns the rule
        // does not use (surname first), so that a block too large to compare in
        // full is compared in a sliding window over likely matches.
        let priority = |b: &Blockable| match (self.columns[b.column].kind, b.what) {
            (ColumnKind::Surname, _) => 0,
            (ColumnKind::Given, _) => 1,
            (_, BlockWhat::Year) => 2,
            (_, BlockWhat::FullDate) => 3,
            (_, BlockWhat::Exact) => 4,
            (ColumnKind::Patronymic, _) => 5,
            _ => 6,
        };
        let mut by_priority: Vec<usize> = (0..items.len()).collect();
        by_priority.sort_by_key(|&i| priority(&items[i]));
        // Every record's keys for every item, computed once: flat, with offsets.
        let mut key_table: Vec<(Vec<u32>, Vec<u64>)> = Vec::with_capacity(items.len());
        for &item in &items {
            let mut offsets = Vec::with_capacity(n + 1);
            let mut keys = Vec::with_capacity(n);
            offsets.push(0u32);
            for r in 0..n {
                self.block_keys(item, r, &mut ka);
                keys.extend_from_slice(&ka);
                offsets.push(keys.len() as u32);
            }
            key_table.push((offsets, keys));
        }
        let keys_of = |i: usize, r: usize| -> &[u64] {
            let (offsets, keys) = &key_table[i];
            &keys[offsets[r] as usize..offsets[r + 1] as usize]
        };
        // The order inside blocks: a hash of each record's first key per item.
        let ni = items.len();
        let mut first_hash: Vec<u32> = Vec::with_capacity(n * ni);
        for r in 0..n {
            for (i, item) in items.iter().enumerate() {
                // A given name's canonical name (tag 1) if it has one, so that
                // Саша and Александра sit next to each other.
                let ks = keys_of(i, r);
                let key = match item.what {
                    BlockWhat::Name => ks.iter().find(|&&k| k & 3 == 1).or(ks.first()),
                    _ => ks.first(),
                };
                first_hash.push(key.map_or(u32::MAX, |&k| (mix(i, k, 0) >> 33) as u32));
            }
        }
        // Buffers kept from rule to rule (see `bucket_sort_in`).
        let mut entries: Vec<(u64, u64)> = Vec::with_capacity(n);
        let mut entries_scratch: Vec<(u64, u64)> = Vec::new();
        let mut batch_scratch: Vec<u64> = Vec::new();
        // The rules that may be left to others come last, so that those
        // others have shown whether they compare every block in full.
        let mut rule_order: Vec<usize> = (0..rules.len()).collect();
        rule_order.sort_by_key(|&ri| !subsumers[ri].is_empty());
        let mut complete = vec![false; rules.len()];
        let mut left_out = Vec::new();
        for ri in rule_order {
            let rule = &rules[ri];
            if let Some(&by) = subsumers[ri].iter().find(|&&k| complete[k]) {
                left_out.push(ri);
                if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
                    eprintln!(
                        "blocking rule {ri} left out: rule {by} finds its pairs of one person"
                    );
                }
                progress.advance(1);
                continue;
            }
            let order: Vec<usize> = by_priority
                .iter()
                .copied()
                .filter(|&i| rule.iter().all(|&k| items[k].column != items[i].column))
                .take(2)
                .collect();
            // (block, order within the block and record): the order takes 20 bits
            // of the first item's hash and 12 of the second's.
            entries.clear();
            for r in 0..n {
                let ka = keys_of(rule[0], r);
                if ka.is_empty() {
                    continue;
                }
                let mut sig = 0u64;
                for (k, &o) in order.iter().enumerate() {
                    let h = u64::from(first_hash[r * ni + o]);
                    sig |= if k == 0 { h >> 12 << 12 } else { h >> 20 };
                }
                let tail = (sig << 32) | r as u64;
                if let Some(&third) = rule.get(2) {
                    for &x in ka {
                        for &y in keys_of(rule[1], r) {
                            for &z in keys_of(third, r) {
                                entries.push((mix(ri, x, mix(ri, y, z)), tail));
                            }
                        }
                    }
                } else if let Some(&second) = rule.get(1) {
                    for &x in ka {
                        for &y in keys_of(second, r) {
                            entries.push((mix(ri, x, y), tail));
                        }
                    }
                } else {
                    for &x in ka {
                        entries.push((mix(ri, x, u64::MAX), tail));
                    }
                }
            }
            bucket_sort_in(&mut entries, &mut entries_scratch, |e| e.0);
            entries.dedup();
            let mut sizes: Vec<usize> = Vec::new();
            let mut start = 0;
            while start < entries.len() {
                let mut end = start + 1;
                while end < entries.len() && entries[end].0 == entries[start].0 {
                    end += 1;
                }
                sizes.push(end - start);
                start = end;
            }
            // A rule that would compare many more pairs than there are records is
            // not selective there (given name and city in a large file): its
            // larger blocks are compared in a window of the nearest records only.
            let budget = n.max(200_000);
            // Blocks up to `full` records are compared in full within half the
            // budget; larger ones in a window of `window` neighbours within the rest.
            let full_pairs = |cap: usize| -> usize {
                sizes
                    .iter()
                    .filter(|&&s| s <= cap)
                    .map(|&s| s * (s - 1) / 2)
                    .sum()
            };
            let mut full = self.spec.max_block.max(2);
            while full > 2 && full_pairs(full) > budget / 2 {
                full = full * 2 / 3;
            }
            complete[ri] = sizes.iter().all(|&s| s <= full);
            let rest = budget.saturating_sub(full_pairs(full));
            let window_pairs = |w: usize| -> usize {
                sizes
                    .iter()
                    .filter(|&&s| s > full)
                    .map(|&s| {
                        if s <= w + 1 {
                            s * (s - 1) / 2
                        } else {
                            s * w - w * (w + 1) / 2
                        }
                    })
                    .sum()
            };
            let mut window = full.saturating_sub(1).max(1);
            while window > 1 && window_pairs(window) > rest {
                window = window * 2 / 3;
            }
            if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
                let names: Vec<&str> = rule
                    .iter()
                    .map(|&i| self.columns[items[i].column].name.as_str())
                    .collect();
                let mass: f64 =
                    sizes.iter().map(|&s| (s * (s - 1) / 2) as f64).sum::<f64>() / n.max(1) as f64;
                let whats: Vec<String> = rule
                    .iter()
                    .map(|&i| format!("{:?}", items[i].what))
                    .collect();
                eprintln!(
                    "blocking rule {ri} {names:?} {whats:?}: blocks up to {full} in full, then window {window}; all pairs in blocks per record {mass:.1}, records blocked {}",
                    entries.len()
                );
            }
            // The unordered names' rule adds only the pairs whose names are
            // swapped: the others, the given name + surname rule finds (and
            // more of them would change what the model is trained on).
            let swapped_only = (items[rule[0]].what == BlockWhat::SwappedNames)
                .then(|| (items[rule[0]].column, ColumnKind::Given.swapped_level()));
            let before = batch.len();
            let mut start = 0;
            while start < entries.len() {
                let mut end = start + 1;
                while end < entries.len() && entries[end].0 == entries[start].0 {
                    end += 1;
                }
                let window = if end - start <= full { full } else { window };
                for i in start..end {
                    for j in i + 1..end.min(i + 1 + window) {
                        let (a, b) = (entries[i].1 as u32, entries[j].1 as u32);
                        if a == b
                            || (linking && self.sources[a as usize] == self.sources[b as usize])
                        {
                            continue;
                        }
                        if let Some((g, swapped)) = swapped_only
                            && Some(self.level(g, a as usize, b as usize)) != swapped
                        {
                            continue;
                        }
                        batch.push((u64::from(a.min(b)) << 32) | u64::from(a.max(b)));
                    }
                }
                start = end;
            }
            if let Some(t) = truth.as_mut() {
                t.add(ri, &batch[before..]);
            }
            if batch.len() >= (pairs.len() / 4).max(1 << 22) {
                found += batch.len();
                merge_sorted_in(&mut pairs, &mut batch, &mut batch_scratch);
            }
            progress.advance(1);
        }
        drop(entries);
        drop(entries_scratch);
        found += batch.len();
        merge_sorted_in(&mut pairs, &mut batch, &mut batch_scratch);
        drop(batch_scratch);
        drop(batch);
        pairs.shrink_to_fit();
        progress.finish();
        if let Some(t) = truth {
            let names: Vec<String> = rules
                .iter()
                .map(|rule| {
                    let names: Vec<&str> = rule
                        .iter()
                        .map(|&i| self.columns[items[i].column].name.as_str())
                        .collect();
                    names.join("+")
                })
                .collect();
            t.report(&names);
        }
        if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
            eprintln!(
                "blocking: {found} pairs found, {} distinct, {}",
                pairs.len(),
                memory_now()
            );
        }
        (pairs, left_out)
    }

    /// The context columns, for blocking: the members of groups, and the
    /// columns (other than names) that strangers who share a group's values
    /// agree on at least [`FIXED_BY_CONTEXT`] of the time, so that the
    /// context all but fixes them (an action's article and court).
    fn context_columns(&self, group_of: &[Option<usize>]) -> Vec<Option<usize>> {
        let ncol = self.columns.len();
        let mut context: Vec<Option<usize>> = (0..ncol)
            .map(|c| group_of.get(c).copied().flatten())
            .collect();
        let groups = group_of.iter().flatten().max().map_or(0, |&g| g + 1);
        for g in 0..groups {
            let members: Vec<usize> = (0..ncol)
                .filter(|&c| group_of.get(c).copied().flatten() == Some(g))
                .collect();
            let keyed = self.keyed_by_values(&members, |_| true);
            let Some(t) = self.sample_sharing(keyed, 0xB10C + g as u64) else {
                continue;
            };
            for (c, of) in context.iter_mut().enumerate() {
                let kind = self.columns[c].kind;
                if of.is_none()
                    && groups::groupable(kind)
                    && t.present[c] >= 100
                    && t.agree[c] as f64 >= FIXED_BY_CONTEXT * t.present[c] as f64
                {
                    *of = Some(g);
                }
            }
        }
        if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
            let names: Vec<&str> = (0..ncol)
                .filter(|&c| context[c].is_some())
                .map(|c| self.columns[c].name.as_str())
                .collect();
            eprintln!("context columns for blocking: {names:?}");
        }
        context
    }

    /// The context columns that a more selective context column of the same
    /// group all but fixes: strangers who share that column's value agree on
    /// them at least [`FIXED_BY_CONTEXT`] of the time (`chance` is each
    /// column's chance agreement, infinite where it does not block).
    fn fixed_by(&self, context: &[Option<usize>], chance: &[f64]) -> Vec<bool> {
        let ncol = self.columns.len();
        let mut fixed = vec![false; ncol];
        for d in (0..ncol).filter(|&d| context[d].is_some() && chance[d].is_finite()) {
            let keyed: Vec<(u64, u32)> = (0..self.len())
                .filter_map(|r| self.value_hash(d, r).map(|h| (h, r as u32)))
                .collect();
            let Some(t) = self.sample_sharing(keyed, 0xF1C5 + d as u64) else {
                continue;
            };
            for c in 0..ncol {
                if c != d
                    && context[c] == context[d]
                    && chance[c].is_finite()
                    && chance[d] < chance[c]
                    && t.present[c] >= 100
                    && t.agree[c] as f64 >= FIXED_BY_CONTEXT * t.present[c] as f64
                {
                    fixed[c] = true;
                }
            }
        }
        if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
            let names: Vec<&str> = (0..ncol)
                .filter(|&c| fixed[c])
                .map(|c| self.columns[c].name.as_str())
                .collect();
            eprintln!("context columns a more selective one fixes: {names:?}");
        }
        fixed
    }

    /// The share of column `c`'s present dates that are known to the day
    /// (0 where none is present).
    fn day_share(&self, c: usize) -> f64 {
        let ncol = self.columns.len();
        let (mut day, mut present) = (0usize, 0usize);
        for r in 0..self.len() {
            if let Value::Date(d) = self.values[r * ncol + c] {
                present += 1;
                if d.precision() == Precision::Day {
                    day += 1;
                }
            }
        }
        if present == 0 {
            return 0.0;
        }
        day as f64 / present as f64
    }

    /// The chance that two random records agree on column `c` (both values
    /// there): the sum of the squared shares of its values.
    fn chance_agreement(&self, c: usize) -> f64 {
        let mut counts: FastMap<u64, u32> = FastMap::default();
        for r in 0..self.len() {
            if let Some(h) = self.value_hash(c, r) {
                *counts.entry(h).or_default() += 1;
            }
        }
        let total: f64 = counts.values().map(|&k| f64::from(k)).sum();
        if total == 0.0 {
            return 1.0;
        }
        counts
            .values()
            .map(|&k| (f64::from(k) / total).powi(2))
            .sum()
    }

    /// How many pairs of records there are to link: all pairs when
    /// deduplicating, pairs across inputs when linking.
    fn total_pairs(&self) -> f64 {
        let n = self.len() as f64;
        let linking = self.sources.iter().any(|&s| s != self.sources[0]);
        if !linking {
            return n * (n - 1.0) / 2.0;
        }
        let mut per_source: HashMap<u8, f64> = HashMap::new();
        for &s in &self.sources {
            *per_source.entry(s).or_default() += 1.0;
        }
        (n * n - per_source.values().map(|k| k * k).sum::<f64>()) / 2.0
    }

    /// Compares pairs: one row of unit levels per pair (`units.len()` each).
    fn compare_pairs(
        &self,
        pairs: &[(u32, u32)],
        units: &Units,
        progress: &mut dyn Progress,
    ) -> Vec<u8> {
        let ncol = self.columns.len();
        let nu = units.len();
        let mut levels = vec![0u8; pairs.len() * nu];
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        let chunk = pairs.len().div_ceil(threads).max(1);
        progress.start("comparing", pairs.len() as u64);
        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for (ps, out) in pairs.chunks(chunk).zip(levels.chunks_mut(chunk * nu)) {
                handles.push(scope.spawn(move || {
                    let mut cols = vec![0u8; ncol];
                    let mut row = Vec::with_capacity(nu);
                    for (k, &(a, b)) in ps.iter().enumerate() {
                        for (c, l) in cols.iter_mut().enumerate() {
                            *l = self.level(c, a as usize, b as usize);
                        }
                        units.unit_row(&cols, &mut row);
                        out[k * nu..(k + 1) * nu].copy_from_slice(&row);
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

    /// Compares the candidate pairs (packed as `a << 32 | b`) without holding a
    /// row of levels per pair: each pair gets the number of its comparison
    /// pattern (its row of unit levels), and each distinct pattern is held once
    /// with how many pairs show it. At a million records 33 million pairs show
    /// some tens of thousands of patterns.
    fn compare_patterns(
        &self,
        pairs: &[u64],
        rows: &[Value],
        units: &Units,
        progress: &mut dyn Progress,
    ) -> Patterns {
        let ncol = self.columns.len();
        let nu = units.len();
        let threads = threads();
        let chunk = pairs.len().div_ceil(threads).max(1);
        progress.start("comparing", pairs.len() as u64);
        // Each thread counts the patterns it sees; the counts are joined after.
        let locals: Vec<Patterns> = std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for ps in pairs.chunks(chunk) {
                handles.push(scope.spawn(move || {
                    let mut cols = vec![0u8; ncol];
                    let mut row = Vec::with_capacity(nu);
                    let mut local = Patterns::new(nu);
                    for &p in ps {
                        let (a, b) = split_pair(p);
                        let (a, b) = (a as usize, b as usize);
                        let (ra, rb) = (
                            &rows[a * ncol..(a + 1) * ncol],
                            &rows[b * ncol..(b + 1) * ncol],
                        );
                        for (c, l) in cols.iter_mut().enumerate() {
                            *l = self.row_level(ra, rb, c);
                        }
                        units.unit_row(&cols, &mut row);
                        local.add(&row, 1.0);
                    }
                    local
                }));
            }
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let mut all = Patterns::new(nu);
        for local in &locals {
            for k in 0..local.counts.len() {
                all.add(local.row(k), local.counts[k]);
            }
        }
        progress.advance(pairs.len() as u64);
        progress.finish();
        all
    }

    /// The layout comparing reads records in. Comparing is bound by reading
    /// the second record's row from memory. Records that share a context (the
    /// group's values) and a surname are laid out next to each other in a copy
    /// of the rows, and pairs are renumbered and visited in that order: most
    /// candidate pairs then read rows that are already in the cache.
    fn layout(&self, units: &Units) -> Layout {
        let n = self.len();
        let ncol = self.columns.len();
        let surname = (0..ncol).find(|&c| self.columns[c].kind == ColumnKind::Surname);
        let context = units.members.first();
        let mut keyed: Vec<(u64, u32)> = (0..n)
            .map(|r| {
                use std::hash::{Hash, Hasher};
                let mut h = FastHasher::default();
                for &m in context.map(Vec::as_slice).unwrap_or(&[]) {
                    self.value_hash(m, r).hash(&mut h);
                }
                let first = h.finish() >> 40 << 40;
                let second = surname.and_then(|c| self.value_hash(c, r)).unwrap_or(0) >> 24;
                (first | second, r as u32)
            })
            .collect();
        bucket_sort(&mut keyed, |e| e.0);
        let order: Vec<u32> = keyed.iter().map(|&(_, r)| r).collect();
        drop(keyed);
        let mut rank = vec![0u32; n];
        for (k, &r) in order.iter().enumerate() {
            rank[r as usize] = k as u32;
        }
        let mut local: Vec<Value> = Vec::with_capacity(self.values.len());
        for &r in &order {
            let r = r as usize;
            local.extend_from_slice(&self.values[r * ncol..(r + 1) * ncol]);
        }
        Layout { order, rank, local }
    }

    /// Scores the candidate pairs, in parallel, and keeps those with a match
    /// probability of at least KEEP_PROBABILITY (with their unit levels). A
    /// pair is compared column by column in the plan's order and left as soon
    /// as even the best levels of the columns still to compare could not lift
    /// it to that probability: most candidate pairs are strangers who share a
    /// context, and a different given name or birth date settles them.
    fn score_pairs(
        &self,
        mut pairs: Vec<u64>,
        layout: Layout,
        model: &Model,
        tf: &TermFrequencies,
        plan: &ScorePlan,
        progress: &mut dyn Progress,
    ) -> (Vec<ScoredPair>, Vec<u8>) {
        let units = &model.units;
        let nu = units.len();
        let ncol = self.columns.len();
        let Layout { order, rank, local } = layout;
        // Renumbered and in order of the layout.
        for p in pairs.iter_mut() {
            *p = renumber(&rank, *p);
        }
        drop(rank);
        bucket_sort(&mut pairs, |&p| p);
        let quick = quick::Quick::new(self, plan, units, &order);
        let (local, order, pairs, quick) = (&local, &order, &pairs, &quick);
        let chunk = pairs.len().div_ceil(threads()).max(1);
        progress.start("comparing", pairs.len() as u64);
        let parts: Vec<(Vec<ScoredPair>, Vec<u8>, usize, usize)> = std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for ps in pairs.chunks(chunk) {
                handles.push(scope.spawn(move || {
                    let mut cols = vec![MISSING; ncol];
                    let mut row = vec![MISSING; nu];
                    let mut scored = Vec::new();
                    let mut levels = Vec::new();
                    let mut steps = 0usize;
                    let mut ruled_out = 0usize;
                    let mut bounds = RecordBounds::new(plan);
                    let mut first = u32::MAX;
                    // Pairs in batches: the second records' packed lines are
                    // read first, all at once, then the pairs are compared.
                    let mut batches = ps.chunks(16);
                    let mut batch: &[u64] = &[];
                    let mut next = 0;
                    'pairs: loop {
                        if next == batch.len() {
                            let Some(b) = batches.next() else { break };
                            let touched =
                                b.iter().fold(0, |t, &p| t ^ quick.touch(p as u32 as usize));
                            std::hint::black_box(touched);
                            (batch, next) = (b, 0);
                        }
                        let p = batch[next];
                        next += 1;
                        let (x, y) = split_pair(p);
                        if x != first {
                            first = x;
                            bounds.set(plan, tf, order[x as usize] as usize);
                        }
                        if quick.rules_out(plan, &bounds, x as usize, y as usize) {
                            ruled_out += 1;
                            continue;
                        }
                        let (ra, rb) = (
                            &local[x as usize * ncol..(x as usize + 1) * ncol],
                            &local[y as usize * ncol..(y as usize + 1) * ncol],
                        );
                        let mut bound = bounds.start;
                        for &c in &plan.order {
                            let l = if c < ncol {
                                self.row_level(ra, rb, c)
                            } else {
                                for &m in &units.members[c - ncol] {
                                    cols[m] = self.row_level(ra, rb, m);
                                }
                                units.group_level(c - ncol, &cols)
                            };
                            row[c] = l;
                            steps += 1;
                            bound += bounds.upper(plan, c, l) - bounds.best[c];
                            if bound < plan.keep_weight {
                                row.fill(MISSING);
                                continue 'pairs;
                            }
                        }
                        let (a, b) = (order[x as usize], order[y as usize]);
                        let (a, b) = (a.min(b), a.max(b));
                        let (ai, bi) = (a as usize, b as usize);
                        let mut w = plan.prior;
                        for (c, &l) in row.iter().enumerate() {
                            if l == MISSING {
                                continue;
                            }
                            w += if plan.tf_level[c] == Some(l) || plan.given[c] {
                                self.bits(model, tf, &row, c, ai, bi)
                            } else {
                                plan.table[c][l as usize]
                            };
                        }
                        let probability = probability(w);
                        if probability >= KEEP_PROBABILITY {
                            scored.push(ScoredPair {
                                a,
                                b,
                                weight: w,
                                probability,
                            });
                            levels.extend_from_slice(&row);
                        }
                        row.fill(MISSING);
                    }
                    (scored, levels, steps, ruled_out)
                }));
            }
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        // Back in the order of the records' numbers, as before the layout.
        let mut kept: Vec<(ScoredPair, &[u8])> = Vec::new();
        let (mut steps, mut ruled_out) = (0, 0);
        for (s, l, k, q) in &parts {
            kept.extend(s.iter().copied().zip(l.chunks(nu.max(1))));
            steps += k;
            ruled_out += q;
        }
        kept.sort_by_key(|(p, _)| (p.a, p.b));
        let mut scored = Vec::with_capacity(kept.len());
        let mut levels = Vec::with_capacity(kept.len() * nu);
        for (p, l) in kept {
            scored.push(p);
            levels.extend_from_slice(l);
        }
        if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
            let names: Vec<&str> = plan
                .order
                .iter()
                .map(|&c| units.list[c].name.as_str())
                .collect();
            eprintln!(
                "scoring order {names:?}: {ruled_out} pairs ruled out by the first {} units' packed values; {:.2} units compared per pair left",
                quick.units(),
                steps as f64 / (pairs.len() - ruled_out).max(1) as f64
            );
        }
        progress.advance(pairs.len() as u64);
        progress.finish();
        (scored, levels)
    }

    /// Random pairs, which are almost all non-matches.
    fn random_pairs(&self, samples: usize) -> Vec<(u32, u32)> {
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
        pairs
    }

    /// Which columns to score as one: the spec's groups, then (unless turned
    /// off) columns whose agreement depends on each other among random pairs,
    /// and columns that copy another.
    fn units(&self, random_rows: &[u8]) -> Units {
        let ncol = self.columns.len();
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        let mut named: Vec<(String, usize)> = Vec::new();
        for g in &self.spec.groups {
            let cols: Vec<usize> = (0..ncol)
                .filter(|&c| {
                    let f = self.columns[c].field;
                    f != usize::MAX && g.fields.contains(&self.spec.fields[f].column)
                })
                .collect();
            for w in cols.windows(2) {
                pairs.push((w[0], w[1]));
            }
            if let Some(&first) = cols.first() {
                named.push((g.name.clone(), first));
            }
        }
        // A column that merely copies another counts nothing (the first one
        // counts); it is left out of groups too.
        let mut copy_of = vec![None; ncol];
        let mut found = None;
        if self.spec.auto_groups {
            for (i, j) in self.copied_columns() {
                if copy_of[i].is_none() && copy_of[j].is_none() {
                    copy_of[j] = Some(i);
                }
            }
            let (dependent, random, tallies) = self.dependent_columns(
                random_rows,
                &copy_of.iter().map(Option::is_some).collect::<Vec<_>>(),
            );
            pairs.extend(
                dependent
                    .into_iter()
                    .filter(|&(i, j)| copy_of[i].is_none() && copy_of[j].is_none()),
            );
            found = Some((random, tallies));
        }
        let mut joined = groups::join(&self.columns, &pairs);
        // A group that holds a group of the spec takes its name (the first one).
        for (name, members) in joined.iter_mut() {
            if let Some((n, _)) = named.iter().find(|(_, c)| members.contains(c)) {
                *name = n.clone();
            }
        }
        let mut units = Units::grouped(&self.columns, joined);
        units.copy_of = copy_of;
        if let Some((random, tallies)) = found {
            self.identity_given_context(&mut units, &random, &tallies);
        }
        units
    }

    /// Scores identity fields (surname, patronymic) given the context that
    /// explains them: for each context unit (a group, or a context column on its
    /// own), strangers who share it are drawn; an identity column that agrees
    /// among them far more often than at random (a household's surname, the
    /// family detained together) gets its u given that context (the context
    /// with the highest agreement, where several do).
    fn identity_given_context(
        &self,
        units: &mut Units,
        random: &groups::Tally,
        tallies: &[Option<groups::Tally>],
    ) {
        let ncol = self.columns.len();
        let mut contexts: Vec<(usize, groups::Tally)> = Vec::new();
        for (g, members) in units.members.iter().enumerate() {
            let keyed = self.keyed_by_values(members, |_| true);
            if let Some(t) = self.sample_sharing(keyed, 0xC0_7E47 + g as u64)
                && groups::is_context(&t)
            {
                contexts.push((ncol + g, t));
            }
        }
        for (i, t) in tallies.iter().enumerate() {
            if let Some(t) = t
                && units.member_of[i].is_none()
                && units.copy_of[i].is_none()
                && !groups::identity(self.columns[i].kind)
                && groups::is_context(t)
            {
                contexts.push((i, t.clone()));
            }
        }
        for j in 0..ncol {
            if !groups::identity(self.columns[j].kind)
                || units.member_of[j].is_some()
                || units.copy_of[j].is_some()
            {
                continue;
            }
            let best = contexts
                .iter()
                .filter_map(|(unit, t)| {
                    groups::identity_given(&self.columns, j, random, t).map(|(r, u)| (r, *unit, u))
                })
                .max_by(|x, y| x.0.total_cmp(&y.0));
            if let Some((_, unit, u)) = best {
                if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
                    eprintln!(
                        "{} scored given {}: u {:?}",
                        self.columns[j].name,
                        units.list[unit].name,
                        u.iter()
                            .map(|v| (v * 1000.0).round() / 1000.0)
                            .collect::<Vec<_>>()
                    );
                }
                units.given[j] = Some((unit, u));
            }
        }
    }

    /// Stranger statistics among pairs of records that share a key: `keyed` is
    /// (key, record); 20,000 pairs are drawn from keys that two or more share.
    fn sample_sharing(&self, mut keyed: Vec<(u64, u32)>, seed: u64) -> Option<groups::Tally> {
        let ncol = self.columns.len();
        bucket_sort(&mut keyed, |e| e.0);
        // Each record in a key that two or more share, with its key's range.
        let mut starts: Vec<(usize, usize, usize)> = Vec::new();
        let mut k = 0;
        while k < keyed.len() {
            let mut e = k + 1;
            while e < keyed.len() && keyed[e].0 == keyed[k].0 {
                e += 1;
            }
            if e - k >= 2 {
                starts.extend((k..e).map(|x| (x, k, e)));
            }
            k = e;
        }
        if starts.is_empty() {
            return None;
        }
        let mut rng = SplitMix(seed);
        let mut levels = vec![0u8; ncol];
        let mut given = groups::Tally::new(ncol);
        for _ in 0..20_000 {
            let (x, lo, hi) = starts[rng.below(starts.len())];
            let y = lo + rng.below(hi - lo);
            if y == x {
                continue;
            }
            let (a, b) = (keyed[x].1 as usize, keyed[y].1 as usize);
            for (c, l) in levels.iter_mut().enumerate() {
                *l = self.level(c, a, b);
            }
            given.add(&self.columns, &levels);
        }
        Some(given)
    }

    /// Pairs of columns whose agreement depends on each other among strangers:
    /// for each groupable column, pairs of records that share its value are
    /// drawn and compared with random pairs (see `groups.rs`).
    #[allow(clippy::type_complexity)]
    fn dependent_columns(
        &self,
        random_rows: &[u8],
        skip: &[bool],
    ) -> (
        Vec<(usize, usize)>,
        groups::Tally,
        Vec<Option<groups::Tally>>,
    ) {
        let ncol = self.columns.len();
        let n = self.len();
        let mut random = groups::Tally::new(ncol);
        for row in random_rows.chunks(ncol.max(1)) {
            random.add(&self.columns, row);
        }
        let mut out = Vec::new();
        let mut tallies: Vec<Option<groups::Tally>> = vec![None; ncol];
        for i in (0..ncol).filter(|&i| {
            let kind = self.columns[i].kind;
            groups::groupable(kind) && !skip[i]
        }) {
            // Each column draws its own pairs: what one column finds does not
            // depend on which other columns the spec has.
            let seed = mix(0xDE9E, self.columns[i].name.len() as u64, {
                use std::hash::{Hash, Hasher};
                let mut h = FastHasher::default();
                self.columns[i].name.hash(&mut h);
                h.finish()
            });
            // Records by the hash of their value of column i.
            let keyed: Vec<(u64, u32)> = (0..n)
                .filter_map(|r| self.value_hash(i, r).map(|h| (h, r as u32)))
                .collect();
            tallies[i] = self.sample_sharing(keyed, seed);
        }
        // Identifiers (values shared mostly by one person's records) join no group.
        let context: Vec<bool> = tallies
            .iter()
            .map(|t| t.as_ref().is_some_and(groups::is_context))
            .collect();
        for (i, t) in tallies.iter().enumerate() {
            let Some(given) = t else { continue };
            for j in groups::dependent_on(&self.columns, i, &random, given) {
                if context[j] {
                    out.push((i.min(j), i.max(j)));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        (out, random, tallies)
    }

    /// A hash of one record's value of a column (`None` when missing).
    fn value_hash(&self, c: usize, r: usize) -> Option<u64> {
        use std::hash::{Hash, Hasher};
        let v = self.values[r * self.columns.len() + c];
        let mut h = FastHasher::default();
        match v {
            Value::Missing => return None,
            Value::Text(t) => self.texts[t as usize].hash(&mut h),
            Value::Name(id) => {
                let nv = &self.names[id as usize];
                if nv.only_initial {
                    return None;
                }
                nv.keys[0].hash(&mut h)
            }
            other => other.hash(&mut h),
        }
        Some(h.finish())
    }

    /// Pairs of columns of one kind whose values are the same in almost every
    /// record that has both: one merely copies the other.
    fn copied_columns(&self) -> Vec<(usize, usize)> {
        let ncol = self.columns.len();
        let n = self.len();
        let mut out = Vec::new();
        for i in 0..ncol {
            for j in i + 1..ncol {
                if self.columns[i].kind != self.columns[j].kind
                    || self.columns[i].kind == ColumnKind::Sex
                {
                    continue;
                }
                let (mut both, mut same) = (0usize, 0usize);
                for r in 0..n {
                    let (x, y) = (self.values[r * ncol + i], self.values[r * ncol + j]);
                    if x == Value::Missing || y == Value::Missing {
                        continue;
                    }
                    both += 1;
                    same += usize::from(self.same_value(x, y));
                }
                if both * 2 >= n && both > 0 && same * 100 >= both * 95 {
                    out.push((i, j));
                }
            }
        }
        out
    }

    /// Two values of one kind that say the same (text values by their words).
    fn same_value(&self, x: Value, y: Value) -> bool {
        match (x, y) {
            (Value::Text(a), Value::Text(b)) => self.texts[a as usize] == self.texts[b as usize],
            _ => x == y,
        }
    }

    fn term_frequencies(&self, units: &Units) -> TermFrequencies {
        let ncol = self.columns.len();
        let nu = units.len();
        let n = self.len();
        // Per unit with a term-frequency level: each record's value key (None
        // when missing or only an initial).
        let keys_of = |c: usize| -> Option<Vec<Option<u64>>> {
            if c < ncol {
                self.columns[c].kind.tf_level()?;
                if units.member_of[c].is_some() {
                    return None;
                }
                Some(
                    self.values
                        .iter()
                        .skip(c)
                        .step_by(ncol)
                        .map(|v| match v {
                            Value::Name(id) if !self.names[*id as usize].only_initial => {
                                Some(u64::from(self.names[*id as usize].keys[0]))
                            }
                            _ => None,
                        })
                        .collect(),
                )
            } else {
                // A group's combined value: all its members' values together.
                let members = &units.members[c - ncol];
                Some(
                    (0..n)
                        .map(|r| {
                            use std::hash::{Hash, Hasher};
                            let mut h = FastHasher::default();
                            let mut present = false;
                            for &m in members {
                                let v = self.values[r * ncol + m];
                                present |= v != Value::Missing;
                                match v {
                                    Value::Text(t) => self.texts[t as usize].hash(&mut h),
                                    other => other.hash(&mut h),
                                }
                            }
                            present.then(|| h.finish())
                        })
                        .collect(),
                )
            }
        };
        let per_column: Vec<Option<Vec<f32>>> = (0..nu)
            .map(|c| {
                let keys = keys_of(c)?;
                let mut counts: FastMap<u64, u32> = FastMap::default();
                let mut total = 0u32;
                for k in keys.iter().flatten() {
                    *counts.entry(*k).or_default() += 1;
                    total += 1;
                }
                if total == 0 {
                    return None;
                }
                let t = f64::from(total);
                let chance_agreement = counts
                    .values()
                    .map(|&k| (f64::from(k) / t).powi(2))
                    .sum::<f64>()
                    .max(1e-12);
                Some(
                    keys.iter()
                        .map(|k| match k {
                            Some(k) => {
                                let f = counts.get(k).copied().unwrap_or(1);
                                (f64::from(f) / t / chance_agreement) as f32
                            }
                            None => 0.0,
                        })
                        .collect(),
                )
            })
            .collect();
        let mut slot = vec![None; nu];
        let mut columns = Vec::new();
        for (c, r) in per_column.into_iter().enumerate() {
            if let Some(r) = r {
                slot[c] = Some(columns.len());
                columns.push(r);
            }
        }
        let stride = columns.len();
        let mut ratio = Vec::with_capacity(stride * self.len());
        for r in 0..self.len() {
            ratio.extend(columns.iter().map(|col| col[r]));
        }
        TermFrequencies {
            slot,
            stride,
            ratio,
        }
    }

    /// Runs the whole linkage: blocking, comparison, estimation, scoring, clustering.
    pub fn link(&self, progress: &mut dyn Progress) -> Linkage {
        let debug = std::env::var_os("VIGIL_LINK_DEBUG").is_some();
        let t0 = std::time::Instant::now();
        let stage = |name: &str| {
            if debug {
                eprintln!(
                    "stage {name}: {:.2} s, {}",
                    t0.elapsed().as_secs_f64(),
                    memory_now()
                );
            }
        };
        // Random pairs first: they give u, and show which columns move together.
        let samples = 400_000.min(self.len().saturating_mul(40)).max(1000);
        let random = self.random_pairs(samples);
        let random_rows = self.compare_pairs(&random, &Units::plain(&self.columns), &mut Quiet);
        let units = self.units(&random_rows);
        let u = estimate_u(&units, &random_rows);
        drop(random_rows);
        stage("u");
        let copies: Vec<bool> = units.copy_of.iter().map(Option::is_some).collect();
        let pairs = self.candidate_pairs_skipping(&copies, &units.member_of, progress);
        stage("blocking");
        // m and the match share are estimated on the candidate pairs, or on a
        // fixed, seeded share of them where there are more than
        // ESTIMATION_PAIRS: their comparison patterns count for all pairs.
        let sample: Vec<u64>;
        let estimated: &[u64] = if pairs.len() <= ESTIMATION_PAIRS {
            &pairs
        } else {
            let n = pairs.len() as u64;
            sample = pairs
                .iter()
                .copied()
                .filter(|&p| mix(0x5A3F, p, 0) % n < ESTIMATION_PAIRS as u64)
                .collect();
            &sample
        };
        // Compared in the layout scoring reads (the patterns' counts do not
        // depend on the order).
        let layout = self.layout(&units);
        let mut estimated_local: Vec<u64> = estimated
            .iter()
            .map(|&p| renumber(&layout.rank, p))
            .collect();
        bucket_sort(&mut estimated_local, |&p| p);
        let mut patterns =
            self.compare_patterns(&estimated_local, &layout.local, &units, &mut Quiet);
        drop(estimated_local);
        let scale = pairs.len() as f64 / estimated.len().max(1) as f64;
        for c in patterns.counts.iter_mut() {
            *c *= scale;
        }
        stage("estimation sample");
        let model = estimate_m(units, &patterns.sorted(), u, self.total_pairs());
        stage("m");
        let tf = self.term_frequencies(&model.units);
        let plan = ScorePlan::new(&model, &tf, &patterns);
        drop(patterns);
        // Only pairs that could matter are kept (for clustering, --pairs and
        // explanations); the rest are counted.
        let compared = pairs.len();
        let (scored, kept_levels) = self.score_pairs(pairs, layout, &model, &tf, &plan, progress);
        stage("scoring");
        let prior = (model.lambda / (1.0 - model.lambda)).log2();
        // Where each record's scored pairs (as the first record) begin.
        let mut first_of = vec![0u32; self.len() + 1];
        for p in &scored {
            first_of[p.a as usize + 1] += 1;
        }
        for r in 0..self.len() {
            first_of[r + 1] += first_of[r];
        }
        let clusters = cluster(
            self.len(),
            &scored,
            self.spec.threshold,
            prior,
            |a, b| {
                // A scored pair's kept levels weigh as comparing it again
                // (see `kept_levels_weigh_as_comparing_the_pair_again`): most
                // pairs weighed here were scored, and comparing is the cost.
                let (x, y) = (a.min(b), a.max(b));
                let nu = model.units.len();
                let (from, to) = (first_of[x as usize], first_of[x as usize + 1]);
                let found = scored[from as usize..to as usize]
                    .iter()
                    .position(|p| p.b == y)
                    .map(|k| from as usize + k);
                match found {
                    Some(k) => self.row_weight(
                        &model,
                        &tf,
                        &kept_levels[k * nu..(k + 1) * nu],
                        x as usize,
                        y as usize,
                    ),
                    None => self.pair_weight(&model, &tf, a as usize, b as usize),
                }
            },
            |a, b| {
                let (a, b) = (a as usize, b as usize);
                let member_of = &model.units.member_of;
                (self.lacks_full_date(a, member_of) || self.lacks_full_date(b, member_of))
                    && self.nothing_disagrees(a, b)
            },
        );
        stage("clustering");
        Linkage {
            model,
            compared,
            pairs: scored,
            clusters,
            levels: kept_levels,
            tf,
        }
    }

    /// The bits of unit `c` in a pair whose unit levels are `row`.
    fn bits(
        &self,
        model: &Model,
        tf: &TermFrequencies,
        row: &[u8],
        c: usize,
        a: usize,
        b: usize,
    ) -> f64 {
        let level = row[c];
        if level == MISSING {
            return 0.0;
        }
        let l = level as usize;
        let kind = model.units.list[c].kind;
        let m = model.m[c][l];
        // A surname shared at one address says little about the person: its
        // chance among those who share the address is what counts (and then
        // not its rarity, which the household's members all share).
        let (mut u, given) = model.units.u_of(&model.u, row, c, level);
        if let (Some(tf_level), Some(Some(slot))) = (kind.tf_level(), tf.slot.get(c))
            && level == tf_level
            && !given
        {
            // Agreeing on a rare name says more than agreeing on a common one: scale
            // u by how much more (or less) often this value agrees by chance than
            // the average value does (splink's term-frequency adjustment, made
            // relative so that it fits the u estimated from random pairs). For a
            // group, the value is all its members' values together: an address
            // that a whole block of flats shares says little.
            let f = tf.ratio[a * tf.stride + slot].max(tf.ratio[b * tf.stride + slot]);
            if f > 0.0 {
                let ratio = f64::from(f).clamp(1.0 / 30.0, 30.0);
                u = (u * ratio).min(1.0);
            }
        }
        let bits = (m / u).log2();
        let ncol = self.columns.len();
        let identical = c < ncol && self.values[a * ncol + c] == self.values[b * ncol + c];
        if identical || l + 1 == kind.levels().len() {
            // Full agreement, or the very same value, is never evidence against a
            // match. EM can estimate it below zero where a level is rare or the
            // column carries little information in this data (a surname given
            // only as an initial, a city most records share); such a column then
            // counts as nothing rather than pushing a record away from its copy.
            bits.max(0.0)
        } else {
            bits
        }
    }

    /// The unit levels of one pair, compared directly.
    fn unit_levels(&self, units: &Units, a: usize, b: usize) -> Vec<u8> {
        let cols: Vec<u8> = (0..self.columns.len())
            .map(|c| self.level(c, a, b))
            .collect();
        let mut row = Vec::with_capacity(units.len());
        units.unit_row(&cols, &mut row);
        row
    }

    /// Whether record `r` has a birth-date column without a full date in it.
    /// Only a person's own dates count: a date or year column that belongs to
    /// a group (an action's date) says nothing of who the person is.
    fn lacks_full_date(&self, r: usize, member_of: &[Option<usize>]) -> bool {
        let ncol = self.columns.len();
        self.columns.iter().enumerate().any(|(c, col)| {
            if member_of.get(c).is_some_and(Option::is_some) {
                return false;
            }
            match col.kind {
                ColumnKind::Date => !matches!(
                    self.values[r * ncol + c],
                    Value::Date(d) if d.precision() == Precision::Day
                ),
                ColumnKind::Year => true,
                _ => false,
            }
        })
    }

    /// Whether no column of the pair disagrees: each is missing on a side or
    /// agrees. A given name agrees as the same name, another form of it, an
    /// initial that fits, or written in the surname's field (two similar but
    /// different names, Мария and Марина, disagree); a date agrees as far as both are known (the same
    /// year with another day, or years a digit apart, disagree); a year
    /// agrees only when it is the same; any other column at least in part.
    fn nothing_disagrees(&self, a: usize, b: usize) -> bool {
        (0..self.columns.len()).all(|c| {
            let l = self.level(c, a, b);
            if l == MISSING {
                return true;
            }
            let kind = self.columns[c].kind;
            match kind {
                // The two highest levels: another form of the name, the same.
                ColumnKind::Given => {
                    Some(l) == kind.initial_level()
                        || Some(l) == kind.swapped_level()
                        || usize::from(l) + 2 >= kind.levels().len()
                }
                ColumnKind::Date => l >= 2,
                ColumnKind::Year => l >= 2,
                _ => l > 0,
            }
        })
    }

    /// The match weight of one pair, compared directly.
    fn pair_weight(&self, model: &Model, tf: &TermFrequencies, a: usize, b: usize) -> f64 {
        let row = self.unit_levels(&model.units, a, b);
        self.row_weight(model, tf, &row, a, b)
    }

    /// The match weight of a pair whose unit levels are `row`.
    fn row_weight(
        &self,
        model: &Model,
        tf: &TermFrequencies,
        row: &[u8],
        a: usize,
        b: usize,
    ) -> f64 {
        let mut w = (model.lambda / (1.0 - model.lambda)).log2();
        for c in 0..row.len() {
            w += self.bits(model, tf, row, c, a, b);
        }
        w
    }

    /// Why a pair scored as it did, column by column, then group by group.
    /// A column counted in a group shows its level, 0 bits and the group's name.
    pub fn explain(&self, linkage: &Linkage, pair_index: usize) -> Vec<Contribution> {
        let units = &linkage.model.units;
        let nu = units.len();
        let Some(pair) = linkage.pairs.get(pair_index) else {
            return Vec::new();
        };
        let (a, b) = (pair.a as usize, pair.b as usize);
        let row = &linkage.levels[pair_index * nu..(pair_index + 1) * nu];
        row.iter()
            .enumerate()
            .map(|(c, &l)| {
                let col = &units.list[c];
                let group = units
                    .member_of
                    .get(c)
                    .copied()
                    .flatten()
                    .map(|g| units.list[units.ncol + g].name.clone());
                // A member's own level (the row holds it as missing).
                let l = if group.is_some() {
                    self.level(c, a, b)
                } else {
                    l
                };
                Contribution {
                    column: col.name.clone(),
                    group: group.clone(),
                    level: (l != MISSING).then_some(l),
                    label: if l == MISSING {
                        "missing"
                    } else {
                        col.kind.levels()[l as usize]
                    },
                    bits: if group.is_some() {
                        0.0
                    } else {
                        self.bits(&linkage.model, &linkage.tf, row, c, a, b)
                    },
                }
            })
            .collect()
    }

    /// The score of one pair of records, compared directly (no blocking).
    /// Needs a model, for example from an earlier [`Dataset::link`].
    pub fn score_pair(&self, model: &Model, a: usize, b: usize) -> f64 {
        let mut w = (model.lambda / (1.0 - model.lambda)).log2();
        let row = self.unit_levels(&model.units, a, b);
        for c in 0..row.len() {
            w += self.bits(model, &TermFrequencies::default(), &row, c, a, b);
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

/// Resident and peak memory of this process (Linux), for debug output only.
fn memory_now() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    // CPU seconds (user + system) from /proc/self/stat, after the command name.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let ticks: f64 = stat
        .rsplit(')')
        .next()
        .map(|rest| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|t| t.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0);
    format!(
        "cpu {:.1} s, rss {} MB, peak {} MB",
        ticks / 100.0,
        field("VmRSS:"),
        field("VmHWM:")
    )
}

fn probability(weight: f64) -> f64 {
    let odds = weight.exp2();
    if odds.is_infinite() {
        1.0
    } else {
        odds / (1.0 + odds)
    }
}

/// Runs EM over distinct comparison patterns with u fixed: estimates the match
/// share and the m probabilities of the columns in `free` (others are ignored).
fn em_fixed_u(
    units: &Units,
    patterns: &[(&[u8], f64)],
    u: &[Vec<f64>],
    m: &mut [Vec<f64>],
    free: &[bool],
    estimate_m: bool,
    mut lambda: f64,
) -> (f64, f64, usize) {
    let ncol = u.len();
    let total: f64 = patterns.iter().map(|p| p.1).sum();
    let mut match_mass = 0.0;
    let mut iterations = 0;
    for it in 0..300 {
        iterations = it + 1;
        let mut m_acc: Vec<Vec<f64>> = m.iter().map(|v| vec![0.0; v.len()]).collect();
        let mut m_tot = vec![0.0_f64; ncol];
        match_mass = 0.0;
        for &(row, count) in patterns {
            let mut diff = (1.0 - lambda).ln() - lambda.ln();
            for (c, &l) in row.iter().enumerate() {
                if l != MISSING && free[c] {
                    diff += units.u_of(u, row, c, l).0.ln() - m[c][l as usize].ln();
                }
            }
            let p = 1.0 / (1.0 + diff.exp());
            match_mass += p * count;
            for (c, &l) in row.iter().enumerate() {
                if l != MISSING && free[c] {
                    m_acc[c][l as usize] += p * count;
                    m_tot[c] += p * count;
                }
            }
        }
        let new_lambda = (match_mass / total.max(1.0)).clamp(1e-7, 1.0 - 1e-7);
        let mut change = (new_lambda - lambda).abs();
        lambda = new_lambda;
        if estimate_m {
            for c in (0..ncol).filter(|&c| free[c]) {
                let nl = m[c].len();
                for l in 0..nl {
                    let v = ((m_acc[c][l] + 1e-3) / (m_tot[c] + 1e-3 * nl as f64)).max(1e-6);
                    change = change.max((v - m[c][l]).abs());
                    m[c][l] = v;
                }
            }
        }
        if change < 1e-7 {
            break;
        }
    }
    (lambda, match_mass, iterations)
}

/// Unsupervised estimation in the way splink does it, adapted to one pass of
/// comparisons. u comes from random pairs. Compared pairs are not random (blocking
/// made them agree on something), so m is learnt in training rounds: each round
/// takes the pairs that agree exactly on two columns and runs EM on the *other*
/// columns, whose values among non-matches are then as good as random. Each
/// column's m is the median over the rounds that estimated it. Finally the share of matches among compared pairs is
/// estimated with m and u fixed.
/// u of every unit from the column levels of random pairs.
fn estimate_u(units: &Units, random_rows: &[u8]) -> Vec<Vec<f64>> {
    let ncol = units.ncol;
    let nu = units.len();
    let mut counts: Vec<Vec<f64>> = units
        .list
        .iter()
        .map(|c| vec![0.0; c.kind.levels().len()])
        .collect();
    let mut row = Vec::with_capacity(nu);
    for cols in random_rows.chunks(ncol.max(1)) {
        units.unit_row(cols, &mut row);
        for (c, &l) in row.iter().enumerate() {
            if l != MISSING {
                counts[c][l as usize] += 1.0;
            }
        }
    }
    counts
        .into_iter()
        .map(|counts| {
            let nl = counts.len();
            let total: f64 = counts.iter().sum();
            counts
                .iter()
                .map(|&x| (x + 0.5) / (total + 0.5 * nl as f64))
                .collect()
        })
        .collect()
}

fn estimate_m(
    units: Units,
    all_patterns: &[(&[u8], f64)],
    u: Vec<Vec<f64>>,
    total_pairs: f64,
) -> Model {
    let columns = &units.list;
    let ncol = columns.len();
    let top: Vec<u8> = columns
        .iter()
        .map(|c| (c.kind.levels().len() - 1) as u8)
        .collect();
    let start_m = |nl: usize| -> Vec<f64> {
        (0..nl)
            .map(|l| {
                if l + 1 == nl {
                    0.8
                } else {
                    0.2 / (nl - 1) as f64
                }
            })
            .collect()
    };
    // Each estimate with the purity of its round: the share of the round's
    // pairs that are not strangers agreeing on the two fixed columns by chance
    // (expected: all pairs × u of both at full agreement). Where names are
    // common, pairs that agree on a given name and a surname are mostly
    // namesakes, and EM there takes namesakes for matches: their different
    // birth dates would then look like what matches do.
    let mut estimates: Vec<Vec<(Vec<f64>, f64)>> = vec![Vec::new(); ncol];
    let top_u: Vec<f64> = (0..ncol).map(|c| u[c][top[c] as usize]).collect();
    let mut iterations = 0;
    let weak = |k: ColumnKind| matches!(k, ColumnKind::Text | ColumnKind::Sex);
    // Relatives share surname, patronymic and place; pairs that agree on
    // those alone are not random among non-matches, so every round needs
    // a personal column: a given name, a date or an identifier.
    let personal = |k: ColumnKind| {
        matches!(
            k,
            ColumnKind::Given | ColumnKind::Date | ColumnKind::Year | ColumnKind::Exact
        )
    };
    // The sex column follows from the name columns; it is learnt only in
    // rounds where no name is held fixed, or it would look like proof.
    let is_name = |k: ColumnKind| {
        matches!(
            k,
            ColumnKind::Given | ColumnKind::Surname | ColumnKind::Patronymic
        )
    };
    // One round: the pairs that agree fully on the `fixed` columns; EM on the
    // others; estimates kept for the columns `learn` allows.
    type Estimates = [Vec<(Vec<f64>, f64)>];
    let round = |fixed: &[usize],
                 learn: &dyn Fn(usize) -> bool,
                 estimates: &mut Estimates,
                 iterations: &mut usize| {
        if fixed.iter().any(|&c| weak(columns[c].kind))
            || !fixed.iter().any(|&c| personal(columns[c].kind))
        {
            return;
        }
        let patterns: Vec<(&[u8], f64)> = all_patterns
            .iter()
            .filter(|(row, _)| fixed.iter().all(|&c| row[c] == top[c]))
            .copied()
            .collect();
        let n: f64 = patterns.iter().map(|p| p.1).sum();
        if n < 30.0 || ncol < fixed.len() + 1 {
            return;
        }
        let names_fixed = fixed.iter().any(|&c| is_name(columns[c].kind));
        let free: Vec<bool> = (0..ncol)
            .map(|c| !(fixed.contains(&c) || (names_fixed && columns[c].kind == ColumnKind::Sex)))
            .collect();
        let mut m: Vec<Vec<f64>> = columns
            .iter()
            .map(|c| start_m(c.kind.levels().len()))
            .collect();
        let (_, matches, its) = em_fixed_u(&units, &patterns, &u, &mut m, &free, true, 0.5);
        *iterations += its;
        // Strangers expected to agree on every fixed column by chance.
        let chance = total_pairs * fixed.iter().map(|&c| top_u[c]).product::<f64>();
        let purity = (1.0 - chance / n).max(0.0);
        if std::env::var_os("VIGIL_LINK_DEBUG").is_some() {
            let names: Vec<&str> = fixed.iter().map(|&c| columns[c].name.as_str()).collect();
            eprintln!(
                "round {}: pairs {n} matches {matches:.0} purity {purity:.3}",
                names.join(" ")
            );
            for c in (0..ncol).filter(|&c| free[c]) {
                eprintln!(
                    "   {} m={:?}",
                    columns[c].name,
                    m[c].iter()
                        .map(|v| (v * 1000.0).round() / 1000.0)
                        .collect::<Vec<_>>()
                );
            }
        }
        if matches < 10.0 {
            return;
        }
        for c in (0..ncol).filter(|&c| free[c] && learn(c)) {
            estimates[c].push((m[c].clone(), purity));
        }
    };
    for ci in 0..ncol {
        for cj in ci + 1..ncol {
            round(&[ci, cj], &|_| true, &mut estimates, &mut iterations);
        }
    }
    // A column that no pair of fixed columns estimated from a round at least
    // half pure (where names are common, two agreeing columns still hold many
    // namesakes) learns from rounds that fix three columns: fewer strangers
    // agree on three by chance. Without this it keeps the cautious start, and
    // a different birth date, which matches rarely show, would count for less
    // than the data say.
    let unlearnt: Vec<bool> = (0..ncol)
        .map(|c| !estimates[c].iter().any(|e| e.1 >= 0.5))
        .collect();
    if unlearnt.iter().any(|&x| x) {
        for ci in 0..ncol {
            for cj in ci + 1..ncol {
                for ck in cj + 1..ncol {
                    round(
                        &[ci, cj, ck],
                        &|c| unlearnt[c],
                        &mut estimates,
                        &mut iterations,
                    );
                }
            }
        }
    }
    // The median over rounds, level by level: a round whose EM settled on the
    // wrong split (namesakes in one city) must not drag the others along.
    let m: Vec<Vec<f64>> = (0..ncol)
        .map(|c| {
            let nl = columns[c].kind.levels().len();
            if estimates[c].is_empty() {
                return start_m(nl);
            }
            // The rounds at least half pure. If none is, what EM found there is
            // the split between namesakes, not between matches and strangers:
            // the column keeps the cautious start (a disagreement is rare among
            // matches), rather than learn that matches disagree.
            let kept: Vec<&Vec<f64>> = estimates[c]
                .iter()
                .filter(|e| e.1 >= 0.5)
                .map(|e| &e.0)
                .collect();
            if kept.is_empty() {
                return start_m(nl);
            }
            let mut med: Vec<f64> = (0..nl)
                .map(|l| {
                    let mut v: Vec<f64> = kept.iter().map(|e| e[l]).collect();
                    v.sort_by(f64::total_cmp);
                    let k = v.len();
                    if k % 2 == 1 {
                        v[k / 2]
                    } else {
                        (v[k / 2 - 1] + v[k / 2]) / 2.0
                    }
                })
                .collect();
            let total: f64 = med.iter().sum();
            for x in med.iter_mut() {
                *x = (*x / total).max(1e-6);
            }
            med
        })
        .collect();
    // Names swapped between the given-name and surname fields are at most as
    // strong as the same names in their own fields: each column's swap level
    // counts no more than its full agreement (random pairs are almost never
    // swapped, so u there is tiny and EM would make a swap the best evidence).
    let mut m = m;
    for (c, col) in columns.iter().enumerate() {
        if let Some(s) = col.kind.swapped_level().map(usize::from) {
            let top = top[c] as usize;
            let cap = m[c][top] / u[c][top] * u[c][s];
            m[c][s] = m[c][s].min(cap);
        }
    }
    // An initial that agrees is never evidence against a match: whether a
    // record gives only the initial depends on how it was written, not on
    // whom the other record is about, and matches agree on the initial at
    // least as often as strangers do. EM can put it far below zero where
    // the training rounds exclude such records (a round fixing an exact
    // patronymic holds no record whose given name and patronymic are both
    // initials; on the common-names set at 1,000,000 it reached -13 bits).
    for (c, col) in columns.iter().enumerate() {
        if let Some(l) = col.kind.initial_level().map(usize::from)
            && l < m[c].len()
        {
            m[c][l] = m[c][l].max(u[c][l]);
        }
    }
    let (lambda, its) = match_share(&units, all_patterns, &u, &m, total_pairs);
    Model {
        units,
        lambda,
        m,
        u,
        em_iterations: iterations + its,
    }
}

/// The share of matches among *all* pairs of records, by EM with m and u fixed.
/// u describes random pairs, so the prior that goes with it is the chance that two
/// random records match, not the (much larger) share among compared pairs: using
/// that would count the blocking agreement twice. Pairs that blocking left out
/// are taken as non-matches, so the EM step is `lambda = sum of posteriors / all pairs`.
fn match_share(
    units: &Units,
    patterns: &[(&[u8], f64)],
    u: &[Vec<f64>],
    m: &[Vec<f64>],
    total_pairs: f64,
) -> (f64, usize) {
    let compared: f64 = patterns.iter().map(|p| p.1).sum();
    let total = total_pairs.max(compared).max(1.0);
    // Log Bayes factor of each pattern, computed once.
    let factors: Vec<(f64, f64)> = patterns
        .iter()
        .map(|&(row, count)| {
            let mut f = 0.0;
            for (c, &l) in row.iter().enumerate() {
                if l != MISSING {
                    f += m[c][l as usize].ln() - units.u_of(u, row, c, l).0.ln();
                }
            }
            (f, count)
        })
        .collect();
    let mut lambda = (0.1 * compared / total).clamp(1e-12, 0.5);
    let mut iterations = 0;
    for it in 0..500 {
        iterations = it + 1;
        let prior = lambda.ln() - (1.0 - lambda).ln();
        let mass: f64 = factors
            .iter()
            .map(|&(f, count)| count / (1.0 + (-(prior + f)).exp()))
            .sum();
        let next = (mass / total).clamp(1e-12, 1.0 - 1e-7);
        let change = (next - lambda).abs() / lambda;
        lambda = next;
        if change < 1e-9 {
            break;
        }
    }
    (lambda, iterations)
}

/// Clusters from the linked pairs (probability at or above the threshold), taken
/// strongest first. Two groups merge only when the pairs between them, scored
/// directly (blocking may have left some out), are on average evidence of a match
/// (mean clipped weight at least the threshold's): one strong pair between a
/// person's reports and a sibling's must not pull the whole family into one
/// cluster, as plain connected components would.
///
/// `weight` gives a pair's weight (prior log-odds `prior` included), `sparse`
/// whether a record of the pair lacks a full birth date and no field disagrees.
/// A sparse pair whose own evidence is at least [`NEUTRAL`] of the prior's bits
/// counts as the threshold's weight, not below it: two reports of one person
/// that share their names and a city, one without a date and the other without
/// a patronymic, can fall short of the prior of a large file on their own while
/// saying nothing against the person (linkru2: Russian 1M F1 0.9457 → 0.9489).
fn cluster(
    n: usize,
    pairs: &[ScoredPair],
    threshold: f64,
    prior: f64,
    weight: impl Fn(u32, u32) -> f64,
    sparse: impl Fn(u32, u32) -> bool,
) -> Vec<u32> {
    let mut linked: Vec<&ScoredPair> = pairs
        .iter()
        .filter(|p| p.probability >= threshold)
        .collect();
    linked.sort_by(|x, y| y.weight.total_cmp(&x.weight));
    let threshold_weight = (threshold / (1.0 - threshold)).log2();
    let mut root: Vec<u32> = (0..n as u32).collect();
    let mut members: FastMap<u32, Vec<u32>> = FastMap::default();
    // The average evidence between the groups, each pair's weight clipped to
    // ±10 bits, so that neither one overwhelming pair nor one pair that blocking
    // left weak (initials, a missing date) decides alone.
    let clipped = |w: f64, x: u32, y: u32| {
        if w < threshold_weight && w - prior >= NEUTRAL * prior.abs() && sparse(x, y) {
            threshold_weight
        } else {
            w.clamp(-MERGE_CLIP, MERGE_CLIP)
        }
    };
    for p in linked {
        let (ra, rb) = (root[p.a as usize], root[p.b as usize]);
        if ra == rb {
            continue;
        }
        let ma = members.remove(&ra).unwrap_or_else(|| vec![ra]);
        let mb = members.remove(&rb).unwrap_or_else(|| vec![rb]);
        let support: f64 = if ma.len() == 1 && mb.len() == 1 {
            // Two records on their own: the one pair between them is `p`,
            // weighed when it was scored (linkdet4: most merges at a million
            // records, each weighed again before).
            clipped(p.weight, p.a, p.b)
        } else {
            ma.iter()
                .map(|&x| mb.iter().map(|&y| clipped(weight(x, y), x, y)).sum::<f64>())
                .sum()
        };
        if support < threshold_weight * (ma.len() * mb.len()) as f64 {
            for (r, m) in [(ra, ma), (rb, mb)] {
                if m.len() > 1 {
                    members.insert(r, m);
                }
            }
            continue;
        }
        let keep = ra.min(rb);
        let mut all = ma;
        all.extend(mb);
        for &x in &all {
            root[x as usize] = keep;
        }
        members.insert(keep, all);
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::osa_distance;

    #[test]
    fn values_stay_small() {
        // Comparison is bound by memory reads of the second record's row.
        assert!(
            std::mem::size_of::<Value>() <= 8,
            "{}",
            std::mem::size_of::<Value>()
        );
    }

    #[test]
    fn a_sparse_report_that_says_nothing_against_the_person_does_not_keep_groups_apart() {
        // Records 0 and 1 are one person's full reports (linked first); record 2
        // another report of theirs, linked to 0 only. Record 1 lacks the date and
        // record 2 the patronymic: on its own the pair 1-2 falls short of the
        // prior (-19.4 bits) by 4 bits, its own evidence being +15.4.
        let prior = -19.4;
        let pairs = [
            ScoredPair {
                a: 0,
                b: 1,
                weight: 9.0,
                probability: 0.998,
            },
            ScoredPair {
                a: 0,
                b: 2,
                weight: 3.0,
                probability: 0.89,
            },
        ];
        let weight = |a: u32, b: u32| match (a.min(b), a.max(b)) {
            (0, 1) => 9.0,
            (0, 2) => 3.0,
            _ => -4.0,
        };
        let merged = cluster(3, &pairs, 0.5, prior, weight, |a, b| a.max(b) == 2);
        assert_eq!(merged, vec![0, 0, 0]);
        // The same pair with a field that disagrees counts against the merge.
        let apart = cluster(3, &pairs, 0.5, prior, weight, |_, _| false);
        assert_eq!(apart, vec![0, 0, 2]);
    }

    /// What makes a pair "sparse and saying nothing against" for clustering:
    /// sisters with similar given names disagree, as do two full birth dates
    /// of one year; an initial that fits and a year that fits do not; an
    /// action's date (a group's column) never makes a record sparse.
    #[test]
    fn a_sparse_pair_is_one_where_nothing_disagrees_and_a_birth_date_is_missing() {
        let rows = [
            ["Мария", "Петрова", "Ивановна", "05.03.1961", "06.05.2012"],
            ["Марина", "Петрова", "Ивановна", "", "06.05.2012"],
            ["Мария", "Петрова", "Ивановна", "", "06.05.2012"],
            ["М.", "Петрова", "Ивановна", "1961", "06.05.2012"],
            ["Мария", "Петрова", "Ивановна", "17.09.1961", "06.05.2012"],
            ["Мария", "Петрова", "Ивановна", "05.03.1961", ""],
        ]
        .map(|r| r.to_vec());
        let data = dataset_from(
            r#"id = "rec_id"
[fields]
given_name = "given_name"
surname = "surname"
patronymic = "patronymic"
birth_date = "date"
action_date = "date"
"#,
            &[
                "given_name",
                "surname",
                "patronymic",
                "birth_date",
                "action_date",
            ],
            &rows,
        );
        assert!(!data.nothing_disagrees(0, 1), "Мария and Марина disagree");
        assert!(data.nothing_disagrees(0, 2), "a missing date says nothing");
        assert!(
            data.nothing_disagrees(0, 3),
            "an initial and a year that fit"
        );
        assert!(!data.nothing_disagrees(0, 4), "one year, another day");
        let no_groups = vec![None; data.columns.len()];
        let action_in_group: Vec<Option<usize>> = data
            .columns
            .iter()
            .map(|c| (c.name == "action_date").then_some(0))
            .collect();
        assert!(!data.lacks_full_date(0, &no_groups));
        assert!(data.lacks_full_date(2, &action_in_group));
        assert!(data.lacks_full_date(3, &action_in_group));
        assert!(
            data.lacks_full_date(5, &no_groups),
            "two person dates read as such"
        );
        assert!(
            !data.lacks_full_date(5, &action_in_group),
            "a missing action date does not make a person's record sparse"
        );
    }

    #[test]
    fn bucket_sort_sorts_as_sort_unstable() {
        let mut rng = SplitMix(7);
        // Hashes over the whole range, record numbers in a small one, and
        // many repeats of a few keys (one large bucket).
        for spread in [u64::MAX, 1 << 20, 3] {
            let mut v: Vec<(u64, u32)> = (0..100_000)
                .map(|_| (rng.next() % spread.max(1), (rng.next() % 50) as u32))
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            bucket_sort(&mut v, |e| e.0);
            assert_eq!(v, want);
        }
    }

    #[test]
    fn merging_batches_gives_the_sorted_distinct_pairs() {
        let mut rng = SplitMix(11);
        let mut pairs = Vec::new();
        let mut all = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let mut batch: Vec<u64> = (0..rng.below(300)).map(|_| rng.below(500) as u64).collect();
            all.extend(batch.iter().copied());
            merge_sorted(&mut pairs, &mut batch);
            assert!(batch.is_empty());
            assert_eq!(pairs, all.iter().copied().collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_similarity_bound_is_never_below_the_similarity() {
        let mut rng = SplitMix(5);
        let mut interner = Interner::default();
        for _ in 0..20_000 {
            let word = |rng: &mut SplitMix| -> String {
                (0..1 + rng.below(9))
                    .map(|_| char::from(b'a' + rng.below(6) as u8))
                    .collect()
            };
            let (x, y) = (word(&mut rng), word(&mut rng));
            let (k, l) = (interner.id(&x), interner.id(&y));
            let bound = interner.similarity_bound(k, l);
            assert!(bound >= jaro_winkler(&x, &y), "{x} {y} {bound}");
        }
    }

    /// The spec of the detentions sets in these tests.
    const DETENTIONS_SPEC: &str = r#"id = "rec_id"
[fields]
given_name = "given_name"
surname = "surname"
patronymic = "patronymic"
birth_date = "date"
city = "place"
action_date = "date"
action_place = "place"
police_station = "place"
court = "place"
article = "exact"
"#;

    /// A small detentions set: strangers share actions, persons recur.
    pub(super) fn small_detentions() -> Dataset {
        let table = crate::hard::detentions(2_000, 9);
        dataset_from(DETENTIONS_SPEC, &table.header, &table.rows)
    }

    /// A dataset of `rows` (cells named by `header`) read with the spec
    /// `spec`, the cells taken in the spec's order of fields.
    pub(super) fn dataset_from<H: AsRef<str>, C: AsRef<str>>(
        spec: &str,
        header: &[H],
        rows: &[Vec<C>],
    ) -> Dataset {
        let spec = Spec::parse(spec).unwrap_or_else(|e| panic!("{e}"));
        let cols: Vec<usize> = spec
            .fields
            .iter()
            .filter_map(|f| header.iter().position(|h| h.as_ref() == f.column))
            .collect();
        let mut data = Dataset::new(spec);
        for row in rows {
            let values: Vec<&str> = cols.iter().map(|&c| row[c].as_ref()).collect();
            data.push(0, &values);
        }
        data
    }

    /// [`small_detentions`] linked, and its candidate pairs as scoring gets
    /// them (copies left out).
    pub(super) fn small_detentions_linked() -> (Dataset, Linkage, Vec<u64>) {
        let data = small_detentions();
        let linkage = data.link(&mut Quiet);
        let units = &linkage.model.units;
        let copies: Vec<bool> = units.copy_of.iter().map(Option::is_some).collect();
        let pairs = data.candidate_pairs_skipping(&copies, &units.member_of, &mut Quiet);
        (data, linkage, pairs)
    }

    #[test]
    fn the_year_of_a_context_date_and_a_patronymic_with_a_year_do_not_block() {
        // The action's date blocks by its full date only: its year alone is
        // everyone detained that year. The birth date, not context, blocks by
        // its year too.
        let (data, linkage, _) = small_detentions_linked();
        let units = &linkage.model.units;
        let copies: Vec<bool> = units.copy_of.iter().map(Option::is_some).collect();
        let (items, rules, _) = data.blocking_rules(&copies, &units.member_of);
        let named = |i: usize| (data.columns[items[i].column].name.as_str(), items[i].what);
        let used: Vec<(&str, BlockWhat)> = rules.iter().flatten().map(|&i| named(i)).collect();
        assert!(
            used.contains(&("action_date", BlockWhat::FullDate)),
            "{used:?}"
        );
        assert!(
            !used.contains(&("action_date", BlockWhat::Year)),
            "{used:?}"
        );
        assert!(used.contains(&("birth_date", BlockWhat::Year)), "{used:?}");
        // The patronymic blocks with the surname, the given name, the full
        // birth date, the city and the action's date, not with a year.
        let with_patronymic: Vec<(&str, BlockWhat)> = rules
            .iter()
            .filter(|rule| rule.iter().any(|&i| named(i).0 == "patronymic"))
            .flatten()
            .map(|&i| named(i))
            .filter(|n| n.0 != "patronymic")
            .collect();
        for n in [
            ("surname", BlockWhat::Name),
            ("given_name", BlockWhat::Name),
            ("birth_date", BlockWhat::FullDate),
            ("action_date", BlockWhat::FullDate),
            ("city", BlockWhat::Name),
        ] {
            assert!(with_patronymic.contains(&n), "{n:?}: {with_patronymic:?}");
        }
        let n = ("birth_date", BlockWhat::Year);
        assert!(!with_patronymic.contains(&n), "{n:?}: {with_patronymic:?}");
        // The action's date with the patronymic is a rule of its own (not
        // only the third item of a rule without context).
        assert!(
            rules.iter().any(|rule| {
                let mut names: Vec<(&str, BlockWhat)> = rule.iter().map(|&i| named(i)).collect();
                names.sort_by_key(|n| n.0);
                names
                    == [
                        ("action_date", BlockWhat::FullDate),
                        ("patronymic", BlockWhat::Name),
                    ]
            }),
            "{rules:?}"
        );
    }

    #[test]
    fn rules_without_context_defer_to_it_only_where_one_person_keeps_the_context() {
        // In the generated detentions every repeat report of a person is of
        // one detention: the full birth date's rules with a name find that
        // person's pairs again with the action's date (rule of the birth
        // date and the action's date, compared in full), and are left out;
        // the other rules without context block within the action's date.
        let table = crate::hard::detentions(20_000, 9);
        let col = |name: &str| table.header.iter().position(|h| *h == name).unwrap();
        // The groups as linking finds them (the action's date, place and
        // police station), from random pairs.
        let group_of = |data: &Dataset| {
            let random = data.random_pairs(20_000);
            let rows = data.compare_pairs(&random, &Units::plain(&data.columns), &mut Quiet);
            data.units(&rows).member_of
        };
        let rule_of = |data: &Dataset| {
            let (items, rules, subsumers) = data.blocking_rules(&[], &group_of(data));
            let named = |i: usize| (data.columns[items[i].column].name.clone(), items[i].what);
            let rule_with = |a: (&str, BlockWhat), b: (&str, BlockWhat)| {
                rules
                    .iter()
                    .position(|r| {
                        r.iter().any(|&i| named(i) == (a.0.into(), a.1))
                            && r.iter().any(|&i| named(i) == (b.0.into(), b.1))
                    })
                    .expect("a rule")
            };
            let k = rule_with(
                ("birth_date", BlockWhat::FullDate),
                ("surname", BlockWhat::Name),
            );
            let by: Vec<Vec<(String, BlockWhat)>> = subsumers[k]
                .iter()
                .map(|&s| rules[s].iter().map(|&i| named(i)).collect())
                .collect();
            // The given name and surname's rule, with what it blocks within.
            let names = rule_with(
                ("given_name", BlockWhat::Name),
                ("surname", BlockWhat::Name),
            );
            let names: Vec<(String, BlockWhat)> = rules[names].iter().map(|&i| named(i)).collect();
            (by, names, k)
        };
        let data = dataset_from(DETENTIONS_SPEC, &table.header, &table.rows);
        let (by, names, birth_and_surname) = rule_of(&data);
        // The rules left, without context, block within the action's date.
        assert!(
            names.contains(&("action_date".into(), BlockWhat::FullDate)),
            "{names:?}"
        );
        assert!(
            by.iter()
                .any(|r| r.contains(&("action_date".into(), BlockWhat::FullDate))
                    && r.contains(&("birth_date".into(), BlockWhat::FullDate))),
            "{by:?}"
        );
        // Left out, the rules lose no pair of one person that agrees on the
        // full birth date and the surname.
        let (pairs, left_out) =
            data.candidate_pairs_and_left_out(&[], &group_of(&data), &mut Quiet);
        assert!(left_out.contains(&birth_and_surname), "{left_out:?}");
        let (entity, birth, surname) = (col("entity_id"), col("birth_date"), col("surname"));
        let mut of_entity: HashMap<&str, Vec<usize>> = HashMap::new();
        for (r, row) in table.rows.iter().enumerate() {
            of_entity.entry(row[entity].as_str()).or_default().push(r);
        }
        let mut checked = 0;
        for rows in of_entity.values() {
            for (k, &a) in rows.iter().enumerate() {
                for &b in &rows[k + 1..] {
                    let (x, y) = (&table.rows[a], &table.rows[b]);
                    if x[birth] == y[birth] && x[birth].len() == 10 && x[surname] == y[surname] {
                        checked += 1;
                        let p = ((a.min(b) as u64) << 32) | a.max(b) as u64;
                        assert!(
                            pairs.binary_search(&p).is_ok(),
                            "rows {a} and {b}: {x:?} {y:?}"
                        );
                    }
                }
            }
        }
        assert!(checked > 100, "{checked}");
        // One person detained twice: a third of the repeat reports are of
        // another action. Then the birth date's rules stay, and the names
        // block across actions.
        let mut moved = table.rows.clone();
        let action = col("action_date");
        let mut seen = std::collections::HashSet::new();
        for (r, row) in moved.iter_mut().enumerate() {
            if !seen.insert(row[entity].clone()) && r % 3 == 0 {
                row[action] = "01.01.2011".into();
            }
        }
        let data = dataset_from(DETENTIONS_SPEC, &table.header, &moved);
        let (by, names, k) = rule_of(&data);
        assert!(by.is_empty(), "{by:?}");
        assert_eq!(names.len(), 2, "{names:?}");
        let (_, left_out) = data.candidate_pairs_and_left_out(&[], &group_of(&data), &mut Quiet);
        assert!(!left_out.contains(&k), "{left_out:?}");
        // The actions of a third of the days known only to the month in every
        // report of them ("03.2022"): those have no full-date key to share,
        // so they count against, and every rule stays.
        let mut partial = table.rows.clone();
        for row in partial.iter_mut() {
            if row[action].len() == 10 && row[action][..2].parse::<u32>().is_ok_and(|d| d <= 10) {
                row[action] = row[action][3..].to_string();
            }
        }
        let data = dataset_from(DETENTIONS_SPEC, &table.header, &partial);
        let (by, names, _) = rule_of(&data);
        assert!(by.is_empty(), "{by:?}");
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn the_year_of_a_context_date_blocks_where_dates_are_partial() {
        // A fifth of the action dates are known only to the year or month:
        // those have no full-date key, so the action's year still blocks.
        let mut table = crate::hard::detentions(2_000, 9);
        let col = |name: &str| table.header.iter().position(|h| *h == name).unwrap();
        let (date, id, entity) = (col("action_date"), col("rec_id"), col("entity_id"));
        for (k, row) in table.rows.iter_mut().enumerate() {
            let full = row[date].clone();
            if k % 10 == 0 {
                row[date] = full[6..].to_string();
            } else if k % 10 == 5 {
                row[date] = full[3..].to_string();
            }
        }
        // Three persons each recorded twice, agreeing only on the surname
        // and the action's year: one date a year, a month, a mistyped day.
        let people = [
            ("Шмыгалёвский", "2022", "15.03.2022"),
            ("Зарубянцев", "03.2022", "15.03.2022"),
            ("Кочетыгин", "15.03.2022", "16.03.2022"),
        ];
        let n = table.rows.len();
        for (p, (surname, a, b)) in people.iter().enumerate() {
            for (k, (given, city, day)) in [("Пётр", "Москва", a), ("Глеб", "Казань", b)]
                .into_iter()
                .enumerate()
            {
                let mut row = vec![String::new(); table.header.len()];
                row[id] = format!("partial-{p}-{k}");
                row[entity] = format!("partial-{p}");
                row[col("given_name")] = given.to_string();
                row[col("surname")] = surname.to_string();
                row[col("city")] = city.to_string();
                row[date] = day.to_string();
                table.rows.push(row);
            }
        }
        let data = dataset_from(DETENTIONS_SPEC, &table.header, &table.rows);
        let linkage = data.link(&mut Quiet);
        let units = &linkage.model.units;
        let copies: Vec<bool> = units.copy_of.iter().map(Option::is_some).collect();
        let context = data.context_columns(&units.member_of);
        let action_date = data.columns.iter().position(|c| c.name == "action_date");
        assert!(action_date.is_some_and(|c| context[c].is_some()));
        let pairs = data.candidate_pairs_skipping(&copies, &units.member_of, &mut Quiet);
        for p in 0..people.len() {
            let (a, b) = ((n + 2 * p) as u64, (n + 2 * p + 1) as u64);
            assert!(pairs.binary_search(&(a << 32 | b)).is_ok(), "{p}");
        }
    }

    #[test]
    fn a_known_given_name_blocks_by_its_canonical_name_not_its_spelling() {
        let header = ["id", "given_name", "surname"];
        let rows = vec![
            vec!["1", "Александр", "Иванов"],
            vec!["2", "Aleksandr", "Ivanov"],
            vec!["3", "Саша", "Иванов"],
            vec!["4", "Xylqwert", "Иванов"],
            vec!["5", "Xylqwert", "Петров"],
            vec!["6", "Мария", "Смирнова"],
            vec!["7", "Мария", "Смирнова"],
            vec!["8", "Xylqwert", "Иванов"],
            vec!["9", "Lyoxa", "Иванов"],
            vec!["10", "Leksa", "Иванов"],
        ];
        let data = dataset_from(
            "id = \"id\"\n[fields]\ngiven_name = \"given_name\"\nsurname = \"surname\"\n",
            &header,
            &rows,
        );
        let item = Blockable {
            column: 0,
            what: BlockWhat::Name,
            with_initial: true,
        };
        let keys = |r: usize| {
            let mut out = Vec::new();
            data.block_keys(item, r, &mut out);
            out
        };
        // Known names: the canonical name (tag 1) and the initial (tag 2),
        // no spelling key (tag 0); both spellings of one name, and its short
        // form, share a canonical key.
        for r in 0..3 {
            assert!(keys(r).iter().all(|k| k & 3 != 0), "{r}: {:?}", keys(r));
        }
        let canon = |r: usize| -> Vec<u64> { keys(r).into_iter().filter(|k| k & 3 == 1).collect() };
        for r in 1..3 {
            assert!(canon(r).iter().any(|k| canon(0).contains(k)), "{r}");
        }
        // A name the table does not know blocks by its spelling.
        assert!(keys(3).iter().any(|k| k & 3 == 0), "{:?}", keys(3));
        assert_eq!(keys(3), keys(4));
        // The two spellings, the short form and the same spelling twice
        // (known or not) are still candidate pairs; the strangers are not.
        let pairs = data.candidate_pairs(&mut Quiet);
        for pair in [(0, 1), (0, 2), (1, 2), (5, 6), (3, 7)] {
            assert!(pairs.contains(&pair), "{pair:?}: {pairs:?}");
        }
        assert!(!pairs.contains(&(3, 4)), "{pairs:?}");
        // Lyoxa has two keys: "leha" (Лёха, known) and "leksa", which the
        // table does not know and which Leksa has too: they share it, not
        // only the initial.
        let spelled =
            |r: usize| -> Vec<u64> { keys(r).into_iter().filter(|k| k & 3 == 0).collect() };
        assert!(canon(8).iter().any(|k| k & 3 == 1), "{:?}", keys(8));
        assert!(
            spelled(8).iter().any(|k| spelled(9).contains(k)),
            "{:?} {:?}",
            keys(8),
            keys(9)
        );
    }

    #[test]
    fn the_action_and_what_it_fixes_are_context_for_blocking() {
        // The action's columns (and the article, which the action fixes) are
        // context, so that blocking does not pair them with each other; names,
        // the birth date and the city of residence are not.
        let (data, linkage, _) = small_detentions_linked();
        let context = data.context_columns(&linkage.model.units.member_of);
        let named = |c: usize| data.columns[c].name.as_str();
        let names: Vec<&str> = (0..data.columns.len())
            .filter(|&c| context[c].is_some())
            .map(named)
            .collect();
        for c in ["action_date", "article", "police_station"] {
            assert!(names.contains(&c), "{c} is not context: {names:?}");
        }
        for c in ["given_name", "surname", "birth_date", "city"] {
            assert!(!names.contains(&c), "{c} is context: {names:?}");
        }
        // The action's date, the most selective, fixes the article and the
        // police station: only the date pairs with names.
        let chance: Vec<f64> = (0..data.columns.len())
            .map(|c| {
                if context[c].is_some() {
                    data.chance_agreement(c)
                } else {
                    f64::INFINITY
                }
            })
            .collect();
        let fixed = data.fixed_by(&context, &chance);
        let fixed: Vec<&str> = (0..data.columns.len())
            .filter(|&c| fixed[c])
            .map(named)
            .collect();
        assert!(fixed.contains(&"article"), "{fixed:?}");
        assert!(fixed.contains(&"police_station"), "{fixed:?}");
        assert!(!fixed.contains(&"action_date"), "{fixed:?}");
    }

    #[test]
    fn kept_levels_weigh_as_comparing_the_pair_again() {
        // Explanations read kept pairs' stored levels: those must be the
        // levels, and so the weight, of comparing the two records again.
        let (data, linkage, _) = small_detentions_linked();
        let nu = linkage.model.units.len();
        assert!(!linkage.pairs.is_empty());
        for (k, p) in linkage.pairs.iter().enumerate() {
            let (a, b) = (p.a as usize, p.b as usize);
            let row = &linkage.levels[k * nu..(k + 1) * nu];
            assert_eq!(row, data.unit_levels(&linkage.model.units, a, b).as_slice());
            let stored = data.row_weight(&linkage.model, &linkage.tf, row, a, b);
            let again = data.pair_weight(&linkage.model, &linkage.tf, a, b);
            assert_eq!(stored.to_bits(), again.to_bits());
        }
    }

    #[test]
    fn leaving_pairs_early_keeps_every_pair_full_scoring_keeps() {
        let (data, linkage, pairs) = small_detentions_linked();
        let (model, tf) = (&linkage.model, &linkage.tf);
        let units = &model.units;
        assert_eq!(pairs.len(), linkage.compared);
        let plan = ScorePlan::new(model, tf, &Patterns::new(units.len()));
        // Every candidate pair compared in full and scored as scoring does.
        let mut expected = Vec::new();
        for &p in &pairs {
            let (a, b) = split_pair(p);
            let row = data.unit_levels(units, a as usize, b as usize);
            let mut w = plan.prior;
            for (c, &l) in row.iter().enumerate() {
                if l != MISSING {
                    w += if plan.tf_level[c] == Some(l) || plan.given[c] {
                        data.bits(model, tf, &row, c, a as usize, b as usize)
                    } else {
                        plan.table[c][l as usize]
                    };
                }
            }
            if probability(w) >= KEEP_PROBABILITY {
                expected.push((a, b, w, row));
            }
        }
        assert!(expected.len() > 100, "{}", expected.len());
        assert_eq!(expected.len(), linkage.pairs.len());
        let nu = units.len();
        for (k, (e, g)) in expected.iter().zip(&linkage.pairs).enumerate() {
            assert_eq!((e.0, e.1), (g.a, g.b));
            assert!((e.2 - g.weight).abs() < 1e-9, "{} {}", e.2, g.weight);
            assert_eq!(&e.3[..], &linkage.levels[k * nu..(k + 1) * nu]);
        }
    }

    /// Records that give only the initial of the given name give only the
    /// initial of the patronymic too (as in the generated sets), so the one
    /// pure round that learns the given name, the one fixing patronymic and
    /// date, holds no such record; the round fixing surname and date is mostly
    /// strangers. EM alone then puts "initial agrees" at about -13 bits.
    #[test]
    fn an_initial_that_agrees_never_counts_against_a_match() {
        let col = |name: &str, kind: ColumnKind| Column {
            name: name.to_string(),
            kind,
            field: 0,
        };
        let columns = vec![
            col("given_name", ColumnKind::Given),
            col("surname", ColumnKind::Surname),
            col("patronymic", ColumnKind::Patronymic),
            col("birth_date", ColumnKind::Date),
        ];
        let u = vec![
            vec![0.3, 0.6, 1e-6, 0.01, 0.03, 0.02, 0.005, 0.035],
            vec![0.9, 1e-6, 0.001, 0.02, 0.029, 0.05],
            vec![0.95, 0.01, 0.0398, 0.0002],
            vec![0.9, 0.03, 0.01, 0.005, 0.005, 0.05],
        ];
        let patterns: Vec<(&[u8], f64)> = vec![
            // Matches; a tenth written with initials.
            (&[7, 5, 3, 5], 9_000.0),
            (&[3, 5, 1, 5], 1_000.0),
            // Strangers.
            (&[1, 5, 0, 5], 250_000.0),
            (&[1, 0, 3, 5], 1_000.0),
            (&[1, 5, 3, 0], 1_000.0),
            (&[1, 0, 0, 0], 1e7),
            (&[3, 0, 0, 0], 1e5),
            (&[0, 0, 0, 1], 1e6),
        ];
        let model = estimate_m(Units::plain(&columns), &patterns, u, 1e8);
        for (c, column) in columns.iter().enumerate() {
            if let Some(l) = column.kind.initial_level().map(usize::from) {
                let bits = (model.m[c][l] / model.u[c][l]).log2();
                assert!(
                    bits >= 0.0,
                    "{}: initial agrees {bits:.1} bits",
                    column.name
                );
            }
        }
    }

    #[test]
    fn at_most_one_edit_agrees_with_osa() {
        let mut rng = SplitMix(9);
        for _ in 0..20_000 {
            let x: Vec<u8> = (0..rng.below(6)).map(|_| rng.below(3) as u8).collect();
            let y: Vec<u8> = if rng.below(2) == 0 {
                (0..rng.below(6)).map(|_| rng.below(3) as u8).collect()
            } else {
                let mut y = x.clone();
                if !y.is_empty() {
                    y.remove(rng.below(y.len()));
                }
                y
            };
            assert_eq!(
                at_most_one_edit(&x, &y),
                osa_distance(&x, &y, 1) <= 1,
                "{x:?} {y:?}"
            );
        }
    }

    #[test]
    fn within_one_edit_agrees_with_osa() {
        let mut rng = SplitMix(7);
        for _ in 0..20_000 {
            let x: Vec<u8> = (0..8).map(|_| rng.below(3) as u8).collect();
            let mut y = x.clone();
            for _ in 0..rng.below(3) {
                match rng.below(2) {
                    0 => y[rng.below(8)] = rng.below(3) as u8,
                    _ => {
                        let i = rng.below(7);
                        y.swap(i, i + 1);
                    }
                }
            }
            assert_eq!(
                within_one_edit(&x, &y),
                osa_distance(&x, &y, 1) <= 1,
                "{x:?} {y:?}"
            );
        }
    }
}

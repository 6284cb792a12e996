//! `vigil import`: brings a published table into the record as a mapping file
//! describes it.
//!
//! - A mapping that names a column the file lacks is refused, naming both.
//! - A row that does not parse, a value outside a closed vocabulary, or a date
//!   that contradicts another column of the row is reported with its row and
//!   column and skipped; the rest is imported.
//! - Every record's id is derived from the file's SHA-256 and the row, and
//!   records already held are left alone: importing a file twice changes nothing
//!   the second time, and an import killed midway, run again, completes it.
//!   Rows are written in batches, each in one transaction.

pub mod mapping;

use std::collections::BTreeMap;

/// foldhash: these maps are looked up several times per row of a large table.
type HashMap<K, V> = foldhash::HashMap<K, V>;
use std::fmt;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};
use vigil_core::Day;
use vigil_store::record::{ActionCount, Origin, RecordBatch, SourceRow};
use vigil_store::{DeskStore, StoreError};

pub use mapping::{FieldKind, Mapping, MappingError, TableKind};

use crate::date::PartialDate;
use crate::key::RecordKey;
use crate::model::{
    Action, ActionDetails, Event, EventDetails, ModelError, Person, PersonIdentity, first_stamp,
};
use crate::vocab::{Vocabularies, fold};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error(
        "{file}: the mapping names column {column:?} (for field {field}), which the file lacks; its columns are: {columns}\n\
         {file}: в файле нет столбца «{column}», который называет файл соответствия (поле {field})"
    )]
    MissingColumn {
        file: String,
        column: String,
        field: String,
        columns: String,
    },
    #[error(
        "{file}: the mapping gives no column for the required field {field}: add it to [columns], or give it with --set {field}=VALUE"
    )]
    MissingField { file: String, field: String },
    #[error("--set {0}: unknown field, or not of the form FIELD=VALUE")]
    BadSet(String),
    #[error("--set {field}={value}: {message}")]
    BadSetValue {
        field: String,
        value: String,
        message: String,
    },
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Why one row was skipped: where, and what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The data row, counting from 1 (the header is not counted).
    pub row: u64,
    /// The line of the file where the row starts (cells may span lines).
    pub line: u64,
    pub column: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The CSV row itself is broken (wrong number of cells, not UTF-8).
    Unreadable(String),
    Empty,
    NotADate {
        value: String,
        formats: String,
    },
    NotANumber {
        value: String,
    },
    OutsideVocabulary {
        value: String,
        vocabulary: String,
    },
    Contradicts {
        value: String,
        other_column: String,
        other: String,
    },
}

fn shorten(s: &str) -> String {
    let mut t: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        t.push('…');
    }
    t
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (row, line, col) = (self.row, self.line, &self.column);
        let (ru, en) = match &self.problem {
            Problem::Unreadable(why) => (
                format!("строка не читается ({why})"),
                format!("the row cannot be read ({why})"),
            ),
            Problem::Empty => (
                "пустое значение в обязательном поле".into(),
                "empty, but required".into(),
            ),
            Problem::NotADate { value, formats } => (
                format!("«{}» — не дата ({formats})", shorten(value)),
                format!("{:?} is not a date ({formats})", shorten(value)),
            ),
            Problem::NotANumber { value } => (
                format!("«{}» — не целое неотрицательное число", shorten(value)),
                format!("{:?} is not a whole number", shorten(value)),
            ),
            Problem::OutsideVocabulary { value, vocabulary } => (
                format!(
                    "«{}» нет в словаре {vocabulary}: добавьте написание в [values] файла соответствия или в DATA/vocab/{vocabulary}.toml",
                    shorten(value)
                ),
                format!(
                    "{:?} is not in the {vocabulary} vocabulary: add the spelling to the mapping's [values] or to DATA/vocab/{vocabulary}.toml",
                    shorten(value)
                ),
            ),
            Problem::Contradicts {
                value,
                other_column,
                other,
            } => (
                format!(
                    "дата «{}» противоречит столбцу «{other_column}» («{}»)",
                    shorten(value),
                    shorten(other)
                ),
                format!(
                    "date {:?} contradicts column {other_column:?} ({:?})",
                    shorten(value),
                    shorten(other)
                ),
            ),
        };
        write!(
            f,
            "строка {row} (line {line}), столбец «{col}»: {ru}; строка пропущена\n  row {row} (line {line}), column {col:?}: {en}; row skipped"
        )
    }
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows_read: u64,
    /// Rows whose records were new (in a dry run: rows that would be imported).
    pub imported: u64,
    /// Valid rows whose records the store already held.
    pub already_held: u64,
    pub skipped: u64,
    pub errors: Vec<RowError>,
    /// (field, spelling) of open vocabularies seen but not in the vocabulary, with counts.
    pub new_spellings: BTreeMap<(String, String), u64>,
    /// Detentions the valid rows report (actions tables) or name (events tables).
    pub detentions: u64,
    pub dry_run: bool,
}

/// Told how far the import has read, for a progress bar.
pub trait Progress {
    fn start(&self, total_bytes: u64);
    fn advance_to(&self, bytes: u64);
    fn finish(&self);
}

/// No progress shown.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: u64) {}
    fn advance_to(&self, _: u64) {}
    fn finish(&self) {}
}

/// Where the records go; `None` for a dry run (nothing is written, no key used).
pub struct Target<'a> {
    pub store: &'a dyn DeskStore,
    pub key: &'a RecordKey,
}

pub struct Options {
    /// Field values for every row, `FIELD=VALUE` (they win over the mapping's).
    pub sets: Vec<String>,
    /// Who imports (an account name, or "import"), recorded on every record.
    pub editor: String,
    pub today: Day,
    /// Rows per transaction.
    pub batch_rows: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sets: Vec::new(),
            editor: "import".into(),
            today: Day::today(),
            batch_rows: 10_000,
        }
    }
}

/// A field's value for one row, read and checked.
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    List(Vec<String>),
    Integer(i64),
    Date(PartialDate),
    Year(i32),
}

/// The source of a field: a column of the file or a fixed value.
#[derive(Debug, Clone)]
enum Feed {
    Column { index: usize, name: String },
    Fixed(String),
}

struct Reader<'a> {
    mapping: &'a Mapping,
    vocab: &'a Vocabularies,
    feeds: Vec<(&'static str, FieldKind, Feed)>,
}

/// recfast: what a cell of a vocabulary, gender or date field read as, by
/// field and cell: a large table repeats a few hundred such values a million
/// times, and folding each spelling again cost several allocations. import5:
/// one map per feed (by its place in `feeds`). importread: the reader's own
/// (no lock per cell), and a row's fields point at the values kept here
/// instead of holding a copy of each (one `String` less per cell per row).
struct Cache {
    feeds: Vec<FeedCache>,
}

#[derive(Default)]
struct FeedCache {
    /// Cell as written → its place in `values`.
    places: HashMap<String, u32>,
    values: Vec<Cached>,
}

type Cached = (Result<Option<Value>, Problem>, Vec<(String, String)>);

impl Cache {
    fn new(feeds: usize) -> Cache {
        Cache {
            feeds: (0..feeds).map(|_| FeedCache::default()).collect(),
        }
    }

    /// The value of a cached cell (`None` if there is none: never for a
    /// `Got::Cached` that this cache gave).
    fn value(&self, feed: u32, place: u32) -> Option<&Value> {
        self.feeds
            .get(feed as usize)?
            .values
            .get(place as usize)?
            .0
            .as_ref()
            .ok()?
            .as_ref()
    }
}

/// A field's value in a row: its own, or one kept in the [`Cache`].
#[derive(Debug, Clone)]
enum Got {
    Own(Value),
    Cached { feed: u32, place: u32 },
}

/// Distinct cells remembered per field (free text is never cached).
const CACHE_PER_FIELD: usize = 50_000;

/// A record's id from the file and the row it came from,
/// `numbered(&id_head(prefix, file_sha, mark), row)`: the same on every run
/// (which makes an import idempotent), and in the file's order, so that a large
/// import appends to the ends of the id indexes instead of writing all over
/// them (random ids cost a B-tree page read and split per row). The file is
/// named by 64 bits of its SHA-256; the row is zero-padded so that text order
/// is row order. `mark` tells apart ids made from a row for different uses.
/// This is what every id of a kind starts with in one file.
fn id_head(prefix: &str, file_sha: &str, mark: &str) -> String {
    format!("{prefix}{}{mark}", file_sha.get(..16).unwrap_or(file_sha))
}

/// `head` and `row` zero-padded to at least 10 digits: `format!("{head}{row:010}")`
/// without the formatting machinery (importread: three ids per row).
fn numbered(head: &str, row: u64) -> String {
    let mut digits = [b'0'; 20];
    let mut n = row;
    let mut at = digits.len();
    while n > 0 {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let from = at.min(digits.len() - 10);
    let mut id = String::with_capacity(head.len() + digits.len() - from);
    id.push_str(head);
    for &d in &digits[from..] {
        id.push(char::from(d));
    }
    id
}

/// The heads of a file's record ids (see [`id_head`]).
struct RowIds {
    action: String,
    keyed_action: String,
    person: String,
    event: String,
}

impl RowIds {
    fn new(file_sha: &str) -> RowIds {
        RowIds {
            action: id_head("a-", file_sha, "-"),
            keyed_action: id_head("a-", file_sha, "-k"),
            person: id_head("p-", file_sha, "-"),
            event: id_head("e-", file_sha, "-"),
        }
    }
}

impl Reader<'_> {
    /// Reads one field of a row; `Ok(None)` for an empty cell. Remembers the
    /// answers for fields whose cells repeat. `feed` is the field's place in
    /// `feeds`.
    fn read(
        &self,
        cache: &mut Cache,
        feed: usize,
        field: &str,
        kind: FieldKind,
        raw: &str,
        new_spellings: &mut Vec<(String, String)>,
    ) -> Result<Option<Got>, Problem> {
        let cacheable = matches!(
            kind,
            FieldKind::Vocab(_) | FieldKind::VocabList(_) | FieldKind::Gender | FieldKind::Date
        );
        let own = |v: Result<Option<Value>, Problem>| v.map(|v| v.map(Got::Own));
        let Some(of_field) = cache.feeds.get_mut(feed).filter(|_| cacheable) else {
            return own(self.read_cell(field, kind, raw, new_spellings));
        };
        let place = match of_field.places.get(raw) {
            Some(&place) => place,
            None => {
                let mut new = Vec::new();
                let value = self.read_cell(field, kind, raw, &mut new);
                let place = u32::try_from(of_field.values.len()).unwrap_or(u32::MAX);
                if of_field.values.len() >= CACHE_PER_FIELD || place == u32::MAX {
                    new_spellings.extend(new);
                    return own(value);
                }
                of_field.places.insert(raw.to_owned(), place);
                of_field.values.push((value, new));
                place
            }
        };
        let Some((value, new)) = of_field.values.get(place as usize) else {
            return own(self.read_cell(field, kind, raw, new_spellings));
        };
        new_spellings.extend(new.iter().cloned());
        match value {
            Ok(Some(_)) => Ok(Some(Got::Cached {
                feed: u32::try_from(feed).unwrap_or(u32::MAX),
                place,
            })),
            Ok(None) => Ok(None),
            Err(p) => Err(p.clone()),
        }
    }

    fn read_cell(
        &self,
        field: &str,
        kind: FieldKind,
        raw: &str,
        new_spellings: &mut Vec<(String, String)>,
    ) -> Result<Option<Value>, Problem> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        // Folded only where the mapping lists spellings for the field.
        let spellings = self.mapping.values.get(field);
        let mapped = |v: &str| -> String { mapped_in(spellings, v).into_owned() };
        let vocab_code =
            |v: &str, name: &str, new: &mut Vec<(String, String)>| -> Result<String, Problem> {
                let v = mapped(v);
                let Some(vocab) = self.vocab.get(name) else {
                    return Ok(v);
                };
                match vocab.find(&v) {
                    Some(e) => Ok(e.code.clone()),
                    None if !vocab.closed => {
                        new.push((field.to_owned(), v.clone()));
                        Ok(v)
                    }
                    None => Err(Problem::OutsideVocabulary {
                        value: v,
                        vocabulary: name.to_owned(),
                    }),
                }
            };
        let split = |v: &str| -> Vec<String> {
            let seps = self.mapping.split.get(field);
            let mut parts = vec![v.to_owned()];
            for sep in seps.into_iter().flatten() {
                parts = parts
                    .iter()
                    .flat_map(|p| p.split(sep.as_str()).map(str::to_owned).collect::<Vec<_>>())
                    .collect();
            }
            parts
                .into_iter()
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|p| !p.is_empty())
                .collect()
        };
        Ok(Some(match kind {
            FieldKind::Text => Value::Text(mapped(raw)),
            FieldKind::TextList => Value::List(split(raw)),
            FieldKind::Integer => {
                let v = mapped_in(spellings, raw);
                let spaced = |c: char| c == ' ' || c == '\u{a0}';
                let n: Option<i64> = if v.contains(spaced) {
                    v.replace(spaced, "").parse().ok()
                } else {
                    v.parse().ok()
                };
                let n = n.filter(|n| *n >= 0).ok_or_else(|| Problem::NotANumber {
                    value: v.clone().into_owned(),
                })?;
                Value::Integer(n)
            }
            FieldKind::Year => {
                let v = mapped_in(spellings, raw);
                let y: i32 = v
                    .parse()
                    .ok()
                    .filter(|y| (1900..=2100).contains(y))
                    .ok_or_else(|| Problem::NotANumber {
                        value: v.clone().into_owned(),
                    })?;
                Value::Year(y)
            }
            FieldKind::Date => {
                let v = mapped(raw);
                let d = self
                    .mapping
                    .date_formats
                    .iter()
                    .find_map(|f| PartialDate::parse_with(&v, f))
                    .ok_or_else(|| Problem::NotADate {
                        value: v.clone(),
                        formats: self.mapping.date_formats.join(", "),
                    })?;
                Value::Date(d)
            }
            FieldKind::Vocab(name) => Value::Text(vocab_code(raw, name, new_spellings)?),
            FieldKind::VocabList(name) => {
                let mut codes = Vec::new();
                for part in split(raw) {
                    let code = vocab_code(&part, name, new_spellings)?;
                    if !codes.contains(&code) {
                        codes.push(code);
                    }
                }
                Value::List(codes)
            }
            FieldKind::Gender => {
                let v = mapped(raw);
                match fold(&v).as_str() {
                    "female" | "f" | "ж" | "женский" | "женщина" => {
                        Value::Text("female".into())
                    }
                    "male" | "m" | "м" | "мужской" | "мужчина" => {
                        Value::Text("male".into())
                    }
                    "other" | "другой" => Value::Text("other".into()),
                    _ => {
                        return Err(Problem::OutsideVocabulary {
                            value: v,
                            vocabulary: "gender (female, male, other)".into(),
                        });
                    }
                }
            }
        }))
    }
}

/// The index of a field in `mapping::FIELDS`, found at compile time.
const fn slot(name: &str) -> usize {
    let mut i = 0;
    while i < mapping::FIELDS.len() {
        let (a, b) = (mapping::FIELDS[i].0.as_bytes(), name.as_bytes());
        let mut same = a.len() == b.len();
        let mut j = 0;
        while same && j < a.len() {
            same = a[j] == b[j];
            j += 1;
        }
        if same {
            return i;
        }
        i += 1;
    }
    i
}

/// A cell as the mapping's spellings for its field (`spellings`) map it, or
/// as written, trimmed. Folded only where the mapping lists spellings.
fn mapped_in<'v>(
    spellings: Option<&BTreeMap<String, String>>,
    v: &'v str,
) -> std::borrow::Cow<'v, str> {
    spellings
        .and_then(|m| {
            let f = fold(v);
            m.iter()
                .find(|(k, _)| fold(k) == f)
                .map(|(_, to)| std::borrow::Cow::Owned(to.clone()))
        })
        .unwrap_or(std::borrow::Cow::Borrowed(v.trim()))
}

/// A field's slot in [`Fields`]; a name that is no field does not compile.
macro_rules! at {
    ($name:literal) => {{
        const I: usize = slot($name);
        const { assert!(I < mapping::FIELDS.len(), "not a field of mapping::FIELDS") };
        I
    }};
}

/// One row's fields, read: a slot per field of `mapping::FIELDS` (import4:
/// was a map made anew for every row, with its growths and hashing).
struct Fields(Vec<Option<Got>>);

impl Fields {
    fn new() -> Fields {
        Fields(vec![None; mapping::FIELDS.len()])
    }
    fn clear(&mut self) {
        for v in &mut self.0 {
            *v = None;
        }
    }
}

/// A row's fields with the cache their values may be kept in.
struct Row<'a> {
    fields: &'a mut Fields,
    cache: &'a Cache,
}

impl Row<'_> {
    fn get(&self, i: usize) -> Option<&Value> {
        match self.fields.0.get(i)?.as_ref()? {
            Got::Own(v) => Some(v),
            Got::Cached { feed, place } => self.cache.value(*feed, *place),
        }
    }
    fn text(&self, i: usize) -> Option<String> {
        match self.get(i) {
            Some(Value::Text(s)) => Some(s.clone()),
            _ => None,
        }
    }
    fn str(&self, i: usize) -> Option<&str> {
        match self.get(i) {
            Some(Value::Text(s)) => Some(s),
            _ => None,
        }
    }
    /// Like `text`, for the last use of a field: a row's own text is moved
    /// out instead of copied.
    fn take_text(&mut self, i: usize) -> Option<String> {
        if let Some(slot) = self.fields.0.get_mut(i)
            && let Some(Got::Own(Value::Text(s))) = slot
        {
            return Some(std::mem::take(s));
        }
        self.text(i)
    }
    fn is(&self, i: usize, text: &str) -> bool {
        matches!(self.get(i), Some(Value::Text(s)) if s == text)
    }
    fn list(&self, i: usize) -> Vec<String> {
        match self.get(i) {
            Some(Value::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }
    fn int(&self, i: usize) -> Option<i64> {
        match self.get(i) {
            Some(Value::Integer(n)) => Some(*n),
            _ => None,
        }
    }
    fn date(&self) -> PartialDate {
        match self.get(at!("date")) {
            Some(Value::Date(d)) => *d,
            _ => PartialDate::UNKNOWN,
        }
    }
}

fn sha256_file(path: &Path) -> Result<(String, u64), ImportError> {
    let err = |e: std::io::Error| ImportError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut f = std::fs::File::open(path).map_err(err)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), total))
}

/// Imports `file` as `mapping` describes it into `target` (or, with `None`,
/// only reads and checks it: a dry run).
pub async fn import(
    file: &Path,
    mapping: &Mapping,
    vocab: &Vocabularies,
    target: Option<Target<'_>>,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Summary, ImportError> {
    let shown = file.display().to_string();
    let (file_sha, total_bytes) = sha256_file(file)?;
    let read_err = |e: csv::Error| ImportError::Read {
        path: shown.clone(),
        message: e.to_string(),
    };
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .map_err(read_err)?;
    let header: Vec<String> = csv
        .headers()
        .map_err(read_err)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
        .collect();

    // Which column or fixed value feeds each field: --set wins over the
    // mapping's [set], which wins over a column.
    let mut fixed: BTreeMap<String, String> = mapping.set.clone();
    for s in &options.sets {
        let (f, v) = s
            .split_once('=')
            .filter(|(f, _)| mapping::field_kind(f.trim()).is_some())
            .ok_or_else(|| ImportError::BadSet(s.clone()))?;
        fixed.insert(f.trim().to_owned(), v.to_owned());
    }
    let mut feeds = Vec::new();
    for (name, kind, table) in mapping::FIELDS {
        if table.is_some_and(|t| t != mapping.table) {
            continue;
        }
        if let Some(v) = fixed.get(*name) {
            feeds.push((*name, *kind, Feed::Fixed(v.clone())));
        } else if let Some(column) = mapping.columns.get(*name) {
            match header.iter().position(|h| h == column) {
                Some(index) => feeds.push((
                    *name,
                    *kind,
                    Feed::Column {
                        index,
                        name: column.clone(),
                    },
                )),
                None if mapping.optional.iter().any(|o| o == name) => {}
                None => {
                    return Err(ImportError::MissingColumn {
                        file: shown,
                        column: column.clone(),
                        field: (*name).to_owned(),
                        columns: header.join(", "),
                    });
                }
            }
        }
    }
    for field in mapping::required(mapping.table) {
        if !feeds.iter().any(|(n, _, _)| n == field) {
            return Err(ImportError::MissingField {
                file: shown,
                field: (*field).to_owned(),
            });
        }
    }
    // Each feed's slot in a row's `Fields`.
    let slots: Vec<usize> = feeds.iter().map(|(name, _, _)| slot(name)).collect();
    let mut cache = Cache::new(feeds.len());
    let reader = Reader {
        mapping,
        vocab,
        feeds,
    };
    // A fixed value must itself be valid, or every row would fail the same way.
    for (at, (name, kind, feed)) in reader.feeds.iter().enumerate() {
        if let Feed::Fixed(v) = feed {
            reader
                .read(&mut cache, at, name, *kind, v, &mut Vec::new())
                .map_err(|p| ImportError::BadSetValue {
                    field: (*name).to_owned(),
                    value: v.clone(),
                    message: RowError {
                        row: 0,
                        line: 0,
                        column: format!("--set {name}"),
                        problem: p,
                    }
                    .to_string(),
                })?;
        }
    }

    let source_id = format!("f-{}", &file_sha[..32]);
    let ids = RowIds::new(&file_sha);
    let stamp = first_stamp(&options.editor, options.today);
    let source = |key: &RecordKey| -> Result<SourceRow, ImportError> {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(SourceRow {
            id: source_id.clone(),
            kind: "file".into(),
            report_id: None,
            file_sha256: Some(file_sha.clone()),
            sealed: Some(
                key.seal(&source_id, name.as_bytes())
                    .map_err(ModelError::from)?,
            ),
            added: options.today,
        })
    };

    // Reading, checking and sealing rows (here) and writing them (on the
    // database's own thread) overlap: while one batch is written, the next is
    // made. The reader yields now and then so that the writer, polled on the
    // same task, can hand the database its next statement without delay.
    let (to_writer, mut batches) = tokio::sync::mpsc::channel::<(RecordBatch, u64)>(1);
    let key = target.as_ref().map(|t| t.key);
    let produce = async {
        let to_writer = to_writer;
        let mut summary = Summary {
            dry_run: key.is_none(),
            ..Summary::default()
        };
        // importread: a batch's rows are put where they stay, instead of
        // being moved to twice the room a dozen times as it fills.
        let empty_batch = || {
            let mut b = RecordBatch::default();
            let rows = options.batch_rows.min(1 << 16);
            match mapping.table {
                TableKind::Actions => {
                    b.actions.reserve(rows);
                    b.counts.reserve(rows);
                }
                TableKind::Events => {
                    b.persons.reserve(rows);
                    b.events.reserve(rows);
                }
            }
            b
        };
        let mut batch = empty_batch();
        let mut batch_valid = 0u64;
        let mut actions_by_key: HashMap<String, String> = HashMap::default();
        progress.start(total_bytes);
        let mut record = csv::StringRecord::new();
        let mut row: u64 = 0;
        let mut fields = Fields::new();
        let mut new = Vec::new();
        loop {
            let line = csv.position().line();
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    row += 1;
                    summary.rows_read += 1;
                    summary.skipped += 1;
                    summary.errors.push(RowError {
                        row,
                        line,
                        column: "-".into(),
                        problem: Problem::Unreadable(e.to_string().chars().take(120).collect()),
                    });
                    // A broken record may leave the reader unable to go on.
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            }
            row += 1;
            summary.rows_read += 1;
            if row.is_multiple_of(4096) {
                progress.advance_to(csv.position().byte());
            }
            if row.is_multiple_of(32) {
                tokio::task::yield_now().await;
            }
            fields.clear();
            new.clear();
            let mut failed = None;
            if record.len() != header.len() {
                failed = Some(RowError {
                    row,
                    line,
                    column: "-".into(),
                    problem: Problem::Unreadable(format!(
                        "{} cells where the header has {}",
                        record.len(),
                        header.len()
                    )),
                });
            }
            for (at, ((name, kind, feed), &slot)) in reader.feeds.iter().zip(&slots).enumerate() {
                if failed.is_some() {
                    break;
                }
                let (raw, column) = match feed {
                    Feed::Column { index, name } => {
                        (record.get(*index).unwrap_or(""), name.as_str())
                    }
                    Feed::Fixed(v) => (v.as_str(), "--set"),
                };
                match reader.read(&mut cache, at, name, *kind, raw, &mut new) {
                    Ok(Some(v)) => {
                        if let Some(at) = fields.0.get_mut(slot) {
                            *at = Some(v);
                        }
                    }
                    Ok(None)
                        if mapping::required(mapping.table).contains(name) && *name != "date" =>
                    {
                        failed = Some(RowError {
                            row,
                            line,
                            column: column.to_owned(),
                            problem: Problem::Empty,
                        });
                    }
                    Ok(None) => {}
                    Err(problem) => {
                        failed = Some(RowError {
                            row,
                            line,
                            column: column.to_owned(),
                            problem,
                        });
                    }
                }
            }
            let mut f = Row {
                fields: &mut fields,
                cache: &cache,
            };
            // A date that contradicts the row's year column.
            if failed.is_none()
                && let (Some(Value::Year(y)), Some(Value::Date(d))) =
                    (f.get(at!("year")), f.get(at!("date")))
                && d.year() != Some(*y)
            {
                let column_of = |f: &str| {
                    reader
                        .feeds
                        .iter()
                        .find(|(n, _, _)| *n == f)
                        .map(|(_, _, feed)| match feed {
                            Feed::Column { name, .. } => name.clone(),
                            Feed::Fixed(_) => format!("--set {f}"),
                        })
                        .unwrap_or_default()
                };
                failed = Some(RowError {
                    row,
                    line,
                    column: column_of("date"),
                    problem: Problem::Contradicts {
                        value: d.to_string(),
                        other_column: column_of("year"),
                        other: y.to_string(),
                    },
                });
            }
            if let Some(e) = failed {
                summary.skipped += 1;
                summary.errors.push(e);
                continue;
            }
            for n in new.drain(..) {
                *summary.new_spellings.entry(n).or_default() += 1;
            }
            batch_valid += 1;
            match mapping.table {
                TableKind::Actions => {
                    summary.detentions += f.int(at!("detained")).unwrap_or(0).unsigned_abs();
                }
                TableKind::Events => {
                    if f.is(at!("event_kind"), "detention") {
                        summary.detentions += 1;
                    }
                }
            }
            if let Some(key) = key {
                add_row(
                    &mut batch,
                    &mut f,
                    mapping.table,
                    key,
                    &ids,
                    &source_id,
                    row,
                    &stamp,
                    &mut actions_by_key,
                )?;
                if batch_valid as usize >= options.batch_rows {
                    batch.sources.push(source(key)?);
                    let full = std::mem::replace(&mut batch, empty_batch());
                    if to_writer.send((full, batch_valid)).await.is_err() {
                        // The writer stopped: its error is the import's.
                        break;
                    }
                    batch_valid = 0;
                }
            } else {
                summary.imported += 1;
            }
        }
        if let Some(key) = key
            && batch_valid > 0
        {
            batch.sources.push(source(key)?);
            // A failed send means the writer stopped with an error, which wins.
            let _ = to_writer.send((batch, batch_valid)).await;
        }
        Ok::<Summary, ImportError>(summary)
    };
    let store = target.as_ref().map(|t| t.store);
    let write = async {
        let (mut imported, mut held) = (0u64, 0u64);
        // importwrite: on an SQLite file the batches go to a writer thread of
        // the import's own, queued up to `PIPE_DEPTH` deep: handing one over
        // is a channel send (waiting only when the queue is full), so the
        // reader is never held back by when its own task polls the writer.
        let pipe = match store {
            Some(store) => store.record_import_pipe(PIPE_DEPTH)?,
            None => None,
        };
        if let Some(mut pipe) = pipe {
            let mut valids = Vec::new();
            while let Some((batch, valid)) = batches.recv().await {
                valids.push(valid);
                if !pipe.send(batch) {
                    break;
                }
            }
            // The reader stops at its next send (the writer's error wins).
            drop(batches);
            for (outcome, valid) in pipe.finish()?.iter().zip(valids) {
                let new = new_rows(mapping.table, outcome);
                imported += new;
                held += valid - new.min(valid);
            }
            return Ok((imported, held));
        }
        while let Some((batch, valid)) = batches.recv().await {
            let Some(store) = store else { break };
            let outcome = store.record_import(batch).await?;
            let new = new_rows(mapping.table, &outcome);
            imported += new;
            held += valid - new.min(valid);
        }
        Ok::<(u64, u64), ImportError>((imported, held))
    };
    let (mut summary, (imported, held)) = tokio::try_join!(produce, write)?;
    // The counting facts of what was written, so that the next `vigil stats`
    // reads them ready. import4: on an SQLite file the import's writer has
    // already written them batch by batch and this finds nothing to build; it
    // builds them on the other paths.
    if let Some(store) = store {
        store.record_prepare_counting().await?;
    }
    summary.imported += imported;
    summary.already_held += held;
    progress.advance_to(total_bytes);
    progress.finish();
    Ok(summary)
}

/// importwrite: batches queued for the import's writer thread beyond the one
/// it writes (and the one in the channel from the reader, and the one being
/// read): two keep both sides busy through a batch that takes one of them
/// longer, within the import's memory bound of 256 MiB (a batch of 10,000
/// rows is about 16 MiB; 1,000,000 rows peaked at 193–201 MiB with one,
/// 196–215 with two, 208–248 with four; docs/benchmarks.md, run 9).
const PIPE_DEPTH: usize = 2;

fn new_rows(table: TableKind, outcome: &vigil_store::record::BatchOutcome) -> u64 {
    match table {
        TableKind::Actions => outcome.actions,
        TableKind::Events => outcome.events,
    }
}

#[allow(clippy::too_many_arguments)]
fn add_row(
    batch: &mut RecordBatch,
    f: &mut Row,
    table: TableKind,
    key: &RecordKey,
    ids: &RowIds,
    source_id: &str,
    row: u64,
    stamp: &vigil_store::record::Stamp,
    actions_by_key: &mut HashMap<String, String>,
) -> Result<(), ImportError> {
    let origin = Some(Origin {
        source_id: source_id.to_owned(),
        row: i64::try_from(row).ok(),
    });
    let verification = f
        .text(at!("verification"))
        .unwrap_or_else(|| "reported".into());
    let action = |id: String| Action {
        id,
        date: f.date(),
        region: f.text(at!("region")),
        city: f.text(at!("city")),
        kind: f.text(at!("action_kind")).unwrap_or_else(|| "other".into()),
        topic: f.text(at!("topic")),
        organiser: f.text(at!("organiser")),
        authorised: f.text(at!("authorised")),
        verification: verification.clone(),
        details: ActionDetails {
            place: f.text(at!("place")),
            description: f.text(at!("description")),
            links: f.list(at!("links")),
        },
        stations: f.list(at!("police_stations")),
        origin: origin.clone(),
    };
    match table {
        TableKind::Actions => {
            let a = action(numbered(&ids.action, row));
            batch.counts.push(ActionCount {
                action_id: a.id.clone(),
                source_id: source_id.to_owned(),
                detained: f.int(at!("detained")).unwrap_or(0).unsigned_abs(),
            });
            batch.actions.push(a.to_row(key, stamp.clone())?);
        }
        TableKind::Events => {
            // Rows naming the same action key share one action.
            let action_id = match f.str(at!("action")) {
                Some(k) => {
                    let known = actions_by_key.get(k).cloned();
                    Some(match known {
                        Some(id) => id,
                        None => {
                            // Named by the first row that names the key: the
                            // same row on every run of the same file.
                            let aid = numbered(&ids.keyed_action, row);
                            actions_by_key.insert(k.to_owned(), aid.clone());
                            batch
                                .actions
                                .push(action(aid.clone()).to_row(key, stamp.clone())?);
                            aid
                        }
                    })
                }
                None => None,
            };
            let person_id = matches!(f.get(at!("name")), Some(Value::Text(_)))
                .then(|| numbered(&ids.person, row));
            if let Some(pid) = &person_id {
                let person = Person {
                    id: pid.clone(),
                    identity: PersonIdentity {
                        name: f.take_text(at!("name")).unwrap_or_default(),
                        variants: f.list(at!("name_variants")),
                        birth_date: f.text(at!("birth_date")),
                        birth_year: f.int(at!("birth_year")).and_then(|y| i32::try_from(y).ok()),
                        contacts: Vec::new(),
                        notes: None,
                    },
                    gender: f.text(at!("gender")),
                    region: f.text(at!("region")),
                    roles: f.list(at!("roles")),
                    consent: f.text(at!("consent")).unwrap_or_else(|| "none".into()),
                    origin: origin.clone(),
                };
                batch.persons.push(person.into_row(key, stamp.clone())?);
            }
            let event = Event {
                id: numbered(&ids.event, row),
                person_id,
                action_id,
                case_id: None,
                kind: f.text(at!("event_kind")).unwrap_or_else(|| "other".into()),
                date: f.date(),
                region: f.text(at!("region")),
                city: f.text(at!("city")),
                police_station: f.take_text(at!("police_station")),
                court: f.take_text(at!("court")),
                articles: f.list(at!("articles")),
                trigger: f.text(at!("trigger")),
                fine_rub: f.int(at!("fine_rub")),
                arrest_days: f.int(at!("arrest_days")),
                sentence: f.take_text(at!("sentence")),
                verification,
                details: EventDetails {
                    notes: f.take_text(at!("notes")),
                    links: f.list(at!("links")),
                },
                origin,
            };
            batch.events.push(event.into_row(key, stamp.clone())?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// importread: ids are written without `format!`, and must stay what it
    /// wrote (a re-import finds its records by them).
    #[test]
    fn ids_are_the_head_and_the_row_zero_padded_to_ten_digits() {
        let sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        for row in [
            0,
            1,
            9,
            10,
            99,
            12_345,
            999_999_999,
            1_000_000_000,
            9_999_999_999,
            10_000_000_000,
            u64::MAX,
        ] {
            for (prefix, mark) in [("p-", "-"), ("a-", "-k")] {
                assert_eq!(
                    numbered(&id_head(prefix, sha, mark), row),
                    format!("{prefix}{}{mark}{row:010}", &sha[..16]),
                );
            }
        }
        let ids = RowIds::new(sha);
        assert_eq!(numbered(&ids.event, 7), "e-0123456789abcdef-0000000007");
        assert_eq!(
            numbered(&ids.keyed_action, 7),
            "a-0123456789abcdef-k0000000007"
        );
    }
}

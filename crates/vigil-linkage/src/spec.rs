//! What to compare: the id column and each field's kind, as written in a spec file.
//!
//! ```toml
//! id = "rec_id"
//! threshold = 0.5          # optional: match probability from which a pair links
//! [fields]
//! given_name = "given_name"
//! surname = "surname"
//! birth_date = "date"
//! city = "place"
//! [groups]                 # optional: fields that move together, scored as one
//! address = ["street", "house", "postcode"]
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// The kinds of field a spec can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// A whole name in any script and order: surname, given name, patronymic.
    PersonName,
    GivenName,
    Surname,
    Patronymic,
    /// A date with day, month or year precision.
    Date,
    Year,
    /// A city or region.
    Place,
    /// Free text, compared by the words it shares.
    Text,
    /// An identifier that agrees only when equal (one character off counts a little).
    Exact,
}

impl FieldKind {
    pub const ALL: [FieldKind; 9] = [
        FieldKind::PersonName,
        FieldKind::GivenName,
        FieldKind::Surname,
        FieldKind::Patronymic,
        FieldKind::Date,
        FieldKind::Year,
        FieldKind::Place,
        FieldKind::Text,
        FieldKind::Exact,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FieldKind::PersonName => "person_name",
            FieldKind::GivenName => "given_name",
            FieldKind::Surname => "surname",
            FieldKind::Patronymic => "patronymic",
            FieldKind::Date => "date",
            FieldKind::Year => "year",
            FieldKind::Place => "place",
            FieldKind::Text => "text",
            FieldKind::Exact => "exact",
        }
    }
}

impl FromStr for FieldKind {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| SpecError::UnknownKind(s.to_string()))
    }
}

/// One field to compare: a column of the input and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub column: String,
    pub kind: FieldKind,
}

/// A checked spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub id: String,
    pub fields: Vec<FieldSpec>,
    /// Match probability from which a pair is linked.
    pub threshold: f64,
    /// Largest block that blocking compares in full; larger blocks carry too
    /// little information to be worth their pairs.
    pub max_block: usize,
    /// Fields that move together (an address; the date, place and police
    /// station of one action): each group is scored as one comparison, so that
    /// strangers who share the context do not collect its evidence field by field.
    pub groups: Vec<GroupSpec>,
    /// Also group fields whose agreement the data show to be dependent (see
    /// docs/linkage.md, "Shared context"). On unless the spec says `auto_groups = false`.
    pub auto_groups: bool,
}

/// A named group of fields (by column name, as in `[fields]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    pub name: String,
    pub fields: Vec<String>,
}

pub const DEFAULT_THRESHOLD: f64 = 0.5;
pub const DEFAULT_MAX_BLOCK: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    id: String,
    fields: BTreeMap<String, String>,
    threshold: Option<f64>,
    max_block: Option<usize>,
    #[serde(default)]
    groups: BTreeMap<String, Vec<String>>,
    auto_groups: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SpecError {
    Toml(String),
    UnknownKind(String),
    NoFields,
    Threshold(f64),
    /// A group names a field that `[fields]` does not have.
    GroupField {
        group: String,
        field: String,
    },
    /// A field is in two groups, or twice in one.
    GroupTwice {
        field: String,
    },
    /// A group needs at least two fields.
    GroupTooSmall {
        group: String,
    },
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Toml(e) => write!(f, "{e}"),
            SpecError::UnknownKind(k) => {
                let kinds: Vec<&str> = FieldKind::ALL.iter().map(|k| k.name()).collect();
                write!(
                    f,
                    "unknown field kind {k:?}; the kinds are {}",
                    kinds.join(", ")
                )
            }
            SpecError::NoFields => write!(f, "the [fields] table names no field to compare"),
            SpecError::Threshold(t) => {
                write!(f, "threshold {t} is not a probability between 0 and 1")
            }
            SpecError::GroupField { group, field } => write!(
                f,
                "group {group:?} names {field:?}, which is not a field of [fields]"
            ),
            SpecError::GroupTwice { field } => {
                write!(
                    f,
                    "field {field:?} is in more than one group (or twice in one)"
                )
            }
            SpecError::GroupTooSmall { group } => {
                write!(f, "group {group:?} needs at least two fields")
            }
        }
    }
}

impl std::error::Error for SpecError {}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec, SpecError> {
        let raw: RawSpec = toml::from_str(text).map_err(|e| SpecError::Toml(e.to_string()))?;
        let mut fields = Vec::with_capacity(raw.fields.len());
        for (column, kind) in raw.fields {
            fields.push(FieldSpec {
                column,
                kind: kind.parse()?,
            });
        }
        if fields.is_empty() {
            return Err(SpecError::NoFields);
        }
        let threshold = raw.threshold.unwrap_or(DEFAULT_THRESHOLD);
        if !(threshold > 0.0 && threshold < 1.0) {
            return Err(SpecError::Threshold(threshold));
        }
        let mut groups = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (name, members) in raw.groups {
            if members.len() < 2 {
                return Err(SpecError::GroupTooSmall { group: name });
            }
            for m in &members {
                if !fields.iter().any(|f| &f.column == m) {
                    return Err(SpecError::GroupField {
                        group: name,
                        field: m.clone(),
                    });
                }
                if !seen.insert(m.clone()) {
                    return Err(SpecError::GroupTwice { field: m.clone() });
                }
            }
            groups.push(GroupSpec {
                name,
                fields: members,
            });
        }
        Ok(Spec {
            id: raw.id,
            fields,
            threshold,
            max_block: raw.max_block.unwrap_or(DEFAULT_MAX_BLOCK).max(2),
            groups,
            auto_groups: raw.auto_groups.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let spec = Spec::parse(
            r#"
id = "rec_id"
[fields]
given_name = "given_name"
surname = "surname"
patronymic = "patronymic"
birth_date = "date"
city = "place"
"#,
        )
        .unwrap();
        assert_eq!(spec.id, "rec_id");
        assert_eq!(spec.fields.len(), 5);
        assert!(spec.fields.contains(&FieldSpec {
            column: "city".into(),
            kind: FieldKind::Place
        }));
        assert_eq!(spec.threshold, DEFAULT_THRESHOLD);
    }

    #[test]
    fn unknown_kind_names_the_kinds() {
        let err = Spec::parse("id = \"x\"\n[fields]\na = \"nmae\"\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("\"nmae\"") && msg.contains("person_name"),
            "{msg}"
        );
    }

    #[test]
    fn groups_are_checked() {
        let base = "id = \"x\"\n[fields]\na = \"text\"\nb = \"exact\"\nc = \"place\"\n";
        let ok = Spec::parse(&format!("{base}[groups]\naddr = [\"a\", \"b\"]\n")).unwrap();
        assert_eq!(ok.groups.len(), 1);
        assert_eq!(ok.groups[0].fields, vec!["a", "b"]);
        assert!(ok.auto_groups);
        let unknown = Spec::parse(&format!("{base}[groups]\naddr = [\"a\", \"z\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("\"z\"") && unknown.contains("addr"),
            "{unknown}"
        );
        let twice = Spec::parse(&format!(
            "{base}[groups]\nx = [\"a\", \"b\"]\ny = [\"b\", \"c\"]\n"
        ))
        .unwrap_err();
        assert_eq!(twice, SpecError::GroupTwice { field: "b".into() });
        assert!(Spec::parse(&format!("{base}[groups]\nx = [\"a\"]\n")).is_err());
        let off = Spec::parse(&format!("auto_groups = false\n{base}")).unwrap();
        assert!(!off.auto_groups);
    }

    #[test]
    fn unknown_key_is_refused() {
        assert!(Spec::parse("id = \"x\"\nthreshhold = 0.5\n[fields]\na = \"text\"\n").is_err());
    }
}

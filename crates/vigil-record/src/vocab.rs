//! Controlled vocabularies as data files with Russian and English labels: event
//! kinds, protest-action kinds, triggers, roles, law articles, regions, topics.
//! The files in `crates/vigil-record/vocab/` are built in; an admin extends a
//! vocabulary with a file of the same shape in `DATA/vocab/NAME.toml`, adding
//! entries or spellings (an entry with a known code adds its spellings to it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The vocabularies vigil knows, with their built-in files.
const BUILT_IN: &[(&str, &str)] = &[
    ("event_kinds", include_str!("../vocab/event_kinds.toml")),
    ("action_kinds", include_str!("../vocab/action_kinds.toml")),
    ("triggers", include_str!("../vocab/triggers.toml")),
    ("roles", include_str!("../vocab/roles.toml")),
    ("articles", include_str!("../vocab/articles.toml")),
    ("regions", include_str!("../vocab/regions.toml")),
    ("topics", include_str!("../vocab/topics.toml")),
    ("authorised", include_str!("../vocab/authorised.toml")),
    ("consent", include_str!("../vocab/consent.toml")),
    ("verification", include_str!("../vocab/verification.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    #[error("vocabulary file {path}: {message}")]
    File { path: String, message: String },
    #[error("vocabulary file {path}: unknown vocabulary {name:?}; known: {known}")]
    Unknown {
        path: String,
        name: String,
        known: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    vocabulary: String,
    #[serde(default)]
    closed: Option<bool>,
    #[serde(default)]
    entry: Vec<Entry>,
}

/// One entry: a stable code and its labels.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub code: String,
    pub ru: String,
    pub en: String,
    /// For regions: the subject's number in Russian registers.
    #[serde(default)]
    pub number: Option<u32>,
    /// Other ways tables write it (matched ignoring case and extra spaces).
    #[serde(default)]
    pub spellings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub name: String,
    /// Closed: a value outside it is refused. Open: kept as written and reported.
    pub closed: bool,
    pub entries: Vec<Entry>,
    lookup: HashMap<String, usize>,
}

/// Folds a spelling for matching: lower case, inner spaces collapsed, trimmed,
/// "ё" as "е".
pub fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .replace('ё', "е")
}

impl Vocabulary {
    fn new(name: &str, closed: bool) -> Self {
        Vocabulary {
            name: name.to_owned(),
            closed,
            entries: Vec::new(),
            lookup: HashMap::new(),
        }
    }

    fn add(&mut self, entry: Entry) {
        let index = match self.entries.iter().position(|e| e.code == entry.code) {
            Some(i) => {
                let known = &mut self.entries[i];
                known.spellings.extend(entry.spellings.iter().cloned());
                i
            }
            None => {
                self.entries.push(entry.clone());
                self.entries.len() - 1
            }
        };
        let e = &self.entries[index];
        let number = e.number.map(|n| n.to_string());
        for s in [&e.code, &e.ru, &e.en]
            .into_iter()
            .chain(e.spellings.iter())
            .chain(number.iter())
        {
            // The first entry to claim a spelling keeps it.
            self.lookup.entry(fold(s)).or_insert(index);
        }
    }

    /// The entry a spelling names, if any.
    pub fn find(&self, spelling: &str) -> Option<&Entry> {
        self.lookup.get(&fold(spelling)).map(|&i| &self.entries[i])
    }

    /// The entry with this code.
    pub fn get(&self, code: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.code == code)
    }
}

/// Every vocabulary, built-in and extended from the data folder.
#[derive(Debug, Clone)]
pub struct Vocabularies {
    by_name: HashMap<String, Vocabulary>,
}

fn parse(path: &str, text: &str) -> Result<File, VocabError> {
    let file: File = toml::from_str(text).map_err(|e| VocabError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if file.version != 1 {
        return Err(VocabError::File {
            path: path.to_owned(),
            message: format!("version {} is not known; use version = 1", file.version),
        });
    }
    Ok(file)
}

impl Vocabularies {
    /// The built-in vocabularies only.
    pub fn built_in() -> Result<Self, VocabError> {
        let mut by_name = HashMap::new();
        for (name, text) in BUILT_IN {
            let file = parse(&format!("(built in) {name}.toml"), text)?;
            let mut v = Vocabulary::new(name, file.closed.unwrap_or(true));
            for e in file.entry {
                v.add(e);
            }
            by_name.insert((*name).to_owned(), v);
        }
        Ok(Vocabularies { by_name })
    }

    /// The built-in vocabularies extended by `DATA/vocab/*.toml`, if that folder exists.
    pub fn load(data: &Path) -> Result<Self, VocabError> {
        let mut all = Self::built_in()?;
        let dir = data.join("vocab");
        let Ok(read) = std::fs::read_dir(&dir) else {
            return Ok(all);
        };
        let mut paths: Vec<PathBuf> = read
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| VocabError::File {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            all.extend(&shown, &text)?;
        }
        Ok(all)
    }

    /// Adds the entries of one extension file.
    pub fn extend(&mut self, path: &str, text: &str) -> Result<(), VocabError> {
        let file = parse(path, text)?;
        let known = self.names().join(", ");
        let v = self
            .by_name
            .get_mut(&file.vocabulary)
            .ok_or_else(|| VocabError::Unknown {
                path: path.to_owned(),
                name: file.vocabulary.clone(),
                known,
            })?;
        for e in file.entry {
            v.add(e);
        }
        Ok(())
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.keys().cloned().collect();
        names.sort();
        names
    }

    /// A vocabulary by name; every name in the built-in list exists.
    pub fn get(&self, name: &str) -> Option<&Vocabulary> {
        self.by_name.get(name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_region_has_labels_and_a_code_and_spellings_find_them() {
        let v = Vocabularies::built_in().unwrap();
        let regions = v.get("regions").unwrap();
        assert_eq!(regions.entries.len(), 85);
        assert_eq!(regions.find(" г.  Москва ").unwrap().code, "RU-MOW");
        assert_eq!(regions.find("moscow").unwrap().code, "RU-MOW");
        assert_eq!(regions.find("77").unwrap().code, "RU-MOW");
        assert_eq!(
            regions.find("Нижегородская область").unwrap().en,
            "Nizhny Novgorod Oblast"
        );
        assert!(regions.find("Атлантида").is_none());
        let kinds = v.get("event_kinds").unwrap();
        for code in [
            "detention",
            "fine",
            "administrative_arrest",
            "criminal_case",
            "search",
            "sentence",
        ] {
            assert!(kinds.get(code).is_some(), "{code}");
        }
        let articles = v.get("articles").unwrap();
        for spelling in [
            "19.3", "20.2", "20.3.3", "20.33", "207.3", "280.3", "280.4", "275", "275.1", "284.1",
            "212", "318",
        ] {
            assert!(articles.find(spelling).is_some(), "{spelling}");
        }
        assert!(!v.get("topics").unwrap().closed);
    }

    #[test]
    fn an_admin_file_adds_entries_and_spellings() {
        let mut v = Vocabularies::built_in().unwrap();
        v.extend(
            "DATA/vocab/extra.toml",
            "version = 1\nvocabulary = \"action_kinds\"\n\
             [[entry]]\ncode = \"flash_mob\"\nru = \"флешмоб\"\nen = \"flash mob\"\n\
             [[entry]]\ncode = \"rally\"\nru = \"митинг\"\nen = \"rally\"\nspellings = [\"сход\"]\n",
        )
        .unwrap();
        let kinds = v.get("action_kinds").unwrap();
        assert_eq!(kinds.find("Флешмоб").unwrap().code, "flash_mob");
        assert_eq!(kinds.find("сход").unwrap().code, "rally");
        let err = v
            .extend("x.toml", "version = 1\nvocabulary = \"colours\"\n")
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown vocabulary \"colours\""),
            "{err}"
        );
    }
}

//! The region picker's list: the record's regions vocabulary (ISO 3166-2 codes
//! with Russian and English names), embedded from the one file the desk also
//! reads, so the two never disagree. The intake does not depend on the record
//! crate: it only needs the codes and the names.

use std::sync::OnceLock;

use serde::Deserialize;
use vigil_core::Lang;

const VOCAB: &str = include_str!("../../vigil-record/vocab/regions.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Region {
    pub code: String,
    pub ru: String,
    pub en: String,
    /// Other ways people write it ("Питер", "СПб"); the bot matches typed
    /// names against them.
    #[serde(default)]
    pub spellings: Vec<String>,
}

impl Region {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        }
    }
}

#[derive(Deserialize)]
struct Vocab {
    entry: Vec<Region>,
}

/// Every region, sorted by its Russian name (the order a reporter looks in).
pub fn regions() -> &'static [Region] {
    static LIST: OnceLock<Vec<Region>> = OnceLock::new();
    LIST.get_or_init(|| {
        // The file is embedded and checked by a test; an unreadable one gives
        // an empty picker (the region is optional) rather than a crash.
        let mut list = toml::from_str::<Vocab>(VOCAB)
            .map(|v| v.entry)
            .unwrap_or_default();
        list.sort_by(|a, b| a.ru.cmp(&b.ru));
        list
    })
}

pub(crate) fn find(code: &str) -> Option<&'static Region> {
    regions().iter().find(|r| r.code == code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_vocabulary_reads_whole() {
        let list = super::regions();
        assert_eq!(list.len(), 85);
        assert!(super::find("RU-MOW").is_some_and(|r| r.en.contains("Moscow")));
    }
}

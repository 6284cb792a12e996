//! The two languages every page a person reads is written in. Russian comes first:
//! most reporters write in it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ru,
    En,
}

impl Lang {
    /// Reads a language code as sent by a form, a query or an API client; anything
    /// that is not English falls back to Russian.
    pub fn from_code(code: Option<&str>) -> Lang {
        match code.map(|c| c.trim().to_ascii_lowercase()) {
            Some(c) if c == "en" || c.starts_with("en-") => Lang::En,
            _ => Lang::Ru,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// Picks the text in this language from a Russian/English pair.
    pub fn pick(self, ru: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }
}

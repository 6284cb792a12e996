//! Text clean-up shared by every comparator: Unicode normalisation, case, ё/е,
//! punctuation and whitespace.

use unicode_normalization::UnicodeNormalization;

/// Which alphabet a piece of text is written in, as far as names are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Cyrillic,
    Latin,
    /// Both, or neither (digits only, empty).
    Mixed,
}

/// Normalises free text for comparison: NFC, lower case, `ё` → `е`, every run of
/// punctuation or whitespace becomes one space, no leading or trailing space.
///
/// Letters, digits and combining marks survive; apostrophes and the hard and soft
/// sign stand-ins of transliterations (`'`, `ʹ`, `ʺ`, `` ` ``) are dropped without
/// splitting the word, because `Ilʹya` and `Ilya` are one name.
pub fn normalize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.nfc() {
        if matches!(c, '\'' | 'ʹ' | 'ʺ' | '`' | '’' | 'ʼ' | '"' | '´') {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            for lower in c.to_lowercase() {
                out.push(match lower {
                    'ё' => 'е',
                    other => other,
                });
            }
        } else if is_combining(c) {
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// True for the combining marks that NFC leaves standing (e.g. the tie in `t͡s`).
fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F)
}

/// Detects the script of already normalised text.
pub fn script_of(text: &str) -> Script {
    let mut cyr = false;
    let mut lat = false;
    for c in text.chars() {
        if is_cyrillic(c) {
            cyr = true;
        } else if c.is_alphabetic() {
            lat = true;
        }
    }
    match (cyr, lat) {
        (true, false) => Script::Cyrillic,
        (false, true) => Script::Latin,
        _ => Script::Mixed,
    }
}

pub fn is_cyrillic(c: char) -> bool {
    matches!(c as u32, 0x0400..=0x04FF)
}

/// Splits normalised text into words.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(' ').filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_case_yo_punctuation_and_space() {
        assert_eq!(normalize("  Семёнов,  ПЁТР "), "семенов петр");
        assert_eq!(normalize("Ilʹya"), "ilya");
        assert_eq!(normalize("Anna-Maria\tO'Neil"), "anna maria oneil");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn composes_decomposed_letters() {
        // "й" written as "и" + combining breve must equal the precomposed letter.
        assert_eq!(normalize("Андреи\u{306}"), "андрей");
    }

    #[test]
    fn detects_script() {
        assert_eq!(script_of("юлия"), Script::Cyrillic);
        assert_eq!(script_of("yulia"), Script::Latin);
        assert_eq!(script_of("юлия yulia"), Script::Mixed);
    }
}

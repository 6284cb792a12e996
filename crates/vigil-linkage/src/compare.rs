//! String similarity and the per-kind comparison levels that scoring learns weights for.

/// Jaro–Winkler similarity of two short strings (byte-wise; keys are ASCII).
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (s, l) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let window = (l.len() / 2).saturating_sub(1);
    let mut l_used = [false; 64];
    let mut s_match = [0u8; 64];
    if l.len() > 64 {
        return if a == b { 1.0 } else { 0.0 };
    }
    let mut m = 0usize;
    for (i, &c) in s.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(l.len());
        for j in lo..hi {
            if !l_used[j] && l[j] == c {
                l_used[j] = true;
                s_match[m] = c;
                m += 1;
                break;
            }
        }
    }
    if m == 0 {
        return 0.0;
    }
    let mut t = 0usize;
    let mut k = 0usize;
    for (j, &c) in l.iter().enumerate() {
        if l_used[j] {
            if c != s_match[k] {
                t += 1;
            }
            k += 1;
        }
    }
    let m = m as f64;
    let jaro = (m / s.len() as f64 + m / l.len() as f64 + (m - t as f64 / 2.0) / m) / 3.0;
    let prefix = s.iter().zip(l).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

/// Optimal string alignment distance (Damerau–Levenshtein with adjacent
/// transpositions), capped: returns `cap + 1` as soon as it is exceeded.
pub fn osa_distance(a: &[u8], b: &[u8], cap: usize) -> usize {
    if a.len().abs_diff(b.len()) > cap {
        return cap + 1;
    }
    let n = b.len();
    let mut prev2 = vec![0usize; n + 1];
    let mut prev: Vec<usize> = (0..=n).collect();
    let mut cur = vec![0usize; n + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > cap {
            return cap + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[n]
}

/// The label of the level where a given name and a surname were written in
/// each other's field ("Иванов Пётр" for "Пётр Иванов").
const SWAPPED: &str = "names swapped (given name and surname in each other's field)";

/// What a comparison column compares; decides its levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    Given,
    Surname,
    Patronymic,
    Date,
    Year,
    Place,
    Text,
    Exact,
    /// Sex as the name forms tell it (given name, patronymic, surname ending).
    Sex,
    /// Fields that move together, scored as one (see `groups.rs`).
    Group,
}

impl ColumnKind {
    /// Level labels, index = level; the highest level is the strongest agreement.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            ColumnKind::Given => &[
                "different names (both known, not forms of one name)",
                "different",
                SWAPPED,
                "initial agrees",
                "similar (Jaro-Winkler >= 0.80)",
                "similar (Jaro-Winkler >= 0.92)",
                "same name, other form (diminutive or variant)",
                "same spelling or transliteration",
            ],
            ColumnKind::Surname => &[
                "different",
                SWAPPED,
                "initial agrees",
                "similar (Jaro-Winkler >= 0.80)",
                "similar (Jaro-Winkler >= 0.92)",
                "same (up to transliteration and gender form)",
            ],
            ColumnKind::Patronymic => &[
                "different",
                "initial agrees",
                "similar (Jaro-Winkler >= 0.88)",
                "same (up to transliteration and gender form)",
            ],
            ColumnKind::Date => &[
                "different",
                "same year only (or years one digit apart, for partial dates)",
                "agree as far as both are known (partial date)",
                "one digit off or two digits transposed",
                "day and month swapped",
                "same day",
            ],
            ColumnKind::Year => &["different", "one year apart", "same year"],
            ColumnKind::Place => &["different", "similar (Jaro-Winkler >= 0.88)", "same"],
            ColumnKind::Text => &[
                "no word in common",
                "some words in common",
                "most words in common",
                "same",
            ],
            ColumnKind::Exact => &["different", "one character off", "same"],
            ColumnKind::Sex => &["different (by the name forms)", "same (by the name forms)"],
            ColumnKind::Group => crate::groups::GROUP_LEVELS,
        }
    }

    /// The level from which term-frequency adjustment applies (value-specific u).
    pub fn tf_level(self) -> Option<u8> {
        match self {
            ColumnKind::Given => Some(7),
            ColumnKind::Surname => Some(5),
            ColumnKind::Place => Some(2),
            ColumnKind::Group => Some(4),
            _ => None,
        }
    }

    /// The level of a given name and surname written in each other's field
    /// (both crosses agree, the fields themselves do not): the same for both
    /// columns of the pair.
    pub fn swapped_level(self) -> Option<u8> {
        match self {
            ColumnKind::Given => Some(2),
            ColumnKind::Surname => Some(1),
            _ => None,
        }
    }

    /// The level "initial agrees" (one side gives only the initial, and it
    /// is the other's).
    pub fn initial_level(self) -> Option<u8> {
        match self {
            ColumnKind::Given => Some(3),
            ColumnKind::Surname => Some(2),
            ColumnKind::Patronymic => Some(1),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ColumnKind::Given => "given name",
            ColumnKind::Surname => "surname",
            ColumnKind::Patronymic => "patronymic",
            ColumnKind::Date => "date",
            ColumnKind::Year => "year",
            ColumnKind::Place => "place",
            ColumnKind::Text => "text",
            ColumnKind::Exact => "exact",
            ColumnKind::Sex => "sex",
            ColumnKind::Group => "group",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaro_winkler_known_values() {
        assert!((jaro_winkler("martha", "marhta") - 0.9611).abs() < 1e-3);
        assert!((jaro_winkler("dwayne", "duane") - 0.84).abs() < 1e-3);
        assert_eq!(jaro_winkler("abc", "abc"), 1.0);
        assert_eq!(jaro_winkler("", "abc"), 0.0);
        assert_eq!(jaro_winkler("abc", "xyz"), 0.0);
    }

    #[test]
    fn osa_known_values() {
        assert_eq!(osa_distance(b"19850916", b"19850916", 2), 0);
        assert_eq!(osa_distance(b"19850916", b"19580916", 2), 1);
        assert_eq!(osa_distance(b"19850916", b"19850917", 2), 1);
        assert_eq!(osa_distance(b"kitten", b"sitting", 5), 3);
        assert_eq!(osa_distance(b"kitten", b"sitting", 1), 2);
    }
}

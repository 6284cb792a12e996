//! Dates as monitors know them: a day, or only a month or a year, or nothing.

use std::fmt;

use time::{Date, Month};
use vigil_core::Day;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    Day,
    Month,
    Year,
    Unknown,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Day => "day",
            Precision::Month => "month",
            Precision::Year => "year",
            Precision::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Precision> {
        match s {
            "day" => Some(Precision::Day),
            "month" => Some(Precision::Month),
            "year" => Some(Precision::Year),
            "unknown" => Some(Precision::Unknown),
            _ => None,
        }
    }
}

/// A date with its precision. For a month or a year, `start` is its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartialDate {
    pub start: Option<Day>,
    pub precision: Precision,
}

impl PartialDate {
    pub const UNKNOWN: PartialDate = PartialDate {
        start: None,
        precision: Precision::Unknown,
    };

    pub fn day(d: Day) -> Self {
        PartialDate {
            start: Some(d),
            precision: Precision::Day,
        }
    }

    pub fn from_parts(year: i32, month: Option<u8>, day: Option<u8>) -> Option<Self> {
        let m = Month::try_from(month.unwrap_or(1)).ok()?;
        let date = Date::from_calendar_date(year, m, day.unwrap_or(1)).ok()?;
        let precision = match (month, day) {
            (Some(_), Some(_)) => Precision::Day,
            (Some(_), None) => Precision::Month,
            (None, None) => Precision::Year,
            (None, Some(_)) => return None,
        };
        Some(PartialDate {
            start: Some(Day::from_date(date)),
            precision,
        })
    }

    pub fn year(&self) -> Option<i32> {
        self.start.map(|d| d.date().year())
    }

    /// Parses `text` with a pattern made of `DD`, `MM`, `YYYY` and literal
    /// characters: "DD.MM.YYYY", "YYYY-MM-DD", "MM.YYYY", "YYYY". The pattern's
    /// fields set the precision. Leading zeros may be missing ("5.1.2013").
    pub fn parse_with(text: &str, pattern: &str) -> Option<Self> {
        let text = text.trim();
        let (mut year, mut month, mut day) = (None, None, None);
        let mut rest = text;
        let mut pat = pattern;
        while !pat.is_empty() {
            let (field, width) = if pat.starts_with("YYYY") {
                ('Y', 4)
            } else if pat.starts_with("MM") {
                ('M', 2)
            } else if pat.starts_with("DD") {
                ('D', 2)
            } else {
                let c = pat.chars().next()?;
                rest = rest.strip_prefix(c)?;
                pat = &pat[c.len_utf8()..];
                continue;
            };
            pat = &pat[width..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            let ok = if field == 'Y' {
                digits == 4
            } else {
                (1..=2).contains(&digits)
            };
            if !ok {
                return None;
            }
            let value: u32 = rest[..digits].parse().ok()?;
            rest = &rest[digits..];
            match field {
                'Y' => year = Some(i32::try_from(value).ok()?),
                'M' => month = Some(u8::try_from(value).ok()?),
                _ => day = Some(u8::try_from(value).ok()?),
            }
        }
        if !rest.is_empty() {
            return None;
        }
        PartialDate::from_parts(year?, month, day)
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(d) = self.start else {
            return f.write_str("unknown");
        };
        let s = d.to_string();
        match self.precision {
            Precision::Day => f.write_str(&s),
            Precision::Month => f.write_str(&s[..7]),
            Precision::Year | Precision::Unknown => f.write_str(&s[..4]),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn patterns_set_precision_and_refuse_nonsense() {
        let d = PartialDate::parse_with("12.01.2013", "DD.MM.YYYY").unwrap();
        assert_eq!(
            (d.to_string(), d.precision),
            ("2013-01-12".into(), Precision::Day)
        );
        assert_eq!(
            PartialDate::parse_with("5.1.2013", "DD.MM.YYYY")
                .unwrap()
                .to_string(),
            "2013-01-05"
        );
        let m = PartialDate::parse_with("05.2012", "MM.YYYY").unwrap();
        assert_eq!(
            (m.to_string(), m.precision),
            ("2012-05".into(), Precision::Month)
        );
        assert_eq!(
            PartialDate::parse_with("2014", "YYYY").unwrap().precision,
            Precision::Year
        );
        for bad in ["31.02.2013", "12/01/2013", "12.01.13", "12.01.2013x", ""] {
            assert!(
                PartialDate::parse_with(bad, "DD.MM.YYYY").is_none(),
                "{bad}"
            );
        }
    }
}

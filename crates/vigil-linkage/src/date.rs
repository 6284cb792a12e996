//! Dates as reports give them: `1985-09-16`, `16.09.1985`, `19850916`, `09.1985`,
//! `1985`, with the day and month sometimes swapped.

/// How much of a date is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precision {
    Year,
    Month,
    Day,
}

/// A date with its precision. Day and month are 1-based; an impossible month
/// with a possible day is read as swapped at parse time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartialDate {
    pub year: u16,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl PartialDate {
    pub fn precision(&self) -> Precision {
        match (self.month, self.day) {
            (Some(_), Some(_)) => Precision::Day,
            (Some(_), None) => Precision::Month,
            _ => Precision::Year,
        }
    }

    /// The eight digits `YYYYMMDD` (zeros for unknown parts), for typo distance.
    pub fn digits(&self) -> [u8; 8] {
        let y = self.year;
        let m = self.month.unwrap_or(0);
        let d = self.day.unwrap_or(0);
        [
            (y / 1000 % 10) as u8,
            (y / 100 % 10) as u8,
            (y / 10 % 10) as u8,
            (y % 10) as u8,
            m / 10,
            m % 10,
            d / 10,
            d % 10,
        ]
    }
}

/// Why a date could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError(pub String);

impl std::fmt::Display for DateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot read {:?} as a date; use 1985-09-16, 16.09.1985, 19850916, 09.1985 or 1985",
            self.0
        )
    }
}

impl std::error::Error for DateError {}

fn two_digit_year(y: u16) -> u16 {
    if y <= 30 { 2000 + y } else { 1900 + y }
}

fn build(
    year: u16,
    month: Option<u16>,
    day: Option<u16>,
    raw: &str,
) -> Result<PartialDate, DateError> {
    let err = || DateError(raw.to_string());
    if !(1000..=2999).contains(&year) {
        return Err(err());
    }
    let (mut m, mut d) = (month, day);
    if let (Some(mm), Some(dd)) = (m, d)
        && mm > 12
        && dd <= 12
    {
        // Month and day written the other way round.
        m = Some(dd);
        d = Some(mm);
    }
    let month = match m {
        Some(0) | None => None,
        Some(x) if x <= 12 => Some(x as u8),
        Some(_) => return Err(err()),
    };
    let day = match d {
        Some(0) | None => None,
        Some(x) if x <= 31 => Some(x as u8),
        Some(_) => return Err(err()),
    };
    Ok(PartialDate {
        year,
        month,
        // A day without a month means nothing.
        day: month.and(day),
    })
}

/// Reads a date. Empty text is `Ok(None)`.
pub fn parse_date(raw: &str) -> Result<Option<PartialDate>, DateError> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let err = || DateError(raw.to_string());
    let parts: Vec<&str> = text
        .split(['-', '.', '/', ' '])
        .filter(|p| !p.is_empty())
        .collect();
    let num = |s: &str| -> Result<u16, DateError> {
        if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        s.parse::<u16>().map_err(|_| err())
    };
    match parts.as_slice() {
        [one] => {
            if !one.bytes().all(|b| b.is_ascii_digit()) || one.len() < 4 {
                return Err(err());
            }
            let n = num(&one[..4])?;
            match one.len() {
                8 => {
                    let m = num(&one[4..6])?;
                    let d = num(&one[6..8])?;
                    build(n, Some(m), Some(d), raw).map(Some)
                }
                6 => {
                    let m = num(&one[4..6])?;
                    build(n, Some(m), None, raw).map(Some)
                }
                4 => build(n, None, None, raw).map(Some),
                _ => Err(err()),
            }
        }
        [a, b] => {
            // 1985-09 or 09.1985
            if a.len() == 4 {
                build(num(a)?, Some(num(b)?), None, raw).map(Some)
            } else if b.len() == 4 {
                build(num(b)?, Some(num(a)?), None, raw).map(Some)
            } else {
                Err(err())
            }
        }
        [a, b, c] => {
            if a.len() == 4 {
                build(num(a)?, Some(num(b)?), Some(num(c)?), raw).map(Some)
            } else {
                let y = num(c)?;
                let y = if c.len() == 2 { two_digit_year(y) } else { y };
                build(y, Some(num(b)?), Some(num(a)?), raw).map(Some)
            }
        }
        _ => Err(err()),
    }
}

/// Reads a year, also from a full or partial date.
pub fn parse_year(raw: &str) -> Result<Option<u16>, DateError> {
    Ok(parse_date(raw)?.map(|d| d.year))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: Option<u8>, day: Option<u8>) -> Option<PartialDate> {
        Some(PartialDate {
            year: y,
            month: m,
            day,
        })
    }

    #[test]
    fn reads_the_formats_reports_use() {
        let full = d(1985, Some(9), Some(16));
        assert_eq!(parse_date("1985-09-16"), Ok(full));
        assert_eq!(parse_date("16.09.1985"), Ok(full));
        assert_eq!(parse_date("19850916"), Ok(full));
        assert_eq!(parse_date("16/09/1985"), Ok(full));
        assert_eq!(parse_date("16.09.85"), Ok(full));
        assert_eq!(parse_date("09.16.1985"), Ok(full), "swapped day and month");
        assert_eq!(parse_date("1985"), Ok(d(1985, None, None)));
        assert_eq!(parse_date("09.1985"), Ok(d(1985, Some(9), None)));
        assert_eq!(parse_date("1985-09"), Ok(d(1985, Some(9), None)));
        assert_eq!(parse_date(""), Ok(None));
        assert_eq!(parse_date("   "), Ok(None));
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        for bad in [
            "yesterday",
            "32.13.1985",
            "1985-13-45",
            "85",
            "1.2.3.4",
            "１９８５",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn precision() {
        assert_eq!(
            parse_date("1985").ok().flatten().map(|d| d.precision()),
            Some(Precision::Year)
        );
        assert_eq!(
            parse_date("1985-09-16")
                .ok()
                .flatten()
                .map(|d| d.precision()),
            Some(Precision::Day)
        );
    }
}

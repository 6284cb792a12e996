//! A calendar day (UTC). vigil keeps the day a report arrived, never the time of
//! day: finer timestamps would help an adversary who seized a server to match
//! reports with network logs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{
    Date, OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description,
};

const FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Day(Date);

impl Day {
    pub fn today() -> Self {
        Day(OffsetDateTime::now_utc().date())
    }

    pub fn from_date(date: Date) -> Self {
        Day(date)
    }

    pub fn date(self) -> Date {
        self.0
    }
}

/// A moment as the sealed envelopes carry it: UTC to the second, RFC 3339
/// (`2026-12-07T02:40:11Z`). Only ever written inside sealed data.
pub fn timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Reads a moment written by [`timestamp`] (or any RFC 3339 time).
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

#[derive(Debug, thiserror::Error)]
#[error("not a day in the form YYYY-MM-DD: {0:?}")]
pub struct DayError(String);

impl FromStr for Day {
    type Err = DayError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Date::parse(s, FORMAT)
            .map(Day)
            .map_err(|_| DayError(s.chars().take(16).collect()))
    }
}

impl TryFrom<String> for Day {
    type Error = DayError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Day> for String {
    fn from(d: Day) -> String {
        d.to_string()
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = (self.0.year(), self.0.month() as u8, self.0.day());
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let d: Day = "2022-02-24".parse().unwrap();
        assert_eq!(d.to_string(), "2022-02-24");
        assert!("2022-02-30".parse::<Day>().is_err());
        assert!("24.02.2022".parse::<Day>().is_err());
    }

    #[test]
    fn timestamps_round_trip_to_the_second() {
        let at = time::macros::datetime!(2026-12-07 02:40:11.987 UTC);
        let s = timestamp(at);
        assert_eq!(s, "2026-12-07T02:40:11Z");
        assert_eq!(
            parse_timestamp(&s).unwrap(),
            time::macros::datetime!(2026-12-07 02:40:11 UTC)
        );
    }
}

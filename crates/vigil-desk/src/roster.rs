//! The duty roster: dated shifts, each with its people in escalation order.
//! Times are UTC, written `YYYY-MM-DDTHH:MM` (what a browser's datetime-local
//! field sends).

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};
use vigil_store::urgent::Shift;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RosterError {
    #[error(
        "«{0}»: время пишется ГГГГ-ММ-ДДTЧЧ:ММ по UTC, например 2026-12-07T22:00 / \
         a time is written YYYY-MM-DDTHH:MM in UTC, for example 2026-12-07T22:00"
    )]
    Time(String),
    #[error("смена должна кончаться позже, чем начинается / a shift must end after it starts")]
    Order,
    #[error(
        "смена длиннее 31 дня: разбейте её на несколько / a shift longer than 31 days: split it"
    )]
    TooLong,
    #[error(
        "назовите хотя бы одного дежурного (имена учётных записей через запятую) / name at least \
         one person on duty (account names, separated by commas)"
    )]
    NoPeople,
    #[error(
        "«{0}» — не имя учётной записи (буквы, цифры, . _ -) / is not an account name (letters, \
         digits, . _ -)"
    )]
    BadName(String),
}

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]");

/// Parses `YYYY-MM-DDTHH:MM` (seconds allowed and dropped) as UTC.
pub fn parse_time(text: &str) -> Result<i64, RosterError> {
    let t = text.trim();
    let minutes = t.get(..16).unwrap_or(t);
    PrimitiveDateTime::parse(minutes, FORMAT)
        .map(|p| p.assume_utc().unix_timestamp())
        .map_err(|_| RosterError::Time(text.chars().take(40).collect()))
}

pub fn format_time(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_else(|| seconds.to_string())
}

/// Splits "anna, boris" into account names, refusing anything else.
pub fn parse_people(text: &str) -> Result<Vec<String>, RosterError> {
    let people: Vec<String> = text
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    if people.is_empty() {
        return Err(RosterError::NoPeople);
    }
    for p in &people {
        if p.len() > 64
            || !p
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(RosterError::BadName(p.chars().take(64).collect()));
        }
    }
    Ok(people)
}

/// A shift from a form or the command line; a new id unless one is given.
pub fn new_shift(
    id: Option<&str>,
    starts: &str,
    ends: &str,
    people: &str,
) -> Result<Shift, RosterError> {
    let (starts, ends) = (parse_time(starts)?, parse_time(ends)?);
    if ends <= starts {
        return Err(RosterError::Order);
    }
    if ends - starts > 31 * 24 * 3600 {
        return Err(RosterError::TooLong);
    }
    let people = parse_people(people)?;
    let id = match id.map(str::trim).filter(|i| !i.is_empty()) {
        Some(i) => i.chars().take(64).collect(),
        None => format!("shift-{}", format_time(starts).replace([':', 'T'], "")),
    };
    Ok(Shift {
        id,
        starts,
        ends,
        people,
    })
}

/// The shift on duty at `now`: of those covering it, the one that started
/// last (a shorter cover shift inside a long one wins).
pub fn on_duty(shifts: &[Shift], now: i64) -> Option<&Shift> {
    shifts
        .iter()
        .filter(|s| s.starts <= now && now < s.ends)
        .max_by_key(|s| s.starts)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_are_utc_minutes() {
        let t = parse_time("2026-12-07T22:00").unwrap();
        assert_eq!(format_time(t), "2026-12-07T22:00");
        assert_eq!(parse_time("2026-12-07T22:00:59").unwrap(), t);
        assert!(matches!(
            parse_time("07.12.2026 22:00"),
            Err(RosterError::Time(_))
        ));
    }

    #[test]
    fn shifts_are_checked() {
        let s = new_shift(None, "2026-12-07T22:00", "2026-12-08T08:00", "anna, boris").unwrap();
        assert_eq!(s.people, ["anna", "boris"]);
        assert_eq!(s.id, "shift-2026-12-072200");
        assert_eq!(
            new_shift(None, "2026-12-08T08:00", "2026-12-07T22:00", "anna"),
            Err(RosterError::Order)
        );
        assert_eq!(
            new_shift(None, "2026-12-07T22:00", "2026-12-08T08:00", " , "),
            Err(RosterError::NoPeople)
        );
        assert!(matches!(
            new_shift(None, "2026-12-07T22:00", "2026-12-08T08:00", "anna; drop"),
            Err(RosterError::BadName(_))
        ));
    }

    #[test]
    fn the_latest_started_covering_shift_is_on_duty() {
        let long = new_shift(Some("long"), "2026-12-07T00:00", "2026-12-08T00:00", "anna").unwrap();
        let cover = new_shift(
            Some("cover"),
            "2026-12-07T10:00",
            "2026-12-07T12:00",
            "boris",
        )
        .unwrap();
        let shifts = [long.clone(), cover.clone()];
        assert_eq!(
            on_duty(&shifts, cover.starts).map(|s| s.id.as_str()),
            Some("cover")
        );
        assert_eq!(
            on_duty(&shifts, cover.ends).map(|s| s.id.as_str()),
            Some("long")
        );
        assert_eq!(on_duty(&shifts, long.ends), None);
    }
}

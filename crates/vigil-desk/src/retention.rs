//! Retention: pulled reports nobody coded into the record go after
//! `reports_uncoded_days`; closed cases after `closed_cases_years`.
//!
//! A report is coded when a record source names it and that source stands
//! behind a record entry. A case is closed when every event in it is dated
//! and its latest event ends the matter (a fine, an administrative arrest,
//! compulsory work, a warning, a sentence, a dismissal or an expulsion:
//! `vigil_store::urgent::FINAL_EVENT_KINDS`); its age is counted from that
//! event's date. An unacknowledged urgent report is never purged.

use serde::{Deserialize, Serialize};
use time::Duration;
use vigil_core::Day;

/// The desk config's `[retention]` section. Without a key, that kind is kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports_uncoded_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_cases_years: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(
        "[retention] {key} = 0 would purge at once: choose at least 1, or leave the key out to \
         keep everything of that kind"
    )]
    Zero { key: &'static str },
    #[error("[retention] {key} = {value} is too far back: choose at most {max}")]
    TooLarge {
        key: &'static str,
        value: u32,
        max: u32,
    },
}

impl RetentionConfig {
    pub fn check(&self) -> Result<(), RetentionError> {
        for (key, value, max) in [
            ("reports_uncoded_days", self.reports_uncoded_days, 36_500),
            ("closed_cases_years", self.closed_cases_years, 100),
        ] {
            match value {
                Some(0) => return Err(RetentionError::Zero { key }),
                Some(v) if v > max => {
                    return Err(RetentionError::TooLarge { key, value: v, max });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The first day kept of each kind: reports received before the first
    /// go, cases whose last event is before the second go.
    pub fn cutoffs(&self, today: Day) -> (Option<Day>, Option<Day>) {
        let reports = self.reports_uncoded_days.and_then(|d| {
            today
                .date()
                .checked_sub(Duration::days(i64::from(d)))
                .map(Day::from_date)
        });
        let cases = self.closed_cases_years.and_then(|y| {
            let date = today.date();
            let year = date.year() - i32::try_from(y).ok()?;
            // 29 February, years back, may be 28 February.
            let day = date
                .day()
                .min(time::util::days_in_month(date.month(), year));
            time::Date::from_calendar_date(year, date.month(), day)
                .ok()
                .map(Day::from_date)
        });
        (reports, cases)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cutoffs_count_back_from_today() {
        let c = RetentionConfig {
            reports_uncoded_days: Some(30),
            closed_cases_years: Some(5),
        };
        let (r, k) = c.cutoffs("2024-02-29".parse().unwrap());
        assert_eq!(r.unwrap().to_string(), "2024-01-30");
        assert_eq!(k.unwrap().to_string(), "2019-02-28");
        assert_eq!(
            RetentionConfig::default().cutoffs("2024-02-29".parse().unwrap()),
            (None, None)
        );
        assert!(c.check().is_ok());
        let zero = RetentionConfig {
            reports_uncoded_days: Some(0),
            closed_cases_years: None,
        };
        assert!(zero.check().is_err());
    }
}

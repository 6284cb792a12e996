//! The urgent line: reports marked "detained now" reach the person on duty
//! within seconds, and the next person in the shift's escalation order when
//! nobody said "I'm on it" in time.
//!
//! One [`UrgentLine::tick`] does three steps, each safe to interrupt:
//! 1. triage: open newly pulled reports in memory and mark which are urgent
//!    (only the flag is stored);
//! 2. escalate: for each unacknowledged urgent report, decide who must be
//!    alerted now and queue those alerts in the store, with the report's new
//!    escalation level, in one transaction;
//! 3. deliver: send due alerts; a failure is logged (channel and reason only)
//!    and retried later with a growing delay.
//!
//! Everything lives in the store, so a restart loses no alert and repeats
//! none that was sent. Time comes from the desk's [`Clock`], so tests move it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use vigil_core::DeskIdentity;
use vigil_store::urgent::{AlertRetry, Escalation, NewAlert, UrgentRow};
use vigil_store::{DeskStore, StoreError};

use crate::alerts::Sender;
use crate::clock::Clock;
use crate::roster::on_duty;

/// Reports opened per triage round.
const TRIAGE_BATCH: u32 = 200;
/// Alerts sent per tick.
const DELIVER_BATCH: u32 = 50;
/// Attempts before an alert is given up (the delays add up to about a day).
pub const MAX_ATTEMPTS: u32 = 150;
/// The longest wait between two attempts.
const MAX_RETRY_DELAY: i64 = 600;

/// What one tick did, for tests and the log (counts only).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickOutcome {
    pub triaged: u64,
    pub urgent_new: u64,
    pub alerts_queued: u64,
    pub alerts_sent: u64,
    pub alerts_failed: u64,
}

pub struct UrgentLine {
    store: Arc<dyn DeskStore>,
    identity: Arc<DeskIdentity>,
    clock: Arc<dyn Clock>,
    sender: Option<Sender>,
    /// So that "nobody is on duty" is logged once per stretch, not every tick.
    warned_nobody: AtomicBool,
}

/// The delay before attempt `attempts + 1`: 30 s, doubling, at most 10 min.
pub fn retry_delay(attempts: u32) -> i64 {
    30_i64
        .saturating_mul(1_i64 << attempts.min(10))
        .min(MAX_RETRY_DELAY)
}

impl UrgentLine {
    /// `sender` is `None` when the desk config has no `[alerts]`: reports are
    /// still triaged and shown on the duty page, and nothing is sent.
    pub fn new(
        store: Arc<dyn DeskStore>,
        identity: Arc<DeskIdentity>,
        clock: Arc<dyn Clock>,
        sender: Option<Sender>,
    ) -> Arc<Self> {
        Arc::new(UrgentLine {
            store,
            identity,
            clock,
            sender,
            warned_nobody: AtomicBool::new(false),
        })
    }

    pub async fn tick(&self) -> Result<TickOutcome, StoreError> {
        let mut outcome = TickOutcome::default();
        let now = self.clock.unix_seconds();
        self.triage(now, &mut outcome).await?;
        self.escalate(now, &mut outcome).await?;
        self.deliver(&mut outcome).await?;
        Ok(outcome)
    }

    async fn triage(&self, now: i64, outcome: &mut TickOutcome) -> Result<(), StoreError> {
        loop {
            let reports = self.store.urgent_untriaged(TRIAGE_BATCH).await?;
            if reports.is_empty() {
                return Ok(());
            }
            let marks: Vec<_> = reports
                .iter()
                .map(|r| {
                    // A report that does not open is not known to be urgent;
                    // the queue page shows it as unreadable.
                    let urgent = self
                        .identity
                        .open_envelope(&r.sealed)
                        .is_ok_and(|env| env.urgent);
                    (r.id, urgent)
                })
                .collect();
            outcome.triaged += marks.len() as u64;
            outcome.urgent_new += marks.iter().filter(|(_, u)| *u).count() as u64;
            self.store.urgent_triage(&marks, now).await?;
        }
    }

    async fn escalate(&self, now: i64, outcome: &mut TickOutcome) -> Result<(), StoreError> {
        // Without [alerts] nobody is alerted, so no escalation is recorded
        // either: the duty page then says truthfully that 0 people were alerted.
        if self.sender.is_none() {
            return Ok(());
        }
        let open = self.store.urgent_reports(true).await?;
        if open.is_empty() {
            return Ok(());
        }
        let shifts = self.store.duty_shifts().await?;
        let Some(shift) = on_duty(&shifts, now) else {
            if !self.warned_nobody.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    waiting = open.len(),
                    "urgent reports are waiting and nobody is on duty: add a shift to the roster"
                );
            }
            return Ok(());
        };
        self.warned_nobody.store(false, Ordering::Relaxed);
        let delay = i64::from(self.escalate_after_minutes()) * 60;
        let mut escalations = Vec::new();
        let mut to_alert = BTreeSet::new();
        for r in &open {
            let wanted = wanted_level(r, now, delay).min(shift.people.len() as u32);
            if wanted > r.alerted {
                for person in shift
                    .people
                    .iter()
                    .take(wanted as usize)
                    .skip(r.alerted as usize)
                {
                    to_alert.insert(person.clone());
                }
                escalations.push(Escalation {
                    report_id: r.report_id,
                    alerted: wanted,
                });
            }
        }
        if escalations.is_empty() {
            return Ok(());
        }
        let waiting = open.len() as u64;
        let alerts: Vec<NewAlert> = match &self.sender {
            Some(sender) => to_alert
                .iter()
                .flat_map(|person| {
                    sender
                        .config()
                        .channels_for(person)
                        .into_iter()
                        .map(move |channel| NewAlert {
                            username: person.clone(),
                            channel: channel.to_owned(),
                            waiting,
                        })
                })
                .collect(),
            None => Vec::new(),
        };
        if to_alert.iter().any(|p| {
            self.sender
                .as_ref()
                .is_some_and(|s| s.config().channels_for(p).is_empty())
        }) {
            tracing::warn!("a person on duty has no alert channel: add them to [[alerts.people]]");
        }
        outcome.alerts_queued += alerts.len() as u64;
        self.store.urgent_escalate(&escalations, now, &alerts).await
    }

    async fn deliver(&self, outcome: &mut TickOutcome) -> Result<(), StoreError> {
        let Some(sender) = &self.sender else {
            return Ok(());
        };
        let due = self
            .store
            .alerts_due(self.clock.unix_seconds(), DELIVER_BATCH)
            .await?;
        for alert in due {
            let result = sender
                .send(&alert.username, &alert.channel, alert.waiting)
                .await;
            let now = self.clock.unix_seconds();
            match result {
                Ok(()) => {
                    outcome.alerts_sent += 1;
                    self.store.alert_sent(alert.id, now).await?;
                }
                Err(e) => {
                    outcome.alerts_failed += 1;
                    let attempts = alert.attempts + 1;
                    let retry = if attempts >= MAX_ATTEMPTS {
                        AlertRetry::GiveUp(now)
                    } else {
                        AlertRetry::At(now + retry_delay(alert.attempts))
                    };
                    // The alert's id, channel and reason: no person, no address.
                    tracing::warn!(
                        alert = alert.id,
                        channel = %alert.channel,
                        attempt = attempts,
                        gave_up = matches!(retry, AlertRetry::GiveUp(_)),
                        error = %e,
                        "alert not delivered; will retry"
                    );
                    self.store.alert_failed(alert.id, retry).await?;
                }
            }
        }
        Ok(())
    }

    pub fn escalate_after_minutes(&self) -> u32 {
        self.sender
            .as_ref()
            .map_or(5, |s| s.config().escalate_after_minutes)
    }

    /// Ticks every `interval` until the process ends; failures are logged
    /// (without any report data) and retried at the next tick.
    pub fn spawn_every(self: Arc<Self>, interval: Duration) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match self.tick().await {
                    Ok(o) if o.urgent_new > 0 || o.alerts_queued > 0 => tracing::info!(
                        urgent_new = o.urgent_new,
                        alerts_queued = o.alerts_queued,
                        alerts_sent = o.alerts_sent,
                        "urgent line"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "urgent line: storage failed; will retry"),
                }
            }
        });
    }
}

/// How many people of the escalation order should know about `r` by `now`:
/// the first at once, one more after each `delay` since the last alert.
fn wanted_level(r: &UrgentRow, now: i64, delay: i64) -> u32 {
    match r.last_alert {
        None => r.alerted.max(1),
        Some(last) if now - last >= delay => r.alerted + 1,
        Some(_) => r.alerted,
    }
}

/// Time-to-acknowledge of one week (ISO week of when the report was seen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekMedian {
    /// `2026-W49`.
    pub week: String,
    pub acknowledged: usize,
    pub median_seconds: i64,
}

/// The median time-to-acknowledge per ISO week, newest week first.
pub fn medians_by_week(rows: &[UrgentRow]) -> Vec<WeekMedian> {
    let mut weeks: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in rows {
        let (Some(acked), Ok(seen)) = (
            r.acked_at,
            time::OffsetDateTime::from_unix_timestamp(r.seen),
        ) else {
            continue;
        };
        let (year, week, _) = seen.to_iso_week_date();
        weeks
            .entry(format!("{year}-W{week:02}"))
            .or_default()
            .push((acked - r.seen).max(0));
    }
    weeks
        .into_iter()
        .rev()
        .map(|(week, mut waits)| {
            waits.sort_unstable();
            let n = waits.len();
            let median = if n % 2 == 1 {
                waits[n / 2]
            } else {
                (waits[n / 2 - 1] + waits[n / 2]) / 2
            };
            WeekMedian {
                week,
                acknowledged: n,
                median_seconds: median,
            }
        })
        .collect()
}

/// "4 min 05 s" ("4 мин 05 с") style, for the pages.
pub fn format_wait(seconds: i64, lang: vigil_core::Lang) -> String {
    let s = seconds.max(0);
    let (h, min, sec) = (
        lang.pick("ч", "h"),
        lang.pick("мин", "min"),
        lang.pick("с", "s"),
    );
    if s >= 3600 {
        format!("{} {h} {:02} {min}", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} {min} {:02} {sec}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use vigil_core::ReportId;

    fn row(seen: i64, acked: Option<i64>) -> UrgentRow {
        UrgentRow {
            report_id: ReportId::generate().unwrap(),
            seen,
            alerted: 0,
            last_alert: None,
            acked_by: acked.map(|_| "anna".into()),
            acked_at: acked,
        }
    }

    #[test]
    fn medians_per_iso_week() {
        // 2026-12-07 is a Monday (week 50); 2026-11-30 the Monday before.
        let mon = 1_796_601_600; // 2026-12-07T00:00:00Z
        let rows = [
            row(mon, Some(mon + 60)),
            row(mon + 10, Some(mon + 10 + 300)),
            row(mon + 20, Some(mon + 20 + 120)),
            row(mon + 30, None),
            row(mon - 86_400, Some(mon - 86_400 + 40)),
            row(mon - 86_400 + 5, Some(mon - 86_400 + 5 + 100)),
        ];
        assert_eq!(
            medians_by_week(&rows),
            vec![
                WeekMedian {
                    week: "2026-W50".into(),
                    acknowledged: 3,
                    median_seconds: 120
                },
                WeekMedian {
                    week: "2026-W49".into(),
                    acknowledged: 2,
                    median_seconds: 70
                },
            ]
        );
    }

    #[test]
    fn escalation_moves_one_person_per_delay() {
        let mut r = row(0, None);
        assert_eq!(wanted_level(&r, 0, 300), 1);
        r.alerted = 1;
        r.last_alert = Some(0);
        assert_eq!(wanted_level(&r, 299, 300), 1);
        assert_eq!(wanted_level(&r, 300, 300), 2);
    }

    #[test]
    fn retries_back_off_to_ten_minutes() {
        assert_eq!(retry_delay(0), 30);
        assert_eq!(retry_delay(1), 60);
        assert_eq!(retry_delay(5), 600);
        assert_eq!(retry_delay(100), 600);
    }
}

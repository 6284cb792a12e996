//! The intake's upkeep, at start and then hourly: forget receipt hashes older
//! than `receipt_days`, and truncate the write-ahead log so that purged
//! ciphertext does not linger in it.
//!
//! It logs only failures, never how many receipts it forgot: counts by day,
//! even 90 days old, would tell how many reports came in when.

use std::sync::{Arc, Weak};
use std::time::Duration;

use vigil_core::Day;
use vigil_store::StoreError;

use crate::Intake;

const EVERY: Duration = Duration::from_secs(60 * 60);

pub(crate) fn spawn(intake: Arc<Intake>) {
    let intake: Weak<Intake> = Arc::downgrade(&intake);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(intake) = intake.upgrade() else {
                return;
            };
            if let Err(e) = intake.upkeep(Day::today()).await {
                tracing::warn!(error = %e, "intake upkeep failed; will retry within the hour");
            }
        }
    });
}

/// The first day whose receipts are kept when `days` are kept up to `today`.
pub(crate) fn receipt_cutoff(today: Day, days: u32) -> Day {
    let date = today
        .date()
        .checked_sub(time::Duration::days(i64::from(days)))
        .unwrap_or(time::Date::MIN);
    Day::from_date(date)
}

impl Intake {
    /// Forgets receipts that came in before `today` minus `receipt_days`, and
    /// truncates the store's write-ahead log. Returns how many receipts were
    /// forgotten. `today` is passed in so that tests can move the clock.
    pub async fn upkeep(&self, today: Day) -> Result<u64, StoreError> {
        let cutoff = receipt_cutoff(today, self.config.receipt_days);
        let forgotten = self.store.intake_forget_receipts(cutoff).await?;
        self.store.intake_checkpoint().await?;
        Ok(forgotten)
    }
}

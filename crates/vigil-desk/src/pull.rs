//! Pulling sealed reports from the intake.
//!
//! The order of the steps is what makes a pull safe to interrupt anywhere:
//! fetch, commit to the desk's store, and only then acknowledge. A crash before
//! the commit leaves the reports on the intake; a crash after it leaves them on
//! both, and the next pull stores them again as no-ops (the report id is unique)
//! before acknowledging. Nothing is lost and nothing is duplicated.

use std::sync::Arc;
use std::time::Duration;

use vigil_core::sealed::{AckRequest, AckResponse, PullResponse};
use vigil_core::{ReportId, SealedReport};
use vigil_store::{DeskStore, StoreError};
use zeroize::Zeroizing;

/// Reports asked for in one request.
const PAGE: u32 = 200;
/// A bound on one pull, so a misbehaving intake cannot keep the desk looping.
const MAX_PAGES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("cannot reach the intake at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error(
        "the intake refused the desk's token (HTTP 401): check intake_token in the desk config"
    )]
    Unauthorised,
    #[error("the intake answered HTTP {status}")]
    Status { status: u16 },
    #[error("the intake's answer is not what the desk expects: {0}")]
    BadAnswer(String),
    #[error("the desk's store failed: {0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PullOutcome {
    /// Reports stored for the first time.
    pub new: u64,
    /// Reports the intake confirmed it purged.
    pub acknowledged: u64,
}

/// Talks to one intake with the desk's token.
#[derive(Clone)]
pub struct Puller {
    client: reqwest::Client,
    base: String,
    token: Arc<Zeroizing<String>>,
}

impl Puller {
    pub fn new(intake_url: &str, token: Zeroizing<String>) -> Result<Self, PullError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| PullError::Unreachable {
                url: intake_url.into(),
                reason: e.to_string(),
            })?;
        Ok(Puller {
            client,
            base: intake_url.trim_end_matches('/').to_owned(),
            token: Arc::new(token),
        })
    }

    fn unreachable(&self, e: reqwest::Error) -> PullError {
        PullError::Unreachable {
            url: self.base.clone(),
            reason: e.without_url().to_string(),
        }
    }

    fn check(status: reqwest::StatusCode) -> Result<(), PullError> {
        match status.as_u16() {
            200..=299 => Ok(()),
            401 => Err(PullError::Unauthorised),
            s => Err(PullError::Status { status: s }),
        }
    }

    /// Step 1: fetch the oldest pending reports, without changing anything.
    pub async fn fetch(&self, limit: u32) -> Result<Vec<SealedReport>, PullError> {
        let response = self
            .client
            .get(format!("{}/api/v1/desk/reports?limit={limit}", self.base))
            .bearer_auth(self.token.as_str())
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        Self::check(response.status())?;
        let body: PullResponse = response
            .json()
            .await
            .map_err(|e| PullError::BadAnswer(e.without_url().to_string()))?;
        Ok(body.reports)
    }

    /// Step 3: tell the intake these reports are durable here and may be purged.
    pub async fn acknowledge(&self, ids: &[ReportId]) -> Result<u64, PullError> {
        let response = self
            .client
            .post(format!("{}/api/v1/desk/ack", self.base))
            .bearer_auth(self.token.as_str())
            .json(&AckRequest { ids: ids.to_vec() })
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        Self::check(response.status())?;
        let body: AckResponse = response
            .json()
            .await
            .map_err(|e| PullError::BadAnswer(e.without_url().to_string()))?;
        Ok(body.acknowledged)
    }

    /// Pulls until the intake has nothing pending.
    pub async fn pull_all(&self, store: &dyn DeskStore) -> Result<PullOutcome, PullError> {
        let mut outcome = PullOutcome::default();
        for _ in 0..MAX_PAGES {
            let reports = self.fetch(PAGE).await?;
            if reports.is_empty() {
                break;
            }
            // Step 2: commit before acknowledging.
            outcome.new += store.desk_store_pulled(&reports).await?;
            let ids: Vec<ReportId> = reports.iter().map(|r| r.id).collect();
            outcome.acknowledged += self.acknowledge(&ids).await?;
        }
        Ok(outcome)
    }

    /// Pulls every `interval` until the process ends. Failures are logged
    /// (without any report data) and retried at the next tick.
    pub fn spawn_every(self, store: Arc<dyn DeskStore>, interval: Duration) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match self.pull_all(store.as_ref()).await {
                    Ok(o) if o.new > 0 => tracing::info!(new = o.new, "pulled reports from intake"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pull from intake failed; will retry"),
                }
            }
        });
    }
}

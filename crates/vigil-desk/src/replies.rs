//! intakeform: replies to reporters. A reply is sealed to the desk's own
//! recipient and to the reply key the intake derived from the reporter's
//! receipt (the report's `reply_to`), so the desk can show it again and only
//! the receipt's holder can read it on the intake. It waits in the desk's
//! store until the next pull hands it to the intake that knows the receipt.

use std::collections::HashMap;

use serde::Serialize;
use vigil_core::followup::{MessageEnvelope, MessageError, SealedMessage, Sender};
use vigil_core::{Day, DeskIdentity, ReportId};
use vigil_store::{DeskStore, StoreError};
use zeroize::Zeroize;

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("no report with id {0} on this desk: take the id from `vigil desk list`")]
    NoSuchReport(ReportId),
    #[error("report {0} cannot be opened with this desk's identity")]
    Unreadable(ReportId),
    #[error(
        "report {0} came in before replies existed (it carries no reply key): the reporter \
         cannot be answered through the intake; use the contact they left, if any"
    )]
    NoReplyKey(ReportId),
    #[error("{}", .0.message(vigil_core::Lang::En))]
    Message(MessageError),
    #[error("the reply could not be sealed")]
    Seal,
    #[error("the desk's store failed: {0}")]
    Store(#[from] StoreError),
}

/// Seals and stores a reply to a report; returns the reply's id.
pub async fn write_reply(
    store: &dyn DeskStore,
    identity: &DeskIdentity,
    report: &ReportId,
    text: &str,
    now: time::OffsetDateTime,
) -> Result<ReportId, ReplyError> {
    let message = MessageEnvelope::new(text, Some(vigil_core::day::timestamp(now)))
        .map_err(ReplyError::Message)?;
    let sealed_report = store
        .desk_report(report)
        .await?
        .ok_or(ReplyError::NoSuchReport(*report))?;
    let envelope = identity
        .open_envelope(&sealed_report.sealed)
        .map_err(|_| ReplyError::Unreadable(*report))?;
    let reply_to = envelope
        .reply_to
        .clone()
        .ok_or(ReplyError::NoReplyKey(*report))?;
    drop(envelope);
    let to = identity
        .recipients()
        .and(&reply_to)
        .map_err(|_| ReplyError::Seal)?;
    let sealed = message.seal(&to).map_err(|_| ReplyError::Seal)?;
    let id = ReportId::generate().map_err(|_| ReplyError::Seal)?;
    store
        .desk_add_messages(&[SealedMessage {
            id,
            receipt_hash: sealed_report.receipt_hash,
            from: Sender::Team,
            day: Day::from_date(now.date()),
            sealed,
        }])
        .await?;
    Ok(id)
}

/// One message of a report's conversation, opened for the desk.
#[derive(Debug, Clone, Serialize)]
pub struct Opened {
    /// `team` or `reporter`.
    pub from: &'static str,
    pub day: Day,
    /// When it was written (UTC, RFC 3339), if it says.
    pub at: Option<String>,
    /// `None` when it cannot be opened with this identity.
    pub text: Option<String>,
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

/// Every message the desk holds, opened, by receipt hash, oldest first.
pub async fn conversations(
    store: &dyn DeskStore,
    identity: &DeskIdentity,
) -> Result<HashMap<[u8; 32], Vec<Opened>>, StoreError> {
    let mut by_receipt: HashMap<[u8; 32], Vec<Opened>> = HashMap::new();
    for m in store.desk_messages().await? {
        let opened = identity
            .open(&m.sealed)
            .ok()
            .and_then(|clear| serde_json::from_slice::<MessageEnvelope>(&clear).ok());
        by_receipt.entry(m.receipt_hash).or_default().push(Opened {
            from: m.from.as_str(),
            day: m.day,
            at: opened.as_ref().and_then(|o| o.at.clone()),
            text: opened.as_ref().map(|o| o.text.clone()),
        });
    }
    Ok(by_receipt)
}

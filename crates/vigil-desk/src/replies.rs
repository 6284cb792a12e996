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
    // `reply_to`, or (intake4) derived from the sealed reply seed.
    let reply_to = envelope
        .reply_recipient()
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
        by_receipt
            .entry(m.receipt_hash)
            .or_default()
            .push(open_message(identity, &m));
    }
    Ok(by_receipt)
}

/// The conversations of some reports only (a queue page's), by receipt hash:
/// only their messages are opened.
pub async fn conversations_of(
    store: &dyn DeskStore,
    identity: &DeskIdentity,
    receipts: &std::collections::HashSet<[u8; 32]>,
) -> Result<HashMap<[u8; 32], Vec<Opened>>, StoreError> {
    let mut by_receipt: HashMap<[u8; 32], Vec<Opened>> = HashMap::new();
    if receipts.is_empty() {
        return Ok(by_receipt);
    }
    for m in store.desk_messages().await? {
        if !receipts.contains(&m.receipt_hash) {
            continue;
        }
        by_receipt
            .entry(m.receipt_hash)
            .or_default()
            .push(open_message(identity, &m));
    }
    Ok(by_receipt)
}

fn open_message(identity: &DeskIdentity, m: &SealedMessage) -> Opened {
    let opened = identity
        .open(&m.sealed)
        .ok()
        .and_then(|clear| serde_json::from_slice::<MessageEnvelope>(&clear).ok());
    Opened {
        from: m.from.as_str(),
        day: m.day,
        at: opened.as_ref().and_then(|o| o.at.clone()),
        text: opened.as_ref().map(|o| o.text.clone()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use vigil_core::followup::ReplyKey;
    use vigil_core::{Channel, Lang, Receipt, ReportEnvelope, SealedReport};

    use super::*;

    async fn desk_with(
        identity: &DeskIdentity,
        set: impl FnOnce(&mut ReportEnvelope),
    ) -> (std::sync::Arc<dyn DeskStore>, ReportId, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = vigil_store::open_desk(&vigil_store::sqlite_url(&dir.path().join("d.db")))
            .await
            .unwrap();
        let mut envelope =
            ReportEnvelope::new("задержан", true, None, Lang::Ru, Channel::Api, Day::today())
                .unwrap();
        set(&mut envelope);
        let id = ReportId::generate().unwrap();
        store
            .desk_store_pulled(&[SealedReport {
                id,
                receipt_hash: [7; 32],
                sealed: identity.recipients().seal_envelope(&envelope).unwrap(),
                received: Day::today(),
            }])
            .await
            .unwrap();
        (store, id, dir)
    }

    /// A report as the intake seals it since intake4 (the reply key's seed)
    /// and as it sealed it before (the key's public half, `reply_to`): the
    /// desk answers both, to the receipt holder's key.
    #[tokio::test]
    async fn a_reply_opens_for_the_desk_and_the_receipt_holder_only() {
        for with_seed in [true, false] {
            a_reply_opens_for(with_seed).await;
        }
    }

    async fn a_reply_opens_for(with_seed: bool) {
        let identity = DeskIdentity::generate();
        let receipt = Receipt::generate().unwrap();
        let key = ReplyKey::derive(&receipt).unwrap();
        let (store, id, _dir) = desk_with(&identity, |e| {
            if with_seed {
                e.reply_seed = Some(ReplyKey::seed_hex(&receipt).unwrap().to_string());
            } else {
                e.reply_to = Some(key.recipient());
            }
        })
        .await;
        let now = time::OffsetDateTime::now_utc();
        write_reply(store.as_ref(), &identity, &id, "  Адвокат едет ", now)
            .await
            .unwrap();
        let waiting = store.desk_unpushed_replies(10).await.unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].receipt_hash, [7; 32]);
        assert_eq!(key.open(&waiting[0].sealed).unwrap().text, "Адвокат едет");
        let other = ReplyKey::derive(&Receipt::generate().unwrap()).unwrap();
        assert!(other.open(&waiting[0].sealed).is_err());
        let shown = conversations(store.as_ref(), &identity).await.unwrap();
        assert_eq!(shown[&[7; 32]][0].text.as_deref(), Some("Адвокат едет"));
        assert!(matches!(
            write_reply(store.as_ref(), &identity, &id, "  ", now).await,
            Err(ReplyError::Message(MessageError::Empty))
        ));
    }

    #[tokio::test]
    async fn a_report_from_before_replies_cannot_be_answered_and_says_why() {
        let identity = DeskIdentity::generate();
        let (store, id, _dir) = desk_with(&identity, |_| {}).await;
        let e = write_reply(
            store.as_ref(),
            &identity,
            &id,
            "hello",
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, ReplyError::NoReplyKey(_)));
        assert!(e.to_string().contains("contact"));
        let unknown = ReportId::generate().unwrap();
        let e = write_reply(
            store.as_ref(),
            &identity,
            &unknown,
            "hello",
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, ReplyError::NoSuchReport(_)));
        assert!(store.desk_unpushed_replies(10).await.unwrap().is_empty());
    }
}

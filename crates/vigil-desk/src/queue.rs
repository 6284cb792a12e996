//! The triage queue: the desk's reports opened in memory, urgent detentions
//! first, then in the order they arrived.

use serde::Serialize;
use vigil_core::{Channel, Day, DeskIdentity, Lang, ReportId};
use vigil_store::{DeskStore, StoreError};
use zeroize::Zeroize;

#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub id: ReportId,
    pub received: Day,
    pub urgent: bool,
    /// `None` when the report cannot be opened with this identity.
    pub channel: Option<Channel>,
    pub lang: Option<Lang>,
    pub text: Option<String>,
    pub contact: Option<String>,
}

impl Drop for QueueItem {
    fn drop(&mut self) {
        self.text.zeroize();
        self.contact.zeroize();
    }
}

/// Opens every report the desk holds. A report that will not open (sealed to
/// another key, or damaged) stays in the queue, marked, rather than hiding the rest.
pub async fn open_queue(
    store: &dyn DeskStore,
    identity: &DeskIdentity,
) -> Result<Vec<QueueItem>, StoreError> {
    let mut items: Vec<QueueItem> = store
        .desk_reports()
        .await?
        .into_iter()
        .map(|r| match identity.open_envelope(&r.sealed) {
            Ok(env) => QueueItem {
                id: r.id,
                received: r.received,
                urgent: env.urgent,
                channel: Some(env.channel),
                lang: Some(env.lang),
                text: Some(env.text.clone()),
                contact: env.contact.clone(),
            },
            Err(_) => QueueItem {
                id: r.id,
                received: r.received,
                urgent: false,
                channel: None,
                lang: None,
                text: None,
                contact: None,
            },
        })
        .collect();
    // Stable: within urgent and within the rest, the pull order is kept.
    items.sort_by_key(|i| !i.urgent);
    Ok(items)
}

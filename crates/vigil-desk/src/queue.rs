//! The triage queue: the desk's reports opened in memory, urgent detentions
//! first, then in the order they arrived.

use serde::Serialize;
use vigil_core::{Channel, Day, DeskIdentity, Lang, ReportDetails, ReportId};
use vigil_store::{DeskStore, StoreError};
use zeroize::Zeroize;

use crate::replies::{Opened, conversations};

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
    // --- intakeform
    /// The guided form's answers.
    #[serde(skip_serializing_if = "ReportDetails::is_empty")]
    pub details: ReportDetails,
    /// The exact arrival time (UTC, RFC 3339), from inside the sealed report.
    pub received_at: Option<String>,
    /// Whole minutes since it arrived, when the time is known.
    pub minutes_ago: Option<i64>,
    /// The conversation with the reporter, oldest first.
    pub messages: Vec<Opened>,
    /// Whether the reporter can be answered through the intake.
    pub can_reply: bool,
    /// intakemerge: the files sent with the report (name, type, size, SHA-256
    /// of the original); their bytes stay sealed until downloaded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<vigil_core::attachment::AttachmentInfo>,
}

impl QueueItem {
    /// The guided form's answers as label and value, in the desk's language.
    pub fn detail_lines(&self, lang: &str) -> Vec<(&'static str, String)> {
        detail_lines(&self.details, lang)
    }

    /// telegram: the channel the report came through, in the desk's language,
    /// or "" when the report cannot be opened.
    pub fn channel_label(&self, lang: &str) -> &'static str {
        self.channel
            .map(|c| c.label(Lang::from_code(Some(lang))))
            .unwrap_or_default()
    }

    /// "received 12 minutes ago", in the desk's language, or "" when unknown.
    pub fn ago(&self, lang: &str) -> String {
        crate::index::ago(self.minutes_ago, lang)
    }
}

impl Drop for QueueItem {
    fn drop(&mut self) {
        self.text.zeroize();
        self.contact.zeroize();
    }
}

/// The guided form's answers as label and value, in the desk's language.
pub fn detail_lines(d: &ReportDetails, lang: &str) -> Vec<(&'static str, String)> {
    let lang = Lang::from_code(Some(lang));
    let mut out = Vec::new();
    if let Some(h) = d.happened {
        out.push((
            lang.pick("Что случилось", "What happened"),
            h.label(lang).to_owned(),
        ));
    }
    if let Some(w) = d.whom {
        out.push((lang.pick("С кем", "To whom"), w.label(lang).to_owned()));
    }
    for (label, value) in [
        (lang.pick("Имена", "Names"), &d.names),
        (lang.pick("Когда", "When"), &d.when),
        (lang.pick("Регион", "Region"), &d.region),
        (lang.pick("Город", "City"), &d.city),
        (lang.pick("Место", "Place"), &d.place),
        (
            lang.pick("Отдел полиции или суд", "Police station or court"),
            &d.station,
        ),
    ] {
        if let Some(v) = value {
            out.push((label, v.clone()));
        }
    }
    if let Some(c) = d.consent {
        out.push((
            lang.pick("Публикация", "Publication"),
            c.label(lang).to_owned(),
        ));
    }
    out
}

/// Opens every report the desk holds. A report that will not open (sealed to
/// another key, or damaged) stays in the queue, marked, rather than hiding the rest.
pub async fn open_queue(
    store: &dyn DeskStore,
    identity: &DeskIdentity,
) -> Result<Vec<QueueItem>, StoreError> {
    open_queue_at(store, identity, time::OffsetDateTime::now_utc()).await
}

/// One report as the queue shows it, with its conversation (`None` if the
/// desk does not hold it): opens that report and its messages only.
pub async fn open_one(
    store: &dyn DeskStore,
    identity: &DeskIdentity,
    id: &ReportId,
    now: time::OffsetDateTime,
) -> Result<Option<QueueItem>, StoreError> {
    let Some(r) = store.desk_report(id).await? else {
        return Ok(None);
    };
    let receipts = std::collections::HashSet::from([r.receipt_hash]);
    let messages = crate::replies::conversations_of(store, identity, &receipts)
        .await?
        .remove(&r.receipt_hash)
        .unwrap_or_default();
    Ok(Some(item(identity, r, messages, now)))
}

fn item(
    identity: &DeskIdentity,
    r: vigil_core::SealedReport,
    messages: Vec<Opened>,
    now: time::OffsetDateTime,
) -> QueueItem {
    match identity.open_envelope(&r.sealed) {
        Ok(env) => {
            let minutes_ago = env
                .received_at
                .as_deref()
                .and_then(vigil_core::day::parse_timestamp)
                .map(|at| (now - at).whole_minutes().max(0));
            QueueItem {
                id: r.id,
                received: r.received,
                urgent: env.urgent,
                channel: Some(env.channel),
                lang: Some(env.lang),
                text: Some(env.text.clone()),
                contact: env.contact.clone(),
                details: env.details.clone(),
                received_at: env.received_at.clone(),
                minutes_ago,
                messages,
                can_reply: env.can_reply(),
                attachments: env.attachments.clone(),
            }
        }
        Err(_) => QueueItem {
            id: r.id,
            received: r.received,
            urgent: false,
            channel: None,
            lang: None,
            text: None,
            contact: None,
            details: ReportDetails::default(),
            received_at: None,
            minutes_ago: None,
            messages,
            can_reply: false,
            attachments: Vec::new(),
        },
    }
}

/// [`open_queue`] with the current time given (tests set it).
pub async fn open_queue_at(
    store: &dyn DeskStore,
    identity: &DeskIdentity,
    now: time::OffsetDateTime,
) -> Result<Vec<QueueItem>, StoreError> {
    let mut conversations = conversations(store, identity).await?;
    let mut items: Vec<QueueItem> = store
        .desk_reports()
        .await?
        .into_iter()
        .map(|r| {
            let messages = conversations.remove(&r.receipt_hash).unwrap_or_default();
            item(identity, r, messages, now)
        })
        .collect();
    // Stable: within urgent and within the rest, the pull order is kept.
    items.sort_by_key(|i| !i.urgent);
    Ok(items)
}

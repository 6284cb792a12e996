//! The queue's index: every report the desk holds, opened once into memory and
//! kept there (never written anywhere in clear), so that a page of a queue of
//! tens of thousands of reports, filtered and searched, is a scan of memory
//! rather than tens of thousands of decryptions.
//!
//! Each page view first asks the store for reports pulled since the index last
//! looked (one indexed query, usually empty) and opens only those; which
//! reports are coded (and their regions) is read again each time, since a
//! colleague may have coded one meanwhile. The clear text is wiped when the
//! index drops a report or is dropped itself.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{Mutex, RwLock};
use vigil_core::{Channel, Day, DeskIdentity, Lang, ReportDetails, ReportId};
use vigil_store::coding::PulledReport;
use vigil_store::{DeskStore, StoreError};
use zeroize::Zeroize;

/// One report, opened.
pub struct IndexedReport {
    pub seq: i64,
    pub id: ReportId,
    pub received: Day,
    pub urgent: bool,
    /// `None` when the report cannot be opened with this identity.
    pub channel: Option<Channel>,
    pub lang: Option<Lang>,
    pub text: Option<String>,
    pub contact: Option<String>,
    /// Text and contact folded for search (see [`fold`]).
    folded: String,
    // deskmerge: what the old queue showed (intakeform).
    /// The receipt's hash: the reporter's messages are filed under it.
    pub receipt_hash: [u8; 32],
    /// The exact arrival time, from inside the sealed report.
    pub received_at: Option<OffsetDateTime>,
    /// Whether the reporter can be answered through the intake.
    pub can_reply: bool,
    /// The guided form's answers.
    pub details: ReportDetails,
    pub attachments: usize,
}

impl Drop for IndexedReport {
    fn drop(&mut self) {
        self.text.zeroize();
        self.contact.zeroize();
        self.folded.zeroize();
    }
}

/// Folds text for search: lower case, "ё" as "е".
pub fn fold(s: &str) -> String {
    s.to_lowercase().replace('ё', "е")
}

fn open(identity: &DeskIdentity, pulled: PulledReport) -> IndexedReport {
    let r = pulled.report;
    match identity.open_envelope(&r.sealed) {
        Ok(env) => {
            let mut folded = fold(&env.text);
            if let Some(c) = &env.contact {
                folded.push('\n');
                folded.push_str(&fold(c));
            }
            IndexedReport {
                seq: pulled.seq,
                id: r.id,
                received: r.received,
                urgent: env.urgent,
                channel: Some(env.channel),
                lang: Some(env.lang),
                text: Some(env.text.clone()),
                contact: env.contact.clone(),
                folded,
                receipt_hash: r.receipt_hash,
                received_at: env
                    .received_at
                    .as_deref()
                    .and_then(vigil_core::day::parse_timestamp),
                can_reply: env.can_reply(),
                details: env.details.clone(),
                attachments: env.attachments.len(),
            }
        }
        Err(_) => IndexedReport {
            seq: pulled.seq,
            id: r.id,
            received: r.received,
            urgent: false,
            channel: None,
            lang: None,
            text: None,
            contact: None,
            folded: String::new(),
            receipt_hash: r.receipt_hash,
            received_at: None,
            can_reply: false,
            details: ReportDetails::default(),
            attachments: 0,
        },
    }
}

/// Coded or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Coded,
    Uncoded,
}

/// What a queue page asks for. Every part is optional.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub urgent_only: bool,
    pub status: Option<Status>,
    /// A region code of the records a coded report supports.
    pub region: Option<String>,
    pub day: Option<Day>,
    /// `None` in the inner option: reports that do not open.
    pub channel: Option<Option<Channel>>,
    /// Words that must all appear in the text or contact (any case).
    pub search: String,
}

impl Drop for Filter {
    fn drop(&mut self) {
        self.search.zeroize();
    }
}

/// A report as a queue page shows it.
pub struct Row {
    pub id: ReportId,
    pub received: Day,
    pub urgent: bool,
    pub channel: Option<Channel>,
    /// The start of the text.
    pub excerpt: Option<String>,
    pub contact: Option<String>,
    pub coded: bool,
    pub regions: Vec<String>,
    // deskmerge
    pub receipt_hash: [u8; 32],
    /// Whole minutes since it arrived, when the time is known.
    pub minutes_ago: Option<i64>,
    pub can_reply: bool,
}

impl Drop for Row {
    fn drop(&mut self) {
        self.excerpt.zeroize();
        self.contact.zeroize();
    }
}

/// One page of a filtered queue.
pub struct Page {
    pub rows: Vec<Row>,
    /// Reports that match the filter, on all pages.
    pub matched: usize,
    /// Reports held.
    pub total: usize,
    /// 0-based; clamped to the last page.
    pub page: usize,
    pub pages: usize,
}

/// One report in full, for its page.
pub struct Opened {
    pub id: ReportId,
    pub received: Day,
    pub urgent: bool,
    pub channel: Option<Channel>,
    pub lang: Option<Lang>,
    pub text: Option<String>,
    pub contact: Option<String>,
    pub coded: bool,
    // deskmerge
    pub receipt_hash: [u8; 32],
    pub received_at: Option<OffsetDateTime>,
    pub can_reply: bool,
    pub details: ReportDetails,
    /// intakemerge: how many files came with the report (the files page lists them).
    pub attachments: usize,
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.text.zeroize();
        self.contact.zeroize();
    }
}

#[derive(Default)]
struct Inner {
    /// In pull order.
    reports: Vec<IndexedReport>,
    by_id: HashMap<ReportId, usize>,
    last_seq: i64,
    /// Coded reports (by id as text) and the regions of what they support.
    coded: HashMap<String, Vec<String>>,
}

/// The characters of text a queue row shows.
pub const EXCERPT_CHARS: usize = 280;

#[derive(Default)]
pub struct ReportIndex {
    inner: RwLock<Inner>,
    /// One refresh at a time: a second viewer waits for the first's result.
    refreshing: Mutex<()>,
}

impl ReportIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the reports pulled since the last refresh and reads which are coded.
    pub async fn refresh(
        &self,
        store: &dyn DeskStore,
        identity: &Arc<DeskIdentity>,
    ) -> Result<(), StoreError> {
        let _one = self.refreshing.lock().await;
        let after = self.inner.read().await.last_seq;
        let pulled = store.desk_reports_since(after).await?;
        let uses = store.record_report_uses().await?;
        let opened = if pulled.is_empty() {
            Vec::new()
        } else {
            let identity = identity.clone();
            // Opening thousands of envelopes is CPU work: off the async threads.
            tokio::task::spawn_blocking(move || {
                pulled
                    .into_iter()
                    .map(|p| open(&identity, p))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|_| StoreError::Corrupt("opening reports was interrupted".into()))?
        };
        let mut inner = self.inner.write().await;
        for r in opened {
            inner.last_seq = inner.last_seq.max(r.seq);
            let at = inner.reports.len();
            inner.by_id.insert(r.id, at);
            inner.reports.push(r);
        }
        inner.coded = uses.into_iter().map(|u| (u.report_id, u.regions)).collect();
        Ok(())
    }

    /// A page of the queue: urgent reports first, then the rest, each in pull
    /// order; `now` tells how long ago each arrived.
    pub async fn page(
        &self,
        filter: &Filter,
        page: usize,
        per_page: usize,
        now: OffsetDateTime,
    ) -> Page {
        let inner = self.inner.read().await;
        let words: Vec<String> = fold(&filter.search)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let matches = |r: &IndexedReport| -> bool {
            if filter.urgent_only && !r.urgent {
                return false;
            }
            if let Some(d) = filter.day
                && r.received != d
            {
                return false;
            }
            if let Some(c) = filter.channel
                && r.channel != c
            {
                return false;
            }
            let uses = inner.coded.get(&r.id.to_string());
            match filter.status {
                Some(Status::Coded) if uses.is_none() => return false,
                Some(Status::Uncoded) if uses.is_some() => return false,
                _ => {}
            }
            if let Some(region) = &filter.region
                && !uses.is_some_and(|u| u.contains(region))
            {
                return false;
            }
            words.iter().all(|w| r.folded.contains(w.as_str()))
        };
        let ordered = inner
            .reports
            .iter()
            .filter(|r| r.urgent)
            .chain(inner.reports.iter().filter(|r| !r.urgent));
        let per_page = per_page.max(1);
        let mut matched = 0;
        let mut hits: Vec<&IndexedReport> = Vec::with_capacity(per_page);
        // Count every match, keep only the requested page's; a page past the
        // end shows the last one, so count first when it might be.
        let all: Vec<&IndexedReport> = ordered.filter(|r| matches(r)).collect();
        matched += all.len();
        let pages = matched.div_ceil(per_page).max(1);
        let page = page.min(pages - 1);
        hits.extend(all.iter().skip(page * per_page).take(per_page));
        let rows = hits
            .into_iter()
            .map(|r| {
                let regions = inner
                    .coded
                    .get(&r.id.to_string())
                    .cloned()
                    .unwrap_or_default();
                Row {
                    id: r.id,
                    received: r.received,
                    urgent: r.urgent,
                    channel: r.channel,
                    excerpt: r.text.as_ref().map(|t| excerpt(t, EXCERPT_CHARS)),
                    contact: r.contact.clone(),
                    coded: inner.coded.contains_key(&r.id.to_string()),
                    regions,
                    receipt_hash: r.receipt_hash,
                    minutes_ago: r.received_at.map(|at| (now - at).whole_minutes().max(0)),
                    can_reply: r.can_reply,
                }
            })
            .collect();
        Page {
            rows,
            matched,
            total: inner.reports.len(),
            page,
            pages,
        }
    }

    /// One report in full, if the desk holds it.
    pub async fn get(&self, id: ReportId) -> Option<Opened> {
        let inner = self.inner.read().await;
        let r = inner.reports.get(*inner.by_id.get(&id)?)?;
        Some(Opened {
            id: r.id,
            received: r.received,
            urgent: r.urgent,
            channel: r.channel,
            lang: r.lang,
            text: r.text.clone(),
            contact: r.contact.clone(),
            coded: inner.coded.contains_key(&r.id.to_string()),
            receipt_hash: r.receipt_hash,
            received_at: r.received_at,
            can_reply: r.can_reply,
            details: r.details.clone(),
            attachments: r.attachments,
        })
    }

    /// Marks a report coded at once (the next refresh reads it from the store anyway).
    pub async fn mark_coded(&self, id: ReportId, region: Option<&str>) {
        let mut inner = self.inner.write().await;
        let regions = inner.coded.entry(id.to_string()).or_default();
        if let Some(r) = region
            && !regions.iter().any(|x| x == r)
        {
            regions.push(r.to_owned());
        }
    }
}

/// "received 12 minutes ago", in the page's language, or "" when unknown.
pub fn ago(minutes: Option<i64>, lang: &str) -> String {
    let Some(m) = minutes else {
        return String::new();
    };
    let (h, min) = (m / 60, m % 60);
    match (lang, h) {
        ("ru", 0) => format!("получено {min} мин назад"),
        ("ru", h) if h < 48 => format!("получено {h} ч {min} мин назад"),
        ("ru", h) => format!("получено {} дн назад", h / 24),
        (_, 0) => format!("received {min} min ago"),
        (_, h) if h < 48 => format!("received {h} h {min} min ago"),
        (_, h) => format!("received {} days ago", h / 24),
    }
}

/// The first `n` characters of `text`, with an ellipsis if cut.
pub fn excerpt(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn excerpts_cut_at_characters_not_bytes() {
        assert_eq!(excerpt("задержан", 3), "зад…");
        assert_eq!(excerpt("abc", 3), "abc");
        assert_eq!(fold("Ёлка ПИКЕТ"), "елка пикет");
    }
}

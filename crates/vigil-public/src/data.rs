//! What a release is built from: plain numbers and the public part of the
//! record, gathered by the caller (crates/vigil/src/commands/release.rs) from
//! the desk's store. The public crate never reads a store: it takes this.

use std::collections::BTreeMap;

use crate::table::Text;

/// Counts of one group, or of the whole record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub actions: u64,
    pub detentions: u64,
    pub persons: u64,
    /// Events by kind code.
    pub events: BTreeMap<String, u64>,
}

/// One group of a breakdown: its code (`None` where the record does not say)
/// and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub code: Option<String>,
    pub counts: Counts,
}

/// The breakdowns `vigil stats` gives, one per page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdowns {
    pub month: Vec<Group>,
    pub region: Vec<Group>,
    pub article: Vec<Group>,
    pub event_kind: Vec<Group>,
    pub action_kind: Vec<Group>,
    pub topic: Vec<Group>,
}

/// A public protest action, as the list of actions shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicAction {
    pub id: String,
    /// `YYYY-MM-DD`, `YYYY-MM` or `YYYY`, as precise as the record is; empty if unknown.
    pub date: String,
    pub region: Option<String>,
    pub city: Option<String>,
    pub place: Option<String>,
    pub kind: String,
    pub topic: Option<String>,
    pub authorised: Option<String>,
    /// Detentions by the counting rules (published as they are).
    pub detentions: u64,
}

/// An event's counted fields: no person, no name, no free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicEvent {
    pub kind: String,
    /// As precise as the record is, but never finer than the month unless the
    /// event belongs to a public action (whose date is public anyway).
    pub date: String,
    pub region: Option<String>,
    pub articles: Vec<String>,
    pub trigger: Option<String>,
    pub action_id: Option<String>,
}

/// A counted person's attributes for the small-number tables. Only persons
/// whose consent is `counts` or `public` are here; no id, no name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonAttributes {
    pub gender: Option<String>,
    pub age_group: Option<String>,
    pub roles: Vec<String>,
}

/// The counted persons' attributes, added up as they stream by: a record of
/// a million persons never sits in memory for its four small tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonCounts {
    /// Persons counted in all.
    pub persons: u64,
    /// Persons by (gender, age group), `unknown` where not stated.
    pub by_gender_age: BTreeMap<(String, String), u64>,
    /// Persons by role (a person may hold several), `unknown` for none.
    pub by_role: BTreeMap<String, u64>,
}

impl PersonCounts {
    pub fn add(&mut self, p: &PersonAttributes) {
        let unknown = || "unknown".to_owned();
        self.persons += 1;
        let key = (
            p.gender.clone().unwrap_or_else(unknown),
            p.age_group.clone().unwrap_or_else(unknown),
        );
        *self.by_gender_age.entry(key).or_default() += 1;
        if p.roles.is_empty() {
            *self.by_role.entry(unknown()).or_default() += 1;
        }
        for r in &p.roles {
            *self.by_role.entry(r.clone()).or_default() += 1;
        }
    }
}

impl FromIterator<PersonAttributes> for PersonCounts {
    fn from_iter<I: IntoIterator<Item = PersonAttributes>>(iter: I) -> Self {
        let mut c = PersonCounts::default();
        for p in iter {
            c.add(&p);
        }
        c
    }
}

/// One event of a public case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEvent {
    pub date: String,
    pub kind: String,
    pub region: Option<String>,
    pub articles: Vec<String>,
    pub fine_rub: Option<i64>,
    pub arrest_days: Option<i64>,
    pub sentence: Option<String>,
}

/// A person whose consent is "name and case public", with their events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicCase {
    /// A stable slug for the page's file name (not the desk's id).
    pub slug: String,
    pub name: String,
    pub region: Option<String>,
    pub roles: Vec<String>,
    pub events: Vec<CaseEvent>,
}

/// Everything a release is built from.
#[derive(Debug, Clone, Default)]
pub struct PublicData {
    /// The latest date the record holds (`YYYY-MM-DD`), if any.
    pub data_date: Option<String>,
    pub total: Counts,
    pub by: Breakdowns,
    pub actions: Vec<PublicAction>,
    pub events: Vec<PublicEvent>,
    /// Persons whose consent is `counts` or `public`, with an event.
    pub persons: PersonCounts,
    pub cases: Vec<PublicCase>,
    /// Labels per vocabulary (`regions`, `event_kinds`, `action_kinds`,
    /// `articles`, `topics`, `authorised`, `triggers`, `roles`, `genders`,
    /// `age_groups`): code → RU/EN.
    pub labels: BTreeMap<String, BTreeMap<String, Text>>,
    /// Every region in the vocabulary, in order (the grid map shows them all).
    pub regions: Vec<String>,
    /// Attribution lines the data's sources require ("Data: OVD-Info, CC BY 3.0").
    pub attributions: Vec<String>,
    /// Threshold of the small-number rule (checked with `suppress::check_k`).
    pub k: u64,
    /// Reports received per day (the hotline's own count, kept from earlier releases).
    pub reports_by_day: Vec<(String, u64)>,
    /// Under which terms the data may be reused (config `[public.licence]`;
    /// CC BY 4.0 by default): manifest, codebook, LICENSE and every page's footer.
    pub licence: vigil_core::release::Licence,
}

impl PublicData {
    /// The RU/EN label of a code, or the code itself.
    pub fn label(&self, vocabulary: &str, code: &str) -> Text {
        self.labels
            .get(vocabulary)
            .and_then(|m| m.get(code))
            .cloned()
            .unwrap_or_else(|| Text::new(code, code))
    }
}

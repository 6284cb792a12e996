//! The record's model: persons, protest actions, events, cases, with their
//! identifying parts sealed by the record key on the way into the store and
//! opened on the way out. Vocabulary values are codes (see `vocab`).

use serde::{Deserialize, Serialize};
use vigil_core::Day;
use vigil_store::record::{ActionRow, CaseRow, DateRow, EventRow, Origin, PersonRow, Stamp};

use crate::date::{PartialDate, Precision};
use crate::key::{KeyError, RecordKey};

/// What identifies a person: sealed at rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonIdentity {
    /// The name as written in the source.
    pub name: String,
    /// Other spellings: Cyrillic, Latin, with or without patronymic.
    #[serde(default)]
    pub variants: Vec<String>,
    #[serde(default)]
    pub birth_date: Option<String>,
    #[serde(default)]
    pub birth_year: Option<i32>,
    #[serde(default)]
    pub contacts: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub identity: PersonIdentity,
    pub gender: Option<String>,
    pub region: Option<String>,
    pub roles: Vec<String>,
    /// `none`, `counts` or `public`.
    pub consent: String,
    pub origin: Option<Origin>,
}

/// An action's free text: sealed at rest (it may name people).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDetails {
    #[serde(default)]
    pub place: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub links: Vec<String>,
}

/// A public event at which people were detained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub id: String,
    pub date: PartialDate,
    pub region: Option<String>,
    pub city: Option<String>,
    pub kind: String,
    pub topic: Option<String>,
    pub organiser: Option<String>,
    /// `yes`, `no` or `not_required`; `None` when not known.
    pub authorised: Option<String>,
    pub verification: String,
    pub details: ActionDetails,
    pub stations: Vec<String>,
    pub origin: Option<Origin>,
}

/// An event's free text: sealed at rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetails {
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub links: Vec<String>,
}

/// An act against a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub person_id: Option<String>,
    pub action_id: Option<String>,
    pub case_id: Option<String>,
    pub kind: String,
    pub date: PartialDate,
    pub region: Option<String>,
    pub city: Option<String>,
    pub police_station: Option<String>,
    pub court: Option<String>,
    pub articles: Vec<String>,
    pub trigger: Option<String>,
    pub fine_rub: Option<i64>,
    pub arrest_days: Option<i64>,
    pub sentence: Option<String>,
    pub verification: String,
    pub details: EventDetails,
    pub origin: Option<Origin>,
}

/// A case's title and notes: sealed at rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDetails {
    pub title: String,
    #[serde(default)]
    pub notes: Option<String>,
}

/// One person's events in one matter; the events name the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: String,
    pub person_id: String,
    pub details: CaseDetails,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("a sealed field holds something other than vigil's JSON")]
    Damaged,
}

fn seal<T: Serialize>(key: &RecordKey, id: &str, value: &T) -> Result<Vec<u8>, ModelError> {
    // import4: the JSON written straight into the buffer it is sealed in.
    key.seal_written(id, |buf| serde_json::to_writer(buf, value).is_ok())?
        .ok_or(ModelError::Damaged)
}

fn open<T: for<'de> Deserialize<'de>>(
    key: &RecordKey,
    id: &str,
    sealed: &[u8],
) -> Result<T, ModelError> {
    let plain = key.open(id, sealed)?;
    serde_json::from_slice(&plain).map_err(|_| ModelError::Damaged)
}

/// recfast: free text that is empty (no notes, no links: every row of most
/// imported tables) is stored as no bytes instead of a sealed empty value. A
/// million fewer seals per million-row import; what it shows is only that the
/// record has no free text (docs/threat-model.md). Sealed values read as before.
fn seal_details<T: Serialize + Default + PartialEq>(
    key: &RecordKey,
    id: &str,
    value: &T,
) -> Result<Vec<u8>, ModelError> {
    if *value == T::default() {
        return Ok(Vec::new());
    }
    seal(key, id, value)
}

fn open_details<T: for<'de> Deserialize<'de> + Default>(
    key: &RecordKey,
    id: &str,
    sealed: &[u8],
) -> Result<T, ModelError> {
    if sealed.is_empty() {
        return Ok(T::default());
    }
    open(key, id, sealed)
}

pub(crate) fn date_row(d: PartialDate) -> DateRow {
    DateRow {
        day: d.start,
        precision: d.precision.as_str(),
    }
}

pub fn date_from_row(d: DateRow) -> PartialDate {
    PartialDate {
        start: d.day,
        precision: Precision::parse(d.precision).unwrap_or(Precision::Unknown),
    }
}

/// A new record's stamp: version 1, made by `editor` on `today`.
pub fn first_stamp(editor: &str, today: Day) -> Stamp {
    Stamp {
        version: 1,
        changed: today,
        changed_by: editor.to_owned(),
    }
}

impl Person {
    pub fn to_row(&self, key: &RecordKey, stamp: Stamp) -> Result<PersonRow, ModelError> {
        self.clone().into_row(key, stamp)
    }

    /// Like `to_row`, without copying the clear fields (an import makes a
    /// million of these).
    pub fn into_row(self, key: &RecordKey, stamp: Stamp) -> Result<PersonRow, ModelError> {
        let sealed = seal(key, &self.id, &self.identity)?;
        Ok(PersonRow {
            id: self.id,
            sealed,
            gender: self.gender,
            region: self.region,
            roles: self.roles,
            consent: self.consent,
            origin: self.origin,
            stamp,
        })
    }

    pub fn from_row(row: &PersonRow, key: &RecordKey) -> Result<Person, ModelError> {
        Ok(Person {
            id: row.id.clone(),
            identity: open(key, &row.id, &row.sealed)?,
            gender: row.gender.clone(),
            region: row.region.clone(),
            roles: row.roles.clone(),
            consent: row.consent.clone(),
            origin: row.origin.clone(),
        })
    }
}

impl Action {
    pub fn to_row(&self, key: &RecordKey, stamp: Stamp) -> Result<ActionRow, ModelError> {
        Ok(ActionRow {
            id: self.id.clone(),
            date: date_row(self.date),
            region: self.region.clone(),
            city: self.city.clone(),
            kind: self.kind.clone(),
            topic: self.topic.clone(),
            organiser: self.organiser.clone(),
            authorised: self.authorised.clone(),
            verification: self.verification.clone(),
            sealed: seal_details(key, &self.id, &self.details)?,
            stations: self.stations.clone(),
            origin: self.origin.clone(),
            stamp,
        })
    }

    pub fn from_row(row: &ActionRow, key: &RecordKey) -> Result<Action, ModelError> {
        Ok(Action {
            id: row.id.clone(),
            date: date_from_row(row.date),
            region: row.region.clone(),
            city: row.city.clone(),
            kind: row.kind.clone(),
            topic: row.topic.clone(),
            organiser: row.organiser.clone(),
            authorised: row.authorised.clone(),
            verification: row.verification.clone(),
            details: open_details(key, &row.id, &row.sealed)?,
            stations: row.stations.clone(),
            origin: row.origin.clone(),
        })
    }
}

impl Event {
    /// Like `to_row`, without copying the clear fields.
    pub fn into_row(self, key: &RecordKey, stamp: Stamp) -> Result<EventRow, ModelError> {
        let sealed = seal_details(key, &self.id, &self.details)?;
        Ok(EventRow {
            id: self.id,
            person_id: self.person_id,
            action_id: self.action_id,
            case_id: self.case_id,
            kind: self.kind,
            date: date_row(self.date),
            region: self.region,
            city: self.city,
            police_station: self.police_station,
            court: self.court,
            articles: self.articles,
            trigger: self.trigger,
            fine_rub: self.fine_rub,
            arrest_days: self.arrest_days,
            sentence: self.sentence,
            verification: self.verification,
            sealed,
            origin: self.origin,
            stamp,
        })
    }

    pub fn to_row(&self, key: &RecordKey, stamp: Stamp) -> Result<EventRow, ModelError> {
        self.clone().into_row(key, stamp)
    }

    pub fn from_row(row: &EventRow, key: &RecordKey) -> Result<Event, ModelError> {
        Ok(Event {
            id: row.id.clone(),
            person_id: row.person_id.clone(),
            action_id: row.action_id.clone(),
            case_id: row.case_id.clone(),
            kind: row.kind.clone(),
            date: date_from_row(row.date),
            region: row.region.clone(),
            city: row.city.clone(),
            police_station: row.police_station.clone(),
            court: row.court.clone(),
            articles: row.articles.clone(),
            trigger: row.trigger.clone(),
            fine_rub: row.fine_rub,
            arrest_days: row.arrest_days,
            sentence: row.sentence.clone(),
            verification: row.verification.clone(),
            details: open_details(key, &row.id, &row.sealed)?,
            origin: row.origin.clone(),
        })
    }
}

impl Case {
    pub fn to_row(&self, key: &RecordKey, stamp: Stamp) -> Result<CaseRow, ModelError> {
        Ok(CaseRow {
            id: self.id.clone(),
            person_id: self.person_id.clone(),
            sealed: seal(key, &self.id, &self.details)?,
            stamp,
        })
    }

    pub fn from_row(row: &CaseRow, key: &RecordKey) -> Result<Case, ModelError> {
        Ok(Case {
            id: row.id.clone(),
            person_id: row.person_id.clone(),
            details: open(key, &row.id, &row.sealed)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn event(details: EventDetails) -> Event {
        Event {
            id: "e-1".into(),
            person_id: None,
            action_id: None,
            case_id: None,
            kind: "detention".into(),
            date: PartialDate::UNKNOWN,
            region: None,
            city: None,
            police_station: None,
            court: None,
            articles: Vec::new(),
            trigger: None,
            fine_rub: None,
            arrest_days: None,
            sentence: None,
            verification: "reported".into(),
            details,
            origin: None,
        }
    }

    #[test]
    fn empty_free_text_is_stored_as_nothing_and_the_rest_sealed() {
        let key = RecordKey::generate().unwrap();
        let stamp = first_stamp("import", Day::today());
        let empty = event(EventDetails::default());
        let row = empty.to_row(&key, stamp.clone()).unwrap();
        assert!(row.sealed.is_empty());
        assert_eq!(Event::from_row(&row, &key).unwrap(), empty);
        let noted = event(EventDetails {
            notes: Some("задержан у метро".into()),
            links: Vec::new(),
        });
        let row = noted.to_row(&key, stamp).unwrap();
        assert!(row.sealed.len() > 24);
        assert!(!String::from_utf8_lossy(&row.sealed).contains("метро"));
        assert_eq!(Event::from_row(&row, &key).unwrap(), noted);
        // Moved to another record, sealed text does not open.
        let mut moved = row.clone();
        moved.id = "e-2".into();
        assert!(Event::from_row(&moved, &key).is_err());
    }
}

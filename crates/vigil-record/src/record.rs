//! The record opened with its key: what the desk's pages use to read a person,
//! an action or a case, and to edit them with history kept.

use vigil_core::Day;
use vigil_store::record::{Edit, EventsOf, HistoryEntry};
use vigil_store::{DeskStore, StoreError};

use crate::key::RecordKey;
use crate::model::{Action, Case, Event, ModelError, Person, first_stamp};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// A case with its events in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFile {
    pub case: Case,
    pub person: Option<Person>,
    pub events: Vec<Event>,
}

pub struct Record<'a> {
    pub store: &'a dyn DeskStore,
    pub key: &'a RecordKey,
}

impl Record<'_> {
    pub async fn person(&self, id: &str) -> Result<Option<Person>, RecordError> {
        match self.store.record_person(id).await? {
            Some(row) => Ok(Some(Person::from_row(&row, self.key)?)),
            None => Ok(None),
        }
    }

    pub async fn action(&self, id: &str) -> Result<Option<Action>, RecordError> {
        match self.store.record_action(id).await? {
            Some(row) => Ok(Some(Action::from_row(&row, self.key)?)),
            None => Ok(None),
        }
    }

    pub async fn event(&self, id: &str) -> Result<Option<Event>, RecordError> {
        match self.store.record_event(id).await? {
            Some(row) => Ok(Some(Event::from_row(&row, self.key)?)),
            None => Ok(None),
        }
    }

    pub async fn events(&self, of: EventsOf<'_>) -> Result<Vec<Event>, RecordError> {
        let rows = self.store.record_events(of).await?;
        rows.iter()
            .map(|r| Event::from_row(r, self.key).map_err(RecordError::from))
            .collect()
    }

    /// A case, its person and its events in date order.
    pub async fn case(&self, id: &str) -> Result<Option<CaseFile>, RecordError> {
        let Some(row) = self.store.record_case(id).await? else {
            return Ok(None);
        };
        let case = Case::from_row(&row, self.key)?;
        let person = self.person(&case.person_id).await?;
        let events = self.events(EventsOf::Case(id)).await?;
        Ok(Some(CaseFile {
            case,
            person,
            events,
        }))
    }

    /// Adds new records (version 1) in one transaction.
    pub async fn add(
        &self,
        persons: &[Person],
        actions: &[Action],
        cases: &[Case],
        events: &[Event],
        editor: &str,
        today: Day,
    ) -> Result<(), RecordError> {
        let stamp = first_stamp(editor, today);
        let mut batch = vigil_store::record::RecordBatch::default();
        for p in persons {
            batch.persons.push(p.to_row(self.key, stamp.clone())?);
        }
        for a in actions {
            batch.actions.push(a.to_row(self.key, stamp.clone())?);
        }
        for c in cases {
            batch.cases.push(c.to_row(self.key, stamp.clone())?);
        }
        for e in events {
            batch.events.push(e.to_row(self.key, stamp.clone())?);
        }
        self.store.record_write(&batch).await?;
        Ok(())
    }

    /// Saves a new version of an event read at `version`; the previous version
    /// stays in the history with `editor` and `today`.
    pub async fn edit_event(
        &self,
        event: &Event,
        version: i64,
        editor: &str,
        today: Day,
    ) -> Result<(), RecordError> {
        let row = event.to_row(self.key, edit_stamp(version, editor, today))?;
        self.save(Edit::Event(&row), editor, today).await
    }

    /// Saves a new version of a person read at `version`.
    pub async fn edit_person(
        &self,
        person: &Person,
        version: i64,
        editor: &str,
        today: Day,
    ) -> Result<(), RecordError> {
        let row = person.to_row(self.key, edit_stamp(version, editor, today))?;
        self.save(Edit::Person(&row), editor, today).await
    }

    /// Saves a new version of an action read at `version`.
    pub async fn edit_action(
        &self,
        action: &Action,
        version: i64,
        editor: &str,
        today: Day,
    ) -> Result<(), RecordError> {
        let row = action.to_row(self.key, edit_stamp(version, editor, today))?;
        self.save(Edit::Action(&row), editor, today).await
    }

    async fn save(&self, edit: Edit<'_>, editor: &str, today: Day) -> Result<(), RecordError> {
        self.store.record_edit(edit, editor, today).await?;
        Ok(())
    }

    pub async fn history(&self, entity: &str, id: &str) -> Result<Vec<HistoryEntry>, RecordError> {
        Ok(self.store.record_history(entity, id).await?)
    }
}

/// The stamp of an edit to a record read at `version` (the store checks it
/// and writes the next one).
fn edit_stamp(version: i64, editor: &str, today: Day) -> vigil_store::record::Stamp {
    let mut stamp = first_stamp(editor, today);
    stamp.version = version;
    stamp
}

//! Duplicate suggestions over the desk's persons: vigil-linkage's engine run
//! in memory on their opened names, birth years and regions, each suggested
//! pair with the engine's explanation (which fields agreed, and how: same
//! spelling or transliteration, another form of the name, a similar spelling).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use vigil_linkage::{Dataset, Quiet, Spec};
use vigil_record::RecordKey;
use vigil_record::model::{ModelError, Person};
use vigil_store::record::PersonRow;
use zeroize::Zeroize;

/// What linkage compares of one person.
pub struct PersonFields {
    pub id: String,
    pub name: String,
    pub birth_year: Option<i32>,
    /// The region's name (not its code), so places compare as written.
    pub region: Option<String>,
}

impl Drop for PersonFields {
    fn drop(&mut self) {
        self.name.zeroize();
    }
}

/// One column's part in a suggestion.
#[derive(Debug, Clone)]
pub struct Agreement {
    pub field: String,
    pub how: &'static str,
    /// log2 Bayes factor: positive for evidence of one person.
    pub bits: f64,
}

/// Two persons that may be one.
#[derive(Debug, Clone)]
pub struct Suggestion {
    /// Indices into the slice given to [`suggest`].
    pub a: usize,
    pub b: usize,
    pub probability: f64,
    pub why: Vec<Agreement>,
}

const SPEC: &str =
    "id = \"id\"\n[fields]\nname = \"person_name\"\nbirth_year = \"year\"\nregion = \"place\"\n";

/// Below this many persons, a synthetic population joins them for training.
const BACKGROUND: usize = 500;
const BACKGROUND_SEED: u64 = 0x0076_6967_696c;

/// The engine's records, prepared from persons' fields (normalised names,
/// their transliterations and forms): `keys[r]` is the person record `r`
/// was made from. Kept between linkages (deskfast): a person added or edited
/// since is pushed on, and a record whose person was merged away or edited
/// stays as "gone" (compared, never suggested) until gone ones are more than
/// 1 in [`REMOVED_AT_MOST`], when it is prepared anew.
pub struct Prepared {
    data: Dataset,
    keys: Vec<(String, i64)>,
    /// The records that are synthetic background (their pairs never suggested).
    background: bool,
}

fn spec() -> Option<Spec> {
    Spec::parse(SPEC).ok()
}

fn push(data: &mut Dataset, order: &[String], name: &str, year: &str, region: &str) {
    let fields: Vec<&str> = order
        .iter()
        .map(|c| match c.as_str() {
            "name" => name,
            "birth_year" => year,
            "region" => region,
            _ => "",
        })
        .collect();
    data.push(0, &fields);
}

impl Prepared {
    /// Records for `persons`, from scratch; `keys[i]` names `persons[i]`.
    fn new(persons: &[PersonFields], keys: Vec<(String, i64)>) -> Option<Prepared> {
        let spec = spec()?;
        let order: Vec<String> = spec.fields.iter().map(|f| f.column.clone()).collect();
        let mut data = Dataset::new(spec);
        for p in persons {
            p.push_into(&mut data, &order);
        }
        let real = data.len();
        // The engine learns how often strangers agree from random pairs of the
        // data. A new desk (or the demo) with a handful of persons has almost no
        // strangers: with two persons the only "random" pair is the duplicate
        // itself, so agreeing counted as no evidence and nothing was suggested.
        // Below BACKGROUND persons a seeded synthetic population joins them for
        // the estimates; its pairs are never suggested.
        let background = real < BACKGROUND;
        if background {
            for r in vigil_linkage::generate::generate(BACKGROUND - real, BACKGROUND_SEED) {
                let name = format!("{} {} {}", r.given_name, r.patronymic, r.surname);
                let year = r.birth_date.get(..4).unwrap_or_default();
                push(&mut data, &order, &name, year, &r.city);
            }
        }
        Some(Prepared {
            data,
            keys,
            background,
        })
    }

    /// Runs the engine; `alive[r]` is the person index of record `r`, `None`
    /// for a record never suggested (gone, or background).
    fn link(&self, alive: &[Option<usize>]) -> Vec<Suggestion> {
        let threshold = self.data.spec().threshold;
        let person = |r: u32| alive.get(r as usize).copied().flatten();
        let linkage = self.data.link(&mut Quiet);
        let mut out: Vec<Suggestion> = linkage
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.probability >= threshold)
            .filter_map(|(i, p)| {
                Some(Suggestion {
                    a: person(p.a)?,
                    b: person(p.b)?,
                    probability: p.probability,
                    why: self
                        .data
                        .explain(&linkage, i)
                        .into_iter()
                        .map(|c| Agreement {
                            field: c.column,
                            how: c.label,
                            bits: c.bits,
                        })
                        .collect(),
                })
            })
            .collect();
        out.sort_by(|x, y| y.probability.total_cmp(&x.probability));
        out
    }
}

impl PersonFields {
    fn push_into(&self, data: &mut Dataset, order: &[String]) {
        let year = self.birth_year.map(|y| y.to_string()).unwrap_or_default();
        push(
            data,
            order,
            &self.name,
            &year,
            self.region.as_deref().unwrap_or(""),
        );
    }
}

/// Suggested pairs with a match probability of at least the engine's threshold, most likely first.
pub fn suggest(persons: &[PersonFields]) -> Vec<Suggestion> {
    if persons.len() < 2 {
        return Vec::new();
    }
    let keys = persons.iter().map(|p| (p.id.clone(), 0)).collect();
    let Some(prepared) = Prepared::new(persons, keys) else {
        return Vec::new();
    };
    let alive: Vec<Option<usize>> = (0..persons.len()).map(Some).collect();
    prepared.link(&alive)
}

/// deskfast: the persons compared and the pairs suggested among them, as of
/// one reading of the store. Kept between views ([`SuggestionCache`]), so that
/// a view of an unchanged record opens and links nothing again.
pub struct Suggestions {
    /// `(id, version)` of each compared person, in the order of `persons`.
    keys: Vec<(String, i64)>,
    pub persons: Vec<Person>,
    /// Most likely first; `a` and `b` index `persons`.
    pub pairs: Vec<Suggestion>,
}

/// How a view got its suggestions (for the bench and the logs' timing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Nobody changed: the last suggestions as they were.
    Unchanged,
    /// Persons were only taken away (merged into another, purged): the last
    /// suggestions without their pairs.
    Removed,
    /// Persons were added or edited: those opened and prepared, everyone
    /// linked again (`anew`: the engine's records prepared from scratch).
    Linked { opened: usize, anew: bool },
}

/// Above one in this many of the engine's records gone (merged away, edited)
/// since they were prepared, they are prepared anew and the engine runs again.
const REMOVED_AT_MOST: usize = 20;

impl Suggestions {
    /// The suggestions over `rows` (the store's persons now), reusing what
    /// `previous` opened and linked, and what `prepared` holds, where nothing
    /// changed. `prepared` is left holding the engine's records for next time.
    pub fn update(
        previous: Option<&Arc<Suggestions>>,
        prepared: &mut Option<Prepared>,
        rows: &[PersonRow],
        key: &RecordKey,
        region: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<(Arc<Suggestions>, Refresh), ModelError> {
        let keys: Vec<(String, i64)> = rows
            .iter()
            .map(|r| (r.id.clone(), r.stamp.version))
            .collect();
        Self::update_to(previous, prepared, keys, rows, key, region)?.ok_or(ModelError::Damaged)
    }

    /// The ids among `keys` (the store's `record_person_versions`) that
    /// `previous` has not opened at that version: the rows
    /// [`Suggestions::update_to`] needs.
    pub fn unknown(previous: Option<&Suggestions>, keys: &[(String, i64)]) -> Vec<String> {
        let known: std::collections::HashSet<(&str, i64)> = previous
            .map(|p| p.keys.iter().map(|(id, v)| (id.as_str(), *v)).collect())
            .unwrap_or_default();
        keys.iter()
            .filter(|(id, v)| !known.contains(&(id.as_str(), *v)))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Like [`Suggestions::update`] for the persons `keys` names, when
    /// `rows` holds at least those [`Suggestions::unknown`] lists. `None`
    /// when a row needed is missing or at another version (edited between
    /// the two reads): read everything then.
    pub fn update_to(
        previous: Option<&Arc<Suggestions>>,
        prepared: &mut Option<Prepared>,
        keys: Vec<(String, i64)>,
        rows: &[PersonRow],
        key: &RecordKey,
        region: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<Option<(Arc<Suggestions>, Refresh)>, ModelError> {
        if let Some(previous) = previous {
            if previous.keys == keys {
                return Ok(Some((previous.clone(), Refresh::Unchanged)));
            }
            if let Some(fewer) = previous.without_removed(&keys) {
                return Ok(Some((Arc::new(fewer), Refresh::Removed)));
            }
        }
        // Opened before at the same version: taken as it is.
        let known: HashMap<(&str, i64), &Person> = previous
            .map(|p| {
                p.keys
                    .iter()
                    .zip(&p.persons)
                    .map(|((id, v), person)| ((id.as_str(), *v), person))
                    .collect()
            })
            .unwrap_or_default();
        let mut persons: Vec<Option<Person>> = keys
            .iter()
            .map(|(id, v)| known.get(&(id.as_str(), *v)).map(|p| (*p).clone()))
            .collect();
        let row_of: HashMap<(&str, i64), &PersonRow> = rows
            .iter()
            .map(|r| ((r.id.as_str(), r.stamp.version), r))
            .collect();
        let mut to_open: Vec<(usize, &PersonRow)> = Vec::new();
        for (i, (id, v)) in keys.iter().enumerate() {
            if persons[i].is_none() {
                let Some(row) = row_of.get(&(id.as_str(), *v)) else {
                    return Ok(None);
                };
                to_open.push((i, row));
            }
        }
        let opened = to_open.len();
        for (i, person) in open_all(&to_open, key)? {
            persons[i] = Some(person);
        }
        let persons: Vec<Person> = persons.into_iter().flatten().collect();
        let fields = |p: &Person| PersonFields {
            id: p.id.clone(),
            name: p.identity.name.clone(),
            birth_year: p.identity.birth_year,
            region: p.region.as_deref().map(region),
        };
        // The engine's records: those prepared before, with the new ones
        // pushed on, if few enough are gone; else all anew.
        let mut alive: Vec<Option<usize>> = Vec::new();
        let reused = prepared.take().and_then(|mut p| {
            if p.background || persons.len() < 2 {
                return None;
            }
            let at: HashMap<(&str, i64), usize> = p
                .keys
                .iter()
                .enumerate()
                .map(|(r, (id, v))| ((id.as_str(), *v), r))
                .collect();
            let mut record_of: Vec<Option<usize>> = keys
                .iter()
                .map(|(id, v)| at.get(&(id.as_str(), *v)).copied())
                .collect();
            drop(at);
            let kept = record_of.iter().flatten().count();
            let gone = p.keys.len() - kept;
            if gone * REMOVED_AT_MOST > p.keys.len() {
                return None;
            }
            let order: Vec<String> = p
                .data
                .spec()
                .fields
                .iter()
                .map(|f| f.column.clone())
                .collect();
            for (i, r) in record_of.iter_mut().enumerate() {
                if r.is_none() {
                    fields(&persons[i]).push_into(&mut p.data, &order);
                    p.keys.push(keys[i].clone());
                    *r = Some(p.keys.len() - 1);
                }
            }
            alive = vec![None; p.keys.len()];
            for (i, r) in record_of.iter().enumerate() {
                if let Some(r) = r {
                    alive[*r] = Some(i);
                }
            }
            Some(p)
        });
        let anew = reused.is_none();
        let next = match reused {
            Some(p) => Some(p),
            None if persons.len() >= 2 => {
                let all: Vec<PersonFields> = persons.iter().map(fields).collect();
                alive = (0..persons.len()).map(Some).collect();
                Prepared::new(&all, keys.clone())
            }
            None => None,
        };
        let pairs = next.as_ref().map(|p| p.link(&alive)).unwrap_or_default();
        *prepared = next;
        Ok(Some((
            Arc::new(Suggestions {
                keys,
                persons,
                pairs,
            }),
            Refresh::Linked { opened, anew },
        )))
    }

    /// These suggestions without the persons missing from `keys`, when that
    /// is all that changed (and not too many went).
    fn without_removed(&self, keys: &[(String, i64)]) -> Option<Suggestions> {
        let gone = self.keys.len().checked_sub(keys.len())?;
        if gone == 0 || gone * REMOVED_AT_MOST > self.keys.len() {
            return None;
        }
        let old: HashMap<(&str, i64), usize> = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, (id, v))| ((id.as_str(), *v), i))
            .collect();
        let mut new_index = vec![None; self.keys.len()];
        let mut persons = Vec::with_capacity(keys.len());
        for (i, (id, v)) in keys.iter().enumerate() {
            let &j = old.get(&(id.as_str(), *v))?;
            new_index[j] = Some(i);
            persons.push(self.persons[j].clone());
        }
        let pairs = self
            .pairs
            .iter()
            .filter_map(|s| {
                Some(Suggestion {
                    a: new_index[s.a]?,
                    b: new_index[s.b]?,
                    probability: s.probability,
                    why: s.why.clone(),
                })
            })
            .collect();
        Some(Suggestions {
            keys: keys.to_vec(),
            persons,
            pairs,
        })
    }
}

/// Opens sealed persons on every core (at most four), keeping their indices.
fn open_all(
    rows: &[(usize, &PersonRow)],
    key: &RecordKey,
) -> Result<Vec<(usize, Person)>, ModelError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let chunk = rows.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(i, row)| Person::from_row(row, key).map(|p| (*i, p)))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part?),
                Err(_) => return Err(ModelError::Damaged),
            }
        }
        Ok(out)
    })
}

/// The last suggestions and the engine's prepared records, and a turn so
/// that two views at once link once.
#[derive(Default)]
pub struct SuggestionCache {
    last: Mutex<Option<Arc<Suggestions>>>,
    turn: tokio::sync::Mutex<Option<Prepared>>,
}

impl SuggestionCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits for any other view's refresh to finish; the guard holds the
    /// prepared records (hold it while refreshing).
    pub async fn turn(&self) -> tokio::sync::MutexGuard<'_, Option<Prepared>> {
        self.turn.lock().await
    }

    pub fn last(&self) -> Option<Arc<Suggestions>> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    pub fn keep(&self, s: Arc<Suggestions>) {
        if let Ok(mut l) = self.last.lock() {
            *l = Some(s);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p(id: &str, name: &str, year: Option<i32>, region: &str) -> PersonFields {
        PersonFields {
            id: id.into(),
            name: name.into(),
            birth_year: year,
            region: Some(region.into()),
        }
    }

    #[test]
    fn a_transliterated_name_is_suggested_and_explained() {
        let mut persons = vec![
            p("1", "Иван Петрович Смирнов", Some(1990), "Москва"),
            p("2", "Ivan Smirnov", Some(1990), "Moscow"),
            p("3", "Мария Кузнецова", Some(1975), "Санкт-Петербург"),
        ];
        // Others, so the engine has a population to estimate from.
        let generated = vigil_linkage::generate::generate(400, 7);
        for (i, r) in generated.iter().enumerate() {
            persons.push(p(
                &format!("g{i}"),
                &format!("{} {} {}", r.given_name, r.patronymic, r.surname),
                r.birth_date.get(..4).and_then(|y| y.parse().ok()),
                &r.city,
            ));
        }
        let s = suggest(&persons);
        let pair = s
            .iter()
            .find(|s| (s.a, s.b) == (0, 1) || (s.a, s.b) == (1, 0))
            .expect("Иван Смирнов and Ivan Smirnov suggested");
        assert!(pair.probability >= 0.5);
        assert!(
            pair.why
                .iter()
                .any(|w| w.field == "name.surname" && w.how.contains("transliteration")),
            "{:?}",
            pair.why
        );
        assert!(!s.iter().any(|s| s.a == 2 || s.b == 2));
    }

    fn row(key: &RecordKey, id: &str, name: &str, year: i32, region: &str, v: i64) -> PersonRow {
        Person {
            id: id.into(),
            identity: vigil_record::model::PersonIdentity {
                name: name.into(),
                birth_year: Some(year),
                ..Default::default()
            },
            gender: None,
            region: Some(region.into()),
            roles: vec![],
            consent: "none".into(),
            origin: None,
        }
        .into_row(
            key,
            vigil_store::record::Stamp {
                version: v,
                changed: "2026-03-01".parse().unwrap(),
                changed_by: "test".into(),
            },
        )
        .unwrap()
    }

    fn ids(s: &Suggestions) -> std::collections::BTreeSet<(String, String)> {
        s.pairs
            .iter()
            .map(|p| {
                let (a, b) = (&s.persons[p.a].id, &s.persons[p.b].id);
                (a.min(b).clone(), a.max(b).clone())
            })
            .collect()
    }

    #[test]
    fn kept_suggestions_follow_additions_edits_and_merges() {
        let key = RecordKey::generate().unwrap();
        let region = |r: &str| r.to_owned();
        let mut rows: Vec<PersonRow> = vigil_linkage::generate::generate(700, 3)
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let name = format!("{} {} {}", r.given_name, r.patronymic, r.surname);
                let year = r
                    .birth_date
                    .get(..4)
                    .and_then(|y| y.parse().ok())
                    .unwrap_or(1980);
                row(&key, &format!("g{i:04}"), &name, year, &r.city, 1)
            })
            .collect();
        rows.push(row(&key, "x-1", "Иван Петрович Смирнов", 1990, "Москва", 1));
        let mut prepared = None;
        let (first, how) = Suggestions::update(None, &mut prepared, &rows, &key, &region).unwrap();
        assert_eq!(
            how,
            Refresh::Linked {
                opened: 701,
                anew: true
            }
        );
        // Nothing changed: the same suggestions, nothing opened or linked.
        let (same, how) =
            Suggestions::update(Some(&first), &mut prepared, &rows, &key, &region).unwrap();
        assert_eq!(how, Refresh::Unchanged);
        assert!(Arc::ptr_eq(&first, &same));
        // A person coded since: only they are opened, the records are reused,
        // and they are suggested with their duplicate.
        rows.push(row(&key, "x-2", "Ivan Smirnov", 1990, "Moscow", 1));
        let (added, how) =
            Suggestions::update(Some(&same), &mut prepared, &rows, &key, &region).unwrap();
        assert_eq!(
            how,
            Refresh::Linked {
                opened: 1,
                anew: false
            }
        );
        let pair = ("x-1".to_owned(), "x-2".to_owned());
        assert!(ids(&added).contains(&pair), "{:?}", ids(&added).len());
        // From scratch, the same pairs are suggested.
        let (scratch, _) = Suggestions::update(None, &mut None, &rows, &key, &region).unwrap();
        assert_eq!(ids(&added), ids(&scratch));
        // An edit (a new version) is opened again and compared as it is now.
        let last = rows.len() - 1;
        rows[last] = row(&key, "x-2", "Мария Кузнецова", 1975, "Санкт-Петербург", 2);
        let keys: Vec<(String, i64)> = rows
            .iter()
            .map(|r| (r.id.clone(), r.stamp.version))
            .collect();
        assert_eq!(Suggestions::unknown(Some(&added), &keys), ["x-2"]);
        // Without the edited row (or with another version of it): read everything.
        let stale = row(&key, "x-2", "Ivan Smirnov", 1990, "Moscow", 1);
        for given in [vec![], vec![stale]] {
            let mut kept = prepared.take();
            let found = Suggestions::update_to(
                Some(&added),
                &mut kept,
                keys.clone(),
                &given,
                &key,
                &region,
            )
            .unwrap();
            assert!(found.is_none());
            prepared = kept;
        }
        let (edited, how) = Suggestions::update_to(
            Some(&added),
            &mut prepared,
            keys,
            &rows[last..],
            &key,
            &region,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            how,
            Refresh::Linked {
                opened: 1,
                anew: false
            }
        );
        assert!(!ids(&edited).contains(&pair));
        assert_eq!(edited.persons.len(), 702);
        // A merge takes a person away: their pairs go, nothing is linked.
        let merged = rows.iter().position(|r| r.id == "x-1").unwrap();
        let some = edited.pairs.first().map(|p| edited.persons[p.a].id.clone());
        rows.remove(merged);
        if let Some(gone) = &some {
            rows.retain(|r| &r.id != gone);
        }
        let (fewer, how) =
            Suggestions::update(Some(&edited), &mut prepared, &rows, &key, &region).unwrap();
        assert_eq!(how, Refresh::Removed);
        assert_eq!(fewer.persons.len(), rows.len());
        for (a, b) in ids(&fewer) {
            assert!(
                a != "x-1" && b != "x-1" && Some(&a) != some.as_ref() && Some(&b) != some.as_ref()
            );
        }
        let before: usize = ids(&edited)
            .iter()
            .filter(|(a, b)| [a, b].iter().all(|x| rows.iter().any(|r| &r.id == *x)))
            .count();
        assert_eq!(ids(&fewer).len(), before);
    }

    #[test]
    fn two_persons_alone_are_still_compared() {
        // A new desk (or the demo) holds two persons, no region: the one pair
        // is the duplicate, so the engine must learn from more than that.
        let one = |id: &str, name: &str| PersonFields {
            id: id.into(),
            name: name.into(),
            birth_year: Some(1985),
            region: None,
        };
        let persons = vec![one("1", "Пётр Сидоров"), one("2", "Petr Sidorov")];
        let s = suggest(&persons);
        assert_eq!(s.len(), 1, "exactly the one real pair: {:?}", s.len());
        assert_eq!((s[0].a.min(s[0].b), s[0].a.max(s[0].b)), (0, 1));
        assert!(s[0].probability >= 0.5);
    }
}

/// The engine's column names, in the desk's language (a column the desk does
/// not know, such as a group found in the data, keeps the engine's name).
pub fn field_label(field: &str, lang: vigil_core::Lang) -> &str {
    let (ru, en) = match field {
        "name.given" => ("имя", "given name"),
        "name.surname" => ("фамилия", "surname"),
        "name.patronymic" => ("отчество", "patronymic"),
        "birth_year" => ("год рождения", "birth year"),
        "region" => ("регион", "region"),
        "sex (from name forms)" => ("пол (по формам имени)", "sex (from the name forms)"),
        _ => return field,
    };
    match lang {
        vigil_core::Lang::Ru => ru,
        vigil_core::Lang::En => en,
    }
}

/// The engine's level labels (vigil_linkage::compare), in Russian for a
/// Russian page; English pages show them as the engine writes them.
pub fn how_label(how: &'static str, lang: vigil_core::Lang) -> &'static str {
    if lang == vigil_core::Lang::En {
        return how;
    }
    match how {
        "missing" => "нет значения",
        "different" => "разные",
        "different names (both known, not forms of one name)" => {
            "разные имена (оба известны, не формы одного имени)"
        }
        "initial agrees" => "совпадает инициал",
        "similar (Jaro-Winkler >= 0.80)" => "похожи (Джаро — Винклер ≥ 0,80)",
        "similar (Jaro-Winkler >= 0.88)" => "похожи (Джаро — Винклер ≥ 0,88)",
        "similar (Jaro-Winkler >= 0.92)" => "похожи (Джаро — Винклер ≥ 0,92)",
        "same name, other form (diminutive or variant)" => {
            "одно имя в другой форме (уменьшительной или вариантной)"
        }
        "same spelling or transliteration" => "то же написание или транслитерация",
        "same (up to transliteration and gender form)" => {
            "совпадает (с точностью до транслитерации и родовой формы)"
        }
        "names swapped (given name and surname in each other's field)" => {
            "имя и фамилия переставлены (записаны в полях друг друга)"
        }
        "same year only (or years one digit apart, for partial dates)" => {
            "совпадает только год (или годы отличаются одной цифрой, для неполных дат)"
        }
        "agree as far as both are known (partial date)" => {
            "совпадают, насколько обе известны (неполная дата)"
        }
        "one digit off or two digits transposed" => "одна цифра другая или две переставлены",
        "day and month swapped" => "день и месяц переставлены",
        "same day" => "тот же день",
        "one year apart" => "год разницы",
        "same year" => "тот же год",
        "same" => "совпадает",
        "no word in common" => "ни одного общего слова",
        "some words in common" => "есть общие слова",
        "most words in common" => "большинство слов общие",
        "one character off" => "один знак другой",
        "different (by the name forms)" => "разный (по формам имени)",
        "same (by the name forms)" => "тот же (по формам имени)",
        "no member agrees" => "ни одно поле группы не совпадает",
        "less than half of the members agree" => "совпадает меньше половины полей группы",
        "half or more of the members agree, not all" => {
            "совпадает половина полей группы или больше, но не все"
        }
        "all members agree, some only in part" => "совпадают все поля группы, некоторые частично",
        "all members agree" => "совпадают все поля группы",
        other => other,
    }
}

#[cfg(test)]
mod labels {
    use vigil_core::Lang;
    use vigil_linkage::compare::ColumnKind;

    use super::how_label;

    /// Every level the engine can name has a Russian label, so a Russian page
    /// never shows an English explanation.
    #[test]
    fn every_engine_level_reads_in_russian() {
        let kinds = [
            ColumnKind::Given,
            ColumnKind::Surname,
            ColumnKind::Patronymic,
            ColumnKind::Date,
            ColumnKind::Year,
            ColumnKind::Place,
            ColumnKind::Text,
            ColumnKind::Exact,
            ColumnKind::Sex,
            ColumnKind::Group,
        ];
        for kind in kinds {
            for &level in kind.levels() {
                let ru = how_label(level, Lang::Ru);
                assert_ne!(ru, level, "{kind:?}: {level:?} has no Russian label");
                assert!(ru.chars().any(|c| ('а'..='я').contains(&c)), "{ru}");
                assert_eq!(how_label(level, Lang::En), level);
            }
        }
        assert_eq!(how_label("missing", Lang::Ru), "нет значения");
    }
}

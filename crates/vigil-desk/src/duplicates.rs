//! Duplicate suggestions over the desk's persons: vigil-linkage's engine run
//! in memory on their opened names, birth years and regions, each suggested
//! pair with the engine's explanation (which fields agreed, and how: same
//! spelling or transliteration, another form of the name, a similar spelling).

use vigil_linkage::{Dataset, Quiet, Spec};
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

/// Suggested pairs with a match probability of at least the engine's threshold, most likely first.
pub fn suggest(persons: &[PersonFields]) -> Vec<Suggestion> {
    let Ok(spec) = Spec::parse(SPEC) else {
        return Vec::new();
    };
    let threshold = spec.threshold;
    let order: Vec<String> = spec.fields.iter().map(|f| f.column.clone()).collect();
    let mut data = Dataset::new(spec);
    for p in persons {
        let year = p.birth_year.map(|y| y.to_string()).unwrap_or_default();
        let fields: Vec<&str> = order
            .iter()
            .map(|c| match c.as_str() {
                "name" => p.name.as_str(),
                "birth_year" => year.as_str(),
                "region" => p.region.as_deref().unwrap_or(""),
                _ => "",
            })
            .collect();
        data.push(0, &fields);
    }
    let real = data.len();
    if real < 2 {
        return Vec::new();
    }
    // The engine learns how often strangers agree from random pairs of the
    // data. A new desk (or the demo) with a handful of persons has almost no
    // strangers: with two persons the only "random" pair is the duplicate
    // itself, so agreeing counted as no evidence and nothing was suggested.
    // Below BACKGROUND persons a seeded synthetic population joins them for
    // the estimates; its pairs are never suggested.
    if real < BACKGROUND {
        for r in vigil_linkage::generate::generate(BACKGROUND - real, BACKGROUND_SEED) {
            let name = format!("{} {} {}", r.given_name, r.patronymic, r.surname);
            let year = r.birth_date.get(..4).unwrap_or_default().to_owned();
            let fields: Vec<&str> = order
                .iter()
                .map(|c| match c.as_str() {
                    "name" => name.as_str(),
                    "birth_year" => year.as_str(),
                    "region" => r.city.as_str(),
                    _ => "",
                })
                .collect();
            data.push(0, &fields);
        }
    }
    let linkage = data.link(&mut Quiet);
    let mut out: Vec<Suggestion> = linkage
        .pairs
        .iter()
        .enumerate()
        .filter(|(_, p)| (p.a as usize) < real && (p.b as usize) < real)
        .filter(|(_, p)| p.probability >= threshold)
        .map(|(i, p)| Suggestion {
            a: p.a as usize,
            b: p.b as usize,
            probability: p.probability,
            why: data
                .explain(&linkage, i)
                .into_iter()
                .map(|c| Agreement {
                    field: c.column,
                    how: c.label,
                    bits: c.bits,
                })
                .collect(),
        })
        .collect();
    out.sort_by(|x, y| y.probability.total_cmp(&x.probability));
    out
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

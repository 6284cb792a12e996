//! The release's tables, built once from [`PublicData`]: the pages render
//! these, the open-data writers write these, so the two cannot disagree.
//! Tables broken down by a person's attributes pass the small-number rule
//! here (crate::suppress).

use std::collections::BTreeMap;

use crate::data::{Counts, Group, PublicData};
use crate::suppress::Grid;
use crate::table::{Cell, Column, ColumnKind, Table, Text};

fn col(id: &str, ru: &str, en: &str, kind: ColumnKind, vocabulary: Option<&str>) -> Column {
    Column {
        id: id.into(),
        label: Text::new(ru, en),
        description: Text::new(ru, en),
        kind,
        vocabulary: vocabulary.map(Into::into),
    }
}

fn count_col(id: &str, ru: &str, en: &str) -> Column {
    col(id, ru, en, ColumnKind::Integer, None)
}

fn code(v: &Option<String>) -> Cell {
    v.as_ref().map_or(Cell::Missing, |s| Cell::Text(s.clone()))
}

fn text(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Missing
    } else {
        Cell::Text(s.to_owned())
    }
}

pub const ACTIONS: (&str, &str) = ("акций", "actions");
pub const DETENTIONS: (&str, &str) = ("задержаний", "detentions");
pub const PERSONS: (&str, &str) = ("человек", "persons");
pub const EVENTS: (&str, &str) = ("событий", "events");

/// Ids of the tables, as file stems and page anchors.
pub mod id {
    pub const OVERVIEW: &str = "overview";
    pub const BY_MONTH: &str = "by-month";
    pub const BY_REGION: &str = "by-region";
    pub const BY_ARTICLE: &str = "by-article";
    pub const BY_EVENT_KIND: &str = "by-event-kind";
    pub const BY_ACTION_KIND: &str = "by-action-kind";
    pub const BY_TOPIC: &str = "by-topic";
    pub const ACTIONS: &str = "actions";
    pub const EVENTS: &str = "events";
    pub const PERSONS_PUBLIC: &str = "persons-public";
    pub const BY_GENDER: &str = "persons-by-gender";
    pub const BY_AGE: &str = "persons-by-age-group";
    pub const BY_ROLE: &str = "persons-by-role";
    pub const BY_GENDER_AGE: &str = "persons-by-gender-and-age-group";
    pub const REPORTS_BY_DAY: &str = "reports-by-day";
}

/// Every table of a release, in the order the codebook lists them.
pub fn tables(d: &PublicData) -> Vec<Table> {
    let mut t = vec![
        overview(d),
        breakdown(
            id::BY_MONTH,
            Text::new(
                "Акции и задержания по месяцам",
                "Actions and detentions by month",
            ),
            col("month", "месяц", "month", ColumnKind::Date, None),
            &d.by.month,
            &[Measure::Actions, Measure::Detentions, Measure::Persons],
        ),
        breakdown(
            id::BY_REGION,
            Text::new("По регионам", "By region"),
            col(
                "region",
                "регион",
                "region",
                ColumnKind::Code,
                Some("regions"),
            ),
            &d.by.region,
            &[Measure::Actions, Measure::Detentions, Measure::Persons],
        ),
        breakdown(
            id::BY_ARTICLE,
            Text::new("По статьям закона", "By article of law"),
            col(
                "article",
                "статья",
                "article",
                ColumnKind::Code,
                Some("articles"),
            ),
            &d.by.article,
            &[Measure::Events, Measure::Persons],
        ),
        breakdown(
            id::BY_EVENT_KIND,
            Text::new("По видам преследования", "By kind of persecution"),
            col(
                "event_kind",
                "вид",
                "kind",
                ColumnKind::Code,
                Some("event_kinds"),
            ),
            &d.by.event_kind,
            &[Measure::Events, Measure::Detentions, Measure::Persons],
        ),
        breakdown(
            id::BY_ACTION_KIND,
            Text::new("По видам акций", "By kind of action"),
            col(
                "action_kind",
                "вид акции",
                "kind of action",
                ColumnKind::Code,
                Some("action_kinds"),
            ),
            &d.by.action_kind,
            &[Measure::Actions, Measure::Detentions],
        ),
        breakdown(
            id::BY_TOPIC,
            Text::new("По темам акций", "By topic of action"),
            col("topic", "тема", "topic", ColumnKind::Code, Some("topics")),
            &d.by.topic,
            &[Measure::Actions, Measure::Detentions],
        ),
        actions(d),
        events(d),
        persons_public(d),
    ];
    t.extend(person_tables(d));
    t.push(reports_by_day(d));
    t
}

#[derive(Clone, Copy)]
enum Measure {
    Actions,
    Detentions,
    Persons,
    /// Events of the group's kind (for event kinds) or of every kind.
    Events,
}

fn measure(m: Measure, g: &Group) -> u64 {
    match m {
        Measure::Actions => g.counts.actions,
        Measure::Detentions => g.counts.detentions,
        Measure::Persons => g.counts.persons,
        Measure::Events => match &g.code {
            Some(k) if g.counts.events.contains_key(k) && g.counts.events.len() == 1 => {
                g.counts.events[k]
            }
            _ => g.counts.events.values().sum(),
        },
    }
}

fn measure_col(m: Measure) -> Column {
    let (id, (ru, en)) = match m {
        Measure::Actions => ("actions", ACTIONS),
        Measure::Detentions => ("detentions", DETENTIONS),
        Measure::Persons => ("persons", PERSONS),
        Measure::Events => ("events", EVENTS),
    };
    count_col(id, ru, en)
}

fn breakdown(id: &str, title: Text, key: Column, groups: &[Group], measures: &[Measure]) -> Table {
    let mut columns = vec![key];
    columns.extend(measures.iter().map(|m| measure_col(*m)));
    let rows = groups
        .iter()
        .map(|g| {
            let mut r = vec![code(&g.code)];
            r.extend(measures.iter().map(|m| Cell::Int(measure(*m, g))));
            r
        })
        .collect();
    Table {
        id: id.into(),
        description: Text::new(
            format!(
                "{}: счёт по правилам методики (docs/methodology.md).",
                title.ru
            ),
            format!(
                "{}: counted by the rules of the methodology (docs/methodology.md).",
                title.en
            ),
        ),
        title,
        columns,
        rows,
    }
}

fn overview(d: &PublicData) -> Table {
    let mut rows = vec![
        vec![Cell::Text("actions".into()), Cell::Int(d.total.actions)],
        vec![
            Cell::Text("detentions".into()),
            Cell::Int(d.total.detentions),
        ],
        vec![Cell::Text("persons".into()), Cell::Int(d.total.persons)],
    ];
    for (kind, n) in &d.total.events {
        rows.push(vec![Cell::Text(format!("events:{kind}")), Cell::Int(*n)]);
    }
    Table {
        id: id::OVERVIEW.into(),
        title: Text::new("Итоги", "Totals"),
        description: Text::new(
            "Всего акций, задержаний, людей и событий каждого вида (events:ВИД).",
            "Actions, detentions, persons and events of each kind (events:KIND) in total.",
        ),
        columns: vec![
            col("measure", "показатель", "measure", ColumnKind::Code, None),
            count_col("count", "число", "count"),
        ],
        rows,
    }
}

pub(crate) fn actions(d: &PublicData) -> Table {
    Table {
        id: id::ACTIONS.into(),
        title: Text::new("Акции с задержаниями", "Protest actions with detentions"),
        description: Text::new(
            "Публичные акции, на которых задерживали людей; число задержаний публикуется как есть.",
            "Public actions at which people were detained; the number detained is published as it is.",
        ),
        columns: vec![
            col("action_id", "акция", "action", ColumnKind::Text, None),
            col("date", "дата", "date", ColumnKind::Date, None),
            col(
                "region",
                "регион",
                "region",
                ColumnKind::Code,
                Some("regions"),
            ),
            col("city", "город", "city", ColumnKind::Text, None),
            col("place", "место", "place", ColumnKind::Text, None),
            col(
                "action_kind",
                "вид",
                "kind",
                ColumnKind::Code,
                Some("action_kinds"),
            ),
            col("topic", "тема", "topic", ColumnKind::Code, Some("topics")),
            col(
                "authorised",
                "согласована",
                "authorised",
                ColumnKind::Code,
                Some("authorised"),
            ),
            count_col("detentions", DETENTIONS.0, DETENTIONS.1),
        ],
        rows: d.actions.iter().map(action_row).collect(),
    }
}

/// A row of the `actions` table.
pub fn action_row(a: &crate::data::PublicAction) -> Vec<Cell> {
    vec![
        Cell::Text(a.id.clone()),
        text(&a.date),
        code(&a.region),
        code(&a.city),
        code(&a.place),
        Cell::Text(a.kind.clone()),
        code(&a.topic),
        code(&a.authorised),
        Cell::Int(a.detentions),
    ]
}

/// A row of the `events` table, its fields moved into the cells (pubfast:
/// a million events are not copied twice).
pub fn event_row_owned(e: crate::data::PublicEvent) -> Vec<Cell> {
    let owned = |v: Option<String>| v.map_or(Cell::Missing, Cell::Text);
    let date = if e.date.is_empty() {
        Cell::Missing
    } else {
        Cell::Text(e.date)
    };
    let articles = if e.articles.is_empty() {
        Cell::Missing
    } else {
        Cell::Text(e.articles.join(" "))
    };
    vec![
        Cell::Text(e.kind),
        date,
        owned(e.region),
        articles,
        owned(e.trigger),
        owned(e.action_id),
    ]
}

/// A row of the `events` table.
pub fn event_row(e: &crate::data::PublicEvent) -> Vec<Cell> {
    vec![
        Cell::Text(e.kind.clone()),
        text(&e.date),
        code(&e.region),
        text(&e.articles.join(" ")),
        code(&e.trigger),
        code(&e.action_id),
    ]
}

pub(crate) fn events(d: &PublicData) -> Table {
    Table {
        id: id::EVENTS.into(),
        title: Text::new("События (поля для подсчёта)", "Events (counted fields)"),
        description: Text::new(
            "Каждое событие без имени и без связи с человеком: вид, дата (не точнее месяца вне публичных акций), регион, статьи, повод, акция.",
            "Each event without a name or a link to a person: kind, date (no finer than the month outside public actions), region, articles, trigger, action.",
        ),
        columns: vec![
            col(
                "event_kind",
                "вид",
                "kind",
                ColumnKind::Code,
                Some("event_kinds"),
            ),
            col("date", "дата", "date", ColumnKind::Date, None),
            col(
                "region",
                "регион",
                "region",
                ColumnKind::Code,
                Some("regions"),
            ),
            col(
                "articles",
                "статьи",
                "articles",
                ColumnKind::Code,
                Some("articles"),
            ),
            col(
                "trigger",
                "повод",
                "trigger",
                ColumnKind::Code,
                Some("triggers"),
            ),
            col("action_id", "акция", "action", ColumnKind::Text, None),
        ],
        rows: d.events.iter().map(event_row).collect(),
    }
}

fn persons_public(d: &PublicData) -> Table {
    Table {
        id: id::PERSONS_PUBLIC.into(),
        title: Text::new("Публичные дела", "Public cases"),
        description: Text::new(
            "Только люди, согласившиеся на публикацию имени и дела.",
            "Only persons who agreed that their name and case be published.",
        ),
        columns: vec![
            col("case", "дело", "case", ColumnKind::Text, None),
            col("name", "имя", "name", ColumnKind::Text, None),
            col(
                "region",
                "регион",
                "region",
                ColumnKind::Code,
                Some("regions"),
            ),
            col("roles", "роли", "roles", ColumnKind::Code, Some("roles")),
            count_col("events", EVENTS.0, EVENTS.1),
        ],
        rows: d
            .cases
            .iter()
            .map(|c| {
                vec![
                    Cell::Text(c.slug.clone()),
                    Cell::Text(c.name.clone()),
                    code(&c.region),
                    text(&c.roles.join(" ")),
                    Cell::Int(u64::try_from(c.events.len()).unwrap_or(u64::MAX)),
                ]
            })
            .collect(),
    }
}

/// Counts of persons by one attribute, or two crossed, with the small-number rule.
fn person_tables(d: &PublicData) -> Vec<Table> {
    let mut by_gender: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_age: BTreeMap<String, u64> = BTreeMap::new();
    let cross = &d.persons.by_gender_age;
    let by_role = &d.persons.by_role;
    for ((g, a), n) in cross {
        *by_gender.entry(g.clone()).or_default() += n;
        *by_age.entry(a.clone()).or_default() += n;
    }
    let genders: Vec<String> = by_gender.keys().cloned().collect();
    let ages: Vec<String> = by_age.keys().cloned().collect();
    let values: Vec<Vec<u64>> = genders
        .iter()
        .map(|g| {
            ages.iter()
                .map(|a| cross.get(&(g.clone(), a.clone())).copied().unwrap_or(0))
                .collect()
        })
        .collect();
    let grid = Grid::cross(&values);
    // Fewer counted persons than k in all: the overview's total of persons
    // could stand in for the grand total, so every cell is withheld.
    let few = (1..d.k).contains(&d.persons.persons);
    let hidden: Vec<bool> = if few {
        vec![true; grid.values.len()]
    } else {
        grid.suppress(d.k)
    };
    let w = ages.len() + 1;
    let cell = |i: usize| {
        if hidden[i] {
            Cell::Suppressed
        } else {
            Cell::Int(grid.values[i])
        }
    };
    let mut columns = vec![col(
        "gender",
        "пол",
        "gender",
        ColumnKind::Code,
        Some("genders"),
    )];
    for a in &ages {
        let label = d.label("age_groups", a);
        columns.push(count_col(&format!("age_{a}"), &label.ru, &label.en));
    }
    columns.push(count_col("total", "всего", "total"));
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    if !genders.is_empty() {
        for (r, g) in genders.iter().chain([&"total".to_owned()]).enumerate() {
            let mut row = vec![Cell::Text(g.clone())];
            row.extend((0..w).map(|c| cell(r * w + c)));
            rows.push(row);
        }
    }
    // The single-attribute tables are the cross-table's margins, withheld
    // alike: suppressing them apart could publish what the cross-table hides.
    let persons = count_col("persons", PERSONS.0, PERSONS.1);
    let margin = |keys: &[String], index: &dyn Fn(usize) -> usize| -> Vec<Vec<Cell>> {
        if keys.is_empty() {
            return Vec::new();
        }
        keys.iter()
            .chain([&"total".to_owned()])
            .enumerate()
            .map(|(i, key)| vec![Cell::Text(key.clone()), cell(index(i))])
            .collect()
    };
    let n_ages = ages.len();
    let n_genders = genders.len();
    let mut out = vec![
        Table {
            id: id::BY_GENDER.into(),
            title: Text::new("Люди по полу", "Persons by gender"),
            description: suppressed_note(d.k),
            columns: vec![
                col("gender", "пол", "gender", ColumnKind::Code, Some("genders")),
                persons.clone(),
            ],
            rows: margin(&genders, &|r| r * w + n_ages),
        },
        Table {
            id: id::BY_AGE.into(),
            title: Text::new("Люди по возрасту", "Persons by age group"),
            description: suppressed_note(d.k),
            columns: vec![
                col(
                    "age_group",
                    "возраст",
                    "age group",
                    ColumnKind::Code,
                    Some("age_groups"),
                ),
                persons.clone(),
            ],
            rows: margin(&ages, &|c| n_genders * w + c),
        },
        // A person can hold several roles: the rows do not add up to a total,
        // so no total row is published to recover a cell from.
        list_table(
            id::BY_ROLE,
            Text::new("Люди по роли", "Persons by role"),
            col("role", "роль", "role", ColumnKind::Code, Some("roles")),
            by_role,
            persons,
            if few { u64::MAX } else { d.k },
        ),
    ];
    out.push(Table {
        id: id::BY_GENDER_AGE.into(),
        title: Text::new("Люди по полу и возрасту", "Persons by gender and age group"),
        description: suppressed_note(d.k),
        columns,
        rows,
    });
    out
}

fn suppressed_note(k: u64) -> Text {
    Text::new(
        format!(
            "Числа меньше {k} (и те, из которых их можно вычислить) скрыты, чтобы никого нельзя было узнать."
        ),
        format!(
            "Counts below {k} (and those they could be worked out from) are withheld so that nobody can be identified."
        ),
    )
}

fn list_table(
    id: &str,
    title: Text,
    key: Column,
    counts: &BTreeMap<String, u64>,
    value: Column,
    k: u64,
) -> Table {
    let rows = counts
        .iter()
        .map(|(key, v)| {
            let v = if *v > 0 && *v < k {
                Cell::Suppressed
            } else {
                Cell::Int(*v)
            };
            vec![Cell::Text(key.clone()), v]
        })
        .collect();
    Table {
        id: id.into(),
        title,
        description: suppressed_note(k),
        columns: vec![key, value],
        rows,
    }
}

fn reports_by_day(d: &PublicData) -> Table {
    Table {
        id: id::REPORTS_BY_DAY.into(),
        title: Text::new(
            "Сообщения на горячую линию по дням",
            "Reports to the hotline by day",
        ),
        description: Text::new(
            "Сколько сообщений получено в день (UTC). Это не число событий или людей.",
            "Reports received per day (UTC). Not a count of events or people.",
        ),
        columns: vec![
            col("day", "день", "day", ColumnKind::Date, None),
            count_col("reports", "сообщений", "reports"),
        ],
        rows: d
            .reports_by_day
            .iter()
            .map(|(day, n)| vec![Cell::Text(day.clone()), Cell::Int(*n)])
            .collect(),
    }
}

/// The counts of `Counts` a page shows in its totals line.
pub fn total_line(c: &Counts) -> [(&'static str, &'static str, u64); 3] {
    [
        (ACTIONS.0, ACTIONS.1, c.actions),
        (DETENTIONS.0, DETENTIONS.1, c.detentions),
        (PERSONS.0, PERSONS.1, c.persons),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::PersonAttributes;

    fn person(gender: &str, age: &str) -> PersonAttributes {
        PersonAttributes {
            gender: Some(gender.into()),
            age_group: Some(age.into()),
            roles: vec!["student".into()],
        }
    }

    fn find<'a>(tables: &'a [Table], id: &str) -> &'a Table {
        tables.iter().find(|t| t.id == id).unwrap()
    }

    #[test]
    fn the_single_attribute_tables_are_the_cross_tables_margins_withheld_alike() {
        let mut persons = Vec::new();
        persons.extend(std::iter::repeat_n(person("female", "25_34"), 6));
        persons.push(person("female", "35_44"));
        persons.extend(std::iter::repeat_n(person("male", "25_34"), 7));
        persons.extend(std::iter::repeat_n(person("male", "35_44"), 5));
        let d = PublicData {
            persons: persons.into_iter().collect(),
            k: 5,
            ..PublicData::default()
        };
        let t = tables(&d);
        let cross = find(&t, id::BY_GENDER_AGE);
        // female × 35–44 is 1: withheld, and so is a partner in its row and column.
        assert_eq!(cross.rows[0][2], Cell::Suppressed);
        let withheld = cross
            .rows
            .iter()
            .flatten()
            .filter(|c| **c == Cell::Suppressed)
            .count();
        assert!(withheld >= 4, "{:?}", cross.rows);
        // The margins are the same cells as in the cross-table.
        let by_gender = find(&t, id::BY_GENDER);
        let by_age = find(&t, id::BY_AGE);
        for (r, row) in by_gender.rows.iter().enumerate() {
            assert_eq!(row[1], cross.rows[r][3], "gender row {r}");
        }
        for (c, row) in by_age.rows.iter().enumerate() {
            assert_eq!(row[1], cross.rows[2][c + 1], "age column {c}");
        }
        // Roles: 19 students, published; no total row.
        assert_eq!(
            find(&t, id::BY_ROLE).rows,
            vec![vec![Cell::Text("student".into()), Cell::Int(19)]]
        );
    }

    #[test]
    fn fewer_persons_than_k_withhold_every_cell() {
        // The overview publishes the number of persons: with 3 in all, a lone
        // "female 3, male 0" would otherwise be recoverable from it.
        let d = PublicData {
            persons: vec![person("female", "25_34"); 3].into_iter().collect(),
            k: 5,
            ..PublicData::default()
        };
        let t = tables(&d);
        for id in [id::BY_GENDER, id::BY_AGE, id::BY_ROLE, id::BY_GENDER_AGE] {
            let table = find(&t, id);
            assert!(!table.rows.is_empty(), "{id}");
            for row in &table.rows {
                assert!(
                    row[1..].iter().all(|c| *c == Cell::Suppressed),
                    "{id}: {row:?}"
                );
            }
        }
    }

    #[test]
    fn counts_per_public_action_are_published_as_they_are() {
        let d = PublicData {
            actions: vec![crate::data::PublicAction {
                id: "a1".into(),
                date: "2013-05-06".into(),
                region: Some("RU-MOW".into()),
                city: None,
                place: Some("Болотная площадь".into()),
                kind: "rally".into(),
                topic: None,
                authorised: Some("yes".into()),
                detentions: 2,
            }],
            k: 5,
            ..PublicData::default()
        };
        let t = tables(&d);
        assert_eq!(find(&t, id::ACTIONS).rows[0][8], Cell::Int(2));
    }
}

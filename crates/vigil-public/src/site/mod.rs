//! The public site: the same pages in Russian (`ru/`) and English (`en/`),
//! one switch on every page to the same page in the other language, the
//! Russian overview also at the root (`index.html`, through `<base>`: no
//! redirect). Pages render the release's tables (see `tables`), so a number on
//! a page is the number in the open data. No JavaScript; a Content Security
//! Policy in each page forbids loading anything from another origin.

mod markdown;
pub mod tables;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::charts::{self, Labels, esc};
use crate::data::PublicData;
use crate::opendata::Streamed;
use crate::table::{Cell, ColumnKind, Table, Text};
use tables::id;

/// The site's own stylesheet, after vigil-web's.
pub const SITE_CSS: &str = include_str!("site.css");

/// docs/methodology.md, shown on the methodology page.
const METHODOLOGY: &str = include_str!("../../../../docs/methodology.md");

/// One file of the site: its path inside the release and its bytes.
pub struct Page {
    pub path: String,
    pub html: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
    fn other(self) -> Lang {
        match self {
            Lang::Ru => Lang::En,
            Lang::En => Lang::Ru,
        }
    }
    fn pick<'a>(self, ru: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }
    fn t(self, t: &Text) -> &str {
        self.pick(&t.ru, &t.en)
    }
}

/// The pages, their file names and their titles, in the menu's order.
const PAGES: &[(&str, &str, &str)] = &[
    ("index.html", "Обзор", "Overview"),
    ("months.html", "По месяцам", "By month"),
    ("regions.html", "По регионам", "By region"),
    ("articles.html", "По статьям", "By article"),
    ("kinds.html", "Виды преследования", "Kinds of persecution"),
    (
        "action-kinds.html",
        "Виды и темы акций",
        "Kinds and topics of actions",
    ),
    ("actions.html", "Список акций", "List of actions"),
    ("persons.html", "Кто эти люди", "Who they are"),
    ("cases.html", "Публичные дела", "Public cases"),
    ("methodology.html", "Методика", "Methodology"),
    (
        "verify.html",
        "Как проверить выпуск",
        "How to verify a release",
    ),
];

struct Ctx<'a> {
    d: &'a PublicData,
    tables: &'a [Table],
    released: &'a str,
    public_key: &'a str,
    /// Tables whose rows were streamed to files rather than held.
    streamed: &'a BTreeMap<String, Streamed>,
}

/// Where a streamed table's rows go into its page (see `html_rows`).
pub const ROWS_MARKER: &str = "<!--vigil:rows-->";

/// The `<tr>` rows of table `t` for its page in each language (Russian,
/// English): what a streamed table's page holds at `ROWS_MARKER`.
pub fn html_rows(d: &PublicData, t: &Table, rows: &[Vec<Cell>]) -> [String; 2] {
    let none = BTreeMap::new();
    let cx = Ctx {
        d,
        tables: &[],
        released: "",
        public_key: "",
        streamed: &none,
    };
    [Lang::Ru, Lang::En].map(|lang| {
        let shown: Vec<bool> = t.columns.iter().map(|c| c.id != "action_id").collect();
        let mut out = String::new();
        for row in rows {
            row_html(&cx, lang, t, &shown, row, &mut out);
        }
        out
    })
}

fn row_html(cx: &Ctx<'_>, lang: Lang, t: &Table, shown: &[bool], row: &[Cell], out: &mut String) {
    out.push_str("<tr>");
    for (i, cell) in row.iter().enumerate().filter(|(i, _)| shown[*i]) {
        let num = matches!(cell, Cell::Int(_) | Cell::Suppressed);
        let _ = write!(
            out,
            "<td{}>{}</td>",
            if num { " class=\"num\"" } else { "" },
            cell_text(cx, lang, t, i, cell)
        );
    }
    out.push_str("</tr>");
}

impl Ctx<'_> {
    fn table(&self, id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.id == id)
    }
}

/// Every page of the site, in both languages. The page of a `streamed`
/// table holds `ROWS_MARKER` where its rows go.
pub fn pages(
    d: &PublicData,
    tables: &[Table],
    released: &str,
    public_key: &str,
    streamed: &BTreeMap<String, Streamed>,
) -> Vec<Page> {
    let cx = Ctx {
        d,
        tables,
        released,
        public_key,
        streamed,
    };
    let mut out = Vec::new();
    for lang in [Lang::Ru, Lang::En] {
        for (file, ru, en) in PAGES {
            let title = lang.pick(ru, en);
            let body = match *file {
                "index.html" => overview(&cx, lang),
                "months.html" => months(&cx, lang),
                "regions.html" => regions(&cx, lang),
                "articles.html" => simple(&cx, lang, id::BY_ARTICLE, "events"),
                "kinds.html" => simple(&cx, lang, id::BY_EVENT_KIND, "events"),
                "action-kinds.html" => {
                    let mut b = simple(&cx, lang, id::BY_ACTION_KIND, "detentions");
                    b.push_str(&simple(&cx, lang, id::BY_TOPIC, "detentions"));
                    b
                }
                "actions.html" => actions(&cx, lang),
                "persons.html" => persons(&cx, lang),
                "cases.html" => cases(&cx, lang),
                "methodology.html" => methodology(lang),
                _ => verify(&cx, lang),
            };
            let html = layout(&cx, lang, file, title, &body, "");
            if lang == Lang::Ru && *file == "index.html" {
                out.push(Page {
                    path: "index.html".into(),
                    html: layout(&cx, lang, file, title, &body, "ru/"),
                });
            }
            out.push(Page {
                path: format!("{}/{file}", lang.code()),
                html,
            });
        }
        for c in &d.cases {
            let file = format!("cases/{}.html", c.slug);
            let body = case_page(&cx, lang, c);
            out.push(Page {
                path: format!("{}/{file}", lang.code()),
                html: layout(&cx, lang, &file, &c.name, &body, ""),
            });
        }
    }
    out
}

/// The frame of every page. `base` is set for the root copy of the overview.
fn layout(cx: &Ctx<'_>, lang: Lang, file: &str, title: &str, body: &str, base: &str) -> String {
    let depth = file.matches('/').count();
    let up = "../".repeat(depth + 1);
    let other = lang.other();
    let mut nav = String::new();
    for (f, ru, en) in PAGES {
        let here = *f == file;
        let _ = write!(
            nav,
            "<li><a href=\"{}{f}\"{}>{}</a></li>",
            "../".repeat(depth),
            if here { " aria-current=\"page\"" } else { "" },
            esc(lang.pick(ru, en))
        );
    }
    let base_tag = if base.is_empty() {
        String::new()
    } else {
        format!("<base href=\"{base}\">")
    };
    let site = lang.pick(
        "Преследования за антивоенную позицию: статистика",
        "Persecution for anti-war views: statistics",
    );
    let attribution: String =
        cx.d.attributions
            .iter()
            .map(|a| format!("<li>{}</li>", esc(a)))
            .collect();
    format!(
        "<!doctype html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'self'; form-action 'none'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n{base_tag}\
         <title>{title} · {site}</title>\n\
         <link rel=\"stylesheet\" href=\"{up}static/style.css\">\n\
         <link rel=\"stylesheet\" href=\"{up}static/site.css\">\n</head>\n<body class=\"site\">\n\
         <header class=\"top\"><p class=\"name\"><a href=\"{home}index.html\">{site}</a></p>\
         <p class=\"switch\"><a href=\"{up}{other_code}/{file}\" hreflang=\"{other_code}\" lang=\"{other_code}\">{other_name}</a></p>\
         <nav aria-label=\"{menu}\"><ul>{nav}</ul></nav></header>\n\
         <main>\n<h1>{title}</h1>\n{body}</main>\n\
         <footer><p>{released_label}: <span class=\"released\">{released}</span>. {data_label}: <span class=\"data-date\">{data_date}</span>.</p>\
         <ul class=\"attribution\">{attribution}</ul>\
         <p class=\"licence\">{licence_label}: <span class=\"licence-name\">{licence_name}</span> ({licence_url}){licence_terms}</p>\
         <p>{key_label}: <code class=\"key\">{key}</code></p></footer>\n</body>\n</html>\n",
        code = lang.code(),
        title = esc(title),
        home = "../".repeat(depth),
        other_code = other.code(),
        other_name = lang.pick("English", "Русский"),
        menu = lang.pick("Разделы", "Sections"),
        released_label = lang.pick("Выпуск", "Released"),
        released = esc(cx.released),
        data_label = lang.pick("данные по", "data up to"),
        data_date = esc(cx.d.data_date.as_deref().unwrap_or("—")),
        licence_label = lang.pick("Лицензия данных", "Data licence"),
        licence_url = esc(&cx.d.licence.url),
        licence_name = esc(&cx.d.licence.name),
        licence_terms = match lang.pick(
            cx.d.licence.ru.as_deref().unwrap_or(""),
            cx.d.licence.en.as_deref().unwrap_or("")
        ) {
            "" => String::new(),
            terms => format!(". {}", esc(terms)),
        },
        key_label = lang.pick("Ключ подписи выпуска", "Release signing key"),
        key = esc(cx.public_key),
    )
}

fn cell_text(cx: &Ctx<'_>, lang: Lang, t: &Table, col: usize, cell: &Cell) -> String {
    match cell {
        Cell::Int(n) => n.to_string(),
        Cell::Suppressed => format!(
            "<abbr class=\"withheld\" title=\"{}\">{}</abbr>",
            lang.pick("меньше порога: скрыто", "below the threshold: withheld"),
            lang.pick("скрыто", "withheld")
        ),
        Cell::Missing => lang.pick("не указано", "not stated").to_owned(),
        Cell::Text(s) => {
            let c = &t.columns[col];
            match (&c.kind, &c.vocabulary) {
                (ColumnKind::Code, Some(v)) => s
                    .split(' ')
                    .map(|code| esc(lang.t(&cx.d.label(v, code))))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ if c.id == "measure" => esc(&measure_label(cx, lang, s)),
                _ if s == "total" && col == 0 => lang.pick("всего", "total").to_owned(),
                _ if s == "unknown" && col == 0 => lang.pick("не указано", "not stated").to_owned(),
                _ => esc(s),
            }
        }
    }
}

fn measure_label(cx: &Ctx<'_>, lang: Lang, m: &str) -> String {
    match m {
        "actions" => lang.pick("акций", "actions").into(),
        "detentions" => lang.pick("задержаний", "detentions").into(),
        "persons" => lang
            .pick("человек в записях", "persons in the record")
            .into(),
        _ => match m.strip_prefix("events:") {
            Some(k) => format!(
                "{}: {}",
                lang.pick("событий", "events"),
                lang.t(&cx.d.label("event_kinds", k))
            ),
            None => m.into(),
        },
    }
}

/// A table as HTML, with its caption and a link to its open-data files.
fn html_table(cx: &Ctx<'_>, lang: Lang, t: &Table, up: &str) -> String {
    let mut out = format!(
        "<div class=\"numbers\"><table id=\"t-{id}\" data-table=\"{id}\"><caption>{}</caption><thead><tr>",
        esc(lang.t(&t.title)),
        id = esc(&t.id)
    );
    // Ids link the open data's tables; on a page they are noise.
    let shown: Vec<bool> = t.columns.iter().map(|c| c.id != "action_id").collect();
    for c in t.columns.iter().filter(|c| c.id != "action_id") {
        let num = matches!(c.kind, ColumnKind::Integer);
        let _ = write!(
            out,
            "<th scope=\"col\"{}>{}</th>",
            if num { " class=\"num\"" } else { "" },
            esc(lang.t(&c.label))
        );
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        row_html(cx, lang, t, &shown, row, &mut out);
    }
    if cx.streamed.contains_key(&t.id) {
        out.push_str(ROWS_MARKER);
    }
    let _ = write!(
        out,
        "</tbody></table><p class=\"muted\">{} {}: <a href=\"{up}data/{id}.csv\">CSV</a>, <a href=\"{up}data/{id}.json\">JSON</a></p></div>",
        esc(lang.t(&t.description)),
        lang.pick("Данные", "Data"),
        id = esc(&t.id)
    );
    out
}

/// The (label, value) pairs of a breakdown table's `measure` column, for a chart.
fn series(cx: &Ctx<'_>, lang: Lang, t: &Table, measure: &str) -> Vec<(String, u64)> {
    let Some(m) = t.columns.iter().position(|c| c.id == measure) else {
        return Vec::new();
    };
    t.rows
        .iter()
        .map(|r| {
            let label = match &r[0] {
                Cell::Text(code) => match &t.columns[0].vocabulary {
                    Some(v) => lang.t(&cx.d.label(v, code)).to_owned(),
                    None => code.clone(),
                },
                _ => lang.pick("не указано", "not stated").to_owned(),
            };
            let v = match r[m] {
                Cell::Int(n) => n,
                _ => 0,
            };
            (label, v)
        })
        .collect()
}

fn measure_name(lang: Lang, measure: &str) -> &'static str {
    match measure {
        "actions" => lang.pick("акций", "actions"),
        "detentions" => lang.pick("задержаний", "detentions"),
        "persons" => lang.pick("человек", "persons"),
        _ => lang.pick("событий", "events"),
    }
}

fn empty(lang: Lang) -> String {
    format!(
        "<p class=\"empty\">{}</p>",
        lang.pick(
            "В этом выпуске пока нет данных.",
            "No data in this release yet."
        )
    )
}

/// A chart of one measure of a breakdown, with the table beside it.
fn figure(cx: &Ctx<'_>, lang: Lang, t: &Table, measure: &str, kind: &str) -> String {
    let items = series(cx, lang, t, measure);
    if items.is_empty() {
        return format!("<h2>{}</h2>{}", esc(lang.t(&t.title)), empty(lang));
    }
    let what = measure_name(lang, measure);
    let title = format!("{}: {what}", lang.t(&t.title));
    let desc = desc(lang, &items, what);
    let category = lang.t(&t.columns[0].label).to_owned();
    let id = format!("c-{}-{measure}", t.id);
    let l = Labels {
        id: &id,
        title: &title,
        desc: &desc,
        value_axis: what,
        category_axis: &category,
    };
    let svg = if kind == "columns" {
        charts::columns(&l, &items)
    } else {
        charts::bars(&l, &items)
    };
    format!(
        "<h2 id=\"{}\">{}</h2><figure class=\"with-table\"><div class=\"chart-box\">{svg}</div>{}</figure>",
        esc(&t.id),
        esc(&title),
        html_table(cx, lang, t, "../")
    )
}

/// A text alternative: the largest values in words.
fn desc(lang: Lang, items: &[(String, u64)], what: &str) -> String {
    let mut top: Vec<&(String, u64)> = items.iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let list: Vec<String> = top
        .iter()
        .take(3)
        .map(|(l, v)| format!("{l} — {v}"))
        .collect();
    format!(
        "{} {}; {}: {}.",
        items.len(),
        lang.pick("групп", "groups"),
        lang.pick(
            &format!("больше всего ({what})"),
            &format!("largest ({what})")
        ),
        list.join(", ")
    )
}

fn simple(cx: &Ctx<'_>, lang: Lang, table: &str, measure: &str) -> String {
    match cx.table(table) {
        Some(t) => figure(cx, lang, t, measure, "bars"),
        None => empty(lang),
    }
}

fn overview(cx: &Ctx<'_>, lang: Lang) -> String {
    let mut out = format!(
        "<p>{}</p><dl class=\"totals\">",
        lang.pick(
            "Сколько акций, задержаний и людей в проверенной записи наблюдателей: цифры посчитаны по правилам на странице «Методика», без имён; имя человека публикуется только с его согласия.",
            "How many actions, detentions and persons the monitors' verified record holds: counted by the rules on the Methodology page, without names; a person's name is published only with their consent."
        )
    );
    for (ru, en, n) in tables::total_line(&cx.d.total) {
        let _ = write!(
            out,
            "<div><dt>{}</dt><dd class=\"num\" data-measure=\"{en}\">{n}</dd></div>",
            lang.pick(ru, en)
        );
    }
    out.push_str("</dl>");
    let reports: u64 = cx.d.reports_by_day.iter().map(|(_, n)| n).sum();
    let _ = write!(
        out,
        "<p class=\"reports\">{}: {reports}. {}</p>",
        lang.pick("Сообщений на горячую линию всего", "Reports in total"),
        lang.pick(
            "Это сообщения, а не события: одно задержание часто приходит в нескольких сообщениях.",
            "These are reports, not events: one detention often arrives in several reports."
        )
    );
    if let Some(t) = cx.table(id::BY_MONTH) {
        out.push_str(&figure(cx, lang, t, "detentions", "columns"));
    }
    if let Some(t) = cx.table(id::OVERVIEW) {
        out.push_str(&html_table(cx, lang, t, "../"));
    }
    let _ = write!(
        out,
        "<h2>{}</h2><ul class=\"downloads\">",
        lang.pick("Открытые данные", "Open data")
    );
    for t in cx.tables {
        let _ = write!(
            out,
            "<li>{}: <a href=\"../data/{id}.csv\">CSV</a>, <a href=\"../data/{id}.json\">JSON</a></li>",
            esc(lang.t(&t.title)),
            id = esc(&t.id)
        );
    }
    out.push_str("</ul>");
    out
}

fn months(cx: &Ctx<'_>, lang: Lang) -> String {
    let Some(t) = cx.table(id::BY_MONTH) else {
        return empty(lang);
    };
    let mut out = figure(cx, lang, t, "detentions", "columns");
    let items = series(cx, lang, t, "actions");
    if !items.is_empty() {
        let what = measure_name(lang, "actions");
        let title = format!("{}: {what}", lang.t(&t.title));
        let d = desc(lang, &items, what);
        let cat = lang.t(&t.columns[0].label);
        let _ = write!(
            out,
            "<h2>{}</h2><figure><div class=\"chart-box\">{}</div></figure>",
            esc(&title),
            charts::columns(
                &Labels {
                    id: "c-by-month-actions",
                    title: &title,
                    desc: &d,
                    value_axis: what,
                    category_axis: cat,
                },
                &items
            )
        );
    }
    out
}

fn regions(cx: &Ctx<'_>, lang: Lang) -> String {
    let Some(t) = cx.table(id::BY_REGION) else {
        return empty(lang);
    };
    let counts: std::collections::HashMap<&str, u64> = t
        .rows
        .iter()
        .filter_map(|r| match (&r[0], &r[2]) {
            (Cell::Text(code), Cell::Int(n)) => Some((code.as_str(), *n)),
            _ => None,
        })
        .collect();
    let all: Vec<(String, String, u64)> =
        cx.d.regions
            .iter()
            .map(|code| {
                (
                    code.clone(),
                    lang.t(&cx.d.label("regions", code)).to_owned(),
                    counts.get(code.as_str()).copied().unwrap_or(0),
                )
            })
            .collect();
    let what = measure_name(lang, "detentions");
    let title = lang.pick("Карта: задержания по регионам", "Map: detentions by region");
    let mut top: Vec<(String, u64)> = all.iter().map(|(_, n, v)| (n.clone(), *v)).collect();
    top.retain(|x| x.1 > 0);
    let d = format!(
        "{} {}",
        lang.pick(
            "Каждый квадрат — регион, подписан кодом; чем темнее, тем больше задержаний.",
            "Each square is a region, labelled with its code; the darker, the more detentions."
        ),
        desc(lang, &top, what)
    );
    let map = charts::grid_map(
        &Labels {
            id: "c-region-map",
            title,
            desc: &d,
            value_axis: what,
            category_axis: lang.pick("регион", "region"),
        },
        &all,
        lang.pick("нет", "none"),
    );
    format!(
        "<h2>{}</h2><figure class=\"map\"><div class=\"chart-box wide\">{map}</div></figure>{}",
        esc(title),
        figure(cx, lang, t, "detentions", "bars")
    )
}

fn actions(cx: &Ctx<'_>, lang: Lang) -> String {
    let streamed_rows = cx.streamed.get(id::ACTIONS).map_or(0, |s| s.rows);
    match cx.table(id::ACTIONS) {
        Some(t) if !t.rows.is_empty() || streamed_rows > 0 => format!(
            "<p>{}</p>{}",
            lang.pick(
                "Публичные акции, на которых задерживали людей. Число задержанных на публичной акции публикуется как есть.",
                "Public actions at which people were detained. The number detained at a public action is published as it is."
            ),
            html_table(cx, lang, t, "../")
        ),
        _ => empty(lang),
    }
}

fn persons(cx: &Ctx<'_>, lang: Lang) -> String {
    let mut out = format!(
        "<p>{}</p>",
        esc(&lang
            .pick(
                "Люди, согласившиеся хотя бы на подсчёт, по полу, возрасту (на дату данных) и роли. Числа меньше {k} скрыты, и скрыты числа, из которых их можно было бы вычислить по итогам.",
                "Persons who agreed at least to be counted, by gender, age (at the date of the data) and role. Counts below {k} are withheld, and so are the counts they could be worked out from using the totals."
            )
            .replace("{k}", &cx.d.k.to_string()))
    );
    for id in [id::BY_GENDER, id::BY_AGE, id::BY_ROLE, id::BY_GENDER_AGE] {
        if let Some(t) = cx.table(id) {
            if t.rows.is_empty() {
                let _ = write!(out, "<h2>{}</h2>{}", esc(lang.t(&t.title)), empty(lang));
            } else {
                out.push_str(&html_table(cx, lang, t, "../"));
            }
        }
    }
    out
}

fn cases(cx: &Ctx<'_>, lang: Lang) -> String {
    let mut out = format!(
        "<p>{}</p>",
        lang.pick(
            "Здесь только люди, которые сами согласились, чтобы их имя и дело были опубликованы.",
            "Only persons who themselves agreed that their name and case be published are listed here."
        )
    );
    if cx.d.cases.is_empty() {
        out.push_str(&empty(lang));
        return out;
    }
    out.push_str("<ul class=\"cases\">");
    for c in &cx.d.cases {
        let _ = write!(
            out,
            "<li><a href=\"cases/{}.html\">{}</a> ({})</li>",
            esc(&c.slug),
            esc(&c.name),
            c.region
                .as_deref()
                .map_or_else(String::new, |r| esc(lang.t(&cx.d.label("regions", r))))
        );
    }
    out.push_str("</ul>");
    out
}

fn case_page(cx: &Ctx<'_>, lang: Lang, c: &crate::data::PublicCase) -> String {
    let mut out = format!(
        "<p>{}</p><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.pick(
            "Человек согласился на публикацию имени и дела.",
            "This person agreed that their name and case be published."
        ),
        lang.pick("дата", "date"),
        lang.pick("событие", "event"),
        lang.pick("регион", "region"),
        lang.pick("статьи", "articles"),
        lang.pick("итог", "outcome"),
    );
    for e in &c.events {
        let mut outcome = Vec::new();
        if let Some(f) = e.fine_rub {
            outcome.push(format!("{} {f} ₽", lang.pick("штраф", "fine")));
        }
        if let Some(a) = e.arrest_days {
            outcome.push(format!(
                "{} {a} {}",
                lang.pick("арест", "arrest"),
                lang.pick("сут.", "days")
            ));
        }
        if let Some(s) = &e.sentence {
            outcome.push(s.clone());
        }
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.date),
            esc(lang.t(&cx.d.label("event_kinds", &e.kind))),
            e.region
                .as_deref()
                .map_or_else(String::new, |r| esc(lang.t(&cx.d.label("regions", r)))),
            esc(&e
                .articles
                .iter()
                .map(|a| lang.t(&cx.d.label("articles", a)).to_owned())
                .collect::<Vec<_>>()
                .join(", ")),
            esc(&outcome.join("; "))
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn methodology(lang: Lang) -> String {
    format!(
        "{}{}",
        match lang {
            Lang::Ru =>
                "<p lang=\"ru\">Правила подсчёта ниже — те же, что в docs/methodology.md в исходном коде vigil (текст на английском).</p>",
            Lang::En =>
                "<p>The counting rules below are those of docs/methodology.md in vigil's source.</p>",
        },
        format_args!("<div lang=\"en\">{}</div>", markdown::render(METHODOLOGY))
    )
}

fn verify(cx: &Ctx<'_>, lang: Lang) -> String {
    format!(
        "<p>{}</p>\
         <section id=\"verify-commands\" class=\"verify-commands\">\
         <!-- pubrel: the commands (vigil verify, minisign, ssh-keygen -Y verify) go here -->\
         <h2>{}</h2><pre>vigil verify {} --key {}</pre></section>",
        lang.pick(
            "Каждый файл выпуска перечислен в manifest.json с его SHA-256; manifest.json подписан ключом выпуска. Сравните ключ ниже с ключом, который организация публикует в других местах.",
            "Every file of the release is listed in manifest.json with its SHA-256; manifest.json is signed with the release key. Compare the key below with the one the organisation publishes elsewhere."
        ),
        lang.pick("Команды", "Commands"),
        lang.pick("ПАПКА", "FOLDER"),
        esc(cx.public_key)
    )
}

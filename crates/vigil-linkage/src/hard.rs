//! Seeded generators for the shapes where shared context can fool linkage:
//!
//! - `addresses`: FEBRL-like person records (given name, surname, street
//!   number, address lines, suburb, postcode, state, date of birth, identity
//!   number) whose addresses are drawn from a small pool, so that dozens of
//!   different people share one full address, as in a block of flats; names
//!   with skewed (Zipf) frequencies; duplicates with typos, swapped name fields
//!   and missing values.
//! - `detentions`: the Russian set, with every person placed at a protest
//!   action: hundreds of persons per action share its date, city, place, police
//!   station, court and article; a person's several reports stay the true
//!   duplicates among them.
//! - `families`: the Russian set, with persons grouped into households that
//!   share a surname (in its gender form), a father's name and an address,
//!   while given names and birth dates differ.
//! - `common`: the Russian set, with a third of the persons renamed to the
//!   commonest given names and surnames.
//!
//! Every shape is a table with a header and an `entity_id` column (the truth).
//! The same seed gives the same rows everywhere.

use crate::generate::{GeneratedRecord, Rng, generate};
use crate::normalize::is_cyrillic;
use crate::translit::{System, to_latin};

/// The shapes, by the name `vigil-link-gen --shape` takes.
pub const SHAPES: &[&str] = &["russian", "addresses", "detentions", "families", "common"];

/// A generated table: header and rows of the same width.
pub struct Table {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// Generates `records` rows of `shape` from `seed`; `None` for an unknown shape.
pub fn generate_shape(shape: &str, records: usize, seed: u64) -> Option<Table> {
    match shape {
        "russian" => Some(russian_table(generate(records, seed), &[], |_, _| {
            Vec::new()
        })),
        "addresses" => Some(addresses(records, seed)),
        "detentions" => Some(detentions(records, seed)),
        "families" => Some(families(records, seed)),
        "common" => Some(common(records, seed)),
        _ => None,
    }
}

fn russian_table(
    records: Vec<GeneratedRecord>,
    extra: &[&'static str],
    mut more: impl FnMut(usize, &GeneratedRecord) -> Vec<String>,
) -> Table {
    let mut header: Vec<&'static str> = GeneratedRecord::HEADER.to_vec();
    header.extend_from_slice(extra);
    let rows = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row: Vec<String> = r.fields().iter().map(|s| s.to_string()).collect();
            row.extend(more(i, r));
            row
        })
        .collect();
    Table { header, rows }
}

fn entity_number(r: &GeneratedRecord) -> usize {
    r.entity_id
        .trim_start_matches('e')
        .parse::<usize>()
        .unwrap_or(0)
}

fn cumulative_zipf(n: usize, s: f64) -> Vec<f64> {
    let mut acc = 0.0;
    (0..n)
        .map(|i| {
            acc += 1.0 / ((i + 1) as f64).powf(s);
            acc
        })
        .collect()
}

fn zipf(rng: &mut Rng, table: &[f64]) -> usize {
    let total = table.last().copied().unwrap_or(1.0);
    let x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
    table
        .partition_point(|&c| c < x)
        .min(table.len().saturating_sub(1))
}

// ---------------------------------------------------------------- addresses

const GIVEN: &[&str] = &[
    "jack",
    "oliver",
    "william",
    "james",
    "thomas",
    "noah",
    "lucas",
    "henry",
    "ethan",
    "samuel",
    "liam",
    "joshua",
    "daniel",
    "benjamin",
    "matthew",
    "alexander",
    "charlie",
    "max",
    "harrison",
    "isaac",
    "ryan",
    "nathan",
    "luke",
    "jacob",
    "michael",
    "david",
    "andrew",
    "peter",
    "john",
    "robert",
    "mark",
    "paul",
    "stephen",
    "christopher",
    "anthony",
    "adam",
    "patrick",
    "sean",
    "joel",
    "lachlan",
    "cooper",
    "riley",
    "hunter",
    "mitchell",
    "connor",
    "blake",
    "jordan",
    "tyler",
    "brodie",
    "kyle",
    "charlotte",
    "olivia",
    "ava",
    "amelia",
    "mia",
    "isla",
    "grace",
    "chloe",
    "emily",
    "sophie",
    "ella",
    "ruby",
    "lily",
    "zoe",
    "hannah",
    "sarah",
    "jessica",
    "emma",
    "georgia",
    "lucy",
    "madison",
    "isabella",
    "matilda",
    "sienna",
    "jasmine",
    "rebecca",
    "rachel",
    "laura",
    "kate",
    "michelle",
    "lisa",
    "karen",
    "susan",
    "jennifer",
    "nicole",
    "amy",
    "kylie",
    "melissa",
    "rebekah",
    "tahlia",
    "caitlin",
    "brooke",
    "courtney",
    "taylor",
    "paige",
    "alana",
    "bianca",
    "danielle",
    "elise",
    "fiona",
    "gemma",
    "holly",
    "imogen",
    "jade",
    "kiara",
    "leah",
    "monique",
    "naomi",
    "phoebe",
    "rose",
    "stephanie",
    "tessa",
    "vanessa",
];

const SURNAMES: &[&str] = &[
    "smith",
    "jones",
    "williams",
    "brown",
    "wilson",
    "taylor",
    "johnson",
    "white",
    "martin",
    "anderson",
    "thompson",
    "nguyen",
    "thomas",
    "walker",
    "harris",
    "lee",
    "ryan",
    "robinson",
    "kelly",
    "king",
    "davis",
    "wright",
    "evans",
    "roberts",
    "green",
    "hall",
    "wood",
    "jackson",
    "clarke",
    "patel",
    "khan",
    "lewis",
    "james",
    "phillips",
    "mason",
    "mitchell",
    "rose",
    "davies",
    "rodriguez",
    "cox",
    "alexander",
    "campbell",
    "morris",
    "murphy",
    "cook",
    "young",
    "scott",
    "turner",
    "hill",
    "moore",
    "baker",
    "edwards",
    "collins",
    "stewart",
    "morgan",
    "bell",
    "watson",
    "clark",
    "cooper",
    "ward",
    "hughes",
    "parker",
    "price",
    "bennett",
    "reid",
    "russell",
    "gray",
    "ross",
    "gibson",
    "wallace",
    "graham",
    "hunter",
    "kennedy",
    "mills",
    "marshall",
    "ellis",
    "harrison",
    "fraser",
    "hamilton",
    "butler",
    "simpson",
    "webb",
    "lloyd",
    "porter",
    "hart",
    "hayes",
    "dunn",
    "palmer",
    "burke",
    "hudson",
    "ferguson",
    "barnes",
    "knight",
    "lawson",
    "fisher",
    "spencer",
    "grant",
    "payne",
    "stone",
    "riley",
    "holmes",
    "wells",
    "tran",
    "le",
    "pham",
    "huynh",
    "wong",
    "chen",
    "wang",
    "li",
    "zhang",
    "liu",
    "singh",
    "kaur",
    "papadopoulos",
    "nikolaidis",
    "rossi",
    "russo",
    "ferrari",
    "esposito",
    "bianchi",
    "romano",
    "colombo",
    "ricci",
    "marino",
    "greco",
    "bruno",
    "gallo",
    "conti",
    "de luca",
    "costa",
    "giordano",
    "mancini",
    "rizzo",
    "lombardi",
    "moretti",
    "kowalski",
    "nowak",
    "novak",
    "horvat",
    "ivanov",
    "petrov",
    "schmidt",
    "schneider",
    "fischer",
    "weber",
    "meyer",
    "wagner",
    "becker",
    "schulz",
    "hoffmann",
    "koch",
    "o'brien",
    "o'connor",
    "o'neill",
    "mcdonald",
    "mckenzie",
    "mcleod",
    "macdonald",
    "donaldson",
    "robertson",
    "sutherland",
    "mcintyre",
    "abbott",
    "ashby",
    "barker",
    "blackwell",
    "bradley",
    "brennan",
    "caldwell",
    "carroll",
    "chapman",
    "crawford",
    "dawson",
    "dixon",
    "doyle",
    "elliott",
    "farrell",
    "fletcher",
    "foster",
    "gordon",
];

const STREETS: &[&str] = &[
    "george",
    "elizabeth",
    "victoria",
    "albert",
    "king",
    "queen",
    "william",
    "church",
    "high",
    "main",
    "park",
    "station",
    "railway",
    "bridge",
    "hill",
    "river",
    "beach",
    "ocean",
    "forest",
    "bay",
    "north",
    "south",
    "east",
    "west",
    "mitchell",
    "macquarie",
    "hume",
    "flinders",
    "collins",
    "bourke",
    "lonsdale",
    "swanston",
    "elizabeth bay",
    "pitt",
    "castlereagh",
    "sussex",
    "kent",
    "clarence",
    "york",
    "market",
    "liverpool",
    "bathurst",
    "goulburn",
    "campbell",
    "oxford",
    "bondi",
    "coogee",
    "marine",
    "esplanade",
];

const STREET_KINDS: &[&str] = &[
    "street", "road", "avenue", "place", "crescent", "drive", "parade", "close",
];

const SUBURBS: &[(&str, &str, &str)] = &[
    ("parramatta", "2150", "nsw"),
    ("blacktown", "2148", "nsw"),
    ("liverpool", "2170", "nsw"),
    ("penrith", "2750", "nsw"),
    ("chatswood", "2067", "nsw"),
    ("bondi", "2026", "nsw"),
    ("newtown", "2042", "nsw"),
    ("hurstville", "2220", "nsw"),
    ("newcastle", "2300", "nsw"),
    ("wollongong", "2500", "nsw"),
    ("richmond", "3121", "vic"),
    ("st kilda", "3182", "vic"),
    ("footscray", "3011", "vic"),
    ("dandenong", "3175", "vic"),
    ("geelong", "3220", "vic"),
    ("ballarat", "3350", "vic"),
    ("bendigo", "3550", "vic"),
    ("box hill", "3128", "vic"),
    ("frankston", "3199", "vic"),
    ("brunswick", "3056", "vic"),
    ("fortitude valley", "4006", "qld"),
    ("southport", "4215", "qld"),
    ("toowoomba", "4350", "qld"),
    ("cairns", "4870", "qld"),
    ("townsville", "4810", "qld"),
    ("ipswich", "4305", "qld"),
    ("logan", "4114", "qld"),
    ("adelaide", "5000", "sa"),
    ("glenelg", "5045", "sa"),
    ("elizabeth", "5112", "sa"),
    ("fremantle", "6160", "wa"),
    ("joondalup", "6027", "wa"),
    ("bunbury", "6230", "wa"),
    ("hobart", "7000", "tas"),
    ("launceston", "7250", "tas"),
    ("darwin", "0800", "nt"),
    ("canberra", "2600", "act"),
    ("belconnen", "2617", "act"),
    ("tuggeranong", "2900", "act"),
    ("mandurah", "6210", "wa"),
];

const BUILDINGS: &[&str] = &[
    "",
    "",
    "",
    "",
    "",
    "rosewood apartments",
    "harbour view",
    "the terraces",
    "park towers",
    "riverside court",
    "kingsford lodge",
    "villa 3",
    "unit 12",
    "flat 4",
    "suite 7",
];

struct Address {
    number: String,
    line1: String,
    line2: String,
    suburb: &'static str,
    postcode: &'static str,
    state: &'static str,
}

fn pick_address(rng: &mut Rng) -> Address {
    let (suburb, postcode, state) = SUBURBS[rng.below(SUBURBS.len())];
    Address {
        number: (1 + rng.below(250)).to_string(),
        line1: format!(
            "{} {}",
            STREETS[rng.below(STREETS.len())],
            STREET_KINDS[rng.below(STREET_KINDS.len())]
        ),
        line2: BUILDINGS[rng.below(BUILDINGS.len())].to_string(),
        suburb,
        postcode,
        state,
    }
}

fn latin_typo(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_string();
    }
    let i = 1 + rng.below(chars.len() - 1);
    let alphabet: Vec<char> = "abcdefghiklmnoprstuvwy".chars().collect();
    match rng.below(4) {
        0 => {
            chars.remove(i);
        }
        1 => {
            let c = chars[i];
            chars.insert(i, c);
        }
        2 if i + 1 < chars.len() => chars.swap(i, i + 1),
        _ => chars[i] = alphabet[rng.below(alphabet.len())],
    }
    chars.into_iter().collect()
}

fn digit_typo(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 2 {
        return s.to_string();
    }
    let i = rng.below(chars.len() - 1);
    if rng.chance(0.5) {
        chars.swap(i, i + 1);
    } else {
        chars[i] = char::from(b'0' + rng.below(10) as u8);
    }
    chars.into_iter().collect()
}

/// FEBRL-like records on a small pool of addresses.
pub fn addresses(records: usize, seed: u64) -> Table {
    let mut rng = Rng::new(seed ^ 0xADD7);
    let given_z = cumulative_zipf(GIVEN.len(), 1.0);
    let surname_z = cumulative_zipf(SURNAMES.len(), 1.0);
    // Entities: about 40 % of records are duplicates of another. Addresses: a
    // pool of one address per 40 entities, so that dozens of strangers share one.
    let entities = (records * 6 / 10).max(1);
    let pool: Vec<Address> = (0..(entities / 40).max(1))
        .map(|_| pick_address(&mut rng))
        .collect();
    let header = vec![
        "rec_id",
        "entity_id",
        "given_name",
        "surname",
        "street_number",
        "address_1",
        "address_2",
        "suburb",
        "postcode",
        "state",
        "date_of_birth",
        "soc_sec_id",
    ];
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(records);
    let mut e = 0;
    while rows.len() < records {
        let a = &pool[rng.below(pool.len())];
        let person = vec![
            GIVEN[zipf(&mut rng, &given_z)].to_string(),
            SURNAMES[zipf(&mut rng, &surname_z)].to_string(),
            a.number.clone(),
            a.line1.clone(),
            a.line2.clone(),
            a.suburb.to_string(),
            a.postcode.to_string(),
            a.state.to_string(),
            format!(
                "{}{:02}{:02}",
                1930 + rng.below(75),
                1 + rng.below(12),
                1 + rng.below(28)
            ),
            format!("{:07}", rng.below(10_000_000)),
        ];
        // The original, then 0–3 duplicates (more often fewer).
        let copies = if e < entities {
            match rng.below(10) {
                0..=4 => 0,
                5..=7 => 1,
                8 => 2,
                _ => 3,
            }
        } else {
            0
        };
        for k in 0..=copies {
            if rows.len() >= records {
                break;
            }
            let mut r = person.clone();
            if k > 0 {
                // 1–3 modifications, as FEBRL makes them.
                for _ in 0..1 + rng.below(3) {
                    let f = rng.below(10);
                    match rng.below(10) {
                        0 if f < 8 => r[f].clear(),
                        1 => r.swap(0, 1),
                        2 | 3 if f >= 8 => r[f] = digit_typo(&mut rng, &r[f]),
                        _ if f == 2 || f == 6 => r[f] = digit_typo(&mut rng, &r[f]),
                        _ if f < 8 => r[f] = latin_typo(&mut rng, &r[f]),
                        _ => r[f] = digit_typo(&mut rng, &r[f]),
                    }
                }
            }
            let mut row = vec![format!("rec-{}", rows.len()), format!("e{e}")];
            row.extend(r);
            rows.push(row);
        }
        e += 1;
    }
    Table { header, rows }
}

// ---------------------------------------------------------------- Russian shapes

const ACTION_PLACES: &[(&str, &str)] = &[
    ("Москва", "Пушкинская площадь"),
    ("Москва", "Манежная площадь"),
    ("Москва", "Тверская улица"),
    ("Москва", "Чистопрудный бульвар"),
    ("Москва", "Болотная площадь"),
    ("Санкт-Петербург", "Невский проспект"),
    ("Санкт-Петербург", "Исаакиевская площадь"),
    ("Санкт-Петербург", "Марсово поле"),
    ("Екатеринбург", "Плотинка"),
    ("Новосибирск", "площадь Ленина"),
    ("Казань", "площадь Свободы"),
    ("Нижний Новгород", "площадь Минина"),
];

const STATIONS: &[&str] = &[
    "ОВД Тверской",
    "ОВД Басманный",
    "ОВД Хамовники",
    "ОВД Пресненский",
    "ОВД Мещанский",
    "ОВД Замоскворечье",
    "76 отдел полиции",
    "УМВД Центрального района",
    "ОП № 5",
    "ОП № 1",
];

const COURTS: &[&str] = &[
    "Тверской районный суд",
    "Мещанский районный суд",
    "Пресненский районный суд",
    "Басманный районный суд",
    "Дзержинский районный суд",
    "Куйбышевский районный суд",
];

const ARTICLES: &[&str] = &["20.2 ч. 5", "20.2 ч. 8", "20.3.3", "19.3", "20.6.1"];

/// The Russian set, each person at one protest action (the shared context).
pub fn detentions(records: usize, seed: u64) -> Table {
    let base = generate(records, seed);
    let mut rng = Rng::new(seed ^ 0xDE7E);
    // Actions with Pareto-like sizes: most of a few dozen, some of hundreds.
    let entities = base.iter().map(entity_number).max().unwrap_or(0) + 1;
    let mut action_of = vec![0usize; entities];
    let mut actions: Vec<[String; 5]> = Vec::new();
    let mut e = 0;
    while e < entities {
        let size = (20.0 / (1.0 - rng.below(1000) as f64 / 1000.0).powf(0.7)) as usize;
        let size = size.clamp(5, 800);
        let (_, place) = ACTION_PLACES[rng.below(ACTION_PLACES.len())];
        let day = format!(
            "{:02}.{:02}.{}",
            1 + rng.below(28),
            1 + rng.below(12),
            2012 + rng.below(12)
        );
        actions.push([
            day,
            place.to_string(),
            STATIONS[rng.below(STATIONS.len())].to_string(),
            COURTS[rng.below(COURTS.len())].to_string(),
            ARTICLES[rng.below(ARTICLES.len())].to_string(),
        ]);
        for slot in action_of.iter_mut().skip(e).take(size) {
            *slot = actions.len() - 1;
        }
        e += size;
    }
    russian_table(
        base,
        &[
            "action_date",
            "action_place",
            "police_station",
            "court",
            "article",
        ],
        |_, r| {
            let a = &actions[action_of[entity_number(r)]];
            a.to_vec()
        },
    )
}

fn feminine(surname: &str) -> String {
    for (m, f) in [
        ("ский", "ская"),
        ("цкий", "цкая"),
        ("ой", "ая"),
        ("ый", "ая"),
    ] {
        if let Some(stem) = surname.strip_suffix(m) {
            return format!("{stem}{f}");
        }
    }
    if ["ов", "ев", "ин", "ын"]
        .iter()
        .any(|e| surname.ends_with(e))
    {
        return format!("{surname}а");
    }
    surname.to_string()
}

fn looks_female(given: &str) -> bool {
    crate::names::GIVEN_NAMES
        .iter()
        .find(|n| n.full.eq_ignore_ascii_case(given) || n.full == given)
        .map(|n| n.gender == crate::names::Gender::Female)
        .unwrap_or_else(|| {
            let g = given.to_lowercase();
            ["а", "я", "a", "ia", "ya"].iter().any(|e| g.ends_with(e))
        })
}

/// What one record says of the person's sex: `Some(true)` female, by the
/// patronymic's ending, then the surname's, then the given name.
fn record_female(r: &GeneratedRecord) -> Option<bool> {
    let p = r.patronymic.to_lowercase();
    if ["вна", "ична", "vna", "ichna"]
        .iter()
        .any(|e| p.ends_with(e))
    {
        return Some(true);
    }
    if ["вич", "ич", "vich", "ich", "vitch", "witsch"]
        .iter()
        .any(|e| p.ends_with(e))
    {
        return Some(false);
    }
    let s = r.surname.to_lowercase();
    if ["ова", "ева", "ина", "ая", "ova", "eva", "ina", "aya", "aia"]
        .iter()
        .any(|e| s.ends_with(e))
    {
        return Some(true);
    }
    if [
        "ов", "ев", "ин", "ий", "ой", "ov", "ev", "in", "ii", "iy", "oy",
    ]
    .iter()
    .any(|e| s.ends_with(e))
    {
        return Some(false);
    }
    if r.given_name.ends_with('.') || r.given_name.is_empty() {
        return None;
    }
    Some(looks_female(&r.given_name))
}

/// Each entity's sex, by a vote of its records.
fn entity_female(base: &[GeneratedRecord], entities: usize) -> Vec<bool> {
    let mut votes = vec![(0u32, 0u32); entities];
    for r in base {
        match record_female(r) {
            Some(true) => votes[entity_number(r)].0 += 1,
            Some(false) => votes[entity_number(r)].1 += 1,
            None => {}
        }
    }
    votes.into_iter().map(|(f, m)| f > m).collect()
}

/// `name` as the record writes names: an initial where it has one, Latin
/// where it is Latin.
fn as_written(sample: &str, cyrillic: &str) -> String {
    let full = in_script_of(sample, cyrillic);
    if sample.ends_with('.') {
        let first: String = full.chars().take(1).collect();
        format!("{first}.")
    } else {
        full
    }
}

fn in_script_of(sample: &str, cyrillic: &str) -> String {
    if sample.chars().any(is_cyrillic) || sample.is_empty() {
        cyrillic.to_string()
    } else {
        to_latin(cyrillic, System::Icao)
    }
}

/// The Russian set in households: shared surname, father's name and address.
pub fn families(records: usize, seed: u64) -> Table {
    let base = generate(records, seed);
    let mut rng = Rng::new(seed ^ 0xFA31);
    let entities = base.iter().map(entity_number).max().unwrap_or(0) + 1;
    // Households of 2–5 persons, each taking its first person's surname and
    // father's name, and one address.
    let mut head = vec![0usize; entities];
    let mut address = vec![String::new(); entities];
    let mut e = 0;
    while e < entities {
        let size = 2 + rng.below(4);
        let addr = format!(
            "ул. {}, д. {}, кв. {}",
            [
                "Ленина",
                "Мира",
                "Садовая",
                "Советская",
                "Гагарина",
                "Школьная"
            ][rng.below(6)],
            1 + rng.below(120),
            1 + rng.below(200)
        );
        for k in e..(e + size).min(entities) {
            head[k] = e;
            address[k] = addr.clone();
        }
        e += size;
    }
    // The head's surname (masculine Cyrillic) and father's name root, from its
    // first Cyrillic record.
    let mut family_surname: Vec<Option<String>> = vec![None; entities];
    let mut father: Vec<Option<(String, char)>> = vec![None; entities];
    for r in &base {
        let n = entity_number(r);
        if head[n] != n || family_surname[n].is_some() || !r.surname.chars().any(is_cyrillic) {
            continue;
        }
        let s = r.surname.trim_end_matches('а');
        let s = s
            .strip_suffix("ская")
            .map(|x| format!("{x}ский"))
            .unwrap_or(s.to_string());
        family_surname[n] = Some(s);
        // The father's name as a stem and the vowel of its ending: Игор|е|вич.
        father[n] = [("ович", 'о'), ("овна", 'о'), ("евич", 'е'), ("евна", 'е')]
            .iter()
            .find_map(|(e, v)| {
                r.patronymic
                    .strip_suffix(e)
                    .map(|stem| (stem.to_string(), *v))
            });
    }
    let female_of = entity_female(&base, entities);
    russian_table(base, &["address"], |_, r| {
        let n = entity_number(r);
        vec![address[n].clone()]
    })
    .map_rows(|row| {
        // Columns: rec_id, entity_id, given_name, surname, patronymic, birth_date, city, address.
        let n = row[1].trim_start_matches('e').parse::<usize>().unwrap_or(0);
        let h = head[n];
        let female = female_of[n];
        if let Some(s) = &family_surname[h]
            && !row[3].is_empty()
        {
            let form = if female { feminine(s) } else { s.clone() };
            row[3] = as_written(&row[3], &form);
        }
        if let Some((stem, vowel)) = &father[h]
            && !row[4].is_empty()
        {
            let end = if female { "вна" } else { "вич" };
            row[4] = as_written(&row[4], &format!("{stem}{vowel}{end}"));
        }
    })
}

const COMMON_MALE: &[&str] = &["Александр", "Сергей", "Дмитрий", "Андрей", "Алексей"];
const COMMON_FEMALE: &[&str] = &["Елена", "Ольга", "Наталья", "Екатерина", "Анна"];
const COMMON_SURNAMES: &[&str] = &["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев"];

/// The Russian set with a third of the persons under the commonest names.
pub fn common(records: usize, seed: u64) -> Table {
    let base = generate(records, seed);
    let mut rng = Rng::new(seed ^ 0xC033);
    let entities = base.iter().map(entity_number).max().unwrap_or(0) + 1;
    let renamed: Vec<Option<(usize, usize)>> = (0..entities)
        .map(|_| rng.chance(0.33).then(|| (rng.below(5), rng.below(5))))
        .collect();
    russian_table(base, &[], |_, _| Vec::new()).map_rows(|row| {
        let n = row[1].trim_start_matches('e').parse::<usize>().unwrap_or(0);
        let Some((g, s)) = renamed[n] else {
            return;
        };
        let female = looks_female(&row[2]);
        // Keep the record's own style: initials stay initials.
        if !row[2].is_empty() && !row[2].ends_with('.') {
            let given = if female {
                COMMON_FEMALE[g]
            } else {
                COMMON_MALE[g]
            };
            row[2] = in_script_of(&row[2], given);
        }
        if !row[3].is_empty() && !row[3].ends_with('.') {
            let surname = if female {
                feminine(COMMON_SURNAMES[s])
            } else {
                COMMON_SURNAMES[s].to_string()
            };
            row[3] = in_script_of(&row[3], &surname);
        }
    })
}

impl Table {
    fn map_rows(mut self, mut f: impl FnMut(&mut Vec<String>)) -> Table {
        for row in &mut self.rows {
            f(row);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_shape_is_seeded_and_has_its_width() {
        for shape in SHAPES {
            let a = generate_shape(shape, 600, 5).unwrap();
            let b = generate_shape(shape, 600, 5).unwrap();
            assert_eq!(a.rows, b.rows, "{shape} is not deterministic");
            assert_eq!(a.rows.len(), 600, "{shape}");
            assert!(a.rows.iter().all(|r| r.len() == a.header.len()), "{shape}");
            assert_eq!(a.header[1], "entity_id");
        }
        assert!(generate_shape("nope", 10, 1).is_none());
    }

    #[test]
    fn addresses_are_shared_by_dozens_of_strangers() {
        let t = addresses(10_000, 3);
        let mut people: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
        for r in &t.rows {
            people
                .entry(r[4..10].join("|"))
                .or_default()
                .insert(r[1].clone());
        }
        let biggest = people.values().map(|s| s.len()).max().unwrap();
        assert!(biggest >= 24, "largest address holds {biggest} persons");
        let entities: std::collections::HashSet<&String> = t.rows.iter().map(|r| &r[1]).collect();
        assert!(
            entities.len() < 8_000 && entities.len() > 5_000,
            "{}",
            entities.len()
        );
    }

    #[test]
    fn detentions_put_hundreds_at_one_action() {
        let t = detentions(5_000, 4);
        let mut by_action: HashMap<String, usize> = HashMap::new();
        for r in &t.rows {
            *by_action.entry(r[7..12].join("|")).or_default() += 1;
        }
        assert!(by_action.values().any(|&n| n >= 100));
    }

    #[test]
    fn households_share_surname_and_address() {
        let t = families(3_000, 6);
        let mut by_address: HashMap<&str, Vec<&Vec<String>>> = HashMap::new();
        for r in &t.rows {
            by_address.entry(&r[7]).or_default().push(r);
        }
        let shared = by_address
            .values()
            .filter(|rs| {
                let ents: std::collections::HashSet<&String> = rs.iter().map(|r| &r[1]).collect();
                ents.len() >= 2
            })
            .count();
        assert!(shared > 300, "{shared} households with several persons");
    }
}

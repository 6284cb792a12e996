//! A seeded generator of Russian person records with known truth, for evaluating
//! linkage: several reports about one person (from the person, a relative, a lawyer,
//! a news item), in Cyrillic or one of the Latin systems, with short forms of given
//! names, missing patronymics, the other gender form of a surname, initials,
//! partial or reformatted dates, swapped day and month, and typos. Siblings and
//! namesakes make the non-matches hard.
//!
//! The same seed gives the same records on every machine and version of Rust.

use crate::names::{GIVEN_NAMES, Gender};
use crate::translit::{System, to_latin};

/// One generated report about a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedRecord {
    pub rec_id: String,
    pub entity_id: String,
    pub given_name: String,
    pub surname: String,
    pub patronymic: String,
    pub birth_date: String,
    pub city: String,
}

impl GeneratedRecord {
    pub const HEADER: [&'static str; 7] = [
        "rec_id",
        "entity_id",
        "given_name",
        "surname",
        "patronymic",
        "birth_date",
        "city",
    ];

    pub fn fields(&self) -> [&str; 7] {
        [
            &self.rec_id,
            &self.entity_id,
            &self.given_name,
            &self.surname,
            &self.patronymic,
            &self.birth_date,
            &self.city,
        ]
    }
}

/// Deterministic random numbers (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x0123_4567_89AB_CDEF)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// An index drawn with Zipf-like weights 1/(i+1)^s.
    fn zipf(&mut self, n: usize, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(1.0);
        let x = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        cumulative
            .partition_point(|&c| c < x)
            .min(n.saturating_sub(1))
    }
}

fn zipf_table(n: usize, s: f64) -> Vec<f64> {
    let mut acc = 0.0;
    (0..n)
        .map(|i| {
            acc += 1.0 / ((i + 1) as f64).powf(s);
            acc
        })
        .collect()
}

/// Common Russian surnames in their masculine form, roughly by frequency.
const SURNAMES: &[&str] = &[
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Александров",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
    "Ильин",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Виноградов",
    "Ковалёв",
    "Белов",
    "Медведев",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Филиппов",
    "Комаров",
    "Давыдов",
    "Беляев",
    "Герасимов",
    "Богданов",
    "Осипов",
    "Сидоров",
    "Матвеев",
    "Титов",
    "Марков",
    "Миронов",
    "Крылов",
    "Куликов",
    "Карпов",
    "Власов",
    "Мельников",
    "Денисов",
    "Гаврилов",
    "Тихонов",
    "Казаков",
    "Афанасьев",
    "Данилов",
    "Савельев",
    "Тимофеев",
    "Фомин",
    "Чернов",
    "Абрамов",
    "Мартынов",
    "Ефимов",
    "Федотов",
    "Щербаков",
    "Назаров",
    "Калинин",
    "Исаев",
    "Чернышёв",
    "Быков",
    "Маслов",
    "Родионов",
    "Коновалов",
    "Лазарев",
    "Воронин",
    "Климов",
    "Филатов",
    "Пономарёв",
    "Голубев",
    "Кудрявцев",
    "Прохоров",
    "Наумов",
    "Потапов",
    "Журавлёв",
    "Овчинников",
    "Трофимов",
    "Леонов",
    "Соболев",
    "Ермаков",
    "Колесников",
    "Гончаров",
    "Емельянов",
    "Никифоров",
    "Грачёв",
    "Котов",
    "Гришин",
    "Ефремов",
    "Архипов",
    "Громов",
    "Кириллов",
    "Малышев",
    "Панов",
    "Моисеев",
    "Румянцев",
    "Акимов",
    "Кондратьев",
    "Бирюков",
    "Горбунов",
    "Анисимов",
    "Ерёмин",
    "Тихомиров",
    "Галкин",
    "Лукьянов",
    "Михеев",
    "Скворцов",
    "Юдин",
    "Белоусов",
    "Нестеров",
    "Симонов",
    "Прокофьев",
    "Харитонов",
    "Князев",
    "Цветков",
    "Левин",
    "Митрофанов",
    "Воронцов",
    "Аксёнов",
    "Софронов",
    "Мальцев",
    "Логинов",
    "Горшков",
    "Савин",
    "Краснов",
    "Майоров",
    "Демидов",
    "Елисеев",
    "Рыбаков",
    "Сафонов",
    "Плотников",
    "Дёмин",
    "Хохлов",
    "Жданов",
    "Ковальский",
    "Вишневский",
    "Ковальчук",
    "Шевчук",
    "Бондаренко",
    "Кравченко",
    "Ткаченко",
    "Ахмедов",
    "Алиев",
    "Гарипов",
    "Хабибуллин",
    "Шарипов",
    "Зиннатуллин",
    "Шубин",
    "Щукин",
    "Чайковский",
    "Толстой",
    "Достоевский",
    "Юрьев",
    "Ярцев",
    "Эйдельман",
    "Рябов",
    "Полянский",
    "Заболоцкий",
    "Успенский",
    "Троицкий",
    "Покровский",
    "Вознесенский",
];

/// Roots that make further, rarer surnames with -ов/-ин/-ский, for the long tail.
const ROOTS: &[&str] = &[
    "Бел",
    "Сух",
    "Мох",
    "Дуб",
    "Ряб",
    "Лыс",
    "Глух",
    "Жар",
    "Кос",
    "Лис",
    "Мор",
    "Пуз",
    "Рог",
    "Сом",
    "Тул",
    "Ус",
    "Хват",
    "Чиж",
    "Шар",
    "Щеглов",
    "Бобр",
    "Волох",
    "Гул",
    "Дым",
    "Ерш",
    "Жур",
    "Зуб",
    "Кур",
    "Лап",
    "Мух",
    "Нос",
    "Пест",
    "Рус",
    "Сыч",
    "Трус",
    "Ухт",
    "Фил",
    "Хлеб",
    "Цыб",
    "Чуб",
    "Шум",
    "Юр",
    "Ян",
    "Бурак",
    "Вершин",
    "Горох",
    "Дудк",
    "Жмур",
    "Камыш",
    "Лапш",
    "Мерзл",
    "Новосёл",
    "Огур",
    "Перепёлк",
    "Ракит",
    "Сизов",
    "Тополь",
    "Угл",
    "Хмел",
    "Черемш",
    "Шишк",
    "Ястреб",
];

/// Syllables put before a root for rarer surnames (Бел + ух → Белух-ов).
const SYLLABLES: &[&str] = &[
    "Бе", "Во", "Га", "До", "Жу", "За", "Ка", "Ло", "Ма", "Не", "Па", "Ра", "Са", "То", "Фе", "Ха",
    "Че", "Ша", "Ба", "Ве", "Го", "Ду", "Ко", "Ле", "Му", "Но", "Пе", "Ро", "Су", "Ту",
];

const CITIES: &[(&str, &[&str])] = &[
    ("Москва", &["г. Москва", "Мск"]),
    ("Санкт-Петербург", &["СПб", "Питер", "г. Санкт-Петербург"]),
    ("Екатеринбург", &["Екб"]),
    ("Новосибирск", &[]),
    ("Казань", &[]),
    ("Нижний Новгород", &[]),
    ("Краснодар", &[]),
    ("Самара", &[]),
    ("Ростов-на-Дону", &[]),
    ("Уфа", &[]),
    ("Пермь", &[]),
    ("Воронеж", &[]),
    ("Красноярск", &[]),
    ("Челябинск", &[]),
    ("Омск", &[]),
    ("Волгоград", &[]),
    ("Тюмень", &[]),
    ("Иркутск", &[]),
    ("Калининград", &[]),
    ("Томск", &[]),
    ("Хабаровск", &[]),
    ("Владивосток", &[]),
    ("Ярославль", &[]),
    ("Архангельск", &[]),
    ("Мурманск", &[]),
    ("Сыктывкар", &[]),
    ("Петрозаводск", &[]),
    ("Псков", &[]),
    ("Тверь", &[]),
    ("Барнаул", &[]),
];

/// The feminine form of a masculine surname (`Иванов` → `Иванова`); unchanged where
/// the surname has none (`Шевчук`).
pub fn feminine_surname(m: &str) -> String {
    for (masc, fem) in [("ский", "ская"), ("цкий", "цкая"), ("ой", "ая")] {
        if let Some(stem) = m.strip_suffix(masc) {
            return format!("{stem}{fem}");
        }
    }
    for end in ["ов", "ев", "ёв", "ин", "ын"] {
        if m.ends_with(end) {
            return format!("{m}а");
        }
    }
    m.to_string()
}

fn patronymic(father: &str, gender: Gender) -> Option<String> {
    let (m, f) = ("ович", "овна");
    let (me, fe) = ("евич", "евна");
    let g = gender == Gender::Male;
    if let Some(stem) = father.strip_suffix("ий") {
        return Some(format!("{stem}{}", if g { "иевич" } else { "иевна" }));
    }
    if let Some(stem) = father.strip_suffix('й') {
        return Some(format!("{stem}{}", if g { me } else { fe }));
    }
    if let Some(stem) = father.strip_suffix('ь') {
        return Some(format!("{stem}{}", if g { me } else { fe }));
    }
    if father.ends_with('а') || father.ends_with('я') {
        return None;
    }
    let father = father.replace('ё', "е");
    Some(format!("{father}{}", if g { m } else { f }))
}

/// One generated person: the true values behind their records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub gender: Gender,
    /// Index into [`GIVEN_NAMES`].
    pub given: usize,
    /// The surname in the person's own gender form.
    pub surname: String,
    /// The masculine form of the surname (the same as `surname` for a man).
    pub masculine: String,
    pub patronymic: Option<String>,
    pub year: u16,
    pub month: u8,
    pub day: u8,
    /// Index into the generator's city table.
    pub city: usize,
}

/// How a record gives a part of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Absent,
    Initial,
    Written,
}

/// How much of the birth date a record gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    Absent,
    Year,
    MonthYear,
    Full,
}

/// What one record shows of its person, before typos, transliteration, short forms
/// and reformatting: the oracle's view (bench/linkage, `vigil-link-oracle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// Index into the persons of [`Truth`].
    pub entity: usize,
    /// The given name written (full or a short form) or as an initial.
    pub given: Part,
    /// A woman's surname written in its masculine form.
    pub masculine_form: bool,
    pub patronymic: Part,
    pub date: DatePart,
    pub city: bool,
    /// A typo in the given name (lost if the record gives an initial), the surname,
    /// or a wrong digit in the birth date.
    pub typo_given: bool,
    pub typo_surname: bool,
    pub wrong_digit: bool,
}

/// The records with what each shows and the persons behind them.
pub struct Truth {
    pub records: Vec<GeneratedRecord>,
    pub shown: Vec<Shown>,
    pub persons: Vec<Person>,
}

const SYSTEM_WEIGHTS: &[(System, u32)] = &[
    (System::Icao, 25),
    (System::Mvd, 15),
    (System::BgnPcgn, 8),
    (System::Informal, 27),
    (System::LibraryOfCongress, 5),
    (System::Gost779, 5),
    (System::French, 7),
    (System::German, 8),
];

fn pick_system(rng: &mut Rng) -> System {
    let total: u32 = SYSTEM_WEIGHTS.iter().map(|w| w.1).sum();
    let mut x = rng.below(total as usize) as u32;
    for &(s, w) in SYSTEM_WEIGHTS {
        if x < w {
            return s;
        }
        x -= w;
    }
    System::Icao
}

/// One typo: a dropped, doubled, swapped or replaced letter.
fn typo(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_string();
    }
    let i = 1 + rng.below(chars.len() - 1);
    let cyr = chars.iter().any(|c| crate::normalize::is_cyrillic(*c));
    let alphabet: Vec<char> = if cyr {
        "аеиоуыэюяклмнпрствдгзб".chars().collect()
    } else {
        "aeiouyklmnprstvdgzbh".chars().collect()
    };
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

/// What an initial of `s` can show, in every writing the generator uses: the Cyrillic
/// initial and the Latin one of each system (`Ю.`, `Yu.`, `I.`, ...). Two names with the
/// same key give initials drawn from the same distribution.
pub fn initial_key(s: &str) -> String {
    let mut key = initial_of(s);
    for sys in System::ALL {
        key.push_str(&initial_of(&to_latin(s, sys)));
    }
    key
}

fn initial_of(s: &str) -> String {
    let first: String = s.chars().take(1).collect();
    // Latin initials of digraph letters keep both letters: Yu., Zh.
    let two: String = s.chars().take(2).collect();
    if matches!(
        two.as_str(),
        "Yu" | "Ya" | "Zh" | "Kh" | "Ch" | "Sh" | "Iu" | "Ia"
    ) {
        format!("{two}.")
    } else {
        format!("{first}.")
    }
}

/// Generates about `records` records (exactly that many) from `seed`.
pub fn generate(records: usize, seed: u64) -> Vec<GeneratedRecord> {
    generate_with_truth(records, seed).records
}

/// The same records as [`generate`], with what each shows and the persons behind them.
pub fn generate_with_truth(records: usize, seed: u64) -> Truth {
    let mut rng = Rng::new(seed);
    let males: Vec<usize> = (0..GIVEN_NAMES.len())
        .filter(|&i| GIVEN_NAMES[i].gender == Gender::Male)
        .collect();
    let females: Vec<usize> = (0..GIVEN_NAMES.len())
        .filter(|&i| GIVEN_NAMES[i].gender == Gender::Female)
        .collect();
    let zm = zipf_table(males.len(), 0.5);
    let zf = zipf_table(females.len(), 0.5);
    let zs = zipf_table(SURNAMES.len(), 0.5);
    let zc = zipf_table(CITIES.len(), 1.1);
    let surname_of = |rng: &mut Rng| -> String {
        if rng.chance(0.7) {
            // The long tail: thousands of rarer surnames from syllables and roots.
            let root = ROOTS[rng.below(ROOTS.len())];
            let syllable = SYLLABLES[rng.below(SYLLABLES.len())];
            let suffix = ["ов", "ин", "ский", "ев", "енко", "ов", "ин"][rng.below(7)];
            let root = if rng.chance(0.8) {
                format!("{syllable}{}", root.to_lowercase())
            } else {
                root.to_string()
            };
            format!("{root}{suffix}")
        } else {
            SURNAMES[rng.zipf(SURNAMES.len(), &zs)].to_string()
        }
    };
    let mut out = Vec::with_capacity(records);
    let mut shown = Vec::with_capacity(records);
    let mut persons = Vec::new();
    let mut entity = 0usize;
    let mut pending_sibling: Option<Person> = None;
    while out.len() < records {
        let person = if let Some(p) = pending_sibling.take() {
            p
        } else {
            let gender = if rng.chance(0.55) {
                Gender::Male
            } else {
                Gender::Female
            };
            let given = match gender {
                Gender::Male => males[rng.zipf(males.len(), &zm)],
                Gender::Female => females[rng.zipf(females.len(), &zf)],
            };
            let father = GIVEN_NAMES[males[rng.zipf(males.len(), &zm)]].full;
            let masc = surname_of(&mut rng);
            let p = Person {
                gender,
                given,
                surname: if gender == Gender::Female {
                    feminine_surname(&masc)
                } else {
                    masc.clone()
                },
                masculine: masc.clone(),
                patronymic: patronymic(father, gender),
                year: 1950 + rng.below(58) as u16,
                month: 1 + rng.below(12) as u8,
                day: 1 + rng.below(28) as u8,
                city: rng.zipf(CITIES.len(), &zc),
            };
            // Siblings: same surname, patronymic and city, another given name.
            if rng.chance(0.08) {
                let g2 = if rng.chance(0.5) {
                    Gender::Male
                } else {
                    Gender::Female
                };
                let given2 = match g2 {
                    Gender::Male => males[rng.zipf(males.len(), &zm)],
                    Gender::Female => females[rng.zipf(females.len(), &zf)],
                };
                if given2 != given {
                    pending_sibling = Some(Person {
                        gender: g2,
                        given: given2,
                        surname: if g2 == Gender::Female {
                            feminine_surname(&masc)
                        } else {
                            masc.clone()
                        },
                        masculine: masc,
                        patronymic: patronymic(father, g2),
                        year: (p.year + rng.below(10) as u16).saturating_sub(5).max(1950),
                        month: 1 + rng.below(12) as u8,
                        day: 1 + rng.below(28) as u8,
                        city: p.city,
                    });
                }
            }
            p
        };
        let n = match rng.below(100) {
            0..45 => 1,
            45..70 => 2,
            70..85 => 3,
            85..95 => 4,
            _ => 5,
        };
        for _ in 0..n {
            if out.len() >= records {
                break;
            }
            let (rec, what) = report(&mut rng, &person, out.len(), entity);
            out.push(rec);
            shown.push(what);
        }
        persons.push(person);
        entity += 1;
    }
    // Reports arrive in no particular order.
    for i in (1..out.len()).rev() {
        let j = rng.below(i + 1);
        out.swap(i, j);
        shown.swap(i, j);
    }
    for (i, r) in out.iter_mut().enumerate() {
        r.rec_id = format!("r{i}");
    }
    Truth {
        records: out,
        shown,
        persons,
    }
}

fn report(rng: &mut Rng, p: &Person, index: usize, entity: usize) -> (GeneratedRecord, Shown) {
    let name = &GIVEN_NAMES[p.given];
    let mut given = if !name.short_forms.is_empty() && rng.chance(0.15) {
        let cyr: Vec<&str> = name
            .short_forms
            .iter()
            .copied()
            .filter(|s| s.chars().any(crate::normalize::is_cyrillic))
            .collect();
        if cyr.is_empty() {
            name.full.to_string()
        } else {
            cyr[rng.below(cyr.len())].to_string()
        }
    } else {
        name.full.to_string()
    };
    let mut surname = p.surname.clone();
    let masculine_form = p.gender == Gender::Female && rng.chance(0.08);
    if masculine_form {
        // The masculine form, as a relative or a news item might write it.
        for (fem, masc) in [("ская", "ский"), ("цкая", "цкий"), ("ая", "ой")] {
            if let Some(stem) = surname.strip_suffix(fem) {
                surname = format!("{stem}{masc}");
            }
        }
        if surname == p.surname
            && let Some(stem) = surname.strip_suffix('а')
        {
            surname = stem.to_string();
        }
    }
    let mut patronymic = match &p.patronymic {
        Some(pat) if !rng.chance(0.35) => pat.clone(),
        _ => String::new(),
    };
    let typo_given = rng.chance(0.05);
    if typo_given {
        given = typo(rng, &given);
    }
    let typo_surname = rng.chance(0.06);
    if typo_surname {
        surname = typo(rng, &surname);
    }
    if !patronymic.is_empty() && rng.chance(0.04) {
        patronymic = typo(rng, &patronymic);
    }
    let city_entry = CITIES[p.city];
    let mut city = if !city_entry.1.is_empty() && rng.chance(0.15) {
        city_entry.1[rng.below(city_entry.1.len())].to_string()
    } else {
        city_entry.0.to_string()
    };
    if rng.chance(0.2) {
        city.clear();
    }
    let latin_system = rng.chance(0.45).then(|| pick_system(rng));
    if let Some(sys) = latin_system {
        given = to_latin(&given, sys);
        surname = to_latin(&surname, sys);
        patronymic = to_latin(&patronymic, sys);
        city = to_latin(&city, sys);
    }
    // Initials come after transliteration so that Latin ones look like Latin ones.
    let initials = rng.chance(0.07);
    let shown_patronymic = match (patronymic.is_empty(), initials) {
        (true, _) => Part::Absent,
        (false, true) => Part::Initial,
        (false, false) => Part::Written,
    };
    if initials {
        // An initial stands for the full name, never for a short form.
        given = initial_of(&match latin_system {
            Some(sys) => to_latin(name.full, sys),
            None => name.full.to_string(),
        });
        if !patronymic.is_empty() {
            patronymic = initial_of(&patronymic);
        }
    }
    let (mut y, mut m, mut d) = (p.year, p.month, p.day);
    let wrong_digit = rng.chance(0.03);
    if wrong_digit {
        // One wrong digit.
        match rng.below(3) {
            0 => y = y - y % 10 + rng.below(10) as u16,
            1 => d = (d % 10) + 10 * ((d / 10 + 1) % 3),
            _ => m = 1 + (m % 12),
        }
        d = d.max(1);
    }
    if rng.chance(0.04) && d <= 12 {
        std::mem::swap(&mut m, &mut d);
    }
    let format = rng.below(100);
    let birth_date = match format {
        0..30 => format!("{y:04}-{m:02}-{d:02}"),
        30..68 => format!("{d:02}.{m:02}.{y:04}"),
        68..76 => format!("{y:04}{m:02}{d:02}"),
        76..80 => format!("{m:02}.{y:04}"),
        80..90 => format!("{y:04}"),
        _ => String::new(),
    };
    let shown = Shown {
        entity,
        given: if initials {
            Part::Initial
        } else {
            Part::Written
        },
        masculine_form,
        patronymic: shown_patronymic,
        date: match format {
            0..76 => DatePart::Full,
            76..80 => DatePart::MonthYear,
            80..90 => DatePart::Year,
            _ => DatePart::Absent,
        },
        city: !city.is_empty(),
        typo_given: typo_given && !initials,
        typo_surname,
        wrong_digit,
    };
    let record = GeneratedRecord {
        rec_id: format!("r{index}"),
        entity_id: format!("e{entity}"),
        given_name: given,
        surname,
        patronymic,
        birth_date,
        city,
    };
    (record, shown)
}

/// The same record prepared as a careful splink user would: Cyrillic written in
/// one Latin system (ICAO), dates as ISO where the day is known, the year apart.
pub fn latin_view(r: &GeneratedRecord) -> [String; 8] {
    let lat = |s: &str| crate::normalize::normalize(&to_latin(s, System::Icao));
    let date = crate::date::parse_date(&r.birth_date).ok().flatten();
    let iso = match date {
        Some(d) => match (d.month, d.day) {
            (Some(m), Some(dd)) => format!("{:04}-{m:02}-{dd:02}", d.year),
            _ => String::new(),
        },
        None => String::new(),
    };
    let year = date.map(|d| d.year.to_string()).unwrap_or_default();
    [
        r.rec_id.clone(),
        r.entity_id.clone(),
        lat(&r.given_name),
        lat(&r.surname),
        lat(&r.patronymic),
        iso,
        year,
        lat(&r.city),
    ]
}

pub const LATIN_HEADER: [&str; 8] = [
    "rec_id",
    "entity_id",
    "given_name",
    "surname",
    "patronymic",
    "birth_date",
    "birth_year",
    "city",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_records() {
        assert_eq!(generate(300, 7), generate(300, 7));
        assert_ne!(generate(300, 7), generate(300, 8));
        assert_eq!(generate(123, 1).len(), 123);
    }

    #[test]
    fn the_truth_matches_the_records() {
        let truth = generate_with_truth(2000, 5);
        assert_eq!(truth.records, generate(2000, 5));
        for (r, s) in truth.records.iter().zip(&truth.shown) {
            assert_eq!(r.entity_id, format!("e{}", s.entity));
            let p = &truth.persons[s.entity];
            assert_eq!(s.city, !r.city.is_empty());
            assert_eq!(s.patronymic == Part::Absent, r.patronymic.is_empty());
            assert_eq!(s.given == Part::Initial, r.given_name.ends_with('.'));
            assert_eq!(s.date == DatePart::Absent, r.birth_date.is_empty());
            if s.date == DatePart::Year {
                assert_eq!(r.birth_date.len(), 4);
            }
            if s.masculine_form {
                assert_eq!(p.gender, Gender::Female);
            }
            if p.gender == Gender::Male {
                assert_eq!(p.surname, p.masculine);
            }
        }
    }

    #[test]
    fn surname_forms_and_patronymics() {
        assert_eq!(feminine_surname("Иванов"), "Иванова");
        assert_eq!(feminine_surname("Ковальский"), "Ковальская");
        assert_eq!(feminine_surname("Толстой"), "Толстая");
        assert_eq!(feminine_surname("Шевчук"), "Шевчук");
        assert_eq!(
            patronymic("Сергей", Gender::Female).as_deref(),
            Some("Сергеевна")
        );
        assert_eq!(
            patronymic("Дмитрий", Gender::Male).as_deref(),
            Some("Дмитриевич")
        );
        assert_eq!(
            patronymic("Пётр", Gender::Male).as_deref(),
            Some("Петрович")
        );
        assert_eq!(patronymic("Никита", Gender::Male), None);
    }
}

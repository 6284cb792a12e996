//! Russian given names and their short forms, surname gender forms, patronymics,
//! and the parsing of a full name written in any order.
//!
//! The given-name table is the vigil project's own list, written for this crate
//! from common knowledge of Russian naming (AGPL-3.0-or-later like the rest of
//! vigil). Each line is a full name, its gender and the short and diminutive forms
//! people use for it in reports.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::translit::{word_key, word_keys};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Male,
    Female,
}

/// One full given name and its short forms, all in Cyrillic.
#[derive(Debug)]
pub struct GivenName {
    pub full: &'static str,
    pub gender: Gender,
    pub short_forms: &'static [&'static str],
}

macro_rules! names {
    ($($g:ident $full:literal [$($short:literal),*]);* $(;)?) => {
        &[$(GivenName { full: $full, gender: Gender::$g, short_forms: &[$($short),*] }),*]
    };
}

/// The project's own table of Russian given names and their short forms.
pub static GIVEN_NAMES: &[GivenName] = names![
    Male "Александр" ["Саша", "Шура", "Саня", "Санёк", "Сашка", "Алекс", "Alexander", "Alexandre"];
    Male "Алексей" ["Алёша", "Лёша", "Лёха", "Алекс", "Alexei", "Alexey"];
    Male "Анатолий" ["Толя", "Толик"];
    Male "Андрей" ["Андрюша", "Андрюха", "Andrew"];
    Male "Антон" ["Антоша", "Тоша"];
    Male "Аркадий" ["Аркаша"];
    Male "Арсений" ["Арсен", "Сеня"];
    Male "Артём" ["Тёма", "Артёмка", "Artem"];
    Male "Борис" ["Боря"];
    Male "Вадим" ["Вадик", "Дима"];
    Male "Валентин" ["Валя"];
    Male "Валерий" ["Валера"];
    Male "Василий" ["Вася"];
    Male "Виктор" ["Витя"];
    Male "Виталий" ["Виталик", "Витя"];
    Male "Владимир" ["Володя", "Вова", "Вовка"];
    Male "Владислав" ["Влад", "Владик", "Слава"];
    Male "Всеволод" ["Сева"];
    Male "Вячеслав" ["Слава", "Славик"];
    Male "Геннадий" ["Гена"];
    Male "Георгий" ["Жора", "Гоша", "Гога"];
    Male "Глеб" [];
    Male "Григорий" ["Гриша"];
    Male "Даниил" ["Даня", "Данила", "Данил"];
    Male "Денис" ["Дениска"];
    Male "Дмитрий" ["Дима", "Митя", "Димка", "Димон"];
    Male "Евгений" ["Женя", "Евгеша"];
    Male "Егор" ["Егорка", "Гоша"];
    Male "Ефим" ["Фима"];
    Male "Захар" ["Захарка"];
    Male "Иван" ["Ваня", "Ванька", "Ivan"];
    Male "Игорь" ["Игорёк"];
    Male "Илья" ["Илюша", "Илюха"];
    Male "Кирилл" ["Киря", "Кирюша"];
    Male "Константин" ["Костя", "Костик"];
    Male "Лев" ["Лёва"];
    Male "Леонид" ["Лёня"];
    Male "Максим" ["Макс", "Максимка"];
    Male "Марк" [];
    Male "Матвей" ["Мотя", "Матвейка"];
    Male "Михаил" ["Миша", "Мишка", "Michael", "Mikhael"];
    Male "Никита" ["Никитка"];
    Male "Николай" ["Коля", "Николаша", "Nicolas"];
    Male "Олег" ["Олежка"];
    Male "Павел" ["Паша", "Павлик", "Paul"];
    Male "Пётр" ["Петя", "Peter"];
    Male "Роман" ["Рома"];
    Male "Руслан" ["Руся"];
    Male "Семён" ["Сеня"];
    Male "Сергей" ["Серёжа", "Серёга", "Серж"];
    Male "Станислав" ["Стас", "Слава"];
    Male "Степан" ["Стёпа"];
    Male "Тимофей" ["Тима", "Тимоша"];
    Male "Тимур" ["Тима"];
    Male "Фёдор" ["Федя"];
    Male "Эдуард" ["Эдик"];
    Male "Юрий" ["Юра", "Юрик"];
    Male "Ярослав" ["Ярик", "Слава"];
    Male "Ренат" [];
    Male "Рустам" [];
    Male "Ильдар" [];
    Male "Айдар" [];
    Female "Александра" ["Саша", "Шура", "Сашенька"];
    Female "Алина" ["Аля"];
    Female "Алиса" [];
    Female "Алла" [];
    Female "Алёна" [];
    Female "Анастасия" ["Настя", "Ася", "Стася", "Anastasia"];
    Female "Анна" ["Аня", "Анюта", "Нюра", "Ann", "Anne"];
    Female "Арина" [];
    Female "Валентина" ["Валя"];
    Female "Валерия" ["Лера"];
    Female "Вера" [];
    Female "Виктория" ["Вика", "Victoria"];
    Female "Галина" ["Галя"];
    Female "Дарья" ["Даша", "Дария"];
    Female "Диана" [];
    Female "Евгения" ["Женя"];
    Female "Екатерина" ["Катя", "Катюша", "Катерина", "Catherine"];
    Female "Елена" ["Лена", "Леночка", "Helen"];
    Female "Елизавета" ["Лиза", "Elizabeth"];
    Female "Жанна" [];
    Female "Зоя" [];
    Female "Ирина" ["Ира", "Ириша"];
    Female "Карина" [];
    Female "Кристина" ["Кристя"];
    Female "Ксения" ["Ксюша"];
    Female "Лариса" ["Лара"];
    Female "Любовь" ["Люба"];
    Female "Людмила" ["Люда", "Мила"];
    Female "Маргарита" ["Рита"];
    Female "Марина" [];
    Female "Мария" ["Маша", "Маня", "Marie", "Mary"];
    Female "Надежда" ["Надя"];
    Female "Наталья" ["Наташа", "Наталия", "Natalie"];
    Female "Нина" [];
    Female "Ольга" ["Оля", "Olga"];
    Female "Полина" ["Поля"];
    Female "Светлана" ["Света"];
    Female "Софья" ["Соня", "София", "Sophia"];
    Female "Тамара" ["Тома"];
    Female "Татьяна" ["Таня"];
    Female "Ульяна" ["Уля"];
    Female "Юлия" ["Юля", "Julie"];
    Female "Яна" [];
    Female "Эльвира" [];
    Female "Лилия" ["Лиля"];
];

/// Index from any form's phonetic key to the full names it can stand for.
struct NameIndex {
    by_key: HashMap<String, Vec<u16>>,
}

fn index() -> &'static NameIndex {
    static INDEX: OnceLock<NameIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut by_key: HashMap<String, Vec<u16>> = HashMap::new();
        for (id, name) in GIVEN_NAMES.iter().enumerate() {
            let id = id as u16;
            let forms = std::iter::once(name.full).chain(name.short_forms.iter().copied());
            for form in forms {
                let norm = crate::normalize::normalize(form);
                for key in word_keys(&norm) {
                    let ids = by_key.entry(key).or_default();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        NameIndex { by_key }
    })
}

/// The full given names (indexes into [`GIVEN_NAMES`]) that a phonetic key can
/// stand for: `sawa` (Саша) → Александр and Александра.
pub fn canonical_given(key: &str) -> &'static [u16] {
    index().by_key.get(key).map(Vec::as_slice).unwrap_or(&[])
}

/// True when a normalised word is a known given name or short form.
pub fn is_known_given(word: &str) -> bool {
    word_keys(word)
        .iter()
        .any(|k| !canonical_given(k).is_empty())
}

/// Brings a surname key to its masculine form, so that Иванова and Иванов,
/// Kovalskaya and Kovalsky, Толстая and Толстой share one key.
pub fn surname_base(key: &str) -> String {
    const ENDINGS: &[(&str, &str)] = &[
        ("skaia", "ski"),
        ("ckaia", "cki"),
        ("zkaia", "zki"),
        ("ska", "ski"),
        ("ova", "ov"),
        ("eva", "ev"),
        ("ina", "in"),
        ("ina", "in"),
        ("aia", "oi"),
        ("kii", "ki"),
    ];
    for (fem, masc) in ENDINGS {
        if key.len() > fem.len() + 2
            && let Some(stem) = key.strip_suffix(fem)
        {
            return format!("{stem}{masc}");
        }
    }
    // The masculine -ой is keyed `oi`, like the feminine -ая after the rewrite above.
    key.to_string()
}

/// True when a surname key looks feminine (Иванова, Kovalskaya).
pub fn surname_is_feminine(key: &str) -> bool {
    ["ova", "eva", "ina", "aia"]
        .iter()
        .any(|e| key.len() > e.len() + 2 && key.ends_with(e))
}

/// Brings a patronymic key to a gender-free form: Сергеевич and Сергеевна both
/// become `sergeviq`.
pub fn patronymic_base(key: &str) -> String {
    for fem in ["ovna", "evna", "vna"] {
        if let Some(stem) = key.strip_suffix(fem) {
            let masc = &fem[..fem.len() - 2];
            return format!("{stem}{masc}iq");
        }
    }
    if let Some(stem) = key.strip_suffix("iqna") {
        return format!("{stem}iq");
    }
    key.to_string()
}

/// True when a normalised word ends like a patronymic.
pub fn looks_like_patronymic(word: &str) -> bool {
    let key = word_key(word);
    key == "iliq"
        || key.len() > 5
            && ["oviq", "eviq", "ovna", "evna", "iqna", "iniq", "viq"]
                .iter()
                .any(|e| key.ends_with(e))
}

/// A full name split into its parts. Words that cannot be placed stay in `rest`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NameParts {
    pub given: Option<String>,
    pub surname: Option<String>,
    pub patronymic: Option<String>,
}

/// True for an initial such as `Ю.`, `Yu.`, `A` (already normalised, so the dot
/// is gone): one letter, or a Latin digraph that stands for one Cyrillic letter.
pub fn is_initial(word: &str) -> bool {
    let n = word.chars().count();
    n == 1
        || (n == 2
            && matches!(
                word,
                "yu" | "ya" | "ye" | "yo" | "zh" | "kh" | "ch" | "sh" | "ts" | "iu" | "ia"
            ))
}

/// Splits a normalised full name written in any common order: "фамилия имя
/// отчество", "имя отчество фамилия", "имя фамилия", with or without initials.
pub fn split_full_name(norm: &str) -> NameParts {
    let words: Vec<&str> = crate::normalize::words(norm).collect();
    let mut parts = NameParts::default();
    if words.is_empty() {
        return parts;
    }
    let mut used = vec![false; words.len()];
    if let Some(p) = words
        .iter()
        .rposition(|w| !is_initial(w) && looks_like_patronymic(w))
    {
        parts.patronymic = Some(words[p].to_string());
        used[p] = true;
        // The given name stands right before the patronymic in both common orders.
        if p > 0 && !used[p - 1] {
            parts.given = Some(words[p - 1].to_string());
            used[p - 1] = true;
        }
    }
    if parts.given.is_none() {
        let pos = words
            .iter()
            .enumerate()
            .position(|(i, w)| !used[i] && !is_initial(w) && is_known_given(w))
            .or_else(|| {
                words
                    .iter()
                    .enumerate()
                    .position(|(i, w)| !used[i] && is_initial(w))
            });
        if let Some(g) = pos {
            parts.given = Some(words[g].to_string());
            used[g] = true;
        }
    }
    let rest: Vec<&str> = words
        .iter()
        .enumerate()
        .filter(|(i, _)| !used[*i])
        .map(|(_, w)| *w)
        .collect();
    match rest.as_slice() {
        [] => {}
        [one] if parts.given.is_none() && words.len() == 1 => {
            parts.surname = Some((*one).to_string());
        }
        [first, second] if parts.given.is_none() => {
            // Neither word is a known given name: assume "given surname".
            parts.given = Some((*first).to_string());
            parts.surname = Some((*second).to_string());
        }
        [first, second] if parts.patronymic.is_none() && is_initial(second) => {
            parts.surname = Some((*first).to_string());
            parts.patronymic = Some((*second).to_string());
        }
        many => parts.surname = Some(many.join(" ")),
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;

    fn key(s: &str) -> String {
        word_key(&normalize(s))
    }

    fn same_person_name(a: &str, b: &str) -> bool {
        let ka = word_keys(&normalize(a));
        let kb = word_keys(&normalize(b));
        ka.iter().any(|x| {
            kb.iter().any(|y| {
                canonical_given(x)
                    .iter()
                    .any(|id| canonical_given(y).contains(id))
            })
        })
    }

    #[test]
    fn diminutives_known_answers() {
        let pairs = [
            ("Саша", "Александр"),
            ("Sasha", "Aleksandr"),
            ("Шура", "Александра"),
            ("Женя", "Евгения"),
            ("Zhenya", "Evgeniy"),
            ("Дима", "Дмитрий"),
            ("Dima", "Dmitry"),
            ("Катя", "Екатерина"),
            ("Katia", "Ekaterina"),
            ("Наташа", "Наталья"),
            ("Natasha", "Natalia"),
            ("Лёша", "Алексей"),
            ("Lyosha", "Aleksei"),
            ("Юля", "Iuliia"),
            ("Yulya", "Юлия"),
            ("Вова", "Владимир"),
            ("Настя", "Anastasiya"),
            ("Маша", "Мария"),
            ("Alexander", "Александр"),
        ];
        for (short, full) in pairs {
            assert!(same_person_name(short, full), "{short} ~ {full}");
        }
        assert!(!same_person_name("Саша", "Дмитрий"));
        assert!(!same_person_name("Маша", "Марина"));
    }

    #[test]
    fn surname_gender_forms_known_answers() {
        let pairs = [
            ("Иванова", "Иванов"),
            ("Ivanova", "Иванов"),
            ("Соловьёва", "Solovyev"),
            ("Пушкина", "Pushkin"),
            ("Ковальская", "Kovalsky"),
            ("Kovalskaya", "Kovalskiy"),
            ("Толстая", "Толстой"),
            ("Достоевская", "Dostoevskii"),
        ];
        for (a, b) in pairs {
            assert_eq!(surname_base(&key(a)), surname_base(&key(b)), "{a} ~ {b}");
        }
        assert_ne!(surname_base(&key("Иванова")), surname_base(&key("Петров")));
        assert!(surname_is_feminine(&key("Иванова")));
        assert!(!surname_is_feminine(&key("Иванов")));
    }

    #[test]
    fn patronymic_gender_forms() {
        assert_eq!(
            patronymic_base(&key("Сергеевна")),
            patronymic_base(&key("Sergeyevich"))
        );
        assert_eq!(
            patronymic_base(&key("Ивановна")),
            patronymic_base(&key("Ivanovich"))
        );
        assert!(looks_like_patronymic(&normalize("Петровна")));
        assert!(looks_like_patronymic(&normalize("Ilyich")));
        assert!(!looks_like_patronymic(&normalize("Петров")));
    }

    #[test]
    fn splits_full_names_in_any_order() {
        let p = split_full_name(&normalize("Иванова Юлия Сергеевна"));
        assert_eq!(p.surname.as_deref(), Some("иванова"));
        assert_eq!(p.given.as_deref(), Some("юлия"));
        assert_eq!(p.patronymic.as_deref(), Some("сергеевна"));
        let p = split_full_name(&normalize("Yulia Sergeevna Ivanova"));
        assert_eq!(p.surname.as_deref(), Some("ivanova"));
        assert_eq!(p.given.as_deref(), Some("yulia"));
        let p = split_full_name(&normalize("Petrov Dmitry"));
        assert_eq!(p.surname.as_deref(), Some("petrov"));
        assert_eq!(p.given.as_deref(), Some("dmitry"));
        let p = split_full_name(&normalize("Петров Д. А."));
        assert_eq!(p.surname.as_deref(), Some("петров"));
        assert_eq!(p.given.as_deref(), Some("д"));
        assert_eq!(p.patronymic.as_deref(), Some("а"));
    }
}

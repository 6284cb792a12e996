//! One reporter's conversation with the bot: the same questions as the form,
//! one at a time, as a state machine with no I/O. It takes what the reporter
//! sent (a text or a button's data) and says what to answer; sealing and
//! sending happen in `mod.rs`.

use std::time::Instant;

use vigil_core::report::{MAX_CONTACT_CHARS, MAX_FIELD_CHARS, MAX_TEXT_CHARS};
use vigil_core::{Consent, Happened, Lang, ReportDetails, Whom};
use zeroize::Zeroize;

use super::texts::{BotTexts, bot_texts, escape};
use crate::regions::{Region, regions};
use crate::texts::texts;

/// The questions, in the order they are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Happened,
    Whom,
    Names,
    When,
    Region,
    City,
    Place,
    Station,
    Contact,
    Consent,
    Text,
    /// More words for the account, asked from the summary.
    MoreText,
    Confirm,
}

const ORDER: [Step; 12] = [
    Step::Happened,
    Step::Whom,
    Step::Names,
    Step::When,
    Step::Region,
    Step::City,
    Step::Place,
    Step::Station,
    Step::Contact,
    Step::Consent,
    Step::Text,
    Step::Confirm,
];

/// Regions offered as buttons; any other is typed.
const QUICK_REGIONS: [&str; 4] = ["RU-MOW", "RU-SPE", "RU-MOS", "RU-LEN"];

/// How many matching regions are offered as buttons at most.
const MAX_REGION_CHOICES: usize = 8;

/// How much of the account the summary shows (a Telegram message holds 4096).
const SUMMARY_TEXT_CHARS: usize = 1000;

impl Step {
    fn code(self) -> &'static str {
        match self {
            Step::Happened => "happened",
            Step::Whom => "whom",
            Step::Names => "names",
            Step::When => "when",
            Step::Region => "region",
            Step::City => "city",
            Step::Place => "place",
            Step::Station => "station",
            Step::Contact => "contact",
            Step::Consent => "consent",
            Step::Text => "text",
            Step::MoreText => "more",
            Step::Confirm => "confirm",
        }
    }

    fn next(self) -> Step {
        match self {
            Step::MoreText => Step::Confirm,
            s => ORDER
                .iter()
                .position(|o| *o == s)
                .and_then(|i| ORDER.get(i + 1))
                .copied()
                .unwrap_or(Step::Confirm),
        }
    }

    fn previous(self) -> Step {
        match self {
            Step::MoreText => Step::Confirm,
            s => ORDER
                .iter()
                .position(|o| *o == s)
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| ORDER.get(i))
                .copied()
                .unwrap_or(Step::Happened),
        }
    }

    /// Every question but the account and the confirmation can be skipped.
    fn optional(self) -> bool {
        !matches!(self, Step::Text | Step::MoreText | Step::Confirm)
    }
}

/// An inline keyboard button: its label and the data Telegram sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Button {
    pub label: String,
    pub data: String,
}

fn button(label: &str, data: impl Into<String>) -> Button {
    Button {
        label: label.to_owned(),
        data: data.into(),
    }
}

/// One message to send back: HTML text and an inline keyboard (rows of buttons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub text: String,
    pub keyboard: Vec<Vec<Button>>,
}

impl Drop for Reply {
    // A summary carries the reporter's words.
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

/// What the reporter sent: a typed text or a pressed button's data.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input<'a> {
    Text(&'a str),
    Button(&'a str),
}

/// What to do after an input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Reply(Vec<Reply>),
    /// The reporter pressed "Send" on the summary: seal the report.
    Submit,
}

/// The answers so far. Held in memory only; wiped when dropped.
pub(crate) struct Conversation {
    pub lang: Lang,
    pub step: Step,
    pub details: ReportDetails,
    pub contact: Option<String>,
    pub text: String,
    /// When the reporter last wrote; the conversation expires after that.
    pub last_seen: Instant,
}

impl Drop for Conversation {
    fn drop(&mut self) {
        // `details` wipes itself.
        self.contact.zeroize();
        self.text.zeroize();
    }
}

impl Conversation {
    pub fn new(now: Instant) -> Self {
        Conversation {
            lang: Lang::Ru,
            step: Step::Happened,
            details: ReportDetails::default(),
            contact: None,
            text: String::new(),
            last_seen: now,
        }
    }

    /// Bytes of the reporter's words held, for the memory budget.
    pub fn held_bytes(&self) -> usize {
        let d = &self.details;
        [
            &d.names,
            &d.when,
            &d.region,
            &d.city,
            &d.place,
            &d.station,
            &self.contact,
        ]
        .iter()
        .map(|f| f.as_ref().map_or(0, String::len))
        .sum::<usize>()
            + self.text.len()
    }

    fn t(&self) -> BotTexts {
        bot_texts(self.lang)
    }

    /// The first messages: the safety guidance (with the language switch),
    /// then the first question.
    pub fn greeting(&self, restarted: bool) -> Vec<Reply> {
        let t = self.t();
        let mut text = String::new();
        if restarted {
            text.push_str(t.restarted);
            text.push_str("\n\n");
        }
        text.push_str(t.safety);
        vec![
            Reply {
                text,
                keyboard: vec![vec![button(t.other_lang, "lang")]],
            },
            self.ask(),
        ]
    }

    /// Handles one input and says what to answer.
    pub fn handle(&mut self, input: Input<'_>) -> Outcome {
        let t = self.t();
        match input {
            Input::Text("/lang") | Input::Button("lang") => {
                self.lang = match self.lang {
                    Lang::Ru => Lang::En,
                    Lang::En => Lang::Ru,
                };
                return Outcome::Reply(if self.step == Step::Happened {
                    self.greeting(false)
                } else {
                    vec![self.ask()]
                });
            }
            Input::Text("/help") => return Outcome::Reply(self.greeting(false)),
            Input::Text("/back") => return self.go(self.step.previous()),
            Input::Text("/skip") if self.step.optional() => {
                self.clear();
                return self.go(self.step.next());
            }
            Input::Text("/skip") => return self.again(None),
            Input::Button(data) => {
                if let Some(step) = data.strip_prefix("back:") {
                    if step == self.step.code() {
                        return self.go(self.step.previous());
                    }
                    return self.again(None);
                }
                if let Some(step) = data.strip_prefix("skip:") {
                    if step == self.step.code() && self.step.optional() {
                        self.clear();
                        return self.go(self.step.next());
                    }
                    return self.again(None);
                }
            }
            Input::Text(_) => {}
        }
        match (self.step, input) {
            (Step::Happened, Input::Button(data)) => {
                match data.strip_prefix("h:").and_then(Happened::from_code) {
                    Some(h) => {
                        self.details.happened = Some(h);
                        self.go(Step::Whom)
                    }
                    None => self.again(None),
                }
            }
            (Step::Whom, Input::Button(data)) => {
                match data.strip_prefix("w:").and_then(Whom::from_code) {
                    Some(w) => {
                        self.details.whom = Some(w);
                        self.go(Step::Names)
                    }
                    None => self.again(None),
                }
            }
            (Step::Consent, Input::Button(data)) => {
                match data.strip_prefix("c:").and_then(Consent::from_code) {
                    Some(c) => {
                        self.details.consent = Some(c);
                        self.go(Step::Text)
                    }
                    None => self.again(None),
                }
            }
            (Step::Region, Input::Button(data)) => {
                match data
                    .strip_prefix("r:")
                    .and_then(|code| regions().iter().find(|r| r.code == code))
                {
                    Some(r) => {
                        self.details.region = Some(r.code.clone());
                        self.go(Step::City)
                    }
                    None => self.again(None),
                }
            }
            (Step::Region, Input::Text(typed)) => self.typed_region(typed),
            (
                Step::Names | Step::When | Step::City | Step::Place | Step::Station,
                Input::Text(typed),
            ) => {
                if typed.chars().count() > MAX_FIELD_CHARS {
                    return self.again(Some(too_long(&t, MAX_FIELD_CHARS)));
                }
                let value = Some(typed.trim().to_owned()).filter(|v| !v.is_empty());
                let field = match self.step {
                    Step::Names => &mut self.details.names,
                    Step::When => &mut self.details.when,
                    Step::City => &mut self.details.city,
                    Step::Place => &mut self.details.place,
                    _ => &mut self.details.station,
                };
                field.zeroize();
                *field = value;
                self.go(self.step.next())
            }
            (Step::Contact, Input::Text(typed)) => {
                if typed.chars().count() > MAX_CONTACT_CHARS {
                    return self.again(Some(too_long(&t, MAX_CONTACT_CHARS)));
                }
                self.contact.zeroize();
                self.contact = Some(typed.trim().to_owned()).filter(|v| !v.is_empty());
                self.go(Step::Consent)
            }
            (Step::Text, Input::Text(typed)) => {
                if typed.trim().is_empty() {
                    return self.again(Some(t.text_required.to_owned()));
                }
                if typed.chars().count() > MAX_TEXT_CHARS {
                    return self.again(Some(too_long(&t, MAX_TEXT_CHARS)));
                }
                self.text.zeroize();
                self.text = typed.trim().to_owned();
                self.go(Step::Confirm)
            }
            (Step::MoreText, Input::Text(typed)) => {
                let more = typed.trim();
                if self.text.chars().count() + 2 + more.chars().count() > MAX_TEXT_CHARS {
                    return self.again(Some(too_long(&t, MAX_TEXT_CHARS)));
                }
                if !more.is_empty() {
                    // Grown in a new buffer so the old one can be wiped.
                    let mut joined = String::with_capacity(self.text.len() + 2 + more.len());
                    joined.push_str(&self.text);
                    joined.push_str("\n\n");
                    joined.push_str(more);
                    self.text.zeroize();
                    self.text = joined;
                }
                self.go(Step::Confirm)
            }
            (Step::Confirm, Input::Button("send")) => Outcome::Submit,
            (Step::Confirm, Input::Button("more")) => self.go(Step::MoreText),
            (Step::Happened | Step::Whom | Step::Consent | Step::Confirm, Input::Text(_)) => {
                self.again(Some(t.use_buttons.to_owned()))
            }
            // A button of an earlier question, pressed again: ask the current one.
            _ => self.again(None),
        }
    }

    /// Forgets the current question's answer (on "skip").
    fn clear(&mut self) {
        match self.step {
            Step::Happened => self.details.happened = None,
            Step::Whom => self.details.whom = None,
            Step::Consent => self.details.consent = None,
            Step::Names => self.details.names.zeroize(),
            Step::When => self.details.when.zeroize(),
            Step::Region => self.details.region.zeroize(),
            Step::City => self.details.city.zeroize(),
            Step::Place => self.details.place.zeroize(),
            Step::Station => self.details.station.zeroize(),
            Step::Contact => self.contact.zeroize(),
            Step::Text | Step::MoreText | Step::Confirm => {}
        }
        // `zeroize` on an Option wipes and leaves None.
    }

    fn go(&mut self, step: Step) -> Outcome {
        self.step = step;
        Outcome::Reply(vec![self.ask()])
    }

    /// Asks the current question again, after a note if there is one.
    fn again(&self, note: Option<String>) -> Outcome {
        let mut replies = Vec::new();
        if let Some(text) = note {
            replies.push(Reply {
                text,
                keyboard: Vec::new(),
            });
        }
        replies.push(self.ask());
        Outcome::Reply(replies)
    }

    fn typed_region(&mut self, typed: &str) -> Outcome {
        let t = self.t();
        let found = match_regions(typed);
        match found.as_slice() {
            [one] => {
                self.details.region = Some(one.code.clone());
                self.go(Step::City)
            }
            [] => self.again(Some(t.region_none.to_owned())),
            many if many.len() <= MAX_REGION_CHOICES => {
                let mut keyboard: Vec<Vec<Button>> = many
                    .iter()
                    .map(|r| vec![button(r.name(self.lang), format!("r:{}", r.code))])
                    .collect();
                keyboard.push(self.nav_row());
                Outcome::Reply(vec![Reply {
                    text: t.region_many.to_owned(),
                    keyboard,
                }])
            }
            _ => self.again(Some(t.region_vague.to_owned())),
        }
    }

    /// "Back" and "Skip" for the current question.
    fn nav_row(&self) -> Vec<Button> {
        let t = self.t();
        let code = self.step.code();
        let mut row = Vec::new();
        if self.step != Step::Happened {
            row.push(button(t.back, format!("back:{code}")));
        }
        if self.step.optional() {
            row.push(button(t.skip, format!("skip:{code}")));
        }
        row
    }

    /// The current question, with its buttons.
    pub fn ask(&self) -> Reply {
        let t = self.t();
        let lang = self.lang;
        let choices = |pairs: Vec<(&'static str, String)>| -> Vec<Vec<Button>> {
            pairs
                .chunks(2)
                .map(|row| row.iter().map(|(l, d)| button(l, d.clone())).collect())
                .collect()
        };
        let (text, mut keyboard): (&str, Vec<Vec<Button>>) = match self.step {
            Step::Happened => (
                t.ask_happened,
                choices(
                    Happened::ALL
                        .iter()
                        .map(|h| (h.label(lang), format!("h:{}", h.code())))
                        .collect(),
                ),
            ),
            Step::Whom => (
                t.ask_whom,
                choices(
                    Whom::ALL
                        .iter()
                        .map(|w| (w.label(lang), format!("w:{}", w.code())))
                        .collect(),
                ),
            ),
            Step::Consent => (
                t.ask_consent,
                Consent::ALL
                    .iter()
                    .map(|c| vec![button(c.label(lang), format!("c:{}", c.code()))])
                    .collect(),
            ),
            Step::Region => (
                t.ask_region,
                choices(
                    QUICK_REGIONS
                        .iter()
                        .filter_map(|code| regions().iter().find(|r| r.code == *code))
                        .map(|r| (r.name(lang), format!("r:{}", r.code)))
                        .collect(),
                ),
            ),
            Step::Names => (t.ask_names, Vec::new()),
            Step::When => (t.ask_when, Vec::new()),
            Step::City => (t.ask_city, Vec::new()),
            Step::Place => (t.ask_place, Vec::new()),
            Step::Station => (t.ask_station, Vec::new()),
            Step::Contact => (t.ask_contact, Vec::new()),
            Step::Text => (t.ask_text, Vec::new()),
            Step::MoreText => (t.ask_more_text, Vec::new()),
            Step::Confirm => return self.summary(),
        };
        let nav = self.nav_row();
        if !nav.is_empty() {
            keyboard.push(nav);
        }
        if self.step == Step::Happened {
            keyboard.push(vec![button(t.other_lang, "lang")]);
        }
        Reply {
            text: text.to_owned(),
            keyboard,
        }
    }

    /// Everything answered, for the reporter to check before sending.
    fn summary(&self) -> Reply {
        let t = self.t();
        let f = texts(self.lang);
        let d = &self.details;
        let lang = self.lang;
        let region = d
            .region
            .as_deref()
            .and_then(|code| regions().iter().find(|r| r.code == code))
            .map(|r| r.name(lang).to_owned());
        let lines: [(&str, Option<String>); 10] = [
            (
                f.happened_label,
                d.happened.map(|h| h.label(lang).to_owned()),
            ),
            (f.whom_label, d.whom.map(|w| w.label(lang).to_owned())),
            (f.names_label, d.names.clone()),
            (f.when_label, d.when.clone()),
            (f.region_label, region),
            (f.city_label, d.city.clone()),
            (f.place_label, d.place.clone()),
            (f.station_label, d.station.clone()),
            (t.contact_label, self.contact.clone()),
            (f.consent_label, d.consent.map(|c| c.label(lang).to_owned())),
        ];
        let mut text = format!("<b>{}</b>\n", t.summary_title);
        for (label, value) in lines {
            let mut value = value;
            let shown = value.as_deref().map(escape);
            text.push_str(&format!(
                "{}: {}\n",
                escape(label),
                shown.as_deref().unwrap_or(t.not_given)
            ));
            value.zeroize();
        }
        let chars = self.text.chars().count();
        let shown: String = self.text.chars().take(SUMMARY_TEXT_CHARS).collect();
        text.push_str(&format!("\n<b>{}</b>:\n{}", t.text_label, escape(&shown)));
        if chars > SUMMARY_TEXT_CHARS {
            text.push_str(&format!("…\n<i>{}</i>", t.text_shortened));
        }
        text.push_str(&format!("\n\n{}", t.summary_ask));
        Reply {
            text,
            keyboard: vec![
                vec![button(t.send, "send")],
                vec![button(t.add_text, "more"), button(t.back, "back:confirm")],
                vec![button(t.cancel, "cancel")],
            ],
        }
    }
}

fn too_long(t: &BotTexts, max: usize) -> String {
    t.too_long.replace("{max}", &max.to_string())
}

/// Lower case, "ё" as "е", every run of other characters one space.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = if c == 'ё' { 'е' } else { c };
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim().to_owned()
}

/// The regions a typed name means: those it names exactly (by a name, a
/// spelling or the code), else those whose names contain it.
pub(crate) fn match_regions(typed: &str) -> Vec<&'static Region> {
    let q = normalise(typed);
    if q.is_empty() {
        return Vec::new();
    }
    let names = |r: &Region| {
        let mut n = vec![normalise(&r.ru), normalise(&r.en), normalise(&r.code)];
        n.extend(r.spellings.iter().map(|s| normalise(s)));
        n
    };
    let exact: Vec<&Region> = regions().iter().filter(|r| names(r).contains(&q)).collect();
    if !exact.is_empty() || q.chars().count() < 3 {
        return exact;
    }
    regions()
        .iter()
        .filter(|r| names(r).iter().any(|n| n.contains(&q)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: &mut Conversation, data: &str) -> Outcome {
        c.handle(Input::Button(data))
    }

    fn say(c: &mut Conversation, text: &str) -> Outcome {
        c.handle(Input::Text(text))
    }

    #[test]
    fn the_whole_way_through_fills_every_answer() {
        let mut c = Conversation::new(Instant::now());
        press(&mut c, "h:detained_now");
        press(&mut c, "w:someone_else");
        say(&mut c, "Иван Петров");
        say(&mut c, "сегодня в 14:00");
        say(&mut c, "Татарстан");
        assert_eq!(c.details.region.as_deref(), Some("RU-TA"));
        say(&mut c, "Казань");
        say(&mut c, "ул. Баумана");
        say(&mut c, "ОП №9");
        say(&mut c, "@friend");
        press(&mut c, "c:counts");
        let Outcome::Reply(r) = say(&mut c, "Задержали на пикете") else {
            panic!("a summary")
        };
        assert_eq!(c.step, Step::Confirm);
        assert!(r[0].text.contains("Казань") && r[0].text.contains("Республика Татарстан"));
        assert_eq!(press(&mut c, "send"), Outcome::Submit);
        assert_eq!(c.details.happened, Some(Happened::DetainedNow));
        assert_eq!(c.details.whom, Some(Whom::SomeoneElse));
        assert_eq!(c.details.names.as_deref(), Some("Иван Петров"));
        assert_eq!(c.details.station.as_deref(), Some("ОП №9"));
        assert_eq!(c.contact.as_deref(), Some("@friend"));
        assert_eq!(c.details.consent, Some(Consent::Counts));
        assert_eq!(c.text, "Задержали на пикете");
    }

    #[test]
    fn skip_back_and_stale_buttons() {
        let mut c = Conversation::new(Instant::now());
        press(&mut c, "skip:happened");
        assert_eq!(c.step, Step::Whom);
        press(&mut c, "w:myself");
        assert_eq!(c.step, Step::Names);
        press(&mut c, "back:names");
        assert_eq!(c.step, Step::Whom);
        // A button from the first question, pressed late, asks the current one again.
        press(&mut c, "h:fined");
        assert_eq!((c.step, c.details.happened), (Step::Whom, None));
        // So does "skip" of another question.
        press(&mut c, "skip:names");
        assert_eq!(c.step, Step::Whom);
        press(&mut c, "skip:whom");
        assert_eq!((c.step, c.details.whom), (Step::Names, None));
        // The account cannot be skipped.
        c.step = Step::Text;
        press(&mut c, "skip:text");
        say(&mut c, "/skip");
        assert_eq!(c.step, Step::Text);
        let Outcome::Reply(r) = say(&mut c, "   ") else {
            panic!()
        };
        assert!(r[0].text.contains("Без рассказа"));
        assert_eq!(c.step, Step::Text);
    }

    #[test]
    fn typing_where_buttons_are_asked_asks_again() {
        let mut c = Conversation::new(Instant::now());
        let Outcome::Reply(r) = say(&mut c, "меня задержали") else {
            panic!()
        };
        assert_eq!(c.step, Step::Happened);
        assert!(r[0].text.contains("кнопкой"));
        assert_eq!(
            r[1].keyboard.len(),
            5,
            "three rows of choices, skip, language"
        );
    }

    #[test]
    fn too_long_answers_are_refused_and_kept_out() {
        let mut c = Conversation::new(Instant::now());
        c.step = Step::Names;
        let Outcome::Reply(r) = say(&mut c, &"я".repeat(MAX_FIELD_CHARS + 1)) else {
            panic!()
        };
        assert!(r[0].text.contains("300"));
        assert_eq!((c.step, c.details.names.as_deref()), (Step::Names, None));
        c.step = Step::Text;
        say(&mut c, "начало");
        press(&mut c, "more");
        assert_eq!(c.step, Step::MoreText);
        say(&mut c, &"я".repeat(MAX_TEXT_CHARS));
        assert_eq!((c.step, c.text.as_str()), (Step::MoreText, "начало"));
        say(&mut c, "продолжение");
        assert_eq!(
            (c.step, c.text.as_str()),
            (Step::Confirm, "начало\n\nпродолжение")
        );
    }

    #[test]
    fn the_language_switches_and_the_summary_escapes_html() {
        let mut c = Conversation::new(Instant::now());
        let Outcome::Reply(r) = press(&mut c, "lang") else {
            panic!()
        };
        assert_eq!(c.lang, Lang::En);
        assert!(r[0].text.contains("Telegram sees"));
        assert!(r[1].text.contains("What happened?"));
        c.step = Step::Text;
        let Outcome::Reply(r) = say(&mut c, "<b>bold</b> & <script>") else {
            panic!()
        };
        assert!(
            r[0].text
                .contains("&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;")
        );
        assert!(r[0].text.starts_with("<b>Check your report:</b>"));
    }

    #[test]
    fn regions_match_by_name_spelling_or_part() {
        let codes =
            |q: &str| -> Vec<String> { match_regions(q).iter().map(|r| r.code.clone()).collect() };
        assert_eq!(codes("москва"), ["RU-MOW"]);
        assert_eq!(codes("  Moscow "), ["RU-MOW"]);
        assert_eq!(codes("СПб"), ["RU-SPE"]);
        assert_eq!(codes("татарстан"), ["RU-TA"]);
        assert_eq!(codes("Подмосковье"), ["RU-MOS"]);
        assert!(codes("Атлантида").is_empty());
        assert!(codes("область").len() > MAX_REGION_CHOICES);
        let mut c = Conversation::new(Instant::now());
        c.step = Step::Region;
        let Outcome::Reply(r) = say(&mut c, "Республика") else {
            panic!()
        };
        assert!(r[0].text.contains("точнее"), "{}", r[0].text);
        let Outcome::Reply(r) = say(&mut c, "автономный округ") else {
            panic!()
        };
        // The four autonomous okrugs, as buttons, then back and skip.
        assert_eq!(c.step, Step::Region);
        assert_eq!(r[0].keyboard.len(), 5, "{:?}", r[0].keyboard);
        press(&mut c, "r:RU-YAN");
        assert_eq!(
            (c.step, c.details.region.as_deref()),
            (Step::City, Some("RU-YAN"))
        );
    }
}

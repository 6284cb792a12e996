//! Getting passphrases and passwords from a person (a prompt) or a script
//! (an environment variable), never from a command-line argument, which other
//! users of the machine could read.

use vigil_core::keys::SecretString;
use zeroize::Zeroizing;
use zxcvbn::feedback::Warning;

/// The desk passphrase guards the identity that opens every report: a stolen
/// key file must not yield to guessing. At least this many characters, and
/// zxcvbn's top score (more than 10^10 guesses).
pub const MIN_PASSPHRASE_CHARS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{var} is not set and there is no terminal to ask for it: set {var} for scripts")]
    NoTerminal { var: &'static str },
    #[error("the two entries differ; nothing was written")]
    Mismatch,
    #[error(
        "парольная фраза слишком короткая: в ней {chars} симв., а нужно не меньше {MIN_PASSPHRASE_CHARS}. \
         Возьмите 4–5 случайных слов, не связанных между собой; ничего не записано.\n\
         the passphrase is too short: it has {chars} characters and needs at least {MIN_PASSPHRASE_CHARS} characters. \
         Take 4–5 random words that have nothing to do with each other; nothing was written."
    )]
    TooShort { chars: usize },
    #[error(
        "парольную фразу легко подобрать (оценка стойкости {score} из 4, нужна 4){ru}. \
         Возьмите 4–5 случайных слов, не связанных между собой, или 20 случайных символов; ничего не записано.\n\
         the passphrase is easy to guess (strength score {score} of 4, 4 needed){en}. \
         Take 4–5 random words that have nothing to do with each other, or 20 random characters; nothing was written."
    )]
    Guessable { score: u8, ru: String, en: String },
}

fn warning_ru(w: Warning) -> &'static str {
    match w {
        Warning::StraightRowsOfKeysAreEasyToGuess => "ряд клавиш подряд легко угадать",
        Warning::ShortKeyboardPatternsAreEasyToGuess => {
            "короткие узоры на клавиатуре легко угадать"
        }
        Warning::RepeatsLikeAaaAreEasyToGuess => "повторы вроде «aaa» легко угадать",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => {
            "повторы вроде «abcabcabc» ненамного надёжнее, чем «abc»"
        }
        Warning::ThisIsATop10Password
        | Warning::ThisIsATop100Password
        | Warning::ThisIsACommonPassword => "это один из самых распространённых паролей",
        Warning::ThisIsSimilarToACommonlyUsedPassword => "это похоже на распространённый пароль",
        Warning::SequencesLikeAbcAreEasyToGuess => {
            "последовательности вроде abc или 6543 легко угадать"
        }
        Warning::RecentYearsAreEasyToGuess => "недавние годы легко угадать",
        Warning::AWordByItselfIsEasyToGuess => "одно слово легко угадать",
        Warning::DatesAreOftenEasyToGuess => "даты легко угадать",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess
        | Warning::CommonNamesAndSurnamesAreEasyToGuess => "имена и фамилии легко угадать",
    }
}

/// Refuses a desk passphrase that is short or easy to guess, saying why and
/// what to do instead, in Russian and English.
pub fn check_passphrase(passphrase: &str) -> Result<(), SecretError> {
    let chars = passphrase.chars().count();
    if chars < MIN_PASSPHRASE_CHARS {
        return Err(SecretError::TooShort { chars });
    }
    let entropy = zxcvbn::zxcvbn(passphrase, &["vigil", "desk", "passphrase"]);
    let score = u8::from(entropy.score());
    if score >= 4 {
        return Ok(());
    }
    let warning = entropy.feedback().and_then(|f| f.warning());
    Err(SecretError::Guessable {
        score,
        ru: warning.map_or_else(String::new, |w| format!(": {}", warning_ru(w))),
        en: warning.map_or_else(String::new, |w| {
            format!(": {}", w.to_string().trim_end_matches('.').to_lowercase())
        }),
    })
}

fn prompt(label: &str, var: &'static str) -> Result<Zeroizing<String>, SecretError> {
    rpassword::prompt_password(label)
        .map(Zeroizing::new)
        .map_err(|_| SecretError::NoTerminal { var })
}

/// The desk passphrase, from `VIGIL_PASSPHRASE` or asked once.
pub fn passphrase() -> Result<SecretString, SecretError> {
    if let Ok(p) = std::env::var("VIGIL_PASSPHRASE") {
        return Ok(SecretString::from(p));
    }
    let p = prompt("Desk passphrase: ", "VIGIL_PASSPHRASE")?;
    Ok(SecretString::from(p.as_str().to_owned()))
}

/// A new passphrase, from `VIGIL_PASSPHRASE` or asked twice; refused when
/// weak (see [`check_passphrase`]).
pub fn new_passphrase() -> Result<SecretString, SecretError> {
    if let Ok(p) = std::env::var("VIGIL_PASSPHRASE") {
        let p = Zeroizing::new(p);
        check_passphrase(&p)?;
        return Ok(SecretString::from(p.as_str().to_owned()));
    }
    let a = prompt("New desk passphrase: ", "VIGIL_PASSPHRASE")?;
    // Said before the second entry, so a person need not type it twice in vain.
    check_passphrase(&a)?;
    let b = prompt("Repeat it: ", "VIGIL_PASSPHRASE")?;
    if *a != *b {
        return Err(SecretError::Mismatch);
    }
    Ok(SecretString::from(a.as_str().to_owned()))
}

/// A new account password, from `VIGIL_ACCOUNT_PASSWORD` or asked twice.
pub fn new_password() -> Result<Zeroizing<String>, SecretError> {
    if let Ok(p) = std::env::var("VIGIL_ACCOUNT_PASSWORD") {
        return Ok(Zeroizing::new(p));
    }
    let a = prompt("New password: ", "VIGIL_ACCOUNT_PASSWORD")?;
    let b = prompt("Repeat it: ", "VIGIL_ACCOUNT_PASSWORD")?;
    if *a != *b {
        return Err(SecretError::Mismatch);
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn short_and_guessable_passphrases_are_refused_with_what_to_do() {
        let e = check_passphrase("a").unwrap_err().to_string();
        assert!(
            e.contains("at least 12") && e.contains("не меньше 12"),
            "{e}"
        );
        let e = check_passphrase("password1234").unwrap_err().to_string();
        assert!(
            e.contains("easy to guess") && e.contains("легко подобрать"),
            "{e}"
        );
        assert!(e.contains("4–5 random words"), "{e}");
        check_passphrase("test passphrase, not for real use").unwrap();
        check_passphrase("тихий лось пьёт холодный чай").unwrap();
    }

    /// `vigil demo` generates its passphrase as 18 random hex digits
    /// (commands/demo.rs); every one of them must pass.
    #[test]
    fn the_demos_generated_passphrases_pass() {
        let n: usize = std::env::var("VIGIL_PASSPHRASE_SAMPLES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(300);
        for _ in 0..n {
            let p = hex::encode(vigil_core::random::bytes::<9>().unwrap());
            assert!(check_passphrase(&p).is_ok(), "{p}");
        }
    }
}

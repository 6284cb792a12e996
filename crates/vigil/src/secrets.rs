//! Getting passphrases and passwords from a person (a prompt) or a script
//! (an environment variable), never from a command-line argument, which other
//! users of the machine could read.

use vigil_core::keys::SecretString;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{var} is not set and there is no terminal to ask for it: set {var} for scripts")]
    NoTerminal { var: &'static str },
    #[error("the two entries differ; nothing was written")]
    Mismatch,
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

/// A new passphrase, from `VIGIL_PASSPHRASE` or asked twice.
pub fn new_passphrase() -> Result<SecretString, SecretError> {
    if let Ok(p) = std::env::var("VIGIL_PASSPHRASE") {
        return Ok(SecretString::from(p));
    }
    let a = prompt("New desk passphrase: ", "VIGIL_PASSPHRASE")?;
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

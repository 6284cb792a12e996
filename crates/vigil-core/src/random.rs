//! Randomness from the operating system. A failure of the OS generator is not
//! something vigil can recover from safely, so callers get an error to pass up.

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomError;

pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| RandomError)?;
    Ok(buf)
}

//! Sealed report envelopes: opening an age file with the desk's identity and
//! decoding the report inside (`DeskIdentity::open_envelope`).
//!
//! Whoever holds the desk's public recipient (anyone who seized the intake)
//! can seal any bytes to the desk, so the decoder must take any plaintext.
//! Input: the first byte's low two bits choose what is opened.
//! - `0…`: the rest is the plaintext: sealed here to the desk, then opened;
//!   it must open, and decode to an envelope or be refused as not one. A
//!   decoded envelope must seal and open again to itself.
//! - `1…`: the rest is an age file as received.
//! - `2…`: a genuine sealed report with the rest applied as damage (pairs of
//!   position and XOR byte): it must not open to anything but the original.
//! - `3…`: a genuine sealed report cut short where the rest says: it must
//!   not open at all.

use vigil_core::{Channel, Day, DeskIdentity, Lang, ReportEnvelope, SealError};

use crate::{Outcome, Target, Violation, ensure, excerpt};

pub struct EnvelopeTarget {
    identity: DeskIdentity,
    genuine: Vec<u8>,
    original: Option<ReportEnvelope>,
}

impl EnvelopeTarget {
    pub fn new() -> Self {
        let identity = DeskIdentity::generate();
        let original = "2024-03-01".parse::<Day>().ok().and_then(|day| {
            ReportEnvelope::new(
                "Задержали у метро, везут в ОВД.",
                true,
                Some("Signal"),
                Lang::Ru,
                Channel::WebForm,
                day,
            )
            .ok()
        });
        let genuine = original
            .as_ref()
            .and_then(|e| identity.recipients().seal_envelope(e).ok())
            .unwrap_or_default();
        EnvelopeTarget {
            identity,
            genuine,
            original,
        }
    }
}

impl Default for EnvelopeTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl Target for EnvelopeTarget {
    fn run(&mut self, data: &[u8]) -> Outcome {
        let Some((&mode, rest)) = data.split_first() else {
            return Ok(());
        };
        match mode & 0b11 {
            0 => {
                let sealed = self
                    .identity
                    .recipients()
                    .seal(rest)
                    .map_err(|e| Violation(format!("sealing failed: {e}")))?;
                match self.identity.open_envelope(&sealed) {
                    Ok(envelope) => {
                        let again = self
                            .identity
                            .recipients()
                            .seal_envelope(&envelope)
                            .and_then(|s| self.identity.open_envelope(&s))
                            .map_err(|e| {
                                Violation(format!(
                                    "a decoded envelope does not seal and open again ({e}): {}",
                                    excerpt(rest)
                                ))
                            })?;
                        ensure(again == envelope, || {
                            format!("an envelope changed when sealed again: {}", excerpt(rest))
                        })
                    }
                    Err(SealError::Envelope) => Ok(()),
                    Err(e) => Err(Violation(format!(
                        "a report sealed to this desk did not open ({e}): {}",
                        excerpt(rest)
                    ))),
                }
            }
            1 => {
                let _ = self.identity.open_envelope(rest);
                Ok(())
            }
            2 => {
                let mut damaged = self.genuine.clone();
                for pair in rest.chunks_exact(3) {
                    let at = usize::from(u16::from_le_bytes([pair[0], pair[1]]));
                    if let Some(b) = damaged.get_mut(at % self.genuine.len().max(1)) {
                        *b ^= pair[2];
                    }
                }
                if let Ok(opened) = self.identity.open_envelope(&damaged) {
                    ensure(Some(&opened) == self.original.as_ref(), || {
                        format!("a damaged report opened to other words: {}", excerpt(rest))
                    })?;
                }
                Ok(())
            }
            _ => {
                let cut = rest.iter().fold(0usize, |n, b| {
                    n.wrapping_mul(256).wrapping_add(usize::from(*b))
                }) % self.genuine.len().max(1);
                ensure(self.identity.open(&self.genuine[..cut]).is_err(), || {
                    format!(
                        "a report cut to {cut} of {} bytes opened",
                        self.genuine.len()
                    )
                })
            }
        }
    }
}

//! The webhook channel: one JSON POST per alert.

use serde::Serialize;

use super::SendError;

#[derive(Serialize)]
struct Payload<'a> {
    kind: &'static str,
    /// The desk account alerted.
    to: &'a str,
    waiting: u64,
    link: &'a str,
    text: &'a str,
}

pub async fn send(
    http: &reqwest::Client,
    url: &str,
    to: &str,
    waiting: u64,
    link: &str,
    text: &str,
) -> Result<(), SendError> {
    let response = http
        .post(url)
        .json(&Payload {
            kind: "urgent_waiting",
            to,
            waiting,
            link,
            text,
        })
        .send()
        .await
        .map_err(|e| SendError::Http(e.without_url().to_string()))?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        s => Err(SendError::Status(s)),
    }
}

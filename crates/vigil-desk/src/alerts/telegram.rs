//! The Telegram channel: the Bot API's sendMessage. The bot token is part of
//! the URL, so no error ever carries the URL (`without_url`).

use serde::Serialize;

use super::SendError;

#[derive(Serialize)]
struct SendMessage<'a> {
    chat_id: &'a str,
    text: &'a str,
    disable_web_page_preview: bool,
}

pub async fn send(
    http: &reqwest::Client,
    api_url: &str,
    token: &str,
    chat_id: &str,
    text: &str,
) -> Result<(), SendError> {
    let url = format!("{}/bot{token}/sendMessage", api_url.trim_end_matches('/'));
    let response = http
        .post(url)
        .json(&SendMessage {
            chat_id,
            text,
            disable_web_page_preview: true,
        })
        .send()
        .await
        .map_err(|e| SendError::Http(e.without_url().to_string()))?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        s => Err(SendError::Status(s)),
    }
}

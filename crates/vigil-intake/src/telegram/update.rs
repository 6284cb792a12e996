//! The parts of a Bot API `Update` the bot reads
//! (https://core.telegram.org/bots/api#update). Unknown fields are ignored:
//! Telegram adds fields over time. Only what the bot needs is parsed; the
//! sender's name, username and phone are never read.

use serde::Deserialize;
use zeroize::Zeroize;

#[derive(Deserialize)]
pub(crate) struct Update {
    pub message: Option<Message>,
    pub edited_message: Option<Message>,
    pub callback_query: Option<CallbackQuery>,
}

#[derive(Deserialize)]
pub(crate) struct Message {
    pub chat: Chat,
    /// Absent for stickers, photos, voice messages and the like.
    pub text: Option<String>,
}

impl Drop for Message {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

#[derive(Deserialize)]
pub(crate) struct Chat {
    pub id: i64,
    /// "private", "group", "supergroup" or "channel".
    #[serde(rename = "type")]
    pub kind: String,
}

impl Chat {
    pub fn is_private(&self) -> bool {
        self.kind == "private"
    }
}

#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    pub id: String,
    /// The message the button was under (absent for inline-mode buttons).
    pub message: Option<Message>,
    pub data: Option<String>,
}

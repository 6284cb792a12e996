//! The few Bot API calls the bot makes: sendMessage and answerCallbackQuery.
//! The token is part of every URL, so no error ever carries a URL
//! (`without_url`), and nothing a reporter wrote is ever logged.

use std::time::Duration;

use serde::Serialize;
use zeroize::Zeroizing;

use super::conversation::Reply;

/// How long one Bot API call may take. Replies go out before the webhook
/// answers (so they keep their order), and Telegram sends an update again if
/// the webhook takes too long: three calls at most must fit well inside that.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a Bot API call failed; says nothing of the request.
#[derive(Debug)]
pub(crate) enum CallError {
    Http,
    Status,
}

pub(crate) struct BotApi {
    http: reqwest::Client,
    /// `{api_base}/bot{token}`: a secret.
    base: Zeroizing<String>,
}

#[derive(Serialize)]
struct InlineButton<'a> {
    text: &'a str,
    callback_data: &'a str,
}

#[derive(Serialize)]
struct Markup<'a> {
    inline_keyboard: Vec<Vec<InlineButton<'a>>>,
}

#[derive(Serialize)]
struct LinkPreview {
    is_disabled: bool,
}

#[derive(Serialize)]
struct SendMessage<'a> {
    chat_id: i64,
    text: &'a str,
    parse_mode: &'static str,
    link_preview_options: LinkPreview,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_markup: Option<Markup<'a>>,
}

#[derive(Serialize)]
struct AnswerCallback<'a> {
    callback_query_id: &'a str,
}

impl BotApi {
    /// A client that goes only where the config says: no proxy from the
    /// environment, no redirects.
    pub fn new(api_base: &str, token: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| format!("the Bot API client cannot start: {}", e.without_url()))?;
        Ok(BotApi {
            http,
            base: Zeroizing::new(format!("{}/bot{token}", api_base.trim_end_matches('/'))),
        })
    }

    async fn call<T: Serialize>(&self, method: &str, body: &T) -> Result<(), CallError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.base.as_str()))
            .json(body)
            .send()
            .await
            .map_err(|_| CallError::Http)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(CallError::Status)
        }
    }

    pub async fn send(&self, chat_id: i64, reply: &Reply) -> Result<(), CallError> {
        let reply_markup = (!reply.keyboard.is_empty()).then(|| Markup {
            inline_keyboard: reply
                .keyboard
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|b| InlineButton {
                            text: &b.label,
                            callback_data: &b.data,
                        })
                        .collect()
                })
                .collect(),
        });
        self.call(
            "sendMessage",
            &SendMessage {
                chat_id,
                text: &reply.text,
                parse_mode: "HTML",
                link_preview_options: LinkPreview { is_disabled: true },
                reply_markup,
            },
        )
        .await
    }

    /// Stops the button's spinner in the reporter's app.
    pub async fn answer_callback(&self, id: &str) -> Result<(), CallError> {
        self.call(
            "answerCallbackQuery",
            &AnswerCallback {
                callback_query_id: id,
            },
        )
        .await
    }
}

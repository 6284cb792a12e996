//! What the bot says, in Russian and English. Texts are HTML (the Bot API's
//! `parse_mode = HTML`): only `<b>`, `<i>` and `<code>`, and nothing a reporter
//! wrote goes in without [`escape`].

use vigil_core::Lang;

pub(crate) struct BotTexts {
    pub safety: &'static str,
    pub restarted: &'static str,
    pub ask_happened: &'static str,
    pub ask_whom: &'static str,
    pub ask_names: &'static str,
    pub ask_when: &'static str,
    pub ask_region: &'static str,
    pub ask_city: &'static str,
    pub ask_place: &'static str,
    pub ask_station: &'static str,
    pub ask_contact: &'static str,
    pub ask_consent: &'static str,
    pub ask_text: &'static str,
    pub ask_more_text: &'static str,
    pub summary_title: &'static str,
    pub summary_ask: &'static str,
    pub skip: &'static str,
    pub back: &'static str,
    pub cancel: &'static str,
    pub send: &'static str,
    pub add_text: &'static str,
    pub other_lang: &'static str,
    pub use_buttons: &'static str,
    pub region_none: &'static str,
    pub region_many: &'static str,
    pub region_vague: &'static str,
    pub too_long: &'static str,
    pub cancelled: &'static str,
    pub ended: &'static str,
    pub not_text: &'static str,
    pub edited: &'static str,
    pub group: &'static str,
    pub full: &'static str,
    pub limited: &'static str,
    pub text_required: &'static str,
    pub text_shortened: &'static str,
    pub not_given: &'static str,
    pub contact_label: &'static str,
    pub text_label: &'static str,
    pub after_receipt: &'static str,
}

pub(crate) fn bot_texts(lang: Lang) -> BotTexts {
    match lang {
        Lang::Ru => BotTexts {
            safety: "<b>Прежде чем писать — о безопасности.</b>\n\
                Telegram видит, кто пишет этому боту и когда, и хранит всю переписку у себя на серверах в открытом виде; за аккаунтом стоит номер телефона. \
                Мы шифруем сообщение сразу при получении и не храним ваш Telegram-аккаунт вместе с ним, но то, что видит Telegram, мы защитить не можем.\n\
                Если это для вас опасно, воспользуйтесь веб-формой в Tor Browser, а эту переписку удалите.\n\
                Мы никому не передаём сообщения и ни на кого не доносим. Обязателен только рассказ о том, что произошло; любой другой вопрос можно пропустить. /cancel — остановить и удалить всё.",
            restarted: "Начинаем новый разговор. Если вы были на середине прошлого, он удалён: незаконченные ответы мы храним недолго и только в памяти.",
            ask_happened: "Что случилось?",
            ask_whom: "С кем это случилось?",
            ask_names: "Имя или имена — если хотите. Можно без имени: мы всё равно поможем.",
            ask_when: "Когда это было? Дата или словами: «сегодня около 14:00», «в прошлую субботу».",
            ask_region: "В каком регионе? Выберите кнопкой или напишите название, например «Москва» или «Татарстан».",
            ask_city: "Город или населённый пункт?",
            ask_place: "Место: улица, станция метро, адрес?",
            ask_station: "Отдел полиции или суд, если известно: «ОВД Тверской», «Мещанский районный суд».",
            ask_contact: "Как с вами связаться, если хотите? Телефон, Signal, почта или ваш @логин в Telegram. Ваш Telegram-аккаунт мы сами не сохраняем, поэтому без контакта ответить можно только по коду подтверждения.",
            ask_consent: "Можно ли публиковать? Без согласия мы не публикуем ничьих имён; в статистике человек учитывается только числом.",
            ask_text: "Теперь расскажите, что произошло, одним сообщением: кого задержали или преследуют, когда, где, что с человеком сейчас, по какой статье, кто может подтвердить. Это единственный обязательный ответ.",
            ask_more_text: "Напишите, что добавить к рассказу.",
            summary_title: "Проверьте сообщение:",
            summary_ask: "Отправить команде? Сообщение будет зашифровано, а вы получите код подтверждения.",
            skip: "Пропустить",
            back: "« Назад",
            cancel: "Отменить и удалить",
            send: "Отправить",
            add_text: "Дополнить рассказ",
            other_lang: "English",
            use_buttons: "Выберите ответ кнопкой под вопросом или нажмите «Пропустить».",
            region_none: "Такого региона в списке нет. Напишите название иначе или нажмите «Пропустить».",
            region_many: "Подходит несколько регионов — выберите кнопкой:",
            region_vague: "Подходит слишком много регионов. Напишите название точнее, например «Пермский край».",
            too_long: "Слишком длинный ответ: не больше {max} знаков. Сократите его; подробности можно написать в рассказе.",
            cancelled: "Всё удалено, ничего не отправлено. Чтобы начать заново, напишите /start.",
            ended: "Этот разговор уже закончен. Чтобы начать новый, напишите /start.",
            not_text: "Я принимаю только текст. Фото и документы можно отправить через веб-форму.",
            edited: "Исправленные сообщения я не читаю: пришлите исправление новым сообщением.",
            group: "Я работаю только в личной переписке: в группе ваше сообщение увидят все её участники. Напишите мне напрямую.",
            limited: "Из этого чата пришло слишком много сообщений подряд. Ничего не отправлено; ответы пока сохранены. Нажмите «Отправить» снова через {minutes} мин.",
            full: "Сейчас слишком много незаконченных разговоров. Ничего не сохранено. Попробуйте через несколько минут или воспользуйтесь веб-формой.",
            text_required: "Без рассказа о том, что произошло, отправить нельзя: напишите его одним сообщением.",
            text_shortened: "(показано начало)",
            not_given: "—",
            contact_label: "Контакт",
            text_label: "Рассказ",
            after_receipt: "Telegram хранит эту переписку вместе с кодом. Если ваш телефон могут проверить, запишите код в надёжное место и удалите переписку с ботом.",
        },
        Lang::En => BotTexts {
            safety: "<b>Before you write: about safety.</b>\n\
                Telegram sees who writes to this bot and when, and keeps every message in clear on its servers; a phone number stands behind every account. \
                We encrypt your report the moment it arrives and do not keep your Telegram account with it, but what Telegram sees we cannot protect.\n\
                If that is dangerous for you, use the web form in Tor Browser instead, and delete this chat.\n\
                We hand reports to no one and denounce no one. Only the account of what happened is required; you can skip every other question. /cancel stops and deletes everything.",
            restarted: "Starting a new conversation. If you were in the middle of one, it was deleted: unfinished answers are kept only briefly and only in memory.",
            ask_happened: "What happened?",
            ask_whom: "To whom did it happen?",
            ask_names: "Name or names, if you wish. We help without a name too.",
            ask_when: "When was it? A date, or in words: “today around 2 pm”, “last Saturday”.",
            ask_region: "In which region? Pick a button or type the name, for example “Moscow” or “Tatarstan”.",
            ask_city: "City, town or village?",
            ask_place: "The place: a street, a metro station, an address?",
            ask_station: "The police station or court, if known: “Tverskoy police station”, “Meshchansky district court”.",
            ask_contact: "How can we reach you, if you want us to? Phone, Signal, e-mail or your Telegram @username. We do not keep your Telegram account ourselves, so without a contact we can answer only through your receipt code.",
            ask_consent: "May we publish it? Without consent we publish no one's name; in statistics a person is only a number.",
            ask_text: "Now tell us what happened, in one message: who was detained or persecuted, when, where, where the person is now, under which article, who can confirm it. This is the only required answer.",
            ask_more_text: "Write what to add to your account.",
            summary_title: "Check your report:",
            summary_ask: "Send it to the team? It will be encrypted and you will get a receipt code.",
            skip: "Skip",
            back: "« Back",
            cancel: "Cancel and delete",
            send: "Send",
            add_text: "Add to the account",
            other_lang: "Русский",
            use_buttons: "Pick an answer with the buttons under the question, or press “Skip”.",
            region_none: "That region is not in the list. Type the name another way or press “Skip”.",
            region_many: "Several regions match; pick one:",
            region_vague: "Too many regions match. Type the name more exactly, for example “Perm Krai”.",
            too_long: "That answer is too long: at most {max} characters. Shorten it; details fit in your account.",
            cancelled: "Everything is deleted and nothing was sent. To start again, send /start.",
            ended: "This conversation has ended. To start a new one, send /start.",
            not_text: "I only take text. Photos and documents can be sent through the web form.",
            edited: "I do not read edited messages: send the correction as a new message.",
            group: "I work only in a private chat: in a group everyone in it would see your report. Write to me directly.",
            limited: "Too many reports came from this chat in a row. Nothing was sent; your answers are kept for now. Press “Send” again in {minutes} min.",
            full: "Too many unfinished conversations right now. Nothing was kept. Try again in a few minutes, or use the web form.",
            text_required: "A report cannot be sent without the account of what happened: write it in one message.",
            text_shortened: "(the beginning is shown)",
            not_given: "—",
            contact_label: "Contact",
            text_label: "Account",
            after_receipt: "Telegram keeps this chat with the code in it. If your phone may be searched, write the code down somewhere safe and delete this chat.",
        },
    }
}

/// Escapes text for the Bot API's HTML mode (which knows only these three).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escape_leaves_no_tag() {
        assert_eq!(
            super::escape("<b>x</b> & <a href=\"y\">"),
            "&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href=\"y\"&gt;"
        );
    }
}

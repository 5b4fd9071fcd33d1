//! Russian and English texts, numbers, plural forms and dates, written as the browser's `Intl` writes them.

use otklik_api::{ErrorCode, InvalidText, ReactionKind};
use wasm_bindgen::JsValue;
use web_sys::HtmlElement;

use crate::api::ApiError;

/// The widget's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    /// `data-otklik-lang` on the host, else the page's `<html lang>`, else English.
    pub fn for_host(host: &HtmlElement) -> Self {
        let page = || host.owner_document()?.document_element()?.get_attribute("lang");
        let tag = host.get_attribute("data-otklik-lang").filter(|l| !l.trim().is_empty()).or_else(page);
        Self::from_tag(tag.as_deref().unwrap_or(""))
    }

    pub fn from_tag(tag: &str) -> Self {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("ru") { Self::Ru } else { Self::En }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::En => "en",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Self::Ru => &RU,
            Self::En => &EN,
        }
    }
}

/// Every string the widget shows, per language.
pub struct Texts {
    pub reactions: &'static str,
    /// Labels in `ReactionKind::ALL` order.
    pub kinds: [&'static str; 5],
    pub loading: &'static str,
    pub load_failed: &'static str,
    pub retry: &'static str,
    pub save_offline: &'static str,
    pub save_refused: &'static str,
    pub save_server: &'static str,
    pub save_limited: &'static str,
    pub dismiss: &'static str,
    pub comments: &'static str,
    pub empty_title: &'static str,
    pub empty_body: &'static str,
    pub comments_loading: &'static str,
    pub comments_failed: &'static str,
    pub sort: &'static str,
    /// In `CommentSort::ALL` order.
    pub sorts: [&'static str; 3],
    pub show_more: &'static str,
    pub name: &'static str,
    pub anonymous: &'static str,
    pub comment: &'static str,
    pub placeholder: &'static str,
    pub post: &'static str,
    pub posting: &'static str,
    pub send_hint: &'static str,
    pub reply: &'static str,
    pub cancel: &'static str,
    pub edit: &'static str,
    pub save: &'static str,
    pub delete: &'static str,
    pub confirm_delete: &'static str,
    pub deleted: &'static str,
    pub edited: &'static str,
    pub in_reply_to: &'static str,
    pub like: &'static str,
    pub post_offline: &'static str,
    pub post_server: &'static str,
    pub post_refused: &'static str,
    pub text_empty: &'static str,
    pub text_too_long: &'static str,
    pub too_many_links: &'static str,
    pub too_late: &'static str,
    pub action_failed: &'static str,
    pub rate_limited: &'static str,
    pub pending: &'static str,
    pub flag: &'static str,
    pub flagged: &'static str,
    pub closed: &'static str,
    pub banned: &'static str,
    pub too_fast: &'static str,
    pub notify: &'static str,
    pub email: &'static str,
    pub bad_email: &'static str,
    pub notify_sent: &'static str,
    /// Followed by the key combination.
    pub typo_hint: &'static str,
    pub typo_hint_touch: &'static str,
    pub typo_title: &'static str,
    pub typo_note: &'static str,
    pub typo_sent: &'static str,
    pub typo_too_long: &'static str,
    pub typo_none: &'static str,
    /// The dialog's code could not be downloaded.
    pub typo_unavailable: &'static str,
    pub close: &'static str,
    pub send: &'static str,
    pub sending: &'static str,
}

static RU: Texts = Texts {
    reactions: "Реакции на статью",
    kinds: ["Лайк", "Смех", "Удивление", "Гнев", "Печаль"],
    loading: "Загружаем реакции…",
    load_failed: "Не удалось загрузить реакции.",
    retry: "Повторить",
    save_offline: "Нет связи с сервером — реакция не сохранена. Проверьте подключение и попробуйте ещё раз.",
    save_refused: "Сервер не принял реакцию. Обновите страницу и попробуйте ещё раз.",
    save_server: "Сервер временно недоступен — реакция не сохранена. Попробуйте чуть позже.",
    save_limited: "Слишком много изменений подряд — реакция не сохранена. Попробуйте через минуту.",
    dismiss: "Закрыть сообщение",
    comments: "Комментарии",
    empty_title: "Комментариев пока нет",
    empty_body: "Начните обсуждение — ваш комментарий будет первым.",
    comments_loading: "Загружаем комментарии…",
    comments_failed: "Не удалось загрузить комментарии.",
    sort: "Порядок",
    sorts: ["Сначала старые", "Сначала новые", "Популярные"],
    show_more: "Показать ещё комментарии",
    name: "Имя",
    anonymous: "Гость",
    comment: "Комментарий",
    placeholder: "Что вы об этом думаете?",
    post: "Отправить",
    posting: "Отправляем…",
    send_hint: "Ctrl+Enter — отправить",
    reply: "Ответить",
    cancel: "Отмена",
    edit: "Изменить",
    save: "Сохранить",
    delete: "Удалить",
    confirm_delete: "Точно удалить?",
    deleted: "Комментарий удалён",
    edited: "изменён",
    in_reply_to: "в ответ",
    like: "Нравится",
    post_offline: "Нет связи с сервером. Текст сохранён — попробуйте ещё раз.",
    post_server: "Сервер временно недоступен. Текст сохранён — попробуйте чуть позже.",
    post_refused: "Сервер не принял комментарий. Текст сохранён.",
    text_empty: "Напишите что-нибудь перед отправкой.",
    text_too_long: "Комментарий слишком длинный: сократите его до 4000 знаков.",
    too_many_links: "В комментарии может быть не больше трёх ссылок.",
    too_late: "Изменить или удалить комментарий можно только в первые 15 минут.",
    action_failed: "Не получилось. Попробуйте ещё раз.",
    rate_limited: "Слишком много отправок подряд. Текст сохранён — попробуйте через несколько минут.",
    pending: "Ожидает проверки модератором — пока его видите только вы",
    flag: "Пожаловаться",
    flagged: "Жалоба отправлена",
    closed: "Обсуждение этой статьи закрыто.",
    banned: "Модераторы ограничили отправку с этого устройства или из этой сети.",
    too_fast: "Слишком быстро для живого человека. Текст сохранён — отправьте ещё раз через пару секунд.",
    notify: "Сообщать об ответах на e-mail",
    email: "E-mail",
    bad_email: "Проверьте адрес e-mail: текст сохранён.",
    notify_sent: "Если адрес новый, мы прислали на него ссылку для подтверждения: без неё писем не будет.",
    typo_hint: "Заметили опечатку? Выделите её и нажмите",
    typo_hint_touch: "Заметили опечатку? Выделите её и нажмите появившуюся кнопку «Сообщить об опечатке».",
    typo_title: "Сообщить об опечатке",
    typo_note: "Как правильно или ваш комментарий (необязательно)",
    typo_sent: "Спасибо! Сообщение получено, редакция всё проверит.",
    typo_too_long: "Выделен слишком длинный фрагмент. Выделите только слово или фразу с ошибкой — до 250 знаков.",
    typo_none: "Выделите в тексте статьи слово или фразу с ошибкой и нажмите Ctrl+Enter — откроется это окно.",
    typo_unavailable: "Не удалось открыть окно для сообщения об опечатке. Проверьте соединение и попробуйте ещё раз.",
    close: "Закрыть",
    send: "Отправить",
    sending: "Отправляем…",
};

static EN: Texts = Texts {
    reactions: "Reactions to this article",
    kinds: ["Like", "Laugh", "Surprised", "Angry", "Sad"],
    loading: "Loading reactions…",
    load_failed: "Reactions could not be loaded.",
    retry: "Retry",
    save_offline: "No connection to the server, so your reaction was not saved. Check your connection and try again.",
    save_refused: "The server did not accept your reaction. Reload the page and try again.",
    save_server: "The server is unavailable right now, so your reaction was not saved. Please try again shortly.",
    save_limited: "Too many changes in a row, so your reaction was not saved. Try again in a minute.",
    dismiss: "Dismiss message",
    comments: "Comments",
    empty_title: "No comments yet",
    empty_body: "Start the discussion: yours will be the first.",
    comments_loading: "Loading comments…",
    comments_failed: "Comments could not be loaded.",
    sort: "Order",
    sorts: ["Oldest first", "Newest first", "Most liked"],
    show_more: "Show more comments",
    name: "Name",
    anonymous: "Guest",
    comment: "Comment",
    placeholder: "What do you think?",
    post: "Post",
    posting: "Posting…",
    send_hint: "Ctrl+Enter to post",
    reply: "Reply",
    cancel: "Cancel",
    edit: "Edit",
    save: "Save",
    delete: "Delete",
    confirm_delete: "Delete for good?",
    deleted: "Comment deleted",
    edited: "edited",
    in_reply_to: "in reply to",
    like: "Like",
    post_offline: "No connection to the server. Your text is kept: try again.",
    post_server: "The server is unavailable right now. Your text is kept: try again shortly.",
    post_refused: "The server did not accept the comment. Your text is kept.",
    text_empty: "Write something before posting.",
    text_too_long: "The comment is too long: shorten it to 4,000 characters.",
    too_many_links: "A comment may hold at most three links.",
    too_late: "Comments can be edited or deleted only in the first 15 minutes.",
    action_failed: "That did not work. Please try again.",
    rate_limited: "Too many in a row. Your text is kept: please try again in a few minutes.",
    pending: "Awaiting moderation: only you can see it for now",
    flag: "Report",
    flagged: "Reported",
    closed: "Comments on this article are closed.",
    banned: "The moderators have blocked posting from this device or network.",
    too_fast: "That was quicker than a person types. Your text is kept: send it again in a few seconds.",
    notify: "Email me when someone replies",
    email: "Email",
    bad_email: "Check the email address: your text is kept.",
    notify_sent: "If the address is new to us, we sent it a link to confirm: no mail comes without it.",
    typo_hint: "Spotted a typo? Select it and press",
    typo_hint_touch: "Spotted a typo? Select it, then tap the “Report a typo” button that appears.",
    typo_title: "Report a typo",
    typo_note: "The correct version, or a comment (optional)",
    typo_sent: "Thank you! Your report is in, and the editors will look at it.",
    typo_too_long: "That selection is too long. Select just the word or phrase with the mistake (up to 250 characters).",
    typo_none: "Select the word or phrase with the mistake in the article and press Ctrl+Enter to open this window.",
    typo_unavailable: "The typo report window could not be loaded. Check your connection and try again.",
    close: "Close",
    send: "Send",
    sending: "Sending…",
};

impl Texts {
    pub fn kind(&self, kind: ReactionKind) -> &'static str {
        self.kinds[kind.index()]
    }

    /// Why a text cannot be sent, before sending it.
    pub fn invalid_text(&self, e: InvalidText) -> &'static str {
        match e {
            InvalidText::Empty => self.text_empty,
            InvalidText::TooLong => self.text_too_long,
            InvalidText::TooManyLinks => self.too_many_links,
        }
    }

    /// The reader-facing reason a send failed (a comment, an edit, a like or a typo report); what the
    /// reader wrote always stays.
    pub fn failure(&self, error: &ApiError) -> &'static str {
        match (error, error.code()) {
            (ApiError::Network, _) => self.post_offline,
            (_, Some(ErrorCode::InvalidText)) => self.text_too_long,
            (_, Some(ErrorCode::TooManyLinks)) => self.too_many_links,
            (_, Some(ErrorCode::EditWindowClosed)) => self.too_late,
            (_, Some(ErrorCode::RateLimited)) => self.rate_limited,
            (_, Some(ErrorCode::CommentsClosed)) => self.closed,
            (_, Some(ErrorCode::Banned)) => self.banned,
            (_, Some(ErrorCode::TooFast)) => self.too_fast,
            (ApiError::Status { status, .. }, _) if *status >= 500 => self.post_server,
            _ => self.post_refused,
        }
    }
}

/// `n` as the reader's locale writes it ("12 345" in Russian, "12,345" in English): CLDR's grouping for
/// whole numbers, written here because each `Intl.NumberFormat` the browser builds costs a phone tens of
/// milliseconds of main thread (a widget test holds this to the browser's own output).
pub fn format_count(lang: Lang, n: u64) -> String {
    let separator = match lang {
        Lang::Ru => '\u{a0}',
        Lang::En => ',',
    };
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 2);
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(digit);
    }
    out
}

/// The plural category CLDR gives whole `n`: 0 = one, 1 = few, 2 = many/other (as `Intl.PluralRules`
/// selects; see [`format_count`] for why not the browser's).
fn plural(lang: Lang, n: u64) -> usize {
    match lang {
        Lang::Ru if n % 10 == 1 && n % 100 != 11 => 0,
        Lang::Ru if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) => 1,
        Lang::Ru => 2,
        Lang::En if n == 1 => 0,
        Lang::En => 2,
    }
}

/// Nouns in their plural forms: [one, few, many] in Russian, [one, other, other] in English.
fn noun(lang: Lang, n: u64, ru: [&'static str; 3], en: [&'static str; 2]) -> &'static str {
    match lang {
        Lang::Ru => ru[plural(lang, n)],
        Lang::En => en[plural(lang, n).min(1)],
    }
}

/// "reaction"/"reactions", or "реакция"/"реакции"/"реакций", as CLDR's plural rules select for `n`.
pub fn reactions_noun(lang: Lang, n: u64) -> &'static str {
    noun(lang, n, ["реакция", "реакции", "реакций"], ["reaction", "reactions"])
}

/// "Лайк: 5 реакций", "Like: 1 reaction": a reaction button's accessible name, and what a screen reader
/// hears when its count moves.
pub fn reaction_label(lang: Lang, kind: ReactionKind, n: u64) -> String {
    format!("{}: {} {}", lang.texts().kind(kind), format_count(lang, n), reactions_noun(lang, n))
}

/// "5 комментариев", "1 comment".
pub fn comments_count(lang: Lang, n: u64) -> String {
    let word = noun(lang, n, ["комментарий", "комментария", "комментариев"], ["comment", "comments"]);
    format!("{} {word}", format_count(lang, n))
}

/// "3 новых комментария — показать", "1 new comment — show": the button that shows comments the live
/// stream announced, and what a screen reader hears of them.
pub fn new_comments(lang: Lang, n: u64) -> String {
    let (new, word, show) = match lang {
        Lang::Ru => (
            noun(lang, n, ["новый", "новых", "новых"], ["", ""]),
            noun(lang, n, ["комментарий", "комментария", "комментариев"], ["", ""]),
            "показать",
        ),
        Lang::En => ("new", noun(lang, n, ["", "", ""], ["comment", "comments"]), "show"),
    };
    format!("{} {new} {word} — {show}", format_count(lang, n))
}

/// "Показать ещё 3 ответа", "Show 3 more replies".
pub fn more_replies(lang: Lang, n: u64) -> String {
    match lang {
        Lang::Ru => format!(
            "Показать ещё {} {}",
            format_count(lang, n),
            noun(lang, n, ["ответ", "ответа", "ответов"], ["", ""])
        ),
        Lang::En => {
            format!("Show {} more {}", format_count(lang, n), noun(lang, n, ["", "", ""], ["reply", "replies"]))
        }
    }
}

/// "3 минуты назад", "yesterday": how long ago `unix` seconds was.
pub fn relative_time(lang: Lang, unix: i64) -> String {
    let ago = (js_sys::Date::now() / 1000.0) as i64 - unix;
    let (value, unit) = match ago.max(0) as u64 {
        s if s < 45 => (0, Unit::Second),
        s if s < 3_600 => ((s + 30) / 60, Unit::Minute),
        s if s < 86_400 => ((s + 1_800) / 3_600, Unit::Hour),
        s if s < 30 * 86_400 => ((s + 43_200) / 86_400, Unit::Day),
        s if s < 365 * 86_400 => (s / (30 * 86_400), Unit::Month),
        s => (s / (365 * 86_400), Unit::Year),
    };
    ago_text(lang, value, unit)
}

/// A unit of [`ago_text`], named as `Intl.RelativeTimeFormat` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Month,
    Year,
}

impl Unit {
    pub const ALL: [Unit; 6] = [Unit::Second, Unit::Minute, Unit::Hour, Unit::Day, Unit::Month, Unit::Year];

    pub fn name(self) -> &'static str {
        ["second", "minute", "hour", "day", "month", "year"][self as usize]
    }
}

/// `value` units ago, worded as `Intl.RelativeTimeFormat` with `numeric: "auto"` words it ("вчера",
/// "5 минут назад", "last month"). Written here rather than asked of the browser: building that formatter
/// cost a throttled phone 60 ms of main thread, in the same task that draws the thread (a widget test holds
/// this to the browser's own output).
pub fn ago_text(lang: Lang, value: u64, unit: Unit) -> String {
    let u = unit as usize;
    let named = match (lang, value) {
        (Lang::Ru, 0) => Some(["сейчас", "в эту минуту", "в этот час", "сегодня", "в этом месяце", "в этом году"][u]),
        (Lang::En, 0) => Some(["now", "this minute", "this hour", "today", "this month", "this year"][u]),
        (Lang::Ru, 1) => [None, None, None, Some("вчера"), Some("в прошлом месяце"), Some("в прошлом году")][u],
        (Lang::En, 1) => [None, None, None, Some("yesterday"), Some("last month"), Some("last year")][u],
        (Lang::Ru, 2) if unit == Unit::Day => Some("позавчера"),
        _ => None,
    };
    if let Some(named) = named {
        return named.to_owned();
    }
    let ru = [
        ["секунду", "секунды", "секунд"],
        ["минуту", "минуты", "минут"],
        ["час", "часа", "часов"],
        ["день", "дня", "дней"],
        ["месяц", "месяца", "месяцев"],
        ["год", "года", "лет"],
    ];
    let en = [
        ["second", "seconds"],
        ["minute", "minutes"],
        ["hour", "hours"],
        ["day", "days"],
        ["month", "months"],
        ["year", "years"],
    ];
    let ago = match lang {
        Lang::Ru => "назад",
        Lang::En => "ago",
    };
    format!("{} {} {ago}", format_count(lang, value), noun(lang, value, ru[u], en[u]))
}

/// The full date and time in the reader's time zone, for the tooltip ("25 ноября 2026 г. в 14:03",
/// "November 25, 2026 at 2:03 PM"), as `Intl.DateTimeFormat` writes it with `dateStyle: "long"` and
/// `timeStyle: "short"`. Written here because building that formatter cost a throttled phone 65 ms of
/// main thread, in the task that draws the thread (a widget test holds this to the browser's output).
pub fn absolute_time(lang: Lang, unix: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(unix as f64 * 1000.0));
    let (day, month, year) = (date.get_date(), date.get_month() as usize % 12, date.get_full_year());
    let (hour, minute) = (date.get_hours(), date.get_minutes());
    match lang {
        Lang::Ru => {
            const MONTHS: [&str; 12] = [
                "января",
                "февраля",
                "марта",
                "апреля",
                "мая",
                "июня",
                "июля",
                "августа",
                "сентября",
                "октября",
                "ноября",
                "декабря",
            ];
            format!("{day} {} {year} г. в {hour:02}:{minute:02}", MONTHS[month])
        }
        Lang::En => {
            const MONTHS: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            let half = if hour < 12 { "AM" } else { "PM" };
            let hour = if hour % 12 == 0 { 12 } else { hour % 12 };
            format!("{} {day}, {year} at {hour}:{minute:02} {half}", MONTHS[month])
        }
    }
}

/// The machine-readable time for `<time datetime>`.
pub fn iso_time(unix: i64) -> String {
    js_sys::Date::new(&JsValue::from_f64(unix as f64 * 1000.0)).to_iso_string().into()
}

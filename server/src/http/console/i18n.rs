//! The console's words in Russian and English, and how the language is chosen.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub const fn code(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::En => "en",
        }
    }

    pub const fn texts(self) -> &'static Texts {
        match self {
            Self::Ru => &RU,
            Self::En => &EN,
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw.get(..2)?.to_ascii_lowercase().as_str() {
            "ru" => Some(Self::Ru),
            "en" => Some(Self::En),
            _ => None,
        }
    }
}

/// The cookie that remembers a chosen language.
pub const LANG_COOKIE: &str = "otklik_lang";

/// Extractor: the language a request asks for (see [`Lang::of`]).
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of(parts.uri.query(), &parts.headers))
    }
}

impl Lang {
    /// `?lang=` (a switch, remembered by the layout in a cookie), else the cookie, else the browser's
    /// `Accept-Language`, else Russian.
    pub fn of(query: Option<&str>, headers: &HeaderMap) -> Self {
        let from_cookie = || super::cookie(headers, LANG_COOKIE).and_then(Lang::parse);
        let from_browser = || {
            let accept = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
            accept.split(',').find_map(|tag| Lang::parse(tag.trim()))
        };
        switched(query).or_else(from_cookie).or_else(from_browser).unwrap_or(Lang::Ru)
    }
}

/// Whether the request switches the language (so the response should remember it).
pub fn switched(parts_query: Option<&str>) -> Option<Lang> {
    parts_query?.split('&').find_map(|kv| kv.strip_prefix("lang=")).and_then(Lang::parse)
}

pub struct Texts {
    pub console: &'static str,
    pub skip: &'static str,
    pub nav_comments: &'static str,
    pub nav_typos: &'static str,
    pub nav_articles: &'static str,
    pub nav_bans: &'static str,
    pub nav_audit: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    pub sign_in: &'static str,
    pub sign_in_title: &'static str,
    pub name: &'static str,
    pub password: &'static str,
    pub wrong_credentials: &'static str,
    pub too_many_attempts: &'static str,
    pub token_only: &'static str,
    pub queues: [&'static str; 6],
    pub empty_queue: &'static str,
    pub older: &'static str,
    pub on_article: &'static str,
    pub reply: &'static str,
    pub status_pending: &'static str,
    pub status_hidden: &'static str,
    pub status_new: &'static str,
    pub flagged: &'static str,
    pub edited: &'static str,
    pub approve: &'static str,
    pub hide: &'static str,
    pub restore: &'static str,
    pub delete: &'static str,
    pub ban: &'static str,
    pub ban_reader: &'static str,
    pub ban_ip: &'static str,
    pub ban_range: &'static str,
    pub ban_whom: &'static str,
    pub ban_days: &'static str,
    pub ban_reason: &'static str,
    pub ban_submit: &'static str,
    pub ip_forgotten: &'static str,
    pub done: &'static str,
    pub typo_statuses: [&'static str; 3],
    pub reports: &'static str,
    pub notes: &'static str,
    pub mark_fixed: &'static str,
    pub mark_rejected: &'static str,
    pub reopen: &'static str,
    pub no_typos: &'static str,
    pub article_id: &'static str,
    pub moderation: &'static str,
    pub mode_default: &'static str,
    pub mode_post: &'static str,
    pub mode_pre: &'static str,
    pub closed: &'static str,
    pub save: &'static str,
    pub set_article: &'static str,
    pub recent_articles: &'static str,
    pub comments_count: &'static str,
    pub pending_count: &'static str,
    pub no_articles: &'static str,
    pub stuffing: &'static str,
    pub stuffing_hint: &'static str,
    pub refused: &'static str,
    pub bans_in_force: &'static str,
    pub no_bans: &'static str,
    pub until: &'static str,
    pub by: &'static str,
    pub lift: &'static str,
    pub kind: &'static str,
    pub target: &'static str,
    pub range_hint: &'static str,
    pub when: &'static str,
    pub who: &'static str,
    pub action: &'static str,
    pub detail: &'static str,
    pub empty_audit: &'static str,
    pub not_found: &'static str,
    pub failed: &'static str,
    pub expired_form: &'static str,
    pub back: &'static str,
    /// Refused moderator actions (see `rules::moderation::ModerationError`); the first two are followed
    /// by the limit.
    pub bad_ban_days: &'static str,
    pub bad_ban_reason: &'static str,
    pub bad_ban_range: &'static str,
    pub bad_ban_target: &'static str,
    pub comment_missing: &'static str,
    pub ip_not_kept: &'static str,
    pub ban_missing: &'static str,
    pub typo_conflict: &'static str,
}

static RU: Texts = Texts {
    console: "Модерация otklik",
    skip: "К содержимому",
    nav_comments: "Комментарии",
    nav_typos: "Опечатки",
    nav_articles: "Статьи",
    nav_bans: "Блокировки",
    nav_audit: "Журнал",
    signed_in_as: "Вы вошли как",
    sign_out: "Выйти",
    sign_in: "Войти",
    sign_in_title: "Вход для модераторов",
    name: "Имя",
    password: "Пароль",
    wrong_credentials: "Неверное имя или пароль.",
    too_many_attempts: "Слишком много попыток входа. Попробуйте через несколько минут.",
    token_only: "Учётных записей модераторов пока нет. Создайте её командой «otklik moderator add ИМЯ».",
    queues: ["Требуют внимания", "Новые", "На проверке", "С жалобами", "Скрытые", "Все"],
    empty_queue: "Здесь пусто — всё проверено.",
    older: "Более ранние",
    on_article: "к статье",
    reply: "ответ",
    status_pending: "ожидает проверки",
    status_hidden: "скрыт",
    status_new: "новый",
    flagged: "жалоб",
    edited: "изменён автором",
    approve: "Одобрить",
    hide: "Скрыть",
    restore: "Вернуть",
    delete: "Удалить",
    ban: "Заблокировать…",
    ban_reader: "читателя (браузер)",
    ban_ip: "IP-адрес",
    ban_range: "Заблокировать диапазон IP",
    ban_whom: "Кого",
    ban_days: "Срок, дней",
    ban_reason: "Причина",
    ban_submit: "Заблокировать",
    ip_forgotten: "IP этого комментария уже забыт",
    done: "Готово.",
    typo_statuses: ["Новые", "Исправленные", "Отклонённые"],
    reports: "сообщений",
    notes: "Пояснения читателей",
    mark_fixed: "Исправлено",
    mark_rejected: "Отклонить",
    reopen: "Вернуть в новые",
    no_typos: "Сообщений об опечатках нет.",
    article_id: "Идентификатор статьи",
    moderation: "Модерация",
    mode_default: "как на сервере",
    mode_post: "после публикации",
    mode_pre: "до публикации",
    closed: "Комментарии закрыты",
    save: "Сохранить",
    set_article: "Настроить статью",
    recent_articles: "Недавние статьи",
    comments_count: "Комментариев",
    pending_count: "На проверке",
    no_articles: "Статей пока нет.",
    stuffing: "Накрутка реакций",
    stuffing_hint: "Отклонённые изменения реакций сверх лимита с одного адреса на статью, с момента запуска сервера.",
    refused: "Отклонено",
    bans_in_force: "Действующие блокировки",
    no_bans: "Блокировок нет.",
    until: "До",
    by: "Кто",
    lift: "Снять",
    kind: "Тип",
    target: "Цель",
    range_hint: "Например, 203.0.113.0/24",
    when: "Когда",
    who: "Кто",
    action: "Действие",
    detail: "Подробности",
    empty_audit: "Журнал пуст.",
    not_found: "Не найдено.",
    failed: "Не получилось",
    expired_form: "Форма устарела (или открыта с другого сайта). Обновите страницу и повторите.",
    back: "Назад",
    bad_ban_days: "Срок бана — от 1 дня до",
    bad_ban_reason: "Укажите причину: от 1 символа до",
    bad_ban_range: "Это не IP-адрес и не диапазон вида 203.0.113.0/24.",
    bad_ban_target: "Бан читателя или IP задаётся по комментарию, бан диапазона — по диапазону.",
    comment_missing: "Такого комментария нет: возможно, его уже удалили.",
    ip_not_kept: "IP-адрес этого комментария больше не хранится (прошёл срок хранения). Забаньте читателя.",
    ban_missing: "Такого действующего бана нет: возможно, его уже сняли или срок истёк.",
    typo_conflict: "Этот фрагмент уже есть в другом открытом сообщении: закройте то.",
};

static EN: Texts = Texts {
    console: "otklik moderation",
    skip: "Skip to content",
    nav_comments: "Comments",
    nav_typos: "Typos",
    nav_articles: "Articles",
    nav_bans: "Bans",
    nav_audit: "Audit log",
    signed_in_as: "Signed in as",
    sign_out: "Sign out",
    sign_in: "Sign in",
    sign_in_title: "Moderators' sign-in",
    name: "Name",
    password: "Password",
    wrong_credentials: "Wrong name or password.",
    too_many_attempts: "Too many sign-in attempts. Try again in a few minutes.",
    token_only: "There are no moderator accounts yet. Create one with “otklik moderator add NAME”.",
    queues: ["Needs attention", "New", "Pending", "Flagged", "Hidden", "All"],
    empty_queue: "Nothing here: all caught up.",
    older: "Older",
    on_article: "on",
    reply: "reply",
    status_pending: "awaiting moderation",
    status_hidden: "hidden",
    status_new: "new",
    flagged: "flags",
    edited: "edited by its author",
    approve: "Approve",
    hide: "Hide",
    restore: "Restore",
    delete: "Delete",
    ban: "Ban…",
    ban_reader: "the reader (browser)",
    ban_ip: "the IP address",
    ban_range: "Ban an IP range",
    ban_whom: "Whom",
    ban_days: "Days",
    ban_reason: "Reason",
    ban_submit: "Ban",
    ip_forgotten: "this comment's IP is no longer kept",
    done: "Done.",
    typo_statuses: ["New", "Fixed", "Rejected"],
    reports: "reports",
    notes: "Readers' notes",
    mark_fixed: "Fixed",
    mark_rejected: "Reject",
    reopen: "Reopen",
    no_typos: "No typo reports.",
    article_id: "Article id",
    moderation: "Moderation",
    mode_default: "server default",
    mode_post: "after publishing",
    mode_pre: "before publishing",
    closed: "Comments closed",
    save: "Save",
    set_article: "Set up an article",
    recent_articles: "Recent articles",
    comments_count: "Comments",
    pending_count: "Pending",
    no_articles: "No articles yet.",
    stuffing: "Reaction stuffing",
    stuffing_hint: "Reaction writes refused over the per-address limit on an article, since the server started.",
    refused: "Refused",
    bans_in_force: "Bans in force",
    no_bans: "No bans.",
    until: "Until",
    by: "By",
    lift: "Lift",
    kind: "Kind",
    target: "Target",
    range_hint: "For example 203.0.113.0/24",
    when: "When",
    who: "Who",
    action: "Action",
    detail: "Detail",
    empty_audit: "The log is empty.",
    not_found: "Not found.",
    failed: "That did not work",
    expired_form: "This form has expired (or came from another site). Reload the page and try again.",
    back: "Back",
    bad_ban_days: "A ban lasts from 1 day to",
    bad_ban_reason: "Give a reason: from 1 character to",
    bad_ban_range: "That is not an IP address or a range such as 203.0.113.0/24.",
    bad_ban_target: "A reader or IP ban is made from a comment, a range ban from a range.",
    comment_missing: "There is no such comment: it may have been deleted already.",
    ip_not_kept: "This comment's IP address is no longer kept (past the retention period). Ban its reader instead.",
    ban_missing: "There is no such ban in force: it may have been lifted or have run out.",
    typo_conflict: "Another open report covers the same fragment: close that one instead.",
};

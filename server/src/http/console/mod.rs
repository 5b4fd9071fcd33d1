//! `/admin`: the moderators' console. Server-rendered HTML (maud) and plain forms: no script, so it
//! needs no second wasm build, works with any keyboard or screen reader, and allows a CSP without
//! 'unsafe-anything'.
//!
//! Every page needs a session (or shows the sign-in form); every change is a POST carrying the
//! session's CSRF token, and cross-site POSTs are refused before that.

mod articles;
mod audit;
mod bans;
mod comments;
mod i18n;
mod notifications;
mod session;
mod typos;

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};

use crate::AppState;
use crate::http::error::AppError;
use crate::rules::moderation::ModerationError;
pub use i18n::Lang;
use otklik_api::limits::{BAN_DAYS_MAX, BAN_REASON_MAX};

/// The session cookie; scoped to the console's paths. Wherever the console is reached over HTTPS (every
/// deployment but a loopback one) the cookie is `Secure` and carries the `__Secure-` prefix, which
/// browsers accept only from a secure origin, so that no plain-HTTP page can plant or overwrite it.
const SESSION_COOKIE: &str = "otklik_session";
const SECURE_SESSION_COOKIE: &str = "__Secure-otklik_session";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(comments::queue))
        .route("/admin/", get(|| async { Redirect::to("/admin") }))
        .route("/admin/console.css", get(css))
        .route("/admin/login", post(session::sign_in))
        .route("/admin/logout", post(session::sign_out))
        .route("/admin/comments/{id}", post(comments::act))
        .route("/admin/comments/{id}/ban", post(comments::ban))
        .route("/admin/comments/{id}/erase", post(comments::erase))
        .route("/admin/typos", get(typos::list))
        .route("/admin/typos/{id}", post(typos::set))
        .route("/admin/articles", get(articles::list).post(articles::set))
        .route("/admin/bans", get(bans::list).post(bans::add))
        .route("/admin/bans/{id}/lift", post(bans::lift))
        .route("/admin/audit", get(audit::list))
        .route("/admin/notifications", get(notifications::page).post(notifications::set))
        .route("/admin/notifications/remove", post(notifications::remove))
        .layer(axum::middleware::from_fn(console_headers))
}

/// Nothing of the console may be framed, cached, or run script; POSTs must come from the console itself.
async fn console_headers(request: Request, next: Next) -> Response {
    if request.method() == Method::POST && cross_site(request.headers()) {
        let lang = Lang::of(request.uri().query(), request.headers());
        return message_page(lang, StatusCode::FORBIDDEN, lang.texts().expired_form);
    }
    let switched = i18n::switched(request.uri().query());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(lang) = switched {
        let cookie = format!("{}={}; Path=/admin; Max-Age=31536000; SameSite=Strict", i18n::LANG_COOKIE, lang.code());
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A POST whose browser says it came from another site. Browsers that send `Sec-Fetch-Site` are taken
/// at their word (a proxy may rewrite `Host`, never this); for older ones `Origin` must name this host
/// (as the proxy forwarded it, if it says so).
fn cross_site(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return site != "same-origin" && site != "none";
    }
    match (text("origin"), text("x-forwarded-host").or(text("host"))) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, rest)| rest) != Some(host),
        _ => false,
    }
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        include_str!("../../../static/console.css"),
    )
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

/// Extractor: the signed-in moderator. Without a console at all the page is 404; without a valid
/// session the answer is the sign-in page.
pub struct Signed {
    pub name: String,
    pub csrf: String,
    pub token_hash: [u8; 32],
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_request_parts(parts, state).await.unwrap_or(Lang::Ru);
        match crate::http::admin::admin_enabled(state).await {
            Ok(true) => {}
            Ok(false) => return Err(message_page(lang, StatusCode::NOT_FOUND, lang.texts().not_found)),
            Err(err) => return Err(Failed(err, lang).into_response()),
        }
        let token = cookie(&parts.headers, SECURE_SESSION_COOKIE).or_else(|| cookie(&parts.headers, SESSION_COOKIE));
        if let Some(token) = token {
            let token_hash = crate::rules::accounts::token_hash(token);
            match state.store.session(token_hash).await {
                Ok(Some(session)) => return Ok(Self { name: session.moderator, csrf: session.csrf, token_hash }),
                Ok(None) => {}
                Err(err) => return Err(Failed(err.into(), lang).into_response()),
            }
        }
        // A form posted with an expired session must not be lost silently: the sign-in page says so.
        let status = if parts.method == Method::POST { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
        Err(session::sign_in_page(state, lang, status, None).await)
    }
}

/// Extractor for every change the console makes: a signed-in moderator and a form that carries their
/// session's CSRF token (compared in constant time). Checking here, once, means no handler can forget to.
pub struct Change<T> {
    pub who: Signed,
    pub form: T,
}

/// A form with nothing but its CSRF token (sign out, lift a ban).
#[derive(serde::Deserialize)]
pub struct NoFields {}

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<AppState> for Change<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        #[derive(serde::Deserialize)]
        struct Token {
            csrf: Option<String>,
        }
        let (mut parts, body) = request.into_parts();
        let who = Signed::from_request_parts(&mut parts, state).await?;
        let lang = Lang::from_request_parts(&mut parts, state).await.unwrap_or(Lang::Ru);
        let refused = |status| message_page(lang, status, lang.texts().expired_form);
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| refused(StatusCode::BAD_REQUEST))?;
        let offered = serde_urlencoded::from_bytes::<Token>(&bytes).ok().and_then(|t| t.csrf).unwrap_or_default();
        if !crate::rules::keys::constant_time_eq(who.csrf.as_bytes(), offered.as_bytes()) {
            return Err(refused(StatusCode::FORBIDDEN));
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| message_page(lang, StatusCode::UNPROCESSABLE_ENTITY, lang.texts().failed))?;
        Ok(Self { who, form })
    }
}

/// A console handler's failure, shown as a page in the moderator's language.
pub struct Failed(pub AppError, pub Lang);

impl From<(AppError, Lang)> for Failed {
    fn from((err, lang): (AppError, Lang)) -> Self {
        Self(err, lang)
    }
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        let Failed(err, lang) = self;
        match err {
            AppError::Client { status, message, .. } => message_page(lang, status, &message),
            other => {
                // The API error logs the cause; the page says only that it failed.
                let status = other.into_response().status();
                message_page(lang, status, lang.texts().failed)
            }
        }
    }
}

/// A moderator's action the rules refused, answered in the moderator's language (a store failure as any
/// other failure).
pub fn refused(err: ModerationError, lang: Lang) -> Response {
    let t = lang.texts();
    let (status, message) = match err {
        ModerationError::BanDays => (StatusCode::UNPROCESSABLE_ENTITY, format!("{} {BAN_DAYS_MAX}.", t.bad_ban_days)),
        ModerationError::BanReason => {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("{} {BAN_REASON_MAX}.", t.bad_ban_reason))
        }
        ModerationError::BanRange(_) => (StatusCode::UNPROCESSABLE_ENTITY, t.bad_ban_range.to_owned()),
        ModerationError::BanTarget => (StatusCode::UNPROCESSABLE_ENTITY, t.bad_ban_target.to_owned()),
        ModerationError::CommentNotFound => (StatusCode::NOT_FOUND, t.comment_missing.to_owned()),
        ModerationError::IpForgotten => (StatusCode::CONFLICT, t.ip_not_kept.to_owned()),
        ModerationError::BanNotFound => (StatusCode::NOT_FOUND, t.ban_missing.to_owned()),
        ModerationError::Store(err) => return Failed(err.into(), lang).into_response(),
    };
    message_page(lang, status, &message)
}

/// The sections of the console, for the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Comments,
    Typos,
    Articles,
    Bans,
    Audit,
    Mail,
    None,
}

/// The page frame: skip link, navigation, who is signed in, language switch, then the content.
pub fn layout(lang: Lang, title: &str, who: Option<&Signed>, section: Section, content: Markup) -> Markup {
    let t = lang.texts();
    let nav = [
        (Section::Comments, "/admin", t.nav_comments),
        (Section::Typos, "/admin/typos", t.nav_typos),
        (Section::Articles, "/admin/articles", t.nav_articles),
        (Section::Bans, "/admin/bans", t.nav_bans),
        (Section::Audit, "/admin/audit", t.nav_audit),
        (Section::Mail, "/admin/notifications", t.nav_mail),
    ];
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · " (t.console) }
                link rel="stylesheet" href="/admin/console.css";
            }
            body {
                a.skip href="#main" { (t.skip) }
                header.top {
                    span.brand { (t.console) }
                    @if let Some(who) = who {
                        nav aria-label=(t.console) {
                            ul {
                                @for (s, href, label) in nav {
                                    li { a href=(href) aria-current=[(s == section).then_some("page")] { (label) } }
                                }
                            }
                        }
                        form.signout method="post" action="/admin/logout" {
                            span { (t.signed_in_as) " " strong { (who.name) } }
                            input type="hidden" name="csrf" value=(who.csrf);
                            button type="submit" { (t.sign_out) }
                        }
                    }
                    span.langs {
                        a href="?lang=ru" lang="ru" aria-current=[(lang == Lang::Ru).then_some("true")] { "Русский" }
                        " · "
                        a href="?lang=en" lang="en" aria-current=[(lang == Lang::En).then_some("true")] { "English" }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// A short page with one message (errors, 404).
pub fn message_page(lang: Lang, status: StatusCode, message: &str) -> Response {
    let t = lang.texts();
    let body = layout(
        lang,
        t.failed,
        None,
        Section::None,
        html! {
            p role="alert" { (message) }
            p { a href="/admin" { (t.back) } }
        },
    );
    (status, Html(body.into_string())).into_response()
}

/// The query of a page that may follow a change: `?done=1` shows a confirmation.
#[derive(serde::Deserialize)]
pub struct Done {
    pub done: Option<u8>,
}

/// A confirmation shown after a redirect (`?done=1`).
pub fn done_note(lang: Lang, done: bool) -> Markup {
    html! { @if done { p.note role="status" { (lang.texts().done) } } }
}

/// Where to go back to after a form: only a console path, never another site.
pub fn back_to(back: Option<&str>, fallback: &str) -> String {
    let back = back.filter(|b| b.starts_with("/admin") && !b.starts_with("//")).unwrap_or(fallback);
    let sep = if back.contains('?') { '&' } else { '?' };
    format!("{back}{sep}done=1")
}

/// Shortens a long text for a table cell.
pub fn snippet(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// Marks up a time for people and machines.
pub fn time(secs: i64) -> Markup {
    let shown = crate::utc(secs);
    let machine = shown.replacen(' ', "T", 1).replace(" UTC", "Z");
    html! { time datetime=(machine) { (shown) } }
}

/// Helper for the forms: the hidden CSRF field.
pub fn csrf_field(who: &Signed) -> Markup {
    html! { input type="hidden" name="csrf" value=(who.csrf); }
}

/// Renders a finished page.
pub fn render(markup: Markup) -> Response {
    Html(markup.into_string()).into_response()
}

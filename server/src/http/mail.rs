//! `/mail/confirm/{token}` and `/mail/unsubscribe/{token}` (and their `/mail/moderator/...` twins for
//! moderators' addresses): the pages the links in messages open.
//!
//! Opening a link changes nothing: mail scanners fetch every link in a message, and a confirmation a
//! scanner made would send mail nobody asked for. The page holds one button that POSTs to the same
//! address. A mail client's one-click unsubscription (RFC 8058) is that same POST, made without a page.
//! The token is the only credential (signed, see `rules::mail`): no cookie, no session.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use crate::AppState;
use crate::http::error::AppError;
use crate::rules::mail::{Lang, Link, texts};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mail/confirm/{token}", get(confirm_page).post(confirm))
        .route("/mail/unsubscribe/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/mail/moderator/confirm/{token}", get(moderator_confirm_page).post(moderator_confirm))
        .route("/mail/moderator/unsubscribe/{token}", get(moderator_unsubscribe_page).post(moderator_unsubscribe))
}

/// The recipient and language of a link this server signed; any other token is a 404 (as is every link
/// while mail is off).
fn checked(state: &AppState, link: Link, token: &str) -> Option<(i64, Lang)> {
    state.outbox.mail.as_ref()?.check_token(link, token)
}

async fn confirm_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    confirmation_page(&state, Link::Confirm, &token)
}

async fn moderator_confirm_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    confirmation_page(&state, Link::ConfirmModerator, &token)
}

fn confirmation_page(state: &AppState, link: Link, token: &str) -> Response {
    match checked(state, link, token) {
        Some((_, lang)) => {
            let t = texts(lang);
            page(
                lang,
                StatusCode::OK,
                t.confirm_subject,
                html! {
                    p { (t.confirm_body) }
                    form method="post" { button type="submit" { (t.confirm_button) } }
                },
            )
        }
        None => not_found(),
    }
}

async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, AppError> {
    let Some((recipient, lang)) = checked(&state, Link::Confirm, &token) else { return Ok(not_found()) };
    let confirmed = state.store.mail_confirm(recipient).await?;
    Ok(confirmed_page(lang, confirmed.then_some(texts(lang).confirmed)))
}

async fn moderator_confirm(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, AppError> {
    let Some((moderator, lang)) = checked(&state, Link::ConfirmModerator, &token) else { return Ok(not_found()) };
    let confirmed = state.store.moderator_confirm(moderator).await?;
    Ok(confirmed_page(lang, confirmed.then_some(texts(lang).moderator_confirmed)))
}

/// After the button: confirmed, or the link's recipient is gone (it unsubscribed meanwhile).
fn confirmed_page(lang: Lang, confirmed: Option<&str>) -> Response {
    let t = texts(lang);
    if let Some(said) = confirmed {
        page(lang, StatusCode::OK, said, html! { p role="status" { (said) } })
    } else {
        page(lang, StatusCode::GONE, t.link_expired, html! { p role="alert" { (t.link_expired) } })
    }
}

async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    unsubscription_page(&state, Link::Unsubscribe, &token)
}

async fn moderator_unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    unsubscription_page(&state, Link::UnsubscribeModerator, &token)
}

fn unsubscription_page(state: &AppState, link: Link, token: &str) -> Response {
    match checked(state, link, token) {
        Some((_, lang)) => {
            let t = texts(lang);
            page(
                lang,
                StatusCode::OK,
                t.unsubscribe_button,
                html! {
                    form method="post" { button type="submit" { (t.unsubscribe_button) } }
                },
            )
        }
        None => not_found(),
    }
}

/// Unsubscribes, from the page's button or from a mail client's one-click POST
/// (`List-Unsubscribe=One-Click`). Doing it twice is no error: the address is off the list either way.
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, AppError> {
    let Some((recipient, lang)) = checked(&state, Link::Unsubscribe, &token) else { return Ok(not_found()) };
    state.store.mail_unsubscribe(recipient).await?;
    let t = texts(lang);
    Ok(page(lang, StatusCode::OK, t.unsubscribed, html! { p role="status" { (t.unsubscribed) } }))
}

/// A moderator's one-click unsubscription: their address and choices are forgotten.
async fn moderator_unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, AppError> {
    let Some((moderator, lang)) = checked(&state, Link::UnsubscribeModerator, &token) else { return Ok(not_found()) };
    state.store.moderator_unsubscribe(moderator).await?;
    let t = texts(lang);
    Ok(page(lang, StatusCode::OK, t.moderator_unsubscribed, html! { p role="status" { (t.moderator_unsubscribed) } }))
}

fn not_found() -> Response {
    page(Lang::En, StatusCode::NOT_FOUND, "Not found", html! { p { "This link is not known here." } })
}

/// A small page of its own; the token in its address goes to no other site (no referrer) and to no index.
fn page(lang: Lang, status: StatusCode, title: &str, content: Markup) -> Response {
    let body = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
            }
            body { main { (content) } }
        }
    };
    let mut response = (status, Html(body.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    response
}

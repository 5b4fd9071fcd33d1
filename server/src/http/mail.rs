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
    let links = [Link::Confirm, Link::Unsubscribe, Link::ConfirmModerator, Link::UnsubscribeModerator];
    links.into_iter().fold(Router::new(), |router, link| {
        let shown = move |State(state): State<AppState>, Path(token): Path<String>| async move {
            button_page(&state, link, &token)
        };
        let pressed = move |State(state): State<AppState>, Path(token): Path<String>| async move {
            act(&state, link, &token).await
        };
        router.route(&format!("{}{{token}}", link.path()), get(shown).post(pressed))
    })
}

/// The recipient and language of a link this server signed; any other token is a 404 (as is every link
/// while mail is off).
fn checked(state: &AppState, link: Link, token: &str) -> Option<(i64, Lang)> {
    state.outbox.mail.as_ref()?.check_token(link, token)
}

/// What opening a link shows: what it is for, and the one button that does it.
fn button_page(state: &AppState, link: Link, token: &str) -> Response {
    let Some((_, lang)) = checked(state, link, token) else { return not_found() };
    let t = texts(lang);
    let (title, about, button) = match link {
        Link::Confirm => (t.confirm_subject, Some(t.confirm_body), t.confirm_button),
        Link::ConfirmModerator => (t.moderator_confirm_subject, Some(t.moderator_confirm_body), t.confirm_button),
        Link::Unsubscribe | Link::UnsubscribeModerator => (t.unsubscribe_button, None, t.unsubscribe_button),
    };
    page(
        lang,
        StatusCode::OK,
        title,
        html! {
            @if let Some(about) = about { p { (about) } }
            form method="post" { button type="submit" { (button) } }
        },
    )
}

/// The button, or a mail client's one-click unsubscription (`List-Unsubscribe=One-Click`, RFC 8058).
/// Unsubscribing twice is no error: the address is off the list either way; confirming an address that
/// unsubscribed meanwhile is 410.
async fn act(state: &AppState, link: Link, token: &str) -> Result<Response, AppError> {
    let Some((id, lang)) = checked(state, link, token) else { return Ok(not_found()) };
    let t = texts(lang);
    let store = &state.store;
    let done = match link {
        Link::Confirm => store.mail_confirm(id, state.clock.now()).await?.then_some(t.confirmed),
        Link::ConfirmModerator => store.moderator_confirm(id).await?.then_some(t.moderator_confirmed),
        Link::Unsubscribe => store.mail_unsubscribe(id).await.map(|_| Some(t.unsubscribed))?,
        Link::UnsubscribeModerator => store.moderator_unsubscribe(id).await.map(|_| Some(t.moderator_unsubscribed))?,
    };
    Ok(match done {
        Some(said) => page(lang, StatusCode::OK, said, html! { p role="status" { (said) } }),
        None => page(lang, StatusCode::GONE, t.link_expired, html! { p role="alert" { (t.link_expired) } }),
    })
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

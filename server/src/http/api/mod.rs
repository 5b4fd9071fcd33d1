//! The JSON API under `/api/v1`: one module per resource, each exposing `router()`, merged here; and
//! what several resources' handlers share (pages, bans and limits as HTTP answers).

mod articles;
mod audit;
mod bans;
mod comments;
mod counts;
pub mod doc;
mod events;
pub mod health;
mod me;
mod moderation;
pub mod pages;
mod reactions;
mod readers;
mod refusals;
mod typos;

pub use pages::DEMO_ARTICLE;

use axum::Router;
use axum::http::HeaderMap;
use otklik_api::limits::{PAGE_TITLE_MAX, PAGE_URL_MAX};
use otklik_api::{ErrorCode, PageInfo};
use utoipa_axum::router::OpenApiRouter;

use crate::http::AppState;
use crate::http::error::AppError;
use crate::rules::guard::{self, Refusal};
use crate::rules::rate_limit::LimitKind;
use crate::rules::text::clean_line;

/// Every resource's routes, relative to the API prefix, with the answer to a route or method that does
/// not exist.
pub fn router() -> Router<AppState> {
    Router::from(routes().routes(utoipa_axum::routes!(doc::openapi)))
        .fallback(|| async { AppError::not_found() })
        .method_not_allowed_fallback(|| async { AppError::method_not_allowed() })
}

/// Every resource's routes, each described by its handler (see `doc`).
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(reactions::router())
        .merge(comments::router())
        .merge(counts::router())
        .merge(events::router())
        .merge(typos::router())
        .merge(refusals::router())
        .merge(moderation::router())
        .merge(bans::router())
        .merge(articles::router())
        .merge(audit::router())
        .merge(me::router())
        .merge(readers::router())
}

/// What a page says about itself: a title, and its URL if that is a page of a publisher allowed to embed
/// the widget (`OTKLIK_ALLOWED_ORIGINS`) or of this server itself. Moderators follow these links from the
/// console, so no one may make them point anywhere else.
fn clean_page(state: &AppState, headers: &HeaderMap, page: Option<PageInfo>) -> PageInfo {
    let page = page.unwrap_or_default();
    PageInfo {
        url: page.url.map(|u| clean_line(&u)).filter(|u| u.len() <= PAGE_URL_MAX && page_of_ours(state, headers, u)),
        title: page
            .title
            .map(|t| clean_line(&t))
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(PAGE_TITLE_MAX).collect()),
    }
}

fn page_of_ours(state: &AppState, headers: &HeaderMap, url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else { return false };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return false;
    }
    let origin = url.origin().ascii_serialization();
    if state.allowed_origins.iter().any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin.as_bytes())) {
        return true;
    }
    // This server's own pages (the demo article), by the host the request was sent to.
    let authority = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => return false,
    };
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    text("x-forwarded-host").or(text("host")).is_some_and(|host| host.eq_ignore_ascii_case(&authority))
}

/// Counts one write against each limit; the first that is exhausted refuses it with 429 and `Retry-After`,
/// naming `what` was sent too often.
async fn limited(state: &AppState, checks: &[(LimitKind, &[u8; 16])], what: &str) -> Result<(), AppError> {
    guard::limited(state, checks).await.map_err(|r| refused(r, what))
}

/// The API's words for a write the guards refused.
fn refused(refusal: Refusal, what: &str) -> AppError {
    match refusal {
        Refusal::Banned { until } => AppError::client(
            axum::http::StatusCode::FORBIDDEN,
            ErrorCode::Banned,
            format!("the moderators have blocked posting from this browser or network until {}", crate::utc(until)),
        ),
        Refusal::RateLimited { retry_after } => AppError::RateLimited {
            retry_after,
            message: format!("too many {what} in a short time; please try again later"),
        },
    }
}

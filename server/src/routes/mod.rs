//! The HTTP surface: one module per resource, each exposing `router()`, assembled here.

mod articles;
mod audit;
mod bans;
mod comments;
mod counts;
mod health;
mod moderation;
mod pages;
mod reactions;
mod refusals;
mod typos;

pub use pages::DEMO_ARTICLE;

use axum::Router;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::error::AppError;
use otklik_api::ErrorCode;
use otklik_api::PageInfo;
use otklik_api::limits::{PAGE_SIZE, PAGE_SIZE_MAX, PAGE_TITLE_MAX, PAGE_URL_MAX};

/// The whole application: API under `/api/v1`, health, widget assets and the demo article.
pub fn router(state: AppState) -> Router {
    let mut api = Router::new()
        .merge(reactions::router())
        .merge(comments::router())
        .merge(counts::router())
        .merge(typos::router())
        .merge(refusals::router())
        .merge(moderation::router())
        .merge(bans::router())
        .merge(articles::router())
        .merge(audit::router())
        .fallback(|| async { AppError::not_found() })
        .method_not_allowed_fallback(|| async { AppError::method_not_allowed() });
    if !state.allowed_origins.is_empty() {
        api = api.layer(cors(&state.allowed_origins));
    }
    Router::new()
        .nest(otklik_api::API_PREFIX, api)
        .merge(health::router())
        .merge(pages::router())
        .merge(crate::console::router())
        .merge(crate::assets::router())
        .layer(axum::middleware::from_fn(guard))
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &Request<_>| tracing::info_span!("request", method = %req.method(), path = %req.uri().path()),
        ))
        .with_state(state)
}

/// No request may hold a worker longer than this; a slow client or a stuck database gets a 503.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every response: bounded in time, and with the headers that keep browsers from guessing content types
/// or leaking the reader's page address to other sites.
async fn guard(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let mut response = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            AppError::Unavailable(anyhow::anyhow!("the request took longer than {REQUEST_TIMEOUT:?}")).into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    response
}

/// Lets the listed origins call the API from their pages; others get no CORS headers, so browsers refuse.
/// The reader token travels in a header, never a cookie, so credentials stay off.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::PUT, Method::DELETE, Method::POST, Method::PATCH])
        .allow_headers([header::CONTENT_TYPE, HeaderName::from_static("x-otklik-reader")])
        .max_age(Duration::from_secs(86_400))
}

/// One line of plain text: control characters removed, white space collapsed.
pub(crate) fn clean_line(raw: &str) -> String {
    raw.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Text with control characters removed, line breaks and other white space kept.
fn without_controls(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control() || c.is_whitespace()).collect()
}

/// What a page says about itself, kept only if it looks like a page URL and a title.
fn clean_page(page: Option<PageInfo>) -> PageInfo {
    let page = page.unwrap_or_default();
    PageInfo {
        url: page.url.map(|u| clean_line(&u)).filter(|u| u.starts_with("http") && u.len() <= PAGE_URL_MAX),
        title: page
            .title
            .map(|t| clean_line(&t))
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(PAGE_TITLE_MAX).collect()),
    }
}

/// The `limit` query parameter of a paged list: the default page size when absent.
fn page_limit(raw: Option<&str>) -> Result<usize, AppError> {
    match raw {
        None | Some("") => Ok(PAGE_SIZE),
        Some(l) => l.parse().ok().filter(|n| (1..=PAGE_SIZE_MAX).contains(n)).ok_or_else(|| {
            AppError::bad_request(ErrorCode::InvalidQuery, format!("limit must be a number from 1 to {PAGE_SIZE_MAX}"))
        }),
    }
}

/// Refuses a write from a banned reader or address, saying until when.
fn not_banned(
    state: &AppState,
    reader: &crate::ReaderHash,
    client: &crate::client_ip::ClientIp,
) -> Result<(), AppError> {
    match state.bans.check(&reader.0, &client.hash, client.ip, crate::unix_now()) {
        None => Ok(()),
        Some(until) => Err(AppError::client(
            axum::http::StatusCode::FORBIDDEN,
            ErrorCode::Banned,
            format!("the moderators have blocked posting from this browser or network until {}", crate::utc(until)),
        )),
    }
}

/// Counts one write against each limit; the first that is exhausted refuses it with 429 and `Retry-After`.
fn limited(state: &AppState, checks: &[(crate::rate_limit::LimitKind, &[u8; 16])], what: &str) -> Result<(), AppError> {
    for (kind, key) in checks {
        state.limits.check(*kind, key).map_err(|retry_after| AppError::RateLimited {
            retry_after,
            message: format!("too many {what} in a short time; please try again later"),
        })?;
    }
    Ok(())
}

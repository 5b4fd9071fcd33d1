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

use std::time::Duration;

use axum::Router;
use axum::extract::State;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::error::AppError;
use otklik_api::ErrorCode;
use otklik_api::PageInfo;
use otklik_api::limits::{PAGE_TITLE_MAX, PAGE_URL_MAX};

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
    // Publishers measuring their pages (Resource Timing) see the widget's requests with their sizes and
    // phases, not as opaque entries.
    api = api.layer(axum::middleware::map_response(|mut response: axum::response::Response| async move {
        response.headers_mut().insert("timing-allow-origin", HeaderValue::from_static("*"));
        response
    }));
    Router::new()
        .nest(otklik_api::API_PREFIX, api)
        .merge(health::router())
        .merge(pages::router())
        .merge(crate::console::router())
        .merge(crate::assets::router())
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .layer(axum::middleware::from_fn(crate::listener::track))
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &Request<_>| tracing::info_span!("request", method = %req.method(), path = %req.uri().path()),
        ))
        .with_state(state)
}

/// Every response: reads bounded in time, and the headers that keep browsers from guessing content types
/// or leaking the reader's page address to other sites.
///
/// A read that takes too long gets a 503 (a slow client or a stuck database). A write does not: once it
/// has reached the store it commits whatever the client is told, and a 503 would make the reader send it
/// again and post twice. Writes are bounded by the store instead (its queue and busy timeout), and answer
/// with what happened.
async fn guard(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let timeout = state.request_timeout;
    let https = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let mut response = if request.method().is_safe() {
        let started = tokio::time::Instant::now();
        // The timer fires at millisecond ticks: a read that beat the tick but not the limit is late too.
        match tokio::time::timeout(timeout, next.run(request)).await {
            Ok(response) if started.elapsed() <= timeout => response,
            _ => AppError::Unavailable(anyhow::anyhow!("the request took longer than {timeout:?}")).into_response(),
        }
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    // Browsers heed this only over HTTPS: from then on they never reach the console (or anything else
    // here) over plain HTTP, where a session cookie could be read on the way.
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
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

/// One line of plain text: control characters and invisible formatting removed, white space collapsed.
pub(crate) fn clean_line(raw: &str) -> String {
    raw.split(|c: char| c.is_whitespace() || c.is_control())
        .map(|w| w.chars().filter(|c| !is_invisible_format(*c)).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Characters that draw nothing but change how text around them reads: bidirectional overrides and
/// isolates (which can make "moderator" of "rotaredom"), zero-width joiners and spaces, word joiners
/// and byte-order marks. In a name or a title they serve only to impersonate.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}')
}

/// Text with control characters removed, line breaks and other white space kept.
fn without_controls(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control() || c.is_whitespace()).collect()
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

/// Refuses a write from a banned reader or address, saying until when.
fn not_banned(
    state: &AppState,
    reader: &crate::ReaderHash,
    client: &crate::client_ip::ClientIp,
) -> Result<(), AppError> {
    match state.bans.check(&reader.0, client, &state.reader_key, state.clock.now()) {
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

//! The HTTP edge: the router and what every request passes (CORS, the guard, tracing), the extractors,
//! the client address, the listener, the widget's assets, the JSON API, the moderators' console and the
//! pages of the links in messages. It
//! turns requests into calls of the product's rules (`crate::rules`) and their answers into responses.

pub mod admin;
pub mod api;
pub mod assets;
pub mod client_ip;
pub mod console;
pub mod error;
pub mod extract;
pub mod listener;
pub mod mail;
pub mod metrics;
pub mod request_id;
mod route;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

pub use crate::AppState;
use error::AppError;

/// The whole application: API under `/api/v1`, health, widget assets and the demo article.
pub fn router(state: AppState) -> Router {
    let mut api = api::router();
    if !state.allowed_origins.is_empty() {
        api = api.layer(cors(&state.allowed_origins));
    }
    // Publishers measuring their pages (Resource Timing) see the widget's requests with their sizes and
    // phases, not as opaque entries.
    api = api.layer(axum::middleware::map_response(|mut response: axum::response::Response| async move {
        response.headers_mut().insert("timing-allow-origin", HeaderValue::from_static("*"));
        response
    }));
    let mut router = Router::new()
        .nest(otklik_api::API_PREFIX, api)
        .merge(Router::from(api::health::router()))
        .merge(api::pages::router())
        .merge(console::router())
        .merge(mail::router())
        .merge(assets::router());
    // The route template, once routing has found it, for the access log and the metrics (when either is
    // kept at all: this layer costs every request a little, and the bench runs without it).
    let logged = tracing::enabled!(target: "otklik::access", tracing::Level::INFO);
    if logged || crate::metrics::on() {
        router = router.route_layer(route::RouteLayer { logged });
    }
    router
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .layer(axum::middleware::from_fn(listener::track))
        .layer(
            TraceLayer::new_for_http()
                // `id` is the guard's to record: it makes the request's id.
                .make_span_with(|req: &Request<_>| {
                    tracing::info_span!(
                        "request",
                        id = tracing::field::Empty,
                        method = %req.method(),
                        path = %req.uri().path(),
                        route = tracing::field::Empty,
                    )
                })
                // One line per answered request, in its span: the access log.
                .on_response(|response: &axum::response::Response, latency: std::time::Duration, _: &tracing::Span| {
                    let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                    tracing::info!(target: "otklik::access", status = response.status().as_u16(), latency_us, "answered");
                }),
        )
        .with_state(state)
}

/// Every response: its request's id (see `request_id`), reads bounded in time, and the headers that keep
/// browsers from guessing content types or leaking the reader's page address to other sites.
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
    let id = request_id::RequestId::fresh();
    tracing::Span::current().record("id", id.as_str());
    let started = crate::metrics::on().then(|| (std::time::Instant::now(), request.method().clone()));
    let mut response = id.scope(guarded(state, request, next)).await;
    if let Some((started, method)) = started {
        let route = response.extensions().get::<axum::extract::MatchedPath>().map(|path| path.as_str());
        crate::metrics::request(&method, route, response.status().as_u16(), started.elapsed());
    }
    let header = HeaderValue::from_str(id.as_str()).expect("hex is a valid header value");
    response.headers_mut().insert(request_id::HEADER, header);
    response
}

async fn guarded(
    state: AppState,
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

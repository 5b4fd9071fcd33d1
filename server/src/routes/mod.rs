//! The HTTP surface: one module per resource, each exposing `router()`, assembled here.

mod comments;
mod counts;
mod health;
mod pages;
mod reactions;

pub use pages::DEMO_ARTICLE;

use axum::Router;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::error::AppError;

/// The whole application: API under `/api/v1`, health, widget assets and the demo article.
pub fn router(state: AppState) -> Router {
    let mut api = Router::new()
        .merge(reactions::router())
        .merge(comments::router())
        .merge(counts::router())
        .fallback(|| async { AppError::not_found() })
        .method_not_allowed_fallback(|| async { AppError::method_not_allowed() });
    if !state.allowed_origins.is_empty() {
        api = api.layer(cors(&state.allowed_origins));
    }
    Router::new()
        .nest(otklik_api::API_PREFIX, api)
        .merge(health::router())
        .merge(pages::router())
        .merge(crate::assets::router())
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &Request<_>| tracing::info_span!("request", method = %req.method(), path = %req.uri().path()),
        ))
        .with_state(state)
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

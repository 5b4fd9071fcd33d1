//! `/`: the demo article, a news page that embeds the widget exactly as a publisher would.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// The article id the demo page uses; tests and the README refer to it.
pub const DEMO_ARTICLE: &str = "demo-2026-11-volga-ferry";

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(demo))
}

async fn demo() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        include_str!("../../static/demo.html"),
    )
}

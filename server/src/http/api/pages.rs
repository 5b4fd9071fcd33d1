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

const DEMO: &str = include_str!("../../../static/demo.html");

/// The demo page's policy: the strict one the README gives publishers, with the page's one inline
/// stylesheet allowed by its hash.
static DEMO_CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use base64::Engine as _;
    use sha2::Digest as _;
    let style = DEMO.split_once("<style>").and_then(|(_, rest)| rest.split_once("</style>")).map_or("", |(s, _)| s);
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style.as_bytes()));
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'sha256-{hash}'; \
         img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
});

async fn demo() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, DEMO_CSP.as_str()),
        ],
        DEMO,
    )
}

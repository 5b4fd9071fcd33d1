//! `/counts?articles=a,b,c`: comment counts for a list of articles in one request (article listings).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use otklik_api::limits::COUNTS_MAX;
use otklik_api::{ArticleId, CommentCounts, ErrorCode};
use serde::Deserialize;

use crate::AppState;
use crate::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new().route("/counts", get(counts))
}

#[derive(Deserialize)]
struct Params {
    articles: Option<String>,
}

async fn counts(State(state): State<AppState>, Query(params): Query<Params>) -> Result<impl IntoResponse, AppError> {
    let raw = params.articles.unwrap_or_default();
    let mut ids = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = ArticleId::parse(part)
            .map_err(|e| AppError::bad_request(ErrorCode::InvalidArticleId, format!("{part:?}: {e}")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() || ids.len() > COUNTS_MAX {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            format!("articles must list 1 to {COUNTS_MAX} comma-separated article ids"),
        ));
    }
    let counts = state.store.comment_counts(&ids).await?;
    // Listings are read far more often than comments are written: let browsers and proxies reuse briefly.
    Ok(([(header::CACHE_CONTROL, "public, max-age=30")], axum::Json(CommentCounts { counts })))
}

//! `/counts?articles=a,b,c`: comment counts for a list of articles in one request (article listings).

use std::collections::HashSet;

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use otklik_api::limits::{COUNTS_MAX, COUNTS_QUERY_MAX};
use otklik_api::{ArticleId, CommentCounts, ErrorBody, ErrorCode};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::error::AppError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(counts))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// 1 to 100 article ids, comma-separated.
    #[param(required = true, pattern = "^[A-Za-z0-9._:,-]*[A-Za-z0-9._:-][A-Za-z0-9._:,-]*$")]
    articles: Option<String>,
}

/// Visible comments per article, for article listings; cached by browsers and proxies for 30 s.
#[utoipa::path(get, operation_id = "countComments", path = "/counts", tag = "comments", params(Params),
    responses(
        (status = 200, body = CommentCounts),
        (status = 400, description = "`invalid_query`, `invalid_article_id`", body = ErrorBody),
    ))]
async fn counts(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<impl IntoResponse, AppError> {
    let ids = article_list(query, COUNTS_MAX, COUNTS_QUERY_MAX)?;
    let counts = state.store.comment_counts(&ids).await?;
    // Listings are read far more often than comments are written: let browsers and proxies reuse briefly.
    Ok(([(header::CACHE_CONTROL, "public, max-age=30")], axum::Json(CommentCounts { counts })))
}

/// The articles a query's `articles` parameter lists (comma-separated, at least one, at most `max`, each
/// once). Every step is bounded before it starts: the query's length first, then the ids, counted as they
/// are read, so the worst request costs no more than the largest valid one.
pub fn article_list(query: Option<String>, max: usize, query_max: usize) -> Result<Vec<ArticleId>, AppError> {
    let too_many = || {
        AppError::bad_request(
            ErrorCode::InvalidQuery,
            format!("articles must list 1 to {max} comma-separated article ids"),
        )
    };
    let query = query.unwrap_or_default();
    if query.len() > query_max {
        return Err(too_many());
    }
    let params: Params = serde_urlencoded::from_str(&query)
        .map_err(|_| AppError::bad_request(ErrorCode::InvalidQuery, "the query string is not valid".to_owned()))?;
    let raw = params.articles.unwrap_or_default();
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if seen.contains(part) {
            continue;
        }
        if ids.len() == max {
            return Err(too_many());
        }
        let id = ArticleId::parse(part)
            .map_err(|e| AppError::bad_request(ErrorCode::InvalidArticleId, format!("{part:?}: {e}")))?;
        seen.insert(part);
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(too_many());
    }
    Ok(ids)
}

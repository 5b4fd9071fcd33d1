//! `/articles/{article}/reactions`: counts for everyone, and the reader's own reaction.

use axum::Json as JsonBody;
use axum::extract::{DefaultBodyLimit, State};
use otklik_api::limits::REACTION_BODY_MAX;
use otklik_api::{ErrorBody, ReactionsView, SetReaction};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use otklik_api::ArticleId;

use crate::AppState;
use crate::http::api::doc::{ArticlePath, MaybeReaderHeader, ReaderHeader};
use crate::http::api::limited;
use crate::http::client_ip::ClientIpHash;
use crate::http::error::AppError;
use crate::http::extract::{Article, Json, MaybeReader, Reader, Text};
use crate::rules::rate_limit::{LimitKind, pair_key};
use crate::rules::reader::ReaderHash;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(view))
        .routes(routes!(set, clear))
        .layer(DefaultBodyLimit::max(REACTION_BODY_MAX))
}

/// The article's reaction counts, and the reader's own reaction when the request names a reader.
#[utoipa::path(get, operation_id = "getReactions", path = "/articles/{article}/reactions", tag = "reactions",
    params(ArticlePath, MaybeReaderHeader),
    responses(
        (status = 200, body = ReactionsView),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`", body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    Article(article): Article,
    MaybeReader(reader): MaybeReader,
) -> Result<JsonBody<ReactionsView>, AppError> {
    Ok(JsonBody(state.store.reactions(&article, reader).await?))
}

#[utoipa::path(post, operation_id = "viewReactions", path = "/articles/{article}/reactions/view", tag = "reactions",
    params(ArticlePath, MaybeReaderHeader),
    request_body(content = Option<String>, content_type = "text/plain", description = "A reader token, or nothing"),
    responses(
        (status = 200, body = ReactionsView),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `invalid_body`", body = ErrorBody),
    ))]
/// The same answer as `GET`, for a reader named by a text/plain body instead of a header: a request that
/// browsers send from another origin without a CORS preflight (the widget's first read, which a phone
/// would otherwise wait two round trips for). The answer is never cached.
async fn view(
    State(state): State<AppState>,
    Article(article): Article,
    header: MaybeReader,
    Text(body): Text,
) -> Result<impl axum::response::IntoResponse, AppError> {
    let reader = header.or_body(&state, &body)?;
    let view = state.store.reactions(&article, reader).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], JsonBody(view)))
}

/// Sets the reader's reaction (one per reader and article; a new kind replaces the old).
#[utoipa::path(put, operation_id = "setReaction", path = "/articles/{article}/reactions/mine", tag = "reactions",
    params(ArticlePath, ReaderHeader), request_body = SetReaction,
    responses(
        (status = 200, body = ReactionsView),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `missing_reader`, `invalid_body`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    ))]
async fn set(
    State(state): State<AppState>,
    Article(article): Article,
    Reader(reader): Reader,
    ClientIpHash(ip): ClientIpHash,
    Json(body): Json<SetReaction>,
) -> Result<JsonBody<ReactionsView>, AppError> {
    check_limits(&state, &article, &reader, &ip).await?;
    Ok(JsonBody(state.store.set_reaction(&article, reader, Some(body.kind)).await?))
}

/// Takes the reader's reaction back.
#[utoipa::path(delete, operation_id = "clearReaction", path = "/articles/{article}/reactions/mine", tag = "reactions",
    params(ArticlePath, ReaderHeader),
    responses(
        (status = 200, body = ReactionsView),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `missing_reader`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    ))]
async fn clear(
    State(state): State<AppState>,
    Article(article): Article,
    Reader(reader): Reader,
    ClientIpHash(ip): ClientIpHash,
) -> Result<JsonBody<ReactionsView>, AppError> {
    check_limits(&state, &article, &reader, &ip).await?;
    Ok(JsonBody(state.store.set_reaction(&article, reader, None).await?))
}

/// Per reader and per address, and per address on this article: one machine minting reader tokens
/// cannot move an article's counts by more than `reactions.article_ip` an hour.
async fn check_limits(
    state: &AppState,
    article: &ArticleId,
    reader: &ReaderHash,
    ip: &[u8; 16],
) -> Result<(), AppError> {
    let pair = pair_key(ip, article.as_str());
    let checks =
        [(LimitKind::ReactionReader, &reader.0), (LimitKind::ReactionIp, ip), (LimitKind::ReactionArticleIp, &pair)];
    let refused = limited(state, &checks, "reactions").await;
    if refused.is_err() {
        state.limits.count_refusal(article.as_str());
    }
    refused
}

//! `/articles/{article}/reactions`: counts for everyone, and the reader's own reaction.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use axum::{Json as JsonBody, Router};
use otklik_api::limits::REACTION_BODY_MAX;
use otklik_api::{ReactionsView, SetReaction};

use otklik_api::ArticleId;

use crate::AppState;
use crate::http::api::limited;
use crate::http::client_ip::ClientIpHash;
use crate::http::error::AppError;
use crate::http::extract::{Article, Json, MaybeReader, Reader};
use crate::rules::rate_limit::{LimitKind, pair_key};
use crate::rules::reader::ReaderHash;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/articles/{article}/reactions", get(list))
        .route("/articles/{article}/reactions/view", axum::routing::post(view))
        .route("/articles/{article}/reactions/mine", axum::routing::put(set).delete(clear))
        .layer(DefaultBodyLimit::max(REACTION_BODY_MAX))
}

async fn list(
    State(state): State<AppState>,
    Article(article): Article,
    MaybeReader(reader): MaybeReader,
) -> Result<JsonBody<ReactionsView>, AppError> {
    Ok(JsonBody(state.store.reactions(&article, reader).await?))
}

/// The same answer as `GET`, for a reader named by a text/plain body instead of a header: a request that
/// browsers send from another origin without a CORS preflight (the widget's first read, which a phone
/// would otherwise wait two round trips for). The answer is never cached.
async fn view(
    State(state): State<AppState>,
    Article(article): Article,
    header: MaybeReader,
    body: String,
) -> Result<impl axum::response::IntoResponse, AppError> {
    let reader = header.or_body(&state, &body)?;
    let view = state.store.reactions(&article, reader).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], JsonBody(view)))
}

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

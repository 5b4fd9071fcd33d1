//! `/articles/{article}/reactions`: counts for everyone, and the reader's own reaction.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::get;
use axum::{Json as JsonBody, Router};
use otklik_api::limits::REACTION_BODY_MAX;
use otklik_api::{ReactionsView, SetReaction};

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Article, Json, MaybeReader, Reader};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/articles/{article}/reactions", get(list))
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

async fn set(
    State(state): State<AppState>,
    Article(article): Article,
    Reader(reader): Reader,
    Json(body): Json<SetReaction>,
) -> Result<JsonBody<ReactionsView>, AppError> {
    Ok(JsonBody(state.store.set_reaction(&article, reader, Some(body.kind)).await?))
}

async fn clear(
    State(state): State<AppState>,
    Article(article): Article,
    Reader(reader): Reader,
) -> Result<JsonBody<ReactionsView>, AppError> {
    Ok(JsonBody(state.store.set_reaction(&article, reader, None).await?))
}

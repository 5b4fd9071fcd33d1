//! `/admin/comments`: the moderation queues and the actions on a comment, for the editors' API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonBody, Router};
use otklik_api::{CommentId, ErrorCode, Moderate, Queue, QueuePage};
use serde::Deserialize;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::error::AppError;
use crate::http::extract::{Json, Paging, Query, named};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/comments", get(list)).route("/admin/comments/{id}", post(act))
}

#[derive(Deserialize)]
struct Which {
    #[serde(default, deserialize_with = "named")]
    queue: Option<Queue>,
}

async fn list(
    _: Editor,
    State(state): State<AppState>,
    Query(which): Query<Which>,
    Query(paging): Query<Paging>,
) -> Result<JsonBody<QueuePage>, AppError> {
    let (queue, before) = (which.queue.unwrap_or_default(), paging.before.map(CommentId));
    Ok(JsonBody(state.store.queue(queue, before, paging.limit()).await?))
}

/// `{"action": "approve"}` and the like: 200 with the comment as it now stands, or 204 once deleted.
async fn act(
    _: Editor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Moderate>,
) -> Result<Response, AppError> {
    let id = id.parse().map(CommentId).map_err(|_| {
        AppError::client(StatusCode::NOT_FOUND, ErrorCode::CommentNotFound, "there is no comment with that id")
    })?;
    Ok(match crate::rules::moderation::moderate(&state, id, body.action, Editor::WHO).await? {
        Some(item) => JsonBody(item).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

//! `/admin/comments`: the moderation queues and the actions on a comment, for the editors' API.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json as JsonBody, Router};
use otklik_api::{CommentId, ErrorCode, Moderate, Queue, QueuePage};
use serde::Deserialize;

use crate::AppState;
use crate::admin::Editor;
use crate::error::AppError;
use crate::extract::Json;
use crate::routes::page_limit;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/comments", get(list)).route("/admin/comments/{id}", post(act))
}

#[derive(Deserialize)]
struct ListParams {
    queue: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

async fn list(
    _: Editor,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<JsonBody<QueuePage>, AppError> {
    let bad = |what: &str| AppError::bad_request(ErrorCode::InvalidQuery, what.to_owned());
    let queue = match params.queue.as_deref() {
        None | Some("") => Queue::default(),
        Some(q) => {
            Queue::parse(q).ok_or_else(|| bad("queue must be attention, new, pending, flagged, hidden or all"))?
        }
    };
    let before = match params.before.as_deref() {
        None | Some("") => None,
        Some(b) => Some(CommentId(b.parse().map_err(|_| bad("before must be a comment id"))?)),
    };
    let limit = page_limit(params.limit.as_deref())?;
    Ok(JsonBody(state.store.queue(queue, before, limit).await?))
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
    Ok(match crate::moderation::moderate(&state, id, body.action, Editor::WHO).await? {
        Some(item) => JsonBody(item).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

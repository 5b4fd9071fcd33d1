//! `/admin/comments`: the moderation queues and the actions on a comment, for the editors' API.

use axum::Json as JsonBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use otklik_api::{CommentId, ErrorBody, ErrorCode, Moderate, Queue, QueueItem, QueuePage};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::api::doc::IdPath;
use crate::http::error::AppError;
use crate::http::extract::{Json, Paging, Query, named};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(act))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Which {
    /// Which comments: `attention` (pending or flagged, the default), `new`, `pending`, `flagged`, `hidden`, `all`.
    #[serde(default, deserialize_with = "named")]
    #[param(schema_with = crate::http::api::doc::queue)]
    queue: Option<Queue>,
}

/// A moderation queue, newest first.
#[utoipa::path(get, operation_id = "listModerationQueue", path = "/admin/comments", tag = "editors", security(("editor_token" = [])),
    params(Which, crate::http::extract::Paging),
    responses(
        (status = 200, body = QueuePage),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
    ))]
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
#[utoipa::path(post, operation_id = "moderateComment", path = "/admin/comments/{id}", tag = "editors", security(("editor_token" = [])),
    params(IdPath), request_body = Moderate,
    responses(
        (status = 200, description = "The comment as it now stands", body = QueueItem),
        (status = 204, description = "Deleted"),
        (status = 400, description = "`invalid_body`", body = ErrorBody),
        (status = 404, description = "`comment_not_found`; `not_found` when the editors' API is off", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
    ))]
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

//! `/admin/readers`: erasing the data of the reader behind a comment, for the editors' API (a reader who
//! asks by e-mail, without their browser's token).

use axum::Json as JsonBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use otklik_api::{CommentId, Erased, ErrorBody, ErrorCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::api::doc::IdPath;
use crate::http::error::AppError;
use crate::rules::erasure::{self, EraseError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(erase_by_comment))
}

/// Erases everything of the reader who wrote comment `id`, as `DELETE /me` would for them; recorded in
/// the audit log.
#[utoipa::path(delete, operation_id = "eraseReaderByComment", path = "/admin/readers/by-comment/{id}",
    tag = "editors", security(("editor_token" = [])), params(IdPath),
    responses(
        (status = 200, description = "What was erased", body = Erased),
        (status = 404, description = "`comment_not_found`: no such comment, or it names no reader any more; `not_found` when the editors' API is off", body = ErrorBody),
    ))]
async fn erase_by_comment(
    _: Editor,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<JsonBody<Erased>, AppError> {
    let not_found = || {
        AppError::client(StatusCode::NOT_FOUND, ErrorCode::CommentNotFound, "no comment with that id names a reader")
    };
    let id = id.parse().map(CommentId).map_err(|_| not_found())?;
    match erasure::erase_by_comment(&state, id, Editor::WHO).await {
        Ok(erased) => Ok(JsonBody(erased)),
        Err(EraseError::NoReader) => Err(not_found()),
        Err(EraseError::Store(err)) => Err(err.into()),
    }
}

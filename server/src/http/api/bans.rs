//! `/admin/bans`: bans in force, adding one, lifting one, for the editors' API.

use axum::Json as JsonBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use otklik_api::{Ban, ErrorBody, ErrorCode, NewBan};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::api::doc::IdPath;
use crate::http::error::AppError;
use crate::http::extract::Json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, add)).routes(routes!(lift))
}

/// The bans in force.
#[utoipa::path(get, operation_id = "listBans", path = "/admin/bans", tag = "editors", security(("editor_token" = [])),
    responses(
        (status = 200, body = Vec<Ban>),
    ))]

async fn list(_: Editor, State(state): State<AppState>) -> Result<JsonBody<Vec<Ban>>, AppError> {
    Ok(JsonBody(state.store.bans().await?.into_iter().map(|b| b.ban).collect()))
}

/// Bans the reader or the address behind a comment, or an address range, for some days.
#[utoipa::path(post, operation_id = "addBan", path = "/admin/bans", tag = "editors", security(("editor_token" = [])), request_body = NewBan,
    responses(
        (status = 201, body = Ban, links(("lift" = (operation_id = "liftBan", parameters(("id" = "$response.body#/id")))))),
        (status = 400, description = "`invalid_body`", body = ErrorBody),
        (status = 404, description = "`comment_not_found`; `not_found` when the editors' API is off", body = ErrorBody),
        (status = 409, description = "`invalid_body`: the comment's address is no longer kept", body = ErrorBody),
        (status = 422, description = "`invalid_body`: days, reason, range or target not valid", body = ErrorBody),
    ))]
async fn add(
    _: Editor,
    State(state): State<AppState>,
    Json(body): Json<NewBan>,
) -> Result<(StatusCode, JsonBody<Ban>), AppError> {
    Ok((StatusCode::CREATED, JsonBody(crate::rules::moderation::ban(&state, body, Editor::WHO).await?)))
}

/// Lifts a ban.
#[utoipa::path(delete, operation_id = "liftBan", path = "/admin/bans/{id}", tag = "editors", security(("editor_token" = [])), params(IdPath),
    responses(
        (status = 204, description = "Lifted"),
        (status = 404, description = "`not_found`: no ban in force with that id, or the editors' API is off", body = ErrorBody),
    ))]
async fn lift(_: Editor, State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    let id = id
        .parse()
        .map_err(|_| AppError::client(StatusCode::NOT_FOUND, ErrorCode::NotFound, "there is no ban with that id"))?;
    crate::rules::moderation::lift(&state, id, Editor::WHO).await?;
    Ok(StatusCode::NO_CONTENT)
}

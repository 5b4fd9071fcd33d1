//! `/admin/bans`: bans in force, adding one, lifting one, for the editors' API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json as JsonBody, Router};
use otklik_api::{Ban, ErrorCode, NewBan};

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::error::AppError;
use crate::http::extract::Json;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/bans", get(list).post(add)).route("/admin/bans/{id}", delete(lift))
}

async fn list(_: Editor, State(state): State<AppState>) -> Result<JsonBody<Vec<Ban>>, AppError> {
    Ok(JsonBody(state.store.bans().await?.into_iter().map(|b| b.ban).collect()))
}

async fn add(
    _: Editor,
    State(state): State<AppState>,
    Json(body): Json<NewBan>,
) -> Result<(StatusCode, JsonBody<Ban>), AppError> {
    Ok((StatusCode::CREATED, JsonBody(crate::rules::moderation::ban(&state, body, Editor::WHO).await?)))
}

async fn lift(_: Editor, State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    let id = id
        .parse()
        .map_err(|_| AppError::client(StatusCode::NOT_FOUND, ErrorCode::NotFound, "there is no ban with that id"))?;
    crate::rules::moderation::lift(&state, id, Editor::WHO).await?;
    Ok(StatusCode::NO_CONTENT)
}

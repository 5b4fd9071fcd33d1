//! `/admin/audit`: the moderators' audit log, newest first, for the editors' API.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json as JsonBody, Router};
use otklik_api::{AuditPage, ErrorCode};
use serde::Deserialize;

use crate::AppState;
use crate::admin::Editor;
use crate::error::AppError;
use crate::routes::page_limit;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(list))
}

#[derive(Deserialize)]
struct Params {
    before: Option<String>,
    limit: Option<String>,
}

async fn list(
    _: Editor,
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> Result<JsonBody<AuditPage>, AppError> {
    let before = match params.before.as_deref() {
        None | Some("") => None,
        Some(b) => Some(
            b.parse()
                .map_err(|_| AppError::bad_request(ErrorCode::InvalidQuery, "before must be an audit entry id"))?,
        ),
    };
    Ok(JsonBody(state.store.audit(before, page_limit(params.limit.as_deref())?).await?))
}

//! `/admin/audit`: the moderators' audit log, newest first, for the editors' API.

use axum::extract::State;
use axum::routing::get;
use axum::{Json as JsonBody, Router};
use otklik_api::AuditPage;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::error::AppError;
use crate::http::extract::{Paging, Query};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(list))
}

async fn list(
    _: Editor,
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<JsonBody<AuditPage>, AppError> {
    Ok(JsonBody(state.store.audit(paging.before, paging.limit()).await?))
}

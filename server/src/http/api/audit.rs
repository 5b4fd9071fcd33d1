//! `/admin/audit`: the moderators' audit log, newest first, for the editors' API.

use axum::extract::State;
use axum::routing::get;
use axum::{Json as JsonBody, Router};
use otklik_api::AuditPage;
use serde::Deserialize;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::error::AppError;
use crate::http::extract::{Limit, Query, parsed};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(list))
}

#[derive(Deserialize)]
struct Params {
    #[serde(default, deserialize_with = "parsed")]
    before: Option<i64>,
    #[serde(default, deserialize_with = "parsed")]
    limit: Option<Limit>,
}

async fn list(
    _: Editor,
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> Result<JsonBody<AuditPage>, AppError> {
    Ok(JsonBody(state.store.audit(params.before, params.limit.unwrap_or_default().0).await?))
}

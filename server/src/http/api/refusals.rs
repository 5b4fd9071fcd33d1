//! `/admin/refusals`: what the rate limits turned away, for the editors (vote stuffing shows here).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::AppState;
use crate::http::admin::Editor;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/refusals", get(refusals))
}

/// Refused reaction writes per article since start-up: `{"reactions": {"article": 450}}`.
async fn refusals(_: Editor, State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "reactions": state.limits.refusals() }))
}

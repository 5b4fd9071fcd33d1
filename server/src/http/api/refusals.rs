//! `/admin/refusals`: what the rate limits turned away, for the editors (vote stuffing shows here).

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::admin::Editor;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(refusals))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Refusals {
    /// Refused reaction writes per article id.
    reactions: std::collections::BTreeMap<String, u64>,
}

/// Refused reaction writes per article since start-up: `{"reactions": {"article": 450}}`.
#[utoipa::path(get, operation_id = "listRefusals", path = "/admin/refusals", tag = "editors", security(("editor_token" = [])),
    responses(
        (status = 200, body = Refusals),
    ))]
async fn refusals(_: Editor, State(state): State<AppState>) -> Json<Refusals> {
    Json(Refusals { reactions: state.limits.refusals() })
}

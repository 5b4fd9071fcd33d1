//! `/healthz`: 200 when the database answers both reads and writes, 503 when it does not; for load
//! balancers and probes.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// A probe that waits longer than this on the database counts it as down: a writer stuck behind a lock
/// serves no one, however healthy its read pool looks.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Whether this node can serve: its database answers a read and a write within 3 s.
#[utoipa::path(get, operation_id = "health", path = "/healthz", tag = "meta", responses(
    (status = 200, description = "`ok`", content_type = "text/plain", body = String),
    (status = 503, description = "`database unavailable`", content_type = "text/plain", body = String),
))]
async fn health(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(PROBE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n"),
        Ok(Err(err)) => {
            tracing::warn!(error = %format!("{err:#}"), "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
        Err(_) => {
            tracing::warn!("health check: the database did not answer in {PROBE_TIMEOUT:?}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}

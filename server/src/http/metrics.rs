//! The metrics listener's one route, `/metrics`: Prometheus text, served only on the address
//! `OTKLIK_METRICS_LISTEN` names, never on the public listener.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;
use crate::metrics::{self, Sampled};

pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    let webhook_backlog_secs = match state.outbox.active() {
        false => None,
        true => match state.store.outbox_oldest().await {
            Ok(oldest) => Some(oldest.map_or(0, |at| (crate::unix_now() - at).max(0))),
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "reading the webhook backlog for the metrics");
                None
            }
        },
    };
    let sampled = Sampled { pools: state.store.pools(), streams: state.live.open_streams(), webhook_backlog_secs };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics::render(&sampled))
}

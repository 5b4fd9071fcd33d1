//! `/admin/audit`: the moderators' audit log, newest first, for the editors' API.

use axum::Json as JsonBody;
use axum::extract::State;
use otklik_api::{AuditPage, ErrorBody};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::error::AppError;
use crate::http::extract::{Paging, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// What the moderators did, newest first.
#[utoipa::path(get, operation_id = "listAudit", path = "/admin/audit", tag = "editors", security(("editor_token" = [])),
    params(crate::http::extract::Paging),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
    ))]

async fn list(
    _: Editor,
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<JsonBody<AuditPage>, AppError> {
    Ok(JsonBody(state.store.audit(paging.before, paging.limit()).await?))
}

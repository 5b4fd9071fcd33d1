//! `/me`: what the server keeps about the reader who asks (`X-Otklik-Reader`), and erasing it.

use axum::Json as JsonBody;
use axum::extract::State;
use otklik_api::{Erased, ErrorBody, ReaderData};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::api::doc::ReaderHeader;
use crate::http::error::AppError;
use crate::http::extract::Reader;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, erase))
}

/// Everything kept that names the reader: their comments (in any state), reactions, likes, flags and
/// typo reports. Never cached.
#[utoipa::path(get, operation_id = "getMyData", path = "/me", tag = "readers", params(ReaderHeader),
    responses(
        (status = 200, body = ReaderData),
        (status = 400, description = "`invalid_reader`, `missing_reader`", body = ErrorBody),
    ))]
async fn show(
    State(state): State<AppState>,
    Reader(reader): Reader,
) -> Result<impl axum::response::IntoResponse, AppError> {
    let data = state.store.reader_data(&reader).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], JsonBody(data)))
}

/// Erases it all, and moves every count with it. Comments with replies stay as nameless, empty
/// placeholders, linked to no one, so that the replies keep their place.
#[utoipa::path(delete, operation_id = "eraseMyData", path = "/me", tag = "readers", params(ReaderHeader),
    responses(
        (status = 200, description = "What was erased", body = Erased),
        (status = 400, description = "`invalid_reader`, `missing_reader`", body = ErrorBody),
    ))]
async fn erase(State(state): State<AppState>, Reader(reader): Reader) -> Result<JsonBody<Erased>, AppError> {
    Ok(JsonBody(crate::rules::erasure::erase(&state, &reader).await?))
}

//! `/articles/{article}/typos` for readers, and `/admin/typos` for editors.

use axum::Json as JsonBody;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use otklik_api::limits::{TYPO_BODY_MAX, TYPO_FRAGMENT_MAX, TYPO_NOTE_MAX};
use otklik_api::{
    ErrorBody, ErrorCode, InvalidTypo, NewTypo, SetTypoStatus, TypoId, TypoList, TypoReceipt, TypoReport, TypoStatus,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::api::doc::{ArticlePath, IdPath, ReaderHeader};
use crate::http::api::{clean_page, refused};
use crate::http::client_ip::ClientIp;
use crate::http::error::AppError;
use crate::http::extract::{Article, Json, Limit, Query, Reader, parsed};
use crate::rules::editors::{self, TypoStatusError};
use crate::rules::reports::{self, NewReport, ReportError};
use crate::store::TypoQuery;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(list))
        .routes(routes!(set_status))
        .layer(DefaultBodyLimit::max(TYPO_BODY_MAX))
}

/// Reports a typo: the selected fragment with some context around it. A report of a fragment already
/// reported (and still open) is merged into that one (200, `merged`).
#[utoipa::path(post, operation_id = "reportTypo", path = "/articles/{article}/typos", tag = "typos",
    params(ArticlePath, ReaderHeader), request_body = NewTypo,
    responses(
        (status = 201, description = "A new report", body = TypoReceipt),
        (status = 200, description = "Merged into an open report of the same fragment", body = TypoReceipt),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `missing_reader`, `invalid_body`", body = ErrorBody),
        (status = 403, description = "`banned`", body = ErrorBody),
        (status = 422, description = "`invalid_body`, `invalid_typo`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    ))]
async fn report(
    State(state): State<AppState>,
    Article(article): Article,
    Reader(reader): Reader,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<NewTypo>,
) -> Result<(StatusCode, JsonBody<TypoReceipt>), AppError> {
    let page = clean_page(&state, &headers, body.page);
    let NewTypo { before, fragment, after, note, .. } = body;
    let new = NewReport { article, reader, client, before, fragment, after, note, page };
    let receipt = reports::report(&state, new).await.map_err(|e| {
        let invalid =
            |message: String| AppError::client(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidTypo, message);
        match e {
            ReportError::Fragment(InvalidTypo::Empty) => invalid("the fragment is empty".to_owned()),
            ReportError::Fragment(InvalidTypo::TooLong) => {
                invalid(format!("the fragment may be at most {TYPO_FRAGMENT_MAX} characters: select just the mistake"))
            }
            ReportError::NoteTooLong => invalid(format!("the note may be at most {TYPO_NOTE_MAX} characters")),
            ReportError::Refused(refusal) => refused(refusal, "typo reports"),
            ReportError::Store(e) => e.into(),
        }
    })?;
    let status = if receipt.merged { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, JsonBody(receipt)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Reports with this status, or `all` (also when not given).
    #[serde(default, deserialize_with = "parsed")]
    #[param(schema_with = crate::http::api::doc::typo_status)]
    status: Option<StatusFilter>,
    /// The `next` of the page before.
    #[serde(default, deserialize_with = "parsed")]
    #[param(schema_with = crate::http::api::doc::id)]
    cursor: Option<i64>,
    /// Reports per page: 1 to 100, 20 when not given.
    #[serde(default, deserialize_with = "parsed")]
    #[param(schema_with = crate::http::api::doc::limit)]
    limit: Option<Limit>,
}

/// `status=`: one status, or `all` (also when not given).
struct StatusFilter(Option<TypoStatus>);

impl std::str::FromStr for StatusFilter {
    type Err = &'static str;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "all" => Ok(Self(None)),
            s => TypoStatus::parse(s).map(|s| Self(Some(s))).ok_or("status must be new, fixed, rejected or all"),
        }
    }
}

/// Typo reports, newest first.
#[utoipa::path(get, operation_id = "listTypos", path = "/admin/typos", tag = "editors", security(("editor_token" = [])), params(ListParams),
    responses(
        (status = 200, body = TypoList),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
    ))]
async fn list(
    _: Editor,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<JsonBody<TypoList>, AppError> {
    let query = TypoQuery {
        status: params.status.and_then(|s| s.0),
        before: params.cursor.map(TypoId),
        limit: params.limit.unwrap_or_default().0,
    };
    Ok(JsonBody(state.store.typos(&query).await?))
}

/// Marks a typo report fixed or rejected (or new again).
#[utoipa::path(patch, operation_id = "setTypoStatus", path = "/admin/typos/{id}", tag = "editors", security(("editor_token" = [])),
    params(IdPath), request_body = SetTypoStatus,
    responses(
        (status = 200, body = TypoReport),
        (status = 400, description = "`invalid_body`", body = ErrorBody),
        (status = 404, description = "`typo_not_found`; `not_found` when the editors' API is off", body = ErrorBody),
        (status = 409, description = "`invalid_typo`: another open report covers the same fragment", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
    ))]
async fn set_status(
    _: Editor,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<SetTypoStatus>,
) -> Result<JsonBody<TypoReport>, AppError> {
    let not_found = || AppError::client(StatusCode::NOT_FOUND, ErrorCode::TypoNotFound, "there is no such typo report");
    let id = id.parse().map(TypoId).map_err(|_| not_found())?;
    match editors::set_typo_status(&state, id, body.status, Editor::WHO).await {
        Ok(report) => Ok(JsonBody(report)),
        Err(TypoStatusError::NotFound) => Err(not_found()),
        Err(TypoStatusError::Conflict) => Err(AppError::client(
            StatusCode::CONFLICT,
            ErrorCode::InvalidTypo,
            "another open report covers the same fragment; close that one instead",
        )),
        Err(TypoStatusError::Store(e)) => Err(e.into()),
    }
}

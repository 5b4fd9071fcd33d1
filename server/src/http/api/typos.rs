//! `/articles/{article}/typos` for readers, and `/admin/typos` for editors.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, patch, post};
use axum::{Json as JsonBody, Router};
use otklik_api::limits::{TYPO_BODY_MAX, TYPO_FRAGMENT_MAX, TYPO_NOTE_MAX};
use otklik_api::{
    ErrorCode, InvalidTypo, NewTypo, SetTypoStatus, TypoId, TypoList, TypoReceipt, TypoReport, TypoStatus,
};
use serde::Deserialize;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::api::{clean_page, refused};
use crate::http::client_ip::ClientIp;
use crate::http::error::AppError;
use crate::http::extract::{Article, Json, Limit, Query, Reader, parsed};
use crate::rules::editors::{self, TypoStatusError};
use crate::rules::reports::{self, NewReport, ReportError};
use crate::store::TypoQuery;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/articles/{article}/typos", post(report))
        .route("/admin/typos", get(list))
        .route("/admin/typos/{id}", patch(set_status))
        .layer(DefaultBodyLimit::max(TYPO_BODY_MAX))
}

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

#[derive(Deserialize)]
struct ListParams {
    #[serde(default, deserialize_with = "parsed")]
    status: Option<StatusFilter>,
    #[serde(default, deserialize_with = "parsed")]
    cursor: Option<i64>,
    #[serde(default, deserialize_with = "parsed")]
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

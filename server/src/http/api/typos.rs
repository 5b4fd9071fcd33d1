//! `/articles/{article}/typos` for readers, and `/admin/typos` for editors.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, patch, post};
use axum::{Json as JsonBody, Router};
use otklik_api::limits::{TYPO_BODY_MAX, TYPO_NOTE_MAX};
use otklik_api::{
    ErrorCode, InvalidTypo, NewTypo, SetTypoStatus, TypoContext, TypoId, TypoList, TypoReceipt, TypoReport, TypoStatus,
};
use serde::Deserialize;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::api::{clean_page, limited, not_banned};
use crate::http::client_ip::ClientIp;
use crate::http::error::AppError;
use crate::http::extract::{Article, Json, Limit, Query, Reader, parsed};
use crate::rules::editors::{self, TypoStatusError};
use crate::rules::rate_limit::LimitKind;
use crate::rules::text::without_controls;
use crate::store::{NewTypoCmd, TypoQuery};

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
    let [before, fragment, after] = [&body.before, &body.fragment, &body.after].map(|s| without_controls(s));
    let context = TypoContext::new(&before, &fragment, &after).map_err(|e| {
        AppError::client(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidTypo,
            match e {
                InvalidTypo::Empty => "the fragment is empty".to_owned(),
                InvalidTypo::TooLong => format!(
                    "the fragment may be at most {} characters: select just the mistake",
                    otklik_api::limits::TYPO_FRAGMENT_MAX
                ),
            },
        )
    })?;
    let note = body.note.as_deref().map(without_controls).map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > TYPO_NOTE_MAX) {
        return Err(AppError::client(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidTypo,
            format!("the note may be at most {TYPO_NOTE_MAX} characters"),
        ));
    }
    // Counted only for reports that could be stored: a reader fixing a bad request is not penalised.
    let ip = client.hash;
    not_banned(&state, &reader, &client)?;
    limited(&state, &[(LimitKind::TypoReader, &reader.0), (LimitKind::TypoIp, &ip)], "typo reports")?;
    let page = clean_page(&state, &headers, body.page);
    let announce = state.webhook.is_some();
    let cmd = NewTypoCmd { article, reader, ip, context, note, page, announce };
    let receipt = state.store.report_typo(cmd).await?;
    if let (Some(hook), false) = (&state.webhook, receipt.merged) {
        hook.wake();
    }
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

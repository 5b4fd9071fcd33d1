//! Request extractors that turn malformed input into `AppError`s with the API's error body.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use otklik_api::limits::{PAGE_SIZE, PAGE_SIZE_MAX};
use otklik_api::{ArticleId, ErrorCode, READER_HEADER, ReaderToken};
use serde::de::{DeserializeOwned, Error as _, IntoDeserializer as _};
use serde::{Deserialize as _, Deserializer};

use crate::AppState;
use crate::http::error::AppError;
use crate::rules::reader::ReaderHash;

/// The `{article}` path segment, validated.
pub struct Article(pub ArticleId);

impl<S: Send + Sync> FromRequestParts<S> for Article {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // By name, so that routes with further segments (`{article}/comments/{id}`) work too.
        let invalid = || AppError::bad_request(ErrorCode::InvalidArticleId, "the article id in the path is not valid");
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(|_| invalid())?;
        let raw = params.iter().find(|(name, _)| *name == "article").map(|(_, v)| v).ok_or_else(invalid)?;
        ArticleId::parse(raw).map(Self).map_err(|e| AppError::bad_request(ErrorCode::InvalidArticleId, e.to_string()))
    }
}

/// The reader, if the request names one: `X-Otklik-Reader`, already reduced to its keyed hash.
pub struct MaybeReader(pub Option<ReaderHash>);

impl MaybeReader {
    /// For the `POST …/view` reads: the reader named by a text/plain body (the form browsers send from
    /// another origin without a CORS preflight, and that keeps the token out of URLs and logs), else by the
    /// header. An empty body asks as no one in particular.
    pub fn or_body(self, state: &AppState, body: &str) -> Result<Option<ReaderHash>, AppError> {
        match body.trim() {
            "" => Ok(self.0),
            token => ReaderToken::parse(token).map(|t| Some(state.reader_key.hash(&t))).map_err(|_| {
                AppError::bad_request(ErrorCode::InvalidReader, "the body must be a reader token or nothing")
            }),
        }
    }
}

/// The reader, required (writes).
pub struct Reader(pub ReaderHash);

impl FromRequestParts<AppState> for MaybeReader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(READER_HEADER) else {
            return Ok(Self(None));
        };
        let token = value.to_str().ok().and_then(|v| ReaderToken::parse(v.trim()).ok()).ok_or_else(|| {
            AppError::bad_request(
                ErrorCode::InvalidReader,
                format!("{READER_HEADER} must be 128 bits as 22 base64url or 32 hex characters"),
            )
        })?;
        Ok(Self(Some(state.reader_key.hash(&token))))
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match MaybeReader::from_request_parts(parts, state).await?.0 {
            Some(hash) => Ok(Self(hash)),
            None => Err(AppError::bad_request(
                ErrorCode::MissingReader,
                format!("this request needs the {READER_HEADER} header"),
            )),
        }
    }
}

/// `axum::extract::Query`, with a query that does not fit `T` answered `400 invalid_query` in the API's
/// error body; serde's message names the parameter and what it must be.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Self)
            .map_err(|e| AppError::bad_request(ErrorCode::InvalidQuery, format!("the query is not valid: {e}")))
    }
}

/// For a query parameter (`#[serde(default, deserialize_with = "parsed")]`): absent or empty is `None`,
/// anything else must parse as `T`.
pub fn parsed<'de, D: Deserializer<'de>, T: std::str::FromStr>(d: D) -> Result<Option<T>, D::Error>
where
    T::Err: std::fmt::Display,
{
    match Option::<String>::deserialize(d)?.as_deref() {
        None | Some("") => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(D::Error::custom),
    }
}

/// As [`parsed`], for the API's named values (the serde names of an enum, such as `newest`).
pub fn named<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    match Option::<String>::deserialize(d)?.as_deref() {
        None | Some("") => Ok(None),
        Some(raw) => {
            T::deserialize(raw.into_deserializer()).map(Some).map_err(|e: serde::de::value::Error| D::Error::custom(e))
        }
    }
}

/// `before` and `limit`: how the editors' lists page, newest first (a list with more parameters takes
/// them in a second `Query`; each ignores the other's).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Entries older than this id (the `next` of the page before).
    #[serde(default, deserialize_with = "parsed")]
    #[param(schema_with = crate::http::api::doc::id)]
    pub before: Option<i64>,
    /// Entries per page: 1 to 100, 20 when not given.
    #[serde(default, deserialize_with = "parsed")]
    #[param(schema_with = crate::http::api::doc::limit)]
    limit: Option<Limit>,
}

impl Paging {
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or_default().0
    }
}

/// The `limit` of a paged list: 1 to [`PAGE_SIZE_MAX`], [`PAGE_SIZE`] when not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(pub usize);

impl Default for Limit {
    fn default() -> Self {
        Self(PAGE_SIZE)
    }
}

impl std::str::FromStr for Limit {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.parse()
            .ok()
            .filter(|n| (1..=PAGE_SIZE_MAX).contains(n))
            .map(Self)
            .ok_or_else(|| format!("limit must be a number from 1 to {PAGE_SIZE_MAX}"))
    }
}

/// `axum::Json`, with its rejections mapped onto the API's error codes and statuses.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(json_type);
        if !json {
            return Err(json_rejection(JsonRejection::MissingJsonContentType(Default::default())));
        }
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| unread(e.status(), "the request body could not be read"))?;
        // Every body of this API is an object; serde would also take a struct's fields from an array.
        if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(AppError::client(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidBody,
                "the request body must be a JSON object",
            ));
        }
        match axum::Json::<T>::from_bytes(&body) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A text body (the `POST …/view` reads'), with its rejections in the API's error body.
pub struct Text(pub String);

impl<S: Send + Sync> FromRequest<S> for Text {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        String::from_request(req, state)
            .await
            .map(Self)
            .map_err(|e| unread(e.status(), "the request body must be UTF-8 text"))
    }
}

/// A body that could not be read: over the route's limit, or else `why`.
fn unread(status: StatusCode, why: &str) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::client(status, ErrorCode::PayloadTooLarge, "the request body is too large")
    } else {
        AppError::bad_request(ErrorCode::InvalidBody, why)
    }
}

/// `application/json`, or a type of JSON (`application/problem+json`), with parameters or without.
fn json_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    let status = rejection.status();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => unread(status, ""),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::client(
            status,
            ErrorCode::UnsupportedMediaType,
            "the request body must be JSON with Content-Type: application/json",
        ),
        _ => {
            // serde's text names the offending field or value, which is exactly what the caller needs.
            let detail = match &rejection {
                JsonRejection::JsonDataError(e) => std::error::Error::source(e).map(ToString::to_string),
                JsonRejection::JsonSyntaxError(e) => std::error::Error::source(e).map(ToString::to_string),
                _ => None,
            };
            let message = match detail {
                Some(d) => format!("the request body is not valid: {d}"),
                None => "the request body is not valid JSON".to_owned(),
            };
            let status = if status == StatusCode::UNPROCESSABLE_ENTITY { status } else { StatusCode::BAD_REQUEST };
            AppError::client(status, ErrorCode::InvalidBody, message)
        }
    }
}

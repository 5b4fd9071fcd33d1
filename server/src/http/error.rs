//! `AppError`: every way a request can fail, and the one JSON body each failure answers with.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use otklik_api::limits::{BAN_DAYS_MAX, BAN_REASON_MAX};
use otklik_api::{ErrorBody, ErrorCode};

use crate::rules::moderation::ModerationError;
use crate::store::StoreClosed;

/// A failed request. Client mistakes carry a message meant for the reader's developer; server faults
/// carry their cause only into the log, never into the response.
#[derive(Debug)]
pub enum AppError {
    Client {
        status: StatusCode,
        code: ErrorCode,
        message: String,
    },
    /// Over a rate limit: answered with `Retry-After`.
    RateLimited {
        retry_after: std::time::Duration,
        message: String,
    },
    /// An admin route without a valid credential: answered with `WWW-Authenticate`.
    Unauthorized,
    Unavailable(anyhow::Error),
    Internal(anyhow::Error),
}

impl AppError {
    pub fn client(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Client { status, code, message: message.into() }
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found() -> Self {
        Self::client(StatusCode::NOT_FOUND, ErrorCode::NotFound, "there is no such API route")
    }

    pub fn method_not_allowed() -> Self {
        Self::client(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "this route does not support that method",
        )
    }
}

// A full pool, a closed writer or an unreachable database means overload, shutdown or an outage, not a
// bug: the client should retry (and nothing was stored).
impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        if err.is::<StoreClosed>() || crate::store::unavailable(&err) {
            Self::Unavailable(err)
        } else {
            Self::Internal(err)
        }
    }
}

/// The editors' API's words for a refused moderator action (the console has its own, translated).
impl From<ModerationError> for AppError {
    fn from(err: ModerationError) -> Self {
        let invalid = |message: String| Self::client(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody, message);
        match err {
            ModerationError::BanDays => invalid(format!("days must be from 1 to {BAN_DAYS_MAX}")),
            ModerationError::BanReason => invalid(format!("give a reason of 1 to {BAN_REASON_MAX} characters")),
            ModerationError::BanRange(why) => invalid(why),
            ModerationError::BanTarget => {
                invalid("a reader or ip ban names a comment; a range ban names a range".to_owned())
            }
            ModerationError::CommentNotFound => {
                Self::client(StatusCode::NOT_FOUND, ErrorCode::CommentNotFound, "there is no such comment")
            }
            ModerationError::IpForgotten => Self::client(
                StatusCode::CONFLICT,
                ErrorCode::InvalidBody,
                "this comment's IP address is no longer kept (past the retention period); ban its reader instead",
            ),
            ModerationError::BanNotFound => {
                Self::client(StatusCode::NOT_FOUND, ErrorCode::NotFound, "there is no ban in force with that id")
            }
            ModerationError::Store(err) => err.into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            Self::Client { status, code, message } => (status, ErrorBody::new(code, message)),
            Self::RateLimited { retry_after, message } => {
                // Whole seconds, rounded up: a client that waits exactly this long is let through.
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                let body = ErrorBody::new(ErrorCode::RateLimited, message);
                let headers = [(header::RETRY_AFTER, seconds.max(1).to_string())];
                return (StatusCode::TOO_MANY_REQUESTS, headers, Json(body)).into_response();
            }
            Self::Unauthorized => {
                let body = ErrorBody::new(ErrorCode::Unauthorized, "this route needs Authorization: Bearer <token>");
                let headers = [(header::WWW_AUTHENTICATE, "Bearer realm=\"otklik\"")];
                return (StatusCode::UNAUTHORIZED, headers, Json(body)).into_response();
            }
            Self::Unavailable(err) => {
                tracing::warn!(error = %format!("{err:#}"), "request refused: service unavailable");
                let message = "the server cannot store this now; please try again shortly";
                (StatusCode::SERVICE_UNAVAILABLE, with_request_id(ErrorBody::new(ErrorCode::Unavailable, message)))
            }
            Self::Internal(err) => {
                tracing::error!(error = %format!("{err:#}"), "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    with_request_id(ErrorBody::new(ErrorCode::Internal, "something went wrong on the server")),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

/// A server error's body names its request (see `http::request_id`), so that what a reader or an
/// integrator saw can be found in the logs.
fn with_request_id(mut body: ErrorBody) -> ErrorBody {
    body.error.request_id = super::request_id::current();
    body
}

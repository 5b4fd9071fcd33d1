//! The one error body every failing API request answers with.

use serde::{Deserialize, Serialize};

/// `{"error": {"code": "...", "message": "..."}}`: `code` is stable for programs, `message` is for people;
/// a server error adds `"request_id"`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// On a server error (5xx): the request's `X-Request-Id`, which names it in the server's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Machine-readable error codes. Unknown codes from a newer server decode as `Other` so that an old
/// widget still shows the message instead of failing to parse the error.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidArticleId,
    InvalidReader,
    MissingReader,
    InvalidBody,
    UnsupportedMediaType,
    PayloadTooLarge,
    InvalidText,
    TooManyLinks,
    Spam,
    InvalidQuery,
    NotFound,
    CommentNotFound,
    NotYourComment,
    EditWindowClosed,
    /// The article accepts no new comments.
    CommentsClosed,
    /// The reader or their address is banned from writing.
    Banned,
    /// A comment sent sooner after its form was loaded than a person could write one.
    TooFast,
    /// A comment without a valid `form` token (the page is too old, or the client never loaded one).
    InvalidForm,
    InvalidTypo,
    TypoNotFound,
    RateLimited,
    Unauthorized,
    MethodNotAllowed,
    Unavailable,
    Internal,
    /// A code this build does not know. Servers never send it, so the description leaves it out.
    #[serde(other)]
    #[cfg_attr(feature = "openapi", serde(skip_serializing))]
    Other,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { error: ErrorDetail { code, message: message.into(), request_id: None } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_the_documented_shape() {
        let body = ErrorBody::new(ErrorCode::InvalidArticleId, "bad id");
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":{"code":"invalid_article_id","message":"bad id"}}"#
        );
    }

    #[test]
    fn unknown_codes_still_decode() {
        let body: ErrorBody = serde_json::from_str(r#"{"error":{"code":"from_the_future","message":"m"}}"#).unwrap();
        assert_eq!(body.error.code, ErrorCode::Other);
    }
}

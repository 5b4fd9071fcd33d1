//! Authorisation of the editors' API: `Authorization: Bearer <OTKLIK_ADMIN_TOKEN>`.
//!
//! With no token configured and no moderator account, the admin routes do not exist (404), so an
//! unconfigured server does not even reveal them; otherwise a missing or wrong credential is 401.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::http::error::AppError;
use crate::rules::keys::constant_time_eq;

/// The configured admin token, kept only as its SHA-256 so that comparing costs the same for any guess.
#[derive(Clone)]
pub struct AdminToken([u8; 32]);

impl AdminToken {
    pub fn new(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Constant-time: compares digests of equal length byte by byte without stopping early.
    fn matches(&self, offered: &str) -> bool {
        let offered: [u8; 32] = Sha256::digest(offered.as_bytes()).into();
        constant_time_eq(&self.0, &offered)
    }
}

/// Whether the admin surface exists at all: a token is configured or a moderator account exists.
pub async fn admin_enabled(state: &AppState) -> Result<bool, AppError> {
    Ok(state.admin_token.is_some() || state.store.moderators_exist().await?)
}

/// A request that presented the admin token. In the audit log its actions are by `token`.
pub struct Editor;

impl Editor {
    pub const WHO: &'static str = "token";
}

impl FromRequestParts<AppState> for Editor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = &state.admin_token else {
            return Err(if admin_enabled(state).await? { AppError::Unauthorized } else { AppError::not_found() });
        };
        let offered = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        match offered {
            Some(offered) if token.matches(offered) => Ok(Self),
            _ => Err(AppError::Unauthorized),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AdminToken;

    #[test]
    fn only_the_exact_token_matches() {
        let token = AdminToken::new("s3cret-token");
        assert!(token.matches("s3cret-token"));
        for wrong in ["", "s3cret-toke", "s3cret-token ", "S3CRET-TOKEN"] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
    }
}

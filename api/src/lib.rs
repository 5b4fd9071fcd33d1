//! The otklik API contract, written once for both the widget and the server.
//!
//! Everything that crosses the wire lives here: the versioned path prefix, the reader header, validated id
//! newtypes, the reaction kinds, the request and response bodies, the limits both sides check, and the one
//! error body every failing request answers with. The crate depends on serde alone so that it costs the
//! widget as little as possible.

mod article;
mod error;
mod reaction;
mod reader;

pub use article::{ArticleId, InvalidArticleId};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use reaction::{ReactionCounts, ReactionKind, ReactionsView, SetReaction, UnknownReactionKind};
pub use reader::{InvalidReaderToken, ReaderToken};

/// The path prefix of every API route; bumped only for incompatible changes.
pub const API_PREFIX: &str = "/api/v1";

/// The request header that carries the reader's anonymous token.
pub const READER_HEADER: &str = "X-Otklik-Reader";

/// Limits that both halves check: the widget before sending, the server before storing.
pub mod limits {
    /// Longest accepted article id, in bytes (ids are ASCII).
    pub const ARTICLE_ID_MAX: usize = 128;
    /// Largest JSON body the reaction routes accept, in bytes.
    pub const REACTION_BODY_MAX: usize = 256;
}

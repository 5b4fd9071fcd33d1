//! The otklik API contract, written once for both the widget and the server.
//!
//! Everything that crosses the wire lives here: the versioned path prefix, the reader header, validated id
//! newtypes, the reaction kinds, the request and response bodies, the limits both sides check, and the one
//! error body every failing request answers with. The crate depends on serde alone so that it costs the
//! widget as little as possible.

mod article;
mod comment;
mod error;
pub mod live;
mod me;
mod moderation;
mod reaction;
mod reader;
mod typo;

pub use article::{ArticleId, InvalidArticleId};
pub use comment::{
    Comment, CommentCounts, CommentId, CommentPage, CommentSort, EditComment, InvalidText, LikeView, NewComment,
    PageInfo, check_comment_text, check_email,
};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use me::{Erased, MyComment, MyMark, MyReaction, MyTypo, ReaderData};
pub use moderation::{
    ArticleSettings, AuditEntry, AuditPage, Ban, BanKind, CommentStatus, Moderate, ModerationAction, ModerationMode,
    NewBan, Queue, QueueItem, QueuePage,
};
pub use reaction::{ReactionCounts, ReactionKind, ReactionsView, SetReaction, UnknownReactionKind};
pub use reader::{InvalidReaderToken, ReaderToken};
pub use typo::{
    InvalidTypo, NewTypo, SetTypoStatus, TypoContext, TypoId, TypoList, TypoReceipt, TypoReport, TypoStatus,
};

/// The path prefix of every API route; bumped only for incompatible changes.
pub const API_PREFIX: &str = "/api/v1";

/// The request header that carries the reader's anonymous token.
pub const READER_HEADER: &str = "X-Otklik-Reader";

/// Limits that both halves check: the widget before sending, the server before storing.
pub mod limits {
    /// Most articles one live-updates stream follows.
    pub const LIVE_ARTICLES_MAX: usize = 20;
    /// Longest accepted article id, in bytes (ids are ASCII).
    pub const ARTICLE_ID_MAX: usize = 128;
    /// Largest JSON body the reaction routes accept, in bytes.
    pub const REACTION_BODY_MAX: usize = 256;
    /// Longest comment, in characters, after trimming surrounding white space.
    pub const COMMENT_TEXT_MAX: usize = 4_000;
    /// Most web addresses in one comment.
    pub const COMMENT_LINKS_MAX: usize = 3;
    /// Longest e-mail address, in bytes (RFC 5321's limit on a path).
    pub const EMAIL_MAX: usize = 254;
    /// Longest display name, in characters.
    pub const AUTHOR_MAX: usize = 60;
    /// Longest page URL and title the server keeps, in characters.
    pub const PAGE_URL_MAX: usize = 2_048;
    pub const PAGE_TITLE_MAX: usize = 300;
    /// Largest JSON body the comment routes accept, in bytes (4,000 Cyrillic characters are 8,000 bytes).
    pub const COMMENT_BODY_MAX: usize = 24 * 1024;
    /// How long after posting the author may edit or delete a comment, in seconds.
    pub const EDIT_WINDOW_SECS: i64 = 15 * 60;
    /// Top-level comments per page: the default and the most a client may ask for.
    pub const PAGE_SIZE: usize = 20;
    pub const PAGE_SIZE_MAX: usize = 100;
    /// Deepest stored reply: a reply to a comment at this depth is stored beside it, at this depth, and
    /// still names whom it answers. Bounds every thread path, its index key and the cursors built from it.
    pub const REPLY_DEPTH_MAX: u32 = 8;
    /// Replies shown under each top-level comment on a page; the rest come through "show more replies".
    pub const REPLY_PREVIEW: usize = 3;
    /// Most article ids in one `GET /api/v1/counts` request.
    pub const COUNTS_MAX: usize = 100;
    /// Longest query string `GET /api/v1/counts` reads, in bytes: room for [`COUNTS_MAX`] ids of the
    /// longest kind, each with an encoded comma.
    pub const COUNTS_QUERY_MAX: usize = 16 + COUNTS_MAX * (ARTICLE_ID_MAX + 3);
    /// Longest selection a typo report accepts, in characters (white space runs counted as one).
    pub const TYPO_FRAGMENT_MAX: usize = 250;
    /// Context kept on each side of a typo, in characters.
    pub const TYPO_CONTEXT_MAX: usize = 60;
    /// Longest correction or comment a reader may add to a typo report, in characters.
    pub const TYPO_NOTE_MAX: usize = 500;
    /// Largest JSON body the typo route accepts, in bytes.
    pub const TYPO_BODY_MAX: usize = 8 * 1024;
    /// Longest ban, in days, and longest reason a moderator may give, in characters.
    pub const BAN_DAYS_MAX: u32 = 3_650;
    pub const BAN_REASON_MAX: usize = 500;
    /// Longest moderator name, in characters.
    pub const MODERATOR_NAME_MAX: usize = 64;
}

//! Live updates: the events of `GET /api/v1/events?articles=a,b`, a Server-Sent Events stream.
//!
//! Each event's `data` is one of these as JSON; its SSE `event` name is the constant beside it. Every event
//! is a state, not a step (the counts as they are now, a comment that is gone), so one received twice, or
//! after a resume, does no harm.

use serde::{Deserialize, Serialize};

use crate::{CommentId, ReactionCounts};

/// The path of the stream, under [`crate::API_PREFIX`].
pub const EVENTS_PATH: &str = "/events";

/// `reactions`: an article's reaction counts changed.
pub const REACTIONS_EVENT: &str = "reactions";
/// `comments`: an article's visible comments changed (a new one, or one gone).
pub const COMMENTS_EVENT: &str = "comments";
/// `removed`: a comment was hidden or deleted; open pages drop it.
pub const REMOVED_EVENT: &str = "removed";
/// `refetch`: the stream cannot say what was missed (the gap is too old, or the client fell behind): the
/// client reads what it shows again. Its data is `{}`.
pub const REFETCH_EVENT: &str = "refetch";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveReactions {
    pub article: String,
    pub counts: ReactionCounts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveComments {
    pub article: String,
    /// Visible comments on the article, as `CommentPage::total` counts them.
    pub total: u64,
    /// The newest visible comment, if any.
    pub newest: Option<CommentId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRemoved {
    pub article: String,
    pub comment: CommentId,
}

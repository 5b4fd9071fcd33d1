//! The store's comment threads: pages, posts, edits, deletions, likes and flags.

use std::collections::BTreeMap;

use async_trait::async_trait;
use otklik_api::{ArticleId, Comment, CommentId, CommentPage, CommentSort, LikeView, PageInfo};

use crate::rules::reader::ReaderHash;

/// Comment threads and what readers do in them.
#[async_trait]
pub trait CommentStore: Send + Sync {
    /// A page of an article's comment thread (see [`CommentQuery`]).
    async fn comments(&self, query: &CommentQuery) -> anyhow::Result<Result<CommentPage, CommentError>>;

    /// Visible comment counts for several articles; unknown articles count 0.
    async fn comment_counts(&self, articles: &[ArticleId]) -> anyhow::Result<BTreeMap<String, u64>>;

    /// Posts a comment (or a reply).
    async fn post_comment(&self, post: NewCommentCmd) -> anyhow::Result<Result<Comment, CommentError>>;

    /// Replaces the text of the reader's own comment, within the edit window; the edit goes to the
    /// moderators' queue where a new comment would, or where a moderator had approved the old text.
    async fn edit_comment(&self, edit: EditCommentCmd) -> anyhow::Result<Result<Comment, CommentError>>;

    /// Deletes the reader's own comment, within the edit window.
    async fn delete_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
    ) -> anyhow::Result<Result<(), CommentError>>;

    /// Sets (`like`) or clears the reader's like on a comment.
    async fn like_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
        like: bool,
    ) -> anyhow::Result<Result<LikeView, CommentError>>;

    /// Records a reader's flag on a visible comment (once per reader).
    async fn flag_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
    ) -> anyhow::Result<Result<(), CommentError>>;
}

/// What to read of a thread: top-level comments in `sort` order, or with `root` the replies under it.
#[derive(Clone, Debug)]
pub struct CommentQuery {
    pub article: ArticleId,
    pub reader: Option<ReaderHash>,
    pub sort: CommentSort,
    pub cursor: Option<Cursor>,
    pub limit: usize,
    pub root: Option<CommentId>,
}

/// Where a page starts: opaque to clients, and checked against the kind of page it is used for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// After (oldest) or before (newest) this top-level comment id.
    Id(i64),
    /// After this (likes, id) in the popular order.
    Liked { likes: i64, id: i64 },
    /// After this thread path, for replies.
    Path(String),
}

impl std::str::FromStr for Cursor {
    type Err = &'static str;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::decode(raw).ok_or("the cursor is not valid")
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        match self {
            Self::Id(id) => format!("i{id}"),
            Self::Liked { likes, id } => format!("l{likes}.{id}"),
            Self::Path(path) => format!("p{path}"),
        }
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let (tag, rest) = raw.split_at_checked(1)?;
        match tag {
            "i" => rest.parse().ok().map(Self::Id),
            "l" => {
                let (likes, id) = rest.split_once('.')?;
                Some(Self::Liked { likes: likes.parse().ok()?, id: id.parse().ok()? })
            }
            "p" if rest.len() <= 13 * 64 && rest.bytes().all(|b| b.is_ascii_digit() || b == b'/') => {
                Some(Self::Path(rest.to_owned()))
            }
            _ => None,
        }
    }
}

/// A new comment, validated and normalised by the route.
#[derive(Clone, Debug)]
pub struct NewCommentCmd {
    pub article: ArticleId,
    pub reader: ReaderHash,
    pub ip: [u8; 16],
    /// The key epoch of `ip`.
    pub ip_epoch: i64,
    pub author: String,
    pub text: String,
    pub parent: Option<CommentId>,
    pub page: PageInfo,
    /// Queue a `comment.created` (or `comment.pending`) webhook delivery (a webhook is configured).
    pub announce: bool,
    /// The server's moderation mode, for articles without their own.
    pub default_mode: otklik_api::ModerationMode,
    /// Hold it for moderation whatever the mode (e.g. it contains a stop word).
    pub hold: bool,
}

/// A new text for a reader's own comment, validated and normalised by the route.
#[derive(Clone, Debug)]
pub struct EditCommentCmd {
    pub article: ArticleId,
    pub id: CommentId,
    pub reader: ReaderHash,
    pub text: String,
    /// Queue a `comment.pending` webhook delivery if the edit sends a shown comment back for moderation.
    pub announce: bool,
    /// The server's moderation mode, for articles without their own.
    pub default_mode: otklik_api::ModerationMode,
    /// Hold it for moderation whatever the mode (e.g. it contains a stop word).
    pub hold: bool,
}

/// Refusals a comment request can meet; each maps to a 4xx answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentError {
    NotFound,
    ParentNotFound,
    NotYours,
    WindowClosed,
    BadCursor,
    /// The article accepts no new comments.
    Closed,
}

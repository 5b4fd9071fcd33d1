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

    /// Each article's visible comment count and its newest visible comment (what live streams report);
    /// unknown articles count 0.
    async fn thread_heads(&self, articles: &[ArticleId]) -> anyhow::Result<BTreeMap<String, (u64, Option<CommentId>)>>;

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
        announce: Announce,
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
    pub announce: Announce,
    /// The server's moderation mode, for articles without their own.
    pub default_mode: otklik_api::ModerationMode,
    /// Hold it for moderation whatever the mode (e.g. it contains a stop word).
    pub hold: bool,
    /// The author asks to be told of replies to it, at this address.
    pub subscribe: Option<crate::store::Subscription>,
}

/// What a write queues in the outbox, in its own transaction, for the deliveries configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Announce {
    /// A webhook delivery (`comment.created`, `comment.pending`, `typo.created`): a webhook is configured.
    pub webhook: bool,
    /// Messages by e-mail, to the confirmed followers of the comment a reply answers and to the moderators
    /// who asked to hear of what the write brings: mail is configured.
    pub mail: bool,
}

impl NewCommentCmd {
    /// The comment as stored, answered to its author: `id` at `depth`, answering `reply_to` (the parent's
    /// author), shown to its author only while `pending`.
    pub fn posted(&self, id: CommentId, depth: i64, reply_to: Option<String>, pending: bool, now: i64) -> Comment {
        Comment {
            id,
            parent: self.parent,
            depth: depth as u32,
            reply_to,
            author: self.author.clone(),
            text: self.text.clone(),
            created: now,
            edited: None,
            deleted: false,
            likes: 0,
            liked: false,
            mine: true,
            editable_until: Some(now + otklik_api::limits::EDIT_WINDOW_SECS),
            replies: 0,
            pending,
        }
    }
}

/// A new text for a reader's own comment, validated and normalised by the route.
#[derive(Clone, Debug)]
pub struct EditCommentCmd {
    pub article: ArticleId,
    pub id: CommentId,
    pub reader: ReaderHash,
    pub text: String,
    /// What to queue if the edit sends a shown comment back for moderation.
    pub announce: Announce,
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

/// One comment of a thread as a backend's query gives it, before it is arranged into a page: the columns
/// both backends select, named alike.
#[derive(Debug, sqlx::FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub depth: i64,
    /// The parent's author, blank when the parent is not shown to this reader.
    pub reply_to: Option<String>,
    pub author: String,
    pub text: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    /// Deleted, hidden, or awaiting moderation and not this reader's: a placeholder.
    pub placeholder: bool,
    pub likes: i64,
    pub liked: bool,
    /// The requesting reader wrote it.
    pub mine: bool,
    pub replies: i64,
    pub root_id: i64,
    pub path: String,
    /// Awaiting moderation, shown to its author only.
    pub pending: bool,
}

/// A comment with where it sits in its thread.
pub struct ThreadRow {
    pub comment: Comment,
    pub root: i64,
    pub path: String,
}

impl From<CommentRow> for ThreadRow {
    fn from(r: CommentRow) -> Self {
        let deleted = r.placeholder;
        let mine = !deleted && r.mine;
        let comment = Comment {
            id: CommentId(r.id),
            parent: r.parent_id.map(CommentId),
            depth: r.depth.max(0) as u32,
            reply_to: r.reply_to,
            author: r.author,
            text: r.text,
            created: r.created_at,
            edited: r.edited_at,
            deleted,
            likes: r.likes.max(0) as u64,
            liked: r.liked,
            mine,
            editable_until: mine.then_some(r.created_at + otklik_api::limits::EDIT_WINDOW_SECS),
            replies: r.replies.max(0) as u64,
            pending: r.pending,
        };
        ThreadRow { comment, root: r.root_id, path: r.path }
    }
}

/// Arranges the rows of one page query (top-level comments of a page, and the first replies of each, in
/// no particular order): the top level in `sort` order, each followed by its replies in thread order.
/// Answers the comments and the next page's cursor (the query fetched `limit + 1` top-level comments).
pub fn arrange_page(rows: Vec<ThreadRow>, sort: CommentSort, limit: usize) -> (Vec<Comment>, Option<String>) {
    let (mut top, replies): (Vec<ThreadRow>, Vec<ThreadRow>) = rows.into_iter().partition(|r| r.comment.depth == 0);
    top.sort_by(|a, b| match sort {
        CommentSort::Oldest => a.comment.id.cmp(&b.comment.id),
        CommentSort::Newest => b.comment.id.cmp(&a.comment.id),
        CommentSort::Popular => (b.comment.likes, b.comment.id).cmp(&(a.comment.likes, a.comment.id)),
    });
    let next = (top.len() > limit).then(|| {
        top.truncate(limit);
        let last = &top[top.len() - 1].comment;
        match sort {
            CommentSort::Popular => Cursor::Liked { likes: last.likes as i64, id: last.id.0 },
            _ => Cursor::Id(last.id.0),
        }
        .encode()
    });
    let mut by_root: BTreeMap<i64, Vec<ThreadRow>> = BTreeMap::new();
    for r in replies {
        by_root.entry(r.root).or_default().push(r);
    }
    let mut comments = Vec::with_capacity(top.len() * 2);
    for t in top {
        let mut thread = by_root.remove(&t.comment.id.0).unwrap_or_default();
        thread.sort_by(|a, b| a.path.cmp(&b.path));
        comments.push(t.comment);
        comments.extend(thread.into_iter().map(|r| r.comment));
    }
    (comments, next)
}

/// Arranges a page of replies in thread order; answers them and the next page's cursor (the query
/// fetched `limit + 1`).
pub fn arrange_replies(mut rows: Vec<ThreadRow>, limit: usize) -> (Vec<Comment>, Option<String>) {
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        Cursor::Path(rows.last().map(|r| r.path.clone()).unwrap_or_default()).encode()
    });
    (rows.into_iter().map(|r| r.comment).collect(), next)
}

/// Whether a reader may still change their comment, from its row (its author's hash, creation time, status
/// and whether a moderator acted on it; `None`: there is no such comment, or it is deleted or hidden).
/// Answers the status and the moderator's mark.
pub fn own_and_open(
    row: Option<(Vec<u8>, i64, String, bool)>,
    reader: &ReaderHash,
    now: i64,
) -> Result<(String, bool), CommentError> {
    match row {
        None => Err(CommentError::NotFound),
        Some((author, ..)) if author != reader.0 => Err(CommentError::NotYours),
        Some((_, created, ..)) if now - created > otklik_api::limits::EDIT_WINDOW_SECS => {
            Err(CommentError::WindowClosed)
        }
        Some((_, _, status, reviewed)) => Ok((status, reviewed)),
    }
}

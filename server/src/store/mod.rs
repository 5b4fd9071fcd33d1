//! The storage interface the routes talk to, so that a backend can be added without touching them.
//!
//! Each backend keeps its own SQL and migrations; what they share is this trait's contract: counts are
//! exact under any concurrency, and every write is durable (or reported as failed) before it returns.

mod sqlite;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use otklik_api::{
    ArticleId, ArticleSettings, AuditPage, Ban, BanKind, Comment, CommentId, CommentPage, CommentSort, LikeView,
    ModerationAction, PageInfo, Queue, QueueItem, QueuePage, ReactionKind, ReactionsView, TypoContext, TypoId,
    TypoList, TypoReceipt, TypoReport, TypoStatus,
};

use crate::rules::reader::ReaderHash;

pub use sqlite::{SqliteStore, StoreClosed, database_file};

/// A shareable handle to whichever backend this server runs on.
pub type DynStore = Arc<dyn Store>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> anyhow::Result<()>;

    /// A secret an older version kept in the database under `name` (see [`crate::keys`]).
    async fn legacy_secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>>;

    /// Removes a secret kept in the database, so that no copy made from now on carries it.
    async fn forget_secret(&self, name: &str) -> anyhow::Result<()>;

    /// An article's reaction counts, and `reader`'s own reaction if a reader is given.
    async fn reactions(&self, article: &ArticleId, reader: Option<ReaderHash>) -> anyhow::Result<ReactionsView>;

    /// Sets (`Some`) or clears (`None`) `reader`'s reaction on `article`; answers the view after the change.
    async fn set_reaction(
        &self,
        article: &ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
    ) -> anyhow::Result<ReactionsView>;

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

    /// Stores a typo report, or merges it into the open report of the same fragment in the same context.
    async fn report_typo(&self, report: NewTypoCmd) -> anyhow::Result<TypoReceipt>;

    /// A page of typo reports for the editors, newest first.
    async fn typos(&self, query: &TypoQuery) -> anyhow::Result<TypoList>;

    /// Moves a typo report to another status, recording who did it.
    async fn set_typo_status(
        &self,
        id: TypoId,
        status: TypoStatus,
        who: &str,
    ) -> anyhow::Result<Result<TypoReport, TypoError>>;

    /// Webhook deliveries due at `now` (unix seconds) with ids above `after`, oldest first.
    async fn outbox_due(&self, now: i64, after: i64, limit: usize) -> anyhow::Result<Vec<OutboxItem>>;

    /// When the next webhook delivery falls due, if any waits.
    async fn outbox_next(&self) -> anyhow::Result<Option<i64>>;

    /// Records a delivery attempt: `None` = delivered (the row goes), else when to try again.
    async fn outbox_attempted(&self, id: i64, retry_at: Option<i64>) -> anyhow::Result<()>;

    /// Records a reader's flag on a visible comment (once per reader).
    async fn flag_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
    ) -> anyhow::Result<Result<(), CommentError>>;

    /// Whether any moderator account exists (the console exists only then, or with the admin token).
    async fn moderators_exist(&self) -> anyhow::Result<bool>;

    /// Adds a moderator with an Argon2 PHC hash; `false` if the name is taken.
    async fn add_moderator(&self, name: &str, password_hash: &str) -> anyhow::Result<bool>;

    /// Removes a moderator and ends their sessions; `false` if there is none of that name.
    async fn remove_moderator(&self, name: &str) -> anyhow::Result<bool>;

    /// A moderator's id and password hash.
    async fn moderator_password(&self, name: &str) -> anyhow::Result<Option<(i64, String)>>;

    /// Stores a session (by the SHA-256 of its token) and records the sign-in.
    async fn start_session(
        &self,
        moderator: i64,
        token_hash: [u8; 32],
        csrf: String,
        expires: i64,
    ) -> anyhow::Result<()>;

    /// The unexpired session with this token hash.
    async fn session(&self, token_hash: [u8; 32]) -> anyhow::Result<Option<Session>>;

    async fn end_session(&self, token_hash: [u8; 32]) -> anyhow::Result<()>;

    /// A page of a moderation queue, newest first.
    async fn queue(&self, queue: Queue, before: Option<CommentId>, limit: usize) -> anyhow::Result<QueuePage>;

    /// Applies a moderator's action and records it; `Ok(None)` once deleted.
    async fn moderate(
        &self,
        id: CommentId,
        action: ModerationAction,
        who: &str,
        announce: bool,
    ) -> anyhow::Result<Result<Option<QueueItem>, ModError>>;

    /// Recently seen articles with their settings.
    async fn articles(&self, limit: usize) -> anyhow::Result<Vec<ArticleRow>>;

    /// Sets an article's moderation mode and whether it is closed, and records it.
    async fn set_article(&self, article: ArticleId, settings: ArticleSettings, who: &str) -> anyhow::Result<()>;

    /// Replaces the URL and title an article's pages reported, and records it.
    async fn set_article_page(&self, article: ArticleId, page: PageInfo, who: &str) -> anyhow::Result<()>;

    /// Stores a ban and records it.
    async fn add_ban(&self, ban: NewBanCmd) -> anyhow::Result<Result<StoredBan, ModError>>;

    /// Bans in force now, newest first.
    async fn bans(&self) -> anyhow::Result<Vec<StoredBan>>;

    /// Lifts a ban in force and records it; `false` if there is none with that id.
    async fn lift_ban(&self, id: i64, who: &str) -> anyhow::Result<bool>;

    /// Appends a line to the audit log.
    async fn record(&self, who: &str, action: &str, target: &str, detail: &str) -> anyhow::Result<()>;

    /// A page of the audit log, newest first.
    async fn audit(&self, before: Option<i64>, limit: usize) -> anyhow::Result<AuditPage>;

    /// Forgets IP hashes of writes made before `before` (unix seconds); answers how many rows changed.
    async fn purge_ip_hashes(&self, before: i64) -> anyhow::Result<u64>;

    /// Writes a consistent copy of the database to `path` (which must not exist) while serving, readable by
    /// its owner only; answers the row counts of the main tables in the copy.
    async fn backup(&self, path: &std::path::Path) -> anyhow::Result<Vec<(&'static str, u64)>>;

    /// Stops accepting writes and waits until those already accepted are stored.
    async fn close(&self);
}

/// A signed-in moderator's session.
#[derive(Clone, Debug)]
pub struct Session {
    pub moderator: String,
    /// The token every form that changes something must carry.
    pub csrf: String,
    pub expires: i64,
}

/// Refusals a moderation action can meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModError {
    NotFound,
    /// The comment's IP hash was purged after the retention period: its IP can no longer be banned.
    IpForgotten,
}

/// Whom a new ban keeps out.
#[derive(Clone, Debug)]
pub enum BanTarget {
    /// The reader or the IP (by `BanKind`) that wrote a comment.
    Comment(BanKind, CommentId),
    /// A CIDR range, already validated.
    Range(String),
}

#[derive(Clone, Debug)]
pub struct NewBanCmd {
    pub target: BanTarget,
    pub until: i64,
    pub reason: String,
    pub who: String,
}

/// A ban as stored: what moderators see, and the full value the server matches requests against.
#[derive(Clone, Debug)]
pub struct StoredBan {
    pub ban: Ban,
    /// Hex of the reader or IP hash, or the CIDR range.
    pub value: String,
    /// For an IP ban, the key epoch of its hash (`None`: made before keys rotated).
    pub epoch: Option<i64>,
}

/// An article as the console lists it.
#[derive(Clone, Debug)]
pub struct ArticleRow {
    pub key: String,
    pub url: Option<String>,
    pub title: Option<String>,
    pub comments: u64,
    pub pending: u64,
    pub settings: ArticleSettings,
}

/// Opens the store a `--database` value names: a file path or a `sqlite:` URL. Creates and migrates it.
pub async fn open(database: &str) -> anyhow::Result<DynStore> {
    Ok(Arc::new(SqliteStore::open(database).await?))
}

/// Opens an existing, up-to-date store without changing its schema (the command-line tools).
pub async fn open_existing(database: &str) -> anyhow::Result<DynStore> {
    Ok(Arc::new(SqliteStore::open_existing(database).await?))
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

#[derive(Clone, Debug)]
pub enum CommentCmd {
    Post(NewCommentCmd),
    Edit(EditCommentCmd),
    Delete { article: ArticleId, id: CommentId, reader: ReaderHash },
    Like { article: ArticleId, id: CommentId, reader: ReaderHash, like: bool },
}

impl CommentCmd {
    pub fn article(&self) -> &ArticleId {
        match self {
            Self::Post(post) => &post.article,
            Self::Edit(edit) => &edit.article,
            Self::Delete { article, .. } | Self::Like { article, .. } => article,
        }
    }
}

/// The answer to a [`CommentCmd`], of the kind the command asks for.
#[derive(Clone, Debug)]
pub enum CommentOutcome {
    Comment(Result<Comment, CommentError>),
    Deleted(Result<(), CommentError>),
    Like(Result<LikeView, CommentError>),
}

impl CommentOutcome {
    pub fn into_comment(self) -> anyhow::Result<Result<Comment, CommentError>> {
        match self {
            Self::Comment(result) => Ok(result),
            other => Err(other.mismatched()),
        }
    }

    pub fn into_deleted(self) -> anyhow::Result<Result<(), CommentError>> {
        match self {
            Self::Deleted(result) => Ok(result),
            other => Err(other.mismatched()),
        }
    }

    pub fn into_like(self) -> anyhow::Result<Result<LikeView, CommentError>> {
        match self {
            Self::Like(result) => Ok(result),
            other => Err(other.mismatched()),
        }
    }

    /// A backend answers each command with the outcome of its own kind; anything else is a bug.
    fn mismatched(&self) -> anyhow::Error {
        anyhow::anyhow!("a comment write was answered with the wrong kind of outcome: {self:?}")
    }
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

/// A typo report, validated and normalised by the route.
#[derive(Clone, Debug)]
pub struct NewTypoCmd {
    pub article: ArticleId,
    pub reader: ReaderHash,
    pub ip: [u8; 16],
    pub context: TypoContext,
    pub note: Option<String>,
    pub page: PageInfo,
    /// Queue a `typo.created` webhook delivery if this report is new (a webhook is configured).
    pub announce: bool,
}

/// Which typo reports to list: by status (all when `None`), older than `before`.
#[derive(Clone, Copy, Debug)]
pub struct TypoQuery {
    pub status: Option<TypoStatus>,
    pub before: Option<TypoId>,
    pub limit: usize,
}

/// Writes to typo reports and the webhook outbox, applied by a backend's writer.
#[derive(Clone, Debug)]
pub enum TypoCmd {
    Report(NewTypoCmd),
    SetStatus { id: TypoId, status: TypoStatus, who: String },
    Attempted { id: i64, retry_at: Option<i64> },
}

#[derive(Clone, Debug)]
pub enum TypoOutcome {
    Receipt(TypoReceipt),
    Status(Result<TypoReport, TypoError>),
    Attempted,
}

/// Refusals a status change can meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypoError {
    NotFound,
    /// Reopening would make two open reports of the same fragment in the same context.
    Conflict,
}

/// A webhook delivery waiting in the outbox.
#[derive(Clone, Debug)]
pub struct OutboxItem {
    pub id: i64,
    pub event: String,
    /// The JSON body to POST.
    pub payload: String,
    /// Failed attempts so far.
    pub attempts: u32,
}

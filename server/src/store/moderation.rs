//! The store's side of moderation: queues, actions, articles' settings, bans, the audit log.

use async_trait::async_trait;
use otklik_api::{
    ArticleId, ArticleSettings, AuditPage, Ban, BanKind, CommentId, ModerationAction, PageInfo, Queue, QueueItem,
    QueuePage,
};

/// The moderators' work: queues, actions, articles' settings, bans and the audit log.
/// A moderator's action applied: the comment's article, and the comment as the queue now shows it (`None`
/// once deleted).
#[derive(Debug)]
pub struct Moderated {
    pub article: String,
    pub item: Option<QueueItem>,
}

#[async_trait]
pub trait ModerationStore: Send + Sync {
    /// A page of a moderation queue, newest first.
    async fn queue(&self, queue: Queue, before: Option<CommentId>, limit: usize) -> anyhow::Result<QueuePage>;

    /// Applies a moderator's action and records it.
    async fn moderate(
        &self,
        id: CommentId,
        action: ModerationAction,
        who: &str,
        announce: crate::store::Announce,
    ) -> anyhow::Result<Result<Moderated, ModError>>;

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

impl StoredBan {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: i64,
        kind: BanKind,
        value: String,
        epoch: Option<i64>,
        until: i64,
        reason: String,
        by: String,
        created: i64,
    ) -> Self {
        // Hashes are shown by their first characters: enough to tell bans apart, useless for anything else.
        let target = if kind == BanKind::Range { value.clone() } else { value.chars().take(10).collect() };
        Self { ban: Ban { id, kind, target, until, reason, by, created }, value, epoch }
    }
}

/// A row of a moderation queue as either backend selects it (its columns named as these fields).
#[derive(sqlx::FromRow)]
pub struct QueueRow {
    pub id: i64,
    pub article: String,
    pub article_url: Option<String>,
    pub article_title: Option<String>,
    pub parent_id: Option<i64>,
    pub author: String,
    pub text: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub status: String,
    pub flags: i64,
    pub unreviewed: bool,
    pub ip_known: bool,
}

impl From<QueueRow> for QueueItem {
    fn from(r: QueueRow) -> Self {
        QueueItem {
            id: CommentId(r.id),
            article: r.article,
            article_url: r.article_url,
            article_title: r.article_title,
            parent: r.parent_id.map(CommentId),
            author: r.author,
            text: r.text,
            created: r.created_at,
            edited: r.edited_at,
            status: otklik_api::CommentStatus::parse(&r.status).unwrap_or_default(),
            flags: r.flags.max(0) as u64,
            unreviewed: r.unreviewed,
            ip_known: r.ip_known,
        }
    }
}

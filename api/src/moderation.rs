//! Moderation: where a comment stands, the editors' queue, bans, per-article settings and the audit log.
//!
//! Readers meet only [`CommentStatus::Pending`] (their own comment, awaiting moderation) and the
//! `comments_closed` and `banned` error codes; the rest is the editors' API (`/api/v1/admin`).

use serde::{Deserialize, Serialize};

use crate::CommentId;

/// Where a comment stands. Only `visible` comments are shown to everyone and counted.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentStatus {
    #[default]
    Visible,
    /// Awaiting moderation: shown only to its author until approved.
    Pending,
    /// Hidden by a moderator: shown to nobody, can be restored.
    Hidden,
}

impl CommentStatus {
    pub const ALL: [Self; 3] = [Self::Visible, Self::Pending, Self::Hidden];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Visible => "visible",
            Self::Pending => "pending",
            Self::Hidden => "hidden",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Whether new comments on an article appear at once (`post`) or after a moderator approves them (`pre`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModerationMode {
    #[default]
    Post,
    Pre,
}

impl ModerationMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Pre => "pre",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Post, Self::Pre].into_iter().find(|m| m.as_str() == raw)
    }
}

/// What a moderator does to a comment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModerationAction {
    /// Make it visible (a pending comment) or confirm it (a new or flagged one); clears its flags.
    Approve,
    Hide,
    /// Show a hidden comment again.
    Restore,
    /// Remove it for good (a comment with replies stays as a placeholder without text or name).
    Delete,
}

impl ModerationAction {
    /// Whether the action takes the comment away from readers (open pages drop it).
    pub const fn removes(self) -> bool {
        matches!(self, Self::Hide | Self::Delete)
    }

    pub const ALL: [Self; 4] = [Self::Approve, Self::Hide, Self::Restore, Self::Delete];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Hide => "hide",
            Self::Restore => "restore",
            Self::Delete => "delete",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

/// The comment queues: `attention` (the default) is new, pending and flagged comments together.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Queue {
    #[default]
    Attention,
    /// Visible comments no moderator has looked at yet.
    New,
    Pending,
    Flagged,
    Hidden,
    All,
}

impl Queue {
    pub const ALL: [Self; 6] = [Self::Attention, Self::New, Self::Pending, Self::Flagged, Self::Hidden, Self::All];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Attention => "attention",
            Self::New => "new",
            Self::Pending => "pending",
            Self::Flagged => "flagged",
            Self::Hidden => "hidden",
            Self::All => "all",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == raw)
    }
}

/// A comment as moderators see it (`GET /api/v1/admin/comments`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    pub id: CommentId,
    pub article: String,
    pub article_url: Option<String>,
    pub article_title: Option<String>,
    pub parent: Option<CommentId>,
    pub author: String,
    pub text: String,
    pub created: i64,
    /// When its author last changed the text (unix seconds), if ever: an edit sends an approved comment
    /// back to the queue, and moderators should see that it is not what they approved.
    #[serde(default)]
    pub edited: Option<i64>,
    pub status: CommentStatus,
    /// Reader flags since a moderator last acted on it.
    pub flags: u64,
    /// No moderator has acted on it yet.
    pub unreviewed: bool,
    /// Its IP hash is still kept (it is purged after the retention period), so the IP can be banned.
    pub ip_known: bool,
}

/// Answer of `GET /api/v1/admin/comments?queue=&before=`, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePage {
    pub comments: Vec<QueueItem>,
    /// Pass as `before` for the next page; `None` on the last.
    pub next: Option<CommentId>,
}

/// Body of `POST /api/v1/admin/comments/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moderate {
    pub action: ModerationAction,
}

/// Who a ban keeps out.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BanKind {
    /// The reader token (by its hash) that wrote a comment.
    Reader,
    /// The IP address (by its hash) a comment was written from.
    Ip,
    /// An IP range in CIDR notation, e.g. `203.0.113.0/24`.
    Range,
}

impl BanKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Ip => "ip",
            Self::Range => "range",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Reader, Self::Ip, Self::Range].into_iter().find(|k| k.as_str() == raw)
    }
}

/// Body of `POST /api/v1/admin/bans`: the reader or IP of `comment`, or the CIDR `range`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBan {
    pub kind: BanKind,
    #[serde(default)]
    pub comment: Option<CommentId>,
    #[serde(default)]
    pub range: Option<String>,
    /// How long, in days (1 to [`crate::limits::BAN_DAYS_MAX`]).
    pub days: u32,
    pub reason: String,
}

/// A ban (`GET /api/v1/admin/bans` lists those in force).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    pub id: i64,
    pub kind: BanKind,
    /// For `range` the range; for the others a short form of the hash (never a token or an address).
    pub target: String,
    /// Unix seconds.
    pub until: i64,
    pub reason: String,
    pub by: String,
    pub created: i64,
}

/// An article's moderation settings (`PUT /api/v1/admin/articles/{article}`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleSettings {
    /// `None`: the server's default (`OTKLIK_MODERATION`).
    #[serde(default)]
    pub moderation: Option<ModerationMode>,
    /// No new comments are accepted.
    #[serde(default)]
    pub closed: bool,
}

/// One line of the audit log: who did what, when.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    /// A moderator's name, or `token` for a call with `OTKLIK_ADMIN_TOKEN`.
    pub who: String,
    /// E.g. `comment.approve`, `ban.add`, `article.settings`, `typo.fixed`, `session.start`.
    pub action: String,
    /// What it was done to, e.g. `comment 42`.
    pub target: String,
    pub detail: String,
}

/// Answer of `GET /api/v1/admin/audit?before=`, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<i64>,
}

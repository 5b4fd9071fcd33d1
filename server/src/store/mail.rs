//! The store's side of reply notifications: readers' addresses (sealed), the comments they follow, the
//! replies waiting to be told, and the addresses that bounced.

use async_trait::async_trait;

use crate::rules::reader::ReaderHash;

/// An address a reader gave with a comment, as the rules prepared it for storing.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// Keyed hash of the normalised address: how the same address is found again.
    pub lookup: [u8; 16],
    /// The address, encrypted.
    pub sealed: Vec<u8>,
    /// `ru` or `en`.
    pub lang: &'static str,
    /// Queue a confirmation message if the address is not confirmed for this reader (the limits allowed
    /// one); none goes if one went in the last hour.
    pub confirm: bool,
}

/// What the rules need to know before subscribing: whether a confirmation would be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressState {
    /// Not known for this reader, or given and not yet confirmed.
    Unconfirmed,
    Confirmed,
    /// It bounced: nothing goes to it.
    Blocked,
}

/// A recipient's message as the outbox sender builds it.
#[derive(Clone, Debug)]
pub struct Letter {
    pub lookup: Vec<u8>,
    pub sealed: Vec<u8>,
    pub lang: String,
    pub confirmed: bool,
    pub blocked: bool,
    /// Every reply waiting (those hidden or deleted since are dropped with the rest once this is sent).
    pub waiting: Vec<i64>,
    /// The waiting replies that are still visible, oldest first.
    pub replies: Vec<ReplyNote>,
}

/// A recipient (or a moderator's address) as both backends read it for a [`Letter`].
#[derive(Debug, sqlx::FromRow)]
pub struct RecipientRow {
    pub lookup: Vec<u8>,
    pub sealed: Vec<u8>,
    pub lang: String,
    pub confirmed: bool,
    pub blocked: bool,
}

impl RecipientRow {
    pub fn letter(self, waiting: Vec<i64>, replies: Vec<ReplyNote>) -> Letter {
        let Self { lookup, sealed, lang, confirmed, blocked } = self;
        Letter { lookup, sealed, lang, confirmed, blocked, waiting, replies }
    }
}

/// One reply to tell of.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReplyNote {
    pub id: i64,
    pub parent_id: i64,
    pub author: String,
    pub text: String,
    pub created_at: i64,
    pub article: String,
    pub url: Option<String>,
    pub title: Option<String>,
}

/// A recipient's message, sent or found unneeded, as [`MailStore::mail_told`] records it.
#[derive(Clone, Copy, Debug)]
pub struct Told<'a> {
    /// Its outbox row.
    pub delivery: i64,
    pub recipient: i64,
    /// The replies that waited when it was made.
    pub waiting: &'a [i64],
    /// Those of them it told.
    pub told: &'a [i64],
    /// When the recipient's next message may go.
    pub next_at: i64,
}

/// A confirmation is not sent again sooner than this after the last one (seconds).
pub const CONFIRM_AGAIN_SECS: i64 = 3_600;

/// An address not confirmed this long after its last confirmation message is forgotten (seconds): it was
/// perhaps someone else's, and its owner never asked for anything.
pub const UNCONFIRMED_KEPT_SECS: i64 = 7 * 86_400;

/// Seconds during which further replies wait to be told together with the next message.
pub const GATHER_SECS: i64 = 15 * 60;

#[async_trait]
pub trait MailStore: Send + Sync {
    /// Where `reader`'s address `lookup` stands.
    async fn mail_address(&self, reader: &ReaderHash, lookup: &[u8; 16]) -> anyhow::Result<AddressState>;

    /// Confirms a recipient's address at `now`; false when there is no such recipient (any more), or when
    /// its last confirmation message is older than [`UNCONFIRMED_KEPT_SECS`] (the link has expired, whether
    /// or not the hourly task has forgotten the address yet).
    async fn mail_confirm(&self, recipient: i64, now: i64) -> anyhow::Result<bool>;

    /// Forgets a recipient: its address, what it followed and what waited for it. Answers whether there was
    /// one.
    async fn mail_unsubscribe(&self, recipient: i64) -> anyhow::Result<bool>;

    /// A recipient's address and what waits for it; `None` when it is gone.
    async fn mail_letter(&self, recipient: i64) -> anyhow::Result<Option<Letter>>;

    /// Records a message sent (or found to be unneeded): its outbox row goes; of the replies that were
    /// waiting, those it told are kept as told (made visible again after an edit, a reply is not told
    /// twice) and the rest (hidden or deleted since) are dropped; replies that came meanwhile get a new
    /// row, due when the next message may go.
    async fn mail_told(&self, message: Told<'_>) -> anyhow::Result<()>;

    /// Stops all mail to an address (a bounce or a complaint), ends the delivery `delivery`, and forgets
    /// what waited for the address.
    async fn mail_block(&self, delivery: i64, lookup: &[u8], reason: &str) -> anyhow::Result<()>;

    /// Forgets the addresses never confirmed whose last confirmation went before `before` (their links
    /// then say they have expired); answers how many.
    async fn mail_forget_unconfirmed(&self, before: i64) -> anyhow::Result<u64>;
}

/// What a moderator asks to be told of by e-mail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Choices {
    /// Every comment that comes to wait for moderation.
    pub pending: bool,
    /// Every flag a reader puts on a comment.
    pub flags: bool,
    /// Every new (not merged) typo report.
    pub typos: bool,
    /// One message a day of what waits.
    pub digest: bool,
}

/// A moderator's notification setting as the console shows it (never the address itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeratorMail {
    pub confirmed: bool,
    pub choices: Choices,
}

/// A moderator's new address, prepared by the rules (see [`Subscription`]).
#[derive(Clone, Debug)]
pub struct ModeratorAddress {
    pub lookup: [u8; 16],
    pub sealed: Vec<u8>,
    pub lang: &'static str,
}

/// A moderator's address and what the sender needs to write to it: a recipient's row without replies.
pub type ModeratorLetter = RecipientRow;

/// What a daily digest counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DigestCounts {
    /// Comments waiting for moderation.
    pub pending: u64,
    /// Visible comments readers flagged since a moderator last acted on them.
    pub flagged: u64,
    /// Typo reports still open.
    pub typos: u64,
}

/// The events a moderator can be told of one by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeratorEvent {
    Pending,
    Flag,
    Typo,
}

impl ModeratorEvent {
    /// The `moderator_mail` column that asks for it, and the word in the message's payload.
    pub const fn column(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Flag => "flags",
            Self::Typo => "typos",
        }
    }

    pub fn parse(kind: &str) -> Option<Self> {
        [Self::Pending, Self::Flag, Self::Typo].into_iter().find(|e| e.column() == kind)
    }
}

/// Moderators' notifications.
#[async_trait]
pub trait ModeratorMailStore: Send + Sync {
    /// A moderator's setting, if they gave an address.
    async fn moderator_mail(&self, moderator: &str) -> anyhow::Result<Option<ModeratorMail>>;

    /// Sets what a moderator is told of, and with `address`, where: a new address waits for its
    /// confirmation (one is queued); the same address keeps it. `None` for both forgets the setting.
    async fn set_moderator_mail(
        &self,
        moderator: &str,
        address: Option<ModeratorAddress>,
        choices: Option<Choices>,
    ) -> anyhow::Result<()>;

    /// Confirms a moderator's address; false when there is no such setting (any more).
    async fn moderator_confirm(&self, moderator: i64) -> anyhow::Result<bool>;

    /// Forgets a moderator's address and choices; answers whether there were any.
    async fn moderator_unsubscribe(&self, moderator: i64) -> anyhow::Result<bool>;

    /// A moderator's address, to write to.
    async fn moderator_letter(&self, moderator: i64) -> anyhow::Result<Option<ModeratorLetter>>;

    /// Queues a digest for every confirmed moderator who asked for one and had none in the last day;
    /// answers how many.
    async fn queue_digests(&self, now: i64) -> anyhow::Result<u64>;

    /// What waits for the moderators now.
    async fn digest_counts(&self) -> anyhow::Result<DigestCounts>;
}

/// A day, in seconds: how often a digest goes.
pub const DIGEST_SECS: i64 = 86_400;

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

/// A recipient as both backends read it for a [`Letter`].
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

/// A confirmation is not sent again sooner than this after the last one (seconds).
pub const CONFIRM_AGAIN_SECS: i64 = 3_600;

/// Seconds during which further replies wait to be told together with the next message.
pub const GATHER_SECS: i64 = 15 * 60;

#[async_trait]
pub trait MailStore: Send + Sync {
    /// Where `reader`'s address `lookup` stands.
    async fn mail_address(&self, reader: &ReaderHash, lookup: &[u8; 16]) -> anyhow::Result<AddressState>;

    /// Confirms a recipient's address; false when there is no such recipient (any more).
    async fn mail_confirm(&self, recipient: i64) -> anyhow::Result<bool>;

    /// Forgets a recipient: its address, what it followed and what waited for it. Answers whether there was
    /// one.
    async fn mail_unsubscribe(&self, recipient: i64) -> anyhow::Result<bool>;

    /// A recipient's address and what waits for it; `None` when it is gone.
    async fn mail_letter(&self, recipient: i64) -> anyhow::Result<Option<Letter>>;

    /// Records a message sent (or found to be unneeded): the outbox row `delivery` goes, the replies `told`
    /// stop waiting, the next message may go at `next_at`; replies that came meanwhile get a new row due
    /// then.
    async fn mail_told(&self, delivery: i64, recipient: i64, told: &[i64], next_at: i64) -> anyhow::Result<()>;

    /// Stops all mail to an address (a bounce or a complaint), ends the delivery `delivery`, and forgets
    /// what waited for the address.
    async fn mail_block(&self, delivery: i64, lookup: &[u8], reason: &str) -> anyhow::Result<()>;
}

//! The storage interface the rules talk to, so that a backend can be added without touching them.
//!
//! One trait per concern (reactions, comments, typos, outbox, accounts, moderation), each in its own file
//! with the types it takes and answers; [`Store`] is their sum plus what concerns the database as a whole.
//! Each backend keeps its own SQL and migrations; what they share is the traits' contract: counts are
//! exact under any concurrency, and every write is durable (or reported as failed) before it returns.

mod accounts;
mod comments;
mod moderation;
mod outbox;
mod reactions;
mod sqlite;
mod typos;

use std::sync::Arc;

use async_trait::async_trait;

pub use accounts::*;
pub use comments::*;
pub use moderation::*;
pub use outbox::*;
pub use reactions::*;
pub use sqlite::{SqliteStore, StoreClosed, database_file};
pub use typos::*;

/// A shareable handle to whichever backend this server runs on.
pub type DynStore = Arc<dyn Store>;

/// Everything a backend provides: each concern's trait, and the database as a whole.
#[async_trait]
pub trait Store:
    ReactionStore + CommentStore + TypoStore + OutboxStore + AccountStore + ModerationStore + Send + Sync + 'static
{
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> anyhow::Result<()>;

    /// A secret an older version kept in the database under `name` (see [`crate::keys`]).
    async fn legacy_secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>>;

    /// Removes a secret kept in the database, so that no copy made from now on carries it.
    async fn forget_secret(&self, name: &str) -> anyhow::Result<()>;

    /// Forgets IP hashes of writes made before `before` (unix seconds); answers how many rows changed.
    async fn purge_ip_hashes(&self, before: i64) -> anyhow::Result<u64>;

    /// Writes a consistent copy of the database to `path` (which must not exist) while serving, readable by
    /// its owner only; answers the row counts of the main tables in the copy.
    async fn backup(&self, path: &std::path::Path) -> anyhow::Result<Vec<(&'static str, u64)>>;

    /// Stops accepting writes and waits until those already accepted are stored.
    async fn close(&self);
}

/// Opens the store a `--database` value names: a file path or a `sqlite:` URL. Creates and migrates it.
pub async fn open(database: &str) -> anyhow::Result<DynStore> {
    Ok(Arc::new(SqliteStore::open(database).await?))
}

/// Opens an existing, up-to-date store without changing its schema (the command-line tools).
pub async fn open_existing(database: &str) -> anyhow::Result<DynStore> {
    Ok(Arc::new(SqliteStore::open_existing(database).await?))
}

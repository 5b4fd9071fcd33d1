//! The storage interface the routes talk to, so that a backend can be added without touching them.
//!
//! Each backend keeps its own SQL and migrations; what they share is this trait's contract: counts are
//! exact under any concurrency, and every write is durable (or reported as failed) before it returns.

mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use otklik_api::{ArticleId, ReactionKind, ReactionsView};

use crate::reader::ReaderHash;

pub use sqlite::{SqliteStore, StoreClosed};

/// A shareable handle to whichever backend this server runs on.
pub type DynStore = Arc<dyn Store>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> anyhow::Result<()>;

    /// The server's long-lived secret named `name`, created from `fresh` the first time it is asked for.
    async fn secret(&self, name: &str, fresh: &[u8]) -> anyhow::Result<Vec<u8>>;

    /// An article's reaction counts, and `reader`'s own reaction if a reader is given.
    async fn reactions(&self, article: &ArticleId, reader: Option<ReaderHash>) -> anyhow::Result<ReactionsView>;

    /// Sets (`Some`) or clears (`None`) `reader`'s reaction on `article`; answers the view after the change.
    async fn set_reaction(
        &self,
        article: &ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
    ) -> anyhow::Result<ReactionsView>;

    /// Stops accepting writes and waits until those already accepted are stored.
    async fn close(&self);
}

/// Opens the store a `--database` value names: a file path or a `sqlite:` URL.
pub async fn open(database: &str) -> anyhow::Result<DynStore> {
    Ok(Arc::new(SqliteStore::open(database).await?))
}

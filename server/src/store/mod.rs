//! The storage interface the rules talk to, so that a backend can be added without touching them.
//!
//! One trait per concern (reactions, comments, typos, outbox, accounts, moderation), each in its own file
//! with the types it takes and answers; [`Store`] is their sum plus what concerns the database as a whole.
//! Each backend keeps its own SQL and migrations; what they share is the traits' contract: counts are
//! exact under any concurrency, and every write is durable (or reported as failed) before it returns.

mod accounts;
mod comments;
pub mod copy;
mod mail;
mod moderation;
mod outbox;
mod page_cache;
mod postgres;
mod reactions;
mod readers;
mod sqlite;
pub mod transfer;
mod typos;

use std::sync::Arc;

use async_trait::async_trait;

pub use accounts::*;
pub use comments::*;
pub use mail::*;
pub use moderation::*;
pub use outbox::*;
pub use postgres::{POOL_DEFAULT, PgStore};
pub use reactions::*;
pub use readers::*;
pub use sqlite::{SqliteStore, StoreClosed, database_file};
pub use transfer::TransferStore;
pub use typos::*;

/// A shareable handle to whichever backend this server runs on.
pub type DynStore = Arc<dyn Store>;

/// Everything a backend provides: each concern's trait, and the database as a whole.
#[async_trait]
pub trait Store:
    ReactionStore
    + CommentStore
    + TypoStore
    + OutboxStore
    + MailStore
    + ModeratorMailStore
    + AccountStore
    + ModerationStore
    + ReaderStore
    + TransferStore
    + Send
    + Sync
    + 'static
{
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> anyhow::Result<()>;

    /// A secret an older version kept in the database under `name` (see [`crate::keys`]).
    async fn legacy_secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>>;

    /// Removes a secret kept in the database, so that no copy made from now on carries it.
    async fn forget_secret(&self, name: &str) -> anyhow::Result<()>;

    /// The secret kept under `name`, storing `fresh` first if there is none: what the first of several
    /// nodes keeps, every other node reads.
    async fn shared_secret(&self, name: &str, fresh: &[u8]) -> anyhow::Result<Vec<u8>>;

    /// Forgets IP hashes of writes made before `before` (unix seconds); answers how many rows changed.
    async fn purge_ip_hashes(&self, before: i64) -> anyhow::Result<u64>;

    /// Writes a consistent copy of the database to `path` (which must not exist) while serving, readable by
    /// its owner only; answers the row counts of the main tables in the copy.
    async fn backup(&self, path: &std::path::Path) -> anyhow::Result<Vec<(&'static str, u64)>>;

    /// Stops accepting writes and waits until those already accepted are stored.
    async fn close(&self);

    /// Committed changes, as they happen: this node's writes and (on PostgreSQL) every other node's. A
    /// receiver that falls behind is told it lagged: it must take it as [`Change::Everything`].
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change>;

    /// The connection pools: each one's name, connections open, and of those idle (for the metrics).
    fn pools(&self) -> Vec<(&'static str, u32, usize)>;

    /// Whether other nodes may write to the same database (their changes come through [`Store::changes`]).
    fn shared(&self) -> bool {
        false
    }

    /// Rate-limit buckets every node counts in; `None` where one process serves (its memory is exact
    /// and costs nothing).
    fn shared_limits(&self) -> Option<&dyn LimitStore> {
        None
    }
}

/// Rate-limit buckets kept in the database, so that a client spreading its requests over several nodes
/// gets no more than from one.
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Counts one event in `bucket` (generic cell rate: one event per `interval`, bursts up to
    /// `tolerance` ahead). `Ok(Err(wait))` when over the limit: the event is not counted, and `wait` is
    /// how long until one would be.
    async fn take(
        &self,
        bucket: &[u8],
        interval: std::time::Duration,
        tolerance: std::time::Duration,
    ) -> anyhow::Result<Result<(), std::time::Duration>>;
}

/// A committed change to what nodes keep in memory or readers watch live, heard by every node (on
/// PostgreSQL through `NOTIFY`, the writing node included; on SQLite from the writer).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// A ban was added or lifted.
    Bans,
    /// A webhook delivery was queued: a node's sender may take it.
    Outbox,
    /// Notices may have been missed (the connection that hears them was lost): reload everything kept.
    Everything,
    /// An article's reaction counts changed.
    Reactions(String),
    /// An article's thread changed (a comment posted, edited, deleted, liked).
    Thread(String),
    /// Any article's thread may have changed (a moderator's action, an article's settings).
    Threads,
    /// A comment of the article was hidden or deleted.
    Removed(String, otklik_api::CommentId),
}

/// A write's future, borrowing its data and connection: the shape of the functions writers and batchers run.
pub(crate) type BoxFuture<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'c>>;

/// Changes a store announces that no receiver has taken yet, at most (more make slow receivers lag).
pub const CHANGES_KEPT: usize = 4_096;

/// Sends a request built around its reply channel to a store task (a writer, a batcher) and waits for the
/// answer; a task that has stopped answers [`StoreClosed`].
pub(crate) async fn ask<M, T>(
    task: &tokio::sync::mpsc::Sender<M>,
    request: impl FnOnce(tokio::sync::oneshot::Sender<anyhow::Result<T>>) -> M,
) -> anyhow::Result<T> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    task.send(request(reply)).await.map_err(|_| StoreClosed)?;
    answer.await.map_err(|_| StoreClosed)?
}

/// The database could not be reached for a write done on the request's behalf (by a batcher): as
/// [`unavailable`] errors, worth a retry.
#[derive(Debug)]
pub struct Unavailable;

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the database is unavailable")
    }
}

impl std::error::Error for Unavailable {}

/// Whether `err` says the database cannot be reached now (a full or closed pool, a lost connection, a
/// server shutting down or starting up) rather than that a request is wrong: worth a retry, and nothing
/// was stored.
pub fn unavailable(err: &anyhow::Error) -> bool {
    if err.is::<Unavailable>() {
        return true;
    }
    match err.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_)) => true,
        Some(sqlx::Error::WorkerCrashed) => true,
        // SQLSTATE class 08 (connection exception), 57P01–57P03 (shutdown, crash, not yet accepting).
        Some(sqlx::Error::Database(db)) => {
            db.code().is_some_and(|code| code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

/// Where the data lives, as `--database` / `OTKLIK_DATABASE` names it: a SQLite file (a path or a
/// `sqlite:` URL, the default) or a PostgreSQL database (`postgres://` or `postgresql://`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(String),
    Postgres(String),
}

impl std::str::FromStr for Location {
    type Err = anyhow::Error;

    fn from_str(value: &str) -> anyhow::Result<Self> {
        // A scheme is what comes before the first colon, if no slash comes first: `./a:b.db` is a path.
        let scheme = value.split_once(':').map(|(scheme, _)| scheme).filter(|s| !s.is_empty() && !s.contains('/'));
        match scheme.map(str::to_ascii_lowercase).as_deref() {
            None | Some("sqlite") => Ok(Self::Sqlite(value.to_owned())),
            Some("postgres" | "postgresql") => Ok(Self::Postgres(value.to_owned())),
            Some(other) => anyhow::bail!(
                "the database `{}` has the scheme `{other}:`, which otklik does not serve: give a SQLite file \
                 (a path, or sqlite:PATH) or a PostgreSQL URL (postgres://USER:PASSWORD@HOST/DATABASE); \
                 a file whose name has a colon is written ./{}",
                Self::redact(value),
                Self::redact(value)
            ),
        }
    }
}

impl Location {
    /// `value` fit for logs and messages: a URL's password replaced by `***`.
    pub fn redact(value: &str) -> String {
        let Some((scheme, rest)) = value.split_once("://") else { return value.to_owned() };
        let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
        let authority = match authority.rsplit_once('@') {
            Some((user, host)) => match user.split_once(':') {
                Some((name, _)) => format!("{name}:***@{host}"),
                None => format!("{user}@{host}"),
            },
            None => authority.to_owned(),
        };
        match path {
            Some(path) => format!("{scheme}://{authority}/{path}"),
            None => format!("{scheme}://{authority}"),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.write_str(path),
            Self::Postgres(url) => f.write_str(&Self::redact(url)),
        }
    }
}

/// Opens the store a `--database` value names, creating and migrating it.
pub async fn open(database: &str, pool: u32) -> anyhow::Result<DynStore> {
    Ok(match database.parse()? {
        Location::Sqlite(path) => Arc::new(SqliteStore::open(&path).await?),
        Location::Postgres(url) => Arc::new(PgStore::open(&url, pool, true).await?),
    })
}

/// Opens an existing, up-to-date store without changing its schema (the command-line tools).
pub async fn open_existing(database: &str) -> anyhow::Result<DynStore> {
    Ok(match database.parse()? {
        Location::Sqlite(path) => Arc::new(SqliteStore::open_existing(&path).await?),
        Location::Postgres(url) => Arc::new(PgStore::open(&url, 2, false).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::Location;

    #[test]
    fn a_database_is_a_file_or_a_url_otklik_serves() {
        let sqlite = |v: &str| Location::Sqlite(v.to_owned());
        assert_eq!("data/otklik.db".parse::<Location>().unwrap(), sqlite("data/otklik.db"));
        assert_eq!("sqlite:./data/otklik.db".parse::<Location>().unwrap(), sqlite("sqlite:./data/otklik.db"));
        assert_eq!(":memory:".parse::<Location>().unwrap(), sqlite(":memory:"));
        assert_eq!("./a:b.db".parse::<Location>().unwrap(), sqlite("./a:b.db"));
        for url in ["postgres://otklik:secret@db.internal/otklik", "postgresql://db/otklik"] {
            assert_eq!(url.parse::<Location>().unwrap(), Location::Postgres(url.to_owned()));
        }
        for other in ["mysql://root:pw@db/otklik", "http://example.com/db", "file:otklik.db"] {
            let err = other.parse::<Location>().unwrap_err().to_string();
            assert!(err.contains("does not serve"), "{other}: {err}");
            assert!(!err.contains(":pw@"), "the password stays out of messages: {err}");
        }
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(Location::redact("postgres://otklik:secret@db:5432/otklik"), "postgres://otklik:***@db:5432/otklik");
        assert_eq!(Location::redact("postgres://db/otklik"), "postgres://db/otklik");
        assert_eq!(Location::redact("data/otklik.db"), "data/otklik.db");
    }
}

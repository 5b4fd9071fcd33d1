//! The SQLite backend: one file, a pool of read-only connections, and a single writer that batches.
//!
//! SQLite allows one writer at a time, so instead of letting request tasks queue on the database lock,
//! every write goes to one task that owns the only read-write connection. It takes whatever writes are
//! waiting (up to `MAX_BATCH`), applies them in one transaction and answers each. Under load that turns
//! thousands of tiny transactions into a few large ones; when idle a batch is a single write and adds no
//! delay. Being the only writer also makes the running counts exact without any locking in SQL.
//!
//! Here: connection set-up and the database-wide part of `Store`. Each concern (`reactions`,
//! `comments`, `typos`, `outbox`, `accounts`, `moderation`) holds its SQL and implements its store trait,
//! handing reads to the pool, to `reads` (the batcher) or `page_cache`, and writes to `writer` as typed
//! jobs.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use otklik_api::{ArticleId, ReactionCounts, ReactionKind, ReactionsView};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Connection as _, SqliteConnection};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

mod accounts;
mod comments;
mod mail;
mod moderation;
mod moderator_mail;
mod outbox;
mod reactions;
mod readers;
mod reads;
mod transfer;
mod typos;
mod writer;

#[cfg(test)]
mod parameters;

use super::page_cache::*;
use reactions::*;
use reads::*;
use writer::*;

use super::{Change, Store};
use crate::hex::encode as hex;
use crate::rules::reader::ReaderHash;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Most writes applied in one transaction; bounds the latency a batch adds to its last member.
const MAX_BATCH: usize = 512;
/// Tasks answering reads; two keep one query running while the next batch gathers.
const READERS: usize = 2;
/// Writes (or reads) waiting before callers wait to enqueue (back-pressure instead of unbounded memory).
const QUEUE: usize = 8192;

/// The tables a backup reports, with their row counts.
const BACKUP_TABLES: [&str; 8] =
    ["articles", "reactions", "comments", "comment_likes", "typos", "moderators", "bans", "audit"];

/// The writer has shut down; the request should be retried (against a server that is up).
#[derive(Debug)]
pub struct StoreClosed;

impl std::fmt::Display for StoreClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the store is closed")
    }
}

impl std::error::Error for StoreClosed {}

/// Where a reaction read or write sends the article's counts and the reader's choice.
type Reply = oneshot::Sender<anyhow::Result<ReactionsView>>;

/// Reads answered in batches: one article's reactions, or which comments of a page a reader likes and wrote.
enum ReadOp {
    Reactions { article: ArticleId, reader: Option<ReaderHash>, reply: Reply },
    Overlay { reader: ReaderHash, ids: Vec<i64>, reply: oneshot::Sender<anyhow::Result<(Vec<i64>, Vec<i64>)>> },
}

enum Op {
    /// Reactions are most writes: the writer applies a batch's reactions together, set-based.
    React {
        article: ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
        reply: Reply,
    },
    /// Every other write, one by one in the batch's transaction.
    Write(Box<dyn Queued>),
    /// Answered once the writer's connection has run a statement: the health check of the write path.
    Ping(oneshot::Sender<anyhow::Result<()>>),
    Close(oneshot::Sender<()>),
}

pub struct SqliteStore {
    pages: Arc<std::sync::Mutex<PageCache>>,
    options: SqliteConnectOptions,
    read: SqlitePool,
    reads: mpsc::Sender<ReadOp>,
    writer: mpsc::Sender<Op>,
    writer_task: Mutex<Option<JoinHandle<()>>>,
    /// What the writer committed, for this process's live streams.
    changes: tokio::sync::broadcast::Sender<Change>,
    /// An import's or `import otklik`'s own connection, beside the writer's.
    transfer: Mutex<Option<transfer::Transfer>>,
}

impl SqliteStore {
    /// Tells this process's live streams that a comment was hidden or deleted (its write has committed).
    fn removed(&self, article: String, id: otklik_api::CommentId) {
        // Nobody listening is no error.
        let _ = self.changes.send(Change::Removed(article, id));
    }

    /// Opens (creating if needed) the database, runs pending migrations and starts the writer.
    pub async fn open(database: &str) -> anyhow::Result<Self> {
        let options = connect_options(database, true)?;
        let mut conn = options.connect().await.with_context(|| format!("opening the database {database}"))?;
        MIGRATOR.run(&mut conn).await.context("running database migrations")?;
        Self::start(conn, options).await
    }

    /// Opens a database the server has already created and brought up to date, changing nothing else:
    /// for the command-line tools, where a mistyped path must be an error rather than a new empty database.
    pub async fn open_existing(database: &str) -> anyhow::Result<Self> {
        let options = connect_options(database, false)?;
        let path = options.get_filename();
        anyhow::ensure!(
            path.is_file(),
            "there is no database at {} (check --database / OTKLIK_DATABASE; `otklik serve` creates it)",
            path.display()
        );
        let mut conn = options.connect().await.with_context(|| format!("opening the database {database}"))?;
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&mut conn)
                .await
                .map_err(|_| anyhow::anyhow!("{} is not an otklik database", path.display()))?;
        let known: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        if applied != known {
            let newer = applied.iter().any(|v| !known.contains(v));
            anyhow::bail!(
                "{} was written by {} version of otklik: {}",
                path.display(),
                if newer { "a newer" } else { "an older" },
                if newer {
                    "use that version's tools"
                } else {
                    "start `otklik serve` on it once to bring it up to date"
                }
            );
        }
        Self::start(conn, options).await
    }

    async fn start(conn: SqliteConnection, options: SqliteConnectOptions) -> anyhow::Result<Self> {
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone().read_only(true))
            .await
            .context("opening read connections")?;

        let (writer, rx) = mpsc::channel(QUEUE);
        let pages = Arc::new(std::sync::Mutex::new(PageCache::default()));
        let (changes, _) = tokio::sync::broadcast::channel(super::CHANGES_KEPT);
        let task = tokio::spawn(run_writer(conn, options.clone(), rx, pages.clone(), changes.clone()));
        let (reads, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..READERS {
            tokio::spawn(run_reader(read.clone(), rx.clone()));
        }
        tokio::spawn(watch_imports(read.clone(), pages.clone(), changes.clone()));
        Ok(Self {
            pages,
            options,
            read,
            reads,
            writer,
            writer_task: Mutex::new(Some(task)),
            changes,
            transfer: Mutex::new(None),
        })
    }
}

/// How often a server looks for what an import (another process) wrote.
const IMPORTS_WATCH: Duration = Duration::from_secs(1);

/// Another process (`otklik import`) writing threads cannot reach this one's page cache: it counts its
/// batches in `settings`, and this task, seeing the count move, lets every cached page go. SQLite has no
/// notifications between processes; one read of one row a second is the price.
async fn watch_imports(
    read: SqlitePool,
    pages: Arc<std::sync::Mutex<PageCache>>,
    changes: tokio::sync::broadcast::Sender<Change>,
) {
    let imports = || sqlx::query_scalar::<_, i64>("SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'imports'");
    let mut seen = imports().fetch_optional(&read).await.ok().flatten();
    let mut tick = tokio::time::interval(IMPORTS_WATCH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !read.is_closed() {
        tick.tick().await;
        let Ok(now) = imports().fetch_optional(&read).await else { continue };
        if now != seen {
            seen = now;
            pages.lock().expect("page cache lock").changed_all();
            let _ = changes.send(Change::Threads);
        }
    }
}

/// The file a `--database` value names; `None` for an in-memory database.
pub fn database_file(database: &str) -> anyhow::Result<Option<std::path::PathBuf>> {
    let options = connect_options(database, false)?;
    let path = options.get_filename();
    Ok((!path.as_os_str().is_empty() && path != Path::new(":memory:")).then(|| path.to_owned()))
}

fn connect_options(database: &str, create: bool) -> anyhow::Result<SqliteConnectOptions> {
    let options = if database.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(database).with_context(|| format!("parsing the database URL {database}"))?
    } else {
        let path = Path::new(database);
        if let Some(dir) = path.parent().filter(|d| create && !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        SqliteConnectOptions::new().filename(path)
    };
    // WAL lets readers run beside the writer; NORMAL sync keeps commits durable across a process crash
    // and defers the fsync to checkpoints, which is what makes thousands of commits a second possible.
    Ok(options
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .pragma("temp_store", "memory"))
}

#[async_trait]
impl Store for SqliteStore {
    fn pools(&self) -> Vec<(&'static str, u32, usize)> {
        // The writer's one connection is its own, outside any pool.
        vec![("read", self.read.size(), self.read.num_idle())]
    }

    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        super::ask(&self.writer, Op::Ping).await
    }

    async fn legacy_secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = ?1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?)
    }

    async fn shared_secret(&self, name: &str, fresh: &[u8]) -> anyhow::Result<Vec<u8>> {
        let kept = (name.to_owned(), fresh.to_vec());
        self.write("secret", Touches::Nothing, kept, |(name, fresh), conn, _| {
            Box::pin(async move {
                Ok(sqlx::query_scalar(
                    "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING;
                     SELECT value FROM settings WHERE name = ?1",
                )
                .bind(name)
                .bind(fresh)
                .fetch_one(&mut *conn)
                .await?)
            })
        })
        .await
    }

    async fn forget_secret(&self, name: &str) -> anyhow::Result<()> {
        self.write("secret removal", Touches::Nothing, name.to_owned(), |name, conn, _| {
            Box::pin(async move {
                sqlx::query("DELETE FROM settings WHERE name = ?1").bind(name).execute(&mut *conn).await?;
                Ok(())
            })
        })
        .await
    }

    async fn purge_ip_hashes(&self, before: i64) -> anyhow::Result<u64> {
        self.write("IP hash purge", Touches::Nothing, before, |&before, conn, _| {
            Box::pin(moderation::purge_ip_hashes(conn, before))
        })
        .await
    }

    async fn backup(&self, path: &Path) -> anyhow::Result<Vec<(&'static str, u64)>> {
        let target = path.to_str().context("the backup path is not valid UTF-8")?;
        // The copy holds IP hashes and moderators' password hashes: it is created for its owner alone, and
        // never over an existing file. VACUUM INTO fills an empty file as it would a new one.
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        file.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                anyhow::anyhow!("{} already exists: a backup never overwrites a file", path.display())
            }
            _ => anyhow::Error::new(e).context(format!("creating {}", path.display())),
        })?;
        // VACUUM INTO reads one snapshot in a read transaction, so writes carry on while it copies.
        let copied = async {
            let mut conn = self.options.connect().await?;
            sqlx::query("VACUUM INTO ?1").bind(target).execute(&mut conn).await?;
            conn.close().await?;
            // What the copy holds, read from the copy itself.
            let mut copy = SqliteConnectOptions::new().filename(path).read_only(true).immutable(true).connect().await?;
            let mut counts = Vec::new();
            for table in BACKUP_TABLES {
                let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut copy).await?;
                counts.push((table, n.max(0) as u64));
            }
            copy.close().await?;
            anyhow::Ok(counts)
        };
        match copied.await {
            Ok(counts) => Ok(counts),
            Err(err) => {
                // Leave no half-written copy that could pass for a backup.
                let _ = std::fs::remove_file(path);
                Err(err)
            }
        }
    }

    async fn close(&self) {
        let (done, finished) = oneshot::channel();
        if self.writer.send(Op::Close(done)).await.is_ok() {
            let _ = finished.await;
        }
        if let Some(task) = self.writer_task.lock().await.take() {
            let _ = task.await;
        }
        self.read.close().await;
    }
}

impl SqliteStore {
    /// Hands a write to the writer, to run inside its next batch, and waits for its answer.
    async fn write<D: Send + Sync + 'static, T: Send + 'static>(
        &self,
        what: &'static str,
        touches: Touches,
        data: D,
        run: Run<D, T>,
    ) -> anyhow::Result<T> {
        super::ask(&self.writer, |reply| {
            Op::Write(Box::new(Job { what, data, run, touches, done: None, failure: None, reply }))
        })
        .await
    }
}

//! The SQLite backend: one file, a pool of read-only connections, and a single writer that batches.
//!
//! SQLite allows one writer at a time, so instead of letting request tasks queue on the database lock,
//! every write goes to one task that owns the only read-write connection. It takes whatever writes are
//! waiting (up to `MAX_BATCH`), applies them in one transaction and answers each. Under load that turns
//! thousands of tiny transactions into a few large ones; when idle a batch is a single write and adds no
//! delay. Being the only writer also makes the running counts exact without any locking in SQL.
//!
//! Here: connection set-up and the `Store` implementation, which hands reads to `reads` (the batcher)
//! and `page_cache`, and writes to `writer`; the SQL lives per concern in `reactions`, `comments`,
//! `moderation`, `typos` and `outbox`.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use otklik_api::{
    ArticleId, ArticleSettings, AuditPage, Comment, CommentId, CommentPage, LikeView, ModerationAction, Queue,
    QueueItem, QueuePage, ReactionCounts, ReactionKind, ReactionsView,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Connection as _, SqliteConnection};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

mod comments;
mod moderation;
mod outbox;
mod page_cache;
mod reactions;
mod reads;
mod typos;
mod writer;

use page_cache::*;
use reactions::*;
use reads::*;
use writer::*;

use super::{
    ArticleRow, CommentCmd, CommentError, CommentOutcome, CommentQuery, EditCommentCmd, ModError, NewBanCmd,
    NewCommentCmd, NewTypoCmd, OutboxItem, Session, Store, StoredBan, TypoCmd, TypoError, TypoOutcome, TypoQuery,
};
use crate::hex::encode as hex;
use crate::rules::reader::ReaderHash;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

type CommentReply = oneshot::Sender<anyhow::Result<CommentOutcome>>;
type TypoReply = oneshot::Sender<anyhow::Result<TypoOutcome>>;

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
    React {
        article: ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
        reply: Reply,
    },
    Comment(CommentCmd, CommentReply),
    Typo(TypoCmd, TypoReply),
    /// `bool`: the write can change what threads show, so cached pages must go.
    Admin(AdminJob, bool, oneshot::Sender<anyhow::Result<AnyValue>>),
    /// Answered once the writer's connection has run a statement: the health check of the write path.
    Ping(oneshot::Sender<anyhow::Result<()>>),
    Close(oneshot::Sender<()>),
}

/// An admin write's answer, type-erased on its way back from the writer.
type AnyValue = Box<dyn std::any::Any + Send>;
type JobFuture<'c> = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<AnyValue>> + Send + 'c>>;
/// A rare write (moderation, accounts, flags, bans) run by the writer inside its batch transaction. They
/// are few and varied, so each is a closure over the connection rather than a variant of its own; the
/// answer comes back type-erased and is unpacked by [`SqliteStore::admin`].
type AdminJob = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection, i64) -> JobFuture<'c> + Send>;

/// A typed admin write: what [`SqliteStore::admin`] accepts before erasing its answer's type.
trait AdminFn<T>:
    for<'c> FnOnce(
        &'c mut SqliteConnection,
        i64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<T>> + Send + 'c>>
    + Send
    + 'static
{
}

impl<T, F> AdminFn<T> for F where
    F: for<'c> FnOnce(
            &'c mut SqliteConnection,
            i64,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<T>> + Send + 'c>>
        + Send
        + 'static
{
}

pub struct SqliteStore {
    pages: Arc<std::sync::Mutex<PageCache>>,
    options: SqliteConnectOptions,
    read: SqlitePool,
    reads: mpsc::Sender<ReadOp>,
    writer: mpsc::Sender<Op>,
    writer_task: Mutex<Option<JoinHandle<()>>>,
}

impl SqliteStore {
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
        let task = tokio::spawn(run_writer(conn, options.clone(), rx, pages.clone()));
        let (reads, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..READERS {
            tokio::spawn(run_reader(read.clone(), rx.clone()));
        }
        Ok(Self { pages, options, read, reads, writer, writer_task: Mutex::new(Some(task)) })
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
    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        let (reply, answer) = oneshot::channel();
        self.writer.send(Op::Ping(reply)).await.map_err(|_| StoreClosed)?;
        answer.await.map_err(|_| StoreClosed)?
    }

    async fn legacy_secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = ?1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?)
    }

    async fn forget_secret(&self, name: &str) -> anyhow::Result<()> {
        let name = name.to_owned();
        self.admin(move |conn, _| {
            Box::pin(async move {
                sqlx::query("DELETE FROM settings WHERE name = ?1").bind(&name).execute(&mut *conn).await?;
                Ok(())
            })
        })
        .await
    }

    async fn reactions(&self, article: &ArticleId, reader: Option<ReaderHash>) -> anyhow::Result<ReactionsView> {
        let (reply, answer) = oneshot::channel();
        self.reads
            .send(ReadOp::Reactions { article: article.clone(), reader, reply })
            .await
            .map_err(|_| StoreClosed)?;
        answer.await.map_err(|_| StoreClosed)?
    }

    async fn set_reaction(
        &self,
        article: &ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
    ) -> anyhow::Result<ReactionsView> {
        let (reply, answer) = oneshot::channel();
        let op = Op::React { article: article.clone(), reader, kind, reply };
        self.writer.send(op).await.map_err(|_| StoreClosed)?;
        answer.await.map_err(|_| StoreClosed)?
    }

    async fn comments(&self, query: &CommentQuery) -> anyhow::Result<Result<CommentPage, CommentError>> {
        if query.cursor.is_some() || query.root.is_some() {
            return comments::page(&self.read, query).await;
        }
        // First pages are most of the traffic: serve their shared part from the cache, then add what is
        // particular to this reader.
        let key = (query.article.as_str().to_owned(), query.sort, query.limit);
        let (generation, cached) = self.pages.lock().expect("page cache lock").get(&key);
        let cached = match cached {
            Some(cached) => cached,
            None => {
                let shared = CommentQuery { reader: None, ..query.clone() };
                let page = match comments::page(&self.read, &shared).await? {
                    Ok(page) => page,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                let (active, pending) = comments::active_readers(&self.read, &query.article).await?;
                let cached = Arc::new(CachedPage { page, active, pending });
                self.pages.lock().expect("page cache lock").put(key, generation, cached.clone());
                cached
            }
        };
        // Readers waiting for a comment's approval see it where it will appear: their page is their own.
        if query.reader.as_ref().is_some_and(|r| cached.pending.contains(&r.0)) {
            return comments::page(&self.read, query).await;
        }
        let mut page = cached.page.clone();
        // Most readers never wrote or liked anything on the article: the shared page is already theirs.
        if let Some(reader) = query.reader.as_ref().filter(|r| cached.active.contains(&r.0)) {
            let ids: Vec<i64> = page.comments.iter().map(|c| c.id.0).collect();
            let (reply, answer) = oneshot::channel();
            self.reads.send(ReadOp::Overlay { reader: *reader, ids, reply }).await.map_err(|_| StoreClosed)?;
            let (liked, mine) = answer.await.map_err(|_| StoreClosed)??;
            for c in &mut page.comments {
                c.liked = liked.contains(&c.id.0);
                c.mine = mine.contains(&c.id.0);
                c.editable_until = c.mine.then_some(c.created + otklik_api::limits::EDIT_WINDOW_SECS);
            }
        }
        Ok(Ok(page))
    }

    async fn comment_counts(&self, articles: &[ArticleId]) -> anyhow::Result<std::collections::BTreeMap<String, u64>> {
        comments::counts(&self.read, articles).await
    }

    async fn post_comment(&self, post: NewCommentCmd) -> anyhow::Result<Result<Comment, CommentError>> {
        self.comment_write(CommentCmd::Post(post)).await?.into_comment()
    }

    async fn edit_comment(&self, edit: EditCommentCmd) -> anyhow::Result<Result<Comment, CommentError>> {
        self.comment_write(CommentCmd::Edit(edit)).await?.into_comment()
    }

    async fn delete_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
    ) -> anyhow::Result<Result<(), CommentError>> {
        self.comment_write(CommentCmd::Delete { article, id, reader }).await?.into_deleted()
    }

    async fn like_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
        like: bool,
    ) -> anyhow::Result<Result<LikeView, CommentError>> {
        self.comment_write(CommentCmd::Like { article, id, reader, like }).await?.into_like()
    }

    async fn report_typo(&self, report: NewTypoCmd) -> anyhow::Result<otklik_api::TypoReceipt> {
        match self.typo_write(TypoCmd::Report(report)).await? {
            TypoOutcome::Receipt(receipt) => Ok(receipt),
            other => Err(anyhow::anyhow!("a typo report was answered with {other:?}")),
        }
    }

    async fn typos(&self, query: &TypoQuery) -> anyhow::Result<otklik_api::TypoList> {
        typos::list(&self.read, query).await
    }

    async fn set_typo_status(
        &self,
        id: otklik_api::TypoId,
        status: otklik_api::TypoStatus,
        who: &str,
    ) -> anyhow::Result<Result<otklik_api::TypoReport, TypoError>> {
        match self.typo_write(TypoCmd::SetStatus { id, status, who: who.to_owned() }).await? {
            TypoOutcome::Status(result) => Ok(result),
            other => Err(anyhow::anyhow!("a typo status change was answered with {other:?}")),
        }
    }

    async fn outbox_due(&self, now: i64, after: i64, limit: usize) -> anyhow::Result<Vec<OutboxItem>> {
        outbox::due(&self.read, now, after, limit).await
    }

    async fn outbox_next(&self) -> anyhow::Result<Option<i64>> {
        outbox::next_due(&self.read).await
    }

    async fn outbox_attempted(&self, id: i64, retry_at: Option<i64>) -> anyhow::Result<()> {
        self.typo_write(TypoCmd::Attempted { id, retry_at }).await.map(drop)
    }

    async fn flag_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
    ) -> anyhow::Result<Result<(), CommentError>> {
        self.admin(move |conn, now| {
            Box::pin(async move { moderation::flag(conn, article.as_str(), id, &reader, now).await })
        })
        .await
    }

    async fn moderators_exist(&self) -> anyhow::Result<bool> {
        moderation::moderators_exist(&self.read).await
    }

    async fn add_moderator(&self, name: &str, password_hash: &str) -> anyhow::Result<bool> {
        let (name, hash) = (name.to_owned(), password_hash.to_owned());
        self.admin(move |conn, now| Box::pin(async move { moderation::add_moderator(conn, &name, &hash, now).await }))
            .await
    }

    async fn remove_moderator(&self, name: &str) -> anyhow::Result<bool> {
        let name = name.to_owned();
        self.admin(move |conn, _| Box::pin(async move { moderation::remove_moderator(conn, &name).await })).await
    }

    async fn moderator_password(&self, name: &str) -> anyhow::Result<Option<(i64, String)>> {
        moderation::moderator_password(&self.read, name).await
    }

    async fn start_session(
        &self,
        moderator: i64,
        token_hash: [u8; 32],
        csrf: String,
        expires: i64,
    ) -> anyhow::Result<()> {
        self.admin(move |conn, now| {
            Box::pin(async move { moderation::start_session(conn, moderator, &token_hash, &csrf, expires, now).await })
        })
        .await
    }

    async fn session(&self, token_hash: [u8; 32]) -> anyhow::Result<Option<Session>> {
        moderation::session(&self.read, &token_hash, crate::unix_now()).await
    }

    async fn end_session(&self, token_hash: [u8; 32]) -> anyhow::Result<()> {
        self.admin(move |conn, _| Box::pin(async move { moderation::end_session(conn, &token_hash).await })).await
    }

    async fn queue(&self, queue: Queue, before: Option<CommentId>, limit: usize) -> anyhow::Result<QueuePage> {
        moderation::queue(&self.read, queue, before, limit).await
    }

    async fn moderate(
        &self,
        id: CommentId,
        action: ModerationAction,
        who: &str,
        announce: bool,
    ) -> anyhow::Result<Result<Option<QueueItem>, ModError>> {
        let who = who.to_owned();
        self.admin_changing(move |conn, now| {
            Box::pin(async move { moderation::moderate(conn, id, action, &who, announce, now).await })
        })
        .await
    }

    async fn articles(&self, limit: usize) -> anyhow::Result<Vec<ArticleRow>> {
        moderation::articles(&self.read, limit).await
    }

    async fn set_article(&self, article: ArticleId, settings: ArticleSettings, who: &str) -> anyhow::Result<()> {
        let who = who.to_owned();
        self.admin_changing(move |conn, now| {
            Box::pin(async move { moderation::set_article(conn, article.as_str(), settings, &who, now).await })
        })
        .await
    }

    async fn set_article_page(&self, article: ArticleId, page: otklik_api::PageInfo, who: &str) -> anyhow::Result<()> {
        let who = who.to_owned();
        self.admin(move |conn, now| {
            Box::pin(async move { moderation::set_article_page(conn, article.as_str(), &page, &who, now).await })
        })
        .await
    }

    async fn add_ban(&self, ban: NewBanCmd) -> anyhow::Result<Result<StoredBan, ModError>> {
        self.admin(move |conn, now| Box::pin(async move { moderation::add_ban(conn, &ban, now).await })).await
    }

    async fn bans(&self) -> anyhow::Result<Vec<StoredBan>> {
        moderation::bans(&self.read, crate::unix_now()).await
    }

    async fn lift_ban(&self, id: i64, who: &str) -> anyhow::Result<bool> {
        let who = who.to_owned();
        self.admin(move |conn, now| Box::pin(async move { moderation::lift_ban(conn, id, &who, now).await })).await
    }

    async fn record(&self, who: &str, action: &str, target: &str, detail: &str) -> anyhow::Result<()> {
        let line = [who, action, target, detail].map(str::to_owned);
        self.admin(move |conn, now| {
            Box::pin(async move {
                let [who, action, target, detail] = &line;
                moderation::record(conn, who, action, target, detail, now).await
            })
        })
        .await
    }

    async fn audit(&self, before: Option<i64>, limit: usize) -> anyhow::Result<AuditPage> {
        moderation::audit(&self.read, before, limit).await
    }

    async fn purge_ip_hashes(&self, before: i64) -> anyhow::Result<u64> {
        self.admin(move |conn, _| Box::pin(async move { moderation::purge_ip_hashes(conn, before).await })).await
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
    /// Hands a comment write to the writer and waits for its outcome.
    async fn comment_write(&self, cmd: CommentCmd) -> anyhow::Result<CommentOutcome> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(Op::Comment(cmd, reply)).await.map_err(|_| StoreClosed)?;
        answer.await.map_err(|_| StoreClosed)?
    }

    /// Runs a rare write on the writer, inside its next batch, and waits for the answer.
    async fn admin<T: Send + 'static, F: AdminFn<T>>(&self, job: F) -> anyhow::Result<T> {
        self.run_admin(job, false).await
    }

    /// As [`Self::admin`], for writes that change what threads show (moderation): cached pages go.
    async fn admin_changing<T: Send + 'static, F: AdminFn<T>>(&self, job: F) -> anyhow::Result<T> {
        self.run_admin(job, true).await
    }

    async fn run_admin<T: Send + 'static, F: AdminFn<T>>(&self, job: F, changing: bool) -> anyhow::Result<T> {
        let job: AdminJob = Box::new(move |conn, now| {
            Box::pin(async move { job(conn, now).await.map(|value| Box::new(value) as AnyValue) })
        });
        let (reply, answer) = oneshot::channel();
        self.writer.send(Op::Admin(job, changing, reply)).await.map_err(|_| StoreClosed)?;
        let value = answer.await.map_err(|_| StoreClosed)??;
        value.downcast::<T>().map(|v| *v).map_err(|_| anyhow::anyhow!("an admin write answered with the wrong type"))
    }

    /// Hands a typo or outbox write to the writer and waits for its outcome.
    async fn typo_write(&self, cmd: TypoCmd) -> anyhow::Result<TypoOutcome> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(Op::Typo(cmd, reply)).await.map_err(|_| StoreClosed)?;
        answer.await.map_err(|_| StoreClosed)?
    }
}

//! The SQLite backend: one file, a pool of read-only connections, and a single writer that batches.
//!
//! SQLite allows one writer at a time, so instead of letting request tasks queue on the database lock,
//! every write goes to one task that owns the only read-write connection. It takes whatever writes are
//! waiting (up to `MAX_BATCH`), applies them in one transaction and answers each. Under load that turns
//! thousands of tiny transactions into a few large ones; when idle a batch is a single write and adds no
//! delay. Being the only writer also makes the running counts exact without any locking in SQL.

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
mod typos;

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

fn stored_kind(raw: i64) -> anyhow::Result<ReactionKind> {
    usize::try_from(raw).ok().and_then(ReactionKind::from_index).with_context(|| format!("stored reaction kind {raw}"))
}

/// Answers reads in batches: whatever reads are waiting go to SQLite as one query.
///
/// Each query crosses to SQLite's worker thread and back; under load that hand-off, not the lookup, is
/// the cost, so sharing it among all waiting readers multiplies throughput. When idle a batch is one read.
async fn run_reader(pool: SqlitePool, queue: Arc<Mutex<mpsc::Receiver<ReadOp>>>) {
    let mut ops = Vec::with_capacity(MAX_BATCH);
    loop {
        if queue.lock().await.recv_many(&mut ops, MAX_BATCH).await == 0 {
            return;
        }
        let (mut reactions, mut overlays) = (Vec::new(), Vec::new());
        for op in ops.drain(..) {
            match op {
                ReadOp::Reactions { article, reader, reply } => reactions.push((article, reader, reply)),
                ReadOp::Overlay { reader, ids, reply } => overlays.push((reader, ids, reply)),
            }
        }
        if !reactions.is_empty() {
            let result = read_batch(&pool, &reactions).await;
            answer(reactions.into_iter().map(|(.., reply)| reply), result, "reactions");
        }
        if !overlays.is_empty() {
            let requests: Vec<_> = overlays.iter().map(|(reader, ids, _)| (reader, ids.as_slice())).collect();
            let result = comments::overlays(&pool, &requests).await;
            answer(overlays.into_iter().map(|(.., reply)| reply), result, "comment overlays");
        }
    }
}

/// Sends each waiting reader its answer from a batch, or the batch's failure.
fn answer<T>(
    replies: impl Iterator<Item = oneshot::Sender<anyhow::Result<T>>>,
    result: anyhow::Result<Vec<T>>,
    what: &str,
) {
    match result {
        Ok(values) => {
            for (reply, value) in replies.zip(values) {
                let _ = reply.send(Ok(value));
            }
        }
        Err(err) => {
            let closed = matches!(err.downcast_ref::<sqlx::Error>(), Some(sqlx::Error::PoolClosed));
            if !closed {
                tracing::error!(error = %format!("{err:#}"), what, "read batch failed");
            }
            for reply in replies {
                let err =
                    if closed { anyhow::Error::new(StoreClosed) } else { anyhow::anyhow!("reading {what} failed") };
                let _ = reply.send(Err(err));
            }
        }
    }
}

/// One statement for the whole batch, so each view's counts and own choice come from the same snapshot.
async fn read_batch(
    pool: &SqlitePool,
    batch: &[(ArticleId, Option<ReaderHash>, Reply)],
) -> anyhow::Result<Vec<ReactionsView>> {
    let requests: Vec<(&str, Option<String>)> =
        batch.iter().map(|(article, reader, _)| (article.as_str(), reader.map(|r| hex(&r.0)))).collect();
    // CROSS JOIN fixes the order: the requests drive, and every other table is reached by its key.
    let rows: Vec<(i64, i64, i64, bool)> = sqlx::query_as(
        "SELECT j.key, c.kind, c.count, 0 FROM json_each(?1) j
           CROSS JOIN articles a ON a.key = j.value ->> 0
           CROSS JOIN reaction_counts c ON c.article_id = a.id
         UNION ALL
         SELECT j.key, r.kind, 1, 1 FROM json_each(?1) j
           CROSS JOIN articles a ON a.key = j.value ->> 0
           CROSS JOIN reactions r ON r.article_id = a.id AND r.reader = unhex(j.value ->> 1)",
    )
    .bind(serde_json::to_string(&requests)?)
    .fetch_all(pool)
    .await?;
    let mut views = vec![ReactionsView::default(); batch.len()];
    for (i, kind, count, mine) in rows {
        let view = usize::try_from(i).ok().and_then(|i| views.get_mut(i)).context("read batch row index")?;
        let kind = stored_kind(kind)?;
        if mine {
            view.mine = Some(kind);
        } else {
            view.counts.set(kind, count.max(0) as u64);
        }
    }
    Ok(views)
}

/// Article, order and page size of a cached first page.
type PageKey = (String, otklik_api::CommentSort, usize);

/// First pages of threads, without any reader's likes or own comments, per (article, order, size).
///
/// Correctness rests on a generation per article that the writer bumps after every committed comment
/// write: a page is stored only if its article's generation did not move while it was being read, so a
/// page read before a commit can never be stored after it, and entries older than a bump are ignored.
#[derive(Default)]
struct PageCache {
    epoch: u64,
    generations: HashMap<String, u64>,
    pages: HashMap<PageKey, (u64, Arc<CachedPage>)>,
}

/// A first page as everyone sees it, and every reader who wrote or liked a comment on the article (only
/// they need their likes and authorship looked up). Both were read under the same generation.
struct CachedPage {
    page: CommentPage,
    active: comments::ReaderSet,
    /// Readers with comments awaiting moderation on the article.
    pending: comments::ReaderSet,
}

/// Entries kept before the cache starts over (a crude bound; hot articles refill it at once).
const PAGE_CACHE_MAX: usize = 4_096;

impl PageCache {
    /// Both parts only grow, so their sum changes whenever either does.
    fn generation(&self, article: &str) -> u64 {
        self.epoch + self.generations.get(article).copied().unwrap_or(0)
    }

    /// The article's current generation, and the cached page if it is of that generation.
    fn get(&self, key: &PageKey) -> (u64, Option<Arc<CachedPage>>) {
        let generation = self.generation(&key.0);
        let page = self.pages.get(key).filter(|(g, _)| *g == generation).map(|(_, p)| p.clone());
        (generation, page)
    }

    fn put(&mut self, key: PageKey, generation: u64, page: Arc<CachedPage>) {
        if self.generation(&key.0) != generation {
            return;
        }
        if self.pages.len() >= PAGE_CACHE_MAX {
            self.pages.clear();
        }
        self.pages.insert(key, (generation, page));
    }

    /// Every article changed (moderation): a new epoch makes every generation new.
    fn changed_all(&mut self) {
        self.epoch += 1;
        self.pages.clear();
    }

    fn changed(&mut self, article: &str) {
        *self.generations.entry(article.to_owned()).or_default() += 1;
        if self.generations.len() > 16 * PAGE_CACHE_MAX {
            // Forgetting generations would let old pages look current: drop the pages with them, and move
            // the epoch past every generation forgotten so that none can come round again.
            self.epoch += self.generations.values().max().copied().unwrap_or(0) + 1;
            self.generations.clear();
            self.pages.clear();
        }
    }
}

/// How long the writer waits, once idle after writing, before it empties the WAL file: the log would
/// otherwise keep the size of its largest burst, and grow without bound while readers never let a
/// checkpoint finish.
const TRUNCATE_AFTER_IDLE: Duration = Duration::from_secs(5);
/// How long a statement waits for a lock another connection holds (the backup, another process).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The WAL file is cut back to this size after each checkpoint (`journal_size_limit`).
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The writer's connection and what it keeps between batches.
struct Writer {
    /// `None` after the connection broke; a new one is opened before the next batch.
    conn: Option<SqliteConnection>,
    options: SqliteConnectOptions,
    next_comment: i64,
    modes: comments::ArticleModes,
    /// Something was written since the WAL file was last truncated.
    dirty: bool,
}

impl Writer {
    /// The connection, reopened (and prepared again) if the last one broke.
    async fn connection(&mut self) -> anyhow::Result<&mut SqliteConnection> {
        if self.conn.is_none() {
            let mut conn = self.options.connect().await.context("reopening the writer connection")?;
            self.next_comment = prepare(&mut conn).await?;
            self.modes.clear();
            tracing::info!("the writer connection was reopened");
            self.conn = Some(conn);
        }
        self.conn.as_mut().context("the writer connection")
    }

    /// After a failed batch: keep the connection if it still answers, else drop it to be replaced.
    async fn check(&mut self) {
        if let Some(conn) = self.conn.as_mut()
            && let Err(err) = sqlx::query("SELECT 1").execute(&mut *conn).await
        {
            tracing::error!(error = %err, "the writer connection is broken; it will be replaced");
            self.conn = None;
        }
    }

    /// Takes the write lock and lets it go: the connection answers, and nothing keeps it from writing.
    async fn ping(&mut self) -> anyhow::Result<()> {
        let conn = self.connection().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        sqlx::query("ROLLBACK").execute(&mut *conn).await?;
        Ok(())
    }

    /// Empties the WAL file if no reader is in the way. Never waits for readers: a checkpoint that waited
    /// would hold up every write queued behind it (the writer is idle only until the next one arrives).
    async fn truncate_wal(&mut self) {
        let Ok(conn) = self.connection().await else { return };
        let truncated = async {
            sqlx::query("PRAGMA busy_timeout = 0").execute(&mut *conn).await?;
            let checkpoint =
                sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *conn).await;
            sqlx::query(&format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis())).execute(&mut *conn).await?;
            anyhow::Ok(checkpoint?.0 == 0)
        };
        match truncated.await {
            Ok(true) => self.dirty = false,
            // Readers were in the way: again at the next idle moment.
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %format!("{err:#}"), "truncating the WAL file"),
        }
    }
}

/// Readies a writer connection: the staging table, the WAL's size limit, and the next comment id.
async fn prepare(conn: &mut SqliteConnection) -> anyhow::Result<i64> {
    // The batch is staged here so that each step below is one set-based statement, whatever its size.
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS batch (
             article_id INTEGER NOT NULL, reader BLOB NOT NULL, kind INTEGER,
             PRIMARY KEY (article_id, reader)) WITHOUT ROWID",
    )
    .execute(&mut *conn)
    .await
    .context("preparing the writer connection")?;
    sqlx::query(&format!("PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")).execute(&mut *conn).await?;
    next_comment_id(conn).await.context("reading the last comment id")
}

/// The single writer: drains the queue in batches until told to close, then finishes what was queued.
async fn run_writer(
    mut conn: SqliteConnection,
    options: SqliteConnectOptions,
    mut rx: mpsc::Receiver<Op>,
    pages: Arc<std::sync::Mutex<PageCache>>,
) {
    let (conn, next_comment) = match prepare(&mut conn).await {
        Ok(next) => (Some(conn), next),
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "preparing the writer connection");
            (None, 1)
        }
    };
    let mut writer = Writer { conn, options, next_comment, modes: comments::ArticleModes::new(), dirty: false };
    let mut ops = Vec::with_capacity(MAX_BATCH);
    let mut closers = Vec::new();
    loop {
        let received = if writer.dirty {
            match tokio::time::timeout(TRUNCATE_AFTER_IDLE, rx.recv_many(&mut ops, MAX_BATCH)).await {
                Ok(n) => n,
                Err(_) => {
                    writer.truncate_wal().await;
                    continue;
                }
            }
        } else {
            rx.recv_many(&mut ops, MAX_BATCH).await
        };
        if received == 0 {
            break;
        }
        let mut batch = Vec::with_capacity(ops.len());
        let mut comment_ops = Vec::new();
        let mut typo_ops = Vec::new();
        let mut admin_ops = Vec::new();
        let mut pings = Vec::new();
        let mut changes_threads = false;
        for op in ops.drain(..) {
            match op {
                Op::React { article, reader, kind, reply } => batch.push(Pending { article, reader, kind, reply }),
                Op::Comment(cmd, reply) => comment_ops.push((cmd, reply)),
                Op::Typo(cmd, reply) => typo_ops.push((cmd, reply)),
                Op::Admin(job, changing, reply) => {
                    changes_threads |= changing;
                    admin_ops.push((Some(job), reply));
                }
                Op::Ping(reply) => pings.push(reply),
                Op::Close(done) => {
                    rx.close();
                    closers.push(done);
                }
            }
        }
        if !(batch.is_empty() && comment_ops.is_empty() && typo_ops.is_empty() && admin_ops.is_empty()) {
            let applied = apply_batch(&mut writer, &batch, &comment_ops, &typo_ops, &mut admin_ops).await;
            // An article's settings may have changed in this batch (after its posts were applied).
            if changes_threads {
                writer.modes.clear();
            }
            match applied {
                Ok((counts, outcomes, typo_outcomes, admin_outcomes)) => {
                    writer.dirty = true;
                    if !comment_ops.is_empty() || changes_threads {
                        let mut pages = pages.lock().expect("page cache lock");
                        for (cmd, _) in &comment_ops {
                            pages.changed(cmd.article().as_str());
                        }
                        // Moderation can change any article's thread: start every cached page over.
                        if changes_threads {
                            pages.changed_all();
                        }
                    }
                    for ((_, reply), outcome) in admin_ops.into_iter().zip(admin_outcomes) {
                        let _ = reply.send(outcome);
                    }
                    for op in batch {
                        let result = match &counts {
                            Ok(counts) => Ok(ReactionsView {
                                counts: counts.get(op.article.as_str()).copied().unwrap_or_default(),
                                mine: op.kind,
                            }),
                            Err(_) => Err(anyhow::anyhow!("storing the reaction failed")),
                        };
                        let _ = op.reply.send(result);
                    }
                    for ((_, reply), outcome) in comment_ops.into_iter().zip(outcomes) {
                        let _ = reply.send(outcome);
                    }
                    for ((_, reply), outcome) in typo_ops.into_iter().zip(typo_outcomes) {
                        let _ = reply.send(outcome);
                    }
                }
                Err(err) => {
                    let ops = batch.len() + comment_ops.len() + typo_ops.len() + admin_ops.len();
                    tracing::error!(error = %format!("{err:#}"), ops, "write batch failed");
                    writer.check().await;
                    for op in batch {
                        let _ = op.reply.send(Err(anyhow::anyhow!("storing the reaction failed")));
                    }
                    for (_, reply) in comment_ops {
                        let _ = reply.send(Err(anyhow::anyhow!("storing the comment failed")));
                    }
                    for (_, reply) in typo_ops {
                        let _ = reply.send(Err(anyhow::anyhow!("storing the typo report failed")));
                    }
                    for (_, reply) in admin_ops {
                        let _ = reply.send(Err(anyhow::anyhow!("storing the change failed")));
                    }
                }
            }
        }
        for reply in pings {
            let _ = reply.send(writer.ping().await);
        }
    }
    if let Some(conn) = writer.conn.take()
        && let Err(err) = conn.close().await
    {
        tracing::warn!(error = %err, "closing the writer connection");
    }
    for done in closers {
        let _ = done.send(());
    }
}

struct Pending {
    article: ArticleId,
    reader: ReaderHash,
    kind: Option<ReactionKind>,
    reply: Reply,
}

/// Comment ids are handed out by the writer (the only one inserting), so a reply's thread path, which
/// embeds its own id, is known before the insert. Past the highest id ever deleted, too: an id names one
/// comment forever (links, webhooks and moderators' notes point at it).
async fn next_comment_id(conn: &mut SqliteConnection) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT max(coalesce(max(id), 0),
                    coalesce((SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'comment_id_high'), 0)) + 1
           FROM comments",
    )
    .fetch_one(&mut *conn)
    .await?)
}

type CommentOp = (CommentCmd, CommentReply);
type TypoOp = (TypoCmd, TypoReply);
type AdminOp = (Option<AdminJob>, oneshot::Sender<anyhow::Result<AnyValue>>);
type BatchOutcome = (
    anyhow::Result<HashMap<String, ReactionCounts>>,
    Vec<anyhow::Result<CommentOutcome>>,
    Vec<anyhow::Result<TypoOutcome>>,
    Vec<anyhow::Result<AnyValue>>,
);

/// How a batch went: applied (each write with its own outcome), or to be applied again with each write
/// isolated, because one of them failed.
enum Attempt {
    Done(BatchOutcome),
    Isolate,
}

/// Runs one operation of a batch. Isolated, it runs inside a savepoint: if it fails, what it wrote is rolled
/// back and it fails alone while the rest of the batch goes on. Not isolated (the fast path: savepoints
/// cost two more trips to SQLite per write), a failure rolls the whole transaction back so that the batch
/// can be applied again isolated. `Err` only if the savepoint itself failed: the connection is in trouble.
macro_rules! alone {
    ($tx:ident, $isolate:expr, $op:expr) => {{
        if $isolate {
            sqlx::query("SAVEPOINT op").execute(&mut *$tx).await?;
        }
        let result = $op;
        if $isolate {
            if result.is_err() {
                sqlx::query("ROLLBACK TO op").execute(&mut *$tx).await?;
            }
            sqlx::query("RELEASE op").execute(&mut *$tx).await?;
        } else if result.is_err() {
            $tx.rollback().await?;
            return Ok(Attempt::Isolate);
        }
        result
    }};
}

/// Applies a batch in one transaction: comment, typo and admin writes one by one, then all reaction writes
/// together. A write that fails fails alone: the batch is applied again with each write in a savepoint of
/// its own (at once when it holds admin jobs, which can run only once). Returns the new reaction counts of
/// every article touched and each other write's outcome; `Err` when the transaction itself could not be run
/// or committed.
async fn apply_batch(
    writer: &mut Writer,
    batch: &[Pending],
    comment_ops: &[CommentOp],
    typo_ops: &[TypoOp],
    admin_ops: &mut [AdminOp],
) -> anyhow::Result<BatchOutcome> {
    let mut isolate = !admin_ops.is_empty();
    loop {
        writer.connection().await?;
        let mut next_comment = writer.next_comment;
        let mut modes = std::mem::take(&mut writer.modes);
        let conn = writer.conn.as_mut().context("the writer connection")?;
        let ops = (batch, comment_ops, typo_ops, &mut *admin_ops);
        let attempt = apply_in(conn, &mut next_comment, &mut modes, ops, isolate).await;
        writer.modes = modes;
        match attempt? {
            Attempt::Done(outcome) => {
                // Only a committed transaction used up the ids it handed out.
                writer.next_comment = next_comment;
                return Ok(outcome);
            }
            Attempt::Isolate => isolate = true,
        }
    }
}

type BatchOps<'a> = (&'a [Pending], &'a [CommentOp], &'a [TypoOp], &'a mut [AdminOp]);

async fn apply_in(
    conn: &mut SqliteConnection,
    next_comment: &mut i64,
    modes: &mut comments::ArticleModes,
    (batch, comment_ops, typo_ops, admin_ops): BatchOps<'_>,
    isolate: bool,
) -> anyhow::Result<Attempt> {
    let now = crate::unix_now();
    let mut tx = conn.begin().await?;
    let mut outcomes = Vec::with_capacity(comment_ops.len());
    for (cmd, _) in comment_ops {
        let before = *next_comment;
        let outcome = alone!(tx, isolate, comments::apply(&mut tx, next_comment, modes, cmd, now).await);
        if let Err(err) = &outcome {
            // Its id was not used after all.
            *next_comment = before;
            tracing::error!(error = %format!("{err:#}"), "a comment write failed");
        }
        outcomes.push(outcome);
    }
    let mut typo_outcomes = Vec::with_capacity(typo_ops.len());
    for (cmd, _) in typo_ops {
        let outcome = alone!(tx, isolate, typo_write(&mut tx, cmd, now).await);
        if let Err(err) = &outcome {
            tracing::error!(error = %format!("{err:#}"), "a typo or outbox write failed");
        }
        typo_outcomes.push(outcome);
    }
    let mut admin_outcomes = Vec::with_capacity(admin_ops.len());
    for (job, _) in admin_ops.iter_mut() {
        let job = job.take().context("an admin job runs once")?;
        let outcome = alone!(tx, isolate, job(&mut tx, now).await);
        if let Err(err) = &outcome {
            tracing::error!(error = %format!("{err:#}"), "a moderation write failed");
        }
        admin_outcomes.push(outcome);
    }
    let counts = if batch.is_empty() {
        Ok(HashMap::new())
    } else {
        let counts = alone!(tx, isolate, apply_reactions(&mut tx, batch, now).await);
        if let Err(err) = &counts {
            tracing::error!(error = %format!("{err:#}"), "reaction writes failed");
        }
        counts
    };
    tx.commit().await?;
    Ok(Attempt::Done((counts, outcomes, typo_outcomes, admin_outcomes)))
}

async fn typo_write(conn: &mut SqliteConnection, cmd: &TypoCmd, now: i64) -> anyhow::Result<TypoOutcome> {
    Ok(match cmd {
        TypoCmd::Report(report) => TypoOutcome::Receipt(typos::report(conn, report, now).await?),
        TypoCmd::SetStatus { id, status, who } => {
            TypoOutcome::Status(typos::set_status(conn, *id, *status, who, now).await?)
        }
        TypoCmd::Attempted { id, retry_at } => {
            outbox::attempted(conn, *id, *retry_at).await?;
            TypoOutcome::Attempted
        }
    })
}

/// Applies the reaction writes of a batch and returns the new counts of every article it touched.
///
/// Only each reader's last write per article matters (earlier ones in the same batch are overwritten
/// before anyone could read them), so the batch is reduced to distinct (article, reader) pairs and handed
/// to SQLite as one JSON parameter; every step is then a single statement over the whole batch.
async fn apply_reactions(
    tx: &mut SqliteConnection,
    batch: &[Pending],
    now: i64,
) -> anyhow::Result<HashMap<String, ReactionCounts>> {
    let mut last: HashMap<(&str, [u8; 16]), Option<ReactionKind>> = HashMap::with_capacity(batch.len());
    for op in batch {
        last.insert((op.article.as_str(), op.reader.0), op.kind);
    }
    let rows: Vec<(&str, String, Option<usize>)> = last
        .into_iter()
        .map(|((article, reader), kind)| (article, hex(&reader), kind.map(ReactionKind::index)))
        .collect();
    let json = serde_json::to_string(&rows)?;

    // One string, one trip to SQLite's thread: each statement is set-based over the staged batch, and
    // `?1`/`?2` bind the same values in every statement. Only the last statement returns rows.
    let totals: Vec<(String, i64, i64)> = sqlx::query_as(
        "DELETE FROM temp.batch;
         INSERT INTO articles (key, created_at) SELECT DISTINCT j.value ->> 0, ?2 FROM json_each(?1) j WHERE true
           ON CONFLICT (key) DO NOTHING;
         INSERT INTO temp.batch (article_id, reader, kind)
           SELECT a.id, unhex(j.value ->> 1), j.value ->> 2
             FROM json_each(?1) j CROSS JOIN articles a ON a.key = j.value ->> 0;
         -- Take back what the replaced reactions counted. CROSS JOIN keeps the batch as the outer loop:
         -- SQLite has no statistics saying that it is the small side.
         UPDATE reaction_counts AS c SET count = c.count - o.n
           FROM (SELECT r.article_id, r.kind, count(*) AS n
                   FROM temp.batch b CROSS JOIN reactions r ON r.article_id = b.article_id AND r.reader = b.reader
                  GROUP BY r.article_id, r.kind) AS o
          WHERE c.article_id = o.article_id AND c.kind = o.kind;
         -- The single-column IN lists let SQLite seek the primary key instead of scanning the article.
         DELETE FROM reactions
          WHERE article_id IN (SELECT article_id FROM temp.batch WHERE kind IS NULL)
            AND reader IN (SELECT reader FROM temp.batch WHERE kind IS NULL)
            AND (article_id, reader) IN (SELECT article_id, reader FROM temp.batch WHERE kind IS NULL);
         INSERT INTO reactions (article_id, reader, kind, created_at)
           SELECT article_id, reader, kind, ?2 FROM temp.batch WHERE kind IS NOT NULL
           ON CONFLICT (article_id, reader) DO UPDATE SET kind = excluded.kind, created_at = excluded.created_at;
         INSERT INTO reaction_counts (article_id, kind, count)
           SELECT article_id, kind, count(*) FROM temp.batch WHERE kind IS NOT NULL GROUP BY article_id, kind
           ON CONFLICT (article_id, kind) DO UPDATE SET count = count + excluded.count;
         SELECT a.key, c.kind, c.count FROM reaction_counts c JOIN articles a ON a.id = c.article_id
          WHERE c.article_id IN (SELECT DISTINCT article_id FROM temp.batch);",
    )
    .bind(&json)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;

    let mut counts: HashMap<String, ReactionCounts> = HashMap::new();
    for (article, kind, n) in totals {
        counts.entry(article).or_default().set(stored_kind(kind)?, n.max(0) as u64);
    }
    Ok(counts)
}

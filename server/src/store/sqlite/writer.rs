//! The single writer: batches of writes in one transaction each, a failed write isolated and failing
//! alone, the WAL kept small.

use super::*;
use crate::store::BoxFuture;

/// How long the writer waits, once idle after writing, before it empties the WAL file: the log would
/// otherwise keep the size of its largest burst, and grow without bound while readers never let a
/// checkpoint finish.
pub(super) const TRUNCATE_AFTER_IDLE: Duration = Duration::from_secs(5);
/// How long a statement waits for a lock another connection holds (the backup, another process).
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The WAL file is cut back to this size after each checkpoint (`journal_size_limit`).
pub(super) const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The writer's connection and what it keeps between batches.
pub(super) struct Writer {
    /// `None` after the connection broke; a new one is opened before the next batch.
    pub(super) conn: Option<SqliteConnection>,
    pub(super) options: SqliteConnectOptions,
    pub(super) next_comment: i64,
    pub(super) modes: comments::ArticleModes,
    /// See [`Ctx::data_version`]; `None` for a new connection.
    pub(super) data_version: Option<i64>,
    /// Something was written since the WAL file was last truncated.
    pub(super) dirty: bool,
}

impl Writer {
    /// The connection, reopened (and prepared again) if the last one broke.
    pub(super) async fn connection(&mut self) -> anyhow::Result<&mut SqliteConnection> {
        if self.conn.is_none() {
            let mut conn = self.options.connect().await.context("reopening the writer connection")?;
            self.next_comment = prepare(&mut conn).await?;
            self.modes.clear();
            self.data_version = None;
            tracing::info!("the writer connection was reopened");
            self.conn = Some(conn);
        }
        self.conn.as_mut().context("the writer connection")
    }

    /// After a failed batch: keep the connection if it still answers, else drop it to be replaced.
    pub(super) async fn check(&mut self) {
        if let Some(conn) = self.conn.as_mut()
            && let Err(err) = sqlx::query("SELECT 1").execute(&mut *conn).await
        {
            tracing::error!(error = %err, "the writer connection is broken; it will be replaced");
            self.conn = None;
        }
    }

    /// Takes the write lock and lets it go: the connection answers, and nothing keeps it from writing.
    pub(super) async fn ping(&mut self) -> anyhow::Result<()> {
        let conn = self.connection().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        sqlx::query("ROLLBACK").execute(&mut *conn).await?;
        Ok(())
    }

    /// Empties the WAL file if no reader is in the way. Never waits for readers: a checkpoint that waited
    /// would hold up every write queued behind it (the writer is idle only until the next one arrives).
    pub(super) async fn truncate_wal(&mut self) {
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
pub(super) async fn prepare(conn: &mut SqliteConnection) -> anyhow::Result<i64> {
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
pub(super) async fn run_writer(
    mut conn: SqliteConnection,
    options: SqliteConnectOptions,
    mut rx: mpsc::Receiver<Op>,
    pages: Arc<std::sync::Mutex<PageCache>>,
    changes: tokio::sync::broadcast::Sender<Change>,
) {
    let (conn, next_comment) = match prepare(&mut conn).await {
        Ok(next) => (Some(conn), next),
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "preparing the writer connection");
            (None, 1)
        }
    };
    let mut writer =
        Writer { conn, options, next_comment, modes: comments::ArticleModes::new(), data_version: None, dirty: false };
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
        let mut reactions = Vec::with_capacity(ops.len());
        let mut jobs: Vec<Box<dyn Queued>> = Vec::new();
        let mut pings = Vec::new();
        for op in ops.drain(..) {
            match op {
                Op::React { article, reader, kind, reply } => reactions.push(Pending { article, reader, kind, reply }),
                Op::Write(job) => jobs.push(job),
                Op::Ping(reply) => pings.push(reply),
                Op::Close(done) => {
                    rx.close();
                    closers.push(done);
                }
            }
        }
        if !(reactions.is_empty() && jobs.is_empty()) {
            let started = std::time::Instant::now();
            let applied = apply_batch(&mut writer, &reactions, &mut jobs).await;
            crate::metrics::batch("sqlite", reactions.len() + jobs.len(), started.elapsed(), rx.len());
            let every_thread = jobs.iter().any(|job| matches!(job.touches(), Touches::Threads));
            // An article's settings may have changed in this batch (after its posts were applied).
            if every_thread {
                writer.modes.clear();
            }
            let batch = match applied {
                Ok(counts) => {
                    writer.dirty = true;
                    let mut heard: Vec<Change> = Vec::new();
                    {
                        let mut pages = pages.lock().expect("page cache lock");
                        if every_thread {
                            pages.changed_all();
                            heard.push(Change::Threads);
                        } else {
                            for job in &jobs {
                                if let Touches::Thread(article) = job.touches() {
                                    pages.changed(article.as_str());
                                    heard.push(Change::Thread(article.as_str().to_owned()));
                                }
                            }
                        }
                    }
                    heard.extend(reactions.iter().map(|op| Change::Reactions(op.article.as_str().to_owned())));
                    heard.sort_unstable();
                    heard.dedup();
                    for change in heard {
                        // Nobody listening is no error.
                        let _ = changes.send(change);
                    }
                    for op in reactions {
                        let result = match &counts {
                            Ok(counts) => Ok(ReactionsView {
                                counts: counts.get(op.article.as_str()).copied().unwrap_or_default(),
                                mine: op.kind,
                            }),
                            Err(_) => Err(anyhow::anyhow!("storing the reaction failed")),
                        };
                        let _ = op.reply.send(result);
                    }
                    Ok(())
                }
                Err(err) => {
                    let ops = reactions.len() + jobs.len();
                    tracing::error!(error = %format!("{err:#}"), ops, "write batch failed");
                    writer.check().await;
                    for op in reactions {
                        let _ = op.reply.send(Err(anyhow::anyhow!("storing the reaction failed")));
                    }
                    Err(format!("{err:#}"))
                }
            };
            for job in jobs {
                job.answer(batch.as_ref().copied().map_err(String::as_str));
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

pub(super) struct Pending {
    pub(super) article: ArticleId,
    pub(super) reader: ReaderHash,
    pub(super) kind: Option<ReactionKind>,
    pub(super) reply: Reply,
}

/// Comment ids are handed out by the writer (the only one inserting), so a reply's thread path, which
/// embeds its own id, is known before the insert. Past the highest id ever deleted, too: an id names one
/// comment forever (links, webhooks and moderators' notes point at it).
pub(super) async fn next_comment_id(conn: &mut SqliteConnection) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(NEXT_COMMENT_ID).fetch_one(&mut *conn).await?)
}

/// The id the next new comment takes (an import sets aside its ids by raising `comment_id_high`).
pub(super) const NEXT_COMMENT_ID: &str = "SELECT max(coalesce(max(id), 0),
            coalesce((SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'comment_id_high'), 0)) + 1
   FROM comments";

/// The reaction counts of every article a batch touched (`Err`: its reaction writes failed).
pub(super) type BatchOutcome = anyhow::Result<HashMap<String, ReactionCounts>>;

/// How a batch went: applied (each write with its own outcome), or to be applied again with each write
/// isolated, because one of them failed.
pub(super) enum Attempt {
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

/// Applies a batch in one transaction: the jobs one by one, then all reaction writes together. A write
/// that fails fails alone: the batch is applied again with each write in a savepoint of its own. Returns
/// the new reaction counts of every article touched (each job keeps its own answer); `Err` when the
/// transaction itself could not be run or committed.
pub(super) async fn apply_batch(
    writer: &mut Writer,
    reactions: &[Pending],
    jobs: &mut [Box<dyn Queued>],
) -> anyhow::Result<BatchOutcome> {
    let mut isolate = false;
    loop {
        writer.connection().await?;
        let now = crate::unix_now();
        let mut ctx = Ctx {
            now,
            next_comment: writer.next_comment,
            modes: std::mem::take(&mut writer.modes),
            data_version: writer.data_version,
            checked: false,
        };
        let conn = writer.conn.as_mut().context("the writer connection")?;
        let attempt = apply_in(conn, &mut ctx, reactions, jobs, isolate).await;
        writer.modes = ctx.modes;
        match attempt? {
            Attempt::Done(outcome) => {
                // Only a committed transaction used up the ids it handed out (and read them afresh).
                writer.next_comment = ctx.next_comment;
                writer.data_version = ctx.data_version;
                return Ok(outcome);
            }
            Attempt::Isolate => isolate = true,
        }
    }
}

pub(super) async fn apply_in(
    conn: &mut SqliteConnection,
    ctx: &mut Ctx,
    reactions: &[Pending],
    jobs: &mut [Box<dyn Queued>],
    isolate: bool,
) -> anyhow::Result<Attempt> {
    // The write lock is taken at once, so that what another process committed before it (an import) is
    // seen by everything below (see `Ctx::current`).
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    for job in jobs.iter_mut() {
        let before = ctx.next_comment;
        let outcome = alone!(tx, isolate, job.apply(&mut tx, ctx).await);
        if let Err(err) = &outcome {
            // An id it took was not used after all.
            ctx.next_comment = before;
            tracing::error!(error = %format!("{err:#}"), job = job.what(), "a write failed");
        }
    }
    let counts = if reactions.is_empty() {
        Ok(HashMap::new())
    } else {
        let counts = alone!(tx, isolate, apply_reactions(&mut tx, reactions, ctx.now).await);
        if let Err(err) = &counts {
            tracing::error!(error = %format!("{err:#}"), "reaction writes failed");
        }
        counts
    };
    tx.commit().await?;
    Ok(Attempt::Done(counts))
}

/// What the writer carries from one write to the next.
pub(super) struct Ctx {
    /// The batch's time (unix seconds): its writes all happen at this moment.
    pub(super) now: i64,
    /// The id the next new comment takes (see [`next_comment_id`]).
    pub(super) next_comment: i64,
    pub(super) modes: comments::ArticleModes,
    /// SQLite's count of commits by other connections, when the ids and settings above were read.
    pub(super) data_version: Option<i64>,
    /// This transaction has checked them (`Ctx::current`).
    pub(super) checked: bool,
}

impl Ctx {
    /// Makes the next comment id and the articles' settings current, once per transaction and only for the
    /// writes that use them (new comments): another connection (`otklik import`) may have taken ids or
    /// written articles since they were read.
    pub(super) async fn current(&mut self, conn: &mut SqliteConnection) -> anyhow::Result<()> {
        if self.checked {
            return Ok(());
        }
        self.checked = true;
        let version: i64 = sqlx::query_scalar("PRAGMA data_version").fetch_one(&mut *conn).await?;
        if self.data_version != Some(version) {
            self.next_comment = next_comment_id(conn).await?;
            self.modes.clear();
            self.data_version = Some(version);
        }
        Ok(())
    }
}

/// What a write changes that cached thread pages show.
pub(super) enum Touches {
    Nothing,
    /// One article's thread.
    Thread(ArticleId),
    /// Any thread, or an article's settings (moderation).
    Threads,
}

/// How a job writes: a plain function of the job's data, so that it can run again when its batch is
/// applied a second time with each write isolated.
pub(super) type Run<D, T> =
    for<'c> fn(&'c D, &'c mut SqliteConnection, &'c mut Ctx) -> BoxFuture<'c, anyhow::Result<T>>;

/// A write other than a reaction, with its typed answer: kept until the batch commits, then sent.
pub(super) struct Job<D, T> {
    pub(super) what: &'static str,
    pub(super) data: D,
    pub(super) run: Run<D, T>,
    pub(super) touches: Touches,
    pub(super) done: Option<T>,
    /// Why the write itself failed, for its answer (the batch's other writes went on).
    pub(super) failure: Option<String>,
    pub(super) reply: oneshot::Sender<anyhow::Result<T>>,
}

/// A job with its types erased, so that one queue carries every kind; each still answers in its own type.
pub(super) trait Queued: Send {
    fn what(&self) -> &'static str;
    fn touches(&self) -> &Touches;
    /// Applies the write in the open transaction and keeps its answer.
    fn apply<'c>(&'c mut self, conn: &'c mut SqliteConnection, ctx: &'c mut Ctx) -> BoxFuture<'c, anyhow::Result<()>>;
    /// Sends the kept answer if the batch committed (`Ok`) and this write succeeded, else an error saying
    /// why: the caller may be an operator's command, which has no other way to learn it.
    fn answer(self: Box<Self>, batch: Result<(), &str>);
}

impl<D: Send + Sync + 'static, T: Send + 'static> Queued for Job<D, T> {
    fn what(&self) -> &'static str {
        self.what
    }

    fn touches(&self) -> &Touches {
        &self.touches
    }

    fn apply<'c>(&'c mut self, conn: &'c mut SqliteConnection, ctx: &'c mut Ctx) -> BoxFuture<'c, anyhow::Result<()>> {
        Box::pin(async move {
            (self.done, self.failure) = (None, None);
            match (self.run)(&self.data, conn, ctx).await {
                Ok(done) => self.done = Some(done),
                Err(err) => {
                    self.failure = Some(format!("{err:#}"));
                    return Err(err);
                }
            }
            Ok(())
        })
    }

    fn answer(self: Box<Self>, batch: Result<(), &str>) {
        let what = self.what;
        let answer = match (self.done, batch) {
            (Some(value), Ok(())) => Ok(value),
            (_, Err(why)) => Err(anyhow::anyhow!("storing the {what} failed: {why}")),
            (None, Ok(())) => {
                let why = self.failure.as_deref().unwrap_or("it did not run");
                Err(anyhow::anyhow!("storing the {what} failed: {why}"))
            }
        };
        let _ = self.reply.send(answer);
    }
}

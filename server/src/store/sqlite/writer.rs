//! The single writer: batches of writes in one transaction each, a failed write isolated and failing
//! alone, the WAL kept small.

use super::*;

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
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT max(coalesce(max(id), 0),
                    coalesce((SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'comment_id_high'), 0)) + 1
           FROM comments",
    )
    .fetch_one(&mut *conn)
    .await?)
}

pub(super) type CommentOp = (CommentCmd, CommentReply);
pub(super) type TypoOp = (TypoCmd, TypoReply);
pub(super) type AdminOp = (Option<AdminJob>, oneshot::Sender<anyhow::Result<AnyValue>>);
pub(super) type BatchOutcome = (
    anyhow::Result<HashMap<String, ReactionCounts>>,
    Vec<anyhow::Result<CommentOutcome>>,
    Vec<anyhow::Result<TypoOutcome>>,
    Vec<anyhow::Result<AnyValue>>,
);

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

/// Applies a batch in one transaction: comment, typo and admin writes one by one, then all reaction writes
/// together. A write that fails fails alone: the batch is applied again with each write in a savepoint of
/// its own (at once when it holds admin jobs, which can run only once). Returns the new reaction counts of
/// every article touched and each other write's outcome; `Err` when the transaction itself could not be run
/// or committed.
pub(super) async fn apply_batch(
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

pub(super) type BatchOps<'a> = (&'a [Pending], &'a [CommentOp], &'a [TypoOp], &'a mut [AdminOp]);

pub(super) async fn apply_in(
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

pub(super) async fn typo_write(conn: &mut SqliteConnection, cmd: &TypoCmd, now: i64) -> anyhow::Result<TypoOutcome> {
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

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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use async_trait::async_trait;
use otklik_api::{ArticleId, ReactionCounts, ReactionKind, ReactionsView};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, Connection as _, SqliteConnection};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::Store;
use crate::reader::ReaderHash;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Most writes applied in one transaction; bounds the latency a batch adds to its last member.
const MAX_BATCH: usize = 512;
/// Writes waiting for the writer before callers wait to enqueue (back-pressure instead of unbounded memory).
const QUEUE: usize = 8192;
/// Article ids the writer remembers; past this it forgets them all and relearns (a crude, cheap bound).
const ARTICLE_CACHE_MAX: usize = 65_536;

/// The writer has shut down; the request should be retried (against a server that is up).
#[derive(Debug)]
pub struct StoreClosed;

impl std::fmt::Display for StoreClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the store is closed")
    }
}

impl std::error::Error for StoreClosed {}

type Reply = oneshot::Sender<anyhow::Result<ReactionsView>>;

enum Op {
    React {
        article: ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
        reply: Reply,
    },
    Close(oneshot::Sender<()>),
}

pub struct SqliteStore {
    options: SqliteConnectOptions,
    read: SqlitePool,
    writer: mpsc::Sender<Op>,
    writer_task: Mutex<Option<JoinHandle<()>>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database, runs pending migrations and starts the writer.
    pub async fn open(database: &str) -> anyhow::Result<Self> {
        let options = connect_options(database)?;
        let mut conn = options
            .connect()
            .await
            .with_context(|| format!("opening the database {database}"))?;
        MIGRATOR
            .run(&mut conn)
            .await
            .context("running database migrations")?;

        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone().read_only(true))
            .await
            .context("opening read connections")?;

        let (writer, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run_writer(conn, rx));
        Ok(Self {
            options,
            read,
            writer,
            writer_task: Mutex::new(Some(task)),
        })
    }
}

fn connect_options(database: &str) -> anyhow::Result<SqliteConnectOptions> {
    let options = if database.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(database)
            .with_context(|| format!("parsing the database URL {database}"))?
    } else {
        let path = Path::new(database);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        SqliteConnectOptions::new().filename(path)
    };
    // WAL lets readers run beside the writer; NORMAL sync keeps commits durable across a process crash
    // and defers the fsync to checkpoints, which is what makes thousands of commits a second possible.
    Ok(options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
        .pragma("temp_store", "memory"))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn secret(&self, name: &str, fresh: &[u8]) -> anyhow::Result<Vec<u8>> {
        // Once per start-up, so a connection of its own is simpler than routing it through the writer.
        let mut conn = self.options.connect().await?;
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(&mut conn)
        .await?;
        let value = sqlx::query_scalar("SELECT value FROM settings WHERE name = ?1")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        Ok(value)
    }

    async fn reactions(
        &self,
        article: &ArticleId,
        reader: Option<ReaderHash>,
    ) -> anyhow::Result<ReactionsView> {
        // One statement, so the counts and the reader's own choice come from the same snapshot.
        let rows: Vec<(i64, i64, bool)> = sqlx::query_as(
            "SELECT c.kind, c.count, 0 FROM reaction_counts c JOIN articles a ON a.id = c.article_id
              WHERE a.key = ?1
             UNION ALL
             SELECT r.kind, 1, 1 FROM reactions r JOIN articles a ON a.id = r.article_id
              WHERE a.key = ?1 AND r.reader = ?2",
        )
        .bind(article.as_str())
        .bind(reader.as_ref().map(|r| &r.0[..]))
        .fetch_all(&self.read)
        .await?;
        let mut view = ReactionsView::default();
        for (kind, count, mine) in rows {
            let kind = stored_kind(kind)?;
            if mine {
                view.mine = Some(kind);
            } else {
                view.counts.set(kind, count.max(0) as u64);
            }
        }
        Ok(view)
    }

    async fn set_reaction(
        &self,
        article: &ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
    ) -> anyhow::Result<ReactionsView> {
        let (reply, answer) = oneshot::channel();
        let op = Op::React {
            article: article.clone(),
            reader,
            kind,
            reply,
        };
        self.writer.send(op).await.map_err(|_| StoreClosed)?;
        answer.await.map_err(|_| StoreClosed)?
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

fn stored_kind(raw: i64) -> anyhow::Result<ReactionKind> {
    usize::try_from(raw)
        .ok()
        .and_then(ReactionKind::from_index)
        .with_context(|| format!("stored reaction kind {raw}"))
}

/// The single writer: drains the queue in batches until told to close, then finishes what was queued.
async fn run_writer(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Op>) {
    let mut articles: HashMap<ArticleId, i64> = HashMap::new();
    let mut ops = Vec::with_capacity(MAX_BATCH);
    let mut closers = Vec::new();
    while rx.recv_many(&mut ops, MAX_BATCH).await > 0 {
        let mut batch = Vec::with_capacity(ops.len());
        for op in ops.drain(..) {
            match op {
                Op::React {
                    article,
                    reader,
                    kind,
                    reply,
                } => batch.push((article, reader, kind, reply)),
                Op::Close(done) => {
                    rx.close();
                    closers.push(done);
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        if articles.len() > ARTICLE_CACHE_MAX {
            articles.clear();
        }
        match apply_batch(&mut conn, &mut articles, &batch).await {
            Ok(views) => {
                for ((.., reply), view) in batch.into_iter().zip(views) {
                    let _ = reply.send(Ok(view));
                }
            }
            Err(err) => {
                // Ids learned inside the rolled-back transaction may not exist: forget them all.
                articles.clear();
                tracing::error!(error = %format!("{err:#}"), ops = batch.len(), "reaction batch failed");
                for (.., reply) in batch {
                    let _ = reply.send(Err(anyhow::anyhow!("storing the reaction failed")));
                }
            }
        }
    }
    if let Err(err) = conn.close().await {
        tracing::warn!(error = %err, "closing the writer connection");
    }
    for done in closers {
        let _ = done.send(());
    }
}

type Pending = (ArticleId, ReaderHash, Option<ReactionKind>, Reply);

async fn apply_batch(
    conn: &mut SqliteConnection,
    articles: &mut HashMap<ArticleId, i64>,
    batch: &[Pending],
) -> anyhow::Result<Vec<ReactionsView>> {
    let now = unix_now();
    let mut tx = conn.begin().await?;
    let mut ids = Vec::with_capacity(batch.len());
    // Few articles per batch in practice, so a small vec beats a map.
    let mut deltas: Vec<(i64, [i64; 5])> = Vec::new();
    for (article, reader, kind, _) in batch {
        let id = match articles.get(article) {
            Some(&id) => id,
            None => {
                // DO UPDATE (not NOTHING) so that RETURNING yields the id of an existing row too.
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO articles (key, created_at) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET key = excluded.key RETURNING id",
                )
                .bind(article.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                articles.insert(article.clone(), id);
                id
            }
        };
        ids.push(id);
        let old: Option<i64> = sqlx::query_scalar(
            "DELETE FROM reactions WHERE article_id = ?1 AND reader = ?2 RETURNING kind",
        )
        .bind(id)
        .bind(&reader.0[..])
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(kind) = kind {
            sqlx::query("INSERT INTO reactions (article_id, reader, kind, created_at) VALUES (?1, ?2, ?3, ?4)")
                .bind(id)
                .bind(&reader.0[..])
                .bind(kind.index() as i64)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let slot = match deltas.iter_mut().position(|(a, _)| *a == id) {
            Some(i) => &mut deltas[i].1,
            None => {
                deltas.push((id, [0; 5]));
                &mut deltas.last_mut().expect("just pushed").1
            }
        };
        if let Some(old) = old {
            slot[stored_kind(old)?.index()] -= 1;
        }
        if let Some(kind) = kind {
            slot[kind.index()] += 1;
        }
    }

    let mut counts: Vec<(i64, ReactionCounts)> = Vec::with_capacity(deltas.len());
    for (id, delta) in &deltas {
        for (kind, &d) in delta.iter().enumerate().filter(|(_, d)| **d != 0) {
            // A decrement always has a row to change; an upsert would trip the CHECK on its candidate row.
            let sql = if d > 0 {
                "INSERT INTO reaction_counts (article_id, kind, count) VALUES (?1, ?2, ?3)
                 ON CONFLICT (article_id, kind) DO UPDATE SET count = count + excluded.count"
            } else {
                "UPDATE reaction_counts SET count = count + ?3 WHERE article_id = ?1 AND kind = ?2"
            };
            sqlx::query(sql)
                .bind(id)
                .bind(kind as i64)
                .bind(d)
                .execute(&mut *tx)
                .await?;
        }
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT kind, count FROM reaction_counts WHERE article_id = ?1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        let mut c = ReactionCounts::default();
        for (kind, n) in rows {
            c.set(stored_kind(kind)?, n.max(0) as u64);
        }
        counts.push((*id, c));
    }
    tx.commit().await?;

    Ok(batch
        .iter()
        .zip(ids)
        .map(|((_, _, kind, _), id)| {
            let counts = counts
                .iter()
                .find(|(a, _)| *a == id)
                .map(|(_, c)| *c)
                .unwrap_or_default();
            ReactionsView {
                counts,
                mine: *kind,
            }
        })
        .collect())
}

//! The PostgreSQL backend: any number of otklik nodes on one database.
//!
//! Every write is a short transaction on a pooled connection — reactions and new comments, most writes,
//! batched per node (`batcher`) so that one transaction carries many — and every count it changes is
//! changed by a relative `UPDATE` under the row's lock, so counts stay exact whichever node a request
//! lands on; a write that loses a race on a unique key (two nodes creating the same row at once) is run
//! again. Reads go to the database each time, but for first pages of threads, which each node caches
//! until it hears of a change (and for a second at most).
//!
//! Here: connecting, migrations (sqlx takes an advisory lock, so of several nodes starting at once exactly
//! one applies them), and the database-wide part of `Store`; each concern's SQL and trait implementation
//! live beside it, as on SQLite.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use otklik_api::PageInfo;
use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::Store;
use super::page_cache::PageCache;

mod accounts;
mod batcher;
mod comments;
mod mail;
mod moderation;
mod moderator_mail;
mod outbox;
mod reactions;
mod readers;
mod transfer;
mod typos;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections each node keeps to the database at most (`OTKLIK_DATABASE_POOL` may change it).
pub const POOL_DEFAULT: u32 = 16;
/// The advisory lock the IP-hash purge holds (an arbitrary number of otklik's own).
const PURGE_LOCK: i64 = 0x6f74_6b6c_0001;
/// How long a pooled connection may sit idle before it is tested on its way out.
const IDLE_TEST: Duration = Duration::from_secs(1);
/// How often a write that lost a race on a unique key is run again before it is reported as failed.
pub(super) const RACE_RETRIES: usize = 3;

pub struct PgStore {
    pool: PgPool,
    /// First pages of threads, as on SQLite; other nodes' comment writes reach it through `listen`.
    pages: Arc<std::sync::Mutex<PageCache>>,
    /// Changes announced by any node (this one included), heard on the `otklik` channel.
    changes: tokio::sync::broadcast::Sender<super::Change>,
    listener: Option<tokio::task::JoinHandle<()>>,
    /// This node's batchers of reactions and of new comments.
    reactions: batcher::Batcher<reactions::Write, otklik_api::ReactionsView>,
    posts: batcher::Batcher<super::NewCommentCmd, Result<otklik_api::Comment, super::CommentError>>,
}

/// The channel nodes announce changes on (`NOTIFY otklik, 'bans'`).
pub(super) const CHANNEL: &str = "otklik";
/// The channel nodes announce changed threads on: the article's key, or `*` for every thread.
pub(super) const THREADS: &str = "otklik_threads";
/// The channel nodes announce changed reaction counts on: the article's key.
pub(super) const REACTIONS: &str = "otklik_reactions";
/// How long a cached first page is served at most, whatever is (or is not) heard from other nodes.
const PAGE_MAX_AGE: Duration = Duration::from_secs(1);

/// Announces, in the caller's transaction, that `article`'s thread changed (`None`: every thread).
pub(super) async fn thread_changed(conn: &mut PgConnection, article: Option<&str>) -> anyhow::Result<()> {
    let change = article.map_or(super::Change::Threads, |a| super::Change::Thread(a.to_owned()));
    announce(conn, change).await
}

/// Announces a change to every node once the caller's transaction commits (PostgreSQL delivers
/// notifications at commit, and drops them with a rollback).
pub(super) async fn announce(conn: &mut PgConnection, change: super::Change) -> anyhow::Result<()> {
    let (channel, payload) = match change {
        super::Change::Bans => (CHANNEL, "bans".to_owned()),
        super::Change::Outbox => (CHANNEL, "outbox".to_owned()),
        super::Change::Removed(article, id) => (CHANNEL, format!("removed {} {article}", id.0)),
        super::Change::Reactions(article) => (REACTIONS, article),
        super::Change::Thread(article) => (THREADS, article),
        super::Change::Threads => (THREADS, "*".to_owned()),
        super::Change::Everything => (CHANNEL, "everything".to_owned()),
    };
    sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&mut *conn).await?;
    Ok(())
}

/// Hears the `otklik`, `otklik_threads` and `otklik_reactions` channels for as long as the store is open
/// (this node's own notices come back too): changed threads leave
/// this node's page cache at once, other changes are passed on. After the connection was lost (notices sent
/// meanwhile are gone), every page goes and everything is to be reloaded.
async fn listen(
    pool: PgPool,
    changes: tokio::sync::broadcast::Sender<super::Change>,
    pages: Arc<std::sync::Mutex<PageCache>>,
) {
    let mut listener = loop {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen_all([CHANNEL, THREADS, REACTIONS]).await {
                Ok(()) => break listener,
                Err(err) => tracing::warn!(error = %err, "listening for other nodes' changes"),
            },
            Err(err) => tracing::warn!(error = %err, "connecting to hear other nodes' changes"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    loop {
        match listener.try_recv().await {
            Ok(Some(notice)) if notice.channel() == THREADS => {
                let change = {
                    let mut pages = pages.lock().expect("page cache lock");
                    match notice.payload() {
                        "*" => {
                            pages.changed_all();
                            super::Change::Threads
                        }
                        article => {
                            pages.changed(article);
                            super::Change::Thread(article.to_owned())
                        }
                    }
                };
                let _ = changes.send(change);
            }
            Ok(Some(notice)) if notice.channel() == REACTIONS => {
                let _ = changes.send(super::Change::Reactions(notice.payload().to_owned()));
            }
            Ok(Some(notice)) => {
                let removed = notice.payload().strip_prefix("removed ").and_then(|rest| {
                    let (id, article) = rest.split_once(' ')?;
                    Some(super::Change::Removed(article.to_owned(), otklik_api::CommentId(id.parse().ok()?)))
                });
                let change = match notice.payload() {
                    "bans" => super::Change::Bans,
                    "outbox" => super::Change::Outbox,
                    _ => removed.unwrap_or(super::Change::Everything),
                };
                let _ = changes.send(change);
            }
            // The connection was lost; the next call reconnects and listens again.
            Ok(None) => {
                tracing::warn!("lost the connection that hears other nodes' changes; reconnecting");
                pages.lock().expect("page cache lock").changed_all();
                let _ = changes.send(super::Change::Everything);
            }
            Err(err) => {
                tracing::warn!(error = %err, "hearing other nodes' changes");
                tokio::time::sleep(Duration::from_secs(1)).await;
                pages.lock().expect("page cache lock").changed_all();
                let _ = changes.send(super::Change::Everything);
            }
        }
    }
}

impl PgStore {
    /// This node's cached first pages.
    fn pages(&self) -> std::sync::MutexGuard<'_, PageCache> {
        self.pages.lock().expect("page cache lock")
    }

    /// Connects, and brings the schema up to date (`migrate`) or checks that it is (the command-line tools).
    pub async fn open(url: &str, pool_size: u32, migrate: bool) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url.parse().context("parsing the PostgreSQL URL")?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(2))
            .acquire_timeout(Duration::from_secs(5))
            // A connection is tested as it goes back to the pool (sqlx pings it then); testing it again on
            // the way out would add a round trip to every request. Only one that sat idle for a while, as
            // through a database restart, is tested first, so that a restart costs no request an error.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_TEST {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.application_name("otklik"))
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", super::Location::redact(url)))?;
        if migrate {
            MIGRATOR.run(&pool).await.context("running database migrations")?;
        } else {
            let applied: Vec<i64> =
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                    .fetch_all(&pool)
                    .await
                    .map_err(|_| anyhow::anyhow!("the database is not an otklik database"))?;
            let known: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
            anyhow::ensure!(
                applied == known,
                "the database was written by another version of otklik: start `otklik serve` of this version \
                 on it once (or use the tools of the version that wrote it)"
            );
        }
        let (changes, _) = tokio::sync::broadcast::channel(super::CHANGES_KEPT);
        let pages = Arc::new(std::sync::Mutex::new(PageCache::aging(PAGE_MAX_AGE)));
        // The command-line tools keep nothing in memory that another node could change.
        let listener = migrate.then(|| tokio::spawn(listen(pool.clone(), changes.clone(), pages.clone())));
        let reactions = batcher::Batcher::start(pool.clone(), "reaction", reactions::apply_batch);
        let posts = batcher::Batcher::start(pool.clone(), "comment", comments::post_batch);
        Ok(Self { pool, pages, changes, listener, reactions, posts })
    }
}

/// Runs `$body` (a future using `$conn`) in a transaction of its own, and again, in a new one, if it lost a
/// race on a unique key to another transaction (two nodes creating the same row at once).
macro_rules! in_tx {
    ($pool:expr, $conn:ident => $body:expr) => {{
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = $pool.begin().await?;
            let $conn: &mut sqlx::PgConnection = &mut tx;
            match $body.await {
                Ok(value) => {
                    tx.commit().await?;
                    break anyhow::Ok(value);
                }
                Err(err) => {
                    let _ = tx.rollback().await;
                    if attempt < $crate::store::postgres::RACE_RETRIES && $crate::store::postgres::lost_race(&err) {
                        continue;
                    }
                    break Err(err);
                }
            }
        }
    }};
}
use in_tx;

/// The error a write meets when another transaction created the same unique row first.
pub(super) fn lost_race(err: &anyhow::Error) -> bool {
    err.downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .is_some_and(|e| e.is_unique_violation() || e.code().as_deref() == Some("40P01"))
}

/// An article as writes need it: its id, and the moderation settings a post obeys.
pub(super) struct ArticleRef {
    pub(super) id: i64,
    pub(super) moderation: Option<String>,
    pub(super) closed: bool,
}

/// An article, created (with the URL and title its page gave) if it is new; a page that reports them later
/// fills in what is missing.
async fn article(conn: &mut PgConnection, key: &str, page: Option<&PageInfo>, now: i64) -> anyhow::Result<ArticleRef> {
    let (url, title) = page.map_or((None, None), |p| (p.url.as_deref(), p.title.as_deref()));
    type Row = (i64, Option<String>, Option<String>, Option<String>, bool);
    if let Some((id, known_url, known_title, moderation, closed)) =
        sqlx::query_as::<_, Row>("SELECT id, url, title, moderation, closed FROM articles WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?
    {
        if (known_url.is_none() && url.is_some()) || (known_title.is_none() && title.is_some()) {
            sqlx::query("UPDATE articles SET url = coalesce(url, $2), title = coalesce(title, $3) WHERE id = $1")
                .bind(id)
                .bind(url)
                .bind(title)
                .execute(&mut *conn)
                .await?;
        }
        return Ok(ArticleRef { id, moderation, closed });
    }
    let (id, moderation, closed) = sqlx::query_as(
        "INSERT INTO articles (key, url, title, created_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (key) DO UPDATE SET url = coalesce(articles.url, excluded.url),
                                          title = coalesce(articles.title, excluded.title)
           RETURNING id, moderation, closed",
    )
    .bind(key)
    .bind(url)
    .bind(title)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(ArticleRef { id, moderation, closed })
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> anyhow::Result<()> {
        // An update of no row still needs a database that takes writes (not a standby, not read-only) and
        // the right to write: what a node needs, checked without changing anything.
        sqlx::query("UPDATE settings SET value = value WHERE false").execute(&self.pool).await?;
        Ok(())
    }

    async fn legacy_secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn forget_secret(&self, name: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM settings WHERE name = $1").bind(name).execute(&self.pool).await?;
        Ok(())
    }

    async fn shared_secret(&self, name: &str, fresh: &[u8]) -> anyhow::Result<Vec<u8>> {
        // The first node to start keeps its fresh key; every other node reads that one.
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(fresh)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = $1").bind(name).fetch_one(&self.pool).await?)
    }

    async fn purge_ip_hashes(&self, before: i64) -> anyhow::Result<u64> {
        in_tx!(self.pool, conn => async {
            // One node at a time: the others find the lock taken and leave the work to it.
            let mine: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(PURGE_LOCK).fetch_one(&mut *conn).await?;
            if !mine {
                return Ok(0);
            }
            let comments =
                sqlx::query("UPDATE comments SET ip_hash = NULL WHERE ip_hash IS NOT NULL AND created_at < $1")
                    .bind(before)
                    .execute(&mut *conn)
                    .await?;
            let typos = sqlx::query("UPDATE typos SET ip_hash = NULL WHERE ip_hash IS NOT NULL AND created_at < $1")
                .bind(before)
                .execute(&mut *conn)
                .await?;
            // Rate-limit buckets that are empty again hold nothing worth keeping (times in milliseconds).
            sqlx::query("DELETE FROM rate_limits WHERE tat < $1").bind(crate::unix_now() * 1000).execute(&mut *conn).await?;
            anyhow::Ok(comments.rows_affected() + typos.rows_affected())
        })
    }

    async fn backup(&self, _path: &std::path::Path) -> anyhow::Result<Vec<(&'static str, u64)>> {
        anyhow::bail!(
            "`otklik backup` copies SQLite databases; back up PostgreSQL with its own tools, e.g. \
             `pg_dump --format=custom --file=otklik.dump DATABASE_URL` (restore with pg_restore)"
        )
    }

    async fn close(&self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
        // Writes already accepted are stored before the pool goes.
        self.reactions.close().await;
        self.posts.close().await;
        self.pool.close().await;
    }

    fn pools(&self) -> Vec<(&'static str, u32, usize)> {
        vec![("postgres", self.pool.size(), self.pool.num_idle())]
    }

    fn changes(&self) -> tokio::sync::broadcast::Receiver<super::Change> {
        self.changes.subscribe()
    }

    fn shared(&self) -> bool {
        true
    }

    fn shared_limits(&self) -> Option<&dyn super::LimitStore> {
        Some(self)
    }
}

#[async_trait]
impl super::LimitStore for PgStore {
    async fn take(
        &self,
        bucket: &[u8],
        interval: Duration,
        tolerance: Duration,
    ) -> anyhow::Result<Result<(), Duration>> {
        // Milliseconds of the wall clock, which the nodes share (NTP); `tat` is when the bucket is empty again.
        let now = crate::unix_now_ms();
        let (interval, tolerance) = (interval.as_millis() as i64, tolerance.as_millis() as i64);
        // One statement: the row's lock makes the check and the count one step for every node.
        let taken: Option<i64> = sqlx::query_scalar(
            "INSERT INTO rate_limits AS r (bucket, tat) VALUES ($1, $2 + $3)
               ON CONFLICT (bucket) DO UPDATE SET tat = greatest(r.tat, $2) + $3
                WHERE greatest(r.tat, $2) - $2 <= $4
               RETURNING tat",
        )
        .bind(bucket)
        .bind(now)
        .bind(interval)
        .bind(tolerance)
        .fetch_optional(&self.pool)
        .await?;
        if taken.is_some() {
            return Ok(Ok(()));
        }
        let tat: i64 = sqlx::query_scalar("SELECT tat FROM rate_limits WHERE bucket = $1")
            .bind(bucket)
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or(now);
        Ok(Err(Duration::from_millis((tat - now - tolerance).max(1) as u64)))
    }
}

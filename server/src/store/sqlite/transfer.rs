//! Import and export SQL for SQLite: batches written on a connection of their own beside a running
//! server's writer (each in a transaction that takes the write lock at once), the site read in one snapshot.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use async_trait::async_trait;
use futures_util::TryStreamExt as _;
use sqlx::{Connection as _, QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use crate::store::transfer::{
    ArticleRow, BanTuple, CommentRow, IdBlock, ImportBatch, ImportLock, Lines, ModeratorRow, NOBODY, Placement,
    SiteRow, TransferStore, TypoTuple, count_deltas, forward, forward_reactions,
};

/// Rows per INSERT statement: 18 values each stay below SQLite's 32,766 variables.
const ROWS_PER_INSERT: usize = 1_000;

impl SqliteStore {
    /// The import's own connection (opened on first use, kept for the following batches).
    async fn transfer_conn(&self) -> anyhow::Result<tokio::sync::MutexGuard<'_, Option<Transfer>>> {
        let mut conn = self.transfer.lock().await;
        if conn.is_none() {
            let mut opened = sqlx::ConnectOptions::connect(&self.options).await?;
            // A checkpoint syncs the database file: after every few megabytes, as SQLite's default would
            // have it, an import of a million comments would spend most of its time waiting for the disk.
            sqlx::query("PRAGMA wal_autocheckpoint = 16384").execute(&mut opened).await?;
            let cache = std::env::var("OTKLIK_IMPORT_CACHE").unwrap_or_else(|_| "-2000".into());
            sqlx::query(&format!("PRAGMA cache_size = {cache}")).execute(&mut opened).await?;
            sqlx::query("CREATE TEMP TABLE IF NOT EXISTS import_delta (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
                .execute(&mut opened)
                .await?;
            *conn = Some(Transfer { conn: opened, articles: HashMap::new() });
        }
        Ok(conn)
    }
}

/// An import's connection, and the ids of the articles it has met (an article's id never changes).
pub(super) struct Transfer {
    conn: SqliteConnection,
    articles: HashMap<String, i64>,
}

/// `?1` as a JSON array of ids, for `IN (SELECT value FROM json_each(?1))`.
fn json_ids(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

#[async_trait]
impl TransferStore for SqliteStore {
    async fn lock_imports(&self) -> anyhow::Result<ImportLock> {
        // A file beside the database, locked with flock(2): the lock goes with the process, however it
        // ends. (Not the database file itself: closing any descriptor of it would drop SQLite's own locks.)
        let db = self.options.get_filename();
        let mut name = db.as_os_str().to_owned();
        name.push(".import-lock");
        let file = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .with_context(|| format!("opening {}", std::path::Path::new(&name).display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(file)),
            Err(std::fs::TryLockError::WouldBlock) => {
                anyhow::bail!("another import into {} is running; run this one when it has finished", db.display())
            }
            Err(std::fs::TryLockError::Error(err)) => Err(err).context("taking the import lock"),
        }
    }

    async fn imported(
        &self,
        source: &str,
        each: &mut (dyn FnMut(String, i64) -> anyhow::Result<()> + Send),
    ) -> anyhow::Result<()> {
        let mut rows = sqlx::query_as::<_, (String, i64)>(
            "SELECT import_id, id FROM comments WHERE import_source = ?1 AND import_id IS NOT NULL",
        )
        .bind(source)
        .fetch(&self.read);
        while let Some((source_id, id)) = rows.try_next().await? {
            each(source_id, id)?;
        }
        Ok(())
    }

    async fn placements(&self, ids: &[i64]) -> anyhow::Result<Vec<Placement>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(10_000) {
            let rows: Vec<(i64, String, i64, i64, String)> = sqlx::query_as(
                "SELECT c.id, a.key, c.root_id, c.depth, c.path FROM comments c JOIN articles a ON a.id = c.article_id
                  WHERE c.id IN (SELECT value FROM json_each(?1))",
            )
            .bind(json_ids(chunk))
            .fetch_all(&self.read)
            .await?;
            found.extend(rows.into_iter().map(|(id, article, root, depth, path)| Placement {
                id,
                article,
                root,
                depth,
                path,
            }));
        }
        Ok(found)
    }

    async fn reserve_comment_ids(&self, n: usize) -> anyhow::Result<IdBlock> {
        let mut guard = self.transfer_conn().await?;
        let conn = &mut guard.as_mut().expect("opened above").conn;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let first: i64 = sqlx::query_scalar(super::writer::NEXT_COMMENT_ID).fetch_one(&mut *tx).await?;
        if n > 0 {
            // The writer hands out ids past the highest ever recorded here (see `next_comment_id`).
            sqlx::query(
                "INSERT INTO settings (name, value) VALUES ('comment_id_high', ?1)
                   ON CONFLICT (name) DO UPDATE SET value = max(CAST(value AS INTEGER), excluded.value)",
            )
            .bind(first + n as i64 - 1)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(IdBlock::Range { first })
    }

    async fn ids_free(&self, ids: &[i64]) -> anyhow::Result<bool> {
        for chunk in ids.chunks(10_000) {
            let taken: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM comments WHERE id IN (SELECT value FROM json_each(?1)))",
            )
            .bind(json_ids(chunk))
            .fetch_one(&self.read)
            .await?;
            if taken {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn import_batch(&self, batch: &ImportBatch) -> anyhow::Result<u64> {
        let now = crate::unix_now();
        let mut guard = self.transfer_conn().await?;
        let Transfer { conn, articles: known } = guard.as_mut().expect("opened above");
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        // Each statement is a trip to SQLite's thread: a batch is a handful of set-based statements.
        for chunk in batch.articles.chunks(ROWS_PER_INSERT) {
            let mut insert =
                QueryBuilder::<Sqlite>::new("INSERT INTO articles (key, url, title, created_at, moderation, closed) ");
            insert.push_values(chunk, |mut row, a| {
                row.push_bind(&a.key)
                    .push_bind(&a.url)
                    .push_bind(&a.title)
                    .push_bind(if a.created > 0 { a.created } else { now })
                    .push_bind(&a.moderation)
                    .push_bind(a.closed);
            });
            insert.push(
                " ON CONFLICT (key) DO UPDATE SET url = coalesce(articles.url, excluded.url),
                                                 title = coalesce(articles.title, excluded.title)

                  RETURNING key, id",
            );
            // Each count of articles would be a statement of its own: not kept prepared.
            let rows: Vec<(String, i64)> = insert.build_query_as().persistent(false).fetch_all(&mut *tx).await?;
            known.extend(rows);
        }
        // Article ids by key: those of this batch's articles come back from their insert; an article an
        // earlier batch brought is remembered from then (or read, for one this run did not write).
        let missing: Vec<&str> = batch
            .comments
            .iter()
            .map(|c| c.article.as_str())
            .filter(|k| !known.contains_key(*k))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT key, id FROM articles WHERE key IN (SELECT value FROM json_each(?1))")
                    .bind(serde_json::to_string(&missing)?)
                    .fetch_all(&mut *tx)
                    .await?;
            known.extend(rows);
        }
        for chunk in batch.comments.chunks(ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO comments (id, article_id, parent_id, root_id, depth, path, author, text, reader,
                                       created_at, edited_at, deleted_at, status, likes, flags, reviewed_at,
                                       import_source, import_id) ",
            );
            insert.push_values(chunk, |mut row, c| {
                let reader = c.reader.as_deref().and_then(crate::hex::decode16).unwrap_or(NOBODY);
                row.push_bind(c.id)
                    .push_bind(known.get(&c.article).copied())
                    .push_bind(c.parent)
                    .push_bind(c.root)
                    .push_bind(c.depth)
                    .push_bind(&c.path)
                    .push_bind(&c.author)
                    .push_bind(&c.text)
                    .push_bind(reader.to_vec())
                    .push_bind(c.created)
                    .push_bind(c.edited)
                    .push_bind(c.deleted)
                    .push_bind(&c.status)
                    .push_bind(c.likes)
                    .push_bind(c.flags)
                    .push_bind(c.reviewed)
                    .push_bind(&c.source)
                    .push_bind(&c.source_id);
            });
            // No ON CONFLICT: the import lock and the plan made every row new, and its id was reserved for
            // it; a collision is a fault, and fails the batch.
            insert.build().persistent(chunk.len() == ROWS_PER_INSERT).execute(&mut *tx).await?;
        }
        // Every row was added: the counts move by all of them (a root is stored before its replies, in this
        // batch or an earlier one).
        let (per_article, per_root) = count_deltas(&batch.comments);
        // Through a keyed table, so that SQLite walks the changes and finds each row by its key (joined
        // with json_each directly, it scans every article for each change).
        let articles: Vec<(i64, i64)> =
            per_article.into_iter().filter_map(|(key, n)| Some((*known.get(key)?, n))).collect();
        for (table, column, deltas) in
            [("articles", "comment_count", articles), ("comments", "replies", per_root.into_iter().collect())]
        {
            if deltas.is_empty() {
                continue;
            }
            sqlx::query(&format!(
                "DELETE FROM import_delta;
                 INSERT INTO import_delta (id, n) SELECT value ->> 0, value ->> 1 FROM json_each(?1);
                 UPDATE {table} SET {column} = {column} + (SELECT n FROM import_delta d WHERE d.id = {table}.id)
                  WHERE id IN (SELECT id FROM import_delta);"
            ))
            .bind(serde_json::to_string(&deltas)?)
            .execute(&mut *tx)
            .await?;
        }
        bump_imports(&mut tx).await?;
        tx.commit().await?;
        Ok(batch.comments.len() as u64)
    }

    async fn import_site_rows(&self, rows: &[SiteRow]) -> anyhow::Result<u64> {
        let now = crate::unix_now();
        let mut guard = self.transfer_conn().await?;
        let conn = &mut guard.as_mut().expect("opened above").conn;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let mut added = 0;
        for row in rows {
            added += match row {
                SiteRow::Reactions(r) => {
                    let counted: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM reaction_counts
                                         WHERE article_id = (SELECT id FROM articles WHERE key = ?1))",
                    )
                    .bind(&r.article)
                    .fetch_one(&mut *tx)
                    .await?;
                    if counted {
                        0
                    } else {
                        let mut n = 0;
                        for (kind, count) in r.counts.iter().enumerate().filter(|(_, c)| **c > 0) {
                            n += sqlx::query(
                                "INSERT INTO reaction_counts (article_id, kind, count)
                                   SELECT id, ?2, ?3 FROM articles WHERE key = ?1",
                            )
                            .bind(&r.article)
                            .bind(kind as i64)
                            .bind(count)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        }
                        u64::from(n > 0)
                    }
                }
                SiteRow::Typo(t) => sqlx::query(
                    "INSERT INTO typos (id, article_id, fragment, before, after, notes, status, reports, reader,
                                        created_at, updated_at)
                       SELECT CASE WHEN EXISTS (SELECT 1 FROM typos WHERE id = ?1) THEN NULL ELSE ?1 END,
                              a.id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
                         FROM articles a WHERE a.key = ?2
                          AND NOT EXISTS (SELECT 1 FROM typos t WHERE t.article_id = a.id AND t.fragment = ?3
                                             AND t.before = ?4 AND t.after = ?5 AND t.created_at = ?10)
                     ON CONFLICT DO NOTHING",
                )
                .bind(t.id)
                .bind(&t.article)
                .bind(&t.fragment)
                .bind(&t.before)
                .bind(&t.after)
                .bind(serde_json::to_string(&t.notes)?)
                .bind(&t.status)
                .bind(t.reports.max(1))
                .bind(NOBODY.to_vec())
                .bind(t.created)
                .bind(t.updated)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                SiteRow::Ban(b) => sqlx::query(
                    "INSERT INTO bans (id, kind, value, epoch, until, reason, created_by, created_at, lifted_at)
                       SELECT CASE WHEN EXISTS (SELECT 1 FROM bans WHERE id = ?1) THEN NULL ELSE ?1 END,
                              ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
                        WHERE NOT EXISTS (SELECT 1 FROM bans WHERE kind = ?2 AND value = ?3 AND created_at = ?8)",
                )
                .bind(b.id)
                .bind(&b.kind)
                .bind(&b.value)
                .bind(b.epoch)
                .bind(b.until)
                .bind(&b.reason)
                .bind(&b.created_by)
                .bind(b.created)
                .bind(b.lifted)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                // No password hash is moved: the account cannot sign in until it is given a new password.
                SiteRow::Moderator(m) => sqlx::query(
                    "INSERT INTO moderators (name, password, created_at) VALUES (?1, '', ?2)
                       ON CONFLICT (name) DO NOTHING",
                )
                .bind(&m.name)
                .bind(if m.created > 0 { m.created } else { now })
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                SiteRow::Article(_) | SiteRow::Comment(_) => 0,
            };
        }
        bump_imports(&mut tx).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn export(&self, each: Lines<'_>) -> anyhow::Result<()> {
        let mut conn = self.read.acquire().await?;
        // One read transaction: every table as of the same moment, whatever the server writes meanwhile.
        let mut tx = conn.begin().await?;
        forward(
            sqlx::query_as::<_, ArticleRow>(
                "SELECT key, url, title, created_at AS created, moderation, closed FROM articles ORDER BY id",
            )
            .fetch(&mut *tx),
            SiteRow::Article,
            each,
        )
        .await?;
        // An imported comment's reader is nobody's: it is left out.
        forward(
            sqlx::query_as::<_, CommentRow>(
                "SELECT c.id, a.key AS article, c.parent_id AS parent, c.root_id AS root, c.depth, c.path, c.author,
                        c.text, CASE WHEN c.reader = zeroblob(16) THEN NULL ELSE lower(hex(c.reader)) END AS reader,
                        c.created_at AS created, c.edited_at AS edited, c.deleted_at AS deleted, c.status, c.likes,
                        c.flags, c.reviewed_at AS reviewed, c.import_source AS source, c.import_id AS source_id
                   FROM comments c JOIN articles a ON a.id = c.article_id ORDER BY c.id",
            )
            .fetch(&mut *tx),
            SiteRow::Comment,
            each,
        )
        .await?;
        forward_reactions(
            sqlx::query_as(
                "SELECT a.key, r.kind, r.count FROM reaction_counts r JOIN articles a ON a.id = r.article_id
                  ORDER BY a.id, r.kind",
            )
            .fetch(&mut *tx),
            each,
        )
        .await?;
        forward(
            sqlx::query_as::<_, TypoTuple>(
                "SELECT t.id, a.key, t.fragment, t.before, t.after, t.notes, t.status, t.reports, t.created_at,
                        t.updated_at
                   FROM typos t JOIN articles a ON a.id = t.article_id ORDER BY t.id",
            )
            .fetch(&mut *tx),
            |typo| SiteRow::Typo(typo.into()),
            each,
        )
        .await?;
        forward(
            sqlx::query_as::<_, BanTuple>(
                "SELECT id, kind, value, epoch, until, reason, created_by, created_at, lifted_at FROM bans ORDER BY id",
            )
            .fetch(&mut *tx),
            |ban| SiteRow::Ban(ban.into()),
            each,
        )
        .await?;
        forward(
            sqlx::query_as::<_, ModeratorRow>("SELECT name, created_at AS created FROM moderators ORDER BY id")
                .fetch(&mut *tx),
            SiteRow::Moderator,
            each,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Tells running servers (which read `imports` every second) that threads changed under them.
async fn bump_imports(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES ('imports', 1)
           ON CONFLICT (name) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

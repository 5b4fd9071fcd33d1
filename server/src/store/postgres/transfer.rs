//! Import and export SQL for PostgreSQL: a batch is one transaction of array inserts that announces the
//! threads it changed to every node; the export reads one repeatable-read snapshot.

use std::collections::HashMap;

use async_trait::async_trait;
use futures_util::TryStreamExt as _;
use sqlx::Acquire as _;

use super::PgStore;
use crate::store::Change;
use crate::store::transfer::{
    ArticleRow, BanTuple, CommentRow, IdBlock, ImportBatch, ImportLock, Lines, ModeratorRow, NOBODY, Placement,
    SiteRow, TransferStore, TypoTuple, count_deltas, forward, forward_reactions,
};

/// Past this many threads in one batch, nodes are told that every thread changed instead of each.
const THREADS_NAMED: usize = 200;

/// The advisory lock imports hold (any number that no other lock of this database uses).
const IMPORT_LOCK: i64 = 0x6f74_6b6c_696b_0001;

#[async_trait]
impl TransferStore for PgStore {
    async fn lock_imports(&self) -> anyhow::Result<ImportLock> {
        // A session lock on a connection of its own, taken out of the pool: closed with the guard, or with
        // the process however it ends, it lets the lock go.
        let mut conn = self.pool.acquire().await?.detach();
        let taken: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(IMPORT_LOCK).fetch_one(&mut conn).await?;
        anyhow::ensure!(taken, "another import into this database is running; run this one when it has finished");
        Ok(Box::new(conn))
    }

    async fn imported(
        &self,
        source: &str,
        each: &mut (dyn FnMut(String, i64) -> anyhow::Result<()> + Send),
    ) -> anyhow::Result<()> {
        let mut rows = sqlx::query_as::<_, (String, i64)>(
            "SELECT import_id, id FROM comments WHERE import_source = $1 AND import_id IS NOT NULL",
        )
        .bind(source)
        .fetch(&self.pool);
        while let Some((source_id, id)) = rows.try_next().await? {
            each(source_id, id)?;
        }
        Ok(())
    }

    async fn placements(&self, ids: &[i64]) -> anyhow::Result<Vec<Placement>> {
        let rows: Vec<(i64, String, i64, i64, String)> = sqlx::query_as(
            "SELECT c.id, a.key, c.root_id, c.depth, c.path FROM comments c JOIN articles a ON a.id = c.article_id
              WHERE c.id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, article, root, depth, path)| Placement { id, article, root, depth, path })
            .collect())
    }

    async fn reserve_comment_ids(&self, n: usize) -> anyhow::Result<IdBlock> {
        // Other nodes take ids from the same sequence meanwhile: each value is ours alone, in increasing order.
        let mut ids = Vec::with_capacity(n);
        let mut left = n;
        while left > 0 {
            let take = left.min(100_000);
            let chunk: Vec<i64> =
                sqlx::query_scalar("SELECT nextval('comments_id_seq') FROM generate_series(1, $1::bigint)")
                    .bind(take as i64)
                    .fetch_all(&self.pool)
                    .await?;
            ids.extend(chunk);
            left -= take;
        }
        ids.sort_unstable();
        Ok(IdBlock::Listed(ids))
    }

    async fn ids_free(&self, ids: &[i64]) -> anyhow::Result<bool> {
        let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM comments WHERE id = ANY($1))")
            .bind(ids)
            .fetch_one(&self.pool)
            .await?;
        Ok(!taken)
    }

    async fn import_batch(&self, batch: &ImportBatch) -> anyhow::Result<u64> {
        let now = crate::unix_now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let a = &batch.articles;
        sqlx::query(
            "INSERT INTO articles (key, url, title, created_at, moderation, closed)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::boolean[])
             ON CONFLICT (key) DO UPDATE SET url = coalesce(articles.url, excluded.url),
                                            title = coalesce(articles.title, excluded.title)",
        )
        .bind(a.iter().map(|r| r.key.clone()).collect::<Vec<_>>())
        .bind(a.iter().map(|r| r.url.clone()).collect::<Vec<_>>())
        .bind(a.iter().map(|r| r.title.clone()).collect::<Vec<_>>())
        .bind(a.iter().map(|r| if r.created > 0 { r.created } else { now }).collect::<Vec<_>>())
        .bind(a.iter().map(|r| r.moderation.clone()).collect::<Vec<_>>())
        .bind(a.iter().map(|r| r.closed).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        let c = &batch.comments;
        let column = |f: fn(&CommentRow) -> i64| c.iter().map(f).collect::<Vec<i64>>();
        let maybe = |f: fn(&CommentRow) -> Option<i64>| c.iter().map(f).collect::<Vec<Option<i64>>>();
        let text = |f: fn(&CommentRow) -> &str| c.iter().map(|r| f(r).to_owned()).collect::<Vec<String>>();
        let readers: Vec<Vec<u8>> =
            c.iter().map(|r| r.reader.as_deref().and_then(crate::hex::decode16).unwrap_or(NOBODY).to_vec()).collect();
        let reviewed: Vec<Option<i64>> = c.iter().map(|r| r.reviewed).collect();
        let sources: Vec<Option<String>> = c.iter().map(|r| r.source.clone()).collect();
        let source_ids: Vec<Option<String>> = c.iter().map(|r| r.source_id.clone()).collect();
        let ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO comments (id, article_id, parent_id, root_id, depth, path, author, text, reader, created_at,
                                   edited_at, deleted_at, status, likes, flags, reviewed_at, import_source, import_id)
             SELECT u.id, a.id, parent, root, depth, path, author, text, reader, created, edited, deleted, status,
                    likes, flags, reviewed, source, source_id
               FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[],
                           $7::text[], $8::text[], $9::bytea[], $10::bigint[], $11::bigint[], $12::bigint[],
                           $13::text[], $14::bigint[], $15::bigint[], $16::text[], $17::text[], $18::bigint[])
                 AS u (id, article, parent, root, depth, path, author, text, reader, created, edited, deleted,
                       status, likes, reviewed, source, source_id, flags)
               JOIN articles a ON a.key = u.article
             ON CONFLICT DO NOTHING RETURNING comments.id",
        )
        .bind(column(|r| r.id))
        .bind(text(|r| &r.article))
        .bind(maybe(|r| r.parent))
        .bind(column(|r| r.root))
        .bind(column(|r| r.depth))
        .bind(text(|r| &r.path))
        .bind(text(|r| &r.author))
        .bind(text(|r| &r.text))
        .bind(readers)
        .bind(column(|r| r.created))
        .bind(maybe(|r| r.edited))
        .bind(maybe(|r| r.deleted))
        .bind(text(|r| &r.status))
        .bind(column(|r| r.likes))
        .bind(reviewed)
        .bind(sources)
        .bind(source_ids)
        .bind(column(|r| r.flags))
        .fetch_all(&mut *tx)
        .await?;
        let by_id: HashMap<i64, &CommentRow> = c.iter().map(|r| (r.id, r)).collect();
        let added: Vec<&CommentRow> = ids.iter().filter_map(|id| by_id.get(id).copied()).collect();
        // Counts move by what was added (a row already there is skipped, and not counted).
        let (per_article, per_root) = count_deltas(added.iter().copied());
        let (keys, deltas): (Vec<&str>, Vec<i64>) = per_article.into_iter().unzip();
        sqlx::query(
            "UPDATE articles SET comment_count = comment_count + u.n FROM UNNEST($1::text[], $2::bigint[]) AS u (key, n)
              WHERE articles.key = u.key",
        )
        .bind(keys)
        .bind(deltas)
        .execute(&mut *tx)
        .await?;
        let (roots, deltas): (Vec<i64>, Vec<i64>) = per_root.into_iter().unzip();
        sqlx::query(
            "UPDATE comments SET replies = replies + u.n FROM UNNEST($1::bigint[], $2::bigint[]) AS u (id, n)
              WHERE comments.id = u.id",
        )
        .bind(roots)
        .bind(deltas)
        .execute(&mut *tx)
        .await?;
        if batch.articles.len() > THREADS_NAMED {
            super::thread_changed(&mut tx, None).await?;
        } else {
            for article in &batch.articles {
                super::thread_changed(&mut tx, Some(&article.key)).await?;
            }
        }
        tx.commit().await?;
        Ok(added.len() as u64)
    }

    async fn import_site_rows(&self, rows: &[SiteRow]) -> anyhow::Result<u64> {
        let now = crate::unix_now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let mut added = 0;
        for row in rows {
            added += match row {
                SiteRow::Reactions(r) => {
                    let counted: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM reaction_counts
                                         WHERE article_id = (SELECT id FROM articles WHERE key = $1))",
                    )
                    .bind(&r.article)
                    .fetch_one(&mut *tx)
                    .await?;
                    if counted {
                        0
                    } else {
                        let (kinds, counts): (Vec<i16>, Vec<i64>) = (0..5i16).zip(r.counts).filter(|(_, n)| *n > 0).unzip();
                        let n = sqlx::query(
                            "INSERT INTO reaction_counts (article_id, kind, count)
                               SELECT a.id, u.kind, u.count FROM articles a, UNNEST($2::smallint[], $3::bigint[]) AS u (kind, count)
                                WHERE a.key = $1",
                        )
                        .bind(&r.article)
                        .bind(kinds)
                        .bind(counts)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        super::announce(&mut tx, Change::Reactions(r.article.clone())).await?;
                        u64::from(n > 0)
                    }
                }
                SiteRow::Typo(t) => {
                    let free: bool = sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM typos WHERE id = $1)")
                        .bind(t.id)
                        .fetch_one(&mut *tx)
                        .await?;
                    // Both texts use every parameter (`0 * $1`), so that PostgreSQL knows each one's type.
                    let insert = if free {
                        "INSERT INTO typos (id, article_id, fragment, before, after, notes, status, reports, reader,
                                            created_at, updated_at) OVERRIDING SYSTEM VALUE
                           SELECT $1, a.id, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11"
                    } else {
                        "INSERT INTO typos (article_id, fragment, before, after, notes, status, reports, reader,
                                            created_at, updated_at)
                           SELECT a.id, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11 + 0 * $1"
                    };
                    sqlx::query(&format!(
                        "{insert} FROM articles a WHERE a.key = $2
                            AND NOT EXISTS (SELECT 1 FROM typos t WHERE t.article_id = a.id AND t.fragment = $3
                                               AND t.before = $4 AND t.after = $5 AND t.created_at = $10)
                         ON CONFLICT DO NOTHING"
                    ))
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
                    .rows_affected()
                }
                SiteRow::Ban(b) => {
                    let free: bool = sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM bans WHERE id = $1)")
                        .bind(b.id)
                        .fetch_one(&mut *tx)
                        .await?;
                    let insert = if free {
                        "INSERT INTO bans (id, kind, value, epoch, until, reason, created_by, created_at, lifted_at)
                           OVERRIDING SYSTEM VALUE SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9"
                    } else {
                        "INSERT INTO bans (kind, value, epoch, until, reason, created_by, created_at, lifted_at)
                           SELECT $2, $3, $4, $5, $6, $7, $8 + 0 * $1, $9"
                    };
                    let n = sqlx::query(&format!(
                        "{insert} WHERE NOT EXISTS (SELECT 1 FROM bans WHERE kind = $2 AND value = $3 AND created_at = $8)"
                    ))
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
                    .rows_affected();
                    if n > 0 {
                        super::announce(&mut tx, Change::Bans).await?;
                    }
                    n
                }
                SiteRow::Moderator(m) => sqlx::query(
                    "INSERT INTO moderators (name, password, created_at) VALUES ($1, '', $2) ON CONFLICT (name) DO NOTHING",
                )
                .bind(&m.name)
                .bind(if m.created > 0 { m.created } else { now })
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                SiteRow::Article(_) | SiteRow::Comment(_) => 0,
            };
        }
        // Identities continue past every id given explicitly above.
        for table in ["typos", "bans"] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), greatest((SELECT max(id) FROM {table}), 0) + 1, false)"
            ))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn export(&self, each: Lines<'_>) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        // One snapshot for every table, whatever the nodes write meanwhile.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
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
                        c.text, nullif(encode(c.reader, 'hex'), repeat('0', 32)) AS reader,
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
                "SELECT a.key, r.kind::bigint, r.count FROM reaction_counts r JOIN articles a ON a.id = r.article_id
                  ORDER BY a.id, r.kind",
            )
            .fetch(&mut *tx),
            each,
        )
        .await?;
        forward(
            sqlx::query_as::<_, TypoTuple>(
                "SELECT t.id, a.key, t.fragment, t.before, t.after, t.notes::text, t.status, t.reports, t.created_at,
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

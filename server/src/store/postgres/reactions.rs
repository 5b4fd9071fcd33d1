//! Reactions on PostgreSQL: the reader's row locked, then the counts moved by relative updates.

use async_trait::async_trait;
use otklik_api::{ArticleId, ReactionCounts, ReactionKind, ReactionsView};
use sqlx::PgConnection;

use super::{PgStore, article_id, in_tx};
use crate::rules::reader::ReaderHash;
use crate::store::ReactionStore;

fn kind_of(raw: i16) -> anyhow::Result<ReactionKind> {
    usize::try_from(raw)
        .ok()
        .and_then(ReactionKind::from_index)
        .ok_or_else(|| anyhow::anyhow!("stored reaction kind {raw}"))
}

/// The article's counts and, with a reader, their own reaction, from one snapshot.
async fn view(conn: &mut PgConnection, article: &str, reader: Option<&ReaderHash>) -> anyhow::Result<ReactionsView> {
    let rows: Vec<(i16, i64, bool)> = sqlx::query_as(
        "SELECT c.kind, c.count, false FROM reaction_counts c JOIN articles a ON a.id = c.article_id WHERE a.key = $1
         UNION ALL
         SELECT r.kind, 1, true FROM reactions r JOIN articles a ON a.id = r.article_id
          WHERE a.key = $1 AND r.reader = $2",
    )
    .bind(article)
    .bind(reader.map(|r| r.0.to_vec()))
    .fetch_all(&mut *conn)
    .await?;
    let mut view = ReactionsView { counts: ReactionCounts::default(), mine: None };
    for (kind, count, mine) in rows {
        let kind = kind_of(kind)?;
        if mine {
            view.mine = Some(kind);
        } else {
            view.counts.set(kind, count.max(0) as u64);
        }
    }
    Ok(view)
}

/// Sets or clears one reader's reaction. The reader's row, if there is one, is locked first, so the
/// count it takes back is the one it added; a first reaction racing another of the same reader on another
/// node fails on the primary key and is run again (see `PgStore::write`).
async fn set(
    conn: &mut PgConnection,
    article: &str,
    reader: &ReaderHash,
    kind: Option<ReactionKind>,
    now: i64,
) -> anyhow::Result<ReactionsView> {
    let id = article_id(conn, article, None, now).await?;
    let old: Option<i16> =
        sqlx::query_scalar("SELECT kind FROM reactions WHERE article_id = $1 AND reader = $2 FOR UPDATE")
            .bind(id)
            .bind(&reader.0[..])
            .fetch_optional(&mut *conn)
            .await?;
    let new = kind.map(|k| k.index() as i16);
    if old != new {
        match (old, new) {
            (None, Some(new)) => {
                sqlx::query("INSERT INTO reactions (article_id, reader, kind, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(&reader.0[..])
                    .bind(new)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
            (Some(_), Some(new)) => {
                sqlx::query("UPDATE reactions SET kind = $3, created_at = $4 WHERE article_id = $1 AND reader = $2")
                    .bind(id)
                    .bind(&reader.0[..])
                    .bind(new)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            }
            (Some(_), None) => {
                sqlx::query("DELETE FROM reactions WHERE article_id = $1 AND reader = $2")
                    .bind(id)
                    .bind(&reader.0[..])
                    .execute(&mut *conn)
                    .await?;
            }
            (None, None) => {}
        }
        // Kinds in ascending order: two writes moving counts between the same two kinds lock their rows
        // in the same order and cannot deadlock.
        let mut changes: Vec<(i16, i64)> = old.map(|k| (k, -1)).into_iter().chain(new.map(|k| (k, 1))).collect();
        changes.sort_unstable();
        for (kind, delta) in changes {
            // A count taken back always has its row (it counted this reader); a count added may not yet.
            let sql = if delta < 0 {
                "UPDATE reaction_counts SET count = count - 1 WHERE article_id = $1 AND kind = $2"
            } else {
                "INSERT INTO reaction_counts (article_id, kind, count) VALUES ($1, $2, 1)
                   ON CONFLICT (article_id, kind) DO UPDATE SET count = reaction_counts.count + 1"
            };
            sqlx::query(sql).bind(id).bind(kind).execute(&mut *conn).await?;
        }
    }
    view(conn, article, Some(reader)).await
}

#[async_trait]
impl ReactionStore for PgStore {
    async fn reactions(&self, article: &ArticleId, reader: Option<ReaderHash>) -> anyhow::Result<ReactionsView> {
        let mut conn = self.pool.acquire().await?;
        view(&mut conn, article.as_str(), reader.as_ref()).await
    }

    async fn set_reaction(
        &self,
        article: &ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
    ) -> anyhow::Result<ReactionsView> {
        let now = crate::unix_now();
        in_tx!(self, conn => set(conn, article.as_str(), &reader, kind, now))
    }
}

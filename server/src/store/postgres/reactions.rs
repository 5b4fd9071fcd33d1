//! Reactions on PostgreSQL: each node batches the writes it receives (see `batcher`), applied set-based.

use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};

use otklik_api::{ArticleId, ReactionCounts, ReactionKind, ReactionsView};
use sqlx::PgConnection;

use super::{PgStore, article};
use crate::rules::reader::ReaderHash;
use crate::store::BoxFuture;
use crate::store::ReactionStore;
use crate::store::stored_kind;

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
        let kind = stored_kind(kind.into())?;
        if mine {
            view.mine = Some(kind);
        } else {
            view.counts.set(kind, count.max(0) as u64);
        }
    }
    Ok(view)
}

/// A reaction write as the node's batcher takes it.
pub(super) struct Write {
    article: ArticleId,
    reader: ReaderHash,
    kind: Option<ReactionKind>,
}

/// The batcher's `Apply`: each write answered with its article's counts after the batch, and its own kind.
pub(super) fn apply_batch<'c>(
    conn: &'c mut PgConnection,
    writes: &'c [Write],
    now: i64,
) -> BoxFuture<'c, anyhow::Result<Vec<ReactionsView>>> {
    Box::pin(async move {
        let counts = apply(conn, writes, now).await?;
        Ok(writes
            .iter()
            .map(|w| ReactionsView {
                counts: counts.get(w.article.as_str()).copied().unwrap_or_default(),
                mine: w.kind,
            })
            .collect())
    })
}

/// Applies reaction writes set-based: each reader's last write per article counts. The readers' rows are
/// locked (in key order) as their old kinds are read, and the counts' rows (in key order) as they move,
/// so batches on several nodes neither miscount nor deadlock; a first reaction that another node inserted
/// meanwhile fails on the primary key and the batch runs again. Three to five statements, whatever the
/// batch's size.
async fn apply(conn: &mut PgConnection, writes: &[Write], now: i64) -> anyhow::Result<HashMap<String, ReactionCounts>> {
    // The last write of each (article, reader), in key order.
    let mut last: BTreeMap<(&str, [u8; 16]), Option<i16>> = BTreeMap::new();
    for w in writes {
        last.insert((w.article.as_str(), w.reader.0), w.kind.map(|k| k.index() as i16));
    }
    let (keys, readers): (Vec<&str>, Vec<Vec<u8>>) = last.keys().map(|(a, r)| (*a, r.to_vec())).unzip();
    // Each write's article id (NULL for an article never seen) and the reader's present kind, locked (row
    // by row in the writes' order: joined laterally, so no plan can take them in another).
    // (article key, reader, article id, present kind)
    type Found = (String, Vec<u8>, Option<i64>, Option<i16>);
    let found: Vec<Found> = sqlx::query_as(
        "SELECT w.key, w.reader, a.id, r.kind
           FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS w (key, reader, n)
           LEFT JOIN LATERAL (SELECT id FROM articles WHERE key = w.key) a ON true
           LEFT JOIN LATERAL (SELECT kind FROM reactions
                               WHERE article_id = a.id AND reader = w.reader FOR NO KEY UPDATE) r ON true
          ORDER BY w.n",
    )
    .bind(&keys)
    .bind(&readers)
    .fetch_all(&mut *conn)
    .await?;
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut old: HashMap<(i64, [u8; 16]), i16> = HashMap::new();
    for (key, reader, id, kind) in found {
        let id = match id.or_else(|| ids.get(&key).copied()) {
            Some(id) => id,
            None => article(conn, &key, None, now).await?.id,
        };
        if let (Some(kind), Ok(reader)) = (kind, <[u8; 16]>::try_from(reader.as_slice())) {
            old.insert((id, reader), kind);
        }
        ids.insert(key, id);
    }

    let (mut inserts, mut updates, mut deletes) = (Rows::default(), Rows::default(), Rows::default());
    let mut deltas: BTreeMap<(i64, i16), i64> = BTreeMap::new();
    for ((article, reader), new) in &last {
        let key = (ids[*article], *reader);
        let before = old.get(&key).copied();
        match (before, new) {
            (before, new) if before == *new => continue,
            (None, Some(new)) => inserts.push(key, *new),
            (Some(_), Some(new)) => updates.push(key, *new),
            (Some(_), None) => deletes.push(key, 0),
            (None, None) => {}
        }
        if let Some(before) = before {
            *deltas.entry((key.0, before)).or_default() -= 1;
        }
        if let Some(new) = new {
            *deltas.entry((key.0, *new)).or_default() += 1;
        }
    }
    // New rows in key order (their unique-index entries are taken in that order too); changed rows; gone.
    for (rows, sql) in [
        (
            inserts,
            "INSERT INTO reactions (article_id, reader, kind, created_at)
               SELECT w.article_id, w.reader, w.kind, $4
                 FROM unnest($1::bigint[], $2::bytea[], $3::smallint[]) AS w (article_id, reader, kind)
                ORDER BY w.article_id, w.reader",
        ),
        (
            updates,
            "UPDATE reactions r SET kind = w.kind, created_at = $4
               FROM unnest($1::bigint[], $2::bytea[], $3::smallint[]) AS w (article_id, reader, kind)
              WHERE r.article_id = w.article_id AND r.reader = w.reader",
        ),
    ] {
        if !rows.article.is_empty() {
            sqlx::query(sql).bind(rows.article).bind(rows.reader).bind(rows.kind).bind(now).execute(&mut *conn).await?;
        }
    }
    if !deletes.article.is_empty() {
        sqlx::query(
            "DELETE FROM reactions r USING unnest($1::bigint[], $2::bytea[]) AS w (article_id, reader)
              WHERE r.article_id = w.article_id AND r.reader = w.reader",
        )
        .bind(deletes.article)
        .bind(deletes.reader)
        .execute(&mut *conn)
        .await?;
    }

    // The counts move (rows made for kinds first chosen, locked in key order as the insert meets them),
    // every count of the batch's articles is read back with them, and the move is announced, all in one
    // statement. A row is proposed with the delta only if it is not negative (the count's check applies to
    // the proposed row even where it conflicts); an existing row moves by the delta itself.
    deltas.retain(|_, d| *d != 0);
    let (mut a, mut k, mut d) = (Vec::new(), Vec::new(), Vec::new());
    for ((article, kind), delta) in &deltas {
        a.push(*article);
        k.push(*kind);
        d.push(*delta);
    }
    let article_ids: Vec<i64> = ids.values().copied().collect();
    let rows: Vec<(String, i16, i64)> = sqlx::query_as(
        "WITH w AS (SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::bigint[]) AS w (article_id, kind, delta)),
         moved AS (
           INSERT INTO reaction_counts AS c (article_id, kind, count)
             SELECT article_id, kind, greatest(delta, 0) FROM w ORDER BY 1, 2
             ON CONFLICT (article_id, kind) DO UPDATE
               SET count = c.count + (SELECT delta FROM w
                                       WHERE w.article_id = excluded.article_id AND w.kind = excluded.kind)
             RETURNING c.article_id, c.kind, c.count),
         counts AS (
           SELECT * FROM moved
           UNION ALL
           SELECT c.article_id, c.kind, c.count FROM reaction_counts c
            WHERE c.article_id = ANY($4) AND NOT EXISTS (SELECT 1 FROM moved m
                                                          WHERE m.article_id = c.article_id AND m.kind = c.kind)),
         -- Every node's live streams hear of the articles whose counts moved, once this commits.
         heard AS (
           SELECT pg_notify($5, key) FROM articles WHERE id IN (SELECT article_id FROM moved))
         SELECT a.key, counts.kind, counts.count
           FROM counts JOIN articles a ON a.id = counts.article_id CROSS JOIN (SELECT count(*) FROM heard) h",
    )
    .bind(&a)
    .bind(&k)
    .bind(&d)
    .bind(&article_ids)
    .bind(super::REACTIONS)
    .fetch_all(&mut *conn)
    .await?;
    let mut counts: HashMap<String, ReactionCounts> = HashMap::new();
    for (article, kind, n) in rows {
        counts.entry(article).or_default().set(stored_kind(kind.into())?, n.max(0) as u64);
    }
    Ok(counts)
}

/// Reaction rows of a batch, column by column, for one statement over `unnest`.
#[derive(Default)]
struct Rows {
    article: Vec<i64>,
    reader: Vec<Vec<u8>>,
    kind: Vec<i16>,
}

impl Rows {
    fn push(&mut self, (article, reader): (i64, [u8; 16]), kind: i16) {
        self.article.push(article);
        self.reader.push(reader.to_vec());
        self.kind.push(kind);
    }
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
        self.reactions.write(Write { article: article.clone(), reader, kind }).await
    }
}

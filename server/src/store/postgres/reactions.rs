//! Reactions on PostgreSQL: each node batches the writes it receives into one transaction, set-based.

use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};

use otklik_api::{ArticleId, ReactionCounts, ReactionKind, ReactionsView};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot};

use super::{PgStore, article, in_tx};
use crate::rules::reader::ReaderHash;
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

/// Most reaction writes applied in one transaction.
const MAX_BATCH: usize = 512;

/// A reaction write waiting for the node's batcher, or the store closing.
pub(super) enum Msg {
    Set {
        article: ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
        reply: oneshot::Sender<anyhow::Result<ReactionsView>>,
    },
    Close(oneshot::Sender<()>),
}

/// The node's reaction batcher: whatever writes are waiting (up to `MAX_BATCH`) go in one transaction, as
/// on SQLite, so that one commit (one WAL flush) carries many. Runs until told to close, finishing first
/// what was queued.
pub(super) async fn run(pool: PgPool, mut queue: mpsc::Receiver<Msg>) {
    let mut msgs = Vec::with_capacity(MAX_BATCH);
    let mut closers = Vec::new();
    while queue.recv_many(&mut msgs, MAX_BATCH).await > 0 {
        let mut batch = Vec::with_capacity(msgs.len());
        for msg in msgs.drain(..) {
            match msg {
                Msg::Set { article, reader, kind, reply } => batch.push((article, reader, kind, reply)),
                Msg::Close(done) => {
                    queue.close();
                    closers.push(done);
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        let writes: Vec<(&str, &ReaderHash, Option<ReactionKind>)> =
            batch.iter().map(|(article, reader, kind, _)| (article.as_str(), reader, *kind)).collect();
        // In a transaction of its own, again if it lost a race with another node's.
        let applied: anyhow::Result<HashMap<String, ReactionCounts>> =
            async { in_tx!(pool, conn => apply(conn, &writes, crate::unix_now())) }.await;
        match applied {
            Ok(counts) => {
                for (article, _, kind, reply) in batch {
                    let counts = counts.get(article.as_str()).copied().unwrap_or_default();
                    let _ = reply.send(Ok(ReactionsView { counts, mine: kind }));
                }
            }
            Err(err) => {
                let unavailable = crate::store::unavailable(&err);
                tracing::error!(error = %format!("{err:#}"), writes = batch.len(), "reaction batch failed");
                for (.., reply) in batch {
                    // The request's answer keeps the failure's kind (an outage is a 503, not a 500).
                    let _ = reply.send(Err(if unavailable {
                        anyhow::Error::new(crate::store::Unavailable)
                    } else {
                        anyhow::anyhow!("storing the reaction failed")
                    }));
                }
            }
        }
    }
    for done in closers {
        let _ = done.send(());
    }
}

/// Applies reaction writes set-based: each reader's last write per article counts. The readers' rows are
/// locked (in key order) before their old kinds are read, and the counts' rows (in key order, made first
/// if missing) before they move, so batches on several nodes neither miscount nor deadlock; a first
/// reaction that another node inserted meanwhile fails on the primary key and the batch runs again.
async fn apply(
    conn: &mut PgConnection,
    writes: &[(&str, &ReaderHash, Option<ReactionKind>)],
    now: i64,
) -> anyhow::Result<HashMap<String, ReactionCounts>> {
    // Articles: their ids, made for those never seen.
    let mut keys: Vec<&str> = writes.iter().map(|w| w.0).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut ids: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT key, id FROM articles WHERE key = ANY($1)")
            .bind(&keys)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    let missing: Vec<&str> = keys.iter().copied().filter(|k| !ids.contains_key(*k)).collect();
    for key in missing {
        ids.insert(key.to_owned(), article(conn, key, None, now).await?.id);
    }
    // The last write of each (article, reader), in key order.
    let mut last: BTreeMap<(i64, [u8; 16]), Option<i16>> = BTreeMap::new();
    for (article, reader, kind) in writes {
        last.insert((ids[*article], reader.0), kind.map(|k| k.index() as i16));
    }
    let (articles, readers): (Vec<i64>, Vec<Vec<u8>>) = last.keys().map(|(a, r)| (*a, r.to_vec())).unzip();
    let old: HashMap<(i64, [u8; 16]), i16> = sqlx::query_as::<_, (i64, Vec<u8>, i16)>(
        "SELECT r.article_id, r.reader, r.kind FROM reactions r
           JOIN unnest($1::bigint[], $2::bytea[]) AS w (article_id, reader)
             ON r.article_id = w.article_id AND r.reader = w.reader
          ORDER BY r.article_id, r.reader FOR UPDATE OF r",
    )
    .bind(&articles)
    .bind(&readers)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .filter_map(|(a, r, k)| Some(((a, <[u8; 16]>::try_from(r.as_slice()).ok()?), k)))
    .collect();

    let (mut inserts, mut updates, mut deletes) = (Vec::new(), Vec::new(), Vec::new());
    let mut deltas: BTreeMap<(i64, i16), i64> = BTreeMap::new();
    for (key, new) in &last {
        let before = old.get(key).copied();
        if before == *new {
            continue;
        }
        match (before, new) {
            (None, Some(new)) => inserts.push((key.0, key.1.to_vec(), *new)),
            (Some(_), Some(new)) => updates.push((key.0, key.1.to_vec(), *new)),
            (Some(_), None) => deletes.push((key.0, key.1.to_vec())),
            (None, None) => {}
        }
        if let Some(before) = before {
            *deltas.entry((key.0, before)).or_default() -= 1;
        }
        if let Some(new) = new {
            *deltas.entry((key.0, *new)).or_default() += 1;
        }
    }
    // New rows in key order (their unique-index entries are taken in that order too); changed rows.
    for (rows, sql) in [
        (
            &inserts,
            "INSERT INTO reactions (article_id, reader, kind, created_at)
               SELECT w.article_id, w.reader, w.kind, $4
                 FROM unnest($1::bigint[], $2::bytea[], $3::smallint[]) AS w (article_id, reader, kind)
                ORDER BY w.article_id, w.reader",
        ),
        (
            &updates,
            "UPDATE reactions r SET kind = w.kind, created_at = $4
               FROM unnest($1::bigint[], $2::bytea[], $3::smallint[]) AS w (article_id, reader, kind)
              WHERE r.article_id = w.article_id AND r.reader = w.reader",
        ),
    ] {
        if rows.is_empty() {
            continue;
        }
        let (mut a, mut r, mut k) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()), Vec::new());
        for (article, reader, kind) in rows {
            a.push(*article);
            r.push(reader.clone());
            k.push(*kind);
        }
        sqlx::query(sql).bind(a).bind(r).bind(k).bind(now).execute(&mut *conn).await?;
    }
    if !deletes.is_empty() {
        let (a, r): (Vec<i64>, Vec<Vec<u8>>) = deletes.into_iter().unzip();
        sqlx::query(
            "DELETE FROM reactions r USING unnest($1::bigint[], $2::bytea[]) AS w (article_id, reader)
              WHERE r.article_id = w.article_id AND r.reader = w.reader",
        )
        .bind(a)
        .bind(r)
        .execute(&mut *conn)
        .await?;
    }
    deltas.retain(|_, d| *d != 0);
    if !deltas.is_empty() {
        let (mut a, mut k, mut d) = (Vec::new(), Vec::new(), Vec::new());
        for ((article, kind), delta) in &deltas {
            a.push(*article);
            k.push(*kind);
            d.push(*delta);
        }
        // Every row there (a zero count for a kind first chosen), then all locked in key order, then moved.
        sqlx::query(
            "INSERT INTO reaction_counts (article_id, kind, count)
               SELECT w.article_id, w.kind, 0 FROM unnest($1::bigint[], $2::smallint[]) AS w (article_id, kind)
                ORDER BY w.article_id, w.kind
               ON CONFLICT (article_id, kind) DO NOTHING",
        )
        .bind(&a)
        .bind(&k)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE reaction_counts c SET count = c.count + w.delta
               FROM (SELECT l.article_id, l.kind, w.delta
                       FROM unnest($1::bigint[], $2::smallint[], $3::bigint[]) AS w (article_id, kind, delta)
                       JOIN LATERAL (SELECT article_id, kind FROM reaction_counts
                                      WHERE article_id = w.article_id AND kind = w.kind FOR UPDATE) l ON true
                      ORDER BY l.article_id, l.kind) AS w
              WHERE c.article_id = w.article_id AND c.kind = w.kind",
        )
        .bind(&a)
        .bind(&k)
        .bind(&d)
        .execute(&mut *conn)
        .await?;
    }
    let article_ids: Vec<i64> = ids.values().copied().collect();
    let rows: Vec<(String, i16, i64)> = sqlx::query_as(
        "SELECT a.key, c.kind, c.count FROM reaction_counts c JOIN articles a ON a.id = c.article_id
          WHERE c.article_id = ANY($1)",
    )
    .bind(&article_ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut counts: HashMap<String, ReactionCounts> = HashMap::new();
    for (article, kind, n) in rows {
        counts.entry(article).or_default().set(stored_kind(kind.into())?, n.max(0) as u64);
    }
    Ok(counts)
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
        crate::store::ask(&self.reactions, |reply| Msg::Set { article: article.clone(), reader, kind, reply }).await
    }
}

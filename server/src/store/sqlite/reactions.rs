//! Reaction SQL for SQLite: a batch of reaction writes applied as single statements.

use async_trait::async_trait;

use super::*;
use super::{ReadOp, SqliteStore};
use crate::store::ReactionStore;
use crate::store::{ask, stored_kind};

/// Applies the reaction writes of a batch and returns the new counts of every article it touched.
///
/// Only each reader's last write per article matters (earlier ones in the same batch are overwritten
/// before anyone could read them), so the batch is reduced to distinct (article, reader) pairs and handed
/// to SQLite as one JSON parameter; every step is then a single statement over the whole batch.
pub(super) async fn apply_reactions(
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

#[async_trait]
impl ReactionStore for SqliteStore {
    async fn reactions(&self, article: &ArticleId, reader: Option<ReaderHash>) -> anyhow::Result<ReactionsView> {
        ask(&self.reads, |reply| ReadOp::Reactions { article: article.clone(), reader, reply }).await
    }

    async fn set_reaction(
        &self,
        article: &ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
    ) -> anyhow::Result<ReactionsView> {
        ask(&self.writer, |reply| Op::React { article: article.clone(), reader, kind, reply }).await
    }
}

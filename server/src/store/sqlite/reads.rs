//! The read batcher: reactions and a page's per-reader overlay, answered many readers to a query.

use super::*;
use crate::store::stored_kind;

/// Answers reads in batches: whatever reads are waiting go to SQLite as one query.
///
/// Each query crosses to SQLite's worker thread and back; under load that hand-off, not the lookup, is
/// the cost, so sharing it among all waiting readers multiplies throughput. When idle a batch is one read.
pub(super) async fn run_reader(pool: SqlitePool, queue: Arc<Mutex<mpsc::Receiver<ReadOp>>>) {
    let mut ops = Vec::with_capacity(MAX_BATCH);
    loop {
        if queue.lock().await.recv_many(&mut ops, MAX_BATCH).await == 0 {
            return;
        }
        let (mut reactions, mut overlays) = (Vec::new(), Vec::new());
        for op in ops.drain(..) {
            match op {
                ReadOp::Reactions { article, reader, reply } => reactions.push((article, reader, reply)),
                ReadOp::Overlay { reader, ids, reply } => overlays.push((reader, ids, reply)),
            }
        }
        if !reactions.is_empty() {
            let result = read_batch(&pool, &reactions).await;
            answer(reactions.into_iter().map(|(.., reply)| reply), result, "reactions");
        }
        if !overlays.is_empty() {
            let requests: Vec<_> = overlays.iter().map(|(reader, ids, _)| (reader, ids.as_slice())).collect();
            let result = comments::overlays(&pool, &requests).await;
            answer(overlays.into_iter().map(|(.., reply)| reply), result, "comment overlays");
        }
    }
}

/// Sends each waiting reader its answer from a batch, or the batch's failure.
pub(super) fn answer<T>(
    replies: impl Iterator<Item = oneshot::Sender<anyhow::Result<T>>>,
    result: anyhow::Result<Vec<T>>,
    what: &str,
) {
    match result {
        Ok(values) => {
            for (reply, value) in replies.zip(values) {
                let _ = reply.send(Ok(value));
            }
        }
        Err(err) => {
            let closed = matches!(err.downcast_ref::<sqlx::Error>(), Some(sqlx::Error::PoolClosed));
            if !closed {
                tracing::error!(error = %format!("{err:#}"), what, "read batch failed");
            }
            for reply in replies {
                let err =
                    if closed { anyhow::Error::new(StoreClosed) } else { anyhow::anyhow!("reading {what} failed") };
                let _ = reply.send(Err(err));
            }
        }
    }
}

/// One statement for the whole batch, so each view's counts and own choice come from the same snapshot.
pub(super) async fn read_batch(
    pool: &SqlitePool,
    batch: &[(ArticleId, Option<ReaderHash>, Reply)],
) -> anyhow::Result<Vec<ReactionsView>> {
    let requests: Vec<(&str, Option<String>)> =
        batch.iter().map(|(article, reader, _)| (article.as_str(), reader.map(|r| hex(&r.0)))).collect();
    // CROSS JOIN fixes the order: the requests drive, and every other table is reached by its key.
    let rows: Vec<(i64, i64, i64, bool)> = sqlx::query_as(
        "SELECT j.key, c.kind, c.count, 0 FROM json_each(?1) j
           CROSS JOIN articles a ON a.key = j.value ->> 0
           CROSS JOIN reaction_counts c ON c.article_id = a.id
         UNION ALL
         SELECT j.key, r.kind, 1, 1 FROM json_each(?1) j
           CROSS JOIN articles a ON a.key = j.value ->> 0
           CROSS JOIN reactions r ON r.article_id = a.id AND r.reader = unhex(j.value ->> 1)",
    )
    .bind(serde_json::to_string(&requests)?)
    .fetch_all(pool)
    .await?;
    let mut views = vec![ReactionsView::default(); batch.len()];
    for (i, kind, count, mine) in rows {
        let view = usize::try_from(i).ok().and_then(|i| views.get_mut(i)).context("read batch row index")?;
        let kind = stored_kind(kind)?;
        if mine {
            view.mine = Some(kind);
        } else {
            view.counts.set(kind, count.max(0) as u64);
        }
    }
    Ok(views)
}

//! The webhook outbox for SQLite: events queued in the transaction of the write they announce, then
//! delivered (and retried) by `rules::webhook`, which reads what is due and records each attempt.

use async_trait::async_trait;
use sqlx::{SqliteConnection, SqlitePool};

use super::SqliteStore;
use super::writer::Touches;
use crate::store::OutboxItem;
use crate::store::OutboxStore;

/// Queues `event` with its JSON body, due at once; part of the caller's transaction, so an event exists
/// exactly when its write committed.
pub async fn enqueue(
    conn: &mut SqliteConnection,
    event: &str,
    payload: &serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO outbox (event, payload, next_attempt, created_at) VALUES (?1, ?2, ?3, ?3)")
        .bind(event)
        .bind(payload.to_string())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deliveries due at `now` with ids above `after`, oldest first.
pub async fn due(pool: &SqlitePool, now: i64, after: i64, limit: usize) -> anyhow::Result<Vec<OutboxItem>> {
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT id, event, payload, attempts FROM outbox WHERE next_attempt <= ?1 AND id > ?3 ORDER BY id LIMIT ?2",
    )
    .bind(now)
    .bind(limit as i64)
    .bind(after)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, event, payload, attempts)| OutboxItem { id, event, payload, attempts: attempts.max(0) as u32 })
        .collect())
}

/// When the next delivery falls due, if any is waiting.
pub async fn next_due(pool: &SqlitePool) -> anyhow::Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT min(next_attempt) FROM outbox WHERE next_attempt < ?1")
        .bind(i64::MAX)
        .fetch_one(pool)
        .await?)
}

/// Records a delivery attempt: delivered rows go; failed ones wait until `retry_at` (`i64::MAX`: never).
pub async fn attempted(conn: &mut SqliteConnection, id: i64, retry_at: Option<i64>) -> anyhow::Result<()> {
    match retry_at {
        None => sqlx::query("DELETE FROM outbox WHERE id = ?1").bind(id).execute(&mut *conn).await?,
        Some(at) => {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt = ?2 WHERE id = ?1")
                .bind(id)
                .bind(at)
                .execute(&mut *conn)
                .await?
        }
    };
    Ok(())
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn outbox_claim(&self, due: i64, after: i64, limit: usize, _lease: i64) -> anyhow::Result<Vec<OutboxItem>> {
        // One node, one sender: nothing to claim against.
        self::due(&self.read, due, after, limit).await
    }

    async fn outbox_release(&self, _id: i64) -> anyhow::Result<()> {
        // Nothing is claimed where one sender works through the outbox: the row is simply still there.
        Ok(())
    }

    async fn outbox_next(&self) -> anyhow::Result<Option<i64>> {
        next_due(&self.read).await
    }

    async fn outbox_oldest(&self) -> anyhow::Result<Option<i64>> {
        // Given-up deliveries wait for nothing (their next attempt is never).
        Ok(sqlx::query_scalar("SELECT min(created_at) FROM outbox WHERE next_attempt < ?")
            .bind(i64::MAX)
            .fetch_one(&self.read)
            .await?)
    }

    async fn outbox_attempted(&self, id: i64, retry_at: Option<i64>) -> anyhow::Result<()> {
        self.write("delivery attempt", Touches::Nothing, (id, retry_at), |&(id, retry_at), conn, _| {
            Box::pin(attempted(conn, id, retry_at))
        })
        .await
    }
}

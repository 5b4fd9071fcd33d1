//! The webhook outbox on PostgreSQL: events queued in the transaction of the write they announce.

use async_trait::async_trait;
use sqlx::PgConnection;

use super::PgStore;
use crate::store::{OutboxItem, OutboxStore};

/// Queues `event` with its JSON body, due at once, in the caller's transaction.
pub async fn enqueue(
    conn: &mut PgConnection,
    event: &str,
    payload: &serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO outbox (event, payload, next_attempt, created_at) VALUES ($1, $2, $3, $3)")
        .bind(event)
        .bind(payload.to_string())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn outbox_due(&self, now: i64, after: i64, limit: usize) -> anyhow::Result<Vec<OutboxItem>> {
        let rows: Vec<(i64, String, String, i32)> = sqlx::query_as(
            "SELECT id, event, payload, attempts FROM outbox WHERE next_attempt <= $1 AND id > $3 ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit as i64)
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, event, payload, attempts)| OutboxItem { id, event, payload, attempts: attempts.max(0) as u32 })
            .collect())
    }

    async fn outbox_next(&self) -> anyhow::Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT min(next_attempt) FROM outbox WHERE next_attempt < $1")
            .bind(i64::MAX)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn outbox_attempted(&self, id: i64, retry_at: Option<i64>) -> anyhow::Result<()> {
        match retry_at {
            None => sqlx::query("DELETE FROM outbox WHERE id = $1").bind(id).execute(&self.pool).await?,
            Some(at) => {
                sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt = $2 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(())
    }
}

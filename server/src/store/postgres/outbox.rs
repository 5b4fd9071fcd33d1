//! The webhook outbox on PostgreSQL: events queued in the transaction of the write they announce.

use async_trait::async_trait;
use sqlx::PgConnection;

use super::PgStore;
use crate::store::{OutboxItem, OutboxStore};

/// Queues `event` with its JSON body, due at once, in the caller's transaction, and wakes every node's
/// sender when it commits (the first to claim it delivers it).
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
        .execute(&mut *conn)
        .await?;
    super::announce(conn, crate::store::Change::Outbox).await
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn outbox_claim(&self, due: i64, after: i64, limit: usize, lease: i64) -> anyhow::Result<Vec<OutboxItem>> {
        let now = crate::unix_now();
        // SKIP LOCKED: two nodes claiming at once take different rows instead of waiting for each other.
        let mut rows: Vec<(i64, String, String, i32)> = sqlx::query_as(
            "UPDATE outbox SET claimed_until = $5
              WHERE id IN (SELECT id FROM outbox
                            WHERE next_attempt <= $1 AND id > $3 AND claimed_until <= $4
                            ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
              RETURNING id, event, payload, attempts",
        )
        .bind(due)
        .bind(limit as i64)
        .bind(after)
        .bind(now)
        .bind(now.saturating_add(lease))
        .fetch_all(&self.pool)
        .await?;
        rows.sort_unstable_by_key(|row| row.0);
        Ok(rows
            .into_iter()
            .map(|(id, event, payload, attempts)| OutboxItem { id, event, payload, attempts: attempts.max(0) as u32 })
            .collect())
    }

    async fn outbox_release(&self, id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE outbox SET claimed_until = 0 WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    async fn outbox_next(&self) -> anyhow::Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT min(greatest(next_attempt, claimed_until)) FROM outbox WHERE next_attempt < $1")
            .bind(i64::MAX)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn outbox_oldest(&self) -> anyhow::Result<Option<i64>> {
        // Given-up deliveries wait for nothing (their next attempt is never).
        Ok(sqlx::query_scalar("SELECT min(created_at) FROM outbox WHERE next_attempt < $1")
            .bind(i64::MAX)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn outbox_attempted(&self, id: i64, retry_at: Option<i64>) -> anyhow::Result<()> {
        match retry_at {
            None => sqlx::query("DELETE FROM outbox WHERE id = $1").bind(id).execute(&self.pool).await?,
            Some(at) => {
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt = $2, claimed_until = 0 WHERE id = $1",
                )
                .bind(id)
                .bind(at)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(())
    }
}

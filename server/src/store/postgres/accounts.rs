//! Moderator accounts and console sessions on PostgreSQL: every node signs the same people in.

use async_trait::async_trait;

use super::moderation::record;
use super::{PgStore, in_tx};
use crate::store::{AccountStore, Session};

#[async_trait]
impl AccountStore for PgStore {
    async fn moderators_exist(&self) -> anyhow::Result<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM moderators)").fetch_one(&self.pool).await?)
    }

    async fn add_moderator(&self, name: &str, password_hash: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO moderators (name, password, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(password_hash)
        .bind(crate::unix_now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_moderator(&self, name: &str) -> anyhow::Result<bool> {
        // Their sessions go with them (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM moderators WHERE name = $1").bind(name).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn moderator_password(&self, name: &str) -> anyhow::Result<Option<(i64, String)>> {
        Ok(sqlx::query_as("SELECT id, password FROM moderators WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn start_session(
        &self,
        moderator: i64,
        token_hash: [u8; 32],
        csrf: String,
        expires: i64,
    ) -> anyhow::Result<()> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => async {
                sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(&mut *conn).await?;
                let name: String = sqlx::query_scalar(
                    "WITH started AS (
                       INSERT INTO sessions (token_hash, moderator_id, csrf, created_at, expires_at)
                         VALUES ($1, $2, $3, $4, $5) RETURNING moderator_id)
                     SELECT m.name FROM started JOIN moderators m ON m.id = started.moderator_id",
                )
                .bind(&token_hash[..])
                .bind(moderator)
                .bind(&csrf)
                .bind(now)
                .bind(expires)
                .fetch_one(&mut *conn)
                .await?;
                record(conn, &name, "session.start", "console", "", now).await
        })
    }

    async fn session(&self, token_hash: [u8; 32]) -> anyhow::Result<Option<Session>> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT m.name, s.csrf, s.expires_at FROM sessions s JOIN moderators m ON m.id = s.moderator_id
              WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(&token_hash[..])
        .bind(crate::unix_now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(moderator, csrf, expires)| Session { moderator, csrf, expires }))
    }

    async fn end_session(&self, token_hash: [u8; 32]) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(&token_hash[..]).execute(&self.pool).await?;
        Ok(())
    }
}

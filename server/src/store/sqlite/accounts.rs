//! Moderator accounts and console sessions for SQLite.

use async_trait::async_trait;
use sqlx::{SqliteConnection, SqlitePool};

use super::SqliteStore;
use super::moderation::record;
use super::writer::Touches;
use crate::store::AccountStore;
use crate::store::Session;

pub async fn moderators_exist(pool: &SqlitePool) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM moderators)").fetch_one(pool).await?)
}

/// Adds a moderator; `false` if the name is taken.
pub async fn add_moderator(conn: &mut SqliteConnection, name: &str, phc: &str, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO moderators (name, password, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(phc)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a moderator and signs them out everywhere; `false` if there is none of that name.
pub async fn remove_moderator(conn: &mut SqliteConnection, name: &str) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE moderator_id = (SELECT id FROM moderators WHERE name = ?1);
         DELETE FROM moderator_mail WHERE moderator_id = (SELECT id FROM moderators WHERE name = ?1);
         DELETE FROM moderators WHERE name = ?1;",
    )
    .bind(name)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn moderator_password(pool: &SqlitePool, name: &str) -> anyhow::Result<Option<(i64, String)>> {
    Ok(sqlx::query_as("SELECT id, password FROM moderators WHERE name = ?1").bind(name).fetch_optional(pool).await?)
}

/// Stores a new session (and forgets expired ones), recording the sign-in.
pub async fn start_session(
    conn: &mut SqliteConnection,
    moderator: i64,
    token_hash: &[u8; 32],
    csrf: &str,
    expires: i64,
    now: i64,
) -> anyhow::Result<()> {
    let name: String = sqlx::query_scalar(
        "DELETE FROM sessions WHERE expires_at <= ?4;
         INSERT INTO sessions (token_hash, moderator_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5);
         SELECT name FROM moderators WHERE id = ?2;",
    )
    .bind(&token_hash[..])
    .bind(moderator)
    .bind(csrf)
    .bind(now)
    .bind(expires)
    .fetch_one(&mut *conn)
    .await?;
    record(conn, &name, "session.start", "console", "", now).await
}

pub async fn session(pool: &SqlitePool, token_hash: &[u8; 32], now: i64) -> anyhow::Result<Option<Session>> {
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT m.name, s.csrf, s.expires_at FROM sessions s JOIN moderators m ON m.id = s.moderator_id
          WHERE s.token_hash = ?1 AND s.expires_at > ?2",
    )
    .bind(&token_hash[..])
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(moderator, csrf, expires)| Session { moderator, csrf, expires }))
}

pub async fn end_session(conn: &mut SqliteConnection, token_hash: &[u8; 32]) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?1").bind(&token_hash[..]).execute(&mut *conn).await?;
    Ok(())
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn moderators_exist(&self) -> anyhow::Result<bool> {
        moderators_exist(&self.read).await
    }

    async fn add_moderator(&self, name: &str, password_hash: &str) -> anyhow::Result<bool> {
        let account = (name.to_owned(), password_hash.to_owned());
        self.write("moderator", Touches::Nothing, account, |(name, hash), conn, ctx| {
            Box::pin(add_moderator(conn, name, hash, ctx.now))
        })
        .await
    }

    async fn remove_moderator(&self, name: &str) -> anyhow::Result<bool> {
        self.write("moderator removal", Touches::Nothing, name.to_owned(), |name, conn, _| {
            Box::pin(remove_moderator(conn, name))
        })
        .await
    }

    async fn moderator_password(&self, name: &str) -> anyhow::Result<Option<(i64, String)>> {
        moderator_password(&self.read, name).await
    }

    async fn start_session(
        &self,
        moderator: i64,
        token_hash: [u8; 32],
        csrf: String,
        expires: i64,
    ) -> anyhow::Result<()> {
        let session = (moderator, token_hash, csrf, expires);
        self.write("session", Touches::Nothing, session, |(moderator, token_hash, csrf, expires), conn, ctx| {
            Box::pin(start_session(conn, *moderator, token_hash, csrf, *expires, ctx.now))
        })
        .await
    }

    async fn session(&self, token_hash: [u8; 32]) -> anyhow::Result<Option<Session>> {
        session(&self.read, &token_hash, crate::unix_now()).await
    }

    async fn end_session(&self, token_hash: [u8; 32]) -> anyhow::Result<()> {
        self.write("sign-out", Touches::Nothing, token_hash, |token_hash, conn, _| {
            Box::pin(end_session(conn, token_hash))
        })
        .await
    }
}

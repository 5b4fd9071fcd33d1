//! Moderators' notification SQL for SQLite: their settings, the events queued for them in the
//! transaction that makes them, and the daily digests.

use async_trait::async_trait;
use sqlx::SqliteConnection;

use super::SqliteStore;
use super::writer::Touches;
use crate::store::{
    Choices, DIGEST_SECS, DigestCounts, ModeratorAddress, ModeratorEvent, ModeratorLetter, ModeratorMail,
    ModeratorMailStore,
};

/// Queues a message about comment (or, for [`ModeratorEvent::Typo`], typo report) `id` for every
/// confirmed moderator who asked to hear of `event`; part of the transaction that made it.
pub async fn tell_moderators(
    conn: &mut SqliteConnection,
    event: ModeratorEvent,
    id: i64,
    now: i64,
) -> anyhow::Result<()> {
    let (source, author, text) = match event {
        ModeratorEvent::Typo => ("typos t", "''", "t.fragment"),
        ModeratorEvent::Pending | ModeratorEvent::Flag => ("comments t", "t.author", "substr(t.text, 1, 500)"),
    };
    let column = event.column();
    sqlx::query(&format!(
        "INSERT INTO outbox (event, payload, next_attempt, created_at)
           SELECT 'mail.moderator',
                  json_object('moderator', m.moderator_id, 'kind', '{column}', 'article', coalesce(a.title, a.key),
                              'author', {author}, 'text', {text}), ?2, ?2
             FROM moderator_mail m, {source} JOIN articles a ON a.id = t.article_id
            WHERE t.id = ?1 AND m.confirmed_at IS NOT NULL AND m.{column}
              AND NOT EXISTS (SELECT 1 FROM mail_blocked b WHERE b.lookup = m.lookup)"
    ))
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

async fn set(
    conn: &mut SqliteConnection,
    (moderator, address, choices): &(String, Option<ModeratorAddress>, Option<Choices>),
    now: i64,
) -> anyhow::Result<()> {
    let Some(id) = sqlx::query_scalar::<_, i64>("SELECT id FROM moderators WHERE name = ?1")
        .bind(moderator)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(());
    };
    let c = choices.unwrap_or_default();
    match (address, choices) {
        (None, None) => {
            sqlx::query("DELETE FROM moderator_mail WHERE moderator_id = ?1").bind(id).execute(&mut *conn).await?;
        }
        (None, Some(_)) => {
            sqlx::query(
                "UPDATE moderator_mail SET pending = ?2, flags = ?3, typos = ?4, digest = ?5 WHERE moderator_id = ?1",
            )
            .bind(id)
            .bind(c.pending)
            .bind(c.flags)
            .bind(c.typos)
            .bind(c.digest)
            .execute(&mut *conn)
            .await?;
        }
        (Some(address), _) => {
            // The same address keeps its confirmation; another waits for its own.
            let confirmed: bool = sqlx::query_scalar(
                "INSERT INTO moderator_mail (moderator_id, lookup, sealed, lang, pending, flags, typos, digest)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                   ON CONFLICT (moderator_id) DO UPDATE SET
                     confirmed_at = CASE WHEN moderator_mail.lookup = excluded.lookup THEN moderator_mail.confirmed_at END,
                     lookup = excluded.lookup, sealed = excluded.sealed, lang = excluded.lang,
                     pending = excluded.pending, flags = excluded.flags, typos = excluded.typos, digest = excluded.digest
                   RETURNING confirmed_at IS NOT NULL",
            )
            .bind(id)
            .bind(&address.lookup[..])
            .bind(&address.sealed)
            .bind(address.lang)
            .bind(c.pending)
            .bind(c.flags)
            .bind(c.typos)
            .bind(c.digest)
            .fetch_one(&mut *conn)
            .await?;
            if !confirmed {
                let event = "mail.moderator.confirm";
                super::mail::queue_confirmation(conn, event, "moderator", id, &address.lookup, now).await?;
            }
        }
    }
    Ok(())
}

async fn queue_digests(conn: &mut SqliteConnection, now: i64) -> anyhow::Result<u64> {
    let due = "digest AND confirmed_at IS NOT NULL AND digest_at <= ?1 - ?2";
    sqlx::query(&format!(
        "INSERT INTO outbox (event, payload, next_attempt, created_at)
           SELECT 'mail.moderator', json_object('moderator', moderator_id, 'kind', 'digest'), ?1, ?1
             FROM moderator_mail WHERE {due}"
    ))
    .bind(now)
    .bind(DIGEST_SECS)
    .execute(&mut *conn)
    .await?;
    let queued = sqlx::query(&format!("UPDATE moderator_mail SET digest_at = ?1 WHERE {due}"))
        .bind(now)
        .bind(DIGEST_SECS)
        .execute(&mut *conn)
        .await?;
    Ok(queued.rows_affected())
}

#[async_trait]
impl ModeratorMailStore for SqliteStore {
    async fn moderator_mail(&self, moderator: &str) -> anyhow::Result<Option<ModeratorMail>> {
        let row: Option<(bool, bool, bool, bool, bool)> = sqlx::query_as(
            "SELECT m.confirmed_at IS NOT NULL, m.pending, m.flags, m.typos, m.digest
               FROM moderator_mail m JOIN moderators d ON d.id = m.moderator_id WHERE d.name = ?1",
        )
        .bind(moderator)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|(confirmed, pending, flags, typos, digest)| ModeratorMail {
            confirmed,
            choices: Choices { pending, flags, typos, digest },
        }))
    }

    async fn set_moderator_mail(
        &self,
        moderator: &str,
        address: Option<ModeratorAddress>,
        choices: Option<Choices>,
    ) -> anyhow::Result<()> {
        let job = (moderator.to_owned(), address, choices);
        self.write("moderator's mail", Touches::Nothing, job, |job, conn, ctx| Box::pin(set(conn, job, ctx.now))).await
    }

    async fn moderator_confirm(&self, moderator: i64) -> anyhow::Result<bool> {
        self.write("moderator's confirmation", Touches::Nothing, moderator, |&id, conn, ctx| {
            let now = ctx.now;
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE moderator_mail SET confirmed_at = coalesce(confirmed_at, ?2) WHERE moderator_id = ?1",
                )
                .bind(id)
                .bind(now)
                .execute(conn)
                .await?;
                Ok(done.rows_affected() > 0)
            })
        })
        .await
    }

    async fn moderator_unsubscribe(&self, moderator: i64) -> anyhow::Result<bool> {
        self.write("moderator's unsubscription", Touches::Nothing, moderator, |&id, conn, _| {
            Box::pin(async move {
                let done =
                    sqlx::query("DELETE FROM moderator_mail WHERE moderator_id = ?1").bind(id).execute(conn).await?;
                Ok(done.rows_affected() > 0)
            })
        })
        .await
    }

    async fn moderator_letter(&self, moderator: i64) -> anyhow::Result<Option<ModeratorLetter>> {
        Ok(sqlx::query_as(
            "SELECT lookup, sealed, lang, confirmed_at IS NOT NULL AS confirmed,
                    EXISTS (SELECT 1 FROM mail_blocked b WHERE b.lookup = m.lookup) AS blocked
               FROM moderator_mail m WHERE moderator_id = ?1",
        )
        .bind(moderator)
        .fetch_optional(&self.read)
        .await?)
    }

    async fn queue_digests(&self, now: i64) -> anyhow::Result<u64> {
        self.write("digests", Touches::Nothing, now, |&now, conn, _| Box::pin(queue_digests(conn, now))).await
    }

    async fn digest_counts(&self) -> anyhow::Result<DigestCounts> {
        let (pending, flagged, typos): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM comments WHERE status = 'pending' AND deleted_at IS NULL),
                    (SELECT count(*) FROM comments WHERE status = 'visible' AND flags > 0 AND deleted_at IS NULL),
                    (SELECT count(*) FROM typos WHERE status = 'new')",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(DigestCounts { pending: pending.max(0) as u64, flagged: flagged.max(0) as u64, typos: typos.max(0) as u64 })
    }
}

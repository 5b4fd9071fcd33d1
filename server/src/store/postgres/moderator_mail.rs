//! Moderators' notification SQL for PostgreSQL (see the SQLite backend's `moderator_mail` for the design).

use async_trait::async_trait;
use sqlx::PgConnection;

use super::{PgStore, in_tx};
use crate::store::{
    Change, Choices, DIGEST_SECS, DigestCounts, ModeratorAddress, ModeratorEvent, ModeratorLetter, ModeratorMail,
    ModeratorMailStore,
};

/// Queues a message about comment (or, for [`ModeratorEvent::Typo`], typo report) `id` for every
/// confirmed moderator who asked to hear of `event`; part of the transaction that made it.
pub async fn tell_moderators(conn: &mut PgConnection, event: ModeratorEvent, id: i64, now: i64) -> anyhow::Result<()> {
    let (source, author, text) = match event {
        ModeratorEvent::Typo => ("typos t", "''", "t.fragment"),
        ModeratorEvent::Pending | ModeratorEvent::Flag => ("comments t", "t.author", "left(t.text, 500)"),
    };
    let column = event.column();
    let queued = sqlx::query(&format!(
        "INSERT INTO outbox (event, payload, next_attempt, created_at)
           SELECT 'mail.moderator',
                  json_build_object('moderator', m.moderator_id, 'kind', '{column}', 'article', coalesce(a.title, a.key),
                                    'author', {author}, 'text', {text})::text, $2, $2
             FROM moderator_mail m, {source} JOIN articles a ON a.id = t.article_id
            WHERE t.id = $1 AND m.confirmed_at IS NOT NULL AND m.{column}
              AND NOT EXISTS (SELECT 1 FROM mail_blocked b WHERE b.lookup = m.lookup)"
    ))
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if queued.rows_affected() > 0 {
        super::announce(conn, Change::Outbox).await?;
    }
    Ok(())
}

async fn set(
    conn: &mut PgConnection,
    moderator: &str,
    address: Option<&ModeratorAddress>,
    choices: Option<Choices>,
    now: i64,
) -> anyhow::Result<()> {
    let Some(id) = sqlx::query_scalar::<_, i64>("SELECT id FROM moderators WHERE name = $1")
        .bind(moderator)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(());
    };
    let c = choices.unwrap_or_default();
    match (address, choices) {
        (None, None) => {
            sqlx::query("DELETE FROM moderator_mail WHERE moderator_id = $1").bind(id).execute(&mut *conn).await?;
        }
        (None, Some(_)) => {
            sqlx::query(
                "UPDATE moderator_mail SET pending = $2, flags = $3, typos = $4, digest = $5 WHERE moderator_id = $1",
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
            let confirmed: bool = sqlx::query_scalar(
                "INSERT INTO moderator_mail (moderator_id, lookup, sealed, lang, pending, flags, typos, digest)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
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

#[async_trait]
impl ModeratorMailStore for PgStore {
    async fn moderator_mail(&self, moderator: &str) -> anyhow::Result<Option<ModeratorMail>> {
        let row: Option<(bool, bool, bool, bool, bool)> = sqlx::query_as(
            "SELECT m.confirmed_at IS NOT NULL, m.pending, m.flags, m.typos, m.digest
               FROM moderator_mail m JOIN moderators d ON d.id = m.moderator_id WHERE d.name = $1",
        )
        .bind(moderator)
        .fetch_optional(&self.pool)
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
        let now = crate::unix_now();
        in_tx!(self.pool, conn => set(conn, moderator, address.as_ref(), choices, now))
    }

    async fn moderator_confirm(&self, moderator: i64) -> anyhow::Result<bool> {
        let done =
            sqlx::query("UPDATE moderator_mail SET confirmed_at = coalesce(confirmed_at, $2) WHERE moderator_id = $1")
                .bind(moderator)
                .bind(crate::unix_now())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn moderator_unsubscribe(&self, moderator: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM moderator_mail WHERE moderator_id = $1")
            .bind(moderator)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn moderator_letter(&self, moderator: i64) -> anyhow::Result<Option<ModeratorLetter>> {
        Ok(sqlx::query_as(
            "SELECT lookup, sealed, lang, confirmed_at IS NOT NULL AS confirmed,
                    EXISTS (SELECT 1 FROM mail_blocked b WHERE b.lookup = m.lookup) AS blocked
               FROM moderator_mail m WHERE moderator_id = $1",
        )
        .bind(moderator)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn queue_digests(&self, now: i64) -> anyhow::Result<u64> {
        // One statement: of several nodes asking at once, each moderator's digest is queued by one.
        in_tx!(self.pool, conn => async {
            let queued = sqlx::query(
                "WITH due AS (UPDATE moderator_mail SET digest_at = $1
                               WHERE digest AND confirmed_at IS NOT NULL AND digest_at <= $1 - $2
                               RETURNING moderator_id)
                 INSERT INTO outbox (event, payload, next_attempt, created_at)
                   SELECT 'mail.moderator', json_build_object('moderator', moderator_id, 'kind', 'digest')::text, $1, $1
                     FROM due",
            )
            .bind(now)
            .bind(DIGEST_SECS)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if queued > 0 {
                super::announce(&mut *conn, Change::Outbox).await?;
            }
            anyhow::Ok(queued)
        })
    }

    async fn digest_counts(&self) -> anyhow::Result<DigestCounts> {
        let (pending, flagged, typos): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM comments WHERE status = 'pending' AND deleted_at IS NULL),
                    (SELECT count(*) FROM comments WHERE status = 'visible' AND flags > 0 AND deleted_at IS NULL),
                    (SELECT count(*) FROM typos WHERE status = 'new')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(DigestCounts { pending: pending.max(0) as u64, flagged: flagged.max(0) as u64, typos: typos.max(0) as u64 })
    }
}

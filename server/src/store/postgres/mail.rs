//! Reply notification SQL for PostgreSQL. A recipient's row is the lock that orders its writers: the
//! transaction that queues a reply and the sender recording a message both take it, so a reply arriving
//! while its recipient's message is sent is either in that message or gets a message of its own.

use async_trait::async_trait;
use sqlx::PgConnection;

use super::{PgStore, in_tx};
use crate::rules::reader::ReaderHash;
use crate::store::{
    AddressState, CONFIRM_AGAIN_SECS, Change, Letter, MailStore, RecipientRow, ReplyNote, Subscription, Told,
    UNCONFIRMED_KEPT_SECS,
};

/// Keeps `sub`'s address for the comment's author and follows comment `comment` for them; queues a
/// confirmation where `sub` asks for one and the address is neither confirmed, blocked, nor sent one within
/// the hour.
pub async fn subscribe(
    conn: &mut PgConnection,
    comment: i64,
    reader: &ReaderHash,
    sub: &Subscription,
    now: i64,
) -> anyhow::Result<()> {
    let (recipient, confirmed, sent_at): (i64, bool, Option<i64>) = sqlx::query_as(
        "INSERT INTO mail_recipients (reader, lookup, sealed, lang, created_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (reader, lookup) DO UPDATE SET sealed = excluded.sealed, lang = excluded.lang
           RETURNING id, confirmed_at IS NOT NULL, confirm_sent_at",
    )
    .bind(&reader.0[..])
    .bind(&sub.lookup[..])
    .bind(&sub.sealed)
    .bind(sub.lang)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO reply_subscriptions (comment_id, recipient_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(comment)
        .bind(recipient)
        .execute(&mut *conn)
        .await?;
    let recent = sent_at.is_some_and(|at| at > now - CONFIRM_AGAIN_SECS);
    if sub.confirm
        && !confirmed
        && !recent
        && queue_confirmation(conn, "mail.confirm", "recipient", recipient, &sub.lookup, now).await?
    {
        sqlx::query("UPDATE mail_recipients SET confirm_sent_at = $2 WHERE id = $1")
            .bind(recipient)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Queues the confirmation `event` for `{key: id}` unless the address (`lookup`) is blocked, and wakes
/// every node's sender; answers whether it did.
pub async fn queue_confirmation(
    conn: &mut PgConnection,
    event: &str,
    key: &str,
    id: i64,
    lookup: &[u8],
    now: i64,
) -> anyhow::Result<bool> {
    let queued = sqlx::query(
        "INSERT INTO outbox (event, payload, next_attempt, created_at)
           SELECT $1, json_build_object($2::text, $3::bigint)::text, $4, $4
            WHERE NOT EXISTS (SELECT 1 FROM mail_blocked WHERE lookup = $5)",
    )
    .bind(event)
    .bind(key)
    .bind(id)
    .bind(now)
    .bind(lookup)
    .execute(&mut *conn)
    .await?;
    let queued = queued.rows_affected() > 0;
    if queued {
        super::announce(conn, Change::Outbox).await?;
    }
    Ok(queued)
}

/// Queues visible reply `reply` (to `parent`, by `replier`) for every confirmed recipient following the
/// parent but its own author; a recipient with no message queued gets one, due when its last message's
/// gathering time ends.
pub async fn tell_reply(
    conn: &mut PgConnection,
    reply: i64,
    parent: i64,
    replier: &ReaderHash,
    now: i64,
) -> anyhow::Result<()> {
    let told = sqlx::query(
        "INSERT INTO mail_pending (recipient_id, reply_id)
           SELECT s.recipient_id, $1 FROM reply_subscriptions s JOIN mail_recipients r ON r.id = s.recipient_id
            WHERE s.comment_id = $2 AND r.confirmed_at IS NOT NULL AND r.reader <> $3
              AND NOT EXISTS (SELECT 1 FROM mail_blocked b WHERE b.lookup = r.lookup)
           ON CONFLICT DO NOTHING",
    )
    .bind(reply)
    .bind(parent)
    .bind(&replier.0[..])
    .execute(&mut *conn)
    .await?;
    if told.rows_affected() == 0 {
        return Ok(());
    }
    // After the pending row: a sender recording a message takes the recipient's row first, then looks for
    // what still waits, so it either sees this reply or leaves `queued` false for this update to set.
    let queued = sqlx::query(
        "WITH q AS (UPDATE mail_recipients SET queued = true
                     WHERE NOT queued AND id IN (SELECT recipient_id FROM mail_pending
                                                  WHERE reply_id = $1 AND told_at IS NULL)
                     RETURNING id, next_mail_at)
         INSERT INTO outbox (event, payload, next_attempt, created_at)
           SELECT 'mail.replies', json_build_object('recipient', id)::text, greatest($2, next_mail_at), $2 FROM q",
    )
    .bind(reply)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if queued.rows_affected() > 0 {
        super::announce(conn, Change::Outbox).await?;
    }
    Ok(())
}

/// Queues comment `id`, just approved, as a reply for those following its parent.
pub async fn tell_approved(conn: &mut PgConnection, id: i64, now: i64) -> anyhow::Result<()> {
    let row: Option<(Option<i64>, Vec<u8>)> = sqlx::query_as("SELECT parent_id, reader FROM comments WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some((Some(parent), reader)) => {
            let replier = ReaderHash(reader.try_into().unwrap_or_default());
            tell_reply(conn, id, parent, &replier, now).await
        }
        _ => Ok(()),
    }
}

/// Forgets everything of `reader`'s: addresses, what they followed, what waited (a reader's erasure).
pub async fn forget_reader(conn: &mut PgConnection, reader: &ReaderHash) -> anyhow::Result<()> {
    let ids: Vec<i64> = sqlx::query_scalar("DELETE FROM mail_recipients WHERE reader = $1 RETURNING id")
        .bind(&reader.0[..])
        .fetch_all(&mut *conn)
        .await?;
    forget(conn, &ids).await
}

async fn forget(conn: &mut PgConnection, recipients: &[i64]) -> anyhow::Result<()> {
    for table in ["reply_subscriptions", "mail_pending"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE recipient_id = ANY($1)"))
            .bind(recipients)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn record_told(
    conn: &mut PgConnection,
    Told { delivery, recipient, waiting, told, next_at }: Told<'_>,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM outbox WHERE id = $1").bind(delivery).execute(&mut *conn).await?;
    let locked: Option<i64> = sqlx::query_scalar("SELECT id FROM mail_recipients WHERE id = $1 FOR UPDATE")
        .bind(recipient)
        .fetch_optional(&mut *conn)
        .await?;
    if locked.is_none() {
        return Ok(());
    }
    sqlx::query("UPDATE mail_pending SET told_at = $3 WHERE recipient_id = $1 AND reply_id = ANY($2)")
        .bind(recipient)
        .bind(told)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM mail_pending WHERE recipient_id = $1 AND told_at IS NULL AND reply_id = ANY($2)")
        .bind(recipient)
        .bind(waiting)
        .execute(&mut *conn)
        .await?;
    // A statement of its own, after the lock: it sees every reply committed before the lock was granted.
    let again: bool = sqlx::query_scalar(
        "UPDATE mail_recipients SET next_mail_at = $2,
                queued = EXISTS (SELECT 1 FROM mail_pending WHERE recipient_id = $1 AND told_at IS NULL)
          WHERE id = $1 RETURNING queued",
    )
    .bind(recipient)
    .bind(next_at)
    .fetch_one(&mut *conn)
    .await?;
    if again {
        sqlx::query(
            "INSERT INTO outbox (event, payload, next_attempt, created_at)
               VALUES ('mail.replies', json_build_object('recipient', $1::bigint)::text, $2, $3)",
        )
        .bind(recipient)
        .bind(next_at)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        super::announce(conn, Change::Outbox).await?;
    }
    Ok(())
}

#[async_trait]
impl MailStore for PgStore {
    async fn mail_address(&self, reader: &ReaderHash, lookup: &[u8; 16]) -> anyhow::Result<AddressState> {
        let (blocked, confirmed): (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM mail_blocked WHERE lookup = $2),
                    EXISTS (SELECT 1 FROM mail_recipients WHERE reader = $1 AND lookup = $2
                                                            AND confirmed_at IS NOT NULL)",
        )
        .bind(&reader.0[..])
        .bind(&lookup[..])
        .fetch_one(&self.pool)
        .await?;
        Ok(if blocked {
            AddressState::Blocked
        } else if confirmed {
            AddressState::Confirmed
        } else {
            AddressState::Unconfirmed
        })
    }

    async fn mail_confirm(&self, recipient: i64, now: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE mail_recipients SET confirmed_at = coalesce(confirmed_at, $2)
              WHERE id = $1 AND (confirmed_at IS NOT NULL OR coalesce(confirm_sent_at, created_at) > $2 - $3)",
        )
        .bind(recipient)
        .bind(now)
        .bind(UNCONFIRMED_KEPT_SECS)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn mail_unsubscribe(&self, recipient: i64) -> anyhow::Result<bool> {
        in_tx!(self.pool, conn => async {
            let gone = sqlx::query("DELETE FROM mail_recipients WHERE id = $1").bind(recipient).execute(&mut *conn).await?;
            forget(conn, &[recipient]).await?;
            anyhow::Ok(gone.rows_affected() > 0)
        })
    }

    async fn mail_letter(&self, recipient: i64) -> anyhow::Result<Option<Letter>> {
        let row: Option<RecipientRow> = sqlx::query_as(
            "SELECT lookup, sealed, lang, confirmed_at IS NOT NULL AS confirmed,
                    EXISTS (SELECT 1 FROM mail_blocked b WHERE b.lookup = r.lookup) AS blocked
               FROM mail_recipients r WHERE id = $1",
        )
        .bind(recipient)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let waiting: Vec<i64> =
            sqlx::query_scalar("SELECT reply_id FROM mail_pending WHERE recipient_id = $1 AND told_at IS NULL")
                .bind(recipient)
                .fetch_all(&self.pool)
                .await?;
        let replies: Vec<ReplyNote> = sqlx::query_as(
            "SELECT c.id, c.parent_id, c.author, c.text, c.created_at, a.key AS article, a.url, a.title
               FROM mail_pending p JOIN comments c ON c.id = p.reply_id JOIN articles a ON a.id = c.article_id
              WHERE p.recipient_id = $1 AND p.told_at IS NULL AND c.status = 'visible' AND c.deleted_at IS NULL
              ORDER BY c.id",
        )
        .bind(recipient)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(row.letter(waiting, replies)))
    }

    async fn mail_told(&self, message: Told<'_>) -> anyhow::Result<()> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => record_told(conn, message, now))
    }

    async fn mail_block(&self, delivery: i64, lookup: &[u8], reason: &str) -> anyhow::Result<()> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => async {
            sqlx::query("DELETE FROM outbox WHERE id = $1").bind(delivery).execute(&mut *conn).await?;
            sqlx::query("INSERT INTO mail_blocked (lookup, reason, blocked_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(lookup)
                .bind(reason)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM mail_pending WHERE recipient_id IN (SELECT id FROM mail_recipients WHERE lookup = $1)")
                .bind(lookup)
                .execute(&mut *conn)
                .await?;
            anyhow::Ok(())
        })
    }

    async fn mail_forget_unconfirmed(&self, before: i64) -> anyhow::Result<u64> {
        in_tx!(self.pool, conn => async {
            let ids: Vec<i64> = sqlx::query_scalar(
                "DELETE FROM mail_recipients WHERE confirmed_at IS NULL AND coalesce(confirm_sent_at, created_at) < $1
                 RETURNING id",
            )
            .bind(before)
            .fetch_all(&mut *conn)
            .await?;
            forget(conn, &ids).await?;
            anyhow::Ok(ids.len() as u64)
        })
    }
}

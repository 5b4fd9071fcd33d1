//! Reply notification SQL for SQLite: subscribing with a comment, queueing a reply for its recipients in
//! the transaction that makes it visible, and what the outbox sender reads and records.

use async_trait::async_trait;
use sqlx::{SqliteConnection, SqlitePool};

use super::SqliteStore;
use super::writer::Touches;
use crate::rules::reader::ReaderHash;
use crate::store::{
    AddressState, CONFIRM_AGAIN_SECS, Letter, MailStore, RecipientRow, ReplyNote, Subscription, Told,
    UNCONFIRMED_KEPT_SECS,
};

/// Keeps `sub`'s address for the comment's author and follows comment `comment` for them; queues a
/// confirmation message where `sub` asks for one and the address is neither confirmed, blocked, nor sent
/// one within the hour.
pub async fn subscribe(
    conn: &mut SqliteConnection,
    comment: i64,
    reader: &ReaderHash,
    sub: &Subscription,
    now: i64,
) -> anyhow::Result<()> {
    let (recipient, confirmed, sent_at): (i64, bool, Option<i64>) = sqlx::query_as(
        "INSERT INTO mail_recipients (reader, lookup, sealed, lang, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
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
    sqlx::query("INSERT INTO reply_subscriptions (comment_id, recipient_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
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
        sqlx::query("UPDATE mail_recipients SET confirm_sent_at = ?2 WHERE id = ?1")
            .bind(recipient)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Queues the confirmation `event` for `{key: id}` unless the address (`lookup`) is blocked; answers
/// whether it did.
pub async fn queue_confirmation(
    conn: &mut SqliteConnection,
    event: &str,
    key: &str,
    id: i64,
    lookup: &[u8],
    now: i64,
) -> anyhow::Result<bool> {
    let queued = sqlx::query(
        "INSERT INTO outbox (event, payload, next_attempt, created_at)
           SELECT ?1, json_object(?2, ?3), ?4, ?4 WHERE NOT EXISTS (SELECT 1 FROM mail_blocked WHERE lookup = ?5)",
    )
    .bind(event)
    .bind(key)
    .bind(id)
    .bind(now)
    .bind(lookup)
    .execute(conn)
    .await?;
    Ok(queued.rows_affected() > 0)
}

/// Queues visible reply `reply` (to `parent`, by `replier`) for every confirmed recipient following the
/// parent but its own author; a recipient with no message queued gets one, due when its last message's
/// gathering time ends.
pub async fn tell_reply(
    conn: &mut SqliteConnection,
    reply: i64,
    parent: i64,
    replier: &ReaderHash,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO mail_pending (recipient_id, reply_id)
           SELECT s.recipient_id, ?1 FROM reply_subscriptions s JOIN mail_recipients r ON r.id = s.recipient_id
            WHERE s.comment_id = ?2 AND r.confirmed_at IS NOT NULL AND r.reader <> ?3
              AND NOT EXISTS (SELECT 1 FROM mail_blocked b WHERE b.lookup = r.lookup)
           ON CONFLICT DO NOTHING;
         INSERT INTO outbox (event, payload, next_attempt, created_at)
           SELECT 'mail.replies', json_object('recipient', r.id), max(?4, r.next_mail_at), ?4
             FROM mail_pending p JOIN mail_recipients r ON r.id = p.recipient_id
            WHERE p.reply_id = ?1 AND p.told_at IS NULL AND NOT r.queued;
         UPDATE mail_recipients SET queued = 1
          WHERE NOT queued
            AND id IN (SELECT recipient_id FROM mail_pending WHERE reply_id = ?1 AND told_at IS NULL);",
    )
    .bind(reply)
    .bind(parent)
    .bind(&replier.0[..])
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Queues comment `id`, just approved, as a reply for those following its parent.
pub async fn tell_approved(conn: &mut SqliteConnection, id: i64, now: i64) -> anyhow::Result<()> {
    let row: Option<(Option<i64>, Vec<u8>)> = sqlx::query_as("SELECT parent_id, reader FROM comments WHERE id = ?1")
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
pub async fn forget_reader(conn: &mut SqliteConnection, reader: &ReaderHash) -> anyhow::Result<()> {
    sqlx::query(
        "DELETE FROM reply_subscriptions WHERE recipient_id IN (SELECT id FROM mail_recipients WHERE reader = ?1);
         DELETE FROM mail_pending WHERE recipient_id IN (SELECT id FROM mail_recipients WHERE reader = ?1);
         DELETE FROM mail_recipients WHERE reader = ?1;",
    )
    .bind(&reader.0[..])
    .execute(conn)
    .await?;
    Ok(())
}

async fn unsubscribe(conn: &mut SqliteConnection, recipient: i64) -> anyhow::Result<bool> {
    let gone = sqlx::query(
        "DELETE FROM reply_subscriptions WHERE recipient_id = ?1;
         DELETE FROM mail_pending WHERE recipient_id = ?1;
         DELETE FROM mail_recipients WHERE id = ?1;",
    )
    .bind(recipient)
    .execute(conn)
    .await?;
    Ok(gone.rows_affected() > 0)
}

/// One statement per query here: sqlx 0.8 binds `?NNN` parameters across the statements of one query
/// string by a count that gaps in a statement's numbering throw off, leaving a later parameter unbound
/// (NULL). `store::sqlite` tests look for such strings.
async fn told(conn: &mut SqliteConnection, job: &(i64, i64, String, String, i64), now: i64) -> anyhow::Result<()> {
    let (delivery, recipient, waiting, told, next_at) = job;
    sqlx::query("DELETE FROM outbox WHERE id = ?1").bind(delivery).execute(&mut *conn).await?;
    sqlx::query(
        "UPDATE mail_pending SET told_at = ?3
          WHERE recipient_id = ?1 AND reply_id IN (SELECT value FROM json_each(?2))",
    )
    .bind(recipient)
    .bind(told)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM mail_pending
          WHERE recipient_id = ?1 AND told_at IS NULL AND reply_id IN (SELECT value FROM json_each(?2))",
    )
    .bind(recipient)
    .bind(waiting)
    .execute(&mut *conn)
    .await?;
    let again: bool = sqlx::query_scalar(
        "UPDATE mail_recipients SET next_mail_at = ?2,
                queued = EXISTS (SELECT 1 FROM mail_pending WHERE recipient_id = ?1 AND told_at IS NULL)
          WHERE id = ?1 RETURNING queued",
    )
    .bind(recipient)
    .bind(next_at)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(false);
    if again {
        sqlx::query(
            "INSERT INTO outbox (event, payload, next_attempt, created_at)
               VALUES ('mail.replies', json_object('recipient', ?1), ?2, ?3)",
        )
        .bind(recipient)
        .bind(next_at)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// See [`MailStore::mail_confirm`].
const CONFIRM: &str = "UPDATE mail_recipients SET confirmed_at = coalesce(confirmed_at, ?2)
                        WHERE id = ?1 AND (confirmed_at IS NOT NULL OR coalesce(confirm_sent_at, created_at) > ?2 - ?3)";

/// See [`MailStore::mail_forget_unconfirmed`].
async fn forget_unconfirmed(conn: &mut SqliteConnection, before: i64) -> anyhow::Result<u64> {
    sqlx::query(
        "DELETE FROM reply_subscriptions WHERE recipient_id IN
           (SELECT id FROM mail_recipients WHERE confirmed_at IS NULL AND coalesce(confirm_sent_at, created_at) < ?1);
         DELETE FROM mail_pending WHERE recipient_id IN
           (SELECT id FROM mail_recipients WHERE confirmed_at IS NULL AND coalesce(confirm_sent_at, created_at) < ?1);",
    )
    .bind(before)
    .execute(&mut *conn)
    .await?;
    let gone = sqlx::query(
        "DELETE FROM mail_recipients WHERE confirmed_at IS NULL AND coalesce(confirm_sent_at, created_at) < ?1",
    )
    .bind(before)
    .execute(&mut *conn)
    .await?;
    Ok(gone.rows_affected())
}

async fn block(conn: &mut SqliteConnection, job: &(i64, Vec<u8>, String), now: i64) -> anyhow::Result<()> {
    let (delivery, lookup, reason) = job;
    sqlx::query(
        "DELETE FROM outbox WHERE id = ?1;
         INSERT INTO mail_blocked (lookup, reason, blocked_at) VALUES (?2, ?3, ?4) ON CONFLICT DO NOTHING;
         DELETE FROM mail_pending WHERE recipient_id IN (SELECT id FROM mail_recipients WHERE lookup = ?2);",
    )
    .bind(delivery)
    .bind(lookup)
    .bind(reason)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

async fn letter(pool: &SqlitePool, recipient: i64) -> anyhow::Result<Option<Letter>> {
    let row: Option<RecipientRow> = sqlx::query_as(
        "SELECT lookup, sealed, lang, confirmed_at IS NOT NULL AS confirmed,
                EXISTS (SELECT 1 FROM mail_blocked b WHERE b.lookup = r.lookup) AS blocked
           FROM mail_recipients r WHERE id = ?1",
    )
    .bind(recipient)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let waiting: Vec<i64> =
        sqlx::query_scalar("SELECT reply_id FROM mail_pending WHERE recipient_id = ?1 AND told_at IS NULL")
            .bind(recipient)
            .fetch_all(pool)
            .await?;
    let replies: Vec<ReplyNote> = sqlx::query_as(
        "SELECT c.id, c.parent_id, c.author, c.text, c.created_at, a.key AS article, a.url, a.title
           FROM mail_pending p JOIN comments c ON c.id = p.reply_id JOIN articles a ON a.id = c.article_id
          WHERE p.recipient_id = ?1 AND p.told_at IS NULL AND c.status = 'visible' AND c.deleted_at IS NULL
          ORDER BY c.id",
    )
    .bind(recipient)
    .fetch_all(pool)
    .await?;
    Ok(Some(row.letter(waiting, replies)))
}

#[async_trait]
impl MailStore for SqliteStore {
    async fn mail_address(&self, reader: &ReaderHash, lookup: &[u8; 16]) -> anyhow::Result<AddressState> {
        let row: Option<(bool, bool)> = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM mail_blocked WHERE lookup = ?2),
                    EXISTS (SELECT 1 FROM mail_recipients WHERE reader = ?1 AND lookup = ?2
                                                            AND confirmed_at IS NOT NULL)",
        )
        .bind(&reader.0[..])
        .bind(&lookup[..])
        .fetch_optional(&self.read)
        .await?;
        Ok(match row {
            Some((true, _)) => AddressState::Blocked,
            Some((_, true)) => AddressState::Confirmed,
            _ => AddressState::Unconfirmed,
        })
    }

    async fn mail_confirm(&self, recipient: i64, now: i64) -> anyhow::Result<bool> {
        self.write("address confirmation", Touches::Nothing, (recipient, now), |&(recipient, now), conn, _| {
            Box::pin(async move {
                let done =
                    sqlx::query(CONFIRM).bind(recipient).bind(now).bind(UNCONFIRMED_KEPT_SECS).execute(conn).await?;
                Ok(done.rows_affected() > 0)
            })
        })
        .await
    }

    async fn mail_unsubscribe(&self, recipient: i64) -> anyhow::Result<bool> {
        self.write("unsubscription", Touches::Nothing, recipient, |&recipient, conn, _| {
            Box::pin(unsubscribe(conn, recipient))
        })
        .await
    }

    async fn mail_letter(&self, recipient: i64) -> anyhow::Result<Option<Letter>> {
        letter(&self.read, recipient).await
    }

    async fn mail_told(&self, message: Told<'_>) -> anyhow::Result<()> {
        let Told { delivery, recipient, waiting, told, next_at } = message;
        let job = (delivery, recipient, serde_json::to_string(waiting)?, serde_json::to_string(told)?, next_at);
        self.write("message sent", Touches::Nothing, job, |job, conn, ctx| Box::pin(self::told(conn, job, ctx.now)))
            .await
    }

    async fn mail_block(&self, delivery: i64, lookup: &[u8], reason: &str) -> anyhow::Result<()> {
        let job = (delivery, lookup.to_vec(), reason.to_owned());
        self.write("address blocked", Touches::Nothing, job, |job, conn, ctx| Box::pin(block(conn, job, ctx.now))).await
    }

    async fn mail_forget_unconfirmed(&self, before: i64) -> anyhow::Result<u64> {
        self.write("unconfirmed addresses forgotten", Touches::Nothing, before, |&before, conn, _| {
            Box::pin(forget_unconfirmed(conn, before))
        })
        .await
    }
}

//! `ReaderStore` on SQLite: a reader's data read from the pool, erased by the writer in one transaction.

use async_trait::async_trait;
use otklik_api::{CommentId, ReaderData};
use sqlx::SqliteConnection;

use super::SqliteStore;
use super::writer::Touches;
use crate::rules::reader::ReaderHash;
use crate::store::{Erasure, OwnCommentRow, ReaderStore, reader_data};

#[async_trait]
impl ReaderStore for SqliteStore {
    async fn reader_data(&self, reader: &ReaderHash) -> anyhow::Result<ReaderData> {
        let who = &reader.0[..];
        let comments: Vec<OwnCommentRow> = sqlx::query_as(
            "SELECT c.id, a.key, c.parent_id, c.author, c.text, c.created_at, c.edited_at, c.status,
                    c.deleted_at IS NOT NULL
               FROM comments c JOIN articles a ON a.id = c.article_id WHERE c.reader = ?1 ORDER BY c.id",
        )
        .bind(who)
        .fetch_all(&self.read)
        .await?;
        let reactions: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT a.key, r.kind, r.created_at FROM reactions r JOIN articles a ON a.id = r.article_id
              WHERE r.reader = ?1 ORDER BY r.created_at, a.key",
        )
        .bind(who)
        .fetch_all(&self.read)
        .await?;
        let marks = |table: &'static str| {
            format!(
                "SELECT m.comment_id, a.key FROM {table} m JOIN comments c ON c.id = m.comment_id
                   JOIN articles a ON a.id = c.article_id WHERE m.reader = ?1 ORDER BY m.comment_id"
            )
        };
        let likes: Vec<(i64, String)> = sqlx::query_as(&marks("comment_likes")).bind(who).fetch_all(&self.read).await?;
        let flags: Vec<(i64, String)> = sqlx::query_as(&marks("comment_flags")).bind(who).fetch_all(&self.read).await?;
        let typos: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT t.id, a.key, t.fragment, t.status, t.created_at FROM typos t JOIN articles a ON a.id = t.article_id
              WHERE t.reader = ?1 ORDER BY t.id",
        )
        .bind(who)
        .fetch_all(&self.read)
        .await?;
        Ok(reader_data(comments, reactions, likes, flags, typos))
    }

    async fn erase_reader(&self, reader: &ReaderHash) -> anyhow::Result<Erasure> {
        let erasure = self
            .write("reader erasure", Touches::Threads, *reader, |reader, conn, ctx| {
                Box::pin(erase(conn, *reader, ctx.now))
            })
            .await?;
        for article in &erasure.reactions {
            // Nobody listening is no error.
            let _ = self.changes.send(crate::store::Change::Reactions(article.clone()));
        }
        for (article, id) in &erasure.removed {
            self.removed(article.clone(), *id);
        }
        Ok(erasure)
    }

    async fn comment_reader(&self, id: CommentId) -> anyhow::Result<Option<ReaderHash>> {
        let reader: Option<Vec<u8>> = sqlx::query_scalar("SELECT reader FROM comments WHERE id = ?1")
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?;
        Ok(reader.and_then(|r| <[u8; 16]>::try_from(r.as_slice()).ok()).map(ReaderHash))
    }
}

async fn erase(conn: &mut SqliteConnection, reader: ReaderHash, now: i64) -> anyhow::Result<Erasure> {
    let who = &reader.0[..];
    let mut out = Erasure::default();
    super::mail::forget_reader(conn, &reader).await?;
    // Newest first: a reply of the reader's to their own comment goes before it, so that comment need not
    // stay as a placeholder.
    let comments: Vec<(i64, String, bool)> = sqlx::query_as(
        "SELECT c.id, a.key, c.status = 'visible' AND c.deleted_at IS NULL
           FROM comments c JOIN articles a ON a.id = c.article_id WHERE c.reader = ?1 ORDER BY c.id DESC",
    )
    .bind(who)
    .fetch_all(&mut *conn)
    .await?;
    for (id, article, shown) in &comments {
        super::comments::remove(conn, CommentId(*id), now).await?;
        if *shown {
            out.removed.push((article.clone(), CommentId(*id)));
        }
    }
    let kept = sqlx::query(
        "UPDATE comments SET reader = X'', ip_hash = NULL, ip_epoch = NULL, author = '', text = '' WHERE reader = ?1",
    )
    .bind(who)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    out.erased.placeholders = kept;
    out.erased.comments = comments.len() as u64 - kept;

    out.reactions = sqlx::query_scalar(
        "SELECT a.key FROM reactions r JOIN articles a ON a.id = r.article_id WHERE r.reader = ?1 ORDER BY a.key",
    )
    .bind(who)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE reaction_counts SET count = count - 1
          WHERE EXISTS (SELECT 1 FROM reactions r WHERE r.reader = ?1
                         AND r.article_id = reaction_counts.article_id AND r.kind = reaction_counts.kind)",
    )
    .bind(who)
    .execute(&mut *conn)
    .await?;
    out.erased.reactions =
        sqlx::query("DELETE FROM reactions WHERE reader = ?1").bind(who).execute(&mut *conn).await?.rows_affected();

    sqlx::query(
        "UPDATE comments SET likes = likes - 1 WHERE id IN (SELECT comment_id FROM comment_likes WHERE reader = ?1)",
    )
    .bind(who)
    .execute(&mut *conn)
    .await?;
    out.erased.likes =
        sqlx::query("DELETE FROM comment_likes WHERE reader = ?1").bind(who).execute(&mut *conn).await?.rows_affected();
    // `flags` counts the flags since a moderator last looked; one of those may be this reader's.
    sqlx::query(
        "UPDATE comments SET flags = max(flags - 1, 0) WHERE id IN (SELECT comment_id FROM comment_flags WHERE reader = ?1)",
    )
    .bind(who)
    .execute(&mut *conn)
    .await?;
    out.erased.flags =
        sqlx::query("DELETE FROM comment_flags WHERE reader = ?1").bind(who).execute(&mut *conn).await?.rows_affected();

    let alone = sqlx::query("DELETE FROM typos WHERE reader = ?1 AND reports = 1")
        .bind(who)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let shared = sqlx::query("UPDATE typos SET reader = X'', ip_hash = NULL WHERE reader = ?1")
        .bind(who)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    out.erased.typos = alone + shared;
    Ok(out)
}

//! Comment threads on PostgreSQL: pages of a thread (one statement each) and readers' writes.
//!
//! Counts (the article's visible comments, a thread's replies, a comment's likes and flags) move by
//! relative updates under their row's lock, so they stay exact with writes arriving at several nodes.
//! Ids come from a sequence, so a reply's thread path, which embeds its own id, is known before the insert.

use std::collections::BTreeMap;

use anyhow::Context as _;
use async_trait::async_trait;
use otklik_api::limits::{EDIT_WINDOW_SECS, REPLY_DEPTH_MAX, REPLY_PREVIEW};
use otklik_api::{ArticleId, Comment, CommentId, CommentPage, CommentSort, LikeView, ModerationMode};
use sqlx::PgConnection;

use std::sync::Arc;

use super::{PgStore, in_tx, outbox};
use crate::rules::reader::ReaderHash;
use crate::store::page_cache::{CachedPage, ReaderSet};
use crate::store::{
    CommentError, CommentQuery, CommentRow, CommentStore, Cursor, EditCommentCmd, NewCommentCmd, ThreadRow,
    arrange_page, arrange_replies,
};

/// A comment's columns as `$2`, the requesting reader (NULL for nobody), may see them: a [`CommentRow`].
macro_rules! comment_columns {
    () => {
        "c.id, c.parent_id, c.depth,
         CASE WHEN p.status = 'hidden' OR (p.status = 'pending' AND p.reader IS DISTINCT FROM $2) THEN ''
              ELSE p.author END AS reply_to,
         CASE WHEN c.status = 'hidden' OR (c.status = 'pending' AND c.reader IS DISTINCT FROM $2) THEN ''
              ELSE c.author END AS author,
         CASE WHEN c.status = 'hidden' OR (c.status = 'pending' AND c.reader IS DISTINCT FROM $2) THEN ''
              ELSE c.text END AS text,
         c.created_at, c.edited_at,
         c.deleted_at IS NOT NULL OR c.status = 'hidden' OR (c.status = 'pending' AND c.reader IS DISTINCT FROM $2)
           AS placeholder,
         c.likes, l.reader IS NOT NULL AS liked, coalesce(c.reader = $2, false) AS mine, c.replies, c.root_id,
         c.path, c.status = 'pending' AND coalesce(c.reader = $2, false) AS pending"
    };
}

macro_rules! comment_joins {
    () => {
        "LEFT JOIN comments p ON p.id = c.parent_id
         LEFT JOIN comment_likes l ON l.comment_id = c.id AND l.reader = $2"
    };
}

/// Who sees comment `c`: everyone if it is visible, only its author (`$2`) while it awaits moderation. A
/// hidden comment, or one sent back for moderation by an edit, that visible replies answer stays for others
/// as a placeholder, like a deleted one, so that the discussion under it does not go with it.
macro_rules! shown_to_reader {
    () => {
        "(c.status = 'visible' OR (c.status = 'pending' AND c.reader = $2)
          OR (c.status <> 'visible'
              AND (c.replies > 0 OR EXISTS (SELECT 1 FROM comments answer
                                             WHERE answer.parent_id = c.id AND answer.status = 'visible'))))"
    };
}

/// Top-level comments of one page, each with its first `$preview` replies. `$3` is the page size plus one
/// (to learn whether there is a next page), `$4` (and `$5` for the popular order) the cursor.
macro_rules! page_sql {
    ($condition:literal, $order:literal, $preview:literal) => {
        concat!(
            "WITH top AS (
               SELECT id FROM comments c
                WHERE article_id = (SELECT id FROM articles WHERE key = $1) AND depth = 0 AND ",
            shown_to_reader!(),
            " AND ",
            $condition,
            " ORDER BY ",
            $order,
            " LIMIT $3),
             shown AS (
               SELECT id FROM top
               UNION ALL
               SELECT id FROM (SELECT c.id, row_number() OVER (PARTITION BY c.root_id ORDER BY c.path) AS n
                                 FROM comments c WHERE c.root_id IN (SELECT id FROM top) AND c.depth > 0
                                  AND ",
            shown_to_reader!(),
            ") AS r WHERE n <= ",
            $preview,
            ")
             SELECT ",
            comment_columns!(),
            " FROM shown JOIN comments c ON c.id = shown.id ",
            comment_joins!()
        )
    };
}

const PAGE_OLDEST: &str = page_sql!("id > $4", "id", "$5");
const PAGE_NEWEST: &str = page_sql!("id < $4", "id DESC", "$5");
const PAGE_POPULAR: &str = page_sql!("(likes, id) < ($5, $4)", "likes DESC, id DESC", "$6");
const REPLIES: &str = concat!(
    "WITH shown AS (SELECT id FROM comments c
                    WHERE root_id = $4 AND depth > 0 AND path > $5 AND ",
    shown_to_reader!(),
    "
                      AND article_id = (SELECT id FROM articles WHERE key = $1)
                    ORDER BY path LIMIT $3)
     SELECT ",
    comment_columns!(),
    " FROM shown JOIN comments c ON c.id = shown.id ",
    comment_joins!()
);
const ONE: &str = concat!("SELECT ", comment_columns!(), " FROM comments c ", comment_joins!(), " WHERE c.id = $3");

/// The article's visible total and whether it is closed.
async fn article_state(conn: &mut PgConnection, article: &ArticleId) -> anyhow::Result<(u64, bool)> {
    let row: Option<(i64, bool)> = sqlx::query_as("SELECT comment_count, closed FROM articles WHERE key = $1")
        .bind(article.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let (total, closed) = row.unwrap_or((0, false));
    Ok((total.max(0) as u64, closed))
}

/// A page of the thread: top-level comments in the asked order, each followed by its first replies.
async fn page(conn: &mut PgConnection, q: &CommentQuery) -> anyhow::Result<Result<CommentPage, CommentError>> {
    let reader = q.reader.map(|r| r.0.to_vec());
    let fetch = q.limit as i64 + 1;
    if let Some(root) = q.root {
        let after = match &q.cursor {
            None => String::new(),
            Some(Cursor::Path(p)) => p.clone(),
            Some(_) => return Ok(Err(CommentError::BadCursor)),
        };
        let raw: Vec<CommentRow> = sqlx::query_as(REPLIES)
            .bind(q.article.as_str())
            .bind(reader)
            .bind(fetch)
            .bind(root.0)
            .bind(after)
            .fetch_all(&mut *conn)
            .await?;
        let (total, closed) = article_state(conn, &q.article).await?;
        let (comments, next) = arrange_replies(raw.into_iter().map(ThreadRow::from).collect(), q.limit);
        return Ok(Ok(CommentPage { comments, next, total, closed, form: None }));
    }

    let preview = REPLY_PREVIEW as i64;
    let (sql, cursor): (&str, Vec<i64>) = match (q.sort, &q.cursor) {
        (CommentSort::Oldest, None) => (PAGE_OLDEST, vec![0]),
        (CommentSort::Oldest, Some(Cursor::Id(id))) => (PAGE_OLDEST, vec![*id]),
        (CommentSort::Newest, None) => (PAGE_NEWEST, vec![i64::MAX]),
        (CommentSort::Newest, Some(Cursor::Id(id))) => (PAGE_NEWEST, vec![*id]),
        (CommentSort::Popular, None) => (PAGE_POPULAR, vec![i64::MAX, i64::MAX]),
        (CommentSort::Popular, Some(Cursor::Liked { likes, id })) => (PAGE_POPULAR, vec![*id, *likes]),
        _ => return Ok(Err(CommentError::BadCursor)),
    };
    // `$1`–`$3`, then the cursor's one or two values, then the preview's length.
    let mut query = sqlx::query_as::<_, CommentRow>(sql).bind(q.article.as_str()).bind(reader).bind(fetch);
    for value in cursor {
        query = query.bind(value);
    }
    let raw = query.bind(preview).fetch_all(&mut *conn).await?;
    let (total, closed) = article_state(conn, &q.article).await?;

    let (comments, next) = arrange_page(raw.into_iter().map(ThreadRow::from).collect(), q.sort, q.limit);
    Ok(Ok(CommentPage { comments, next, total, closed, form: None }))
}

/// One comment as `reader` (or nobody) sees it.
async fn one(
    conn: &mut PgConnection,
    article: &str,
    reader: Option<&ReaderHash>,
    id: i64,
) -> anyhow::Result<Option<Comment>> {
    let raw: Option<CommentRow> = sqlx::query_as(ONE)
        .bind(article)
        .bind(reader.map(|r| r.0.to_vec()))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(raw.map(|r| ThreadRow::from(r).comment))
}

fn path_segment(id: i64) -> String {
    format!("{id:012}")
}

// Refusals (not found, not yours, too late, closed) are answers (`Ok(Err(..))`), and are given before
// anything is written: the transaction commits what little it did (an article row at most).

async fn post(
    conn: &mut PgConnection,
    post: &NewCommentCmd,
    now: i64,
) -> anyhow::Result<Result<Comment, CommentError>> {
    let super::ArticleRef { id: article, moderation: mode, closed } =
        super::article(conn, post.article.as_str(), Some(&post.page), now).await?;
    if closed {
        return Ok(Err(CommentError::Closed));
    }
    let mode = mode.as_deref().and_then(ModerationMode::parse).unwrap_or(post.default_mode);
    let pending = post.hold || mode == ModerationMode::Pre;
    let parent = match post.parent {
        None => None,
        Some(parent) => {
            let row: Option<(i64, i64, String, String, bool)> = sqlx::query_as(
                "SELECT root_id, depth, path, author, deleted_at IS NOT NULL FROM comments
                  WHERE id = $1 AND article_id = $2 AND status = 'visible'",
            )
            .bind(parent.0)
            .bind(article)
            .fetch_optional(&mut *conn)
            .await?;
            match row {
                Some((root, depth, path, author, false)) => Some((parent, root, depth, path, author)),
                _ => return Ok(Err(CommentError::ParentNotFound)),
            }
        }
    };
    let id: i64 = sqlx::query_scalar("SELECT nextval('comments_id_seq')").fetch_one(&mut *conn).await?;
    let (root, depth, path, reply_to) = match &parent {
        None => (id, 0, path_segment(id), None),
        // At the deepest level a reply goes beside the comment it answers (after it, as it is newer),
        // still naming it as its parent: the path, and every key and cursor made of it, stay bounded.
        Some((_, root, depth, path, author)) if *depth >= i64::from(REPLY_DEPTH_MAX) => {
            let siblings = path.rsplit_once('/').map_or(path.as_str(), |(above, _)| above);
            (*root, *depth, format!("{siblings}/{}", path_segment(id)), Some(author.clone()))
        }
        Some((_, root, depth, path, author)) => {
            (*root, depth + 1, format!("{path}/{}", path_segment(id)), Some(author.clone()))
        }
    };
    sqlx::query(
        "INSERT INTO comments (id, article_id, parent_id, root_id, depth, path, author, text, reader, ip_hash,
                               ip_epoch, created_at, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(article)
    .bind(parent.as_ref().map(|p| p.0.0))
    .bind(root)
    .bind(depth)
    .bind(&path)
    .bind(&post.author)
    .bind(&post.text)
    .bind(&post.reader.0[..])
    .bind(&post.ip[..])
    .bind(post.ip_epoch)
    .bind(now)
    .bind(if pending { "pending" } else { "visible" })
    .execute(&mut *conn)
    .await?;
    // Only visible comments are counted.
    if !pending {
        sqlx::query("UPDATE articles SET comment_count = comment_count + 1 WHERE id = $1")
            .bind(article)
            .execute(&mut *conn)
            .await?;
        if parent.is_some() {
            sqlx::query("UPDATE comments SET replies = replies + 1 WHERE id = $1")
                .bind(root)
                .execute(&mut *conn)
                .await?;
        }
    }
    let comment = Comment {
        id: CommentId(id),
        parent: post.parent,
        depth: depth as u32,
        reply_to,
        author: post.author.clone(),
        text: post.text.clone(),
        created: now,
        edited: None,
        deleted: false,
        likes: 0,
        liked: false,
        mine: true,
        editable_until: Some(now + EDIT_WINDOW_SECS),
        replies: 0,
        pending,
    };
    if post.announce {
        announce(conn, post.article.as_str(), &comment, now).await?;
    }
    Ok(Ok(comment))
}

async fn edit(
    conn: &mut PgConnection,
    edit: &EditCommentCmd,
    now: i64,
) -> anyhow::Result<Result<Comment, CommentError>> {
    let EditCommentCmd { article, id, reader, text, .. } = edit;
    let (status, reviewed) = match own_and_open(conn, article, *id, reader, now).await? {
        Ok(state) => state,
        Err(e) => return Ok(Err(e)),
    };
    // An edit is new text no moderator has read. It goes (back) to the queue, shown to its author
    // only, where the article is pre-moderated, where it holds a stop word, and where a moderator
    // had approved the old text: otherwise approval would launder whatever is written after it.
    let mode: Option<String> = sqlx::query_scalar("SELECT moderation FROM articles WHERE key = $1")
        .bind(article.as_str())
        .fetch_one(&mut *conn)
        .await?;
    let pre = mode.as_deref().and_then(ModerationMode::parse).unwrap_or(edit.default_mode) == ModerationMode::Pre;
    let to_pending = status == "pending" || edit.hold || pre || reviewed;
    let uncounted = to_pending && status == "visible";
    if uncounted {
        sqlx::query(
            "UPDATE articles SET comment_count = comment_count - 1
              WHERE id = (SELECT article_id FROM comments WHERE id = $1)",
        )
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE comments SET replies = replies - 1
              WHERE id = (SELECT root_id FROM comments WHERE id = $1 AND depth > 0)",
        )
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE comments SET text = $1, edited_at = $2,
                             status = CASE WHEN $4 THEN 'pending' ELSE status END,
                             reviewed_at = CASE WHEN $4 THEN NULL ELSE reviewed_at END
          WHERE id = $3",
    )
    .bind(text)
    .bind(now)
    .bind(id.0)
    .bind(to_pending)
    .execute(&mut *conn)
    .await?;
    let edited = one(conn, article.as_str(), Some(reader), id.0).await?.context("the edited comment")?;
    if edit.announce && uncounted {
        announce(conn, article.as_str(), &edited, now).await?;
    }
    Ok(Ok(edited))
}

/// Whether comment `id` of `article` is there for everyone (neither deleted nor held nor hidden): what
/// readers may like and flag.
async fn visible(conn: &mut PgConnection, article: &ArticleId, id: CommentId) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM comments c JOIN articles a ON a.id = c.article_id
                         WHERE c.id = $1 AND a.key = $2 AND c.deleted_at IS NULL AND c.status = 'visible')",
    )
    .bind(id.0)
    .bind(article.as_str())
    .fetch_one(&mut *conn)
    .await?)
}

async fn set_like(
    conn: &mut PgConnection,
    article: &ArticleId,
    id: CommentId,
    reader: &ReaderHash,
    like: bool,
) -> anyhow::Result<Result<LikeView, CommentError>> {
    // A like is given only to a comment there for everyone; one can always be taken back.
    let change = match (like, visible(conn, article, id).await?) {
        (true, true) => {
            Some(("INSERT INTO comment_likes (comment_id, reader) VALUES ($1, $2) ON CONFLICT DO NOTHING", 1))
        }
        (true, false) => None,
        (false, _) => Some(("DELETE FROM comment_likes WHERE comment_id = $1 AND reader = $2", -1_i64)),
    };
    if let Some((sql, delta)) = change {
        let changed = sqlx::query(sql).bind(id.0).bind(&reader.0[..]).execute(&mut *conn).await?.rows_affected();
        if changed > 0 {
            sqlx::query("UPDATE comments SET likes = likes + $2 WHERE id = $1")
                .bind(id.0)
                .bind(delta)
                .execute(&mut *conn)
                .await?;
        }
    }
    let row: Option<(i64, bool)> = sqlx::query_as(
        "SELECT c.likes, EXISTS (SELECT 1 FROM comment_likes WHERE comment_id = $1 AND reader = $2)
           FROM comments c JOIN articles a ON a.id = c.article_id
          WHERE c.id = $1 AND a.key = $3 AND c.deleted_at IS NULL",
    )
    .bind(id.0)
    .bind(&reader.0[..])
    .bind(article.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some((likes, liked)) => Ok(LikeView { likes: likes.max(0) as u64, liked }),
        None => Err(CommentError::NotFound),
    })
}

async fn flag(
    conn: &mut PgConnection,
    article: &ArticleId,
    id: CommentId,
    reader: &ReaderHash,
    now: i64,
) -> anyhow::Result<Result<(), CommentError>> {
    let exists = visible(conn, article, id).await?;
    if !exists {
        return Ok(Err(CommentError::NotFound));
    }
    let added = sqlx::query(
        "INSERT INTO comment_flags (comment_id, reader, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(id.0)
    .bind(&reader.0[..])
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added > 0 {
        sqlx::query("UPDATE comments SET flags = flags + 1 WHERE id = $1").bind(id.0).execute(&mut *conn).await?;
    }
    Ok(Ok(()))
}

/// Deletes a comment: with replies it stays as a placeholder (text and name removed); without, it goes
/// entirely (the sequence never gives its id out again). The article's count and its thread's reply count
/// drop only if it was counted (visible).
pub async fn remove(conn: &mut PgConnection, id: CommentId, now: i64) -> anyhow::Result<()> {
    let row: Option<(i64, i64, i64, bool)> = sqlx::query_as(
        "SELECT article_id, root_id, depth, status = 'visible' FROM comments
          WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((article, root, depth, counted)) = row else { return Ok(()) };
    if counted {
        sqlx::query("UPDATE articles SET comment_count = comment_count - 1 WHERE id = $1")
            .bind(article)
            .execute(&mut *conn)
            .await?;
        if depth > 0 {
            sqlx::query("UPDATE comments SET replies = replies - 1 WHERE id = $1")
                .bind(root)
                .execute(&mut *conn)
                .await?;
        }
    }
    let answered: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM comments WHERE parent_id = $1)")
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await?;
    if answered {
        sqlx::query("UPDATE comments SET deleted_at = $2, text = '', author = '' WHERE id = $1")
            .bind(id.0)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    } else {
        sqlx::query("DELETE FROM comment_likes WHERE comment_id = $1").bind(id.0).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM comment_flags WHERE comment_id = $1").bind(id.0).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM comments WHERE id = $1").bind(id.0).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Announces a comment a moderator has just approved: readers see it only now, so receivers that wait for
/// `comment.created` hear of it only now too.
pub async fn announce_approved(conn: &mut PgConnection, article: &str, id: CommentId, now: i64) -> anyhow::Result<()> {
    match one(conn, article, None, id.0).await? {
        Some(comment) => announce(conn, article, &comment, now).await,
        None => Ok(()),
    }
}

/// Queues the `comment.created` (or `comment.pending`) webhook delivery, in the comment's transaction.
async fn announce(conn: &mut PgConnection, article: &str, comment: &Comment, now: i64) -> anyhow::Result<()> {
    let (url, title): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT url, title FROM articles WHERE key = $1").bind(article).fetch_one(&mut *conn).await?;
    let (event, payload) = crate::store::comment_event(article, url, title, comment);
    outbox::enqueue(&mut *conn, event, &payload, now).await
}

/// Whether `reader` wrote comment `id` on `article`, it is neither deleted nor hidden, and the edit window
/// is open; locks it. Answers the comment's status and whether a moderator has acted on it.
async fn own_and_open(
    conn: &mut PgConnection,
    article: &ArticleId,
    id: CommentId,
    reader: &ReaderHash,
    now: i64,
) -> anyhow::Result<Result<(String, bool), CommentError>> {
    let row: Option<(Vec<u8>, i64, String, bool)> = sqlx::query_as(
        "SELECT c.reader, c.created_at, c.status, c.reviewed_at IS NOT NULL
           FROM comments c JOIN articles a ON a.id = c.article_id
          WHERE c.id = $1 AND a.key = $2 AND c.deleted_at IS NULL AND c.status <> 'hidden'
            FOR UPDATE OF c",
    )
    .bind(id.0)
    .bind(article.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(crate::store::own_and_open(row, reader, now))
}

/// Every reader who wrote a comment on the article or liked one of its comments (only they need their
/// likes and authorship looked up on a shared page), and every reader with a comment awaiting moderation.
async fn active_readers(conn: &mut PgConnection, article: &ArticleId) -> anyhow::Result<(ReaderSet, ReaderSet)> {
    let rows: Vec<(Vec<u8>, bool)> = sqlx::query_as(
        "SELECT c.reader, false FROM comments c JOIN articles a ON a.id = c.article_id
          WHERE a.key = $1 AND c.deleted_at IS NULL
         UNION
         SELECT l.reader, false FROM comment_likes l JOIN comments c ON c.id = l.comment_id
           JOIN articles a ON a.id = c.article_id WHERE a.key = $1
         UNION
         SELECT c.reader, true FROM comments c JOIN articles a ON a.id = c.article_id
          WHERE a.key = $1 AND c.status = 'pending'",
    )
    .bind(article.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let (mut active, mut pending) = (ReaderSet::new(), ReaderSet::new());
    for (reader, waiting) in rows {
        let Ok(reader) = <[u8; 16]>::try_from(reader.as_slice()) else { continue };
        if waiting {
            pending.insert(reader)
        } else {
            active.insert(reader)
        };
    }
    Ok((active, pending))
}

/// Which of `ids` the reader likes, and which they wrote: their part of a shared page.
async fn overlay(conn: &mut PgConnection, reader: &ReaderHash, ids: &[i64]) -> anyhow::Result<(Vec<i64>, Vec<i64>)> {
    let rows: Vec<(i64, bool)> = sqlx::query_as(
        "SELECT comment_id, true FROM comment_likes WHERE reader = $1 AND comment_id = ANY($2)
         UNION ALL
         SELECT id, false FROM comments WHERE reader = $1 AND id = ANY($2) AND deleted_at IS NULL",
    )
    .bind(&reader.0[..])
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let (liked, mine): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, like)| *like);
    Ok((liked.into_iter().map(|r| r.0).collect(), mine.into_iter().map(|r| r.0).collect()))
}

/// Runs `$body` (a future using `$conn`), a comment write on `$article`'s thread, in a transaction that
/// announces the change to every node, and forgets this node's cached pages of it once it has committed.
macro_rules! thread_write {
    ($store:expr, $article:expr, $conn:ident => $body:expr) => {{
        let value = in_tx!($store.pool, $conn => async {
            let value = $body.await?;
            super::thread_changed(&mut *$conn, Some($article.as_str())).await?;
            anyhow::Ok(value)
        })?;
        $store.pages.lock().expect("page cache lock").changed($article.as_str());
        Ok(value)
    }};
}

#[async_trait]
impl CommentStore for PgStore {
    async fn comments(&self, query: &CommentQuery) -> anyhow::Result<Result<CommentPage, CommentError>> {
        let mut conn = self.pool.acquire().await?;
        if query.cursor.is_some() || query.root.is_some() {
            return page(&mut conn, query).await;
        }
        // First pages are most of the traffic: their shared part from this node's cache, then what is
        // particular to this reader (as on SQLite; see `PageCache`).
        let key = (query.article.as_str().to_owned(), query.sort, query.limit);
        let (generation, cached) = self.pages.lock().expect("page cache lock").get(&key);
        let cached = match cached {
            Some(cached) => cached,
            None => {
                let shared = CommentQuery { reader: None, ..query.clone() };
                let page = match page(&mut conn, &shared).await? {
                    Ok(page) => page,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                let (active, pending) = active_readers(&mut conn, &query.article).await?;
                let cached = Arc::new(CachedPage { page, active, pending });
                self.pages.lock().expect("page cache lock").put(key, generation, cached.clone());
                cached
            }
        };
        // Readers waiting for a comment's approval see it where it will appear: their page is their own.
        if query.reader.as_ref().is_some_and(|r| cached.pending.contains(&r.0)) {
            return page(&mut conn, query).await;
        }
        // Most readers never wrote or liked anything on the article: the shared page is already theirs.
        let Some(reader) = query.reader.as_ref().filter(|r| cached.active.contains(&r.0)) else {
            return Ok(Ok(cached.page.clone()));
        };
        let ids: Vec<i64> = cached.page.comments.iter().map(|c| c.id.0).collect();
        let (liked, mine) = overlay(&mut conn, reader, &ids).await?;
        Ok(Ok(cached.for_reader(&liked, &mine)))
    }

    async fn comment_counts(&self, articles: &[ArticleId]) -> anyhow::Result<BTreeMap<String, u64>> {
        let keys: Vec<&str> = articles.iter().map(ArticleId::as_str).collect();
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT key, comment_count FROM articles WHERE key = ANY($1)")
            .bind(&keys)
            .fetch_all(&self.pool)
            .await?;
        let mut out: BTreeMap<String, u64> = keys.iter().map(|k| ((*k).to_owned(), 0)).collect();
        out.extend(rows.into_iter().map(|(k, n)| (k, n.max(0) as u64)));
        Ok(out)
    }

    async fn post_comment(&self, cmd: NewCommentCmd) -> anyhow::Result<Result<Comment, CommentError>> {
        let now = crate::unix_now();
        thread_write!(self, cmd.article, conn => post(conn, &cmd, now))
    }

    async fn edit_comment(&self, cmd: EditCommentCmd) -> anyhow::Result<Result<Comment, CommentError>> {
        let now = crate::unix_now();
        thread_write!(self, cmd.article, conn => edit(conn, &cmd, now))
    }

    async fn delete_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
    ) -> anyhow::Result<Result<(), CommentError>> {
        let now = crate::unix_now();
        thread_write!(self, article, conn => async {
            if let Err(e) = own_and_open(&mut *conn, &article, id, &reader, now).await? {
                return anyhow::Ok(Err(e));
            }
            remove(&mut *conn, id, now).await?;
            anyhow::Ok(Ok(()))
        })
    }

    async fn like_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
        like: bool,
    ) -> anyhow::Result<Result<LikeView, CommentError>> {
        thread_write!(self, article, conn => set_like(conn, &article, id, &reader, like))
    }

    async fn flag_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
    ) -> anyhow::Result<Result<(), CommentError>> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => flag(conn, &article, id, &reader, now))
    }
}

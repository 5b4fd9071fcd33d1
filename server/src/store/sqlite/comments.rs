//! Comment SQL for SQLite: pages of a thread (one statement each) and the writes the writer applies.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use otklik_api::limits::{REPLY_DEPTH_MAX, REPLY_PREVIEW};
use otklik_api::{ArticleId, Comment, CommentId, CommentPage, CommentSort, LikeView, ModerationMode};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row as _, SqliteConnection, SqlitePool};

use super::outbox;
use super::writer::Ctx;
use super::writer::Touches;
use super::{ReadOp, SqliteStore};
use crate::rules::reader::ReaderHash;
use crate::store::page_cache::{CachedPage, ReaderSet};
use crate::store::{
    CommentError, CommentQuery, CommentRow, Cursor, EditCommentCmd, NewCommentCmd, ThreadRow, arrange_page,
    arrange_replies,
};
use crate::store::{CommentStore, ask};

/// What every comment query returns: ONE row holding all comments as a JSON array of arrays (in
/// [`RawComment`] order), and the article's visible total. sqlx hands each result row across threads
/// separately, so one row instead of eighty is what makes a page cheap. `?2` is the requesting reader.
macro_rules! comment_columns {
    () => {
        "json_group_array(json_array(c.id, c.parent_id, c.depth,
           CASE WHEN p.status = 'hidden' OR (p.status = 'pending' AND p.reader IS NOT ?2) THEN '' ELSE p.author END,
           CASE WHEN c.status = 'hidden' OR (c.status = 'pending' AND c.reader IS NOT ?2) THEN '' ELSE c.author END,
           CASE WHEN c.status = 'hidden' OR (c.status = 'pending' AND c.reader IS NOT ?2) THEN '' ELSE c.text END,
           c.created_at, c.edited_at,
           c.deleted_at IS NOT NULL OR c.status = 'hidden' OR (c.status = 'pending' AND c.reader IS NOT ?2),
           c.likes, l.reader IS NOT NULL, c.reader = ?2, c.replies, c.root_id, c.path,
           c.status = 'pending' AND coalesce(c.reader = ?2, 0))),
         (SELECT comment_count FROM articles WHERE key = ?1),
         (SELECT closed FROM articles WHERE key = ?1)"
    };
}

macro_rules! comment_joins {
    () => {
        "LEFT JOIN comments p ON p.id = c.parent_id
         LEFT JOIN comment_likes l ON l.comment_id = c.id AND l.reader = ?2"
    };
}

/// Who sees comment `c`: everyone if it is visible, only its author (`?2`) while it awaits moderation. A
/// hidden comment, or one sent back for moderation by an edit, that visible replies answer stays for others
/// as a placeholder, like a deleted one (the columns blank its name and text), so that the discussion under
/// it does not go with it. (`replies`, kept on thread roots, counts the whole thread's visible replies;
/// below the root a visible direct answer counts.)
macro_rules! shown_to_reader {
    () => {
        "(c.status = 'visible' OR (c.status = 'pending' AND c.reader = ?2)
          OR (c.status <> 'visible'
              AND (c.replies > 0 OR EXISTS (SELECT 1 FROM comments answer
                                             WHERE answer.parent_id = c.id AND answer.status = 'visible'))))"
    };
}

/// Top-level comments of one page, each with its first replies, for each order. `?3` is the page size
/// plus one (to learn whether there is a next page), `?4`/`?5` the cursor.
macro_rules! page_sql {
    ($condition:literal, $order:literal) => {
        concat!(
            "WITH top AS (
               SELECT id FROM comments c
                WHERE article_id = (SELECT id FROM articles WHERE key = ?1) AND depth = 0 AND ",
            shown_to_reader!(),
            " AND ",
            $condition,
            " ORDER BY ",
            $order,
            " LIMIT ?3),
             shown AS (
               SELECT id FROM top
               UNION ALL
               SELECT id FROM (SELECT c.id, row_number() OVER (PARTITION BY c.root_id ORDER BY c.path) AS n
                                 FROM comments c WHERE c.root_id IN (SELECT id FROM top) AND c.depth > 0
                                  AND ",
            shown_to_reader!(),
            ")
                WHERE n <= ?6)
             SELECT ",
            comment_columns!(),
            " FROM shown CROSS JOIN comments c ON c.id = shown.id ",
            comment_joins!()
        )
    };
}

const PAGE_OLDEST: &str = page_sql!("id > ?4", "id");
const PAGE_NEWEST: &str = page_sql!("id < ?4", "id DESC");
const PAGE_POPULAR: &str = page_sql!("(likes, id) < (?5, ?4)", "likes DESC, id DESC");
const REPLIES: &str = concat!(
    "WITH shown AS (SELECT id FROM comments c
                    WHERE root_id = ?4 AND depth > 0 AND path > ?5 AND ",
    shown_to_reader!(),
    "

                      AND article_id = (SELECT id FROM articles WHERE key = ?1)
                    ORDER BY path LIMIT ?3)
     SELECT ",
    comment_columns!(),
    " FROM shown CROSS JOIN comments c ON c.id = shown.id ",
    comment_joins!()
);

/// One comment as the queries return it: a JSON array in `comment_columns!`'s order, which serde reads
/// into these fields by position.
#[derive(serde::Deserialize)]
struct RawComment {
    id: i64,
    parent: Option<i64>,
    depth: i64,
    /// The parent's author, blank when the parent is not shown to this reader.
    reply_to: Option<String>,
    author: String,
    text: String,
    created: i64,
    edited: Option<i64>,
    /// Deleted, hidden, or awaiting moderation and not this reader's: a placeholder.
    placeholder: i64,
    likes: i64,
    liked: i64,
    /// 1 when it is the requesting reader's (NULL for an anonymous request).
    mine: Option<i64>,
    replies: i64,
    root: i64,
    path: String,
    /// Awaiting moderation, shown to its author only.
    pending: i64,
}

impl From<RawComment> for CommentRow {
    fn from(r: RawComment) -> Self {
        CommentRow {
            id: r.id,
            parent_id: r.parent,
            depth: r.depth,
            reply_to: r.reply_to,
            author: r.author,
            text: r.text,
            created_at: r.created,
            edited_at: r.edited,
            placeholder: r.placeholder != 0,
            likes: r.likes,
            liked: r.liked != 0,
            mine: r.mine == Some(1),
            replies: r.replies,
            root_id: r.root,
            path: r.path,
            pending: r.pending != 0,
        }
    }
}

/// Decodes the one row a comment query returns: the comments, the article's total and whether it is closed.
fn rows_and_total(row: &SqliteRow) -> anyhow::Result<(Vec<ThreadRow>, u64, bool)> {
    let json: String = row.try_get(0)?;
    let raw: Vec<RawComment> = serde_json::from_str(&json)?;
    let total: Option<i64> = row.try_get(1)?;
    let closed: Option<bool> = row.try_get(2)?;
    Ok((
        raw.into_iter().map(|r| ThreadRow::from(CommentRow::from(r))).collect(),
        total.unwrap_or(0).max(0) as u64,
        closed.unwrap_or(false),
    ))
}

/// A page of the thread: top-level comments in the asked order, each followed by its first replies.
pub async fn page(pool: &SqlitePool, q: &CommentQuery) -> anyhow::Result<Result<CommentPage, CommentError>> {
    let reader = q.reader.map(|r| r.0.to_vec());
    let fetch = q.limit as i64 + 1;
    if let Some(root) = q.root {
        let after = match &q.cursor {
            None => String::new(),
            Some(Cursor::Path(p)) => p.clone(),
            Some(_) => return Ok(Err(CommentError::BadCursor)),
        };
        let row = sqlx::query(REPLIES)
            .bind(q.article.as_str())
            .bind(reader)
            .bind(fetch)
            .bind(root.0)
            .bind(after)
            .fetch_one(pool)
            .await?;
        let (rows, total, closed) = rows_and_total(&row)?;
        let (comments, next) = arrange_replies(rows, q.limit);
        return Ok(Ok(CommentPage { comments, next, total, closed, form: None, notify: false }));
    }

    let (sql, id, likes) = match (q.sort, &q.cursor) {
        (CommentSort::Oldest, None) => (PAGE_OLDEST, 0, 0),
        (CommentSort::Oldest, Some(Cursor::Id(id))) => (PAGE_OLDEST, *id, 0),
        (CommentSort::Newest, None) => (PAGE_NEWEST, i64::MAX, 0),
        (CommentSort::Newest, Some(Cursor::Id(id))) => (PAGE_NEWEST, *id, 0),
        (CommentSort::Popular, None) => (PAGE_POPULAR, i64::MAX, i64::MAX),
        (CommentSort::Popular, Some(Cursor::Liked { likes, id })) => (PAGE_POPULAR, *id, *likes),
        _ => return Ok(Err(CommentError::BadCursor)),
    };
    let row = sqlx::query(sql)
        .bind(q.article.as_str())
        .bind(reader)
        .bind(fetch)
        .bind(id)
        .bind(likes)
        .bind(REPLY_PREVIEW as i64)
        .fetch_one(pool)
        .await?;
    let (rows, total, closed) = rows_and_total(&row)?;

    let (comments, next) = arrange_page(rows, q.sort, q.limit);
    Ok(Ok(CommentPage { comments, next, total, closed, form: None, notify: false }))
}

/// For each (reader, comment ids) request: which of the ids the reader likes and which they wrote, the
/// per-reader part of a shared cached page. All waiting requests are answered by one statement.
pub async fn overlays(
    pool: &SqlitePool,
    requests: &[(&ReaderHash, &[i64])],
) -> anyhow::Result<Vec<(Vec<i64>, Vec<i64>)>> {
    // One (request, reader, comment) triple per id: a flat list SQLite walks once, seeking each table by key.
    let mut triples: Vec<(usize, String, i64)> = Vec::new();
    for (i, (reader, ids)) in requests.iter().enumerate() {
        let reader = crate::hex::encode(&reader.0);
        triples.extend(ids.iter().map(|id| (i, reader.clone(), *id)));
    }
    let (liked, mine): (String, String) = sqlx::query_as(
        "WITH req AS MATERIALIZED (
           SELECT j.value ->> 0 AS k, unhex(j.value ->> 1) AS reader, j.value ->> 2 AS id FROM json_each(?1) j)
         SELECT (SELECT json_group_array(json_array(req.k, req.id))
                   FROM req CROSS JOIN comment_likes l ON l.comment_id = req.id AND l.reader = req.reader),
                (SELECT json_group_array(json_array(req.k, req.id))
                   FROM req CROSS JOIN comments c ON c.id = req.id AND c.reader = req.reader AND c.deleted_at IS NULL)",
    )
    .bind(serde_json::to_string(&triples)?)
    .fetch_one(pool)
    .await?;
    let mut out = vec![(Vec::new(), Vec::new()); requests.len()];
    for (i, id) in serde_json::from_str::<Vec<(usize, i64)>>(&liked)? {
        out.get_mut(i).context("overlay row index")?.0.push(id);
    }
    for (i, id) in serde_json::from_str::<Vec<(usize, i64)>>(&mine)? {
        out.get_mut(i).context("overlay row index")?.1.push(id);
    }
    Ok(out)
}

/// Every reader who wrote a visible comment on the article or liked one of its comments, and every reader
/// with a comment awaiting moderation there. One row of JSON rather than a row per reader: sqlx hands rows
/// across threads one at a time.
pub async fn active_readers(pool: &SqlitePool, article: &ArticleId) -> anyhow::Result<(ReaderSet, ReaderSet)> {
    let (active, pending): (String, String) = sqlx::query_as(
        "SELECT (SELECT json_group_array(hex(reader)) FROM (
                   SELECT c.reader FROM comments c
                    WHERE c.article_id = (SELECT id FROM articles WHERE key = ?1) AND c.deleted_at IS NULL
                   UNION
                   SELECT l.reader FROM comment_likes l JOIN comments c ON c.id = l.comment_id
                    WHERE c.article_id = (SELECT id FROM articles WHERE key = ?1))),
                (SELECT json_group_array(DISTINCT hex(reader)) FROM comments
                  WHERE article_id = (SELECT id FROM articles WHERE key = ?1) AND status = 'pending')",
    )
    .bind(article.as_str())
    .fetch_one(pool)
    .await?;
    let set = |json: &str| -> anyhow::Result<ReaderSet> {
        let readers: Vec<String> = serde_json::from_str(json)?;
        Ok(readers.iter().filter_map(|hex| crate::hex::decode16(hex)).collect())
    };
    Ok((set(&active)?, set(&pending)?))
}

/// Visible comment counts for several articles in one query; unknown articles count 0.
pub async fn counts(pool: &SqlitePool, articles: &[ArticleId]) -> anyhow::Result<BTreeMap<String, u64>> {
    let keys = serde_json::to_string(&articles.iter().map(ArticleId::as_str).collect::<Vec<_>>())?;
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT a.key, a.comment_count FROM json_each(?1) j CROSS JOIN articles a ON a.key = j.value")
            .bind(keys)
            .fetch_all(pool)
            .await?;
    let mut out: BTreeMap<String, u64> = articles.iter().map(|a| (a.as_str().to_owned(), 0)).collect();
    out.extend(rows.into_iter().map(|(k, n)| (k, n.max(0) as u64)));
    Ok(out)
}

/// See `CommentStore::thread_heads`.
pub async fn heads(
    pool: &SqlitePool,
    articles: &[ArticleId],
) -> anyhow::Result<BTreeMap<String, (u64, Option<CommentId>)>> {
    let keys = serde_json::to_string(&articles.iter().map(ArticleId::as_str).collect::<Vec<_>>())?;
    let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT a.key, a.comment_count,
                (SELECT max(c.id) FROM comments c
                  WHERE c.article_id = a.id AND c.status = 'visible' AND c.deleted_at IS NULL)
           FROM json_each(?1) j CROSS JOIN articles a ON a.key = j.value",
    )
    .bind(keys)
    .fetch_all(pool)
    .await?;
    let mut out: BTreeMap<String, (u64, Option<CommentId>)> =
        articles.iter().map(|a| (a.as_str().to_owned(), (0, None))).collect();
    out.extend(rows.into_iter().map(|(k, n, newest)| (k, (n.max(0) as u64, newest.map(CommentId)))));
    Ok(out)
}

fn path_segment(id: i64) -> String {
    format!("{id:012}")
}

/// Each article's own moderation mode (if any) and whether it is closed, as the writer last read them.
/// Posts consult it instead of asking SQLite each time (every query is a trip to SQLite's thread, the
/// main cost of a post); the writer forgets it all whenever a moderation write may have changed it.
pub type ArticleModes = std::collections::HashMap<String, (Option<ModerationMode>, bool)>;

/// Articles remembered before the map starts over.
const MODES_MAX: usize = 65_536;

async fn article_mode(
    conn: &mut SqliteConnection,
    modes: &mut ArticleModes,
    article: &ArticleId,
) -> anyhow::Result<(Option<ModerationMode>, bool)> {
    if let Some(known) = modes.get(article.as_str()) {
        return Ok(*known);
    }
    let (mode, closed): (Option<String>, bool) =
        sqlx::query_as("SELECT moderation, closed FROM articles WHERE key = ?1")
            .bind(article.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or((None, false));
    let known = (mode.as_deref().and_then(ModerationMode::parse), closed);
    if modes.len() >= MODES_MAX {
        modes.clear();
    }
    modes.insert(article.as_str().to_owned(), known);
    Ok(known)
}

// The writes below run inside the writer's transaction. Refusals (not found, not yours, too late, closed)
// are answers (`Ok(Err(..))`), not failures: they leave the transaction usable for the rest of the batch.

/// Posts a comment or a reply, taking the writer's next comment id.
pub async fn post(
    conn: &mut SqliteConnection,
    ctx: &mut Ctx,
    post: &NewCommentCmd,
) -> anyhow::Result<Result<Comment, CommentError>> {
    ctx.current(conn).await?;
    let now = ctx.now;
    let (mode, closed) = article_mode(conn, &mut ctx.modes, &post.article).await?;
    if closed {
        return Ok(Err(CommentError::Closed));
    }
    let mode = mode.unwrap_or(post.default_mode);
    let pending = post.hold || mode == ModerationMode::Pre;
    let parent = match post.parent {
        None => None,
        Some(parent) => {
            let row: Option<(i64, i64, String, String, bool)> = sqlx::query_as(
                "SELECT c.root_id, c.depth, c.path, c.author, c.deleted_at IS NOT NULL
                   FROM comments c JOIN articles a ON a.id = c.article_id
                  WHERE c.id = ?1 AND a.key = ?2 AND c.status = 'visible'",
            )
            .bind(parent.0)
            .bind(post.article.as_str())
            .fetch_optional(&mut *conn)
            .await?;
            match row {
                Some((root, depth, path, author, false)) => Some((parent, root, depth, path, author)),
                _ => return Ok(Err(CommentError::ParentNotFound)),
            }
        }
    };
    let id = ctx.next_comment;
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
    // Two texts rather than a condition in SQL: sqlx numbers the unnamed gaps below a `?N` across
    // the statements of one query, so a late high-numbered parameter can go unbound.
    macro_rules! insert {
        ($status:literal) => {
            concat!(
                "INSERT INTO articles (key, url, title, created_at) VALUES (?1, ?2, ?3, ?4)
                   ON CONFLICT (key) DO UPDATE SET url = coalesce(articles.url, excluded.url),
                                                  title = coalesce(articles.title, excluded.title);
                 INSERT INTO comments (id, article_id, parent_id, root_id, depth, path, author, text, reader,
                                       ip_hash, ip_epoch, created_at, status)
                   VALUES (?5, (SELECT id FROM articles WHERE key = ?1), ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                           ?14, ?4, '",
                $status,
                "');"
            )
        };
    }
    const PENDING: &str = insert!("pending");
    // Only visible comments are counted.
    const VISIBLE: &str = concat!(
        insert!("visible"),
        "UPDATE articles SET comment_count = comment_count + 1 WHERE key = ?1;
         UPDATE comments SET replies = replies + 1 WHERE id = ?7 AND ?6 IS NOT NULL;"
    );
    sqlx::query(if pending { PENDING } else { VISIBLE })
        .bind(post.article.as_str())
        .bind(post.page.url.as_deref())
        .bind(post.page.title.as_deref())
        .bind(now)
        .bind(id)
        .bind(parent.as_ref().map(|p| p.0.0))
        .bind(root)
        .bind(depth)
        .bind(&path)
        .bind(&post.author)
        .bind(&post.text)
        .bind(&post.reader.0[..])
        .bind(&post.ip[..])
        .bind(post.ip_epoch)
        .execute(&mut *conn)
        .await?;
    ctx.next_comment += 1;
    let comment = post.posted(CommentId(id), depth, reply_to, pending, now);
    if post.announce.webhook {
        announce(conn, post.article.as_str(), &comment, now).await?;
    }
    if post.announce.mail && pending {
        super::moderator_mail::tell_moderators(conn, crate::store::ModeratorEvent::Pending, id, now).await?;
    }
    if let (Some(parent), false, true) = (post.parent, pending, post.announce.mail) {
        super::mail::tell_reply(conn, id, parent.0, &post.reader, now).await?;
    }
    if let Some(sub) = &post.subscribe {
        super::mail::subscribe(conn, id, &post.reader, sub, now).await?;
    }
    Ok(Ok(comment))
}

/// Replaces the text of a reader's own comment, sending it (back) to the queue where the rules say so.
pub async fn edit(
    conn: &mut SqliteConnection,
    ctx: &mut Ctx,
    edit: &EditCommentCmd,
) -> anyhow::Result<Result<Comment, CommentError>> {
    let now = ctx.now;
    let EditCommentCmd { article, id, reader, text, .. } = edit;
    let (status, reviewed) = match own_and_open(conn, article, *id, reader, now).await? {
        Ok(state) => state,
        Err(e) => return Ok(Err(e)),
    };
    // An edit is new text no moderator has read. It goes (back) to the queue, shown to its author
    // only, where the article is pre-moderated, where it holds a stop word, and where a moderator
    // had approved the old text: otherwise approval would launder whatever is written after it.
    let (mode, _) = article_mode(conn, &mut ctx.modes, article).await?;
    let pre = mode.unwrap_or(edit.default_mode) == ModerationMode::Pre;
    let to_pending = status == "pending" || edit.hold || pre || reviewed;
    let uncounted = to_pending && status == "visible";
    sqlx::query(
        "UPDATE articles SET comment_count = comment_count - 1
          WHERE ?4 AND id = (SELECT article_id FROM comments WHERE id = ?3);
         UPDATE comments SET replies = replies - 1
          WHERE ?4 AND id = (SELECT root_id FROM comments WHERE id = ?3 AND depth > 0);
         UPDATE comments SET text = ?1, edited_at = ?2, status = iif(?5, 'pending', status),
                             reviewed_at = iif(?5, NULL, reviewed_at)
          WHERE id = ?3;",
    )
    .bind(text)
    .bind(now)
    .bind(id.0)
    .bind(uncounted)
    .bind(to_pending)
    .execute(&mut *conn)
    .await?;
    let row =
        sqlx::query(concat!("SELECT ", comment_columns!(), " FROM comments c ", comment_joins!(), " WHERE c.id = ?3"))
            .bind(article.as_str())
            .bind(&reader.0[..])
            .bind(id.0)
            .fetch_one(&mut *conn)
            .await?;
    let (rows, ..) = rows_and_total(&row)?;
    let edited = rows.into_iter().next().context("the edited comment")?;
    if edit.announce.webhook && uncounted {
        announce(conn, article.as_str(), &edited.comment, now).await?;
    }
    if edit.announce.mail && uncounted {
        super::moderator_mail::tell_moderators(conn, crate::store::ModeratorEvent::Pending, id.0, now).await?;
    }
    Ok(Ok(edited.comment))
}

/// Deletes a reader's own comment within the edit window.
pub async fn delete(
    conn: &mut SqliteConnection,
    (article, id, reader): &(ArticleId, CommentId, ReaderHash),
    now: i64,
) -> anyhow::Result<Result<(), CommentError>> {
    if let Err(e) = own_and_open(conn, article, *id, reader, now).await? {
        return Ok(Err(e));
    }
    // With replies it stays as a placeholder (text and name removed); without, it goes entirely.
    remove(conn, *id, now).await?;
    Ok(Ok(()))
}

/// Sets (`like`) or clears a reader's like on a visible comment; answers the comment's likes after it.
pub async fn like(
    conn: &mut SqliteConnection,
    (article, id, reader, like): &(ArticleId, CommentId, ReaderHash, bool),
) -> anyhow::Result<Result<LikeView, CommentError>> {
    let change = if *like {
        "INSERT INTO comment_likes (comment_id, reader)
           SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM comments c JOIN articles a ON a.id = c.article_id
                                        WHERE c.id = ?1 AND a.key = ?3 AND c.deleted_at IS NULL
                                          AND c.status = 'visible')
           ON CONFLICT DO NOTHING;
         UPDATE comments SET likes = likes + changes() WHERE id = ?1;"
    } else {
        "DELETE FROM comment_likes WHERE comment_id = ?1 AND reader = ?2;
         UPDATE comments SET likes = likes - changes() WHERE id = ?1;"
    };
    sqlx::query(change).bind(id.0).bind(&reader.0[..]).bind(article.as_str()).execute(&mut *conn).await?;
    let row: Option<(i64, bool)> = sqlx::query_as(
        "SELECT c.likes, EXISTS (SELECT 1 FROM comment_likes WHERE comment_id = ?1 AND reader = ?2)
           FROM comments c JOIN articles a ON a.id = c.article_id
          WHERE c.id = ?1 AND a.key = ?3 AND c.deleted_at IS NULL",
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

/// Deletes a comment: with replies it stays as a placeholder (text and name removed); without, it goes
/// entirely, and its id is remembered so that it is never handed out again. The article's count and its
/// thread's reply count drop only if it was counted (visible).
pub async fn remove(conn: &mut SqliteConnection, id: CommentId, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE articles SET comment_count = comment_count - 1
          WHERE id = (SELECT article_id FROM comments WHERE id = ?1 AND status = 'visible' AND deleted_at IS NULL);
         UPDATE comments SET replies = replies - 1
          WHERE id = (SELECT root_id FROM comments
                       WHERE id = ?1 AND depth > 0 AND deleted_at IS NULL AND status = 'visible');
         UPDATE comments SET deleted_at = ?2, text = '', author = ''
          WHERE id = ?1 AND EXISTS (SELECT 1 FROM comments WHERE parent_id = ?1);
         DELETE FROM comment_likes WHERE comment_id = ?1
           AND NOT EXISTS (SELECT 1 FROM comments WHERE parent_id = ?1);
         DELETE FROM comment_flags WHERE comment_id = ?1
           AND NOT EXISTS (SELECT 1 FROM comments WHERE parent_id = ?1);
         INSERT INTO settings (name, value) SELECT 'comment_id_high', ?1 FROM comments WHERE id = ?1 AND deleted_at IS NULL
           ON CONFLICT (name) DO UPDATE SET value = max(CAST(value AS INTEGER), excluded.value);
         DELETE FROM comments WHERE id = ?1 AND deleted_at IS NULL;",
    )
    .bind(id.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Announces a comment a moderator has just approved: readers see it only now, so receivers that wait for
/// `comment.created` hear of it only now too.
pub async fn announce_approved(
    conn: &mut SqliteConnection,
    article: &str,
    id: CommentId,
    now: i64,
) -> anyhow::Result<()> {
    let row =
        sqlx::query(concat!("SELECT ", comment_columns!(), " FROM comments c ", comment_joins!(), " WHERE c.id = ?3"))
            .bind(article)
            .bind(None::<Vec<u8>>)
            .bind(id.0)
            .fetch_one(&mut *conn)
            .await?;
    let (rows, _, _) = rows_and_total(&row)?;
    match rows.into_iter().next() {
        Some(row) => announce(conn, article, &row.comment, now).await,
        None => Ok(()),
    }
}

/// Queues the `comment.created` webhook delivery, in the same transaction as the comment.
async fn announce(conn: &mut SqliteConnection, article: &str, comment: &Comment, now: i64) -> anyhow::Result<()> {
    let (url, title): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT url, title FROM articles WHERE key = ?1").bind(article).fetch_one(&mut *conn).await?;
    let (event, payload) = crate::store::comment_event(article, url, title, comment);
    outbox::enqueue(&mut *conn, event, &payload, now).await
}

/// Whether `reader` wrote comment `id` on `article`, it is neither deleted nor hidden (a hidden comment is
/// the moderators' to restore as they saw it), and the edit window is open. Answers the comment's status
/// and whether a moderator has acted on it.
async fn own_and_open(
    conn: &mut SqliteConnection,
    article: &ArticleId,
    id: CommentId,
    reader: &ReaderHash,
    now: i64,
) -> anyhow::Result<Result<(String, bool), CommentError>> {
    let row: Option<(Vec<u8>, i64, String, bool)> = sqlx::query_as(
        "SELECT c.reader, c.created_at, c.status, c.reviewed_at IS NOT NULL
           FROM comments c JOIN articles a ON a.id = c.article_id
          WHERE c.id = ?1 AND a.key = ?2 AND c.deleted_at IS NULL AND c.status <> 'hidden'",
    )
    .bind(id.0)
    .bind(article.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(crate::store::own_and_open(row, reader, now))
}

#[async_trait]
impl CommentStore for SqliteStore {
    async fn comments(&self, query: &CommentQuery) -> anyhow::Result<Result<CommentPage, CommentError>> {
        if query.cursor.is_some() || query.root.is_some() {
            return page(&self.read, query).await;
        }
        // First pages are most of the traffic: serve their shared part from the cache, then add what is
        // particular to this reader.
        let key = (query.article.as_str().to_owned(), query.sort, query.limit);
        let (generation, cached) = self.pages.lock().expect("page cache lock").get(&key);
        crate::metrics::page_cache(cached.is_some());
        let cached = match cached {
            Some(cached) => cached,
            None => {
                let shared = CommentQuery { reader: None, ..query.clone() };
                let page = match page(&self.read, &shared).await? {
                    Ok(page) => page,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                let (active, pending) = active_readers(&self.read, &query.article).await?;
                let cached = Arc::new(CachedPage { page, active, pending });
                self.pages.lock().expect("page cache lock").put(key, generation, cached.clone());
                cached
            }
        };
        // Readers waiting for a comment's approval see it where it will appear: their page is their own.
        if query.reader.as_ref().is_some_and(|r| cached.pending.contains(&r.0)) {
            return page(&self.read, query).await;
        }
        // Most readers never wrote or liked anything on the article: the shared page is already theirs.
        let Some(reader) = query.reader.as_ref().filter(|r| cached.active.contains(&r.0)) else {
            return Ok(Ok(cached.page.clone()));
        };
        let ids: Vec<i64> = cached.page.comments.iter().map(|c| c.id.0).collect();
        let (liked, mine) = ask(&self.reads, |reply| ReadOp::Overlay { reader: *reader, ids, reply }).await?;
        Ok(Ok(cached.for_reader(&liked, &mine)))
    }

    async fn comment_counts(&self, articles: &[ArticleId]) -> anyhow::Result<std::collections::BTreeMap<String, u64>> {
        counts(&self.read, articles).await
    }

    async fn thread_heads(
        &self,
        articles: &[ArticleId],
    ) -> anyhow::Result<std::collections::BTreeMap<String, (u64, Option<CommentId>)>> {
        heads(&self.read, articles).await
    }

    async fn post_comment(&self, post: NewCommentCmd) -> anyhow::Result<Result<Comment, CommentError>> {
        self.write("comment", Touches::Thread(post.article.clone()), post, |post, conn, ctx| {
            Box::pin(self::post(conn, ctx, post))
        })
        .await
    }

    async fn edit_comment(&self, edit: EditCommentCmd) -> anyhow::Result<Result<Comment, CommentError>> {
        self.write("edit", Touches::Thread(edit.article.clone()), edit, |edit, conn, ctx| {
            Box::pin(self::edit(conn, ctx, edit))
        })
        .await
    }

    async fn delete_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
    ) -> anyhow::Result<Result<(), CommentError>> {
        let key = article.as_str().to_owned();
        let deleted = self
            .write("deletion", Touches::Thread(article.clone()), (article, id, reader), |data, conn, ctx| {
                Box::pin(delete(conn, data, ctx.now))
            })
            .await?;
        if deleted.is_ok() {
            self.removed(key, id);
        }
        Ok(deleted)
    }

    async fn like_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
        like: bool,
    ) -> anyhow::Result<Result<LikeView, CommentError>> {
        self.write("like", Touches::Thread(article.clone()), (article, id, reader, like), |data, conn, _| {
            Box::pin(self::like(conn, data))
        })
        .await
    }

    async fn flag_comment(
        &self,
        article: ArticleId,
        id: CommentId,
        reader: ReaderHash,
        announce: crate::store::Announce,
    ) -> anyhow::Result<Result<(), CommentError>> {
        let job = (article, id, reader, announce.mail);
        self.write("flag", Touches::Nothing, job, |(article, id, reader, mail), conn, ctx| {
            Box::pin(super::moderation::flag(conn, article.as_str(), *id, reader, *mail, ctx.now))
        })
        .await
    }
}

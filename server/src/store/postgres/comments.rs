//! Comment threads on PostgreSQL: pages of a thread (one statement each) and readers' writes.
//!
//! Counts (the article's visible comments, a thread's replies, a comment's likes and flags) move by
//! relative updates under their row's lock, so they stay exact with writes arriving at several nodes.
//! Ids come from a sequence, so a reply's thread path, which embeds its own id, is known before the insert.

use std::collections::BTreeMap;

use anyhow::Context as _;
use async_trait::async_trait;
use otklik_api::limits::{REPLY_DEPTH_MAX, REPLY_PREVIEW};
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
        return Ok(Ok(CommentPage { comments, next, total, closed, form: None, notify: false }));
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
    Ok(Ok(CommentPage { comments, next, total, closed, form: None, notify: false }))
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

/// A post accepted in a batch: its id, place in its thread, and whether it waits for moderation.
struct Placed {
    id: i64,
    article: i64,
    parent: Option<i64>,
    root: i64,
    depth: i64,
    path: String,
    reply_to: Option<String>,
    pending: bool,
}

/// The posts batcher's `Apply`: new comments, set-based. Each article is read (or made) once, the parents
/// in one query, the ids in one call of the sequence, the rows in one insert; each article's count and
/// each thread's reply count move once for the whole batch (their rows are the hot ones), in key order.
/// Threads that changed are announced to every node.
pub(super) fn post_batch<'c>(
    conn: &'c mut PgConnection,
    posts: &'c [NewCommentCmd],
    now: i64,
) -> crate::store::BoxFuture<'c, anyhow::Result<Vec<Result<Comment, CommentError>>>> {
    Box::pin(async move {
        let mut keys: Vec<&str> = posts.iter().map(|p| p.article.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut articles = BTreeMap::new();
        for key in keys {
            // The URL and title from the first of its posts whose page gave them.
            let mine = || posts.iter().filter(|p| p.article.as_str() == key);
            let page = mine().find(|p| p.page.url.is_some() || p.page.title.is_some()).or_else(|| mine().next());
            articles.insert(key, super::article(conn, key, page.map(|p| &p.page), now).await?);
        }

        let asked: Vec<i64> = posts.iter().filter_map(|p| p.parent.map(|id| id.0)).collect();
        let parents: BTreeMap<i64, (i64, i64, i64, String, String)> = if asked.is_empty() {
            BTreeMap::new()
        } else {
            sqlx::query_as::<_, (i64, i64, i64, i64, String, String)>(
                "SELECT id, article_id, root_id, depth, path, author FROM comments
                  WHERE id = ANY($1) AND status = 'visible' AND deleted_at IS NULL",
            )
            .bind(&asked)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id, article, root, depth, path, author)| (id, (article, root, depth, path, author)))
            .collect()
        };

        // Refusals first, then ids for the rest, in the order the posts came.
        let mut placed: Vec<Result<Placed, CommentError>> = Vec::with_capacity(posts.len());
        for post in posts {
            let article = &articles[post.article.as_str()];
            if article.closed {
                placed.push(Err(CommentError::Closed));
                continue;
            }
            let parent = match post.parent {
                None => None,
                Some(id) => match parents.get(&id.0).filter(|p| p.0 == article.id) {
                    Some(parent) => Some((id.0, parent)),
                    None => {
                        placed.push(Err(CommentError::ParentNotFound));
                        continue;
                    }
                },
            };
            let mode = article.moderation.as_deref().and_then(ModerationMode::parse).unwrap_or(post.default_mode);
            let pending = post.hold || mode == ModerationMode::Pre;
            let (root, depth, path, reply_to) = match parent {
                // Made whole once the id is known.
                None => (0, 0, String::new(), None),
                Some((_, (_, root, depth, path, author))) => {
                    // At the deepest level a reply goes beside the comment it answers (after it, as it is
                    // newer), still naming it as its parent: the path, and every key and cursor made of it,
                    // stay bounded.
                    let (depth, above) = if *depth >= i64::from(REPLY_DEPTH_MAX) {
                        (*depth, path.rsplit_once('/').map_or(path.as_str(), |(above, _)| above))
                    } else {
                        (depth + 1, path.as_str())
                    };
                    (*root, depth, above.to_owned(), Some(author.clone()))
                }
            };
            let parent = parent.map(|(id, _)| id);
            placed.push(Ok(Placed { id: 0, article: article.id, parent, root, depth, path, reply_to, pending }));
        }
        let wanted = placed.iter().filter(|p| p.is_ok()).count() as i64;
        if wanted > 0 {
            let mut ids: Vec<i64> = sqlx::query_scalar("SELECT nextval('comments_id_seq') FROM generate_series(1, $1)")
                .bind(wanted)
                .fetch_all(&mut *conn)
                .await?;
            ids.sort_unstable();
            for (p, id) in placed.iter_mut().filter_map(|p| p.as_mut().ok()).zip(ids) {
                p.id = id;
                if p.parent.is_none() {
                    p.root = id;
                    p.path = path_segment(id);
                } else {
                    p.path = format!("{}/{}", p.path, path_segment(id));
                }
            }
        }

        let mut rows = Rows::default();
        let (mut counted, mut replies) = (BTreeMap::<i64, i64>::new(), BTreeMap::<i64, i64>::new());
        for (post, p) in posts.iter().zip(&placed).filter_map(|(post, p)| Some((post, p.as_ref().ok()?))) {
            rows.push(post, p);
            // Only visible comments are counted.
            if !p.pending {
                *counted.entry(p.article).or_default() += 1;
                if p.parent.is_some() {
                    *replies.entry(p.root).or_default() += 1;
                }
            }
        }
        if !rows.id.is_empty() {
            rows.insert(conn, now).await?;
        }
        // Each row locked in key order (the lateral lock is taken row by row, as the sorted input comes).
        macro_rules! add_to {
            ($table:literal, $column:literal) => {
                concat!(
                    "UPDATE ",
                    $table,
                    " t SET ",
                    $column,
                    " = t.",
                    $column,
                    " + w.n
                       FROM unnest($1::bigint[], $2::bigint[]) AS w (id, n)
                       JOIN LATERAL (SELECT id FROM ",
                    $table,
                    " WHERE id = w.id FOR NO KEY UPDATE) l ON true
                      WHERE t.id = l.id"
                )
            };
        }
        for (sql, deltas) in
            [(add_to!("articles", "comment_count"), &counted), (add_to!("comments", "replies"), &replies)]
        {
            if deltas.is_empty() {
                continue;
            }
            let (ids, n): (Vec<i64>, Vec<i64>) = deltas.iter().map(|(id, n)| (*id, *n)).unzip();
            sqlx::query(sql).bind(ids).bind(n).execute(&mut *conn).await?;
        }

        let mut answers = Vec::with_capacity(posts.len());
        let mut changed: Vec<&str> = Vec::new();
        for (post, p) in posts.iter().zip(placed) {
            let p = match p {
                Ok(p) => p,
                Err(refusal) => {
                    answers.push(Err(refusal));
                    continue;
                }
            };
            let comment = post.posted(CommentId(p.id), p.depth, p.reply_to, p.pending, now);
            if post.announce.webhook {
                announce(conn, post.article.as_str(), &comment, now).await?;
            }
            if post.announce.mail && comment.pending {
                super::moderator_mail::tell_moderators(conn, crate::store::ModeratorEvent::Pending, comment.id.0, now)
                    .await?;
            }
            if let (Some(parent), false, true) = (post.parent, comment.pending, post.announce.mail) {
                super::mail::tell_reply(conn, comment.id.0, parent.0, &post.reader, now).await?;
            }
            if let Some(sub) = &post.subscribe {
                super::mail::subscribe(conn, comment.id.0, &post.reader, sub, now).await?;
            }
            if !changed.contains(&post.article.as_str()) {
                changed.push(post.article.as_str());
            }
            answers.push(Ok(comment));
        }
        for article in changed {
            super::thread_changed(conn, Some(article)).await?;
        }
        Ok(answers)
    })
}

/// A batch's new comment rows, column by column, for one `INSERT … SELECT FROM unnest(…)`.
#[derive(Default)]
struct Rows {
    id: Vec<i64>,
    article: Vec<i64>,
    parent: Vec<Option<i64>>,
    root: Vec<i64>,
    depth: Vec<i64>,
    path: Vec<String>,
    author: Vec<String>,
    text: Vec<String>,
    reader: Vec<Vec<u8>>,
    ip: Vec<Vec<u8>>,
    ip_epoch: Vec<i64>,
    status: Vec<&'static str>,
}

impl Rows {
    fn push(&mut self, post: &NewCommentCmd, p: &Placed) {
        self.id.push(p.id);
        self.article.push(p.article);
        self.parent.push(p.parent);
        self.root.push(p.root);
        self.depth.push(p.depth);
        self.path.push(p.path.clone());
        self.author.push(post.author.clone());
        self.text.push(post.text.clone());
        self.reader.push(post.reader.0.to_vec());
        self.ip.push(post.ip.to_vec());
        self.ip_epoch.push(post.ip_epoch);
        self.status.push(if p.pending { "pending" } else { "visible" });
    }

    async fn insert(self, conn: &mut PgConnection, now: i64) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO comments (id, article_id, parent_id, root_id, depth, path, author, text, reader, ip_hash,
                                   ip_epoch, status, created_at)
               SELECT *, $13 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                                         $6::text[], $7::text[], $8::text[], $9::bytea[], $10::bytea[],
                                         $11::bigint[], $12::text[])",
        )
        .bind(self.id)
        .bind(self.article)
        .bind(self.parent)
        .bind(self.root)
        .bind(self.depth)
        .bind(self.path)
        .bind(self.author)
        .bind(self.text)
        .bind(self.reader)
        .bind(self.ip)
        .bind(self.ip_epoch)
        .bind(self.status)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
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
    if edit.announce.webhook && uncounted {
        announce(conn, article.as_str(), &edited, now).await?;
    }
    if edit.announce.mail && uncounted {
        super::moderator_mail::tell_moderators(conn, crate::store::ModeratorEvent::Pending, id.0, now).await?;
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
    mail: bool,
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
        if mail {
            super::moderator_mail::tell_moderators(conn, crate::store::ModeratorEvent::Flag, id.0, now).await?;
        }
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
        $store.pages().changed($article.as_str());
        Ok(value)
    }};
}

#[async_trait]
impl CommentStore for PgStore {
    async fn comments(&self, query: &CommentQuery) -> anyhow::Result<Result<CommentPage, CommentError>> {
        if query.cursor.is_some() || query.root.is_some() {
            return page(&mut *self.pool.acquire().await?, query).await;
        }
        // First pages are most of the traffic: their shared part from this node's cache, then what is
        // particular to this reader (as on SQLite; see `PageCache`). Most are answered without a connection.
        let key = (query.article.as_str().to_owned(), query.sort, query.limit);
        let hit = self.pages().get(&key).1;
        crate::metrics::page_cache(hit.is_some());
        let cached = match hit {
            Some(cached) => cached,
            None => {
                let turn = self.pages().turn(&key);
                let read = async {
                    let _mine = turn.lock().await;
                    let (generation, cached) = self.pages().get(&key);
                    if let Some(cached) = cached {
                        return anyhow::Ok(Ok(cached));
                    }
                    let mut conn = self.pool.acquire().await?;
                    let shared = CommentQuery { reader: None, ..query.clone() };
                    let page = match page(&mut conn, &shared).await? {
                        Ok(page) => page,
                        Err(refusal) => return Ok(Err(refusal)),
                    };
                    let (active, pending) = active_readers(&mut conn, &query.article).await?;
                    let cached = Arc::new(CachedPage { page, active, pending });
                    self.pages().put(key.clone(), generation, cached.clone());
                    Ok(Ok(cached))
                }
                .await;
                self.pages().done(&key, turn);
                match read? {
                    Ok(cached) => cached,
                    Err(refusal) => return Ok(Err(refusal)),
                }
            }
        };
        // Readers waiting for a comment's approval see it where it will appear: their page is their own.
        if query.reader.as_ref().is_some_and(|r| cached.pending.contains(&r.0)) {
            return page(&mut *self.pool.acquire().await?, query).await;
        }
        // Most readers never wrote or liked anything on the article: the shared page is already theirs.
        let Some(reader) = query.reader.as_ref().filter(|r| cached.active.contains(&r.0)) else {
            return Ok(Ok(cached.page.clone()));
        };
        let ids: Vec<i64> = cached.page.comments.iter().map(|c| c.id.0).collect();
        let (liked, mine) = overlay(&mut *self.pool.acquire().await?, reader, &ids).await?;
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

    async fn thread_heads(&self, articles: &[ArticleId]) -> anyhow::Result<BTreeMap<String, (u64, Option<CommentId>)>> {
        let keys: Vec<&str> = articles.iter().map(ArticleId::as_str).collect();
        let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT a.key, a.comment_count,
                    (SELECT max(c.id) FROM comments c
                      WHERE c.article_id = a.id AND c.status = 'visible' AND c.deleted_at IS NULL)
               FROM articles a WHERE a.key = ANY($1)",
        )
        .bind(&keys)
        .fetch_all(&self.pool)
        .await?;
        let mut out: BTreeMap<String, (u64, Option<CommentId>)> =
            keys.iter().map(|k| ((*k).to_owned(), (0, None))).collect();
        out.extend(rows.into_iter().map(|(k, n, newest)| (k, (n.max(0) as u64, newest.map(CommentId)))));
        Ok(out)
    }

    async fn post_comment(&self, cmd: NewCommentCmd) -> anyhow::Result<Result<Comment, CommentError>> {
        let article = cmd.article.clone();
        let posted = self.posts.write(cmd).await?;
        self.pages().changed(article.as_str());
        Ok(posted)
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
            super::announce(&mut *conn, crate::store::Change::Removed(article.as_str().to_owned(), id)).await?;
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
        announce: crate::store::Announce,
    ) -> anyhow::Result<Result<(), CommentError>> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => flag(conn, &article, id, &reader, announce.mail, now))
    }
}

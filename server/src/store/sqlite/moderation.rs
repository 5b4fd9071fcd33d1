//! Moderation SQL for SQLite: the comment queue and its actions, flags, bans,
//! article settings, the audit log and the IP-hash purge. Writes run inside the writer's transaction, so
//! each action and its audit line commit together or not at all.

use async_trait::async_trait;
use otklik_api::{
    ArticleId, ArticleSettings, AuditEntry, AuditPage, BanKind, CommentId, CommentStatus, ModerationAction,
    ModerationMode, Queue, QueueItem, QueuePage,
};
use sqlx::{SqliteConnection, SqlitePool};

use super::SqliteStore;
use super::writer::Touches;
use crate::rules::reader::ReaderHash;
use crate::store::ModerationStore;
use crate::store::{ArticleRow, BanTarget, CommentError, ModError, Moderated, NewBanCmd, QueueRow, StoredBan};

/// Appends a line to the audit log.
pub async fn record(
    conn: &mut SqliteConnection,
    who: &str,
    action: &str,
    target: &str,
    detail: &str,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO audit (at, who, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind(now)
        .bind(who)
        .bind(action)
        .bind(target)
        .bind(detail)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The queue's columns, named as [`QueueRow`]'s fields.
macro_rules! queue_sql {
    ($condition:literal) => {
        concat!(
            "SELECT c.id, a.key AS article, a.url AS article_url, a.title AS article_title, c.parent_id,
                    c.author, c.text, c.created_at, c.edited_at, c.status, c.flags,
                    c.reviewed_at IS NULL AS unreviewed, c.ip_hash IS NOT NULL AS ip_known
               FROM comments c JOIN articles a ON a.id = c.article_id
              WHERE c.deleted_at IS NULL AND c.id < ?1 AND ",
            $condition,
            " ORDER BY c.id DESC LIMIT ?2"
        )
    };
}

/// A page of a queue, newest first, older than `before`.
pub async fn queue(
    pool: &SqlitePool,
    which: Queue,
    before: Option<CommentId>,
    limit: usize,
) -> anyhow::Result<QueuePage> {
    // SQLite uses a partial index only when the query repeats a term of the index's WHERE clause
    // word for word: hence the redundant-looking terms. The queues of unreviewed comments walk the
    // primary key down from the newest, where unreviewed comments are.
    let sql = match which {
        Queue::Attention => queue_sql!("(c.reviewed_at IS NULL OR c.flags > 0)"),
        Queue::New => queue_sql!("c.reviewed_at IS NULL AND c.status = 'visible'"),
        Queue::Pending => queue_sql!("c.status <> 'visible' AND c.status = 'pending'"),
        Queue::Flagged => queue_sql!("c.flags > 0"),
        Queue::Hidden => queue_sql!("c.status <> 'visible' AND c.status = 'hidden'"),
        Queue::All => queue_sql!("true"),
    };
    let mut rows: Vec<QueueRow> =
        sqlx::query_as(sql).bind(before.map_or(i64::MAX, |b| b.0)).bind(limit as i64 + 1).fetch_all(pool).await?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        CommentId(rows[limit - 1].id)
    });
    Ok(QueuePage { comments: rows.into_iter().map(QueueItem::from).collect(), next })
}

async fn queue_item(conn: &mut SqliteConnection, id: CommentId) -> anyhow::Result<Option<QueueItem>> {
    let row: Option<QueueRow> =
        sqlx::query_as(queue_sql!("c.id = ?3")).bind(i64::MAX).bind(1).bind(id.0).fetch_optional(conn).await?;
    Ok(row.map(QueueItem::from))
}

/// Applies a moderator's action to a comment and records it; with `announce`, an approved pending comment
/// goes out as `comment.created`. `Ok(None)` after a delete.
pub async fn moderate(
    conn: &mut SqliteConnection,
    id: CommentId,
    action: ModerationAction,
    who: &str,
    announce: crate::store::Announce,
    now: i64,
) -> anyhow::Result<Result<Moderated, ModError>> {
    let Some(before) = queue_item(conn, id).await? else {
        return Ok(Err(ModError::NotFound));
    };
    let snippet: String = before.text.chars().take(120).collect();
    let detail = format!("{} on {}: {snippet}", before.author, before.article);
    record(conn, who, &format!("comment.{}", action.as_str()), &format!("comment {id}"), &detail, now).await?;
    let status = match action {
        ModerationAction::Delete => {
            super::comments::remove(conn, id, now).await?;
            return Ok(Ok(Moderated { article: before.article, item: None }));
        }
        ModerationAction::Approve | ModerationAction::Restore => CommentStatus::Visible,
        ModerationAction::Hide => CommentStatus::Hidden,
    };
    // Only visible comments are counted: moving in or out of `visible` moves the article's count and
    // its thread's reply count with it.
    let delta = i64::from(status == CommentStatus::Visible) - i64::from(before.status == CommentStatus::Visible);
    sqlx::query(
        "UPDATE articles SET comment_count = comment_count + ?3 WHERE id = (SELECT article_id FROM comments WHERE id = ?1);
         UPDATE comments SET replies = replies + ?3
          WHERE ?3 <> 0 AND id = (SELECT root_id FROM comments WHERE id = ?1 AND depth > 0);
         UPDATE comments SET status = ?2, reviewed_at = ?4, flags = 0 WHERE id = ?1;",
    )
    .bind(id.0)
    .bind(status.as_str())
    .bind(delta)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if before.status == CommentStatus::Pending && status == CommentStatus::Visible {
        if announce.webhook {
            super::comments::announce_approved(conn, &before.article, id, now).await?;
        }
        if announce.mail {
            super::mail::tell_approved(conn, id.0, now).await?;
        }
    }
    Ok(Ok(Moderated { article: before.article, item: queue_item(conn, id).await? }))
}

/// A reader's flag on a visible comment of `article`; flagging twice changes nothing.
pub async fn flag(
    conn: &mut SqliteConnection,
    article: &str,
    id: CommentId,
    reader: &ReaderHash,
    mail: bool,
    now: i64,
) -> anyhow::Result<Result<(), CommentError>> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM comments c JOIN articles a ON a.id = c.article_id
                         WHERE c.id = ?1 AND a.key = ?2 AND c.deleted_at IS NULL AND c.status = 'visible')",
    )
    .bind(id.0)
    .bind(article)
    .fetch_one(&mut *conn)
    .await?;
    if !exists {
        return Ok(Err(CommentError::NotFound));
    }
    let added = sqlx::query(
        "INSERT INTO comment_flags (comment_id, reader, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )
    .bind(id.0)
    .bind(&reader.0[..])
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added > 0 {
        sqlx::query("UPDATE comments SET flags = flags + 1 WHERE id = ?1").bind(id.0).execute(&mut *conn).await?;
        if mail {
            super::moderator_mail::tell_moderators(conn, crate::store::ModeratorEvent::Flag, id.0, now).await?;
        }
    }
    Ok(Ok(()))
}

/// Recent articles with their settings, for the console: those with comments, typo reports, a page or
/// settings.
pub async fn articles(pool: &SqlitePool, limit: usize) -> anyhow::Result<Vec<ArticleRow>> {
    type Raw = (String, Option<String>, Option<String>, i64, i64, Option<String>, bool);
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT a.key, a.url, a.title, a.comment_count,
                (SELECT count(*) FROM comments c WHERE c.article_id = a.id AND c.status = 'pending'),
                a.moderation, a.closed
           FROM articles a
          -- Reactions alone make an article row for any id a client names: such rows are not worth a
          -- moderator's attention, and listing them would let anyone flood this list.
          WHERE a.url IS NOT NULL OR a.title IS NOT NULL OR a.moderation IS NOT NULL OR a.closed
             OR EXISTS (SELECT 1 FROM comments c WHERE c.article_id = a.id AND c.depth = 0)
             OR EXISTS (SELECT 1 FROM typos t WHERE t.article_id = a.id AND t.status = 'new')
          ORDER BY a.id DESC LIMIT ?1",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key, url, title, comments, pending, moderation, closed)| ArticleRow {
            key,
            url,
            title,
            comments: comments.max(0) as u64,
            pending: pending.max(0) as u64,
            settings: ArticleSettings { moderation: moderation.as_deref().and_then(ModerationMode::parse), closed },
        })
        .collect())
}

/// Sets an article's moderation settings (creating the article if it has not been seen yet).
pub async fn set_article(
    conn: &mut SqliteConnection,
    article: &str,
    settings: ArticleSettings,
    who: &str,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO articles (key, created_at, moderation, closed) VALUES (?1, ?2, ?3, ?4)
           ON CONFLICT (key) DO UPDATE SET moderation = excluded.moderation, closed = excluded.closed",
    )
    .bind(article)
    .bind(now)
    .bind(settings.moderation.map(ModerationMode::as_str))
    .bind(settings.closed)
    .execute(&mut *conn)
    .await?;
    let mode = settings.moderation.map_or("default", ModerationMode::as_str);
    let detail = format!("moderation={mode} closed={}", if settings.closed { "yes" } else { "no" });
    record(conn, who, "article.settings", &format!("article {article}"), &detail, now).await
}

/// Replaces an article's URL and title (creating the article if it has not been seen yet), and records it.
pub async fn set_article_page(
    conn: &mut SqliteConnection,
    article: &str,
    page: &otklik_api::PageInfo,
    who: &str,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO articles (key, created_at, url, title) VALUES (?1, ?2, ?3, ?4)
           ON CONFLICT (key) DO UPDATE SET url = excluded.url, title = excluded.title",
    )
    .bind(article)
    .bind(now)
    .bind(page.url.as_deref())
    .bind(page.title.as_deref())
    .execute(&mut *conn)
    .await?;
    let detail = format!("url={} title={}", page.url.as_deref().unwrap_or("-"), page.title.as_deref().unwrap_or("-"));
    record(conn, who, "article.page", &format!("article {article}"), &detail, now).await
}

/// Stores a ban on a comment's reader or IP hash, or on a range, and records it.
pub async fn add_ban(
    conn: &mut SqliteConnection,
    cmd: &NewBanCmd,
    now: i64,
) -> anyhow::Result<Result<StoredBan, ModError>> {
    let (kind, value, epoch) = match &cmd.target {
        BanTarget::Range(range) => (BanKind::Range, Some(range.clone()), None),
        BanTarget::Comment(kind, id) => {
            let column = if *kind == BanKind::Reader { "reader" } else { "ip_hash" };
            let row: Option<(Option<String>, Option<i64>)> = sqlx::query_as(&format!(
                // hex(NULL) is '', not NULL: a purged hash must read as missing.
                "SELECT iif({column} IS NULL, NULL, lower(hex({column}))), ip_epoch
                   FROM comments WHERE id = ?1 AND deleted_at IS NULL"
            ))
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
            match row {
                None => return Ok(Err(ModError::NotFound)),
                Some((None, _)) => return Ok(Err(ModError::IpForgotten)),
                Some((Some(value), epoch)) => (*kind, Some(value), epoch.filter(|_| *kind == BanKind::Ip)),
            }
        }
    };
    let value = value.unwrap_or_default();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO bans (kind, value, until, reason, created_by, created_at, epoch)
              VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         RETURNING id",
    )
    .bind(kind.as_str())
    .bind(&value)
    .bind(cmd.until)
    .bind(&cmd.reason)
    .bind(&cmd.who)
    .bind(now)
    .bind(epoch)
    .fetch_one(&mut *conn)
    .await?;
    let ban = StoredBan::new(id, kind, value, epoch, cmd.until, cmd.reason.clone(), cmd.who.clone(), now);
    let target = match &cmd.target {
        BanTarget::Comment(_, comment) => format!("{} {} (comment {comment})", kind.as_str(), ban.ban.target),
        BanTarget::Range(range) => format!("range {range}"),
    };
    record(conn, &cmd.who, "ban.add", &target, &cmd.reason, now).await?;
    Ok(Ok(ban))
}

/// Bans in force at `now`, newest first.
pub async fn bans(pool: &SqlitePool, now: i64) -> anyhow::Result<Vec<StoredBan>> {
    type Raw = (i64, String, String, Option<i64>, i64, String, String, i64);
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT id, kind, value, epoch, until, reason, created_by, created_at FROM bans
          WHERE lifted_at IS NULL AND until > ?1 ORDER BY id DESC",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind, value, epoch, until, reason, by, created)| {
            Some(StoredBan::new(id, BanKind::parse(&kind)?, value, epoch, until, reason, by, created))
        })
        .collect())
}

/// Lifts a ban in force; `false` if there is none with that id.
pub async fn lift_ban(conn: &mut SqliteConnection, id: i64, who: &str, now: i64) -> anyhow::Result<bool> {
    let lifted = sqlx::query("UPDATE bans SET lifted_at = ?2 WHERE id = ?1 AND lifted_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1;
    if lifted {
        record(conn, who, "ban.lift", &format!("ban {id}"), "", now).await?;
    }
    Ok(lifted)
}

/// A page of the audit log, newest first, with ids below `before`.
pub async fn audit(pool: &SqlitePool, before: Option<i64>, limit: usize) -> anyhow::Result<AuditPage> {
    let mut rows: Vec<(i64, i64, String, String, String, String)> =
        sqlx::query_as("SELECT id, at, who, action, target, detail FROM audit WHERE id < ?1 ORDER BY id DESC LIMIT ?2")
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit as i64 + 1)
            .fetch_all(pool)
            .await?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        rows[limit - 1].0
    });
    let entries = rows
        .into_iter()
        .map(|(id, at, who, action, target, detail)| AuditEntry { id, at, who, action, target, detail })
        .collect();
    Ok(AuditPage { entries, next })
}

/// Forgets the IP hashes of comments and typo reports written before `before` (unix seconds).
///
/// Comment ids grow with time (the writer hands them out as it stores them), so the comments written
/// before `before` are those up to some id, found by bisecting the primary key: no index on every
/// comment's time is kept for an hourly job. Ids already purged are remembered in `settings`, so each
/// run touches only the comments that have aged out since the last. (Typo reports are few: a scan.)
pub async fn purge_ip_hashes(conn: &mut SqliteConnection, before: i64) -> anyhow::Result<u64> {
    let done: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT value FROM settings WHERE name = 'ip_purged_to'").fetch_optional(&mut *conn).await?;
    let done = done.and_then(|v| std::str::from_utf8(&v).ok()?.parse::<i64>().ok()).unwrap_or(0);
    let (mut low, mut high): (i64, i64) =
        sqlx::query_as("SELECT ?1 + 1, coalesce(max(id), 0) FROM comments").bind(done).fetch_one(&mut *conn).await?;
    let mut cut = done;
    while low <= high {
        let mid = low + (high - low) / 2;
        let found: Option<(i64, i64)> =
            sqlx::query_as("SELECT id, created_at FROM comments WHERE id >= ?1 ORDER BY id LIMIT 1")
                .bind(mid)
                .fetch_optional(&mut *conn)
                .await?;
        match found {
            Some((id, at)) if at < before && id <= high => {
                cut = id;
                low = id + 1;
            }
            _ => high = mid - 1,
        }
    }
    let comments = sqlx::query("UPDATE comments SET ip_hash = NULL WHERE id > ?1 AND id <= ?2 AND ip_hash IS NOT NULL")
        .bind(done)
        .bind(cut)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if cut > done {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ('ip_purged_to', CAST(?1 AS BLOB))
               ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(cut.to_string())
        .execute(&mut *conn)
        .await?;
    }
    let typos = sqlx::query("UPDATE typos SET ip_hash = NULL WHERE ip_hash IS NOT NULL AND created_at < ?1")
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(comments + typos)
}

#[async_trait]
impl ModerationStore for SqliteStore {
    async fn queue(&self, queue: Queue, before: Option<CommentId>, limit: usize) -> anyhow::Result<QueuePage> {
        self::queue(&self.read, queue, before, limit).await
    }

    async fn moderate(
        &self,
        id: CommentId,
        action: ModerationAction,
        who: &str,
        announce: crate::store::Announce,
    ) -> anyhow::Result<Result<Moderated, ModError>> {
        let job = (id, action, who.to_owned(), announce);
        let done = self
            .write("moderation", Touches::Threads, job, |(id, action, who, announce), conn, ctx| {
                Box::pin(moderate(conn, *id, *action, who, *announce, ctx.now))
            })
            .await?;
        if let Ok(done) = &done
            && action.removes()
        {
            self.removed(done.article.clone(), id);
        }
        Ok(done)
    }

    async fn articles(&self, limit: usize) -> anyhow::Result<Vec<ArticleRow>> {
        articles(&self.read, limit).await
    }

    async fn set_article(&self, article: ArticleId, settings: ArticleSettings, who: &str) -> anyhow::Result<()> {
        let job = (article, settings, who.to_owned());
        self.write("article settings", Touches::Threads, job, |(article, settings, who), conn, ctx| {
            Box::pin(set_article(conn, article.as_str(), *settings, who, ctx.now))
        })
        .await
    }

    async fn set_article_page(&self, article: ArticleId, page: otklik_api::PageInfo, who: &str) -> anyhow::Result<()> {
        let job = (article, page, who.to_owned());
        self.write("article page", Touches::Nothing, job, |(article, page, who), conn, ctx| {
            Box::pin(set_article_page(conn, article.as_str(), page, who, ctx.now))
        })
        .await
    }

    async fn add_ban(&self, ban: NewBanCmd) -> anyhow::Result<Result<StoredBan, ModError>> {
        self.write("ban", Touches::Nothing, ban, |ban, conn, ctx| Box::pin(add_ban(conn, ban, ctx.now))).await
    }

    async fn bans(&self) -> anyhow::Result<Vec<StoredBan>> {
        bans(&self.read, crate::unix_now()).await
    }

    async fn lift_ban(&self, id: i64, who: &str) -> anyhow::Result<bool> {
        self.write("ban lifting", Touches::Nothing, (id, who.to_owned()), |(id, who), conn, ctx| {
            Box::pin(lift_ban(conn, *id, who, ctx.now))
        })
        .await
    }

    async fn record(&self, who: &str, action: &str, target: &str, detail: &str) -> anyhow::Result<()> {
        let line = [who, action, target, detail].map(str::to_owned);
        self.write("audit line", Touches::Nothing, line, |[who, action, target, detail], conn, ctx| {
            Box::pin(record(conn, who, action, target, detail, ctx.now))
        })
        .await
    }

    async fn audit(&self, before: Option<i64>, limit: usize) -> anyhow::Result<AuditPage> {
        audit(&self.read, before, limit).await
    }
}

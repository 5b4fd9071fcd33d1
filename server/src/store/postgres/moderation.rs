//! Moderation on PostgreSQL: the queues and their actions, flags, articles' settings, bans and the audit
//! log. Each action and its audit line commit together or not at all.

use async_trait::async_trait;
use otklik_api::{
    ArticleId, ArticleSettings, AuditEntry, AuditPage, BanKind, CommentId, CommentStatus, ModerationAction,
    ModerationMode, PageInfo, Queue, QueueItem, QueuePage,
};
use sqlx::PgConnection;

use super::{PgStore, in_tx};
use crate::store::{
    ArticleRow, BanTarget, Change, ModError, Moderated, ModerationStore, NewBanCmd, QueueRow, StoredBan,
};

/// Appends a line to the audit log, in the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    who: &str,
    action: &str,
    target: &str,
    detail: &str,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO audit (at, who, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
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
              WHERE c.deleted_at IS NULL AND c.id < $1 AND ",
            $condition,
            " ORDER BY c.id DESC LIMIT $2"
        )
    };
}

async fn queue_item(conn: &mut PgConnection, id: CommentId) -> anyhow::Result<Option<QueueItem>> {
    let row: Option<QueueRow> = sqlx::query_as(queue_sql!("c.id = $3"))
        .bind(i64::MAX)
        .bind(1_i64)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(QueueItem::from))
}

async fn moderate(
    conn: &mut PgConnection,
    id: CommentId,
    action: ModerationAction,
    who: &str,
    announce: crate::store::Announce,
    now: i64,
) -> anyhow::Result<Result<Moderated, ModError>> {
    // The comment's row is locked first: two moderators acting on it from two nodes move its counts once each.
    let locked: Option<i64> = sqlx::query_scalar("SELECT id FROM comments WHERE id = $1 FOR UPDATE")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    if locked.is_none() {
        return Ok(Err(ModError::NotFound));
    }
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
    if delta != 0 {
        sqlx::query(
            "UPDATE articles SET comment_count = comment_count + $2
              WHERE id = (SELECT article_id FROM comments WHERE id = $1)",
        )
        .bind(id.0)
        .bind(delta)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE comments SET replies = replies + $2
              WHERE id = (SELECT root_id FROM comments WHERE id = $1 AND depth > 0)",
        )
        .bind(id.0)
        .bind(delta)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("UPDATE comments SET status = $2, reviewed_at = $3, flags = 0 WHERE id = $1")
        .bind(id.0)
        .bind(status.as_str())
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

async fn add_ban(conn: &mut PgConnection, cmd: &NewBanCmd, now: i64) -> anyhow::Result<Result<StoredBan, ModError>> {
    let (kind, value, epoch) = match &cmd.target {
        BanTarget::Range(range) => (BanKind::Range, range.clone(), None),
        BanTarget::Comment(kind, id) => {
            let column = if *kind == BanKind::Reader { "reader" } else { "ip_hash" };
            let row: Option<(Option<String>, Option<i64>)> = sqlx::query_as(&format!(
                "SELECT encode({column}, 'hex'), ip_epoch FROM comments WHERE id = $1 AND deleted_at IS NULL"
            ))
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
            match row {
                None => return Ok(Err(ModError::NotFound)),
                Some((None, _)) => return Ok(Err(ModError::IpForgotten)),
                Some((Some(value), epoch)) => (*kind, value, epoch.filter(|_| *kind == BanKind::Ip)),
            }
        }
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO bans (kind, value, until, reason, created_by, created_at, epoch)
              VALUES ($1, $2, $3, $4, $5, $6, $7)
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
    super::announce(conn, Change::Bans).await?;
    Ok(Ok(ban))
}

#[async_trait]
impl ModerationStore for PgStore {
    async fn queue(&self, queue: Queue, before: Option<CommentId>, limit: usize) -> anyhow::Result<QueuePage> {
        let sql = match queue {
            Queue::Attention => queue_sql!("(c.reviewed_at IS NULL OR c.flags > 0)"),
            Queue::New => queue_sql!("c.reviewed_at IS NULL AND c.status = 'visible'"),
            Queue::Pending => queue_sql!("c.status <> 'visible' AND c.status = 'pending'"),
            Queue::Flagged => queue_sql!("c.flags > 0"),
            Queue::Hidden => queue_sql!("c.status <> 'visible' AND c.status = 'hidden'"),
            Queue::All => queue_sql!("true"),
        };
        let mut rows: Vec<QueueRow> = sqlx::query_as(sql)
            .bind(before.map_or(i64::MAX, |b| b.0))
            .bind(limit as i64 + 1)
            .fetch_all(&self.pool)
            .await?;
        let next = (rows.len() > limit).then(|| {
            rows.truncate(limit);
            CommentId(rows[limit - 1].id)
        });
        Ok(QueuePage { comments: rows.into_iter().map(QueueItem::from).collect(), next })
    }

    async fn moderate(
        &self,
        id: CommentId,
        action: ModerationAction,
        who: &str,
        announce: crate::store::Announce,
    ) -> anyhow::Result<Result<Moderated, ModError>> {
        let now = crate::unix_now();
        // Whichever article the comment is on: every thread starts over, on every node.
        let done = in_tx!(self.pool, conn => async {
            let done = moderate(conn, id, action, who, announce, now).await?;
            if let Ok(done) = &done
                && action.removes()
            {
                super::announce(&mut *conn, Change::Removed(done.article.clone(), id)).await?;
            }
            super::thread_changed(conn, None).await?;
            anyhow::Ok(done)
        })?;
        self.pages().changed_all();
        Ok(done)
    }

    async fn articles(&self, limit: usize) -> anyhow::Result<Vec<ArticleRow>> {
        type Raw = (String, Option<String>, Option<String>, i64, i64, Option<String>, bool);
        let rows: Vec<Raw> = sqlx::query_as(
            "SELECT a.key, a.url, a.title, a.comment_count,
                    (SELECT count(*) FROM comments c WHERE c.article_id = a.id AND c.status = 'pending'),
                    a.moderation, a.closed
               FROM articles a
              -- Reactions alone make an article row for any id a client names: not worth a moderator's
              -- attention, and listing them would let anyone flood this list.
              WHERE a.url IS NOT NULL OR a.title IS NOT NULL OR a.moderation IS NOT NULL OR a.closed
                 OR EXISTS (SELECT 1 FROM comments c WHERE c.article_id = a.id AND c.depth = 0)
                 OR EXISTS (SELECT 1 FROM typos t WHERE t.article_id = a.id AND t.status = 'new')
              ORDER BY a.id DESC LIMIT $1",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
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

    async fn set_article(&self, article: ArticleId, settings: ArticleSettings, who: &str) -> anyhow::Result<()> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => async {
                sqlx::query(
                    "INSERT INTO articles (key, created_at, moderation, closed) VALUES ($1, $2, $3, $4)
                       ON CONFLICT (key) DO UPDATE SET moderation = excluded.moderation, closed = excluded.closed",
                )
                .bind(article.as_str())
                .bind(now)
                .bind(settings.moderation.map(ModerationMode::as_str))
                .bind(settings.closed)
                .execute(&mut *conn)
                .await?;
                let mode = settings.moderation.map_or("default", ModerationMode::as_str);
                let detail = format!("moderation={mode} closed={}", if settings.closed { "yes" } else { "no" });
                record(conn, who, "article.settings", &format!("article {article}"), &detail, now).await?;
                // A closed article's pages say so.
                super::thread_changed(conn, Some(article.as_str())).await
        })?;
        self.pages().changed(article.as_str());
        Ok(())
    }

    async fn set_article_page(&self, article: ArticleId, page: PageInfo, who: &str) -> anyhow::Result<()> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => async {
                sqlx::query(
                    "INSERT INTO articles (key, created_at, url, title) VALUES ($1, $2, $3, $4)
                       ON CONFLICT (key) DO UPDATE SET url = excluded.url, title = excluded.title",
                )
                .bind(article.as_str())
                .bind(now)
                .bind(page.url.as_deref())
                .bind(page.title.as_deref())
                .execute(&mut *conn)
                .await?;
                let url = page.url.as_deref().unwrap_or("-");
                let detail = format!("url={url} title={}", page.title.as_deref().unwrap_or("-"));
                record(conn, who, "article.page", &format!("article {article}"), &detail, now).await
        })
    }

    async fn add_ban(&self, ban: NewBanCmd) -> anyhow::Result<Result<StoredBan, ModError>> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => add_ban(conn, &ban, now))
    }

    async fn bans(&self) -> anyhow::Result<Vec<StoredBan>> {
        type Raw = (i64, String, String, Option<i64>, i64, String, String, i64);
        let rows: Vec<Raw> = sqlx::query_as(
            "SELECT id, kind, value, epoch, until, reason, created_by, created_at FROM bans
              WHERE lifted_at IS NULL AND until > $1 ORDER BY id DESC",
        )
        .bind(crate::unix_now())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, kind, value, epoch, until, reason, by, created)| {
                Some(StoredBan::new(id, BanKind::parse(&kind)?, value, epoch, until, reason, by, created))
            })
            .collect())
    }

    async fn lift_ban(&self, id: i64, who: &str) -> anyhow::Result<bool> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => async {
                let lifted = sqlx::query("UPDATE bans SET lifted_at = $2 WHERE id = $1 AND lifted_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected()
                    == 1;
                if lifted {
                    record(conn, who, "ban.lift", &format!("ban {id}"), "", now).await?;
                    super::announce(conn, Change::Bans).await?;
                }
                Ok(lifted)
        })
    }

    async fn record(&self, who: &str, action: &str, target: &str, detail: &str) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        record(&mut conn, who, action, target, detail, crate::unix_now()).await
    }

    async fn audit(&self, before: Option<i64>, limit: usize) -> anyhow::Result<AuditPage> {
        let mut rows: Vec<(i64, i64, String, String, String, String)> = sqlx::query_as(
            "SELECT id, at, who, action, target, detail FROM audit WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit as i64 + 1)
        .fetch_all(&self.pool)
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
}

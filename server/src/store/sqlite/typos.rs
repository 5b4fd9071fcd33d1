//! Typo report SQL for SQLite: the writes the writer applies and the editors' reads.

use anyhow::Context as _;
use async_trait::async_trait;
use otklik_api::{TypoId, TypoList, TypoReceipt, TypoReport, TypoStatus};
use sqlx::{SqliteConnection, SqlitePool};

use super::SqliteStore;
use super::outbox;
use super::writer::Touches;
use crate::store::TypoStore;
use crate::store::{NewTypoCmd, ReportRow, TypoError, TypoQuery, report_from};

/// Most notes kept on one report; later merged reports still count, their notes are dropped.
const NOTES_MAX: i64 = 20;

/// Stores a report, or merges it into the open report of the same fragment in the same context. A new
/// report that is to be announced gets its webhook delivery queued in the same transaction.
pub async fn report(conn: &mut SqliteConnection, cmd: &NewTypoCmd, now: i64) -> anyhow::Result<TypoReceipt> {
    let (id, reports): (i64, i64) = sqlx::query_as(
        "INSERT INTO articles (key, url, title, created_at) VALUES (?1, ?2, ?3, ?4)
           ON CONFLICT (key) DO UPDATE SET url = coalesce(articles.url, excluded.url),
                                          title = coalesce(articles.title, excluded.title);
         INSERT INTO typos (article_id, fragment, before, after, notes, reader, ip_hash, created_at, updated_at)
           VALUES ((SELECT id FROM articles WHERE key = ?1), ?5, ?6, ?7,
                   CASE WHEN ?8 IS NULL THEN '[]' ELSE json_array(?8) END, ?9, ?10, ?4, ?4)
           ON CONFLICT (article_id, fragment, before, after) WHERE status = 'new'
           DO UPDATE SET reports = reports + 1, updated_at = excluded.updated_at,
                         notes = CASE WHEN ?8 IS NULL OR json_array_length(notes) >= ?11 THEN notes
                                      ELSE json_insert(notes, '$[#]', ?8) END
           RETURNING id, reports",
    )
    .bind(cmd.article.as_str())
    .bind(cmd.page.url.as_deref())
    .bind(cmd.page.title.as_deref())
    .bind(now)
    .bind(&cmd.context.fragment)
    .bind(&cmd.context.before)
    .bind(&cmd.context.after)
    .bind(cmd.note.as_deref())
    .bind(&cmd.reader.0[..])
    .bind(&cmd.ip[..])
    .bind(NOTES_MAX)
    .fetch_one(&mut *conn)
    .await?;
    let merged = reports > 1;
    if cmd.announce.webhook && !merged {
        let report = by_id(&mut *conn, id).await?.context("the report just stored")?;
        outbox::enqueue(&mut *conn, "typo.created", &crate::store::typo_event(&report), now).await?;
    }
    if cmd.announce.mail && !merged {
        super::moderator_mail::tell_moderators(conn, crate::store::ModeratorEvent::Typo, id, now).await?;
    }
    Ok(TypoReceipt { id: TypoId(id), reports: reports.max(1) as u64, merged })
}

/// Columns of a report with its article, named as [`ReportRow`]'s fields.
const REPORT_COLUMNS: &str = "t.id, a.key AS article, t.fragment, t.before, t.after, t.notes,
                              t.status, t.reports, t.created_at, t.updated_at, a.url, a.title FROM typos t JOIN articles a ON a.id = t.article_id";

async fn by_id(conn: &mut SqliteConnection, id: i64) -> anyhow::Result<Option<TypoReport>> {
    let row: Option<ReportRow> =
        sqlx::query_as(&format!("SELECT {REPORT_COLUMNS} WHERE t.id = ?1")).bind(id).fetch_optional(&mut *conn).await?;
    row.map(report_from).transpose()
}

/// Moves a report to `status` (a no-op when it is there already).
pub async fn set_status(
    conn: &mut SqliteConnection,
    id: TypoId,
    status: TypoStatus,
    who: &str,
    now: i64,
) -> anyhow::Result<Result<TypoReport, TypoError>> {
    let changed = sqlx::query("UPDATE typos SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status <> ?2")
        .bind(id.0)
        .bind(status.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await;
    match changed {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(Err(TypoError::Conflict)),
        other => other?,
    };
    let Some(report) = by_id(&mut *conn, id.0).await? else {
        return Ok(Err(TypoError::NotFound));
    };
    let detail = format!("«{}» on {}", report.fragment, report.article);
    super::moderation::record(conn, who, &format!("typo.{}", status.as_str()), &format!("typo {id}"), &detail, now)
        .await?;
    Ok(Ok(report))
}

/// A page of reports, newest first.
pub async fn list(pool: &SqlitePool, query: &TypoQuery) -> anyhow::Result<TypoList> {
    let rows: Vec<ReportRow> = sqlx::query_as(&format!(
        "SELECT {REPORT_COLUMNS} WHERE (?1 IS NULL OR t.status = ?1) AND t.id < ?2 ORDER BY t.id DESC LIMIT ?3"
    ))
    .bind(query.status.map(TypoStatus::as_str))
    .bind(query.before.map_or(i64::MAX, |id| id.0))
    .bind(query.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let mut typos = rows.into_iter().map(report_from).collect::<anyhow::Result<Vec<_>>>()?;
    let next = if typos.len() > query.limit {
        typos.truncate(query.limit);
        typos.last().map(|t| t.id.to_string())
    } else {
        None
    };
    Ok(TypoList { typos, next })
}

#[async_trait]
impl TypoStore for SqliteStore {
    async fn report_typo(&self, report: NewTypoCmd) -> anyhow::Result<otklik_api::TypoReceipt> {
        self.write("typo report", Touches::Nothing, report, |report, conn, ctx| {
            Box::pin(self::report(conn, report, ctx.now))
        })
        .await
    }

    async fn typos(&self, query: &TypoQuery) -> anyhow::Result<otklik_api::TypoList> {
        list(&self.read, query).await
    }

    async fn set_typo_status(
        &self,
        id: otklik_api::TypoId,
        status: otklik_api::TypoStatus,
        who: &str,
    ) -> anyhow::Result<Result<otklik_api::TypoReport, TypoError>> {
        self.write("typo status", Touches::Nothing, (id, status, who.to_owned()), |(id, status, who), conn, ctx| {
            Box::pin(set_status(conn, *id, *status, who, ctx.now))
        })
        .await
    }
}

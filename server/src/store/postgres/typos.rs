//! Typo reports on PostgreSQL: readers' reports merged by the open report's unique index; editors' lists.

use anyhow::Context as _;
use async_trait::async_trait;
use otklik_api::{TypoId, TypoList, TypoReceipt, TypoReport, TypoStatus};
use sqlx::PgConnection;

use super::{PgStore, article, in_tx, outbox};
use crate::store::{NewTypoCmd, ReportRow, TypoError, TypoQuery, TypoStore, report_from};

/// Most notes kept on one report; later merged reports still count, their notes are dropped.
const NOTES_MAX: i32 = 20;

/// Columns of a report with its article, named as [`ReportRow`]'s fields.
const REPORT_COLUMNS: &str = "t.id, a.key AS article, t.fragment, t.before, t.after,
                              t.notes::text AS notes, t.status, t.reports, t.created_at, t.updated_at, a.url, a.title FROM typos t JOIN articles a ON a.id = t.article_id";

async fn by_id(conn: &mut PgConnection, id: i64) -> anyhow::Result<Option<TypoReport>> {
    let row: Option<ReportRow> =
        sqlx::query_as(&format!("SELECT {REPORT_COLUMNS} WHERE t.id = $1")).bind(id).fetch_optional(&mut *conn).await?;
    row.map(report_from).transpose()
}

/// Stores a report or merges it into the open one of the same fragment in the same context.
async fn report(conn: &mut PgConnection, cmd: &NewTypoCmd, now: i64) -> anyhow::Result<TypoReceipt> {
    let article = article(conn, cmd.article.as_str(), Some(&cmd.page), now).await?.id;
    let (id, reports): (i64, i64) = sqlx::query_as(
        "INSERT INTO typos (article_id, fragment, before, after, notes, reader, ip_hash, created_at, updated_at)
           VALUES ($1, $2, $3, $4, CASE WHEN $5::text IS NULL THEN '[]'::jsonb ELSE jsonb_build_array($5::text) END,
                   $6, $7, $8, $8)
           ON CONFLICT (article_id, fragment, before, after) WHERE status = 'new'
           DO UPDATE SET reports = typos.reports + 1, updated_at = excluded.updated_at,
                         notes = CASE WHEN $5::text IS NULL OR jsonb_array_length(typos.notes) >= $9 THEN typos.notes
                                      ELSE typos.notes || jsonb_build_array($5::text) END
           RETURNING id, reports",
    )
    .bind(article)
    .bind(&cmd.context.fragment)
    .bind(&cmd.context.before)
    .bind(&cmd.context.after)
    .bind(cmd.note.as_deref())
    .bind(&cmd.reader.0[..])
    .bind(&cmd.ip[..])
    .bind(now)
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

/// Moves a report to `status` (a no-op when it is there already), recording who did it.
async fn set_status(
    conn: &mut PgConnection,
    id: TypoId,
    status: TypoStatus,
    who: &str,
    now: i64,
) -> anyhow::Result<Result<TypoReport, TypoError>> {
    // Reopening must not make a second open report of the same fragment: asked first, because a failed
    // statement would end the transaction (the unique index still has the last word under a race).
    let conflict: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM typos t JOIN typos o
                          ON o.article_id = t.article_id AND o.fragment = t.fragment AND o.before = t.before
                         AND o.after = t.after AND o.status = 'new' AND o.id <> t.id
                       WHERE t.id = $1 AND $2 = 'new' AND t.status <> 'new')",
    )
    .bind(id.0)
    .bind(status.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if conflict {
        return Ok(Err(TypoError::Conflict));
    }
    sqlx::query("UPDATE typos SET status = $2, updated_at = $3 WHERE id = $1 AND status <> $2")
        .bind(id.0)
        .bind(status.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let Some(report) = by_id(&mut *conn, id.0).await? else {
        return Ok(Err(TypoError::NotFound));
    };
    let detail = format!("«{}» on {}", report.fragment, report.article);
    super::moderation::record(conn, who, &format!("typo.{}", status.as_str()), &format!("typo {id}"), &detail, now)
        .await?;
    Ok(Ok(report))
}

#[async_trait]
impl TypoStore for PgStore {
    async fn report_typo(&self, cmd: NewTypoCmd) -> anyhow::Result<TypoReceipt> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => report(conn, &cmd, now))
    }

    async fn typos(&self, query: &TypoQuery) -> anyhow::Result<TypoList> {
        let rows: Vec<ReportRow> = sqlx::query_as(&format!(
            "SELECT {REPORT_COLUMNS} WHERE ($1::text IS NULL OR t.status = $1) AND t.id < $2 ORDER BY t.id DESC LIMIT $3"
        ))
        .bind(query.status.map(TypoStatus::as_str))
        .bind(query.before.map_or(i64::MAX, |id| id.0))
        .bind(query.limit as i64 + 1)
        .fetch_all(&self.pool)
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

    async fn set_typo_status(
        &self,
        id: TypoId,
        status: TypoStatus,
        who: &str,
    ) -> anyhow::Result<Result<TypoReport, TypoError>> {
        let now = crate::unix_now();
        in_tx!(self.pool, conn => set_status(conn, id, status, who, now))
    }
}

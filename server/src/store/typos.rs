//! The store's typo reports.

use async_trait::async_trait;
use otklik_api::{ArticleId, PageInfo, TypoContext, TypoId, TypoList, TypoReceipt, TypoReport, TypoStatus};

use crate::rules::reader::ReaderHash;

/// Typo reports: readers report, editors work through them.
#[async_trait]
pub trait TypoStore: Send + Sync {
    /// Stores a typo report, or merges it into the open report of the same fragment in the same context.
    async fn report_typo(&self, report: NewTypoCmd) -> anyhow::Result<TypoReceipt>;

    /// A page of typo reports for the editors, newest first.
    async fn typos(&self, query: &TypoQuery) -> anyhow::Result<TypoList>;

    /// Moves a typo report to another status, recording who did it.
    async fn set_typo_status(
        &self,
        id: TypoId,
        status: TypoStatus,
        who: &str,
    ) -> anyhow::Result<Result<TypoReport, TypoError>>;
}

/// A typo report, validated and normalised by the route.
#[derive(Clone, Debug)]
pub struct NewTypoCmd {
    pub article: ArticleId,
    pub reader: ReaderHash,
    pub ip: [u8; 16],
    pub context: TypoContext,
    pub note: Option<String>,
    pub page: PageInfo,
    /// What to queue if this report is new.
    pub announce: crate::store::Announce,
}

/// Which typo reports to list: by status (all when `None`), older than `before`.
#[derive(Clone, Copy, Debug)]
pub struct TypoQuery {
    pub status: Option<TypoStatus>,
    pub before: Option<TypoId>,
    pub limit: usize,
}

/// Refusals a status change can meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypoError {
    NotFound,
    /// Reopening would make two open reports of the same fragment in the same context.
    Conflict,
}

/// A typo report with its article as either backend selects it (its columns named as these fields).
#[derive(sqlx::FromRow)]
pub struct ReportRow {
    pub id: i64,
    pub article: String,
    pub fragment: String,
    pub before: String,
    pub after: String,
    /// A JSON array of strings.
    pub notes: String,
    pub status: String,
    pub reports: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub url: Option<String>,
    pub title: Option<String>,
}

/// The report a [`ReportRow`] holds.
pub fn report_from(r: ReportRow) -> anyhow::Result<TypoReport> {
    use anyhow::Context as _;
    Ok(TypoReport {
        id: TypoId(r.id),
        article: r.article,
        fragment: r.fragment,
        before: r.before,
        after: r.after,
        notes: serde_json::from_str(&r.notes).context("stored typo notes")?,
        status: TypoStatus::parse(&r.status).with_context(|| format!("stored typo status {}", r.status))?,
        reports: r.reports.max(1) as u64,
        created: r.created_at,
        updated: r.updated_at,
        page: PageInfo { url: r.url, title: r.title },
    })
}

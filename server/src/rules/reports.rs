//! Typo reports from readers: what a report must be, who may send one now, and when it is announced
//! (a report of a fragment already reported is merged into the open one, and not announced again).

use otklik_api::limits::TYPO_NOTE_MAX;
use otklik_api::{ArticleId, InvalidTypo, PageInfo, TypoContext, TypoReceipt};

use crate::rules::Rules;
use crate::rules::guard::{self, Refusal};
use crate::rules::net::ClientIp;
use crate::rules::rate_limit::LimitKind;
use crate::rules::reader::ReaderHash;
use crate::rules::text::without_controls;
use crate::store::NewTypoCmd;

/// Why a report was not taken.
#[derive(Debug)]
pub enum ReportError {
    /// The fragment is empty or too long (the limits both halves share).
    Fragment(InvalidTypo),
    /// The note is longer than [`TYPO_NOTE_MAX`] characters.
    NoteTooLong,
    Refused(Refusal),
    Store(anyhow::Error),
}

impl From<anyhow::Error> for ReportError {
    fn from(err: anyhow::Error) -> Self {
        Self::Store(err)
    }
}

/// A report as the reader sent it; `page` is already what the edge accepts of the page's address.
pub struct NewReport {
    pub article: ArticleId,
    pub reader: ReaderHash,
    pub client: ClientIp,
    pub before: String,
    pub fragment: String,
    pub after: String,
    pub note: Option<String>,
    pub page: PageInfo,
}

/// Stores a report, or merges it into the open report of the same fragment in the same context.
pub async fn report(rules: &Rules, new: NewReport) -> Result<TypoReceipt, ReportError> {
    let [before, fragment, after] = [&new.before, &new.fragment, &new.after].map(|s| without_controls(s));
    let context = TypoContext::new(&before, &fragment, &after).map_err(ReportError::Fragment)?;
    let note = new.note.as_deref().map(without_controls).map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > TYPO_NOTE_MAX) {
        return Err(ReportError::NoteTooLong);
    }
    // Counted only for reports that could be stored: a reader fixing a bad request is not penalised.
    let NewReport { article, reader, client, page, .. } = new;
    guard::not_banned(rules, &reader, &client).map_err(ReportError::Refused)?;
    guard::limited(rules, &[(LimitKind::TypoReader, &reader.0), (LimitKind::TypoIp, &client.hash)])
        .await
        .map_err(ReportError::Refused)?;
    let announce = rules.outbox.announce();
    let receipt =
        rules.store.report_typo(NewTypoCmd { article, reader, ip: client.hash, context, note, page, announce }).await?;
    if !receipt.merged {
        rules.outbox.wake();
    }
    Ok(receipt)
}

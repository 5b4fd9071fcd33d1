//! What editors change, from the console or the editors' API alike: a typo report's status, an
//! article's moderation settings. Each is one function here so that both front ends do the same thing.

use otklik_api::{ArticleId, ArticleSettings, TypoId, TypoReport, TypoStatus};

use crate::rules::Rules;
use crate::store::TypoError;

/// Why a typo report's status was not changed.
#[derive(Debug)]
pub enum TypoStatusError {
    NotFound,
    /// Reopening it would make two open reports of the same fragment; close the other instead.
    Conflict,
    Store(anyhow::Error),
}

impl From<anyhow::Error> for TypoStatusError {
    fn from(err: anyhow::Error) -> Self {
        Self::Store(err)
    }
}

/// Marks a typo report new, fixed or rejected (recorded in the audit log as `who`'s).
pub async fn set_typo_status(
    rules: &Rules,
    id: TypoId,
    status: TypoStatus,
    who: &str,
) -> Result<TypoReport, TypoStatusError> {
    rules.store.set_typo_status(id, status, who).await?.map_err(|e| match e {
        TypoError::NotFound => TypoStatusError::NotFound,
        TypoError::Conflict => TypoStatusError::Conflict,
    })
}

/// Sets an article's moderation mode and whether it takes comments (recorded as `who`'s).
pub async fn set_article(
    rules: &Rules,
    article: ArticleId,
    settings: ArticleSettings,
    who: &str,
) -> anyhow::Result<()> {
    rules.store.set_article(article, settings, who).await
}

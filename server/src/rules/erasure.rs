//! Erasing a reader's data: at their own request (their token), or an editor's (by a comment of theirs),
//! which the audit log records.

use otklik_api::{CommentId, Erased};

use crate::rules::Rules;
use crate::rules::reader::ReaderHash;

/// Why an editor's erasure found no one.
#[derive(Debug)]
pub enum EraseError {
    /// No comment with that id, or it names no reader any more (erased already).
    NoReader,
    Store(anyhow::Error),
}

/// Erases everything of `reader`.
pub async fn erase(rules: &Rules, reader: &ReaderHash) -> anyhow::Result<Erased> {
    Ok(rules.store.erase_reader(reader).await?.erased)
}

/// Erases everything of the reader who wrote comment `id`, recorded in the audit log as `who`'s.
pub async fn erase_by_comment(rules: &Rules, id: CommentId, who: &str) -> Result<Erased, EraseError> {
    let reader = rules.store.comment_reader(id).await.map_err(EraseError::Store)?.ok_or(EraseError::NoReader)?;
    let erased = erase(rules, &reader).await.map_err(EraseError::Store)?;
    let detail = format!(
        "{} comments, {} placeholders, {} reactions, {} likes, {} flags, {} typo reports",
        erased.comments, erased.placeholders, erased.reactions, erased.likes, erased.flags, erased.typos
    );
    rules.store.record(who, "reader.erase", &format!("comment {id}"), &detail).await.map_err(EraseError::Store)?;
    Ok(erased)
}

//! The store's reactions: exact counts per article, one reaction per reader.

use async_trait::async_trait;
use otklik_api::{ArticleId, ReactionKind, ReactionsView};

use crate::rules::reader::ReaderHash;

/// An article's reactions.
#[async_trait]
pub trait ReactionStore: Send + Sync {
    /// An article's reaction counts, and `reader`'s own reaction if a reader is given.
    async fn reactions(&self, article: &ArticleId, reader: Option<ReaderHash>) -> anyhow::Result<ReactionsView>;

    /// Sets (`Some`) or clears (`None`) `reader`'s reaction on `article`; answers the view after the change.
    async fn set_reaction(
        &self,
        article: &ArticleId,
        reader: ReaderHash,
        kind: Option<ReactionKind>,
    ) -> anyhow::Result<ReactionsView>;
}

/// A stored reaction kind (its index in `ReactionKind::ALL`, as both backends keep it), checked.
pub fn stored_kind(raw: i64) -> anyhow::Result<ReactionKind> {
    usize::try_from(raw)
        .ok()
        .and_then(ReactionKind::from_index)
        .ok_or_else(|| anyhow::anyhow!("stored reaction kind {raw}"))
}

//! What the store keeps that names one reader: read out for them, and erased at their (or an editor's)
//! request.

use async_trait::async_trait;
use otklik_api::{
    CommentId, CommentStatus, Erased, MyComment, MyMark, MyReaction, MyTypo, ReactionKind, ReaderData, TypoId,
    TypoStatus,
};

use crate::rules::reader::ReaderHash;

#[async_trait]
pub trait ReaderStore: Send + Sync {
    /// The reader's comments, reactions, likes, flags and typo reports.
    async fn reader_data(&self, reader: &ReaderHash) -> anyhow::Result<ReaderData>;

    /// Erases all of it in one transaction, moving every count with it: comments without replies go,
    /// those with replies become nameless, empty placeholders no longer linked to the reader; reactions,
    /// likes and flags go; typo reports the reader alone made go, others lose the link. Also answers, for
    /// the live streams, the articles whose counts moved and the visible comments that left them.
    async fn erase_reader(&self, reader: &ReaderHash) -> anyhow::Result<Erasure>;

    /// The reader who wrote a comment (for the editors' erasure by comment); `None` when there is no such
    /// comment or it no longer names anyone.
    async fn comment_reader(&self, id: CommentId) -> anyhow::Result<Option<ReaderHash>>;
}

#[derive(Debug, Default)]
pub struct Erasure {
    pub erased: Erased,
    /// Articles whose reaction counts changed.
    pub reactions: Vec<String>,
    /// Comments that left a thread: (article, id).
    pub removed: Vec<(String, CommentId)>,
}

/// A reader's comment as both backends read it: id, article, parent, author, text, created, edited,
/// status, deleted.
pub type OwnCommentRow = (i64, String, Option<i64>, String, String, i64, Option<i64>, String, bool);

/// The rows as the API shows them (the same for both backends).
pub fn reader_data(
    comments: Vec<OwnCommentRow>,
    reactions: Vec<(String, i64, i64)>,
    likes: Vec<(i64, String)>,
    flags: Vec<(i64, String)>,
    typos: Vec<(i64, String, String, String, i64)>,
) -> ReaderData {
    let mark = |(comment, article): (i64, String)| MyMark { comment: CommentId(comment), article };
    ReaderData {
        comments: comments
            .into_iter()
            .map(|(id, article, parent, author, text, created, edited, status, deleted)| MyComment {
                id: CommentId(id),
                article,
                parent: parent.map(CommentId),
                author,
                text,
                created,
                edited,
                status: CommentStatus::parse(&status).unwrap_or_default(),
                deleted,
            })
            .collect(),
        reactions: reactions
            .into_iter()
            .filter_map(|(article, kind, created)| {
                let kind = ReactionKind::from_index(usize::try_from(kind).ok()?)?;
                Some(MyReaction { article, kind, created })
            })
            .collect(),
        likes: likes.into_iter().map(mark).collect(),
        flags: flags.into_iter().map(mark).collect(),
        typos: typos
            .into_iter()
            .map(|(id, article, fragment, status, created)| MyTypo {
                id: TypoId(id),
                article,
                fragment,
                status: TypoStatus::parse(&status).unwrap_or_default(),
                created,
            })
            .collect(),
    }
}

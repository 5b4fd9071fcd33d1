//! A reader's own data (`GET /api/v1/me`), and what erasing it removed (`DELETE /api/v1/me`).

use serde::{Deserialize, Serialize};

use crate::{CommentId, CommentStatus, ReactionKind, TypoId, TypoStatus};

/// Everything the server keeps that names the reader (by the keyed hash of their token).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderData {
    pub comments: Vec<MyComment>,
    pub reactions: Vec<MyReaction>,
    pub likes: Vec<MyMark>,
    pub flags: Vec<MyMark>,
    pub typos: Vec<MyTypo>,
}

/// A comment the reader wrote, in whatever state it is (a deleted one with replies is an empty placeholder).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyComment {
    pub id: CommentId,
    pub article: String,
    pub parent: Option<CommentId>,
    pub author: String,
    pub text: String,
    /// Unix seconds.
    pub created: i64,
    pub edited: Option<i64>,
    pub status: CommentStatus,
    pub deleted: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyReaction {
    pub article: String,
    pub kind: ReactionKind,
    pub created: i64,
}

/// A like or a flag the reader gave a comment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyMark {
    pub comment: CommentId,
    pub article: String,
}

/// A typo report the reader made first (others who report the same fragment add to it).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyTypo {
    pub id: TypoId,
    pub article: String,
    pub fragment: String,
    pub status: TypoStatus,
    pub created: i64,
}

/// What erasing a reader's data removed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    /// Comments removed; those with replies are kept as nameless, empty placeholders (`placeholders`).
    pub comments: u64,
    pub placeholders: u64,
    pub reactions: u64,
    pub likes: u64,
    pub flags: u64,
    /// Typo reports removed, or, when others reported the same fragment, no longer linked to the reader.
    pub typos: u64,
}

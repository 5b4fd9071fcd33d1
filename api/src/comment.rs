//! Comments: the thread under an article, pages of it, and the bodies that create, edit and like them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A comment's id: assigned by the server, increasing with time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommentId(pub i64);

impl fmt::Display for CommentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One comment as a reader sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    /// The comment this one answers; `None` for a top-level comment.
    pub parent: Option<CommentId>,
    /// Nesting level: 0 for top-level comments. The widget indents up to 3 and shows deeper ones flat.
    pub depth: u32,
    /// The name of the parent's author, for replies shown flat below their level.
    pub reply_to: Option<String>,
    /// Display name; empty for a deleted comment.
    pub author: String,
    /// Plain text exactly as written (never HTML); empty for a deleted comment.
    pub text: String,
    /// Unix time in seconds.
    pub created: i64,
    pub edited: Option<i64>,
    /// A placeholder kept because the comment has replies.
    pub deleted: bool,
    pub likes: u64,
    /// The requesting reader likes it.
    pub liked: bool,
    /// The requesting reader wrote it.
    pub mine: bool,
    /// For the author: until when (unix seconds) they may edit or delete it.
    pub editable_until: Option<i64>,
    /// For a top-level comment: how many replies it has in all, shown or not.
    pub replies: u64,
    /// Awaiting moderation: only its author sees it (see [`crate::CommentStatus`]).
    #[serde(default)]
    pub pending: bool,
}

/// A page of a thread: top-level comments, each followed by its first replies in thread order; or, with
/// `root`, the further replies under one top-level comment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentPage {
    pub comments: Vec<Comment>,
    /// Pass as `cursor` to get the next page; `None` on the last page.
    pub next: Option<String>,
    /// Visible comments on the article in all.
    pub total: u64,
    /// The article takes no new comments.
    #[serde(default)]
    pub closed: bool,
    /// The token a new comment must carry as `form` (when the server asks for a minimum compose time):
    /// issued for this reader and article with each page.
    #[serde(default)]
    pub form: Option<String>,
    /// The server sends reply notifications by e-mail: the form may offer [`NewComment::notify_email`].
    pub notify: bool,
}

/// Orders of the top-level comments.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentSort {
    #[default]
    Oldest,
    Newest,
    Popular,
}

impl CommentSort {
    pub const ALL: [Self; 3] = [Self::Oldest, Self::Newest, Self::Popular];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Oldest => "oldest",
            Self::Newest => "newest",
            Self::Popular => "popular",
        }
    }
}

/// What the page says about itself; the server keeps the first values it sees for each article.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInfo {
    pub url: Option<String>,
    pub title: Option<String>,
}

/// Body of `POST /api/v1/articles/{article}/comments`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub text: String,
    /// Display name; an anonymous name is used when empty or absent.
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub parent: Option<CommentId>,
    #[serde(default)]
    pub page: Option<PageInfo>,
    /// A field people never see (the widget hides it); anything in it marks the comment as automated.
    #[serde(default)]
    pub website: Option<String>,
    /// The `form` token of a page of this thread (see [`CommentPage::form`]).
    #[serde(default)]
    pub form: Option<String>,
    /// An e-mail address to tell of replies to this comment (when [`CommentPage::notify`] says the server
    /// sends them). Nothing is sent to it until its owner opens the link in a confirmation message; it is
    /// stored encrypted and never answered back.
    #[serde(default)]
    pub notify_email: Option<String>,
}

/// Whether `address` can be an e-mail address: at most [`crate::limits::EMAIL_MAX`] bytes, one `@`
/// between a local part and a dotted domain, no white space or control characters. (The server parses it
/// fully; this is what the widget can say before sending.)
pub fn check_email(address: &str) -> bool {
    let ok_chars = address.chars().all(|c| !c.is_whitespace() && !c.is_control());
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            ok_chars
                && address.len() <= crate::limits::EMAIL_MAX
                && !local.is_empty()
                && local.len() <= 64
                && !local.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

/// Body of `PATCH /api/v1/articles/{article}/comments/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditComment {
    pub text: String,
}

/// Answer of `PUT`/`DELETE /api/v1/articles/{article}/comments/{id}/like`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LikeView {
    pub likes: u64,
    pub liked: bool,
}

/// Answer of `GET /api/v1/counts?articles=a,b,c`: visible comments per article id.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentCounts {
    pub counts: std::collections::BTreeMap<String, u64>,
}

/// Why a comment text cannot be accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidText {
    Empty,
    TooLong,
    /// More than [`crate::limits::COMMENT_LINKS_MAX`] web addresses: the shape of link spam.
    TooManyLinks,
}

/// Checks a comment text the way the server will: 1 to [`crate::limits::COMMENT_TEXT_MAX`] characters
/// once surrounding white space is trimmed, with at most [`crate::limits::COMMENT_LINKS_MAX`] links.
pub fn check_comment_text(text: &str) -> Result<(), InvalidText> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        Err(InvalidText::Empty)
    } else if trimmed.chars().count() > crate::limits::COMMENT_TEXT_MAX {
        Err(InvalidText::TooLong)
    } else if count_links(trimmed) > crate::limits::COMMENT_LINKS_MAX {
        Err(InvalidText::TooManyLinks)
    } else {
        Ok(())
    }
}

/// Web addresses in a text: each `http://`, `https://`, or `www.` that does not follow one of those.
/// (A byte scan: string searchers would add kilobytes to the widget, which runs this too.)
fn count_links(text: &str) -> usize {
    let lower = text.as_bytes().to_ascii_lowercase();
    (0..lower.len())
        .filter(|&i| {
            let rest = &lower[i..];
            rest.starts_with(b"http://")
                || rest.starts_with(b"https://")
                || (rest.starts_with(b"www.") && !lower[..i].ends_with(b"://"))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::COMMENT_TEXT_MAX;

    #[test]
    fn text_limits_count_characters_not_bytes() {
        assert_eq!(check_comment_text("  \n "), Err(InvalidText::Empty));
        assert_eq!(check_comment_text(&"ж".repeat(COMMENT_TEXT_MAX)), Ok(()));
        assert_eq!(check_comment_text(&"ж".repeat(COMMENT_TEXT_MAX + 1)), Err(InvalidText::TooLong));
        assert_eq!(check_comment_text(&format!("  {}  ", "a".repeat(COMMENT_TEXT_MAX))), Ok(()));
    }

    #[test]
    fn addresses_are_checked_for_their_shape() {
        assert!(check_email("reader@example.org"));
        assert!(check_email("чи.та.тель@пример.рф"));
        for bad in ["", "reader", "reader@", "@example.org", "reader@localhost", "a b@example.org", "r@.org", "r@x."] {
            assert!(!check_email(bad), "{bad}");
        }
        assert!(!check_email(&format!("{}@example.org", "a".repeat(65))));
    }

    #[test]
    fn more_than_three_links_are_refused() {
        assert_eq!(check_comment_text("see https://a.example, www.b.example and http://c.example/x"), Ok(()));
        assert_eq!(check_comment_text("https://www.a.example https://www.b.example www.c.example"), Ok(()));
        let four = "https://a.example http://b.example www.c.example HTTPS://D.EXAMPLE";
        assert_eq!(check_comment_text(four), Err(InvalidText::TooManyLinks));
    }

    #[test]
    fn new_comment_fields_are_optional_but_not_unknown() {
        let c: NewComment = serde_json::from_str(r#"{"text":"hi"}"#).unwrap();
        assert_eq!((c.author, c.parent, c.page, c.website), (None, None, None, None));
        assert!(serde_json::from_str::<NewComment>(r#"{"text":"hi","html":"<b>"}"#).is_err());
        assert_eq!(serde_json::to_string(&CommentSort::Popular).unwrap(), r#""popular""#);
    }
}

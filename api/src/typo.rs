//! Typo reports: what a reader sends, how its context is cut, and what editors see.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::PageInfo;
use crate::limits::{TYPO_CONTEXT_MAX, TYPO_FRAGMENT_MAX};

/// A typo report's id: assigned by the server.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TypoId(pub i64);

impl fmt::Display for TypoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Body of `POST /api/v1/articles/{article}/typos`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTypo {
    /// The selected text.
    pub fragment: String,
    /// Up to [`TYPO_CONTEXT_MAX`] characters of the same block before and after the fragment.
    #[serde(default)]
    pub before: String,
    #[serde(default)]
    pub after: String,
    /// The reader's correction or comment, optional.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub page: Option<PageInfo>,
}

/// Answer of `POST /api/v1/articles/{article}/typos`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypoReceipt {
    pub id: TypoId,
    /// How many readers have reported this fragment while it was open, this one included.
    pub reports: u64,
    /// The report joined an open report of the same fragment in the same context.
    pub merged: bool,
}

/// Where a report stands with the editors.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TypoStatus {
    #[default]
    New,
    Fixed,
    Rejected,
}

impl TypoStatus {
    pub const ALL: [Self; 3] = [Self::New, Self::Fixed, Self::Rejected];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Fixed => "fixed",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A typo report as editors see it (`GET /api/v1/admin/typos`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypoReport {
    pub id: TypoId,
    pub article: String,
    pub fragment: String,
    pub before: String,
    pub after: String,
    /// The readers' corrections and comments, oldest first (merged reports add theirs).
    pub notes: Vec<String>,
    pub status: TypoStatus,
    pub reports: u64,
    /// Unix seconds of the first and the latest report.
    pub created: i64,
    pub updated: i64,
    /// The article's page as first seen.
    pub page: PageInfo,
}

/// Answer of `GET /api/v1/admin/typos`: newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypoList {
    pub typos: Vec<TypoReport>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// Body of `PATCH /api/v1/admin/typos/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetTypoStatus {
    pub status: TypoStatus,
}

/// A fragment with its context, cut and normalised the way both halves agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypoContext {
    pub before: String,
    pub fragment: String,
    pub after: String,
}

/// Why a selection cannot be reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidTypo {
    /// Nothing but white space is selected.
    Empty,
    /// Longer than [`TYPO_FRAGMENT_MAX`] characters: a typo report is about a word or a phrase.
    TooLong,
}

impl TypoContext {
    /// Builds the report's text from what precedes the selection in its block, the selection and what
    /// follows it. Runs of white space (line breaks and indentation from the page's markup) become one
    /// space; white space at the selection's edges moves into the context; each side of the context keeps
    /// at most [`TYPO_CONTEXT_MAX`] characters, cut where a word ends so that no half-word is shown.
    pub fn new(before: &str, selected: &str, after: &str) -> Result<Self, InvalidTypo> {
        let selected = squash(selected);
        let fragment = selected.trim();
        if fragment.is_empty() {
            return Err(InvalidTypo::Empty);
        }
        if fragment.chars().count() > TYPO_FRAGMENT_MAX {
            return Err(InvalidTypo::TooLong);
        }
        let lead = if selected.starts_with(' ') { " " } else { "" };
        let trail = if selected.ends_with(' ') { " " } else { "" };
        let before = squash(&format!("{before}{lead}"));
        let after = squash(&format!("{trail}{after}"));
        Ok(Self { before: tail(before.trim_start()), fragment: fragment.to_owned(), after: head(after.trim_end()) })
    }
}

/// Replaces every run of white space with a single space.
fn squash(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    if space {
        out.push(' ');
    }
    out
}

/// The last words of `text` that fit the limit; keeps a space that touches the fragment.
fn tail(text: &str) -> String {
    let count = text.chars().count();
    if count <= TYPO_CONTEXT_MAX {
        return text.to_owned();
    }
    let cut = text.char_indices().nth(count - TYPO_CONTEXT_MAX).map_or(0, |(i, _)| i);
    let kept = &text[cut..];
    // Cut inside a word: drop its remains up to the next space.
    let whole = if text[..cut].ends_with(' ') || kept.starts_with(' ') {
        kept
    } else {
        kept.find(' ').map_or("", |i| &kept[i..])
    };
    whole.trim_start().to_owned()
}

/// The first words of `text` that fit the limit; keeps a space that touches the fragment.
fn head(text: &str) -> String {
    let Some((cut, _)) = text.char_indices().nth(TYPO_CONTEXT_MAX) else {
        return text.to_owned();
    };
    let kept = &text[..cut];
    let whole = if text[cut..].starts_with(' ') || kept.ends_with(' ') {
        kept
    } else {
        kept.rfind(' ').map_or("", |i| &kept[..i])
    };
    whole.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(before: &str, selected: &str, after: &str) -> TypoContext {
        TypoContext::new(before, selected, after).unwrap()
    }

    #[test]
    fn short_context_is_kept_whole_with_the_spaces_next_to_the_fragment() {
        let c = ctx("Паром отходит ", "кажыдй", " час.");
        assert_eq!((c.before.as_str(), c.fragment.as_str(), c.after.as_str()), ("Паром отходит ", "кажыдй", " час."));
    }

    #[test]
    fn long_context_is_cut_where_words_end_and_never_exceeds_the_limit() {
        let words = "слово ".repeat(30);
        let c = ctx(&words, "ошибка", &format!(" {words}"));
        assert!(c.before.chars().count() <= TYPO_CONTEXT_MAX && c.after.chars().count() <= TYPO_CONTEXT_MAX);
        // Whole words only: every piece is "слово".
        assert!(c.before.split_whitespace().all(|w| w == "слово"), "{:?}", c.before);
        assert!(c.after.split_whitespace().all(|w| w == "слово"), "{:?}", c.after);
        assert!(c.before.ends_with(' ') && c.after.starts_with(' '));
        assert_eq!(c.before.split_whitespace().count(), 10, "60 characters hold ten 6-character words");
    }

    #[test]
    fn a_cut_inside_a_word_drops_the_half_word() {
        // 61 characters before: the cut falls inside "abcdefghi", which must not appear in part.
        let before = format!("abcdefghi {} ", "x".repeat(50));
        assert_eq!(before.chars().count(), 61);
        let c = ctx(&before, "typo", "");
        assert_eq!(c.before, format!("{} ", "x".repeat(50)));
        let after = format!(" {} abcdefgh", "y".repeat(55));
        let c = ctx("", "typo", &after);
        assert_eq!(c.after, format!(" {}", "y".repeat(55)));
    }

    #[test]
    fn a_word_cut_exactly_at_its_edge_is_kept() {
        let before = format!("{} ", "z".repeat(59));
        assert_eq!(ctx(&before, "a", "").before, before);
        let after = format!(" {} more", "z".repeat(59));
        assert_eq!(ctx("", "a", &after).after, format!(" {}", "z".repeat(59)));
    }

    #[test]
    fn markup_white_space_is_squashed_and_selection_edges_move_into_context() {
        let c = ctx("Первый\n      абзац,\tвторая ", "  строка\n", "\n\n   дальше");
        assert_eq!(c.before, "Первый абзац, вторая ");
        assert_eq!(c.fragment, "строка");
        assert_eq!(c.after, " дальше");
    }

    #[test]
    fn block_edges_give_empty_context() {
        let c = ctx("", "Заголовок", "");
        assert_eq!((c.before.as_str(), c.after.as_str()), ("", ""));
    }

    #[test]
    fn empty_and_long_selections_are_refused() {
        assert_eq!(TypoContext::new("a", " \n\t ", "b"), Err(InvalidTypo::Empty));
        assert_eq!(
            TypoContext::new("", &"ё".repeat(TYPO_FRAGMENT_MAX), "").map(|c| c.fragment.chars().count()),
            Ok(250)
        );
        assert_eq!(TypoContext::new("", &"ё".repeat(TYPO_FRAGMENT_MAX + 1), ""), Err(InvalidTypo::TooLong));
        // White space is squashed before counting: a selection spanning indented markup is not penalised.
        let spread = format!("{}\n        {}", "a".repeat(200), "b".repeat(40));
        assert!(TypoContext::new("", &spread, "").is_ok());
    }

    #[test]
    fn a_single_overlong_word_leaves_no_context() {
        let c = ctx(&"д".repeat(100), "x", &"д".repeat(100));
        assert_eq!((c.before.as_str(), c.after.as_str()), ("", ""));
    }

    #[test]
    fn statuses_round_trip() {
        for s in TypoStatus::ALL {
            assert_eq!(TypoStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
        assert_eq!(TypoStatus::parse("open"), None);
    }
}

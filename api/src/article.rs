//! The article id: the publisher's own key for a page, validated the same way on both sides.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::limits::ARTICLE_ID_MAX;

/// A publisher's article key: 1–128 characters of `[A-Za-z0-9._:-]`.
///
/// The alphabet is deliberately narrow: ids appear in URL paths and data attributes, so anything that
/// needs escaping, or could be confused after normalisation, is refused rather than stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ArticleId(String);

/// Why a string is not an [`ArticleId`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidArticleId {
    Empty,
    TooLong,
    BadCharacter,
}

impl ArticleId {
    pub fn parse(raw: &str) -> Result<Self, InvalidArticleId> {
        if raw.is_empty() {
            return Err(InvalidArticleId::Empty);
        }
        if raw.len() > ARTICLE_ID_MAX {
            return Err(InvalidArticleId::TooLong);
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-')) {
            return Err(InvalidArticleId::BadCharacter);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for InvalidArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "the article id is empty",
            Self::TooLong => "the article id is longer than 128 characters",
            Self::BadCharacter => "the article id may contain only letters A-Z a-z, digits and . _ : -",
        })
    }
}

impl<'de> Deserialize<'de> for ArticleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in ["a", "2026-11-summit_talks", "news:42.v2", &"x".repeat(128)] {
            assert_eq!(ArticleId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(ArticleId::parse(""), Err(InvalidArticleId::Empty));
        assert_eq!(ArticleId::parse(&"x".repeat(129)), Err(InvalidArticleId::TooLong));
        for bad in ["a b", "a/b", "статья", "a%20", "a?b", "a\n"] {
            assert_eq!(ArticleId::parse(bad), Err(InvalidArticleId::BadCharacter), "{bad:?}");
        }
    }
}

//! Reactions: the five kinds, their counts, and the view of one article's reactions for one reader.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the five reactions a reader can leave under an article.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReactionKind {
    Like,
    Laugh,
    Surprised,
    Angry,
    Sad,
}

impl ReactionKind {
    /// Every kind, in the order the widget shows them.
    pub const ALL: [Self; 5] = [Self::Like, Self::Laugh, Self::Surprised, Self::Angry, Self::Sad];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Like => "like",
            Self::Laugh => "laugh",
            Self::Surprised => "surprised",
            Self::Angry => "angry",
            Self::Sad => "sad",
        }
    }

    /// A stable small integer for storage; never reorder.
    pub const fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: usize) -> Option<Self> {
        Self::ALL.get(i).copied()
    }
}

impl fmt::Display for ReactionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no reaction kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownReactionKind;

impl FromStr for ReactionKind {
    type Err = UnknownReactionKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or(UnknownReactionKind)
    }
}

/// How many readers chose each kind on one article.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCounts {
    pub like: u64,
    pub laugh: u64,
    pub surprised: u64,
    pub angry: u64,
    pub sad: u64,
}

impl ReactionCounts {
    pub fn get(&self, kind: ReactionKind) -> u64 {
        *self.slot(kind)
    }

    pub fn set(&mut self, kind: ReactionKind, n: u64) {
        *self.slot_mut(kind) = n;
    }

    /// Applies a signed change, never going below zero (a view can only be as wrong as the server allows).
    pub fn add(&mut self, kind: ReactionKind, delta: i64) {
        let slot = self.slot_mut(kind);
        *slot = slot.saturating_add_signed(delta);
    }

    pub fn total(&self) -> u64 {
        ReactionKind::ALL.iter().map(|&k| self.get(k)).sum()
    }

    fn slot(&self, kind: ReactionKind) -> &u64 {
        match kind {
            ReactionKind::Like => &self.like,
            ReactionKind::Laugh => &self.laugh,
            ReactionKind::Surprised => &self.surprised,
            ReactionKind::Angry => &self.angry,
            ReactionKind::Sad => &self.sad,
        }
    }

    fn slot_mut(&mut self, kind: ReactionKind) -> &mut u64 {
        match kind {
            ReactionKind::Like => &mut self.like,
            ReactionKind::Laugh => &mut self.laugh,
            ReactionKind::Surprised => &mut self.surprised,
            ReactionKind::Angry => &mut self.angry,
            ReactionKind::Sad => &mut self.sad,
        }
    }
}

/// One article's reactions as one reader sees them: the counts and the reader's own choice, if any.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionsView {
    pub counts: ReactionCounts,
    pub mine: Option<ReactionKind>,
}

impl ReactionsView {
    /// The view after this reader's choice becomes `mine`: what the widget shows before the server answers.
    pub fn with_mine(mut self, mine: Option<ReactionKind>) -> Self {
        if self.mine != mine {
            if let Some(old) = self.mine {
                self.counts.add(old, -1);
            }
            if let Some(new) = mine {
                self.counts.add(new, 1);
            }
            self.mine = mine;
        }
        self
    }
}

/// Body of `PUT /api/v1/articles/{article}/reactions/mine`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetReaction {
    pub kind: ReactionKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_matches_the_contract() {
        let mut view = ReactionsView::default();
        view.counts.laugh = 3;
        view.counts.angry = 1;
        view.mine = Some(ReactionKind::Laugh);
        assert_eq!(
            serde_json::to_string(&view).unwrap(),
            r#"{"counts":{"like":0,"laugh":3,"surprised":0,"angry":1,"sad":0},"mine":"laugh"}"#
        );
        let none: ReactionsView =
            serde_json::from_str(r#"{"counts":{"like":0,"laugh":0,"surprised":0,"angry":0,"sad":0},"mine":null}"#)
                .unwrap();
        assert_eq!(none.mine, None);
    }

    #[test]
    fn kinds_round_trip_through_strings_and_indices() {
        for (i, kind) in ReactionKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.as_str().parse::<ReactionKind>(), Ok(kind));
            assert_eq!(ReactionKind::from_index(i), Some(kind));
            assert_eq!(kind.index(), i);
        }
        assert!("heart".parse::<ReactionKind>().is_err());
        assert!(serde_json::from_str::<SetReaction>(r#"{"kind":"heart"}"#).is_err());
    }

    #[test]
    fn choosing_switching_and_clearing_move_the_counts() {
        let base = ReactionsView::default();
        let liked = base.with_mine(Some(ReactionKind::Like));
        assert_eq!((liked.counts.like, liked.counts.total()), (1, 1));
        let switched = liked.with_mine(Some(ReactionKind::Sad));
        assert_eq!((switched.counts.like, switched.counts.sad, switched.counts.total()), (0, 1, 1));
        let cleared = switched.with_mine(None);
        assert_eq!((cleared.counts, cleared.mine), (ReactionCounts::default(), None));
        assert_eq!(cleared.with_mine(None), cleared);
    }
}

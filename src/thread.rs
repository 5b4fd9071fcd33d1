//! The comment thread's shared state: the list on screen and what every part of the thread (the list,
//! each comment, each form) needs to change it. Provided as a context by `CommentThread`.

use leptos::prelude::*;
use otklik_api::{ArticleId, Comment, CommentId, CommentSort};

use crate::api::Api;
use crate::i18n::Lang;
use crate::live::Feed;

/// What the thread's parts share: the list, its paging state, and how to reach the server.
#[derive(Clone)]
pub struct Thread {
    pub api: Api,
    pub article: ArticleId,
    pub lang: Lang,
    pub items: RwSignal<Vec<RwSignal<Comment>>>,
    pub total: RwSignal<u64>,
    /// The article takes no new comments.
    pub closed: RwSignal<bool>,
    /// The server sends reply notifications: forms offer an address field (`CommentPage::notify`).
    pub notify: RwSignal<bool>,
    /// The server's token for new comments, from the latest page (see `CommentPage::form`).
    pub form: RwSignal<Option<String>>,
    /// The order the list is in; `CommentThread` changes it.
    pub sort: RwSignal<CommentSort>,
    /// A comment of this reader's is on its way to the server: until it is in the list, the live stream's
    /// newest comment may be theirs, not someone else's.
    pub sending: RwSignal<bool>,
    /// What the live stream says of the article (`crate::live`).
    pub feed: ArcRwSignal<Feed>,
}

impl Thread {
    /// Puts a comment the reader just posted where it belongs: replies after their parent's last reply,
    /// top-level comments first in the newest order and last otherwise.
    pub fn insert(&self, comment: Comment) {
        let sort = self.sort.get_untracked();
        self.items.update(|items| {
            let at = match comment.parent {
                None if sort == CommentSort::Newest => 0,
                None => items.len(),
                Some(parent) => {
                    let Some(p) = items.iter().position(|c| c.with_untracked(|c| c.id == parent)) else {
                        return;
                    };
                    let depth = items[p].with_untracked(|c| c.depth);
                    if let Some(root) = items[..=p].iter().rev().find(|c| c.with_untracked(|c| c.depth == 0)) {
                        root.update(|r| r.replies += 1);
                    }
                    p + 1 + items[p + 1..].iter().take_while(|c| c.with_untracked(|c| c.depth > depth)).count()
                }
            };
            // Awaiting moderation, it is shown to its author but not yet counted.
            if !comment.pending {
                self.total.update(|t| *t += 1);
            }
            items.insert(at, RwSignal::new(comment));
        });
    }

    /// After a delete: a comment with replies shown becomes a placeholder, one without disappears.
    pub fn deleted(&self, id: CommentId) {
        self.items.update(|items| {
            let Some(i) = items.iter().position(|c| c.with_untracked(|c| c.id == id)) else { return };
            let depth = items[i].with_untracked(|c| c.depth);
            let has_replies = items.get(i + 1).is_some_and(|n| n.with_untracked(|n| n.depth > depth))
                || items[i].with_untracked(|c| c.depth == 0 && c.replies > 0);
            if has_replies {
                items[i].update(|c| {
                    c.deleted = true;
                    c.text.clear();
                    c.author.clear();
                    c.mine = false;
                });
            } else {
                items.remove(i);
            }
        });
        self.total.update(|t| *t = t.saturating_sub(1));
    }

    /// Whether comment `id` is in the list.
    pub fn shows(&self, id: CommentId) -> bool {
        self.items.with(|items| items.iter().any(|c| c.with(|c| c.id == id)))
    }

    /// How many replies of top-level comment `root` are on screen.
    pub fn shown_replies(&self, root: CommentId) -> u64 {
        self.items.with(|items| {
            let Some(i) = items.iter().position(|c| c.with(|c| c.id == root)) else { return 0 };
            items[i + 1..].iter().take_while(|c| c.with(|c| c.depth > 0)).count() as u64
        })
    }

    /// Replaces the replies shown under `root` with `replies` (the server's full, ordered list).
    pub fn show_replies(&self, root: CommentId, replies: Vec<Comment>) {
        self.items.update(|items| {
            let Some(i) = items.iter().position(|c| c.with_untracked(|c| c.id == root)) else { return };
            let end = i + 1 + items[i + 1..].iter().take_while(|c| c.with_untracked(|c| c.depth > 0)).count();
            let keep: Vec<_> = items.drain(i + 1..end).collect();
            let fresh = replies.into_iter().map(|r| {
                // Keep the signal of a reply already on screen, so its open forms survive.
                match keep.iter().find(|k| k.with_untracked(|k| k.id == r.id)) {
                    Some(k) => {
                        k.set(r);
                        *k
                    }
                    None => RwSignal::new(r),
                }
            });
            let tail = items.split_off(i + 1);
            items.extend(fresh);
            items.extend(tail);
        });
    }
}

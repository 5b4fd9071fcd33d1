//! Live updates on the widget's side: embed.js holds the page's one event stream (it knows when the page
//! is visible and the widgets on screen) and hands each event to [`live`]; here they become one [`Feed`]
//! signal per article, which the parts derive their view from.
//!
//! Every event is a state, not a step (see `otklik_api::live`), so a feed holds only the latest.

use std::cell::RefCell;

use leptos::prelude::*;
use otklik_api::{CommentId, ReactionCounts};
use wasm_bindgen::prelude::*;

/// Removals kept per article; a page shows far fewer comments than this.
const REMOVED_MAX: usize = 200;

/// An article's visible comment total and newest visible comment.
pub type Head = (u64, Option<CommentId>);

/// What the stream has said of one article.
#[derive(Clone, Default)]
pub struct Feed {
    /// The newest reaction counts known: the stream's, or the server's answer to the reader's own write.
    pub counts: Option<ReactionCounts>,
    pub head: Option<Head>,
    /// Comments hidden or deleted since the page loaded.
    pub removed: Vec<CommentId>,
    /// What a screen reader was told, and before that: `counts` and `head` as they were when embed.js last
    /// said "told", which it does at most every few seconds (a busy article must not talk over its text).
    pub told: (Option<ReactionCounts>, Option<ReactionCounts>, Option<Head>),
}

thread_local! {
    /// Reference-counted, not owned by a widget: two widgets may show one article, and a widget may be
    /// mounted again.
    static FEEDS: RefCell<Vec<(String, ArcRwSignal<Feed>)>> = const { RefCell::new(Vec::new()) };
}

/// The feed of `article`, shared by every part on the page that shows it.
pub fn feed(article: &str) -> ArcRwSignal<Feed> {
    FEEDS.with_borrow_mut(|feeds| {
        if let Some((_, feed)) = feeds.iter().find(|(a, _)| a == article) {
            return feed.clone();
        }
        let feed = ArcRwSignal::new(Feed::default());
        feeds.push((article.to_owned(), feed.clone()));
        feed
    })
}

/// One event of the page's stream, flattened by embed.js (no JSON decoding in wasm: it is the browser's
/// job, and each decoded type would cost the bundle its own code). `what`: 0 `reactions` (`n` the counts in
/// `ReactionKind::ALL` order), 1 `comments` (total, newest or -1), 2 `removed` (the comment), 3 "told".
#[wasm_bindgen]
pub fn live(article: &str, what: u8, n: &[f64]) {
    let at = |i: usize| n.get(i).copied().unwrap_or(-1.0);
    let count = |i: usize| at(i).max(0.0) as u64;
    let id = |i: usize| (at(i) >= 0.0).then(|| CommentId(at(i) as i64));
    feed(article).update(|feed| match what {
        0 => {
            feed.counts = Some(ReactionCounts {
                like: count(0),
                laugh: count(1),
                surprised: count(2),
                angry: count(3),
                sad: count(4),
            })
        }
        1 => feed.head = Some((count(0), id(1))),
        // Past the cap a removal waits for the next page load.
        2 if feed.removed.len() < REMOVED_MAX => feed.removed.extend(id(0)),
        2 => {}
        _ => feed.told = (feed.told.1, feed.counts, feed.head),
    });
}

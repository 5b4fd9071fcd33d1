//! The first pass's picture of a file: every comment in a few dozen bytes (never its text), so that a
//! million comments fit in well under 100 MB. From it each comment gets, before anything is written, its
//! fate (kept, a placeholder, skipped and why), its parent, its otklik id and its place in its thread.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash as _, Hasher as _};

use otklik_api::limits::REPLY_DEPTH_MAX;

use super::State;
use crate::store::transfer::{ArticleRow, Placement};

/// A comment's fate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Visible,
    Pending,
    Hidden,
    /// Deleted at the source; a placeholder once something under it is kept, else skipped.
    Deleted,
    /// Not imported; the reason is `Plan::reasons[n]`.
    Skipped(u8),
}

const EXISTING: u8 = 1;
const ORPHAN: u8 = 2;
/// `up`'s path without its last segment is this one's prefix (an existing comment at the deepest level).
const UP_SIBLINGS: u8 = 4;
const KEPT: u8 = 8;
/// An earlier import's comment that is not in the file, standing in as a reply's parent.
const OUTSIDE: u8 = 16;

/// One comment, in file order: 16 bytes (its key, its time and its id are kept beside, each only for as
/// long as it is needed).
pub struct Node {
    pub article: u32,
    /// The parent's index + 1 (0: none).
    pub parent: u32,
    /// The index + 1 of the comment whose path begins this one's (0: none, a thread's first comment).
    pub up: u32,
    pub fate: Fate,
    /// The depth it is stored at (replies below the deepest level sit beside their parent).
    pub depth: u8,
    flags: u8,
}

impl Node {
    pub fn existing(&self) -> bool {
        self.flags & EXISTING != 0
    }

    /// To be written by this import.
    pub fn new_kept(&self) -> bool {
        self.flags & (KEPT | EXISTING) == KEPT
    }
}

/// The hash a comment is known by: its source's name and its id there.
pub fn key(source: &str, id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    source.hash(&mut h);
    id.hash(&mut h);
    h.finish().max(1)
}

/// What the first pass knows.
#[derive(Default)]
pub struct Plan {
    pub articles: Vec<ArticleRow>,
    pub nodes: Vec<Node>,
    /// Each node's otklik id, from [`Plan::resolve`]: an existing comment's, or the one handed out.
    pub ids: Vec<i64>,
    /// Each node's key (the hash of its source and its id there), until [`Plan::forget_keys`].
    keys: Vec<u64>,
    /// Each node's time, until [`Plan::order`].
    created: Vec<i64>,
    /// Each node's parent's key (0: none) until [`Plan::resolve`].
    parent_keys: Vec<u64>,
    pub reasons: Vec<&'static str>,
    /// Node indexes sorted by key, until [`Plan::forget_keys`].
    sorted: Vec<u32>,
    /// Replies whose parent is not in the file, by the parent's key (sorted), until [`Plan::forget_keys`]:
    /// an earlier import may have brought it.
    outside: Vec<(u64, u32)>,
    /// Existing comments that new ones answer: where they sit.
    pub placements: HashMap<u32, Placement>,
}

/// What the plan says of the file, for the report.
#[derive(Debug, Default)]
pub struct Tally {
    pub new: u64,
    pub existing: u64,
    pub orphans: u64,
    pub placeholders: u64,
    pub skipped: BTreeMap<&'static str, u64>,
    pub articles: u64,
}

impl Plan {
    pub fn reason(&mut self, why: &'static str) -> Fate {
        let at = self.reasons.iter().position(|r| *r == why).unwrap_or_else(|| {
            self.reasons.push(why);
            self.reasons.len() - 1
        });
        Fate::Skipped(at.min(255) as u8)
    }

    pub fn push(&mut self, key: u64, parent: Option<u64>, article: u32, created: i64, state: State) {
        let fate = match state {
            State::Visible => Fate::Visible,
            State::Pending => Fate::Pending,
            State::Hidden => Fate::Hidden,
            State::Deleted => Fate::Deleted,
            State::Skipped(why) => self.reason(why),
        };
        self.nodes.push(Node { article, parent: 0, up: 0, fate, depth: 0, flags: 0 });
        self.keys.push(key);
        self.created.push(created);
        self.parent_keys.push(parent.unwrap_or(0));
    }

    /// Finds duplicates and parents (a parent that is missing, skipped or on another thread makes its
    /// reply an orphan, placed at the top of its thread).
    pub fn resolve(&mut self) {
        self.sorted = (0..self.nodes.len() as u32).collect();
        let keys = &self.keys;
        self.sorted.sort_unstable_by_key(|i| (keys[*i as usize], *i));
        for pair in 1..self.sorted.len() {
            let (earlier, later) = (self.sorted[pair - 1] as usize, self.sorted[pair] as usize);
            if self.keys[earlier] == self.keys[later] {
                self.nodes[later].fate = self.reason("duplicate");
            }
        }
        let parent_keys = std::mem::take(&mut self.parent_keys);
        for (i, parent_key) in parent_keys.iter().copied().enumerate() {
            if parent_key == 0 || matches!(self.nodes[i].fate, Fate::Skipped(_)) {
                continue;
            }
            let Some(found) = self.find(parent_key) else {
                self.nodes[i].flags |= ORPHAN;
                self.outside.push((parent_key, i as u32));
                continue;
            };
            let node = &self.nodes[found as usize];
            if found as usize != i && node.article == self.nodes[i].article && !matches!(node.fate, Fate::Skipped(_)) {
                self.nodes[i].parent = found + 1;
            } else {
                self.nodes[i].flags |= ORPHAN;
            }
        }
        drop(parent_keys);
        self.outside.sort_unstable();
        self.ids = vec![0; self.nodes.len()];
    }

    fn find(&self, key: u64) -> Option<u32> {
        let at = self.sorted.partition_point(|i| self.keys[*i as usize] < key);
        self.sorted.get(at).copied().filter(|i| self.keys[*i as usize] == key)
    }

    /// A comment an earlier import stored: it is not written again, and new replies may hang under it.
    pub fn existing(&mut self, key: u64, id: i64) {
        if let Some(i) = self.find(key) {
            self.ids[i as usize] = id;
            self.nodes[i as usize].flags |= EXISTING | KEPT;
        }
        // Replies in this file to it, which is not: it stands in as their parent (a node of its own, on the
        // first reply's article until its placement says where it is: see `check_outside`).
        let from = self.outside.partition_point(|(k, _)| *k < key);
        let replies = self.outside[from..].iter().take_while(|(k, _)| *k == key).map(|(_, i)| *i as usize);
        let mut stand_in = None;
        for reply in replies.collect::<Vec<_>>() {
            let article = self.nodes[reply].article;
            let p = *stand_in.get_or_insert_with(|| {
                self.nodes.push(Node {
                    article,
                    parent: 0,
                    up: 0,
                    fate: Fate::Visible,
                    depth: 0,
                    flags: EXISTING | KEPT | OUTSIDE,
                });
                self.ids.push(id);
                self.keys.push(key);
                self.created.push(i64::MIN);
                self.nodes.len() as u32
            });
            if self.nodes[p as usize - 1].article == article {
                self.nodes[reply].parent = p;
                self.nodes[reply].flags &= !ORPHAN;
            }
        }
    }

    /// Earlier imports' comments standing in as parents: a reply stays under one only where it is on the
    /// same article (the file may say otherwise); others go back to the top of their thread.
    pub fn check_outside(&mut self) {
        for i in 0..self.nodes.len() {
            let p = self.nodes[i].parent;
            if p == 0 || self.nodes[p as usize - 1].flags & OUTSIDE == 0 {
                continue;
            }
            let here = &self.articles[self.nodes[i].article as usize].key;
            let same = self.placements.get(&(p - 1)).is_some_and(|pl| &pl.article == here);
            if !same {
                self.nodes[i].parent = 0;
                self.nodes[i].flags |= ORPHAN;
            }
        }
    }

    /// What was known by key is known by index from here.
    pub fn forget_keys(&mut self) {
        self.sorted = Vec::new();
        self.keys = Vec::new();
        self.outside = Vec::new();
    }

    /// Breaks parent cycles (a file can say anything), decides which deleted comments stay as
    /// placeholders, and answers each node's depth from its thread's top (`u32::MAX` for skipped ones).
    pub fn settle(&mut self) -> Vec<u32> {
        const UNKNOWN: u32 = u32::MAX;
        let n = self.nodes.len();
        let mut depth = vec![UNKNOWN; n];
        let mut walk = Vec::new();
        for start in 0..n {
            if depth[start] != UNKNOWN || matches!(self.nodes[start].fate, Fate::Skipped(_)) {
                continue;
            }
            // Up to an ancestor whose depth is known or a thread's top; a node met twice is a cycle.
            walk.clear();
            let mut at = start;
            loop {
                walk.push(at);
                let parent = self.nodes[at].parent;
                if parent == 0 {
                    depth[at] = 0;
                    walk.pop();
                    break;
                }
                let p = parent as usize - 1;
                if depth[p] != UNKNOWN {
                    break;
                }
                if walk.contains(&p) || walk.len() > n {
                    // A cycle: the one that closes it goes to the top of its thread.
                    self.nodes[at].parent = 0;
                    self.nodes[at].flags |= ORPHAN;
                    depth[at] = 0;
                    walk.pop();
                    break;
                }
                at = p;
            }
            while let Some(i) = walk.pop() {
                let p = self.nodes[i].parent as usize - 1;
                depth[i] = depth[p] + 1;
            }
        }
        // Kept: what is not deleted or skipped, every existing comment, and a deleted one with anything
        // kept below it.
        for i in 0..n {
            let node = &self.nodes[i];
            let kept = node.existing() || matches!(node.fate, Fate::Visible | Fate::Pending | Fate::Hidden);
            if !kept {
                continue;
            }
            let mut at = i;
            loop {
                if self.nodes[at].flags & KEPT != 0 && at != i {
                    break;
                }
                self.nodes[at].flags |= KEPT;
                match self.nodes[at].parent {
                    0 => break,
                    p => at = p as usize - 1,
                }
            }
        }
        let deleted = self.reason("deleted");
        for node in &mut self.nodes {
            if node.flags & KEPT == 0 && node.fate == Fate::Deleted {
                node.fate = deleted;
            }
        }
        depth
    }
}

impl Plan {
    /// The new comments' order of ids: article by article (so that, written in id order, each thread's
    /// index entries are written together), by time within an article, a reply never before what it
    /// answers (even when the source's clocks say otherwise). Answers the new comments' indexes in that
    /// order.
    pub fn order(&mut self, depth: &[u32]) -> Vec<u32> {
        // Each comment's time, raised to its parent's where the parent is later (parents first, in place).
        let mut when = std::mem::take(&mut self.created);
        let n = self.nodes.len();
        let mut by_depth: Vec<u32> = (0..n as u32).filter(|i| self.nodes[*i as usize].flags & KEPT != 0).collect();
        by_depth.sort_unstable_by_key(|i| depth[*i as usize]);
        for &i in &by_depth {
            if let p @ 1.. = self.nodes[i as usize].parent {
                when[i as usize] = when[i as usize].max(when[p as usize - 1]);
            }
        }
        let mut order: Vec<u32> = by_depth.into_iter().filter(|i| self.nodes[*i as usize].new_kept()).collect();
        order.sort_unstable_by_key(|i| (self.nodes[*i as usize].article, when[*i as usize], depth[*i as usize], *i));
        order
    }

    /// Each new comment's stored depth and the comment its path starts from, in `order` (parents first).
    pub fn place(&mut self, order: &[u32]) {
        let max = REPLY_DEPTH_MAX as u8;
        for &i in order {
            let i = i as usize;
            let parent = self.nodes[i].parent;
            if parent == 0 {
                self.nodes[i].depth = 0;
                self.nodes[i].up = 0;
                continue;
            }
            let p = parent as usize - 1;
            let (p_depth, p_up, p_flags) = if self.nodes[p].existing() {
                let depth = self.placements.get(&(p as u32)).map_or(0, |pl| pl.depth.clamp(0, 255) as u8);
                // Below an existing comment at the deepest level, a reply's path is its siblings'.
                (depth, parent, if depth >= max { UP_SIBLINGS } else { 0 })
            } else {
                (self.nodes[p].depth, self.nodes[p].up, self.nodes[p].flags & UP_SIBLINGS)
            };
            let node = &mut self.nodes[i];
            if p_depth >= max {
                node.depth = max;
                node.up = p_up;
                node.flags |= p_flags;
            } else {
                node.depth = p_depth + 1;
                node.up = parent;
                node.flags &= !UP_SIBLINGS;
            }
        }
    }

    /// The thread path of node `i` (ids zero-padded, root first), and its root's id.
    pub fn path(&self, i: usize) -> (String, i64) {
        let node = &self.nodes[i];
        let own = segment(self.ids[i]);
        match node.up {
            0 => (own, self.ids[i]),
            up => {
                let u = up as usize - 1;
                let (mut prefix, root) = if self.nodes[u].existing() {
                    let pl = self.placements.get(&(u as u32));
                    (
                        pl.map(|p| p.path.clone()).unwrap_or_else(|| segment(self.ids[u])),
                        pl.map_or(self.ids[u], |p| p.root),
                    )
                } else {
                    self.path(u)
                };
                if node.flags & UP_SIBLINGS != 0
                    && let Some((above, _)) = prefix.rsplit_once('/')
                {
                    prefix.truncate(above.len());
                }
                (format!("{prefix}/{own}"), root)
            }
        }
    }

    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        let mut articles = std::collections::HashSet::new();
        for node in &self.nodes {
            match node.fate {
                Fate::Skipped(r) if !node.existing() => {
                    *tally.skipped.entry(self.reasons[r as usize]).or_default() += 1;
                    continue;
                }
                _ => {}
            }
            if node.flags & OUTSIDE != 0 {
                continue;
            }
            articles.insert(node.article);
            if node.existing() {
                tally.existing += 1;
            } else {
                tally.new += 1;
                tally.orphans += u64::from(node.flags & ORPHAN != 0);
                tally.placeholders += u64::from(node.fate == Fate::Deleted);
            }
        }
        tally.articles = articles.len() as u64;
        tally
    }
}

fn segment(id: i64) -> String {
    format!("{id:012}")
}

//! Cached first pages of threads, kept exact by a generation per article that every committed comment
//! write bumps (on PostgreSQL also the writes of other nodes, as they are announced).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otklik_api::CommentPage;

/// Readers kept beside a cached page (hashes).
pub type ReaderSet = HashSet<[u8; 16]>;

/// Article, order and page size of a cached first page.
pub type PageKey = (String, otklik_api::CommentSort, usize);

/// First pages of threads, without any reader's likes or own comments, per (article, order, size).
///
/// Correctness rests on a generation per article that the writer bumps after every committed comment
/// write: a page is stored only if its article's generation did not move while it was being read, so a
/// page read before a commit can never be stored after it, and entries older than a bump are ignored.
#[derive(Default)]
pub struct PageCache {
    epoch: u64,
    generations: HashMap<String, u64>,
    pages: HashMap<PageKey, (u64, Instant, Arc<CachedPage>)>,
    /// Pages older than this are read again: a backstop where changes are heard from other processes,
    /// which a lost connection could keep from being heard.
    max_age: Option<Duration>,
    /// One turn per page being read, so that readers who all miss it at once (it aged, or a comment was
    /// posted) wait for one read of the database instead of each making their own.
    turns: HashMap<PageKey, Turn>,
}

/// The right to read one page from the database: whoever holds it reads; the others wait, then look again.
pub type Turn = Arc<tokio::sync::Mutex<()>>;

/// A first page as everyone sees it, and every reader who wrote or liked a comment on the article (only
/// they need their likes and authorship looked up). Both were read under the same generation.
pub struct CachedPage {
    pub page: CommentPage,
    pub active: ReaderSet,
    /// Readers with comments awaiting moderation on the article.
    pub pending: ReaderSet,
}

impl CachedPage {
    /// The page as one reader sees it: `liked` and `mine` are the ids of its comments they like and wrote.
    pub fn for_reader(&self, liked: &[i64], mine: &[i64]) -> CommentPage {
        let mut page = self.page.clone();
        for c in &mut page.comments {
            c.liked = liked.contains(&c.id.0);
            c.mine = mine.contains(&c.id.0);
            c.editable_until = c.mine.then_some(c.created + otklik_api::limits::EDIT_WINDOW_SECS);
        }
        page
    }
}

/// Entries kept before the cache starts over (a crude bound; hot articles refill it at once).
pub const PAGE_CACHE_MAX: usize = 4_096;

impl PageCache {
    /// A cache whose pages are read again once they are `max_age` old, whatever else happens.
    pub fn aging(max_age: Duration) -> Self {
        Self { max_age: Some(max_age), ..Self::default() }
    }

    /// Both parts only grow, so their sum changes whenever either does.
    pub fn generation(&self, article: &str) -> u64 {
        self.epoch + self.generations.get(article).copied().unwrap_or(0)
    }

    /// The article's current generation, and the cached page if it is of that generation.
    pub fn get(&self, key: &PageKey) -> (u64, Option<Arc<CachedPage>>) {
        let generation = self.generation(&key.0);
        let fresh = |at: &Instant| self.max_age.is_none_or(|age| at.elapsed() < age);
        let page = self.pages.get(key).filter(|(g, at, _)| *g == generation && fresh(at)).map(|(.., p)| p.clone());
        (generation, page)
    }

    pub fn put(&mut self, key: PageKey, generation: u64, page: Arc<CachedPage>) {
        if self.generation(&key.0) != generation {
            return;
        }
        if self.pages.len() >= PAGE_CACHE_MAX {
            self.pages.clear();
        }
        self.pages.insert(key, (generation, Instant::now(), page));
    }

    /// The turn to read `key`'s page (wait for it with `lock`, then look in the cache again).
    pub fn turn(&mut self, key: &PageKey) -> Turn {
        self.turns.entry(key.clone()).or_default().clone()
    }

    /// Gives back a turn taken with `turn`; the last one out forgets it.
    pub fn done(&mut self, key: &PageKey, turn: Turn) {
        // The map's reference and this one: nobody else is waiting (others take theirs under this lock).
        if Arc::strong_count(&turn) <= 2 {
            self.turns.remove(key);
        }
    }

    /// Every article changed (moderation): a new epoch makes every generation new.
    pub fn changed_all(&mut self) {
        self.epoch += 1;
        self.pages.clear();
    }

    pub fn changed(&mut self, article: &str) {
        *self.generations.entry(article.to_owned()).or_default() += 1;
        if self.generations.len() > 16 * PAGE_CACHE_MAX {
            // Forgetting generations would let old pages look current: drop the pages with them, and move
            // the epoch past every generation forgotten so that none can come round again.
            self.epoch += self.generations.values().max().copied().unwrap_or(0) + 1;
            self.generations.clear();
            self.pages.clear();
        }
    }
}

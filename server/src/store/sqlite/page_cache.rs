//! Cached first pages of threads, kept exact by a generation per article that the writer bumps.

use super::*;

/// Article, order and page size of a cached first page.
pub(super) type PageKey = (String, otklik_api::CommentSort, usize);

/// First pages of threads, without any reader's likes or own comments, per (article, order, size).
///
/// Correctness rests on a generation per article that the writer bumps after every committed comment
/// write: a page is stored only if its article's generation did not move while it was being read, so a
/// page read before a commit can never be stored after it, and entries older than a bump are ignored.
#[derive(Default)]
pub(super) struct PageCache {
    pub(super) epoch: u64,
    pub(super) generations: HashMap<String, u64>,
    pub(super) pages: HashMap<PageKey, (u64, Arc<CachedPage>)>,
}

/// A first page as everyone sees it, and every reader who wrote or liked a comment on the article (only
/// they need their likes and authorship looked up). Both were read under the same generation.
pub(super) struct CachedPage {
    pub(super) page: CommentPage,
    pub(super) active: comments::ReaderSet,
    /// Readers with comments awaiting moderation on the article.
    pub(super) pending: comments::ReaderSet,
}

/// Entries kept before the cache starts over (a crude bound; hot articles refill it at once).
pub(super) const PAGE_CACHE_MAX: usize = 4_096;

impl PageCache {
    /// Both parts only grow, so their sum changes whenever either does.
    pub(super) fn generation(&self, article: &str) -> u64 {
        self.epoch + self.generations.get(article).copied().unwrap_or(0)
    }

    /// The article's current generation, and the cached page if it is of that generation.
    pub(super) fn get(&self, key: &PageKey) -> (u64, Option<Arc<CachedPage>>) {
        let generation = self.generation(&key.0);
        let page = self.pages.get(key).filter(|(g, _)| *g == generation).map(|(_, p)| p.clone());
        (generation, page)
    }

    pub(super) fn put(&mut self, key: PageKey, generation: u64, page: Arc<CachedPage>) {
        if self.generation(&key.0) != generation {
            return;
        }
        if self.pages.len() >= PAGE_CACHE_MAX {
            self.pages.clear();
        }
        self.pages.insert(key, (generation, page));
    }

    /// Every article changed (moderation): a new epoch makes every generation new.
    pub(super) fn changed_all(&mut self) {
        self.epoch += 1;
        self.pages.clear();
    }

    pub(super) fn changed(&mut self, article: &str) {
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

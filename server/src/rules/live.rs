//! Live updates: what open pages are told as it changes — an article's reaction counts, its visible
//! comment total and newest comment, comments hidden or deleted.
//!
//! One task per node (`run`) hears the store's committed changes (this node's and, on PostgreSQL, every
//! other node's), and for each article someone follows reads its state once and sends it to each of its
//! streams if it differs from what was last sent: a held comment, which changes nothing visible, sends
//! nothing. Changes that arrive while it reads are taken together, so a burst costs one read per article.
//! Each stream has a bounded queue: a stream that falls behind is not waited for, it is told to refetch.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use otklik_api::live::{
    COMMENTS_EVENT, LiveComments, LiveReactions, LiveRemoved, REACTIONS_EVENT, REFETCH_EVENT, REMOVED_EVENT,
};
use otklik_api::{ArticleId, CommentId, ReactionCounts};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::store::{Change, DynStore};

/// Events waiting for one stream at most; a stream further behind is told to refetch.
const STREAM_QUEUE: usize = 32;
/// How far back a resumed stream is replayed (removals, the only events a state does not repeat).
const KEPT_MS: i64 = 5 * 60 * 1000;
/// Removals kept for resuming streams at most, whatever their age.
const KEPT_MAX: usize = 10_000;
/// A resume replays from this much before the id it names: ids are each node's clock, and a stream may
/// resume on another node (a replayed state or removal does no harm).
const RESUME_MARGIN_MS: i64 = 2_000;

/// One event of a stream: its id (milliseconds of the node's clock, increasing), SSE name and JSON data.
#[derive(Debug)]
pub struct Event {
    pub id: i64,
    pub name: &'static str,
    pub data: String,
}

/// The node's live hub; cheap to clone.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

struct Inner {
    store: DynStore,
    streams: Arc<Semaphore>,
    max_streams: usize,
    state: Mutex<State>,
    /// When this node began to hear changes: a resume from before then cannot be replayed.
    started: i64,
}

#[derive(Default)]
struct State {
    next_stream: u64,
    followers: HashMap<String, Vec<Follower>>,
    /// What each followed article's streams were last told.
    sent: HashMap<String, Sent>,
    /// Recent removals, oldest first, for resumes.
    removals: VecDeque<(i64, String, Arc<Event>)>,
    /// The newest removal no longer kept: a resume from before it cannot be replayed.
    forgotten: i64,
    last_id: i64,
}

#[derive(Clone, Copy, Default)]
struct Sent {
    reactions: Option<ReactionCounts>,
    comments: Option<(u64, Option<CommentId>)>,
}

struct Follower {
    stream: u64,
    queue: mpsc::Sender<Arc<Event>>,
    behind: Arc<AtomicBool>,
}

impl Follower {
    /// Queues `event` for the stream, or, if its queue is full, marks it behind: it is never waited for.
    fn offer(&self, event: &Arc<Event>) {
        if self.queue.try_send(event.clone()).is_err() {
            self.behind.store(true, Ordering::Relaxed);
        }
    }
}

/// A reader's stream, following some articles until dropped.
pub struct Stream {
    id: u64,
    articles: Vec<String>,
    live: Live,
    /// Events for this stream, in order.
    pub events: mpsc::Receiver<Arc<Event>>,
    /// Set when an event could not be queued: the stream is to tell its reader to refetch.
    pub behind: Arc<AtomicBool>,
    _slot: OwnedSemaphorePermit,
}

/// Why a stream was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// As many streams are open as the node allows (`OTKLIK_MAX_STREAMS`).
    Full,
}

impl Live {
    pub fn new(store: DynStore, max_streams: usize, now_ms: i64) -> Self {
        let inner = Inner {
            store,
            streams: Arc::new(Semaphore::new(max_streams)),
            max_streams,
            state: Mutex::new(State::default()),
            started: now_ms,
        };
        Self { inner: Arc::new(inner) }
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        self.inner.max_streams.saturating_sub(self.inner.streams.available_permits())
    }

    /// Opens a stream following `articles`. It starts with every article's present state: a page may have
    /// loaded long before its stream opens (streams open only while a widget is on screen). With `resume`
    /// (the `Last-Event-ID` a reconnecting client sends), the removals since then come first; if that gap
    /// reaches further back than this node remembers, the second place is `None`, and the stream is to tell
    /// its client to refetch.
    pub async fn open(
        &self,
        articles: &[ArticleId],
        resume: Option<i64>,
    ) -> Result<(Stream, Option<Vec<Arc<Event>>>), Refused> {
        let slot = self.inner.streams.clone().try_acquire_owned().map_err(|_| Refused::Full)?;
        let (queue, events) = mpsc::channel(STREAM_QUEUE);
        let behind = Arc::new(AtomicBool::new(false));
        let keys: Vec<String> = articles.iter().map(|a| a.as_str().to_owned()).collect();
        let id = {
            let mut state = self.inner.state.lock().expect("live state lock");
            state.next_stream += 1;
            let id = state.next_stream;
            for key in &keys {
                let follower = Follower { stream: id, queue: queue.clone(), behind: behind.clone() };
                state.followers.entry(key.clone()).or_default().push(follower);
            }
            id
        };
        let stream = Stream { id, articles: keys, live: self.clone(), events, behind, _slot: slot };
        self.baseline(articles).await;
        let missed = match resume {
            None => Some(self.present(articles)),
            Some(since) => self.replay(articles, since),
        };
        Ok((stream, missed))
    }

    /// What the streams of newly followed articles are taken to know already (what a page shows once
    /// loaded), so that a change nobody can see (a held comment) sends nothing. Read after the stream
    /// follows them: a change meanwhile is compared with this state or with a newer one, never missed.
    async fn baseline(&self, articles: &[ArticleId]) {
        let new: Vec<ArticleId> = {
            let state = self.inner.state.lock().expect("live state lock");
            articles.iter().filter(|a| !state.sent.contains_key(a.as_str())).cloned().collect()
        };
        if new.is_empty() {
            return;
        }
        let heads = self.inner.store.thread_heads(&new).await.unwrap_or_default();
        for article in new {
            let counts = self.inner.store.reactions(&article, None).await.ok().map(|view| view.counts);
            let mut state = self.inner.state.lock().expect("live state lock");
            let sent = state.sent.entry(article.as_str().to_owned()).or_default();
            sent.reactions = sent.reactions.or(counts);
            sent.comments = sent.comments.or_else(|| heads.get(article.as_str()).copied());
        }
    }

    /// What a stream resuming after event `since` missed: `None` if this node cannot know.
    fn replay(&self, articles: &[ArticleId], since: i64) -> Option<Vec<Arc<Event>>> {
        let from = since - RESUME_MARGIN_MS;
        let mut missed = {
            let state = self.inner.state.lock().expect("live state lock");
            // The client's last event must be one this node heard too (it began to listen after that,
            // or has forgotten removals since).
            if since < self.inner.started || from < state.forgotten {
                return None;
            }
            state
                .removals
                .iter()
                .filter(|(at, article, _)| *at > from && articles.iter().any(|a| a.as_str() == article))
                .map(|(.., event)| event.clone())
                .collect::<Vec<_>>()
        };
        missed.extend(self.present(articles));
        Some(missed)
    }

    /// The present state of each article, as `baseline` or the hub last read it (a state sent twice does no
    /// harm).
    fn present(&self, articles: &[ArticleId]) -> Vec<Arc<Event>> {
        let present: Vec<(String, Sent)> = {
            let state = self.inner.state.lock().expect("live state lock");
            articles.iter().filter_map(|a| Some((a.as_str().to_owned(), *state.sent.get(a.as_str())?))).collect()
        };
        let mut events = Vec::new();
        for (article, Sent { reactions, comments }) in present {
            if let Some(counts) = reactions {
                events.push(self.event(REACTIONS_EVENT, &LiveReactions { article: article.clone(), counts }));
            }
            if let Some((total, newest)) = comments {
                events.push(self.event(COMMENTS_EVENT, &LiveComments { article, total, newest }));
            }
        }
        events
    }

    /// A new event with the next id.
    fn event(&self, name: &'static str, data: &impl serde::Serialize) -> Arc<Event> {
        let now = crate::unix_now_ms();
        let mut state = self.inner.state.lock().expect("live state lock");
        state.last_id = now.max(state.last_id + 1);
        Arc::new(Event { id: state.last_id, name, data: serde_json::to_string(data).expect("serialisable event") })
    }

    /// Articles someone follows, of those given (all followed ones for `None`).
    fn followed(&self, of: Option<&HashSet<String>>) -> Vec<String> {
        let state = self.inner.state.lock().expect("live state lock");
        match of {
            None => state.followers.keys().cloned().collect(),
            Some(of) => of.iter().filter(|a| state.followers.contains_key(*a)).cloned().collect(),
        }
    }

    /// Sends `event` to every stream following `article`; one whose queue is full is marked behind.
    fn publish(&self, article: &str, event: Arc<Event>) {
        let state = self.inner.state.lock().expect("live state lock");
        for follower in state.followers.get(article).into_iter().flatten() {
            follower.offer(&event);
        }
    }

    fn removed(&self, article: String, comment: CommentId) {
        let event = self.event(REMOVED_EVENT, &LiveRemoved { article: article.clone(), comment });
        self.publish(&article, event.clone());
        let mut state = self.inner.state.lock().expect("live state lock");
        let horizon = event.id - KEPT_MS;
        while state.removals.front().is_some_and(|(at, ..)| *at < horizon) || state.removals.len() >= KEPT_MAX {
            if let Some((at, ..)) = state.removals.pop_front() {
                state.forgotten = state.forgotten.max(at);
            }
        }
        state.removals.push_back((event.id, article, event));
    }

    /// Reads the state of `reactions` and `threads` (articles someone follows) and sends what changed.
    async fn refresh(&self, reactions: Vec<String>, threads: Vec<String>) {
        for article in reactions {
            let Ok(id) = ArticleId::parse(&article) else { continue };
            match self.inner.store.reactions(&id, None).await {
                Ok(view) if self.differs(&article, |sent| &mut sent.reactions, view.counts) => {
                    let event =
                        self.event(REACTIONS_EVENT, &LiveReactions { article: article.clone(), counts: view.counts });
                    self.publish(&article, event);
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %format!("{err:#}"), article, "reading counts for live streams"),
            }
        }
        let ids: Vec<ArticleId> = threads.iter().filter_map(|a| ArticleId::parse(a).ok()).collect();
        if ids.is_empty() {
            return;
        }
        match self.inner.store.thread_heads(&ids).await {
            Ok(heads) => {
                for (article, head @ (total, newest)) in heads {
                    if self.differs(&article, |sent| &mut sent.comments, head) {
                        let event =
                            self.event(COMMENTS_EVENT, &LiveComments { article: article.clone(), total, newest });
                        self.publish(&article, event);
                    }
                }
            }
            Err(err) => tracing::warn!(error = %format!("{err:#}"), "reading threads for live streams"),
        }
    }

    /// Records `now` as what `article`'s streams know of one part of it (`part` picks which), answering
    /// whether it differs from what they were told. With nothing to compare with yet, it is the baseline
    /// (see `baseline`) and differs from nothing.
    fn differs<T: PartialEq + Copy>(&self, article: &str, part: fn(&mut Sent) -> &mut Option<T>, now: T) -> bool {
        let mut state = self.inner.state.lock().expect("live state lock");
        let known = part(state.sent.entry(article.to_owned()).or_default());
        let changed = known.is_some_and(|was| was != now);
        *known = Some(now);
        changed
    }

    /// Tells every stream to refetch, and forgets what was sent (and every removal kept for resumes).
    fn refetch_all(&self) {
        let event = self.event(REFETCH_EVENT, &serde_json::json!({}));
        let mut state = self.inner.state.lock().expect("live state lock");
        for follower in state.followers.values().flatten() {
            follower.offer(&event);
        }
        state.sent.clear();
        state.forgotten = event.id;
        state.removals.clear();
    }

    fn close(&self, stream: u64, articles: &[String]) {
        let mut state = self.inner.state.lock().expect("live state lock");
        for article in articles {
            if let Some(followers) = state.followers.get_mut(article) {
                followers.retain(|f| f.stream != stream);
                if followers.is_empty() {
                    state.followers.remove(article);
                    state.sent.remove(article);
                }
            }
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.live.close(self.id, &self.articles);
    }
}

/// The node's live task: hears committed changes until the store closes, and tells the streams.
pub async fn run(live: Live, mut changes: tokio::sync::broadcast::Receiver<Change>) {
    loop {
        let first = match changes.recv().await {
            Ok(change) => change,
            Err(RecvError::Lagged(_)) => Change::Everything,
            Err(RecvError::Closed) => return,
        };
        // Whatever else has arrived meanwhile goes with it.
        let (mut reactions, mut threads, mut all) = (HashSet::new(), HashSet::new(), false);
        let mut next = Some(first);
        while let Some(change) = next.take() {
            match change {
                Change::Reactions(article) => {
                    reactions.insert(article);
                }
                Change::Thread(article) => {
                    threads.insert(article);
                }
                Change::Removed(article, comment) => {
                    live.removed(article.clone(), comment);
                    threads.insert(article);
                }
                Change::Threads => all = true,
                // Changes went unheard: what streams were told may be wrong in ways a state cannot mend.
                Change::Everything => {
                    all = true;
                    live.refetch_all();
                }
                Change::Bans | Change::Outbox => {}
            }
            next = match changes.try_recv() {
                Ok(change) => Some(change),
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => Some(Change::Everything),
                Err(_) => None,
            };
        }
        let (reactions, threads) = if all {
            let every = live.followed(None);
            (every.clone(), every)
        } else {
            (live.followed(Some(&reactions)), live.followed(Some(&threads)))
        };
        live.refresh(reactions, threads).await;
    }
}

//! What imports write and exports read: whole threads moved in batches, and the site read out in one
//! snapshot.
//!
//! The row types are also the lines of otklik's own export format (`otklik export`), so that what is read
//! out is exactly what can be written back.

use std::collections::HashMap;

use async_trait::async_trait;
use futures_util::{Stream, TryStreamExt as _};
use serde::{Deserialize, Serialize};

/// The reader recorded for comments brought from elsewhere: no token hashes to it, so nobody owns them.
pub const NOBODY: [u8; 16] = [0; 16];

/// An article as an import names it: created if missing; an existing one keeps its URL, title and
/// settings, which an import only fills in where they are empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ArticleRow {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Unix seconds; 0 when the source does not say (the import's time is taken).
    #[serde(default)]
    pub created: i64,
    /// `pre` or `post`; absent: the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation: Option<String>,
    #[serde(default)]
    pub closed: bool,
}

/// A comment with its place in its thread already decided (ids, root, depth, path).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub article: String,
    #[serde(default)]
    pub parent: Option<i64>,
    pub root: i64,
    pub depth: i64,
    pub path: String,
    pub author: String,
    pub text: String,
    /// The hex HMAC of the author's reader token (absent for comments brought from other systems): with
    /// the same secret, authors still find their own comments after a move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<String>,
    pub created: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<i64>,
    /// Set for a deleted comment kept as a placeholder (its replies stay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<i64>,
    /// `visible`, `pending` or `hidden`.
    pub status: String,
    #[serde(default)]
    pub likes: i64,
    /// Readers' flags since a moderator last looked, and when that was (absent: never, and the comment
    /// is in the moderators' queue of unreviewed comments).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flags: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<i64>,
    /// Where the comment was imported from and its id there (absent for comments written on otklik).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// An article's reaction counts, in [`otklik_api::ReactionKind`] order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReactionsRow {
    pub article: String,
    pub counts: [i64; 5],
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypoRow {
    pub id: i64,
    pub article: String,
    pub fragment: String,
    pub before: String,
    pub after: String,
    pub notes: Vec<String>,
    /// `new`, `fixed` or `rejected`.
    pub status: String,
    pub reports: i64,
    pub created: i64,
    pub updated: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BanRow {
    pub id: i64,
    /// `reader`, `ip` or `range`.
    pub kind: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<i64>,
    pub until: i64,
    pub reason: String,
    pub created_by: String,
    pub created: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifted: Option<i64>,
}

/// A moderator account without its password: an imported one cannot sign in until it is made again
/// (`otklik moderator remove NAME`, then `add NAME`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ModeratorRow {
    pub name: String,
    pub created: i64,
}

/// A typo report as both backends read it (the notes as JSON text).
pub type TypoTuple = (i64, String, String, String, String, String, String, i64, i64, i64);

impl From<TypoTuple> for TypoRow {
    fn from((id, article, fragment, before, after, notes, status, reports, created, updated): TypoTuple) -> Self {
        let notes = serde_json::from_str(&notes).unwrap_or_default();
        Self { id, article, fragment, before, after, notes, status, reports, created, updated }
    }
}

/// A ban as both backends read it.
pub type BanTuple = (i64, String, String, Option<i64>, i64, String, String, i64, Option<i64>);

impl From<BanTuple> for BanRow {
    fn from((id, kind, value, epoch, until, reason, created_by, created, lifted): BanTuple) -> Self {
        Self { id, kind, value, epoch, until, reason, created_by, created, lifted }
    }
}

/// Reaction counts read one (article, kind) a row, an article's rows together, gathered per article.
#[derive(Default)]
struct ReactionRows(Option<ReactionsRow>);

impl ReactionRows {
    /// Adds a row; answers the previous article's counts once its rows are over (unless all zero).
    fn push(&mut self, article: String, kind: i64, count: i64) -> Option<ReactionsRow> {
        let done = match &self.0 {
            Some(current) if current.article != article => self.0.take().filter(ReactionsRow::any),
            _ => None,
        };
        let row = self.0.get_or_insert(ReactionsRow { article, counts: [0; 5] });
        if let Some(slot) = usize::try_from(kind).ok().and_then(|k| row.counts.get_mut(k)) {
            *slot = count;
        }
        done
    }

    /// The last article's counts.
    fn finish(self) -> Option<ReactionsRow> {
        self.0.filter(ReactionsRow::any)
    }
}

impl ReactionsRow {
    fn any(&self) -> bool {
        self.counts.iter().any(|c| *c > 0)
    }
}

/// What an export's `each` is handed, line by line.
pub type Lines<'a> = &'a mut (dyn FnMut(SiteRow) -> anyhow::Result<()> + Send);

/// Hands each row an export query answers on as a line, in the query's order.
pub async fn forward<T>(
    mut rows: impl Stream<Item = Result<T, sqlx::Error>> + Unpin,
    line: impl Fn(T) -> SiteRow,
    each: Lines<'_>,
) -> anyhow::Result<()> {
    while let Some(row) = rows.try_next().await? {
        each(line(row))?;
    }
    Ok(())
}

/// The reaction counts as lines, one per article (with any count above zero), from rows of article,
/// kind and count in article order.
pub async fn forward_reactions(
    mut rows: impl Stream<Item = Result<(String, i64, i64), sqlx::Error>> + Unpin,
    each: Lines<'_>,
) -> anyhow::Result<()> {
    let mut grouped = ReactionRows(None);
    while let Some((article, kind, count)) = rows.try_next().await? {
        if let Some(done) = grouped.push(article, kind, count) {
            each(SiteRow::Reactions(done))?;
        }
    }
    if let Some(last) = grouped.finish() {
        each(SiteRow::Reactions(last))?;
    }
    Ok(())
}

/// How much the comments an import added move the counts: visible comments count on their article
/// (by key), visible replies on their thread's root.
pub fn count_deltas<'a>(added: impl IntoIterator<Item = &'a CommentRow>) -> (HashMap<&'a str, i64>, HashMap<i64, i64>) {
    let mut per_article: HashMap<&str, i64> = HashMap::new();
    let mut per_root: HashMap<i64, i64> = HashMap::new();
    for c in added.into_iter().filter(|c| c.status == "visible" && c.deleted.is_none()) {
        *per_article.entry(c.article.as_str()).or_default() += 1;
        if c.depth > 0 {
            *per_root.entry(c.root).or_default() += 1;
        }
    }
    (per_article, per_root)
}

/// One line of the export after its header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SiteRow {
    Article(ArticleRow),
    Comment(CommentRow),
    Reactions(ReactionsRow),
    Typo(TypoRow),
    Ban(BanRow),
    Moderator(ModeratorRow),
}

/// Comments an import stores in one transaction, with the articles they are on.
#[derive(Debug, Default)]
pub struct ImportBatch {
    /// Each comment's `source` (`disqus`, `wordpress`, ...) and `source_id` identify it for good.
    pub articles: Vec<ArticleRow>,
    /// In id order: a reply's parent is stored before it, in this batch or an earlier one.
    pub comments: Vec<CommentRow>,
}

/// Where an already stored comment sits in its thread: what a new reply to it needs.
#[derive(Clone, Debug)]
pub struct Placement {
    pub id: i64,
    /// Its article's id (key).
    pub article: String,
    pub root: i64,
    pub depth: i64,
    pub path: String,
}

/// Comment ids set aside for an import's new comments, in increasing order.
#[derive(Debug)]
pub enum IdBlock {
    /// `first`, `first + 1`, ... (SQLite hands out ids itself).
    Range { first: i64 },
    /// Taken one by one from a sequence other nodes share: increasing, not necessarily contiguous.
    Listed(Vec<i64>),
}

impl IdBlock {
    /// The id of the `n`th new comment.
    pub fn get(&self, n: usize) -> i64 {
        match self {
            Self::Range { first } => first + n as i64,
            Self::Listed(ids) => ids[n],
        }
    }
}

/// Held while an import runs; dropped, it lets the next one in.
pub type ImportLock = Box<dyn std::any::Any + Send>;

#[async_trait]
pub trait TransferStore: Send + Sync {
    /// One import at a time per database, held from before it asks what earlier imports brought until
    /// its last batch: two at once would each take the other's comments for new. Refused (not waited
    /// for) when another import holds it.
    async fn lock_imports(&self) -> anyhow::Result<ImportLock>;

    /// Every comment already imported from `source`: (source id, comment id), in no particular order.
    async fn imported(
        &self,
        source: &str,
        each: &mut (dyn FnMut(String, i64) -> anyhow::Result<()> + Send),
    ) -> anyhow::Result<()>;

    /// Where these stored comments sit (missing ones are left out).
    async fn placements(&self, ids: &[i64]) -> anyhow::Result<Vec<Placement>>;

    /// Sets aside `n` comment ids that no writer will hand out.
    async fn reserve_comment_ids(&self, n: usize) -> anyhow::Result<IdBlock>;

    /// Whether none of these ids is taken (an import of otklik's own export keeps its ids when so).
    async fn ids_free(&self, ids: &[i64]) -> anyhow::Result<bool>;

    /// Stores a batch in one transaction, adding only what is not there yet (by source and source id),
    /// moving every count, and telling running servers that the threads changed. Answers how many
    /// comments were added.
    async fn import_batch(&self, batch: &ImportBatch) -> anyhow::Result<u64>;

    /// Stores what else an otklik export holds, adding only what is not there: reaction counts of
    /// articles that have none, typo reports and bans (with their ids when `keep_ids` and the tables are
    /// empty, else new ones, skipping exact copies), moderators whose name is free (without a password).
    /// Answers how many rows were added.
    async fn import_site_rows(&self, rows: &[SiteRow]) -> anyhow::Result<u64>;

    /// Reads the whole site in one consistent snapshot, in the export's order: articles, comments (parents
    /// first), reaction counts, typo reports, bans, moderators.
    async fn export(&self, each: Lines<'_>) -> anyhow::Result<()>;
}

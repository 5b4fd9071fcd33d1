//! `otklik import`: two passes over the file. The first reads everything and decides everything (and is
//! all that `--dry-run` does), so that a file that is not what it claims, or is cut short, is refused
//! before anything is written. The second reads it again and writes the comments in batches, each one
//! transaction that adds only what is not there yet: an import interrupted is finished by running it
//! again, and an import run twice adds nothing the second time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context as _, bail, ensure};
use otklik_api::limits::AUTHOR_MAX;
use serde::Serialize;

use super::plan::{self, Fate, Plan};
use super::progress::{Progress, Reporter};
use super::stage::Stage;
use super::{Comment, Format, KeyKind, Record, State, Thread, article_key, url_path, url_without_scheme};
use crate::store::DynStore;
use crate::store::transfer::{ArticleRow, CommentRow, ImportBatch, SiteRow};

/// Comments per transaction: large enough to be fast, small enough that a running server's writes wait
/// for one only briefly (tens of milliseconds).
const BATCH: usize = 5_000;
/// Longest text kept, in characters: far above what the widget accepts, but bounded.
const TEXT_MAX: usize = 65_536;

#[derive(Debug, Default)]
pub struct ImportOptions {
    /// `--key`: which of a thread's names becomes its article id.
    pub key: Option<String>,
    /// `--map`: `source key,article id` lines.
    pub map: Option<PathBuf>,
    /// `--site`: the address Isso's paths are on.
    pub site: Option<String>,
    pub dry_run: bool,
}

/// What an import did (printed always; written as JSON with `--report`).
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub file: String,
    pub dry_run: bool,
    /// Threads in the file, and the articles that have comments from it.
    pub threads: u64,
    pub articles: u64,
    /// Comments written by this run (with `--dry-run`: that would be written).
    pub imported: u64,
    /// Comments an earlier import already brought.
    pub already_present: u64,
    /// Comments not imported, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Replies whose parent is missing, attached to the top of their thread.
    pub orphans: u64,
    /// Deleted comments kept, empty, for the replies under them.
    pub placeholders: u64,
    /// Threads whose chosen key was missing, keyed by their link instead.
    pub keyed_by_link: u64,
    /// otklik's own export: reaction counts, typo reports, bans and moderators added.
    pub other_rows: u64,
    pub seconds: f64,
    pub comments_per_second: f64,
    /// The process's peak resident memory, in MB (Linux).
    pub peak_memory_mb: Option<f64>,
}

impl Report {
    /// The report for people.
    pub fn text(&self) -> String {
        let mut lines = vec![
            format!(
                "{} import of {}{}",
                self.format,
                self.file,
                if self.dry_run { " (dry run: nothing was written)" } else { "" }
            ),
            format!("  threads in the file:    {}", self.threads),
            format!("  articles with comments: {}", self.articles),
            format!("  comments imported:      {}", self.imported),
            format!("  already present:        {}", self.already_present),
            format!("  orphans (at the top):   {}", self.orphans),
            format!("  deleted, kept as placeholders: {}", self.placeholders),
        ];
        let skipped: u64 = self.skipped.values().sum();
        let reasons: Vec<String> = self.skipped.iter().map(|(why, n)| format!("{why} {n}")).collect();
        lines.push(format!(
            "  skipped:                {skipped}{}",
            if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) }
        ));
        if self.keyed_by_link > 0 {
            lines.push(format!("  threads keyed by their link (no identifier): {}", self.keyed_by_link));
        }
        if self.other_rows > 0 {
            lines.push(format!("  reactions, typo reports, bans, moderators: {}", self.other_rows));
        }
        lines.push(format!("  time: {:.1} s ({:.0} comments/s)", self.seconds, self.comments_per_second));
        lines.join("\n")
    }
}

/// Imports `path`, read as `format`, into `store`.
pub async fn run(store: DynStore, format: Format, path: &Path, options: ImportOptions) -> anyhow::Result<Report> {
    let started = Instant::now();
    let key = match &options.key {
        None => format.keys()[0],
        Some(raw) => KeyKind::parse(raw).filter(|k| format.keys().contains(k)).with_context(|| {
            let offered: Vec<&str> = format.keys().iter().map(|k| k.name()).collect();
            format!("--key {raw}: {} threads are keyed by {}", format.source(), offered.join(", "))
        })?,
    };
    ensure!(
        format != Format::Otklik || (options.key.is_none() && options.map.is_none()),
        "an otklik export keeps its article ids: --key and --map do not apply"
    );
    let map = match &options.map {
        Some(file) => read_map(file)?,
        None => HashMap::new(),
    };
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();

    // The first pass: everything read and decided, nothing written.
    let first = Arc::new(Progress::default());
    let reporter = Reporter::start("reading", size, first.clone());
    let mut gather = Gather::new(format, key, map);
    let gathered = tokio::task::spawn_blocking({
        let path = path.to_owned();
        let site = options.site.clone();
        let first = first.clone();
        move || {
            format.read(&path, site.as_deref(), &first.bytes, &mut |record| {
                if matches!(record, Record::Comment(_)) {
                    first.items.fetch_add(1, Ordering::Relaxed);
                }
                gather.record(record)
            })?;
            anyhow::Ok(gather)
        }
    })
    .await?;
    reporter.finish();
    let mut gather = gathered.with_context(|| format!("{} is refused; nothing was written", path.display()))?;
    gather.plan.resolve();
    for source in gather.sources.clone() {
        let plan = &mut gather.plan;
        store
            .imported(&source, &mut |id, comment| {
                plan.existing(plan::key(&source, &id), comment);
                Ok(())
            })
            .await
            .context("reading what earlier imports brought")?;
    }
    gather.plan.forget_keys();
    let depth = gather.plan.settle();
    let order = gather.plan.order(&depth);
    drop(depth);
    // Existing comments that new ones answer: their places in their threads.
    let wanted: Vec<(u32, i64)> = order
        .iter()
        .filter_map(|i| match gather.plan.nodes[*i as usize].parent {
            0 => None,
            p if gather.plan.nodes[p as usize - 1].existing() => Some((p - 1, gather.plan.nodes[p as usize - 1].id)),
            _ => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !wanted.is_empty() {
        let by_id: HashMap<i64, u32> = wanted.iter().map(|(i, id)| (*id, *i)).collect();
        let ids: Vec<i64> = by_id.keys().copied().collect();
        for placement in store.placements(&ids).await? {
            if let Some(i) = by_id.get(&placement.id) {
                gather.plan.placements.insert(*i, placement);
            }
        }
    }
    let tally = gather.plan.tally();
    let mut report = Report {
        format: format.source(),
        file: path.display().to_string(),
        dry_run: options.dry_run,
        threads: gather.threads,
        articles: tally.articles,
        imported: tally.new,
        already_present: tally.existing,
        skipped: tally.skipped,
        orphans: tally.orphans,
        placeholders: tally.placeholders,
        keyed_by_link: gather.keyed_by_link,
        ..Report::default()
    };
    if options.dry_run {
        return Ok(finish(report, started));
    }

    // Ids: otklik's own export keeps its ids where none is taken; otherwise a block is set aside.
    let kept_ids: Vec<i64> = order.iter().filter_map(|i| gather.kept_ids.get(i).copied()).collect();
    let keep = format == Format::Otklik && kept_ids.len() == order.len() && store.ids_free(&kept_ids).await?;
    let block = if keep { None } else { Some(store.reserve_comment_ids(order.len()).await?) };
    for (rank, &i) in order.iter().enumerate() {
        let id = match &block {
            Some(block) => block.get(rank),
            None => gather.kept_ids[&i],
        };
        gather.plan.nodes[i as usize].id = id;
    }
    gather.plan.place(&order);

    // The second pass: the same file again, its new comments set aside by id, then written in id order.
    let second = Arc::new(Progress::default());
    let reporter = Reporter::start("importing", size, second.clone());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(1);
    let plan = Arc::new(gather.plan);
    let articles = Arc::new(gather.articles_by_thread);
    let reader = tokio::task::spawn_blocking({
        let path = path.to_owned();
        let site = options.site.clone();
        let second = second.clone();
        let plan = plan.clone();
        move || {
            let stage = Stage::create(plan.nodes.len())?;
            let mut writer = Writing {
                format,
                plan: &plan,
                articles: &articles,
                tx,
                batch: Batch::default(),
                stage,
                index: 0,
                now: crate::unix_now(),
            };
            format.read(&path, site.as_deref(), &second.bytes, &mut |record| {
                if matches!(record, Record::Comment(_)) {
                    second.items.fetch_add(1, Ordering::Relaxed);
                }
                writer.record(record)
            })?;
            writer.flush()?;
            anyhow::Ok(writer.stage)
        }
    });
    let mut other_rows = 0u64;
    let mut failure = None;
    // otklik's own articles (with their settings, comments or not) and its other rows go at once.
    while let Some(batch) = rx.recv().await {
        let result = async {
            if !batch.articles.is_empty() {
                store.import_batch(&ImportBatch { articles: batch.articles, comments: Vec::new() }).await?;
            }
            if !batch.site.is_empty() {
                other_rows += store.import_site_rows(&batch.site).await?;
            }
            anyhow::Ok(())
        }
        .await;
        if let Err(err) = result {
            failure = Some(err);
            break;
        }
    }
    drop(rx);
    let read = reader.await?;
    reporter.finish();
    if let Some(err) = failure {
        return Err(err.context("importing stopped before any comment was written; run it again"));
    }
    let mut stage =
        read.with_context(|| format!("{} changed while it was imported; run the import again", path.display()))?;

    // The comments, in id order.
    let third = Arc::new(Progress::default());
    let reporter = Reporter::start("writing", 0, third.clone());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ImportBatch>(1);
    let reader = tokio::task::spawn_blocking({
        let plan = plan.clone();
        move || {
            let by_key: HashMap<&str, &ArticleRow> = plan.articles.iter().map(|a| (a.key.as_str(), a)).collect();
            let mut sent: HashSet<String> = HashSet::new();
            let mut batch = ImportBatch::default();
            stage.read(&order, |row| {
                if !sent.contains(&row.article) {
                    sent.insert(row.article.clone());
                    batch.articles.extend(by_key.get(row.article.as_str()).map(|a| (*a).clone()));
                }
                batch.comments.push(row);
                if batch.comments.len() >= BATCH {
                    tx.blocking_send(std::mem::take(&mut batch))
                        .map_err(|_| anyhow::anyhow!("the import stopped writing"))?;
                }
                Ok(())
            })?;
            if !batch.comments.is_empty() {
                tx.blocking_send(batch).map_err(|_| anyhow::anyhow!("the import stopped writing"))?;
            }
            anyhow::Ok(())
        }
    });
    let mut written = 0u64;
    let mut failure = None;
    while let Some(batch) = rx.recv().await {
        let n = batch.comments.len() as u64;
        match store.import_batch(&batch).await {
            Ok(added) => written += added,
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
        third.items.fetch_add(n, Ordering::Relaxed);
    }
    drop(rx);
    let staged = reader.await?;
    reporter.finish();
    if let Some(err) = failure {
        return Err(err.context(format!(
            "writing stopped after {written} comments; run the same import again to finish it (nothing is added twice)"
        )));
    }
    staged?;
    report.already_present += report.imported.saturating_sub(written);
    report.imported = written;
    report.other_rows = other_rows;
    Ok(finish(report, started))
}

fn finish(mut report: Report, started: Instant) -> Report {
    report.seconds = started.elapsed().as_secs_f64();
    report.comments_per_second = (report.imported + report.already_present) as f64 / report.seconds.max(0.001);
    report.peak_memory_mb = peak_memory_mb();
    report
}

/// VmHWM from /proc: the most memory the process has held at once.
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

/// `--map FILE`: `source key,article id` per line (no header; the article id, which cannot contain a
/// comma, is after the last comma).
fn read_map(file: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut map = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let unquote = |s: &str| s.trim().trim_matches('"').to_owned();
        let Some((source, article)) = line.rsplit_once(',') else {
            bail!("{} line {}: expected `source key,article id`", file.display(), n + 1);
        };
        let article = unquote(article);
        otklik_api::ArticleId::parse(&article)
            .map_err(|err| anyhow::anyhow!("{} line {}: {article:?}: {err}", file.display(), n + 1))?;
        map.insert(unquote(source), article);
    }
    Ok(map)
}

/// The first pass's state.
struct Gather {
    format: Format,
    key: KeyKind,
    map: HashMap<String, String>,
    plan: Plan,
    /// The article each of the file's threads goes to.
    articles_by_thread: HashMap<String, u32>,
    article_index: HashMap<String, u32>,
    sources: HashSet<String>,
    /// otklik's own export: the id each comment had (by node index).
    kept_ids: HashMap<u32, i64>,
    /// otklik's own export: each comment's key by its otklik id, which its replies name it by.
    keys_by_id: HashMap<i64, u64>,
    threads: u64,
    keyed_by_link: u64,
}

impl Gather {
    fn new(format: Format, key: KeyKind, map: HashMap<String, String>) -> Self {
        Self {
            format,
            key,
            map,
            plan: Plan::default(),
            articles_by_thread: HashMap::new(),
            article_index: HashMap::new(),
            sources: HashSet::new(),
            kept_ids: HashMap::new(),
            keys_by_id: HashMap::new(),
            threads: 0,
            keyed_by_link: 0,
        }
    }

    fn record(&mut self, record: Record) -> anyhow::Result<()> {
        match record {
            Record::Thread(thread) => self.thread(thread),
            Record::Comment(comment) => {
                self.comment(comment);
                Ok(())
            }
            Record::Site(_) => Ok(()),
        }
    }

    fn thread(&mut self, thread: Thread) -> anyhow::Result<()> {
        self.threads += 1;
        let article = match thread.article {
            Some(article) => {
                otklik_api::ArticleId::parse(&article.key)
                    .map_err(|err| anyhow::anyhow!("the export names an article {:?}: {err}", article.key))?;
                article
            }
            None => {
                let raw = match self.key {
                    KeyKind::Identifier | KeyKind::PostId => thread.identifier.clone(),
                    KeyKind::Url => thread.url.as_deref().map(|u| url_without_scheme(u).to_owned()),
                    KeyKind::Path => thread.url.as_deref().map(|u| url_path(u).to_owned()).or(thread.path.clone()),
                }
                .filter(|k| !k.trim().is_empty());
                let mapped = [raw.as_deref(), thread.url.as_deref(), thread.identifier.as_deref()]
                    .into_iter()
                    .flatten()
                    .find_map(|k| self.map.get(k.trim()).cloned());
                let key = match (mapped, raw) {
                    (Some(mapped), _) => mapped,
                    (None, Some(raw)) => article_key(&raw).unwrap_or_else(|| thread.id.clone()),
                    (None, None) => {
                        // Disqus threads often lack an identifier: their link is the next best name.
                        self.keyed_by_link += 1;
                        let fallback =
                            thread.url.as_deref().map(url_path).or(thread.path.as_deref()).unwrap_or(&thread.id);
                        article_key(fallback).unwrap_or_else(|| "imported".to_owned())
                    }
                };
                let url = thread.url.filter(|u| u.starts_with("http://") || u.starts_with("https://"));
                let cap = |s: Option<String>, max: usize| s.map(|s| s.trim().chars().take(max).collect::<String>());
                ArticleRow {
                    key,
                    url: cap(url, otklik_api::limits::PAGE_URL_MAX),
                    title: cap(thread.title, otklik_api::limits::PAGE_TITLE_MAX),
                    ..ArticleRow::default()
                }
            }
        };
        let index = match self.article_index.get(&article.key) {
            // Duplicated threads (Disqus exports hold empty twins) become one article.
            Some(&i) => {
                let known = &mut self.plan.articles[i as usize];
                known.url = known.url.take().or(article.url);
                known.title = known.title.take().or(article.title);
                i
            }
            None => {
                let i = self.plan.articles.len() as u32;
                self.article_index.insert(article.key.clone(), i);
                self.plan.articles.push(article);
                i
            }
        };
        self.articles_by_thread.insert(thread.id, index);
        Ok(())
    }

    fn comment(&mut self, comment: Comment) {
        let (source, source_id) = comment_source(self.format, &comment);
        if !self.sources.contains(source) {
            self.sources.insert(source.to_owned());
        }
        let key = plan::key(source, source_id);
        let parent = comment.parent.as_deref().map(|p| match comment.keep_id {
            // otklik's export names a parent by its otklik id, listed before it (ids grow down a thread).
            Some(_) => p.parse().ok().and_then(|p| self.keys_by_id.get(&p).copied()).unwrap_or(u64::MAX),
            None => plan::key(source, p),
        });
        let article = self.articles_by_thread.get(&comment.thread).copied();
        let state = if article.is_none() {
            State::Skipped("no thread")
        } else if source_id.is_empty() {
            State::Skipped("no id")
        } else if comment.text.trim().is_empty() && !matches!(comment.state, State::Deleted | State::Skipped(_)) {
            State::Skipped("empty")
        } else {
            comment.state
        };
        if let Some(id) = comment.keep_id {
            self.kept_ids.insert(self.plan.nodes.len() as u32, id);
            self.keys_by_id.insert(id, key);
        }
        self.plan.push(key, parent, article.unwrap_or(u32::MAX), comment.created, state);
    }
}

/// The source and id a comment is remembered by: otklik's own export carries a comment's first source.
fn comment_source(format: Format, comment: &Comment) -> (&str, &str) {
    match &comment.origin {
        Some((source, id)) if format == Format::Otklik => (source, id),
        _ => (format.source(), &comment.id),
    }
}

/// What the reading thread hands to the writer at once: otklik's own articles and other rows.
#[derive(Default)]
struct Batch {
    articles: Vec<ArticleRow>,
    site: Vec<SiteRow>,
}

/// The second pass's state, on the reading thread.
struct Writing<'a> {
    format: Format,
    plan: &'a Plan,
    articles: &'a HashMap<String, u32>,
    tx: tokio::sync::mpsc::Sender<Batch>,
    batch: Batch,
    stage: Stage,
    /// The next comment's index in file order.
    index: usize,
    now: i64,
}

impl Writing<'_> {
    fn record(&mut self, record: Record) -> anyhow::Result<()> {
        match record {
            Record::Thread(thread) => {
                // otklik's own articles all come across, with or without comments.
                if thread.article.is_some()
                    && let Some(&i) = self.articles.get(&thread.id)
                {
                    self.batch.articles.push(self.plan.articles[i as usize].clone());
                    if self.batch.articles.len() >= BATCH {
                        self.flush()?;
                    }
                }
            }
            Record::Comment(comment) => self.comment(comment)?,
            Record::Site(row) => {
                self.batch.site.push(row);
                if self.batch.site.len() >= BATCH {
                    self.flush()?;
                }
            }
        }
        Ok(())
    }

    fn comment(&mut self, comment: Comment) -> anyhow::Result<()> {
        let i = self.index;
        self.index += 1;
        let node = self.plan.nodes.get(i).context("the file holds more comments than on the first reading")?;
        let (source, source_id) = comment_source(self.format, &comment);
        ensure!(
            self.plan.keys[i] == plan::key(source, source_id),
            "comment {} is not where it was on the first reading",
            i + 1
        );
        if !node.new_kept() {
            return Ok(());
        }
        let article = &self.plan.articles[node.article as usize];
        let (path, root) = self.plan.path(i);
        let parent = match node.parent {
            0 => None,
            p => Some(self.plan.nodes[p as usize - 1].id),
        };
        let placeholder = node.fate == Fate::Deleted;
        let created = if comment.created > 0 { comment.created } else { self.now };
        let clean =
            |s: &str, max: usize| s.chars().filter(|c| !c.is_control() || *c == '\n').take(max).collect::<String>();
        let row = CommentRow {
            id: node.id,
            article: article.key.clone(),
            parent,
            root,
            depth: i64::from(node.depth),
            path,
            author: if placeholder {
                String::new()
            } else {
                clean(comment.author.trim(), AUTHOR_MAX).replace('\n', " ")
            },
            text: if placeholder { String::new() } else { clean(comment.text.trim(), TEXT_MAX) },
            reader: comment.reader.clone(),
            created,
            edited: comment.edited.filter(|e| *e >= created),
            deleted: placeholder.then_some(created),
            status: match node.fate {
                Fate::Pending => "pending",
                Fate::Hidden => "hidden",
                _ => "visible",
            }
            .to_owned(),
            likes: comment.likes.max(0),
            flags: comment.flags.max(0),
            // What was visible at the source was reviewed there: it does not join the moderators' queue of
            // unreviewed comments (otklik's own export says when it was reviewed).
            reviewed: match (comment.keep_id, node.fate) {
                (Some(_), _) => comment.reviewed,
                (None, Fate::Pending) => None,
                (None, _) => Some(self.now),
            },
            source: Some(source.to_owned()),
            source_id: Some(source_id.to_owned()),
        };
        self.stage.put(i, &row)
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        let batch = std::mem::take(&mut self.batch);
        if batch.articles.is_empty() && batch.site.is_empty() {
            return Ok(());
        }
        // The writer stopped (a failed batch): the reading stops too.
        self.tx.blocking_send(batch).map_err(|_| anyhow::anyhow!("the import stopped writing"))
    }
}

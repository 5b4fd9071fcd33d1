//! `otklik import`: the file is read once, and everything is decided (and is all that `--dry-run` does)
//! before anything is written, so that a file that is not what it claims, or is cut short, is refused
//! with nothing written. The comments' content is set aside meanwhile ([`Stage`]); then they are written
//! in id order, in batches that each are one transaction. An import takes the database's import lock and
//! asks it what earlier imports brought: an import interrupted is finished by running it again, and an
//! import run twice adds nothing the second time.

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
use super::stage::{Stage, Staged};
use super::{Comment, Format, KeyKind, Record, State, Thread, article_key, url_path, url_without_scheme};
use crate::store::DynStore;
use crate::store::transfer::{ArticleRow, CommentRow, ImportBatch, SiteRow};

/// Comments per transaction: large enough to be fast, small enough that a running server's writes wait
/// for one only briefly and that the batches on their way (being read, queued, written) stay small: at
/// 5,000 a million-comment import peaked at 99 MB instead of 87, for 5% more speed (docs/benchmarks.md).
const BATCH: usize = 2_000;
/// Records handed from the parsing thread to the planning one at a time.
const RECORDS_PER_CHUNK: usize = 256;
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

/// An import whose file and options were checked: [`check`] makes it, [`run`] does it.
#[derive(Debug)]
pub struct Import {
    format: Format,
    path: PathBuf,
    size: u64,
    key: KeyKind,
    map: HashMap<String, String>,
    site: Option<String>,
    dry_run: bool,
}

/// Refuses a file that is not there and options that do not fit `format`, before the database is opened
/// (an import into a database that does not exist yet creates it).
pub fn check(format: Format, path: &Path, options: ImportOptions) -> anyhow::Result<Import> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
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
    Ok(Import { format, path: path.to_owned(), size, key, map, site: options.site, dry_run: options.dry_run })
}

/// Does the import, into `store`.
pub async fn run(store: DynStore, import: Import) -> anyhow::Result<Report> {
    let started = Instant::now();
    let Import { format, path, size, key, map, site, dry_run } = import;
    let path = path.as_path();

    // Held to the end: what earlier imports brought cannot change under this one.
    let _lock = if dry_run { None } else { Some(store.lock_imports().await?) };

    // Everything read and decided, nothing written.
    let first = Arc::new(Progress::default());
    let reporter = Reporter::start("reading", size, first.clone());
    let stage = if dry_run { None } else { Some(Stage::create()?) };
    let mut gather = Gather::new(format, key, map, stage);
    // Parsing on one thread, planning and setting aside on another (a gzipped file is inflated on a
    // third): a chunk of records at a time between them.
    let (records, chunks) = std::sync::mpsc::sync_channel::<Vec<Record>>(16);
    let parsing = tokio::task::spawn_blocking({
        let path = path.to_owned();
        let site = site.clone();
        let first = first.clone();
        move || {
            let mut chunk = Vec::with_capacity(RECORDS_PER_CHUNK);
            format.read(&path, site.as_deref(), &first.bytes, &mut |record| {
                chunk.push(record);
                if chunk.len() == RECORDS_PER_CHUNK {
                    records.send(std::mem::take(&mut chunk)).map_err(|_| anyhow::Error::new(PlanningStopped))?;
                    chunk.reserve(RECORDS_PER_CHUNK);
                }
                Ok(())
            })?;
            if !chunk.is_empty() {
                records.send(chunk).map_err(|_| anyhow::Error::new(PlanningStopped))?;
            }
            anyhow::Ok(())
        }
    });
    let planning = tokio::task::spawn_blocking({
        let first = first.clone();
        move || {
            for chunk in chunks {
                for record in chunk {
                    if matches!(record, Record::Comment(_)) {
                        first.items.fetch_add(1, Ordering::Relaxed);
                    }
                    gather.record(record)?;
                }
            }
            anyhow::Ok(gather)
        }
    });
    let (parsed, planned) = (parsing.await?, planning.await?);
    // When the planning fails, the parsing stops for want of a reader: the planning's error is the one.
    let gathered = match (parsed, planned) {
        (Ok(()), planned) => planned,
        (Err(err), Err(planned)) if err.is::<PlanningStopped>() => Err(planned),
        (Err(err), _) => Err(err),
    };
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
    // The rows are whole from here: the stage is only read (its write buffer goes).
    if let Some(stage) = &mut gather.stage {
        stage.finish()?;
    }
    let depth = gather.plan.settle();
    let order = gather.plan.order(&depth);
    drop(depth);
    // Existing comments that new ones answer: their places in their threads.
    let wanted: Vec<(u32, i64)> = order
        .iter()
        .filter_map(|i| match gather.plan.nodes[*i as usize].parent {
            0 => None,
            p if gather.plan.nodes[p as usize - 1].existing() => Some((p - 1, gather.plan.ids[p as usize - 1])),
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
    gather.plan.check_outside();
    let tally = gather.plan.tally();
    let mut report = Report {
        format: format.source(),
        file: path.display().to_string(),
        dry_run,
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
    if dry_run {
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
        gather.plan.ids[i as usize] = id;
    }
    gather.plan.place(&order);
    let mut stage = gather.stage.take().context("the first reading set nothing aside")?;
    let plan = Arc::new(gather.into_plan());

    // Written in id order from what the first reading set aside; otklik's own articles (with their
    // settings, comments or not) and its other rows first.
    let progress = Arc::new(Progress::default());
    let reporter = Reporter::start("writing", 0, progress.clone());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(1);
    let reader = tokio::task::spawn_blocking({
        let plan = plan.clone();
        move || {
            let send = |batch| tx.blocking_send(batch).map_err(|_| anyhow::anyhow!("the import stopped writing"));
            if format == Format::Otklik {
                for chunk in plan.articles.chunks(BATCH) {
                    send(Batch::Comments(ImportBatch { articles: chunk.to_vec(), comments: Vec::new() }))?;
                }
                let mut rows = Vec::new();
                stage.read_site(|row| {
                    rows.push(row);
                    if rows.len() >= BATCH {
                        send(Batch::Site(std::mem::take(&mut rows)))?;
                    }
                    Ok(())
                })?;
                if !rows.is_empty() {
                    send(Batch::Site(rows))?;
                }
            }
            let by_key: HashMap<&str, &ArticleRow> = plan.articles.iter().map(|a| (a.key.as_str(), a)).collect();
            let mut sent: HashSet<&str> = HashSet::new();
            let mut batch = ImportBatch::default();
            let now = crate::unix_now();
            stage.read(&order, |i, staged| {
                let row = comment_row(&plan, i, staged, now);
                let article = plan.articles[plan.nodes[i].article as usize].key.as_str();
                // otklik's own articles went first, all of them; others go with their first comment.
                if format != Format::Otklik && sent.insert(article) {
                    batch.articles.extend(by_key.get(article).map(|a| (*a).clone()));
                }
                batch.comments.push(row);
                if batch.comments.len() >= BATCH {
                    send(Batch::Comments(std::mem::take(&mut batch)))?;
                }
                Ok(())
            })?;
            if !batch.comments.is_empty() {
                send(Batch::Comments(batch))?;
            }
            anyhow::Ok(())
        }
    });
    let mut written = 0u64;
    let mut other_rows = 0u64;
    let mut failure = None;
    while let Some(batch) = rx.recv().await {
        let result = match &batch {
            Batch::Comments(batch) => store.import_batch(batch).await.map(|added| {
                written += added;
                progress.items.fetch_add(batch.comments.len() as u64, Ordering::Relaxed);
            }),
            Batch::Site(rows) => store.import_site_rows(rows).await.map(|added| other_rows += added),
        };
        if let Err(err) = result {
            failure = Some(err);
            break;
        }
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

/// The parsing's end when the planning failed first (its error is the one to tell).
#[derive(Debug)]
struct PlanningStopped;

impl std::fmt::Display for PlanningStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the planning stopped")
    }
}

impl std::error::Error for PlanningStopped {}

/// What the writing thread hands over: articles with comments, or otklik's other rows.
enum Batch {
    Comments(ImportBatch),
    Site(Vec<SiteRow>),
}

/// The row of the new comment at `i`: its content as set aside, its place as the plan decided.
fn comment_row(plan: &Plan, i: usize, staged: Staged, now: i64) -> CommentRow {
    let node = &plan.nodes[i];
    let (path, root) = plan.path(i);
    let placeholder = node.fate == Fate::Deleted;
    let created = if staged.created > 0 { staged.created } else { now };
    CommentRow {
        id: plan.ids[i],
        article: plan.articles[node.article as usize].key.clone(),
        parent: match node.parent {
            0 => None,
            p => Some(plan.ids[p as usize - 1]),
        },
        root,
        depth: i64::from(node.depth),
        path,
        author: if placeholder { String::new() } else { staged.author },
        text: if placeholder { String::new() } else { staged.text },
        reader: staged.reader,
        created,
        edited: staged.edited.filter(|e| *e >= created),
        deleted: placeholder.then_some(created),
        status: match node.fate {
            Fate::Pending => "pending",
            Fate::Hidden => "hidden",
            _ => "visible",
        }
        .to_owned(),
        likes: staged.likes.max(0),
        flags: staged.flags.max(0),
        // What was visible at the source was reviewed there: it does not join the moderators' queue of
        // unreviewed comments (otklik's own export says when it was reviewed).
        reviewed: match (staged.kept, node.fate) {
            (true, _) => staged.reviewed,
            (false, Fate::Pending) => None,
            (false, _) => Some(now),
        },
        source: Some(staged.source),
        source_id: Some(staged.source_id),
    }
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
    /// The comments' content, set aside (none in a dry run).
    stage: Option<Stage>,
}

impl Gather {
    fn new(format: Format, key: KeyKind, map: HashMap<String, String>, stage: Option<Stage>) -> Self {
        Self {
            stage,
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

    /// The plan, all the rest let go (the writing needs nothing else).
    fn into_plan(self) -> Plan {
        self.plan
    }

    fn record(&mut self, record: Record) -> anyhow::Result<()> {
        match record {
            Record::Thread(thread) => self.thread(thread),
            Record::Comment(comment) => self.comment(comment),
            Record::Site(row) => match &mut self.stage {
                Some(stage) => stage.put_site(&row),
                None => Ok(()),
            },
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

    fn comment(&mut self, comment: Comment) -> anyhow::Result<()> {
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
        let index = self.plan.nodes.len();
        if let Some(id) = comment.keep_id {
            self.kept_ids.insert(index as u32, id);
            self.keys_by_id.insert(id, key);
        }
        if let Some(stage) = &mut self.stage
            && !matches!(state, State::Skipped(_))
        {
            // A deleted comment is at most a placeholder: nothing of it is kept.
            let deleted = state == State::Deleted;
            let clean = |s: &str, max: usize| {
                if deleted {
                    return String::new();
                }
                s.trim().chars().filter(|c| !c.is_control() || *c == '\n').take(max).collect::<String>()
            };
            stage.put(
                index,
                &Staged {
                    author: clean(&comment.author, AUTHOR_MAX).replace('\n', " "),
                    text: clean(&comment.text, TEXT_MAX),
                    reader: comment.reader.clone(),
                    created: comment.created,
                    edited: comment.edited,
                    likes: comment.likes,
                    flags: comment.flags,
                    reviewed: comment.reviewed,
                    kept: comment.keep_id.is_some(),
                    source: source.to_owned(),
                    source_id: source_id.to_owned(),
                },
            )?;
        }
        self.plan.push(key, parent, article.unwrap_or(u32::MAX), comment.created, state);
        Ok(())
    }
}

/// The source and id a comment is remembered by: otklik's own export carries a comment's first source.
fn comment_source(format: Format, comment: &Comment) -> (&str, &str) {
    match &comment.origin {
        Some((source, id)) if format == Format::Otklik => (source, id),
        _ => (format.source(), &comment.id),
    }
}

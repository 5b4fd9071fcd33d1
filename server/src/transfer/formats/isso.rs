//! Isso's own database file (SQLite: `threads` by URI, `comments` with their parent). Texts are Markdown
//! and kept as written; `--site` gives the threads' URIs their host.

use anyhow::{Context as _, ensure};
use sqlx::ConnectOptions as _;
use sqlx::sqlite::SqliteConnectOptions;

use crate::transfer::{Comment, Record, State, Thread};

/// Comments read per query: the file is read in pages, never whole.
const PAGE: i64 = 10_000;

type Row = (i64, i64, Option<i64>, f64, Option<f64>, i64, String, Option<String>, i64);

pub fn read(
    path: &std::path::Path,
    site: Option<&str>,
    emit: &mut dyn FnMut(Record) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Handle::current();
    let options = SqliteConnectOptions::new().filename(path).read_only(true).immutable(true);
    let mut conn = runtime
        .block_on(options.connect())
        .with_context(|| format!("this is not an Isso database: {} does not open as SQLite", path.display()))?;
    let tables: i64 = runtime
        .block_on(
            sqlx::query_scalar(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('threads', 'comments')",
            )
            .fetch_one(&mut conn),
        )
        .context("this is not an Isso database")?;
    ensure!(tables == 2, "this is not an Isso database: it has no `threads` and `comments` tables");
    let threads: Vec<(i64, String, Option<String>)> = runtime
        .block_on(sqlx::query_as("SELECT id, uri, title FROM threads ORDER BY id").fetch_all(&mut conn))
        .context("reading Isso's threads")?;
    let site = site.map(|s| s.trim_end_matches('/'));
    for (id, uri, title) in threads {
        emit(Record::Thread(Thread {
            id: id.to_string(),
            identifier: None,
            url: site.map(|s| format!("{s}{uri}")),
            path: Some(uri),
            title,
            article: None,
        }))?;
    }
    let mut after = i64::MIN;
    loop {
        let rows: Vec<Row> = runtime
            .block_on(
                sqlx::query_as(
                    "SELECT id, tid, parent, created, modified, mode, coalesce(text, ''), author, coalesce(likes, 0)
                       FROM comments WHERE id > ?1 ORDER BY id LIMIT ?2",
                )
                .bind(after)
                .bind(PAGE)
                .fetch_all(&mut conn),
            )
            .context("reading Isso's comments")?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        for (id, thread, parent, created, modified, mode, text, author, likes) in rows {
            // Isso's modes: 1 accepted, 2 awaiting moderation, 4 deleted (kept for its replies).
            let state = match mode {
                1 => State::Visible,
                2 => State::Pending,
                4 => State::Deleted,
                _ => State::Skipped("unknown state"),
            };
            emit(Record::Comment(Comment {
                id: id.to_string(),
                thread: thread.to_string(),
                parent: parent.map(|p| p.to_string()),
                author: author.unwrap_or_default().trim().to_owned(),
                text: text.trim().to_owned(),
                created: created as i64,
                edited: modified.map(|m| m as i64),
                state,
                likes: likes.max(0),
                ..Comment::default()
            }))?;
        }
    }
    let _ = runtime.block_on(sqlx::Connection::close(conn));
    Ok(())
}

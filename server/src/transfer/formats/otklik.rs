//! otklik's own export (see `transfer::export`): a header line, then one row per line.

use std::io::BufRead as _;

use anyhow::{Context as _, bail, ensure};

use crate::store::transfer::SiteRow;
use crate::transfer::export::{FORMAT, Header, VERSION};
use crate::transfer::input::Capped;
use crate::transfer::{Comment, Record, State, Thread};

pub fn read(mut input: Capped, emit: &mut dyn FnMut(Record) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut line = String::new();
    input.reset();
    input.read_line(&mut line).context("reading the export")?;
    let header: Header = serde_json::from_str(&line)
        .map_err(|_| anyhow::anyhow!("this is not an otklik export: its first line is not otklik's header"))?;
    ensure!(header.format == FORMAT, "this is not an otklik export (its format is {:?})", header.format);
    ensure!(
        header.version <= VERSION,
        "this export is of version {} of the format, newer than this otklik reads ({VERSION}): use a newer otklik",
        header.version
    );
    let mut number = 1;
    loop {
        line.clear();
        input.reset();
        if input.read_line(&mut line).context("reading the export")? == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let row: SiteRow = match serde_json::from_str(&line) {
            Ok(row) => row,
            Err(err) => bail!("line {number} of the export is not one of its rows ({err})"),
        };
        emit(match row {
            SiteRow::Article(article) => Record::Thread(Thread {
                id: article.key.clone(),
                identifier: Some(article.key.clone()),
                url: article.url.clone(),
                path: None,
                title: article.title.clone(),
                article: Some(article),
            }),
            SiteRow::Comment(c) => {
                let deleted = c.deleted.is_some();
                Record::Comment(Comment {
                    id: c.id.to_string(),
                    thread: c.article,
                    parent: c.parent.map(|p| p.to_string()),
                    author: c.author,
                    text: c.text,
                    created: c.created,
                    edited: c.edited,
                    state: match (c.status.as_str(), deleted) {
                        (_, true) => State::Deleted,
                        ("pending", _) => State::Pending,
                        ("hidden", _) => State::Hidden,
                        _ => State::Visible,
                    },
                    likes: c.likes,
                    flags: c.flags,
                    reviewed: c.reviewed,
                    reader: c.reader,
                    keep_id: Some(c.id),
                    origin: c.source.zip(c.source_id),
                })
            }
            other => Record::Site(other),
        })?;
    }
    Ok(())
}

//! Remark42's backup (gzipped JSON lines: a line of the site's metadata, then one comment per line, each
//! with its page's URL). The comment as its author wrote it (`orig`) is kept; without it, the HTML
//! (`text`) is made plain text.

use std::collections::HashSet;
use std::io::BufRead as _;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::transfer::html::to_text;
use crate::transfer::input::Capped;
use crate::transfer::{Comment, Record, State, Thread, parse_time};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Line {
    version: Option<i64>,
    id: Option<String>,
    pid: Option<String>,
    text: String,
    orig: String,
    user: User,
    locator: Locator,
    score: i64,
    time: String,
    edit: Option<Edit>,
    delete: bool,
    title: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct User {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Locator {
    url: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Edit {
    time: String,
}

pub fn read(mut input: Capped, emit: &mut dyn FnMut(Record) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut threads: HashSet<String> = HashSet::new();
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        input.reset();
        if input.read_line(&mut line).context("reading the backup")? == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = match serde_json::from_str(&line) {
            Ok(parsed) => parsed,
            Err(err) if number == 1 => bail!("this is not a Remark42 backup: its first line is not JSON ({err})"),
            Err(err) => bail!("line {number} of the backup is not JSON ({err})"),
        };
        if parsed.version.is_some() && parsed.id.is_none() {
            continue;
        }
        let Some(id) = parsed.id else {
            bail!("line {number} of the backup is neither the site's metadata nor a comment");
        };
        let url = parsed.locator.url;
        if threads.insert(url.clone()) {
            emit(Record::Thread(Thread {
                id: url.clone(),
                identifier: None,
                url: Some(url.clone()),
                path: None,
                title: parsed.title.clone(),
                article: None,
            }))?;
        }
        let text =
            if parsed.orig.trim().is_empty() { to_text(&parsed.text, false) } else { parsed.orig.trim().to_owned() };
        emit(Record::Comment(Comment {
            id,
            thread: url,
            parent: parsed.pid.filter(|p| !p.is_empty()),
            author: parsed.user.name.trim().to_owned(),
            text,
            created: parse_time(&parsed.time).unwrap_or(0),
            edited: parsed.edit.and_then(|e| parse_time(&e.time)),
            state: if parsed.delete { State::Deleted } else { State::Visible },
            likes: parsed.score.max(0),
            ..Comment::default()
        }))?;
    }
    if number == 0 {
        bail!("this is not a Remark42 backup: the file is empty");
    }
    Ok(())
}

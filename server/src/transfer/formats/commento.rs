//! Commento's export (version 1) and Comentario's (version 3): one JSON document whose comments are read
//! one at a time, never the whole array at once. Names and pages are listed apart from the comments
//! (after them, in Commento's files), so a first look at the file gathers them. Texts are Markdown and
//! kept as written.

use std::collections::{HashMap, HashSet};
use std::fmt;

use anyhow::bail;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::transfer::input::{Capped, Meter};
use crate::transfer::{Comment, Record, State, Thread, parse_time};

/// A comment in either version (Commento's names, then Comentario's).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Item {
    comment_hex: Option<String>,
    id: Option<String>,
    domain: Option<String>,
    url: Option<String>,
    page_id: Option<String>,
    commenter_hex: Option<String>,
    user_created: Option<String>,
    author_name: Option<String>,
    markdown: String,
    parent_hex: Option<String>,
    parent_id: Option<String>,
    score: i64,
    state: Option<String>,
    creation_date: Option<String>,
    created_time: Option<String>,
    deleted: bool,
    is_deleted: bool,
    is_approved: Option<bool>,
    is_pending: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Person {
    commenter_hex: Option<String>,
    id: Option<String>,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Page {
    id: String,
    path: String,
    title: Option<String>,
}

/// What the first look gathers.
#[derive(Default)]
struct Lists {
    version: Option<i64>,
    names: HashMap<String, String>,
    pages: HashMap<String, Page>,
}

pub fn read(
    open: &mut dyn FnMut() -> anyhow::Result<Capped>,
    emit: &mut dyn FnMut(Record) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut lists = Lists::default();
    document(open()?, &mut Pass::Gather(&mut lists))?;
    let version = match lists.version {
        Some(v @ (1 | 3)) => v,
        Some(other) => bail!("this Commento/Comentario export is of version {other}; versions 1 and 3 are read"),
        None => bail!("this is not a Commento or Comentario export: it has no \"version\""),
    };
    let mut threads = HashSet::new();
    document(open()?, &mut Pass::Emit { lists: &lists, version, threads: &mut threads, emit })
}

enum Pass<'a> {
    Gather(&'a mut Lists),
    Emit {
        lists: &'a Lists,
        version: i64,
        threads: &'a mut HashSet<String>,
        emit: &'a mut dyn FnMut(Record) -> anyhow::Result<()>,
    },
}

fn document(input: Capped, pass: &mut Pass<'_>) -> anyhow::Result<()> {
    let meter = input.meter();
    let mut de = serde_json::Deserializer::from_reader(input);
    Doc { pass, meter }.deserialize(&mut de).map_err(|err| {
        if err.is_syntax() || err.is_eof() {
            anyhow::anyhow!("this is not a Commento or Comentario export, or it is truncated: {err}")
        } else {
            anyhow::anyhow!("{err}")
        }
    })?;
    de.end().map_err(|err| anyhow::anyhow!("the export goes on after its end: {err}"))?;
    Ok(())
}

struct Doc<'p, 'a> {
    pass: &'p mut Pass<'a>,
    meter: Meter,
}

impl<'de> DeserializeSeed<'de> for Doc<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Doc<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an export object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match (key.as_str(), &mut *self.pass) {
                ("version", Pass::Gather(lists)) => lists.version = map.next_value()?,
                ("commenters" | "users", Pass::Gather(lists)) => {
                    for person in map.next_value::<Vec<Person>>()? {
                        if let Some(id) = person.commenter_hex.or(person.id) {
                            lists.names.insert(id, person.name);
                        }
                    }
                }
                ("pages", Pass::Gather(lists)) => {
                    for page in map.next_value::<Vec<Page>>()? {
                        lists.pages.insert(page.id.clone(), page);
                    }
                }
                ("comments", Pass::Emit { .. }) => {
                    map.next_value_seed(Comments { pass: &mut *self.pass, meter: self.meter.clone() })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            self.meter.reset();
        }
        Ok(())
    }
}

struct Comments<'p, 'a> {
    pass: &'p mut Pass<'a>,
    meter: Meter,
}

impl<'de> DeserializeSeed<'de> for Comments<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Comments<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of comments")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Pass::Emit { lists, version, threads, emit } = self.pass else { return Ok(()) };
        while let Some(item) = seq.next_element::<Item>()? {
            self.meter.reset();
            for record in records(item, lists, *version, threads) {
                emit(record).map_err(|err| serde::de::Error::custom(format!("{err:#}")))?;
            }
        }
        Ok(())
    }
}

/// The comment, preceded by its thread the first time the thread is met.
fn records(item: Item, lists: &Lists, version: i64, threads: &mut HashSet<String>) -> Vec<Record> {
    let mut out = Vec::with_capacity(2);
    let (thread, url, path, title) = if version == 1 {
        let domain = item.domain.unwrap_or_default();
        let path = item.url.unwrap_or_default();
        (format!("{domain}{path}"), (!domain.is_empty()).then(|| format!("https://{domain}{path}")), path, None)
    } else {
        let page = item.page_id.as_deref().and_then(|id| lists.pages.get(id));
        let path = page.map(|p| p.path.clone()).unwrap_or_default();
        (item.page_id.clone().unwrap_or_default(), None, path, page.and_then(|p| p.title.clone()))
    };
    if threads.insert(thread.clone()) {
        out.push(Record::Thread(Thread {
            id: thread.clone(),
            identifier: None,
            url,
            path: Some(path),
            title,
            article: None,
        }));
    }
    let author_id = item.commenter_hex.or(item.user_created);
    let author = item
        .author_name
        .or_else(|| author_id.as_deref().and_then(|id| lists.names.get(id).cloned()))
        .unwrap_or_default();
    let state = if item.deleted || item.is_deleted {
        State::Deleted
    } else if version == 1 {
        match item.state.as_deref() {
            Some("unapproved" | "flagged") => State::Pending,
            _ => State::Visible,
        }
    } else if item.is_pending == Some(true) {
        State::Pending
    } else if item.is_approved == Some(false) {
        State::Skipped("rejected")
    } else {
        State::Visible
    };
    let parent = item.parent_hex.or(item.parent_id).filter(|p| !p.is_empty() && p != "root");
    out.push(Record::Comment(Comment {
        id: item.comment_hex.or(item.id).unwrap_or_default(),
        thread,
        parent,
        author: author.trim().to_owned(),
        text: item.markdown.trim().to_owned(),
        created: item.creation_date.or(item.created_time).as_deref().and_then(parse_time).unwrap_or(0),
        edited: None,
        state,
        likes: item.score.max(0),
        ..Comment::default()
    }));
    out
}

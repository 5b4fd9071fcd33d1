//! WordPress's export (WXR 1.0, 1.1 and 1.2: `<rss>`, one `<item>` per post, its comments inside it).
//! A comment's text is kept as typed, HTML allowed, with the paragraphs WordPress adds only on display.

use super::xml::{Node, walk};
use crate::transfer::html::to_text;
use crate::transfer::input::Capped;
use crate::transfer::{Comment, Record, State, Thread, parse_time};

#[derive(Default)]
struct Item {
    post_id: Option<String>,
    link: Option<String>,
    title: Option<String>,
    announced: bool,
}

#[derive(Default)]
struct Reply {
    id: String,
    parent: Option<String>,
    author: String,
    content: String,
    gmt: Option<i64>,
    local: Option<i64>,
    approved: String,
    kind: String,
}

impl Item {
    fn thread(&self) -> Thread {
        Thread {
            id: self.thread_id(),
            identifier: self.post_id.clone(),
            url: self.link.clone(),
            path: None,
            title: self.title.clone(),
            article: None,
        }
    }

    fn thread_id(&self) -> String {
        self.post_id.clone().or_else(|| self.link.clone()).unwrap_or_default()
    }
}

pub fn read(input: Capped, emit: &mut dyn FnMut(Record) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut item: Option<Item> = None;
    let mut reply: Option<Reply> = None;
    walk(input, "rss", "a WordPress export (WXR)", |node| {
        match node {
            Node::Open { depth: 2, name: "item", .. } => item = Some(Item::default()),
            Node::Open { depth: 3, name: "comment", .. } => {
                if let Some(i) = item.as_mut().filter(|i| !i.announced) {
                    i.announced = true;
                    emit(Record::Thread(i.thread()))?;
                }
                reply = Some(Reply::default());
            }
            Node::Close { depth: 4, name, text } => {
                if let Some(r) = reply.as_mut() {
                    let value = text.trim();
                    match name {
                        "comment_id" => r.id = value.to_owned(),
                        "comment_parent" => r.parent = Some(value.to_owned()).filter(|p| !p.is_empty() && p != "0"),
                        "comment_author" => r.author = value.to_owned(),
                        "comment_content" => r.content = text.to_owned(),
                        "comment_date_gmt" => r.gmt = parse_time(value),
                        "comment_date" => r.local = parse_time(value),
                        "comment_approved" => r.approved = value.to_owned(),
                        "comment_type" => r.kind = value.to_owned(),
                        _ => {}
                    }
                }
            }
            Node::Close { depth: 3, name: "comment", .. } => {
                if let (Some(r), Some(i)) = (reply.take(), item.as_ref()) {
                    let state = match (r.kind.as_str(), r.approved.as_str()) {
                        ("pingback" | "trackback", _) => State::Skipped("pingback"),
                        (_, "1" | "approve" | "approved") => State::Visible,
                        (_, "spam") => State::Skipped("spam"),
                        (_, "trash" | "post-trashed") => State::Deleted,
                        _ => State::Pending,
                    };
                    emit(Record::Comment(Comment {
                        id: r.id,
                        thread: i.thread_id(),
                        parent: r.parent,
                        author: r.author,
                        text: to_text(&r.content, true),
                        // Old exports write a zero GMT date; the site's local time is the best left.
                        created: r.gmt.or(r.local).unwrap_or(0),
                        edited: None,
                        state,
                        likes: 0,
                        ..Comment::default()
                    }))?;
                }
            }
            Node::Close { depth: 3, name, text } => {
                if let Some(i) = item.as_mut() {
                    let value = Some(text.trim().to_owned()).filter(|v| !v.is_empty());
                    match name {
                        "post_id" => i.post_id = value,
                        "link" => i.link = value,
                        "title" => i.title = value,
                        _ => {}
                    }
                }
            }
            Node::Close { depth: 2, name: "item", .. } => item = None,
            _ => {}
        }
        Ok(())
    })
}

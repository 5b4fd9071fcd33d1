//! Disqus's export (`<disqus>`: categories, then threads, then posts, each post naming its thread and its
//! parent by Disqus's internal id). Messages are HTML.

use super::xml::{Node, attribute, walk};
use crate::transfer::html::to_text;
use crate::transfer::input::Capped;
use crate::transfer::{Comment, Record, State, Thread, parse_time};

#[derive(Default)]
struct Post {
    id: String,
    thread: Option<String>,
    parent: Option<String>,
    author: String,
    message: String,
    created: Option<i64>,
    deleted: bool,
    spam: bool,
    approved: bool,
}

pub fn read(input: Capped, emit: &mut dyn FnMut(Record) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut thread: Option<Thread> = None;
    let mut post: Option<Post> = None;
    // The element at depth 2 being read (`author` holds the name at depth 3).
    let mut outer = String::new();
    walk(input, "disqus", "a Disqus export", |node| {
        match node {
            Node::Open { depth: 1, name: "thread", attributes } => {
                let id = attribute(attributes, "id").unwrap_or_default().to_owned();
                thread = Some(Thread { id, ..Thread::default() });
            }
            Node::Open { depth: 1, name: "post", attributes } => {
                let id = attribute(attributes, "id").unwrap_or_default().to_owned();
                post = Some(Post { id, approved: true, ..Post::default() });
            }
            Node::Open { depth: 2, name, attributes } => {
                outer = name.to_owned();
                if let Some(p) = post.as_mut() {
                    let id = attribute(attributes, "id").map(str::to_owned);
                    match name {
                        "thread" => p.thread = id,
                        "parent" => p.parent = id,
                        _ => {}
                    }
                }
            }
            Node::Close { depth: 3, name: "name", text } if outer == "author" => {
                if let Some(p) = post.as_mut() {
                    p.author = text.trim().to_owned();
                }
            }
            Node::Close { depth: 2, name, text } => {
                if let Some(t) = thread.as_mut() {
                    let value = Some(text.trim().to_owned()).filter(|v| !v.is_empty());
                    match name {
                        "id" => t.identifier = value,
                        "link" => t.url = value,
                        "title" => t.title = value,
                        _ => {}
                    }
                } else if let Some(p) = post.as_mut() {
                    let flag = text.trim() == "true";
                    match name {
                        "message" => p.message = text.to_owned(),
                        "createdAt" => p.created = parse_time(text),
                        "isDeleted" => p.deleted = flag,
                        "isSpam" => p.spam = flag,
                        "isApproved" => p.approved = flag || text.trim().is_empty(),
                        _ => {}
                    }
                }
            }
            Node::Close { depth: 1, name: "thread", .. } => {
                if let Some(t) = thread.take() {
                    emit(Record::Thread(t))?;
                }
            }
            Node::Close { depth: 1, name: "post", .. } => {
                if let Some(p) = post.take() {
                    let state = if p.spam {
                        State::Skipped("spam")
                    } else if p.deleted {
                        State::Deleted
                    } else if !p.approved {
                        State::Pending
                    } else {
                        State::Visible
                    };
                    emit(Record::Comment(Comment {
                        id: p.id,
                        thread: p.thread.unwrap_or_default(),
                        parent: p.parent,
                        author: p.author,
                        text: to_text(&p.message, false),
                        created: p.created.unwrap_or(0),
                        edited: None,
                        state,
                        likes: 0,
                        ..Comment::default()
                    }))?;
                }
            }
            _ => {}
        }
        Ok(())
    })
}

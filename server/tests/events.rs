//! `/api/v1/events`: live updates over Server-Sent Events, read as a browser's `EventSource` reads them.

mod common;

use std::time::Duration;

use common::sse::Events;
use common::{EDITOR_TOKEN, TestServer, reader};
use otklik_api::live::{LiveComments, LiveReactions, LiveRemoved};
use otklik_api::{Comment, ErrorBody, ErrorCode};
use reqwest::StatusCode;
use serde_json::json;

/// A new stream, read past the present state it starts with.
async fn open(s: &TestServer, articles: &str) -> Events {
    let mut events = resume(s, articles, None).await;
    events.present(articles.split(',').count()).await;
    events
}

async fn resume(s: &TestServer, articles: &str, last_id: Option<&str>) -> Events {
    Events::open(&s.client, &s.url(&format!("/api/v1/events?articles={articles}")), last_id).await
}

async fn say(s: &TestServer, article: &str, who: &str, text: &str) -> Comment {
    let url = s.url(&format!("/api/v1/articles/{article}/comments"));
    let resp = s.client.post(url).header("X-Otklik-Reader", who).json(&json!({ "text": text })).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.unwrap()
}

async fn like(s: &TestServer, article: &str, who: &str) {
    let resp = s.client.put(s.mine(article)).header("X-Otklik-Reader", who).json(&json!({"kind": "like"})).send();
    assert_eq!(resp.await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn reactions_and_comments_reach_an_open_stream_once_committed() {
    let s = TestServer::start().await;
    let mut events = open(&s, "live-1,live-2").await;
    like(&s, "live-1", &reader(1)).await;
    let (id, counts): (_, LiveReactions) = events.expect("reactions").await;
    assert_eq!((counts.article.as_str(), counts.counts.like), ("live-1", 1));
    assert!(id.is_some(), "every event has an id to resume from");

    let posted = say(&s, "live-2", &reader(2), "first").await;
    let (_, thread): (_, LiveComments) = events.expect("comments").await;
    assert_eq!(thread, LiveComments { article: "live-2".into(), total: 1, newest: Some(posted.id) });

    // An article the stream does not follow sends nothing: the next event is about live-1 again.
    like(&s, "elsewhere", &reader(3)).await;
    like(&s, "live-1", &reader(3)).await;
    let (_, counts): (_, LiveReactions) = events.expect("reactions").await;
    assert_eq!((counts.article.as_str(), counts.counts.like), ("live-1", 2));
}

#[tokio::test]
async fn a_new_stream_starts_with_the_present_state_of_each_article() {
    let s = TestServer::start().await;
    let posted = say(&s, "now", &reader(1), "already here").await;
    like(&s, "now", &reader(2)).await;
    // A page may have loaded long before its stream opens: what changed meanwhile must reach it.
    let mut events = resume(&s, "now,never", None).await;
    let present = events.present(2).await;
    let of = |article: &str, name: &str| {
        let event = present.iter().find(|e| e.name == name && e.data.contains(&format!("\"{article}\"")));
        event.unwrap_or_else(|| panic!("no {name} event for {article} in {present:?}")).data.clone()
    };
    let counts: LiveReactions = serde_json::from_str(&of("now", "reactions")).unwrap();
    assert_eq!(counts.counts.like, 1);
    let thread: LiveComments = serde_json::from_str(&of("now", "comments")).unwrap();
    assert_eq!((thread.total, thread.newest), (1, Some(posted.id)));
    let thread: LiveComments = serde_json::from_str(&of("never", "comments")).unwrap();
    assert_eq!((thread.total, thread.newest), (0, None));
    let counts: LiveReactions = serde_json::from_str(&of("never", "reactions")).unwrap();
    assert_eq!(counts.counts, Default::default());
}

#[tokio::test]
async fn a_held_comment_sends_nothing_until_it_is_approved() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    let set = s.admin(reqwest::Method::PUT, "/articles/held", Some(json!({"moderation": "pre"}))).await;
    assert_eq!(set.status(), StatusCode::OK);
    let mut events = open(&s, "held").await;
    let held = say(&s, "held", &reader(1), "wait for me").await;
    assert!(held.pending);
    // Nothing for it: the next event is the like sent after it.
    like(&s, "held", &reader(2)).await;
    let _: (_, LiveReactions) = events.expect("reactions").await;

    let approve = s.admin(reqwest::Method::POST, format!("/comments/{}", held.id), Some(json!({"action": "approve"})));
    assert_eq!(approve.await.status(), StatusCode::OK);
    let (_, thread): (_, LiveComments) = events.expect("comments").await;
    assert_eq!((thread.total, thread.newest), (1, Some(held.id)));
}

#[tokio::test]
async fn hidden_and_deleted_comments_are_withdrawn() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    let (first, second) = (say(&s, "gone", &reader(1), "one").await, say(&s, "gone", &reader(2), "two").await);
    let third = say(&s, "gone", &reader(3), "three").await;
    let mut events = open(&s, "gone").await;

    let hide = s.admin(reqwest::Method::POST, format!("/comments/{}", first.id), Some(json!({"action": "hide"})));
    assert_eq!(hide.await.status(), StatusCode::OK);
    // The removal and the thread's new state, in either order.
    let (removed, thread) = removal_and_thread(&mut events).await;
    assert_eq!(removed, LiveRemoved { article: "gone".into(), comment: first.id });
    assert_eq!((thread.total, thread.newest), (2, Some(third.id)));

    let url = s.url(&format!("/api/v1/articles/gone/comments/{}", second.id.0));
    let deleted = s.client.delete(url).header("X-Otklik-Reader", reader(2)).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (removed, thread) = removal_and_thread(&mut events).await;
    assert_eq!(removed.comment, second.id);
    assert_eq!((thread.total, thread.newest), (1, Some(third.id)));

    let delete = s.admin(reqwest::Method::POST, format!("/comments/{}", third.id), Some(json!({"action": "delete"})));
    assert!(delete.await.status().is_success());
    let (removed, thread) = removal_and_thread(&mut events).await;
    assert_eq!(removed.comment, third.id);
    assert_eq!((thread.total, thread.newest), (0, None));
}

async fn removal_and_thread(events: &mut Events) -> (LiveRemoved, LiveComments) {
    let (a, b) = (events.next().await, events.next().await);
    let (removed, thread) = if a.name == "removed" { (a, b) } else { (b, a) };
    assert_eq!((removed.name.as_str(), thread.name.as_str()), ("removed", "comments"));
    (serde_json::from_str(&removed.data).unwrap(), serde_json::from_str(&thread.data).unwrap())
}

#[tokio::test]
async fn a_stream_resumed_by_last_event_id_gets_what_it_missed() {
    let s = TestServer::start().await;
    let kept = say(&s, "resume", &reader(1), "stays").await;
    let gone = say(&s, "resume", &reader(2), "goes").await;
    let mut events = open(&s, "resume").await;
    like(&s, "resume", &reader(3)).await;
    let (last, _): (_, LiveReactions) = events.expect("reactions").await;
    drop(events);

    // While no stream is open: a like, and a comment deleted.
    like(&s, "resume", &reader(4)).await;
    let url = s.url(&format!("/api/v1/articles/resume/comments/{}", gone.id.0));
    assert_eq!(s.client.delete(url).header("X-Otklik-Reader", reader(2)).send().await.unwrap().status(), 204);

    let mut events = resume(&s, "resume", last.as_deref()).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(events.next().await);
    }
    let removed = seen.iter().find(|e| e.name == "removed").expect("the removal is replayed");
    assert_eq!(serde_json::from_str::<LiveRemoved>(&removed.data).unwrap().comment, gone.id);
    let counts = seen.iter().find(|e| e.name == "reactions").expect("the present counts");
    assert_eq!(serde_json::from_str::<LiveReactions>(&counts.data).unwrap().counts.like, 2);
    let thread = seen.iter().find(|e| e.name == "comments").expect("the present thread");
    let thread: LiveComments = serde_json::from_str(&thread.data).unwrap();
    assert_eq!((thread.total, thread.newest), (1, Some(kept.id)));
}

#[tokio::test]
async fn a_gap_older_than_the_node_remembers_asks_for_a_refetch() {
    let s = TestServer::start().await;
    let mut events = resume(&s, "old", Some("1")).await;
    let event = events.next().await;
    assert_eq!((event.name.as_str(), event.data.as_str()), ("refetch", "{}"));
}

#[tokio::test]
async fn streams_past_the_cap_are_refused_and_a_closed_one_frees_its_place() {
    let s = TestServer::start_with(|settings| settings.max_streams = Some(1)).await;
    let events = open(&s, "capped").await;
    let over = s.client.get(s.url("/api/v1/events?articles=capped")).send().await.unwrap();
    assert_eq!(over.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(over.json::<ErrorBody>().await.unwrap().error.code, ErrorCode::Unavailable);
    drop(events);
    common::until("the closed stream's place is free", Duration::from_secs(5), || async {
        s.client.get(s.url("/api/v1/events?articles=capped")).send().await.unwrap().status() == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn bad_article_lists_are_refused() {
    let s = TestServer::start().await;
    let many = (0..21).map(|n| format!("a{n}")).collect::<Vec<_>>().join(",");
    for query in ["", "articles=", "articles=bad%20id", &format!("articles={many}")] {
        let resp = s.client.get(s.url(&format!("/api/v1/events?{query}"))).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn the_cors_allow_list_applies_to_the_stream() {
    let s = TestServer::start_with(|settings| settings.allowed_origins = vec!["https://news.example".into()]).await;
    let url = s.url("/api/v1/events?articles=cors");
    let allowed = s.client.get(&url).header("Origin", "https://news.example").send().await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://news.example");
    let other = s.client.get(&url).header("Origin", "https://evil.example").send().await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

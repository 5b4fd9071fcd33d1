//! Several `otklik serve` processes on one PostgreSQL database, as behind a load balancer: requests go to
//! either node, and nothing is lost, miscounted or shown differently. These tests need PostgreSQL
//! (`scripts/with-postgres.sh`, which `make test` uses); on SQLite, which one process owns, they do nothing.

mod common;

use std::time::{Duration, Instant};

use common::node::{EDITOR_TOKEN, Node};
use common::{reader, until};
use futures::StreamExt as _;
use otklik_api::{Comment, ReactionCounts, ReactionKind};
use reqwest::StatusCode;
use serde_json::json;

/// Two nodes started at the same moment on a fresh database: one applies the migrations, both serve.
async fn two_nodes(extra: &[&str]) -> Option<(Node, Node, tempfile::TempDir)> {
    if !common::on_postgres() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(dir.path());
    let (a, b) = (Node::spawn(&database, extra), Node::spawn(&database, extra));
    let (a, b) = tokio::join!(a.ready(), b.ready());
    Some((a, b, dir))
}

#[tokio::test]
async fn reaction_counts_stay_exact_with_writes_to_both_nodes() {
    let Some((a, b, _dir)) = two_nodes(&[]).await else { return };
    let nodes = [&a, &b];
    // 400 readers, each changing their reaction three times, each change through the other node than the
    // last; 64 requests in flight. A reader's own changes go in order, so their last one is known.
    let finals: Vec<Option<ReactionKind>> = futures::stream::iter(0..400u64)
        .map(|n| {
            let nodes = &nodes;
            async move {
                let who = reader(n);
                let mut last = None;
                for step in 0..3u64 {
                    let kind = match (n + step) % 6 {
                        5 => None,
                        i => Some(ReactionKind::ALL[i as usize]),
                    };
                    let view = nodes[((n + step) % 2) as usize].react("shared", &who, kind).await;
                    assert_eq!(view.mine, kind);
                    last = kind;
                }
                last
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let mut expected = ReactionCounts::default();
    for kind in finals.into_iter().flatten() {
        expected.set(kind, expected.get(kind) + 1);
    }
    assert_eq!(a.counts("shared").await, expected, "node A");
    assert_eq!(b.counts("shared").await, expected, "node B");
}

#[tokio::test]
async fn comments_and_replies_posted_through_both_nodes_at_once_are_all_counted() {
    let Some((a, b, _dir)) = two_nodes(&[]).await else { return };
    let nodes = [&a, &b];
    let mut roots: Vec<Comment> = Vec::new();
    for n in 0..8u64 {
        roots.push(nodes[(n % 2) as usize].post("busy", &reader(n), "a root").await);
    }
    // 400 posts, 64 in flight over both nodes (so each node's batches meet the other's at the same rows):
    // every other one a reply to one of the roots.
    let posted: Vec<Comment> = futures::stream::iter(0..400u64)
        .map(|n| {
            let (nodes, roots) = (&nodes, &roots);
            async move {
                let parent = (n % 2 == 1).then(|| roots[(n / 2 % 8) as usize].id);
                nodes[(n % 2) as usize].reply("busy", &reader(100 + n), &format!("post {n}"), parent).await
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let mut ids: Vec<_> = posted.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 400, "every post has an id of its own");
    for node in nodes {
        let page = node.page("busy", &reader(1_000)).await;
        assert_eq!(page.total, 408);
        let replies: u64 = page.comments.iter().filter(|c| c.depth == 0).map(|c| c.replies).sum();
        let shown: Vec<_> = page.comments.iter().filter(|c| roots.iter().any(|r| r.id == c.id)).collect();
        assert_eq!(shown.len(), 8, "the roots are on the first page");
        assert!(shown.iter().all(|r| r.replies == 25), "25 replies under each root: {shown:?}");
        assert_eq!(replies, 200);
    }
}

#[tokio::test]
async fn a_stream_on_one_node_hears_writes_made_through_the_other() {
    let Some((a, b, _dir)) = two_nodes(&[]).await else { return };
    let url = b.url("/api/v1/events?articles=live");
    let mut events = common::sse::Events::open(&b.client, &url, None).await;
    events.present(1).await;
    a.react("live", &reader(1), Some(ReactionKind::Laugh)).await;
    let (_, counts): (_, otklik_api::live::LiveReactions) = events.expect("reactions").await;
    assert_eq!(counts.counts.laugh, 1);
    let posted = a.post("live", &reader(2), "from the other node").await;
    let (_, thread): (_, otklik_api::live::LiveComments) = events.expect("comments").await;
    assert_eq!((thread.total, thread.newest), (1, Some(posted.id)));
}

#[tokio::test]
async fn a_comment_posted_through_one_node_is_on_the_others_next_page() {
    let Some((a, b, _dir)) = two_nodes(&[]).await else { return };
    let mut longest = Duration::ZERO;
    for n in 0..20u64 {
        let (from, to) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        // Both nodes have the first page cached before the post.
        for node in [&a, &b] {
            node.page("talk", &reader(1_000)).await;
        }
        let posted = from.post("talk", &reader(n), &format!("comment {n}")).await;
        // The node it was posted through shows it at once; the other as soon as it hears of the commit,
        // and within a second whatever happens (its cached pages are a second old at most). Waited for,
        // bounded by that second.
        let page = from.page("talk", &reader(1_001)).await;
        assert!(page.comments.iter().any(|c| c.id == posted.id), "comment {n} on its own node at once");
        let since = Instant::now();
        for who in [reader(n), reader(1_000)] {
            until(&format!("comment {n} on the other node for {who}"), Duration::from_secs(1), || async {
                to.page("talk", &who).await.comments.iter().any(|c| c.id == posted.id)
            })
            .await;
        }
        assert_eq!(to.page("talk", &reader(1_000)).await.total, n + 1);
        longest = longest.max(since.elapsed());
    }
    eprintln!("the other node showed each new comment after {longest:?} at most");
}

#[tokio::test]
async fn a_ban_made_through_one_node_holds_on_the_other_within_a_second() {
    let Some((a, b, _dir)) = two_nodes(&[]).await else { return };
    let troll = reader(66);
    let comment = a.post("bans", &troll, "first words").await;
    let flag = |node: &Node| {
        let url = node.url(&format!("/api/v1/articles/bans/comments/{}/flag", comment.id));
        node.client.put(url).header("X-Otklik-Reader", troll.clone()).send()
    };
    assert_eq!(flag(&b).await.unwrap().status(), StatusCode::NO_CONTENT, "not banned yet");
    let banned = a
        .client
        .post(a.url("/api/v1/admin/bans"))
        .bearer_auth(EDITOR_TOKEN)
        .json(&json!({ "kind": "reader", "comment": comment.id, "days": 1, "reason": "trolling" }))
        .send()
        .await
        .unwrap();
    assert_eq!(banned.status(), StatusCode::CREATED);
    let since = Instant::now();
    // Waits for the state, bounded by what the contract allows (1 s).
    until("the ban on the other node", Duration::from_secs(1), || async {
        let status = flag(&b).await.unwrap().status();
        assert!(matches!(status, StatusCode::NO_CONTENT | StatusCode::FORBIDDEN), "{status}");
        status == StatusCode::FORBIDDEN
    })
    .await;
    eprintln!("the ban held on the other node after {:?}", since.elapsed());
}

#[tokio::test]
async fn each_webhook_event_is_delivered_once_by_one_node() {
    if !common::on_postgres() {
        return;
    }
    let receiver = common::webhook::Receiver::default();
    let hook = receiver.start().await;
    let Some((a, b, dir)) = two_nodes(&["--webhook-url", &hook]).await else { return };
    for n in 0..20u64 {
        let node = if n % 2 == 0 { &a } else { &b };
        node.post("hooks", &reader(n), &format!("comment {n}")).await;
    }
    receiver.until("20 deliveries", |r| r.delivered().len() >= 20).await;
    // Every delivery recorded (the outbox empty) means no node holds one to send again.
    let db = common::Db::Postgres(sqlx::PgPool::connect(&common::database_in(dir.path())).await.unwrap());
    until("every delivery recorded", Duration::from_secs(10), || async {
        db.rows::<(i64,)>("SELECT count(*) FROM outbox").await[0].0 == 0
    })
    .await;
    let mut ids: Vec<String> = receiver
        .delivered()
        .iter()
        .map(|(headers, _)| headers["x-otklik-delivery"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 20, "each event once: {ids:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}

#[tokio::test]
async fn a_reader_spreading_writes_over_both_nodes_gets_no_more_than_from_one() {
    let Some((a, b, _dir)) = two_nodes(&["--rate-limits", "comments.reader=3/1h"]).await else { return };
    let who = reader(5);
    let mut statuses = Vec::new();
    for n in 0..5 {
        let node = if n % 2 == 0 { &a } else { &b };
        statuses.push(node.try_post("limits", &who, &format!("comment {n}")).await.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429], "one limit of 3 across both nodes");
    // Another reader has a bucket of their own.
    assert_eq!(b.try_post("limits", &reader(6), "mine").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_delivery_held_by_a_node_that_dies_is_made_by_another() {
    if !common::on_postgres() {
        return;
    }
    let receiver = common::webhook::Receiver::default();
    *receiver.hanging.lock().unwrap() = true;
    let hook = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(dir.path());
    let mut a = Node::spawn(&database, &["--webhook-url", &hook]).ready().await;
    a.post("dies", &reader(1), "last words").await;
    // Node A has claimed the delivery and is waiting for the receiver's answer when it is killed.
    receiver.until("node A's attempt", |r| *r.attempts.lock().unwrap() >= 1).await;
    let b = Node::spawn(&database, &["--webhook-url", &hook]).ready().await;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    *receiver.hanging.lock().unwrap() = false;
    let killed = Instant::now();
    // Node B makes it once A's claim has run out (15 s): waited for, bounded with a margin.
    receiver.until_within("node B's delivery", Duration::from_secs(30), |r| !r.delivered().is_empty()).await;
    eprintln!("node B made the dead node's delivery {:?} after the kill", killed.elapsed());
    let event: serde_json::Value = serde_json::from_str(&receiver.delivered()[0].1).unwrap();
    assert_eq!(event["comment"]["text"], "last words");
    drop(b);
}

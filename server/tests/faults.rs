//! Faults on PostgreSQL: the database restarted under a serving node, and a node killed mid-burst. They
//! stop the test cluster itself, so they live in a test binary of their own (cargo runs binaries one at a
//! time) and need `OTKLIK_TEST_PG_CTL` from `scripts/with-postgres.sh`; on SQLite they do nothing.

mod common;

use std::time::Duration;

use common::node::Node;
use common::reader;
use futures::StreamExt as _;
use otklik_api::{ErrorBody, ErrorCode, ReactionKind};
use reqwest::StatusCode;
use serde_json::json;

/// The tests here take turns: one stops the cluster that the other would be starting a node on.
static TURNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs this cluster's `pg_ctl` with `args` (as the cluster's owner).
fn pg_ctl(args: &[&str]) {
    let ctl = std::env::var("OTKLIK_TEST_PG_CTL").expect("OTKLIK_TEST_PG_CTL (scripts/with-postgres.sh)");
    let out = std::process::Command::new(ctl).args(args).output().unwrap();
    assert!(out.status.success(), "pg_ctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

async fn status_of(node: &Node, path: &str) -> Option<StatusCode> {
    node.client.get(node.url(path)).send().await.ok().map(|r| r.status())
}

/// Waits until the node's health check answers `want` (`within`: a guard, not a wait).
async fn health_becomes(node: &Node, want: StatusCode, within: Duration) {
    common::until(&format!("/healthz answering {want}"), within, || async {
        status_of(node, "/healthz").await == Some(want)
    })
    .await;
}

#[tokio::test]
async fn the_database_restarted_under_a_node_costs_no_acknowledged_write() {
    if !common::on_postgres() {
        return;
    }
    let _turn = TURNS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::spawn(&common::database_in(dir.path()), &[]).ready().await;
    let kept = node.post("outage", &reader(1), "before the outage").await;

    pg_ctl(&["-m", "fast", "stop"]);
    health_becomes(&node, StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(10)).await;
    // A write while the database is down is refused in the one error shape, never acknowledged.
    let refused = node.try_post("outage", &reader(2), "during the outage").await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: ErrorBody = refused.json().await.unwrap();
    assert_eq!(body.error.code, ErrorCode::Unavailable);
    let reaction = node
        .client
        .put(node.url("/api/v1/articles/outage/reactions/mine"))
        .header("X-Otklik-Reader", reader(3))
        .json(&json!({ "kind": "like" }))
        .send()
        .await
        .unwrap();
    assert_eq!(reaction.status(), StatusCode::SERVICE_UNAVAILABLE);

    pg_ctl(&["start"]);
    // The node reconnects by itself.
    health_becomes(&node, StatusCode::OK, Duration::from_secs(30)).await;
    let after = node.post("outage", &reader(2), "after the outage").await;
    let page = node.page("outage", &reader(9)).await;
    let texts: Vec<&str> = page.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["before the outage", "after the outage"], "nothing refused was stored");
    assert_eq!((page.comments[0].id, page.comments[1].id), (kept.id, after.id));
    assert_eq!(node.counts("outage").await.like, 0);
}

#[tokio::test]
async fn a_node_killed_mid_burst_loses_nothing_it_acknowledged() {
    if !common::on_postgres() {
        return;
    }
    let _turn = TURNS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(dir.path());
    let mut node = Node::spawn(&database, &[]).ready().await;
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let url = node.url("/api/v1/articles/burst/reactions/mine");
    let client = node.client.clone();
    // 2,000 readers' likes, 64 in flight; each one the node answered 200 is acknowledged.
    let burst = tokio::spawn(async move {
        futures::stream::iter(0..2_000u64)
            .for_each_concurrent(64, |n| {
                let (client, url, acked) = (client.clone(), url.clone(), acked_tx.clone());
                async move {
                    let sent = client
                        .put(url)
                        .header("X-Otklik-Reader", reader(n))
                        .json(&json!({ "kind": ReactionKind::Like }))
                        .send()
                        .await;
                    if sent.is_ok_and(|r| r.status() == StatusCode::OK) {
                        let _ = acked.send(n);
                    }
                }
            })
            .await;
    });
    let mut acked = Vec::new();
    while acked.len() < 300 {
        acked.push(acked_rx.recv().await.expect("acknowledged writes"));
    }
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    burst.await.unwrap();
    while let Ok(n) = acked_rx.try_recv() {
        acked.push(n);
    }

    let node = Node::spawn(&database, &[]).ready().await;
    let stored = node.counts("burst").await.like;
    assert!(stored >= acked.len() as u64, "{stored} stored, {} acknowledged", acked.len());
    // Each acknowledged reader finds their like.
    for n in acked.iter().take(200) {
        let url = node.url("/api/v1/articles/burst/reactions");
        let view: otklik_api::ReactionsView =
            node.client.get(url).header("X-Otklik-Reader", reader(*n)).send().await.unwrap().json().await.unwrap();
        assert_eq!(view.mine, Some(ReactionKind::Like), "reader {n} was told their like was kept");
    }
    eprintln!("killed after {} acknowledged likes; {stored} stored", acked.len());
}

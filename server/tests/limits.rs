//! Rate limits on every public write over real HTTP: a comment flood, reaction stuffing from one address,
//! likes, the 429 answer with `Retry-After`, switching limits off, and what editors see.

mod common;

use common::{TestServer, reader};
use futures::future::join_all;
use otklik_api::{ErrorBody, ErrorCode};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "limits-editor";

/// A server behind a trusted proxy (loopback), so each request can name its client address.
async fn server(limits: &[&str]) -> TestServer {
    let limits: Vec<String> = limits.iter().map(|l| (*l).to_owned()).collect();
    TestServer::start_with(|s| {
        s.rate_limits = limits;
        s.trusted_proxies = vec!["127.0.0.1".into()];
        s.admin_token = Some(TOKEN.into());
    })
    .await
}

fn post_comment(s: &TestServer, who: &str, ip: &str, text: &str) -> reqwest::RequestBuilder {
    s.client
        .post(s.url("/api/v1/articles/flood/comments"))
        .header("X-Otklik-Reader", who)
        .header("X-Forwarded-For", ip)
        .json(&json!({ "text": text }))
}

async fn code(resp: reqwest::Response) -> (StatusCode, Option<u64>, Option<ErrorCode>) {
    let status = resp.status();
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
    let body: Option<ErrorBody> = if status.is_success() { None } else { resp.json().await.ok() };
    (status, retry, body.map(|b| b.error.code))
}

#[tokio::test]
async fn a_flooding_reader_is_refused_while_another_reader_is_served() {
    let s = server(&["off", "comments.reader=5/1m", "comments.ip=30/1m"]).await;
    let flooder = reader(1);
    let attempts = join_all((0..200).map(|i| post_comment(&s, &flooder, "203.0.113.9", &format!("spam {i}")).send()));
    let mut created = 0;
    let mut refused = 0;
    for resp in attempts.await {
        match code(resp.unwrap()).await {
            (StatusCode::CREATED, ..) => created += 1,
            (StatusCode::TOO_MANY_REQUESTS, Some(wait), Some(ErrorCode::RateLimited)) => {
                assert!((1..=12).contains(&wait), "5/1m refills one every 12 s: {wait}");
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((created, refused), (5, 195), "a burst of 5, then refusals");

    // Another reader elsewhere reads and writes as usual.
    let other = reader(2);
    let resp = post_comment(&s, &other, "198.51.100.4", "Обычный комментарий").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let page: Value =
        s.client.get(s.url("/api/v1/articles/flood/comments")).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["total"], 6);
    let like = s
        .client
        .put(s.url(&format!("/api/v1/articles/flood/comments/{}/like", page["comments"][0]["id"])))
        .header("X-Otklik-Reader", &other)
        .header("X-Forwarded-For", "198.51.100.4")
        .send()
        .await
        .unwrap();
    assert_eq!(like.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_address_minting_tokens_cannot_stuff_an_article() {
    let s = server(&["off", "reactions.article_ip=50/1h"]).await;
    let put = |n: u64, ip: &'static str| {
        s.client
            .put(s.url("/api/v1/articles/stuffed/reactions/mine"))
            .header("X-Otklik-Reader", reader(n))
            .header("X-Forwarded-For", ip)
            .json(&json!({"kind": "like"}))
            .send()
    };
    let mut refused = 0;
    for chunk in (0..500).collect::<Vec<u64>>().chunks(50) {
        for resp in join_all(chunk.iter().map(|n| put(*n, "203.0.113.66"))).await {
            let (status, retry, code) = code(resp.unwrap()).await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(code, Some(ErrorCode::RateLimited));
                assert!(retry.is_some_and(|r| r >= 1));
                refused += 1;
            } else {
                assert_eq!(status, StatusCode::OK);
            }
        }
    }
    assert_eq!(refused, 450);
    let view: Value =
        s.client.get(s.url("/api/v1/articles/stuffed/reactions")).send().await.unwrap().json().await.unwrap();
    assert_eq!(view["counts"]["like"], 50, "500 tokens from one address moved the count by 50");

    // Readers elsewhere, and the same address on another article, are not affected.
    assert_eq!(put(9_001, "198.51.100.5").await.unwrap().status(), StatusCode::OK);
    let elsewhere = s
        .client
        .put(s.url("/api/v1/articles/other/reactions/mine"))
        .header("X-Otklik-Reader", reader(9_002))
        .header("X-Forwarded-For", "203.0.113.66")
        .json(&json!({"kind": "sad"}))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::OK);

    // Editors see where it happened.
    let seen: Value =
        s.client.get(s.url("/api/v1/admin/refusals")).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen, json!({"reactions": {"stuffed": 450}}));
}

#[tokio::test]
async fn likes_and_reactions_have_per_reader_limits_that_can_be_switched_off() {
    let s = server(&["off", "reactions.reader=3/1m", "likes.reader=2/1m"]).await;
    let who = reader(7);
    let mut statuses = Vec::new();
    for kind in ["like", "laugh", "sad", "angry"] {
        let resp = s
            .client
            .put(s.url("/api/v1/articles/a/reactions/mine"))
            .header("X-Otklik-Reader", &who)
            .json(&json!({ "kind": kind }))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);

    let posted: Value = s
        .client
        .post(s.url("/api/v1/articles/a/comments"))
        .header("X-Otklik-Reader", &who)
        .json(&json!({"text": "Ок"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let like_url = s.url(&format!("/api/v1/articles/a/comments/{}/like", posted["id"]));
    let mut likes = Vec::new();
    for like in [true, false, true] {
        let req = if like { s.client.put(&like_url) } else { s.client.delete(&like_url) };
        likes.push(req.header("X-Otklik-Reader", &who).send().await.unwrap().status().as_u16());
    }
    assert_eq!(likes, [200, 200, 429]);

    // With every limit off, the same reader is never refused.
    let open = server(&["off"]).await;
    for n in 0..40 {
        let kind = ["like", "laugh"][n % 2];
        let resp = open
            .client
            .put(open.url("/api/v1/articles/a/reactions/mine"))
            .header("X-Otklik-Reader", &who)
            .json(&json!({ "kind": kind }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let s = TestServer::start_with(|settings| settings.max_connections = Some(2)).await;
    let idle_one = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let _idle_two = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let fresh = || reqwest::Client::new().get(s.url("/healthz")).timeout(std::time::Duration::from_millis(500)).send();
    assert!(fresh().await.is_err(), "a third connection is not served while two are held open");
    drop(idle_one);
    let served = fresh().await.expect("served once a slot is free");
    assert_eq!(served.status(), StatusCode::OK);
}

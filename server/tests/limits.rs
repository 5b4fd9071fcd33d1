//! Rate limits on every public write over real HTTP: a comment flood, reaction stuffing from one address,
//! likes, the 429 answer with `Retry-After`, switching limits off, and what editors see.

mod common;

use common::{TestServer, reader};
use futures::future::join_all;
use otklik_api::{ErrorBody, ErrorCode};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A server behind a trusted proxy (loopback), so each request can name its client address.
async fn server(limits: &[&str]) -> TestServer {
    let limits: Vec<String> = limits.iter().map(|l| (*l).to_owned()).collect();
    TestServer::start_with(|s| {
        s.rate_limits = limits;
        s.trusted_proxies = vec!["127.0.0.1".into()];
        s.admin_token = Some(common::EDITOR_TOKEN.into());
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
    let seen: Value = s.admin(reqwest::Method::GET, "/refusals", None).await.json().await.unwrap();
    assert_eq!(seen, json!({"reactions": {"stuffed": 450}}));
    // And moderators in the console.
    let password = common::console::add_moderator(&s, "olga").await;
    let console = common::console::Console::sign_in(&s, "olga", &password).await;
    let (_, page) = console.get("/admin/articles").await;
    assert!(page.contains("<code>stuffed</code></td><td>450</td>"), "{page}");
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
    // No wait needed: the server accepts connections in the order they were made, so these two take the
    // slots before the request below is looked at.
    let fresh = || reqwest::Client::new().get(s.url("/healthz")).timeout(std::time::Duration::from_millis(500)).send();
    assert!(fresh().await.is_err(), "a third connection is not served while two are held open");
    drop(idle_one);
    let served = fresh().await.expect("served once a slot is free");
    assert_eq!(served.status(), StatusCode::OK);
}

#[tokio::test]
async fn flags_are_limited_per_reader() {
    let s = server(&["off", "flags.reader=2/1h"]).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let posted: Value =
            post_comment(&s, &reader(1), "198.51.100.1", &format!("c{n}")).send().await.unwrap().json().await.unwrap();
        ids.push(posted["id"].clone());
    }
    let mut statuses = Vec::new();
    for id in &ids {
        let url = s.url(&format!("/api/v1/articles/flood/comments/{id}/flag"));
        let resp = s.client.put(url).header("X-Otklik-Reader", reader(2)).send().await.unwrap();
        statuses.push(code(resp).await);
    }
    assert_eq!(statuses[..2], [(StatusCode::NO_CONTENT, None, None), (StatusCode::NO_CONTENT, None, None)]);
    assert_eq!((statuses[2].0, statuses[2].2), (StatusCode::TOO_MANY_REQUESTS, Some(ErrorCode::RateLimited)));
    assert!(statuses[2].1.is_some_and(|s| s > 0), "Retry-After is given");
}

#[tokio::test]
async fn a_comment_needs_a_form_token_old_enough_for_a_person_to_have_typed() {
    let clock = otklik_server::clock::Clock::adjustable();
    let s = TestServer::start_with(|settings| {
        settings.min_compose_secs = Some(2);
        settings.clock = clock.clone();
    })
    .await;
    let url = s.url("/api/v1/articles/slow/comments");
    let page: Value =
        s.client.get(&url).header("X-Otklik-Reader", reader(1)).send().await.unwrap().json().await.unwrap();
    let form = page["form"].as_str().expect("pages carry a form token for their reader").to_owned();
    let anonymous: Value = s.client.get(&url).send().await.unwrap().json().await.unwrap();
    assert!(anonymous["form"].is_null(), "no reader, no token");
    let send = |who: String, form: Option<&str>| {
        s.client.post(&url).header("X-Otklik-Reader", who).json(&json!({"text": "Привет", "form": form})).send()
    };

    assert_eq!(code(send(reader(1), Some(&form)).await.unwrap()).await.2, Some(ErrorCode::TooFast));
    assert_eq!(code(send(reader(1), None).await.unwrap()).await.2, Some(ErrorCode::InvalidForm));
    let forged = format!("{}.000000000000000000000000", form.split('.').next().unwrap());
    assert_eq!(code(send(reader(1), Some(&forged)).await.unwrap()).await.2, Some(ErrorCode::InvalidForm));
    // The time a person takes to type, without the test taking it.
    clock.advance(3);
    assert_eq!(
        code(send(reader(2), Some(&form)).await.unwrap()).await.2,
        Some(ErrorCode::InvalidForm),
        "another reader's token"
    );
    let other_article = s.url("/api/v1/articles/other/comments");
    let resp = s
        .client
        .post(other_article)
        .header("X-Otklik-Reader", reader(1))
        .json(&json!({"text": "x", "form": form}))
        .send();
    assert_eq!(code(resp.await.unwrap()).await.2, Some(ErrorCode::InvalidForm), "another article's token");
    let ok = send(reader(1), Some(&form)).await.unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED, "in time, the same token works (for any number of comments)");
    assert_eq!(send(reader(1), Some(&form)).await.unwrap().status(), StatusCode::CREATED);
}

//! Reactions over real HTTP: the contract, every error case, persistence, and exact counts under load.

mod common;

use common::{TestServer, reader};
use futures::StreamExt as _;
use otklik_api::{ErrorBody, ErrorCode, ReactionCounts, ReactionKind, ReactionsView};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn put(s: &TestServer, article: &str, who: &str, kind: &str) -> reqwest::Response {
    s.client.put(s.mine(article)).header("X-Otklik-Reader", who).json(&json!({ "kind": kind })).send().await.unwrap()
}

async fn view(resp: reqwest::Response) -> ReactionsView {
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

async fn error(resp: reqwest::Response, status: StatusCode, code: ErrorCode) {
    assert_eq!(resp.status(), status);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: ErrorBody = resp.json().await.unwrap();
    assert_eq!(body.error.code, code, "{}", body.error.message);
    assert!(!body.error.message.is_empty());
}

fn counts(like: u64, laugh: u64, surprised: u64, angry: u64, sad: u64) -> ReactionCounts {
    ReactionCounts { like, laugh, surprised, angry, sad }
}

#[tokio::test]
async fn set_switch_and_clear_follow_the_contract() {
    let s = TestServer::start().await;
    let (alice, bob) = (reader(1), reader(2));

    let body: Value = s.client.get(s.reactions("news-1")).send().await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"counts": {"like": 0, "laugh": 0, "surprised": 0, "angry": 0, "sad": 0}, "mine": null}));

    let v = view(put(&s, "news-1", &alice, "laugh").await).await;
    assert_eq!((v.counts, v.mine), (counts(0, 1, 0, 0, 0), Some(ReactionKind::Laugh)));
    let v = view(put(&s, "news-1", &bob, "laugh").await).await;
    assert_eq!(v.counts, counts(0, 2, 0, 0, 0));

    // Setting the same kind again changes nothing; another kind switches.
    let v = view(put(&s, "news-1", &alice, "laugh").await).await;
    assert_eq!(v.counts, counts(0, 2, 0, 0, 0));
    let v = view(put(&s, "news-1", &alice, "angry").await).await;
    assert_eq!((v.counts, v.mine), (counts(0, 1, 0, 1, 0), Some(ReactionKind::Angry)));

    // GET shows the reader's own choice only to that reader.
    let v = view(s.client.get(s.reactions("news-1")).header("X-Otklik-Reader", &bob).send().await.unwrap()).await;
    assert_eq!((v.counts, v.mine), (counts(0, 1, 0, 1, 0), Some(ReactionKind::Laugh)));
    let v = view(s.client.get(s.reactions("news-1")).send().await.unwrap()).await;
    assert_eq!(v.mine, None);

    let v = view(s.client.delete(s.mine("news-1")).header("X-Otklik-Reader", &alice).send().await.unwrap()).await;
    assert_eq!((v.counts, v.mine), (counts(0, 1, 0, 0, 0), None));
    // Clearing twice is harmless.
    let v = view(s.client.delete(s.mine("news-1")).header("X-Otklik-Reader", &alice).send().await.unwrap()).await;
    assert_eq!(v.counts, counts(0, 1, 0, 0, 0));

    // Articles are independent.
    let v = view(s.client.get(s.reactions("news-2")).send().await.unwrap()).await;
    assert_eq!(v.counts.total(), 0);
}

/// The widget's first read: the token as a text/plain body, which a browser sends cross-origin without a
/// preflight; the answer is the GET's, never cached.
#[tokio::test]
async fn the_view_takes_the_reader_from_a_plain_text_body() {
    let s = TestServer::start_with(|settings| settings.allowed_origins = vec!["https://news.example".into()]).await;
    view(put(&s, "a", &reader(1), "sad").await).await;
    let url = s.url("/api/v1/articles/a/reactions/view");
    let post = |body: String| {
        s.client
            .post(&url)
            .header("Origin", "https://news.example")
            .header("Content-Type", "text/plain;charset=UTF-8")
            .body(body)
            .send()
    };
    let resp = post(reader(1)).await.unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://news.example");
    let mine = view(resp).await;
    assert_eq!((mine.counts, mine.mine), (counts(0, 0, 0, 0, 1), Some(ReactionKind::Sad)));
    let anyone = view(post(String::new()).await.unwrap()).await;
    assert_eq!((anyone.counts, anyone.mine), (counts(0, 0, 0, 0, 1), None));
    error(post("not a token".into()).await.unwrap(), StatusCode::BAD_REQUEST, ErrorCode::InvalidReader).await;
}

#[tokio::test]
async fn hex_and_base64url_spellings_are_one_reader() {
    let s = TestServer::start().await;
    let hex = "00112233445566778899aabbccddeeff";
    let b64 = otklik_api::ReaderToken::parse(hex).unwrap().encode();
    view(put(&s, "a", hex, "sad").await).await;
    let v = view(put(&s, "a", &b64, "like").await).await;
    assert_eq!((v.counts, v.mine), (counts(1, 0, 0, 0, 0), Some(ReactionKind::Like)));
}

#[tokio::test]
async fn reader_header_is_required_for_writes_and_must_be_well_formed() {
    let s = TestServer::start().await;
    let no_reader = s.client.put(s.mine("a")).json(&json!({"kind": "like"})).send().await.unwrap();
    error(no_reader, StatusCode::BAD_REQUEST, ErrorCode::MissingReader).await;
    let no_reader = s.client.delete(s.mine("a")).send().await.unwrap();
    error(no_reader, StatusCode::BAD_REQUEST, ErrorCode::MissingReader).await;
    for bad in ["short", "AAAAAAAAAAAAAAAAAAAAAB", "zz112233445566778899aabbccddeeff", "AAAAAAAAAAAAAAAAAAAAAAAA"] {
        error(put(&s, "a", bad, "like").await, StatusCode::BAD_REQUEST, ErrorCode::InvalidReader).await;
        let get = s.client.get(s.reactions("a")).header("X-Otklik-Reader", bad).send().await.unwrap();
        error(get, StatusCode::BAD_REQUEST, ErrorCode::InvalidReader).await;
    }
    // Nothing was stored by the refused writes.
    assert_eq!(view(s.client.get(s.reactions("a")).send().await.unwrap()).await.counts.total(), 0);
}

#[tokio::test]
async fn bad_article_ids_are_refused() {
    let s = TestServer::start().await;
    let long = "x".repeat(129);
    for bad in ["a%20b", "%D1%81%D1%82%D0%B0%D1%82%D1%8C%D1%8F", long.as_str(), "a+b", "a%2Fb"] {
        let get = s.client.get(s.reactions(bad)).send().await.unwrap();
        error(get, StatusCode::BAD_REQUEST, ErrorCode::InvalidArticleId).await;
        error(put(&s, bad, &reader(1), "like").await, StatusCode::BAD_REQUEST, ErrorCode::InvalidArticleId).await;
    }
    let max = "y".repeat(128);
    view(put(&s, &max, &reader(1), "like").await).await;
}

#[tokio::test]
async fn malformed_bodies_get_clear_4xx_errors() {
    let s = TestServer::start().await;
    let who = reader(7);
    let send = |body: &'static str, content_type: &'static str| {
        s.client.put(s.mine("a")).header("X-Otklik-Reader", &who).header("content-type", content_type).body(body).send()
    };
    error(put(&s, "a", &who, "heart").await, StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody).await;
    error(
        send(r#"{"kind":"like","extra":1}"#, "application/json").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidBody,
    )
    .await;
    error(send(r#"{}"#, "application/json").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody)
        .await;
    error(send(r#"{"kind":"#, "application/json").await.unwrap(), StatusCode::BAD_REQUEST, ErrorCode::InvalidBody)
        .await;
    error(
        send(r#"{"kind":"like"}"#, "text/plain").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::UnsupportedMediaType,
    )
    .await;
    let none = s.client.put(s.mine("a")).header("X-Otklik-Reader", &who).send().await.unwrap();
    error(none, StatusCode::UNSUPPORTED_MEDIA_TYPE, ErrorCode::UnsupportedMediaType).await;
    let huge = format!(r#"{{"kind":"like","pad":"{}"}}"#, "x".repeat(10_000));
    let resp = s
        .client
        .put(s.mine("a"))
        .header("X-Otklik-Reader", &who)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    error(resp, StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge).await;
    assert_eq!(view(s.client.get(s.reactions("a")).send().await.unwrap()).await.counts.total(), 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let s = TestServer::start().await;
    error(
        s.client.get(s.url("/api/v1/nothing-here")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    error(
        s.client.post(s.reactions("a")).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
    )
    .await;
    error(s.client.get(s.mine("a")).send().await.unwrap(), StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed)
        .await;
}

#[tokio::test]
async fn reactions_and_reader_identity_survive_a_restart() {
    let s = TestServer::start().await;
    view(put(&s, "kept", &reader(3), "surprised").await).await;
    let dir = s.stop().await;
    let settings = common::settings_in(dir.path());
    let s = TestServer::start_in(dir, settings).await;
    // The generated secret was kept, so the same token still maps to the same reader.
    let v = view(s.client.get(s.reactions("kept")).header("X-Otklik-Reader", reader(3)).send().await.unwrap()).await;
    assert_eq!((v.counts, v.mine), (counts(0, 0, 1, 0, 0), Some(ReactionKind::Surprised)));
}

#[tokio::test]
async fn health_reports_a_reachable_database() {
    let s = TestServer::start().await;
    let resp = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

/// 1,500 readers, each setting, some switching and some clearing, 64 requests in flight at once:
/// the stored totals must equal what the last write of each reader implies, exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_stay_exact_under_concurrency() {
    let s = TestServer::start().await;
    const READERS: u64 = 1_500;
    let kind = |n: u64| ReactionKind::ALL[(n % 5) as usize];
    let plan = move |n: u64| -> Vec<Option<ReactionKind>> {
        match n % 6 {
            0 => vec![Some(kind(n)), None],
            1 | 2 => vec![Some(kind(n)), Some(kind(n + 2))],
            _ => vec![Some(kind(n))],
        }
    };
    let results: Vec<ReactionsView> = futures::stream::iter(0..READERS)
        .map(|n| {
            let s = &s;
            async move {
                let who = reader(n);
                let mut last = None;
                for step in plan(n) {
                    let req = match step {
                        Some(k) => s.client.put(s.mine("hot")).json(&json!({ "kind": k })),
                        None => s.client.delete(s.mine("hot")),
                    };
                    let v = view(req.header("X-Otklik-Reader", &who).send().await.unwrap()).await;
                    assert_eq!(v.mine, step);
                    last = Some(v);
                }
                last.unwrap()
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert_eq!(results.len(), READERS as usize);

    let mut expected = ReactionCounts::default();
    let mut writes = 0;
    for n in 0..READERS {
        let steps = plan(n);
        writes += steps.len();
        if let Some(Some(k)) = steps.last() {
            expected.add(*k, 1);
        }
    }
    assert!(writes >= 2_000, "{writes} writes");
    let v = view(s.client.get(s.reactions("hot")).send().await.unwrap()).await;
    assert_eq!(v.counts, expected);
    assert_eq!(v.counts.total(), READERS - READERS.div_ceil(6));
}

//! Typo reports over real HTTP: storing, merging, statuses, validation, rate limits, the editors' API and
//! its authorisation, and webhook deliveries (typo reports and comments) to a real receiver on loopback,
//! across a restart.

mod common;

use common::webhook::Receiver;
use common::{EDITOR_TOKEN as TOKEN, TestServer, reader, settings_in};
use hmac::{Hmac, Mac as _};
use otklik_api::{ErrorBody, ErrorCode, TypoList, TypoReceipt, TypoReport, TypoStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn with_admin() -> TestServer {
    TestServer::start_with(|s| {
        s.admin_token = Some(TOKEN.into());
        s.allowed_origins = vec![PUBLISHER.into()];
    })
    .await
}

/// The publisher whose pages the reports come from (page URLs of other sites are not kept).
const PUBLISHER: &str = "https://news.example";

async fn report(s: &TestServer, article: &str, who: &str, body: Value) -> reqwest::Response {
    s.client
        .post(s.url(&format!("/api/v1/articles/{article}/typos")))
        .header("X-Otklik-Reader", who)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn typo(fragment: &str, before: &str, after: &str) -> Value {
    json!({"fragment": fragment, "before": before, "after": after})
}

async fn receipt(resp: reqwest::Response, status: StatusCode) -> TypoReceipt {
    assert_eq!(resp.status(), status);
    resp.json().await.unwrap()
}

async fn refused(resp: reqwest::Response, status: StatusCode, code: ErrorCode) -> String {
    assert_eq!(resp.status(), status);
    let body: ErrorBody = resp.json().await.unwrap();
    assert_eq!(body.error.code, code, "{}", body.error.message);
    body.error.message
}

async fn admin_list(s: &TestServer, query: &str) -> TypoList {
    let resp = s.admin(reqwest::Method::GET, format!("/typos?{query}"), None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

async fn set_status(s: &TestServer, id: impl std::fmt::Display, status: &str) -> reqwest::Response {
    s.admin(reqwest::Method::PATCH, format!("/typos/{id}"), Some(json!({ "status": status }))).await
}

#[tokio::test]
async fn reports_are_stored_with_context_and_repeats_merge() {
    let s = with_admin().await;
    let mut first = typo("паромщек", "На переправе работает ", " с сорокалетним стажем.");
    first["note"] = json!("паромщик");
    first["page"] = json!({"url": "https://news.example/ferry", "title": "Паром через Волгу"});
    let r1 = receipt(report(&s, "ferry", &reader(1), first).await, StatusCode::CREATED).await;
    assert_eq!((r1.reports, r1.merged), (1, false));

    // The same fragment in the same context from another reader joins it, with its note.
    let mut again = typo("паромщек", "На переправе работает ", " с сорокалетним стажем.");
    again["note"] = json!("  должно быть «паромщик»  ");
    let r2 = receipt(report(&s, "ferry", &reader(2), again).await, StatusCode::OK).await;
    assert_eq!((r2.id, r2.reports, r2.merged), (r1.id, 2, true));
    // Without a note the counter still moves.
    let r3 = receipt(
        report(&s, "ferry", &reader(3), typo("паромщек", "На переправе работает ", " с сорокалетним стажем.")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(r3.reports, 3);

    // The same word elsewhere in the article, or on another article, is another report.
    let other =
        receipt(report(&s, "ferry", &reader(1), typo("паромщек", "Старый ", " вспоминает")).await, StatusCode::CREATED)
            .await;
    assert_ne!(other.id, r1.id);
    receipt(
        report(&s, "bridge", &reader(1), typo("паромщек", "На переправе работает ", "")).await,
        StatusCode::CREATED,
    )
    .await;

    let list = admin_list(&s, "status=new").await;
    assert_eq!(list.typos.len(), 3);
    assert!(list.typos.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let stored = list.typos.iter().find(|t| t.id == r1.id).unwrap();
    assert_eq!(stored.article, "ferry");
    assert_eq!(
        (stored.before.as_str(), stored.fragment.as_str(), stored.after.as_str()),
        ("На переправе работает ", "паромщек", " с сорокалетним стажем.")
    );
    assert_eq!(stored.notes, ["паромщик", "должно быть «паромщик»"]);
    assert_eq!((stored.reports, stored.status), (3, TypoStatus::New));
    assert_eq!(stored.page.url.as_deref(), Some("https://news.example/ferry"));
    assert_eq!(stored.page.title.as_deref(), Some("Паром через Волгу"));

    // Pages of the list follow the cursor without gaps.
    let one = admin_list(&s, "limit=2").await;
    assert_eq!(one.typos.len(), 2);
    let two = admin_list(&s, &format!("limit=2&cursor={}", one.next.unwrap())).await;
    assert_eq!((two.typos.len(), two.next), (1, None));
}

#[tokio::test]
async fn statuses_close_reports_and_a_closed_fragment_can_be_reported_anew() {
    let s = with_admin().await;
    let body = || typo("кажыдй", "Паром ходит ", " час.");
    let first = receipt(report(&s, "a", &reader(1), body()).await, StatusCode::CREATED).await;

    let resp = set_status(&s, first.id, "fixed").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let fixed: TypoReport = resp.json().await.unwrap();
    assert_eq!(fixed.status, TypoStatus::Fixed);
    assert!(admin_list(&s, "status=new").await.typos.is_empty());
    assert_eq!(admin_list(&s, "status=fixed").await.typos.len(), 1);

    // Once fixed, the same report is a new one (the page may not have been updated yet).
    let second = receipt(report(&s, "a", &reader(2), body()).await, StatusCode::CREATED).await;
    assert_ne!(second.id, first.id);
    // Reopening the fixed one would duplicate the open one.
    refused(set_status(&s, first.id, "new").await, StatusCode::CONFLICT, ErrorCode::InvalidTypo).await;
    let rejected: TypoReport = set_status(&s, second.id, "rejected").await.json().await.unwrap();
    assert_eq!(rejected.status, TypoStatus::Rejected);
    assert_eq!(admin_list(&s, "").await.typos.len(), 2, "no status lists all");

    refused(set_status(&s, 999, "fixed").await, StatusCode::NOT_FOUND, ErrorCode::TypoNotFound).await;
    refused(set_status(&s, "x", "fixed").await, StatusCode::NOT_FOUND, ErrorCode::TypoNotFound).await;
    refused(set_status(&s, first.id, "open").await, StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody).await;
    let bad = s.client.get(s.url("/api/v1/admin/typos?status=open")).bearer_auth(TOKEN).send().await.unwrap();
    refused(bad, StatusCode::BAD_REQUEST, ErrorCode::InvalidQuery).await;
}

#[tokio::test]
async fn bad_reports_get_clear_errors_and_long_context_is_cut() {
    let s = with_admin().await;
    let who = reader(1);
    refused(
        report(&s, "a", &who, typo("  \n ", "x", "y")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidTypo,
    )
    .await;
    let long = "ё".repeat(otklik_api::limits::TYPO_FRAGMENT_MAX + 1);
    let message = refused(
        report(&s, "a", &who, typo(&long, "", "")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidTypo,
    )
    .await;
    assert!(message.contains("250"), "{message}");
    let mut noted = typo("x", "", "");
    noted["note"] = json!("n".repeat(otklik_api::limits::TYPO_NOTE_MAX + 1));
    refused(report(&s, "a", &who, noted).await, StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidTypo).await;
    refused(
        report(&s, "a", &who, json!({"fragment": "x", "html": "<b>"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidBody,
    )
    .await;
    let anonymous = s.client.post(s.url("/api/v1/articles/a/typos")).json(&typo("x", "", "")).send().await.unwrap();
    refused(anonymous, StatusCode::BAD_REQUEST, ErrorCode::MissingReader).await;
    let huge = json!({"fragment": "x", "before": "я".repeat(10_000)});
    refused(report(&s, "a", &who, huge).await, StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge).await;

    // Context longer than the widget sends (another client) is cut the same way, not refused; control
    // characters are dropped.
    let words = "слово ".repeat(40);
    let ok = report(&s, "a", &who, typo("ошибка\u{0}", &words, &format!(" {words}"))).await;
    let id = receipt(ok, StatusCode::CREATED).await.id;
    let stored = admin_list(&s, "").await.typos.into_iter().find(|t| t.id == id).unwrap();
    assert_eq!(stored.fragment, "ошибка");
    assert!(stored.before.chars().count() <= 60 && stored.before.trim().split(' ').all(|w| w == "слово"));
    assert!(stored.after.chars().count() <= 60 && stored.after.trim().split(' ').all(|w| w == "слово"));
}

#[tokio::test]
async fn admin_routes_need_the_token_and_do_not_exist_without_one() {
    let open = TestServer::start().await;
    for auth in [None, Some(TOKEN)] {
        let mut get = open.client.get(open.url("/api/v1/admin/typos"));
        let mut patch = open.client.patch(open.url("/api/v1/admin/typos/1")).json(&json!({"status": "fixed"}));
        if let Some(token) = auth {
            get = get.bearer_auth(token);
            patch = patch.bearer_auth(token);
        }
        refused(get.send().await.unwrap(), StatusCode::NOT_FOUND, ErrorCode::NotFound).await;
        refused(patch.send().await.unwrap(), StatusCode::NOT_FOUND, ErrorCode::NotFound).await;
    }

    let s = with_admin().await;
    let missing = s.client.get(s.url("/api/v1/admin/typos")).send().await.unwrap();
    assert_eq!(missing.headers()["www-authenticate"], "Bearer realm=\"otklik\"");
    refused(missing, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
    for wrong in ["editor-token-for-test", "EDITOR-TOKEN-FOR-TESTS", ""] {
        let resp = s.client.get(s.url("/api/v1/admin/typos")).bearer_auth(wrong).send().await.unwrap();
        refused(resp, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
    }
    let basic = s.client.get(s.url("/api/v1/admin/typos")).basic_auth("editor", Some(TOKEN)).send().await.unwrap();
    refused(basic, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
    let patch = s.client.patch(s.url("/api/v1/admin/typos/1")).json(&json!({"status": "fixed"})).send().await.unwrap();
    refused(patch, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
    assert!(admin_list(&s, "").await.typos.is_empty());
}

#[tokio::test]
async fn per_reader_and_per_ip_limits_answer_429_with_retry_after() {
    let s = TestServer::start_with(|settings| {
        settings.rate_limits = vec!["typos.reader=2/1m".into(), "typos.ip=4/1m".into()];
        settings.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let from = |who: u64, ip: &str, n: u32| {
        s.client
            .post(s.url("/api/v1/articles/a/typos"))
            .header("X-Otklik-Reader", reader(who))
            .header("X-Forwarded-For", ip)
            .json(&typo(&format!("word{n}"), "", ""))
            .send()
    };
    // An invalid report is not counted against the reader.
    let empty = report(&s, "a", &reader(1), typo("", "", "")).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for n in 0..2 {
        assert_eq!(from(1, "203.0.113.1", n).await.unwrap().status(), StatusCode::CREATED);
    }
    let over = from(1, "203.0.113.1", 2).await.unwrap();
    let wait: u64 = over.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "a 2/1m bucket refills one every 30 s, got {wait}");
    let message = refused(over, StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited).await;
    assert!(message.contains("try again"), "{message}");

    // Other readers from the same address share its bucket of 4 (two were used above).
    assert_eq!(from(2, "203.0.113.1", 3).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(from(3, "203.0.113.1", 4).await.unwrap().status(), StatusCode::CREATED);
    let shared = from(4, "203.0.113.1", 5).await.unwrap();
    refused(shared, StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited).await;
    // Another address is not affected.
    assert_eq!(from(4, "198.51.100.7", 6).await.unwrap().status(), StatusCode::CREATED);
}

#[tokio::test]
async fn limits_can_be_switched_off() {
    let s = TestServer::start_with(|settings| settings.rate_limits = vec!["off".into()]).await;
    for n in 0..30 {
        let resp = report(&s, "a", &reader(1), typo(&format!("w{n}"), "", "")).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let s = TestServer::start_with(|settings| settings.rate_limits = vec!["typos.reader=off".into()]).await;
    for n in 0..21 {
        let resp = report(&s, "a", &reader(1), typo(&format!("w{n}"), "", "")).await;
        let expected = if n < 20 { StatusCode::CREATED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(resp.status(), expected, "report {n}: the per-IP default of 20/5m still holds");
    }
}

#[tokio::test]
async fn new_reports_are_announced_by_a_signed_webhook() {
    let hook = Receiver::default();
    let url = hook.start().await;
    let s = TestServer::start_with(|settings| {
        settings.webhook_url = Some(url);
        settings.webhook_secret = Some("hook-secret".into());
        settings.allowed_origins = vec![PUBLISHER.into()];
    })
    .await;
    let mut body = typo("кажыдй", "Паром ходит ", " час.");
    body["note"] = json!("каждый");
    body["page"] = json!({"url": "https://news.example/ferry", "title": "Паром"});
    let first = receipt(report(&s, "ferry", &reader(1), body.clone()).await, StatusCode::CREATED).await;
    hook.until("the first delivery", |h| h.delivered().len() == 1).await;

    let (headers, raw) = hook.delivered().remove(0);
    assert_eq!(headers["x-otklik-event"], "typo.created");
    assert_eq!(headers["content-type"], "application/json");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"hook-secret").unwrap();
    mac.update(raw.as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(headers["x-otklik-signature"], format!("sha256={expected}").as_str());
    let event: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(event["event"], "typo.created");
    assert_eq!(event["typo"]["id"], first.id.0);
    assert_eq!(event["typo"]["fragment"], "кажыдй");
    assert_eq!(event["typo"]["before"], "Паром ходит ");
    assert_eq!(event["typo"]["after"], " час.");
    assert_eq!(event["typo"]["notes"], json!(["каждый"]));
    assert_eq!(event["article"], json!({"id": "ferry", "url": "https://news.example/ferry", "title": "Паром"}));

    // A merged report is not announced again; the next new one is.
    receipt(report(&s, "ferry", &reader(2), body).await, StatusCode::OK).await;
    receipt(report(&s, "ferry", &reader(2), typo("другое", "", "")).await, StatusCode::CREATED).await;
    hook.until("the second delivery", |h| h.delivered().len() == 2).await;
    // Deliveries go out in the order of their events: once a later report's event has arrived, anything
    // the merged report had queued would have arrived before it.
    receipt(report(&s, "ferry", &reader(3), typo("третье", "", "")).await, StatusCode::CREATED).await;
    hook.until("the third delivery", |h| h.delivered().len() == 3).await;
    let events: Vec<Value> = hook.delivered().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect();
    let fragments: Vec<&Value> = events.iter().map(|e| &e["typo"]["fragment"]).collect();
    assert_eq!(fragments, [&json!("кажыдй"), &json!("другое"), &json!("третье")]);
    assert_eq!(events[1]["typo"]["fragment"], "другое");
}

#[tokio::test]
async fn a_failed_delivery_is_made_after_a_restart() {
    let hook = Receiver::default();
    *hook.down.lock().unwrap() = true;
    let url = hook.start().await;
    let configure = |settings: &mut otklik_server::Settings| settings.webhook_url = Some(url.clone());
    let s = TestServer::start_with(configure).await;
    let created = receipt(report(&s, "ferry", &reader(1), typo("ошыбка", "", "")).await, StatusCode::CREATED).await;
    // The reader's request did not wait for the receiver; the delivery failed in the background.
    hook.until("a failed attempt", |h| *h.attempts.lock().unwrap() >= 1).await;
    assert!(hook.delivered().is_empty());

    let dir = s.stop().await;
    *hook.down.lock().unwrap() = false;
    let mut settings = settings_in(dir.path());
    configure(&mut settings);
    let s = TestServer::start_in(dir, settings).await;
    hook.until("the delivery after the restart", |h| h.delivered().len() == 1).await;
    let (headers, raw) = hook.delivered().remove(0);
    let event: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(event["typo"]["id"], created.id.0);
    assert!(headers.contains_key("x-otklik-delivery"));
    assert!(!headers.contains_key("x-otklik-signature"), "no secret, no signature");

    // Delivered rows leave the outbox: the next event is the next delivery, the first is not made again.
    let next = receipt(report(&s, "ferry", &reader(2), typo("другое", "", "")).await, StatusCode::CREATED).await;
    hook.until("the next delivery", |h| h.delivered().len() == 2).await;
    let ids: Vec<Value> =
        hook.delivered().iter().map(|(_, b)| serde_json::from_str::<Value>(b).unwrap()["typo"]["id"].clone()).collect();
    assert_eq!(ids, [json!(created.id.0), json!(next.id.0)]);
    assert_eq!(hook.delivered().len(), 2);
    s.stop().await;
}

#[tokio::test]
async fn new_comments_are_announced_through_the_same_outbox() {
    let hook = Receiver::default();
    let url = hook.start().await;
    let s = TestServer::start_with(|settings| {
        settings.webhook_url = Some(url);
        settings.stop_words = vec!["казино".into()];
        settings.admin_token = Some(TOKEN.into());
        settings.allowed_origins = vec![PUBLISHER.into()];
    })
    .await;
    let body = json!({"text": "Когда откроют павильон?", "author": "Вера",
                      "page": {"url": "https://news.example/ferry", "title": "Паром"}});
    let resp = s
        .client
        .post(s.url("/api/v1/articles/ferry/comments"))
        .header("X-Otklik-Reader", reader(1))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let posted: Value = resp.json().await.unwrap();
    hook.until("the comment event", |h| h.delivered().len() == 1).await;
    let (headers, raw) = hook.delivered().remove(0);
    assert_eq!(headers["x-otklik-event"], "comment.created");
    let event: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(event["event"], "comment.created");
    assert_eq!(event["comment"]["id"], posted["id"]);
    assert_eq!(event["comment"]["text"], "Когда откроют павильон?");
    assert_eq!(event["comment"]["mine"], false, "nothing reader-specific goes out");
    assert_eq!(event["article"], json!({"id": "ferry", "url": "https://news.example/ferry", "title": "Паром"}));

    // A comment held for moderation is announced as pending, so a receiver can call a moderator.
    let held = s
        .client
        .post(s.url("/api/v1/articles/ferry/comments"))
        .header("X-Otklik-Reader", reader(2))
        .json(&json!({"text": "Лучшее казино"}))
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), StatusCode::CREATED);
    hook.until("the pending event", |h| h.delivered().len() == 2).await;
    let (headers, raw) = hook.delivered().remove(1);
    assert_eq!(headers["x-otklik-event"], "comment.pending");
    let event: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!((event["event"].as_str(), event["comment"]["pending"].as_bool()), (Some("comment.pending"), Some(true)));

    // Once a moderator approves it, readers see it: now it is announced as created.
    let held: Value = held.json().await.unwrap();
    let approve =
        s.admin(reqwest::Method::POST, format!("/comments/{}", held["id"]), Some(json!({"action": "approve"}))).await;
    assert_eq!(approve.status(), StatusCode::OK);
    hook.until("the approval's event", |h| h.delivered().len() == 3).await;
    let (headers, raw) = hook.delivered().remove(2);
    assert_eq!(headers["x-otklik-event"], "comment.created");
    let event: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!((&event["comment"]["id"], &event["comment"]["pending"]), (&held["id"], &json!(false)));
    assert_eq!(event["comment"]["text"], "Лучшее казино");
    assert_eq!(event["article"]["id"], "ferry");
}

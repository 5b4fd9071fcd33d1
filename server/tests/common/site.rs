//! A small site built through the API with something of everything (reactions, threads with replies, a
//! held comment, likes, flags, edits, deletions, typo reports, a ban, article settings), and every read
//! route's answer: what a copy or an export must carry across.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{TestServer, reader};

pub async fn send(s: &TestServer, method: reqwest::Method, path: &str, who: &str, body: Value) -> Value {
    let resp = s.client.request(method, s.url(path)).header("X-Otklik-Reader", who).json(&body).send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

/// A small site with something of everything a copy must carry.
pub async fn build_site(s: &TestServer) {
    use reqwest::Method;
    for n in 0..12u64 {
        let kind = ["like", "laugh", "surprised", "angry", "sad"][(n % 5) as usize];
        send(s, Method::PUT, "/api/v1/articles/ferry/reactions/mine", &reader(n), json!({ "kind": kind })).await;
    }
    send(s, Method::PUT, "/api/v1/articles/bridge/reactions/mine", &reader(1), json!({ "kind": "sad" })).await;
    let mut ids = Vec::new();
    for n in 0..6u64 {
        let body = json!({ "text": format!("Комментарий {n}"), "author": format!("Читатель {n}"),
                           "page": { "url": "https://news.example/ferry", "title": "Паром" } });
        let c = send(s, Method::POST, "/api/v1/articles/ferry/comments", &reader(n), body).await;
        ids.push(c["id"].as_i64().unwrap());
    }
    let reply = send(
        s,
        Method::POST,
        "/api/v1/articles/ferry/comments",
        &reader(7),
        json!({ "text": "Ответ", "parent": ids[0] }),
    )
    .await;
    send(
        s,
        Method::POST,
        "/api/v1/articles/ferry/comments",
        &reader(8),
        json!({ "text": "Ответ на ответ", "parent": reply["id"] }),
    )
    .await;
    send(s, Method::POST, "/api/v1/articles/ferry/comments", &reader(9), json!({ "text": "otklik-hold-me" })).await;
    for n in 0..4u64 {
        send(s, Method::PUT, &format!("/api/v1/articles/ferry/comments/{}/like", ids[1]), &reader(n), json!({})).await;
    }
    send(s, Method::PUT, &format!("/api/v1/articles/ferry/comments/{}/flag", ids[2]), &reader(4), json!({})).await;
    send(
        s,
        Method::PATCH,
        &format!("/api/v1/articles/ferry/comments/{}", ids[3]),
        &reader(3),
        json!({"text": "Исправил"}),
    )
    .await;
    // Deleted with a reply under it: it stays as a placeholder; deleted without: gone, its id never reused.
    let answered = ids[4];
    send(s, Method::POST, "/api/v1/articles/ferry/comments", &reader(2), json!({ "text": "Ну", "parent": answered }))
        .await;
    s.client
        .delete(s.url(&format!("/api/v1/articles/ferry/comments/{answered}")))
        .header("X-Otklik-Reader", reader(4))
        .send()
        .await
        .unwrap();
    s.client
        .delete(s.url(&format!("/api/v1/articles/ferry/comments/{}", ids[5])))
        .header("X-Otklik-Reader", reader(5))
        .send()
        .await
        .unwrap();
    for n in 0..2u64 {
        let typo =
            json!({ "fragment": "ашибка", "before": "это ", "after": " в тексте", "note": format!("правка {n}") });
        send(s, Method::POST, "/api/v1/articles/ferry/typos", &reader(n), typo).await;
    }
    let ban = json!({ "kind": "reader", "comment": ids[2], "days": 3, "reason": "спам" });
    assert_eq!(s.admin(Method::POST, "/bans", Some(ban)).await.status(), StatusCode::CREATED);
    let closed = json!({ "moderation": "pre", "closed": true });
    assert!(s.admin(Method::PUT, "/articles/bridge", Some(closed)).await.status().is_success());
    // The newest comment, deleted: its id (11) must not be handed out again after the copy either.
    let newest = send(s, Method::POST, "/api/v1/articles/ferry/comments", &reader(6), json!({ "text": "Ой" })).await;
    s.client
        .delete(s.url(&format!("/api/v1/articles/ferry/comments/{}", newest["id"])))
        .header("X-Otklik-Reader", reader(6))
        .send()
        .await
        .unwrap();
}

/// Every read route's answer, as text, in a fixed order.
pub async fn answers(s: &TestServer) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let reads = [
        "/api/v1/articles/ferry/reactions",
        "/api/v1/articles/bridge/reactions",
        "/api/v1/articles/ferry/comments",
        "/api/v1/articles/ferry/comments?sort=newest",
        "/api/v1/articles/ferry/comments?sort=popular",
        "/api/v1/articles/ferry/comments?limit=2",
        "/api/v1/articles/bridge/comments",
        "/api/v1/counts?articles=ferry,bridge,nothing",
    ];
    // As an anonymous reader, as readers who wrote, liked and waited for moderation: their own flags too.
    for who in [None, Some(reader(0)), Some(reader(3)), Some(reader(9))] {
        for path in reads {
            let mut req = s.client.get(s.url(path));
            if let Some(who) = &who {
                req = req.header("X-Otklik-Reader", who);
            }
            let resp = req.send().await.unwrap();
            out.push((format!("{path} as {who:?}"), format!("{} {}", resp.status(), resp.text().await.unwrap())));
        }
    }
    let first: Value = serde_json::from_str(&out[2].1[out[2].1.find('{').unwrap()..]).unwrap();
    let root = first["comments"][0]["id"].as_i64().unwrap();
    let replies = s.client.get(s.url(&format!("/api/v1/articles/ferry/comments?root={root}&limit=1"))).send().await;
    out.push(("replies".into(), replies.unwrap().text().await.unwrap()));
    for path in ["/typos", "/comments?queue=all", "/comments?queue=pending", "/bans", "/audit", "/articles"] {
        let resp = s.admin(reqwest::Method::GET, path, None).await;
        out.push((format!("admin {path}"), format!("{} {}", resp.status(), resp.text().await.unwrap())));
    }
    out
}

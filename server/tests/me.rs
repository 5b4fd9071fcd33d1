//! A reader's own data: `GET /api/v1/me` shows it, `DELETE /api/v1/me` erases it with every count moved,
//! and editors erase the reader behind a comment, audited. On either backend.

mod common;

use common::{EDITOR_TOKEN, TestServer, reader};
use otklik_api::{Comment, CommentPage, Erased, ReactionsView, ReaderData};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn send(s: &TestServer, method: Method, path: &str, who: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = s.client.request(method, s.url(&format!("/api/v1{path}"))).header("X-Otklik-Reader", who);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn post(s: &TestServer, who: &str, text: &str, parent: Option<i64>) -> Comment {
    let resp =
        send(s, Method::POST, "/articles/x/comments", who, Some(json!({ "text": text, "parent": parent }))).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

async fn me(s: &TestServer, who: &str) -> ReaderData {
    let resp = send(s, Method::GET, "/me", who, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    resp.json().await.unwrap()
}

async fn thread(s: &TestServer) -> CommentPage {
    s.client.get(s.url("/api/v1/articles/x/comments")).send().await.unwrap().json().await.unwrap()
}

/// Reader A: a comment B answers, a comment of its own, a reaction, a like and a flag on B's reply, a typo
/// report of its own and one B then reports too.
async fn a_reader_with_everything(s: &TestServer, a: &str, b: &str) -> (Comment, Comment, Comment) {
    let answered = post(s, a, "Спасибо за материал", None).await;
    let reply = post(s, b, "Согласен", Some(answered.id.0)).await;
    let alone = post(s, a, "И ещё одно", None).await;
    assert_eq!(
        send(s, Method::PUT, "/articles/x/reactions/mine", a, Some(json!({"kind": "laugh"}))).await.status(),
        200
    );
    assert_eq!(
        send(s, Method::PUT, "/articles/x/reactions/mine", b, Some(json!({"kind": "laugh"}))).await.status(),
        200
    );
    let like = format!("/articles/x/comments/{}/like", reply.id);
    assert_eq!(send(s, Method::PUT, &like, a, None).await.status(), StatusCode::OK);
    let flag = format!("/articles/x/comments/{}/flag", reply.id);
    assert_eq!(send(s, Method::PUT, &flag, a, None).await.status(), StatusCode::NO_CONTENT);
    for (who, fragment) in [(a, "опечатка"), (a, "ошибка"), (b, "ошибка")] {
        let body = json!({"fragment": fragment, "before": "в тексте ", "after": " есть"});
        let resp = send(s, Method::POST, "/articles/x/typos", who, Some(body)).await;
        assert!(resp.status().is_success(), "{}", resp.status());
    }
    (answered, reply, alone)
}

#[tokio::test]
async fn a_reader_sees_all_their_data_and_erasing_it_moves_every_count() {
    let s = TestServer::start().await;
    let (a, b) = (reader(1), reader(2));
    let (answered, reply, alone) = a_reader_with_everything(&s, &a, &b).await;

    let mine = me(&s, &a).await;
    let ids: Vec<i64> = mine.comments.iter().map(|c| c.id.0).collect();
    assert_eq!(ids, [answered.id.0, alone.id.0]);
    assert_eq!(mine.comments[0].text, "Спасибо за материал");
    assert_eq!(mine.reactions.len(), 1);
    assert_eq!((mine.likes.len(), mine.flags.len()), (1, 1));
    assert_eq!(mine.likes[0].comment, reply.id);
    let fragments: Vec<&str> = mine.typos.iter().map(|t| t.fragment.as_str()).collect();
    assert_eq!(fragments, ["опечатка", "ошибка"]);

    let resp = send(&s, Method::DELETE, "/me", &a, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let erased: Erased = resp.json().await.unwrap();
    let expected = Erased { comments: 1, placeholders: 1, reactions: 1, likes: 1, flags: 1, typos: 2 };
    assert_eq!(erased, expected);

    // Nothing names the reader any more.
    assert_eq!(me(&s, &a).await, ReaderData::default());
    // The counts moved: the thread holds B's reply under a nameless placeholder, unliked.
    let page = thread(&s).await;
    assert_eq!(page.total, 1);
    let shown: Vec<(i64, bool, &str, u64)> =
        page.comments.iter().map(|c| (c.id.0, c.deleted, c.text.as_str(), c.likes)).collect();
    assert_eq!(shown, [(answered.id.0, true, "", 0), (reply.id.0, false, "Согласен", 0)]);
    assert_eq!(page.comments[0].author, "", "the placeholder is nameless");
    let reactions: ReactionsView = s.client.get(s.reactions("x")).send().await.unwrap().json().await.unwrap();
    assert_eq!((reactions.counts.laugh, reactions.counts.total()), (1, 1), "B's reaction stays");
    let counts: Value = s.client.get(s.url("/api/v1/counts?articles=x")).send().await.unwrap().json().await.unwrap();
    assert_eq!(counts["counts"]["x"], 1);
    // B's data is B's: the reply, the reaction.
    let theirs = me(&s, &b).await;
    assert_eq!((theirs.comments.len(), theirs.reactions.len()), (1, 1));
    // Erasing again finds nothing.
    let again: Erased = send(&s, Method::DELETE, "/me", &a, None).await.json().await.unwrap();
    assert_eq!(again, Erased::default());
}

#[tokio::test]
async fn editors_erase_the_reader_behind_a_comment_and_the_audit_log_says_so() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    let (a, b) = (reader(3), reader(4));
    let (_, reply, alone) = a_reader_with_everything(&s, &a, &b).await;

    let resp = s.admin(Method::DELETE, format!("/readers/by-comment/{}", alone.id), None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let erased: Erased = resp.json().await.unwrap();
    assert_eq!((erased.comments, erased.placeholders, erased.reactions), (1, 1, 1));
    assert_eq!(me(&s, &a).await, ReaderData::default());
    assert_eq!(me(&s, &b).await.comments[0].id, reply.id, "only the one reader is erased");

    let audit: Value = s.admin(Method::GET, "/audit", None).await.json().await.unwrap();
    let entry = &audit["entries"][0];
    assert_eq!((entry["action"].as_str(), entry["who"].as_str()), (Some("reader.erase"), Some("token")));
    assert_eq!(entry["target"], format!("comment {}", alone.id));
    assert!(entry["detail"].as_str().unwrap().starts_with("1 comments, 1 placeholders, 1 reactions"), "{entry}");

    // The erased comment, an unknown one and a placeholder that names no one: nothing to erase.
    for id in [alone.id.0, 999_999] {
        let resp = s.admin(Method::DELETE, format!("/readers/by-comment/{id}"), None).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{id}");
    }
    let placeholder = thread(&s).await.comments.iter().find(|c| c.deleted).map(|c| c.id.0).unwrap();
    let resp = s.admin(Method::DELETE, format!("/readers/by-comment/{placeholder}"), None).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Without the token: refused.
    let resp = s.client.delete(s.url(&format!("/api/v1/admin/readers/by-comment/{}", reply.id))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_reader_must_name_themselves() {
    let s = TestServer::start().await;
    for method in [Method::GET, Method::DELETE] {
        let resp = s.client.request(method.clone(), s.url("/api/v1/me")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{method}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "missing_reader");
    }
}

/// The console offers the same erasure on each comment, behind a confirmation, as the moderator's act.
#[tokio::test]
async fn a_moderator_erases_the_author_of_a_comment_from_the_console() {
    let s = TestServer::start().await;
    let password = common::console::add_moderator(&s, "vera").await;
    let console = common::console::Console::sign_in(&s, "vera", &password).await;
    let (a, b) = (reader(5), reader(6));
    let (_, _, alone) = a_reader_with_everything(&s, &a, &b).await;
    let (status, page) = console.get("/admin?queue=all").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("action=\"/admin/comments/{}/erase\"", alone.id)), "the form is offered");

    // Not confirmed: nothing happens.
    let path = format!("/admin/comments/{}/erase", alone.id);
    let resp = console.post(&path, &[("back", "/admin?queue=all")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(&s, &a).await.comments.len(), 2);

    let resp = console.post(&path, &[("confirm", "yes"), ("back", "/admin?queue=all")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&s, &a).await, ReaderData::default());
    let (_, audit) = console.get("/admin/audit").await;
    assert!(audit.contains("reader.erase") && audit.contains("vera"), "{audit}");
}

/// Pages open on the article hear of it at once: the reaction counts and the comments that left.
#[tokio::test]
async fn open_pages_hear_the_erasure() {
    let s = TestServer::start().await;
    let (a, b) = (reader(7), reader(8));
    let (answered, _, alone) = a_reader_with_everything(&s, &a, &b).await;
    let mut events = common::sse::Events::open(&s.client, &s.url("/api/v1/events?articles=x"), None).await;
    events.present(1).await;
    assert_eq!(send(&s, Method::DELETE, "/me", &a, None).await.status(), StatusCode::OK);
    let mut removed = Vec::new();
    let mut laughs = None;
    while removed.len() < 2 || laughs.is_none() {
        let event = events.next().await;
        let data: Value = serde_json::from_str(&event.data).unwrap();
        match event.name.as_str() {
            "removed" => removed.push(data["comment"].as_i64().unwrap()),
            "reactions" => laughs = data["counts"]["laugh"].as_u64(),
            _ => {}
        }
    }
    removed.sort_unstable();
    assert_eq!(removed, [answered.id.0, alone.id.0]);
    assert_eq!(laughs, Some(1), "B's laugh stays");
}

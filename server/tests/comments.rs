//! Comments over real HTTP: threads, pages, limits, the edit window, deletion, likes, counts and IPs.

mod common;

use common::{Db, TestServer, reader};
use otklik_api::limits::{COMMENT_TEXT_MAX, EDIT_WINDOW_SECS};
use otklik_api::{Comment, CommentCounts, CommentPage, ErrorBody, ErrorCode, LikeView};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn comments_url(s: &TestServer, article: &str) -> String {
    s.url(&format!("/api/v1/articles/{article}/comments"))
}

async fn post(s: &TestServer, article: &str, who: &str, body: Value) -> reqwest::Response {
    s.client.post(comments_url(s, article)).header("X-Otklik-Reader", who).json(&body).send().await.unwrap()
}

async fn created(resp: reqwest::Response) -> Comment {
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

async fn say(s: &TestServer, article: &str, who: &str, text: &str, parent: Option<&Comment>) -> Comment {
    created(post(s, article, who, json!({"text": text, "author": "Ann", "parent": parent.map(|p| p.id)})).await).await
}

async fn page(s: &TestServer, article: &str, query: &str, who: Option<&str>) -> CommentPage {
    let mut req = s.client.get(format!("{}?{query}", comments_url(s, article)));
    if let Some(w) = who {
        req = req.header("X-Otklik-Reader", w);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

async fn refused(resp: reqwest::Response, status: StatusCode, code: ErrorCode) {
    assert_eq!(resp.status(), status);
    let body: ErrorBody = resp.json().await.unwrap();
    assert_eq!(body.error.code, code, "{}", body.error.message);
}

/// Moves a comment's creation time back, as if `seconds` had passed.
async fn age(s: &TestServer, id: i64, seconds: i64) {
    let db = Db::of(s).await;
    db.execute("UPDATE comments SET created_at = created_at - $1 WHERE id = $2", &[seconds, id]).await;
    db.close().await;
}

#[tokio::test]
async fn an_empty_thread_and_a_first_comment() {
    let s = TestServer::start().await;
    let empty = page(&s, "a", "", None).await;
    assert_eq!((empty.comments.len(), empty.next, empty.total), (0, None, 0));

    let text = "First!\nSecond line <b>not bold</b> & https://example.com/x?y=1";
    let c = created(
        post(&s, "a", &reader(1), json!({"text": format!("  {text}  "), "author": "  Мария \t Петрова "})).await,
    )
    .await;
    assert_eq!((c.text.as_str(), c.author.as_str()), (text, "Мария Петрова"));
    assert!(c.mine && !c.deleted && c.parent.is_none() && c.depth == 0);
    assert_eq!(c.editable_until, Some(c.created + EDIT_WINDOW_SECS));

    let mine = page(&s, "a", "", Some(&reader(1))).await;
    assert_eq!((mine.total, mine.comments.len()), (1, 1));
    assert_eq!(mine.comments[0].text, text, "text comes back exactly as written, never as HTML");
    assert!(mine.comments[0].mine);
    let theirs = page(&s, "a", "", Some(&reader(2))).await;
    assert!(!theirs.comments[0].mine && theirs.comments[0].editable_until.is_none());

    let anonymous = created(post(&s, "a", &reader(3), json!({"text": "hi"})).await).await;
    assert_eq!(anonymous.author, "");
}

#[tokio::test]
async fn replies_thread_depth_first_with_names_for_deep_ones() {
    let s = TestServer::start().await;
    let root = say(&s, "t", &reader(1), "root", None).await;
    let r1 = say(&s, "t", &reader(2), "r1", Some(&root)).await;
    let r2 = say(&s, "t", &reader(3), "r2", Some(&root)).await;
    let r1a = say(&s, "t", &reader(4), "r1a", Some(&r1)).await;
    let r1a1 = say(&s, "t", &reader(5), "r1a1", Some(&r1a)).await;
    assert_eq!((r1a1.depth, r1a1.reply_to.as_deref()), (3, Some("Ann")));
    let deep = say(&s, "t", &reader(6), "deep", Some(&r1a1)).await;
    assert_eq!(deep.depth, 4);

    let p = page(&s, "t", "", None).await;
    assert_eq!(p.total, 6);
    let texts: Vec<&str> = p.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["root", "r1", "r1a", "r1a1"], "a top-level comment and its first 3 replies, depth-first");
    assert_eq!(p.comments[0].replies, 5);

    let rest = page(&s, "t", &format!("root={}&limit=2", root.id), None).await;
    let texts: Vec<&str> = rest.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["r1", "r1a"]);
    let cursor = rest.next.expect("more replies");
    let rest = page(&s, "t", &format!("root={}&limit=10&cursor={cursor}", root.id), None).await;
    let texts: Vec<&str> = rest.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["r1a1", "deep", "r2"]);
    assert_eq!(rest.next, None);
    assert_eq!(r2.parent, Some(root.id));

    // Replies must name a comment of the same article.
    refused(
        post(&s, "other", &reader(1), json!({"text": "x", "parent": root.id})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::CommentNotFound,
    )
    .await;
    refused(
        post(&s, "t", &reader(1), json!({"text": "x", "parent": 999_999})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::CommentNotFound,
    )
    .await;
}

#[tokio::test]
async fn pages_walk_every_order_without_gaps_or_repeats() {
    let s = TestServer::start().await;
    let mut ids = Vec::new();
    for i in 0..45 {
        ids.push(say(&s, "p", &reader(i), &format!("c{i}"), None).await.id);
    }
    // Likes for popular order: comment i gets i % 4 likes.
    for (i, id) in ids.iter().enumerate() {
        for voter in 0..(i % 4) as u64 {
            let url = format!("{}/{id}/like", comments_url(&s, "p"));
            let resp = s.client.put(url).header("X-Otklik-Reader", reader(1000 + voter)).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
        }
    }
    for (sort, expected) in [
        ("oldest", ids.clone()),
        ("newest", ids.iter().rev().copied().collect::<Vec<_>>()),
        ("popular", {
            let mut v: Vec<_> = ids.iter().enumerate().map(|(i, id)| ((i % 4) as u64, *id)).collect();
            v.sort_by(|a, b| b.cmp(a));
            v.into_iter().map(|(_, id)| id).collect()
        }),
    ] {
        let (mut seen, mut cursor, mut pages) = (Vec::new(), String::new(), 0);
        loop {
            let p = page(&s, "p", &format!("sort={sort}&limit=20&cursor={cursor}"), None).await;
            assert_eq!(p.total, 45);
            seen.extend(p.comments.iter().map(|c| c.id));
            pages += 1;
            match p.next {
                Some(next) => cursor = next,
                None => break,
            }
        }
        assert_eq!((seen, pages), (expected, 3), "{sort}");
    }
    let bad_queries =
        ["sort=best", "limit=0", "limit=101", "limit=x", "cursor=zzz", "root=abc", "sort=popular&cursor=i5"];
    // A parameter given twice is as malformed as a bad value, and answered in the same error body.
    for bad in bad_queries.into_iter().chain(["sort=newest&sort=oldest"]) {
        let resp = s.client.get(format!("{}?{bad}", comments_url(&s, "p"))).send().await.unwrap();
        refused(resp, StatusCode::BAD_REQUEST, ErrorCode::InvalidQuery).await;
    }
}

#[tokio::test]
async fn posting_checks_every_limit() {
    let s = TestServer::start().await;
    let who = reader(1);
    refused(
        post(&s, "l", &who, json!({"text": " \n\t "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidText,
    )
    .await;
    let too_long = "я".repeat(COMMENT_TEXT_MAX + 1);
    refused(
        post(&s, "l", &who, json!({ "text": too_long })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidText,
    )
    .await;
    created(post(&s, "l", &who, json!({"text": "я".repeat(COMMENT_TEXT_MAX)})).await).await;
    refused(
        post(&s, "l", &who, json!({"text": "x", "author": "n".repeat(61)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidBody,
    )
    .await;
    refused(
        post(&s, "l", &who, json!({"text": "x", "html": "<b>"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidBody,
    )
    .await;
    let no_reader = s.client.post(comments_url(&s, "l")).json(&json!({"text": "x"})).send().await.unwrap();
    refused(no_reader, StatusCode::BAD_REQUEST, ErrorCode::MissingReader).await;
    let huge = json!({"text": "x".repeat(40_000)});
    refused(post(&s, "l", &who, huge).await, StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge).await;
    assert_eq!(page(&s, "l", "", None).await.total, 1, "refused posts store nothing");
}

#[tokio::test]
async fn authors_edit_and_delete_within_fifteen_minutes_only() {
    let s = TestServer::start().await;
    let (author, other) = (reader(1), reader(2));
    let c = say(&s, "e", &author, "tpyo", None).await;
    let url = format!("{}/{}", comments_url(&s, "e"), c.id);

    let edit = |who: String, text: &'static str| {
        s.client.patch(&url).header("X-Otklik-Reader", who).json(&json!({ "text": text })).send()
    };
    refused(edit(other.clone(), "hijack").await.unwrap(), StatusCode::FORBIDDEN, ErrorCode::NotYourComment).await;
    let resp = edit(author.clone(), "typo").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let edited: Comment = resp.json().await.unwrap();
    assert_eq!((edited.text.as_str(), edited.edited.is_some(), edited.mine), ("typo", true, true));
    refused(edit(author.clone(), "  ").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidText).await;

    age(&s, c.id.0, EDIT_WINDOW_SECS + 1).await;
    refused(edit(author.clone(), "too late").await.unwrap(), StatusCode::FORBIDDEN, ErrorCode::EditWindowClosed).await;
    let del = s.client.delete(&url).header("X-Otklik-Reader", &author).send().await.unwrap();
    refused(del, StatusCode::FORBIDDEN, ErrorCode::EditWindowClosed).await;
    assert_eq!(page(&s, "e", "", None).await.comments[0].text, "typo");

    let missing = s
        .client
        .patch(format!("{}/424242", comments_url(&s, "e")))
        .header("X-Otklik-Reader", &author)
        .json(&json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    refused(missing, StatusCode::NOT_FOUND, ErrorCode::CommentNotFound).await;
}

#[tokio::test]
async fn deleting_keeps_a_placeholder_only_where_there_are_replies() {
    let s = TestServer::start().await;
    let alone = say(&s, "d", &reader(1), "alone", None).await;
    let parent = say(&s, "d", &reader(1), "parent", None).await;
    let child = say(&s, "d", &reader(2), "child", Some(&parent)).await;
    assert_eq!(page(&s, "d", "", None).await.total, 3);

    let delete = |id: otklik_api::CommentId, who: String| {
        s.client.delete(format!("{}/{id}", comments_url(&s, "d"))).header("X-Otklik-Reader", who).send()
    };
    refused(delete(alone.id, reader(2)).await.unwrap(), StatusCode::FORBIDDEN, ErrorCode::NotYourComment).await;
    assert_eq!(delete(alone.id, reader(1)).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(delete(parent.id, reader(1)).await.unwrap().status(), StatusCode::NO_CONTENT);

    let p = page(&s, "d", "", Some(&reader(1))).await;
    assert_eq!(p.total, 1, "only the child is still visible");
    let shown: Vec<(&str, bool)> = p.comments.iter().map(|c| (c.text.as_str(), c.deleted)).collect();
    assert_eq!(shown, [("", true), ("child", false)]);
    assert!(p.comments[0].author.is_empty() && !p.comments[0].mine);
    refused(delete(alone.id, reader(1)).await.unwrap(), StatusCode::NOT_FOUND, ErrorCode::CommentNotFound).await;
    // A reply to the deleted comment is refused; the child can still be deleted, and then it goes entirely.
    refused(
        post(&s, "d", &reader(3), json!({"text": "x", "parent": parent.id})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::CommentNotFound,
    )
    .await;
    assert_eq!(delete(child.id, reader(2)).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(page(&s, "d", "", None).await.total, 0);
}

#[tokio::test]
async fn likes_are_one_per_reader_and_toggle() {
    let s = TestServer::start().await;
    let c = say(&s, "v", &reader(1), "like me", None).await;
    let url = format!("{}/{}/like", comments_url(&s, "v"), c.id);
    let vote = |who: String, like: bool| {
        let req = if like { s.client.put(&url) } else { s.client.delete(&url) };
        req.header("X-Otklik-Reader", who).send()
    };
    let mut last = LikeView { likes: 0, liked: false };
    for (who, like, likes, liked) in
        [(2, true, 1, true), (2, true, 1, true), (3, true, 2, true), (2, false, 1, false), (2, false, 1, false)]
    {
        let resp = vote(reader(who), like).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        last = resp.json().await.unwrap();
        assert_eq!((last.likes, last.liked), (likes, liked), "reader {who} like={like}");
    }
    assert_eq!(last.likes, 1);
    let p = page(&s, "v", "", Some(&reader(3))).await;
    assert_eq!((p.comments[0].likes, p.comments[0].liked), (1, true));
    refused(
        s.client
            .put(format!("{}/9999/like", comments_url(&s, "v")))
            .header("X-Otklik-Reader", reader(2))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        ErrorCode::CommentNotFound,
    )
    .await;
    refused(
        s.client
            .put(format!("{}/{}/like", comments_url(&s, "other"), c.id))
            .header("X-Otklik-Reader", reader(2))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        ErrorCode::CommentNotFound,
    )
    .await;
}

#[tokio::test]
async fn counts_for_many_articles_in_one_request() {
    let s = TestServer::start().await;
    for (article, n) in [("x1", 2), ("x2", 1)] {
        for i in 0..n {
            say(&s, article, &reader(i), "c", None).await;
        }
    }
    let resp = s.client.get(s.url("/api/v1/counts?articles=x1,x2,x3,x1")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let counts: CommentCounts = resp.json().await.unwrap();
    assert_eq!(serde_json::to_value(&counts).unwrap(), json!({"counts": {"x1": 2, "x2": 1, "x3": 0}}));
    let many: Vec<String> = (0..101).map(|i| format!("a{i}")).collect();
    for bad in [String::new(), many.join(","), "ok,not ok".to_owned()] {
        let resp = s.client.get(s.url(&format!("/api/v1/counts?articles={bad}"))).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// The article keeps the first URL and title it was given, and each comment a keyed hash of the client IP.
#[tokio::test]
async fn first_seen_page_info_and_client_ip_hashes() {
    let s = TestServer::start_with(|settings| {
        settings.trusted_proxies = vec!["127.0.0.1".into()];
        settings.allowed_origins = vec!["https://news.example".into()];
    })
    .await;
    let send = |xff: &'static str, title: &'static str| {
        s.client
            .post(comments_url(&s, "meta"))
            .header("X-Otklik-Reader", reader(1))
            .header("X-Forwarded-For", xff)
            .json(&json!({"text": "x", "page": {"url": "https://news.example/a", "title": title}}))
            .send()
    };
    for (xff, title) in [("198.51.100.1", "First title"), ("198.51.100.1", "Changed"), ("6.6.6.6, 198.51.100.2", "x")] {
        assert_eq!(send(xff, title).await.unwrap().status(), StatusCode::CREATED);
    }
    let db = Db::of(&s).await;
    let pages: Vec<(String, String)> = db.rows("SELECT url, title FROM articles WHERE key = 'meta'").await;
    assert_eq!(pages, [("https://news.example/a".to_owned(), "First title".to_owned())]);
    let ips: Vec<Vec<u8>> =
        db.rows::<(Vec<u8>,)>("SELECT ip_hash FROM comments ORDER BY id").await.into_iter().map(|r| r.0).collect();
    assert_eq!(ips[0], ips[1], "the same client");
    assert_ne!(ips[1], ips[2], "the right-most untrusted address, not the forged one");
    assert!(ips.iter().all(|h| h.len() == 16));
}

/// First pages are cached; posts racing with reads must never leave a stale page behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_first_pages_follow_every_write_under_concurrency() {
    use futures::StreamExt as _;
    let s = TestServer::start().await;
    let results: Vec<()> = futures::stream::iter(0..400u64)
        .map(|i| {
            let s = &s;
            async move {
                if i % 2 == 0 {
                    say(s, "race", &reader(i), &format!("c{i}"), None).await;
                } else {
                    page(s, "race", "sort=newest", None).await;
                }
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert_eq!(results.len(), 400);
    let newest = page(&s, "race", "sort=newest&limit=100", None).await;
    assert_eq!(newest.total, 200);
    assert_eq!(newest.comments.len(), 100);
    let oldest = page(&s, "race", "limit=100", None).await;
    let max_id = newest.comments.iter().map(|c| c.id).max().unwrap();
    assert_eq!(newest.comments[0].id, max_id, "the newest comment heads the cached newest page");
    assert!(oldest.comments[0].id < max_id);
}

#[tokio::test]
async fn the_honeypot_and_link_spam_are_refused_with_their_own_codes() {
    let s = TestServer::start().await;
    let who = reader(1);
    let bot = post(&s, "a", &who, json!({"text": "Отличная статья", "website": "http://spam.example"})).await;
    refused(bot, StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Spam).await;
    let links = "https://a.example http://b.example www.c.example https://d.example";
    refused(
        post(&s, "a", &who, json!({"text": links})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::TooManyLinks,
    )
    .await;
    // Three links, and an empty honeypot (what the widget sends), are fine.
    let ok =
        post(&s, "a", &who, json!({"text": "https://a.example www.b.example http://c.example", "website": ""})).await;
    created(ok).await;
    assert_eq!(page(&s, "a", "", None).await.total, 1, "nothing refused was stored");
}

#[tokio::test]
async fn the_view_is_the_thread_for_a_reader_named_by_a_plain_text_body() {
    let s = TestServer::start().await;
    let (ann, bob) = (reader(1), reader(2));
    let first = say(&s, "a", &ann, "Первый", None).await;
    say(&s, "a", &bob, "Второй", None).await;
    let view = |query: &str, body: String| {
        s.client
            .post(format!("{}/view?{query}", comments_url(&s, "a")))
            .header("Content-Type", "text/plain;charset=UTF-8")
            .body(body)
            .send()
    };
    let resp = view("sort=newest&limit=1", ann.clone()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let as_ann: CommentPage = resp.json().await.unwrap();
    let by_header = page(&s, "a", "sort=newest&limit=1", Some(&ann)).await;
    assert_eq!(as_ann.comments, by_header.comments, "the body names the reader as the header does");
    assert_eq!(as_ann.comments.len(), 1);
    assert!(as_ann.next.is_some(), "the query's limit holds");
    let oldest: CommentPage = view("sort=oldest", ann.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(oldest.comments[0].id, first.id);
    assert!(oldest.comments[0].mine && !oldest.comments[1].mine);
    let anyone: CommentPage = view("", String::new()).await.unwrap().json().await.unwrap();
    assert!(anyone.comments.iter().all(|c| !c.mine), "an empty body is no one in particular");
    refused(view("", "not a token".into()).await.unwrap(), StatusCode::BAD_REQUEST, ErrorCode::InvalidReader).await;
    refused(view("sort=sideways", ann).await.unwrap(), StatusCode::BAD_REQUEST, ErrorCode::InvalidQuery).await;
}

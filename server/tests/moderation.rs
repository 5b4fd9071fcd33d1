//! The moderators' console and editors' API end to end over HTTP: accounts made with the real CLI,
//! sessions, CSRF, every action and its audit line, pre-moderation, flags, bans, backup and IP purging.

mod common;

use common::console::{Console, add_moderator, no_redirects, otklik};
use common::{EDITOR_TOKEN, TestServer, reader, settings_in};
use otklik_api::{AuditPage, Comment, CommentPage, ErrorBody, ErrorCode, QueueItem, QueuePage};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn say(s: &TestServer, article: &str, who: &str, text: &str) -> reqwest::Response {
    s.client
        .post(s.url(&format!("/api/v1/articles/{article}/comments")))
        .header("X-Otklik-Reader", who)
        .json(&json!({ "text": text, "page": { "url": "https://news.example/a", "title": "The Article" } }))
        .send()
        .await
        .unwrap()
}

async fn posted(s: &TestServer, article: &str, who: &str, text: &str) -> Comment {
    let resp = say(s, article, who, text).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

async fn thread(s: &TestServer, article: &str, who: &str) -> CommentPage {
    let url = s.url(&format!("/api/v1/articles/{article}/comments"));
    s.client.get(url).header("X-Otklik-Reader", who).send().await.unwrap().json().await.unwrap()
}

async fn texts(s: &TestServer, article: &str, who: &str) -> (Vec<String>, u64) {
    let page = thread(s, article, who).await;
    (page.comments.iter().map(|c| c.text.clone()).collect(), page.total)
}

async fn queue(s: &TestServer, which: &str) -> Vec<QueueItem> {
    let resp = s.admin(reqwest::Method::GET, &format!("/comments?queue={which}"), None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json::<QueuePage>().await.unwrap().comments
}

async fn audit(s: &TestServer) -> Vec<(String, String, String)> {
    let page: AuditPage = s.admin(reqwest::Method::GET, "/audit", None).await.json().await.unwrap();
    page.entries.into_iter().map(|e| (e.who, e.action, e.target)).collect()
}

async fn refused(resp: reqwest::Response, status: StatusCode, code: ErrorCode) -> String {
    assert_eq!(resp.status(), status);
    let body: ErrorBody = resp.json().await.unwrap();
    assert_eq!(body.error.code, code);
    body.error.message
}

#[tokio::test]
async fn the_console_exists_only_once_configured() {
    let s = TestServer::start().await;
    assert_eq!(no_redirects().get(s.url("/admin")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(s.client.get(s.url("/api/v1/admin/comments")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let login = s.client.post(s.url("/admin/login")).form(&[("name", "x"), ("password", "y")]).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::NOT_FOUND);

    add_moderator(&s, "olga").await;
    let page = s.client.get(s.url("/admin")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(body.contains("action=\"/admin/login\"") && body.contains("autocomplete=\"current-password\""), "{body}");
    // The API has no sessions: without the token it is 401, not a page.
    let resp = s.client.get(s.url("/api/v1/admin/comments")).send().await.unwrap();
    refused(resp, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
}

#[tokio::test]
async fn accounts_sign_in_and_out_with_a_strict_cookie() {
    let s = TestServer::start().await;
    let password = add_moderator(&s, "olga").await;
    let again = otklik(&s, &["moderator", "add", "olga"]).await;
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let client = no_redirects();
    let wrong =
        client.post(s.url("/admin/login")).form(&[("name", "olga"), ("password", "guess")]).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());
    let nobody =
        client.post(s.url("/admin/login")).form(&[("name", "nobody"), ("password", &password)]).send().await.unwrap();
    assert_eq!(nobody.status(), StatusCode::UNAUTHORIZED);

    let ok = client
        .post(s.url("/admin/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("name", "olga"), ("password", &password)])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Secure"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();

    let console = Console::sign_in(&s, "olga", &password).await;
    let resp = console.client.get(s.url("/admin")).header("cookie", &console.cookie).send().await.unwrap();
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body = resp.text().await.unwrap();
    assert!(body.contains("olga") && body.contains("action=\"/admin/logout\""));

    // Secrets never reach the database (or anything else) in the clear: on SQLite every byte of its files
    // is searched; on PostgreSQL, every text and byte column of the tables that hold accounts and sessions.
    let (db, wal) = if common::on_postgres() {
        let db = common::Db::of(&s).await;
        let rows: Vec<(String,)> = db
            .rows(
                "SELECT name || password FROM moderators
                 UNION ALL SELECT encode(token_hash, 'escape') || csrf FROM sessions
                 UNION ALL SELECT who || action || target || detail FROM audit",
            )
            .await;
        (rows.into_iter().map(|r| r.0).collect::<String>().into_bytes(), Vec::new())
    } else {
        let db = std::fs::read(s.dir.path().join("otklik.db")).unwrap();
        (db, std::fs::read(s.dir.path().join("otklik.db-wal")).unwrap_or_default())
    };
    for secret in [&password, &token, &console.cookie[console.cookie.find('=').unwrap() + 1..].to_owned()] {
        let found = |hay: &[u8]| hay.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found(&db) && !found(&wal), "a secret is stored in the clear");
    }

    // Signing out ends the session: the same cookie now gets the sign-in page.
    let out = console.post("/admin/logout", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let (_, page) = console.get("/admin").await;
    assert!(page.contains("action=\"/admin/login\""));

    // Removing a moderator ends their other sessions too.
    let other = add_moderator(&s, "pavel").await;
    let second = Console::sign_in(&s, "olga", &password).await;
    assert!(otklik(&s, &["moderator", "remove", "olga"]).await.status.success());
    let (_, page) = second.get("/admin").await;
    assert!(page.contains("action=\"/admin/login\""), "a removed moderator is signed out");
    Console::sign_in(&s, "pavel", &other).await;
    // With no account and no token left, the console is gone again.
    assert!(otklik(&s, &["moderator", "remove", "pavel"]).await.status.success());
    assert_eq!(second.get("/admin").await.0, StatusCode::NOT_FOUND);
    assert!(!otklik(&s, &["moderator", "remove", "olga"]).await.status.success());
}

#[tokio::test]
async fn changes_need_the_sessions_csrf_token_and_a_same_site_form() {
    let s = TestServer::start().await;
    let password = add_moderator(&s, "olga").await;
    let c = posted(&s, "a", &reader(1), "keep me").await;
    let console = Console::sign_in(&s, "olga", &password).await;
    let path = format!("{}/admin/comments/{}", console.base, c.id);
    let send = |csrf: &str, site: Option<&str>| {
        let mut req = console.client.post(&path).header("cookie", &console.cookie);
        if let Some(site) = site {
            req = req.header("sec-fetch-site", site);
        }
        req.form(&[("csrf", csrf), ("action", "hide")]).send()
    };
    assert_eq!(send("", None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(send("forged-token", None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(send(&console.csrf, Some("cross-site")).await.unwrap().status(), StatusCode::FORBIDDEN);
    let other_origin = console
        .client
        .post(&path)
        .header("cookie", &console.cookie)
        .header("origin", "https://evil.example")
        .form(&[("csrf", console.csrf.as_str()), ("action", "hide")])
        .send()
        .await
        .unwrap();
    assert_eq!(other_origin.status(), StatusCode::FORBIDDEN);
    // Without a session a change gets the sign-in page, not a change.
    let anonymous =
        no_redirects().post(&path).form(&[("csrf", console.csrf.as_str()), ("action", "hide")]).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(texts(&s, "a", &reader(2)).await.0, ["keep me"], "nothing refused was applied");

    assert_eq!(send(&console.csrf, Some("same-origin")).await.unwrap().status(), StatusCode::SEE_OTHER);
    assert!(texts(&s, "a", &reader(2)).await.0.is_empty());
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited() {
    let s =
        TestServer::start_with(|settings| settings.rate_limits = vec!["off".into(), "signin.ip=3/15m".into()]).await;
    let password = add_moderator(&s, "olga").await;
    let client = no_redirects();
    for _ in 0..3 {
        let resp =
            client.post(s.url("/admin/login")).form(&[("name", "olga"), ("password", "x")]).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let blocked =
        client.post(s.url("/admin/login")).form(&[("name", "olga"), ("password", &password)]).send().await.unwrap();
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(blocked.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn every_console_action_applies_and_is_audited() {
    let s = TestServer::start_with(|settings| {
        settings.admin_token = Some(EDITOR_TOKEN.into());
        settings.allowed_origins = vec!["https://news.example".into()];
    })
    .await;
    let password = add_moderator(&s, "olga").await;
    let console = Console::sign_in(&s, "olga", &password).await;
    let first = posted(&s, "a", &reader(1), "first").await;
    let second = posted(&s, "a", &reader(2), "second").await;

    // New comments wait in the queue, newest first, with their article's title and link.
    let (_, page) = console.get("/admin").await;
    let (at_second, at_first) = (page.find("second").unwrap(), page.find("first").unwrap());
    assert!(at_second < at_first, "newest first");
    assert!(page.contains("href=\"https://news.example/a\"") && page.contains("The Article"));

    console.act(first.id.0, "hide").await;
    assert_eq!(texts(&s, "a", &reader(3)).await, (vec!["second".to_owned()], 1));
    console.act(first.id.0, "restore").await;
    assert_eq!(texts(&s, "a", &reader(3)).await, (vec!["first".to_owned(), "second".to_owned()], 2));
    console.act(second.id.0, "approve").await;
    assert!(queue(&s, "attention").await.iter().all(|c| c.id != second.id), "approved comments leave the queue");
    console.act(second.id.0, "delete").await;
    assert_eq!(texts(&s, "a", &reader(3)).await, (vec!["first".to_owned()], 1));

    // The same actions through the API are by `token`.
    let resp =
        s.admin(reqwest::Method::POST, &format!("/comments/{}", first.id), Some(json!({"action": "hide"}))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<QueueItem>().await.unwrap().status, otklik_api::CommentStatus::Hidden);
    let gone = s.admin(reqwest::Method::POST, "/comments/999", Some(json!({"action": "hide"}))).await;
    refused(gone, StatusCode::NOT_FOUND, ErrorCode::CommentNotFound).await;

    // Typo reports are marked from the console too.
    let typo = s
        .client
        .post(s.url("/api/v1/articles/a/typos"))
        .header("X-Otklik-Reader", reader(4))
        .json(&json!({"fragment": "teh", "before": "in", "after": "end"}))
        .send()
        .await
        .unwrap()
        .json::<otklik_api::TypoReceipt>()
        .await
        .unwrap();
    let (_, typos) = console.get("/admin/typos").await;
    assert!(typos.contains("in <mark>teh</mark> end"), "the fragment is marked in its context");
    let resp = console.post(&format!("/admin/typos/{}", typo.id), &[("status", "fixed")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    let log = audit(&s).await;
    let expected = [
        ("olga", "typo.fixed", format!("typo {}", typo.id)),
        ("token", "comment.hide", format!("comment {}", first.id)),
        ("olga", "comment.delete", format!("comment {}", second.id)),
        ("olga", "comment.approve", format!("comment {}", second.id)),
        ("olga", "comment.restore", format!("comment {}", first.id)),
        ("olga", "comment.hide", format!("comment {}", first.id)),
        ("olga", "session.start", "console".to_owned()),
    ];
    let got: Vec<(&str, &str, String)> = log.iter().map(|(w, a, t)| (w.as_str(), a.as_str(), t.clone())).collect();
    assert_eq!(got, expected.iter().map(|(w, a, t)| (*w, *a, t.clone())).collect::<Vec<_>>());
    let (_, page) = console.get("/admin/audit").await;
    assert!(page.contains("comment.delete") && page.contains("olga"), "the log is in the console");
}

#[tokio::test]
async fn a_hidden_comment_with_visible_replies_stays_as_a_nameless_placeholder() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    let reply = |parent: &Comment, who: u64, text: &str| {
        let body = json!({ "text": text, "author": format!("R{who}"), "parent": parent.id });
        s.client.post(s.url("/api/v1/articles/a/comments")).header("X-Otklik-Reader", reader(who)).json(&body).send()
    };
    let root = posted(&s, "a", &reader(1), "root").await;
    let middle: Comment = reply(&root, 2, "middle").await.unwrap().json().await.unwrap();
    let leaf: Comment = reply(&middle, 3, "leaf").await.unwrap().json().await.unwrap();
    let hide = |id: otklik_api::CommentId| {
        s.admin(reqwest::Method::POST, format!("/comments/{id}"), Some(json!({"action": "hide"})))
    };
    // (text, author, reply_to, deleted) of each comment shown, and the article's count.
    let shown = || async {
        let page = thread(&s, "a", &reader(4)).await;
        let rows: Vec<(String, String, Option<String>, bool)> =
            page.comments.into_iter().map(|c| (c.text, c.author, c.reply_to, c.deleted)).collect();
        (rows, page.total)
    };
    let row = |text: &str, author: &str, reply_to: Option<&str>, deleted| {
        (text.to_owned(), author.to_owned(), reply_to.map(str::to_owned), deleted)
    };

    assert_eq!(hide(root.id).await.status(), StatusCode::OK);
    assert_eq!(hide(middle.id).await.status(), StatusCode::OK);
    let placeholder = row("", "", None, true);
    let (rows, total) = shown().await;
    assert_eq!(rows[0].clone(), placeholder, "the hidden root keeps its place, without name or text");
    assert_eq!(rows[1].clone(), row("", "", Some(""), true), "so does the hidden middle reply");
    assert_eq!(rows[2].clone(), row("leaf", "R3", Some(""), false), "the visible answer, not naming whom");
    assert_eq!(total, 1);

    // With nothing visible under them, hidden comments leave the thread entirely.
    assert_eq!(hide(leaf.id).await.status(), StatusCode::OK);
    assert_eq!(shown().await, (vec![], 0));

    // Its author cannot rewrite a hidden comment behind the moderators' backs.
    let edit = s
        .client
        .patch(s.url(&format!("/api/v1/articles/a/comments/{}", leaf.id)))
        .header("X-Otklik-Reader", reader(3))
        .json(&json!({ "text": "rewritten" }))
        .send()
        .await
        .unwrap();
    refused(edit, StatusCode::NOT_FOUND, ErrorCode::CommentNotFound).await;
}

#[tokio::test]
async fn pre_moderation_shows_a_comment_only_to_its_author_until_approved() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    let set =
        |article: &'static str, body: Value| s.admin(reqwest::Method::PUT, format!("/articles/{article}"), Some(body));
    assert_eq!(set("a", json!({"moderation": "pre"})).await.status(), StatusCode::OK);

    let mine = posted(&s, "a", &reader(1), "wait for me").await;
    assert!(mine.pending);
    let author = thread(&s, "a", &reader(1)).await;
    assert_eq!(author.comments.len(), 1);
    assert!(author.comments[0].pending && author.comments[0].mine);
    assert_eq!(author.total, 0, "pending comments are not counted");
    assert!(thread(&s, "a", &reader(2)).await.comments.is_empty(), "others do not see it");
    assert_eq!(queue(&s, "pending").await.len(), 1);

    s.admin(reqwest::Method::POST, &format!("/comments/{}", mine.id), Some(json!({"action": "approve"}))).await;
    let other = thread(&s, "a", &reader(2)).await;
    assert_eq!((other.comments.len(), other.total), (1, 1));
    assert!(!other.comments[0].pending);

    // Other articles keep the server's default, post-moderation.
    assert!(!posted(&s, "b", &reader(1), "at once").await.pending);

    // Closing an article refuses new comments and says so in the thread.
    assert_eq!(set("a", json!({"moderation": "pre", "closed": true})).await.status(), StatusCode::OK);
    refused(say(&s, "a", &reader(3), "late").await, StatusCode::FORBIDDEN, ErrorCode::CommentsClosed).await;
    assert!(thread(&s, "a", &reader(3)).await.closed);
}

#[tokio::test]
async fn the_server_wide_mode_and_stop_words_hold_comments() {
    let s = TestServer::start_with(|settings| {
        settings.moderation = otklik_api::ModerationMode::Pre;
        settings.admin_token = Some(EDITOR_TOKEN.into());
    })
    .await;
    assert!(posted(&s, "a", &reader(1), "held").await.pending);
    s.admin(reqwest::Method::PUT, "/articles/b", Some(json!({"moderation": "post"}))).await;
    assert!(!posted(&s, "b", &reader(1), "an article may opt out").await.pending);

    let s = TestServer::start_with(|settings| settings.stop_words = vec!["Casino".into()]).await;
    assert!(posted(&s, "a", &reader(1), "best CASINOS here").await.pending);
    assert!(!posted(&s, "a", &reader(1), "a fine comment").await.pending);
}

#[tokio::test]
async fn flags_put_comments_in_the_queue_once_per_reader() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    let c = posted(&s, "a", &reader(1), "rude").await;
    s.admin(reqwest::Method::POST, &format!("/comments/{}", c.id), Some(json!({"action": "approve"}))).await;
    assert!(queue(&s, "flagged").await.is_empty());
    let flag = |who: String| {
        s.client.put(s.url(&format!("/api/v1/articles/a/comments/{}/flag", c.id))).header("X-Otklik-Reader", who).send()
    };
    for who in [reader(2), reader(2), reader(3)] {
        assert_eq!(flag(who).await.unwrap().status(), StatusCode::NO_CONTENT);
    }
    let flagged = queue(&s, "flagged").await;
    assert_eq!(flagged.iter().map(|c| c.flags).collect::<Vec<_>>(), [2], "one flag per reader");
    assert_eq!(queue(&s, "attention").await.len(), 1);

    s.admin(reqwest::Method::POST, &format!("/comments/{}", c.id), Some(json!({"action": "approve"}))).await;
    assert!(queue(&s, "flagged").await.is_empty(), "acting on it clears its flags");
    flag(reader(2)).await.unwrap();
    assert!(queue(&s, "flagged").await.is_empty(), "a reader's flag counts once, ever");

    let resp = s.client.put(s.url("/api/v1/articles/a/comments/999/flag")).header("X-Otklik-Reader", reader(2)).send();
    refused(resp.await.unwrap(), StatusCode::NOT_FOUND, ErrorCode::CommentNotFound).await;
}

#[tokio::test]
async fn bans_refuse_readers_addresses_and_ranges_until_lifted() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    let c = posted(&s, "a", &reader(1), "spam").await;
    let ban = |body: Value| s.admin(reqwest::Method::POST, "/bans", Some(body));

    let bad = ban(json!({"kind": "reader", "comment": c.id, "days": 0, "reason": "spam"})).await;
    refused(bad, StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody).await;
    let bad = ban(json!({"kind": "range", "range": "300.1.2.3/8", "days": 1, "reason": "x"})).await;
    refused(bad, StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody).await;

    let resp = ban(json!({"kind": "reader", "comment": c.id, "days": 7, "reason": "spam"})).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let reader_ban: otklik_api::Ban = resp.json().await.unwrap();
    let message = refused(say(&s, "a", &reader(1), "again").await, StatusCode::FORBIDDEN, ErrorCode::Banned).await;
    assert!(message.contains("until"), "{message}");
    assert_eq!(say(&s, "a", &reader(2), "someone else").await.status(), StatusCode::CREATED);
    let lift = |id: i64| s.admin(reqwest::Method::DELETE, format!("/bans/{id}"), None);
    assert_eq!(lift(reader_ban.id).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(lift(reader_ban.id).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(say(&s, "a", &reader(1), "reformed").await.status(), StatusCode::CREATED);

    // The IP ban catches every reader token from that address; so does a range around it.
    let ip_ban: otklik_api::Ban =
        ban(json!({"kind": "ip", "comment": c.id, "days": 1, "reason": "flood"})).await.json().await.unwrap();
    refused(say(&s, "a", &reader(9), "new token").await, StatusCode::FORBIDDEN, ErrorCode::Banned).await;
    lift(ip_ban.id).await;
    let range: otklik_api::Ban = ban(json!({"kind": "range", "range": "127.0.0.77/8", "days": 1, "reason": "botnet"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(range.target, "127.0.0.0/8");
    let typo = s
        .client
        .post(s.url("/api/v1/articles/a/typos"))
        .header("X-Otklik-Reader", reader(5))
        .json(&json!({"fragment": "x"}))
        .send()
        .await
        .unwrap();
    refused(typo, StatusCode::FORBIDDEN, ErrorCode::Banned).await;
    let bans: Vec<otklik_api::Ban> = s.admin(reqwest::Method::GET, "/bans", None).await.json().await.unwrap();
    assert_eq!(bans.iter().map(|b| b.id).collect::<Vec<_>>(), [range.id], "lifted bans are not in force");
    lift(range.id).await;
    assert_eq!(say(&s, "a", &reader(9), "welcome back").await.status(), StatusCode::CREATED);

    let actions: Vec<String> = audit(&s).await.into_iter().map(|(_, a, _)| a).collect();
    assert_eq!(actions, ["ban.lift", "ban.add", "ban.lift", "ban.add", "ban.lift", "ban.add"]);
}

#[tokio::test]
async fn a_backup_is_a_consistent_copy_taken_while_serving() {
    // `otklik backup` copies SQLite files; on PostgreSQL it names pg_dump (see `hardening.rs`).
    if common::on_postgres() {
        return;
    }
    let s = TestServer::start().await;
    posted(&s, "a", &reader(1), "saved").await;
    let copy = s.dir.path().join("backup.db");
    let out = otklik(&s, &["backup", copy.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = otklik(&s, &["backup", copy.to_str().unwrap()]).await;
    assert!(!again.status.success(), "a backup never overwrites a file");

    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    settings.database = copy.to_string_lossy().into_owned();
    let restored = TestServer::start_in(dir, settings).await;
    assert_eq!(texts(&restored, "a", &reader(2)).await, (vec!["saved".to_owned()], 1));
}

#[tokio::test]
async fn ip_hashes_are_forgotten_after_the_retention_period() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    let c = posted(&s, "a", &reader(1), "old").await;
    posted(&s, "a", &reader(2), "also old").await;
    assert!(queue(&s, "all").await[0].ip_known);
    let dir = s.stop().await;
    let mut settings = settings_in(dir.path());
    settings.admin_token = Some(EDITOR_TOKEN.into());
    settings.ip_retention_days = Some(0);
    // The restarted server is a moment later than the comments, however fast the test runs.
    settings.clock = otklik_server::clock::Clock::adjustable();
    settings.clock.advance(2);
    let s = TestServer::start_in(dir, settings).await;
    // The purge runs at start-up, beside serving.
    common::until("the IP hash is purged", std::time::Duration::from_secs(5), || async {
        !queue(&s, "all").await[0].ip_known
    })
    .await;
    assert!(queue(&s, "all").await.iter().all(|c| !c.ip_known), "every comment past the period");
    posted(&s, "a", &reader(3), "new").await;
    let ip_known: Vec<bool> = queue(&s, "all").await.iter().map(|c| c.ip_known).collect();
    assert_eq!(ip_known, [true, false, false], "a new comment keeps its IP hash");
    let resp =
        s.admin(reqwest::Method::POST, "/bans", Some(json!({"kind": "ip", "comment": c.id, "days": 1, "reason": "x"})));
    refused(resp.await, StatusCode::CONFLICT, ErrorCode::InvalidBody).await;
}

#[tokio::test]
async fn the_editors_lists_refuse_malformed_queries_in_the_error_body() {
    let s = TestServer::start_with(|settings| settings.admin_token = Some(EDITOR_TOKEN.into())).await;
    for path in ["/comments?queue=everything", "/comments?before=yesterday", "/comments?limit=0", "/audit?limit=500"]
        .into_iter()
        .chain(["/audit?before=x", "/typos?status=open", "/typos?cursor=x", "/typos?status=new&status=fixed"])
    {
        let resp = s.admin(reqwest::Method::GET, path, None).await;
        let message = refused(resp, StatusCode::BAD_REQUEST, ErrorCode::InvalidQuery).await;
        assert!(message.starts_with("the query is not valid"), "{path}: {message}");
    }
    // Empty values are the defaults, as before.
    let resp = s.admin(reqwest::Method::GET, "/comments?queue=&before=&limit=", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_console_words_refused_actions_in_the_moderators_language() {
    let s = TestServer::start().await;
    let password = add_moderator(&s, "olga").await;
    let console = Console::sign_in(&s, "olga", &password).await;
    let refusal = |fields: [(&'static str, &'static str); 3]| {
        let console = &console;
        async move {
            let resp = console.post("/admin/bans", &fields).await;
            (resp.status(), resp.text().await.unwrap())
        }
    };
    // The console's default language is Russian; the API says the same in English.
    let (status, page) = refusal([("range", "203.0.113.0/24"), ("days", "0"), ("reason", "спам")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Срок бана — от 1 дня до 3650."), "{page}");
    let (status, page) = refusal([("range", "not-a-range"), ("days", "7"), ("reason", "спам")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Это не IP-адрес"), "{page}");
    let (status, page) = refusal([("range", "203.0.113.0/24"), ("days", "7"), ("reason", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Укажите причину"), "{page}");
    let lift = console.post("/admin/bans/999/lift", &[]).await;
    assert_eq!(lift.status(), StatusCode::NOT_FOUND);
    assert!(lift.text().await.unwrap().contains("Такого действующего бана нет"));
}

#[tokio::test]
async fn a_refused_cross_site_post_is_answered_in_the_moderators_language() {
    let s = TestServer::start().await;
    let password = add_moderator(&s, "olga").await;
    let c = posted(&s, "a", &reader(1), "keep me").await;
    let console = Console::sign_in(&s, "olga", &password).await;
    let path = format!("{}/admin/comments/{}", console.base, c.id);
    let refused = |lang: &'static str| {
        console
            .client
            .post(&path)
            .header("cookie", &console.cookie)
            .header("sec-fetch-site", "cross-site")
            .header("accept-language", lang)
            .form(&[("csrf", console.csrf.as_str()), ("action", "hide")])
            .send()
    };
    let english = refused("en-GB,en;q=0.9").await.unwrap();
    assert_eq!(english.status(), StatusCode::FORBIDDEN);
    assert!(english.text().await.unwrap().contains("This form has expired"));
    let russian = refused("ru").await.unwrap();
    assert!(russian.text().await.unwrap().contains("Форма устарела"));
}

//! The attacks of the outside security review, each tried against the real server over HTTP (or its
//! real CLI and database file): every test here failed before its fix.

mod common;

use std::time::Duration;

use common::console::{no_redirects, otklik};
use common::webhook::Receiver;
use common::{EDITOR_TOKEN, TestServer, reader, settings_in, until};
use otklik_api::limits::REPLY_DEPTH_MAX;
use otklik_api::{Comment, CommentPage, ErrorBody, ErrorCode, QueueItem, QueuePage};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The publisher whose pages embed the widget in these tests.
const PUBLISHER: &str = "https://news.example";

fn comments_url(s: &TestServer, article: &str) -> String {
    s.url(&format!("/api/v1/articles/{article}/comments"))
}

async fn post(s: &TestServer, article: &str, who: &str, body: Value) -> reqwest::Response {
    s.client.post(comments_url(s, article)).header("X-Otklik-Reader", who).json(&body).send().await.unwrap()
}

async fn posted(s: &TestServer, article: &str, who: &str, body: Value) -> Comment {
    let resp = post(s, article, who, body).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

async fn edit(s: &TestServer, article: &str, who: &str, id: i64, text: &str) -> reqwest::Response {
    let url = format!("{}/{id}", comments_url(s, article));
    s.client.patch(url).header("X-Otklik-Reader", who).json(&json!({ "text": text })).send().await.unwrap()
}

async fn thread(s: &TestServer, article: &str, who: &str, query: &str) -> CommentPage {
    let url = format!("{}{query}", comments_url(s, article));
    let resp = s.client.get(url).header("X-Otklik-Reader", who).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

async fn queue(s: &TestServer, which: &str) -> Vec<QueueItem> {
    let resp = s.admin(Method::GET, format!("/comments?queue={which}"), None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json::<QueuePage>().await.unwrap().comments
}

async fn code(resp: reqwest::Response) -> (StatusCode, ErrorCode) {
    let status = resp.status();
    (status, resp.json::<ErrorBody>().await.unwrap().error.code)
}

async fn database(s: &TestServer) -> sqlx::SqlitePool {
    let db = s.dir.path().join("otklik.db");
    sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display())).await.unwrap()
}

/// 1. An approved comment edited into spam goes back to the queue, seen by its author only; edits meet
/// the bans, limits and stop words that posts meet.
#[tokio::test]
async fn an_edit_cannot_launder_a_comment_past_moderation() {
    let s = TestServer::start_with(|settings| {
        settings.admin_token = Some(EDITOR_TOKEN.into());
        settings.moderation = otklik_api::ModerationMode::Pre;
    })
    .await;
    let (author, other) = (reader(1), reader(2));
    let c = posted(&s, "a", &author, json!({ "text": "Спасибо" })).await;
    assert!(c.pending);
    let approve = s.admin(Method::POST, format!("/comments/{}", c.id), Some(json!({"action": "approve"}))).await;
    assert_eq!(approve.status(), StatusCode::OK);
    assert_eq!(thread(&s, "a", &other, "").await.total, 1);

    let resp = edit(&s, "a", &author, c.id.0, "CASINO http://spam.example").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.json::<Comment>().await.unwrap().pending, "the edit awaits moderation");
    let seen = thread(&s, "a", &other, "").await;
    assert!(seen.comments.iter().all(|c| !c.text.contains("CASINO")), "{:?}", seen.comments);
    assert_eq!(seen.total, 0);
    let own = thread(&s, "a", &author, "").await;
    assert_eq!((own.comments[0].text.as_str(), own.comments[0].pending), ("CASINO http://spam.example", true));
    let pending = queue(&s, "pending").await;
    assert_eq!(pending.len(), 1);
    assert!(pending[0].edited.is_some(), "moderators see that it was edited");

    // Under post-moderation too, once a moderator has approved the text.
    let s = TestServer::start_with(|settings| {
        settings.admin_token = Some(EDITOR_TOKEN.into());
        settings.stop_words = vec!["casino".into()];
        settings.rate_limits = vec!["off".into(), "comments.reader=3/1h".into()];
    })
    .await;
    let c = posted(&s, "b", &author, json!({ "text": "Хорошая статья" })).await;
    let unreviewed = edit(&s, "b", &author, c.id.0, "Очень хорошая статья").await.json::<Comment>().await.unwrap();
    assert!(!unreviewed.pending, "an edit nobody approved before stays as it was");
    s.admin(Method::POST, format!("/comments/{}", c.id), Some(json!({"action": "approve"}))).await;
    let edited = edit(&s, "b", &author, c.id.0, "Отличная статья").await.json::<Comment>().await.unwrap();
    assert!(edited.pending, "an approved text changed goes back to the queue");
    assert_eq!(thread(&s, "b", &other, "").await.total, 0);
    // The limit counts edits as it counts posts (a post and two edits were three).
    assert_eq!(edit(&s, "b", &author, c.id.0, "ещё").await.status(), StatusCode::TOO_MANY_REQUESTS);

    // Stop words hold an edit; a ban stops one.
    let s = TestServer::start_with(|settings| {
        settings.admin_token = Some(EDITOR_TOKEN.into());
        settings.stop_words = vec!["casino".into()];
    })
    .await;
    let c = posted(&s, "c", &author, json!({ "text": "Обычный комментарий" })).await;
    let held = edit(&s, "c", &author, c.id.0, "casino bonus").await.json::<Comment>().await.unwrap();
    assert!(held.pending);
    let c = posted(&s, "c", &author, json!({ "text": "Ещё один" })).await;
    let ban = json!({"kind": "reader", "comment": c.id, "days": 1, "reason": "spam"});
    assert_eq!(s.admin(Method::POST, "/bans", Some(ban)).await.status(), StatusCode::CREATED);
    assert_eq!(code(edit(&s, "c", &author, c.id.0, "обход").await).await, (StatusCode::FORBIDDEN, ErrorCode::Banned));
}

/// 2. A reply chain deeper than the cap is stored at the cap, each reply still naming whom it answers,
/// and every page of the thread pages correctly.
#[tokio::test]
async fn deep_reply_chains_stop_at_the_cap_and_page_correctly() {
    let s = TestServer::start().await;
    let root = posted(&s, "deep", &reader(0), json!({ "text": "root", "author": "R" })).await;
    let mut parent = root.id;
    let mut chain = Vec::new();
    for n in 1..=70u64 {
        let body = json!({ "text": format!("reply {n}"), "author": format!("A{n}"), "parent": parent });
        let c = posted(&s, "deep", &reader(n), body).await;
        assert!(c.depth <= REPLY_DEPTH_MAX, "depth {}", c.depth);
        assert_eq!(c.reply_to.as_deref(), Some(format!("A{}", n - 1).as_str()).filter(|_| n > 1).or(Some("R")));
        parent = c.id;
        chain.push(c.id);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let query = format!("?root={}&limit=7{cursor}", root.id);
        let page = thread(&s, "deep", &reader(999), &query).await;
        seen.extend(page.comments.iter().map(|c| c.id));
        match page.next {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, chain, "every reply once, in the order of the conversation");
}

/// 3. The counts route stops reading at the 101st distinct id: it answers "too many", not a complaint
/// about an id far further on that it should never have reached.
#[tokio::test]
async fn counts_stop_at_the_limit_before_reading_further() {
    let s = TestServer::start().await;
    let mut ids: Vec<String> = (0..101).map(|i| format!("a{i}")).collect();
    ids.push("not valid!".into());
    let resp = s.client.get(s.url("/api/v1/counts")).query(&[("articles", ids.join(","))]).send().await.unwrap();
    assert_eq!(code(resp).await, (StatusCode::BAD_REQUEST, ErrorCode::InvalidQuery));
    let huge = vec!["x"; 20_000].join(",") + ",y";
    let resp = s.client.get(s.url(&format!("/api/v1/counts?articles={huge}"))).send().await.unwrap();
    assert_eq!(code(resp).await, (StatusCode::BAD_REQUEST, ErrorCode::InvalidQuery), "refused on length alone");
    let repeats = vec!["same"; 300].join(",");
    let resp = s.client.get(s.url("/api/v1/counts")).query(&[("articles", repeats)]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "repeats are one id");
}

/// Opens a connection from `source` (any 127.x address is this machine) and sends half a request line.
async fn half_open(source: &str, server: std::net::SocketAddr) -> Option<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(server).await.ok()?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.ok()?;
    Some(stream)
}

/// 4. Sockets that send half a request and wait cannot take every slot: one address holds only its
/// share, and a normal request from elsewhere is served at once.
#[tokio::test]
async fn half_open_connections_from_one_address_leave_room_for_others() {
    let s = TestServer::start_with(|settings| {
        settings.max_connections = Some(64);
        settings.max_connections_per_ip = Some(16);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..64 {
        held.extend(half_open("127.0.0.2", s.addr).await);
    }
    let served = tokio::time::timeout(Duration::from_secs(20), s.client.get(s.url("/healthz")).send()).await;
    assert_eq!(served.expect("a normal request is served").unwrap().status(), StatusCode::OK);
    drop(held);
}

/// 4. A connection that trickles its headers, or waits idle between requests, is closed.
#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed() {
    let s = TestServer::start_with(|settings| {
        settings.header_timeout = Some(Duration::from_millis(500));
        settings.idle_timeout = Some(Duration::from_millis(800));
    })
    .await;
    let mut slow = half_open("127.0.0.1", s.addr).await.unwrap();
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0) | Err(_))), "the server closed the slow connection: {closed:?}");

    let mut idle = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut answer)).await;
    assert!(closed.is_ok(), "the idle keep-alive connection was closed");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "after its answer");

    // On a kept-alive connection the next request's headers have the header timeout, not the idle one.
    let s = TestServer::start_with(|settings| {
        settings.header_timeout = Some(Duration::from_millis(500));
        settings.idle_timeout = Some(Duration::from_secs(60));
    })
    .await;
    let mut kept = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), kept.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0) | Err(_))), "the trickling kept-alive connection was closed: {closed:?}");
}

/// 5. Two events are never delivered under one id, even once the first delivery's row is gone; nor is
/// a deleted comment's id handed out again after a restart.
#[tokio::test]
async fn delivery_and_comment_ids_are_never_reused() {
    let hook = Receiver::default();
    let url = hook.start().await;
    let s = TestServer::start_with(|settings| settings.webhook_url = Some(url.clone())).await;
    posted(&s, "a", &reader(1), json!({ "text": "first" })).await;
    hook.until("the first delivery", |h| h.delivered().len() == 1).await;
    posted(&s, "a", &reader(1), json!({ "text": "second" })).await;
    hook.until("the second delivery", |h| h.delivered().len() == 2).await;
    let ids: Vec<String> =
        hook.delivered().iter().map(|(h, _)| h["x-otklik-delivery"].to_str().unwrap().to_owned()).collect();
    assert_ne!(ids[0], ids[1]);

    let newest = posted(&s, "a", &reader(1), json!({ "text": "to delete" })).await;
    let deleted = s
        .client
        .delete(format!("{}/{}", comments_url(&s, "a"), newest.id))
        .header("X-Otklik-Reader", reader(1))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let dir = s.stop().await;
    let mut settings = settings_in(dir.path());
    settings.webhook_url = Some(url);
    let s = TestServer::start_in(dir, settings).await;
    let next = posted(&s, "a", &reader(1), json!({ "text": "after the restart" })).await;
    assert!(next.id.0 > newest.id.0, "{} was handed out again", newest.id);
}

/// 6. The CLI opens only a database the server made: a mistyped path is an error that creates nothing.
/// A backup is readable by its owner only and says what it holds.
#[tokio::test]
async fn cli_commands_refuse_a_missing_database_and_backups_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let s = TestServer::start().await;
    posted(&s, "a", &reader(1), json!({ "text": "one" })).await;
    posted(&s, "a", &reader(2), json!({ "text": "two" })).await;

    let missing = s.dir.path().join("typo").join("otklik.db");
    let copy = s.dir.path().join("copy.db");
    for args in [vec!["backup", copy.to_str().unwrap()], vec!["moderator", "add", "olga"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
            .args(&args)
            .arg("--database")
            .arg(&missing)
            .env_remove("OTKLIK_DATABASE")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} on a missing database");
        assert!(String::from_utf8_lossy(&out.stderr).contains("there is no database"), "{out:?}");
        assert!(!missing.parent().unwrap().exists() && !copy.exists(), "nothing was created");
    }

    let out = otklik(&s, &["backup", copy.to_str().unwrap()]).await;
    if common::on_postgres() {
        // PostgreSQL has its own tools for this: the command says which, and writes nothing.
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("pg_dump"), "{out:?}");
        assert!(!copy.exists());
        return;
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("comments 2"), "{out:?}");
    assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600);
}

/// 7. Off loopback the session cookie is `Secure` with the `__Secure-` prefix, whatever the proxy says;
/// over HTTPS responses carry HSTS.
#[tokio::test]
async fn console_sessions_are_secure_off_loopback() {
    let s = TestServer::start().await;
    let password = common::console::add_moderator(&s, "olga").await;
    let client = no_redirects();
    let sign_in = |host: &'static str| {
        client
            .post(s.url("/admin/login"))
            .header("Host", host)
            .form(&[("name", "olga"), ("password", password.as_str())])
            .send()
    };
    let resp = sign_in("comments.news.example").await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Secure-otklik_session=") && cookie.contains("; Secure"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let page = client
        .get(s.url("/admin"))
        .header("Host", "comments.news.example")
        .header("Cookie", pair)
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("olga"), "the secure cookie signs in");
    let local = sign_in("127.0.0.1").await.unwrap();
    assert!(!local.headers()["set-cookie"].to_str().unwrap().contains("Secure"), "plain HTTP on loopback");

    let https = s.client.get(s.url("/healthz")).header("X-Forwarded-Proto", "https").send().await.unwrap();
    assert!(https.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
}

/// 8. Neither the database nor a backup holds the key to the hashes in them; a short secret is refused.
/// (On PostgreSQL, where several nodes must hash alike, a generated key is kept in the database, and
/// OTKLIK_SECRET keeps it out: see `nodes_on_postgres_share_one_key`.)
#[tokio::test]
async fn hashing_keys_stay_out_of_the_database_and_its_copies() {
    use std::os::unix::fs::PermissionsExt as _;
    if common::on_postgres() {
        return nodes_on_postgres_share_one_key().await;
    }
    let s = TestServer::start().await;
    posted(&s, "a", &reader(1), json!({ "text": "hashed" })).await;
    let pool = database(&s).await;
    let kept: Vec<String> = sqlx::query_scalar("SELECT name FROM settings").fetch_all(&pool).await.unwrap();
    assert!(!kept.iter().any(|name| name.contains("key")), "{kept:?}");
    let key_file = s.dir.path().join("otklik.db.key");
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    let copy = s.dir.path().join("copy.db");
    assert!(otklik(&s, &["backup", copy.to_str().unwrap()]).await.status.success());
    let raw = crate_hex_decode(key.trim());
    let backup = std::fs::read(&copy).unwrap();
    assert!(!backup.windows(raw.len()).any(|w| w == raw), "the key is in the backup");

    // An older database kept its generated key inside: it moves out, and readers stay who they were.
    let mine = s.client.put(s.mine("a")).header("X-Otklik-Reader", reader(7)).json(&json!({"kind": "like"}));
    assert_eq!(mine.send().await.unwrap().status(), StatusCode::OK);
    let dir = s.stop().await;
    let legacy =
        sqlx::SqlitePool::connect(&format!("sqlite:{}", dir.path().join("otklik.db").display())).await.unwrap();
    sqlx::query("INSERT INTO settings (name, value) VALUES ('reader_key', ?1)")
        .bind(&raw)
        .execute(&legacy)
        .await
        .unwrap();
    legacy.close().await;
    std::fs::remove_file(dir.path().join("otklik.db.key")).unwrap();
    let settings = settings_in(dir.path());
    let s = TestServer::start_in(dir, settings).await;
    let view: Value =
        s.client.get(s.reactions("a")).header("X-Otklik-Reader", reader(7)).send().await.unwrap().json().await.unwrap();
    assert_eq!(view["mine"], "like", "the same key: {view}");
    assert_eq!(std::fs::read_to_string(s.dir.path().join("otklik.db.key")).unwrap(), key);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM settings WHERE name = 'reader_key'")
        .fetch_one(&database(&s).await)
        .await
        .unwrap();
    assert_eq!(left, 0);

    let short = tempfile::tempdir().unwrap();
    let mut settings = settings_in(short.path());
    settings.secret = Some("short".into());
    let refused = otklik_server::App::open(&settings).await.err().expect("a short secret is refused");
    assert!(format!("{refused:#}").contains("at least 32"), "{refused:#}");
}

/// Two nodes on one PostgreSQL database, started one after the other: the second hashes as the first, so a
/// reader is the same reader on either; with OTKLIK_SECRET set, no key is kept in the database.
async fn nodes_on_postgres_share_one_key() {
    let a = TestServer::start().await;
    let mine = a.client.put(a.mine("a")).header("X-Otklik-Reader", reader(7)).json(&json!({"kind": "like"}));
    assert_eq!(mine.send().await.unwrap().status(), StatusCode::OK);
    let second = tempfile::tempdir().unwrap();
    let mut settings = settings_in(second.path());
    settings.database = common::database_in(a.dir.path());
    let b = TestServer::start_in(second, settings).await;
    let view: Value =
        b.client.get(b.reactions("a")).header("X-Otklik-Reader", reader(7)).send().await.unwrap().json().await.unwrap();
    assert_eq!(view["mine"], "like", "the other node knows the reader: {view}");

    let configured = TestServer::start_with(|s| s.secret = Some("x".repeat(40))).await;
    let db = common::Db::of(&configured).await;
    let kept: Vec<(String,)> = db.rows("SELECT name FROM settings").await;
    assert!(kept.is_empty(), "{kept:?}");
}

fn crate_hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// 9. Addresses of one IPv6 /64 share their limits and bans; range bans take IPv6 prefixes.
#[tokio::test]
async fn an_ipv6_64_is_one_address() {
    let s = TestServer::start_with(|settings| {
        settings.trusted_proxies = vec!["127.0.0.1".into()];
        settings.rate_limits = vec!["off".into(), "comments.ip=1/1h".into()];
        settings.admin_token = Some(EDITOR_TOKEN.into());
    })
    .await;
    let from = |ip: &'static str, who: String| {
        s.client
            .post(comments_url(&s, "v6"))
            .header("X-Otklik-Reader", who)
            .header("X-Forwarded-For", ip)
            .json(&json!({ "text": "hello" }))
            .send()
    };
    assert_eq!(from("2001:db8:1:2::1", reader(1)).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(from("2001:db8:1:2:ffff::9", reader(2)).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(from("2001:db8:1:3::1", reader(3)).await.unwrap().status(), StatusCode::CREATED);

    let ban = json!({"kind": "range", "range": "2001:db8:7::/48", "days": 1, "reason": "flood"});
    assert_eq!(s.admin(Method::POST, "/bans", Some(ban)).await.status(), StatusCode::CREATED);
    assert_eq!(
        code(from("2001:db8:7:9::5", reader(4)).await.unwrap()).await,
        (StatusCode::FORBIDDEN, ErrorCode::Banned)
    );
}

/// 10. Wrong passwords sent from one address do not lock the moderator out from another.
#[tokio::test]
async fn a_guesser_cannot_lock_a_moderator_out() {
    let s = TestServer::start_with(|settings| {
        settings.trusted_proxies = vec!["127.0.0.1".into()];
        settings.rate_limits = vec!["off".into(), "signin.name=3/15m".into()];
    })
    .await;
    let password = common::console::add_moderator(&s, "olga").await;
    let client = no_redirects();
    let attempt = |ip: &'static str, password: String| {
        client
            .post(s.url("/admin/login"))
            .header("X-Forwarded-For", ip)
            .form(&[("name", "olga".to_owned()), ("password", password)])
            .send()
    };
    for _ in 0..3 {
        assert_eq!(attempt("203.0.113.66", "guess".into()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(attempt("203.0.113.66", password.clone()).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt("198.51.100.5", password).await.unwrap().status(), StatusCode::SEE_OTHER, "olga signs in");
}

async fn articles(s: &TestServer) -> Vec<Value> {
    s.admin(Method::GET, "/articles", None).await.json().await.unwrap()
}

/// 11. Only the publisher's pages (or this server's) name an article's URL; editors can correct it;
/// reactions alone do not put articles in the moderators' list.
#[tokio::test]
async fn article_pages_come_from_the_publisher_and_reactions_do_not_flood_the_list() {
    let s = TestServer::start_with(|settings| {
        settings.admin_token = Some(EDITOR_TOKEN.into());
        settings.allowed_origins = vec![PUBLISHER.into()];
    })
    .await;
    let page = json!({ "url": "https://evil.example/login", "title": "Urgent: moderators sign in" });
    posted(&s, "a", &reader(1), json!({ "text": "hi", "page": page })).await;
    let page = json!({ "url": "https://news.example/b", "title": "B" });
    posted(&s, "b", &reader(1), json!({ "text": "hi", "page": page })).await;
    for n in 0..30u64 {
        let react = s.client.put(s.mine(&format!("junk{n}"))).header("X-Otklik-Reader", reader(n));
        assert_eq!(react.json(&json!({"kind": "like"})).send().await.unwrap().status(), StatusCode::OK);
    }
    let listed = articles(&s).await;
    let ids: Vec<&str> = listed.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["b", "a"], "{listed:?}");
    assert_eq!(listed[1]["url"], Value::Null, "another site's address is not kept");
    assert_eq!(listed[0]["url"], "https://news.example/b");

    let fixed = json!({ "url": "https://news.example/a", "title": "A" });
    assert_eq!(s.admin(Method::PUT, "/articles/a/page", Some(fixed)).await.status(), StatusCode::OK);
    assert_eq!(articles(&s).await[1]["url"], "https://news.example/a");
    let bad = json!({ "url": "javascript:alert(1)", "title": "x" });
    assert_eq!(s.admin(Method::PUT, "/articles/a/page", Some(bad)).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// 12. A write that fails does so alone, not with the unrelated writes batched with it; `/healthz`
/// reports a writer that cannot write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_write_fails_alone_and_health_sees_the_writer() {
    use futures::StreamExt as _;
    // SQLite's batching writer is what could make one write fail others; on PostgreSQL each is alone.
    if common::on_postgres() {
        return;
    }
    let s = TestServer::start().await;
    posted(&s, "a", &reader(0), json!({ "text": "warm-up" })).await;
    // A real failure inside SQLite for one particular comment.
    let pool = database(&s).await;
    sqlx::query(
        "CREATE TRIGGER fail_one BEFORE INSERT ON comments WHEN NEW.text = 'boom'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    .execute(&pool)
    .await
    .unwrap();
    let statuses: Vec<StatusCode> = futures::stream::iter(0..120u64)
        .map(|i| {
            let s = &s;
            async move {
                let text = if i == 60 { "boom".to_owned() } else { format!("comment {i}") };
                post(s, "a", &reader(i), json!({ "text": text })).await.status()
            }
        })
        .buffer_unordered(120)
        .collect()
        .await;
    let failed = statuses.iter().filter(|s| **s != StatusCode::CREATED).count();
    assert_eq!(failed, 1, "{statuses:?}");
    assert_eq!(thread(&s, "a", &reader(999), "").await.total, 120);

    assert_eq!(s.client.get(s.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    let mut lock = pool.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *lock).await.unwrap();
    let blocked = s.client.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(blocked.status(), StatusCode::SERVICE_UNAVAILABLE, "the writer cannot write");
    sqlx::query("ROLLBACK").execute(&mut *lock).await.unwrap();
    drop(lock);
    until("the writer is healthy again", Duration::from_secs(15), || async {
        s.client.get(s.url("/healthz")).send().await.unwrap().status() == StatusCode::OK
    })
    .await;
}

/// 13. Names lose the invisible characters that spoof them; a write is answered with its outcome,
/// never a 503 while it commits; the WAL file does not keep growing.
#[tokio::test]
async fn names_writes_and_the_wal_are_kept_honest() {
    // Reads still time out; a write outlasting the same limit is answered with what happened to it.
    let s = TestServer::start_with(|settings| settings.request_timeout = Some(Duration::ZERO)).await;
    let resp = post(&s, "a", &reader(1), json!({ "text": "written", "author": "\u{202E}rotaredoM\u{200B}" })).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "a write that commits says so");
    let c: Comment = resp.json().await.unwrap();
    assert_eq!(c.author, "rotaredoM");
    let read = s.client.get(comments_url(&s, "a")).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);

    let s = TestServer::start().await;
    for n in 0..300u64 {
        let react = s.client.put(s.mine("wal")).header("X-Otklik-Reader", reader(n));
        assert_eq!(react.json(&json!({"kind": "like"})).send().await.unwrap().status(), StatusCode::OK);
    }
    if common::on_postgres() {
        return;
    }
    let wal = s.dir.path().join("otklik.db-wal");
    until("the WAL file is emptied once the writer is idle", Duration::from_secs(30), || async {
        std::fs::metadata(&wal).map(|m| m.len() == 0).unwrap_or(true)
    })
    .await;
}

/// A database URL of a kind otklik does not serve is refused at start-up, with its password kept out of the
/// message, and nothing is created (once, such a URL became a SQLite file in a folder named after it).
#[test]
fn a_database_otklik_does_not_serve_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for database in ["mysql://otklik:hunter2@db.internal/otklik", "file:otklik.db"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
            .current_dir(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0", "--assets", "no-assets", "--database", database])
            .env_remove("OTKLIK_DATABASE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{database}: {stderr}");
        assert!(stderr.contains("does not serve") && !stderr.contains("hunter2"), "{stderr}");
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing is created for {database}");
    }
}

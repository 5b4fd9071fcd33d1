//! Reply notifications by e-mail, delivered to a real SMTP server on loopback (aiosmtpd): confirmation
//! before anything else, replies told once visible and gathered over 15 minutes, one-click unsubscription,
//! the limits, bounces, retries, and addresses kept out of every answer and out of the database in clear;
//! and moderators told, as each chose in the console, of pending comments, flags, typo reports, or daily.

mod common;

use std::time::Duration;

use common::console::{Console, add_moderator};
use common::smtp::{Mail, Sink, free_port};
use common::{TestServer, reader, settings_in};
use otklik_api::{Comment, CommentPage};
use otklik_server::clock::Clock;
use reqwest::StatusCode;
use serde_json::json;

const ARTICLE: &str = "harbour-opens";
const TITLE: &str = "The harbour opens again";
const ADDRESS: &str = "Vera.Reader@example.org";

async fn server(sink_url: &str, tweak: impl FnOnce(&mut otklik_server::Settings)) -> TestServer {
    let url = sink_url.to_owned();
    TestServer::start_with(move |settings| {
        settings.smtp_url = Some(url);
        settings.mail_from = Some("Comments <comments@news.example>".into());
        settings.allowed_origins = vec!["https://news.example".into()];
        tweak(settings);
    })
    .await
}

async fn say(s: &TestServer, who: &str, text: &str, parent: Option<i64>, email: Option<&str>) -> reqwest::Response {
    let mut body = json!({ "text": text, "page": { "url": "https://news.example/harbour", "title": TITLE } });
    if let Some(parent) = parent {
        body["parent"] = json!(parent);
    }
    if let Some(email) = email {
        body["notify_email"] = json!(email);
    }
    s.client
        .post(s.url(&format!("/api/v1/articles/{ARTICLE}/comments")))
        .header("X-Otklik-Reader", who)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn post(s: &TestServer, who: &str, text: &str, parent: Option<i64>, email: Option<&str>) -> Comment {
    let resp = say(s, who, text, parent, email).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body = resp.text().await.unwrap();
    assert!(!body.to_lowercase().contains("example.org"), "an address in an answer: {body}");
    serde_json::from_str(&body).unwrap()
}

async fn thread(s: &TestServer) -> CommentPage {
    let url = s.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    s.client.get(url).send().await.unwrap().json().await.unwrap()
}

/// Opens the confirmation link of `mail` as a person does: the page, then its button.
async fn confirm(s: &TestServer, mail: &Mail) {
    let link = mail.link("/mail/confirm/").expect("a confirmation link");
    assert!(link.starts_with(&s.url("/mail/confirm/")), "{link}");
    let page = s.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    let done = s.client.post(&link).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
}

/// Everything the database holds, as bytes (the SQLite file and its WAL), to look for addresses in.
fn database_bytes(s: &TestServer) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["otklik.db", "otklik.db-wal"] {
        bytes.extend(std::fs::read(s.dir.path().join(name)).unwrap_or_default());
    }
    bytes
}

#[tokio::test]
async fn nothing_goes_to_an_address_until_it_is_confirmed_and_it_never_shows() {
    let sink = Sink::start().await;
    let s = server(&sink.url(), |_| {}).await;
    let (vera, oleg) = (reader(1), reader(2));

    let page = thread(&s).await;
    assert!(page.notify, "the form offers the address field when mail is on");

    let first = post(&s, &vera, "Наконец-то! Жду открытия рынка.", None, Some(ADDRESS)).await;
    let confirmation = sink.wait_for(1).await.remove(0);
    assert_eq!(confirmation.to, ADDRESS);
    assert!(confirmation.subject().contains("Подтвердите"), "Russian, as the comment: {}", confirmation.subject());
    assert_eq!(confirmation.header("list-unsubscribe-post"), Some("List-Unsubscribe=One-Click"));

    // Opening the link only shows the page (mail scanners open every link): still unconfirmed.
    let link = confirmation.link("/mail/confirm/").unwrap();
    assert_eq!(s.client.get(&link).send().await.unwrap().status(), StatusCode::OK);
    post(&s, &oleg, "Before the confirmation", Some(first.id.0), None).await;

    confirm(&s, &confirmation).await;
    post(&s, &vera, "My own answer is not news to me", Some(first.id.0), None).await;
    let reply = post(&s, &oleg, "After the confirmation", Some(first.id.0), None).await;

    let messages = sink.wait_for(2).await;
    assert_eq!(messages.len(), 2, "{messages:#?}");
    let told = &messages[1];
    assert_eq!(told.to, ADDRESS);
    assert!(told.subject().contains(TITLE), "{}", told.subject());
    assert!(told.text.contains("After the confirmation"), "{}", told.text);
    assert!(!told.text.contains("Before the confirmation") && !told.text.contains("own answer"), "{}", told.text);
    assert!(told.text.contains(&format!("https://news.example/harbour#otklik-comment-{}", reply.id)), "{}", told.text);
    let unsubscribe = told.header("list-unsubscribe").expect("List-Unsubscribe");
    assert!(unsubscribe.starts_with(&format!("<{}", s.url("/mail/unsubscribe/"))), "{unsubscribe}");
    assert_eq!(told.header("list-unsubscribe-post"), Some("List-Unsubscribe=One-Click"));
    assert!(told.html.contains("After the confirmation"), "a simple HTML part too: {}", told.html);

    // The address is in no answer, and not in the database in clear.
    for path in [format!("/api/v1/articles/{ARTICLE}/comments"), "/api/v1/me".to_owned()] {
        let body =
            s.client.get(s.url(&path)).header("X-Otklik-Reader", &vera).send().await.unwrap().text().await.unwrap();
        assert!(!body.to_lowercase().contains("vera.reader"), "{path}: {body}");
    }
    if !common::on_postgres() {
        let bytes = String::from_utf8_lossy(&database_bytes(&s)).to_lowercase();
        assert!(!bytes.contains("vera.reader"), "the address is stored in clear");
    }
}

#[tokio::test]
async fn replies_are_told_once_visible_and_gathered_over_a_quarter_hour() {
    let sink = Sink::start().await;
    let clock = Clock::adjustable();
    let s = server(&sink.url(), |settings| {
        settings.moderation = otklik_api::ModerationMode::Pre;
        settings.admin_token = Some(common::EDITOR_TOKEN.into());
        settings.clock = clock.clone();
    })
    .await;
    let (vera, oleg) = (reader(1), reader(2));
    let approve = |id: i64| {
        let s = &s;
        async move {
            let resp =
                s.admin(reqwest::Method::POST, &format!("/comments/{id}"), Some(json!({"action": "approve"}))).await;
            assert_eq!(resp.status(), StatusCode::OK);
        }
    };
    let hide = |id: i64| {
        let s = &s;
        async move {
            let resp =
                s.admin(reqwest::Method::POST, &format!("/comments/{id}"), Some(json!({"action": "hide"}))).await;
            assert_eq!(resp.status(), StatusCode::OK);
        }
    };

    let first = post(&s, &vera, "Will the ferry run on Sundays?", None, Some(ADDRESS)).await;
    approve(first.id.0).await;
    confirm(&s, &sink.wait_for(1).await[0]).await;

    let hidden = post(&s, &oleg, "Spam that a moderator hides", Some(first.id.0), None).await;
    hide(hidden.id.0).await;
    let one = post(&s, &oleg, "Yes, from May", Some(first.id.0), None).await;
    assert!(one.pending);
    approve(one.id.0).await;
    let messages = sink.wait_for(2).await;
    assert!(messages[1].text.contains("Yes, from May") && !messages[1].text.contains("Spam"), "{}", messages[1].text);

    // Within the quarter hour after a message, replies wait and go together.
    for text in ["And on holidays", "But not in winter"] {
        let reply = post(&s, &oleg, text, Some(first.id.0), None).await;
        approve(reply.id.0).await;
    }
    clock.advance(15 * 60);
    let messages = sink.wait_for(3).await;
    assert_eq!(messages.len(), 3, "{messages:#?}");
    let gathered = &messages[2].text;
    assert!(gathered.contains("And on holidays") && gathered.contains("But not in winter"), "{gathered}");
    assert!(messages[2].subject().contains("(2)"), "{}", messages[2].subject());
    assert_eq!(sink.messages().len(), 3);

    // A reply told already, edited back into the queue and approved again, is not told twice.
    let url = s.url(&format!("/api/v1/articles/{ARTICLE}/comments/{}", one.id.0));
    let edit = json!({ "text": "Yes, from the first of May" });
    let edited = s.client.patch(&url).header("X-Otklik-Reader", &oleg).json(&edit).send().await.unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
    assert!(edited.json::<Comment>().await.unwrap().pending, "an edit under pre-moderation waits again");
    approve(one.id.0).await;
    let later = post(&s, &oleg, "Tickets at the pier", Some(first.id.0), None).await;
    approve(later.id.0).await;
    clock.advance(15 * 60);
    let messages = sink.wait_for(4).await;
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert!(messages[3].text.contains("Tickets at the pier"), "{}", messages[3].text);
    assert!(!messages[3].text.contains("first of May"), "told twice: {}", messages[3].text);
}

#[tokio::test]
async fn one_click_unsubscription_stops_the_messages() {
    let sink = Sink::start().await;
    let s = server(&sink.url(), |_| {}).await;
    let (vera, oleg, nina) = (reader(1), reader(2), reader(3));
    let first = post(&s, &vera, "Is the pier safe?", None, Some(ADDRESS)).await;
    confirm(&s, &sink.wait_for(1).await[0]).await;
    post(&s, &oleg, "It was rebuilt", Some(first.id.0), None).await;
    let told = sink.wait_for(2).await.remove(1);
    let url = told.header("list-unsubscribe").unwrap().trim_matches(['<', '>']).to_owned();

    // What a mail client sends (RFC 8058): a POST with this body, no cookie.
    let resp = s
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(s.client.post(&url).send().await.unwrap().status(), StatusCode::OK, "twice is no error");
    let forged = format!("{}x", &url[..url.len() - 1]);
    assert_eq!(s.client.post(&forged).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    post(&s, &oleg, "And painted", Some(first.id.0), None).await;
    // A later message to someone else: once it is here, anything queued before it has been sent.
    post(&s, &nina, "Sentinel", None, Some("nina@example.org")).await;
    let messages = sink.wait_for(3).await;
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert_eq!(messages[2].to, "nina@example.org");
}

#[tokio::test]
async fn confirmations_are_limited_and_a_bounced_address_gets_nothing_more() {
    let sink = Sink::start().await;
    let s = server(&sink.url(), |settings| {
        settings.rate_limits = vec!["confirmations.address=1/1d".into(), "confirmations.ip=2/1h".into()];
    })
    .await;
    // The same address from two readers: one confirmation. The comment goes in either way.
    let first = post(&s, &reader(1), "First", None, Some(ADDRESS)).await;
    post(&s, &reader(2), "Second", None, Some(&ADDRESS.to_uppercase())).await;
    // A refused address is blocked for everyone.
    post(&s, &reader(3), "Third", None, Some("bounce@example.org")).await;
    post(&s, &reader(4), "Fourth", None, Some("bounce@example.org")).await;
    // This client has had its two confirmations: the next is not sent.
    post(&s, &reader(5), "Fifth", None, Some("over@example.org")).await;

    let confirmation = sink.wait_for(1).await.remove(0);
    assert_eq!(confirmation.to, ADDRESS);
    confirm(&s, &confirmation).await;
    // Queued after everything above: once it is here, all of that has been sent or dropped.
    post(&s, &reader(6), "Sixth", Some(first.id.0), None).await;
    let messages = sink.wait_for(2).await;
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[1].text.contains("Sixth"));
    assert_eq!(sink.refused(), ["bounce@example.org"], "tried once, then blocked");
    let thread = thread(&s).await;
    assert_eq!(thread.total, 6, "every comment is posted");
}

#[tokio::test]
async fn a_reply_is_quoted_as_text_and_an_erased_reader_hears_nothing_more() {
    let sink = Sink::start().await;
    let s = server(&sink.url(), |_| {}).await;
    let (vera, oleg) = (reader(1), reader(2));
    let first = post(&s, &vera, "Where does the ferry stop?", None, Some(ADDRESS)).await;
    confirm(&s, &sink.wait_for(1).await[0]).await;
    post(&s, &oleg, "<b>At the pier</b> & <script>alert(1)</script>", Some(first.id.0), None).await;
    let told = sink.wait_for(2).await.remove(1);
    assert!(told.text.contains("<b>At the pier</b> & <script>"), "the text part quotes it as written: {}", told.text);
    assert!(told.html.contains("&lt;script&gt;") && !told.html.contains("<script>"), "escaped: {}", told.html);

    // Erased, the reader's address and what it followed are gone.
    let erased = s.client.delete(s.url("/api/v1/me")).header("X-Otklik-Reader", &vera).send().await.unwrap();
    assert_eq!(erased.status(), StatusCode::OK);
    let second = post(&s, &reader(3), "Another thread", None, Some("nina@example.org")).await;
    post(&s, &oleg, "And on Sundays?", Some(second.id.0), None).await;
    post(&s, &reader(4), "Sentinel", None, Some("sentinel@example.org")).await;
    let messages = sink.wait_for(4).await;
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert_eq!(messages[3].to, "sentinel@example.org");
}

#[tokio::test]
async fn a_server_that_is_down_gets_the_message_later() {
    let port = free_port();
    let clock = Clock::adjustable();
    let s = server(&format!("smtp://127.0.0.1:{port}"), |settings| settings.clock = clock.clone()).await;
    post(&s, &reader(1), "Hello", None, Some(ADDRESS)).await;
    // The first attempt fails: the row stays, with its attempt counted.
    let database = common::database_in(s.dir.path());
    let attempted = || async { count(&database, "SELECT count(*) FROM outbox WHERE attempts > 0").await > 0 };
    common::until("a failed attempt", Duration::from_secs(20), attempted).await;
    let sink = Sink::start_on(port).await;
    clock.advance(31);
    let messages = sink.wait_for(1).await;
    assert_eq!(messages[0].to, ADDRESS);
}

/// The count `query` answers in the test server's database: a state to wait for where nothing announces it.
async fn count(database: &str, query: &str) -> i64 {
    use sqlx::Connection as _;
    if database.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(database).await.unwrap();
        sqlx::query_scalar(query).fetch_one(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{database}")).await.unwrap();
        sqlx::query_scalar(query).fetch_one(&mut conn).await.unwrap()
    }
}

#[tokio::test]
async fn an_address_never_confirmed_is_forgotten_after_a_week() {
    let sink = Sink::start().await;
    let clock = Clock::adjustable();
    let s = server(&sink.url(), |settings| settings.clock = clock.clone()).await;
    let (vera, nadia) = (reader(1), reader(2));
    post(&s, &vera, "Does the ferry run at dawn?", None, Some(ADDRESS)).await;
    let kept = post(&s, &nadia, "And at dusk?", None, Some("nadia@example.org")).await;
    let confirmations = sink.wait_for(2).await;
    let to = |address: &str| confirmations.iter().find(|m| m.to == address).expect("a confirmation").clone();
    confirm(&s, &to("nadia@example.org")).await;

    let database = common::database_in(s.dir.path());
    let recipients = "SELECT count(*) FROM mail_recipients";
    assert_eq!(count(&database, recipients).await, 2);
    clock.advance(otklik_server::store::UNCONFIRMED_KEPT_SECS + 60);
    // The link has expired at once, whether or not the hourly task has run.
    let late = s.client.post(to(ADDRESS).link("/mail/confirm/").unwrap()).send().await.unwrap();
    assert_eq!(late.status(), StatusCode::GONE);
    // The task, woken by the clock's move, forgets the address: its only trace is the database's state.
    let forgotten = || async { count(&database, recipients).await == 1 };
    common::until("the unconfirmed address to be forgotten", Duration::from_secs(20), forgotten).await;
    assert_eq!(count(&database, "SELECT count(*) FROM reply_subscriptions").await, 1);

    // The confirmed address still hears of replies.
    post(&s, &vera, "At dusk too", Some(kept.id.0), None).await;
    let messages = sink.wait_for(3).await;
    assert_eq!((messages.len(), messages[2].to.as_str()), (3, "nadia@example.org"));
}

#[tokio::test]
async fn without_smtp_nothing_is_offered_and_bad_settings_or_addresses_are_refused() {
    let s = TestServer::start().await;
    assert!(!thread(&s).await.notify, "no SMTP server: the form offers no address field");
    // An address sent anyway is not kept: there is nothing to send with.
    post(&s, &reader(1), "No mail here", None, Some(ADDRESS)).await;

    let sink = Sink::start().await;
    let s = server(&sink.url(), |_| {}).await;
    let resp = say(&s, &reader(1), "Keep my text", None, Some("not an address")).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let thread = thread(&s).await;
    assert_eq!(thread.total, 0, "a refused comment is not half posted");

    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    settings.smtp_url = Some(sink.url());
    let err = otklik_server::App::open(&settings).await.err().expect("no sender: refused");
    assert!(format!("{err:#}").contains("OTKLIK_MAIL_FROM"), "{err:#}");
    settings.mail_from = Some("comments@news.example".into());
    settings.smtp_url = Some("smtp://mail.example.org:587".into());
    assert!(otklik_server::App::open(&settings).await.is_ok(), "STARTTLS required to another machine is fine");
}

#[tokio::test]
async fn moderators_are_told_what_each_chose_once_their_address_is_confirmed() {
    let sink = Sink::start().await;
    let clock = Clock::adjustable();
    let s = server(&sink.url(), |settings| {
        settings.moderation = otklik_api::ModerationMode::Pre;
        settings.clock = clock.clone();
    })
    .await;
    let olga = Console::sign_in(&s, "olga", &add_moderator(&s, "olga").await).await;
    let ivan = Console::sign_in(&s, "ivan", &add_moderator(&s, "ivan").await).await;
    let (status, page) = olga.get("/admin/notifications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"address\""), "{page}");

    // Olga wants every event, Ivan a daily digest; a bad address is refused.
    let bad = olga.post("/admin/notifications", &[("address", "not an address"), ("pending", "on")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let all = [("address", "olga@news.example"), ("pending", "on"), ("flags", "on"), ("typos", "on")];
    assert_eq!(olga.post("/admin/notifications", &all).await.status(), StatusCode::SEE_OTHER);
    let digest = [("address", "ivan@news.example"), ("digest", "on")];
    assert_eq!(ivan.post("/admin/notifications", &digest).await.status(), StatusCode::SEE_OTHER);
    let confirmations = sink.wait_for(2).await;
    let (_, page) = olga.get("/admin/notifications").await;
    assert!(!page.contains("olga@news.example"), "the console never shows the address: {page}");
    for confirmation in &confirmations {
        let link = confirmation.link("/mail/moderator/confirm/").expect("a confirmation link");
        assert_eq!(s.client.post(&link).send().await.unwrap().status(), StatusCode::OK);
    }

    // Each event, one message to Olga; Ivan hears nothing until his digest.
    let pending = post(&s, &reader(1), "Is the ferry running?", None, None).await;
    let olgas = |n: usize| {
        let sink = &sink;
        async move {
            sink.wait_for(n)
                .await
                .into_iter()
                .filter(|m| m.to == "olga@news.example" && !m.text.contains("/confirm/"))
                .collect::<Vec<_>>()
        }
    };
    let told = olgas(3).await;
    assert!(told[0].text.contains("Is the ferry running?") && told[0].text.contains(TITLE), "{}", told[0].text);
    assert!(told[0].text.contains(&s.url("/admin")), "a link to the console: {}", told[0].text);
    assert_eq!(told[0].header("list-unsubscribe-post"), Some("List-Unsubscribe=One-Click"));
    olga.act(pending.id.0, "approve").await;
    let flagged = s
        .client
        .put(s.url(&format!("/api/v1/articles/{ARTICLE}/comments/{}/flag", pending.id)))
        .header("X-Otklik-Reader", reader(2))
        .send()
        .await
        .unwrap();
    assert_eq!(flagged.status(), StatusCode::NO_CONTENT);
    let typo = s
        .client
        .post(s.url(&format!("/api/v1/articles/{ARTICLE}/typos")))
        .header("X-Otklik-Reader", reader(3))
        .json(&json!({"fragment": "ferrry", "before": "The ", "after": " runs"}))
        .send()
        .await
        .unwrap();
    assert_eq!(typo.status(), StatusCode::CREATED);
    let told = olgas(5).await;
    assert_eq!(told.len(), 3, "{told:#?}");
    assert!(told[2].text.contains("ferrry"), "{}", told[2].text);

    // A day on, Ivan's digest counts what waits: one flagged comment, one typo report.
    post(&s, &reader(4), "Another question", None, None).await;
    clock.advance(86_400);
    let messages = sink.wait_for(7).await;
    let digest =
        messages.iter().find(|m| m.to == "ivan@news.example" && !m.text.contains("/confirm/")).expect("a digest");
    assert!(digest.text.contains(": 1"), "{}", digest.text);

    // One click and Olga hears no more.
    let url = told[0].header("list-unsubscribe").unwrap().trim_matches(['<', '>']).to_owned();
    assert_eq!(s.client.post(&url).body("List-Unsubscribe=One-Click").send().await.unwrap().status(), StatusCode::OK);
    let (_, page) = olga.get("/admin/notifications").await;
    assert!(!page.contains("/admin/notifications/remove"), "the setting is gone: {page}");
}

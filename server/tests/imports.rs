//! `otklik import` and `otklik export`, run as commands on the test's database: each format's fixture
//! (written for these tests from the format's documentation) arrives whole and faithful, as the HTTP API
//! shows it; a second run adds nothing, and a second import at once is refused; files that are not what
//! they claim are refused with nothing written; an import reaches a server that is running; and an
//! export read back into a fresh database answers as the site did.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::site::{answers, build_site};
use common::sse::Events;
use common::{EDITOR_TOKEN, TestServer};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/imports").join(name)
}

/// Runs the real `otklik` binary; awaited, so that a test server beside it goes on serving (see
/// `common::console::otklik`).
async fn otklik(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .await
        .expect("the otklik binary runs")
}

/// Imports `file` as `format` into the database of `dir`; answers the JSON report.
async fn import(dir: &Path, format: &str, file: &Path, extra: &[&str]) -> Value {
    let database = common::database_in(dir);
    let report = dir.join(format!("report-{}.json", rand_suffix()));
    let mut args = vec!["import", format, file.to_str().unwrap(), "--database", &database];
    args.extend(["--report", report.to_str().unwrap()]);
    args.extend(extra);
    let out = otklik(&args).await;
    assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
    // The report for people is printed too.
    assert!(String::from_utf8_lossy(&out.stdout).contains("comments imported:"));
    serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

async fn page(s: &TestServer, article: &str) -> Value {
    let resp = s.client.get(s.url(&format!("/api/v1/articles/{article}/comments?limit=100"))).send().await.unwrap();
    assert!(resp.status().is_success(), "{article}: {}", resp.status());
    resp.json().await.unwrap()
}

/// The page as lines: `depth author: text` (placeholders as `[deleted]`), in the order shown.
fn lines(page: &Value) -> Vec<String> {
    page["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let body = if c["deleted"].as_bool().unwrap() {
                "[deleted]".to_owned()
            } else {
                format!("{}: {}", c["author"].as_str().unwrap(), c["text"].as_str().unwrap())
            };
            format!("{} {body}", c["depth"])
        })
        .collect()
}

async fn served(dir: tempfile::TempDir) -> TestServer {
    let mut settings = common::settings_in(dir.path());
    settings.admin_token = Some(EDITOR_TOKEN.into());
    TestServer::start_in(dir, settings).await
}

#[tokio::test]
async fn a_disqus_export_arrives_whole_and_a_second_run_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = import(dir.path(), "disqus", &fixture("disqus.xml"), &[]).await;
    assert_eq!(report["threads"], 3, "{report}");
    // The empty twin thread joins its namesake; the thread without an identifier is keyed by its link.
    assert_eq!(report["articles"], 2);
    assert_eq!(report["imported"], 6);
    assert_eq!(report["skipped"], serde_json::json!({ "spam": 1, "deleted": 1 }));
    assert_eq!((report["orphans"].as_u64(), report["placeholders"].as_u64()), (Some(1), Some(1)));
    assert_eq!(report["keyed_by_link"], 1);

    let again = import(dir.path(), "disqus", &fixture("disqus.xml"), &[]).await;
    assert_eq!((again["imported"].as_u64(), again["already_present"].as_u64()), (Some(0), Some(6)), "{again}");
    // A later export with only what is new: its replies find their parents among what came before.
    let later = import(dir.path(), "disqus", &fixture("disqus-later.xml"), &[]).await;
    assert_eq!((later["imported"].as_u64(), later["orphans"].as_u64()), (Some(2), Some(1)), "{later}");
    assert_eq!((later["already_present"].as_u64(), later["articles"].as_u64()), (Some(0), Some(2)), "{later}");

    let s = served(dir).await;
    let bridge = page(&s, "bridge-reopens").await;
    assert_eq!(
        lines(&bridge),
        [
            "0 Marta Kowalska: Finally! I cross it every morning.\n\nWalked over it today & it feels solid.",
            "1 Алексей Смирнов: Does anyone know the new bus timetable? See the city page (https://transit.example/timetable).",
            "2 Tanvir: The 14 runs every ten minutes now.",
            "0 [deleted]",
            "1 Ingrid: Whatever was said above, the bridge is great.",
            // The reply that came before its parent in the file hangs under it.
            "2 Marta Kowalska: Quite right — thanks.\nSecond line",
        ]
    );
    assert_eq!(bridge["total"], 5, "placeholders are not counted");
    // Times are the source's, in UTC.
    assert_eq!(bridge["comments"][0]["created"], 1_680_426_900);
    let market = page(&s, "2023-05-market-day").await;
    assert_eq!(
        lines(&market),
        ["0 Zoë Østergaard: Saturdays suit me better «for sure».", "0 Ingrid: Wrong thread, right idea."]
    );
    let counts: Value = s
        .client
        .get(s.url("/api/v1/counts?articles=bridge-reopens,2023-05-market-day"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts["counts"], serde_json::json!({ "bridge-reopens": 5, "2023-05-market-day": 2 }));
    // The thread's address and title came along, for the moderators' console.
    let articles = s.admin(reqwest::Method::GET, "/articles", None).await.text().await.unwrap();
    assert!(articles.contains("The old bridge reopens after two years"), "{articles}");
    assert!(articles.contains("https://gazette.example/2023/04/bridge-reopens/"), "{articles}");
}

#[tokio::test]
async fn a_second_import_into_the_same_database_waits_its_turn() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(dir.path());
    let store = otklik_server::store::open(&database, 2).await.unwrap();
    // As if another import were running (a process of its own, as in real use).
    let running = store.lock_imports().await.unwrap();
    let file = fixture("disqus.xml");
    let out = otklik(&["import", "disqus", file.to_str().unwrap(), "--database", &database]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("another import"), "{stderr}");
    // A dry run writes nothing, and needs no turn.
    let dry = import(dir.path(), "disqus", &file, &["--dry-run"]).await;
    assert_eq!(dry["imported"], 6, "{dry}");
    drop(running);
    let report = import(dir.path(), "disqus", &file, &[]).await;
    assert_eq!((report["imported"].as_u64(), report["already_present"].as_u64()), (Some(6), Some(0)), "{report}");
    // Its turn taken, the lock is free again.
    drop(store.lock_imports().await.unwrap());
}

#[tokio::test]
async fn keys_and_a_map_choose_the_article_ids() {
    let dir = tempfile::tempdir().unwrap();
    let map = fixture("disqus-map.csv");
    let report = import(dir.path(), "disqus", &fixture("disqus.xml"), &["--map", map.to_str().unwrap()]).await;
    assert_eq!(report["imported"], 6);
    let by_path = tempfile::tempdir().unwrap();
    import(by_path.path(), "disqus", &fixture("disqus.xml"), &["--key", "path"]).await;
    let s = served(dir).await;
    assert_eq!(page(&s, "bridge-2023").await["total"], 4);
    assert_eq!(page(&s, "market-saturdays").await["total"], 1);
    assert_eq!(page(&s, "bridge-reopens").await["total"], 0);
    let s = served(by_path).await;
    assert_eq!(page(&s, "2023-04-bridge-reopens").await["total"], 4);
    // A key the format does not have is refused before anything is read, or any database made.
    let elsewhere = tempfile::tempdir().unwrap();
    let database = elsewhere.path().join("new.db");
    let file = fixture("disqus.xml");
    let out = otklik(&[
        "import",
        "disqus",
        file.to_str().unwrap(),
        "--key",
        "post-id",
        "--database",
        database.to_str().unwrap(),
    ])
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("identifier, url, path"), "{out:?}");
    assert!(!database.exists());
}

#[tokio::test]
async fn wordpress_exports_of_every_version_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let report = import(dir.path(), "wordpress", &fixture("wordpress-1.2.xml"), &[]).await;
    assert_eq!(report["imported"], 4, "{report}");
    assert_eq!(report["skipped"], serde_json::json!({ "pingback": 1, "spam": 1, "deleted": 1 }));
    assert_eq!(report["orphans"], 1);
    assert_eq!(import(dir.path(), "wordpress", &fixture("wordpress-1.1.xml"), &[]).await["imported"], 2);
    assert_eq!(import(dir.path(), "wordpress", &fixture("wordpress-1.0.xml"), &[]).await["imported"], 1);
    let s = served(dir).await;
    let library = page(&s, "412").await;
    assert_eq!(
        lines(&library),
        [
            // Line breaks as typed are kept; markup is gone.
            "0 Hanna Virtanen: Great news for students.\nSundays were the only free day I had.\n\nAnd the café too?",
            "1 Дмитрий: The café opens at noon & closes at six.",
            "0 Lost Reply: Answering a comment that is not in the file.",
        ]
    );
    // The comment awaiting moderation waits in the moderators' queue.
    let queue = s.admin(reqwest::Method::GET, "/comments?queue=pending", None).await.text().await.unwrap();
    assert!(queue.contains("Waiting for a moderator."), "{queue}");
    assert_eq!(lines(&page(&s, "77").await), ["0 Léa: Two more stops, finally.", "1 Ahmed: And at night?"]);
    let old = page(&s, "1").await;
    assert_eq!(lines(&old), ["0 Mr WordPress: Hi, this is a comment.\nTo delete a comment, just log in."]);
    // WXR 1.0 wrote a zero GMT date: the site's own time is taken.
    assert_eq!(old["comments"][0]["created"], 1_205_150_400);
}

#[tokio::test]
async fn isso_remark42_commento_and_comentario_arrive() {
    let dir = tempfile::tempdir().unwrap();
    // Isso's database, made from the fixture's SQL.
    let isso = dir.path().join("comments.db");
    {
        use sqlx::ConnectOptions as _;
        let mut conn =
            sqlx::sqlite::SqliteConnectOptions::new().filename(&isso).create_if_missing(true).connect().await.unwrap();
        sqlx::raw_sql(&std::fs::read_to_string(fixture("isso.sql")).unwrap()).execute(&mut conn).await.unwrap();
    }
    let report = import(dir.path(), "isso", &isso, &["--site", "https://news.example/"]).await;
    assert_eq!((report["imported"].as_u64(), report["placeholders"].as_u64()), (Some(5), Some(1)), "{report}");
    // Remark42's backups are gzipped.
    let backup = dir.path().join("remark42.gz");
    {
        use std::io::Write as _;
        let mut gz =
            flate2::write::GzEncoder::new(std::fs::File::create(&backup).unwrap(), flate2::Compression::fast());
        gz.write_all(&std::fs::read(fixture("remark42.jsonl")).unwrap()).unwrap();
        gz.finish().unwrap();
    }
    assert_eq!(import(dir.path(), "remark42", &backup, &[]).await["imported"], 4);
    assert_eq!(import(dir.path(), "commento", &fixture("commento-v1.json"), &[]).await["imported"], 3);
    let comentario = import(dir.path(), "commento", &fixture("comentario-v3.json"), &[]).await;
    assert_eq!(comentario["skipped"], serde_json::json!({ "rejected": 1 }), "{comentario}");

    let s = served(dir).await;
    let harbour = page(&s, "2021-harbour-festival").await;
    assert_eq!(
        lines(&harbour),
        [
            // Markdown is kept as written.
            "0 Sven: Loved the *boats*.",
            "1 Ана: Same here — see https://harbour.example/photos",
            "0 [deleted]",
            "1 : Replying to a deleted one.",
        ]
    );
    assert_eq!(harbour["comments"][0]["likes"], 4);
    assert_eq!(harbour["comments"][1]["edited"], 1_625_148_000);
    let articles = s.admin(reqwest::Method::GET, "/articles", None).await.text().await.unwrap();
    assert!(articles.contains("https://news.example/2021/harbour-festival/"), "--site makes the URL: {articles}");
    let ferries = page(&s, "posts-rust-ferries").await;
    assert_eq!(
        lines(&ferries),
        [
            "0 Olek: Ferries *should* run later.",
            // Without `orig`, the HTML is made plain text.
            "1 Jūratė: Agreed & more often.",
            "0 [deleted]",
            "1 Olek: What did they say?",
        ]
    );
    assert_eq!(ferries["comments"][0]["created"], 1_580_547_600, "a time with an offset is read as UTC");
    assert_eq!(lines(&page(&s, "city-parks").await), ["0 Priya: More **trees**, please.", "1 : And benches."]);
    assert_eq!(lines(&page(&s, "science-comet").await), ["0 Yuki: Saw it at 9 pm!", "1 Ола: Where from?"]);
}

#[tokio::test]
async fn files_that_are_not_what_they_claim_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(dir.path());
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let whole = std::fs::read(fixture("disqus.xml")).unwrap();
    let gzipped = {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&whole).unwrap();
        gz.finish().unwrap()
    };
    let mut garbage = vec![0u8; 3 << 20];
    for (i, b) in garbage.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    // Text without end: one "item" larger than any comment could be.
    let endless = format!("<disqus><post><message>{}", "a".repeat(17 << 20));
    let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE disqus [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<disqus><post><message>&b;</message></post></disqus>"#;
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        ("disqus", write("cut.xml.gz", &gzipped[..gzipped.len() / 2]), "truncated"),
        ("disqus", write("cut.xml", &whole[..whole.len() / 2]), "truncated"),
        ("disqus", write("bomb.xml", bomb), "entities"),
        ("disqus", write("garbage.bin", &garbage), "not a Disqus export"),
        ("disqus", write("endless.xml", endless.as_bytes()), "larger than"),
        ("disqus", fixture("wordpress-1.2.xml"), "not a Disqus export"),
        ("wordpress", fixture("disqus.xml"), "not a WordPress export"),
        ("isso", fixture("disqus.xml"), "not an Isso database"),
        ("remark42", fixture("disqus.xml"), "not a Remark42 backup"),
        ("commento", fixture("disqus.xml"), "not a Commento or Comentario export"),
        ("otklik", fixture("commento-v1.json"), "not an otklik export"),
    ];
    for (format, file, says) in cases {
        let out = otklik(&["import", format, file.to_str().unwrap(), "--database", &database]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{format} {}", file.display());
        assert!(
            stderr.contains(says) && stderr.contains("nothing was written"),
            "{format} {}: {stderr}",
            file.display()
        );
    }
    let s = served(dir).await;
    let db = common::Db::of(&s).await;
    let rows: Vec<(i64,)> = db.rows("SELECT count(*) FROM comments").await;
    assert_eq!(rows[0].0, 0);
    db.close().await;
}

#[tokio::test]
async fn an_import_reaches_a_running_server() {
    let s = served(tempfile::tempdir().unwrap()).await;
    let database = common::database_in(s.dir.path());
    // A reader's comment first, and the empty thread read (and cached) before the import.
    let mine = common::site::send(
        &s,
        reqwest::Method::POST,
        "/api/v1/articles/bridge-reopens/comments",
        &common::reader(1),
        serde_json::json!({ "text": "Written before the import" }),
    )
    .await;
    assert_eq!(page(&s, "bridge-reopens").await["total"], 1);
    let mut events = Events::open(&s.client, &s.url("/api/v1/events?articles=bridge-reopens"), None).await;
    events.present(1).await;
    let out = otklik(&["import", "disqus", fixture("disqus.xml").to_str().unwrap(), "--database", &database]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The server hears of it without a restart (at once on PostgreSQL; within a second on SQLite) and
    // tells the thread's open pages, its cache already let go.
    loop {
        let (_, told): (_, Value) = events.expect("comments").await;
        if told["total"] == 5 {
            break;
        }
        // Only the reader's own comment can have been announced before (late, on PostgreSQL).
        assert_eq!(told["total"], 1, "{told}");
    }
    let bridge = page(&s, "bridge-reopens").await;
    assert_eq!(bridge["comments"].as_array().unwrap().len(), 6);
    // New comments take ids past everything the import stored, and counts go on from the import's.
    let next = common::site::send(
        &s,
        reqwest::Method::POST,
        "/api/v1/articles/bridge-reopens/comments",
        &common::reader(2),
        serde_json::json!({ "text": "Written after the import" }),
    )
    .await;
    let ids: Vec<i64> = bridge["comments"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(next["id"].as_i64().unwrap() > *ids.iter().max().unwrap(), "{next} after {ids:?}");
    assert!(ids.contains(&mine["id"].as_i64().unwrap()));
    assert_eq!(page(&s, "bridge-reopens").await["total"], 6);
}

#[tokio::test]
async fn an_export_read_back_into_a_fresh_database_answers_the_same() {
    let configure = |settings: &mut otklik_server::Settings| {
        settings.admin_token = Some(EDITOR_TOKEN.into());
        settings.stop_words = vec!["otklik-hold-me".into()];
        // The same key on both sides: readers' hashes mean the same there.
        settings.secret = Some("a-secret-for-the-export-round-trip-test".into());
    };
    let source_dir = tempfile::tempdir().unwrap();
    let mut settings = common::settings_in(source_dir.path());
    configure(&mut settings);
    let source = TestServer::start_in(source_dir, settings.clone()).await;
    build_site(&source).await;
    let added = otklik(&["moderator", "add", "olga", "--database", &settings.database]).await;
    assert!(added.status.success(), "{added:?}");
    // Exported while the source serves.
    let file = tempfile::tempdir().unwrap();
    let export = file.path().join("site.jsonl.gz");
    let out = otklik(&["export", export.to_str().unwrap(), "--database", &settings.database]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("9 comments") && said.contains("1 moderators"), "{said}");
    // The file: a header, then one object a line; no password hash, no reader token.
    let text = {
        use std::io::Read as _;
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&export).unwrap()).read_to_string(&mut text).unwrap();
        text
    };
    let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!((header["format"].as_str(), header["version"].as_u64()), (Some("otklik-export"), Some(1)));
    assert!(!text.contains("argon2"));
    // Exporting over an existing file is refused.
    assert!(!otklik(&["export", export.to_str().unwrap(), "--database", &settings.database]).await.status.success());

    let target_dir = tempfile::tempdir().unwrap();
    let report = import(target_dir.path(), "otklik", &export, &[]).await;
    assert_eq!(report["imported"], 9, "{report}");
    let again = import(target_dir.path(), "otklik", &export, &[]).await;
    assert_eq!((again["imported"].as_u64(), again["already_present"].as_u64()), (Some(0), Some(9)), "{again}");
    let mut on_target = common::settings_in(target_dir.path());
    configure(&mut on_target);
    let copy = TestServer::start_in(target_dir, on_target).await;
    // Every answer a reader without likes or reactions gets, and the editors' lists, are the same (the
    // audit log stays with the site it describes; likes and reactions move as counts).
    let (before, after) = (answers(&source).await, answers(&copy).await);
    assert_eq!(before.len(), after.len());
    for ((route, a), (_, b)) in before.iter().zip(&after) {
        if route.contains("as Some(") || route.contains("/audit") {
            continue;
        }
        // IP hashes (kept a few days, for bans) are not exported: the copy knows no address.
        assert_eq!(a.replace(r#""ip_known":true"#, r#""ip_known":false"#), *b, "{route}");
    }
}

//! `otklik copy-db`: a site built on SQLite through the API, copied into PostgreSQL while it serves, gives
//! the same answer on every read route from a node on the copy. Needs PostgreSQL (`make test` gives it);
//! on SQLite alone it does nothing.

mod common;

use common::site::{answers, build_site, send};
use common::{EDITOR_TOKEN, TestServer, reader};
use serde_json::json;

fn copy_db(from: &str, to: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["copy-db", "--from", from, "--to", to])
        .output()
        .expect("the otklik binary runs")
}

#[tokio::test]
async fn a_site_copied_from_sqlite_answers_the_same_on_postgresql() {
    if !common::on_postgres() {
        return;
    }
    let configure = |settings: &mut otklik_server::Settings| {
        settings.admin_token = Some(EDITOR_TOKEN.into());
        settings.stop_words = vec!["otklik-hold-me".into()];
    };
    let sqlite_dir = tempfile::tempdir().unwrap();
    let mut settings = common::settings_in(sqlite_dir.path());
    settings.database = sqlite_dir.path().join("site.db").to_string_lossy().into_owned();
    configure(&mut settings);
    let source = TestServer::start_in(sqlite_dir, settings.clone()).await;
    build_site(&source).await;
    let added = std::process::Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["moderator", "add", "olga", "--database", &settings.database])
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");

    let pg_dir = tempfile::tempdir().unwrap();
    let target = common::database_in(pg_dir.path());
    // Copied while the source serves.
    let out = copy_db(&settings.database, &target);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("comments 9,") && stdout.contains("moderators 1,"), "{stdout}");
    // A second copy into the same, now full, database is refused and changes nothing.
    let again = copy_db(&settings.database, &target);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"), "{again:?}");

    let mut on_pg = common::settings_in(pg_dir.path());
    configure(&mut on_pg);
    let copy = TestServer::start_in(pg_dir, on_pg).await;
    let (before, after) = (answers(&source).await, answers(&copy).await);
    assert_eq!(before.len(), after.len());
    for ((route, a), (_, b)) in before.iter().zip(&after) {
        assert_eq!(a, b, "{route}");
    }
    // New ids continue past every id the source handed out, the deleted newest one included.
    let next =
        send(&copy, reqwest::Method::POST, "/api/v1/articles/ferry/comments", &reader(1), json!({"text": "новый"}))
            .await;
    assert_eq!(next["id"].as_i64().unwrap(), 12, "{next}");
}

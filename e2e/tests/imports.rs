//! An import into a running server, seen in a real browser: a Disqus export's thread, mapped onto the
//! demo article, appears in the widget with its replies nested and its deleted comment as a placeholder.

use std::path::PathBuf;

use otklik_e2e::with_server_and_browser;
use otklik_server::transfer::{Format, ImportOptions};

const HOST: &str = "[data-otklik-article]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_thread_shows_in_the_widget() -> anyhow::Result<()> {
    with_server_and_browser(async |server, browser| {
        browser.client.goto(&server.url("/")).await?;
        browser.until("the empty state", || async { Ok(browser.in_widget(HOST, ".otk-empty").await.ok()) }).await?;

        // What `otklik import disqus FILE --map ids.csv` does, on the server's database while it serves.
        let dir = tempfile::tempdir()?;
        let map = dir.path().join("ids.csv");
        std::fs::write(&map, format!("bridge-reopens,{}\n", otklik_server::DEMO_ARTICLE))?;
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/tests/fixtures/imports/disqus.xml");
        let store = otklik_server::store::open_existing(server.database()).await?;
        let options = ImportOptions { map: Some(map), ..ImportOptions::default() };
        let import = otklik_server::transfer::check(Format::Disqus, &file, options)?;
        let report = otklik_server::transfer::run(store.clone(), import).await;
        store.close().await;
        assert_eq!(report?.imported, 6);

        // A running SQLite server looks for imports every second: the thread is served once it has.
        let thread = server.url(&format!("/api/v1/articles/{}/comments", otklik_server::DEMO_ARTICLE));
        browser
            .until("the server to serve the import", || async {
                let page: serde_json::Value = reqwest::get(&thread).await?.json().await?;
                Ok((page["total"] == 4).then_some(()))
            })
            .await?;
        browser.client.refresh().await?;
        let texts = browser
            .until("the imported thread", || async {
                let t = browser.comment_texts(HOST).await?;
                Ok((t.len() >= 4).then_some(t))
            })
            .await?;
        assert_eq!(texts[0], "Finally! I cross it every morning.\n\nWalked over it today & it feels solid.");
        assert!(texts[1].starts_with("Does anyone know the new bus timetable?"), "{texts:?}");
        // The deleted comment stays as a placeholder, its replies under it.
        let placeholder = browser.in_widget(HOST, ".otk-comment .otk-deleted").await?;
        assert!(!placeholder.text().await?.contains("regret"));
        let heading = browser.in_widget(HOST, ".otk-comments .otk-heading").await?.text().await?;
        assert_eq!(heading, "4 комментария");
        Ok(())
    })
    .await
}

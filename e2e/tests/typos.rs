//! Typo reports in a real browser on the demo page: select a word, Ctrl+Enter, add a correction, send, and
//! the editors find it with its context; and Ctrl+Enter in the comment box still sends the comment.

use fantoccini::Locator;
use otklik_e2e::{Browser, with_configured_server_and_browser, with_server_and_browser};

const HOST: &str = "[data-otklik-article]";

/// The report dialog is open.
/// Whether the typo dialog is open. It does not exist before the first report (its code loads then).
async fn dialog_open(browser: &Browser) -> anyhow::Result<bool> {
    match browser.in_widget(HOST, "dialog").await {
        Ok(dialog) => Ok(dialog.attr("open").await?.is_some()),
        Err(_) => Ok(false),
    }
}

/// The widget has drawn itself (its typo hint is there).
async fn ready(browser: &Browser) -> anyhow::Result<()> {
    browser.until("the widget", || async { Ok(browser.in_widget(HOST, ".otk-typo-hint").await.ok()) }).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selected_typo_reaches_the_editors_with_its_context() -> anyhow::Result<()> {
    // The demo page names itself by its canonical address on port 8080, not this test server's port: the
    // server keeps a page's URL only for an allowed origin, as a publisher lists its own site.
    let canonical = |settings: &mut otklik_server::Settings| {
        settings.allowed_origins = vec!["http://127.0.0.1:8080".into()];
    };
    with_configured_server_and_browser(canonical, async |server, browser| {
        browser.client.goto(&server.url("/")).await?;
        ready(browser).await?;
        let hint = browser.in_widget(HOST, ".otk-typo-hint").await?.text().await?;
        assert!(hint.starts_with("Заметили опечатку?") && hint.contains("Ctrl+Enter"), "{hint}");

        browser.select_in_article("двенадцать").await?;
        browser.ctrl_enter().await?;
        browser.until("the dialog", || async { Ok(dialog_open(browser).await?.then_some(())) }).await?;
        let quote = browser.in_widget(HOST, "dialog blockquote").await?.text().await?;
        assert!(quote.contains("рейс займёт двенадцать минут вместо"), "{quote}");
        assert_eq!(browser.in_widget(HOST, "dialog mark").await?.text().await?, "двенадцать");

        // The note field has focus (showModal focuses the first field): type the correction and send.
        let note = browser.in_widget(HOST, "dialog textarea").await?;
        note.send_keys("12 минут — лучше цифрами").await?;
        browser.in_widget(HOST, "dialog button[type=submit]").await?.click().await?;
        let thanks = browser
            .until("the thank-you", || async {
                let text = browser.in_widget(HOST, "dialog .otk-typo-msg").await?.text().await?;
                Ok(text.starts_with("Спасибо").then_some(text))
            })
            .await?;
        assert!(thanks.contains("редакция"), "{thanks}");

        let list = server.admin_get("/api/v1/admin/typos?status=new").await?;
        let typos = list["typos"].as_array().expect("a list of reports");
        assert_eq!(typos.len(), 1, "{list}");
        let report = &typos[0];
        assert_eq!(report["article"], otklik_server::DEMO_ARTICLE);
        assert_eq!(report["fragment"], "двенадцать");
        let before = report["before"].as_str().unwrap();
        let after = report["after"].as_str().unwrap();
        assert!(before.ends_with("рейс займёт ") && before.chars().count() <= 60, "{before:?}");
        assert!(after.starts_with(" минут вместо прежних") && after.chars().count() <= 60, "{after:?}");
        assert_eq!(report["notes"], serde_json::json!(["12 минут — лучше цифрами"]));
        // The page names itself by its canonical link, as publishers' pages do.
        assert_eq!(report["page"]["url"], "http://127.0.0.1:8080/");
        assert!(report["page"]["title"].as_str().unwrap().starts_with("Паром «Ока»"));

        // Close returns the page to the reader.
        browser.in_widget(HOST, "dialog .otk-form-foot button[type=button]").await?.click().await?;
        browser.until("the dialog to close", || async { Ok((!dialog_open(browser).await?).then_some(())) }).await?;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_enter_in_the_comment_box_sends_the_comment_and_opens_no_dialog() -> anyhow::Result<()> {
    with_server_and_browser(async |server, browser| {
        browser.client.goto(&server.url("/")).await?;
        ready(browser).await?;
        // Even with article text selected, the comment box keeps Ctrl+Enter for itself.
        browser.select_in_article("паром").await?;
        let text = browser.in_widget(HOST, ".otk-comments .otk-form textarea").await?;
        text.send_keys("Отличная новость").await?;
        browser.ctrl_enter().await?;
        browser
            .until("the comment", || async {
                let root = browser.client.find(Locator::Css(HOST)).await?.shadow_root().await?;
                let shown = root.find_all(Locator::Css(".otk-comment .otk-text")).await?;
                Ok((shown.len() == 1).then_some(()))
            })
            .await?;
        assert!(!dialog_open(browser).await?, "no typo dialog over the comment box");
        let list = server.admin_get("/api/v1/admin/typos").await?;
        assert_eq!(list["typos"], serde_json::json!([]));
        Ok(())
    })
    .await
}

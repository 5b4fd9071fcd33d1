//! The parts loaded when the reader needs them, in a real browser, on a publisher's page whose widget sits
//! below a long article: the thread's module arrives with the scroll (and posting works), the typo
//! dialog's with the first Ctrl+Enter before any scroll, and a part that cannot be downloaded shows its
//! failure and loads on the retry.

use otklik_e2e::{Browser, Server, Site};
use serde_json::{Value, json};

const HOST: &str = "#w";

/// An article long enough that the widget starts well outside the thread's look-ahead.
fn page(server: &Server) -> String {
    let paragraph = "<p>Паромная переправа через Волгу снова работает по летнему расписанию.</p>";
    format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Вестник</title></head><body>\
         <article><p>В расписании есть ошыбка.</p>{}</article>\
         <div id=\"w\" data-otklik-article=\"on-demand\"></div>\
         <script src=\"{}\" async></script></body></html>",
        paragraph.repeat(120),
        server.url("/embed.js")
    )
}

async fn with_page(test: impl AsyncFnOnce(&Browser) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut site = Site::bind().await?;
    let origin = site.origin.clone();
    let server = Server::start_with(|settings| settings.allowed_origins = vec![origin]).await?;
    site.serve(vec![("/article", page(&server), None)]);
    let browser = Browser::start().await?;
    let result = async {
        browser.client.goto(&site.url("/article")).await?;
        browser
            .until("the reactions", || async { Ok(browser.in_widget(HOST, "button[data-kind=like]").await.ok()) })
            .await?;
        test(&browser).await
    }
    .await;
    browser.stop().await;
    result
}

/// The widget's modules the page has downloaded so far, by kind: "thread", "typo".
async fn loaded(browser: &Browser, kind: &str) -> anyhow::Result<bool> {
    let names =
        browser.client.execute("return performance.getEntriesByType('resource').map(e => e.name);", vec![]).await?;
    let suffix = format!(".{kind}.wasm");
    Ok(names.as_array().into_iter().flatten().filter_map(Value::as_str).any(|n| n.ends_with(&suffix)))
}

async fn scroll_to_widget(browser: &Browser) -> anyhow::Result<()> {
    browser.client.execute("document.querySelector('#w').scrollIntoView();", vec![]).await?;
    Ok(())
}

async fn empty_thread(browser: &Browser) -> anyhow::Result<()> {
    browser
        .until("the empty thread", || async {
            let empty = browser.in_widget(HOST, ".otk-empty").await?;
            Ok(empty.is_displayed().await?.then_some(()))
        })
        .await
}

/// The visible failure note in the widget, with its text.
async fn failure(browser: &Browser, css: &str) -> anyhow::Result<String> {
    browser
        .until("the failure note", || async {
            let note = browser.in_widget(HOST, css).await?;
            Ok(if note.is_displayed().await? { Some(note.text().await?) } else { None })
        })
        .await
}

async fn dialog_opens(browser: &Browser) -> anyhow::Result<()> {
    browser
        .until("the typo dialog", || async {
            Ok(browser.in_widget(HOST, "dialog").await?.attr("open").await?.map(|_| ()))
        })
        .await
}

async fn block(browser: &Browser, patterns: &[&str]) -> anyhow::Result<()> {
    browser.cdp("Network.enable", json!({})).await?;
    browser.cdp("Network.setBlockedURLs", json!({ "urls": patterns })).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_thread_arrives_with_the_scroll_and_posting_works() -> anyhow::Result<()> {
    with_page(async |browser| {
        assert!(!loaded(browser, "thread").await?, "nothing of the thread before the reader goes there");
        assert!(browser.in_widget(HOST, ".otk-comments textarea").await.is_err());
        scroll_to_widget(browser).await?;
        empty_thread(browser).await?;
        assert!(loaded(browser, "thread").await?);

        browser
            .in_widget(HOST, ".otk-comments .otk-form input[autocomplete=nickname]")
            .await?
            .send_keys("Вера")
            .await?;
        browser.in_widget(HOST, ".otk-comments .otk-form textarea").await?.send_keys("А зимой?").await?;
        browser.in_widget(HOST, ".otk-comments .otk-form button[type=submit]").await?.click().await?;
        let texts = browser
            .until("the comment", || async {
                let texts = browser.comment_texts(HOST).await?;
                Ok((!texts.is_empty()).then_some(texts))
            })
            .await?;
        assert_eq!(texts, ["А зимой?"]);
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_enter_before_any_scroll_opens_the_dialog() -> anyhow::Result<()> {
    with_page(async |browser| {
        assert!(!loaded(browser, "typo").await?, "the dialog's code waits for the first report");
        browser.select_in_article("ошыбка").await?;
        browser.ctrl_enter().await?;
        dialog_opens(browser).await?;
        let quote = browser.in_widget(HOST, "dialog mark").await?.text().await?;
        assert_eq!(quote, "ошыбка");
        assert!(loaded(browser, "typo").await? && !loaded(browser, "thread").await?);
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_cannot_be_downloaded_fails_visibly_and_loads_on_retry() -> anyhow::Result<()> {
    with_page(async |browser| {
        block(browser, &["*.thread.wasm", "*.typo.wasm"]).await?;
        scroll_to_widget(browser).await?;
        let note = failure(browser, ".otk-comments .otk-error").await?;
        assert!(note.contains("Не удалось загрузить комментарии"), "{note}");

        browser.select_in_article("ошыбка").await?;
        browser.ctrl_enter().await?;
        let note = failure(browser, "p[role=alert]").await?;
        assert!(note.contains("Не удалось открыть окно"), "{note}");

        // The network is back: the retry button loads the thread, the next report opens the dialog.
        block(browser, &[]).await?;
        browser.in_widget(HOST, ".otk-comments .otk-error button").await?.click().await?;
        empty_thread(browser).await?;
        browser.select_in_article("ошыбка").await?;
        browser.ctrl_enter().await?;
        dialog_opens(browser).await?;
        Ok(())
    })
    .await
}

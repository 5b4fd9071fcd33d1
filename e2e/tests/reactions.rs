//! The demo page in a real browser: react, see the count move, reload, see it kept, undo.

use otklik_e2e::{Browser, Server, with_server_and_browser};
use otklik_server::DEMO_ARTICLE;

const HOST: &str = "[data-otklik-article]";
const LIKE: &str = "button[data-kind=like]";

/// The like button's (count text, aria-pressed, accessible name) once the widget has loaded.
async fn like_state(browser: &Browser) -> anyhow::Result<Option<(String, String, String)>> {
    let button = browser.in_widget(HOST, LIKE).await?;
    if !button.is_enabled().await? {
        return Ok(None);
    }
    let count = browser.in_widget(HOST, "button[data-kind=like] .otk-count").await?.text().await?;
    let pressed = button.attr("aria-pressed").await?.unwrap_or_default();
    let name = button.attr("aria-label").await?.unwrap_or_default();
    Ok(Some((count, pressed, name)))
}

async fn wait_for(browser: &Browser, count: &str, pressed: &str) -> anyhow::Result<String> {
    browser
        .until(&format!("like count {count}, pressed {pressed}"), || async {
            Ok(like_state(browser).await?.filter(|(c, p, _)| c == count && p == pressed).map(|(.., name)| name))
        })
        .await
}

async fn server_likes(server: &Server) -> anyhow::Result<u64> {
    let url = server.url(&format!("/api/v1/articles/{DEMO_ARTICLE}/reactions"));
    let body: serde_json::Value = reqwest::get(url).await?.json().await?;
    body["counts"]["like"].as_u64().ok_or_else(|| anyhow::anyhow!("no like count in {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reacting_on_the_demo_page_persists_and_can_be_undone() -> anyhow::Result<()> {
    with_server_and_browser(async |server, browser| {
        browser.client.goto(&server.url("/")).await?;
        let name = wait_for(browser, "0", "false").await?;
        assert_eq!(name, "Лайк: 0 реакций", "the accessible name carries the label and the count");

        browser.in_widget(HOST, LIKE).await?.click().await?;
        let name = wait_for(browser, "1", "true").await?;
        assert_eq!(name, "Лайк: 1 реакция");
        browser
            .until("the server to store the like", || async { Ok((server_likes(server).await? == 1).then_some(())) })
            .await?;

        browser.client.refresh().await?;
        wait_for(browser, "1", "true").await?;

        browser.in_widget(HOST, LIKE).await?.click().await?;
        wait_for(browser, "0", "false").await?;
        browser
            .until("the server to drop the like", || async { Ok((server_likes(server).await? == 0).then_some(())) })
            .await?;
        browser.client.refresh().await?;
        wait_for(browser, "0", "false").await?;
        Ok(())
    })
    .await
}

//! axe-core (the npm package `make setup` installs) on the demo page in Chromium: the reactions, the thread
//! and the open typo dialog have no WCAG 2.1 A or AA violations.

use otklik_e2e::{Browser, with_server_and_browser};
use serde_json::Value;

const HOST: &str = "[data-otklik-article]";

/// axe's source: `$AXE_CORE`, else where `make setup` puts it.
fn axe_source() -> anyhow::Result<String> {
    let path = std::env::var("AXE_CORE").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/npm/node_modules/axe-core/axe.min.js").to_owned()
    });
    std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("axe-core is not at {path} ({e}): run `make setup` (make test does)"))
}

/// The WCAG 2.1 A/AA violations axe finds on the page as it is now, shadow roots included: rule and
/// targets.
async fn violations(browser: &Browser, axe: &str) -> anyhow::Result<Vec<String>> {
    browser.client.execute(&format!("{axe}\nreturn true;"), vec![]).await?;
    let found = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
               .then(r => done(r.violations.map(v => v.id + ': ' + JSON.stringify(v.nodes.map(n => n.target)))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value::<Vec<String>>(found)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_the_thread_and_the_typo_dialog_pass_axe() -> anyhow::Result<()> {
    let axe = axe_source()?;
    with_server_and_browser(async |server, browser| {
        browser.client.goto(&server.url("/")).await?;
        browser
            .until("the reactions", || async {
                let ready = browser
                    .client
                    .execute(
                        "const b = document.querySelector(arguments[0]).shadowRoot.querySelector('button[data-kind=like]');
                         return !!b && !b.disabled;",
                        vec![Value::from(HOST)],
                    )
                    .await?;
                Ok((ready == Value::Bool(true)).then_some(()))
            })
            .await?;
        browser.client.execute("document.querySelector(arguments[0]).scrollIntoView()", vec![HOST.into()]).await?;
        browser.until("the thread", || async { Ok(browser.in_widget(HOST, ".otk-empty:not([hidden])").await.ok()) }).await?;
        let page = violations(browser, &axe).await?;
        assert!(page.is_empty(), "on the page with the widget: {page:#?}");

        browser.select_in_article("двенадцать").await?;
        browser.ctrl_enter().await?;
        browser.until("the dialog", || async { Ok(browser.in_widget(HOST, "dialog[open]").await.ok()) }).await?;
        let dialog = violations(browser, &axe).await?;
        assert!(dialog.is_empty(), "with the typo dialog open: {dialog:#?}");
        Ok(())
    })
    .await
}

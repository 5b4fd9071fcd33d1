//! Two otklik nodes on one PostgreSQL database, each serving the demo page: a reaction clicked on the page
//! from node A is counted on the page from node B after a reload. Needs PostgreSQL (`make test` runs this
//! file under `scripts/with-postgres.sh`); without `OTKLIK_TEST_POSTGRES` it does nothing.

use otklik_e2e::{Browser, Server};

const HOST: &str = "[data-otklik-article]";

/// A fresh database on the test cluster, made with `psql` (which comes with the server).
fn fresh_database(server: &str) -> anyhow::Result<String> {
    let name = format!("e2e_{}_{}", std::process::id(), std::time::UNIX_EPOCH.elapsed()?.as_nanos());
    let made = std::process::Command::new("psql").args([server, "-qc", &format!("CREATE DATABASE {name}")]).status()?;
    anyhow::ensure!(made.success(), "creating {name}");
    Ok(format!("{}/{name}", server.rsplit_once('/').map_or(server, |(base, _)| base)))
}

/// The like button's count and pressed state, once the widget has drawn it.
async fn like(browser: &Browser) -> anyhow::Result<Option<(String, String)>> {
    let button = browser.in_widget(HOST, "button[data-kind=like]").await?;
    if !button.is_enabled().await? {
        return Ok(None);
    }
    let count = browser.in_widget(HOST, "button[data-kind=like] .otk-count").await?.text().await?;
    Ok(Some((count, button.attr("aria-pressed").await?.unwrap_or_default())))
}

async fn shows(browser: &Browser, count: &str, pressed: &str) -> anyhow::Result<()> {
    browser
        .until(&format!("like count {count}, pressed {pressed}"), || async {
            Ok(like(browser).await?.filter(|(c, p)| c == count && p == pressed).map(|_| ()))
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaction_clicked_on_one_node_shows_on_the_other() -> anyhow::Result<()> {
    let Some(cluster) = std::env::var("OTKLIK_TEST_POSTGRES").ok().filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let database = fresh_database(&cluster)?;
    let a = Server::start_with(|s| s.database = database.clone()).await?;
    let b = Server::start_with(|s| s.database = database.clone()).await?;
    let browser = Browser::start().await?;
    let result = async {
        browser.client.goto(&a.url("/")).await?;
        shows(&browser, "0", "false").await?;
        browser.in_widget(HOST, "button[data-kind=like]").await?.click().await?;
        shows(&browser, "1", "true").await?;
        // The click was answered by node A; node B's page counts it. (Its origin is another, so the
        // browser is another reader there: the like is counted, not pressed.)
        browser.client.goto(&b.url("/")).await?;
        shows(&browser, "1", "false").await?;
        // And back on A, after a reload, the reader still has their like.
        browser.client.goto(&a.url("/")).await?;
        shows(&browser, "1", "true").await
    }
    .await;
    browser.stop().await;
    result
}

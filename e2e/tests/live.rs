//! Live updates between two readers of the demo page, each in a browser of their own: a reaction and a
//! comment in one reach the other through the page's event stream, and nothing comes back to the first as
//! someone else's; the stream closes when its page is hidden.

use std::time::Instant;

use otklik_e2e::{Browser, Server};

const HOST: &str = "[data-otklik-article]";

/// Opens the demo page with the widget on screen, once its stream is open and its counts are in.
async fn reader(server: &Server) -> anyhow::Result<Browser> {
    let browser = Browser::start().await?;
    browser.client.goto(&server.url("/")).await?;
    browser.client.execute("document.querySelector(arguments[0]).scrollIntoView()", vec![HOST.into()]).await?;
    browser
        .until("the stream to open", || async { Ok((live(&browser, "state").await? == "open").then_some(())) })
        .await?;
    browser.until("the like count", || async { Ok(like_count(&browser).await.ok().filter(|c| !c.is_empty())) }).await?;
    Ok(browser)
}

/// A field of the loader's `otklik.live`: `state`, or `received` (events handed to the widget).
async fn live(browser: &Browser, field: &str) -> anyhow::Result<serde_json::Value> {
    Ok(browser.client.execute("return window.otklik.live[arguments[0]]", vec![field.into()]).await?)
}

async fn like_count(browser: &Browser) -> anyhow::Result<String> {
    Ok(browser.in_widget(HOST, "button[data-kind=like] .otk-count").await?.text().await?)
}

/// The "new comments" button's text, if it shows.
async fn news(browser: &Browser) -> anyhow::Result<Option<String>> {
    let holder = browser.in_widget(HOST, ".otk-new").await?;
    if holder.attr("hidden").await?.is_some() {
        return Ok(None);
    }
    Ok(Some(browser.in_widget(HOST, ".otk-new button").await?.text().await?))
}

/// Waits until `browser` has been handed more events than `before`: whatever the stream sent it is then in.
async fn heard_past(browser: &Browser, before: u64) -> anyhow::Result<u64> {
    browser
        .until("the stream's event", || async { Ok(live(browser, "received").await?.as_u64().filter(|n| *n > before)) })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaction_and_a_comment_reach_the_other_reader_and_not_the_first_as_news() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let (a, b) = (reader(&server).await?, reader(&server).await?);
    let result = async {
        assert_eq!((like_count(&a).await?, like_count(&b).await?), ("0".into(), "0".into()));

        // A likes: B's count moves, A's shows A's own like once.
        let a_before = live(&a, "received").await?.as_u64().unwrap_or(0);
        a.in_widget(HOST, "button[data-kind=like]").await?.click().await?;
        let clicked = Instant::now();
        // How fast is the live bench's to measure (`make bench`); here, that it arrives at all.
        b.until("B's like count to move", || async { Ok((like_count(&b).await? == "1").then_some(())) }).await?;
        eprintln!("a like reached the other reader in {:?}", clicked.elapsed());
        heard_past(&a, a_before).await?;
        assert_eq!(like_count(&a).await?, "1", "A's own like is counted once");

        // A comments: B is offered it behind the button, and sees it once pressed; A is offered nothing.
        let a_before = live(&a, "received").await?.as_u64().unwrap_or(0);
        let text = "Прочитал — жду продолжения";
        a.in_widget(HOST, ".otk-comments .otk-form textarea").await?.send_keys(text).await?;
        a.in_widget(HOST, ".otk-comments .otk-form button[type=submit]").await?.click().await?;
        let offer = b.until("B's new-comments button", || async { news(&b).await }).await?;
        assert_eq!(offer, "1 новый комментарий — показать");
        assert!(b.comment_texts(HOST).await?.is_empty(), "nothing moved under B's eyes");
        assert_eq!(b.in_widget(HOST, ".otk-comments .otk-heading").await?.text().await?, "1 комментарий");
        b.in_widget(HOST, ".otk-new button").await?.click().await?;
        b.until("the comment in B's list", || async { Ok((b.comment_texts(HOST).await? == [text]).then_some(())) })
            .await?;
        assert_eq!(news(&b).await?, None, "the button goes once its comments show");

        heard_past(&a, a_before).await?;
        assert_eq!(a.comment_texts(HOST).await?, [text]);
        assert_eq!(news(&a).await?, None, "A's own comment is not news to A");
        anyhow::Ok(())
    }
    .await;
    a.stop().await;
    b.stop().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_closes_while_the_page_is_hidden_and_opens_again_when_it_shows() -> anyhow::Result<()> {
    // One stream allowed: a probe gets one exactly when the page's is closed.
    let server = Server::start_with(|s| s.max_streams = Some(1)).await?;
    let browser = reader(&server).await?;
    let probe = || async {
        let url = server.url(&format!("/api/v1/events?articles={}", otklik_server::DEMO_ARTICLE));
        let response = reqwest::get(url).await?;
        anyhow::Ok(response.status().is_success().then_some(response))
    };
    let result = async {
        assert!(probe().await?.is_none(), "the page holds the one stream");
        // A minute, as the loader waits, is too long for a test: the page may say how long.
        browser.client.execute("window.otklik.live.linger = 200", vec![]).await?;
        let page = browser.client.window().await?;
        let other = browser.client.new_window(true).await?;
        browser.client.switch_to_window(other.handle).await?;
        let held = browser.until("the hidden page's stream to close", probe).await?;
        drop(held);

        browser.client.close_window().await?;
        browser.client.switch_to_window(page).await?;
        browser
            .until("the stream to open again", || async {
                Ok((live(&browser, "state").await? == "open").then_some(()))
            })
            .await?;
        anyhow::Ok(())
    }
    .await;
    browser.stop().await;
    result
}

//! The demo page's comment thread in a real browser: empty state, post, reply, reload shows both.

use otklik_e2e::{Browser, with_configured_server_and_browser};

const HOST: &str = "[data-otklik-article]";

async fn heading(browser: &Browser) -> anyhow::Result<String> {
    Ok(browser.in_widget(HOST, ".otk-comments .otk-heading").await?.text().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_state_then_post_then_reply_then_reload() -> anyhow::Result<()> {
    // With a minimum compose time: the widget must bring the form token its thread came with.
    let clock = otklik_server::clock::Clock::adjustable();
    let min_compose = |s: &mut otklik_server::Settings| {
        s.min_compose_secs = Some(1);
        s.clock = clock.clone();
    };
    with_configured_server_and_browser(min_compose, async |server, browser| {
        browser.client.goto(&server.url("/")).await?;
        let empty = browser
            .until("the empty state", || async {
                Ok(match browser.in_widget(HOST, ".otk-empty").await {
                    Ok(e) => Some(e.text().await?),
                    Err(_) => None,
                })
            })
            .await?;
        assert!(empty.contains("Комментариев пока нет"), "{empty}");

        let name = browser.in_widget(HOST, ".otk-comments .otk-form input[autocomplete=nickname]").await?;
        name.send_keys("Вера").await?;
        let text = browser.in_widget(HOST, ".otk-comments .otk-form textarea").await?;
        text.send_keys("Когда появится расписание?").await?;
        // A person takes longer than the one-second minimum to write; the server's clock says this test did.
        clock.advance(2);
        browser.in_widget(HOST, ".otk-comments .otk-form button[type=submit]").await?.click().await?;
        browser
            .until("the comment", || async { Ok((browser.comment_texts(HOST).await?.len() == 1).then_some(())) })
            .await?;
        assert_eq!(heading(browser).await?, "1 комментарий");

        browser.in_widget(HOST, ".otk-comment .otk-actions button[aria-expanded]").await?.click().await?;
        let reply = browser
            .until("the reply form", || async { Ok(browser.in_widget(HOST, ".otk-comment textarea").await.ok()) })
            .await?;
        reply.send_keys("С первого декабря, на табло у причала.").await?;
        browser.in_widget(HOST, ".otk-comment button[type=submit]").await?.click().await?;
        browser
            .until("the reply", || async { Ok((browser.comment_texts(HOST).await?.len() == 2).then_some(())) })
            .await?;

        browser.client.refresh().await?;
        let after = browser
            .until("both after a reload", || async {
                let t = browser.comment_texts(HOST).await?;
                Ok((t.len() == 2).then_some(t))
            })
            .await?;
        assert_eq!(after, ["Когда появится расписание?", "С первого декабря, на табло у причала."]);
        assert_eq!(heading(browser).await?, "2 комментария");
        let author = browser.in_widget(HOST, ".otk-comment .otk-author").await?.text().await?;
        assert_eq!(author, "Вера");
        Ok(())
    })
    .await
}

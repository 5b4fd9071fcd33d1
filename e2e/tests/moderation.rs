//! Pre-moderation end to end in headless Chromium: a moderator signs in to the console by keyboard and
//! switches the demo article to pre-moderation; a reader's comment then shows "awaiting moderation" to
//! that reader only; once the moderator approves it in the console, another reader sees it.

use fantoccini::Locator;
use fantoccini::key::Key;
use otklik_e2e::{Browser, Server};
use otklik_server::DEMO_ARTICLE;

const HOST: &str = "[data-otklik-article]";
const TEXT: &str = "Паром будет ходить и зимой?";

/// The thread has loaded (its loading note is hidden): an empty list now means there is nothing to show.
async fn thread_loaded(browser: &Browser) -> anyhow::Result<Option<()>> {
    let note = browser.in_widget(HOST, ".otk-comments > p[role=status]:not(.otk-error)").await?;
    Ok(note.attr("hidden").await?.map(drop))
}

/// Every visible form control of the console page has an accessible name.
async fn controls_are_labelled(browser: &Browser) -> anyhow::Result<()> {
    let unlabelled = browser
        .client
        .execute(
            "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
               .map(e => e.outerHTML);",
            vec![],
        )
        .await?;
    anyhow::ensure!(unlabelled == serde_json::json!([]), "controls without a label: {unlabelled}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_moderated_comment_is_approved_in_the_console() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let password = server.add_moderator("Ольга").await?;
    let moderator = Browser::start().await?;
    let result = async {
        // Sign in with the keyboard only: the name field has focus, Tab to the password, Enter sends.
        moderator.client.goto(&server.url("/admin")).await?;
        controls_are_labelled(&moderator).await?;
        let focused = moderator.client.active_element().await?;
        anyhow::ensure!(focused.attr("name").await?.as_deref() == Some("name"), "the name field has focus");
        focused.send_keys("Ольга").await?;
        let tab: char = Key::Tab.into();
        focused.send_keys(&tab.to_string()).await?;
        let enter: char = Key::Enter.into();
        moderator.client.active_element().await?.send_keys(&format!("{password}{enter}")).await?;
        moderator
            .until("the signed-in console", || async {
                Ok(moderator.client.source().await?.contains("Ольга").then_some(()))
            })
            .await?;

        // Switch the demo article to pre-moderation.
        moderator.client.goto(&server.url("/admin/articles")).await?;
        controls_are_labelled(&moderator).await?;
        moderator.client.find(Locator::Css(".settings input[name=article]")).await?.send_keys(DEMO_ARTICLE).await?;
        moderator.client.find(Locator::Css(".settings select[name=moderation]")).await?.select_by_value("pre").await?;
        moderator.client.find(Locator::Css(".settings button[type=submit]")).await?.click().await?;
        moderator
            .until("the confirmation", || async {
                Ok(moderator.client.find(Locator::Css(".note[role=status]")).await.ok())
            })
            .await?;

        // As a reader (the same browser), post on the demo page: it is marked as awaiting moderation.
        moderator.client.goto(&server.url("/")).await?;
        moderator.until("the thread", || thread_loaded(&moderator)).await?;
        moderator.in_widget(HOST, ".otk-comments .otk-form textarea").await?.send_keys(TEXT).await?;
        moderator.in_widget(HOST, ".otk-comments .otk-form button[type=submit]").await?.click().await?;
        let marker = moderator
            .until("the held comment", || async { Ok(moderator.in_widget(HOST, ".otk-held .otk-pending").await.ok()) })
            .await?;
        let marker = marker.text().await?;
        anyhow::ensure!(marker.contains("Ожидает проверки"), "the author is told: {marker:?}");

        // Another reader does not see it.
        let other = Browser::start().await?;
        let seen = async {
            other.client.goto(&server.url("/")).await?;
            other.until("the other reader's thread", || thread_loaded(&other)).await?;
            anyhow::ensure!(other.comment_texts(HOST).await?.is_empty(), "only its author sees a held comment");

            // The moderator approves it from the pending queue.
            moderator.client.goto(&server.url("/admin?queue=pending")).await?;
            controls_are_labelled(&moderator).await?;
            let page = moderator.client.source().await?;
            anyhow::ensure!(page.contains(TEXT), "the held comment is in the queue");
            moderator.client.find(Locator::Css(".item button[value=approve]")).await?.click().await?;
            moderator
                .until("the approval", || async {
                    Ok(moderator.client.find(Locator::Css(".note[role=status]")).await.ok())
                })
                .await?;

            // Now the other reader sees it, unmarked.
            other.client.refresh().await?;
            let shown = other
                .until("the approved comment", || async {
                    let t = other.comment_texts(HOST).await?;
                    Ok((!t.is_empty()).then_some(t))
                })
                .await?;
            anyhow::ensure!(shown == [TEXT], "{shown:?}");
            anyhow::ensure!(other.in_widget(HOST, ".otk-held").await.is_err(), "no longer held");
            Ok(())
        }
        .await;
        other.stop().await;
        seen?;

        // The console's audit log names who did it.
        let log = server.admin_get("/api/v1/admin/audit").await?;
        let actions: Vec<(String, String)> = log["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (e["who"].as_str().unwrap_or("").to_owned(), e["action"].as_str().unwrap_or("").to_owned()))
            .collect();
        let has = |action: &str| actions.iter().any(|(who, a)| who == "Ольга" && a == action);
        anyhow::ensure!(has("article.settings") && has("comment.approve"), "{actions:?}");
        Ok(())
    }
    .await;
    moderator.stop().await;
    result
}

//! Reply notifications across two real browsers and a real SMTP server on loopback: a reader asks to be
//! told in the widget, confirms by the link in the message the SMTP server caught, a second reader
//! replies, and the first finds the notification, whose link brings the reply into view.

use fantoccini::Locator;
use otklik_e2e::{Browser, Server};

// The server tests' SMTP sink (aiosmtpd running scripts/smtp-sink.py), the same file rather than a copy.
#[allow(dead_code)]
#[path = "../../server/tests/common/smtp.rs"]
mod smtp;

const HOST: &str = "[data-otklik-article]";
const ADDRESS: &str = "anna@example.org";
const DEMO_ORIGIN: &str = "http://127.0.0.1:8080";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_in_the_widget_confirm_by_mail_and_hear_of_the_reply() -> anyhow::Result<()> {
    let sink = smtp::Sink::start().await;
    let smtp_url = sink.url();
    let server = Server::start_with(|settings| {
        settings.smtp_url = Some(smtp_url);
        settings.mail_from = Some("Comments <comments@demo.example>".into());
        // The demo page names its canonical address, `make run`'s; the link in a message goes there.
        settings.allowed_origins = vec![DEMO_ORIGIN.into()];
    })
    .await?;
    let (anna, boris) = (Browser::start().await?, Browser::start().await?);
    let result = async {
        // Anna comments and ticks the box; the address field appears once it is ticked.
        anna.client.goto(&server.url("/")).await?;
        let tick = anna
            .until("the email box", || async {
                let tick = anna.in_widget(HOST, ".otk-comments .otk-form input[name=notify]").await?;
                Ok(tick.is_displayed().await?.then_some(tick))
            })
            .await?;
        let email = anna.in_widget(HOST, ".otk-comments .otk-form input[name=email]").await?;
        assert!(!email.is_displayed().await?, "no address field before the box is ticked");
        anna.in_widget(HOST, ".otk-comments .otk-form input[autocomplete=nickname]").await?.send_keys("Анна").await?;
        anna.in_widget(HOST, ".otk-comments .otk-form textarea").await?.send_keys("Во сколько первый паром?").await?;
        tick.click().await?;
        email.send_keys(ADDRESS).await?;
        anna.in_widget(HOST, ".otk-comments .otk-form button[type=submit]").await?.click().await?;
        anna.until("the comment", || async { Ok((anna.comment_texts(HOST).await?.len() == 1).then_some(())) }).await?;
        let asked = anna.in_widget(HOST, ".otk-comments .otk-form p[role=status]").await?;
        assert!(asked.text().await?.contains("ссылк"), "the form says a confirmation is on its way");

        // The confirmation, in the comment's language; its link opens a page whose button confirms.
        let confirmation = sink.wait_for(1).await.remove(0);
        assert_eq!(confirmation.to, ADDRESS);
        let link = confirmation.link("/mail/confirm/").expect("a confirmation link");
        anna.client.goto(&link).await?;
        anna.client.find(Locator::Css("form[method=post] button")).await?.click().await?;
        anna.until("the confirmation", || async {
            let page = anna.client.find(Locator::Css("body")).await?.text().await?;
            Ok(page.contains("Адрес подтверждён").then_some(()))
        })
        .await?;

        // Boris replies from a browser of his own.
        boris.client.goto(&server.url("/")).await?;
        boris
            .until("Anna's comment", || async { Ok((boris.comment_texts(HOST).await?.len() == 1).then_some(())) })
            .await?;
        boris.in_widget(HOST, ".otk-comment .otk-actions button[aria-expanded]").await?.click().await?;
        let reply = boris
            .until("the reply form", || async { Ok(boris.in_widget(HOST, ".otk-comment textarea").await.ok()) })
            .await?;
        boris.in_widget(HOST, ".otk-comment input[autocomplete=nickname]").await?.send_keys("Борис").await?;
        reply.send_keys("В шесть утра, по будням.").await?;
        boris.in_widget(HOST, ".otk-comment button[type=submit]").await?.click().await?;
        boris.until("the reply", || async { Ok((boris.comment_texts(HOST).await?.len() == 2).then_some(())) }).await?;

        // Anna hears of it: who answered, what, and a link to the reply.
        let notice = sink.wait_for(2).await.remove(1);
        assert_eq!(notice.to, ADDRESS);
        assert!(notice.text.contains("В шесть утра, по будням.") && notice.text.contains("Борис"), "{}", notice.text);
        assert!(notice.header("list-unsubscribe-post").is_some(), "{:?}", notice.headers);
        let link = notice.link("#otklik-comment-");
        let link = link.unwrap_or_else(|| panic!("no link to the reply in {}", notice.text));
        let (page, anchor) = link.split_once('#').expect("an anchor");
        assert_eq!(page, format!("{DEMO_ORIGIN}/"), "the article's canonical address");

        // The link opens the article (here, on the test server's port) with the reply marked and in view.
        anna.client.goto(&server.url(&format!("/#{anchor}"))).await?;
        let marked = format!("#{anchor}.otk-linked");
        let comment =
            anna.until("the reply to be marked", || async { Ok(anna.in_widget(HOST, &marked).await.ok()) }).await?;
        assert!(comment.text().await?.contains("В шесть утра, по будням."));
        let in_view = anna
            .client
            .execute(
                "const rect = arguments[0].getBoundingClientRect(); \
                 return rect.top >= 0 && rect.bottom <= window.innerHeight;",
                vec![serde_json::to_value(&comment)?],
            )
            .await?;
        assert_eq!(in_view, serde_json::Value::Bool(true), "the reply is in view");
        assert_eq!(sink.messages().len(), 2, "a confirmation and one notification, nothing else");
        Ok(())
    }
    .await;
    anna.stop().await;
    boris.stop().await;
    result
}

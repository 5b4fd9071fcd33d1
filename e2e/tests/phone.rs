//! Phone-width viewports with touch input: every part of the widget fits from 320 px up, the typo dialog
//! opened with the touch button included, and nothing makes the page scroll sideways.

use otklik_e2e::{Browser, Server};

const HOST: &str = "[data-otklik-article]";

/// The page's width and scroll width, the elements (shadow roots included) reaching past its right edge,
/// and the open dialog's left and right edges and its buttons' right edges, in CSS pixels.
const MEASURE: &str = r#"
const width = document.documentElement.clientWidth;
const wide = [];
const walk = (root) => {
  for (const el of root.querySelectorAll('*')) {
    const right = el.getBoundingClientRect().right;
    if (right > width + 1) wide.push(`${el.tagName.toLowerCase()}.${el.className} ends at ${Math.round(right)}`);
    if (el.shadowRoot) walk(el.shadowRoot);
  }
};
walk(document);
const dialog = document.querySelector(arguments[0]).shadowRoot.querySelector('dialog[open]');
const box = dialog ? dialog.getBoundingClientRect() : null;
const buttons = dialog ? [...dialog.querySelectorAll('button')].map(b => b.getBoundingClientRect().right) : [];
return {
  width: width,
  scroll: document.documentElement.scrollWidth,
  wide: wide.slice(0, 10),
  dialog: box ? [box.left, box.right] : null,
  buttons: buttons,
};
"#;

async fn measure(browser: &Browser) -> anyhow::Result<serde_json::Value> {
    Ok(browser.client.execute(MEASURE, vec![serde_json::Value::from(HOST)]).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_and_its_typo_dialog_fit_phone_widths() -> anyhow::Result<()> {
    let server = Server::start().await?;
    // A thread with a reply and a long unbroken word, as real threads have.
    let client = reqwest::Client::new();
    let url = server.url(&format!("/api/v1/articles/{}/comments", otklik_server::DEMO_ARTICLE));
    let reader = otklik_api::ReaderToken::from_bytes([7; 16]).encode();
    let first: serde_json::Value = client
        .post(&url)
        .header("X-Otklik-Reader", &reader)
        .json(&serde_json::json!({ "text": format!("Очень {} слово", "длинное".repeat(12)), "author": "Читатель" }))
        .send()
        .await?
        .json()
        .await?;
    client
        .post(&url)
        .header("X-Otklik-Reader", &reader)
        .json(&serde_json::json!({ "text": "Ответ", "author": "Другой читатель", "parent": first["id"] }))
        .send()
        .await?;

    for width in [320, 360, 390] {
        let browser = Browser::phone(width).await?;
        let checked = async {
            browser.client.goto(&server.url("/")).await?;
            // The thread loads as the reader scrolls to it.
            browser.client.execute("document.querySelector(arguments[0]).scrollIntoView()", vec![HOST.into()]).await?;
            browser.until("the thread", || async { Ok(browser.in_widget(HOST, ".otk-comment").await.ok()) }).await?;
            let page = measure(&browser).await?;
            assert_eq!(page["width"], width, "the viewport: {page}");
            assert!(
                page["scroll"].as_u64() <= page["width"].as_u64(),
                "the page scrolls sideways at {width} px: {page}"
            );

            // A reader selects what they are reading: the paragraph is on screen.
            let paragraph = "[...document.querySelectorAll('article p')].find(p => p.textContent.includes('двенадцать'))\
                             .scrollIntoView({ block: 'center' })";
            browser.client.execute(paragraph, vec![]).await?;
            browser.select_in_article("двенадцать").await?;
            let touch = browser
                .until("the touch button", || async {
                    let button = browser.in_widget(HOST, ".otk-typo-touch").await?;
                    Ok(button.attr("hidden").await?.is_none().then_some(button))
                })
                .await?;
            touch.click().await?;
            let open = browser
                .until("the dialog", || async {
                    let page = measure(&browser).await?;
                    Ok((!page["dialog"].is_null()).then_some(page))
                })
                .await?;
            let (left, right) = (open["dialog"][0].as_f64().unwrap(), open["dialog"][1].as_f64().unwrap());
            assert!(left >= 0.0 && right <= f64::from(width), "the dialog spans {left}–{right} at {width} px");
            for edge in open["buttons"].as_array().unwrap() {
                assert!(edge.as_f64().unwrap() <= f64::from(width), "a dialog button is cut off at {width} px: {open}");
            }
            anyhow::Ok(())
        }
        .await;
        browser.stop().await;
        checked?;
    }
    Ok(())
}

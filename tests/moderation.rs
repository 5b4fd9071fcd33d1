//! Moderation as readers meet it, in headless Chromium against the real test server: a comment held for
//! moderation is shown to its author, marked and uncounted, with only edit and delete; others' comments
//! can be flagged once, one's own cannot. (The test server holds comments containing its stop word.)

#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

/// The word `scripts/widget-tests.sh` configures with `--stop-words`.
const STOP_WORD: &str = "otklik-hold-me";

/// Whether the element matching `css` is laid out (its stylesheet does not hide it).
fn displayed(host: &HtmlElement, css: &str) -> bool {
    let element = find(host, css).unwrap_or_else(|| panic!("no {css}"));
    let style = web_sys::window().unwrap().get_computed_style(&element).unwrap().unwrap();
    style.get_property_value("display").unwrap() != "none"
}

fn post_in_widget(host: &HtmlElement, text: &str) {
    let area: HtmlTextAreaElement = find(host, ".otk-comments textarea").unwrap().unchecked_into();
    type_text(&area, text);
    click(host, ".otk-comments .otk-form button[type=submit]");
}

/// Posts as another reader, straight through the API.
async fn post_as_someone_else(article: &str, text: &str) {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().unwrap();
    headers.set("Content-Type", "application/json").unwrap();
    headers.set("X-Otklik-Reader", "c29tZW9uZS1lbHNlLWhlcg").unwrap();
    init.set_headers(&headers);
    init.set_body(&format!("{{\"text\":\"{text}\"}}").into());
    let url = format!("{}/api/v1/articles/{article}/comments", server());
    let response: web_sys::Response =
        JsFuture::from(web_sys::window().unwrap().fetch_with_str_and_init(&url, &init)).await.unwrap().unchecked_into();
    assert_eq!(response.status(), 201);
}

#[wasm_bindgen_test]
async fn a_held_comment_is_marked_for_its_author_and_not_counted() {
    let id = article("held");
    let host = mounted(&id, "ru");
    until("the form", || find(&host, ".otk-comments textarea").is_some()).await;
    post_in_widget(&host, &format!("Проверьте меня: {STOP_WORD}"));
    until("the held comment", || find(&host, ".otk-comment.otk-held").is_some()).await;

    assert!(displayed(&host, ".otk-held .otk-pending"), "the author sees why it is not public yet");
    assert!(text_of(&host, ".otk-held .otk-pending").contains("Ожидает проверки"));
    for hidden in [".otk-held .otk-like", ".otk-held .otk-reply", ".otk-held .otk-flag"] {
        assert!(!displayed(&host, hidden), "{hidden} is not offered while it awaits moderation");
    }
    assert_eq!(text_of(&host, ".otk-comments .otk-heading"), "Комментарии", "not counted until approved");

    // After a reload the author still sees it, still marked.
    let again = mounted(&id, "ru");
    until("the reloaded held comment", || find(&again, ".otk-comment.otk-held").is_some()).await;
    assert!(displayed(&again, ".otk-held .otk-pending"));
}

#[wasm_bindgen_test]
async fn others_comments_can_be_flagged_once_and_ones_own_cannot() {
    let id = article("flag");
    post_as_someone_else(&id, "Someone else's comment").await;
    let host = mounted(&id, "en");
    until("the other reader's comment", || find(&host, ".otk-comment").is_some()).await;
    post_in_widget(&host, "My own comment");
    until("my comment", || find(&host, ".otk-comment.otk-mine").is_some()).await;

    assert!(!displayed(&host, ".otk-mine .otk-flag"), "nobody flags their own comment");
    assert!(!displayed(&host, ".otk-pending"), "published comments carry no moderation note");
    let theirs = ".otk-comment:not(.otk-mine) .otk-flag";
    assert!(displayed(&host, theirs));
    assert_eq!(text_of(&host, theirs), "Report");
    let network = Network::watched();
    click(&host, theirs);
    until("the flag to be acknowledged", || text_of(&host, theirs) == "Reported").await;
    // The label changes before the server answers: the test waits for the server to have stored the flag.
    until("the server to store the flag", || {
        network.answers().iter().any(|a| a.starts_with("PUT ") && a.contains("/flag") && a.ends_with(" 204"))
    })
    .await;
    network.restore();
    assert!(find(&host, ".otk-comment:not(.otk-mine) .otk-error").unwrap().has_attribute("hidden"));
}

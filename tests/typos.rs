//! Typo reports in headless Chromium against the real test server: the hint, Ctrl+Enter over a selection,
//! the context taken from the selection's own block, the limits explained, text fields left alone, and a
//! note kept across a failed send.

#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use js_sys::Function;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlDialogElement, HtmlElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

/// An article section `#id` with `html`, followed by a widget whose typo scope is that section.
fn page(id: &str, html: &str, lang: &str) -> (Element, HtmlElement) {
    let doc = document();
    let section = doc.create_element("section").unwrap();
    section.set_id(id);
    section.set_inner_html(html);
    doc.body().unwrap().append_child(&section).unwrap();
    let host: HtmlElement = doc.create_element("div").unwrap().unchecked_into();
    host.set_attribute("data-otklik-article", &article(id)).unwrap();
    host.set_attribute("data-otklik-lang", lang).unwrap();
    host.set_attribute("data-otklik-typo-scope", &format!("#{id}")).unwrap();
    doc.body().unwrap().append_child(&host).unwrap();
    otklik_widget::mount(&host, server());
    host.scroll_into_view();
    (section, host)
}

/// Selects the first occurrence of `word` under `root`, as a reader's drag would.
fn select(root: &Element, word: &str) {
    let script = Function::new_with_args("root, word", include_str!("select-word.js"));
    let found = script.call2(&JsValue::NULL, root, &word.into()).unwrap();
    assert_eq!(found, JsValue::TRUE, "`{word}` is not on the page");
}

fn dialog(host: &HtmlElement) -> HtmlDialogElement {
    find(host, "dialog").expect("the typo dialog").unchecked_into()
}

/// Whether the typo dialog is open; it exists only from the first report on (its code loads then).
fn dialog_open(host: &HtmlElement) -> bool {
    find(host, "dialog").is_some_and(|d| d.has_attribute("open"))
}

fn shown(host: &HtmlElement, css: &str) -> bool {
    find(host, css).is_some_and(|e| !e.has_attribute("hidden"))
}

fn note(host: &HtmlElement) -> HtmlTextAreaElement {
    find(host, "dialog textarea").unwrap().unchecked_into()
}

fn type_note(host: &HtmlElement, text: &str) {
    type_text(&note(host), text);
}

#[wasm_bindgen_test]
async fn a_selection_is_reported_with_context_from_its_own_block() {
    let (section, host) = page(
        "typo-context",
        "<p>Этот абзац в контекст не попадает.</p>
         <p>Паром через <b>Волгу</b> ходит кажыдй час,
            даже в выходные дни, без перерыва на обед и в любую погоду.</p>",
        "ru",
    );
    until("the hint", || shown(&host, ".otk-typo-hint")).await;
    assert_eq!(text_of(&host, ".otk-typo-hint"), "Заметили опечатку? Выделите её и нажмите Ctrl+Enter");

    select(&section, "кажыдй");
    ctrl_enter(&document().body().unwrap());
    until("the dialog", || dialog_open(&host)).await;
    // Leptos applies changes to the DOM asynchronously, just after the dialog opens.
    until("the fragment", || text_of(&host, "dialog mark") == "кажыдй").await;
    // The paragraph before is another block; markup white space is squashed; the context ends on a word.
    assert_eq!(
        text_of(&host, "dialog blockquote"),
        "Паром через Волгу ходит кажыдй час, даже в выходные дни, без перерыва на обед и в любую"
    );
    assert!(dialog(&host).get_attribute("aria-labelledby").is_some());

    type_note(&host, "каждый");
    ctrl_enter(&note(&host));
    until("the thank-you", || text_of(&host, ".otk-typo-msg").starts_with("Спасибо")).await;
    assert!(!shown(&host, ".otk-typo-form"), "the form gives way to the thanks");
    click(&host, "dialog .otk-form-foot button[type=button]");
    until("the dialog to close", || !dialog(&host).open()).await;
}

#[wasm_bindgen_test]
async fn long_and_missing_selections_explain_how_to_report_and_focus_returns() {
    let long = "слово ".repeat(60);
    let (section, host) = page("typo-limits", &format!("<p>{long}</p>"), "ru");
    let button = document().create_element("button").unwrap().unchecked_into::<HtmlElement>();
    button.set_text_content(Some("before"));
    document().body().unwrap().append_child(&button).unwrap();
    until("the hint", || shown(&host, ".otk-typo-hint")).await;

    button.focus().unwrap();
    select(&section, long.trim());
    ctrl_enter(&document().body().unwrap());
    until("the dialog", || dialog_open(&host)).await;
    until("the explanation", || text_of(&host, ".otk-typo-msg").contains("слишком длинный")).await;
    assert!(!shown(&host, "dialog button[type=submit]"), "nothing to send");
    click(&host, "dialog .otk-form-foot button[type=button]");
    until("the dialog to close", || !dialog(&host).open()).await;
    assert_eq!(document().active_element(), Some(button.clone().into()), "focus went back where it was");

    // Nothing selected: some widget on the page explains what to do.
    web_sys::window().unwrap().get_selection().unwrap().unwrap().remove_all_ranges().unwrap();
    ctrl_enter(&document().body().unwrap());
    let hosts = document().query_selector_all("[data-otklik-article]").unwrap();
    let open = || {
        (0..hosts.length())
            .map(|i| hosts.item(i).unwrap().unchecked_into::<HtmlElement>())
            .find(|h| find(h, "dialog").is_some_and(|d| d.has_attribute("open")))
    };
    until("an explanation", || open().is_some()).await;
    let explaining = open().unwrap();
    until("its text", || text_of(&explaining, ".otk-typo-msg").starts_with("Выделите в тексте статьи")).await;
    dialog(&explaining).close();
}

#[wasm_bindgen_test]
async fn ctrl_enter_in_a_text_field_keeps_its_own_meaning() {
    let (section, host) = page("typo-fields", "<p>Текст с ашибкой внутри.</p>", "en");
    until("the hint", || shown(&host, ".otk-typo-hint")).await;
    assert_eq!(text_of(&host, ".otk-typo-hint"), "Spotted a typo? Select it and press Ctrl+Enter");
    let field = document().create_element("textarea").unwrap();
    document().body().unwrap().append_child(&field).unwrap();
    select(&section, "ашибкой");
    // The widget takes the keys by preventing their default, at once, before it opens anything.
    assert!(!ctrl_enter(&field), "a page's own text field keeps Ctrl+Enter");
    assert!(!dialog_open(&host), "a page's own text field keeps Ctrl+Enter");
    // The same keys outside a field report the selection.
    assert!(ctrl_enter(&document().body().unwrap()), "outside a field the widget takes Ctrl+Enter");
    until("the dialog", || dialog_open(&host)).await;
    until("the fragment", || text_of(&host, "dialog mark") == "ашибкой").await;
    dialog(&host).close();
}

#[wasm_bindgen_test]
async fn a_failed_send_keeps_the_note_for_a_retry() {
    let (section, host) = page("typo-offline", "<p>Переправа откроеться в декабре.</p>", "ru");
    until("the hint", || shown(&host, ".otk-typo-hint")).await;
    select(&section, "откроеться");
    ctrl_enter(&document().body().unwrap());
    until("the dialog", || dialog_open(&host)).await;
    type_note(&host, "откроется");

    let network = Network::writes_fail();
    click(&host, "dialog button[type=submit]");
    until("the failure", || text_of(&host, ".otk-typo-msg").contains("Текст сохранён")).await;
    network.restore();
    assert!(find(&host, ".otk-typo-msg").unwrap().class_list().contains("otk-error"));
    assert_eq!(note(&host).value(), "откроется", "what the reader typed is still there");
    assert!(dialog(&host).open() && shown(&host, "dialog button[type=submit]"));

    click(&host, "dialog button[type=submit]");
    until("the thank-you", || text_of(&host, ".otk-typo-msg").starts_with("Спасибо")).await;
    dialog(&host).close();
}

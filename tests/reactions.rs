//! Widget tests in headless Chromium (`make test-widget`): texts and Intl formatting, and the reactions bar
//! mounted into a real page against a real otklik server started by `scripts/widget-tests.sh`.

#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use otklik_widget::{Lang, format_count, mount, new_comments, reactions_noun};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

fn button(host: &HtmlElement, kind: &str) -> HtmlElement {
    find(host, &format!("button[data-kind={kind}]")).expect("reaction button").unchecked_into()
}

fn ready(host: &HtmlElement) -> bool {
    find(host, "button[data-kind=like]").is_some_and(|b| !b.has_attribute("disabled"))
}

fn label(host: &HtmlElement, kind: &str) -> String {
    button(host, kind).get_attribute("aria-label").unwrap_or_default()
}

fn pressed(host: &HtmlElement, kind: &str) -> bool {
    button(host, kind).get_attribute("aria-pressed").as_deref() == Some("true")
}

fn status(host: &HtmlElement) -> String {
    find(host, "[role=status]").and_then(|s| s.text_content()).unwrap_or_default()
}

#[wasm_bindgen_test]
fn languages_come_from_tags() {
    assert_eq!(Lang::from_tag("ru"), Lang::Ru);
    assert_eq!(Lang::from_tag("ru-RU"), Lang::Ru);
    assert_eq!(Lang::from_tag("en-GB"), Lang::En);
    assert_eq!(Lang::from_tag(""), Lang::En);
    assert_eq!(Lang::Ru.texts().kind(otklik_api::ReactionKind::Surprised), "Удивление");
}

#[wasm_bindgen_test]
fn plural_forms_and_numbers_follow_intl() {
    let ru: Vec<_> = [1, 2, 5, 11, 21, 22, 25, 101].iter().map(|&n| reactions_noun(Lang::Ru, n)).collect();
    assert_eq!(ru, ["реакция", "реакции", "реакций", "реакций", "реакция", "реакции", "реакций", "реакция"]);
    let new: Vec<_> = [1, 3, 5, 21].iter().map(|&n| new_comments(Lang::Ru, n)).collect();
    let show = |s: &str| format!("{s} — показать");
    let expected = ["1 новый комментарий", "3 новых комментария", "5 новых комментариев", "21 новый комментарий"];
    assert_eq!(new, expected.map(show));
    assert_eq!(new_comments(Lang::En, 1), "1 new comment — show");
    assert_eq!(new_comments(Lang::En, 2), "2 new comments — show");
    assert_eq!(reactions_noun(Lang::En, 1), "reaction");
    assert_eq!(reactions_noun(Lang::En, 0), "reactions");
    assert_eq!(format_count(Lang::En, 12_345), "12,345");
    assert_eq!(format_count(Lang::Ru, 12_345), "12\u{a0}345");
}

/// The widget writes numbers and picks plural forms itself (the browser's formatters are slow to build on
/// a phone); what it writes must be what the browser's `Intl` writes.
#[wasm_bindgen_test]
fn numbers_and_plural_forms_are_the_browsers() {
    use js_sys::{Array, Intl, Object};
    let samples =
        (0..=130).chain([999, 1_000, 1_001, 1_111, 1_234, 9_999, 10_000, 12_345, 100_000, 1_234_567, u32::MAX.into()]);
    for lang in [Lang::Ru, Lang::En] {
        let locales = Array::of1(&lang.tag().into());
        let numbers = Intl::NumberFormat::new(&locales, &Object::new()).format();
        let rules = Intl::PluralRules::new(&locales, &Object::new());
        let nouns = match lang {
            Lang::Ru => ["реакция", "реакции", "реакций", "реакций"],
            Lang::En => ["reaction", "reactions", "reactions", "reactions"],
        };
        for n in samples.clone() {
            let browser = numbers.call1(&wasm_bindgen::JsValue::NULL, &(n as f64).into()).unwrap().as_string().unwrap();
            assert_eq!(format_count(lang, n), browser, "{lang:?} {n}");
            let category = String::from(rules.select(n as f64));
            let index = ["one", "few", "many", "other"].iter().position(|c| *c == category).unwrap();
            assert_eq!(reactions_noun(lang, n), nouns[index], "{lang:?} {n}: {category}");
        }
    }
}

#[wasm_bindgen_test]
async fn reacting_sets_switches_and_clears() {
    let host = mounted(&article("react"), "en");
    assert!(host.shadow_root().is_some_and(|r| r.mode() == web_sys::ShadowRootMode::Open));
    until("the reactions to load", || ready(&host)).await;
    assert_eq!(host.shadow_root().unwrap().query_selector_all("button.otk-reaction").unwrap().length(), 5);
    assert_eq!(label(&host, "like"), "Like: 0 reactions");

    button(&host, "like").click();
    // Optimistic: the count moves before the server has answered.
    leptos::task::tick().await;
    assert_eq!(label(&host, "like"), "Like: 1 reaction");
    assert!(pressed(&host, "like"));

    button(&host, "laugh").click();
    until("the switch to laugh", || {
        label(&host, "laugh") == "Laugh: 1 reaction" && label(&host, "like") == "Like: 0 reactions"
    })
    .await;
    assert!(pressed(&host, "laugh") && !pressed(&host, "like"));

    button(&host, "laugh").click();
    until("the laugh to be cleared", || !pressed(&host, "laugh")).await;
    assert_eq!(label(&host, "laugh"), "Laugh: 0 reactions");

    // Mounting the same element again does nothing.
    mount(&host, server());
    assert_eq!(host.shadow_root().unwrap().query_selector_all("button.otk-reaction").unwrap().length(), 5);
}

#[wasm_bindgen_test]
async fn counts_from_the_live_stream_change_in_place_and_reach_screen_readers_when_told() {
    let id = article("live");
    let host = mounted(&id, "en");
    until("the reactions to load", || ready(&host)).await;
    let spoken = || text_of(&host, "p.otk-sr[aria-live=polite]");
    // Another reader's like, as embed.js hands on the stream's event.
    otklik_widget::live(&id, 0, &[1.0, 0.0, 0.0, 0.0, 0.0]);
    leptos::task::tick().await;
    assert_eq!(label(&host, "like"), "Like: 1 reaction");
    assert!(!pressed(&host, "like"), "someone else's like is not the reader's");
    assert_eq!(spoken(), "", "nothing is said until embed.js says the quiet time is over");

    // embed.js says "told" at most every few seconds: what moved since the last time is said then.
    otklik_widget::live(&id, 3, &[]);
    otklik_widget::live(&id, 0, &[1.0, 2.0, 0.0, 0.0, 1.0]);
    otklik_widget::live(&id, 3, &[]);
    leptos::task::tick().await;
    assert_eq!(spoken(), "Laugh: 2 reactions; Sad: 1 reaction");
    assert_eq!(label(&host, "sad"), "Sad: 1 reaction");
}

#[wasm_bindgen_test]
async fn what_the_server_stored_is_shown_on_the_next_load() {
    let id = article("persist");
    let first = mounted(&id, "ru");
    until("the first widget to load", || ready(&first)).await;
    button(&first, "sad").click();
    until_stored(&id, "the sad reaction", |view| view.mine == Some(otklik_api::ReactionKind::Sad)).await;
    // A second widget for the same article, as after a reload, with the same reader token.
    let second = mounted(&id, "ru");
    until("the second widget to show the stored reaction", || ready(&second) && pressed(&second, "sad")).await;
    assert_eq!(label(&second, "sad"), "Печаль: 1 реакция");
}

#[wasm_bindgen_test]
async fn a_failed_write_rolls_back_and_says_why() {
    let id = article("offline");
    let host = mounted(&id, "en");
    until("the reactions to load", || ready(&host)).await;

    let network = Network::writes_fail();
    button(&host, "angry").click();
    leptos::task::tick().await;
    assert!(pressed(&host, "angry"), "optimistic before the failure");
    until("the rollback", || !pressed(&host, "angry") && label(&host, "angry") == "Angry: 0 reactions").await;
    until("the explanation", || status(&host).contains("No connection to the server")).await;

    network.restore();
    button(&host, "angry").click();
    until("the retry to succeed", || pressed(&host, "angry") && status(&host).is_empty()).await;
    // The failed write never reached the server; the retry counted once.
    until_stored(&id, "the retried reaction", |view| view.mine == Some(otklik_api::ReactionKind::Angry)).await;
    until_stored(&id, "one angry reaction", |view| view.counts.angry == 1).await;
    assert_eq!(label(&host, "angry"), "Angry: 1 reaction");
}

#[wasm_bindgen_test]
async fn an_unreachable_server_shows_a_retry() {
    let host: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    host.set_attribute("data-otklik-article", "unreachable").unwrap();
    host.set_attribute("data-otklik-lang", "en").unwrap();
    document().body().unwrap().append_child(&host).unwrap();
    // Port 9 (discard) on loopback: nothing listens there, so the request fails at once.
    mount(&host, "http://127.0.0.1:9");
    until("the failure message", || status(&host).contains("could not be loaded")).await;
    let retry = find(&host, ".otk-status button").expect("a retry button");
    assert_eq!(retry.text_content().as_deref(), Some("Retry"));
    assert!(button(&host, "like").has_attribute("disabled"));
}

#[wasm_bindgen_test]
fn invalid_article_ids_mount_nothing() {
    let host: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    host.set_attribute("data-otklik-article", "not valid/id").unwrap();
    mount(&host, server());
    assert!(host.shadow_root().is_none());
}

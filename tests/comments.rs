//! Comment thread tests in headless Chromium against the real test server: the empty state, plural forms,
//! posting, replying, Ctrl+Enter, a draft that survives a failed send and a reload, the "email me" box, and
//! the comment a notification's link names.

#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use otklik_widget::{Lang, Unit, absolute_time, ago_text, comments_count, more_replies};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

/// The thread has loaded: its loading note is hidden.
fn loaded(host: &HtmlElement) -> bool {
    find(host, ".otk-comments > p[role=status]:not(.otk-error)").is_some_and(|note| note.has_attribute("hidden"))
}

/// The comment texts on screen, in order, with their depth.
fn shown(host: &HtmlElement) -> Vec<(String, String)> {
    let list = host.shadow_root().unwrap().query_selector_all(".otk-comment").unwrap();
    (0..list.length())
        .map(|i| {
            let item: HtmlElement = list.item(i).unwrap().unchecked_into();
            let text = item.query_selector(".otk-text").unwrap().and_then(|t| t.text_content()).unwrap_or_default();
            let depth = (0..4).find(|d| item.class_list().contains(&format!("otk-d{d}"))).expect("a depth class");
            (text, depth.to_string())
        })
        .collect()
}

/// A top-level comment with no name, as a script posts it through the API.
fn anonymous(text: String) -> otklik_api::NewComment {
    otklik_api::NewComment {
        text,
        author: None,
        parent: None,
        page: None,
        website: None,
        form: None,
        notify_email: None,
    }
}

/// Types `text` into the `index`-th comment box as a person would (value, then an input event).
fn type_into(host: &HtmlElement, index: u32, text: &str) -> HtmlTextAreaElement {
    let boxes = host.shadow_root().unwrap().query_selector_all(".otk-comments textarea").unwrap();
    let area: HtmlTextAreaElement = boxes.item(index).expect("a comment box").unchecked_into();
    type_text(&area, text);
    area
}

#[wasm_bindgen_test]
fn counts_take_the_right_plural_form() {
    let ru: Vec<String> = [1, 3, 5, 21, 112].iter().map(|&n| comments_count(Lang::Ru, n)).collect();
    assert_eq!(ru, ["1 комментарий", "3 комментария", "5 комментариев", "21 комментарий", "112 комментариев"]);
    assert_eq!(comments_count(Lang::En, 1), "1 comment");
    assert_eq!(comments_count(Lang::En, 2), "2 comments");
    assert_eq!(more_replies(Lang::Ru, 2), "Показать ещё 2 ответа");
    assert_eq!(more_replies(Lang::En, 1), "Show 1 more reply");
}

/// The widget words "5 минут назад" itself (the browser's formatter is slow to build on a phone); what it
/// writes must be what the browser's `Intl.RelativeTimeFormat` writes.
#[wasm_bindgen_test]
fn times_ago_are_worded_as_the_browser_words_them() {
    use js_sys::{Array, Intl, Object, Reflect};
    for lang in [Lang::Ru, Lang::En] {
        let options = Object::new();
        Reflect::set(&options, &"numeric".into(), &"auto".into()).unwrap();
        let browser = Intl::RelativeTimeFormat::new(&Array::of1(&lang.tag().into()), &options);
        for unit in Unit::ALL {
            for value in (0..=130).chain([1_001, 2_024]) {
                let expected = String::from(browser.format(-(value as f64), unit.name()));
                assert_eq!(ago_text(lang, value, unit), expected, "{lang:?} {value} {unit:?}");
            }
        }
    }
}

/// The tooltip's full date, likewise: the browser's `Intl.DateTimeFormat` (long date, short time) in the
/// reader's time zone, at every hour and month and at both ends of a day.
#[wasm_bindgen_test]
fn full_dates_are_written_as_the_browser_writes_them() {
    use js_sys::{Array, Date, Intl, Object, Reflect};
    for lang in [Lang::Ru, Lang::En] {
        let options = Object::new();
        Reflect::set(&options, &"dateStyle".into(), &"long".into()).unwrap();
        Reflect::set(&options, &"timeStyle".into(), &"short".into()).unwrap();
        let browser = Intl::DateTimeFormat::new(&Array::of1(&lang.tag().into()), &options).format();
        // Every hour of a day, 37 days apart (so every month comes up), minutes varying, from 1970 to 2030.
        let times = (0..24 * 12).map(|n| n * (37 * 86_400 + 3_600 + 7 * 60)).chain([0, 1_764_330_000, 1_893_455_999]);
        for unix in times {
            let date = Date::new(&(unix as f64 * 1000.0).into());
            let expected = browser.call1(&wasm_bindgen::JsValue::NULL, &date).unwrap().as_string().unwrap();
            assert_eq!(absolute_time(lang, unix), expected, "{lang:?} {unix}");
        }
    }
}

#[wasm_bindgen_test]
async fn an_empty_thread_invites_the_first_comment_in_both_languages() {
    let ru = mounted(&article("empty-ru"), "ru");
    let en = mounted(&article("empty-en"), "en");
    let shown_empty = |host: &HtmlElement| find(host, ".otk-empty").is_some_and(|e| !e.has_attribute("hidden"));
    until("the empty states", || shown_empty(&ru) && shown_empty(&en)).await;
    assert!(text_of(&ru, ".otk-empty").contains("Комментариев пока нет"));
    assert!(text_of(&en, ".otk-empty").contains("No comments yet"));
    assert_eq!(text_of(&ru, ".otk-comments .otk-heading"), "Комментарии");
    assert!(text_of(&en, ".otk-empty").contains("Start the discussion"));
}

#[wasm_bindgen_test]
async fn posting_and_replying_appear_in_place() {
    let host = mounted(&article("post"), "ru");
    until("the thread to load", || loaded(&host)).await;

    type_into(&host, 0, "Первый комментарий\nсо второй строкой");
    click(&host, ".otk-comments .otk-form button[type=submit]");
    until("the new comment", || shown(&host).len() == 1).await;
    assert_eq!(shown(&host)[0], ("Первый комментарий\nсо второй строкой".to_owned(), "0".to_owned()));
    assert_eq!(text_of(&host, ".otk-comments .otk-heading"), "1 комментарий");
    assert!(find(&host, ".otk-empty").unwrap().has_attribute("hidden"), "the empty state goes away");
    let top_box: HtmlTextAreaElement = find(&host, ".otk-comments textarea").unwrap().unchecked_into();
    assert_eq!(top_box.value(), "", "the form is cleared after a successful send");

    // Reply: opens a form under the comment; Ctrl+Enter in it sends.
    click(&host, ".otk-comment .otk-actions button[aria-expanded]");
    until("the reply form", || {
        host.shadow_root().unwrap().query_selector_all(".otk-comments textarea").unwrap().length() == 2
    })
    .await;
    let reply_box = type_into(&host, 1, "Ответ");
    ctrl_enter(&reply_box);
    until("the reply", || shown(&host).len() == 2).await;
    assert_eq!(shown(&host)[1], ("Ответ".to_owned(), "1".to_owned()));
    assert_eq!(text_of(&host, ".otk-comments .otk-heading"), "2 комментария");

    // A fresh widget, as after a reload, shows both from the server.
    let again = mounted(&host.get_attribute("data-otklik-article").unwrap(), "ru");
    until("the reloaded thread", || shown(&again).len() == 2).await;
    assert_eq!(shown(&again), shown(&host));
}

#[wasm_bindgen_test]
async fn a_failed_send_keeps_the_text_and_the_draft_survives_a_reload() {
    let id = article("draft");
    let host = mounted(&id, "en");
    until("the thread to load", || loaded(&host)).await;

    let network = Network::writes_fail();
    type_into(&host, 0, "Do not lose me");
    click(&host, ".otk-comments .otk-form button[type=submit]");
    until("the failure message", || text_of(&host, ".otk-comments .otk-form [role=alert]").contains("No connection"))
        .await;
    let area: HtmlTextAreaElement = find(&host, ".otk-comments textarea").unwrap().unchecked_into();
    assert_eq!(area.value(), "Do not lose me");
    assert!(shown(&host).is_empty());

    let stored = web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .get_item(&format!("otklik.draft.{id}.top"))
        .unwrap();
    assert_eq!(stored.as_deref(), Some("Do not lose me"), "the draft is in localStorage");
    let reloaded = mounted(&id, "en");
    let restored =
        || find(&reloaded, ".otk-comments textarea").map(|t| t.unchecked_into::<HtmlTextAreaElement>().value());
    until("the draft to come back from localStorage", || restored().as_deref() == Some("Do not lose me")).await;

    network.restore();
    click(&reloaded, ".otk-comments .otk-form button[type=submit]");
    until("the retried send", || shown(&reloaded).len() == 1).await;
    let after: HtmlTextAreaElement = find(&reloaded, ".otk-comments textarea").unwrap().unchecked_into();
    assert_eq!(after.value(), "");
}

#[wasm_bindgen_test]
async fn empty_overlong_and_link_stuffed_texts_are_refused_before_sending() {
    let host = mounted(&article("limits"), "en");
    until("the thread to load", || loaded(&host)).await;
    let network = Network::watched();
    type_into(&host, 0, "   ");
    click(&host, ".otk-comments .otk-form button[type=submit]");
    until("the empty-text message", || {
        text_of(&host, ".otk-comments .otk-form [role=alert]").contains("Write something")
    })
    .await;
    type_into(&host, 0, &"x".repeat(4_001));
    until("the counter to show the excess", || text_of(&host, ".otk-counter") == "-1").await;
    click(&host, ".otk-comments .otk-form button[type=submit]");
    until("the too-long message", || text_of(&host, ".otk-comments .otk-form [role=alert]").contains("too long")).await;
    type_into(&host, 0, "https://a.example http://b.example www.c.example https://d.example");
    click(&host, ".otk-comments .otk-form button[type=submit]");
    until("the links message", || text_of(&host, ".otk-comments .otk-form [role=alert]").contains("three links")).await;
    // Refused before sending: no comment was ever sent, so none can appear later.
    assert!(!network.sent().iter().any(|r| r.starts_with("POST ") && r.ends_with("/comments")), "{:?}", network.sent());
    network.restore();
    assert!(shown(&host).is_empty());
}

#[wasm_bindgen_test]
async fn a_refused_flood_says_so_and_keeps_the_text() {
    // A reader of its own who has used up the test server's per-reader allowance (8 comments an hour).
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let usual = storage.get_item("otklik.reader").unwrap();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(js_sys::Date::now() as u64).to_le_bytes());
    let token = otklik_api::ReaderToken::from_bytes(bytes).encode();
    storage.set_item("otklik.reader", &token).unwrap();
    let id = article("flood");
    let api = otklik_widget::Api::new(server(), token);
    let article_id = otklik_api::ArticleId::parse(&id).unwrap();
    for i in 0..8 {
        api.post_comment(&article_id, &anonymous(format!("comment {i}"))).await.expect("within the allowance");
    }

    let host = mounted(&id, "en");
    until("the thread", || loaded(&host)).await;
    type_into(&host, 0, "One more, too soon");
    click(&host, ".otk-comments .otk-form button[type=submit]");
    until("the refusal", || text_of(&host, ".otk-comments .otk-form [role=alert]").contains("Too many in a row")).await;
    let area: HtmlTextAreaElement = find(&host, ".otk-comments textarea").unwrap().unchecked_into();
    assert_eq!(area.value(), "One more, too soon", "the text is kept");
    match usual {
        Some(t) => storage.set_item("otklik.reader", &t).unwrap(),
        None => storage.remove_item("otklik.reader").unwrap(),
    }
}

/// A full first page is drawn in two slices (see `CommentThread`); every comment arrives, once, in the
/// server's order.
#[wasm_bindgen_test]
async fn a_full_page_is_drawn_whole_and_in_order() {
    let id = article("full-page");
    let article_id = otklik_api::ArticleId::parse(&id).unwrap();
    let count = otklik_api::limits::PAGE_SIZE;
    // Several readers, each within the test server's allowance of 8 comments an hour.
    for n in 0..count {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&(js_sys::Date::now() as u64).to_le_bytes());
        bytes[8] = (n / 8) as u8 + 1;
        let api = otklik_widget::Api::new(server(), otklik_api::ReaderToken::from_bytes(bytes).encode());
        let comment = anonymous(format!("comment number {n}"));
        api.post_comment(&article_id, &comment).await.expect("within the allowance");
    }
    let api = otklik_widget::Api::new(server(), String::new());
    let page = api.comments(&article_id, Default::default(), None, None, None).await.expect("the first page");
    let expected: Vec<String> = page.comments.iter().map(|c| c.text.clone()).collect();
    assert_eq!(expected.len(), count);

    let host = mounted(&id, "en");
    until("the whole page", || shown(&host).len() >= count).await;
    let texts: Vec<String> = shown(&host).into_iter().map(|(text, _)| text).collect();
    assert_eq!(texts, expected);
}

/// What the live stream says of others' comments, as embed.js hands it on: a new one waits behind the
/// button, the list untouched until it is pressed; one taken away leaves the list at once.
#[wasm_bindgen_test]
async fn live_comments_wait_behind_the_button_and_removed_ones_leave_at_once() {
    let id = article("live-thread");
    let article_id = otklik_api::ArticleId::parse(&id).unwrap();
    let reader = |n: u8| {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&(js_sys::Date::now() as u64).to_le_bytes());
        bytes[8] = n;
        otklik_widget::Api::new(server(), otklik_api::ReaderToken::from_bytes(bytes).encode())
    };
    let first = reader(1).post_comment(&article_id, &anonymous("first".into())).await.unwrap();
    reader(2).post_comment(&article_id, &anonymous("second".into())).await.unwrap();
    let host = mounted(&id, "en");
    until("the thread", || shown(&host).len() == 2).await;
    let visible = |host: &HtmlElement| {
        let list = host.shadow_root().unwrap().query_selector_all(".otk-comment:not([hidden]) .otk-text").unwrap();
        (0..list.length()).map(|i| list.item(i).unwrap().text_content().unwrap_or_default()).collect::<Vec<_>>()
    };
    let button = |host: &HtmlElement| find(host, ".otk-new").filter(|e| !e.has_attribute("hidden"));

    let third = reader(3).post_comment(&article_id, &anonymous("third".into())).await.unwrap();
    otklik_widget::live(&id, 1, &[3.0, third.id.0 as f64]);
    until("the new-comments button", || button(&host).is_some()).await;
    assert_eq!(text_of(&host, ".otk-new button"), "1 new comment — show");
    assert_eq!(visible(&host), ["first", "second"], "nothing moved under the reader's eyes");
    assert_eq!(text_of(&host, ".otk-comments .otk-heading"), "3 comments");

    click(&host, ".otk-new button");
    until("the new comment in the list", || visible(&host).len() == 3).await;
    assert_eq!(visible(&host), ["first", "second", "third"]);
    assert!(button(&host).is_none(), "the button goes once its comments show");

    // A moderator hides the first comment.
    otklik_widget::live(&id, 2, &[first.id.0 as f64]);
    otklik_widget::live(&id, 1, &[2.0, third.id.0 as f64]);
    until("the hidden comment to leave", || visible(&host).len() == 2).await;
    assert_eq!(visible(&host), ["second", "third"]);
    assert_eq!(text_of(&host, ".otk-comments .otk-heading"), "2 comments");
    assert!(button(&host).is_none());
}

/// Whether the element matching `css` is laid out (neither it nor a parent is `display: none`).
fn displayed(host: &HtmlElement, css: &str) -> bool {
    find(host, css).is_some_and(|e| e.unchecked_into::<HtmlElement>().offset_parent().is_some())
}

/// The test server sends reply notifications: the form offers the "email me" box, whose address field
/// shows once it is ticked; an address that cannot be one is refused before sending, keeping the text; a
/// good one goes with the comment, is remembered for the next form, and the form says a confirmation may
/// come. The box itself is asked again for each comment.
#[wasm_bindgen_test]
async fn the_email_box_sends_a_checked_address_and_remembers_it() {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.remove_item("otklik.email").unwrap();
    let host = mounted(&article("notify"), "en");
    until("the thread to load", || loaded(&host)).await;
    until("the email box", || displayed(&host, ".otk-comments .otk-notify input[name=notify]")).await;
    assert_eq!(text_of(&host, ".otk-comments .otk-notify label"), " Email me when someone replies");
    assert!(!displayed(&host, ".otk-notify input[name=email]"), "no address field until the box is ticked");

    click(&host, ".otk-comments .otk-notify input[name=notify]");
    assert!(displayed(&host, ".otk-notify input[name=email]"), "the address field once it is");
    let address = find(&host, ".otk-comments .otk-notify input[name=email]").unwrap();
    type_text(&address, "reader at example");
    type_into(&host, 0, "Tell me when someone answers");
    let network = Network::watched();
    click(&host, ".otk-comments .otk-form button[type=submit]");
    let alert = || text_of(&host, ".otk-comments .otk-form [role=alert]");
    until("the bad-address message", || alert().contains("Check the email address")).await;
    assert!(network.sent().is_empty(), "refused before sending: {:?}", network.sent());
    let area: HtmlTextAreaElement = find(&host, ".otk-comments textarea").unwrap().unchecked_into();
    assert_eq!(area.value(), "Tell me when someone answers", "the text is kept");

    type_text(&address, " reader@example.org ");
    click(&host, ".otk-comments .otk-form button[type=submit]");
    until("the comment", || shown(&host).len() == 1).await;
    let sent = network.sent().iter().position(|r| r.starts_with("POST ") && r.ends_with("/comments")).unwrap();
    let body: serde_json::Value = serde_json::from_str(&network.bodies()[sent]).unwrap();
    network.restore();
    assert_eq!(body["notify_email"], "reader@example.org", "{body}");
    let asked = find(&host, ".otk-comments .otk-form p[role=status]").unwrap();
    assert!(!asked.has_attribute("hidden"));
    assert!(asked.text_content().unwrap().contains("link to confirm"));
    // An email field's value comes without surrounding spaces (the browser strips them).
    assert_eq!(storage.get_item("otklik.email").unwrap().as_deref(), Some("reader@example.org"));

    // The next form has the address, and asks again.
    let again = mounted(&article("notify-again"), "ru");
    until("the next thread", || loaded(&again)).await;
    let field = find(&again, ".otk-comments .otk-notify input[name=email]").unwrap();
    assert_eq!(field.unchecked_into::<web_sys::HtmlInputElement>().value(), "reader@example.org");
    let tick = find(&again, ".otk-comments .otk-notify input[name=notify]").unwrap();
    assert!(!tick.unchecked_into::<web_sys::HtmlInputElement>().checked());
    assert!(text_of(&again, ".otk-comments .otk-notify label").contains("Сообщать об ответах на e-mail"));
    storage.remove_item("otklik.email").unwrap();
}

/// A notification's link (`#otklik-comment-ID`) loads the thread at once, wherever the widget is on the
/// page, and marks that comment and brings it into view.
#[wasm_bindgen_test]
async fn the_comment_a_link_names_is_marked_and_brought_into_view() {
    let id = article("linked");
    let article_id = otklik_api::ArticleId::parse(&id).unwrap();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(js_sys::Date::now() as u64).to_le_bytes());
    bytes[8] = 9;
    let api = otklik_widget::Api::new(server(), otklik_api::ReaderToken::from_bytes(bytes).encode());
    // Tall comments: the last is well below the widget's top.
    let mut last = None;
    for n in 0..6 {
        let text = format!("comment {n}\n{}", "a line of its own\n".repeat(12));
        last = Some(api.post_comment(&article_id, &anonymous(text)).await.expect("within the allowance").id);
    }
    let anchor = format!("otklik-comment-{}", last.unwrap());
    let location = web_sys::window().unwrap().location();
    location.set_hash(&anchor).unwrap();
    // Far below the fold: without the link, the thread would wait for the reader to scroll there.
    let spacer: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    spacer.set_attribute("style", "height: 5000px").unwrap();
    document().body().unwrap().append_child(&spacer).unwrap();
    let host: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    host.set_attribute("data-otklik-article", &id).unwrap();
    document().body().unwrap().append_child(&host).unwrap();
    web_sys::window().unwrap().scroll_to_with_x_and_y(0.0, 0.0);
    otklik_widget::mount(&host, server());

    let linked = || find(&host, &format!("#{anchor}")).filter(|e| e.class_list().contains("otk-linked"));
    until("the linked comment to be marked", || linked().is_some()).await;
    let marked = || host.shadow_root().unwrap().query_selector_all(".otk-linked").unwrap().length();
    assert_eq!(marked(), 1, "only the linked comment is marked");
    let height = web_sys::window().unwrap().inner_height().unwrap().as_f64().unwrap();
    let in_view = || linked().is_some_and(|c| (0.0..height).contains(&c.get_bounding_client_rect().top()));
    until("the linked comment to be brought into view", in_view).await;

    // In another order the mark stays with that comment (the list's elements are reused for others).
    let order: web_sys::HtmlSelectElement = find(&host, ".otk-sort select").unwrap().unchecked_into();
    order.set_value("newest");
    order.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    until("the newest first", || shown(&host).first().is_some_and(|(text, _)| text.starts_with("comment 5"))).await;
    assert_eq!(marked(), 1, "only the linked comment is marked");
    assert!(linked().is_some(), "the mark is on the linked comment");

    location.set_hash("").unwrap();
    host.remove();
    spacer.remove();
}

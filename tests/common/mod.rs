//! Helpers shared by the widget tests: the test server, waiting, mounting and finding things in the widget.

#![allow(dead_code)]

use std::time::Duration;

use js_sys::{Function, Promise, Reflect};
use otklik_widget::mount;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, Event, EventInit, EventTarget, HtmlElement, KeyboardEvent, KeyboardEventInit};

/// The server the script started for these tests; without it the tests fail rather than skip.
pub fn server() -> &'static str {
    match option_env!("OTKLIK_TEST_SERVER") {
        Some(origin) => origin,
        None => panic!("OTKLIK_TEST_SERVER was not set when these tests were built: run `make test-widget`"),
    }
}

pub fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// Polls `check` every 20 ms for up to 5 s.
pub async fn until(what: &str, mut check: impl FnMut() -> bool) {
    poll(what, || std::future::ready(()), |()| check()).await;
}

/// Polls the server every 20 ms for up to 5 s until this page's reader sees `check` hold for `article`'s
/// reactions: a write has been stored, whatever the widget shows meanwhile.
pub async fn until_stored(article: &str, what: &str, mut check: impl FnMut(&otklik_api::ReactionsView) -> bool) {
    let api = otklik_widget::Api::new(server(), otklik_widget::reader_token());
    let article = otklik_api::ArticleId::parse(article).unwrap();
    let (api, article) = (&api, &article);
    let what = format!("the server to store {what}");
    poll(&what, move || api.reactions(article, None), |view| view.as_ref().is_ok_and(&mut check)).await;
}

/// Every 20 ms for up to 5 s: reads the state with `read`, until `done` says it is the awaited one.
async fn poll<T, F: std::future::Future<Output = T>>(
    what: &str,
    mut read: impl FnMut() -> F,
    mut done: impl FnMut(&T) -> bool,
) {
    let deadline = Duration::from_secs(5).as_millis() as i32;
    let mut waited = 0;
    while !done(&read().await) {
        assert!(waited < deadline, "timed out waiting for {what}");
        sleep(20).await;
        waited += 20;
    }
}

/// A fresh host element for `article`, mounted with the widget.
pub fn mounted(article: &str, lang: &str) -> HtmlElement {
    let host: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    host.set_attribute("data-otklik-article", article).unwrap();
    host.set_attribute("data-otklik-lang", lang).unwrap();
    document().body().unwrap().append_child(&host).unwrap();
    mount(&host, server());
    // The comment thread loads only near the viewport, as on a real page.
    host.scroll_into_view();
    host
}

pub fn find(host: &HtmlElement, css: &str) -> Option<Element> {
    host.shadow_root()?.query_selector(css).ok().flatten()
}

pub fn text_of(host: &HtmlElement, css: &str) -> String {
    find(host, css).and_then(|e| e.text_content()).unwrap_or_default()
}

pub fn click(host: &HtmlElement, css: &str) {
    find(host, css).unwrap_or_else(|| panic!("no {css}")).unchecked_into::<HtmlElement>().click();
}

/// Types `text` into `field` (a text area or an input) as a person would: the value, then an input event.
pub fn type_text(field: &Element, text: &str) {
    Reflect::set(field, &"value".into(), &text.into()).unwrap();
    let init = EventInit::new();
    init.set_bubbles(true);
    field.dispatch_event(&Event::new_with_event_init_dict("input", &init).unwrap()).unwrap();
}

/// Ctrl+Enter pressed on `target`; it bubbles and crosses shadow roots, as a real key press does.
/// Answers whether a listener took it (prevented its default): every listener has run by then.
pub fn ctrl_enter(target: &EventTarget) -> bool {
    let init = KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_ctrl_key(true);
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_cancelable(true);
    !target.dispatch_event(&KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap()).unwrap()
}

/// A unique article id per test run, so reruns against one server start from zero.
pub fn article(name: &str) -> String {
    format!("widget-{name}-{}", js_sys::Date::now() as u64)
}

/// Cuts the page's network for writes only: `fetch` rejects anything but GET, as an offline browser would.
pub struct Network {
    real: JsValue,
}

impl Network {
    pub fn writes_fail() -> Self {
        Self::replace_fetch(
            "if (input instanceof Request ? input.method !== 'GET' : (init && init.method && init.method !== 'GET')) \
             { return Promise.reject(new TypeError('Failed to fetch')); } return this.__otklikRealFetch(input, init);",
        )
    }

    /// Lets every request through, noting each as `METHOD URL` when sent ([`Network::sent`], its body in
    /// [`Network::bodies`]) and as `METHOD URL STATUS` when answered ([`Network::answers`]).
    pub fn watched() -> Self {
        let window = web_sys::window().unwrap();
        for list in ["__otklikAnswers", "__otklikSent", "__otklikBodies"] {
            Reflect::set(&window, &list.into(), &js_sys::Array::new()).unwrap();
        }
        Self::replace_fetch(
            "const method = input instanceof Request ? input.method : ((init && init.method) || 'GET'); \
             this.__otklikSent.push(method + ' ' + (input instanceof Request ? input.url : String(input))); \
             this.__otklikBodies.push(init && typeof init.body === 'string' ? init.body : ''); \
             const answer = this.__otklikRealFetch(input, init); \
             answer.then(r => this.__otklikAnswers.push(method + ' ' + r.url + ' ' + r.status), () => {}); \
             return answer;",
        )
    }

    /// Puts `body` (a function of `input, init`, with the page's own fetch as `this.__otklikRealFetch`) in
    /// the place of `window.fetch` until [`Network::restore`].
    fn replace_fetch(body: &str) -> Self {
        let window = web_sys::window().unwrap();
        let real = Reflect::get(&window, &"fetch".into()).unwrap();
        Reflect::set(&window, &"__otklikRealFetch".into(), &real).unwrap();
        let replacement = Function::new_with_args("input, init", body);
        Reflect::set(&window, &"fetch".into(), &replacement.bind0(&window)).unwrap();
        Self { real }
    }

    /// The answers noted since [`Network::watched`].
    pub fn answers(&self) -> Vec<String> {
        Self::noted("__otklikAnswers")
    }

    /// The requests sent since [`Network::watched`], answered or not.
    pub fn sent(&self) -> Vec<String> {
        Self::noted("__otklikSent")
    }

    /// The text bodies of [`Network::sent`]'s requests, in the same order (empty for none).
    pub fn bodies(&self) -> Vec<String> {
        Self::noted("__otklikBodies")
    }

    fn noted(list: &str) -> Vec<String> {
        let noted = Reflect::get(&web_sys::window().unwrap(), &list.into()).unwrap();
        noted.unchecked_into::<js_sys::Array>().iter().filter_map(|a| a.as_string()).collect()
    }

    pub fn restore(self) {
        Reflect::set(&web_sys::window().unwrap(), &"fetch".into(), &self.real).unwrap();
    }
}

//! The otklik widget: mounts the reader-interaction block into every `[data-otklik-article]` element.
//!
//! `/embed.js` loads this module and calls [`mount_all`] with the server's origin (and [`mount`] and
//! [`unmount`] for `window.otklik`). Each host element gets an open shadow root with the widget's stylesheet
//! adopted into it, so the page's CSS and ours cannot reach each other.

mod api;
mod chunks;
mod components;
mod i18n;
mod json;
mod linkify;
mod live;
mod page;
mod reader;
mod storage;
mod thread;
mod typo;
mod visibility;

use otklik_api::ArticleId;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ShadowRootInit, ShadowRootMode};

pub use api::Api;
pub use i18n::{
    Lang, Unit, absolute_time, ago_text, comments_count, format_count, more_replies, new_comments, reactions_noun,
};
pub use live::live;
pub use reader::reader_token;

// Minified by build.rs.
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/widget.css"));

/// Ctrl+Enter, or ⌘+Enter on macOS: "send" in the comment box and the typo dialog, "report" over a selection.
pub(crate) fn is_ctrl_enter(ev: &web_sys::KeyboardEvent) -> bool {
    ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key())
}

/// Everything one mounted widget needs to know, read from its host element.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub article: ArticleId,
    pub lang: Lang,
    pub origin: String,
    pub host: HtmlElement,
    /// `data-otklik-typo-scope`: a CSS selector for the text whose typos this widget takes.
    pub typo_scope: Option<String>,
    pub parts: Parts,
}

/// Which parts to show: `data-otklik-parts="reactions comments typos"` (all when absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    pub reactions: bool,
    pub comments: bool,
    pub typos: bool,
}

impl Parts {
    pub fn parse(raw: Option<&str>) -> Self {
        match raw.map(str::trim).filter(|r| !r.is_empty()) {
            None => Self { reactions: true, comments: true, typos: true },
            Some(list) => {
                let has = |name: &str| list.split([' ', ',']).any(|p| p.eq_ignore_ascii_case(name));
                Self { reactions: has("reactions"), comments: has("comments"), typos: has("typos") }
            }
        }
    }
}

thread_local! {
    /// The widgets mounted on this page: dropping a handle takes its widget down.
    static MOUNTED: std::cell::RefCell<Vec<(HtmlElement, Box<dyn std::any::Any>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// One stylesheet object shared by every widget's shadow root.
    static SHEET: Option<web_sys::CssStyleSheet> = web_sys::CssStyleSheet::new().ok().inspect(|s| {
        let _ = s.replace_sync(STYLE);
    });
}

/// Mounts a widget into each `[data-otklik-article]` element on the page that has none yet.
#[wasm_bindgen]
pub fn mount_all(origin: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(hosts) = doc.query_selector_all("[data-otklik-article]") else {
        return;
    };
    for i in 0..hosts.length() {
        if let Some(host) = hosts.item(i).and_then(|n| n.dyn_into::<HtmlElement>().ok()) {
            mount(&host, origin);
        }
    }
}

/// Mounts a widget into `host`, talking to the otklik server at `origin`. Mounting twice is harmless.
#[wasm_bindgen]
pub fn mount(host: &HtmlElement, origin: &str) {
    if MOUNTED.with_borrow(|m| m.iter().any(|(h, _)| h == host)) {
        return;
    }
    let raw = host.get_attribute("data-otklik-article").unwrap_or_default();
    let article = match ArticleId::parse(raw.trim()) {
        Ok(id) => id,
        Err(e) => {
            web_sys::console::error_1(&format!("otklik: data-otklik-article=\"{raw}\": {e}").into());
            return;
        }
    };
    let config = Config {
        article,
        lang: Lang::for_host(host),
        origin: origin.trim_end_matches('/').to_owned(),
        host: host.clone(),
        typo_scope: host.get_attribute("data-otklik-typo-scope").filter(|s| !s.trim().is_empty()),
        parts: Parts::parse(host.get_attribute("data-otklik-parts").as_deref()),
    };
    // A host keeps its shadow root after an unmount (they cannot be removed): mounting again reuses it.
    let Some(shadow) =
        host.shadow_root().or_else(|| host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open)).ok())
    else {
        return;
    };
    // A constructed stylesheet, unlike a <style> element, is allowed under a strict CSP without
    // 'unsafe-inline', and one object serves every widget on the page.
    let Some(doc) = host.owner_document() else {
        return;
    };
    match SHEET.with(Clone::clone) {
        Some(sheet) => shadow.set_adopted_style_sheets(&js_sys::Array::of1(&sheet)),
        // Browsers without constructable stylesheets (Safari before 16.4) get a <style> element instead.
        None => {
            if let Ok(style) = doc.create_element("style") {
                style.set_text_content(Some(STYLE));
                let _ = shadow.append_child(&style);
            }
        }
    }
    let Ok(root) = doc.create_element("div") else {
        return;
    };
    let _ = shadow.append_child(&root);
    let Ok(root) = root.dyn_into::<HtmlElement>() else {
        return;
    };
    let handle =
        leptos::mount::mount_to(root, move || components::widget::Widget(components::widget::WidgetProps { config }));
    MOUNTED.with_borrow_mut(|m| m.push((host.clone(), Box::new(handle))));
}

/// Takes the widget in `host` down: its view, its listeners and its state. Harmless if there is none.
#[wasm_bindgen]
pub fn unmount(host: &HtmlElement) {
    let handle = MOUNTED.with_borrow_mut(|m| m.iter().position(|(h, _)| h == host).map(|i| m.remove(i)));
    if handle.is_some() {
        typo::unregister(host);
        drop(handle);
        if let Some(shadow) = host.shadow_root() {
            shadow.set_inner_html("");
        }
    }
}

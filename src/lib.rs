//! The otklik widget: mounts the reader-interaction block into every `[data-otklik-article]` element.
//!
//! `/embed.js` loads this module and calls [`mount_all`] with the server's origin. Each host element gets
//! an open shadow root holding the widget's stylesheet, so the page's CSS and ours cannot reach each other.

mod api;
mod components;
mod i18n;
mod json;
mod linkify;
mod reader;
mod storage;
mod typo;

use otklik_api::ArticleId;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ShadowRootInit, ShadowRootMode};

pub use api::Api;
pub use i18n::{Lang, comments_count, format_count, more_replies, reactions_noun};
pub use reader::reader_token;

const STYLE: &str = include_str!("../style/widget.css");

/// Everything one mounted widget needs to know, read from its host element.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub article: ArticleId,
    pub lang: Lang,
    pub origin: String,
    pub host: HtmlElement,
    /// `data-otklik-typo-scope`: a CSS selector for the text whose typos this widget takes.
    pub typo_scope: Option<String>,
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
    if host.shadow_root().is_some() {
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
    let typo_scope = host.get_attribute("data-otklik-typo-scope").filter(|s| !s.trim().is_empty());
    let config = Config {
        article,
        lang: Lang::for_host(host),
        origin: origin.trim_end_matches('/').to_owned(),
        host: host.clone(),
        typo_scope,
    };
    let Ok(shadow) = host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open)) else {
        return;
    };
    let Some(doc) = host.owner_document() else {
        return;
    };
    let (Ok(style), Ok(root)) = (doc.create_element("style"), doc.create_element("div")) else {
        return;
    };
    style.set_text_content(Some(STYLE));
    let _ = shadow.append_child(&style);
    let _ = shadow.append_child(&root);
    let Ok(root) = root.dyn_into::<HtmlElement>() else {
        return;
    };
    leptos::mount::mount_to(root, move || components::widget::Widget(components::widget::WidgetProps { config }))
        .forget();
}

//! What the embedding page says about itself, sent with comments and typo reports so that editors can
//! find the article, and which comment its address points at.

use otklik_api::PageInfo;

/// The comment anchor the page's address names (`#otklik-comment-ID`, the link in a notification).
pub fn linked_anchor() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    hash.starts_with("#otklik-comment-").then(|| hash[1..].to_owned())
}

/// Brings the element with id `anchor` into view, in whichever widget on the page shows it: each has its
/// own shadow root, which the page's own anchor navigation does not enter.
pub fn show_anchor(anchor: &str) {
    use wasm_bindgen::JsCast as _;
    let Some(hosts) = web_sys::window().and_then(|w| w.document()?.query_selector_all("[data-otklik-article]").ok())
    else {
        return;
    };
    for i in 0..hosts.length() {
        let host = hosts.item(i).and_then(|h| h.dyn_into::<web_sys::Element>().ok());
        if let Some(comment) = host.and_then(|h| h.shadow_root()).and_then(|root| root.get_element_by_id(anchor)) {
            comment.scroll_into_view();
        }
    }
}

/// What the page says about itself: its canonical URL and title.
pub fn page_info() -> PageInfo {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return PageInfo::default() };
    let canonical = doc.query_selector("link[rel=canonical]").ok().flatten().and_then(|l| l.get_attribute("href"));
    let url = canonical
        .or_else(|| doc.location().and_then(|l| l.href().ok()))
        .map(|u| u.split('#').next().unwrap_or("").to_owned());
    PageInfo { url, title: Some(doc.title()).filter(|t| !t.is_empty()) }
}

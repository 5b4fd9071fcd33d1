//! What the embedding page says about itself, sent with comments and typo reports so that editors can
//! find the article.

use otklik_api::PageInfo;

/// What the page says about itself: its canonical URL and title.
pub fn page_info() -> PageInfo {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return PageInfo::default() };
    let canonical = doc.query_selector("link[rel=canonical]").ok().flatten().and_then(|l| l.get_attribute("href"));
    let url = canonical
        .or_else(|| doc.location().and_then(|l| l.href().ok()))
        .map(|u| u.split('#').next().unwrap_or("").to_owned());
    PageInfo { url, title: Some(doc.title()).filter(|t| !t.is_empty()) }
}

//! Deferring work until the reader is about to see it, so a page's first load does not pay for the parts
//! below the fold.

use wasm_bindgen::prelude::*;
use web_sys::{Element, IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit};

/// How far ahead of the viewport to start: a comment thread should be ready by the time it scrolls in.
const AHEAD: &str = "800px 0px";

/// Calls `f` once, when `el` comes within [`AHEAD`] of the viewport (at once if `now`, or without
/// IntersectionObserver).
pub fn when_near(el: &Element, now: bool, f: impl FnOnce() + 'static) {
    let pending = std::rc::Rc::new(std::cell::Cell::new(Some(f)));
    let run = pending.clone();
    let callback = Closure::<dyn FnMut(js_sys::Array, IntersectionObserver)>::new(
        move |entries: js_sys::Array, observer: IntersectionObserver| {
            let near = entries.iter().any(|e| e.unchecked_into::<IntersectionObserverEntry>().is_intersecting());
            if near && let Some(f) = run.take() {
                observer.disconnect();
                f();
            }
        },
    );
    let init = IntersectionObserverInit::new();
    init.set_root_margin(AHEAD);
    match IntersectionObserver::new_with_options(callback.as_ref().unchecked_ref(), &init).ok().filter(|_| !now) {
        Some(observer) => {
            observer.observe(el);
            // The observer holds the callback from now on; it is dropped with the page.
            callback.forget();
        }
        None => {
            if let Some(f) = pending.take() {
                f();
            }
        }
    }
}

/// Resolves in a later task of the browser's event loop, so that a long piece of drawing can be cut where
/// the browser may paint and answer input in between (a long task on a slow phone is a page that does not
/// respond to a tap).
pub async fn next_task() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback(&resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

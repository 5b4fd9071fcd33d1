//! The reader's anonymous token: created once, kept in localStorage, sent with every request.

use std::cell::RefCell;

use otklik_api::ReaderToken;

use crate::storage;

const KEY: &str = "otklik.reader";

thread_local! {
    // Where storage is blocked (some private modes, sandboxed frames) the token lives as long as the page.
    static PAGE_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// This browser's reader token (base64url), creating and storing it on first use.
pub fn reader_token() -> String {
    if let Some(stored) = storage::load(KEY).filter(|t| ReaderToken::parse(t).is_ok()) {
        return stored;
    }
    PAGE_TOKEN.with_borrow_mut(|page| {
        page.get_or_insert_with(|| {
            let token = fresh_token().encode();
            storage::save(KEY, &token);
            token
        })
        .clone()
    })
}

fn fresh_token() -> ReaderToken {
    let mut bytes = [0u8; 16];
    let crypto = web_sys::window().and_then(|w| w.crypto().ok());
    if crypto.is_none_or(|c| c.get_random_values_with_u8_array(&mut bytes).is_err()) {
        // Every browser that runs wasm has Web Crypto; this only guards against a broken environment.
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    ReaderToken::from_bytes(bytes)
}

//! A stand-in for `wasm-streams` in the widget's build: Leptos's client-side rendering pulls in
//! `server_fn`, whose browser client converts request and response bodies to and from JavaScript streams
//! with this crate. The widget calls no server function, so those conversions never run, yet the real
//! crate's JavaScript bindings are linked into every bundle (about 3 KB gzip). This crate keeps the names
//! `server_fn` uses and gives them the one honest behaviour without that machinery: a stream converted
//! here carries nothing. Patched in for the whole workspace by `[patch.crates-io]` in `Cargo.toml`.

use futures_util::Stream;
use wasm_bindgen::JsValue;

/// A JavaScript `ReadableStream`, as far as `server_fn` needs one.
#[derive(Debug)]
pub struct ReadableStream {
    raw: web_sys::ReadableStream,
}

impl ReadableStream {
    pub fn from_raw(raw: web_sys::ReadableStream) -> Self {
        Self { raw }
    }

    /// An empty stream: a Rust stream is not carried over into JavaScript in this build.
    pub fn from_stream<St>(_stream: St) -> Self
    where
        St: Stream<Item = Result<JsValue, JsValue>> + 'static,
    {
        let raw = web_sys::ReadableStream::new().unwrap_or_else(|_| JsValue::UNDEFINED.into());
        Self { raw }
    }

    pub fn into_raw(self) -> web_sys::ReadableStream {
        self.raw
    }

    /// An empty stream: the JavaScript stream is not read in this build.
    pub fn into_stream(self) -> impl Stream<Item = Result<JsValue, JsValue>> + Unpin + 'static {
        futures_util::stream::empty()
    }
}

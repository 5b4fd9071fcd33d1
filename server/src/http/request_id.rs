//! Request ids: each request gets one, sent back as `X-Request-Id`, carried by its log lines and by the
//! body of a server error, so that a reader's screenshot or an integrator's report leads to the log line.
//!
//! The id is made here, never taken from the request: a client could otherwise write what it likes into
//! the logs, or make two requests look like one.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of a request, in its extensions (and, while it is handled, [`current`]).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// 16 hex digits: 64 random bits, unique enough among a site's requests and short enough to read out.
fn fresh() -> String {
    let mut bytes = [0u8; 8];
    // Without randomness (which does not happen on the systems otklik runs on) the id is still a valid one.
    let _ = getrandom::fill(&mut bytes);
    crate::hex::encode(&bytes)
}

/// The outermost layer: gives the request its id and answers with it.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = RequestId(fresh());
    request.extensions_mut().insert(id.clone());
    let header = HeaderValue::from_str(&id.0).expect("hex is a valid header value");
    let mut response = CURRENT.scope(id, next.run(request)).await;
    response.headers_mut().insert(HEADER, header);
    response
}

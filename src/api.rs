//! The only place the widget does HTTP: typed calls to the otklik JSON API.

use gloo_net::http::{Request, RequestBuilder, Response};
use otklik_api::{API_PREFIX, ArticleId, ErrorBody, READER_HEADER, ReactionKind, ReactionsView, SetReaction};
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::json::from_js;

/// Why a call failed, in the terms the widget shows to a reader.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// The request never got an answer: offline, DNS, CORS, server down.
    Network,
    /// The server answered with an error status (and, normally, the API's error body).
    Status { status: u16, body: Option<ErrorBody> },
    /// The server answered 2xx with a body this widget cannot read (version skew, proxy page).
    BadResponse,
}

/// A client for one otklik server, acting as one reader.
#[derive(Clone, Debug)]
pub struct Api {
    base: String,
    reader: String,
}

impl Api {
    pub fn new(origin: &str, reader: String) -> Self {
        Self { base: format!("{origin}{API_PREFIX}"), reader }
    }

    pub async fn reactions(&self, article: &ArticleId) -> Result<ReactionsView, ApiError> {
        self.send(Request::get(&self.reactions_url(article, ""))).await
    }

    /// Sets (`Some`) or clears (`None`) this reader's reaction.
    pub async fn set_reaction(
        &self,
        article: &ArticleId,
        kind: Option<ReactionKind>,
    ) -> Result<ReactionsView, ApiError> {
        let url = self.reactions_url(article, "/mine");
        match kind {
            Some(kind) => {
                let body = serde_json::to_string(&SetReaction { kind }).map_err(|_| ApiError::BadResponse)?;
                let request =
                    Request::put(&url).header(READER_HEADER, &self.reader).header("Content-Type", "application/json");
                decode(
                    request
                        .body(body)
                        .map_err(|_| ApiError::BadResponse)?
                        .send()
                        .await
                        .map_err(|_| ApiError::Network)?,
                )
                .await
            }
            None => self.send(Request::delete(&url)).await,
        }
    }

    fn reactions_url(&self, article: &ArticleId, rest: &str) -> String {
        // Article ids are restricted to URL-safe characters, so they need no escaping.
        format!("{}/articles/{article}/reactions{rest}", self.base)
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ApiError> {
        decode(request.header(READER_HEADER, &self.reader).send().await.map_err(|_| ApiError::Network)?).await
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let (ok, status) = (response.ok(), response.status());
    let body = parsed(response.into()).await;
    if ok {
        body.and_then(|b| from_js(b).ok()).ok_or(ApiError::BadResponse)
    } else {
        Err(ApiError::Status { status, body: body.and_then(|b| from_js(b).ok()) })
    }
}

/// The body as parsed by the browser's JSON parser, if it is JSON at all.
async fn parsed(response: web_sys::Response) -> Option<JsValue> {
    JsFuture::from(response.json().ok()?).await.ok()
}

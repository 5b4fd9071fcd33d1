//! The only place the widget does HTTP: typed calls to the otklik JSON API.

use otklik_api::{
    API_PREFIX, ArticleId, Comment, CommentId, CommentPage, CommentSort, EditComment, ErrorCode, LikeView, NewComment,
    NewTypo, READER_HEADER, ReactionKind, ReactionsView, SetReaction, TypoId, TypoReceipt,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

use crate::json::from_js;

/// Why a call failed, in the terms the widget shows to a reader.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// The request never got an answer: offline, DNS, CORS, server down.
    Network,
    /// The server answered with an error status, and (normally) the API's error body with its code.
    Status { status: u16, code: Option<ErrorCode> },
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

    /// The article's reactions and this reader's own. `early` is the request embed.js started before the
    /// bundle arrived (see [`Api::early_reactions`]); without it, or if it failed, one is sent now. Either
    /// way it is a POST whose text/plain body is the reader's token: a request browsers send without a
    /// CORS preflight, so the first paint waits for one round trip instead of two.
    pub async fn reactions(
        &self,
        article: &ArticleId,
        early: Option<js_sys::Promise>,
    ) -> Result<ReactionsView, ApiError> {
        let early = match early {
            Some(request) => answer(request).await,
            None => None,
        };
        let response = match early.filter(Response::ok) {
            Some(response) => response,
            None => answer(self.view(&self.reactions_url(article, "/view"))).await.ok_or(ApiError::Network)?,
        };
        decode_with(response, reactions_view).await
    }

    /// Takes the reactions request embed.js left on `host` (`host.otklikReactions`), once.
    pub fn early_reactions(host: &web_sys::HtmlElement) -> Option<js_sys::Promise> {
        let key = JsValue::from_str("otklikReactions");
        let early = js_sys::Reflect::get(host, &key).ok()?.dyn_into().ok();
        let _ = js_sys::Reflect::delete_property(host, &key);
        early
    }

    /// Sets (`Some`) or clears (`None`) this reader's reaction.
    pub async fn set_reaction(
        &self,
        article: &ArticleId,
        kind: Option<ReactionKind>,
    ) -> Result<ReactionsView, ApiError> {
        let url = self.reactions_url(article, "/mine");
        let body = kind.map(|kind| serde_json::to_string(&SetReaction { kind }).unwrap_or_default());
        let method = if kind.is_some() { "PUT" } else { "DELETE" };
        decode_with(self.fetch(method, &url, body).await?, reactions_view).await
    }

    /// A page of the thread; with `root`, the replies under that top-level comment. `started` is that same
    /// request begun earlier by [`Api::start_comments`] (the thread's data travels beside its code); without
    /// it, or if it failed to get an answer, one is sent now. A POST naming the reader in a text/plain body,
    /// like the reactions: no CORS preflight.
    pub async fn comments(
        &self,
        article: &ArticleId,
        sort: CommentSort,
        root: Option<CommentId>,
        cursor: Option<&str>,
        started: Option<js_sys::Promise>,
    ) -> Result<CommentPage, ApiError> {
        let started = match started {
            Some(request) => answer(request).await,
            None => None,
        };
        let response = match started {
            Some(response) => response,
            None => answer(self.start_comments(article, sort, root, cursor)).await.ok_or(ApiError::Network)?,
        };
        decode(response).await
    }

    /// Sends the request for a page of the thread now; [`Api::comments`] reads its answer.
    pub fn start_comments(
        &self,
        article: &ArticleId,
        sort: CommentSort,
        root: Option<CommentId>,
        cursor: Option<&str>,
    ) -> js_sys::Promise {
        // Cursors are made of digits, letters, '.' and '/', all safe in a query string.
        let mut url = format!("{}?sort={}", self.comments_url(article, "/view"), sort.as_str());
        if let Some(root) = root {
            url.push_str(&format!("&root={root}&limit=100"));
        }
        if let Some(cursor) = cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        self.view(&url)
    }

    /// Sends a read as the widget sends them: a POST whose text/plain body is the reader's token.
    fn view(&self, url: &str) -> js_sys::Promise {
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&self.reader));
        match web_sys::window() {
            Some(window) => window.fetch_with_str_and_init(url, &init),
            None => js_sys::Promise::reject(&JsValue::NULL),
        }
    }

    pub async fn post_comment(&self, article: &ArticleId, comment: &NewComment) -> Result<Comment, ApiError> {
        self.send_json("POST", &self.comments_url(article, ""), comment).await
    }

    pub async fn edit_comment(&self, article: &ArticleId, id: CommentId, text: String) -> Result<Comment, ApiError> {
        self.send_json("PATCH", &self.comments_url(article, &format!("/{id}")), &EditComment { text }).await
    }

    /// Deletes the reader's own comment, or (`flag`) flags someone's for the moderators, once per reader.
    /// One call for both: each distinct future costs the bundle its own copy of the state machine.
    pub async fn delete_or_flag(&self, article: &ArticleId, id: CommentId, flag: bool) -> Result<(), ApiError> {
        let (method, rest) = if flag { ("PUT", "/flag") } else { ("DELETE", "") };
        let response = self.fetch(method, &self.comments_url(article, &format!("/{id}{rest}")), None).await?;
        if response.ok() { Ok(()) } else { decode::<()>(response).await }
    }

    pub async fn like_comment(&self, article: &ArticleId, id: CommentId, like: bool) -> Result<LikeView, ApiError> {
        let url = self.comments_url(article, &format!("/{id}/like"));
        let read = |b: JsValue| Some(LikeView { likes: number(&b, "likes")?, liked: field(&b, "liked")?.as_bool()? });
        decode_with(self.fetch(if like { "PUT" } else { "DELETE" }, &url, None).await?, read).await
    }

    pub async fn report_typo(&self, article: &ArticleId, typo: &NewTypo) -> Result<TypoReceipt, ApiError> {
        let url = format!("{}/articles/{article}/typos", self.base);
        let body = serde_json::to_string(typo).map_err(|_| ApiError::BadResponse)?;
        let read = |b: JsValue| {
            let (id, reports) = (number(&b, "id")? as i64, number(&b, "reports")?);
            Some(TypoReceipt { id: TypoId(id), reports, merged: field(&b, "merged")?.as_bool()? })
        };
        decode_with(self.fetch("POST", &url, Some(body)).await?, read).await
    }

    fn comments_url(&self, article: &ArticleId, rest: &str) -> String {
        format!("{}/articles/{article}/comments{rest}", self.base)
    }

    async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        url: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let body = serde_json::to_string(body).map_err(|_| ApiError::BadResponse)?;
        self.send(method, url, Some(body)).await
    }

    fn reactions_url(&self, article: &ArticleId, rest: &str) -> String {
        // Article ids are restricted to URL-safe characters, so they need no escaping.
        format!("{}/articles/{article}/reactions{rest}", self.base)
    }

    async fn send<T: DeserializeOwned>(&self, method: &str, url: &str, body: Option<String>) -> Result<T, ApiError> {
        decode(self.fetch(method, url, body).await?).await
    }

    /// One request with the reader's header (and a JSON body), through the browser's `fetch`.
    async fn fetch(&self, method: &str, url: &str, body: Option<String>) -> Result<Response, ApiError> {
        let headers = web_sys::Headers::new().map_err(|_| ApiError::Network)?;
        let _ = headers.set(READER_HEADER, &self.reader);
        let init = RequestInit::new();
        init.set_method(method);
        if let Some(body) = body {
            let _ = headers.set("Content-Type", "application/json");
            init.set_body(&JsValue::from_str(&body));
        }
        init.set_headers(&headers);
        request(url, &init).await
    }
}

/// The answer to a request already sent (a `fetch` promise), if it got one.
async fn answer(request: js_sys::Promise) -> Option<Response> {
    JsFuture::from(request).await.ok().and_then(|r| r.dyn_into().ok())
}

/// One request through the browser's `fetch`.
async fn request(url: &str, init: &RequestInit) -> Result<Response, ApiError> {
    let window = web_sys::window().ok_or(ApiError::Network)?;
    let response = JsFuture::from(window.fetch_with_str_and_init(url, init)).await.map_err(|_| ApiError::Network)?;
    response.dyn_into().map_err(|_| ApiError::Network)
}

impl ApiError {
    /// The API's error code, when the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Status { code, .. } => *code,
            _ => None,
        }
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    decode_with(response, |body| from_js(body).ok()).await
}

/// A `ReactionsView` read field by field. The small answers (this one, `LikeView`, `TypoReceipt`) are read
/// so rather than by serde's derived decoding, which costs the bundle more for each type; this one alone
/// keeps serde out of the first load.
fn reactions_view(body: JsValue) -> Option<ReactionsView> {
    let counts = field(&body, "counts")?;
    let mut view = ReactionsView::default();
    for kind in ReactionKind::ALL {
        view.counts.set(kind, number(&counts, kind.as_str())?);
    }
    view.mine = field(&body, "mine")?.as_string().and_then(|mine| mine.parse().ok());
    Some(view)
}

fn field(object: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(object, &JsValue::from_str(key)).ok()
}

fn number(object: &JsValue, key: &str) -> Option<u64> {
    Some(field(object, key)?.as_f64()? as u64)
}

async fn decode_with<T>(response: Response, read: fn(JsValue) -> Option<T>) -> Result<T, ApiError> {
    let (ok, status) = (response.ok(), response.status());
    let body = parsed(response).await;
    if ok {
        body.and_then(read).ok_or(ApiError::BadResponse)
    } else {
        // Only the code of the error body (`{"error": {"code", "message"}}`, `ErrorBody`) is read: the
        // widget words every failure itself, and decoding the whole body would cost the bundle its code.
        let code = body
            .and_then(|b| js_sys::Reflect::get(&b, &"error".into()).ok())
            .and_then(|e| js_sys::Reflect::get(&e, &"code".into()).ok())
            .and_then(|c| from_js(c).ok());
        Err(ApiError::Status { status, code })
    }
}

/// The body as parsed by the browser's JSON parser, if it is JSON at all.
async fn parsed(response: web_sys::Response) -> Option<JsValue> {
    JsFuture::from(response.json().ok()?).await.ok()
}

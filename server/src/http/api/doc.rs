//! The API's OpenAPI description: the parameters many routes share, and what every operation may answer.
//!
//! Each handler describes itself (`#[utoipa::path]`) and is routed by that description (`routes!`), so a
//! route and its description cannot part; this module adds what is the same everywhere and serves the
//! whole at `/api/v1/openapi.json` (`otklik openapi` prints it).

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::IntoParams;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr, ResponseBuilder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// The security scheme of the editors' routes.
pub const EDITOR: &str = "editor_token";

/// `{article}`: an article id, as the publisher's page names it.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the description only
pub struct ArticlePath {
    /// The article's id: 1 to 128 of the letters A-Z a-z, digits and `. _ : -`.
    #[param(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._:-]{1,128}$")]
    article: String,
}

/// `{article}/…/{id}`: a comment under an article.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct CommentPath {
    /// The article's id: 1 to 128 of the letters A-Z a-z, digits and `. _ : -`.
    #[param(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._:-]{1,128}$")]
    article: String,
    /// The comment's id.
    id: i64,
}

/// `{id}`: what an editors' route acts on (a comment, a typo report, a ban).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct IdPath {
    id: i64,
}

/// The reader, for a read that shows them their own (`mine`, `liked`, a pending comment).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct MaybeReaderHeader {
    /// The reader's anonymous token: 128 random bits as 22 base64url or 32 hex characters, made by the
    /// widget and kept in the reader's browser. The server keeps only a keyed hash of it.
    #[param(rename = "X-Otklik-Reader", pattern = "^([A-Za-z0-9_-]{21}[AQgw]|[0-9A-Fa-f]{32})$")]
    reader: Option<String>,
}

/// The reader, for a write.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct ReaderHeader {
    /// The reader's anonymous token: 128 random bits as 22 base64url or 32 hex characters, made by the
    /// widget and kept in the reader's browser. The server keeps only a keyed hash of it.
    #[param(rename = "X-Otklik-Reader", pattern = "^([A-Za-z0-9_-]{21}[AQgw]|[0-9A-Fa-f]{32})$")]
    reader: String,
}

// The query parameters' schemas. An empty value (`?limit=`) means the same as none, as an HTML form sends
// it, so each admits the empty string beside its values.

/// `limit`: 1 to 100.
pub fn limit() -> Schema {
    number_or_empty(Some(1), Some(100))
}

/// An id to page from (`before`, `cursor`, `root`).
pub fn id() -> Schema {
    number_or_empty(None, None)
}

/// `sort` of a thread.
pub fn sort() -> Schema {
    word_or_empty(&otklik_api::CommentSort::ALL.map(otklik_api::CommentSort::as_str))
}

/// `queue` of the moderation list.
pub fn queue() -> Schema {
    word_or_empty(&otklik_api::Queue::ALL.map(otklik_api::Queue::as_str))
}

/// `status` of the typo reports' list.
pub fn typo_status() -> Schema {
    word_or_empty(&["new", "fixed", "rejected", "all"])
}

fn number_or_empty(min: Option<i64>, max: Option<i64>) -> Schema {
    let number = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(min)
        .maximum(max);
    AnyOfBuilder::new().item(number).item(ObjectBuilder::new().schema_type(Type::String).enum_values(Some([""]))).into()
}

fn word_or_empty(words: &[&str]) -> Schema {
    let values = std::iter::once("").chain(words.iter().copied());
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).into()
}

/// Every documented route, with its handler, relative to `/api/v1` (see `api::routes`); and `/healthz`.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .nest(otklik_api::API_PREFIX, super::routes().routes(routes!(openapi)))
        // `/healthz` lives outside the prefix, for load balancers.
        .merge(super::health::router())
}

/// The description, built once: from the routes themselves, plus what every operation shares.
pub fn description() -> &'static str {
    static DOC: LazyLock<String> = LazyLock::new(|| {
        let doc = complete(routes().into_openapi());
        serde_json::to_string_pretty(&doc).expect("the description serialises")
    });
    &DOC
}

/// The description of this API, generated from the server's own routes.
#[utoipa::path(get, operation_id = "getOpenapi", path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This description (OpenAPI 3.1)", content_type = "application/json")))]
pub(super) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], description())
}

fn complete(mut doc: OpenApi) -> OpenApi {
    doc.info.title = "otklik".to_owned();
    doc.info.description = Some(
        "Reactions, comments and typo reports under articles; and the editors' moderation API under `/admin`. \
         Every error answers with one body, `{\"error\": {\"code\", \"message\"}}`: `code` is for programs, \
         `message` for people; a server error adds `request_id`, the `X-Request-Id` of its request."
            .to_owned(),
    );
    doc.info.license = None;
    doc.info.contact = None;
    let components = doc.components.get_or_insert_with(Default::default);
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some("The editors' token, `OTKLIK_ADMIN_TOKEN`"))
        .build();
    components.add_security_scheme(EDITOR, SecurityScheme::Http(bearer));
    for item in doc.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            shared_errors(op);
        }
    }
    doc
}

/// The answers many operations share, added to each that can give them, so none is forgotten: a body's
/// size and type, the editors' token, and the server's own faults.
fn shared_errors(op: &mut Operation) {
    let error = |description: &str| {
        let body = RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody"));
        let content = ContentBuilder::new().schema(Some(body)).build();
        RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
    };
    let body = match &op.request_body {
        Some(RefOr::T(body)) => body.content.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let editors = op.security.is_some();
    let responses = &mut op.responses.responses;
    let mut add = |status: &str, description: &str| {
        responses.entry(status.to_owned()).or_insert_with(|| error(description));
    };
    if !body.is_empty() {
        add("413", "`payload_too_large`: the body is over this route's limit");
    }
    if body.iter().any(|t| t == "application/json") {
        add("415", "`unsupported_media_type`: the body must be sent as `application/json`");
    }
    if editors {
        add("401", "`unauthorized`: no valid editors' token");
        add("404", "`not_found`: the editors' API is off (no token and no moderator account)");
    }
    add("500", "`internal`: a fault on the server; the body names the request's id");
    add(
        "503",
        "`unavailable`: the database cannot answer now (overload, an outage, a read that took too long); nothing \
         was stored, try again",
    );
}

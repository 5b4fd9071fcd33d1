//! `/articles/{article}/comments`: the thread, posting, editing and deleting one's own, and likes.

use axum::Json as JsonBody;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use otklik_api::limits::{AUTHOR_MAX, COMMENT_BODY_MAX, COMMENT_LINKS_MAX, COMMENT_TEXT_MAX};
use otklik_api::{
    Comment, CommentId, CommentPage, CommentSort, EditComment, ErrorBody, ErrorCode, InvalidText, LikeView, NewComment,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::api::doc::{ArticlePath, CommentPath, MaybeReaderHeader, ReaderHeader};
use crate::http::api::{clean_page, limited, refused};
use crate::http::client_ip::{ClientIp, ClientIpHash};
use crate::http::error::AppError;
use crate::http::extract::{Article, Json, Limit, MaybeReader, Query, Reader, Text, named, parsed};
use crate::rules::compose;
use crate::rules::guard;
use crate::rules::posting::{self, NewPost, PostError};
use crate::rules::rate_limit::LimitKind;
use crate::store::{CommentError, CommentQuery, Cursor};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(view))
        .routes(routes!(edit, remove))
        .routes(routes!(like, unlike))
        .routes(routes!(flag))
        .layer(DefaultBodyLimit::max(COMMENT_BODY_MAX))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// The order of the top-level comments; `oldest` when not given.
    #[serde(default, deserialize_with = "named")]
    #[param(schema_with = crate::http::api::doc::sort)]
    sort: Option<CommentSort>,
    /// The `next` of the page before; a cursor is valid only with the same `sort` and `root`.
    #[serde(default, deserialize_with = "parsed")]
    #[param(value_type = Option<String>, max_length = 512)]
    cursor: Option<Cursor>,
    /// Top-level comments per page (replies come with them): 1 to 100, 20 when not given.
    #[serde(default, deserialize_with = "parsed")]
    #[param(schema_with = crate::http::api::doc::limit)]
    limit: Option<Limit>,
    /// The further replies under this top-level comment, instead of the top-level comments.
    #[serde(default, deserialize_with = "parsed")]
    #[param(schema_with = crate::http::api::doc::id)]
    root: Option<i64>,
}

/// A page of the thread: top-level comments, each with its first replies.
#[utoipa::path(get, operation_id = "listComments", path = "/articles/{article}/comments", tag = "comments",
    params(ArticlePath, ListParams, MaybeReaderHeader),
    responses(
        (status = 200, body = CommentPage),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `invalid_query`", body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    Article(article): Article,
    MaybeReader(reader): MaybeReader,
    Query(params): Query<ListParams>,
) -> Result<JsonBody<CommentPage>, AppError> {
    page(&state, article, reader, params).await.map(JsonBody)
}

#[utoipa::path(post, operation_id = "viewComments", path = "/articles/{article}/comments/view", tag = "comments",
    params(ArticlePath, ListParams, MaybeReaderHeader),
    request_body(content = Option<String>, content_type = "text/plain", description = "A reader token, or nothing"),
    responses(
        (status = 200, body = CommentPage),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `invalid_query`, `invalid_body`", body = ErrorBody),
    ))]
/// The same answer as `GET` (same query), for a reader named by a text/plain body: the widget's reads
/// need no CORS preflight, so the thread arrives one round trip sooner (see `reactions::view`).
async fn view(
    State(state): State<AppState>,
    Article(article): Article,
    header: MaybeReader,
    Query(params): Query<ListParams>,
    Text(body): Text,
) -> Result<impl axum::response::IntoResponse, AppError> {
    let reader = header.or_body(&state, &body)?;
    let page = page(&state, article, reader, params).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], JsonBody(page)))
}

async fn page(
    state: &AppState,
    article: otklik_api::ArticleId,
    reader: Option<crate::rules::reader::ReaderHash>,
    params: ListParams,
) -> Result<CommentPage, AppError> {
    let ListParams { sort, cursor, limit, root } = params;
    let (sort, limit, root) = (sort.unwrap_or_default(), limit.unwrap_or_default().0, root.map(CommentId));
    let query = CommentQuery { article, reader, sort, cursor, limit, root };
    let mut page = state.store.comments(&query).await?.map_err(refusal)?;
    page.notify = state.outbox.mail.is_some();
    if let Some(reader) = reader.filter(|_| state.min_compose_secs > 0) {
        page.form = Some(compose::issue(&state.reader_key, &reader, query.article.as_str(), state.clock.now()));
    }
    Ok(page)
}

/// Posts a comment, or a reply (`parent`). Under pre-moderation it is `pending`: only its author sees it.
#[utoipa::path(post, operation_id = "postComment", path = "/articles/{article}/comments", tag = "comments",
    params(ArticlePath, ReaderHeader), request_body = NewComment,
    responses(
        (status = 201, body = Comment, links(
            ("like" = (operation_id = "likeComment", parameters(("article" = "$request.path.article"), ("id" = "$response.body#/id"), ("X-Otklik-Reader" = "$request.header.X-Otklik-Reader")))),
            ("unlike" = (operation_id = "unlikeComment", parameters(("article" = "$request.path.article"), ("id" = "$response.body#/id"), ("X-Otklik-Reader" = "$request.header.X-Otklik-Reader")))),
            ("flag" = (operation_id = "flagComment", parameters(("article" = "$request.path.article"), ("id" = "$response.body#/id"), ("X-Otklik-Reader" = "$request.header.X-Otklik-Reader")))),
            ("edit" = (operation_id = "editComment", parameters(("article" = "$request.path.article"), ("id" = "$response.body#/id"), ("X-Otklik-Reader" = "$request.header.X-Otklik-Reader")))),
            ("delete" = (operation_id = "deleteComment", parameters(("article" = "$request.path.article"), ("id" = "$response.body#/id"), ("X-Otklik-Reader" = "$request.header.X-Otklik-Reader")))),
            ("moderate" = (operation_id = "moderateComment", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `missing_reader`, `invalid_body`", body = ErrorBody),
        (status = 403, description = "`banned`, `comments_closed`", body = ErrorBody),
        (status = 422, description = "`invalid_body`, `invalid_text`, `too_many_links`, `spam`, `too_fast`, `invalid_form`, `comment_not_found` (the parent)", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    Article(article): Article,
    Reader(reader): Reader,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<NewComment>,
) -> Result<(StatusCode, JsonBody<Comment>), AppError> {
    let page = clean_page(&state, &headers, body.page);
    let NewComment { text, author, parent, website, form, notify_email, .. } = body;
    let new = NewPost { article, reader, client, text, author, parent, page, website, form, notify_email };
    let comment = posting::post(&state, new).await.map_err(post_error)?;
    Ok((StatusCode::CREATED, JsonBody(comment)))
}

/// Changes the text of the reader's own comment, within 15 minutes of posting it.
#[utoipa::path(patch, operation_id = "editComment", path = "/articles/{article}/comments/{id}", tag = "comments",
    params(CommentPath, ReaderHeader), request_body = EditComment,
    responses(
        (status = 200, body = Comment),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `missing_reader`, `invalid_body`", body = ErrorBody),
        (status = 403, description = "`not_your_comment`, `edit_window_closed`, `banned`, `comments_closed`", body = ErrorBody),
        (status = 404, description = "`comment_not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_body`, `invalid_text`, `too_many_links`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    ))]
async fn edit(
    State(state): State<AppState>,
    Article(article): Article,
    Path((_, id)): Path<(String, String)>,
    Reader(reader): Reader,
    client: ClientIp,
    Json(body): Json<EditComment>,
) -> Result<JsonBody<Comment>, AppError> {
    let id = comment_id(&id)?;
    Ok(JsonBody(posting::edit(&state, article, id, reader, &client, &body.text).await.map_err(post_error)?))
}

/// Deletes the reader's own comment, within 15 minutes of posting it; one with replies leaves a placeholder.
#[utoipa::path(delete, operation_id = "deleteComment", path = "/articles/{article}/comments/{id}", tag = "comments",
    params(CommentPath, ReaderHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `missing_reader`", body = ErrorBody),
        (status = 403, description = "`not_your_comment`, `edit_window_closed`", body = ErrorBody),
        (status = 404, description = "`comment_not_found`", body = ErrorBody),
    ))]
async fn remove(
    State(state): State<AppState>,
    Article(article): Article,
    Path((_, id)): Path<(String, String)>,
    Reader(reader): Reader,
) -> Result<StatusCode, AppError> {
    state.store.delete_comment(article, comment_id(&id)?, reader).await?.map_err(refusal)?;
    Ok(StatusCode::NO_CONTENT)
}

type LikeResult = Result<JsonBody<LikeView>, AppError>;

/// Likes a comment (once per reader).
#[utoipa::path(put, operation_id = "likeComment", path = "/articles/{article}/comments/{id}/like", tag = "comments",
    params(CommentPath, ReaderHeader),
    responses(
        (status = 200, body = LikeView),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `missing_reader`", body = ErrorBody),
        (status = 404, description = "`comment_not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    ))]
async fn like(
    State(state): State<AppState>,
    Article(article): Article,
    Path((_, id)): Path<(String, String)>,
    Reader(reader): Reader,
    ClientIpHash(ip): ClientIpHash,
) -> LikeResult {
    set_like(&state, article, &id, reader, ip, true).await
}

/// Takes the reader's like back.
#[utoipa::path(delete, operation_id = "unlikeComment", path = "/articles/{article}/comments/{id}/like", tag = "comments",
    params(CommentPath, ReaderHeader),
    responses(
        (status = 200, body = LikeView),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `missing_reader`", body = ErrorBody),
        (status = 404, description = "`comment_not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    ))]
async fn unlike(
    State(state): State<AppState>,
    Article(article): Article,
    Path((_, id)): Path<(String, String)>,
    Reader(reader): Reader,
    ClientIpHash(ip): ClientIpHash,
) -> LikeResult {
    set_like(&state, article, &id, reader, ip, false).await
}

async fn set_like(
    state: &AppState,
    article: otklik_api::ArticleId,
    id: &str,
    reader: crate::rules::reader::ReaderHash,
    ip: [u8; 16],
    like: bool,
) -> LikeResult {
    limited(state, &[(LimitKind::LikeReader, &reader.0), (LimitKind::LikeIp, &ip)], "likes").await?;
    Ok(JsonBody(state.store.like_comment(article, comment_id(id)?, reader, like).await?.map_err(refusal)?))
}

/// Flags a comment for the moderators (once per reader; flagging again changes nothing).
#[utoipa::path(put, operation_id = "flagComment", path = "/articles/{article}/comments/{id}/flag", tag = "comments",
    params(CommentPath, ReaderHeader),
    responses(
        (status = 204, description = "Flagged"),
        (status = 400, description = "`invalid_article_id`, `invalid_reader`, `missing_reader`", body = ErrorBody),
        (status = 403, description = "`banned`", body = ErrorBody),
        (status = 404, description = "`comment_not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = ErrorBody),
    ))]
async fn flag(
    State(state): State<AppState>,
    Article(article): Article,
    Path((_, id)): Path<(String, String)>,
    Reader(reader): Reader,
    client: ClientIp,
) -> Result<StatusCode, AppError> {
    guard::not_banned(&state, &reader, &client).map_err(|r| refused(r, "flags"))?;
    limited(&state, &[(LimitKind::FlagReader, &reader.0), (LimitKind::FlagIp, &client.hash)], "flags").await?;
    state.store.flag_comment(article, comment_id(&id)?, reader, state.outbox.announce()).await?.map_err(refusal)?;
    Ok(StatusCode::NO_CONTENT)
}

fn comment_id(raw: &str) -> Result<CommentId, AppError> {
    raw.parse().map(CommentId).map_err(|_| {
        AppError::client(StatusCode::NOT_FOUND, ErrorCode::CommentNotFound, "there is no comment with that id")
    })
}

/// The API's words for a comment or an edit that was not taken.
fn post_error(e: PostError) -> AppError {
    let invalid = |code, message: String| AppError::client(StatusCode::UNPROCESSABLE_ENTITY, code, message);
    match e {
        PostError::Spam => invalid(ErrorCode::Spam, "this comment looks automated and was not posted".to_owned()),
        PostError::Text(InvalidText::Empty) => invalid(ErrorCode::InvalidText, "the comment is empty".to_owned()),
        PostError::Text(InvalidText::TooLong) => {
            invalid(ErrorCode::InvalidText, format!("the comment is longer than {COMMENT_TEXT_MAX} characters"))
        }
        PostError::Text(InvalidText::TooManyLinks) => {
            invalid(ErrorCode::TooManyLinks, format!("a comment may hold at most {COMMENT_LINKS_MAX} links"))
        }
        PostError::BadEmail => invalid(ErrorCode::InvalidBody, "notify_email is not an e-mail address".to_owned()),
        PostError::AuthorTooLong => {
            invalid(ErrorCode::InvalidBody, format!("the name may be at most {AUTHOR_MAX} characters"))
        }
        PostError::TooFast => invalid(
            ErrorCode::TooFast,
            "this comment came sooner after its form was loaded than a person could write it; send it again".to_owned(),
        ),
        PostError::InvalidForm => invalid(
            ErrorCode::InvalidForm,
            "a comment needs the `form` token of a page of this thread loaded by the same reader".to_owned(),
        ),
        PostError::Refused(refusal) => refused(refusal, "comments"),
        PostError::Comment(e) => refusal(e),
        PostError::Store(e) => e.into(),
    }
}

fn refusal(e: CommentError) -> AppError {
    let (status, code, message) = match e {
        CommentError::NotFound => {
            (StatusCode::NOT_FOUND, ErrorCode::CommentNotFound, "there is no such comment on this article")
        }
        CommentError::ParentNotFound => (
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::CommentNotFound,
            "the comment being replied to does not exist on this article",
        ),
        CommentError::NotYours => {
            (StatusCode::FORBIDDEN, ErrorCode::NotYourComment, "only the author may change this comment")
        }
        CommentError::WindowClosed => (
            StatusCode::FORBIDDEN,
            ErrorCode::EditWindowClosed,
            "comments can be edited or deleted only in the first 15 minutes",
        ),
        CommentError::BadCursor => (StatusCode::BAD_REQUEST, ErrorCode::InvalidQuery, "the cursor is not valid here"),
        CommentError::Closed => {
            (StatusCode::FORBIDDEN, ErrorCode::CommentsClosed, "comments on this article are closed")
        }
    };
    AppError::client(status, code, message)
}

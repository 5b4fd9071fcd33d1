//! `/articles/{article}/comments`: the thread, posting, editing and deleting one's own, and likes.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, patch, put};
use axum::{Json as JsonBody, Router};
use otklik_api::limits::{AUTHOR_MAX, COMMENT_BODY_MAX, COMMENT_LINKS_MAX, COMMENT_TEXT_MAX};
use otklik_api::{
    Comment, CommentId, CommentPage, CommentSort, EditComment, ErrorCode, InvalidText, LikeView, NewComment,
};
use serde::Deserialize;

use crate::AppState;
use crate::http::api::{clean_page, limited, refused};
use crate::http::client_ip::{ClientIp, ClientIpHash};
use crate::http::error::AppError;
use crate::http::extract::{Article, Json, Limit, MaybeReader, Query, Reader, named, parsed};
use crate::rules::compose;
use crate::rules::guard;
use crate::rules::posting::{self, NewPost, PostError};
use crate::rules::rate_limit::LimitKind;
use crate::store::{CommentError, CommentQuery, Cursor};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/articles/{article}/comments", get(list).post(create))
        .route("/articles/{article}/comments/view", axum::routing::post(view))
        .route("/articles/{article}/comments/{id}", patch(edit).delete(remove))
        .route("/articles/{article}/comments/{id}/like", put(set_like).delete(set_like))
        .route("/articles/{article}/comments/{id}/flag", put(flag))
        .layer(DefaultBodyLimit::max(COMMENT_BODY_MAX))
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default, deserialize_with = "named")]
    sort: Option<CommentSort>,
    #[serde(default, deserialize_with = "parsed")]
    cursor: Option<Cursor>,
    #[serde(default, deserialize_with = "parsed")]
    limit: Option<Limit>,
    #[serde(default, deserialize_with = "parsed")]
    root: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    Article(article): Article,
    MaybeReader(reader): MaybeReader,
    Query(params): Query<ListParams>,
) -> Result<JsonBody<CommentPage>, AppError> {
    page(&state, article, reader, params).await.map(JsonBody)
}

/// The same answer as `GET` (same query), for a reader named by a text/plain body: the widget's reads
/// need no CORS preflight, so the thread arrives one round trip sooner (see `reactions::view`).
async fn view(
    State(state): State<AppState>,
    Article(article): Article,
    header: MaybeReader,
    Query(params): Query<ListParams>,
    body: String,
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
    if let Some(reader) = reader.filter(|_| state.min_compose_secs > 0) {
        page.form = Some(compose::issue(&state.reader_key, &reader, query.article.as_str(), state.clock.now()));
    }
    Ok(page)
}

async fn create(
    State(state): State<AppState>,
    Article(article): Article,
    Reader(reader): Reader,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<NewComment>,
) -> Result<(StatusCode, JsonBody<Comment>), AppError> {
    let page = clean_page(&state, &headers, body.page);
    let NewComment { text, author, parent, website, form, .. } = body;
    let new = NewPost { article, reader, client, text, author, parent, page, website, form };
    let comment = posting::post(&state, new).await.map_err(post_error)?;
    Ok((StatusCode::CREATED, JsonBody(comment)))
}

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

/// `PUT` likes, `DELETE` takes the like back.
async fn set_like(
    method: Method,
    State(state): State<AppState>,
    Article(article): Article,
    Path((_, id)): Path<(String, String)>,
    Reader(reader): Reader,
    ClientIpHash(ip): ClientIpHash,
) -> LikeResult {
    let like = method == Method::PUT;
    limited(&state, &[(LimitKind::LikeReader, &reader.0), (LimitKind::LikeIp, &ip)], "likes").await?;
    Ok(JsonBody(state.store.like_comment(article, comment_id(&id)?, reader, like).await?.map_err(refusal)?))
}

/// Flags a comment for the moderators (once per reader; flagging again changes nothing).
async fn flag(
    State(state): State<AppState>,
    Article(article): Article,
    Path((_, id)): Path<(String, String)>,
    Reader(reader): Reader,
    client: ClientIp,
) -> Result<StatusCode, AppError> {
    guard::not_banned(&state, &reader, &client).map_err(|r| refused(r, "flags"))?;
    limited(&state, &[(LimitKind::FlagReader, &reader.0), (LimitKind::FlagIp, &client.hash)], "flags").await?;
    state.store.flag_comment(article, comment_id(&id)?, reader).await?.map_err(refusal)?;
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

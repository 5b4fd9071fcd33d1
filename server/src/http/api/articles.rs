//! `/admin/articles`: articles with their moderation settings, and changing them, for the editors' API.

use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use otklik_api::limits::{PAGE_TITLE_MAX, PAGE_URL_MAX};
use otklik_api::{ArticleSettings, ErrorBody, ErrorCode, ModerationMode, PageInfo};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::api::doc::ArticlePath;
use crate::http::error::AppError;
use crate::http::extract::{Article, Json};
use crate::rules::editors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(set)).routes(routes!(set_page))
}

/// An article as the editors' list shows it.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ArticleSummary {
    id: String,
    url: Option<String>,
    title: Option<String>,
    /// Visible comments.
    comments: u64,
    /// Comments awaiting moderation.
    pending: u64,
    /// The article's own moderation mode; `null` follows the server's default.
    moderation: Option<ModerationMode>,
    /// Takes no new comments.
    closed: bool,
}

/// The 100 most recently seen articles.
#[utoipa::path(get, operation_id = "listArticles", path = "/admin/articles", tag = "editors", security(("editor_token" = [])),
    responses(
        (status = 200, body = Vec<ArticleSummary>),
    ))]
async fn list(_: Editor, State(state): State<AppState>) -> Result<JsonBody<Vec<ArticleSummary>>, AppError> {
    let rows = state.store.articles(100).await?;
    Ok(JsonBody(
        rows.into_iter()
            .map(|a| ArticleSummary {
                id: a.key,
                url: a.url,
                title: a.title,
                comments: a.comments,
                pending: a.pending,
                moderation: a.settings.moderation,
                closed: a.settings.closed,
            })
            .collect(),
    ))
}

/// Sets an article's moderation mode and whether it takes new comments.
#[utoipa::path(put, operation_id = "setArticle", path = "/admin/articles/{article}", tag = "editors", security(("editor_token" = [])),
    params(ArticlePath), request_body = ArticleSettings,
    responses(
        (status = 200, body = ArticleSettings),
        (status = 400, description = "`invalid_article_id`, `invalid_body`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
    ))]
async fn set(
    _: Editor,
    State(state): State<AppState>,
    Article(article): Article,
    Json(settings): Json<ArticleSettings>,
) -> Result<JsonBody<ArticleSettings>, AppError> {
    editors::set_article(&state, article, settings, Editor::WHO).await?;
    Ok(JsonBody(settings))
}

#[utoipa::path(put, operation_id = "setArticlePage", path = "/admin/articles/{article}/page", tag = "editors", security(("editor_token" = [])),
    params(ArticlePath), request_body = PageInfo,
    responses(
        (status = 200, body = PageInfo),
        (status = 400, description = "`invalid_article_id`, `invalid_body`", body = ErrorBody),
        (status = 422, description = "`invalid_body`: not an http(s) URL, or too long", body = ErrorBody),
    ))]
/// Corrects the URL and title the article's pages reported (`null` clears one). Editors are trusted with
/// any http(s) address; the readers' widget only with its publishers' own.
async fn set_page(
    _: Editor,
    State(state): State<AppState>,
    Article(article): Article,
    Json(page): Json<PageInfo>,
) -> Result<JsonBody<PageInfo>, AppError> {
    let invalid = |message: String| AppError::client(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody, message);
    let url = page.url.as_deref().map(crate::rules::text::clean_line).filter(|u| !u.is_empty());
    if let Some(url) = &url {
        let parsed = reqwest::Url::parse(url).map_err(|_| invalid("url must be an absolute http(s) URL".to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") || url.len() > PAGE_URL_MAX {
            return Err(invalid(format!("url must be an http(s) URL of at most {PAGE_URL_MAX} characters")));
        }
    }
    let title = page.title.as_deref().map(crate::rules::text::clean_line).filter(|t| !t.is_empty());
    if title.as_ref().is_some_and(|t| t.chars().count() > PAGE_TITLE_MAX) {
        return Err(invalid(format!("title may be at most {PAGE_TITLE_MAX} characters")));
    }
    let page = PageInfo { url, title };
    state.store.set_article_page(article, page.clone(), Editor::WHO).await?;
    Ok(JsonBody(page))
}

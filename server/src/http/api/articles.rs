//! `/admin/articles`: articles with their moderation settings, and changing them, for the editors' API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json as JsonBody, Router};
use otklik_api::limits::{PAGE_TITLE_MAX, PAGE_URL_MAX};
use otklik_api::{ArticleSettings, ErrorCode, PageInfo};

use crate::AppState;
use crate::http::admin::Editor;
use crate::http::error::AppError;
use crate::http::extract::{Article, Json};
use crate::rules::editors;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/articles", get(list))
        .route("/admin/articles/{article}", put(set))
        .route("/admin/articles/{article}/page", put(set_page))
}

/// The 100 most recently seen articles: `[{"id", "url", "title", "comments", "pending", "moderation", "closed"}]`.
async fn list(_: Editor, State(state): State<AppState>) -> Result<JsonBody<serde_json::Value>, AppError> {
    let rows = state.store.articles(100).await?;
    Ok(JsonBody(serde_json::Value::Array(
        rows.into_iter()
            .map(|a| {
                serde_json::json!({
                    "id": a.key, "url": a.url, "title": a.title, "comments": a.comments, "pending": a.pending,
                    "moderation": a.settings.moderation, "closed": a.settings.closed,
                })
            })
            .collect(),
    )))
}

async fn set(
    _: Editor,
    State(state): State<AppState>,
    Article(article): Article,
    Json(settings): Json<ArticleSettings>,
) -> Result<JsonBody<ArticleSettings>, AppError> {
    editors::set_article(&state, article, settings, Editor::WHO).await?;
    Ok(JsonBody(settings))
}

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

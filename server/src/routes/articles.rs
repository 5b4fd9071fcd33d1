//! `/admin/articles`: articles with their moderation settings, and changing them, for the editors' API.

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json as JsonBody, Router};
use otklik_api::ArticleSettings;

use crate::AppState;
use crate::admin::Editor;
use crate::error::AppError;
use crate::extract::{Article, Json};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/articles", get(list)).route("/admin/articles/{article}", put(set))
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
    state.store.set_article(article, settings, Editor::WHO).await?;
    Ok(JsonBody(settings))
}

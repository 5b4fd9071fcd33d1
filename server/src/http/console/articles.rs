//! Articles: per-article moderation mode (before or after publishing) and closing comments.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use otklik_api::{ArticleId, ArticleSettings, ModerationMode};
use serde::Deserialize;

use super::{Change, Failed, Lang, Section, Signed, back_to, csrf_field, done_note, layout, render};
use crate::AppState;
use crate::rules::editors;

pub async fn list(
    who: Signed,
    State(state): State<AppState>,
    lang: Lang,
    Query(params): Query<super::Done>,
) -> Result<Response, Failed> {
    let t = lang.texts();
    let articles = state.store.articles(100).await.map_err(|e| Failed(e.into(), lang))?;
    let mut refusals: Vec<(String, u64)> = state.limits.refusals().into_iter().collect();
    refusals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let content = html! {
        (done_note(lang, params.done.is_some()))
        @if !refusals.is_empty() {
            section aria-labelledby="stuffing" {
                h2 #stuffing { (t.stuffing) }
                p.hint { (t.stuffing_hint) }
                table {
                    thead { tr { th scope="col" { (t.article_id) } th scope="col" { (t.refused) } } }
                    tbody { @for (article, n) in &refusals { tr { td { code { (article) } } td { (n) } } } }
                }
            }
        }
        section aria-labelledby="set-article" {
            h2 #set-article { (t.set_article) }
            form.settings method="post" action="/admin/articles" {
                (csrf_field(&who))
                label { (t.article_id) " " input type="text" name="article" required maxlength="128" autocomplete="off"; }
                (settings_fields(lang, "new", ArticleSettings::default()))
                button type="submit" { (t.save) }
            }
        }
        section aria-labelledby="recent" {
            h2 #recent { (t.recent_articles) }
            @if articles.is_empty() { p.empty { (t.no_articles) } }
            ol.items {
                @for (i, a) in articles.iter().enumerate() {
                    li {
                        article.item {
                            h3 {
                                @match &a.url {
                                    Some(url) => a href=(url) rel="noreferrer noopener" { (a.title.as_deref().unwrap_or(&a.key)) },
                                    None => (a.title.as_deref().unwrap_or(&a.key)),
                                }
                                " " span.meta { code { (a.key) } " · " (t.comments_count) ": " (a.comments)
                                    @if a.pending > 0 { " · " (t.pending_count) ": " (a.pending) } }
                            }
                            form.settings method="post" action="/admin/articles" {
                                (csrf_field(&who))
                                input type="hidden" name="article" value=(a.key);
                                (settings_fields(lang, &i.to_string(), a.settings))
                                button type="submit" { (t.save) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(render(layout(lang, t.nav_articles, Some(&who), Section::Articles, content)))
}

/// The mode choice and the "closed" box; `key` keeps element ids unique on the page.
fn settings_fields(lang: Lang, key: &str, settings: ArticleSettings) -> Markup {
    let t = lang.texts();
    let modes = [
        ("default", t.mode_default, None),
        ("post", t.mode_post, Some(ModerationMode::Post)),
        ("pre", t.mode_pre, Some(ModerationMode::Pre)),
    ];
    html! {
        label for={ "mode-" (key) } { (t.moderation) }
        select #{ "mode-" (key) } name="moderation" {
            @for (value, label, mode) in modes {
                option value=(value) selected[settings.moderation == mode] { (label) }
            }
        }
        label { input type="checkbox" name="closed" value="on" checked[settings.closed]; " " (t.closed) }
    }
}

#[derive(Deserialize)]
pub struct SetArticle {
    article: String,
    moderation: String,
    closed: Option<String>,
}

pub async fn set(
    State(state): State<AppState>,
    lang: Lang,
    Change { who, form }: Change<SetArticle>,
) -> Result<Response, Response> {
    let invalid = |message: String| super::message_page(lang, StatusCode::UNPROCESSABLE_ENTITY, &message);
    let article = ArticleId::parse(form.article.trim()).map_err(|e| invalid(e.to_string()))?;
    let moderation = match form.moderation.as_str() {
        "default" => None,
        other => Some(ModerationMode::parse(other).ok_or_else(|| invalid(lang.texts().failed.to_owned()))?),
    };
    let settings = ArticleSettings { moderation, closed: form.closed.is_some() };
    editors::set_article(&state, article, settings, &who.name)
        .await
        .map_err(|e| Failed(e.into(), lang).into_response())?;
    Ok(Redirect::to(&back_to(None, "/admin/articles")).into_response())
}

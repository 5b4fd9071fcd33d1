//! The typo queue: reports with their merge counters, each fragment marked in its context.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use otklik_api::{TypoId, TypoStatus};
use serde::Deserialize;

use super::{Change, Failed, Lang, Section, Signed, back_to, csrf_field, done_note, layout, render, time};
use crate::AppState;
use crate::rules::editors::{self, TypoStatusError};
use crate::store::TypoQuery;

#[derive(Deserialize)]
pub struct Params {
    status: Option<String>,
    before: Option<i64>,
    done: Option<u8>,
}

pub async fn list(
    who: Signed,
    State(state): State<AppState>,
    lang: Lang,
    Query(params): Query<Params>,
) -> Result<Response, Failed> {
    let t = lang.texts();
    let status = params.status.as_deref().and_then(TypoStatus::parse).unwrap_or_default();
    let query = TypoQuery { status: Some(status), before: params.before.map(TypoId), limit: 30 };
    let list = state.store.typos(&query).await.map_err(|e| Failed(e.into(), lang))?;
    let here = format!("/admin/typos?status={}", status.as_str());
    let content = html! {
        (done_note(lang, params.done.is_some()))
        nav.tabs aria-label=(t.nav_typos) {
            ul {
                @for (s, label) in TypoStatus::ALL.into_iter().zip(t.typo_statuses) {
                    li { a href={ "/admin/typos?status=" (s.as_str()) } aria-current=[(s == status).then_some("page")] { (label) } }
                }
            }
        }
        @if list.typos.is_empty() { p.empty { (t.no_typos) } }
        ol.items {
            @for r in &list.typos {
                li {
                    article.item aria-labelledby={ "typo-" (r.id) } {
                        header {
                            h2 #{ "typo-" (r.id) } {
                                "«" (r.fragment) "» "
                                span.meta {
                                    (t.on_article) " "
                                    @match &r.page.url {
                                        Some(url) => a href=(url) rel="noreferrer noopener" { (r.page.title.as_deref().unwrap_or(&r.article)) },
                                        None => span { (r.article) },
                                    }
                                    " · " (time(r.created)) " · #" (r.id)
                                }
                            }
                            p.badges { span.badge.count { (r.reports) " " (t.reports) } }
                        }
                        p.context { (r.before) " " mark { (r.fragment) } " " (r.after) }
                        @if !r.notes.is_empty() {
                            p.label { (t.notes) }
                            ul.notes { @for note in &r.notes { li { (note) } } }
                        }
                        form.actions method="post" action={ "/admin/typos/" (r.id) } {
                            (csrf_field(&who))
                            input type="hidden" name="back" value=(here);
                            @if r.status == TypoStatus::New {
                                button name="status" value="fixed" { (t.mark_fixed) }
                                button name="status" value="rejected" { (t.mark_rejected) }
                            } @else {
                                button name="status" value="new" { (t.reopen) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &list.next {
            p { a rel="next" href={ (here) "&before=" (next) } { (t.older) " →" } }
        }
    };
    Ok(render(layout(lang, t.nav_typos, Some(&who), Section::Typos, content)))
}

#[derive(Deserialize)]
pub struct SetStatus {
    status: String,
    back: Option<String>,
}

pub async fn set(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<i64>,
    Change { who, form }: Change<SetStatus>,
) -> Result<Response, Response> {
    let t = lang.texts();
    let bad = |status| super::message_page(lang, status, t.failed);
    let status = TypoStatus::parse(&form.status).ok_or_else(|| bad(axum::http::StatusCode::BAD_REQUEST))?;
    match editors::set_typo_status(&state, TypoId(id), status, &who.name).await {
        Ok(_) => Ok(Redirect::to(&back_to(form.back.as_deref(), "/admin/typos")).into_response()),
        Err(TypoStatusError::NotFound) => Err(super::message_page(lang, StatusCode::NOT_FOUND, t.not_found)),
        Err(TypoStatusError::Conflict) => Err(super::message_page(lang, StatusCode::CONFLICT, t.typo_conflict)),
        Err(TypoStatusError::Store(err)) => Err(Failed(err.into(), lang).into_response()),
    }
}

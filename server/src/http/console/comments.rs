//! The comment queues: new, pending and flagged comments across articles, and what can be done to them.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use otklik_api::{BanKind, CommentId, CommentStatus, ModerationAction, NewBan, Queue, QueueItem};
use serde::Deserialize;

use super::{Change, Failed, Lang, Section, Signed, back_to, csrf_field, done_note, layout, render, time};
use crate::AppState;

const PAGE: usize = 30;

#[derive(Deserialize)]
pub struct QueueParams {
    queue: Option<String>,
    before: Option<i64>,
    done: Option<u8>,
}

pub async fn queue(
    who: Signed,
    State(state): State<AppState>,
    lang: Lang,
    Query(params): Query<QueueParams>,
) -> Result<Response, Failed> {
    let t = lang.texts();
    let which = params.queue.as_deref().and_then(Queue::parse).unwrap_or_default();
    let page =
        state.store.queue(which, params.before.map(CommentId), PAGE).await.map_err(|e| Failed(e.into(), lang))?;
    let here = match params.before {
        Some(b) => format!("/admin?queue={}&before={b}", which.as_str()),
        None => format!("/admin?queue={}", which.as_str()),
    };
    let content = html! {
        (done_note(lang, params.done.is_some()))
        nav.tabs aria-label=(t.nav_comments) {
            ul {
                @for (q, label) in Queue::ALL.into_iter().zip(t.queues) {
                    li { a href={ "/admin?queue=" (q.as_str()) } aria-current=[(q == which).then_some("page")] { (label) } }
                }
            }
        }
        @if page.comments.is_empty() {
            p.empty { (t.empty_queue) }
        }
        ol.items {
            @for item in &page.comments {
                li { (comment(lang, &who, item, &here)) }
            }
        }
        @if let Some(next) = page.next {
            p { a rel="next" href={ "/admin?queue=" (which.as_str()) "&before=" (next) } { (t.older) " →" } }
        }
    };
    Ok(render(layout(
        lang,
        t.queues[Queue::ALL.iter().position(|q| *q == which).unwrap_or(0)],
        Some(&who),
        Section::Comments,
        content,
    )))
}

/// One comment in a queue: who, where, when, its state, its text, and its actions.
fn comment(lang: Lang, who: &Signed, item: &QueueItem, here: &str) -> Markup {
    let t = lang.texts();
    let id = item.id;
    let heading = format!("comment-{id}");
    let article = item.article_title.as_deref().unwrap_or(&item.article);
    html! {
        article.item aria-labelledby=(heading) {
            header {
                h2 #(heading) {
                    (if item.author.is_empty() { "—" } else { &item.author })
                    " "
                    span.meta {
                        @if item.parent.is_some() { (t.reply) " · " }
                        (t.on_article) " "
                        @match &item.article_url {
                            Some(url) => a href=(url) rel="noreferrer noopener" { (article) },
                            None => span { (article) },
                        }
                        " · " (time(item.created)) " · #" (id)
                    }
                }
                p.badges {
                    @match item.status {
                        CommentStatus::Pending => span.badge.pending { (t.status_pending) },
                        CommentStatus::Hidden => span.badge.hidden { (t.status_hidden) },
                        CommentStatus::Visible => @if item.unreviewed { span.badge.new { (t.status_new) } },
                    }
                    @if item.flags > 0 { span.badge.flagged { (t.flagged) ": " (item.flags) } }
                    @if let Some(at) = item.edited { span.badge.edited { (t.edited) " " (time(at)) } }
                }
            }
            p.text { (item.text) }
            form.actions method="post" action={ "/admin/comments/" (id) } {
                (csrf_field(who))
                input type="hidden" name="back" value=(here);
                @if item.status == CommentStatus::Hidden {
                    button name="action" value="restore" { (t.restore) }
                } @else if item.status == CommentStatus::Pending || item.unreviewed || item.flags > 0 {
                    button name="action" value="approve" { (t.approve) }
                }
                @if item.status != CommentStatus::Hidden {
                    button name="action" value="hide" { (t.hide) }
                }
                button.danger name="action" value="delete" { (t.delete) }
            }
            details.ban {
                summary { (t.ban) }
                form method="post" action={ "/admin/comments/" (id) "/ban" } {
                    (csrf_field(who))
                    input type="hidden" name="back" value=(here);
                    fieldset {
                        legend { (t.ban_whom) }
                        label { input type="radio" name="kind" value="reader" checked; " " (t.ban_reader) }
                        @if item.ip_known {
                            label { input type="radio" name="kind" value="ip"; " " (t.ban_ip) }
                        } @else {
                            span.hint { (t.ip_forgotten) }
                        }
                    }
                    label { (t.ban_days) " " input type="number" name="days" min="1" max="3650" value="7" required; }
                    label { (t.ban_reason) " " input type="text" name="reason" maxlength="500" required; }
                    button.danger type="submit" { (t.ban_submit) }
                }
            }
            details.erase {
                summary { (t.erase) }
                form method="post" action={ "/admin/comments/" (id) "/erase" } {
                    (csrf_field(who))
                    input type="hidden" name="back" value=(here);
                    p.hint { (t.erase_hint) }
                    label { input type="checkbox" name="confirm" value="yes" required; " " (t.erase_confirm) }
                    button.danger type="submit" { (t.erase_submit) }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct Act {
    action: String,
    back: Option<String>,
}

pub async fn act(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<i64>,
    Change { who, form }: Change<Act>,
) -> Result<Response, Response> {
    let action = ModerationAction::parse(&form.action)
        .ok_or_else(|| super::message_page(lang, axum::http::StatusCode::BAD_REQUEST, lang.texts().failed))?;
    crate::rules::moderation::moderate(&state, CommentId(id), action, &who.name)
        .await
        .map_err(|e| super::refused(e, lang))?;
    Ok(Redirect::to(&back_to(form.back.as_deref(), "/admin")).into_response())
}

#[derive(Deserialize)]
pub struct EraseForm {
    confirm: Option<String>,
    back: Option<String>,
}

/// Erases the data of the reader behind the comment (a reader who asked by e-mail), once confirmed.
pub async fn erase(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<i64>,
    Change { who, form }: Change<EraseForm>,
) -> Result<Response, Response> {
    use axum::http::StatusCode;
    let t = lang.texts();
    if form.confirm.as_deref() != Some("yes") {
        return Err(super::message_page(lang, StatusCode::BAD_REQUEST, t.erase_confirm));
    }
    match crate::rules::erasure::erase_by_comment(&state, CommentId(id), &who.name).await {
        Ok(_) => Ok(Redirect::to(&back_to(form.back.as_deref(), "/admin")).into_response()),
        Err(crate::rules::erasure::EraseError::NoReader) => {
            Err(super::message_page(lang, StatusCode::NOT_FOUND, t.not_found))
        }
        Err(crate::rules::erasure::EraseError::Store(err)) => {
            tracing::error!(error = %format!("{err:#}"), "erasing a reader's data");
            Err(super::message_page(lang, StatusCode::INTERNAL_SERVER_ERROR, t.failed))
        }
    }
}

#[derive(Deserialize)]
pub struct BanForm {
    kind: String,
    days: u32,
    reason: String,
    back: Option<String>,
}

pub async fn ban(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<i64>,
    Change { who, form }: Change<BanForm>,
) -> Result<Response, Response> {
    let kind = if form.kind == "ip" { BanKind::Ip } else { BanKind::Reader };
    let ban = NewBan { kind, comment: Some(CommentId(id)), range: None, days: form.days, reason: form.reason };
    crate::rules::moderation::ban(&state, ban, &who.name).await.map_err(|e| super::refused(e, lang))?;
    Ok(Redirect::to(&back_to(form.back.as_deref(), "/admin")).into_response())
}

//! Bans in force, lifting them, and banning an IP range.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use otklik_api::{BanKind, NewBan};
use serde::Deserialize;

use super::{Change, Failed, Lang, Section, Signed, back_to, csrf_field, done_note, layout, render, time};
use crate::AppState;

pub async fn list(
    who: Signed,
    State(state): State<AppState>,
    lang: Lang,
    Query(params): Query<super::Done>,
) -> Result<Response, Failed> {
    let t = lang.texts();
    let bans = state.store.bans().await.map_err(|e| Failed(e.into(), lang))?;
    let kind_label = |k: BanKind| match k {
        BanKind::Reader => t.ban_reader,
        BanKind::Ip => t.ban_ip,
        BanKind::Range => "CIDR",
    };
    let content = html! {
        (done_note(lang, params.done.is_some()))
        section aria-labelledby="in-force" {
            h2 #in-force { (t.bans_in_force) }
            @if bans.is_empty() { p.empty { (t.no_bans) } } @else {
                table {
                    thead { tr { th scope="col" { (t.kind) } th scope="col" { (t.target) } th scope="col" { (t.ban_reason) }
                                 th scope="col" { (t.until) } th scope="col" { (t.by) } td {} } }
                    tbody {
                        @for b in &bans {
                            tr {
                                td { (kind_label(b.ban.kind)) }
                                td { code { (b.ban.target) } }
                                td { (b.ban.reason) }
                                td { (time(b.ban.until)) }
                                td { (b.ban.by) }
                                td {
                                    form method="post" action={ "/admin/bans/" (b.ban.id) "/lift" } {
                                        (csrf_field(&who))
                                        button type="submit" aria-label={ (t.lift) " #" (b.ban.id) } { (t.lift) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="ban-range" {
            h2 #ban-range { (t.ban_range) }
            form.settings method="post" action="/admin/bans" {
                (csrf_field(&who))
                label { "CIDR " input type="text" name="range" required placeholder=(t.range_hint) autocomplete="off"; }
                label { (t.ban_days) " " input type="number" name="days" min="1" max="3650" value="7" required; }
                label { (t.ban_reason) " " input type="text" name="reason" maxlength="500" required; }
                button.danger type="submit" { (t.ban_submit) }
            }
        }
    };
    Ok(render(layout(lang, t.nav_bans, Some(&who), Section::Bans, content)))
}

#[derive(Deserialize)]
pub struct RangeBan {
    range: String,
    days: u32,
    reason: String,
}

pub async fn add(
    State(state): State<AppState>,
    lang: Lang,
    Change { who, form }: Change<RangeBan>,
) -> Result<Response, Response> {
    let ban =
        NewBan { kind: BanKind::Range, comment: None, range: Some(form.range), days: form.days, reason: form.reason };
    crate::rules::moderation::ban(&state, ban, &who.name).await.map_err(|e| super::refused(e, lang))?;
    Ok(Redirect::to(&back_to(None, "/admin/bans")).into_response())
}

pub async fn lift(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<i64>,
    Change { who, .. }: Change<super::NoFields>,
) -> Result<Response, Response> {
    crate::rules::moderation::lift(&state, id, &who.name).await.map_err(|e| super::refused(e, lang))?;
    Ok(Redirect::to(&back_to(None, "/admin/bans")).into_response())
}

//! `/admin/notifications`: where a moderator sets an address and what to be told of by e-mail.
//!
//! The address itself is never shown again (not even to its owner: the page says whether one is set and
//! confirmed); a new one waits for its confirmation like a reader's.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::{Change, Failed, Lang, Section, Signed, back_to, csrf_field, done_note, layout, message_page, render};
use crate::AppState;
use crate::store::Choices;

pub async fn page(
    who: Signed,
    State(state): State<AppState>,
    lang: Lang,
    Query(params): Query<super::Done>,
) -> Result<Response, Failed> {
    let t = lang.texts();
    let setting = state.store.moderator_mail(&who.name).await.map_err(|e| Failed(e.into(), lang))?;
    let choices = setting.map(|s| s.choices).unwrap_or_default();
    let status = match setting {
        None => t.mail_none,
        Some(s) if s.confirmed => t.mail_confirmed,
        Some(_) => t.mail_waiting,
    };
    let content = html! {
        (done_note(lang, params.done.is_some()))
        @if state.outbox.mail.is_none() {
            p.empty { (t.mail_off) }
        } @else {
            p role="status" { (status) }
            form.settings method="post" action="/admin/notifications" {
                (csrf_field(&who))
                label { (t.mail_address) " " input type="email" name="address" autocomplete="email" maxlength="254"
                        required[setting.is_none()]; }
                fieldset {
                    legend { (t.mail_choose) }
                    label { input type="checkbox" name="pending" checked[choices.pending]; " " (t.mail_pending) }
                    label { input type="checkbox" name="flags" checked[choices.flags]; " " (t.mail_flags) }
                    label { input type="checkbox" name="typos" checked[choices.typos]; " " (t.mail_typos) }
                    label { input type="checkbox" name="digest" checked[choices.digest]; " " (t.mail_digest) }
                }
                button type="submit" { (t.mail_save) }
            }
            @if setting.is_some() {
                form method="post" action="/admin/notifications/remove" {
                    (csrf_field(&who))
                    button.danger type="submit" { (t.mail_remove) }
                }
            }
        }
    };
    Ok(render(layout(lang, t.nav_mail, Some(&who), Section::Mail, content)))
}

#[derive(Deserialize)]
pub struct MailForm {
    /// Empty: keep the address already set.
    #[serde(default)]
    address: String,
    pending: Option<String>,
    flags: Option<String>,
    typos: Option<String>,
    digest: Option<String>,
}

pub async fn set(
    State(state): State<AppState>,
    lang: Lang,
    Change { who, form }: Change<MailForm>,
) -> Result<Response, Response> {
    let t = lang.texts();
    let Some(mail) = &state.outbox.mail else { return Err(message_page(lang, StatusCode::NOT_FOUND, t.mail_off)) };
    let address = match form.address.trim() {
        "" => None,
        given => Some(
            mail.moderator_address(given, lang)
                .map_err(|_| message_page(lang, StatusCode::UNPROCESSABLE_ENTITY, t.mail_bad_address))?,
        ),
    };
    let choices = Choices {
        pending: form.pending.is_some(),
        flags: form.flags.is_some(),
        typos: form.typos.is_some(),
        digest: form.digest.is_some(),
    };
    state
        .store
        .set_moderator_mail(&who.name, address, Some(choices))
        .await
        .map_err(|e| Failed(e.into(), lang).into_response())?;
    state.outbox.wake();
    Ok(Redirect::to(&back_to(None, "/admin/notifications")).into_response())
}

pub async fn remove(
    State(state): State<AppState>,
    lang: Lang,
    Change { who, .. }: Change<super::NoFields>,
) -> Result<Response, Response> {
    state.store.set_moderator_mail(&who.name, None, None).await.map_err(|e| Failed(e.into(), lang).into_response())?;
    Ok(Redirect::to(&back_to(None, "/admin/notifications")).into_response())
}

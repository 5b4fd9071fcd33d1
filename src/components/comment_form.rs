//! `CommentForm`: name and text, with a live counter near the limit, Ctrl+Enter to send, and a draft
//! kept in localStorage on every keystroke, so neither a reload nor a failed send loses what was typed.

use leptos::prelude::*;
use leptos::task::spawn_local;
use otklik_api::limits::{AUTHOR_MAX, COMMENT_TEXT_MAX};
use otklik_api::{CommentId, NewComment, check_comment_text};

use crate::page::page_info;
use crate::storage;
use crate::thread::Thread;

const NAME_KEY: &str = "otklik.name";
/// Show the counter once fewer than this many characters are left.
const COUNTER_FROM: usize = 500;

#[component]
pub fn CommentForm(parent: Option<CommentId>, #[prop(optional)] on_done: Option<Callback<()>>) -> impl IntoView {
    let thread = expect_context::<Thread>();
    let texts = thread.lang.texts();
    let draft_key =
        format!("otklik.draft.{}.{}", thread.article, parent.map_or_else(|| "top".to_owned(), |p| p.to_string()));
    let text = RwSignal::new(storage::load(&draft_key).unwrap_or_default());
    let name = RwSignal::new(storage::load(NAME_KEY).unwrap_or_default());
    let sending = RwSignal::new(false);
    let error = RwSignal::new(None::<&'static str>);
    // Only a program filling every field it finds puts anything here.
    let honeypot = RwSignal::new(String::new());

    let submit = {
        let draft_key = draft_key.clone();
        move || {
            if sending.get_untracked() {
                return;
            }
            let body = text.get_untracked();
            if let Err(e) = check_comment_text(&body) {
                error.set(Some(texts.invalid_text(e)));
                return;
            }
            let author = Some(name.get_untracked()).filter(|n| !n.trim().is_empty());
            let website = Some(honeypot.get_untracked()).filter(|v| !v.is_empty());
            let form = thread.form.get_untracked();
            let new =
                NewComment { text: body, author, parent, page: Some(page_info()), website, form, notify_email: None };
            let (thread, draft_key) = (thread.clone(), draft_key.clone());
            sending.set(true);
            thread.sending.set(true);
            error.set(None);
            spawn_local(async move {
                let posted = thread.api.post_comment(&thread.article, &new).await;
                match posted {
                    Ok(comment) => {
                        thread.insert(comment);
                        thread.sending.set(false);
                        text.set(String::new());
                        storage::save(&draft_key, "");
                        if let Some(done) = on_done {
                            done.run(());
                        }
                    }
                    Err(e) => {
                        thread.sending.set(false);
                        error.set(Some(texts.failure(&e)));
                    }
                }
                sending.set(false);
            });
        }
    };
    let on_key = {
        let submit = submit.clone();
        move |ev: web_sys::KeyboardEvent| {
            if crate::is_ctrl_enter(&ev) {
                ev.prevent_default();
                submit();
            }
        }
    };
    let left = move || text.with(|t| COMMENT_TEXT_MAX as i64 - t.trim().chars().count() as i64);
    let retry = submit.clone();

    view! {
        <form class="otk-form" novalidate on:submit=move |ev| {
            ev.prevent_default();
            submit();
        }>
            <label class="otk-field otk-name">
                <span>{texts.name}</span>
                <input
                    type="text"
                    autocomplete="nickname"
                    maxlength=AUTHOR_MAX.to_string()
                    placeholder=texts.anonymous
                    prop:value=name
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        storage::save(NAME_KEY, &value);
                        name.set(value);
                    }
                />
            </label>
            <label class="otk-field">
                <span>{texts.comment}</span>
                <textarea
                    rows="3"
                    placeholder=texts.placeholder
                    prop:value=text
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        storage::save(&draft_key, &value);
                        text.set(value);
                    }
                    on:keydown=on_key
                ></textarea>
            </label>
            <div class="otk-form-foot">
                <span class="otk-hint">{texts.send_hint}</span>
                <span class=move || if left() < 0 { "otk-counter otk-over" } else { "otk-counter" } aria-live="polite">
                    {move || (left() < COUNTER_FROM as i64).then(|| left().to_string())}
                </span>
                {on_done.map(|done| view! {
                    <button type="button" class="otk-button" on:click=move |_| done.run(())>{texts.cancel}</button>
                })}
                <button type="submit" class="otk-button otk-primary" disabled=move || sending.get() aria-busy=move || sending.get().to_string()>
                    {move || if sending.get() { texts.posting } else { texts.post }}
                </button>
            </div>
            <p class="otk-note otk-error" role="alert" hidden=move || error.with(Option::is_none)>
                {move || error.get().unwrap_or_default()} " "
                <button type="button" class="otk-link" on:click=move |_| retry()>{texts.retry}</button>
            </p>
            <input
                class="otk-hp"
                name="website"
                tabindex="-1"
                autocomplete="off"
                aria-hidden="true"
                on:input=move |ev| honeypot.set(event_target_value(&ev))
            />
        </form>
    }
}

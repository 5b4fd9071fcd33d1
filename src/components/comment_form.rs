//! `CommentForm`: name and text, with a live counter near the limit, Ctrl+Enter to send, and a draft
//! kept in localStorage on every keystroke, so neither a reload nor a failed send loses what was typed.
//! Where the server sends reply notifications, an "email me" box with an address field (remembered
//! like the name).

use leptos::prelude::*;
use leptos::task::spawn_local;
use otklik_api::limits::{AUTHOR_MAX, COMMENT_TEXT_MAX, EMAIL_MAX};
use otklik_api::{CommentId, NewComment, check_comment_text, check_email};

use crate::i18n::Texts;
use crate::page::page_info;
use crate::storage;
use crate::thread::Thread;

const NAME_KEY: &str = "otklik.name";
const EMAIL_KEY: &str = "otklik.email";
/// Show the counter once fewer than this many characters are left.
const COUNTER_FROM: usize = 500;

/// `text` made safe for markup, between tags or in a quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The name field (filled with the remembered name) and the honeypot, as markup.
fn name_field(texts: &Texts, name: &str) -> String {
    format!(
        r#"<label class="otk-field otk-name"><span>{}</span><input name="author" type="text" autocomplete="nickname" maxlength="{AUTHOR_MAX}" placeholder="{}" value="{}"></label><input class="otk-hp" name="website" tabindex="-1" autocomplete="off" aria-hidden="true">"#,
        texts.name,
        texts.anonymous,
        escape(name)
    )
}

/// The "email me" box and the address field (filled with the remembered address), as markup.
fn notify_fields(texts: &Texts, address: &str) -> String {
    format!(
        r#"<label><input name="notify" type="checkbox"> {}</label><label class="otk-field"><span>{}</span><input name="email" type="email" autocomplete="email" maxlength="{EMAIL_MAX}" value="{}"></label>"#,
        texts.notify,
        texts.email,
        escape(address)
    )
}

#[component]
pub fn CommentForm(parent: Option<CommentId>, #[prop(optional)] on_done: Option<Callback<()>>) -> impl IntoView {
    let thread = expect_context::<Thread>();
    let texts = thread.lang.texts();
    let draft_key =
        format!("otklik.draft.{}.{}", thread.article, parent.map_or_else(|| "top".to_owned(), |p| p.to_string()));
    let text = RwSignal::new(storage::load(&draft_key).unwrap_or_default());
    let name = RwSignal::new(storage::load(NAME_KEY).unwrap_or_default());
    let email = RwSignal::new(storage::load(EMAIL_KEY).unwrap_or_default());
    // Asked for each comment: a reader following one discussion need not follow the next.
    let notify = RwSignal::new(false);
    // The last comment gave an address: say a confirmation may be on its way.
    let asked = RwSignal::new(false);
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
            let notify_email = (notify.get_untracked() && thread.notify.get_untracked())
                .then(|| email.get_untracked().trim().to_owned());
            if notify_email.as_deref().is_some_and(|e| !check_email(e)) {
                error.set(Some(texts.bad_email));
                return;
            }
            let author = Some(name.get_untracked()).filter(|n| !n.trim().is_empty());
            let website = Some(honeypot.get_untracked()).filter(|v| !v.is_empty());
            let form = thread.form.get_untracked();
            asked.set(false);
            let gave = notify_email.is_some();
            let new = NewComment { text: body, author, parent, page: Some(page_info()), website, form, notify_email };
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
                        asked.set(gave);
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

    // The fields are written as markup and heard through the input events they bubble up to the form: as
    // typed elements, each field costs the thread's module about 1 KB gzip. The "email me" block shows
    // where the server sends mail (a class on the thread), its address field while the box is ticked: by
    // the stylesheet alone.
    let fields = name_field(texts, &name.get_untracked());
    view! {
        <form
            class="otk-form"
            novalidate
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
            on:input=move |ev| {
                let input = event_target::<web_sys::HtmlInputElement>(&ev);
                let value = input.value();
                match input.name().as_str() {
                    "author" => {
                        storage::save(NAME_KEY, &value);
                        name.set(value);
                    }
                    "email" => {
                        storage::save(EMAIL_KEY, &value);
                        email.set(value);
                    }
                    "notify" => notify.set(input.checked()),
                    "website" => honeypot.set(value),
                    _ => {
                        storage::save(&draft_key, &value);
                        text.set(value);
                    }
                }
            }
            on:keydown=on_key
        >
            <div inner_html=fields></div>
            <label class="otk-field">
                <span>{texts.comment}</span>
                <textarea rows="3" placeholder=texts.placeholder prop:value=text></textarea>
            </label>
            <div class="otk-notify" inner_html=notify_fields(texts, &email.get_untracked())></div>
            <div class="otk-form-foot">
                <span class="otk-hint">{texts.send_hint}</span>
                <span class=move || if left() < 0 { "otk-counter otk-over" } else { "otk-counter" } aria-live="polite">
                    {move || (left() < COUNTER_FROM as i64).then(|| left().to_string())}
                </span>
                // Hidden rather than left out: a conditional view is a type of its own in the bundle.
                <button type="button" class="otk-button" hidden=on_done.is_none() on:click=move |_| {
                    if let Some(done) = on_done {
                        done.run(());
                    }
                }>{texts.cancel}</button>
                <button type="submit" class="otk-button otk-primary" disabled=move || sending.get() aria-busy=move || sending.get().to_string()>
                    {move || if sending.get() { texts.posting } else { texts.post }}
                </button>
            </div>
            <p class="otk-note" role="status" hidden=move || !asked.get()>{texts.notify_sent}</p>
            <p class="otk-note otk-error" role="alert" hidden=move || error.with(Option::is_none)>
                {move || error.get().unwrap_or_default()} " "
                <button type="button" class="otk-link" on:click=move |_| retry()>{texts.retry}</button>
            </p>
        </form>
    }
}

//! `TypoReporter`: the report dialog, in its own wasm module. `TypoSlot` takes the reports (the page-wide
//! listening is in `crate::typo`) and loads this at the first; the hint that tells readers is `TypoHint`.
//!
//! The dialog is a native `<dialog>` opened with `showModal()`: the browser makes the rest of the page
//! inert (so focus stays inside), closes it on Esc and puts it in the top layer, at no cost in code. The
//! state reuses the signal types the other components already have: each new type adds generic code.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use otklik_api::limits::TYPO_NOTE_MAX;
use otklik_api::{ArticleId, NewTypo};

use crate::api::Api;
use crate::i18n::Lang;
use crate::page::page_info;
use crate::typo::{self, Capture};

#[component]
pub fn TypoReporter(
    api: Api,
    article: ArticleId,
    lang: Lang,
    /// The report to open the dialog for, set by `TypoSlot` at each Ctrl+Enter or touch.
    request: RwSignal<Option<Capture>>,
) -> impl IntoView {
    let texts = lang.texts();
    let dialog = NodeRef::<html::Dialog>::new();
    let [before, fragment, after, note] = [(); 4].map(|()| RwSignal::new(String::new()));
    // The fragment and the note field are shown (else only a message).
    let form = RwSignal::new(false);
    let sending = RwSignal::new(false);
    // Progress, thanks, or why the report cannot be or was not sent.
    let message = RwSignal::new(None::<&'static str>);

    let open = move |capture: Capture, dialog: web_sys::HtmlDialogElement| {
        message.set(None);
        form.set(false);
        match capture {
            Capture::Report(context) => {
                // A note typed for this very fragment (say, before a failed send) is kept.
                if fragment.get_untracked() != context.fragment || before.get_untracked() != context.before {
                    note.set(String::new());
                }
                before.set(context.before);
                fragment.set(context.fragment);
                after.set(context.after);
                form.set(true);
            }
            Capture::TooLong => message.set(Some(texts.typo_too_long)),
            Capture::Nothing => message.set(Some(texts.typo_none)),
        }
        if !dialog.open() {
            let _ = dialog.show_modal();
        }
    };
    // The browser's modal dialog is outside the reactive world: it is opened from an effect, once the
    // dialog element exists and at each new request.
    Effect::new(move || {
        if let (Some(dialog), Some(capture)) = (dialog.get(), request.get()) {
            request.update_untracked(|r| *r = None);
            open(capture, dialog);
        }
    });

    let send = move || {
        if sending.get_untracked() || !form.get_untracked() {
            return;
        }
        let typo = NewTypo {
            fragment: fragment.get_untracked(),
            before: before.get_untracked(),
            after: after.get_untracked(),
            note: Some(note.get_untracked()).filter(|n| !n.trim().is_empty()),
            page: Some(page_info()),
        };
        let (api, article) = (api.clone(), article.clone());
        sending.set(true);
        message.set(Some(texts.sending));
        spawn_local(async move {
            match api.report_typo(&article, &typo).await {
                Ok(_) => {
                    note.set(String::new());
                    form.set(false);
                    message.set(Some(texts.typo_sent));
                }
                Err(e) => message.set(Some(texts.failure(&e))),
            }
            sending.set(false);
        });
    };
    let on_key = {
        let send = send.clone();
        move |ev: web_sys::KeyboardEvent| {
            if crate::is_ctrl_enter(&ev) {
                ev.prevent_default();
                send();
            }
        }
    };

    view! {
        <dialog class="otk-dialog" aria-labelledby="otk-typo-title" node_ref=dialog on:close=|_| typo::restore_focus()>
            <form class="otk-form" novalidate on:submit={
                let send = send.clone();
                move |ev| {
                    ev.prevent_default();
                    send();
                }
            }>
                <h2 class="otk-heading" id="otk-typo-title">{texts.typo_title}</h2>
                <div class="otk-form otk-typo-form" hidden=move || !form.get()>
                    <blockquote class="otk-quote">
                        {move || before.get()}<mark>{move || fragment.get()}</mark>{move || after.get()}
                    </blockquote>
                    <label class="otk-field">
                        {texts.typo_note}
                        <textarea
                            rows="2"
                            maxlength=TYPO_NOTE_MAX
                            prop:value=move || note.get()
                            on:input=move |ev| note.set(event_target_value(&ev))
                            on:keydown=on_key
                        ></textarea>
                    </label>
                </div>
                <p
                    class="otk-typo-msg"
                    class:otk-error=move || form.get() && !sending.get() && message.with(Option::is_some)
                    role="status"
                >
                    {move || message.get()}
                </p>
                <div class="otk-form-foot">
                    <span class="otk-hint" hidden=move || !form.get()>{texts.send_hint}</span>
                    <button
                        type="button"
                        class="otk-button"
                        on:click=move |_| {
                            if let Some(d) = dialog.get_untracked() {
                                d.close();
                            }
                        }
                    >
                        {texts.close}
                    </button>
                    <button
                        type="submit"
                        class="otk-button otk-primary"
                        hidden=move || !form.get()
                        disabled=move || sending.get()
                    >
                        {texts.send}
                    </button>
                </div>
            </form>
        </dialog>
    }
}

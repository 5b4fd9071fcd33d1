//! `ThreadSlot`: where the comment thread goes. It starts the thread's code and its first page together
//! when the widget comes near the viewport, and until they arrive shows the heading and the loading (or
//! could-not-load, with a retry) state.

use leptos::prelude::*;
use otklik_api::{ArticleId, CommentSort};
use web_sys::HtmlElement;

use crate::api::Api;
use crate::chunks::{self, Part, ThreadArgs};
use crate::i18n::Lang;

#[component]
pub fn ThreadSlot(
    api: Api,
    article: ArticleId,
    lang: Lang,
    /// The thread loads once this element (the widget's host) comes near the viewport.
    near: HtmlElement,
) -> impl IntoView {
    let texts = lang.texts();
    let part = Part::new();
    let load = move || {
        let (api, article) = (api.clone(), article.clone());
        part.load(move || {
            // The data's request leaves before the code's download finishes: the two travel together.
            let first = api.start_comments(&article, CommentSort::default(), None, None);
            chunks::thread(ThreadArgs { api, article, lang, first })
        })
    };
    // A link to a comment (a reply notification's) wants the thread at once, wherever the widget is.
    crate::visibility::when_near(&near, crate::page::linked_anchor().is_some(), load.clone());
    let load = StoredValue::new_local(load);

    // Gone, not hidden, once the thread is in: the thread has its own heading.
    let placeholder = move || {
        (!part.ready()).then(|| {
            view! {
                <section class="otk-comments" aria-labelledby="otk-slot-heading">
                    <div class="otk-comments-head">
                        <h2 id="otk-slot-heading" class="otk-heading">{texts.comments}</h2>
                    </div>
                    // Until the thread is in: before the widget nears the viewport too, as nothing else is to be done.
                    <p class="otk-note" role="status" hidden=move || part.failed()>{texts.comments_loading}</p>
                    <p class="otk-note otk-error" role="status" hidden=move || !part.failed()>
                        {texts.comments_failed} " "
                        <button type="button" class="otk-link" on:click={
                            move |_| load.with_value(|load| load())
                        }>{texts.retry}</button>
                    </p>
                </section>
            }
        })
    };
    view! {
        {placeholder}
        {part.view()}
    }
}

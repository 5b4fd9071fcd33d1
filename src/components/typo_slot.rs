//! `TypoSlot`: takes typo reports from the first moment (Ctrl+Enter, and on touch screens the button next
//! to a selection) and loads the report dialog at the first one; `TypoReporter` is the dialog.

use leptos::prelude::*;
use otklik_api::ArticleId;
use web_sys::HtmlElement;

use crate::api::Api;
use crate::chunks::{self, Part, TypoArgs};
use crate::i18n::Lang;
use crate::typo::{self, Capture};

#[component]
pub fn TypoSlot(api: Api, article: ArticleId, lang: Lang, host: HtmlElement, scope: Option<String>) -> impl IntoView {
    let texts = lang.texts();
    let part = Part::new();
    // The latest report asked for; the dialog opens for each.
    let request = RwSignal::new(None::<Capture>);
    // Touch screens: the report button's position (top, left in px), `None` when hidden. Set through the
    // CSSOM (`style:`), which a strict CSP allows, unlike a `style` attribute.
    let touch_at = RwSignal::new(None::<(i32, i32)>);
    let open = move |capture: Capture| {
        typo::remember_focus();
        touch_at.set(None);
        request.set(Some(capture));
        let (api, article) = (api.clone(), article.clone());
        part.load(move || chunks::typo(TypoArgs { api, article, lang, request }));
    };
    typo::register(host, scope, open.clone(), move |at| touch_at.set(at));

    view! {
        <button
            type="button"
            class="otk-button otk-primary otk-typo-touch"
            hidden=move || touch_at.with(Option::is_none)
            style:top=move || format!("{}px", touch_at.get().map_or(0, |p| p.0))
            style:left=move || format!("{}px", touch_at.get().map_or(0, |p| p.1))
            on:click=move |_| open(typo::touched())
        >
            {texts.typo_title}
        </button>
        // Shown only if the dialog's code could not be loaded; the next report tries again.
        <p class="otk-note otk-error" role="alert" hidden=move || !part.failed()>{texts.typo_unavailable}</p>
        {part.view()}
    }
}

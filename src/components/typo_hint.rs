//! `TypoHint`: "Spotted a typo? Select it and press Ctrl+Enter", with the keys of the reader's device.

use leptos::prelude::*;

use crate::i18n::Lang;
use crate::typo;

#[component]
pub fn TypoHint(lang: Lang) -> impl IntoView {
    let texts = lang.texts();
    let (hint, keys) = if typo::touch_screen() {
        (texts.typo_hint_touch, "")
    } else if window().navigator().user_agent().is_ok_and(|ua| ua.as_bytes().windows(3).any(|w| w == b"Mac")) {
        (texts.typo_hint, "⌘+Enter")
    } else {
        (texts.typo_hint, "Ctrl+Enter")
    };
    view! { <p class="otk-note otk-typo-hint">{hint}" "<kbd hidden=keys.is_empty()>{keys}</kbd></p> }
}

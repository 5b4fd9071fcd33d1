//! `ReactionButton`: one reaction with its icon, label and count; pressed when it is the reader's own.

use leptos::prelude::*;
use otklik_api::{ReactionKind, ReactionsView};

use crate::i18n::{Lang, format_count, reaction_label};

#[component]
pub fn ReactionButton(
    kind: ReactionKind,
    lang: Lang,
    view: Signal<ReactionsView>,
    ready: Signal<bool>,
    on_press: Callback<ReactionKind>,
) -> impl IntoView {
    let label = lang.texts().kind(kind);
    let count = move || view.get().counts.get(kind);
    view! {
        <button
            type="button"
            class="otk-reaction"
            data-kind=kind.as_str()
            disabled=move || !ready.get()
            aria-pressed=move || (view.get().mine == Some(kind)).to_string()
            aria-label=move || reaction_label(lang, kind, count())
            on:click=move |_| on_press.run(kind)
        >
            <span class="otk-icon" aria-hidden="true" inner_html=icon(kind)></span>
            <span class="otk-label">{label}</span>
            // The space makes the visible text "Лайк 0", which the accessible name then contains word for
            // word (voice control users say what they see); the flex gap, not the space, spaces them.
            " "
            <span class="otk-count" aria-hidden="true">{move || if ready.get() { format_count(lang, count()) } else { String::new() }}</span>
        </button>
    }
}

/// Our own line icons, drawn on a 20×20 grid in the current text colour.
fn icon(kind: ReactionKind) -> &'static str {
    match kind {
        ReactionKind::Like => concat!(
            r#"<svg viewBox="0 0 20 20" width="20" height="20" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round">"#,
            r#"<path d="M3 9h3v8H3zM6 9l3.2-6c1.1 0 1.9.9 1.9 2v3h4.4c1 0 1.8.9 1.6 1.9l-1.2 6.2a1.5 1.5 0 0 1-1.5 1.2H6"/></svg>"#
        ),
        ReactionKind::Laugh => concat!(
            r#"<svg viewBox="0 0 20 20" width="20" height="20" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round">"#,
            r#"<circle cx="10" cy="10" r="8"/><path d="M6.3 8.2q1.2-1.6 2.4 0M11.3 8.2q1.2-1.6 2.4 0"/>"#,
            r#"<path d="M6 11.3h8a4 4 0 0 1-8 0z" fill="currentColor"/></svg>"#
        ),
        ReactionKind::Surprised => concat!(
            r#"<svg viewBox="0 0 20 20" width="20" height="20" fill="none" stroke="currentColor" stroke-width="1.6">"#,
            r#"<circle cx="10" cy="10" r="8"/><circle cx="7.3" cy="8" r=".9" fill="currentColor"/>"#,
            r#"<circle cx="12.7" cy="8" r=".9" fill="currentColor"/><ellipse cx="10" cy="13.2" rx="1.8" ry="2.2"/></svg>"#
        ),
        ReactionKind::Angry => concat!(
            r#"<svg viewBox="0 0 20 20" width="20" height="20" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round">"#,
            r#"<circle cx="10" cy="10" r="8"/><path d="M5.8 6.4l3 1.5M14.2 6.4l-3 1.5M7 14.3q3-2.4 6 0"/>"#,
            r#"<circle cx="7.6" cy="9.4" r=".9" fill="currentColor"/><circle cx="12.4" cy="9.4" r=".9" fill="currentColor"/></svg>"#
        ),
        ReactionKind::Sad => concat!(
            r#"<svg viewBox="0 0 20 20" width="20" height="20" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round">"#,
            r#"<circle cx="10" cy="10" r="8"/><circle cx="7.3" cy="8.3" r=".9" fill="currentColor"/>"#,
            r#"<circle cx="12.7" cy="8.3" r=".9" fill="currentColor"/><path d="M7 14q3-2.4 6 0"/>"#,
            r#"<path d="M14.6 10.6q.9 1.5 0 2.2q-.9-.7 0-2.2z" fill="currentColor" stroke-width=".8"/></svg>"#
        ),
    }
}

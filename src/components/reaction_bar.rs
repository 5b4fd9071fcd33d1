//! `ReactionBar`: the five reactions with their counts, chosen optimistically and reconciled with the server.
//!
//! State is the last view the server confirmed plus the choice the reader wants, if it differs; what is
//! shown is derived from the two. Only one write is in flight at a time: if the reader changes their mind
//! meanwhile, the next write sends the latest wish. So the server always ends at the reader's last choice,
//! however fast they click, and a failure falls back to exactly what the server last said.
//!
//! Counts the live stream brings (other readers' reactions) replace the confirmed ones when they are newer,
//! except while the reader's own write is on its way: its answer is the newest word, and the reader's own
//! reaction never comes back to them as someone else's.

use leptos::prelude::*;
use leptos::task::spawn_local;
use otklik_api::{ArticleId, ReactionKind, ReactionsView};

use super::reaction_button::ReactionButton;
use crate::api::{Api, ApiError};
use crate::i18n::{Lang, reaction_label};
use crate::live;

#[derive(Clone, Copy, PartialEq)]
enum Load {
    Loading,
    Failed,
    Ready,
}

#[component]
pub fn ReactionBar(
    api: Api,
    article: ArticleId,
    lang: Lang,
    /// The first request for the reactions, if embed.js started it (see [`Api::early_reactions`]).
    early: Option<js_sys::Promise>,
) -> impl IntoView {
    let texts = lang.texts();
    let confirmed = RwSignal::new(ReactionsView::default());
    let wanted = RwSignal::new(None::<Option<ReactionKind>>);
    let load = RwSignal::new(Load::Loading);
    let error = RwSignal::new(None::<&'static str>);
    let in_flight = StoredValue::new(false);
    let feed = live::feed(article.as_str());
    // The server's answers go to the article's feed too: the newest counts, whoever brought them, are shown.
    let confirm = {
        let feed = feed.clone();
        move |view: ReactionsView| {
            feed.update(|f| f.counts = Some(view.counts));
            confirmed.set(view);
        }
    };

    let shown = {
        let feed = feed.clone();
        Signal::derive(move || {
            let mut view = confirmed.get();
            let wish = wanted.get();
            // Counts that leave out the reader's own reaction were read before it was stored (an event
            // already on its way when the server answered): the answer is newer.
            if wish.is_none()
                && let Some(counts) = feed.with(|f| f.counts).filter(|c| view.mine.is_none_or(|k| c.get(k) > 0))
            {
                view.counts = counts;
            }
            wish.map_or(view, |mine| view.with_mine(mine))
        })
    };
    // What a screen reader hears, at most every few seconds: the counts that moved, unless it was the
    // reader's own write that moved them.
    let news = move || {
        feed.with(|f| match f.told {
            (Some(before), Some(now), _) if now != confirmed.get().counts => {
                let mut said = String::new();
                for kind in ReactionKind::ALL {
                    if before.get(kind) != now.get(kind) {
                        if !said.is_empty() {
                            said += "; ";
                        }
                        said += &reaction_label(lang, kind, now.get(kind));
                    }
                }
                said
            }
            _ => String::new(),
        })
    };

    let fetch = {
        let (api, article, confirm) = (api.clone(), article.clone(), confirm.clone());
        // Used by the first load only: a retry asks again.
        let early = StoredValue::new_local(early);
        move || {
            let (api, article, confirm) = (api.clone(), article.clone(), confirm.clone());
            let early = early.try_update_value(Option::take).flatten();
            load.set(Load::Loading);
            spawn_local(async move {
                match api.reactions(&article, early).await {
                    Ok(view) => {
                        confirm(view);
                        load.set(Load::Ready);
                    }
                    Err(_) => load.set(Load::Failed),
                }
            });
        }
    };
    fetch();

    let sync = move || {
        if in_flight.get_value() {
            return;
        }
        in_flight.set_value(true);
        let (api, article, confirm) = (api.clone(), article.clone(), confirm.clone());
        spawn_local(async move {
            while let Some(target) = wanted.get_untracked() {
                if confirmed.get_untracked().mine == target {
                    wanted.set(None);
                    break;
                }
                match api.set_reaction(&article, target).await {
                    Ok(view) => {
                        confirm(view);
                        // A newer wish arrived while this write was in flight: loop and send it.
                        if wanted.get_untracked() == Some(target) {
                            wanted.set(None);
                        }
                    }
                    Err(e) => {
                        wanted.set(None);
                        error.set(Some(failure_text(lang, &e)));
                    }
                }
            }
            in_flight.set_value(false);
        });
    };

    let press = Callback::new(move |kind: ReactionKind| {
        let mine = shown.get_untracked().mine;
        wanted.set(Some(if mine == Some(kind) { None } else { Some(kind) }));
        error.set(None);
        sync();
    });

    let ready = Signal::derive(move || load.get() == Load::Ready);
    view! {
        <div class="otk-reactions" role="group" aria-label=texts.reactions aria-busy=move || (load.get() == Load::Loading).to_string()>
            {ReactionKind::ALL
                .into_iter()
                .map(|kind| view! { <ReactionButton kind lang view=shown ready on_press=press /> })
                .collect_view()}
        </div>
        <div class="otk-status" role="status">
            {move || match (load.get(), error.get()) {
                (Load::Loading, _) => view! { <p class="otk-note">{texts.loading}</p> }.into_any(),
                (Load::Failed, _) => {
                    let fetch = fetch.clone();
                    view! {
                        <p class="otk-note otk-error">
                            {texts.load_failed} " "
                            <button type="button" class="otk-link" on:click=move |_| fetch()>{texts.retry}</button>
                        </p>
                    }
                        .into_any()
                }
                (Load::Ready, Some(message)) => view! {
                    <p class="otk-note otk-error">
                        {message} " "
                        <button type="button" class="otk-link" aria-label=texts.dismiss on:click=move |_| error.set(None)>"×"</button>
                    </p>
                }
                    .into_any(),
                (Load::Ready, None) => ().into_any(),
            }}
        </div>
        <p class="otk-sr" aria-live="polite">{news}</p>
    }
}

fn failure_text(lang: Lang, error: &ApiError) -> &'static str {
    let texts = lang.texts();
    match error {
        ApiError::Network => texts.save_offline,
        ApiError::Status { status, .. } if *status >= 500 => texts.save_server,
        ApiError::Status { status: 429, .. } => texts.save_limited,
        ApiError::Status { .. } | ApiError::BadResponse => texts.save_refused,
    }
}

//! `CommentThread`: the heading with the count, the empty state, the form, the list and "show more".
//! It lives in the thread's own wasm module, loaded by `ThreadSlot` when the widget nears the viewport.
//!
//! The list is a vector of per-comment signals in display order (each top-level comment followed by its
//! replies depth-first), so a like or an edit redraws one comment. The list itself is redrawn only when
//! comments are added or removed; it is not keyed (`<For>` costs the bundle ~5 KB), which is safe because
//! every form keeps its text in a localStorage draft.
//!
//! Comments the live stream announces are not put in the list under the reader's eyes: a button floating
//! over the top of the list offers them ("3 новых комментария — показать") and reloads the list when
//! pressed. Comments a moderator or their author took away leave the list at once.

use leptos::prelude::*;
use leptos::task::spawn_local;
use otklik_api::{ArticleId, CommentSort};

use super::comment_form::CommentForm;
use super::comment_item::CommentItem;
use crate::api::Api;
use crate::i18n::{Lang, comments_count, new_comments};
use crate::live;
use crate::thread::Thread;

/// How many comments of a page are drawn in its first task: more than a phone's screen shows.
const SLICE: usize = 6;

/// The sort orders' `<option>`s, labelled in `CommentSort::ALL` order.
fn sort_options(labels: [&str; 3]) -> String {
    CommentSort::ALL
        .into_iter()
        .zip(labels)
        .map(|(s, label)| format!(r#"<option value="{}">{label}</option>"#, s.as_str()))
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Load {
    Loading,
    Failed,
    Ready,
}

#[component]
pub fn CommentThread(
    api: Api,
    article: ArticleId,
    lang: Lang,
    /// The first page's request, already on its way (see `ThreadSlot`).
    #[prop(optional)]
    first: Option<js_sys::Promise>,
) -> impl IntoView {
    let texts = lang.texts();
    let thread = Thread {
        feed: live::feed(article.as_str()),
        api,
        article,
        lang,
        items: RwSignal::new(Vec::new()),
        total: RwSignal::new(0),
        closed: RwSignal::new(false),
        notify: RwSignal::new(false),
        form: RwSignal::new(None),
        sort: RwSignal::new(CommentSort::default()),
        sending: RwSignal::new(false),
    };
    provide_context(thread.clone());
    let load = RwSignal::new(Load::Loading);
    let next = RwSignal::new(None::<String>);
    let more_busy = RwSignal::new(false);
    let drawn = StoredValue::new(0u32);

    let first = std::rc::Rc::new(std::cell::Cell::new(first));
    // The comment a notification's link names is scrolled to once, after the first page that loads (not
    // again on a new order or the new-comments button).
    let linked = std::rc::Rc::new(std::cell::Cell::new(crate::page::linked_anchor()));
    // `more`: append the next page; otherwise start over (first load, retry, new order).
    let fetch = {
        let thread = thread.clone();
        move |more: bool| {
            let (thread, linked) = (thread.clone(), linked.clone());
            let started = first.take();
            // A newer start (another order, a retry) makes this fetch's remaining slice stale.
            let generation = if more { drawn.get_value() } else { drawn.get_value().wrapping_add(1) };
            drawn.set_value(generation);
            let cursor = if more { next.get_untracked() } else { None };
            if more {
                more_busy.set(true);
            } else {
                load.set(Load::Loading);
            }
            spawn_local(async move {
                if !more {
                    // The module's start and the thread's frame are one task, the comments the next: each
                    // short enough for a slow phone to stay responsive.
                    crate::visibility::next_task().await;
                }
                let sort = thread.sort.get_untracked();
                let page = thread.api.comments(&thread.article, sort, None, cursor.as_deref(), started).await;
                match page {
                    Ok(page) => {
                        let mut fresh: Vec<_> = page.comments.into_iter().map(RwSignal::new).collect();
                        // The first comments now, the rest of the page in the next task.
                        let rest = fresh.split_off(fresh.len().min(SLICE));
                        let last = fresh.last().copied();
                        if more {
                            thread.items.update(|items| items.extend(fresh));
                        } else {
                            thread.items.set(fresh);
                        }
                        thread.total.set(page.total);
                        thread.closed.set(page.closed);
                        thread.notify.set(page.notify);
                        // The first token stands: a fresher one would restart the compose clock.
                        if thread.form.with_untracked(Option::is_none) {
                            thread.form.set(page.form);
                        }
                        next.set(page.next);
                        load.set(Load::Ready);
                        if !rest.is_empty() {
                            crate::visibility::next_task().await;
                            if drawn.get_value() == generation {
                                // Right after the first slice: a comment the reader posted in between keeps
                                // the place `Thread::insert` gave it.
                                thread.items.update(|items| {
                                    let at = last.and_then(|l| items.iter().position(|c| *c == l));
                                    let at = at.map_or(items.len(), |p| p + 1);
                                    items.splice(at..at, rest);
                                });
                            }
                        }
                        if !more && let Some(anchor) = linked.take() {
                            crate::visibility::next_task().await;
                            crate::page::show_anchor(&anchor);
                        }
                    }
                    Err(_) if more => {}
                    Err(_) => load.set(Load::Failed),
                }
                more_busy.set(false);
            });
        }
    };
    fetch(false);

    // Others' comments the list does not show yet: as the stream says now, and (`told`) as a screen reader
    // was last told, at most every few seconds. While the reader's own comment is on its way, the newest
    // may be theirs.
    let unseen = {
        let thread = thread.clone();
        move |told: bool| {
            let head = thread.feed.with(|f| if told { f.told.2 } else { f.head });
            match head {
                Some((total, Some(newest)))
                    if load.get() == Load::Ready && !thread.sending.get() && !thread.shows(newest) =>
                {
                    total.saturating_sub(thread.total.get())
                }
                _ => 0,
            }
        }
    };
    let heading = {
        let (thread, unseen) = (thread.clone(), unseen.clone());
        move || {
            // Taken away by others while on screen (the reader's own deletes are counted already).
            let gone = thread.feed.with(|f| {
                thread
                    .items
                    .with(|items| items.iter().filter(|c| c.with(|c| !c.deleted && f.removed.contains(&c.id))).count())
            }) as u64;
            match (thread.total.get() + unseen(false)).saturating_sub(gone) {
                0 => texts.comments.to_owned(),
                n => comments_count(lang, n),
            }
        }
    };
    let empty = move || load.get() == Load::Ready && thread.items.with(Vec::is_empty);
    let (fetch_more, fetch_again, fetch_sorted, fetch_new) = (fetch.clone(), fetch.clone(), fetch.clone(), fetch);

    view! {
        <section
            class=move || match (thread.closed.get(), thread.notify.get()) {
                (false, false) => "otk-comments",
                (false, true) => "otk-comments otk-mail",
                (true, _) => "otk-comments otk-closed",
            }
            aria-labelledby="otk-comments-heading"
        >
            <div class="otk-comments-head">
                <h2 id="otk-comments-heading" class="otk-heading">{heading}</h2>
                <label class="otk-sort">
                    <span class="otk-sort-label">{texts.sort}</span>
                    // The options as markup: a list of typed `<option>` views costs the module 0.3 KB gzip more.
                    <select inner_html=sort_options(texts.sorts) on:change=move |ev| {
                        let order = CommentSort::ALL.into_iter().find(|s| s.as_str() == event_target_value(&ev));
                        thread.sort.set(order.unwrap_or_default());
                        fetch_sorted(false);
                    }></select>
                </label>
            </div>
            // Closed or not is a class on the section: the stylesheet hides the forms and shows the notice.
            <div class="otk-top-form">
                <CommentForm parent=None />
            </div>
            <p class="otk-note otk-closed-note">{texts.closed}</p>
            // States are toggled with `hidden` rather than built on demand: each conditional view is its own
            // generic instantiation in the bundle, an attribute binding is not.
            // Fixed words as markup: two typed paragraphs cost the module 0.2 KB gzip.
            <div class="otk-empty" hidden=move || !empty() inner_html=format!(
                r#"<p class="otk-empty-title">{}</p><p class="otk-note">{}</p>"#, texts.empty_title, texts.empty_body
            )></div>
            <p class="otk-note" role="status" hidden=move || load.get() != Load::Loading>{texts.comments_loading}</p>
            <p class="otk-note otk-error" role="status" hidden=move || load.get() != Load::Failed>
                {texts.comments_failed} " "
                <button type="button" class="otk-link" on:click=move |_| fetch_again(false)>{texts.retry}</button>
            </p>
            // Out of the flow (see the stylesheet): appearing, it moves nothing the reader is reading.
            <div class="otk-new" hidden={
                let unseen = unseen.clone();
                move || unseen(false) == 0
            }>
                <button type="button" class="otk-button otk-primary" on:click=move |_| fetch_new(false)>
                    {
                        let unseen = unseen.clone();
                        move || new_comments(lang, unseen(false))
                    }
                </button>
            </div>
            <p class="otk-sr" aria-live="polite">
                {move || match unseen(true) {
                    0 => String::new(),
                    n => new_comments(lang, n),
                }}
            </p>
            <ol class="otk-list">
                {move || thread.items.get().into_iter().map(|comment| view! { <CommentItem comment /> }).collect_view()}
            </ol>
            <button type="button" class="otk-button otk-more" hidden=move || next.with(Option::is_none)
                disabled=move || more_busy.get() on:click=move |_| fetch_more(true)>
                {texts.show_more}
            </button>
        </section>
    }
}

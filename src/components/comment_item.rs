//! `CommentItem`: one comment with its author, time, text (links made clickable, never HTML), like,
//! reply, and for its author the edit and delete actions during the edit window.

use leptos::prelude::*;
use leptos::task::spawn_local;
use otklik_api::{Comment, check_comment_text};

use super::comment_form::CommentForm;
use crate::i18n::{absolute_time, format_count, iso_time, more_replies, relative_time};
use crate::linkify::segments;
use crate::thread::Thread;

/// Deeper replies are drawn at this indent, with "in reply to NAME".
const MAX_INDENT: u32 = 3;

#[component]
pub fn CommentItem(comment: RwSignal<Comment>) -> impl IntoView {
    let thread = expect_context::<Thread>();
    let (lang, texts) = (thread.lang, thread.lang.texts());
    let (id, depth) = comment.with_untracked(|c| (c.id, c.depth));
    let replying = RwSignal::new(false);
    let editing = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<&'static str>);
    let flagged = RwSignal::new(false);
    let changeable = move || {
        let now = js_sys::Date::now() / 1000.0;
        comment.with(|c| c.editable_until.is_some_and(|until| now < until as f64))
    };

    let like = {
        let thread = thread.clone();
        move |_| {
            if busy.get_untracked() {
                return;
            }
            let before = comment.with_untracked(|c| (c.likes, c.liked));
            let want = !before.1;
            comment.update(|c| {
                c.liked = want;
                c.likes = if want { c.likes + 1 } else { c.likes.saturating_sub(1) };
            });
            busy.set(true);
            let thread = thread.clone();
            spawn_local(async move {
                match thread.api.like_comment(&thread.article, id, want).await {
                    Ok(v) => comment.update(|c| (c.likes, c.liked) = (v.likes, v.liked)),
                    Err(e) => {
                        comment.update(|c| (c.likes, c.liked) = before);
                        error.set(Some(texts.failure(&e)));
                    }
                }
                busy.set(false);
            });
        }
    };
    // Deleting (`false`) and flagging (`true`) share one request path.
    let send = {
        let thread = thread.clone();
        move |flag: bool| {
            let thread = thread.clone();
            busy.set(true);
            flagged.set(flag);
            spawn_local(async move {
                match thread.api.delete_or_flag(&thread.article, id, flag).await {
                    Ok(()) if !flag => thread.deleted(id),
                    Ok(()) => {}
                    Err(e) => {
                        flagged.set(false);
                        error.set(Some(texts.failure(&e)));
                    }
                }
                confirming.set(false);
                busy.set(false);
            });
        }
    };
    let flag = {
        let send = send.clone();
        move |_| {
            if !flagged.get_untracked() {
                send(true);
            }
        }
    };
    let delete = move |_| {
        if confirming.get_untracked() {
            send(false);
        } else {
            confirming.set(true);
        }
    };
    let save = {
        let thread = thread.clone();
        move || {
            let Some(text) = editing.get_untracked() else { return };
            if let Err(e) = check_comment_text(&text) {
                error.set(Some(texts.invalid_text(e)));
                return;
            }
            let thread = thread.clone();
            busy.set(true);
            spawn_local(async move {
                match thread.api.edit_comment(&thread.article, id, text).await {
                    Ok(updated) => {
                        comment.set(updated);
                        editing.set(None);
                        error.set(None);
                    }
                    Err(e) => error.set(Some(texts.failure(&e))),
                }
                busy.set(false);
            });
        }
    };
    let more = {
        let thread = thread.clone();
        move || comment.with(|c| c.replies).saturating_sub(thread.shown_replies(id))
    };
    let no_more = {
        let more = more.clone();
        move || depth > 0 || more() == 0
    };
    let load_replies = {
        let thread = thread.clone();
        move |_: leptos::ev::MouseEvent| {
            let thread = thread.clone();
            busy.set(true);
            spawn_local(async move {
                match thread.api.comments(&thread.article, Default::default(), Some(id), None, None).await {
                    Ok(page) => thread.show_replies(id, page.comments),
                    Err(e) => error.set(Some(texts.failure(&e))),
                }
                busy.set(false);
            });
        }
    };

    let meta = move || {
        comment.with(|c| {
            let author = if c.author.is_empty() { texts.anonymous.to_owned() } else { c.author.clone() };
            (author, c.created, c.edited.is_some(), c.reply_to.clone())
        })
    };
    let deep = depth > MAX_INDENT;
    // A class, not a style attribute: a strict CSP (no 'unsafe-inline' styles) blocks style attributes.
    // Which actions a comment offers follows from classes fixed when it is drawn (see widget.css):
    // awaiting moderation (`otk-held`) its author may only edit or delete it; nobody flags their own.
    let mut class = String::from(
        ["otk-comment otk-d0", "otk-comment otk-d1", "otk-comment otk-d2", "otk-comment otk-d3"]
            [depth.min(MAX_INDENT) as usize],
    );
    let (pending, mine) = comment.with_untracked(|c| (c.pending, c.mine));
    if pending {
        class.push_str(" otk-held");
    }
    if mine {
        class.push_str(" otk-mine");
    }
    // The id is what a notification's link names; that comment is marked (and `CommentThread` brings it
    // into view).
    let anchor = format!("otklik-comment-{id}");
    if crate::page::linked_anchor().as_deref() == Some(anchor.as_str()) {
        class.push_str(" otk-linked");
    }
    view! {
        // Hidden by a moderator or deleted by its author since the list was read: gone from every open page
        // (but for the author's own placeholder, which their own delete left).
        <li id=anchor class=class hidden=move || thread.feed.with(|f| f.removed.contains(&id)) && !comment.with(|c| c.deleted)>
            {move || if comment.with(|c| c.deleted) {
                view! { <p class="otk-deleted">{texts.deleted}</p> }.into_any()
            } else {
                let (author, created, edited, reply_to) = meta();
                // The edited mark and the reply-to name are hidden rather than left out: each conditional
                // view is a type of its own in the bundle (0.7 KB gzip for these two).
                let no_reply_to = !deep || reply_to.is_none();
                view! {
                    <div class="otk-meta">
                        <span class="otk-author">{author}</span>
                        <time datetime=iso_time(created) title=absolute_time(lang, created)>{relative_time(lang, created)}</time>
                        <span class="otk-edited" hidden=!edited>{texts.edited}</span>
                        <span class="otk-pending">{texts.pending}</span>
                        <span class="otk-reply-to" hidden=no_reply_to>
                            {texts.in_reply_to} " " {reply_to.unwrap_or_default()}
                        </span>
                    </div>
                    <p class="otk-text">
                        {move || comment.with(|c| segments(&c.text).into_iter().map(|(link, piece)| if link {
                            let href = piece.to_owned();
                            view! { <a href=href rel="nofollow ugc noopener" target="_blank">{piece.to_owned()}</a> }.into_any()
                        } else {
                            piece.to_owned().into_any()
                        }).collect_view())}
                    </p>
                }.into_any()
            }}
            {move || editing.get().is_some().then(|| {
                let save = save.clone();
                view! {
                    <div class="otk-form">
                        <textarea rows="3" aria-label=texts.comment
                            prop:value=move || editing.get().unwrap_or_default()
                            on:input=move |ev| editing.set(Some(event_target_value(&ev)))
                        ></textarea>
                        <div class="otk-form-foot">
                            <button type="button" class="otk-button" on:click=move |_| editing.set(None)>{texts.cancel}</button>
                            <button type="button" class="otk-button otk-primary" disabled=move || busy.get() on:click=move |_| save()>{texts.save}</button>
                        </div>
                    </div>
                }
            })}
            // Typed apart from the rest of the comment: one nested type less to build and update saves the
            // module 0.2 KB gzip.
            {view! { <div class="otk-actions" hidden=move || comment.with(|c| c.deleted)>
                <button type="button" class="otk-action otk-like"
                    aria-pressed=move || comment.with(|c| c.liked).to_string()
                    aria-label=move || format!("{}: {}", texts.like, format_count(lang, comment.with(|c| c.likes)))
                    on:click=like
                >
                    "♥ " {move || format_count(lang, comment.with(|c| c.likes))}
                </button>
                <button type="button" class="otk-action otk-reply" aria-expanded=move || replying.get().to_string()
                    on:click=move |_| replying.update(|r| *r = !*r)>{texts.reply}</button>
                <button type="button" class="otk-action" hidden=move || !changeable()
                    on:click=move |_| editing.set(Some(comment.with_untracked(|c| c.text.clone())))>{texts.edit}</button>
                <button type="button" class="otk-action otk-danger" hidden=move || !changeable()
                    disabled=move || busy.get() on:click=delete>
                    {move || if confirming.get() { texts.confirm_delete } else { texts.delete }}
                </button>
                <button type="button" class="otk-action otk-flag" on:click=flag>
                    {move || if flagged.get() { texts.flagged } else { texts.flag }}
                </button>
            </div> }.into_any()}
            <p class="otk-note otk-error" role="alert" hidden=move || error.with(Option::is_none)>
                {move || error.get().unwrap_or_default()}
            </p>
            {move || replying.get().then(|| view! {
                <CommentForm parent=Some(id) on_done=Callback::new(move |()| replying.set(false)) />
            })}
            <button type="button" class="otk-link otk-more-replies" hidden=no_more
                disabled=move || busy.get() on:click=load_replies>
                {move || more_replies(lang, more())}
            </button>
        </li>
    }
}

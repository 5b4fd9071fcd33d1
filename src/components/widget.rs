//! `Widget`: the root of one mounted widget; holds the parts shown under an article.

use leptos::prelude::*;

use super::comment_thread::CommentThread;
use super::reaction_bar::ReactionBar;
use super::typo_hint::TypoHint;
use super::typo_reporter::TypoReporter;
use crate::Config;
use crate::api::Api;
use crate::reader::reader_token;

#[component]
pub fn Widget(config: Config) -> impl IntoView {
    let api = Api::new(&config.origin, reader_token());
    let parts = config.parts;
    let early = Api::early_reactions(&config.host);
    view! {
        <section class="otk" lang=config.lang.tag()>
            {parts.typos.then(|| view! { <TypoHint lang=config.lang /> })}
            {parts.reactions.then(|| view! { <ReactionBar api=api.clone() article=config.article.clone() lang=config.lang early /> })}
            {parts.comments.then(|| view! { <CommentThread api=api.clone() article=config.article.clone() lang=config.lang near=config.host.clone() /> })}
            {parts.typos.then(|| view! { <TypoReporter api article=config.article lang=config.lang host=config.host scope=config.typo_scope /> })}
        </section>
    }
}

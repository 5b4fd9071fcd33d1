//! `Widget`: the root of one mounted widget; holds the parts shown under an article.

use leptos::prelude::*;

use super::reaction_bar::ReactionBar;
use super::thread_slot::ThreadSlot;
use super::typo_hint::TypoHint;
use super::typo_slot::TypoSlot;
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
            {parts.comments.then(|| view! { <ThreadSlot api=api.clone() article=config.article.clone() lang=config.lang near=config.host.clone() /> })}
            {parts.typos.then(|| view! { <TypoSlot api article=config.article lang=config.lang host=config.host scope=config.typo_scope /> })}
        </section>
    }
}

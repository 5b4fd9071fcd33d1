//! The product's rules: who may post and how often, what a comment must be, moderation and bans, typo
//! reports, compose tokens, readers' identities and the server's keys, and what the outbox delivers:
//! webhooks and e-mail notifications. Called by the HTTP edge (API and console alike); they call the store.

pub mod accounts;
pub mod bans;
pub mod compose;
pub mod editors;
pub mod erasure;
pub mod guard;
pub mod keys;
pub mod lang;
pub mod live;
pub mod mail;
pub mod moderation;
pub mod net;
pub mod outbox;
pub mod posting;
pub mod rate_limit;
pub mod reader;
pub mod reports;
pub mod text;
pub mod webhook;

use std::sync::Arc;

use crate::clock::Clock;
use crate::store::DynStore;

/// What the rules work with: the store, the bans in force, the limits and the settings that decide what
/// is accepted, and the clock. The HTTP edge holds one in its state and hands it to every rule it calls.
#[derive(Clone)]
pub struct Rules {
    pub store: DynStore,
    pub reader_key: Arc<reader::ReaderKey>,
    pub limits: Arc<rate_limit::RateLimiter>,
    /// Where events go: the webhook, reply notifications by e-mail.
    pub outbox: Arc<outbox::Outbox>,
    /// Whether new comments appear at once or after approval, for articles without a setting of their own.
    pub moderation: otklik_api::ModerationMode,
    pub bans: Arc<bans::BanList>,
    /// Lower-cased.
    pub stop_words: Arc<[String]>,
    pub min_compose_secs: i64,
    pub clock: Clock,
    /// Open pages' live-update streams.
    pub live: live::Live,
}

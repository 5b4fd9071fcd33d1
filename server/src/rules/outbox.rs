//! The outbox sender: works through what writes queued in their own transactions — webhook deliveries
//! and e-mail messages — in the background, retrying failures with backoff.
//!
//! A slow or failing receiver never delays a reader's request, and a restart loses nothing: what was not
//! delivered is tried again as soon as the server is back. On PostgreSQL each node runs a sender, and a
//! claim with a lease hands each row to one of them. Delivery is at least once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::mail::{self, Mail};
use super::webhook::Webhook;
use crate::clock::Clock;
use crate::store::{Announce, DynStore, OutboxItem};

/// Deliveries claimed at a time: one, so that a claim's lease covers one delivery's timeout, and a node
/// that dies holds up no more than one delivery for that long.
const ROUND: usize = 1;
/// How long a claim keeps other nodes off a delivery: the longer timeout of the two kinds and a margin
/// (seconds).
const LEASE_SECS: i64 = super::webhook::TIMEOUT.as_secs() as i64 + mail::TIMEOUT.as_secs() as i64 + 5;
/// Failed attempts before a delivery is parked (kept, never tried again): about nine hours of retries.
const MAX_ATTEMPTS: u32 = 15;
/// The outbox is looked at this often even without a wake-up.
const IDLE_CHECK_SECS: i64 = 60;

/// Where queued events go: a webhook receiver, an SMTP server, or both.
pub struct Outbox {
    pub webhook: Option<Webhook>,
    pub mail: Option<Mail>,
    wake: Notify,
    /// The delivery claimed and not yet recorded, to give back if the sender is stopped meanwhile.
    holding: std::sync::Mutex<Option<i64>>,
}

impl Outbox {
    pub fn new(webhook: Option<Webhook>, mail: Option<Mail>) -> Self {
        Self { webhook, mail, wake: Notify::new(), holding: std::sync::Mutex::new(None) }
    }

    /// Whether anything is ever queued (and a sender should run).
    pub fn active(&self) -> bool {
        self.webhook.is_some() || self.mail.is_some()
    }

    /// What a write making a comment visible queues.
    pub fn announce(&self) -> Announce {
        Announce { webhook: self.webhook.is_some(), mail: self.mail.is_some() }
    }

    /// Tells the sender that a new row is waiting.
    pub fn wake(&self) {
        if self.active() {
            self.wake.notify_one();
        }
    }

    fn hold(&self, id: Option<i64>) {
        *self.holding.lock().expect("outbox claim lock") = id;
    }

    /// Gives back the delivery a stopped sender held, so that a node restarting, or another node, makes
    /// it at once rather than when its claim runs out.
    pub async fn release(&self, store: &DynStore) {
        let held = self.holding.lock().expect("outbox claim lock").take();
        if let Some(id) = held
            && let Err(err) = store.outbox_release(id).await
        {
            tracing::warn!(error = %format!("{err:#}"), delivery = id, "giving back an outbox delivery");
        }
    }

    /// Makes one delivery.
    async fn deliver(&self, store: &DynStore, item: &OutboxItem, now: i64) -> Outcome {
        if item.event.starts_with("mail.") {
            let Some(mail) = &self.mail else { return Outcome::NotConfigured };
            let sent = mail.deliver(store, item, now).await;
            crate::metrics::mail(sent.is_ok());
            return sent.map_or_else(Outcome::Failed, |()| Outcome::Recorded);
        }
        let Some(hook) = &self.webhook else { return Outcome::NotConfigured };
        let delivered = hook.deliver(item).await;
        crate::metrics::webhook(delivered.is_ok());
        delivered.map_or_else(Outcome::Failed, |()| Outcome::Delivered)
    }
}

/// What became of a delivery.
enum Outcome {
    /// Made: the row is to go.
    Delivered,
    /// Made (or found unneeded), and recorded by the deliverer itself.
    Recorded,
    /// Queued while its kind was configured and no longer is: kept, for a server configured again.
    NotConfigured,
    Failed(String),
}

/// How long a delivery of a kind no longer configured waits before it is looked at again (seconds).
const UNCONFIGURED_WAIT: i64 = 86_400;

/// Delay before the next attempt after `attempts` failures: 30 s doubling up to an hour.
fn backoff(attempts: u32) -> i64 {
    (30_i64 << attempts.min(7)).min(3_600)
}

/// Works through the outbox until the task is aborted (at shutdown).
pub async fn run(store: DynStore, outbox: Arc<Outbox>, clock: Clock) {
    // First everything left from before the start, due or not: the receiver may well have been fine all
    // along and only this server down. Then rows as they fall due.
    let mut catching_up = Some(0_i64);
    let mut moves = clock.moves();
    loop {
        let now = clock.now();
        let (horizon, after) = match catching_up {
            Some(after) => (i64::MAX - 1, after),
            None => (now, 0),
        };
        let items = match store.outbox_claim(horizon, after, ROUND, LEASE_SECS).await {
            Ok(items) => items,
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "reading the outbox");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        for item in &items {
            outbox.hold(Some(item.id));
            let retry_at = match outbox.deliver(&store, item, now).await {
                Outcome::Recorded => None,
                Outcome::Delivered => {
                    tracing::info!(delivery = item.id, event = %item.event, "delivered");
                    Some(None)
                }
                Outcome::NotConfigured => {
                    tracing::warn!(delivery = item.id, event = %item.event, "its kind is not configured: kept for later");
                    Some(Some(clock.now() + UNCONFIGURED_WAIT))
                }
                Outcome::Failed(why) if item.attempts + 1 >= MAX_ATTEMPTS => {
                    tracing::error!(delivery = item.id, event = %item.event, %why, "delivery given up");
                    Some(Some(i64::MAX))
                }
                Outcome::Failed(why) => {
                    let wait = backoff(item.attempts);
                    tracing::warn!(delivery = item.id, event = %item.event, %why, retry_in_secs = wait, "delivery failed");
                    Some(Some(clock.now() + wait))
                }
            };
            if let Some(retry_at) = retry_at
                && let Err(err) = store.outbox_attempted(item.id, retry_at).await
            {
                tracing::warn!(error = %format!("{err:#}"), "recording a delivery attempt");
            }
            outbox.hold(None);
        }
        if items.len() == ROUND {
            catching_up = catching_up.map(|_| items.last().map_or(0, |i| i.id));
            continue;
        }
        catching_up = None;
        let next = store.outbox_next().await.ok().flatten();
        let wait = next.map_or(IDLE_CHECK_SECS, |at| (at - clock.now()).clamp(0, IDLE_CHECK_SECS));
        if wait > 0 {
            tokio::select! {
                () = outbox.wake.notified() => {}
                () = moves.next() => {}
                () = tokio::time::sleep(Duration::from_secs(wait as u64)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_to_an_hour() {
        let waits: Vec<i64> = (0..10).map(backoff).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }
}

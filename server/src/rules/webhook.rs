//! Webhook deliveries: POSTs each outbox row to `OTKLIK_WEBHOOK_URL`, retrying with backoff.
//!
//! Events are written to the outbox in the same transaction as what they announce, and this task works
//! through it in the background, so a slow or failing receiver never delays a reader's request, and a
//! restart loses nothing: undelivered rows are tried again as soon as the server is back. Delivery is at
//! least once; receivers can drop repeats by the `X-Otklik-Delivery` header.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use tokio::sync::Notify;

use crate::store::{DynStore, OutboxItem};

/// Deliveries claimed at a time: one, so that a claim's lease covers one delivery's timeout, and a node
/// that dies holds up no more than one delivery for that long.
const ROUND: usize = 1;
/// A receiver gets this long to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claim keeps other nodes off a delivery: its timeout and a margin (seconds).
const LEASE_SECS: i64 = TIMEOUT.as_secs() as i64 + 5;
/// Failed attempts before a delivery is parked (kept, never tried again): about nine hours of retries.
const MAX_ATTEMPTS: u32 = 15;
/// The outbox is looked at this often even without a wake-up.
const IDLE_CHECK_SECS: i64 = 60;

pub struct Webhook {
    url: reqwest::Url,
    secret: Option<Vec<u8>>,
    client: reqwest::Client,
    wake: Notify,
    /// The delivery claimed and not yet recorded, to give back if the sender is stopped meanwhile.
    holding: std::sync::Mutex<Option<i64>>,
}

impl Webhook {
    pub fn new(url: &str, secret: Option<&str>) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("OTKLIK_WEBHOOK_URL `{url}`: {e}"))?;
        anyhow::ensure!(matches!(url.scheme(), "http" | "https"), "OTKLIK_WEBHOOK_URL must be an http(s) URL");
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("otklik/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let secret = secret.filter(|s| !s.is_empty()).map(|s| s.as_bytes().to_vec());
        Ok(Self { url, secret, client, wake: Notify::new(), holding: std::sync::Mutex::new(None) })
    }

    fn hold(&self, id: Option<i64>) {
        *self.holding.lock().expect("webhook claim lock") = id;
    }

    /// Gives back the delivery a stopped sender held, so that a node restarting, or another node, makes
    /// it at once rather than when its claim runs out.
    pub async fn release(&self, store: &DynStore) {
        let held = self.holding.lock().expect("webhook claim lock").take();
        if let Some(id) = held
            && let Err(err) = store.outbox_release(id).await
        {
            tracing::warn!(error = %format!("{err:#}"), delivery = id, "giving back a webhook delivery");
        }
    }

    /// Tells the delivery task that a new row is waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    async fn deliver(&self, item: &OutboxItem) -> Result<(), String> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Otklik-Event", &item.event)
            .header("X-Otklik-Delivery", item.id.to_string());
        if let Some(secret) = &self.secret {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| e.to_string())?;
            mac.update(item.payload.as_bytes());
            let signature = crate::hex::encode(&mac.finalize().into_bytes());
            request = request.header("X-Otklik-Signature", format!("sha256={signature}"));
        }
        match request.body(item.payload.clone()).send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("the receiver answered {}", response.status())),
            Err(err) => Err(format!("{err}")),
        }
    }
}

/// Delay before the next attempt after `attempts` failures: 30 s doubling up to an hour.
fn backoff(attempts: u32) -> i64 {
    (30_i64 << attempts.min(7)).min(3_600)
}

/// Works through the outbox until the task is aborted (at shutdown).
pub async fn run(store: DynStore, hook: Arc<Webhook>) {
    // First everything left from before the start, due or not: the receiver may well have been fine all
    // along and only this server down. Then rows as they fall due.
    let mut catching_up = Some(0_i64);
    loop {
        let now = crate::unix_now();
        let (horizon, after) = match catching_up {
            Some(after) => (i64::MAX - 1, after),
            None => (now, 0),
        };
        let items = match store.outbox_claim(horizon, after, ROUND, LEASE_SECS).await {
            Ok(items) => items,
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "reading the webhook outbox");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        for item in &items {
            hook.hold(Some(item.id));
            let delivered = hook.deliver(item).await;
            crate::metrics::webhook(delivered.is_ok());
            let retry_at = match delivered {
                Ok(()) => {
                    tracing::info!(delivery = item.id, event = %item.event, "webhook delivered");
                    None
                }
                Err(why) if item.attempts + 1 >= MAX_ATTEMPTS => {
                    tracing::error!(delivery = item.id, event = %item.event, %why, "webhook given up");
                    Some(i64::MAX)
                }
                Err(why) => {
                    let wait = backoff(item.attempts);
                    tracing::warn!(delivery = item.id, event = %item.event, %why, retry_in_secs = wait, "webhook failed");
                    Some(crate::unix_now() + wait)
                }
            };
            if let Err(err) = store.outbox_attempted(item.id, retry_at).await {
                tracing::warn!(error = %format!("{err:#}"), "recording a webhook attempt");
            }
            hook.hold(None);
        }
        if items.len() == ROUND {
            catching_up = catching_up.map(|_| items.last().map_or(0, |i| i.id));
            continue;
        }
        catching_up = None;
        let next = store.outbox_next().await.ok().flatten();
        let wait = next.map_or(IDLE_CHECK_SECS, |at| (at - crate::unix_now()).clamp(0, IDLE_CHECK_SECS));
        if wait > 0 {
            tokio::select! {
                () = hook.wake.notified() => {}
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

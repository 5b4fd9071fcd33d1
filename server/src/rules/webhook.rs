//! Webhook deliveries: POSTs each outbox event to `OTKLIK_WEBHOOK_URL`, signed when a secret is set.
//! Receivers can drop repeats by the `X-Otklik-Delivery` header (delivery is at least once; see
//! `rules::outbox` for the sender and its retries).

use std::time::Duration;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::store::OutboxItem;

/// A receiver gets this long to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub struct Webhook {
    url: reqwest::Url,
    secret: Option<Vec<u8>>,
    client: reqwest::Client,
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
        Ok(Self { url, secret, client })
    }

    pub async fn deliver(&self, item: &OutboxItem) -> Result<(), String> {
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
